"""The `http` probe's settings (the inventory entry) and how a site behind a login is logged
into; the probe itself is probes/http.py."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator

from probes.base import ProbeSettings, secret_field

_SECRET_HEADERS = ("authorization", "proxy-authorization", "cookie", "x-api-key", "api-key")
_SECRET_WORDS = ("token", "secret", "password", "passwd", "auth")


class HttpSettings(ProbeSettings):
    url: str = Field(pattern=r"^https?://")
    method: str = Field(default="GET", pattern="^(GET|HEAD|POST)$")
    expect_status: list[int] = Field(default_factory=list)  # empty: any 2xx or 3xx final status
    expect_text: str | None = None  # the body must contain this text
    expect_regex: str | None = None  # … or match this regular expression
    follow_redirects: bool = True
    max_redirects: int = Field(default=10, ge=0, le=50)
    verify_tls: bool = True  # turn off only for a device with a self-signed certificate
    ca_file: str | None = None  # extra CA bundle for a private PKI
    headers: dict[str, str] = Field(default_factory=dict)
    username: str | None = None  # HTTP basic authentication, with `password`
    password: str | None = secret_field()
    token: str | None = secret_field()  # sent as `Authorization: Bearer …`

    @field_validator("headers")
    @classmethod
    def _no_secret_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        # An inventory lives in git and shows in this model's repr: no secret belongs there.
        for name in headers:
            low = name.lower()
            if low in _SECRET_HEADERS or any(w in low for w in _SECRET_WORDS):
                raise ValueError(
                    f"header {name!r} carries a secret: put it in the credentials file (entry"
                    " keys username and password for basic authentication, or token for a"
                    " Bearer token) and name the entry with `credentials: NAME`"
                )
        return headers

    @field_validator("expect_status", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):  # from the command line: "200,204"
            try:
                return [int(v) for v in value.split(",") if v.strip()]
            except ValueError:
                raise ValueError(
                    f"must be HTTP status numbers, such as 200 or [200, 204] (found {value!r})"
                ) from None
        if isinstance(value, int):
            return [value]
        return value

    @field_validator("url")
    @classmethod
    def _has_host(cls, value: str) -> str:
        try:
            host = urlsplit(value).hostname
        except ValueError as exc:
            raise ValueError(f"not a valid URL: {exc}") from None
        if not host or any(c.isspace() for c in value):
            raise ValueError(f"not a valid URL (no host name, or a space in it): {value!r}")
        return value

    @model_validator(mode="after")
    def _one_way_to_log_in(self) -> HttpSettings:
        if self.token is not None and (self.username is not None or self.password is not None):
            raise ValueError("give either username/password or token, not both")
        if self.password is not None and self.username is None:
            raise ValueError("a password needs a username (basic authentication)")
        if self.username is not None and ":" in self.username:
            raise ValueError("a basic-authentication username cannot contain ':'")
        return self

    @model_validator(mode="after")
    def _head_has_no_body(self) -> HttpSettings:
        if self.method == "HEAD" and (
            self.expect_text is not None or self.expect_regex is not None
        ):
            # a HEAD answer has no body: the check could never pass
            raise ValueError("expect_text/expect_regex need a body; use GET, not HEAD")
        return self

    @field_validator("ca_file")
    @classmethod
    def _beside_the_inventory(cls, value: str | None, info: ValidationInfo) -> str | None:
        # A relative path written in an inventory file is taken from that file's folder (the
        # loader passes it as `base_dir`), not from the daemon's working directory.
        base = info.context.get("base_dir") if isinstance(info.context, dict) else None
        if value and base is not None and not Path(value).expanduser().is_absolute():
            return str(Path(base) / value)
        return value

    @field_validator("expect_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression: {exc}") from None
        return value


def login_header(settings: HttpSettings) -> dict[str, str] | None:
    """The Authorization header of a site behind a login (aiohttp drops it when a redirect
    leaves the site's origin)."""
    if settings.token is not None:
        return {"Authorization": f"Bearer {settings.token}"}
    if settings.username is not None:
        pair = f"{settings.username}:{settings.password or ''}".encode()  # RFC 7617: UTF-8
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    return None
