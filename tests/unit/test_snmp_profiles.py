"""Profiles as data, `auto` selection, and the probe's settings as the inventory and the
command line give them."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

import probes.snmp.probe
import probes.snmp.profiles
from probes.base import ProbeAuthError
from probes.registry import probe_class
from probes.snmp.ber import Oid
from probes.snmp.probe import SnmpProbe, SnmpSettings, host_port
from probes.snmp.profiles import (
    SHIPPED_DIR,
    Profile,
    ProfileError,
    choose_auto,
    load_profile_file,
    load_profiles,
)

REQUIRED = {"system", "if-mib", "host-resources", "entity-sensor", "ups-mib", "apc-powernet"}


def yaml_blocks(doc: str | None) -> list[object]:
    return [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", doc or "", re.S)]


def test_the_issue_s_profiles_ship_and_load() -> None:
    profiles = load_profiles()
    assert set(profiles) >= REQUIRED
    assert all(p.description for p in profiles.values())


def test_the_probe_docstring_examples_are_valid_settings() -> None:
    (entries,) = yaml_blocks(probes.snmp.probe.__doc__)
    assert isinstance(entries, list)
    for entry in entries:
        entry.pop("credentials")
        secrets = {"community": "public"} if entry.get("version") != 3 else {
            "auth_key": "authpass123", "priv_key": "privpass123", "user": "ops"
        }  # fmt: skip
        SnmpSettings.model_validate({**entry, **secrets})


def test_the_profile_format_example_is_a_valid_profile() -> None:
    (example,) = yaml_blocks(probes.snmp.profiles.__doc__)
    assert isinstance(example, dict)
    Profile.model_validate(example)


def test_a_bad_profile_names_the_file_and_the_problem(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: broken\nscalars:\n  - {name: x, oid: not.an.oid}\n  - {nam: y}\n")
    with pytest.raises(ProfileError) as caught:
        load_profile_file(bad)
    message = str(caught.value)
    assert str(bad) in message
    assert "scalars.0.oid" in message
    assert "scalars.1.nam" in message
    assert "scalars.0.oid (line 3)" in message
    assert "scalars.1.nam (line 4)" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"name: broken\nscalars: [\n", ":3:1: invalid YAML: expected the node content"),
        (b"\xff\xfename: broken\n", ":1:1: not UTF-8 text"),  # now with the line and column
        (b"- a\n- b\n", ": (top) (line 1): expected settings here"),  # was pydantic's words
    ],
    ids=["syntax", "not-utf8", "not-a-mapping"],
)
def test_a_broken_profile_file_is_one_line_naming_file_line_and_reason(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_bytes(content)
    with pytest.raises(ProfileError) as caught:
        load_profile_file(bad)
    message = str(caught.value)
    assert message.startswith(f"{bad}{expected}"), message
    assert "\n" not in message


def test_a_site_profile_directory_adds_and_overrides(tmp_path: Path) -> None:
    (tmp_path / "my-pdu.yaml").write_text(
        "name: my-pdu\nscalars:\n  - {name: outlet.count, oid: 1.3.6.1.4.1.99999.1.0}\n"
    )
    profiles = load_profiles((str(tmp_path),))
    assert "my-pdu" in profiles
    assert "if-mib" in profiles


def test_auto_keeps_one_ups_profile_the_vendor_one() -> None:
    profiles = load_profiles()
    answered: set[Oid] = {(1, 3, 6, 1, 2, 1, 33, 1, 2), (1, 3, 6, 1, 4, 1, 534, 1, 2)}
    chosen = [p.name for p in choose_auto(profiles, (1, 3, 6, 1, 4, 1, 534, 1), answered)]
    assert chosen == ["system", "eaton-xups"]
    chosen = [p.name for p in choose_auto(profiles, (1, 3, 6, 1, 4, 1, 99), answered)]
    assert "ups-mib" not in chosen  # xups still answers
    only_std: set[Oid] = {(1, 3, 6, 1, 2, 1, 33, 1, 2)}
    assert [p.name for p in choose_auto(profiles, None, only_std)] == ["system", "ups-mib"]


def test_cli_style_settings_are_accepted() -> None:
    settings = SnmpSettings.model_validate(
        {"type": "snmp", "address": "127.0.0.1:16161", "community": "public",
         "profile": "system,if-mib", "version": "2", "max_repetitions": "10"}
    )  # fmt: skip
    assert settings.profile == ["system", "if-mib"]
    assert settings.version == "2c"
    assert settings.max_repetitions == 10
    auto = SnmpSettings.model_validate({"type": "snmp", "address": "h", "profile": "auto"})
    assert auto.profile == ["auto"]
    v3 = SnmpSettings.model_validate(
        {"type": "snmp", "address": "h", "version": 3, "user": "ops", "auth_protocol": "SHA-256",
         "auth_key": "authpass123", "priv_protocol": "AES", "priv_key": "privpass123"}
    )  # fmt: skip
    assert (v3.version, v3.auth_protocol, v3.priv_protocol) == ("3", "sha256", "aes")


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"version": "3"}, "needs a user"),
        ({"version": "3", "user": "u", "auth_protocol": "sha"}, "needs auth_key"),
        ({"version": "3", "user": "u", "auth_protocol": "sha", "auth_key": "12345678",
          "priv_protocol": "3des", "engine": "lean"}, "engine lean does not do 3des"),
        ({"version": "3", "user": "u", "priv_protocol": "aes", "priv_key": "12345678"},
         "needs an auth_protocol"),
        ({"version": "3", "user": "u", "auth_protocol": "md5", "auth_key": "short"}, "8 characters"),
        ({"auth_protocol": "sha1024"}, "auth_protocol"),
        ({"address": "host:99999"}, "bad port"),
        ({"retries": 50}, "retries"),
        ({"comunity": "x"}, "comunity"),
    ],
)  # fmt: skip
def test_bad_settings_say_what_is_wrong(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SnmpSettings.model_validate({"type": "snmp", "address": "h", **settings})


def test_an_unknown_profile_name_is_a_settings_error() -> None:
    with pytest.raises(ValidationError, match=r"unknown SNMP profile.*if-mibb") as caught:
        SnmpSettings.model_validate({"type": "snmp", "address": "h", "profile": "if-mibb"})
    # Attributed to the key, so the inventory error names its line and the CLI its option.
    assert [e["loc"] for e in caught.value.errors()] == [("profile",)]


def test_a_broken_site_profile_is_a_settings_error_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: bad\nscalars: 3\n")
    with pytest.raises(ValidationError, match=r"bad\.yaml: scalars") as caught:
        SnmpSettings.model_validate(
            {"type": "snmp", "address": "h", "profile_dirs": str(tmp_path), "profile": "x"}
        )
    assert [e["loc"] for e in caught.value.errors()] == [("profile_dirs",)]


def test_secrets_stay_out_of_repr() -> None:
    settings = SnmpSettings.model_validate(
        {"type": "snmp", "address": "h", "version": "3", "user": "ops", "auth_protocol": "sha",
         "auth_key": "TOPSECRETauth", "priv_protocol": "aes", "priv_key": "TOPSECRETpriv",
         "community": "TOPSECRETcomm"}
    )  # fmt: skip
    probe = SnmpProbe("ups-1", settings)
    for text in (repr(settings), repr(probe), repr(probe.target), str(settings)):
        assert "TOPSECRET" not in text


def test_addresses() -> None:
    assert host_port("10.0.0.2") == ("10.0.0.2", 161)
    assert host_port("sw1.example.org:1161") == ("sw1.example.org", 1161)
    assert host_port("[::1]:1161") == ("::1", 1161)
    assert host_port("fe80::1") == ("fe80::1", 161)


def test_the_registry_knows_the_snmp_probe() -> None:
    assert probe_class("snmp") is SnmpProbe
    assert SnmpProbe.cli_target("127.0.0.1:16161") == {"address": "127.0.0.1:16161"}


def test_every_shipped_profile_file_is_named_after_its_profile() -> None:
    for path in SHIPPED_DIR.glob("*.yaml"):
        assert load_profile_file(path).name == path.stem


async def test_v3_keys_missing_from_the_credentials_entry_fail_as_auth_at_poll() -> None:
    settings = SnmpSettings.model_validate(
        {"type": "snmp", "address": "h", "version": "3", "user": "ops", "auth_protocol": "sha",
         "credentials": "ups-v3"}
    )  # fmt: skip
    with pytest.raises(ProbeAuthError, match=r"auth_key.*ups-v3"):
        await SnmpProbe("ups-1", settings).poll(0.0)


def test_an_edited_site_profile_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "my-pdu.yaml"
    path.write_text("name: my-pdu\nscalars:\n  - {name: a, oid: 1.3.6.1.4.1.99999.1.0}\n")
    assert load_profiles((str(tmp_path),))["my-pdu"].scalars[0].name == "a"
    path.write_text("name: my-pdu\nscalars:\n  - {name: b, oid: 1.3.6.1.4.1.99999.1.0}\n")
    os.utime(path, ns=(1, 10**18))  # a different mtime, whatever the clock's resolution
    assert load_profiles((str(tmp_path),))["my-pdu"].scalars[0].name == "b"


def test_shipped_profiles_use_the_units_every_other_probe_uses() -> None:
    # One rule file and one dashboard serve every protocol (DESIGN §4: °C, %RH).
    expected = {"temperature": "°C", "humidity": "%RH"}
    for profile in load_profiles().values():
        specs = list(profile.scalars) + [m for t in profile.tables for m in t.metrics]
        for spec in specs:
            kind = spec.name.rsplit(".", 1)[-1]
            if "." in spec.name and kind in expected:
                assert spec.unit == expected[kind], (profile.name, spec.name, spec.unit)
