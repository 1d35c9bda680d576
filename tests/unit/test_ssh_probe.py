"""The `ssh` probe without a network: settings, the CLI target, the host script it sends, and
what it makes of the answers (a fake connection stands in for paramiko)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

import probes.ssh as ssh
from core.yamlsource import ConfigError
from inventory.credentials import Credentials
from inventory.loader import load_inventory
from probes.base import ProbeProtocolError, secret_fields
from probes.hostscript import build_script
from probes.registry import probe_class
from probes.ssh import SshProbe, SshSettings, parse_target

OUTPUTS = Path(__file__).resolve().parents[1] / "fixtures" / "hostoutputs"


def make_settings(**extra: object) -> SshSettings:
    return SshSettings.model_validate(
        {"type": "ssh", "address": "10.0.0.5", "user": "ops", "key_file": "/k", **extra}
    )


def test_registry_resolves_ssh_to_ssh_probe() -> None:
    assert probe_class("ssh") is SshProbe


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("ops@127.0.0.1:2222", {"address": "127.0.0.1", "user": "ops", "port": 2222}),
        ("db1.example.org", {"address": "db1.example.org"}),
        ("ops@db1", {"address": "db1", "user": "ops"}),
        ("root@[2001:db8::1]:22", {"address": "2001:db8::1", "user": "root", "port": 22}),
    ],
)
def test_cli_target_splits_user_host_and_port(target: str, expected: dict[str, object]) -> None:
    assert SshProbe.cli_target(target) == expected


@pytest.mark.parametrize("target", ["", "ops@", "host:notaport", "host:70000", "a b@host"])
def test_cli_target_rejects_what_is_not_an_ssh_target(target: str) -> None:
    with pytest.raises(ValueError, match=r"target|port"):
        parse_target(target)


def test_password_and_passphrase_are_secrets_kept_out_of_repr() -> None:
    assert secret_fields(SshSettings) == {"password", "key_passphrase"}
    settings = make_settings(password="hunter2-pw", key_passphrase="pp-xyz")
    assert "hunter2-pw" not in repr(settings)
    assert "pp-xyz" not in repr(settings)
    assert "hunter2-pw" not in repr(SshProbe("d", settings).__dict__)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("user", "ops; rm -rf /"),
        ("address", "host name with spaces"),
        ("address", "-oProxyCommand"),
        ("jump_host", "not a target"),
        ("port", 0),
        ("units", "bad unit"),
        ("knownhosts", "/x"),
    ],
)
def test_settings_reject_bad_values(key: str, value: object) -> None:
    with pytest.raises(ValidationError):
        make_settings(**{key: value})


def test_docstring_inventory_example_is_valid_settings() -> None:
    doc = ssh.__doc__ or ""
    block = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    entry = yaml.safe_load(block)[0]["probes"][0]
    settings = SshSettings.model_validate(entry)
    assert settings.timeout == 10.0
    assert settings.units == ["postgresql.service"]
    assert settings.known_hosts == "/etc/roomwatch/ssh/known_hosts"


def test_script_quotes_units_and_never_carries_process_names() -> None:
    script = build_script(["getty@tty1.service", "foo\\x2dbar.mount"], True, first_poll=False)
    assert "systemctl is-active -- getty@tty1.service 'foo\\x2dbar.mount'" in script
    assert "postgres" not in build_script([], True, first_poll=False)
    assert "stat2" not in build_script([], False, first_poll=False)
    assert "stat2" in build_script([], False, first_poll=True)


def test_script_runs_under_a_posix_shell_and_reads_this_machine() -> None:
    script = build_script(["ssh.service"], True, first_poll=True)
    done = subprocess.run(
        ["sh", "-s"], input=script, capture_output=True, text=True, timeout=20, check=False
    )
    assert done.returncode == 0
    for section in ("stat", "stat2", "loadavg", "meminfo", "uptime", "netdev", "df", "comm", "end"):
        assert f"@@roomwatch {section}\n" in done.stdout


class FakeConnection:
    """Stands in for the paramiko connection: records scripts, answers canned output."""

    def __init__(self, answers: list[tuple[int, str]]) -> None:
        self.answers = answers
        self.scripts: list[str] = []
        self.closed = False

    def run(self, script: str) -> tuple[int, str]:
        self.scripts.append(script)
        return self.answers.pop(0)

    def close(self) -> None:
        self.closed = True


def probe_with(answers: list[tuple[int, str]], **extra: object) -> tuple[SshProbe, FakeConnection]:
    probe = SshProbe("db-1", make_settings(**extra))
    fake = FakeConnection(answers)
    probe._connection = fake  # type: ignore[assignment]
    return probe, fake


async def test_first_poll_reads_cpu_twice_and_the_next_compares_with_it() -> None:
    first = (OUTPUTS / "debian12-vm.txt").read_text()
    # 44 more busy and 100 more idle jiffies than the first poll's second reading
    later_stat = "@@roomwatch stat\ncpu  14100 0 4944 123194 612 0 95 221 0 0\n"
    second = later_stat + "@@roomwatch loadavg" + first.split("@@roomwatch loadavg", 1)[1]
    probe, fake = probe_with([(0, first), (0, second)])
    samples = {s.metric: s.value for s in await probe.poll(1.0)}
    assert "stat2" in fake.scripts[0]
    assert samples["cpu.usage"] == pytest.approx(round(100 / 49, 2))
    samples = {s.metric: s.value for s in await probe.poll(2.0)}
    assert "stat2" not in fake.scripts[1]
    assert samples["cpu.usage"] == pytest.approx(round(100 * 44 / 144, 2))


async def test_non_zero_exit_with_full_output_still_yields_samples() -> None:
    probe, _ = probe_with([(3, (OUTPUTS / "rhel7-nfs-long-names.txt").read_text())])
    samples = await probe.poll(1.0)
    assert {"load.1", "memory.used_percent", "disk.used_percent"} <= {s.metric for s in samples}


async def test_output_without_host_readings_is_a_protocol_error_naming_the_device() -> None:
    probe, _ = probe_with([(127, "sh: not found\n")])
    with pytest.raises(ProbeProtocolError, match=r"db-1.*exit status 127.*sh: not found"):
        await probe.poll(1.0)


async def test_close_closes_the_connection() -> None:
    probe, fake = probe_with([])
    await probe.close()
    assert fake.closed


INVENTORY = """\
devices:
  - id: db-1
    name: Database server 1
    kind: server
    criticality: 1
    probes:
      - type: ssh
        address: 10.0.0.21
        user: roomwatch
        key_file: /etc/roomwatch/ssh/id_ed25519
        known_hosts: /etc/roomwatch/ssh/known_hosts
        credentials: db-ssh
        interval: 60s
        timeout: 10s
        mounts: [/, /var/lib/postgresql]
        processes: [postgres]
        units: [postgresql.service]
"""


def test_inventory_entry_of_the_readme_loads_with_its_passphrase_from_credentials(
    tmp_path: Path,
) -> None:
    (tmp_path / "inventory.yaml").write_text(INVENTORY)
    creds = Credentials({"db-ssh": {"key_passphrase": "pp-123"}})
    inventory = load_inventory(tmp_path / "inventory.yaml", creds)
    (settings,) = inventory.devices["db-1"].probes
    assert isinstance(settings, SshSettings)
    assert settings.key_passphrase == "pp-123"
    assert (settings.port, settings.mounts) == (22, ["/", "/var/lib/postgresql"])


def test_inline_password_in_the_inventory_is_refused_with_its_line(tmp_path: Path) -> None:
    text = INVENTORY.replace("        credentials: db-ssh\n", "        password: hunter2\n")
    (tmp_path / "inventory.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_inventory(tmp_path / "inventory.yaml", None)
    message = str(info.value)
    assert "inventory.yaml:12" in message
    assert "credentials file" in message
    assert "hunter2" not in message
