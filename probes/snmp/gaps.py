"""What one poll could not read, and the time it may spend trying.

A poll is many requests; an agent may drop one of them (an answer too big for its buffer sent
as nothing, GETBULK ignored, a slow subagent, rate limiting) or send one back cut short or
corrupt. Such a request costs only what it asked for: the walk retries it smaller (see
`walk`), and what still fails is written down here, by OID, with its reason, so the probe
reports the readings it has plus `snmp.incomplete` naming what is missing. `Budget` bounds
the retrying by the probe's `timeout` (the whole poll), so a poll never overruns it.

Reasons: `timeout` (no answer to the request, even smaller) and `protocol` (an answer came
but could not be decoded, or a walk went backwards or ran past `max_rows`).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from probes.base import ProbeAuthError, ProbeTimeout
from probes.snmp.ber import Oid, Varbind
from probes.snmp.session import SnmpErrorStatus, SnmpGarbled, SnmpSession

TIMEOUT = "timeout"
PROTOCOL = "protocol"

# Below this much time left, a request is not worth sending.
MIN_REQUEST_S = 0.05


class OutOfTime(ProbeTimeout):
    """The poll's time budget ran out before this request could be sent or answered."""


class Budget:
    """The time a poll may spend on requests (None: unbounded, for tests of walk logic).
    `attempt_s` is one attempt's wait: a request retried smaller after a failure gets one
    attempt, not the full retries, since the agent already showed it will not answer."""

    def __init__(
        self, seconds: float | None, attempt_s: float, clock: Callable[[], float] | None = None
    ) -> None:
        self._time = clock if clock is not None else asyncio.get_running_loop().time
        self._deadline = math.inf if seconds is None else self._time() + seconds
        self.attempt_s = attempt_s

    def remaining(self) -> float:
        return self._deadline - self._time()

    def spent(self) -> bool:
        return self.remaining() < MIN_REQUEST_S


UNBOUNDED_ATTEMPT_S = 3600.0
# A session whose own timeouts end a request this long before the poll's time is up needs no
# timer of ours around the request (one timer and its context less per request).
SESSION_MARGIN_S = 0.5


@dataclass
class Gaps:
    """What this poll could not read (OID → reason; the first reason wins), how many answers
    or values came undecodable, and whether the agent answered anything at all (a poll
    without a single answer is a device down or refusing us, not a partial poll)."""

    failed: dict[Oid, str] = field(default_factory=dict)
    garbled: int = 0
    answered: bool = False

    def fail(self, oid: Oid, reason: str) -> None:
        self.failed.setdefault(oid, reason)


async def ask(
    session: SnmpSession,
    call: Callable[[], Awaitable[list[Varbind]]],
    gaps: Gaps,
    budget: Budget | None,
    *,
    quick: bool = False,
) -> list[Varbind]:
    """One request under the budget. Raises ProbeTimeout (silence; OutOfTime when the budget
    ran out), SnmpGarbled (an undecodable answer, counted in `gaps`; an engine that drops such
    answers itself, as pysnmp does, is recognised by its own count going up while we waited)
    and whatever else the session raises. Any answer, even an error-status, marks the agent
    as having answered."""
    left = math.inf if budget is None else budget.remaining()
    limit = left
    if budget is not None and quick:
        # One attempt (its wait plus a little, so the session's own timer fires first).
        limit = min(left, budget.attempt_s * 1.25 + MIN_REQUEST_S)
    if limit < MIN_REQUEST_S:
        raise OutOfTime("the poll's timeout was spent before this request")
    garbled_before = session.garbled_total()
    longest = session.longest_request_s()
    try:
        if math.isinf(limit) or (longest is not None and longest + SESSION_MARGIN_S <= limit):
            answer = await call()  # the session gives up in time by itself: no timer here
        else:
            async with asyncio.timeout(limit):
                answer = await call()
    except (TimeoutError, ProbeTimeout) as exc:
        if session.garbled_total() > garbled_before:
            gaps.garbled += 1
            gaps.answered = True
            raise SnmpGarbled("an answer that could not be decoded") from None
        if isinstance(exc, ProbeTimeout):
            raise
        if limit < left:
            raise ProbeTimeout("no answer to one attempt") from None
        raise OutOfTime("no answer within the poll's remaining time") from None
    except SnmpGarbled:
        gaps.garbled += 1
        gaps.answered = True
        raise
    except (SnmpErrorStatus, ProbeAuthError):
        gaps.answered = True  # an error-status or a refusal is an answer
        raise
    gaps.answered = True
    return answer
