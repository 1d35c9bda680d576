"""SNMPv3 messages with the User-based Security Model (RFC 3412, 3414, 3826) for the lean
hot path: key localisation, HMAC authentication (MD5, SHA-1, SHA-2) and AES-128 privacy,
encoding requests and decoding (verifying, decrypting) answers.

Covered: noAuthNoPriv, authNoPriv and authPriv with AES-128 (`aes`, `aes128`) or DES-CBC
(`des`, RFC 3414 §8). 3DES and AES-192/256 (whose key extension varies between vendors) stay
with pysnmp. Pure functions
and small value classes: the session (`lean.LeanV3Session`) owns the I/O, engine
discovery and time keeping.

Errors: `BerError` for malformed bytes, `UsmError` (with `auth=True` when the answer fails
authentication or decryption) for a message that is well-formed but not acceptable.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Final, Literal

from probes.snmp import ber
from probes.snmp.ber import BerError, Varbind, read_header, read_int, tlv

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers import Cipher, CipherAlgorithm, modes

# The SNMPv3 security protocols a settings file may name (probe and trap receiver alike).
# aes192/aes256: net-snmp's key extension (Blumenthal draft); aes192c/aes256c: the one of
# Cisco and others (Reeder), as Telegraf names them.
AuthProtocol = Literal["none", "md5", "sha", "sha224", "sha256", "sha384", "sha512"]
PrivProtocol = Literal[
    "none", "des", "3des", "aes", "aes128", "aes192", "aes256", "aes192c", "aes256c"
]

# auth protocol → (hash name, length of the truncated HMAC in the message)
AUTH: Final = {
    "md5": ("md5", 12),
    "sha": ("sha1", 12),
    "sha224": ("sha224", 16),
    "sha256": ("sha256", 24),
    "sha384": ("sha384", 32),
    "sha512": ("sha512", 48),
}
LEAN_PRIV: Final = frozenset(("none", "aes", "aes128", "des"))

FLAG_AUTH: Final = 0x01
FLAG_PRIV: Final = 0x02
FLAG_REPORTABLE: Final = 0x04
USM: Final = 3
MAX_SIZE: Final = 65507

# usmStats counters a Report names (RFC 3414 §5): what went wrong.
REPORT_REASONS: Final = {
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 1, 0): "unsupportedSecLevel",
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 2, 0): "notInTimeWindow",
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 3, 0): "unknownUserName",
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0): "unknownEngineID",
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 5, 0): "wrongDigest",
    (1, 3, 6, 1, 6, 3, 15, 1, 1, 6, 0): "decryptionError",
}


class UsmError(ValueError):
    def __init__(self, message: str, auth: bool = False) -> None:
        super().__init__(message)
        self.auth = auth


def lean_supports(auth_protocol: str, priv_protocol: str) -> bool:
    return (auth_protocol == "none" or auth_protocol in AUTH) and priv_protocol in LEAN_PRIV


@lru_cache(maxsize=256)
def localized_key(hash_name: str, password: str, engine_id: bytes) -> bytes:
    """RFC 3414 A.2: the password stretched over 1 MiB and hashed, then localised to the
    agent's engine id. Costs a few ms, hence the cache (keyed by the secret, in memory only,
    as pysnmp keeps its keys)."""
    secret = password.encode()
    if not secret:
        raise UsmError("empty SNMPv3 key")
    stretched = (secret * (1048576 // len(secret) + 1))[:1048576]
    ku = hashlib.new(hash_name, stretched).digest()
    return hashlib.new(hash_name, ku + engine_id + ku).digest()


@dataclass(frozen=True)
class Engine:
    """What the agent told us about itself in discovery (and later answers)."""

    engine_id: bytes
    boots: int
    time: int


@dataclass(frozen=True)
class Credentials:
    user: bytes
    auth_hash: str | None  # hashlib name, None for noAuth
    auth_len: int
    auth_key: bytes  # localised
    priv_key: bytes  # localised, first 16 bytes (AES-128 key; DES key + pre-IV); empty: noPriv
    priv_des: bool = False  # DES-CBC rather than AES-CFB

    @property
    def flags(self) -> int:
        return (FLAG_AUTH if self.auth_hash else 0) | (FLAG_PRIV if self.priv_key else 0)


def credentials(
    user: str,
    auth_protocol: str,
    auth_key: str,
    priv_protocol: str,
    priv_key: str,
    engine_id: bytes,
) -> Credentials:
    if auth_protocol == "none":
        return Credentials(user.encode(), None, 0, b"", b"")
    if priv_protocol not in LEAN_PRIV:
        raise UsmError(f"{priv_protocol} privacy is not in the lean engine")
    hash_name, length = AUTH[auth_protocol]
    kul = localized_key(hash_name, auth_key, engine_id)
    priv = b""
    if priv_protocol != "none":
        priv = localized_key(hash_name, priv_key, engine_id)[:16]
    return Credentials(user.encode(), hash_name, length, kul, priv, priv_protocol == "des")


def _salt() -> bytes:
    return os.urandom(8)


def _cipher(priv_key: bytes, iv: bytes, des: bool) -> Cipher[modes.ModeWithInitializationVector]:
    """DES-CBC (one DES key: 3DES with it three times) or AES-128-CFB. cryptography is
    imported here, by the first message with privacy: a daemon polling only v2c or
    authNoPriv agents does not load it (8 MiB of its memory)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
    from cryptography.hazmat.primitives.ciphers.modes import CBC

    try:  # cryptography >= 47 keeps CFB and DES among the "decrepit" (SNMP still needs them)
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
        from cryptography.hazmat.decrepit.ciphers.modes import CFB
    except ImportError:  # pragma: no cover - older cryptography
        from cryptography.hazmat.primitives.ciphers.algorithms import (  # type: ignore[attr-defined,no-redef]
            TripleDES,
        )
        from cryptography.hazmat.primitives.ciphers.modes import CFB  # type: ignore[assignment]

    algorithm: CipherAlgorithm
    mode: modes.ModeWithInitializationVector
    if des:
        algorithm, mode = TripleDES(priv_key[:8] * 3), CBC(iv)
    else:
        algorithm, mode = algorithms.AES(priv_key), CFB(iv)
    return Cipher(algorithm, mode)


