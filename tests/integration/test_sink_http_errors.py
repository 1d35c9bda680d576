"""How the sink, through its real HTTP writer (aiohttp), reacts to what an InfluxDB v2 server can
answer (VictoriaMetrics never refuses a write, so a small aiohttp server on loopback plays the
store here): 401 keeps spooling until accepted, 503 honours Retry-After, 400/422 refused
batches leave the spool counted, 413 halves the batch. Also: the request InfluxDB expects."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from collector.sinks.config import SinkConfig
from collector.sinks.influx import InfluxSink
from core.sample import Sample
from tests.fixtures.peers import free_port
from tests.fixtures.tls import CertFiles, make_server_cert

pytestmark = pytest.mark.integration

TOKEN = "stub-token-2718"


@dataclass
class StubStore:
    """Answers each write with the next scripted (status, headers, body), then 204."""

    script: list[tuple[int, dict[str, str], str]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    max_lines: int | None = None
    # Lines containing this are refused as InfluxDB OSS 2 refuses them: the whole request is
    # answered 400 and nothing in it is written.
    poison: str | None = None
    hang_first_s: float = 0.0  # the first write waits this long before it is answered

    async def write(self, request: web.Request) -> web.Response:
        if self.hang_first_s:
            hang, self.hang_first_s = self.hang_first_s, 0.0
            await asyncio.sleep(hang)
        body = (await request.read()).decode()
        lines = body.split("\n")
        self.requests.append(
            {
                "query": dict(request.query),
                "auth": request.headers.get("Authorization"),
                "n": len(lines),
            }
        )
        if self.script:
            status, headers, text = self.script.pop(0)
            return web.Response(status=status, headers=headers, text=text)
        if self.poison is not None and any(self.poison in line for line in lines):
            bad = next(line for line in lines if self.poison in line)
            message = f"failure writing points to database: partial write: {bad!r} dropped=1"
            return web.Response(
                status=400, text=json.dumps({"code": "invalid", "message": message})
            )
        if self.max_lines is not None and len(lines) > self.max_lines:
            return web.Response(status=413, text='{"code":"request too large"}')
        self.accepted.extend(lines)
        return web.Response(status=204)


async def serve(
    store: StubStore, context: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, int]:
    app = web.Application()
    app.router.add_post("/api/v2/write", store.write)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=context).start()
    return runner, port


@pytest.fixture
async def stub() -> AsyncIterator[tuple[StubStore, str]]:
    store = StubStore()
    runner, port = await serve(store)
    yield store, f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def tls_stub(tmp_path: Path) -> AsyncIterator[tuple[StubStore, str, CertFiles]]:
    """The stub over HTTPS with a certificate from a private CA."""
    (tmp_path / "certs").mkdir()
    certs = make_server_cert(tmp_path / "certs", days_valid=30)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs.cert, certs.key)
    store = StubStore()
    runner, port = await serve(store, context)
    yield store, f"https://127.0.0.1:{port}", certs
    await runner.cleanup()


def make_sink(tmp_path: Path, url: str, **overrides: Any) -> InfluxSink:
    data: dict[str, Any] = {
        "name": "stub",
        "url": url,
        "org": "rooms",
        "bucket": "roomwatch",
        "credentials": "influx",
        "batch_size": 100,
        "flush_interval": "50ms",
        "timeout": "5s",
        "spool": {"replay_rate": 1_000_000},
    }
    data.update(overrides)
    return InfluxSink(SinkConfig.model_validate(data), TOKEN, tmp_path / "spool.sqlite")


def samples(count: int, start: int = 0) -> list[Sample]:
    return [
        Sample("d", "test.seq", i, ts=1763800000 + i / 1000) for i in range(start, start + count)
    ]


def seq(lines: list[str]) -> list[int]:
    return [int(float(line.split(" ")[1].split("=")[1])) for line in lines]


async def eventually(check: Any, limit_s: float = 20.0) -> None:
    for _ in range(int(limit_s / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def test_write_carries_token_org_bucket_and_ms_precision(
    stub: tuple[StubStore, str], tmp_path: Path
) -> None:
    store, url = stub
    sink = make_sink(tmp_path, url)
    await sink.start()
    sink.submit(samples(3))
    await eventually(lambda: len(store.accepted) == 3)
    await sink.stop()
    request = store.requests[0]
    assert request["auth"] == f"Token {TOKEN}"
    assert request["query"] == {"org": "rooms", "bucket": "roomwatch", "precision": "ms"}
    assert store.accepted == [
        "test,device=d seq=0.0 1763800000000",
        "test,device=d seq=1.0 1763800000001",
        "test,device=d seq=2.0 1763800000002",
    ]


async def test_unauthorized_keeps_spooling_until_the_store_accepts(
    stub: tuple[StubStore, str], tmp_path: Path
) -> None:
    store, url = stub
    store.script = [(401, {}, '{"code":"unauthorized","message":"unauthorized access"}')] * 2
    sink = make_sink(tmp_path, url)
    await sink.start()
    sink.submit(samples(50))
    await eventually(lambda: not sink.up)
    assert sink.own_samples(time.time())[0].note == "auth: HTTP 401: unauthorized access"
    assert sink.depth() == 50
    await eventually(lambda: len(store.accepted) == 50)  # after two backoffs
    await sink.stop()
    assert seq(store.accepted) == list(range(50))
    assert sink.up
    assert sink.counters["write_errors_total"] == 2


async def test_throttled_write_waits_for_retry_after(
    stub: tuple[StubStore, str], tmp_path: Path
) -> None:
    store, url = stub
    store.script = [(503, {"Retry-After": "1"}, "busy")]
    sink = make_sink(tmp_path, url)
    await sink.start()
    sink.submit(samples(10))
    await eventually(lambda: len(store.accepted) == 10)
    await sink.stop()
    assert len(store.requests) == 2
    assert seq(store.accepted) == list(range(10))


async def test_refused_lines_leave_the_spool_and_are_counted(
    stub: tuple[StubStore, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store, url = stub
    store.script = [(422, {}, '{"code":"unprocessable entity","message":"field type conflict"}')]
    sink = make_sink(tmp_path, url, flush_interval="1h", batch_size=20)
    await sink.start()
    sink.submit(samples(20))  # one full batch: refused once, then its halves are accepted
    await eventually(lambda: len(store.accepted) == 20)
    sink.submit(samples(20, start=20))
    await eventually(lambda: len(store.accepted) == 40)
    await sink.stop()
    assert seq(store.accepted) == list(range(40))
    assert sink.counters["rejected_total"] == 0
    assert "field type conflict" in caplog.text
    assert sink.stats()["spool_depth"] == 0


async def test_one_poisoned_sample_costs_only_itself(
    stub: tuple[StubStore, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """InfluxDB OSS 2 answers 400 and writes nothing when one line of a batch is bad (a field
    type conflict): the batch's other samples must still arrive, in order, exactly once."""
    store, url = stub
    store.poison = "poison"
    sink = make_sink(tmp_path, url, flush_interval="1h", batch_size=500)
    await sink.start()
    good = samples(500)
    sink.submit([*good[:123], Sample("d", "test.poison", 1, ts=1763800000), *good[123:]])
    await eventually(lambda: sink.counters["rejected_total"] == 1)
    await sink.stop()
    assert seq(store.accepted) == list(range(500))
    assert sink.counters["written_total"] == 500
    assert sink.stats()["spool_depth"] == 0
    assert "refused 1 of 500 samples" in caplog.text
    assert "test,device=d poison=1.0" in caplog.text  # the line, so an admin can find it
    assert len(store.requests) <= 1 + 2 * 9 + 1  # + the 501st sample, in a batch of its own


