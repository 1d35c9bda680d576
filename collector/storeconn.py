"""Opening the ticket store that roomwatch.yaml names, with its password from the credentials
file (`store_credentials: ENTRY`, key `password`) when the store is a PostgreSQL server."""

from __future__ import annotations

from alerting.store import StoreError, TicketStore, is_postgres_url, open_store
from collector.config import Config
from inventory.credentials import Credentials, load_credentials


def store_password(config: Config | None, credentials: Credentials | None = None) -> str | None:
    """The store's password from the credentials file, or None (SQLite, or libpq's own
    ~/.pgpass / PGPASSWORD). Raises StoreError naming the entry when it is missing."""
    if config is None or not config.store_credentials or not is_postgres_url(config.store):
        return None
    if credentials is None:
        try:
            credentials, _ = load_credentials(config.credentials)
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read the credentials file: {exc}") from None
    try:
        entry = credentials.entry(config.store_credentials)
    except KeyError as exc:
        raise StoreError(f"store_credentials: {exc.args[0]}") from None
    if "password" not in entry:
        raise StoreError(
            f"store_credentials: entry {config.store_credentials!r} has no `password` key"
        )
    return entry["password"]


async def open_configured(
    config: Config | None,
    url: str | None = None,
    *,
    credentials: Credentials | None = None,
    upgrade: bool = False,
    collector: str | None = None,
) -> TicketStore:
    """The store at `url` (default: the config's), its password from the config's
    credentials when `url` is the config's own store."""
    chosen = url or (config.store if config is not None else None)
    if chosen is None:
        raise StoreError("no ticket store given (use -c FILE or --store URL)")
    password = (
        store_password(config, credentials)
        if config is not None and chosen == config.store
        else None
    )
    return await open_store(chosen, password=password, upgrade=upgrade, collector=collector)
