"""The daemon: configuration, the scheduler, sinks, the HTTP API, the CLI, signals, sd_notify."""

from core.compiled import load_sources_first

# First: ROOMWATCH_PLAIN_PYTHON must act before a compiled module of ours loads.
load_sources_first()
