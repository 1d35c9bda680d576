"""The `ssh` probe against a real OpenSSH sshd on a loopback port (see tests/fixtures/sshd_peer.py):
host metrics as an unprivileged user, every way of logging in, strict host key checking,
connection reuse and reconnection, a jump host, and `roomwatch probe ssh`."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from probes.base import ProbeAuthError, ProbeTimeout, ProbeUnreachable
from probes.ssh import SshProbe, SshSettings
from tests.fixtures.peers import REPO, free_port, require_binary, wait_until
from tests.fixtures.sshd_peer import PASSPHRASE, PASSWORD, SshdPeer

pytestmark = pytest.mark.integration

HOST_METRICS = {
    "cpu.usage",
    "load.1",
    "load.5",
    "load.15",
    "memory.used_percent",
    "swap.used_percent",
    "disk.used_percent",
    "disk.free_bytes",
    "net.rx_bytes",
    "net.tx_bytes",
    "uptime.seconds",
}


@pytest.fixture(scope="module")
def sshd() -> Iterator[SshdPeer]:
    require_binary("sshd")
    peer = SshdPeer()
    try:
        peer.prepare()
        peer.start()
        yield peer
    finally:
        peer.stop()


def settings(peer: SshdPeer, **overrides: object) -> SshSettings:
    data: dict[str, object] = {
        "type": "ssh",
        "address": "127.0.0.1",
        "port": peer.port,
        "user": peer.user,
        "key_file": str(peer.keys["ed25519"]),
        "known_hosts": str(peer.known_hosts),
        "timeout": 10,
    }
    data.update(overrides)
    return SshSettings.model_validate({k: v for k, v in data.items() if v is not None})


async def poll_once(peer: SshdPeer, **overrides: object) -> dict[tuple[str, str], object]:
    probe = SshProbe("srv", settings(peer, **overrides))
    try:
        samples = await probe.poll(1_800_000_000.0)
    finally:
        await probe.close()
    return {(s.metric, next(iter(s.labels.values()), "")): s.value for s in samples}


def logins(peer: SshdPeer) -> int:
    return peer.log.read_text(errors="replace").count(f"Accepted publickey for {peer.user}")


async def test_one_poll_reads_every_host_metric_as_an_unprivileged_user(sshd: SshdPeer) -> None:
    probe = SshProbe("srv", settings(sshd, processes="sshd,no-such-daemon"))
    try:
        samples = await probe.poll(1_800_000_000.0)
    finally:
        await probe.close()
    assert {s.metric for s in samples} >= HOST_METRICS
    assert all(s.device == "srv" and s.ts == 1_800_000_000.0 for s in samples)
    by_key = {(s.metric, next(iter(s.labels.values()), "")): s.value for s in samples}
    assert by_key[("process.running", "sshd")] == 1
    assert by_key[("process.running", "no-such-daemon")] == 0
    assert ("disk.used_percent", "/") in by_key
    assert 0.0 <= float(by_key[("cpu.usage", "")]) <= 100.0  # type: ignore[arg-type]
    assert float(by_key[("uptime.seconds", "")]) > 0  # type: ignore[arg-type]
    assert not any(metric == "net.rx_bytes" and nic == "lo" for metric, nic in by_key)


async def test_units_reach_systemctl_as_separate_arguments_and_its_exit_status_is_ignored(
    sshd: SshdPeer,
) -> None:
    units = ["getty@tty1.service", "foo\\x2dbar.mount", "nginx-failed.service"]
    got = await poll_once(sshd, units=units)
    assert sshd.systemctl_argv.read_text().splitlines() == ["is-active", "--", *units]
    assert got[("service.active", "getty@tty1.service")] == 1
    assert got[("service.active", "foo\\x2dbar.mount")] == 1
    assert got[("service.active", "nginx-failed.service")] == 0


async def test_connection_is_reused_across_polls(sshd: SshdPeer) -> None:
    probe = SshProbe("srv", settings(sshd))
    before = logins(sshd)
    try:
        for _ in range(3):
            assert await probe.poll(1.0)
    finally:
        await probe.close()
    wait_until(lambda: logins(sshd) >= before + 1, what="sshd log line")
    assert logins(sshd) == before + 1


async def test_second_poll_measures_cpu_against_the_first(sshd: SshdPeer) -> None:
    probe = SshProbe("srv", settings(sshd))
    try:
        await probe.poll(1.0)
        samples = await probe.poll(2.0)
    finally:
        await probe.close()
    metrics = {s.metric for s in samples}
    assert "load.1" in metrics
    # cpu.usage needs at least one clock tick between polls; when present it is a share.
    assert all(0.0 <= float(s.value) <= 100.0 for s in samples if s.metric == "cpu.usage")


async def test_dropped_connection_is_reopened_within_the_same_poll(sshd: SshdPeer) -> None:
    probe = SshProbe("srv", settings(sshd))
    before = logins(sshd)
    try:
        await probe.poll(1.0)
        client = probe._connection._client
        assert client is not None
        transport = client.get_transport()
        assert transport is not None
        transport.sock.shutdown(socket.SHUT_RDWR)  # the network drops under the session
        samples = await probe.poll(2.0)
    finally:
        await probe.close()
    assert {"load.1", "memory.used_percent"} <= {s.metric for s in samples}
    wait_until(lambda: logins(sshd) >= before + 2, what="second login")


@pytest.mark.parametrize("key", ["ed25519", "rsa"])
async def test_key_types_log_in(sshd: SshdPeer, key: str) -> None:
    got = await poll_once(sshd, key_file=str(sshd.keys[key]))
    assert ("load.1", "") in got


async def test_encrypted_key_logs_in_with_its_passphrase(sshd: SshdPeer) -> None:
    got = await poll_once(sshd, key_file=str(sshd.keys["encrypted"]), key_passphrase=PASSPHRASE)
    assert ("memory.used_percent", "") in got


async def test_encrypted_key_without_passphrase_fails_as_auth_and_says_why(sshd: SshdPeer) -> None:
    with pytest.raises(ProbeAuthError, match="key_passphrase"):
        await poll_once(sshd, key_file=str(sshd.keys["encrypted"]))


async def test_password_alone_logs_in(sshd: SshdPeer) -> None:
    got = await poll_once(sshd, key_file=None, password=PASSWORD)
    assert ("uptime.seconds", "") in got


async def test_wrong_password_fails_as_auth_without_showing_it(sshd: SshdPeer) -> None:
    with pytest.raises(ProbeAuthError) as info:
        await poll_once(sshd, key_file=None, password="not-the-password")
    assert "not-the-password" not in str(info.value)
    assert "not-the-password" not in repr(settings(sshd, password="not-the-password"))


@pytest.fixture
def ssh_agent(sshd: SshdPeer) -> Iterator[Path]:
    """A real ssh-agent holding the RSA client key; yields its socket path."""
    agent_socket = sshd.workdir / "agent.sock"
    agent = subprocess.Popen(
        [require_binary("ssh-agent"), "-D", "-a", str(agent_socket)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(agent_socket.exists, what="ssh-agent")
        env = {**os.environ, "SSH_AUTH_SOCK": str(agent_socket)}
        subprocess.run(
            [require_binary("ssh-add"), str(sshd.keys["rsa"])],
            env=env,
            check=True,
            capture_output=True,
        )
        yield agent_socket
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=5)
        agent_socket.unlink(missing_ok=True)


async def test_key_held_by_the_ssh_agent_logs_in(
    sshd: SshdPeer, ssh_agent: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSH_AUTH_SOCK", str(ssh_agent))
    got = await poll_once(sshd, key_file=None, use_agent=True)
    assert ("load.1", "") in got


async def test_unauthorised_key_fails_as_auth(sshd: SshdPeer) -> None:
    with pytest.raises(ProbeAuthError, match="login refused"):
        await poll_once(sshd, key_file=str(sshd.keys["stranger"]))


async def test_host_missing_from_known_hosts_fails_as_auth_and_is_not_added(sshd: SshdPeer) -> None:
    empty = sshd.workdir / "known_hosts_empty"
    empty.write_text("")
    with pytest.raises(ProbeAuthError, match="is not in known_hosts"):
        await poll_once(sshd, known_hosts=str(empty))
    assert empty.read_text() == ""


@pytest.fixture
def hashed_known_hosts(sshd: SshdPeer) -> Path:
    """known_hosts with hashed host names, as Debian's `HashKnownHosts yes` writes it."""
    hashed = sshd.write_known_hosts("host", sshd.workdir / "known_hosts_hashed")
    subprocess.run(
        [require_binary("ssh-keygen"), "-H", "-f", str(hashed)], check=True, capture_output=True
    )
    assert "127.0.0.1" not in hashed.read_text()
    return hashed


