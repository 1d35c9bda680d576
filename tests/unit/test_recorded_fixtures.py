"""The recorded device data under tests/fixtures/recorded are verbatim copies of the shared
fixtures (kept here so a clean checkout tests on its own). They must never drift or be edited."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.fixtures.peers import SHARED_FIXTURES

UPSTREAM = Path(__file__).resolve().parents[3] / "shared" / "fixtures"


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_recorded_fixtures_are_present() -> None:
    names = _digests(SHARED_FIXTURES)
    assert any(n.startswith("snmp/") and n.endswith(".snmprec") for n in names)
    assert "megatec/replies.txt" in names
    assert any(n.startswith("nut/") and n.endswith(".dev") for n in names)
    assert any(n.startswith("modbus/") and n.endswith(".yaml") for n in names)


def test_recorded_fixtures_match_the_shared_originals() -> None:
    if not UPSTREAM.is_dir():
        pytest.skip("the shared fixture originals are not next to this checkout")
    assert _digests(SHARED_FIXTURES) == _digests(UPSTREAM)
