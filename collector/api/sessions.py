"""Signed-in people: sessions behind a cookie, and the lock-out after repeated failures.

A session is a random 256-bit id in the `roomwatch_session` cookie (HttpOnly, SameSite=Lax,
Secure when the request came over TLS, directly or through a trusted proxy), mapped in the
daemon's memory to the user, a per-session CSRF token and an expiry (`api.session_hours`).
Memory, not disk: a restart signs everybody out, which is the safe side, and nothing
secret is written. Lax rather than Strict so that a link to an incident tapped in a chat
message opens signed in; every state change is a POST that must carry the session's CSRF
token, so Lax costs nothing there.

Lock-out: 5 failed sign-ins for one name within 15 minutes lock that name for 15 minutes
(whatever the address), and 20 from one address lock that address; the time is the daemon's
injected clock. A lock is lifted by time or by an admin in the console (Users page)."""

from __future__ import annotations

import hmac
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from collector.accounts import UserDirectory, UserEntry

COOKIE = "roomwatch_session"
NAME_FAILURES = 5
ADDRESS_FAILURES = 20
FAILURE_WINDOW = 15 * 60.0
LOCK_SECONDS = 15 * 60.0
MAX_SESSIONS = 10_000  # a flood of sign-ins cannot grow memory without bound


@dataclass
class Session:
    id: str
    user: str
    csrf: str
    started: float
    expires: float
    password_changed: float  # the user's `changed` at sign-in: a new password ends this

    def csrf_matches(self, offered: str | None) -> bool:
        return bool(offered) and hmac.compare_digest(str(offered).encode(), self.csrf.encode())


class Sessions:
    def __init__(
        self, directory: UserDirectory | None, now: Callable[[], float], lifetime: float
    ) -> None:
        self.directory = directory
        self.now = now
        self.lifetime = lifetime
        self._by_id: dict[str, Session] = {}

    def start(self, user: UserEntry) -> Session:
        now = self.now()
        self._expire(now)
        if len(self._by_id) >= MAX_SESSIONS:
            oldest = min(self._by_id.values(), key=lambda s: s.started)
            del self._by_id[oldest.id]
        session = Session(
            id=secrets.token_urlsafe(32),
            user=user.name,
            csrf=secrets.token_urlsafe(32),
            started=now,
            expires=now + self.lifetime,
            password_changed=user.changed,
        )
        self._by_id[session.id] = session
        return session

    def find(self, cookie: str | None) -> tuple[Session, UserEntry] | None:
        """The live session behind a cookie and its user as the users file says now (so a
        changed role counts at once); None when unknown, expired, or the user was removed or
        has a new password."""
        if not cookie:
            return None
        session = self._by_id.get(cookie)
        if session is None:
            return None
        user = self.directory.get(session.user) if self.directory else None
        if (
            session.expires <= self.now()
            or user is None
            or user.changed != session.password_changed
        ):
            self._by_id.pop(cookie, None)
            return None
        return session, user

    def end(self, cookie: str | None) -> Session | None:
        return self._by_id.pop(cookie, None) if cookie else None

    def _expire(self, now: float) -> None:
        for sid in [sid for sid, s in self._by_id.items() if s.expires <= now]:
            del self._by_id[sid]

    def count(self) -> int:
        self._expire(self.now())
        return len(self._by_id)


class LockOut:
    """Failed sign-ins by name and by address, in a sliding window."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self._failures: dict[str, deque[float]] = {}
        self._locked: dict[str, float] = {}  # "name:…" / "addr:…" → until
        # tries whose password is being checked now (argon2 runs in a thread): counted as
        # failures until they are settled, or guesses sent at once would all be checked
        self._checking: dict[str, int] = {}
        self._told: dict[str, float] = {}  # "name:…" / "addr:…" → when a refusal was audited

    @staticmethod
    def _keys(name: str, address: str) -> tuple[tuple[str, int], ...]:
        return ((f"name:{name}", NAME_FAILURES), (f"addr:{address}", ADDRESS_FAILURES))

    def begin(self, name: str, address: str) -> float | None:
        """Take a try before its password is checked: None when it may be checked (settle it
        with `failed` or `succeeded`), else until when it is refused. Tries under way count
        as failures, so no more than the limit are ever checked at once."""
        until = self.locked_until(name, address)
        if until is not None:
            return until
        now = self.now()
        for key, limit in self._keys(name, address):
            recent = sum(1 for t in self._failures.get(key, ()) if t > now - FAILURE_WINDOW)
            if recent + self._checking.get(key, 0) >= limit:
                return now + LOCK_SECONDS  # as if the ones under way failed: they are guesses
        for key, _ in self._keys(name, address):
            self._checking[key] = self._checking.get(key, 0) + 1
        return None

    def first_refusal(self, name: str, address: str) -> bool:
        """Whether to audit this refusal: not when one for this name or from this address was
        audited within the lock time (refusing costs no argon2, so a script cycling names or
        hammering one would otherwise fill the store's audit log)."""
        now = self.now()
        keys = (f"name:{name}", f"addr:{address}")
        if any(self._told.get(k, -LOCK_SECONDS) > now - LOCK_SECONDS for k in keys):
            return False
        if len(self._told) >= MAX_SESSIONS:
            self._told = {k: t for k, t in self._told.items() if t > now - LOCK_SECONDS}
        self._told.update(dict.fromkeys(keys, now))
        return True

    def _settle(self, name: str, address: str) -> None:
        for key, _ in self._keys(name, address):
            left = self._checking.get(key, 0) - 1
            if left > 0:
                self._checking[key] = left
            else:
                self._checking.pop(key, None)

    def locked_until(self, name: str, address: str) -> float | None:
        now = self.now()
        until = max(
            (self._locked.get(k, 0.0) for k in (f"name:{name}", f"addr:{address}")), default=0.0
        )
        return until if until > now else None

    def failed(self, name: str, address: str) -> bool:
        """Count a failure (settling its `begin`); True when it locks the name or the address
        now."""
        self._settle(name, address)
        now = self.now()
        locked = False
        for key, limit in self._keys(name, address):
            times = self._failures.setdefault(key, deque())
            times.append(now)
            while times and times[0] <= now - FAILURE_WINDOW:
                times.popleft()
            if len(times) >= limit:
                self._locked[key] = now + LOCK_SECONDS
                times.clear()
                locked = True
        if len(self._failures) > MAX_SESSIONS:  # forget the oldest counters, not the locks
            for key in list(self._failures)[: len(self._failures) // 2]:
                del self._failures[key]
        return locked

    def succeeded(self, name: str, address: str) -> None:
        self._settle(name, address)
        self._failures.pop(f"name:{name}", None)

    def unlock(self, name: str) -> bool:
        self._failures.pop(f"name:{name}", None)
        self._told.pop(f"name:{name}", None)
        return self._locked.pop(f"name:{name}", None) is not None

    def locked_names(self) -> dict[str, float]:
        now = self.now()
        return {
            key[5:]: until
            for key, until in self._locked.items()
            if key.startswith("name:") and until > now
        }
