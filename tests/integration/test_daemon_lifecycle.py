"""The daemon process: a corrupt rule-state file does not stop monitoring, a bad config at
start is refused with its errors, SIGTERM drains and exits 0."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.peers import REPO, free_port, stop_process, wait_until
from tests.fixtures.victoria_peer import VictoriaMetrics

pytestmark = pytest.mark.integration


def write_config(tmp: Path) -> Path:
    (tmp / "rules").mkdir()
    (tmp / "inventory.yaml").write_text(
        "devices:\n  - id: box\n    kind: server\n    probes:\n      - type: local\n"
        "        interval: 1s\n",
        "utf-8",
    )
    (tmp / "rules" / "r.yaml").write_text(
        "groups:\n  - name: g\n    rules:\n      - name: unreachable\n        select: {}\n"
        '        metric: device.up\n        levels: {2: "== 0"}\n',
        "utf-8",
    )
    config = tmp / "roomwatch.yaml"
    config.write_text(
        "inventory: inventory.yaml\nrules: [rules/]\nstate_dir: state\napi: {enabled: false}\n",
        "utf-8",
    )
    return config


def run_daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "collector.cli", "run", "-c", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )


def test_a_corrupt_rule_state_file_is_set_aside_and_monitoring_starts(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    state = tmp_path / "state"
    state.mkdir()
    (state / "rules-state.json").write_text("{not json", "utf-8")
    log = tmp_path / "daemon.log"
    proc = run_daemon(config, log)
    try:
        wait_until(lambda: "roomwatch started" in log.read_text("utf-8"), 20, "daemon start")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        stop_process(proc)
    text = log.read_text("utf-8")
    assert "cannot restore rule engine state" in text
    kept = list(state.glob("rules-state.unreadable-*"))
    assert len(kept) == 1
    assert kept[0].read_text("utf-8") == "{not json"
    assert "roomwatch stopped" in text


def test_a_bad_config_at_start_is_refused_with_file_and_line(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "inventory.yaml").write_text("devices:\n  - id: box\n    knd: server\n", "utf-8")
    log = tmp_path / "daemon.log"
    proc = run_daemon(config, log)
    try:
        assert proc.wait(timeout=30) == 2
    finally:
        stop_process(proc)
    text = log.read_text("utf-8")
    assert f"{tmp_path / 'inventory.yaml'}:3:5: devices[0]: unknown key 'knd'" in text


def test_a_second_daemon_on_the_same_state_is_refused_and_exits(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    (tmp_path / "credentials.yaml").write_text("influx: {token: t0ken}\n", "utf-8")
    (tmp_path / "credentials.yaml").chmod(0o600)
    config.write_text(
        config.read_text("utf-8")
        + "credentials: credentials.yaml\nsinks:\n  - type: influxdb\n    name: local\n"
        f"    url: http://127.0.0.1:{free_port()}\n    org: o\n    bucket: b\n"
        "    credentials: influx\n",
        "utf-8",
    )
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first = run_daemon(config, first_log)
    try:
        wait_until(lambda: "roomwatch started" in first_log.read_text("utf-8"), 20, "first")
        second = run_daemon(config, second_log)
        try:
            assert second.wait(timeout=30) == 2
        finally:
            stop_process(second)
        text = second_log.read_text("utf-8")
        assert "cannot start: sink 'local'" in text
        assert "roomwatch stopped" in text
        assert first.poll() is None  # the first one goes on
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=30) == 0
    finally:
        stop_process(first)


def test_a_sink_added_by_a_reload_receives_samples(tmp_path: Path) -> None:
    vm = VictoriaMetrics(tmp_path / "vm").start()
    config = write_config(tmp_path)
    log = tmp_path / "daemon.log"
    proc = run_daemon(config, log)
    try:
        wait_until(lambda: "roomwatch started" in log.read_text("utf-8"), 20, "daemon start")
        (tmp_path / "credentials.yaml").write_text("influx: {token: t0ken}\n", "utf-8")
        (tmp_path / "credentials.yaml").chmod(0o600)
        config.write_text(
            config.read_text("utf-8")
            + "credentials: credentials.yaml\nsinks:\n  - type: influxdb\n    name: local\n"
            f"    url: {vm.url}\n    org: o\n    bucket: b\n    credentials: influx\n"
            "    flush_interval: 0.2s\n",
            "utf-8",
        )
        proc.send_signal(signal.SIGHUP)
        points = vm.wait_for_points('{__name__="device_up",device="box"}', 1)
        assert points
        assert all(value == 1.0 for *_, value in points)
        assert "sinks reconfigured" in log.read_text("utf-8")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        stop_process(proc)
        vm.stop()
