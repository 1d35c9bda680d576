"""`POST /api/incidents`: a ticket someone reported, through the real API application and a
real alert service (SQLite store): numbered, escalated like any incident, and refused with a
reason when a field is wrong or the token is missing."""

from __future__ import annotations

import re

from tests.unit.test_api_handlers import TOKEN, ClientFactory, Daemon, bearer, daemon, serve

__all__ = ["daemon", "serve"]


async def test_a_reported_ticket_opens_with_its_number(
    daemon: Daemon, serve: ClientFactory
) -> None:
    client = await serve(daemon, TOKEN)
    reply = await client.post(
        "/api/incidents",
        json={
            "title": "Portal login page shows error 500",
            "level": 2,
            "by": "desk-li",
            "device": "srv1",
            "reporter": "Ms Zhou",
            "contact": "zhou@example.org",
            "description": "since 09:10, every user",
        },
        headers=bearer(),
    )
    assert reply.status == 201
    ticket = (await reply.json())["incident"]
    assert re.fullmatch(r"RW-\d{4}-\d{6}", ticket["ticket"])
    assert (ticket["source"], ticket["reporter"], ticket["level"]) == ("api", "Ms Zhou", 2)
    assert ticket["site"] == "dc1" and ticket["state"] == "open"
    assert [c["clock"] for c in ticket["sla"]] == ["respond", "arrive", "repair"]
    stored = await daemon.alerts.store.get(ticket["id"])
    assert stored.description == "since 09:10, every user"
    listed = await (await client.get("/api/incidents", headers=bearer())).json()
    assert ticket["ticket"] in [i["ticket"] for i in listed["incidents"]]
    queued = await daemon.alerts.store.outbox_items(ticket["id"])
    assert [i.payload["ticket"] for i in queued] == [ticket["ticket"]]


async def test_a_bad_ticket_is_refused_with_the_reason(
    daemon: Daemon, serve: ClientFactory
) -> None:
    client = await serve(daemon, TOKEN)
    cases = [
        ({"title": "x", "level": 4, "by": "li"}, "'level' must be 1, 2 or 3"),
        ({"title": " ", "level": 1, "by": "li"}, "'title' must say what is wrong"),
        ({"title": "x", "level": 1}, "'by' must name who records it"),
        ({"title": "x", "level": 1, "by": "li", "device": "nope"}, "no device 'nope'"),
        ({"title": "x", "level": True, "by": "li"}, "'level' must be 1, 2 or 3"),
    ]
    for body, words in cases:
        reply = await client.post("/api/incidents", json=body, headers=bearer())
        assert reply.status == 400, body
        assert words in (await reply.json())["error"]
    refused = await client.post("/api/incidents", json={"title": "x", "level": 1, "by": "li"})
    assert refused.status == 401
    assert await daemon.alerts.store.list_incidents() == []
