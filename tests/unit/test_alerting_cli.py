"""`roomwatch incidents …` and `roomwatch oncall now` against a real store file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from collector.cli import main
from tests.unit.alerting_helpers import Clock, fault, service


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    (tmp_path / "inventory.yaml").write_text("devices: []\n", encoding="utf-8")
    path = tmp_path / "roomwatch.yaml"
    path.write_text(
        f"""
inventory: inventory.yaml
rules: []
state_dir: state
store: sqlite:///{tmp_path / "tickets.db"}
alerting:
  language: en
  notifiers:
    - type: file
      path: {tmp_path / "alerts.jsonl"}
  duty:
    timezone: Asia/Shanghai
    people:
      zhang: {{name: Zhang San, phone: "13800000001"}}
      wang: {{name: Wang}}
    roles: {{manager: [wang]}}
    shifts:
      - {{name: day, start: "07:30", end: "18:30", rotation: [zhang]}}
      - {{name: night, start: "18:30", end: "07:30", mode: phone, rotation: [wang]}}
""",
        encoding="utf-8",
    )

    async def open_one() -> None:
        svc = await service(tmp_path, Clock())
        await svc.handle([fault("srv1", level=1)])
        await svc.tick()
        await svc.close()

    asyncio.run(open_one())
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_json_prints_one_incident_per_line(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "incidents", "list", "--json", "-c", str(config_file))
    assert code == 0
    [line] = out.splitlines()
    incident = json.loads(line)
    assert (incident["id"], incident["level"], incident["state"], incident["device"]) == (
        1,
        1,
        "open",
        "srv1",
    )


def test_ack_then_show_tells_who_acknowledged(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys,
        "incidents",
        "ack",
        "1",
        "--by",
        "zhang",
        "--note",
        "on my way",
        "-c",
        str(config_file),
    )
    assert code == 0 and "acknowledged by zhang" in out
    code, out, _ = run(capsys, "incidents", "show", "1", "--json", "-c", str(config_file))
    doc = json.loads(out)
    assert doc["state"] == "acknowledged" and doc["acknowledged_by"] == "zhang"
    assert [n["text"] for n in doc["notes"]] == ["on my way"]
    assert ("zhang", "acknowledged") in [(a["actor"], a["action"]) for a in doc["audit"]]
    # a second ack is not a failure (two people on one alert): exit 0, saying who was first
    code, out, err = run(capsys, "incidents", "ack", "1", "--by", "wang", "-c", str(config_file))
    assert code == 0
    assert out.startswith("incident 1 was already acknowledged by zhang at ")
    assert "nothing changed" in out and err == ""


def test_a_name_not_on_the_duty_roster_is_flagged_with_a_did_you_mean(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "incidents", "ack", "1", "--by", "zhnag", "-c", str(config_file))
    assert code == 0 and "acknowledged by zhnag" in out  # recorded as written
    assert "note: 'zhnag' is not on the duty roster (did you mean 'zhang'?)" in err
    code, _, err = run(
        capsys, "incidents", "note", "1", "--by", "Zhang San", "-c", str(config_file), "fan ok"
    )
    assert code == 0 and err == ""  # a roster name (key or display name) is fine


def test_resolve_by_hand_queues_the_recovery_notice(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "incidents", "resolve", "1", "--by", "zhang", "-c", str(config_file))
    assert code == 0
    code, out, _ = run(capsys, "incidents", "list", "--state", "open", "-c", str(config_file))
    assert out.strip() == "no incidents"

    async def outbox() -> list[str]:
        from alerting.store import open_store

        store = await open_store(f"sqlite:///{config_file.parent / 'tickets.db'}")
        try:
            return [i.kind for i in await store.outbox_items(1)]
        finally:
            await store.close()

    assert asyncio.run(outbox()) == ["opened", "resolved"]


def test_arrive_and_note_are_recorded(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "incidents", "arrive", "1", "--by", "zhang", "-c", str(config_file))[0] == 0
    assert (
        run(
            capsys,
            "incidents",
            "note",
            "1",
            "--by",
            "zhang",
            "fan replaced",
            "-c",
            str(config_file),
        )[0]
        == 0
    )
    code, out, _ = run(capsys, "incidents", "show", "1", "-c", str(config_file))
    assert code == 0
    assert "on site" in out and "zhang" in out and "fan replaced" in out


def test_unknown_incident_is_a_clear_error(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "incidents", "show", "99", "-c", str(config_file))
    assert code == 1 and "no incident 99" in err


def test_oncall_now_names_the_shift_and_the_people(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "oncall", "now", "--at", "2026-11-23 20:00", "--json", "-c", str(config_file)
    )
    assert code == 0
    doc = json.loads(out)
    assert (doc["shift"], doc["mode"], [p["id"] for p in doc["people"]]) == (
        "night",
        "phone",
        ["wang"],
    )
    code, out, _ = run(capsys, "oncall", "now", "--at", "2026-11-23 09:00", "-c", str(config_file))
    assert "shift day" in out and "Zhang San" in out and "13800000001" in out


def test_a_store_path_that_does_not_exist_is_an_error_not_an_empty_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a mistyped --store (or the wrong -c) used to create an empty store there and answer
    # "no incidents" while the real store held open ones
    missing = tmp_path / "nowhere" / "tickets.db"
    store = ["--store", f"sqlite:///{missing}"]
    code, out, err = run(capsys, "incidents", "ack", "1", "--by", "zhang", *store)
    # 3: the store did not answer (2 before the one exit-code path, which keeps 2 for bad
    # usage and config)
    assert code == 3 and f"no ticket store at {missing}" in err
    # listing before the daemon ever ran is no error, but says there is no store
    code, out, err = run(capsys, "incidents", "list", "--json", *store)
    assert (code, out) == (0, "")
    assert f"note: no ticket store at {missing} yet" in err
    assert not missing.parent.exists()