def encode_request(
    creds: Credentials,
    engine: Engine,
    engine_time: int,
    context_name: bytes,
    msg_id: int,
    pdu: bytes,
) -> bytes:
    """A whole v3 message carrying `pdu` (a request PDU with request-id = msg_id)."""
    flags = creds.flags | FLAG_REPORTABLE
    scoped = tlv(
        0x30, tlv(ber.OCTET_STRING, engine.engine_id) + tlv(ber.OCTET_STRING, context_name) + pdu
    )
    salt = b""
    if creds.priv_key and creds.priv_des:
        # RFC 3414 §8.1.1: salt = engineBoots ++ a local integer; IV = pre-IV xor salt.
        salt = engine.boots.to_bytes(4, "big") + _salt()[:4]
        iv = bytes(a ^ b for a, b in zip(creds.priv_key[8:16], salt, strict=True))
        padded = scoped + bytes(-len(scoped) % 8)
        enc = _cipher(creds.priv_key, iv, des=True).encryptor()
        msg_data = tlv(ber.OCTET_STRING, enc.update(padded) + enc.finalize())
    elif creds.priv_key:
        salt = _salt()
        iv = engine.boots.to_bytes(4, "big") + engine_time.to_bytes(4, "big") + salt
        enc = _cipher(creds.priv_key, iv, des=False).encryptor()
        msg_data = tlv(ber.OCTET_STRING, enc.update(scoped) + enc.finalize())
    else:
        msg_data = scoped
    auth_placeholder = bytes(creds.auth_len)
    head = (
        tlv(ber.OCTET_STRING, engine.engine_id)
        + ber.encode_integer(engine.boots)
        + ber.encode_integer(engine_time)
        + tlv(ber.OCTET_STRING, creds.user)
    )
    auth_tlv = tlv(ber.OCTET_STRING, auth_placeholder)
    usm_body = head + auth_tlv + tlv(ber.OCTET_STRING, salt)
    usm_seq = tlv(0x30, usm_body)
    sec_params = tlv(ber.OCTET_STRING, usm_seq)
    global_data = tlv(
        0x30,
        ber.encode_integer(msg_id)
        + ber.encode_integer(MAX_SIZE)
        + tlv(ber.OCTET_STRING, bytes((flags,)))
        + ber.encode_integer(USM),
    )
    body = ber.encode_integer(3) + global_data + sec_params + msg_data
    message = tlv(0x30, body)
    if not creds.auth_hash:
        return message
    # Where the authentication parameters' contents sit: count the headers in front.
    offset = (
        (len(message) - len(body))
        + len(ber.encode_integer(3))
        + len(global_data)
        + (len(sec_params) - len(usm_seq))
        + (len(usm_seq) - len(usm_body))
        + len(head)
        + (len(auth_tlv) - creds.auth_len)
    )
    digest = hmac.new(creds.auth_key, message, creds.auth_hash).digest()[: creds.auth_len]
    return message[:offset] + digest + message[offset + creds.auth_len :]


