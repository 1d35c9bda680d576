"""Scalars riding along in a walk's first GETBULK as non-repeaters (`walk.Riders`): the same
readings as a GET of their own with one request less, and the old way back whenever an agent
does not cope (an error-status, an answer of the wrong shape, silence)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from probes.base import ProbeTimeout
from probes.snmp import ber
from probes.snmp.ber import Oid, Varbind
from probes.snmp.gaps import Budget, Gaps
from probes.snmp.probe import SnmpProbe, SnmpSettings
from probes.snmp.riders import Riders
from probes.snmp.session import GEN_ERR, SnmpErrorStatus
from probes.snmp.walk import WalkLimits, get_scalars, walk_columns
from tests.fixtures.peers import shared_fixture
from tests.fixtures.snmp_expected import PROFILES
from tests.fixtures.snmp_fake import FakeAgentSession

IF_DESCR = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)
IF_OPER = (1, 3, 6, 1, 2, 1, 2, 2, 1, 8)
SYS_DESCR = (1, 3, 6, 1, 2, 1, 1, 1, 0)
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)
SYS_CONTACT = (1, 3, 6, 1, 2, 1, 1, 4, 0)  # not in the fake agent: the next OID answers
LAST = (1, 3, 6, 1, 9, 9, 0)  # past everything the agent has: endOfMibView
TABLE_ROW = (1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 3)  # not a .0 instance: goes by GET


def agent(rows: int = 12) -> FakeAgentSession:
    mib: dict[Oid, tuple[int, ber.VarValue]] = {
        SYS_DESCR: (ber.OCTET_STRING, b"a switch"),
        SYS_NAME: (ber.OCTET_STRING, b"sw1"),
    }
    for i in range(1, rows + 1):
        mib[(*IF_DESCR, i)] = (ber.OCTET_STRING, f"port{i}".encode())
        mib[(*IF_OPER, i)] = (ber.INTEGER, 1 if i % 2 else 2)
    return FakeAgentSession(mib)


class MixedUpAgent(FakeAgentSession):
    """Repeats its non-repeaters like the rest (as if non-repeaters were 0)."""

    async def get_bulk(
        self, oids: Sequence[Oid], max_repetitions: int, non_repeaters: int = 0
    ) -> list[Varbind]:
        return await super().get_bulk(oids, max_repetitions)


class NoNonRepeatersAgent(FakeAgentSession):
    """Fails any GETBULK with non-repeaters with genErr."""

    async def get_bulk(
        self, oids: Sequence[Oid], max_repetitions: int, non_repeaters: int = 0
    ) -> list[Varbind]:
        if non_repeaters:
            self.requests.append(("refused bulk", len(oids)))
            raise SnmpErrorStatus("genErr", GEN_ERR, 0)
        return await super().get_bulk(oids, max_repetitions)


class SilentAgent(FakeAgentSession):
    async def _silence(self, kind: str, oids: Sequence[Oid]) -> list[Varbind]:
        self.requests.append((f"lost {kind}", len(oids)))
        raise ProbeTimeout("no answer")

    async def get(self, oids: Sequence[Oid]) -> list[Varbind]:
        return await self._silence("get", oids)

    async def get_next(self, oids: Sequence[Oid]) -> list[Varbind]:
        return await self._silence("next", oids)

    async def get_bulk(
        self, oids: Sequence[Oid], max_repetitions: int, non_repeaters: int = 0
    ) -> list[Varbind]:
        return await self._silence("bulk", oids)


def test_only_dot_zero_instances_ride_and_duplicates_go() -> None:
    riders, rest = Riders.split([SYS_NAME, TABLE_ROW, SYS_DESCR, SYS_NAME])
    assert riders.oids == [SYS_NAME, SYS_DESCR]
    assert rest == [TABLE_ROW]


async def test_riders_read_what_a_get_reads_in_the_walks_first_request() -> None:
    wanted = [SYS_DESCR, SYS_NAME, SYS_CONTACT, LAST]
    session = agent()
    riders, _ = Riders.split(wanted)
    limits = WalkLimits()
    columns = await walk_columns(
        session, [IF_DESCR, IF_OPER], max_repetitions=25, limits=limits, riders=riders
    )
    plain = agent()
    assert riders.answered and limits.riders
    assert riders.found == await get_scalars(plain, wanted)
    assert set(riders.found) == {SYS_DESCR, SYS_NAME}  # sysContact and LAST are not there
    assert columns == await walk_columns(plain, [IF_DESCR, IF_OPER], max_repetitions=25)
    assert plain.requests == [("get", 4), ("bulk", 2 * 25)]
    assert session.requests == [("bulk", len(wanted) + 2 * 25)]  # the GET's OIDs rode along


async def test_an_agent_mixing_up_non_repeaters_is_walked_again_without_them() -> None:
    session = MixedUpAgent(agent().mib)
    riders, _ = Riders.split([SYS_DESCR, SYS_NAME, SYS_CONTACT])
    limits = WalkLimits()
    columns = await walk_columns(
        session, [IF_DESCR, IF_OPER], max_repetitions=5, limits=limits, riders=riders
    )
    assert not riders.answered and not riders.found
    assert not limits.riders  # the probe asks them by GET from now on
    assert [index for index, _, _ in columns[IF_DESCR]] == [(i,) for i in range(1, 13)]
    assert columns == await walk_columns(agent(), [IF_DESCR, IF_OPER], max_repetitions=5)


async def test_an_error_status_to_the_riders_request_costs_one_request_and_no_rows() -> None:
    session = NoNonRepeatersAgent(agent().mib)
    riders, _ = Riders.split([SYS_DESCR, SYS_NAME])
    gaps, limits = Gaps(), WalkLimits()
    columns = await walk_columns(
        session, [IF_DESCR, IF_OPER], gaps=gaps, limits=limits, riders=riders
    )
    assert not riders.answered and not limits.riders
    assert not gaps.failed
    assert columns == await walk_columns(agent(), [IF_DESCR, IF_OPER])
    assert [kind for kind, _ in session.requests].count("refused bulk") == 1


async def test_silence_to_the_first_request_is_left_to_the_scalars_get_to_judge() -> None:
    session = SilentAgent(agent().mib)
    riders, _ = Riders.split([SYS_DESCR, SYS_NAME])
    gaps = Gaps()
    with pytest.raises(ProbeTimeout):
        await walk_columns(session, [IF_DESCR], gaps=gaps, riders=riders, limits=WalkLimits())
    assert session.requests == [("lost bulk", 3)]
    assert not gaps.failed  # no column given up: the walk is asked again if the agent is there
    # ... and the GET is then the one-OID, one-attempt try that tells a silent agent.
    budget = Budget(30.0, 2.0, clock=lambda: 0.0)
    with pytest.raises(ProbeTimeout):
        await get_scalars(session, [SYS_DESCR, SYS_NAME], gaps, budget, after_silence=True)
    assert session.requests[1:] == [("lost get", 1)]


async def test_silence_after_an_answer_walks_on_without_the_riders() -> None:
    class DropsRiders(FakeAgentSession):
        async def get_bulk(
            self, oids: Sequence[Oid], max_repetitions: int, non_repeaters: int = 0
        ) -> list[Varbind]:
            if non_repeaters:
                raise ProbeTimeout("no answer")
            return await super().get_bulk(oids, max_repetitions)

    session = DropsRiders(agent().mib)
    riders, _ = Riders.split([SYS_DESCR])
    gaps = Gaps(answered=True)  # (an auto-detection earlier in the same poll)
    columns = await walk_columns(session, [IF_DESCR], gaps=gaps, riders=riders)
    assert not riders.answered and not gaps.failed
    assert len(columns[IF_DESCR]) == 12


def recording_probe(name: str, riders: bool) -> SnmpProbe:
    session = FakeAgentSession.from_recording(shared_fixture("snmp", f"{name}.snmprec"))
    config = SnmpSettings(type="snmp", address="192.0.2.1", community=name)  # type: ignore[call-arg]
    probe = SnmpProbe(name, config, session=session)
    probe._limits.riders = riders
    return probe


@pytest.mark.parametrize("name", sorted(PROFILES))
async def test_every_recording_polls_the_same_with_and_without_riders(name: str) -> None:
    with_riders, by_get = recording_probe(name, True), recording_probe(name, False)
    for now in (1000.0, 1060.0):
        assert list(await with_riders.poll(now)) == list(await by_get.poll(now))
    a, b = with_riders.session, by_get.session
    assert isinstance(a, FakeAgentSession) and isinstance(b, FakeAgentSession)
    assert len(a.requests) <= len(b.requests)
    assert with_riders._limits.riders  # no recorded agent needed the way back


async def test_a_switch_poll_takes_one_request_less_and_no_get_once_detected() -> None:
    with_riders, by_get = recording_probe("ios_2960x", True), recording_probe("ios_2960x", False)
    a, b = with_riders.session, by_get.session
    assert isinstance(a, FakeAgentSession) and isinstance(b, FakeAgentSession)
    for now in (1000.0, 1060.0):
        a.requests.clear()
        b.requests.clear()
        await with_riders.poll(now)
        await by_get.poll(now)
        assert len(a.requests) == len(b.requests) - 1
    assert "get" not in {kind for kind, _ in a.requests}
    assert "get" in {kind for kind, _ in b.requests}


async def test_a_silent_agent_costs_the_probe_two_requests_as_before() -> None:
    session = SilentAgent(agent().mib)
    config = SnmpSettings(  # type: ignore[call-arg]
        type="snmp", address="192.0.2.1", community="x", profile=["system", "if-mib"]
    )
    probe = SnmpProbe("down", config, session=session)
    with pytest.raises(ProbeTimeout):
        await probe.poll(1000.0)
    assert [kind for kind, _ in session.requests] == ["lost bulk", "lost get"]


async def test_v1_reads_the_scalars_by_get() -> None:
    session = FakeAgentSession(agent().mib, version="1")
    config = SnmpSettings(  # type: ignore[call-arg]
        type="snmp", address="192.0.2.1", community="x", version="1",
        profile=["system", "if-mib"],
    )  # fmt: skip
    samples = await SnmpProbe("old", config, session=session).poll(1000.0)
    assert [s.value for s in samples if s.metric == "sysName"] == ["sw1"]
    assert session.requests[0][0] == "get"
    assert "bulk" not in {kind for kind, _ in session.requests}
