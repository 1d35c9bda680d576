"""The credentials file: secrets by name, kept apart from inventory and rules.

    # /etc/roomwatch/credentials.yaml  (mode 0600 or 0640, owned by the service user)
    core-switches:
      community: "s3cret"
    ups-v3:
      user: ops
      auth_key: "…"
      priv_key: "…"
    influx:
      token: "…"

An entry is a mapping of settings keys to values, merged into the settings of every probe,
sink or notifier that names it (`credentials: core-switches`). With systemd credentials
(`LoadCredential=`), a file `$CREDENTIALS_DIRECTORY/<entry>.<key>` overrides the same key."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from core.yamlsource import ConfigError, ErrorItem, LineDict, load_yaml


class Credentials:
    def __init__(self, entries: Mapping[str, Mapping[str, str]], source: str = "") -> None:
        self._entries = {k: dict(v) for k, v in entries.items()}
        self.source = source

    def __repr__(self) -> str:  # never show a secret
        return f"Credentials({sorted(self._entries)!r})"

    def __contains__(self, name: object) -> bool:
        return name in self._entries or bool(self._systemd_keys(str(name)))

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entry(self, name: str) -> dict[str, str]:
        """The keys of one entry. Raises KeyError naming the entry (never a value)."""
        out = dict(self._entries.get(name, {}))
        out.update(self._systemd_keys(name))
        if not out:
            where = f" in {self.source}" if self.source else ""
            raise KeyError(f"no credentials entry {name!r}{where}")
        return out

    @staticmethod
    def _systemd_keys(name: str) -> dict[str, str]:
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            return {}
        out = {}
        for path in Path(directory).glob(f"{name}.*"):
            out[path.name[len(name) + 1 :]] = path.read_text(encoding="utf-8").strip()
        return out


def load_credentials(path: str | Path | None) -> tuple[Credentials, list[str]]:
    """Load the credentials file. Returns the credentials and warnings (a file readable by
    others is a warning, not an error, so a misconfigured box still monitors)."""
    if path is None:
        return Credentials({}), []
    path = Path(path)
    if not path.exists():
        raise ConfigError.single(path, "credentials file not found")
    warnings = []
    mode = path.stat().st_mode
    if mode & (stat.S_IROTH | stat.S_IWOTH):
        warnings.append(
            f"{path}: credentials file is readable by other users (mode {stat.filemode(mode)});"
            " run: chmod 600 " + str(path)
        )
    data = load_yaml(path)
    if data is None:
        return Credentials({}, str(path)), warnings
    if not isinstance(data, LineDict):
        raise ConfigError.single(path, "expected a mapping of entry names to mappings", 1, 1)
    errors: list[ErrorItem] = []
    entries: dict[str, dict[str, str]] = {}
    for name, value in data.items():
        line, col = data.positions[name]
        if not isinstance(value, LineDict):
            errors.append(ErrorItem(str(path), line, col, f"{name}: expected a mapping of keys"))
            continue
        entry = {}
        for key, secret in value.items():
            if not isinstance(secret, str | int | float) or isinstance(secret, bool):
                kline, kcol = value.positions[key]
                errors.append(ErrorItem(str(path), kline, kcol, f"{name}.{key}: expected a string"))
                continue
            entry[key] = str(secret)
        entries[name] = entry
    if errors:
        raise ConfigError(errors)
    return Credentials(entries, str(path)), warnings
