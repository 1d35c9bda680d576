"""The bytes of each console page as a phone downloads it (one open incident, signed in).

    PYTHONPATH=. .venv/bin/python bench/console_page_sizes.py

docs/console.md quotes its output."""

import asyncio
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.fixtures.console_site import ConsoleSite
from tests.unit.alerting_helpers import Clock, config, fault, service


async def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    clock = Clock(time.time())
    alerts = await service(tmp, clock, config(tmp))
    await alerts.handle([fault("srv1", level=1)])
    site = ConsoleSite(alerts, clock, tmp, {"wang": ("operator", "wang-password-1")})
    await site.start()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        await s.post(site.url + "/login", data={"name": "wang", "password": "wang-password-1"})
        for path in (
            "/console",
            "/console/incidents/1",
            "/console/history",
            "/console/devices/srv1",
            "/board",
        ):
            async with s.get(site.url + path) as r:
                body = await r.read()
                print(f"GET {path}: {r.status}, {len(body)} bytes")
    await site.stop()
    await alerts.close()


asyncio.run(main())
