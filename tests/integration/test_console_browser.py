"""The console in a real browser: Debian's headless Chromium driven by Playwright (no browser
download). On a 375 px wide phone viewport an operator signs in, sees the open incident,
acknowledges it, adds a note, resolves it, finds it in the history and opens a device's graph;
a viewer sees no actions and is refused when posting anyway; a page of another site that
submits a form to the console in the operator's browser is refused and changes nothing.

Set ROOMWATCH_SCREENSHOTS=DIR to keep the screenshots (docs/ holds the ones taken so)."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from alerting.service import AlertService
from core.sample import Sample
from tests.fixtures.chromium import browser
from tests.fixtures.console_site import ConsoleSite
from tests.unit.alerting_helpers import Clock, config, fault, service

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

playwright_api = pytest.importorskip("playwright.async_api")

__all__ = ["browser"]  # one Chromium for the module (tests/fixtures/chromium.py)

PHONE = {"width": 375, "height": 812}
USERS = {"wang": ("operator", "wang-password-1"), "li": ("viewer", "li-password-22")}


@pytest_asyncio.fixture(loop_scope="module")
async def site(tmp_path: Path) -> AsyncIterator[ConsoleSite]:
    clock = Clock(time.time())
    alerts: AlertService = await service(tmp_path, clock, config(tmp_path))
    fired = fault("srv1", level=1, rule="cpu-high", ts=clock.now - 300)
    await alerts.handle([fired])
    readings = [
        Sample("srv1", "cpu.usage", 97.0, {}, "%", clock.now),
        Sample("srv1", "memory.used_percent", 41.0, {}, "%", clock.now),
    ]
    made = ConsoleSite(alerts, clock, tmp_path, USERS, readings)
    for minute in range(180):  # three hours of one-minute points, climbing
        made.history.record(
            [
                Sample(
                    "srv1",
                    "cpu.usage",
                    20.0 + minute * 0.4,
                    {},
                    "%",
                    clock.now - 10800 + 60 * minute,
                )
            ]
        )
    await made.history.flush(clock.now)
    await made.start()
    try:
        yield made
    finally:
        await made.stop()
        await alerts.close()


def shots() -> Path | None:
    target = os.environ.get("ROOMWATCH_SCREENSHOTS")
    return Path(target) if target else None


async def sign_in(page: Any, site: ConsoleSite, name: str) -> None:
    await page.goto(f"{site.url}/console")
    assert "/login" in page.url  # a stranger is sent to the sign-in page first
    await page.fill("#name", name)
    await page.fill("#password", USERS[name][1])
    await page.click("#sign-in")
    await page.wait_for_url(f"{site.url}/console")


async def fits_the_phone(page: Any) -> None:
    width = await page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide: it scrolls sideways"


async def test_an_operator_works_an_incident_on_a_phone(browser: Any, site: ConsoleSite) -> None:
    expect = playwright_api.expect
    context = await browser.new_context(viewport=PHONE, device_scale_factor=2)
    page = await context.new_page()
    await sign_in(page, site, "wang")
    (incident,) = await site.alerts.store.active()
    card = page.locator(f'a.card[data-incident="{incident.id}"]')
    await expect(card).to_contain_text("Server 1")
    await expect(card.locator(".sla").first).to_contain_text("respond")
    await fits_the_phone(page)
    if (out := shots()) is not None:
        await page.screenshot(path=str(out / "console-phone-open.png"))

    await card.click()
    ack = page.locator("#ack")
    box = await ack.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 140  # thumb-sized
    await fits_the_phone(page)
    if out is not None:
        await page.screenshot(path=str(out / "console-phone-incident.png"), full_page=True)
    await ack.click()
    await expect(page.locator(".flash")).to_contain_text("Acknowledge")
    await page.fill("#note-text", "fan tray of PSU 2 reseated")
    await page.click("#note")
    await expect(page.locator("ol.timeline")).to_contain_text("fan tray of PSU 2 reseated")
    await page.fill("#resolve-note", "load back to normal")
    await page.click("#resolve")
    await expect(page.locator(".flash")).to_contain_text("Resolve")
    stored = await site.alerts.store.get(incident.id)
    assert (stored.state, stored.acknowledged_by, stored.resolved_by) == (
        "resolved",
        "wang",
        "wang",
    )
    timeline = page.locator("ol.timeline")
    for words in ("opened at level 1", "acknowledged", "resolved"):
        await expect(timeline).to_contain_text(words)

    await page.click("nav >> text=History")
    await page.fill("#q", "srv1")
    await page.select_option("#state", "resolved")
    await page.click("#filter")
    await expect(page.locator(f'a.card[data-incident="{incident.id}"]')).to_be_visible()
    await page.fill("#q", "no-such-device")
    await page.click("#filter")
    await expect(page.locator("a.card")).to_have_count(0)

    await page.goto(f"{site.url}/console/devices/srv1?range=6h")
    graph = page.locator('.graph[data-metric="cpu.usage"] svg polyline')
    await expect(graph).to_have_count(1)
    points = (await graph.get_attribute("points") or "").split()
    assert len(points) > 100  # three hours of minutes, not one dot
    await fits_the_phone(page)
    if out is not None:
        await page.screenshot(path=str(out / "console-phone-device.png"), full_page=True)
    await context.close()


async def test_a_viewer_sees_no_actions_and_cannot_post(browser: Any, site: ConsoleSite) -> None:
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    await sign_in(page, site, "li")
    (incident,) = await site.alerts.store.active()
    await page.goto(f"{site.url}/console/incidents/{incident.id}")
    assert await page.locator("#ack").count() == 0
    assert "look but not act" in await page.locator(".warn").inner_text()
    csrf = await page.locator('input[name="csrf"]').first.get_attribute("value")
    target = f"{site.url}/console/incidents/{incident.id}/ack"
    async with page.expect_response(target) as answer:  # the viewer posts the form anyway
        await page.evaluate(
            """([url, csrf]) => { const f = document.createElement("form");
                 f.method = "post"; f.action = url; const i = document.createElement("input");
                 i.name = "csrf"; i.value = csrf; f.appendChild(i); document.body.appendChild(f);
                 f.submit(); }""",
            [target, csrf],
        )
    assert (await answer.value).status == 403
    assert (await site.alerts.store.get(incident.id)).state == "open"
    await context.close()


async def test_a_forged_form_from_another_site_is_refused(browser: Any, site: ConsoleSite) -> None:
    """The operator is signed in; a page on another port of this machine (same site for the
    cookie, so the browser sends it) submits a hidden form to resolve the incident."""
    (incident,) = await site.alerts.store.active()
    target = f"{site.url}/console/incidents/{incident.id}/resolve"
    evil = web.Application()

    async def page_of_evil(_request: web.Request) -> web.Response:
        return web.Response(
            content_type="text/html",
            text=f'<form id="f" method="post" action="{target}"><input name="csrf"'
            ' value="guess"></form><script>document.getElementById("f").submit()</script>',
        )

    evil.router.add_get("/", page_of_evil)
    runner = web.AppRunner(evil)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    evil_url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    try:
        await sign_in(page, site, "wang")
        async with page.expect_response(target) as answer:
            await page.goto(evil_url)
        response = await answer.value
        assert response.status == 403
        assert "cross-site" in await response.text()
        assert (await site.alerts.store.get(incident.id)).state == "open"
    finally:
        await context.close()
        await runner.cleanup()
