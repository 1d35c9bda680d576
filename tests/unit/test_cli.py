"""The command line: `probe` option parsing, `check` on good and bad files, `poll --json`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from collector.cli import main
from collector.commands.probe import parse_options
from probes.http import HttpSettings


def test_probe_options_map_to_settings_with_dashes_lists_and_flags() -> None:
    opts = parse_options(
        [
            "--expect-status",
            "200,204",
            "--verify-tls",
            "false",
            "--follow-redirects",
            "--timeout=3s",
        ],
        HttpSettings,
    )
    assert opts == {
        "expect_status": ["200", "204"],
        "verify_tls": "false",
        "follow_redirects": "true",
        "timeout": "3s",
    }
    settings = HttpSettings.model_validate({"type": "http", "url": "http://x/", **opts})
    assert settings.expect_status == [200, 204]
    assert settings.verify_tls is False
    assert settings.timeout == 3.0


def test_probe_rejects_a_stray_argument() -> None:
    with pytest.raises(ValueError, match="unexpected argument 'oops'"):
        parse_options(["oops"], HttpSettings)


def test_probe_unknown_option_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "http", "http://127.0.0.1:9/", "--colour", "red"]) == 2
    assert "--colour: unknown option" in capsys.readouterr().err


def test_probe_unknown_type_lists_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "telnet", "10.0.0.1"]) == 2
    err = capsys.readouterr().err
    assert "unknown probe type 'telnet'" in err
    assert "http" in err


def _config(tmp_path: Path, inventory: str, rules: str) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "inventory.yaml").write_text(inventory, encoding="utf-8")
    (tmp_path / "rules" / "r.yaml").write_text(rules, encoding="utf-8")
    config = tmp_path / "roomwatch.yaml"
    config.write_text("inventory: inventory.yaml\nrules: [rules/]\nstate_dir: st\n", "utf-8")
    return config


GOOD_INVENTORY = "devices:\n  - id: host1\n    kind: server\n    probes:\n      - type: local\n"
GOOD_RULES = (
    "groups:\n  - name: g\n    rules:\n      - name: unreachable\n        select: {}\n"
    '        metric: device.up\n        levels: {2: "== 0"}\n'
)


def test_check_accepts_a_valid_configuration(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, GOOD_INVENTORY, GOOD_RULES)
    assert main(["check", "-c", str(config)]) == 0
    assert "ok: 1 devices, 1 probes, 1 rules" in capsys.readouterr().out


def test_check_stops_at_the_first_bad_file_and_lists_all_its_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_inventory = (
        "devices:\n  - id: host1\n    kind: server\n    colour: red\n"
        "  - id: host2\n    kind: fridge\n"
    )
    bad_rules = "groups:\n  - name: g\n    rules:\n      - name: x\n        metric: [\n"
    config = _config(tmp_path, bad_inventory, bad_rules)
    assert main(["check", "-c", str(config)]) == 1
    err = capsys.readouterr().err.splitlines()
    inventory = str(tmp_path / "inventory.yaml")
    assert any(
        line.startswith(f"{inventory}:4:5:") and "unknown key 'colour'" in line for line in err
    )
    assert any(
        line.startswith(f"{inventory}:6:") and "unknown kind 'fridge'" in line for line in err
    )
    assert not any("r.yaml" in line for line in err)  # the first bad file only


def test_check_reports_a_rule_on_an_unknown_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = GOOD_RULES.replace("select: {}", "select: {kind: toaster}")
    config = _config(tmp_path, GOOD_INVENTORY, rules)
    assert main(["check", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert "r.yaml:" in err
    assert "toaster" in err


def test_poll_prints_one_json_object_per_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, GOOD_INVENTORY, GOOD_RULES)
    assert main(["poll", "-c", str(config), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    up = [s for s in lines if s["metric"] == "device.up"]
    assert up == [
        {
            "device": "host1",
            "metric": "device.up",
            "value": 1,
            "labels": {"probe": "local"},
            "unit": None,
            "ts": up[0]["ts"],
        }
    ]
    assert {"cpu.usage", "memory.used_percent", "uptime.seconds"} <= {s["metric"] for s in lines}


def test_probe_takes_json_and_device_after_the_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "local", "--device", "box1", "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines
    assert {s["device"] for s in lines} == {"box1"}


def test_check_reports_a_sink_whose_token_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, GOOD_INVENTORY, GOOD_RULES)
    (tmp_path / "credentials.yaml").write_text("influx: {org: x}\n", "utf-8")
    (tmp_path / "credentials.yaml").chmod(0o600)
    config.write_text(
        config.read_text("utf-8")
        + "credentials: credentials.yaml\nsinks:\n  - type: influxdb\n    name: local\n"
        "    url: http://127.0.0.1:8086\n    org: o\n    bucket: b\n    credentials: influx\n",
        "utf-8",
    )
    assert main(["check", "-c", str(config)]) == 1
    err = capsys.readouterr().err
    assert "sink 'local'" in err
    assert "no 'token'" in err


def test_probe_bad_target_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "local", "10.0.0.1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("roomwatch probe: 10.0.0.1:")
    assert "Traceback" not in err


def test_check_refuses_an_api_off_loopback_without_a_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, GOOD_INVENTORY, GOOD_RULES)
    config.write_text(config.read_text("utf-8") + "api:\n  listen: 0.0.0.0:8765\n", "utf-8")
    assert main(["check", "-c", str(config)]) == 1
    assert "no token is configured" in capsys.readouterr().err


def test_probe_an_error_across_options_names_no_empty_option(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["probe", "http", "http://127.0.0.1:1/", "--method", "HEAD", "--expect-text", "OK"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert (
        err
        == "roomwatch probe: Value error, expect_text/expect_regex need a body; use GET, not HEAD\n"
    )


def test_probe_help_lists_the_settings_of_that_probe(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "http", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--url" in out
    assert "--expect-status" in out
    assert "--verify-tls" in out


def test_the_table_shows_whole_numbers_in_full(capsys: pytest.CaptureFixture[str]) -> None:
    from collector.commands.output import print_samples
    from core.sample import Sample

    print_samples([Sample("d", "disk.free_bytes", 8865083392.0, {}, "B", 0.0)], as_json=False)
    assert "8865083392" in capsys.readouterr().out


def test_check_warns_about_an_inventory_without_devices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, "devices: []\n", GOOD_RULES)
    main(["check", "-c", str(config)])
    assert "no devices: nothing will be polled" in capsys.readouterr().err
