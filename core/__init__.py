"""The kernel every room shares: the Sample type, durations, config errors with file:line:col,
the line-tracking YAML loader, atomic file writes and host:port parsing. Imports nothing of ours."""
