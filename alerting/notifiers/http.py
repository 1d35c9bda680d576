"""POSTing JSON to a web service, with errors classified for the retry stage.

Shared by the webhook, chat and SMS channels. Several services carry their token in the URL,
so errors name the scheme, host and port only, never the path or the query."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from alerting.notifiers.base import DeliveryError


def safe_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}"


def retryable_status(status: int) -> bool:
    return status >= 500 or status in (408, 425, 429)


if TYPE_CHECKING:
    import aiohttp


class HttpSender:
    def __init__(self, name: str, timeout: float) -> None:
        self.name = name
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        import aiohttp  # on first send: a CLI command that only reads the config skips it

        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """Send; return (status, body) of a 2xx answer. Raises DeliveryError otherwise."""
        import aiohttp

        where = f"{self.name}: {safe_url(url)}"
        try:
            async with self._client().request(
                method, url, data=body, headers=dict(headers or {}), params=dict(params or {})
            ) as response:
                payload = await response.read()
                if 200 <= response.status < 300:
                    return response.status, payload
                raise DeliveryError(
                    f"{where} answered HTTP {response.status}",
                    retryable=retryable_status(response.status),
                )
        except TimeoutError:
            raise DeliveryError(
                f"{where}: timed out after {self.timeout:g}s", retryable=True
            ) from None
        except aiohttp.ClientError as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}", retryable=True) from None

    async def post_json(
        self,
        url: str,
        document: Any,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        body = json.dumps(document, ensure_ascii=False).encode("utf-8")
        all_headers = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        return await self.request("POST", url, body=body, headers=all_headers, params=params)

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
            # let the connector's transports finish closing (avoids ResourceWarnings)
            await asyncio.sleep(0)


def chat_error(name: str, body: bytes, code_key: str, message_key: str) -> None:
    """Chat robots answer HTTP 200 with an error code in the JSON body; 0 means accepted."""
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        raise DeliveryError(f"{name}: answer is not JSON", retryable=True) from None
    if not isinstance(answer, dict):
        return
    code = answer.get(code_key, 0)
    if code in (0, None):
        return
    text = str(answer.get(message_key, ""))[:200]
    # rate limits (DingTalk 130101, Feishu 9499/11232, WeCom 45009) pass; the rest is config
    retryable = code in (130101, 9499, 11232, 45009, -1)
    raise DeliveryError(f"{name}: refused with code {code}: {text}", retryable=retryable)
