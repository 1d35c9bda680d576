"""The main file, `roomwatch.yaml`: where everything else is, and the daemon's own settings.

    inventory: inventory.yaml          # a file or a directory of them
    rules: [rules/]                    # files or directories
    credentials: credentials.yaml      # secrets by name (optional)
    state_dir: /var/lib/roomwatch      # spool, outbox, rule state, maintenance windows
    store: sqlite:///var/lib/roomwatch/roomwatch.db   # the ticket store (default: in state_dir)
    collector: {concurrency: 64, jitter: 0.1}
    sinks: […]                         # InfluxDB v2 (see "Sending samples to InfluxDB")
    alerting: {…}                      # notifiers, duty schedule, SLA (see "Incidents …")
    api: {listen: "127.0.0.1:8765"}

Relative paths are relative to the directory of this file. Each section is validated by the
model of the package that owns it, and every error names file, line and reason."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from collector.demo_site import DemoSiteSettings
from inventory.yamlsource import ConfigError, ErrorItem, LineDict, load_yaml, validate
from probes.durations import Duration

DEFAULT_CONFIG = Path("/etc/roomwatch/roomwatch.yaml")


class CollectorSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    concurrency: int = Field(default=64, ge=1, le=10_000)  # polls in flight at once
    jitter: float = Field(default=0.1, ge=0.0, le=1.0)  # ± fraction of each interval
    drain_timeout: Duration = 10.0  # SIGTERM: how long in-flight polls may finish


class ApiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    listen: str = "127.0.0.1:8765"
    credentials: str | None = None  # entry holding `token`; required when not on loopback


class MainFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inventory: Path = Path("inventory.yaml")
    rules: list[Path] = [Path("rules")]
    credentials: Path | None = None
    state_dir: Path = Path("/var/lib/roomwatch")
    store: str | None = None
    maintenance_file: Path | None = None
    collector: CollectorSettings = CollectorSettings()
    api: ApiSettings = ApiSettings()
    sinks: list[dict[str, Any]] = []
    alerting: dict[str, Any] = {}
    traps: dict[str, Any] | None = None
    demo_site: DemoSiteSettings | None = None  # the demo's own website (examples/)


# Sections owned by other packages: section name → "module:Model". Validated with that model,
# so the package that uses a setting also defines it.
SECTION_MODELS = {
    "alerting": "alerting.config:AlertingConfig",
    "sinks": "collector.sinks.config:SinkConfig",
    "traps": "probes.snmp_traps:TrapReceiverSettings",
}


def _model(section: str) -> type[BaseModel] | None:
    module_name, _, name = SECTION_MODELS[section].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return None
    model = getattr(module, name, None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


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
    sinks: list[Any] = field(default_factory=list)
    alerting: Any = None
    traps: Any = None
    demo_site: DemoSiteSettings | None = None


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
    main = validate(MainFile, data, path)
    base = path.parent

    def resolve(p: Path) -> Path:
        return p if p.is_absolute() else (base / p)

    errors: list[ErrorItem] = []
    sinks: list[Any] = []
    alerting: Any = None
    traps: Any = None
    sink_model = _model("sinks")
    if sink_model is not None:
        for i in range(len(main.sinks)):
            try:
                sinks.append(validate(sink_model, data["sinks"][i], path, ["sinks", i]))
            except ConfigError as exc:
                errors.extend(exc.errors)
    elif main.sinks:
        errors.append(ErrorItem(str(path), *data.positions["sinks"], "sinks: not supported"))
    alerting_model = _model("alerting")
    if alerting_model is not None:
        try:
            alerting = validate(
                alerting_model, data.get("alerting", LineDict()), path, ["alerting"]
            )
        except ConfigError as exc:
            errors.extend(exc.errors)
    if main.traps is not None:
        traps_model = _model("traps")
        if traps_model is None:
            errors.append(ErrorItem(str(path), *data.positions["traps"], "traps: not supported"))
        else:
            try:
                traps = validate(traps_model, data["traps"], path, ["traps"])
            except ConfigError as exc:
                errors.extend(exc.errors)
    if errors:
        raise ConfigError(errors)
    state_dir = resolve(main.state_dir)
    store = main.store or f"sqlite:///{state_dir / 'roomwatch.db'}"
    if store.startswith("sqlite:///") and not store.startswith("sqlite:////"):
        # sqlite:///relative.db is relative to the config file, like every other path here
        store = f"sqlite:///{resolve(Path(store[len('sqlite:///') :]))}"
    return Config(
        path=path,
        inventory=resolve(main.inventory),
        rules=[resolve(p) for p in main.rules],
        credentials=resolve(main.credentials) if main.credentials else None,
        state_dir=state_dir,
        store=store,
        maintenance_file=resolve(main.maintenance_file or state_dir / "maintenance.yaml"),
        collector=main.collector,
        api=main.api,
        sinks=sinks,
        alerting=alerting,
        traps=traps,
        demo_site=main.demo_site,
    )
