"""The lean engine: v1/v2c (`LeanSession`) and SNMPv3 with MD5/SHA/SHA-2 auth and AES-128 or
DES privacy (`LeanV3Session`), built on our own BER codec (`ber`) and USM code (`usm`) over the
shared UDP socket of `transport`. This is the hot path: no pyasn1 objects, no MIB resolution.

v3: engine discovery once, then every request authenticated and encrypted; a Report saying our
clock is out of the agent's time window resynchronises and retries once. Errors are the ones
`session` documents.
"""

from __future__ import annotations

import functools
import socket
import time
from collections.abc import Sequence

from probes.base import ProbeAuthError, ProbeProtocolError, ProbeTimeout, ProbeUnreachable
from probes.snmp import ber, usm
from probes.snmp.ber import Oid, Varbind
from probes.snmp.session import SnmpGarbled, SnmpSession, Target, status_error
from probes.snmp.transport import SharedSocket, discovery_message, resolve


class LeanSession(SnmpSession):
    """v1/v2c over the lean codec."""

    def __init__(self, target: Target) -> None:
        if target.version not in ("1", "2c") and type(self) is LeanSession:
            raise ValueError("the lean session speaks v1 and v2c only (LeanV3Session: v3)")
        self.target = target
        self.version = target.version
        self._version_field = ber.VERSION_1 if target.version == "1" else ber.VERSION_2C
        self._community = target.community.encode()
        self._addr: tuple[str, int] | None = None
        self._family: int = socket.AF_INET
        self._shared: SharedSocket | None = None
        # Encoded varbind lists by OID list: a poller asks the same questions every cycle.
        self._encoded: dict[tuple[Oid, ...], bytes] = {}
        # The same for whole v1/v2c requests: (head, tail) around the request id.
        self._templates: dict[tuple[int, int, int, tuple[Oid, ...]], tuple[bytes, bytes]] = {}

    def longest_request_s(self) -> float:
        return self.target.timeout * (self.target.retries + 1)

    async def _connect(self) -> SharedSocket:
        if self._addr is None:
            try:
                self._family, self._addr = await resolve(self.target.host, self.target.port)
            except OSError as exc:
                raise ProbeUnreachable(f"cannot resolve {self.target.host}: {exc}") from None
        if self._shared is None or self._shared.transport is None:
            self._shared = await SharedSocket.for_loop(self._family)
        return self._shared

    def _varbind_list(self, oids: Sequence[Oid]) -> bytes:
        key = tuple(oids)
        encoded = self._encoded.get(key)
        if encoded is None:
            if len(self._encoded) > 4096:
                self._encoded.clear()
            encoded = self._encoded[key] = ber.encode_varbind_list(list(key))
        return encoded

    async def _request(
        self, pdu_tag: int, oids: Sequence[Oid], non_repeaters: int = 0, max_rep: int = 0
    ) -> list[Varbind]:
        shared = await self._connect()
        assert self._addr is not None
        key = (pdu_tag, non_repeaters, max_rep, tuple(oids))
        template = self._templates.get(key)
        if template is None:
            if len(self._templates) > 4096:
                self._templates.clear()
            template = self._templates[key] = ber.request_template(
                self._version_field,
                self._community,
                pdu_tag,
                ber.encode_varbind_list(list(oids)),
                non_repeaters,
                max_rep,
            )
        head, tail = template

        def build(rid: int) -> bytes:
            # the shared socket's ids all encode in four bytes
            return head + rid.to_bytes(4, "big") + tail

        data = await shared.exchange(self._addr, build, self.target.timeout, self.target.retries)
        try:
            response = ber.decode_response(data)
        except ber.BerError as exc:
            raise SnmpGarbled(f"{self.target.where}: malformed SNMP answer: {exc}") from None
        if response.error_status:
            raise status_error(self.target.where, response.error_status, response.error_index)
        return response.varbinds

    async def refused_hint(self) -> str | None:
        if await self._answers_v3_discovery(await self._connect()):
            return (
                f"{self.target.where} answers SNMP but not to this community"
                " (wrong community, or this address is not allowed to read)"
            )
        return None

    async def _answers_v3_discovery(self, shared: SharedSocket) -> bool:
        """True when the agent answers an SNMPv3 engine-discovery request: it is alive and
        speaking SNMP, so its silence to all our requests means it refuses them."""
        assert self._addr is not None

        def build(rid: int) -> bytes:
            return discovery_message(rid)

        try:
            await shared.exchange(self._addr, build, min(self.target.timeout, 1.0), 0)
        except ProbeTimeout:
            return False
        return True

    async def get(self, oids: Sequence[Oid]) -> list[Varbind]:
        return await self._request(ber.GET_REQUEST, oids)

    async def get_next(self, oids: Sequence[Oid]) -> list[Varbind]:
        return await self._request(ber.GET_NEXT_REQUEST, oids)

    async def get_bulk(
        self, oids: Sequence[Oid], max_repetitions: int, non_repeaters: int = 0
    ) -> list[Varbind]:
        if self.version == "1":
            raise ValueError("SNMPv1 has no GETBULK")
        return await self._request(ber.GET_BULK_REQUEST, oids, non_repeaters, max_repetitions)