async def test_too_large_answer_makes_batches_smaller(
    stub: tuple[StubStore, str], tmp_path: Path
) -> None:
    store, url = stub
    store.max_lines = 30
    sink = make_sink(tmp_path, url)
    await sink.start()
    sink.submit(samples(250))
    await eventually(lambda: len(store.accepted) == 250)
    await sink.stop()
    assert seq(store.accepted) == list(range(250))
    assert max(r["n"] for r in store.requests[-3:]) <= 30


async def test_private_ca_is_trusted_through_ca_file(
    tls_stub: tuple[StubStore, str, CertFiles], tmp_path: Path
) -> None:
    store, url, certs = tls_stub
    sink = make_sink(tmp_path, url, ca_file=str(certs.ca))
    await sink.start()
    sink.submit(samples(5))
    await eventually(lambda: len(store.accepted) == 5)
    await sink.stop()
    assert seq(store.accepted) == list(range(5))


async def test_certificate_that_does_not_verify_keeps_samples_spooled(
    tls_stub: tuple[StubStore, str, CertFiles], tmp_path: Path
) -> None:
    store, url, _ = tls_stub
    sink = make_sink(tmp_path, url)  # the system CAs do not know the private CA
    await sink.start()
    sink.submit(samples(5))
    await eventually(lambda: not sink.up)
    note = sink.own_samples(time.time())[0].note
    await sink.stop()
    assert note is not None and note.startswith("tls: ")
    assert "CERTIFICATE_VERIFY_FAILED" in note
    assert store.accepted == []
    assert sink.depth() == 5


async def test_verify_tls_false_writes_and_says_so_once(
    tls_stub: tuple[StubStore, str, CertFiles], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store, url, _ = tls_stub
    sink = make_sink(tmp_path, url, verify_tls=False)
    await sink.start()
    for start in range(0, 300, 100):
        sink.submit(samples(100, start))
        await eventually(lambda start=start: len(store.accepted) == start + 100)  # type: ignore[misc]
    await sink.stop()
    assert seq(store.accepted) == list(range(300))
    assert caplog.text.count("TLS certificate is not verified") == 1


async def test_nothing_listening_is_reported_as_refused_and_samples_stay_spooled(
    tmp_path: Path,
) -> None:
    sink = make_sink(tmp_path, f"http://127.0.0.1:{free_port()}")
    await sink.start()
    sink.submit(samples(5))
    await eventually(lambda: not sink.up)
    note = sink.own_samples(time.time())[0].note
    await sink.stop()
    assert note == "refused: cannot connect: [Errno 111] Connection refused"
    assert sink.depth() == 5


async def test_a_store_that_never_answers_times_out_and_gets_the_batch_again(
    stub: tuple[StubStore, str], tmp_path: Path
) -> None:
    """The write whose answer never came is sent again once the store answers: the one case
    where a batch may be written twice (InfluxDB keeps one point per series and time)."""
    store, url = stub
    store.hang_first_s = 5.0  # longer than the sink's timeout
    sink = make_sink(tmp_path, url, timeout="300ms")
    await sink.start()
    sink.submit(samples(10))
    await eventually(lambda: not sink.up)
    note = sink.own_samples(time.time())[0].note
    await eventually(lambda: len(store.accepted) >= 10)
    await sink.stop()
    assert note is not None and note.startswith("timeout: no answer in time")
    assert seq(store.accepted)[-10:] == list(range(10))
    assert sink.depth() == 0
