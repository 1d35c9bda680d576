"""`roomwatch run --event-loop`: uvloop when installed (auto), asyncio's own loop on request,
and a clear error when uvloop is asked for by name but missing."""

from __future__ import annotations

import asyncio
import sys

import pytest

from collector.commands.run import loop_factory


def test_auto_runs_on_uvloop_when_it_is_installed() -> None:
    factory, name = loop_factory("auto")
    assert factory is not None and name.startswith("uvloop ")
    loop = factory()
    try:
        assert type(loop).__module__.startswith("uvloop")
        assert loop.run_until_complete(asyncio.sleep(0, "ran")) == "ran"
    finally:
        loop.close()


def test_asyncio_on_request() -> None:
    assert loop_factory("asyncio") == (None, "asyncio")


def test_auto_falls_back_to_asyncio_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    assert loop_factory("auto") == (None, "asyncio (uvloop is not installed)")


def test_uvloop_by_name_without_uvloop_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)
    with pytest.raises(SystemExit, match=r"uvloop is not installed.*--event-loop asyncio"):
        loop_factory("uvloop")