class LeanV3Session(LeanSession):
    """SNMPv3 (USM: noAuth, MD5/SHA/SHA-2 auth, AES-128 or DES privacy) over the lean codec: engine
    discovery once, then every request authenticated and encrypted by `usm`. A Report
    saying our clock is out of the agent's time window resynchronises and retries once."""

    def __init__(self, target: Target) -> None:
        if target.version != "3" or not usm.lean_supports(
            target.auth_protocol, target.priv_protocol
        ):
            raise ValueError("LeanV3Session: v3 with MD5/SHA auth and AES-128/DES privacy only")
        super().__init__(target)
        self._engine: usm.Engine | None = None
        self._engine_at = 0.0  # monotonic time at which the agent's engine time was read
        self._creds: usm.Credentials | None = None
        self._context = target.context.encode()

    def longest_request_s(self) -> float:
        # discovery first when the engine is not known yet, then up to two tries of the
        # request (one after a resynchronising Report), each with its retries
        return 3 * super().longest_request_s()

    async def refused_hint(self) -> str | None:
        if self._engine is None:
            return None  # not even discovery answered: the agent is not there
        # Agents drop what they cannot decrypt without a word.
        encrypted = self._creds is not None and bool(self._creds.priv_key)
        if encrypted and await self._answers_v3_discovery(await self._connect()):
            return (
                f"{self.target.where} answers SNMPv3 discovery but not our encrypted"
                " requests (wrong priv key or priv protocol?)"
            )
        return None

    def _learn(self, engine: usm.Engine) -> None:
        if self._engine is None or engine.engine_id != self._engine.engine_id:
            t = self.target
            self._creds = usm.credentials(
                t.user, t.auth_protocol, t.auth_key, t.priv_protocol, t.priv_key, engine.engine_id
            )
        self._engine = engine
        self._engine_at = time.monotonic()

    async def _discover(self, shared: SharedSocket) -> None:
        assert self._addr is not None
        data = await shared.exchange(
            self._addr, discovery_message, self.target.timeout, self.target.retries
        )
        try:
            answer = usm.decode_message(data, None)
        except (ber.BerError, usm.UsmError) as exc:
            raise ProbeProtocolError(
                f"{self.target.where}: bad SNMPv3 discovery answer: {exc}"
            ) from None
        if not answer.engine.engine_id:
            raise ProbeProtocolError(f"{self.target.where}: SNMPv3 discovery gave no engine id")
        self._learn(answer.engine)

    async def _request(
        self, pdu_tag: int, oids: Sequence[Oid], non_repeaters: int = 0, max_rep: int = 0
    ) -> list[Varbind]:
        shared = await self._connect()
        assert self._addr is not None
        if self._engine is None:
            await self._discover(shared)
        vbl = self._varbind_list(oids)
        for _ in range(2):
            engine, creds = self._engine, self._creds
            assert engine is not None and creds is not None
            engine_time = int(engine.time + (time.monotonic() - self._engine_at))
            build = functools.partial(
                _v3_message, creds, engine, engine_time, self._context, pdu_tag, vbl,
                non_repeaters, max_rep,
            )  # fmt: skip
            data = await shared.exchange(
                self._addr, build, self.target.timeout, self.target.retries
            )
            try:
                answer = usm.decode_message(data, creds)
            except usm.UsmError as exc:
                if exc.auth:
                    raise ProbeAuthError(f"{self.target.where}: {exc}") from None
                raise SnmpGarbled(f"{self.target.where}: {exc}") from None
            except ber.BerError as exc:
                raise SnmpGarbled(f"{self.target.where}: malformed SNMPv3 answer: {exc}") from None
            reason = answer.report_reason
            if reason in ("notInTimeWindow", "unknownEngineID"):
                self._learn(answer.engine)  # the agent's clock, or a new engine after a restart
                continue
            if reason is not None:
                if reason in _AUTH_REPORTS:
                    raise ProbeAuthError(f"{self.target.where} refused our credentials ({reason})")
                raise ProbeProtocolError(f"{self.target.where} answered with a Report ({reason})")
            if creds.auth_hash:
                self._learn(answer.engine)  # authenticated: a trustworthy clock reading
            if answer.error_status:
                raise status_error(self.target.where, answer.error_status, answer.error_index)
            return answer.varbinds
        raise ProbeAuthError(f"{self.target.where}: could not get into the agent's time window")


_AUTH_REPORTS = frozenset(
    ("wrongDigest", "unknownUserName", "decryptionError", "unsupportedSecLevel")
)


def _v3_message(
    creds: usm.Credentials,
    engine: usm.Engine,
    engine_time: int,
    context: bytes,
    pdu_tag: int,
    varbind_list: bytes,
    non_repeaters: int,
    max_repetitions: int,
    request_id: int,
) -> bytes:
    pdu = usm.encode_pdu(pdu_tag, request_id, varbind_list, non_repeaters, max_repetitions)
    return usm.encode_request(creds, engine, engine_time, context, request_id, pdu)
