"""`roomwatch incidents open|show|accept`: the desk's steps from the command line, against a
real store file. A reopened incident's `show` lists both occurrences with their own steps."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from alerting.store import OutboxItem, open_store
from tests.unit.alerting_helpers import Clock, fault, service
from tests.unit.test_alerting_cli import config_file, run

__all__ = ["config_file"]


def test_open_a_reported_ticket_and_show_it_by_its_number(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys,
        *("incidents", "open", "--title", "Finance printer offline", "--level", "2"),
        *("--reporter", "Ms Zhou", "--contact", "13900000000", "--by", "desk-li"),
        *("--description", "Paper jam light on, nobody can print", "-c", str(config_file)),
    )
    assert code == 0, err
    match = re.fullmatch(r"ticket (RW-\d{4}-(\d{6})) opened \(incident (\d+), level 2\)\n", out)
    assert match, out
    assert int(match.group(2)) == int(match.group(3))
    code, out, _ = run(capsys, "incidents", "show", match.group(1), "-c", str(config_file))
    assert code == 0
    assert "Finance printer offline" in out
    assert re.search(r"reporter\s+Ms Zhou", out) and re.search(r"contact\s+13900000000", out)
    assert "Paper jam light on" in out
    code, out, _ = run(capsys, "incidents", "list", "-c", str(config_file))
    assert match.group(1) in out
    # the ticket is queued to be told like any incident (the daemon sends the outbox)
    queued = asyncio.run(_outbox(config_file.parent, int(match.group(3))))
    assert [(item.kind, item.payload["ticket"]) for item in queued] == [("opened", match.group(1))]


async def _outbox(where: Path, incident_id: int) -> list[OutboxItem]:
    store = await open_store(f"sqlite:///{where / 'tickets.db'}")
    try:
        return await store.outbox_items(incident_id)
    finally:
        await store.close()


def test_a_ticket_needs_a_title_and_a_level(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "incidents", "open", "--title", "x", "-c", str(config_file))
    assert code == 2 and "--level" in err
    code, _, err = run(
        capsys, "incidents", "open", "--title", "   ", "--level", "3", "-c", str(config_file)
    )
    assert code == 1 and "needs a title" in err


def test_show_lists_every_occurrence_with_its_own_acknowledgement(
    tmp_path: Path, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async def reopen() -> None:
        clock = Clock()
        svc = await service(tmp_path, clock)
        [incident] = await svc.store.list_incidents()
        clock.advance(60)
        await svc.ack(incident.id, "zhang")
        clock.advance(60)
        await svc.handle([fault("srv1", level=1, state="resolved", ts=clock())])
        clock.advance(600)
        await svc.handle([fault("srv1", level=1, ts=clock())])
        await svc.close()

    asyncio.run(reopen())
    code, out, _ = run(capsys, "incidents", "show", "1", "-c", str(config_file))
    assert code == 0
    block = out[out.index("occurrences:") :]
    first, second = block.split("  #2")
    assert "#1" in first and re.search(r"acknowledged\s+\S+ zhang", first)
    assert re.search(r"resolved\s+\S+ rules", first)
    assert re.search(r"acknowledged\s+-\n", second)


def test_accept_keeps_a_known_fault_resolved_until_a_time(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys,
        *("incidents", "accept", "1", "--until", "2099-01-01 00:00", "--by", "wang"),
        *("--reason", "fan ordered", "-c", str(config_file)),
    )
    assert code == 0, err
    code, out, _ = run(capsys, "incidents", "show", "1", "-c", str(config_file))
    assert re.search(r"state\s+resolved", out) and re.search(r"accepted\s+until 2099-01-01", out)
    code, _, err = run(
        capsys,
        *("incidents", "accept", "1", "--until", "tomorrow", "--by", "wang", "--reason", "x"),
        "-c",
        str(config_file),
    )
    assert code == 2 and "is not a time" in err
