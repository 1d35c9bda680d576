"""Store URLs: which backend, and what a PostgreSQL URL may not hold (checked when
roomwatch.yaml is loaded, without importing the driver)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from alerting.store.model import StoreError

_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def check_url(url: str) -> None:
    """Raises StoreError for a PostgreSQL URL the store will not use."""
    parts = urlsplit(url)
    if parts.password is not None:
        raise StoreError(
            "a password does not belong in the store URL (it would be logged with connection"
            " errors): put it in the credentials file and name that entry in"
            " `store_credentials`, or use libpq's ~/.pgpass"
        )
    if not parts.hostname or not parts.path.strip("/"):
        raise StoreError(
            f"store URL {url!r} needs a host and a database: postgresql://USER@HOST:PORT/DATABASE"
        )
    query = dict(parse_qsl(parts.query))
    if "password" in query:
        raise StoreError(
            "a password does not belong in the store URL: put it in the credentials file"
            " and name that entry in `store_credentials`"
        )
    mode = query.get("sslmode")
    if mode is not None and mode not in _SSLMODES:
        raise StoreError(f"store URL: sslmode {mode!r} is not one of {', '.join(_SSLMODES)}")


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)
