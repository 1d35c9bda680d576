"""The bundled demo (examples/demo/): its files load as they are, its website fails and
recovers on its cycle, and the demo's rule sees the failure through the real http probe."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from collector.demo_site import DemoSite, DemoSiteSettings
from collector.loading import load_all
from collector.polling import poll_once
from probes.http import HttpProbe, HttpSettings
from tests.fixtures.peers import free_port

pytestmark = pytest.mark.integration

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo" / "roomwatch.yaml"


class Ticks:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_the_demo_config_loads_and_its_website_rule_watches_the_demo_site() -> None:
    loaded = load_all(DEMO)
    assert loaded.config.demo_site is not None
    site = loaded.inventory.devices["demo-site"]
    (http,) = site.probes
    assert isinstance(http, HttpSettings)
    listen = loaded.config.demo_site.listen
    assert http.url == f"http://{listen}/"  # the inventory watches the site the demo serves
    rule = next(r for r in loaded.ruleset.rules if r.name == "website-down")
    assert rule.selects(site)


def test_the_demo_site_is_healthy_then_fails_then_recovers_on_its_cycle() -> None:
    clock = Ticks()
    site = DemoSite(DemoSiteSettings(healthy_for=180.0, failing_for=120.0), clock)
    assert not site.broken()
    clock.t += 179.0
    assert not site.broken()
    clock.t += 2.0
    assert site.broken()
    clock.t += 120.0
    assert not site.broken()


async def test_breaking_and_mending_the_demo_site_is_seen_by_the_http_probe() -> None:
    settings = DemoSiteSettings(listen=f"127.0.0.1:{free_port()}")
    site = DemoSite(settings, time.monotonic)
    await site.start()
    loaded = load_all(DEMO)
    demo_probe = loaded.inventory.devices["demo-site"].probes[0]
    assert isinstance(demo_probe, HttpSettings)
    # the demo's own probe settings (expected status and text), pointed at this test's port
    probe_settings = demo_probe.model_copy(update={"url": f"http://{settings.listen}/"})
    url = f"http://{settings.listen}"
    try:

        async def http_up() -> tuple[int | float | bool | str, str | None]:
            probe = HttpProbe("demo-site", probe_settings)
            result = await poll_once(probe, time.time())
            up = next(s for s in result.samples if s.metric == "http.up")
            return up.value, up.note

        assert await http_up() == (1, None)
        switch = HttpProbe("switch", HttpSettings(type="http", url=url + "/break", method="POST"))
        await switch.poll(time.time())
        assert await http_up() == (0, "status")
        switch = HttpProbe("switch", HttpSettings(type="http", url=url + "/mend", method="POST"))
        await switch.poll(time.time())
        assert await http_up() == (1, None)
    finally:
        await site.stop()
