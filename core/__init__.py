"""The kernel every room shares: the Sample type, durations, config errors with file:line:col,
the line-tracking YAML loader, atomic file writes, host:port parsing, and which modules run compiled (core/compiled.py).
Imports nothing of ours."""

from core.compiled import load_sources_first

# Before any compiled module of ours can load (every package imports core first).
load_sources_first()