@dataclass
class V3Answer:
    msg_id: int
    engine: Engine
    pdu_tag: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[Varbind]

    @property
    def report_reason(self) -> str | None:
        if self.pdu_tag != ber.REPORT:
            return None
        for oid, _, _ in self.varbinds:
            if oid in REPORT_REASONS:
                return REPORT_REASONS[oid]
        return "report"


def decode_message(data: bytes, creds: Credentials | None) -> V3Answer:
    """Decode a v3 answer; with `creds`, verify its HMAC and decrypt it when it says it is
    authenticated/encrypted. Raises BerError or UsmError."""
    end = len(data)
    tag, pos, end = read_header(data, 0, end)
    if tag != 0x30:
        raise BerError("not an SNMP message")
    version, pos = read_int(data, pos, end)
    if version != 3:
        raise BerError(f"not an SNMPv3 message (version field {version})")
    tag, gpos, gend = read_header(data, pos, end)
    if tag != 0x30:
        raise BerError("msgGlobalData is not a SEQUENCE")
    msg_id, gpos = read_int(data, gpos, gend)
    _, gpos = read_int(data, gpos, gend)
    tag, fstart, fend = read_header(data, gpos, gend)
    if tag != ber.OCTET_STRING or fend - fstart != 1:
        raise BerError("bad msgFlags")
    flags = data[fstart]
    pos = gend
    tag, spos, send = read_header(data, pos, end)
    if tag != ber.OCTET_STRING:
        raise BerError("msgSecurityParameters is not an OCTET STRING")
    tag, upos, uend = read_header(data, spos, send)
    if tag != 0x30:
        raise BerError("USM parameters are not a SEQUENCE")
    tag, a, b = read_header(data, upos, uend)
    engine_id = data[a:b]
    boots, upos = read_int(data, b, uend)
    etime, upos = read_int(data, upos, uend)
    tag, a, upos = read_header(data, upos, uend)  # user name
    tag, auth_start, auth_end = read_header(data, upos, uend)
    tag, salt_start, salt_end = read_header(data, auth_end, uend)
    salt = data[salt_start:salt_end]
    pos = send
    engine = Engine(engine_id, boots, etime)
    if flags & FLAG_AUTH:
        if creds is None or not creds.auth_hash:
            raise UsmError("an authenticated answer we cannot verify", auth=True)
        received = data[auth_start:auth_end]
        zeroed = data[:auth_start] + bytes(auth_end - auth_start) + data[auth_end:]
        expected = hmac.new(creds.auth_key, zeroed, creds.auth_hash).digest()[: creds.auth_len]
        if not hmac.compare_digest(received, expected):
            raise UsmError("the answer failed authentication (wrong auth key?)", auth=True)
    if flags & FLAG_PRIV:
        if creds is None or not creds.priv_key:
            raise UsmError("an encrypted answer we cannot decrypt", auth=True)
        tag, cstart, cend = read_header(data, pos, end)
        if tag != ber.OCTET_STRING or len(salt) != 8:
            raise BerError("encrypted PDU is malformed")
        encrypted = data[cstart:cend]
        if creds.priv_des:
            if len(encrypted) % 8:
                raise UsmError("the DES-encrypted PDU is not whole blocks", auth=True)
            iv = bytes(a ^ b for a, b in zip(creds.priv_key[8:16], salt, strict=True))
            dec = _cipher(creds.priv_key, iv, des=True).decryptor()
        else:
            iv = boots.to_bytes(4, "big") + etime.to_bytes(4, "big") + salt
            dec = _cipher(creds.priv_key, iv, des=False).decryptor()
        scoped = dec.update(encrypted) + dec.finalize()
        try:
            return _scoped(scoped, 0, len(scoped), msg_id, engine)
        except BerError:
            raise UsmError("the answer did not decrypt (wrong priv key?)", auth=True) from None
    return _scoped(data, pos, end, msg_id, engine)


def _scoped(data: bytes, pos: int, end: int, msg_id: int, engine: Engine) -> V3Answer:
    tag, pos, end = read_header(data, pos, end)
    if tag != 0x30:
        raise BerError("ScopedPDU is not a SEQUENCE")
    _, _, pos = read_header(data, pos, end)  # contextEngineID
    _, _, pos = read_header(data, pos, end)  # contextName
    pdu_tag, _, request_id, error_status, error_index, varbinds = ber.decode_pdu(data, pos, end)
    return V3Answer(msg_id, engine, pdu_tag, request_id, error_status, error_index, varbinds)


def encode_pdu(pdu_tag: int, request_id: int, varbind_list: bytes, a: int = 0, b: int = 0) -> bytes:
    return tlv(
        pdu_tag,
        ber.encode_integer(request_id)
        + ber.encode_integer(a)
        + ber.encode_integer(b)
        + varbind_list,
    )
