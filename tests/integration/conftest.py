"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.postgres import pg_server, pg_store_url
from tests.fixtures.website import Website

# the real PostgreSQL server (session-wide) and a fresh database per test, for every module
__all__ = ["pg_server", "pg_store_url", "website"]


@pytest.fixture
def website() -> Iterator[Website]:
    """A real website on loopback whose health the test switches."""
    site = Website()
    yield site
    site.close()
