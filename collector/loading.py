"""Load everything the daemon needs, in order, stopping at the first bad file.

Order: roomwatch.yaml → credentials → inventory → rules. Used by `roomwatch check`, by the
daemon at start, and on reload (where a failure keeps the old configuration running)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collector.config import Config, load_config
from inventory import Credentials, Inventory, load_credentials, load_inventory
from rules.loader import load_rules


@dataclass
class Loaded:
    config: Config
    credentials: Credentials
    inventory: Inventory
    ruleset: Any
    warnings: list[str] = field(default_factory=list)


def load_all(config_path: str | Path) -> Loaded:
    """Raises inventory.ConfigError listing every error of the first bad file."""
    config = load_config(config_path)
    credentials, warnings = load_credentials(config.credentials)
    inventory = load_inventory(config.inventory, credentials)
    ruleset = load_rules(config.rules, inventory)
    return Loaded(config, credentials, inventory, ruleset, warnings)