async def test_hashed_known_hosts_entries_are_honoured(
    sshd: SshdPeer, hashed_known_hosts: Path
) -> None:
    assert ("load.1", "") in await poll_once(sshd, known_hosts=str(hashed_known_hosts))


async def test_changed_host_key_fails_as_auth(sshd: SshdPeer) -> None:
    sshd.restart("host_other")
    try:
        with pytest.raises(ProbeAuthError, match="does not match known_hosts"):
            await poll_once(sshd)
    finally:
        sshd.restart("host")
    assert ("load.1", "") in await poll_once(sshd)


async def test_host_key_change_under_a_running_probe_fails_as_auth(sshd: SshdPeer) -> None:
    probe = SshProbe("srv", settings(sshd))
    try:
        await probe.poll(1.0)
        sshd.restart("host_other")
        client = probe._connection._client
        assert client is not None and client.get_transport() is not None
        client.get_transport().sock.shutdown(socket.SHUT_RDWR)  # type: ignore[union-attr]
        with pytest.raises(ProbeAuthError, match="does not match"):
            await probe.poll(2.0)
    finally:
        await probe.close()
        sshd.restart("host")


async def test_jump_host_tunnels_to_the_target(sshd: SshdPeer) -> None:
    got = await poll_once(sshd, jump_host=f"{sshd.user}@127.0.0.1:{sshd.port}")
    assert ("load.1", "") in got


