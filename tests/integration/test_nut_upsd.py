"""The nut probe against Debian's upsd serving the recorded device dumps through dummy-ups."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from core.sample import Sample
from probes.base import ProbeProtocolError, ProbeUnreachable
from probes.nut import NutProbe, NutSettings
from tests.fixtures.nut_peer import DUMPS, PASSWORD, USER, NutServer, read_dump
from tests.fixtures.peers import free_port, shared_fixture

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def upsd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NutServer]:
    server = NutServer(tmp_path_factory.mktemp("nut")).start()
    yield server
    server.stop()


def probe(address: str, **extra: object) -> NutProbe:
    return NutProbe(
        "ups-room1", NutSettings.model_validate({"type": "nut", "address": address, **extra})
    )


def by_name(samples: Sequence[Sample]) -> dict[str, object]:
    return {s.metric: s.value for s in samples}


@pytest.mark.parametrize("ups", sorted(DUMPS))
async def test_every_variable_of_the_dump_arrives_under_its_nut_name(
    upsd: NutServer, ups: str
) -> None:
    samples = await probe(upsd.address, ups=ups).poll(100.0)
    got = {s.metric: s for s in samples}
    dump = read_dump(shared_fixture("nut", DUMPS[ups]))
    for name, text in dump.items():
        if name.startswith("driver."):
            continue  # dummy-ups reports itself here, not the recorded driver
        assert name in got, name
        assert str(got[name].value) == text or got[name].value == float(text), name
    assert all(s.labels == {"ups": ups} and s.ts == 100.0 for s in samples)


async def test_status_flags_and_units(upsd: NutServer) -> None:
    eaton = {s.metric: s for s in await probe(upsd.address, ups="eaton").poll(1.0)}
    assert eaton["ups.status"].value == "ALARM OL CHRG RB"
    assert eaton["battery.charge"].value == 100
    assert eaton["battery.charge"].unit == "%"
    assert eaton["input.voltage"].value == 235.0
    assert eaton["input.voltage"].unit == "V"
    assert eaton["ups.alarm"].value == "Replace battery!"
    digitus = by_name(await probe(upsd.address, ups="digitus").poll(1.0))
    assert digitus["ups.status"] == "OB"
    assert digitus["ups.vendorid"] == "0001"  # an id, not the number 1


async def test_without_a_ups_name_every_ups_is_read(upsd: NutServer) -> None:
    samples = await probe(upsd.address).poll(1.0)
    statuses = {s.labels["ups"]: s.value for s in samples if s.metric == "ups.status"}
    assert statuses == {"apc": "OB", "digitus": "OB", "eaton": "ALARM OL CHRG RB"}


async def test_login_with_the_right_password(upsd: NutServer) -> None:
    got = by_name(await probe(upsd.address, ups="apc", username=USER, password=PASSWORD).poll(1.0))
    assert got["battery.runtime"] == 70680.0


async def test_unknown_ups_is_named_in_the_error(upsd: NutServer) -> None:
    with pytest.raises(ProbeProtocolError, match=r"'nosuch'.*UNKNOWN-UPS"):
        await probe(upsd.address, ups="nosuch").poll(1.0)


async def test_no_server_is_unreachable() -> None:
    with pytest.raises(ProbeUnreachable, match="ups-room1"):
        await probe(f"127.0.0.1:{free_port()}", ups="apc", timeout=2).poll(1.0)


def test_password_is_not_in_repr() -> None:
    settings = NutSettings(type="nut", address="127.0.0.1", username="mon", password="hunter2")
    assert "hunter2" not in repr(settings)
