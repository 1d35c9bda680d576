"""SinkConfig validation and build_sinks (token from the credentials file, one spool each)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from collector.sinks import config as config_module
from collector.sinks.config import SinkConfig, parse_size
from collector.sinks.factory import SinkConfigError, build_sinks, spool_path
from collector.sinks.influx import InfluxSink
from inventory.credentials import Credentials

SECRET = "tok-5f3a-very-secret"


def config(**overrides: Any) -> SinkConfig:
    data: dict[str, Any] = {
        "type": "influxdb",
        "name": "local",
        "url": "http://127.0.0.1:8086",
        "org": "rooms",
        "bucket": "roomwatch",
        "credentials": "influx",
    }
    data.update(overrides)
    return SinkConfig.model_validate(data)


def test_defaults_and_durations_as_admins_write_them() -> None:
    cfg = config(flush_interval="500ms", timeout="1m", spool={"max_bytes": "2GiB"})
    assert cfg.flush_interval == 0.5
    assert cfg.timeout == 60.0
    assert cfg.verify_tls is True
    assert cfg.spool.max_bytes == 2 * 1024**3
    assert cfg.spool.max_rows == 5_000_000


@pytest.mark.parametrize(
    "bad",
    [
        {"token": "inline"},  # a token is never written inline
        {"type": "prometheus"},
        {"url": "127.0.0.1:8086"},
        {"name": "has space"},
        {"batch_size": 0},
        {"flush_interval": "soon"},
        {"spool": {"max_rows": 0}},
        {"spool": {"max_bytes": "lots"}},
        {"spool": {"replay_rate": 0}},
        {"spool": {"unknown": 1}},
    ],
)
def test_invalid_settings_are_rejected(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        config(**bad)


@pytest.mark.parametrize(
    ("text", "size"),
    [("500MB", 500_000_000), ("1GiB", 1024**3), ("64k", 64_000), (1234, 1234), ("2 gb", 2 * 10**9)],
)
def test_sizes_accept_si_and_binary_units(text: str | int, size: int) -> None:
    assert parse_size(text) == size


def test_build_sinks_gives_each_sink_its_token_and_own_spool(tmp_path: Path) -> None:
    creds = Credentials({"influx": {"token": SECRET}, "hq": {"token": "other"}})
    sinks = build_sinks(
        [config(), config(name="head-office", url="https://hq.example:8086", credentials="hq")],
        creds,
        tmp_path,
    )
    assert [s.name for s in sinks] == ["local", "head-office"]
    assert all(isinstance(s, InfluxSink) for s in sinks)
    paths = [s.spool_path for s in sinks if isinstance(s, InfluxSink)]
    assert paths == [spool_path(tmp_path, "local"), spool_path(tmp_path, "head-office")]
    assert SECRET not in repr(sinks)


def test_missing_credentials_entry_names_the_sink_and_entry() -> None:
    with pytest.raises(SinkConfigError, match=r"sink 'local': no credentials entry 'influx'"):
        build_sinks([config()], Credentials({}), Path("/nonexistent"))


def test_entry_without_token_is_an_error_that_shows_no_secret() -> None:
    creds = Credentials({"influx": {"user": SECRET}})
    with pytest.raises(SinkConfigError, match="has no 'token'") as info:
        build_sinks([config()], creds, Path("/nonexistent"))
    assert SECRET not in str(info.value)


def test_a_ca_file_that_is_missing_or_not_pem_is_a_configuration_error(tmp_path: Path) -> None:
    creds = Credentials({"influx": {"token": SECRET}})
    missing = config(url="https://influx:8086", ca_file=str(tmp_path / "ca.pem"))
    with pytest.raises(SinkConfigError, match=r"sink 'local': ca_file .*ca.pem: No such file"):
        build_sinks([missing], creds, tmp_path)
    (tmp_path / "creds.yaml").write_text("influx: {token: x}\n", encoding="utf-8")
    wrong = config(url="https://influx:8086", ca_file=str(tmp_path / "creds.yaml"))
    with pytest.raises(SinkConfigError, match="not a PEM CA certificate"):
        build_sinks([wrong], creds, tmp_path)


def test_two_sinks_with_one_name_are_refused() -> None:
    creds = Credentials({"influx": {"token": SECRET}})
    with pytest.raises(SinkConfigError, match="name used twice"):
        build_sinks([config(), config()], creds, Path("/nonexistent"))


def _yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)


def test_the_docstring_example_is_a_valid_sink() -> None:
    doc = config_module.__doc__ or ""
    example = textwrap.dedent(doc[doc.index("    sinks:") : doc.index("The token is never")])
    (entry,) = yaml.safe_load(example)["sinks"]
    assert SinkConfig.model_validate(entry).spool.max_bytes == 10**9


def test_the_readme_examples_are_valid_sinks() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Sending samples to InfluxDB") :]
    section = section[: section.index("\n## ", 5)]
    main, credentials = (yaml.safe_load(block) for block in _yaml_blocks(section)[:2])
    configs = [SinkConfig.model_validate(entry) for entry in main["sinks"]]
    sinks = build_sinks(configs, Credentials(credentials), Path("/nonexistent"))
    assert [s.name for s in sinks] == ["local", "head-office"]
