"""Keeping the engine's state on disk so `for` timers and open faults survive a restart.

The daemon calls `save_state` periodically and on shutdown, and `load_state` after building
the engine. The file is the JSON of rules/snapshot.py's `Snapshot` (older formats still load).
The write is atomic: a crash mid-write leaves the previous file intact."""

from __future__ import annotations

import json
from pathlib import Path

from core.atomic import write_atomic
from rules import snapshot
from rules.engine import Engine


def save_state(path: str | Path, engine: Engine) -> None:
    write_atomic(Path(path), engine.snapshot().model_dump_json())


def load_state(path: str | Path, engine: Engine) -> bool:
    """Restore the engine from `path`. Returns False when there is no file; a file that is
    not ours (corrupt, unknown version) raises ValueError naming it."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    try:
        saved = snapshot.parse(json.loads(text))
    except ValueError as exc:  # bad JSON (json.JSONDecodeError is one), or not our format
        raise ValueError(f"{path}: cannot restore rule engine state: {exc}") from None
    engine.restore(saved)
    return True
