"""`roomwatch store migrate` and the refusal to run on an older schema, against real SQLite
files (the PostgreSQL side is in tests/integration/test_store_contract.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from alerting.store.migrations import latest_version, migrations
from collector.cli import main


@pytest.fixture
def old_desk(tmp_path: Path) -> Path:
    """A roomwatch.yaml whose store is at schema 1 with one open incident in it."""
    (tmp_path / "inventory.yaml").write_text("devices: []\n", encoding="utf-8")
    with sqlite3.connect(tmp_path / "tickets.db") as db:
        db.executescript(migrations("sqlite")[0].sql + "\nPRAGMA user_version = 1;")
        db.execute(
            "INSERT INTO incidents (key, rule, device, level, state, since, opened_at,"
            " active_since, level_since, updated_at) VALUES"
            " ('cpu|srv1', 'cpu', 'srv1', 2, 'open', 1, 1, 1, 1, 1)"
        )
    path = tmp_path / "roomwatch.yaml"
    path.write_text(
        "inventory: inventory.yaml\nrules: []\nstate_dir: state\nstore: sqlite:tickets.db\n",
        encoding="utf-8",
    )
    return path


def test_an_older_store_is_refused_with_the_command_that_upgrades_it(
    old_desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["incidents", "list", "-c", str(old_desk)]) == 2
    err = capsys.readouterr().err
    assert "schema version 1" in err and "roomwatch store migrate -c FILE" in err
    with sqlite3.connect(old_desk.parent / "tickets.db") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1  # left as it was


def test_migrate_upgrades_once_and_keeps_the_incidents(
    old_desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["store", "migrate", "-c", str(old_desk)]) == 0
    assert f"migrated to schema version {latest_version()}" in capsys.readouterr().out
    assert main(["store", "migrate", "-c", str(old_desk)]) == 0
    assert "up to date" in capsys.readouterr().out
    assert main(["incidents", "list", "-c", str(old_desk), "--json"]) == 0
    assert '"key": "cpu|srv1"' in capsys.readouterr().out


def test_a_password_in_the_store_url_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "roomwatch.yaml"
    path.write_text(
        "rules: []\nstore: postgresql://rw:hunter2@db.example.net/rw\n", encoding="utf-8"
    )
    assert main(["store", "migrate", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert "roomwatch.yaml:2" in err and "does not belong in the store URL" in err
    assert "hunter2" not in err


def test_check_names_a_missing_store_credentials_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "inventory.yaml").write_text("devices: []\n", encoding="utf-8")
    (tmp_path / "credentials.yaml").write_text("other:\n  password: x\n", encoding="utf-8")
    (tmp_path / "credentials.yaml").chmod(0o600)
    path = tmp_path / "roomwatch.yaml"
    path.write_text(
        "inventory: inventory.yaml\nrules: []\ncredentials: credentials.yaml\n"
        "store: postgresql://rw@db.example.net/rw\nstore_credentials: ticket-db\n",
        encoding="utf-8",
    )
    assert main(["check", "-c", str(path)]) == 1
    err = capsys.readouterr().err
    assert "store_credentials" in err and "ticket-db" in err
