"""The lean SNMPv3/USM codec: RFC 3414 key localisation vectors, authenticated and encrypted
round trips, and tampering caught."""

from __future__ import annotations

import pytest

from probes.snmp import ber, usm

ENGINE = bytes.fromhex("000000000000000000000002")


def test_key_localisation_matches_rfc_3414_appendix_a3() -> None:
    assert usm.localized_key("md5", "maplesyrup", ENGINE).hex() == (
        "526f5eed9fcce26f8964c2930787d82b"
    )
    assert usm.localized_key("sha1", "maplesyrup", ENGINE).hex() == (
        "6695febc9288e36282235fc7151f128497b38f3f"
    )


def answer(creds: usm.Credentials, engine: usm.Engine, pdu_tag: int = ber.RESPONSE) -> bytes:
    varbinds = ber.encode_varbind_list([(1, 3, 6, 1, 2, 1, 1, 5, 0)])
    pdu = usm.encode_pdu(pdu_tag, 4242, varbinds)
    return usm.encode_request(creds, engine, engine.time, b"ctx", 4242, pdu)


@pytest.mark.parametrize(
    ("auth", "priv"),
    [
        ("sha", "aes"),
        ("sha256", "aes"),
        ("md5", "none"),
        ("sha512", "aes128"),
        ("md5", "des"),
        ("sha", "des"),
    ],
)
def test_authenticated_and_encrypted_messages_round_trip(auth: str, priv: str) -> None:
    creds = usm.credentials("ops", auth, "authpass123", priv, "privpass123", ENGINE)
    engine = usm.Engine(ENGINE, 7, 1234)
    data = answer(creds, engine)
    decoded = usm.decode_message(data, creds)
    assert decoded.msg_id == 4242
    assert decoded.engine == engine
    assert decoded.varbinds == [((1, 3, 6, 1, 2, 1, 1, 5, 0), ber.NULL, None)]
    if priv != "none":
        assert b"\x06\x08\x2b\x06\x01\x02\x01\x01\x05\x00" not in data  # the OID is not in clear


def test_a_tampered_message_fails_authentication() -> None:
    creds = usm.credentials("ops", "sha", "authpass123", "aes", "privpass123", ENGINE)
    data = bytearray(answer(creds, usm.Engine(ENGINE, 1, 1)))
    data[-3] ^= 0x01
    with pytest.raises(usm.UsmError) as caught:
        usm.decode_message(bytes(data), creds)
    assert caught.value.auth


def test_wrong_keys_are_auth_errors() -> None:
    engine = usm.Engine(ENGINE, 1, 1)
    sender = usm.credentials("ops", "sha", "authpass123", "aes", "privpass123", ENGINE)
    wrong_auth = usm.credentials("ops", "sha", "otherpass123", "aes", "privpass123", ENGINE)
    with pytest.raises(usm.UsmError, match="authentication"):
        usm.decode_message(answer(sender, engine), wrong_auth)


def test_reports_name_their_reason() -> None:
    creds = usm.credentials("ops", "none", "", "none", "", ENGINE)
    varbinds = ber.encode_varbind_list([(1, 3, 6, 1, 6, 3, 15, 1, 1, 2, 0)])
    data = usm.encode_request(
        creds, usm.Engine(ENGINE, 1, 1), 1, b"", 9, usm.encode_pdu(ber.REPORT, 9, varbinds)
    )
    assert usm.decode_message(data, None).report_reason == "notInTimeWindow"


def test_garbage_is_a_ber_error() -> None:
    for junk in (b"", b"\x30\x03\x02\x01\x03", b"\x30\x03\x02\x01\x01", b"\xff" * 20):
        with pytest.raises(ber.BerError):
            usm.decode_message(junk, None)


def test_aes128_and_des_privacy_are_lean_the_rest_pysnmp() -> None:
    assert usm.lean_supports("sha", "aes")
    assert usm.lean_supports("none", "none")
    assert usm.lean_supports("md5", "des")
    assert not usm.lean_supports("sha", "3des")
    assert not usm.lean_supports("sha", "aes256")
