"""`roomwatch probe snmp TARGET --oid NAME`: read what a MIB name (or an OID) names, the way
snmpwalk/snmpget would, and give it back as samples named by the MIB.

    --oid IF-MIB::ifDescr      the column walked: ifDescr {index: 1} = "lo", …
    --oid SNMPv2-MIB::sysName  the subtree walked: sysName = "core-sw1" (index .0 left out)
    --oid sysUpTime.0          an instance: one GET
    --oid 1.3.6.1.2.1.1.5.0    numbers work too (named when a MIB knows them)

A sample's metric is the MIB object's name (as the poll names readings, DESIGN.md §4), its
label `index` the arcs after it; an OID no MIB names keeps its numbers as the metric. Values:
numbers as numbers (an enumerated one's name, `up`, as the note), OCTET STRINGs as text, OIDs
by name."""

from __future__ import annotations

from collections.abc import Sequence

from core.sample import Sample
from probes.snmp import ber
from probes.snmp.mib_names import MibNames
from probes.snmp.session import SnmpSession
from probes.snmp.values import text
from probes.snmp.walk import get_scalars, walk_columns

MAX_ROWS = 10_000  # one --oid of a huge table must not fill the terminal for ever


def named_sample(names: MibNames, device: str, varbind: ber.Varbind, now: float) -> Sample:
    oid, _, value = varbind
    found = names.symbol_of(oid)
    labels: dict[str, str] = {}
    if found is None:
        metric = ber.format_oid(oid)
    else:
        symbol, index = found
        metric = symbol.name
        if index and index != (0,):
            labels["index"] = ber.format_oid(index)
    reading: int | str
    note = None
    if isinstance(value, int) and not isinstance(value, bool):
        reading = value
        shown = names.value_text(oid, value)
        note = shown.partition("(")[0] if shown != str(value) else None  # up(1) -> "up"
    elif isinstance(value, tuple):
        reading = names.text_of(value)
    else:
        reading = text(value)
    return Sample(device, metric, reading, labels, None, now, note)


async def read_named(
    session: SnmpSession, names: MibNames, oids: Sequence[ber.Oid], device: str, now: float
) -> list[Sample]:
    """Each OID's subtree walked; where that finds nothing, the OID itself got (a scalar
    instance such as sysName.0 has no subtree). Raises the session's probe errors."""
    out: list[Sample] = []
    for oid in oids:
        walked = (await walk_columns(session, [oid], max_rows=MAX_ROWS))[oid]
        # a walk gives each row by its index under the walked OID
        rows = [(oid + index, tag, value) for index, tag, value in walked]
        if not rows:
            rows = list((await get_scalars(session, [oid])).values())
        out += [named_sample(names, device, row, now) for row in rows if row[2] is not None]
    return out
