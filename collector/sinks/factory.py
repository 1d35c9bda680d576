"""Builds the configured sinks: one InfluxDB sink per `sinks:` entry, each with its own spool
under `<state_dir>/spool/<name>.sqlite`, its token taken from the credentials file."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from collector.clock import Clock
from collector.sinks import Sink
from collector.sinks.config import SinkConfig
from inventory.credentials import Credentials

TagsFor = Callable[[str], Mapping[str, str]]
"""Inventory tags of a device id (e.g. {"site": "bj-1", "kind": "ups"}); {} when unknown."""


class SinkConfigError(ValueError):
    """A sink cannot be built (missing token, duplicate name). The message names the sink and
    the credentials entry, never a secret."""


def build_sinks(
    configs: Sequence[SinkConfig],
    credentials: Credentials,
    state_dir: Path,
    tags_for: TagsFor | None = None,
    clock: Clock | None = None,
) -> list[Sink]:
    """One sink per config, each timing its backoff and flushes on `clock` (the daemon's).
    Raises SinkConfigError before anything is opened if a name is repeated or a token is
    missing, so `roomwatch check` can report it."""
    tokens = check_sinks(configs, credentials)
    if not configs:
        return []  # the sink's modules only for a daemon that writes
    from collector.sinks.influx import InfluxSink

    return [
        InfluxSink(
            config,
            token=tokens[config.name],
            spool_path=spool_path(state_dir, config.name),
            tags_for=tags_for,
            clock=clock,
        )
        for config in configs
    ]


def check_sinks(configs: Sequence[SinkConfig], credentials: Credentials) -> dict[str, str]:
    """Each sink's token by sink name. Raises SinkConfigError for a repeated name or a
    missing token (used by `roomwatch check` too, before anything is opened)."""
    seen: set[str] = set()
    tokens: dict[str, str] = {}
    for config in configs:
        if config.name in seen:
            raise SinkConfigError(f"sink {config.name!r}: name used twice (each has a spool)")
        seen.add(config.name)
        tokens[config.name] = sink_token(config, credentials)
        check_ca_file(config)
    return tokens


def check_ca_file(config: SinkConfig) -> None:
    """A `ca_file` that is missing, unreadable by this user or not PEM certificates is a
    configuration error: otherwise it shows only at the first write, as a TLS failure that
    spools forever."""
    if config.ca_file is None:
        return
    try:
        ssl.create_default_context(cafile=str(config.ca_file))
    except OSError as exc:  # ssl.SSLError too
        reason = exc.strerror or getattr(exc, "reason", None) or str(exc)
        if isinstance(exc, ssl.SSLError):
            reason = f"not a PEM CA certificate ({reason})"
        raise SinkConfigError(f"sink {config.name!r}: ca_file {config.ca_file}: {reason}") from None


def sink_token(config: SinkConfig, credentials: Credentials) -> str:
    try:
        entry = credentials.entry(config.credentials)
    except KeyError as exc:
        raise SinkConfigError(f"sink {config.name!r}: {exc.args[0]}") from None
    token = entry.get("token")
    if not token:
        raise SinkConfigError(
            f"sink {config.name!r}: credentials entry {config.credentials!r} has no 'token'"
        )
    return token


def spool_path(state_dir: Path, name: str) -> Path:
    return Path(state_dir) / "spool" / f"{name}.sqlite"
