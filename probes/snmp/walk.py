"""Reading many OIDs from one agent: GET of scalars in batches and walks of table columns.

A table is walked column-parallel: one GETBULK (v2c/v3) or GETNEXT (v1) carries every wanted
column, so a 24-port ifTable of 10 columns takes a couple of requests, not ten walks. The
poll's scalars can ride along in the first GETBULK (`Riders`), saving their GET.

Agents misbehave, so each request costs only what it asked for. Given a `Gaps` (as the probe
does), a request that gets no answer, or an undecodable one, is asked again smaller: a GET
batch in halves down to single OIDs; a walk with half the max-repetitions, then with GETNEXT,
then one column at a time; what still fails is written into the `Gaps` with its reason, and
the rest is read. A looping column or one over `max_rows` ends that column only. `WalkLimits`
remembers across polls what the agent coped with (fewer repetitions, no GETBULK, columns that
must be walked alone) so the next poll does not pay the same timeouts. Without a `Gaps` (the
strict mode unit tests use) those failures raise as before: ProbeTimeout, SnmpGarbled, or a
ProbeProtocolError naming the column.

In every mode: tooBig halves the request; noSuchName (v1) and the v2c exceptions end a column
or drop a scalar as "not there"; a GET batch the agent fails as a whole (genErr, or
noSuchName without an index) is asked again one OID at a time, and a walk request so failed
goes on one column at a time.

(Just over our modules' 400 lines: the GET and the walk share the fall-back ladder above and
its bookkeeping in `Gaps` and `WalkLimits`, which are read, and tested, as one.)
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from probes.base import ProbeProtocolError, ProbeTimeout
from probes.snmp import ber
from probes.snmp.ber import Oid, Varbind
from probes.snmp.gaps import PROTOCOL, TIMEOUT, Budget, Gaps, OutOfTime, ask
from probes.snmp.riders import Riders
from probes.snmp.session import (
    GEN_ERR,
    NO_SUCH_NAME,
    TOO_BIG,
    SnmpErrorStatus,
    SnmpGarbled,
    SnmpSession,
)

GET_BATCH = 40  # OIDs per GET request; agents commonly cap a request well above this
# Varbinds asked for per GETBULK (repetitions × columns): big enough to need few round trips,
# small enough that the answer fits a typical agent's message size without truncation.
BULK_VARBINDS = 250

# Per column: (index suffix, tag, value) in walk order.
Column = list[tuple[Oid, int, ber.VarValue]]


@dataclass
class WalkLimits:
    """What an agent was seen to cope with, kept by the probe from poll to poll: the
    repetitions that got answers, whether GETBULK works at all, and the columns that failed
    when asked together with others (walked alone from then on, last)."""

    max_repetitions: int = 1000
    bulk: bool = True
    alone: set[Oid] = field(default_factory=set)
    riders: bool = True  # scalars may ride along in a walk's first GETBULK (`Riders`)


def _reason(exc: Exception) -> str:
    return PROTOCOL if isinstance(exc, SnmpGarbled) else TIMEOUT


async def get_scalars(
    session: SnmpSession,
    oids: Sequence[Oid],
    gaps: Gaps | None = None,
    budget: Budget | None = None,
    *,
    after_silence: bool = False,
) -> dict[Oid, Varbind]:
    """GET each OID; the answer holds only OIDs the agent has (exceptions and, in v1,
    noSuchName leave an OID out). With `gaps`, an OID that gets no answer even alone is
    written there; but when nothing at all has answered yet, a silent agent raises
    ProbeTimeout at once (after one more, one-OID try), for the probe to tell a device that
    is down or refuses us from a partial poll. `after_silence`: the poll's first request
    (a walk's, carrying these scalars) already got no answer, so this is that one-OID try."""
    strict = gaps is None
    gaps = gaps if gaps is not None else Gaps()
    out: dict[Oid, Varbind] = {}
    todo = list(dict.fromkeys(oids))
    pending = [todo]
    batch = GET_BATCH
    quick = after_silence and not gaps.answered
    if quick:
        pending = [todo[:1], todo[1:]]
    while pending:
        todo = pending.pop(0)
        chunk, rest = todo[:batch], todo[batch:]
        if rest:
            pending.insert(0, rest)
        if not chunk:
            continue
        try:
            answer = await ask(
                session, functools.partial(session.get, chunk), gaps, budget, quick=quick
            )
        except SnmpErrorStatus as exc:
            if exc.status == TOO_BIG and len(chunk) > 1:
                batch = max(1, len(chunk) // 2)
                pending.insert(0, chunk)
                continue
            if exc.status == NO_SUCH_NAME and 1 <= exc.index <= len(chunk):
                # v1: one missing OID fails the whole request; drop it and ask again.
                del chunk[exc.index - 1]
                pending.insert(0, chunk)
                continue
            if exc.status in (NO_SUCH_NAME, GEN_ERR):
                # The agent fails the whole request without saying which OID it objects
                # to (error-index 0, as some UPS cards and v1 agents do): ask one OID at a
                # time, and an OID that fails alone is not there.
                if len(chunk) > 1:
                    batch = 1
                    pending.insert(0, chunk)
                continue
            raise
        except (ProbeTimeout, SnmpGarbled) as exc:
            if strict:
                raise
            if not gaps.answered and not isinstance(exc, OutOfTime):
                if len(chunk) == 1 or quick:
                    raise  # silence to the smallest request too: down, or refusing us
                quick = True
                pending.insert(0, chunk[1:])
                pending.insert(0, chunk[:1])
                continue
            if len(chunk) > 1 and not isinstance(exc, OutOfTime):
                half = len(chunk) // 2
                pending[:0] = [chunk[:half], chunk[half:]]
                quick = True
                continue
            for oid in chunk:
                gaps.fail(oid, _reason(exc))
            continue
        quick = False
        for oid, tag, value in answer:
            if tag == ber.UNDECODABLE:
                gaps.garbled += 1
                if oid:
                    gaps.fail(oid, PROTOCOL)
            elif tag not in ber.EXCEPTION_TAGS:
                out[oid] = (oid, tag, value)
    return out


async def walk_columns(
    session: SnmpSession,
    columns: Sequence[Oid],
    *,
    bulk: bool = True,
    max_repetitions: int = 25,
    max_rows: int = 20_000,
    gaps: Gaps | None = None,
    budget: Budget | None = None,
    limits: WalkLimits | None = None,
    riders: Riders | None = None,
) -> dict[Oid, Column]:
    """Walk each column subtree; returns column OID → its rows (what was read of it). See the
    module docstring for what happens when the agent misbehaves, with and without `gaps`.

    `riders` go along with the first GETBULK (see `Riders`). When that request fails in any
    way, the walk goes on without them, and `limits` remembers not to take riders again; but
    when it got no answer and nothing has answered yet this poll, ProbeTimeout is raised
    (also with `gaps`): the caller's GET of the scalars then tells a device that is down or
    refuses us from one that would not answer that request, as for a poll without riders."""
    strict = gaps is None
    gaps = gaps if gaps is not None else Gaps()
    out: dict[Oid, Column] = {c: [] for c in columns}
    cursor: dict[Oid, Oid] = {c: c for c in columns}  # last OID seen per live column
    ends = {c: (*c[:-1], c[-1] + 1) for c in columns}  # the first OID after each column
    use_bulk = bulk and session.version != "1" and (limits is None or limits.bulk)
    max_rep = max(1, max_repetitions)
    if limits is not None:
        max_rep = max(1, min(max_rep, limits.max_repetitions))
    alone = limits.alone if limits is not None else set()
    solo = False  # one column per request, after an error that did not say which column
    misses = 0  # requests failed in a row (silence or garbage)
    failed: set[Oid] = set()
    carried = riders if use_bulk and riders is not None and riders.oids else None

    def drop_riders() -> None:
        nonlocal carried
        carried = None
        if limits is not None:
            limits.riders = False

    def give_up(column: Oid, reason: str) -> None:
        gaps.fail(column, reason)
        failed.add(column)
        cursor.pop(column, None)

    while cursor:
        together = [c for c in cursor if c not in alone] if alone else list(cursor)
        live = (
            together if together and not solo else [together[0] if together else next(iter(cursor))]
        )
        request = [cursor[c] for c in live]
        reps = max(1, min(max_rep, BULK_VARBINDS // len(live)))
        try:
            call: Callable[[], Awaitable[list[Varbind]]]
            if carried is not None:
                asked = [oid[:-1] for oid in carried.oids]
                call = functools.partial(
                    session.get_bulk, [*asked, *request], reps, non_repeaters=len(asked)
                )
            elif use_bulk:
                call = functools.partial(session.get_bulk, request, reps)
            else:
                call = functools.partial(session.get_next, request)
            # A column that failed on an earlier poll gets one attempt, then is given up.
            culprit = len(live) == 1 and live[0] in alone
            answer = await ask(session, call, gaps, budget, quick=misses > 0 or culprit)
        except SnmpErrorStatus as exc:
            if carried is not None:
                drop_riders()  # maybe their fault (tooBig, genErr): ask again without them
                continue
            if exc.status == TOO_BIG:
                if use_bulk and max_rep > 1:
                    max_rep = max(1, max_rep // 2)
                    continue
                raise
            if exc.status == NO_SUCH_NAME and not use_bulk and 1 <= exc.index <= len(live):
                del cursor[live[exc.index - 1]]  # v1: the end of the MIB for that column
                continue
            if exc.status in (NO_SUCH_NAME, GEN_ERR):
                # The agent failed the request without saying which column (error-index
                # 0, or genErr from an agent that cannot serve one of them): walk the
                # columns one at a time, and a column that fails alone ends there.
                if len(live) > 1:
                    solo = True
                else:
                    del cursor[live[0]]
                continue
            raise
        except (ProbeTimeout, SnmpGarbled) as exc:
            if carried is not None:
                drop_riders()
                if not gaps.answered:
                    raise
                if not isinstance(exc, OutOfTime):
                    continue
            if strict:
                raise
            if isinstance(exc, OutOfTime) or (budget is not None and budget.spent()):
                for column in list(cursor):
                    give_up(column, _reason(exc))
                break
            misses += 1
            if culprit:
                give_up(live[0], _reason(exc))
                misses = 0
            elif use_bulk and reps > 1 and misses == 1:
                max_rep = max(1, reps // 2)  # an answer too big to be sent, or lost
            elif use_bulk:
                use_bulk = False  # GETBULK ignored, or still too big: GETNEXT
            elif len(live) > 1:
                solo = True  # one column the agent cannot serve: find which
            else:
                give_up(live[0], _reason(exc))
            continue
        misses = 0
        if carried is not None:
            if not carried.take(answer, request, gaps):
                drop_riders()
                continue  # the rows cannot be told from the scalars either: ask again
            answer = answer[len(carried.oids) :]
            carried = None
        if not answer:
            if strict:
                raise ProbeProtocolError("the agent answered a walk request with no varbinds")
            for column in live:
                give_up(column, PROTOCOL)
            continue
        width = len(live)
        for i, column in enumerate(live):
            varbinds = answer[i::width]
            problem = _take(out[column], column, ends[column], cursor, varbinds, max_rows, gaps)
            if problem is not None:
                if strict:
                    raise ProbeProtocolError(problem)
                give_up(column, PROTOCOL)
    if limits is not None:
        if failed:
            alone |= failed  # the culprits: alone next time, the others as they were
        else:
            limits.max_repetitions, limits.bulk = max_rep, limits.bulk and (use_bulk or not bulk)
    return out


# Value tags from here up are no reading: the v2c exceptions and ber.UNDECODABLE.
_NO_READING = min(*ber.EXCEPTION_TAGS, ber.UNDECODABLE)


def _take(
    rows: Column,
    column: Oid,
    column_end: Oid,
    cursor: dict[Oid, Oid],
    varbinds: Sequence[Varbind],
    max_rows: int,
    gaps: Gaps,
) -> str | None:
    """Add one column's share of an answer to its rows and move its cursor (or end the
    column). Returns what is wrong when the agent loops or the column runs past `max_rows`.
    `column_end` is the first OID after the column (its last arc plus one): the OIDs inside
    the column are those between the two, two comparisons instead of slicing off a prefix."""
    prefix_len = len(column)
    last = cursor[column]
    taken = len(rows)
    if taken + len(varbinds) <= max_rows:
        # The common case first: readings inside the column, each after the one before (so
        # after the column itself too). The first varbind that is anything else goes to the
        # full checks below, with the rest.
        append, no_reading = rows.append, _NO_READING
        for oid, tag, value in varbinds:
            if tag < no_reading and last < oid < column_end:
                append((oid[prefix_len:], tag, value))
                last = oid
            else:
                break
        else:
            cursor[column] = last
            return None
        varbinds = varbinds[len(rows) - taken :]
    undecodable, end_of_mib, exceptions = ber.UNDECODABLE, ber.END_OF_MIB_VIEW, ber.EXCEPTION_TAGS
    for oid, tag, value in varbinds:
        if tag == undecodable:
            gaps.garbled += 1
            if not oid:  # no name: there is no knowing where the column goes on
                return f"an undecodable varbind name in the walk of {ber.format_oid(column)}"
            gaps.fail(column, PROTOCOL)  # this row's value is lost; the column goes on
        if tag == end_of_mib or not column <= oid < column_end:
            del cursor[column]
            return None
        if oid <= last:
            return (
                f"the agent's walk of {ber.format_oid(column)} went backwards or"
                f" repeated at {ber.format_oid(oid)} (a looping agent)"
            )
        last = oid
        if tag not in exceptions and tag != undecodable:
            rows.append((oid[prefix_len:], tag, value))
        if len(rows) > max_rows:
            return (
                f"{ber.format_oid(column)} has more than {max_rows} rows"
                " (raise max_rows if the device really has that many)"
            )
    cursor[column] = last
    return None


async def answered_subtrees(
    session: SnmpSession,
    subtrees: Sequence[Oid],
    gaps: Gaps | None = None,
    budget: Budget | None = None,
) -> set[Oid]:
    """The subtrees in which the agent has at least one object: one GETNEXT for all. With
    `gaps`, a subtree whose question gets no answer even alone is written there (so the
    probe knows the detection is not to be trusted yet)."""
    strict = gaps is None
    gaps = gaps if gaps is not None else Gaps()
    answered: set[Oid] = set()
    pending = [list(subtrees[i : i + 40]) for i in range(0, len(subtrees), 40)]
    quick = False
    while pending:
        chunk = pending.pop()
        if not chunk:
            continue
        try:
            answer = await ask(
                session, functools.partial(session.get_next, chunk), gaps, budget, quick=quick
            )
        except (ProbeTimeout, SnmpGarbled) as exc:
            if strict:
                raise
            if len(chunk) > 1 and not isinstance(exc, OutOfTime):
                pending += [chunk[: len(chunk) // 2], chunk[len(chunk) // 2 :]]
                quick = True
            else:
                for oid in chunk:
                    gaps.fail(oid, _reason(exc))
            continue
        except SnmpErrorStatus as exc:
            if exc.status == NO_SUCH_NAME and 1 <= exc.index <= len(chunk):
                del chunk[exc.index - 1]  # v1: nothing after this one at all
                pending.append(chunk)
                continue
            if exc.status in (TOO_BIG, GEN_ERR, NO_SUCH_NAME):
                # A small agent's answer did not fit its message size, or it failed the
                # request as a whole: ask in halves; one subtree failing alone is not there.
                if len(chunk) > 1:
                    pending += [chunk[: len(chunk) // 2], chunk[len(chunk) // 2 :]]
                continue
            raise
        quick = False
        for asked, (oid, tag, _) in zip(chunk, answer, strict=False):
            if tag not in ber.EXCEPTION_TAGS and oid[: len(asked)] == asked:
                answered.add(asked)
    return answered
