"""The daemon: configuration, the scheduler, sinks, the HTTP API, the CLI, signals, sd_notify."""
