"""The http probe against a real aiohttp server on loopback: healthy, failing, slow, wrong
content, redirects, and HTTPS with certificates from a private CA, self-signed and nearly
expired."""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import ssl
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from collector.polling import poll_once
from core.sample import Sample
from probes.base import ProbeError, ProbeTimeout, ProbeTlsError, ProbeUnreachable
from probes.http import HttpProbe, HttpSettings
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


async def _serve(handler: Callable[[web.Request], Any]) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}/"


async def test_text_in_a_later_chunk_of_a_chunked_page_is_found() -> None:
    # Real pages arrive in several pieces; the expected text is often near the end.
    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(4):
            await resp.write(b"x" * 2000 + b"\n")
            await asyncio.sleep(0.05)
        await resp.write(b"</html> status: OK\n")
        await resp.write_eof()
        return resp

    runner, url = await _serve(chunked)
    try:
        m = await poll(url=url, expect_text="status: OK")
    finally:
        await runner.cleanup()
    assert m["http.content_match"].value == 1
    assert m["http.up"].value == 1


async def test_text_beyond_the_first_mebibyte_is_not_searched() -> None:
    async def huge(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        for _ in range(20):
            await resp.write(b"y" * 65536)
        await resp.write(b"status: OK")
        await resp.write_eof()
        return resp

    runner, url = await _serve(huge)
    try:
        m = await poll(url=url, expect_text="status: OK")
    finally:
        await runner.cleanup()
    assert m["http.content_match"].value == 0
    assert m["http.up"].note == "content"


async def test_a_gzip_page_is_matched_after_decompression() -> None:
    async def gz(_r: web.Request) -> web.Response:
        return web.Response(
            body=gzip.compress(b"<p>status: OK</p>"),
            headers={"Content-Encoding": "gzip", "Content-Type": "text/html"},
        )

    runner, url = await _serve(gz)
    try:
        m = await poll(url=url, expect_text="status: OK")
    finally:
        await runner.cleanup()
    assert m["http.content_match"].value == 1


async def test_a_timeout_through_the_collector_still_reports_the_site_down(server) -> None:  # type: ignore[no-untyped-def]
    # The collector's poll_once has its own deadline of settings.timeout; the probe's must
    # come first, or http.up = 0 is lost and rules on http.up never see the site down.
    base = await server(None)
    probe = HttpProbe("site", HttpSettings(type="http", url=base + "/slow", timeout=1.0))
    result = await poll_once(probe, time.time())
    m = by_metric(result.samples)
    assert result.reason == "timeout"
    assert m["http.up"].value == 0
    assert m["http.up"].note == "timeout"
    assert m["device.up"].value == 0


async def test_a_missing_ca_file_is_a_tls_failure_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-ca.pem"
    probe = HttpProbe(
        "site", HttpSettings(type="http", url="https://127.0.0.1:1/", ca_file=str(missing))
    )
    result = await poll_once(probe, time.time())
    assert result.reason == "tls"
    assert result.error is not None and str(missing) in result.error
    assert by_metric(result.samples)["http.up"].value == 0


def _cert_for_another_name(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate it signed for `other.example` only (not 127.0.0.1)."""
    now = dt.datetime.now(dt.UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("test CA"))
        .issuer_name(name("test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("other.example"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("other.example")]), False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "other.pem", directory / "other.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


async def test_a_certificate_for_another_host_name_is_refused(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ca, cert, key = _cert_for_another_name(tmp_path)
    base = await server(tls_context(cert, key))
    with pytest.raises(ProbeTlsError) as info:
        await poll(url=base + "/", ca_file=str(ca))  # a trusted CA, but the wrong name
    assert info.value.reason == "tls"
    assert "127.0.0.1" in str(info.value)  # says which name did not match
    m = await poll(url=base + "/", verify_tls=False)  # the admin's way out, as documented
    assert m["http.up"].value == 1


async def test_a_password_in_the_url_is_sent_but_never_shown_in_an_error() -> None:
    async def guarded(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Basic " + "YWRtaW46czNjcmV0":  # admin:s3cret
            return web.Response(status=401)
        return web.Response(text="status: OK")

    runner, url = await _serve(guarded)
    with_auth = url.replace("http://", "http://admin:s3cret@")
    try:
        m = await poll(url=with_auth, expect_text="status: OK")
        assert m["http.up"].value == 1  # the user-info is still used to log in
    finally:
        await runner.cleanup()
    refused = f"http://admin:s3cret@127.0.0.1:{free_port()}/"
    with pytest.raises(ProbeUnreachable) as info:
        await poll(url=refused)
    assert "s3cret" not in str(info.value)
    assert "admin:***@127.0.0.1" in str(info.value)


@pytest.mark.parametrize(
    ("login", "expected_header"),
    [
        ({"username": "admin", "password": "s3cret"}, "Basic YWRtaW46czNjcmV0"),  # admin:s3cret
        ({"token": "t0ken"}, "Bearer t0ken"),
    ],
    ids=["basic", "bearer"],
)
async def test_a_site_behind_a_login_is_polled_with_the_credentials_entry(
    login: dict[str, str], expected_header: str
) -> None:
    seen: list[str | None] = []

    async def guarded(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") != expected_header:
            return web.Response(status=401)
        return web.Response(text="status: OK")

    runner, url = await _serve(guarded)
    try:
        without = await poll(url=url, expect_text="status: OK")  # no login: 401, the site down
        m = await poll(url=url, expect_text="status: OK", **login)
    finally:
        await runner.cleanup()
    assert without["http.up"].value == 0
    assert without["http.status"].value == 401
    assert m["http.up"].value == 1
    assert seen == [None, expected_header]


def test_a_content_check_on_a_head_request_is_a_settings_error() -> None:
    # A HEAD answer has no body, so the site would always be reported down for its content.
    with pytest.raises(ValueError, match="use GET, not HEAD"):
        HttpSettings(type="http", url="http://127.0.0.1/", method="HEAD", expect_text="OK")


@pytest.mark.parametrize("url", ["https://", "http://:80/", "http://exa mple.org/", "http://[::1/"])
def test_a_url_without_a_host_is_a_settings_error(url: str) -> None:
    with pytest.raises(ValueError, match="not a valid URL"):
        HttpSettings(type="http", url=url)