async def test_closed_port_is_unreachable() -> None:
    probe = SshProbe(
        "srv",
        SshSettings.model_validate(
            {
                "type": "ssh",
                "address": "127.0.0.1",
                "port": free_port(),
                "user": "nobody",
                "password": "x",
                "known_hosts": "/dev/null",
            }
        ),
    )
    with pytest.raises(ProbeUnreachable, match="connection refused"):
        await probe.poll(1.0)


async def test_server_that_never_greets_times_out() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    probe = SshProbe(
        "srv",
        SshSettings.model_validate(
            {
                "type": "ssh",
                "address": "127.0.0.1",
                "port": listener.getsockname()[1],
                "user": "nobody",
                "password": "x",
                "known_hosts": "/dev/null",
                "timeout": "1s",
            }
        ),
    )
    try:
        with pytest.raises(ProbeTimeout):
            await probe.poll(1.0)
    finally:
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        listener.close()


def test_roomwatch_probe_ssh_command_prints_the_host_metrics(sshd: SshdPeer) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "collector.cli",
            "probe",
            "ssh",
            f"{sshd.user}@127.0.0.1:{sshd.port}",
            "--key-file",
            str(sshd.keys["ed25519"]),
            "--known-hosts",
            str(sshd.known_hosts),
            "--processes",
            "sshd",
            "--json",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    metrics = {line["metric"] for line in lines}
    assert metrics >= HOST_METRICS | {"device.up", "process.running"}
    assert next(line["value"] for line in lines if line["metric"] == "device.up") == 1


def test_roomwatch_probe_ssh_with_an_unknown_host_key_exits_non_zero_naming_auth(
    sshd: SshdPeer, tmp_path: Path
) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "collector.cli",
            "probe",
            "ssh",
            f"{sshd.user}@127.0.0.1:{sshd.port}",
            "--key-file",
            str(sshd.keys["ed25519"]),
            "--known-hosts",
            str(empty),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "auth" in done.stderr
    assert "known_hosts" in done.stderr
