"""The status page's script in real headless Chromium: the page fetches a fresh board by
itself, and when roomwatch stops answering it keeps the last board and says so (a wall screen
must never end on a browser error page). Chromium's virtual time runs the page's timers
without the test waiting for them."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from collector.api.page import render
from tests.fixtures.chromium import chromium_command
from tests.unit.test_ops_status_page import board, incident

pytestmark = pytest.mark.integration


class BoardServer:
    """Serves `first` once, then `later` (a page, or an HTTP status when an int)."""

    def __init__(self, first: str, later: str | int) -> None:
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                page = first if server.requests == 1 else later
                if isinstance(page, int):
                    self.send_response(page)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def serve() -> Iterator[list[BoardServer]]:
    started: list[BoardServer] = []
    yield started
    for server in started:
        server.close()


def dom_after(url: str, profile: Path, seconds: int) -> str:
    result = subprocess.run(
        chromium_command(
            profile,
            f"--virtual-time-budget={seconds * 1000}",
            "--dump-dom",
            url,
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result.stdout


def main_of(dom: str) -> str:
    return dom.split('<main id="main">', 1)[1].split("</main>", 1)[0]


def test_the_page_shows_a_new_incident_without_being_reloaded(
    serve: list[BoardServer], tmp_path: Path
) -> None:
    server = BoardServer(render(board([])), render(board([incident(7, "sw1", 1)])))
    serve.append(server)
    dom = dom_after(server.url, tmp_path, 15)
    assert server.requests >= 2  # it fetched again by itself
    main = main_of(dom)
    assert 'data-incident="7"' in main and "sw1 is in trouble" in main
    assert 'class="tile l1" data-device="sw1"' in main
    assert '<div id="lost" hidden' in dom


def test_when_roomwatch_stops_answering_the_last_board_stays_and_says_so(
    serve: list[BoardServer], tmp_path: Path
) -> None:
    server = BoardServer(render(board([incident(3, "ups1", 2)])), 503)
    serve.append(server)
    dom = dom_after(server.url, tmp_path, 15)
    assert server.requests >= 2
    assert 'data-incident="3"' in main_of(dom)
    assert '<div id="lost">connection to roomwatch lost' in dom
