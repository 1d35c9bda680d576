"""Reading many OIDs from one agent: GET of scalars in batches and walks of table columns.

A table is walked column-parallel: one GETBULK (v2c/v3) or GETNEXT (v1) carries every wanted
column, so a 24-port ifTable of 10 columns takes a couple of requests, not ten walks. Agents
misbehave, so the walk is guarded: an OID that does not increase (a looping agent) or a
column longer than `max_rows` ends the poll with a ProbeProtocolError naming the column,
instead of spinning forever; tooBig halves the request; noSuchName (v1) and the v2c
exceptions end a column or drop a scalar as "not there"; a GET batch the agent fails as a
whole (genErr, or noSuchName without an index) is asked again one OID at a time, and a
walk request so failed goes on one column at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

from probes.base import ProbeProtocolError
from probes.snmp import ber
from probes.snmp.ber import Oid, Varbind
from probes.snmp.session import GEN_ERR, NO_SUCH_NAME, TOO_BIG, SnmpErrorStatus, SnmpSession

GET_BATCH = 40  # OIDs per GET request; agents commonly cap a request well above this
# Varbinds asked for per GETBULK (repetitions × columns): big enough to need few round trips,
# small enough that the answer fits a typical agent's message size without truncation.
BULK_VARBINDS = 250

# Per column: (index suffix, tag, value) in walk order.
Column = list[tuple[Oid, int, ber.VarValue]]


async def get_scalars(session: SnmpSession, oids: Sequence[Oid]) -> dict[Oid, Varbind]:
    """GET each OID; the answer holds only OIDs the agent has (exceptions and, in v1,
    noSuchName leave an OID out)."""
    out: dict[Oid, Varbind] = {}
    pending = list(dict.fromkeys(oids))
    batch = GET_BATCH
    while pending:
        chunk, rest = pending[:batch], pending[batch:]
        try:
            answer = await session.get(chunk)
        except SnmpErrorStatus as exc:
            if exc.status == TOO_BIG and len(chunk) > 1:
                batch = max(1, len(chunk) // 2)
                continue
            if exc.status == NO_SUCH_NAME and 1 <= exc.index <= len(chunk):
                # v1: one missing OID fails the whole request; drop it and ask again.
                del chunk[exc.index - 1]
                pending = chunk + rest
                continue
            if exc.status in (NO_SUCH_NAME, GEN_ERR):
                # The agent fails the whole request without saying which OID it objects
                # to (error-index 0, as some UPS cards and v1 agents do): ask one OID at a
                # time, and an OID that fails alone is not there.
                if len(chunk) > 1:
                    batch = 1
                else:
                    pending = rest
                continue
            raise
        for oid, tag, value in answer:
            if tag not in ber.EXCEPTION_TAGS:
                out[oid] = (oid, tag, value)
        pending = rest
    return out


async def walk_columns(
    session: SnmpSession,
    columns: Sequence[Oid],
    *,
    bulk: bool = True,
    max_repetitions: int = 25,
    max_rows: int = 20_000,
) -> dict[Oid, Column]:
    """Walk each column subtree; returns column OID → its rows. Raises ProbeProtocolError
    for a looping agent or a column over `max_rows`."""
    out: dict[Oid, Column] = {c: [] for c in columns}
    cursor: dict[Oid, Oid] = {c: c for c in columns}  # last OID seen per live column
    use_bulk = bulk and session.version != "1"
    max_rep = max(1, max_repetitions)
    solo = False  # one column per request, after an error that did not say which column
    while cursor:
        live = list(cursor)[:1] if solo else list(cursor)
        request = [cursor[c] for c in live]
        try:
            if use_bulk:
                reps = max(1, min(max_rep, BULK_VARBINDS // len(live)))
                answer = await session.get_bulk(request, reps)
            else:
                answer = await session.get_next(request)
        except SnmpErrorStatus as exc:
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
        if not answer:
            raise ProbeProtocolError("the agent answered a walk request with no varbinds")
        width = len(live)
        for i, column in enumerate(live):
            rows = out[column]
            prefix_len = len(column)
            last = cursor[column]
            done = False
            for oid, tag, value in answer[i::width]:
                if tag == ber.END_OF_MIB_VIEW or oid[:prefix_len] != column:
                    done = True
                    break
                if oid <= last:
                    raise ProbeProtocolError(
                        f"the agent's walk of {ber.format_oid(column)} went backwards or"
                        f" repeated at {ber.format_oid(oid)} (a looping agent)"
                    )
                last = oid
                if tag not in ber.EXCEPTION_TAGS:
                    rows.append((oid[prefix_len:], tag, value))
                if len(rows) > max_rows:
                    raise ProbeProtocolError(
                        f"{ber.format_oid(column)} has more than {max_rows} rows"
                        " (raise max_rows if the device really has that many)"
                    )
            if done:
                del cursor[column]
            else:
                cursor[column] = last
    return out


async def answered_subtrees(session: SnmpSession, subtrees: Sequence[Oid]) -> set[Oid]:
    """The subtrees in which the agent has at least one object: one GETNEXT for all."""
    answered: set[Oid] = set()
    pending = [list(subtrees[i : i + 40]) for i in range(0, len(subtrees), 40)]
    while pending:
        chunk = pending.pop()
        if not chunk:
            continue
        try:
            answer = await session.get_next(chunk)
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
        for asked, (oid, tag, _) in zip(chunk, answer, strict=False):
            if tag not in ber.EXCEPTION_TAGS and oid[: len(asked)] == asked:
                answered.add(asked)
    return answered
