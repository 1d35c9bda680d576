"""Scalars riding along in a walk's first GETBULK as its non-repeaters (RFC 3416 §4.2.3): a
switch poll's sysUpTime, sysName, … then need no GET of their own, one request (an event-loop
round trip and an agent's answer) less per poll. `walk.walk_columns` sends them; this module
says which scalars can ride and reads them out of the answer, refusing an answer of the
wrong shape so an agent that does not keep non-repeaters apart costs nothing but a retry.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field

from probes.snmp import ber
from probes.snmp.ber import Oid, Varbind
from probes.snmp.gaps import PROTOCOL, Gaps

# Scalars asked along with one GETBULK at most; more go by GET.
MAX_RIDERS = 40  # as many as `walk` asks in one GET


@dataclass
class Riders:
    """Scalars asked along with a walk's first GETBULK, as its non-repeaters: one request
    less per poll than a GET of their own. A non-repeater is answered as by GETNEXT, so the
    scalar `x.0` is asked as `x`: the answer names `x.0` when the agent has it (nothing lies
    between `x` and `x.0`), and otherwise the next OID it has, or endOfMibView, which both
    mean it has not. Only OIDs ending in .0 can be asked so (`split`); the rest go by GET.

    `found` holds what was read. `answered` stays False when the request carrying the
    scalars failed, or the walk could not take them (GETBULK not in use): the caller then
    reads them by GET, as without riders."""

    oids: list[Oid]
    found: dict[Oid, Varbind] = field(default_factory=dict)
    answered: bool = False

    @classmethod
    def split(cls, oids: Sequence[Oid]) -> tuple[Riders, list[Oid]]:
        """(the riders, the OIDs left to GET) of `oids`, duplicates dropped."""
        riders: list[Oid] = []
        rest: list[Oid] = []
        for oid in dict.fromkeys(oids):
            if len(oid) > 2 and oid[-1] == 0 and len(riders) < MAX_RIDERS:
                riders.append(oid)
            else:
                rest.append(oid)
        return cls(riders), rest

    def take(self, answer: Sequence[Varbind], request: Sequence[Oid], gaps: Gaps) -> bool:
        """Read the scalars from the head of `answer`, the agent's answer to them followed by
        the rows of the walk of `request` (the columns' cursors). False (nothing read) when
        the answer does not have that shape: an agent that does not keep non-repeaters apart
        from the rest (the rows would be misread as columns ending early)."""
        count, width = len(self.oids), len(request)
        if len(answer) <= count or (len(answer) - count) % width:
            return False
        for wanted, (oid, tag, _) in zip(self.oids, answer, strict=False):
            if tag not in _NOT_NAMED and oid <= wanted[:-1]:
                return False  # not a GETNEXT's answer
        if not _rows_go_on(answer[count:], request):
            return False
        found: dict[Oid, Varbind] = {}
        for wanted, varbind in zip(self.oids, answer, strict=False):
            if varbind[1] == ber.UNDECODABLE:
                gaps.garbled += 1
                gaps.fail(wanted, PROTOCOL)
            elif varbind[0] == wanted and varbind[1] not in ber.EXCEPTION_TAGS:
                found[wanted] = varbind
            # anything else (the next OID, an exception) is a scalar the agent does not have
        self.found, self.answered = found, True
        return True


# Tags of varbinds whose name need not follow the OID asked (or may be missing).
_NOT_NAMED = frozenset((ber.END_OF_MIB_VIEW, ber.UNDECODABLE))


def _rows_go_on(rows: Sequence[Varbind], request: Sequence[Oid]) -> bool:
    """Whether each row of a GETBULK answer goes on from the row before (the first from the
    request), column by column, as GETNEXT would."""
    width = len(request)
    if _NOT_NAMED.isdisjoint([tag for _, tag, _ in rows]):
        # nearly always: every varbind named, so each is after the one a row above it
        names = [oid for oid, _, _ in rows]
        return all(map(operator.lt, request, names)) and all(map(operator.lt, names, names[width:]))
    before = list(request)
    for i, (oid, tag, _) in enumerate(rows):
        if tag not in _NOT_NAMED:
            if oid <= before[i % width]:
                return False
            before[i % width] = oid
    return True
