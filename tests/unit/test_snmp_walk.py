"""Walks and GETs against a fake agent: batching, v1, tooBig, and the guards against agents
that loop or never end."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from probes.base import ProbeProtocolError
from probes.snmp import ber
from probes.snmp.session import SnmpErrorStatus
from probes.snmp.walk import answered_subtrees, get_scalars, walk_columns
from tests.fixtures.snmp_fake import FakeAgentSession

IF_DESCR = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)
IF_OPER = (1, 3, 6, 1, 2, 1, 2, 2, 1, 8)
SYS_NAME = (1, 3, 6, 1, 2, 1, 1, 5, 0)


def agent(rows: int = 24, **kwargs: object) -> FakeAgentSession:
    mib: dict[ber.Oid, tuple[int, ber.VarValue]] = {SYS_NAME: (ber.OCTET_STRING, b"sw1")}
    for i in range(1, rows + 1):
        mib[(*IF_DESCR, i)] = (ber.OCTET_STRING, f"port{i}".encode())
        mib[(*IF_OPER, i)] = (ber.INTEGER, 1 if i % 2 else 2)
    mib[(1, 3, 6, 1, 2, 1, 2, 2, 1, 9, 1)] = (ber.TIMETICKS, 5)  # the column after
    return FakeAgentSession(mib, **kwargs)  # type: ignore[arg-type]


async def test_columns_are_walked_together_and_stop_at_their_subtree() -> None:
    session = agent(24)
    columns = await walk_columns(session, [IF_DESCR, IF_OPER], max_repetitions=25)
    assert [index for index, _, _ in columns[IF_DESCR]] == [(i,) for i in range(1, 25)]
    assert columns[IF_OPER][1] == ((2,), ber.INTEGER, 2)
    assert len(session.requests) <= 2  # one GETBULK carries both columns


async def test_v1_walks_with_getnext_and_ends_on_no_such_name() -> None:
    session = agent(3, version="1")
    columns = await walk_columns(session, [IF_OPER])
    assert [v for _, _, v in columns[IF_OPER]] == [1, 2, 1]
    assert {kind for kind, _ in session.requests} == {"next"}


async def test_an_agent_that_loops_is_stopped_with_a_clear_error() -> None:
    session = agent(50, loop_after=(*IF_DESCR, 10), loop_to=(*IF_DESCR, 3))
    with pytest.raises(ProbeProtocolError, match="went backwards or repeated"):
        await walk_columns(session, [IF_DESCR], max_repetitions=5)


async def test_a_table_longer_than_max_rows_is_refused_not_walked_forever() -> None:
    session = agent(300)
    with pytest.raises(ProbeProtocolError, match="more than 100 rows"):
        await walk_columns(session, [IF_DESCR], max_rows=100)


async def test_a_ten_thousand_row_table_is_walked_completely() -> None:
    session = agent(10_000)
    columns = await walk_columns(session, [IF_DESCR, IF_OPER], max_repetitions=50)
    assert len(columns[IF_DESCR]) == 10_000
    assert columns[IF_DESCR][-1] == ((10_000,), ber.OCTET_STRING, b"port10000")


async def test_too_big_halves_the_request_until_it_fits() -> None:
    session = agent(40, too_big_above=10)
    columns = await walk_columns(session, [IF_DESCR], max_repetitions=40)
    assert len(columns[IF_DESCR]) == 40
    assert max(n for kind, n in session.requests if kind == "bulk" and n <= 10) <= 10


async def test_get_leaves_out_what_the_agent_does_not_have_v2c_and_v1() -> None:
    missing = (1, 3, 6, 1, 2, 1, 1, 99, 0)
    for version in ("2c", "1"):
        found = await get_scalars(agent(2, version=version), [SYS_NAME, missing])
        assert found == {SYS_NAME: (SYS_NAME, ber.OCTET_STRING, b"sw1")}


async def test_many_scalars_are_fetched_in_batches() -> None:
    session = agent(100)
    oids = [(*IF_DESCR, i) for i in range(1, 101)]
    found = await get_scalars(session, oids)
    assert len(found) == 100
    assert all(n <= 40 for _, n in session.requests)


class _PickyAgent(FakeAgentSession):
    """Fails a GET that includes an OID it does not have as a whole, without an index
    (`status`: genErr or v1 noSuchName), as some UPS cards and old agents do."""

    def __init__(self, status: int, **kwargs: object) -> None:
        super().__init__(agent(2).mib, **kwargs)  # type: ignore[arg-type]
        self.status = status

    async def get(self, oids: Sequence[ber.Oid]) -> list[ber.Varbind]:
        self.requests.append(("get", len(oids)))
        if any(oid not in self.mib for oid in oids):
            raise SnmpErrorStatus("failed", self.status, 0)
        return [(oid, *self.mib[oid]) for oid in oids]


@pytest.mark.parametrize(("status", "version"), [(5, "2c"), (2, "1")])
async def test_a_batch_failed_as_a_whole_is_asked_again_one_oid_at_a_time(
    status: int, version: str
) -> None:
    missing = (1, 3, 6, 1, 2, 1, 1, 99, 0)
    session = _PickyAgent(status, version=version)
    found = await get_scalars(session, [SYS_NAME, missing, (*IF_OPER, 1)])
    assert sorted(found) == sorted([SYS_NAME, (*IF_OPER, 1)])


class _SmallAgent(FakeAgentSession):
    """An agent with a small message size: a GETNEXT of more than `limit` OIDs is tooBig."""

    def __init__(self, limit: int, **kwargs: object) -> None:
        super().__init__(agent(2).mib, **kwargs)  # type: ignore[arg-type]
        self.limit = limit

    async def get_next(self, oids: Sequence[ber.Oid]) -> list[ber.Varbind]:
        if len(oids) > self.limit:
            self.requests.append(("next", len(oids)))
            raise SnmpErrorStatus("tooBig", 1, 0)
        return await super().get_next(oids)


async def test_auto_detection_asks_a_small_agent_in_halves_when_the_answer_is_too_big() -> None:
    subtrees = [(1, 3, 6, 1, 2, 1, 2, 2, 1), (1, 3, 6, 1, 2, 1, 1), (1, 3, 6, 1, 2, 1, 33)]
    subtrees += [(1, 3, 6, 1, 4, 1, n) for n in range(300, 310)]
    found = await answered_subtrees(_SmallAgent(2), subtrees)
    assert found == {(1, 3, 6, 1, 2, 1, 2, 2, 1), (1, 3, 6, 1, 2, 1, 1)}


class _GenErrWalkAgent(FakeAgentSession):
    """Fails any walk request that includes `bad` (genErr, or v1 noSuchName) without an
    index, as agents that cannot serve one column of a table do."""

    def __init__(self, bad: ber.Oid, status: int, **kwargs: object) -> None:
        super().__init__(agent(5).mib, **kwargs)  # type: ignore[arg-type]
        self.bad, self.status = bad, status

    def _check(self, oids: Sequence[ber.Oid]) -> None:
        if any(o[: len(self.bad)] == self.bad for o in oids):
            raise SnmpErrorStatus("failed", self.status, 0)

    async def get_next(self, oids: Sequence[ber.Oid]) -> list[ber.Varbind]:
        self._check(oids)
        return await super().get_next(oids)

    async def get_bulk(
        self, oids: Sequence[ber.Oid], max_repetitions: int, non_repeaters: int = 0
    ) -> list[ber.Varbind]:
        self._check(oids)
        return await super().get_bulk(oids, max_repetitions, non_repeaters)


@pytest.mark.parametrize(("status", "version"), [(5, "2c"), (2, "1")])
async def test_a_column_the_agent_fails_without_saying_which_costs_only_that_column(
    status: int, version: str
) -> None:
    bad = (1, 3, 6, 1, 2, 1, 2, 2, 1, 99)
    session = _GenErrWalkAgent(bad, status, version=version)
    columns = await walk_columns(session, [IF_DESCR, bad, IF_OPER], max_repetitions=10)
    assert len(columns[IF_DESCR]) == 5
    assert len(columns[IF_OPER]) == 5
    assert columns[bad] == []
