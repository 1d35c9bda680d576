"""The knowledge base from the command line against a real store file, and its best entry in
a new incident's alert and in `incidents show`."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.unit.alerting_helpers import Clock, fault, service
from tests.unit.test_alerting_cli import config_file, run

__all__ = ["config_file"]


def kb(capsys: pytest.CaptureFixture[str], config: Path, *argv: str) -> tuple[int, str, str]:
    return run(capsys, "kb", *argv, "-c", str(config))


def test_add_list_show_edit_search(config_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = kb(
        capsys,
        config_file,
        *("add", "--title", "CPU pegged by the backup job", "--rule", "cpu-high"),
        *("--kind", "server", "--workaround", "Move the backup to 02:00", "--by", "li"),
    )
    assert code == 0, err
    assert out.strip() == "KB-1 saved"
    code, out, _ = kb(capsys, config_file, "list")
    assert out.strip() == "KB-1    CPU pegged by the backup job  [rule:cpu-high kind:server]"
    code, out, _ = kb(
        capsys, config_file, "edit", "KB-1", "--workaround", "Run it at 03:00", "--by", "li"
    )
    assert code == 0
    code, out, _ = kb(capsys, config_file, "show", "kb-1")
    assert "Run it at 03:00" in out and "manual" in out
    code, out, _ = kb(capsys, config_file, "search", "backup", "03:00")
    assert code == 0 and "KB-1" in out
    code, out, _ = kb(capsys, config_file, "search", "printer")
    assert code == 1 and out.strip() == "nothing found"
    code, _, err = kb(capsys, config_file, "show", "KB-9")
    assert code == 1 and "no knowledge-base entry KB-9" in err
    code, _, err = kb(capsys, config_file, "add", "--title", "x", "--by", "li")
    assert code == 2 and "--workaround" in err


def test_a_resolution_note_becomes_an_entry_and_answers_the_next_alert(
    tmp_path: Path, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys,
        *("incidents", "resolve", "1", "--by", "zhang", "--note", "Killed the runaway report"),
        *("-c", str(config_file)),
    )
    assert code == 0, err
    code, out, err = kb(capsys, config_file, "add", "--from-incident", "1", "--by", "zhang")
    assert code == 0, err
    code, out, _ = kb(capsys, config_file, "show", "KB-1")
    assert "Killed the runaway report" in out and "rule         cpu-high" in out
    assert "resolution #1" in out

    async def again() -> list[dict[str, object]]:
        # the CLI resolved it on the wall clock: two hours later is past the reopen window
        clock = Clock(time.time() + 7200)
        svc = await service(tmp_path, clock)
        try:
            await svc.handle([fault("srv1", level=1, ts=clock())])
            [incident] = await svc.store.active()
            # the opening alert (one per channel): each carries the best entry
            return [
                i.payload for i in await svc.store.outbox_items(incident.id) if i.kind == "opened"
            ]
        finally:
            await svc.close()

    payloads = asyncio.run(again())
    assert payloads
    assert all(p["knowledge"] == payloads[0]["knowledge"] for p in payloads)
    assert payloads[0]["knowledge"] == {
        "id": "KB-1",
        "title": "srv1 CPU high",
        "workaround": "Killed the runaway report",
    }
    code, out, _ = run(capsys, "incidents", "show", "2", "-c", str(config_file))
    assert "known error   KB-1 srv1 CPU high: Killed the runaway report" in out
