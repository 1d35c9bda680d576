"""Subcommands of `roomwatch`, one module per command group."""
