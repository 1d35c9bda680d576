"""The megatec probe over a real pseudo-terminal pair (socat) to the Megatec UPS emulator that
replays recorded replies, good and broken."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from collector.polling import poll_once
from probes.base import ProbeProtocolError, ProbeTimeout, ProbeUnreachable
from probes.megatec import MegatecProbe, MegatecSettings
from tests.fixtures.megatec_emulator import MegatecEmulator
from tests.fixtures.serial_pty import PtyPair

pytestmark = pytest.mark.integration

OPEN: list[MegatecProbe] = []


@pytest.fixture(autouse=True)
async def close_probes() -> AsyncIterator[None]:
    """Probes share their port or connection; each test releases what it used."""
    yield
    while OPEN:
        await OPEN.pop().close()


@pytest.fixture
def line(tmp_path: Path) -> Iterator[PtyPair]:
    pair = PtyPair(tmp_path, "ups").start()
    yield pair
    pair.stop()


@pytest.fixture
def ups(line: PtyPair) -> Iterator[MegatecEmulator]:
    emulator = MegatecEmulator(line.device_end).start()
    yield emulator
    emulator.stop()


def probe_for(line: PtyPair, **extra: object) -> MegatecProbe:
    settings = MegatecSettings.model_validate(
        {"type": "megatec", "port": str(line.host_end), "reply_timeout": 0.6, **extra}
    )
    made = MegatecProbe("ups-1", settings)
    OPEN.append(made)
    return made


def by_name(samples: object) -> dict[str, object]:
    assert isinstance(samples, list)
    return {s.metric: s.value for s in samples}


async def test_status_rating_and_identity_read_from_the_ups(
    line: PtyPair, ups: MegatecEmulator
) -> None:
    ups.answer_with("q1-spec-example-online-bypass-fault", "f-nut-test", "i-nut-test")
    values = by_name(await probe_for(line, battery_cells=12).poll(1000.0))
    assert values["ups.status"] == "OL BYPASS ALARM"
    assert values["input.voltage"] == 208.4
    assert values["battery.voltage"] == pytest.approx(24.6)
    assert values["input.voltage.nominal"] == 230.0
    assert values["device.mfr"] == "NOT_A_LIVE_UPS"


async def test_rating_and_identity_are_asked_once_per_probe(
    line: PtyPair, ups: MegatecEmulator
) -> None:
    ups.answer_with("q1-on-battery-low", "f-voltronic-qs-doc", "i-nut-test")
    probe = probe_for(line)
    await probe.poll(1.0)
    values = by_name(await probe.poll(2.0))
    assert values["ups.status"] == "OB DISCHRG LB"
    assert values["input.voltage.nominal"] == 220.0
    assert ups.received.count(b"F") == 1
    assert ups.received.count(b"Q1") == 2


async def test_ups_that_echoes_rating_and_identity_still_gives_status(
    line: PtyPair, ups: MegatecEmulator
) -> None:
    ups.answer_with("q1-real-ippon-line-interactive")  # F and I are echoed: unsupported
    values = by_name(await probe_for(line).poll(1.0))
    assert values["ups.status"] == "OL"
    assert "input.voltage.nominal" not in values
    assert "device.model" not in values


async def test_reply_without_final_cr_is_read_to_its_end(
    line: PtyPair, ups: MegatecEmulator
) -> None:
    ups.answer_with("q1-real-missing-cr", "f-real-missing-cr")
    values = by_name(await probe_for(line, query_identity=False).poll(1.0))
    assert values["input.voltage"] == 227.0
    assert values["input.voltage.nominal"] == 220.0


async def test_line_noise_before_the_reply_is_skipped(line: PtyPair, ups: MegatecEmulator) -> None:
    ups.answer_with("q1-line-noise-prefix")
    values = by_name(await probe_for(line, query_rating=False, query_identity=False).poll(1.0))
    assert values["input.voltage"] == 229.0


async def test_silent_ups_times_out(line: PtyPair, ups: MegatecEmulator) -> None:
    ups.answer_with("reply-timeout")
    with pytest.raises(ProbeTimeout, match="no answer"):
        await probe_for(line).poll(1.0)


async def test_ups_that_echoes_the_status_query_is_a_protocol_error(
    line: PtyPair, ups: MegatecEmulator
) -> None:
    # no record for Q1: the emulator echoes it, as a unit that does not speak Q1 would
    with pytest.raises(ProbeProtocolError, match="does not answer Q1"):
        await probe_for(line).poll(1.0)


async def test_all_zero_line_and_nul_byte_are_protocol_errors(
    line: PtyPair, ups: MegatecEmulator
) -> None:
    probe = probe_for(line, query_rating=False, query_identity=False)
    ups.answer_with("q1-real-all-zero")
    with pytest.raises(ProbeProtocolError, match="all-zero"):
        await probe.poll(1.0)
    ups.answer_with("real-nul-byte")
    with pytest.raises(ProbeProtocolError, match="NUL"):
        await probe.poll(2.0)


async def test_port_that_disappears_and_comes_back_is_reopened(tmp_path: Path) -> None:
    pair = PtyPair(tmp_path, "usb").start()
    emulator = MegatecEmulator(pair.device_end).start()
    emulator.answer_with("q1-nut-test-nominal")
    probe = probe_for(pair, query_rating=False, query_identity=False)
    try:
        assert by_name(await probe.poll(1.0))["ups.status"] == "OL"
        emulator.stop()
        pair.stop()  # the adapter is unplugged
        with pytest.raises((ProbeUnreachable, ProbeTimeout)):
            await probe.poll(2.0)
        with pytest.raises(ProbeUnreachable, match="cannot open"):
            await probe.poll(3.0)
        pair.start()  # plugged in again, same path
        emulator = MegatecEmulator(pair.device_end).start()
        emulator.answer_with("q1-on-battery")
        assert by_name(await probe.poll(4.0))["ups.status"] == "OB DISCHRG"
    finally:
        emulator.stop()
        pair.stop()


async def test_ups_silent_on_rating_and_identity_stays_up_when_timeout_is_tight(
    line: PtyPair, ups: MegatecEmulator
) -> None:
    # The collector cancels a poll at `timeout`. Before the fix, the silent F query alone used
    # the whole timeout, so every poll was cancelled and the UPS looked down although it
    # answered Q1 each time.
    ups.answer_with("q1-nut-test-nominal")
    ups.stay_silent_on("F", "I")
    probe = probe_for(line, reply_timeout=1.0, timeout=1.0)
    for now in (1.0, 2.0):
        result = await poll_once(probe, now)
        assert result.error is None, result.error
        values = {s.metric: s.value for s in result.samples}
        assert values["ups.status"] == "OL"
        assert values["device.up"] == 1
        assert "input.voltage.nominal" not in values
