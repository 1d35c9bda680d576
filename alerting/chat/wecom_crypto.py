"""WeCom's callback encryption (企业微信 回调加解密), as its documentation defines it.

- msg_signature = hex SHA-1 of the sorted concatenation of token, timestamp, nonce and the
  encrypted text.
- The AES key is base64-decoded EncodingAESKey + "=" (32 bytes); AES-256-CBC with the key's
  first 16 bytes as IV; the plain text is 16 random bytes, the message length (4 bytes, network
  order), the message, then the receiver id (the CorpID), PKCS#7-padded to a multiple of 32."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32


class WeComCryptoError(Exception):
    pass


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


def signature_ok(token: str, timestamp: str, nonce: str, encrypted: str, given: str) -> bool:
    return hmac.compare_digest(signature(token, timestamp, nonce, encrypted), given.lower())


def _key(encoding_aes_key: str) -> bytes:
    try:
        key = base64.b64decode(encoding_aes_key + "=")
    except (binascii.Error, ValueError):
        raise WeComCryptoError("EncodingAESKey is not base64") from None
    if len(key) != 32:
        raise WeComCryptoError("EncodingAESKey must be 43 characters (32 bytes)")
    return key


def decrypt(encoding_aes_key: str, encrypted: str, receive_id: str) -> bytes:
    key = _key(encoding_aes_key)
    try:
        data = base64.b64decode(encrypted)
    except (binascii.Error, ValueError):
        raise WeComCryptoError("the encrypted text is not base64") from None
    if not data or len(data) % 16:
        raise WeComCryptoError("the encrypted text is not whole AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = decryptor.update(data) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
        raise WeComCryptoError("bad padding")
    content = plain[16:-pad]
    length = int.from_bytes(content[:4], "big")
    message, receiver = content[4 : 4 + length], content[4 + length :]
    if len(message) != length or not hmac.compare_digest(receiver, receive_id.encode()):
        raise WeComCryptoError("the message is not for this CorpID")
    return message
