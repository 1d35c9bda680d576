"""`roomwatch users`: the users file beside roomwatch.yaml holds argon2 hashes only, is
private (0600), and says in the admin's words what is wrong with a name or password."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest

from collector.accounts import load_users, verify
from collector.cli import main


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "roomwatch.yaml"
    path.write_text("inventory: inventory.yaml\nstate_dir: state\n", "utf-8")
    return path


def run(monkeypatch: pytest.MonkeyPatch, stdin: str, *args: str) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["users", *args])


def test_add_list_passwd_remove(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    c = ["-c", str(config)]
    assert (
        run(
            monkeypatch,
            "first-password-1\n",
            "add",
            "zhang",
            "--role",
            "operator",
            "--password-stdin",
            *c,
        )
        == 0
    )
    users_file = config.parent / "users.yaml"
    text = users_file.read_text("utf-8")
    assert "first-password-1" not in text and "$argon2id$" in text
    assert stat.S_IMODE(users_file.stat().st_mode) == 0o600
    assert verify(load_users(users_file)["zhang"], "first-password-1")
    capsys.readouterr()
    assert run(monkeypatch, "", "list", *c) == 0
    assert "zhang" in capsys.readouterr().out
    assert (
        run(
            monkeypatch,
            "second-password-2\n",
            "passwd",
            "zhang",
            "--role",
            "admin",
            "--password-stdin",
            *c,
        )
        == 0
    )
    entry = load_users(users_file)["zhang"]
    assert entry.role == "admin" and verify(entry, "second-password-2")
    assert not verify(entry, "first-password-1")
    assert run(monkeypatch, "", "remove", "zhang", *c) == 0
    assert load_users(users_file) == {}


@pytest.mark.parametrize(
    ("name", "password", "says"),
    [
        ("zhang", "short", "at least 10 characters"),
        ("bad name!", "long-enough-password", "a user name is"),
    ],
)
def test_a_bad_name_or_password_is_refused_with_why(
    config: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    name: str,
    password: str,
    says: str,
) -> None:
    args = ["add", name, "--role", "viewer", "--password-stdin", "-c", str(config)]
    assert run(monkeypatch, password + "\n", *args) == 2
    assert says in capsys.readouterr().err
    assert not (config.parent / "users.yaml").exists()


def test_a_broken_users_file_names_its_line(
    config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (config.parent / "users.yaml").write_text(
        "users:\n  - name: wang\n    role: boss\n    password: $argon2id$x\n", "utf-8"
    )
    assert run(monkeypatch, "", "list", "-c", str(config)) == 2
    err = capsys.readouterr().err
    assert "users.yaml" in err and ":3" in err and "role" in err
