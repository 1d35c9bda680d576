"""The reporter's follow page in a real browser (Debian's headless Chromium, driven by
Playwright): the signed link from the desk's mail shows the ticket's state, its history and
the public notes but never an internal note; once the ticket is resolved the reporter answers
the satisfaction question on the page, and the answer is in the store and the audit log. A
link with a wrong signature shows nothing, and a page of another site cannot post an answer.

Set ROOMWATCH_SCREENSHOTS=DIR to keep the screenshots."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from alerting import follow, incidents
from alerting.service import AlertService
from inventory.credentials import Credentials
from tests.fixtures.chromium import browser
from tests.fixtures.console_site import ConsoleSite
from tests.unit.alerting_helpers import Clock, config, service

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

playwright_api = pytest.importorskip("playwright.async_api")

__all__ = ["browser"]  # one Chromium for the module (tests/fixtures/chromium.py)

SECRET = "follow-secret-browser-test"  # test only
PHONE = {"width": 375, "height": 812}


@pytest_asyncio.fixture(loop_scope="module")
async def site(tmp_path: Path) -> AsyncIterator[ConsoleSite]:
    clock = Clock(time.time())
    cfg = config(
        tmp_path, desk={"follow": {"base_url": "http://127.0.0.1", "credentials": "links"}}
    )
    alerts: AlertService = await service(
        tmp_path, clock, cfg, credentials=Credentials({"links": {"secret": SECRET}})
    )
    made = ConsoleSite(alerts, clock, tmp_path, {})
    await made.start()
    try:
        yield made
    finally:
        await made.stop()
        await alerts.close()


def shots() -> Path | None:
    target = os.environ.get("ROOMWATCH_SCREENSHOTS")
    return Path(target) if target else None


async def test_the_reporter_follows_the_ticket_and_answers_the_survey(
    browser: Any, site: ConsoleSite
) -> None:
    expect = playwright_api.expect
    alerts = site.alerts
    ticket = await alerts.open_ticket(
        "desk-li",
        title="Finance printer offline",
        level=2,
        reporter="Ms Zhou",
        contact="zhou@example.org",
        description="Paper jam light, nobody can print",
    )
    await alerts.ack(ticket.id, "zhang")
    store = alerts.store
    async with store.transaction():
        await incidents.add_note(
            store, ticket.id, "zhang", "Fuser unit replaced, printing again", 0, public=True
        )
        await incidents.add_note(store, ticket.id, "zhang", "INTERNAL: billed to vendor", 0)
    link = follow.make_link(site.url, SECRET, ticket.ticket)
    page = await (await browser.new_context(viewport=PHONE)).new_page()
    await page.goto(link)
    await expect(page.locator("#ticket")).to_contain_text(ticket.ticket)
    await expect(page.locator("#ticket")).to_contain_text("Finance printer offline")
    await expect(page.locator("#state")).to_have_text("an engineer is on it")
    history = page.locator("#history li")
    await expect(history).to_have_count(2)
    await expect(history.nth(1)).to_contain_text("an engineer took it (zhang)")
    body = await page.locator("body").inner_text()
    assert "Paper jam light" in body and "Fuser unit replaced" in body
    assert "INTERNAL" not in body  # an internal note never reaches the reporter
    assert await page.locator("#survey form").count() == 0  # nothing to rate while open

    await alerts.resolve(ticket.id, "zhang")
    await page.reload()
    await expect(page.locator("#state")).to_have_text("resolved")
    if (out := shots()) is not None:
        await page.screenshot(path=str(out / "follow-survey.png"), full_page=True)
    await page.check("input[name=score][value='4']")
    await page.fill("textarea[name=comment]", "Quick, thank you")
    await page.click("#survey button")
    await expect(page.locator("#thanks")).to_contain_text("4 out of 5")
    [answer] = await store.surveys(ticket.id)
    assert (answer.score, answer.comment, answer.via) == (4, "Quick, thank you", "page")
    assert "survey-answered" in [a.action for a in await store.audit_log(ticket.id)]


async def test_a_wrong_link_shows_nothing_and_another_site_cannot_answer(
    browser: Any, site: ConsoleSite
) -> None:
    alerts = site.alerts
    ticket = await alerts.open_ticket("desk", title="VPN down", level=1, contact="a@b.org")
    await alerts.resolve(ticket.id, "li")
    page = await (await browser.new_context()).new_page()
    reply = await page.goto(f"{site.url}/follow/{ticket.ticket}?sig=0000")
    assert reply is not None and reply.status == 404
    assert "VPN down" not in await page.content()

    # a page of another site posting the survey form in the reporter's browser
    sig = follow.signature(SECRET, ticket.ticket)
    evil = web.Application()
    form = (
        f'<form id="f" method="post" action="{site.url}/follow/{ticket.ticket}/survey">'
        f'<input name="sig" value="{sig}"><input name="score" value="1"></form>'
        '<script>document.getElementById("f").submit()</script>'
    )

    async def lure(_request: web.Request) -> web.Response:
        return web.Response(text=form, content_type="text/html")

    evil.router.add_get("/", lure)
    runner = web.AppRunner(evil)
    await runner.setup()
    other = web.TCPSite(runner, "127.0.0.2", 0)
    await other.start()
    try:
        port = runner.addresses[0][1]
        await page.goto(f"http://127.0.0.2:{port}/")
        await page.wait_for_load_state("networkidle")
    finally:
        await runner.cleanup()
    [asked] = await alerts.store.surveys(ticket.id)
    assert asked.answered_at is None  # refused: no answer recorded
