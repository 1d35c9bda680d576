"""Users, sessions, roles and CSRF, through the real aiohttp application in-process: a user
of a real users file signs in, acts under their name (the audit log says so), a viewer cannot
act, a form without the session's CSRF token or from another site is refused, repeated wrong
passwords lock the name, and the API token keeps working for scripts."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from collector.accounts import UserDirectory, UserEntry, hash_password, load_users, save_users
from collector.api.access import Access
from collector.api.server import make_app
from collector.api.sessions import COOKIE, NAME_FAILURES
from rules.maintenance import load_windows
from tests.unit.test_api_handlers import TOKEN, Daemon, bearer, daemon, open_incident

__all__ = ["daemon"]  # the fixture, imported for pytest

PASSWORDS = {"wang": "wang-password-1", "li": "li-password-22", "root": "root-password-333"}
ROLES = {"wang": "operator", "li": "viewer", "root": "admin"}


@pytest.fixture(scope="module")
def hashes() -> dict[str, str]:
    return {name: hash_password(pw) for name, pw in PASSWORDS.items()}  # slow: once


class Console:
    def __init__(self, daemon: Daemon, users_file: Path, token: str | None) -> None:
        self.access = Access(lambda: token, UserDirectory(users_file), daemon.clock)
        self.app = make_app(daemon.view(), lambda: token, self.access)
        self.clients: list[TestClient[Any, Any]] = []

    async def client(self) -> TestClient[Any, Any]:
        client: TestClient[Any, Any] = TestClient(TestServer(self.app, host="127.0.0.1"))
        await client.start_server()
        self.clients.append(client)
        return client


@pytest.fixture
async def console(daemon: Daemon, tmp_path: Path, hashes: dict[str, str]) -> AsyncIterator[Console]:
    users_file = tmp_path / "users.yaml"
    save_users(
        users_file,
        {n: UserEntry(name=n, role=ROLES[n], password=h, changed=1.0) for n, h in hashes.items()},
    )
    made = Console(daemon, users_file, None)
    yield made
    for client in made.clients:
        await client.close()


async def sign_in(client: TestClient[Any, Any], name: str, password: str | None = None) -> str:
    """Signs in; returns the CSRF token of the session (read from a console page's form)."""
    reply = await client.post(
        "/login",
        data={"name": name, "password": password or PASSWORDS[name], "next": "/console"},
        allow_redirects=False,
    )
    assert reply.status == 303, await reply.text()
    cookie = reply.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain HTTP here; Secure over TLS: the tests at the end
    page = await client.get("/console")
    found = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert found is not None
    return found.group(1)


async def test_the_console_sends_strangers_to_the_sign_in_page(console: Console) -> None:
    client = await console.client()
    for path in ("/console", "/console/history", "/console/devices/srv1", "/"):
        reply = await client.get(path, allow_redirects=False)
        assert reply.status == 303
        assert reply.headers["Location"].startswith("/login?next=")
    # with users, the JSON API needs a session or the token: no anonymous loopback access
    assert (await client.get("/api/incidents")).status == 401


async def test_an_operator_acts_under_their_own_name(daemon: Daemon, console: Console) -> None:
    number = await open_incident(daemon)
    client = await console.client()
    csrf = await sign_in(client, "wang")
    reply = await client.post(
        f"/console/incidents/{number}/ack", data={"csrf": csrf}, allow_redirects=False
    )
    assert reply.status == 303
    assert reply.headers["Location"] == f"/console/incidents/{number}?done=ack"
    note = {"csrf": csrf, "text": "fan tray replaced"}
    assert (await client.post(f"/console/incidents/{number}/note", data=note)).status == 200
    stored = await daemon.alerts.store.get(number)
    assert (stored.state, stored.acknowledged_by) == ("acknowledged", "wang")
    audit = await daemon.alerts.store.audit_log(number)
    assert [(a.actor, a.action) for a in audit if a.actor == "wang"] == [
        ("wang", "acknowledged"),
        ("wang", "note"),
    ]
    reply = await client.get(f"/console/incidents/{number}")
    page = await reply.text()
    assert "fan tray replaced" in page and "wang" in page
    policy = reply.headers["Content-Security-Policy"]
    assert "form-action 'self'" in policy and "frame-ancestors 'none'" in policy


async def test_a_viewer_can_look_but_not_act(daemon: Daemon, console: Console) -> None:
    number = await open_incident(daemon)
    client = await console.client()
    csrf = await sign_in(client, "li")
    page = await client.get(f"/console/incidents/{number}")
    assert page.status == 200
    assert 'id="ack"' not in await page.text()  # no buttons for a viewer
    refused = await client.post(f"/console/incidents/{number}/ack", data={"csrf": csrf})
    assert refused.status == 403
    assert (await client.post("/api/incidents/1/ack", json={"by": "li"})).status == 403
    assert (await client.get("/console/users")).status == 403
    assert (await daemon.alerts.store.get(number)).state == "open"


async def test_a_form_without_the_session_csrf_token_is_refused(
    daemon: Daemon, console: Console
) -> None:
    """No Origin header at all (an old browser, a privacy extension): the CSRF token alone
    must refuse the forged form."""
    number = await open_incident(daemon)
    client = await console.client()
    await sign_in(client, "wang")
    for data in ({}, {"csrf": "guessed"}):
        reply = await client.post(f"/console/incidents/{number}/resolve", data=data)
        assert reply.status == 403
    cross = await client.post(
        f"/console/incidents/{number}/resolve",
        data={"csrf": "whatever"},
        headers={"Origin": "http://evil.example"},
    )
    assert cross.status == 403
    assert (await daemon.alerts.store.get(number)).state == "open"


async def test_a_ticket_opened_in_a_session_is_recorded_under_the_signed_in_name(
    daemon: Daemon, console: Console
) -> None:
    """As acknowledging and maintenance windows already were: the body's `by` used to be taken
    as it came, so an operator could record a ticket as opened by anybody (an admin, a
    customer) and the audit log would say so."""
    client = await console.client()
    csrf = await sign_in(client, "wang")
    reply = await client.post(
        "/api/incidents",
        json={"title": "Door sensor loose", "level": 3, "by": "root"},
        headers={"X-CSRF-Token": csrf},
    )
    assert reply.status == 201, await reply.text()
    number = (await reply.json())["incident"]["id"]
    actors = {a.actor for a in await daemon.alerts.store.audit_log(number)}
    assert "wang" in actors and "root" not in actors


async def test_wrong_passwords_lock_the_name_and_are_audited(
    daemon: Daemon, console: Console
) -> None:
    client = await console.client()
    for _ in range(NAME_FAILURES):
        wrong = await client.post("/login", data={"name": "wang", "password": "guess-guess"})
        assert wrong.status == 401
    locked = await client.post("/login", data={"name": "wang", "password": PASSWORDS["wang"]})
    assert locked.status == 429  # the right password, but the name is locked
    assert "Too many failed sign-ins" in await locked.text()
    actions = [(a["actor"], a["action"]) async for a in daemon.alerts.store.rows("audit")]
    assert actions.count(("wang", "login-failed")) == NAME_FAILURES
    assert ("wang", "login-refused") in actions
    daemon.clock.advance(15 * 60 + 1)
    await sign_in(client, "wang")  # the lock ran out


async def test_guesses_sent_all_at_once_are_not_all_checked(console: Console) -> None:
    """The lock is set when a failure is counted, after argon2 ran in a thread: guesses sent
    at the same moment all passed the lock check first, so a script could try any number of
    passwords per lock-out instead of NAME_FAILURES."""
    client = await console.client()
    guesses = [
        client.post("/login", data={"name": "wang", "password": f"guess-{n}"})
        for n in range(NAME_FAILURES * 3)
    ]
    statuses = [reply.status for reply in await asyncio.gather(*guesses)]
    assert statuses.count(401) == NAME_FAILURES  # checked; the rest refused unchecked
    assert statuses.count(429) == NAME_FAILURES * 2
    right = await client.post("/login", data={"name": "wang", "password": PASSWORDS["wang"]})
    assert right.status == 429


async def test_a_locked_name_hammered_writes_one_refusal_to_the_audit_log(
    daemon: Daemon, console: Console
) -> None:
    """Every refused sign-in was written to the store's audit log: refusing costs no argon2,
    so anyone could grow the log (and the store) by thousands of rows a second, unsigned-in."""
    client = await console.client()
    for _ in range(NAME_FAILURES):
        await client.post("/login", data={"name": "wang", "password": "nope-nope-nope"})
    for _ in range(30):
        refused = await client.post("/login", data={"name": "wang", "password": "again-again"})
        assert refused.status == 429
    for n in range(30):  # other names from the same (now known) address: not audited either
        await client.post("/login", data={"name": f"x{n}", "password": "whatever-else"})
    actions = [(a["actor"], a["action"]) async for a in daemon.alerts.store.rows("audit")]
    assert [a for a in actions if a[1] == "login-refused"] == [("wang", "login-refused")]
    assert actions.count(("wang", "login-failed")) == NAME_FAILURES


async def test_an_admin_lifts_a_lock_out(daemon: Daemon, console: Console) -> None:
    client = await console.client()
    for _ in range(NAME_FAILURES):
        await client.post("/login", data={"name": "wang", "password": "nope-nope-nope"})
    admin = await console.client()
    csrf = await sign_in(admin, "root")
    users = await (await admin.get("/console/users")).text()
    assert "/console/users/wang/unlock" in users
    assert (await admin.post("/console/users/wang/unlock", data={"csrf": csrf})).status == 200
    await sign_in(client, "wang")


async def test_a_new_password_or_removal_ends_the_session(console: Console, tmp_path: Path) -> None:
    client = await console.client()
    await sign_in(client, "wang")
    users_file = tmp_path / "users.yaml"
    users = load_users(users_file)
    users["wang"] = users["wang"].model_copy(update={"changed": 2.0})
    save_users(users_file, users)
    assert (await client.get("/console", allow_redirects=False)).status == 303


async def test_signing_out_ends_the_session(console: Console) -> None:
    client = await console.client()
    csrf = await sign_in(client, "wang")
    assert (await client.post("/logout", data={"csrf": csrf})).status == 200
    assert (await client.get("/console", allow_redirects=False)).status == 303


async def test_the_sign_in_page_does_not_redirect_off_site(console: Console) -> None:
    client = await console.client()
    reply = await client.post(
        "/login",
        data={"name": "wang", "password": PASSWORDS["wang"], "next": "//evil.example/x"},
        allow_redirects=False,
    )
    assert reply.headers["Location"] == "/console"


@pytest.mark.parametrize("target", ["/\t/evil.example/x", "/\n/evil.example", "/\r//evil.example"])
async def test_a_whitespace_disguised_next_does_not_redirect_off_site(
    console: Console, target: str
) -> None:
    """Browsers drop tabs and newlines from a Location before reading it, so `/<TAB>/evil` is
    `//evil`, another site: a link to /login?next=/%09/evil.example, tapped by someone signed
    in, went straight there (a phishing page dressed as the console's next step)."""
    client = await console.client()
    await sign_in(client, "wang")
    reply = await client.get("/login", params={"next": target}, allow_redirects=False)
    assert reply.headers["Location"] == "/console"
    fresh = await console.client()
    reply = await fresh.post(
        "/login",
        data={"name": "wang", "password": PASSWORDS["wang"], "next": target},
        allow_redirects=False,
    )
    assert reply.headers["Location"] == "/console"


async def test_the_api_token_keeps_working_beside_users(
    daemon: Daemon, tmp_path: Path, hashes: dict[str, str]
) -> None:
    users_file = tmp_path / "users.yaml"
    save_users(users_file, {"wang": UserEntry(name="wang", role="viewer", password=hashes["wang"])})
    made = Console(daemon, users_file, TOKEN)
    number = await open_incident(daemon)
    client = await made.client()
    try:
        assert (await client.get("/api/incidents")).status == 401
        reply = await client.post(
            f"/api/incidents/{number}/ack", json={"by": "script"}, headers=bearer()
        )
        assert reply.status == 200
        assert (await daemon.alerts.store.get(number)).acknowledged_by == "script"
    finally:
        await client.close()


async def test_behind_a_trusted_proxy_the_cookie_is_secure(
    daemon: Daemon, tmp_path: Path, console: Console
) -> None:
    """X-Forwarded-Proto counts only with api.behind_proxy and from loopback (the proxy)."""
    proxied = Access(lambda: None, console.access.directory, daemon.clock, behind_proxy=True)
    app = make_app(daemon.view(), lambda: None, proxied)
    for access_app, secure in ((app, True), (console.app, False)):
        client: TestClient[Any, Any] = TestClient(TestServer(access_app, host="127.0.0.1"))
        await client.start_server()
        try:
            reply = await client.post(
                "/login",
                data={"name": "wang", "password": PASSWORDS["wang"]},
                headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.7"},
                allow_redirects=False,
            )
            assert reply.status == 303
            assert bool(reply.cookies[COOKIE]["secure"]) is secure
        finally:
            await client.close()
    entries = [r async for r in daemon.alerts.store.rows("audit") if r["action"] == "login"]
    assert '"192.0.2.7"' in entries[0]["detail"]  # the client's address, from the proxy
    assert '"127.0.0.1"' in entries[1]["detail"]  # not trusted: the peer's own address


async def test_served_over_tls_directly_the_cookie_is_secure(
    daemon: Daemon, tmp_path: Path, console: Console
) -> None:
    import ssl

    from aiohttp import ClientSession, TCPConnector, web

    from collector.api.server import tls_context
    from collector.config import ApiSettings
    from tests.fixtures.tls import make_server_cert

    files = make_server_cert(tmp_path, days_valid=30)
    context = tls_context(ApiSettings(tls_cert=files.cert, tls_key=files.key), "roomwatch.yaml")
    assert context is not None
    runner = web.AppRunner(console.app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
    port = runner.addresses[0][1]
    trust = ssl.create_default_context(cafile=str(files.ca))
    try:
        async with ClientSession(connector=TCPConnector(ssl=trust)) as session:
            reply = await session.post(
                f"https://127.0.0.1:{port}/login",
                data={"name": "wang", "password": PASSWORDS["wang"]},
                allow_redirects=False,
            )
            assert reply.status == 303
            assert reply.cookies[COOKIE]["secure"]
    finally:
        await runner.cleanup()


def test_unreadable_tls_files_are_a_configuration_error(tmp_path: Path) -> None:
    from collector.api.server import tls_context
    from collector.config import ApiSettings
    from core.yamlsource import ConfigError

    (tmp_path / "cert.pem").write_text("not a certificate\n", "utf-8")
    settings = ApiSettings(tls_cert=tmp_path / "cert.pem", tls_key=tmp_path / "key.pem")
    with pytest.raises(ConfigError, match="cannot load"):
        tls_context(settings, "roomwatch.yaml")
    with pytest.raises(ValueError, match="go together"):
        ApiSettings(tls_cert=tmp_path / "cert.pem")


async def test_in_a_session_the_json_api_acts_under_the_user_not_the_body(
    daemon: Daemon, console: Console
) -> None:
    number = await open_incident(daemon)
    client = await console.client()
    csrf = await sign_in(client, "wang")
    headers = {"X-CSRF-Token": csrf}
    reply = await client.post(
        f"/api/incidents/{number}/ack", json={"by": "somebody-else"}, headers=headers
    )
    assert reply.status == 200, await reply.text()
    assert (await daemon.alerts.store.get(number)).acknowledged_by == "wang"
    window = {"select": {"id": "srv1"}, "duration": "1h", "reason": "fan", "by": "nobody"}
    assert (await client.post("/api/maintenance", json=window, headers=headers)).status == 201
    assert [w.created_by for w in load_windows(daemon.maintenance_file)] == ["wang"]
    # without the session's CSRF header the same JSON request is refused
    assert (await client.post("/api/maintenance", json=window)).status == 403


async def test_the_history_filters_by_level_state_month_device_and_words(
    daemon: Daemon, console: Console
) -> None:
    first = await open_incident(daemon, "srv1", level=1)
    second = await open_incident(daemon, "srv2", level=3)
    await daemon.alerts.resolve(first, "wang")
    client = await console.client()
    await sign_in(client, "li")

    async def shown(query: str) -> set[int]:
        page = await (await client.get(f"/console/history?{query}")).text()
        return {int(n) for n in re.findall(r'data-incident="(\d+)"', page)}

    month = time.strftime("%Y-%m", time.localtime(daemon.clock()))
    assert await shown("") == {first, second}
    assert await shown("level=1") == {first}
    assert await shown("state=open") == {second}
    assert await shown("device=srv2") == {second}
    assert await shown(f"month={month}") == {first, second}
    assert await shown("month=1999-01") == set()
    assert await shown("q=SRV2+cpu") == {second}  # every word, any case
    assert await shown("q=%3Cscript%3E") == set()
    page = await (await client.get("/console/history?q=%3Cscript%3Ealert(1)")).text()
    assert "<script>alert(1)" not in page  # the search box shows what was typed, escaped
