"""Fixtures shared by the integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.website import Website


@pytest.fixture
def website() -> Iterator[Website]:
    """A real website on loopback whose health the test switches."""
    site = Website()
    yield site
    site.close()
