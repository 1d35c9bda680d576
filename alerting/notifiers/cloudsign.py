"""Request signatures of the two voice services, as their documentation defines them.

- Aliyun RPC API (signature version 1.0): the request's parameters sorted by name, each name
  and value percent-encoded (RFC 3986: unreserved characters kept, space as %20), joined
  `k=v&…`; StringToSign = `METHOD&%2F&` + percent-encode(that); Signature = base64(HMAC-SHA1(
  key = AccessKeySecret + "&", StringToSign)), sent as the `Signature` parameter.
- Tencent Cloud API 3.0 (TC3-HMAC-SHA256): CanonicalRequest = `POST\\n/\\n\\n` + the signed
  headers (`content-type:…\\nhost:…\\n`) + `\\ncontent-type;host\\n` + hex SHA-256 of the body;
  StringToSign = `TC3-HMAC-SHA256\\n{timestamp}\\n{date}/{service}/tc3_request\\n` + hex SHA-256
  of the canonical request; the key is HMAC-SHA256 chained over "TC3"+SecretKey, the UTC date,
  the service and "tc3_request"; the `Authorization` header names SecretId, the scope, the
  signed headers and the hex signature."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import quote


def aliyun_encode(value: str) -> str:
    return quote(value, safe="-_.~")


def aliyun_signature(secret: str, method: str, params: Mapping[str, str]) -> str:
    canonical = "&".join(
        f"{aliyun_encode(k)}={aliyun_encode(v)}" for k, v in sorted(params.items())
    )
    to_sign = f"{method}&{aliyun_encode('/')}&{aliyun_encode(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _hmac256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def tencent_authorization(
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    content_type: str,
    body: bytes,
    timestamp: int,
) -> str:
    date = dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d")
    canonical = (
        "POST\n/\n\n"
        f"content-type:{content_type}\nhost:{host}\n\n"
        "content-type;host\n" + hashlib.sha256(body).hexdigest()
    )
    scope = f"{date}/{service}/tc3_request"
    to_sign = (
        f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n" + hashlib.sha256(canonical.encode()).hexdigest()
    )
    key = _hmac256(_hmac256(_hmac256(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )
