"""The SNMP trap and inform receiver: v1, v2c and v3 notifications on a UDP port become
Samples that rules match like any polled sample.

Configuration (the `traps:` section of roomwatch.yaml, validated by SnmpTrapSettings):

```yaml
traps:
  listen: 0.0.0.0:162              # host:port; the systemd unit grants CAP_NET_BIND_SERVICE
  credentials: [trap-community, trap-v3]   # credentials entries: `community: …`, or a v3
                                   #   user (user, auth_protocol, auth_key, priv_protocol,
                                   #   priv_key, engine_id = the sender's engine id in hex)
  devices:                         # source address → inventory device id
    10.0.0.2: core-sw1
    10.0.5.10: ups-1
```

What a notification becomes (device: the `devices` entry for its source address, else the
daemon's lookup callback, else the address itself, so nothing is dropped):

| notification | samples |
|---|---|
| every one | `snmp.trap` = its name (`linkDown`, `coldStart`, …) {trap: name} |
| linkDown / linkUp (IF-MIB) | `ifOperStatus` = 2 / 1 with the labels the poll gave that ifIndex (else ifIndex and the ifName/ifDescr the port's first trap carried, so a linkUp clears its linkDown's series) |
| upsTrapOnBattery (UPS-MIB, sent as v1 or v2), APC upsOnBattery | `ups.status` = `OB` |
| APC lowBattery | `ups.status` = `OB LB` |
| APC powerRestored, returnFromLowBattery | `ups.status` = `OL` |
| another one a compiled MIB names (`mib_dirs`) | `snmp.trap` = `MODULE::name` {trap: that}, and each varbind a MIB names as a sample of its object (trap_varbinds) |
| an unknown one | `snmp.trap` = its OID {trap: unknown}; logged once per OID and counted |

With MIBs, the `snmp.trap` sample's note holds the varbinds by name (`IF-MIB::ifDescr.3=eth0`).

Garbage datagrams and notifications with a wrong community or v3 user/key/engine id are
dropped by pysnmp (counted in `stats()`; a refused one is logged once per source and reason),
never stopping the receiver. Informs are acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from core.sample import Sample
from probes.snmp import ber
from probes.snmp.mapping import interface_labels
from probes.snmp.mib_names import MibNames
from probes.snmp.pysnmp_engine import from_pysnmp
from probes.snmp.trap_screen import DatagramScreen, screened
from probes.snmp.trap_settings import SnmpTrapSettings, TrapUser, listen_address
from probes.snmp.trap_varbinds import varbind_note, varbind_samples
from probes.snmp.values import text

log = logging.getLogger("roomwatch.snmp_traps")

SNMP_TRAP_OID: ber.Oid = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0)
IF_INDEX = (1, 3, 6, 1, 2, 1, 2, 2, 1, 1)
IF_DESCR = (1, 3, 6, 1, 2, 1, 2, 2, 1, 2)
IF_OPER_STATUS = (1, 3, 6, 1, 2, 1, 2, 2, 1, 8)
IF_NAME = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1)

# Notification OID → name. v1 traps arrive converted to their v2 form (RFC 3584):
# generic ones as snmpTraps.N, enterprise-specific ones as <enterprise>.0.<specific>.
KNOWN_TRAPS: dict[ber.Oid, str] = {
    (1, 3, 6, 1, 6, 3, 1, 1, 5, 1): "coldStart",
    (1, 3, 6, 1, 6, 3, 1, 1, 5, 2): "warmStart",
    (1, 3, 6, 1, 6, 3, 1, 1, 5, 3): "linkDown",
    (1, 3, 6, 1, 6, 3, 1, 1, 5, 4): "linkUp",
    (1, 3, 6, 1, 6, 3, 1, 1, 5, 5): "authenticationFailure",
    (1, 3, 6, 1, 2, 1, 33, 2, 1): "upsTrapOnBattery",
    (1, 3, 6, 1, 2, 1, 33, 2, 2): "upsTrapTestCompleted",
    (1, 3, 6, 1, 2, 1, 33, 2, 3): "upsTrapAlarmEntryAdded",
    (1, 3, 6, 1, 2, 1, 33, 2, 4): "upsTrapAlarmEntryRemoved",
    (1, 3, 6, 1, 4, 1, 318, 0, 5): "upsOnBattery",  # APC PowerNet-MIB
    (1, 3, 6, 1, 4, 1, 318, 0, 7): "lowBattery",
    (1, 3, 6, 1, 4, 1, 318, 0, 9): "powerRestored",
    (1, 3, 6, 1, 4, 1, 318, 0, 11): "returnFromLowBattery",
}

# Distinct (source, reason) pairs of refused notifications logged and counted one by one;
# beyond this, a flood from many (spoofed) addresses costs one line and one counter.
REFUSED_SOURCES_LOGGED = 1000
# Distinct unknown notification types remembered (and logged once each); more are counted
# together as "(other types)", so a sender inventing OIDs cannot grow memory or the log.
UNKNOWN_TRAPS_LOGGED = 500

UPS_STATUS_BY_TRAP = {
    "upsTrapOnBattery": "OB",
    "upsOnBattery": "OB",
    "lowBattery": "OB LB",
    "powerRestored": "OL",
    "returnFromLowBattery": "OL",
}


class SnmpTrapReceiver:
    """Receives notifications while started; hands each one's samples to `on_samples`
    (called on the event loop; it must not block). `device_for(address)` maps a source
    address the `devices` table does not know to a device id (or None)."""

    def __init__(
        self,
        settings: SnmpTrapSettings,
        on_samples: Callable[[list[Sample]], None],
        device_for: Callable[[str], str | None] | None = None,
        clock: Callable[[], float] = time.time,
        names: MibNames | None = None,
    ) -> None:
        """`names`: the compiled MIBs (mib_dirs); with them a notification no table here
        knows is named, and its varbinds are shown and sampled by name (trap_varbinds)."""
        self.settings = settings
        self.names = names if names is not None else MibNames()
        self.on_samples = on_samples
        self.device_for = device_for
        self.clock = clock
        self.received = 0
        self.unknown: Counter[str] = Counter()  # unknown notification OID → count
        # (device, ifIndex) → labels of a port's link traps while the poll gives none
        self._port_labels: dict[tuple[str, str], dict[str, str]] = {}
        # (source address, reason) → notifications refused: wrong community, v3 user, keys or
        # engine id. Logged once per pair, so an admin can see why a device's traps never come.
        self.refused: Counter[tuple[str, str]] = Counter()
        # Datagrams that never reach pysnmp's message processing: "empty" and "undecodable".
        self.screen = DatagramScreen(log)
        self._engine: Any = None
        self._transport: Any = None
        self.address: tuple[str, int] | None = None  # where it listens (port 0 resolved)

    async def start(self) -> None:
        """Bind the port and start receiving. Raises OSError when the port cannot be bound."""
        from pysnmp.carrier.asyncio.dgram import udp
        from pysnmp.entity import config, engine
        from pysnmp.entity.rfc3413 import ntfrcv

        host, port = listen_address(self.settings.listen)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.bind((host, port))
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        self.address = sock.getsockname()[:2]
        eng = engine.SnmpEngine()
        domain = udp.DOMAIN_NAME
        if family == socket.AF_INET6:
            from pysnmp.carrier.asyncio.dgram import udp6

            self._transport = screened(udp6.Udp6Transport, self.screen)().open_server_mode(
                sock=sock
            )
            domain = udp6.DOMAIN_NAME
        else:
            self._transport = screened(udp.UdpTransport, self.screen)().open_server_mode(sock=sock)
        config.add_transport(eng, domain, self._transport)
        for i, community in enumerate(self.settings.communities):
            config.add_v1_system(eng, f"trap-community-{i}", community)
        for user in self.settings.users:
            self._add_user(eng, user)
        ntfrcv.NotificationReceiver(eng, self._received)
        eng.observer.register_observer(
            self._refused,
            "rfc2576.prepareDataElements:sm-failure",  # v1/v2c: community not configured
            "rfc3412.prepareDataElements:sm-failure",  # v3: user, keys, engine id
        )
        eng.transport_dispatcher.job_started(1)  # keep the dispatcher running until stop()
        self._engine = eng

    @staticmethod
    def _add_user(eng: Any, user: TrapUser) -> None:
        from pysnmp.entity import config
        from pysnmp.proto.api import v2c

        auth = {
            "none": config.USM_AUTH_NONE,
            "md5": config.USM_AUTH_HMAC96_MD5,
            "sha": config.USM_AUTH_HMAC96_SHA,
            "sha224": config.USM_AUTH_HMAC128_SHA224,
            "sha256": config.USM_AUTH_HMAC192_SHA256,
            "sha384": config.USM_AUTH_HMAC256_SHA384,
            "sha512": config.USM_AUTH_HMAC384_SHA512,
        }[user.auth_protocol]
        priv = {
            "none": config.USM_PRIV_NONE,
            "des": config.USM_PRIV_CBC56_DES,
            "3des": config.USM_PRIV_CBC168_3DES,
            "aes": config.USM_PRIV_CFB128_AES,
            "aes128": config.USM_PRIV_CFB128_AES,
            "aes192": config.USM_PRIV_CFB192_AES_BLUMENTHAL,
            "aes256": config.USM_PRIV_CFB256_AES_BLUMENTHAL,
            "aes192c": config.USM_PRIV_CFB192_AES,
            "aes256c": config.USM_PRIV_CFB256_AES,
        }[user.priv_protocol]
        keys: dict[str, Any] = {}
        if user.auth_key:
            keys["authKey"] = user.auth_key
        if user.priv_key:
            keys["privKey"] = user.priv_key
        # For informs: authenticated with our own engine id.
        config.add_v3_user(eng, user.user, auth, privProtocol=priv, **keys)
        if user.engine_id:
            # For traps: authenticated with the sender's engine id.
            engine_id = v2c.OctetString(hexValue=user.engine_id.removeprefix("0x"))
            config.add_v3_user(
                eng, user.user, auth, privProtocol=priv, securityEngineId=engine_id, **keys
            )

    async def stop(self) -> None:
        eng, self._engine = self._engine, None
        if eng is None:
            return
        eng.transport_dispatcher.job_finished(1)
        eng.close_dispatcher()
        await asyncio.sleep(0)  # let the transport finish closing

    def _refused(self, snmp_engine: Any, execpoint: str, variables: Any, cb_ctx: Any) -> None:
        # pysnmp's observer calls this for a message its security model refused; it must not
        # raise into pysnmp, and it names no secret (only the address and pysnmp's reason).
        try:
            source = str(variables["transportAddress"][0])
        except (KeyError, IndexError, TypeError):
            source = "unknown"
        try:
            indication = variables["statusInformation"]["errorIndication"]
            reason = type(indication).__name__
        except (KeyError, TypeError):
            reason = "security check failed"
        v3 = execpoint.startswith("rfc3412")
        if not v3 and reason == "security check failed":
            reason = "unknown community"
        key = (source, reason)
        if key not in self.refused and len(self.refused) >= REFUSED_SOURCES_LOGGED:
            # A flood from many (spoofed) addresses: counted together, logged once.
            key = ("(many sources)", reason)
        self.refused[key] += 1
        if self.refused[key] == 1:
            hint = (
                "check the v3 user, keys and, for traps, the sender's engine_id"
                if v3
                else "check the community in the traps credentials"
            )
            log.warning(
                "event=snmp_trap_refused source=%s reason=%s (%s; counted, later ones from"
                " this source for this reason are not logged)",
                source,
                reason,
                hint,
            )

    def stats(self) -> dict[str, int]:
        """Counters for the status page: received, unknown, refused, undecodable and empty
        datagrams, and what pysnmp dropped."""
        out = {
            "received": self.received,
            "unknown": sum(self.unknown.values()),
            "refused": sum(self.refused.values()),
            "undecodable": self.screen.counts["undecodable"],
            "empty": self.screen.counts["empty"],
        }
        if self._engine is not None:
            builder = self._engine.get_mib_builder()
            for name in ("snmpInASNParseErrs", "snmpInBadCommunityNames"):
                try:
                    (symbol,) = builder.import_symbols("__SNMPv2-MIB", name)
                    out[name] = int(symbol.syntax)
                except Exception:  # a pysnmp without that counter: leave it out
                    continue
        return out

    # pysnmp calls this for every notification that passed authentication.
    def _received(
        self,
        snmp_engine: Any,
        state_reference: Any,
        context_engine_id: Any,
        context_name: Any,
        varbinds: Any,
        cb_ctx: Any,
    ) -> None:
        try:
            context = snmp_engine.observer.get_execution_context("rfc3412.receiveMessage:request")
            source = str(context["transportAddress"][0])
        except (KeyError, IndexError, TypeError):
            source = "unknown"
        converted = [from_pysnmp(oid, value) for oid, value in varbinds]
        self.received += 1
        samples = self.samples_for(source, converted)
        if samples:
            self.on_samples(samples)

    def device_id(self, source: str) -> str:
        device = self.settings.devices.get(source)
        if device is None and self.device_for is not None:
            device = self.device_for(source)
        return device or source

    def samples_for(self, source: str, varbinds: list[ber.Varbind]) -> list[Sample]:
        """The samples of one notification (pure apart from the unknown-trap bookkeeping)."""
        trap_oid: ber.Oid | None = None
        for oid, _, value in varbinds:
            if oid == SNMP_TRAP_OID and isinstance(value, tuple):
                trap_oid = value
        if trap_oid is None:
            self._unknown("(no snmpTrapOID)", source)
            return []
        device = self.device_id(source)
        now = self.clock()
        name = KNOWN_TRAPS.get(trap_oid)
        if name is None and len(trap_oid) > 2 and trap_oid[-2] == 0:
            # A v1 trap of a notification SMIv2 defines without the 0 arc: UPS-MIB's
            # upsTrapOnBattery (upsTraps.1) sent as v1 enterprise upsTraps, specific 1,
            # arrives as upsTraps.0.1 (RFC 3584 §3.1).
            name = KNOWN_TRAPS.get(trap_oid[:-2] + trap_oid[-1:])
        note = varbind_note(self.names, varbinds) if self.names else None
        if name is None:
            name = self.names.name_of(trap_oid)
        if name is None:
            oid_text = ber.format_oid(trap_oid)
            self._unknown(oid_text, source)
            return [Sample(device, "snmp.trap", oid_text, {"trap": "unknown"}, None, now, note)]
        samples = [Sample(device, "snmp.trap", name, {"trap": name}, None, now, note)]
        if name in ("linkDown", "linkUp"):
            samples += _link_samples(device, name, varbinds, now, self._port_labels)
        elif self.names:
            samples += varbind_samples(self.names, device, name, varbinds, now)
        if name in UPS_STATUS_BY_TRAP:
            samples.append(Sample(device, "ups.status", UPS_STATUS_BY_TRAP[name], {}, None, now))
        return samples

    def _unknown(self, oid_text: str, source: str) -> None:
        if oid_text not in self.unknown and len(self.unknown) >= UNKNOWN_TRAPS_LOGGED:
            oid_text = "(other types)"
        self.unknown[oid_text] += 1
        if self.unknown[oid_text] == 1:
            log.warning(
                "event=snmp_trap_unknown trap=%s source=%s"
                " (counted; later ones of this type are not logged)",
                oid_text,
                source,
            )


def _link_samples(
    device: str,
    name: str,
    varbinds: list[ber.Varbind],
    now: float,
    remembered: dict[tuple[str, str], dict[str, str]],
) -> list[Sample]:
    labels: dict[str, str] = {}
    status = 2 if name == "linkDown" else 1
    for oid, _, value in varbinds:
        column, index = oid[:-1], oid[-1:]
        if column == IF_OPER_STATUS and isinstance(value, int):
            status = value
            labels.setdefault("ifIndex", ".".join(map(str, index)))
        elif column == IF_INDEX and isinstance(value, int):
            labels["ifIndex"] = str(value)
        elif column == IF_NAME and isinstance(value, bytes) and text(value):
            labels["ifName"] = text(value)  # as the poll writes it (NULs, spaces)
        elif column == IF_DESCR and isinstance(value, bytes) and text(value):
            labels["ifDescr"] = text(value)
    if "ifIndex" not in labels:
        return []  # which port? nothing to update
    port = (device, labels["ifIndex"])
    polled = interface_labels(device, labels["ifIndex"])
    if polled is not None:
        labels = polled  # the same series as the poll's
    elif port in remembered:
        # Not polled (yet): the labels the first trap for this port gave, so a linkUp
        # carrying fewer varbinds than its linkDown clears the very series it opened.
        labels = dict(remembered[port])
    else:
        if len(remembered) >= 100_000:
            remembered.clear()  # a bound, not a cache policy: ports are few, sources finite
        remembered[port] = dict(labels)
    return [Sample(device, "ifOperStatus", status, labels, None, now)]


# The names the collector's config loader and daemon look up (collector/config.py).
TrapReceiverSettings = SnmpTrapSettings
TrapReceiver = SnmpTrapReceiver
