"""A notification's varbinds by name, when MIBs are compiled (`mib_dirs:`, mib_names.py).

- `varbind_note`: the varbinds as one line an admin reads, e.g.
  `IF-MIB::ifIndex.3=3 IF-MIB::ifDescr.3=eth0 ACME-MIB::alarmState.0=critical(3)`; it is the
  `note` of the notification's `snmp.trap` sample (a detail, never part of an identity).
- `varbind_samples`: each varbind a MIB names as a sample named by its MIB object, as the
  poll names readings (DESIGN.md §4): `alarmState` = 3 {trap: ACME-MIB::alarmPortFault,
  index: "3"}, so a rule can grade what the trap says and its summary show `{value}`.
  Values: numbers as numbers, OIDs by name, text as text.

What every notification carries anyway (sysUpTime.0, snmpTrapOID.0, the v1 enterprise and
agent address) is left out, and so is snmpTrapCommunity.0, which would put a community into
the log and the ticket store. At most MAX_VARBINDS are looked at."""

from __future__ import annotations

from core.sample import Sample
from probes.snmp import ber
from probes.snmp.mib_names import MibNames

MAX_VARBINDS = 32
ALWAYS_THERE: frozenset[ber.Oid] = frozenset(
    {
        (1, 3, 6, 1, 2, 1, 1, 3, 0),  # sysUpTime.0
        (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0),  # snmpTrapOID.0
        (1, 3, 6, 1, 6, 3, 1, 1, 4, 3, 0),  # snmpTrapEnterprise.0 (v1)
        (1, 3, 6, 1, 6, 3, 18, 1, 3, 0),  # snmpTrapAddress.0 (v1)
        (1, 3, 6, 1, 6, 3, 18, 1, 4, 0),  # snmpTrapCommunity.0: a secret
    }
)


def _told(varbinds: list[ber.Varbind]) -> list[ber.Varbind]:
    return [vb for vb in varbinds[:MAX_VARBINDS] if vb[0] not in ALWAYS_THERE and vb[2] is not None]


def varbind_note(names: MibNames, varbinds: list[ber.Varbind]) -> str | None:
    parts = [
        f"{names.text_of(oid)}={names.value_text(oid, value)}" for oid, _, value in _told(varbinds)
    ]
    return " ".join(parts) or None


def varbind_samples(
    names: MibNames, device: str, trap: str, varbinds: list[ber.Varbind], now: float
) -> list[Sample]:
    out: list[Sample] = []
    for oid, _, value in _told(varbinds):
        found = names.symbol_of(oid)
        if found is None or found[0].kind != "objecttype":
            continue
        symbol, index = found
        labels = {"trap": trap}
        if index and index != (0,):
            labels["index"] = ber.format_oid(index)
        reading: int | str
        if isinstance(value, int) and not isinstance(value, bool):
            reading = value
        else:
            reading = names.value_text(oid, value)
        out.append(Sample(device, symbol.name, reading, labels, None, now))
    return out
