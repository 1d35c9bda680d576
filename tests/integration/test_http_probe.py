"""The http probe against a real aiohttp server on loopback: healthy, failing, slow, wrong
content, redirects, and HTTPS with certificates from a private CA, self-signed and nearly
expired."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from aiohttp import web

from probes.base import ProbeError, ProbeTimeout, ProbeTlsError, ProbeUnreachable
from probes.http import HttpProbe, HttpSettings
from probes.sample import Sample
from tests.fixtures.peers import free_port
from tests.fixtures.tls import make_server_cert

pytestmark = pytest.mark.integration

Serve = Callable[..., "asyncio.Future[str]"]


async def _app() -> web.Application:
    app = web.Application()

    async def ok(_r: web.Request) -> web.Response:
        return web.Response(text="<html>status: OK</html>", content_type="text/html")

    async def broken(_r: web.Request) -> web.Response:
        return web.Response(status=500, text="internal error")

    async def slow(_r: web.Request) -> web.Response:
        await asyncio.sleep(3)
        return web.Response(text="late OK")

    async def moved(_r: web.Request) -> web.Response:
        raise web.HTTPFound("/")

    async def loop(_r: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    app.router.add_get("/", ok)
    app.router.add_get("/broken", broken)
    app.router.add_get("/slow", slow)
    app.router.add_get("/moved", moved)
    app.router.add_get("/loop", loop)
    return app


@pytest.fixture
async def server() -> AsyncIterator[Callable[[ssl.SSLContext | None], asyncio.Future[str]]]:
    runners: list[web.AppRunner] = []

    async def start(ssl_context: ssl.SSLContext | None = None) -> str:
        runner = web.AppRunner(await _app(), access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port, ssl_context=ssl_context).start()
        runners.append(runner)
        scheme = "https" if ssl_context else "http"
        return f"{scheme}://127.0.0.1:{port}"

    yield start  # type: ignore[misc]
    for runner in runners:
        await runner.cleanup()


def by_metric(samples: list[Sample] | list[Sample]) -> dict[str, Sample]:
    return {s.metric: s for s in samples}


async def poll(**settings: object) -> dict[str, Sample]:
    probe = HttpProbe("site", HttpSettings(type="http", **settings))  # type: ignore[arg-type]
    return by_metric(list(await probe.poll(time.time())))


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


async def test_a_healthy_page_is_up_with_its_phases(server) -> None:  # type: ignore[no-untyped-def]
    base = await server(None)
    m = await poll(url=base + "/", expect_text="status: OK")
    assert m["http.up"].value == 1
    assert m["http.status"].value == 200
    assert m["http.content_match"].value == 1
    assert m["http.response_seconds"].value > 0
    for phase in ("http.connect_seconds", "http.ttfb_seconds"):
        assert m[phase].value >= 0
    assert "http.tls_seconds" not in m  # plain HTTP has no TLS phase
    assert "tls.cert_expiry_days" not in m


async def test_a_server_error_is_down_with_its_status(server) -> None:  # type: ignore[no-untyped-def]
    base = await server(None)
    m = await poll(url=base + "/broken")
    assert m["http.up"].value == 0
    assert m["http.up"].note == "status"
    assert m["http.status"].value == 500


async def test_wrong_content_is_down_and_says_so(server) -> None:  # type: ignore[no-untyped-def]
    base = await server(None)
    m = await poll(url=base + "/", expect_text="Welcome")
    assert m["http.up"].value == 0
    assert m["http.up"].note == "content"
    assert m["http.content_match"].value == 0


async def test_regex_content_match(server) -> None:  # type: ignore[no-untyped-def]
    base = await server(None)
    m = await poll(url=base + "/", expect_regex=r"status:\s+OK")
    assert m["http.content_match"].value == 1


async def test_redirects_are_followed_to_the_final_status(server) -> None:  # type: ignore[no-untyped-def]
    base = await server(None)
    m = await poll(url=base + "/moved", expect_status=[200])
    assert m["http.status"].value == 200
    assert m["http.up"].value == 1
    not_followed = await poll(url=base + "/moved", follow_redirects=False, expect_status=[200])
    assert not_followed["http.status"].value == 302
    assert not_followed["http.up"].value == 0


async def test_a_redirect_loop_is_a_protocol_failure(server) -> None:  # type: ignore[no-untyped-def]
    base = await server(None)
    with pytest.raises(ProbeError) as info:
        await poll(url=base + "/loop", max_redirects=3)
    assert info.value.reason == "protocol"
    assert [s.value for s in info.value.samples if s.metric == "http.up"] == [0]


async def test_a_slow_page_times_out_and_reports_the_site_down(server) -> None:  # type: ignore[no-untyped-def]
    base = await server(None)
    with pytest.raises(ProbeTimeout) as info:
        await poll(url=base + "/slow", timeout=0.5)
    assert info.value.samples[0].metric == "http.up"
    assert info.value.samples[0].value == 0
    assert info.value.samples[0].note == "timeout"


async def test_a_closed_port_is_refused() -> None:
    with pytest.raises(ProbeUnreachable) as info:
        await poll(url=f"http://127.0.0.1:{free_port()}/")
    assert info.value.reason == "refused"


async def test_https_from_a_trusted_ca_reports_tls_phase_and_certificate_days(  # type: ignore[no-untyped-def]
    server, tmp_path: Path
) -> None:
    files = make_server_cert(tmp_path, days_valid=90)
    base = await server(tls_context(files.cert, files.key))
    m = await poll(url=base + "/", ca_file=str(files.ca))
    assert m["http.up"].value == 1
    assert m["http.tls_seconds"].value > 0
    assert 89.0 < float(m["tls.cert_expiry_days"].value) <= 90.0


async def test_a_self_signed_certificate_is_refused_unless_the_device_says_otherwise(  # type: ignore[no-untyped-def]
    server, tmp_path: Path
) -> None:
    files = make_server_cert(tmp_path, days_valid=30, self_signed=True)
    base = await server(tls_context(files.cert, files.key))
    with pytest.raises(ProbeTlsError) as info:
        await poll(url=base + "/")
    assert info.value.reason == "tls"
    assert "certificate" in str(info.value)
    m = await poll(url=base + "/", verify_tls=False)
    assert m["http.up"].value == 1
    assert 29.0 < float(m["tls.cert_expiry_days"].value) <= 30.0


async def test_a_soon_expiring_certificate_shows_its_days_left(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    files = make_server_cert(tmp_path, days_valid=2.5)
    base = await server(tls_context(files.cert, files.key))
    m = await poll(url=base + "/", ca_file=str(files.ca))
    assert 2.4 < float(m["tls.cert_expiry_days"].value) <= 2.5


async def test_a_page_without_a_charset_is_matched_as_utf8() -> None:
    async def plain(_r: web.Request) -> web.Response:
        return web.Response(body="état: OK".encode(), headers={"Content-Type": "text/plain"})

    app = web.Application()
    app.router.add_get("/", plain)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        m = await poll(url=f"http://127.0.0.1:{port}/", expect_text="état: OK")
    finally:
        await runner.cleanup()
    assert m["http.content_match"].value == 1
