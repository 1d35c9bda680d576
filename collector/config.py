"""The main file, `roomwatch.yaml`: where everything else is, and the daemon's own settings.

    inventory: inventory.yaml          # a file or a directory of them
    rules: [rules/]                    # files or directories
    credentials: credentials.yaml      # secrets by name (optional)
    state_dir: /var/lib/roomwatch      # spool, outbox, rule state, maintenance windows
    store: sqlite:///var/lib/roomwatch/roomwatch.db   # the ticket store (default: in state_dir)
    collector: {jitter: 0.1}           # concurrency: sized from the inventory unless set
    sinks: […]                         # InfluxDB v2 (see "Sending samples to InfluxDB")
    alerting: {…}                      # notifiers, duty schedule, SLA (see "Incidents …")
    api: {listen: "127.0.0.1:8765"}   # the console, wall screen and JSON API (docs/console.md)
    history: {keep: 7d}                # recent readings for the console's graphs

Relative paths are relative to the directory of this file. Each section is validated by the
model of the package that owns it (alerting, sinks, the trap receiver), and every error names
file, line and reason."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from alerting.config import AlertingConfig
from alerting.store import StoreError, check_url, is_postgres_url
from collector.history import HistorySettings
from collector.renamed_keys import apply_renames
from collector.sinks.config import SinkConfig
from core.durations import Duration
from core.yamlsource import ConfigError, LineDict, load_yaml, validate

if TYPE_CHECKING:
    from probes.snmp.trap_settings import SnmpTrapSettings

DEFAULT_CONFIG = Path("/etc/roomwatch/roomwatch.yaml")


class DemoSiteSettings(BaseModel):
    """The `demo_site:` section: a website the demo serves to itself (collector/demo_site.py)."""

    model_config = ConfigDict(extra="forbid")

    listen: str = "127.0.0.1:8089"
    healthy_for: Duration = 180.0
    failing_for: Duration = 120.0


class CollectorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Polls in flight at once; unset: sized from the inventory (collector/pollstats.py), so
    # that a poll waiting for a slot is the exception even when devices time out.
    concurrency: int | None = Field(default=None, ge=1, le=10_000)
    jitter: float = Field(default=0.1, ge=0.0, le=1.0)  # ± fraction of each interval
    drain_timeout: Duration = 10.0  # SIGTERM: how long in-flight polls may finish
    # several collectors on one PostgreSQL store (docs/scale.md)
    name: str = Field(default_factory=socket.gethostname, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    shards: list[str] | None = None  # the shards this collector watches (default: all)
    failover: Duration = Field(default=30.0, ge=1.0)  # a standby takes over within this
    silent_level: int = Field(default=1, ge=1, le=3)  # the "collector silent" incident's level
    heartbeat_url: str | None = None  # dead-man's switch: GET every heartbeat_interval
    heartbeat_interval: Duration = Field(default=60.0, ge=1.0)


class ApiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    listen: str = "127.0.0.1:8765"
    credentials: str | None = None  # entry holding `token`; required when not on loopback
    # a reading older than this is left out of /metrics/devices (docs/prometheus.md)
    readings_stale_after: Duration = Field(default=600.0, gt=0)
    users_file: Path | None = None  # the console's users (default: users.yaml beside this file)
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)  # a login lasts this long
    tls_cert: Path | None = None  # serve HTTPS directly: certificate chain (PEM)
    tls_key: Path | None = None  # … and its private key (PEM)
    # Behind a reverse proxy on this machine: trust its X-Forwarded-Proto/-For (from loopback
    # only), so the session cookie is Secure and lock-outs count the real client address.
    behind_proxy: bool = False

    @model_validator(mode="after")
    def _tls_pair(self) -> ApiSettings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("api.tls_cert and api.tls_key go together: set both or neither")
        return self


class MainFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inventory: Path = Path("inventory.yaml")
    rules: list[Path] = [Path("rules")]
    credentials: Path | None = None
    state_dir: Path = Path("/var/lib/roomwatch")
    store: str | None = None
    store_credentials: str | None = None  # entry holding the PostgreSQL `password`

    @field_validator("store")
    @classmethod
    def _store_url(cls, value: str | None) -> str | None:
        if value is not None and is_postgres_url(value):
            try:
                check_url(value)
            except StoreError as exc:
                raise ValueError(str(exc)) from None
        elif value is not None and not value.startswith("sqlite:"):
            raise ValueError("expected sqlite:PATH or postgresql://USER@HOST:PORT/DATABASE")
        return value

    maintenance_file: Path | None = None
    # directories of MIBs compiled by `roomwatch mibs compile` (trap and OID names)
    mib_dirs: list[Path] = []
    collector: CollectorSettings = CollectorSettings()
    api: ApiSettings = ApiSettings()
    sinks: list[SinkConfig] = []
    alerting: AlertingConfig = Field(default_factory=AlertingConfig)
    traps: dict[str, Any] | None = None  # validated by the SNMP trap receiver's model
    demo_site: DemoSiteSettings | None = None  # the demo's own website (examples/)
    history: HistorySettings = HistorySettings()  # recent readings for the console's graphs


@dataclass
class Config:
    path: Path
    inventory: Path
    rules: list[Path]
    credentials: Path | None
    state_dir: Path
    store: str
    maintenance_file: Path
    collector: CollectorSettings
    api: ApiSettings
    sinks: list[SinkConfig] = field(default_factory=list)
    alerting: AlertingConfig = field(default_factory=AlertingConfig)
    traps: SnmpTrapSettings | None = None
    demo_site: DemoSiteSettings | None = None
    store_credentials: str | None = None
    history: HistorySettings = field(default_factory=HistorySettings)
    mib_dirs: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # old key names read (renamed_keys)


def _alerting_paths(alerting: AlertingConfig, resolve: Callable[[Path], Path]) -> AlertingConfig:
    """The channels' CA files written relative to roomwatch.yaml, made absolute."""
    notifiers = [
        n.model_copy(update={"ca_file": str(resolve(Path(ca)))})
        if isinstance(ca := getattr(n, "ca_file", None), str)
        else n
        for n in alerting.notifiers
    ]
    return alerting.model_copy(update={"notifiers": notifiers})


