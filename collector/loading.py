"""Load everything the daemon needs, in order, stopping at the first bad file.

Order: roomwatch.yaml → credentials → inventory → rules. Used by `roomwatch check`, by the
daemon at start, and on reload (where a failure keeps the old configuration running)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alerting.store import StoreError
from collector.accounts import default_users_file, load_users
from collector.api.auth import api_token
from collector.config import Config, load_config
from collector.sinks.factory import SinkConfigError, check_sinks
from collector.storeconn import store_password
from inventory import ConfigError, Credentials, Device, Inventory, load_credentials, load_inventory
from inventory.loader import inventory_files
from rules.loader import load_rules, rule_files


def mib_dir_warnings(dirs: list[Path]) -> list[str]:
    """A mib_dirs entry that holds no compiled MIB names nothing: worth a word, not a stop
    (the daemon then shows numbers, as without MIBs)."""
    out = []
    for directory in dirs:
        if not directory.is_dir():
            out.append(
                f"mib_dirs: {directory} is not a directory (compile MIBs into it with "
                "'roomwatch mibs compile FILE… --out DIR')"
            )
        elif not any(directory.glob("*.json")):
            out.append(f"mib_dirs: {directory} holds no compiled MIB (*.json)")
    return out


@dataclass
class Loaded:
    config: Config
    credentials: Credentials
    inventory: Inventory
    ruleset: Any
    warnings: list[str] = field(default_factory=list)


SELF_DEVICE = "roomwatch"


def add_self_device(inventory: Inventory) -> None:
    """The daemon reports on itself (spool depth and age, sink health) as device `roomwatch`;
    it is added when the inventory does not declare it, so rules on `roomwatch.*` metrics work
    without a hand-written entry. Declare it to choose its name, site or criticality."""
    if SELF_DEVICE not in inventory.devices:
        inventory.devices[SELF_DEVICE] = Device(
            id=SELF_DEVICE, name="roomwatch", kind="other", criticality=2
        )


def watched_files(config: Config) -> list[Path]:
    """Every file a reload reads, for noticing edits (directories by their YAML files, so a
    new rule file counts too)."""
    files = [config.path, *inventory_files(config.inventory), *rule_files(config.rules)]
    if config.credentials is not None:
        files.append(config.credentials)
    return files


def files_signature(files: list[Path]) -> tuple[tuple[str, float, int], ...]:
    """What changes when any of `files` is edited, added or removed."""
    out = []
    for path in files:
        try:
            st = path.stat()
            out.append((str(path), st.st_mtime, st.st_size))
        except OSError:
            out.append((str(path), -1.0, -1))
    return tuple(out)


def load_all(config_path: str | Path) -> Loaded:
    """Raises inventory.ConfigError listing every error of the first bad file."""
    config = load_config(config_path)
    credentials, warnings = load_credentials(config.credentials)
    try:
        store_password(config, credentials)  # the entry named by store_credentials is there
    except StoreError as exc:
        raise ConfigError.single(config.path, str(exc)) from None
    warnings = [*config.warnings, *warnings, *mib_dir_warnings(config.mib_dirs)]
    try:
        check_sinks(config.sinks, credentials)
    except SinkConfigError as exc:
        raise ConfigError.single(config.path, f"sinks: {exc}") from None
    if config.traps is not None:
        try:
            config.traps = config.traps.with_credentials(credentials.entry)
        except (KeyError, ValueError) as exc:
            raise ConfigError.single(config.path, str(exc.args[0] if exc.args else exc)) from None
    if config.api.enabled:
        # off loopback needs a token or console users; a broken users file is an error now
        users_file = config.api.users_file or default_users_file(config.path)
        users = load_users(users_file)
        api_token(config.api, credentials, str(config.path), bool(users))
    inventory = load_inventory(config.inventory, credentials)
    ruleset = load_rules(config.rules, inventory)
    return Loaded(config, credentials, inventory, ruleset, warnings)
