"""The retry-smaller logic of `walk` in virtual time (issue 15 item 1): a map-backed agent that
drops chosen requests (each drop costs the virtual clock one request timeout, no sleeping).
The real-agent counterpart is tests/integration/test_snmp_partial.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from probes.base import ProbeTimeout
from probes.snmp import ber
from probes.snmp.ber import Oid, Varbind
from probes.snmp.gaps import Budget, Gaps
from probes.snmp.lean import LeanSession, LeanV3Session
from probes.snmp.session import Target
from probes.snmp.walk import WalkLimits, get_scalars, walk_columns
from tests.fixtures.snmp_fake import FakeAgentSession

TABLE = (1, 3, 6, 1, 4, 1, 99, 1)
COLUMNS = [(*TABLE, c) for c in (1, 2, 3)]
Drop = Callable[[str, Sequence[Oid], int], bool]


class DroppingAgent(FakeAgentSession):
    """Raises ProbeTimeout (after `timeout_s` on the virtual clock) for requests `drop` picks."""

    def __init__(self, drop: Drop, timeout_s: float = 2.0, rows: int = 30) -> None:
        mib: dict[Oid, tuple[int, ber.VarValue]] = {}
        for column in COLUMNS:
            for row in range(1, rows + 1):
                mib[(*column, row)] = (ber.INTEGER, column[-1] * 1000 + row)
        mib[(1, 3, 6, 1, 2, 1, 1, 3, 0)] = (ber.TIMETICKS, 1)
        super().__init__(mib)
        self.drop = drop
        self.now = 0.0
        self.timeout_s = timeout_s

    def _lost(self, kind: str, oids: Sequence[Oid], reps: int = 0) -> None:
        if self.drop(kind, oids, reps):
            self.requests.append((f"lost {kind}", len(oids)))
            self.now += self.timeout_s
            raise ProbeTimeout("no answer")

    async def get(self, oids: Sequence[Oid]) -> list[Varbind]:
        self._lost("get", oids)
        return await super().get(oids)

    async def get_next(self, oids: Sequence[Oid]) -> list[Varbind]:
        self._lost("next", oids)
        return await super().get_next(oids)

    async def get_bulk(
        self, oids: Sequence[Oid], max_repetitions: int, non_repeaters: int = 0
    ) -> list[Varbind]:
        self._lost("bulk", oids, max_repetitions)
        return await super().get_bulk(oids, max_repetitions, non_repeaters)


def whole(columns: dict[Oid, list[tuple[Oid, int, ber.VarValue]]]) -> bool:
    return all(len(rows) == 30 for rows in columns.values())


async def test_answers_too_big_are_read_with_half_the_repetitions_and_that_is_remembered() -> None:
    agent = DroppingAgent(lambda kind, oids, reps: kind == "bulk" and len(oids) * reps > 40)
    gaps, limits = Gaps(), WalkLimits()
    budget = Budget(10.0, 2.0, clock=lambda: agent.now)
    columns = await walk_columns(
        agent, COLUMNS, max_repetitions=25, gaps=gaps, budget=budget, limits=limits
    )
    assert whole(columns) and not gaps.failed
    assert limits.max_repetitions == 12 and limits.bulk
    agent.requests.clear()
    await walk_columns(
        agent, COLUMNS, max_repetitions=25, gaps=Gaps(), budget=budget, limits=limits
    )
    assert not [r for r in agent.requests if r[0].startswith("lost")]  # no timeout paid again


async def test_an_agent_ignoring_getbulk_is_walked_with_getnext() -> None:
    agent = DroppingAgent(lambda kind, oids, reps: kind == "bulk")
    gaps, limits = Gaps(), WalkLimits()
    columns = await walk_columns(
        agent, COLUMNS, gaps=gaps, budget=Budget(30.0, 2.0, clock=lambda: agent.now), limits=limits
    )
    assert whole(columns) and not gaps.failed
    assert not limits.bulk
    assert [r[0] for r in agent.requests[:2]] == ["lost bulk", "lost bulk"]  # full, then half


async def test_a_column_that_never_answers_is_named_and_walked_alone_next_time() -> None:
    silent = COLUMNS[1]
    agent = DroppingAgent(lambda kind, oids, reps: any(o[: len(silent)] == silent for o in oids))
    gaps, limits = Gaps(), WalkLimits()
    budget = Budget(60.0, 2.0, clock=lambda: agent.now)
    columns = await walk_columns(agent, COLUMNS, gaps=gaps, budget=budget, limits=limits)
    assert gaps.failed == {silent: "timeout"}
    assert len(columns[COLUMNS[0]]) == len(columns[COLUMNS[2]]) == 30
    assert limits.alone == {silent} and limits.bulk  # the others keep GETBULK
    agent.requests.clear()
    again = Gaps()
    await walk_columns(agent, COLUMNS, gaps=again, budget=budget, limits=limits)
    assert again.failed == {silent: "timeout"}
    assert len([r for r in agent.requests if r[0].startswith("lost")]) == 1  # only its own


async def test_the_poll_budget_bounds_the_retrying_and_names_what_was_left() -> None:
    answered = [0]

    def after_first(kind: str, oids: Sequence[Oid], reps: int) -> bool:
        answered[0] += 1
        return answered[0] > 1

    agent = DroppingAgent(after_first, rows=200)
    gaps = Gaps()
    budget = Budget(7.0, 2.0, clock=lambda: agent.now)
    await walk_columns(agent, COLUMNS, gaps=gaps, budget=budget, limits=WalkLimits())
    assert set(gaps.failed) == set(COLUMNS) and set(gaps.failed.values()) == {"timeout"}
    assert agent.now <= 8.0  # the budget, plus the one request under way when it ran out


async def test_a_silent_agent_fails_the_first_get_fast_for_the_probe_to_judge() -> None:
    agent = DroppingAgent(lambda kind, oids, reps: True)
    oids = [(*COLUMNS[0], row) for row in range(1, 31)]
    with pytest.raises(ProbeTimeout):
        await get_scalars(agent, oids, Gaps(), Budget(10.0, 2.0, clock=lambda: agent.now))
    assert [r[1] for r in agent.requests] == [30, 1]  # the batch, then one OID: not 30 tries


async def test_a_get_batch_without_an_answer_is_split_and_only_the_silent_oid_fails() -> None:
    bad = (*COLUMNS[0], 7)
    agent = DroppingAgent(lambda kind, oids, reps: bad in oids)
    oids = [(1, 3, 6, 1, 2, 1, 1, 3, 0)] + [(*COLUMNS[0], row) for row in range(1, 11)]
    gaps = Gaps()
    found = await get_scalars(agent, oids, gaps, Budget(30.0, 2.0, clock=lambda: agent.now))
    assert gaps.failed == {bad: "timeout"}
    assert set(found) == set(oids) - {bad}


class SelfTimedAgent(DroppingAgent):
    """A DroppingAgent that says how long a request can take (as the lean engine does)."""

    def longest_request_s(self) -> float:
        return self.timeout_s


async def test_a_session_that_times_itself_is_walked_the_same_without_a_timer_of_ours() -> None:
    def drop(kind: str, oids: Sequence[Oid], reps: int) -> bool:
        return kind == "bulk" and reps > 5

    results = []
    for agent in (DroppingAgent(drop), SelfTimedAgent(drop)):
        gaps = Gaps()
        budget = Budget(60.0, 2.0, clock=lambda a=agent: a.now)
        columns = await walk_columns(agent, COLUMNS, max_repetitions=20, gaps=gaps, budget=budget)
        results.append((columns, gaps.failed, agent.requests, agent.now))
    assert results[0] == results[1]
    assert results[1][0][COLUMNS[0]][-1][0] == (30,)  # every row read despite the drops


def test_the_lean_session_bounds_a_request_by_its_timeout_and_tries() -> None:
    v2 = Target(host="192.0.2.1", port=161, version="2c", timeout=2.0, retries=1)
    assert LeanSession(v2).longest_request_s() == 4.0
    v3 = Target(host="192.0.2.1", port=161, version="3", user="u", timeout=2.0, retries=1)
    assert LeanV3Session(v3).longest_request_s() == 12.0  # discovery, then two tries