def load_config(path: str | Path) -> Config:
    """Load and validate roomwatch.yaml (only that file). Raises ConfigError."""
    path = Path(path).resolve()
    if not path.exists():
        raise ConfigError.single(path, "config file not found")
    data = load_yaml(path)
    if data is None:
        data = LineDict()
        data.positions, data.start = {}, (1, 1)
    if not isinstance(data, LineDict):
        raise ConfigError.single(path, "expected a mapping at the top level", 1, 1)
    renamed = apply_renames(data, path)
    main = validate(MainFile, data, path)
    base = path.parent

    def resolve(p: Path) -> Path:
        return p if p.is_absolute() else (base / p)

    traps = None
    if main.traps is not None:
        # Imported only when used: it brings the SNMP stack.
        from probes.snmp.trap_settings import SnmpTrapSettings

        traps = validate(SnmpTrapSettings, data["traps"], path, ["traps"])
    state_dir = resolve(main.state_dir)
    store = main.store or f"sqlite://{state_dir / 'roomwatch.db'}"
    if store.startswith("sqlite:") and not store.startswith("sqlite://"):
        # sqlite:tickets.db names a file relative to this config file, like every path here;
        # sqlite:///var/lib/… (as DESIGN.md writes it) and sqlite:////var/lib/… are absolute.
        store = f"sqlite://{resolve(Path(store[len('sqlite:') :]))}"
    return Config(
        path=path,
        inventory=resolve(main.inventory),
        rules=[resolve(p) for p in main.rules],
        credentials=resolve(main.credentials) if main.credentials else None,
        state_dir=state_dir,
        store=store,
        maintenance_file=resolve(main.maintenance_file or state_dir / "maintenance.yaml"),
        collector=main.collector,
        api=main.api.model_copy(
            update={
                "users_file": resolve(main.api.users_file or Path("users.yaml")),
                "tls_cert": resolve(main.api.tls_cert) if main.api.tls_cert else None,
                "tls_key": resolve(main.api.tls_key) if main.api.tls_key else None,
            }
        ),
        sinks=[
            # a CA file written relative to this file, like every other path here
            s.model_copy(update={"ca_file": resolve(s.ca_file)}) if s.ca_file else s
            for s in main.sinks
        ],
        alerting=_alerting_paths(main.alerting, resolve),
        traps=traps,
        demo_site=main.demo_site,
        store_credentials=main.store_credentials,
        history=main.history,
        mib_dirs=[resolve(p) for p in main.mib_dirs],
        warnings=renamed,
    )
