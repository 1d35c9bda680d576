"""Partial polls against a real agent: net-snmp's snmpd behind our misbehaving UDP proxy
(tests/fixtures/snmp_proxy.py), which drops, truncates or corrupts chosen answers. For both
engines: a poll keeps what it read, retries smaller what got no answer, names in
`snmp.incomplete` what still failed, and says `auth` only for an agent that answers nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from collector.polling import PollResult, poll_once
from core.sample import Sample
from probes.snmp import ber
from probes.snmp.engines import close_shared
from probes.snmp.probe import SnmpProbe, SnmpSettings
from tests.fixtures.peers import stop_process
from tests.fixtures.snmp_peers import Agent, start_snmpd
from tests.fixtures.snmp_proxy import (
    SnmpProxy,
    answer_first,
    drop_asking,
    drop_bigger_than,
    drop_getbulk,
    drop_non_repeaters,
    empty_oid_value,
    truncate_answering,
)

pytestmark = pytest.mark.integration

ENGINES = ["lean", "pysnmp"]
PROFILES = "system,host-resources,if-mib"
HR_STORAGE_USED = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1, 6)
SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_OBJECT_ID = (1, 3, 6, 1, 2, 1, 1, 2, 0)
HEALTH = {"snmp.incomplete", "snmp.garbled", "snmp.out_of_bounds"}


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    agent = start_snmpd(tmp_path_factory.mktemp("snmpd-partial"))
    yield agent
    stop_process(agent.proc)


@pytest.fixture
def proxy(snmpd: Agent) -> Iterator[SnmpProxy]:
    front = SnmpProxy(snmpd.port)
    yield front
    front.close()


def probe(address: str, engine: str, **settings: object) -> SnmpProbe:
    config = SnmpSettings.model_validate(
        {
            "type": "snmp",
            "address": address,
            "community": "public",
            "engine": engine,
            "profile": PROFILES,
            "request_timeout": 0.3,
            "retries": 1,
            "timeout": 8,
            **settings,
        }
    )
    return SnmpProbe("lab-snmpd", config)


async def poll(p: SnmpProbe) -> PollResult:
    try:
        return await poll_once(p, 1000.0)
    finally:
        await p.close()
        await close_shared()


def sample(result: PollResult, metric: str) -> Sample:
    found = [s for s in result.samples if s.metric == metric]
    assert len(found) == 1, (metric, found)
    return found[0]


def series(result: PollResult) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    """The readings' series (metric + labels), without the poll's own health samples."""
    skip = HEALTH | {"device.up", "device.poll_seconds"}
    return {
        (s.metric, tuple(sorted(s.labels.items()))) for s in result.samples if s.metric not in skip
    }


@pytest.fixture(scope="module")
def direct(snmpd: Agent) -> dict[str, PollResult]:
    """What each engine reads straight from snmpd: the yardstick for the proxied polls."""
    import asyncio

    return {e: asyncio.run(poll(probe(snmpd.address, e))) for e in ENGINES}


@pytest.mark.parametrize("engine", ENGINES)
async def test_answers_too_big_to_be_sent_are_read_whole_with_smaller_requests(
    proxy: SnmpProxy, direct: dict[str, PollResult], engine: str
) -> None:
    proxy.rule = drop_bigger_than(1200)
    result = await poll(probe(proxy.address, engine))
    assert result.up, result.error
    assert sample(result, "snmp.incomplete").value == 0
    assert series(result) == series(direct[engine])
    assert proxy.dropped >= 1  # the first, big GETBULK was lost


@pytest.mark.parametrize("engine", ENGINES)
async def test_an_agent_ignoring_getbulk_is_walked_with_getnext_and_remembered(
    proxy: SnmpProxy, direct: dict[str, PollResult], engine: str
) -> None:
    proxy.rule = drop_getbulk
    p = probe(proxy.address, engine)
    first = await poll_once(p, 1000.0)
    assert first.up, first.error
    assert sample(first, "snmp.incomplete").value == 0
    assert series(first) == series(direct[engine])
    before = len(proxy.seen)
    second = await poll_once(p, 1060.0)
    await p.close()
    await close_shared()
    assert second.up and sample(second, "snmp.incomplete").value == 0
    # Learned: the second poll sends no GETBULK, so it pays no timeout.
    assert not [ex for ex in proxy.seen[before:] if ex.pdu_tag == ber.GET_BULK_REQUEST]


def values(result: PollResult, metrics: set[str]) -> dict[tuple[str, tuple[object, ...]], object]:
    return {
        (s.metric, tuple(sorted(s.labels.items()))): s.value
        for s in result.samples
        if s.metric in metrics
    }


STATIC = {"sysName", "sysDescr", "sysLocation", "sysObjectID", "ifName", "ifType", "ifMtu"}


@pytest.mark.parametrize("engine", ENGINES)
async def test_the_scalars_ride_in_the_first_getbulk_and_read_as_a_get_reads_them(
    proxy: SnmpProxy, engine: str
) -> None:
    by_get = probe(proxy.address, engine, profile="system,if-mib")
    by_get._limits.riders = False
    plain = await poll(by_get)
    asked = len(proxy.seen)
    riding = await poll(probe(proxy.address, engine, profile="system,if-mib"))
    assert riding.up and sample(riding, "snmp.incomplete").value == 0
    assert series(riding) == series(plain)
    assert values(riding, STATIC) == values(plain, STATIC)
    assert values(riding, STATIC)[("sysName", ())] == "roomwatch-test-snmpd"
    # snmpd's answer to them: their own GET gone, the walk's requests as many as before
    mine = proxy.seen[asked:]
    assert [ex.pdu_tag for ex in proxy.seen[:asked]].count(ber.GET_REQUEST) == 1
    assert ber.GET_REQUEST not in [ex.pdu_tag for ex in mine]
    assert len(mine) == asked - 1
    assert mine[0].non_repeaters == 5


@pytest.mark.parametrize("engine", ENGINES)
async def test_an_agent_silent_to_non_repeaters_is_read_by_get_and_that_is_remembered(
    proxy: SnmpProxy, direct: dict[str, PollResult], engine: str
) -> None:
    proxy.rule = drop_non_repeaters
    p = probe(proxy.address, engine)
    first = await poll_once(p, 1000.0)
    assert first.up, first.error
    assert sample(first, "snmp.incomplete").value == 0
    assert series(first) == series(direct[engine])
    before = len(proxy.seen)
    second = await poll_once(p, 1060.0)
    await p.close()
    await close_shared()
    assert second.up and sample(second, "snmp.incomplete").value == 0
    assert proxy.dropped == 2  # the first poll's riders request, both its tries; never again
    assert not [ex for ex in proxy.seen[before:] if ex.non_repeaters]


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_column_that_never_answers_is_named_and_the_rest_is_read(
    proxy: SnmpProxy, direct: dict[str, PollResult], engine: str
) -> None:
    proxy.rule = drop_asking(HR_STORAGE_USED)
    p = probe(proxy.address, engine)
    result = await poll_once(p, 1000.0)
    assert result.up, result.error  # device.up = 1: not the whole device lost
    incomplete = sample(result, "snmp.incomplete")
    assert incomplete.value == 1
    assert incomplete.note == "timeout: hrStorageUsed"
    readings = series(result)
    assert not [m for m, _ in readings if m == "hrStorageUsed"]
    assert readings == {s for s in series(direct[engine]) if s[0] != "hrStorageUsed"}
    # The next poll walks the culprit alone from the start and still reads the rest.
    again = await poll_once(p, 1060.0)
    await p.close()
    await close_shared()
    assert again.up and sample(again, "snmp.incomplete").note == "timeout: hrStorageUsed"
    assert readings <= series(again)  # (plus the rates a second poll adds)
    assert not [m for m, _ in series(again) if m == "hrStorageUsed"]


@pytest.mark.parametrize("engine", ENGINES)
async def test_silence_in_the_middle_of_a_poll_is_partial_not_a_wrong_community(
    proxy: SnmpProxy, engine: str
) -> None:
    # snmpd answers SNMPv3 discovery, which used to turn any timeout into `auth`.
    proxy.rule = answer_first(2)
    result = await poll(probe(proxy.address, engine))
    assert result.up, result.error
    assert result.reason is None
    incomplete = sample(result, "snmp.incomplete")
    assert isinstance(incomplete.value, int) and incomplete.value > 0
    assert incomplete.note is not None and incomplete.note.startswith("timeout: ")


@pytest.mark.parametrize("engine", ENGINES)
async def test_an_agent_silent_from_the_start_but_answering_discovery_is_auth(
    proxy: SnmpProxy, engine: str
) -> None:
    proxy.rule = answer_first(0)  # our community's requests all go unanswered
    result = await poll(probe(proxy.address, engine, retries=0))
    # The proxy drops the discovery answer too: nothing answers at all, so a timeout.
    assert (result.up, result.reason) == (False, "timeout")


@pytest.mark.parametrize("engine", ENGINES)
async def test_a_truncated_answer_is_protocol_and_costs_only_what_it_asked(
    proxy: SnmpProxy, direct: dict[str, PollResult], engine: str
) -> None:
    # By the answer, not the request: sysDescr is asked for as sysDescr (GET) or as its
    # parent (a non-repeater of the first GETBULK), and either answer is cut.
    proxy.rule = truncate_answering(SYS_DESCR)
    result = await poll(probe(proxy.address, engine, profile="system,if-mib"))
    assert result.up, result.error
    incomplete = sample(result, "snmp.incomplete")
    assert incomplete.note == "protocol: sysDescr"
    assert sample(result, "snmp.garbled").value >= 1
    assert sample(result, "sysName").value == "roomwatch-test-snmpd"
    assert [s for s in result.samples if s.metric == "ifOperStatus"]


@pytest.mark.parametrize("engine", ENGINES)
async def test_an_empty_oid_value_costs_only_its_varbind(proxy: SnmpProxy, engine: str) -> None:
    proxy.rule = empty_oid_value(SYS_OBJECT_ID)
    result = await poll(probe(proxy.address, engine, profile="system"))
    assert result.up, result.error
    assert sample(result, "snmp.incomplete").note == "protocol: sysObjectID"
    assert sample(result, "snmp.garbled").value >= 1
    assert not [s for s in result.samples if s.metric == "sysObjectID"]
    for metric in ("sysName", "sysDescr", "sysLocation", "sysUpTime"):
        sample(result, metric)
