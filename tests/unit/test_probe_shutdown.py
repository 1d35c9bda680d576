"""The probe registry's shutdown hooks: what a probe module shares between its probes (the
SNMP sockets and engines) is closed by the daemon through the registry, without the daemon
knowing which protocols are in use."""

from __future__ import annotations

import logging
import socket

import pytest

from probes import registry


@pytest.fixture
def no_hooks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "_shutdown_hooks", [])


@pytest.mark.usefixtures("no_hooks")
async def test_sync_and_async_hooks_run_once_each_in_order() -> None:
    calls: list[str] = []

    def close_sockets() -> None:
        calls.append("sockets")

    async def close_engines() -> None:
        calls.append("engines")

    registry.on_shutdown(close_sockets)
    registry.on_shutdown(close_engines)
    registry.on_shutdown(close_sockets)  # a module imported twice registers twice
    await registry.shutdown()
    assert calls == ["sockets", "engines"]


@pytest.mark.usefixtures("no_hooks")
async def test_a_failing_hook_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[str] = []

    def broken() -> None:
        raise OSError("socket already gone")

    registry.on_shutdown(broken)
    registry.on_shutdown(lambda: calls.append("next"))
    with caplog.at_level(logging.ERROR, logger="roomwatch.probes"):
        await registry.shutdown()
    assert calls == ["next"]
    assert "broken" in caplog.text
    assert "socket already gone" in caplog.text


async def test_registry_shutdown_closes_the_shared_snmp_socket() -> None:
    from probes.snmp.transport import SharedSocket

    shared = await SharedSocket.for_loop(socket.AF_INET)
    assert shared.transport is not None
    transport = shared.transport
    await registry.shutdown()
    assert transport.is_closing()
    # The next poll after a shutdown gets a fresh socket, not the closed one.
    again = await SharedSocket.for_loop(socket.AF_INET)
    assert again is not shared
    await registry.shutdown()
