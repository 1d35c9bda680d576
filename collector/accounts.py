"""The console's people: the users file beside roomwatch.yaml, their roles and passwords.

    # users.yaml — written by `roomwatch users`; never edited by hand is best
    users:
      - name: alice
        role: operator          # viewer | operator | admin
        password: $argon2id$v=19$m=65536,t=3,p=4$…
        changed: 1764620000     # when the password was last set (ends older sessions)

Passwords are kept only as argon2id hashes (argon2-cffi, the reference implementation's
binding, with its default cost). The file holds no clear secret but is written 0600 all the
same: a hash is still worth guessing against offline. The daemon re-reads it when it changes,
so `roomwatch users add|passwd|remove` takes effect without a restart; a password changed or a
user removed ends that user's sessions at their next request.

Roles, each including the one before:
    viewer    reads everything: the console, incidents and their history, devices, graphs
    operator  also acts: acknowledge, on site, note, assign, resolve, maintenance windows
    admin     also sees the users and lifts a lock-out from the console"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, Field, field_validator

from core.atomic import write_atomic
from core.yamlsource import ConfigError, load_yaml, validate

ROLES = ("viewer", "operator", "admin")
Role = Literal["viewer", "operator", "admin"]
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 10  # characters; a console that acknowledges alarms is worth a real password
MAX_PASSWORD = 1024  # argon2 takes any length; a bound keeps a login request cheap to refuse

_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Checked against when a name is unknown, so a wrong name costs as long as a wrong
    password (the time of a refusal does not tell which names exist). Made at the first
    login, not at import: a hash is 0.4 s of CPU and 64 MiB for a moment, which the daemon's
    start-up (and every process importing this module) need not pay."""
    return _HASHER.hash("not a password of anyone")


def role_allows(role: str, needed: str) -> bool:
    """Whether `role` may do what `needed` may (admin ⊇ operator ⊇ viewer)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


class UserEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    role: Role
    password: str = Field(description="argon2 hash")
    changed: float = 0.0

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not NAME_PATTERN.match(value):
            raise ValueError(
                "a user name is 1–64 letters, digits, '.', '_', '@' or '-', starting with a"
                " letter or digit"
            )
        return value

    @field_validator("password")
    @classmethod
    def _hash(cls, value: str) -> str:
        if not value.startswith("$argon2"):
            raise ValueError("expected an argon2 hash written by `roomwatch users`")
        return value


class UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    users: list[UserEntry] = []


@dataclass(frozen=True)
class User:
    name: str
    role: str
    changed: float


def default_users_file(config_file: Path) -> Path:
    return config_file.parent / "users.yaml"


def load_users(path: Path) -> dict[str, UserEntry]:
    """The users by name ({} when the file does not exist). Raises ConfigError naming the
    file and line of a bad entry."""
    if not path.exists():
        return {}
    data = load_yaml(path)
    if data is None:
        return {}
    parsed = validate(UsersFile, data, path)
    out: dict[str, UserEntry] = {}
    for entry in parsed.users:
        if entry.name in out:
            raise ConfigError.single(path, f"user {entry.name!r} appears twice")
        out[entry.name] = entry
    return out


def save_users(path: Path, users: dict[str, UserEntry]) -> None:
    header = (
        "# roomwatch console users, written by `roomwatch users`.\n"
        "# Passwords are argon2id hashes; roles: viewer, operator, admin.\n"
    )
    body = yaml.safe_dump(
        {"users": [u.model_dump() for u in sorted(users.values(), key=lambda u: u.name)]},
        sort_keys=False,
        allow_unicode=True,
    )
    write_atomic(path, header + body)
    os.chmod(path, 0o600)


def check_password(password: str) -> None:
    """Raises ValueError saying what a password needs."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise ValueError(f"a password may have at most {MAX_PASSWORD} characters")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(entry: UserEntry | None, password: str) -> bool:
    """Whether `password` is the user's. Slow on purpose (argon2): call it in a thread."""
    if len(password) > MAX_PASSWORD:
        return False
    try:
        return _HASHER.verify(entry.password if entry else _dummy_hash(), password) and (
            entry is not None
        )
    except (VerificationError, InvalidHashError):
        return False


class UserDirectory:
    """The users file as the daemon reads it: re-read when its modification time changes; a
    file that became invalid keeps the users last read (and says why once)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._users: dict[str, UserEntry] = {}
        self.error: str | None = None

    def _refresh(self) -> None:
        try:
            st = self.path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp:
            return
        self._stamp = stamp
        try:
            self._users = load_users(self.path)
            self.error = None
        except ConfigError as exc:
            self.error = "; ".join(str(e) for e in exc.errors)

    def entries(self) -> dict[str, UserEntry]:
        self._refresh()
        return self._users

    def get(self, name: str) -> UserEntry | None:
        return self.entries().get(name)

    def any(self) -> bool:
        return bool(self.entries())
