"""Inventory, credentials and roomwatch.yaml: valid files load; every bad file is rejected with
file, line and reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from alerting.store import sqlite_path
from collector.config import load_config
from inventory import ConfigError, load_credentials, load_inventory
from inventory.model import Selector

GOOD = """\
sites:
  - id: hq
    name: HQ
    rooms: [A101]
devices:
  - id: core-sw1
    kind: switch
    site: hq
    criticality: 1
    tags: [core]
  - id: web1
    name: Intranet
    kind: website
    site: hq
    parent: core-sw1
    probes:
      - type: http
        url: https://intranet.example.org/
        interval: 30s
        timeout: 5s
"""


def write(tmp_path: Path, text: str, name: str = "inventory.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_inventory(path)
    return [str(e) for e in info.value.errors]


def test_a_valid_inventory_loads_devices_probes_and_dependencies(tmp_path: Path) -> None:
    inv = load_inventory(write(tmp_path, GOOD))
    assert set(inv.devices) == {"core-sw1", "web1"}
    web = inv.devices["web1"]
    assert web.name == "Intranet"
    assert web.criticality == 2  # the default
    assert web.probes[0].interval == 30.0
    assert web.probes[0].timeout == 5.0
    assert inv.ancestors("web1") == ["core-sw1"]
    assert [d.id for d in inv.select(Selector(tags=("core",)))] == ["core-sw1"]
    assert [d.id for d in inv.select(Selector(id=("web*",)))] == ["web1"]


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "devices:\n  - id: a\n    kind: [server\n")
    (err,) = errors_of(path)
    assert err.startswith(f"{path}:4:")
    assert "invalid YAML" in err


def test_a_tab_in_the_indentation_says_to_replace_it(tmp_path: Path) -> None:
    path = write(tmp_path, "devices:\n\t- id: a\n")
    (err,) = errors_of(path)
    assert err.startswith(f"{path}:2:1: invalid YAML")
    assert "replace the tab" in err


def test_a_device_with_a_bad_key_still_has_its_probes_checked(tmp_path: Path) -> None:
    text = (
        "devices:\n"
        "  - id: a\n"
        "    kind: server\n"
        "    criticality: high\n"
        "    probes:\n"
        "      - type: http\n"
        "        url: http://127.0.0.1/\n"
        "        expect_stauts: [200]\n"
    )
    path = write(tmp_path, text)
    errs = errors_of(path)
    assert any(e.startswith(f"{path}:4:") and "criticality" in e for e in errs)
    assert any(e.startswith(f"{path}:8:") and "unknown key 'expect_stauts'" in e for e in errs)


def test_hidden_files_in_an_inventory_directory_are_not_inventory(tmp_path: Path) -> None:
    inv = tmp_path / "inventory"
    inv.mkdir()
    write(inv, GOOD, "devices.yaml")
    (inv / ".#devices.yaml").symlink_to("root@host.1234:1700000000")  # an Emacs lock
    (inv / "._devices.yaml").write_bytes(b"\x00\x05\x16\x07 binary")  # macOS metadata
    assert set(load_inventory(inv).devices) == {"core-sw1", "web1"}


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "devices:\n  - id: a\n    kind: server\n    critcality: 1\n")
    (err,) = errors_of(path)
    assert err.startswith(f"{path}:4:5:")
    assert "unknown key 'critcality'" in err


def test_every_error_of_a_file_is_listed(tmp_path: Path) -> None:
    text = (
        "devices:\n"
        "  - id: a\n    kind: server\n    criticality: 7\n"
        "  - id: b\n    kind: toaster\n"
        "  - id: c\n    kind: server\n    probes:\n      - type: http\n        url: ftp://x\n"
    )
    path = write(tmp_path, text)
    errs = errors_of(path)
    assert any(":4:" in e and "criticality" in e for e in errs)
    assert any(":6:" in e and "unknown kind 'toaster'" in e for e in errs)
    assert any(":11:" in e and "url" in e for e in errs)


def test_wrong_type_is_rejected_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "devices:\n  - id: a\n    kind: server\n    tags: core\n")
    (err,) = errors_of(path)
    assert ":4:" in err
    assert "tags" in err


def test_unknown_probe_type_lists_the_known_ones(tmp_path: Path) -> None:
    path = write(
        tmp_path, "devices:\n  - id: a\n    kind: server\n    probes:\n      - type: telnet\n"
    )
    (err,) = errors_of(path)
    assert ":5:" in err
    assert "unknown probe type 'telnet'" in err
    assert "http" in err


def test_unknown_parent_and_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    text = (
        "devices:\n  - id: a\n    kind: server\n    parent: nowhere\n  - id: a\n    kind: server\n"
    )
    errs = errors_of(write(tmp_path, text))
    assert any("duplicate device id 'a'" in e for e in errs)


def test_parent_cycles_are_rejected(tmp_path: Path) -> None:
    text = (
        "devices:\n  - id: a\n    kind: server\n    parent: b\n"
        "  - id: b\n    kind: server\n    parent: a\n"
    )
    errs = errors_of(write(tmp_path, text))
    assert any("cycle" in e for e in errs)


def test_unknown_parent_is_rejected(tmp_path: Path) -> None:
    errs = errors_of(
        write(tmp_path, "devices:\n  - id: a\n    kind: server\n    parent: nowhere\n")
    )
    # at the line of the `parent` key now (it was the device's line)
    assert any(":4:5: devices[0].parent: unknown parent 'nowhere'" in e for e in errs)


def test_a_bad_parent_is_listed_with_the_other_errors_of_the_file(tmp_path: Path) -> None:
    text = (
        "devices:\n  - id: core-sw1\n    kind: switch\n"
        "  - id: web1\n    kind: webiste\n    parent: core-sw2\n"
    )
    errs = errors_of(write(tmp_path, text))
    assert len(errs) == 2, errs
    assert "unknown kind 'webiste' (did you mean 'website'?)" in errs[0]
    assert "unknown parent 'core-sw2' (did you mean 'core-sw1'?)" in errs[1]


def test_errors_say_what_would_be_right_in_the_admins_words(tmp_path: Path) -> None:
    text = (
        "devices:\n  - id: web1\n    kind: website\n    probes:\n      - type: http\n"
        "        url: intranet.example.org\n        methd: GET\n        verify_tls: maybe\n"
    )
    errs = errors_of(write(tmp_path, text))
    assert errs == [
        f"{tmp_path}/inventory.yaml:6:9: devices[0].probes[0].url: must start with http:// or"
        " https:// (found 'intranet.example.org')",
        f"{tmp_path}/inventory.yaml:7:9: devices[0].probes[0]: unknown key 'methd'"
        " (did you mean 'method'?)",
        f"{tmp_path}/inventory.yaml:8:9: devices[0].probes[0].verify_tls: must be true or false"
        " (found 'maybe')",
    ]
    for e in errs:
        assert "String should" not in e and "Input should" not in e


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "devices:\n  - id: a\n    kind: website\n   probes: []\n",
            ":4:4: invalid YAML: the indentation does not line up",
        ),
        (
            "devices:\n  - id: a\n    name: a: b\n",
            ":3:12: invalid YAML: a ':' where YAML does not expect one",
        ),
        (
            "devices:\n  - id: a\n    name\n    kind: x\n",
            ":4:5: invalid YAML: a line without 'key: value'",
        ),
    ],
    ids=["indentation", "colon-in-value", "missing-colon"],
)
def test_yaml_mistakes_are_said_in_words(tmp_path: Path, text: str, expected: str) -> None:
    (err,) = errors_of(write(tmp_path, text))
    assert expected in err
    assert "<block end>" not in err and "<block mapping start>" not in err


def test_an_inventory_directory_loads_every_file(tmp_path: Path) -> None:
    (tmp_path / "inv").mkdir()
    write(tmp_path / "inv", "devices:\n  - id: a\n    kind: server\n", "a.yaml")
    write(tmp_path / "inv", "devices:\n  - id: b\n    kind: ups\n    parent: a\n", "b.yml")
    inv = load_inventory(tmp_path / "inv")
    assert set(inv.devices) == {"a", "b"}


def test_credentials_are_merged_into_probe_settings_and_never_inline(tmp_path: Path) -> None:
    creds = write(tmp_path, "web-basic:\n  url: https://secret.example.org/\n", "credentials.yaml")
    os.chmod(creds, 0o600)
    credentials, warnings = load_credentials(creds)
    assert warnings == []
    assert "secret" not in repr(credentials)
    inv_path = write(
        tmp_path,
        "devices:\n  - id: a\n    kind: website\n    probes:\n      - type: http\n"
        "        url: https://placeholder.example.org/\n        credentials: web-basic\n",
    )
    inv = load_inventory(inv_path, credentials)
    assert inv.devices["a"].probes[0].url == "https://secret.example.org/"  # type: ignore[attr-defined]


def test_a_missing_credentials_entry_is_an_error_with_its_line(tmp_path: Path) -> None:
    credentials, _ = load_credentials(write(tmp_path, "other: {token: x}\n", "credentials.yaml"))
    inv_path = write(
        tmp_path,
        "devices:\n  - id: a\n    kind: website\n    probes:\n      - type: http\n"
        "        url: https://x.example.org/\n        credentials: nope\n",
    )
    with pytest.raises(ConfigError) as info:
        load_inventory(inv_path, credentials)
    (err,) = info.value.errors
    assert err.line == 7
    assert "no credentials entry 'nope'" in str(err)


def test_a_world_readable_credentials_file_is_warned_about(tmp_path: Path) -> None:
    creds = write(tmp_path, "x: {token: t}\n", "credentials.yaml")
    os.chmod(creds, 0o644)
    _, warnings = load_credentials(creds)
    assert warnings
    assert "chmod 600" in warnings[0]


def test_config_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, "inventory: inv.yaml\nrules: [r/]\nstate_dir: st\n", "roomwatch.yaml")
    config = load_config(path)
    assert config.inventory == tmp_path / "inv.yaml"
    assert config.rules == [tmp_path / "r"]
    assert config.store == f"sqlite://{tmp_path / 'st' / 'roomwatch.db'}"
    assert config.maintenance_file == tmp_path / "st" / "maintenance.yaml"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("sqlite:///var/lib/roomwatch/rw.db", "/var/lib/roomwatch/rw.db"),
        ("sqlite:////var/lib/roomwatch/rw.db", "/var/lib/roomwatch/rw.db"),
        ("sqlite:tickets/rw.db", "{tmp}/tickets/rw.db"),
    ],
)
def test_store_urls_name_absolute_paths_or_paths_beside_the_config(
    tmp_path: Path, written: str, expected: str
) -> None:
    path = write(tmp_path, f"store: {written}\n", "roomwatch.yaml")
    url = load_config(path).store
    assert sqlite_path(url) == expected.format(tmp=tmp_path)


def test_a_sink_ca_file_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sinks:\n  - {type: influxdb, name: hq, url: 'https://tsdb.example.org', org: o,"
        " bucket: b, credentials: influx, ca_file: pki/ca.pem}\n",
        "roomwatch.yaml",
    )
    (sink,) = load_config(path).sinks
    assert sink.ca_file == tmp_path / "pki" / "ca.pem"


def test_a_password_in_a_sink_url_is_refused_and_not_echoed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sinks:\n  - {type: influxdb, name: hq, url: 'https://ops:hunter2@tsdb.example.org',"
        " org: o, bucket: b, credentials: influx}\n",
        "roomwatch.yaml",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "password does not belong in the URL" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_an_http_ca_file_is_relative_to_the_inventory_file(tmp_path: Path) -> None:
    (tmp_path / "inv").mkdir()
    path = write(
        tmp_path / "inv",
        "devices:\n  - id: web\n    kind: website\n    probes:\n      - type: http\n"
        "        url: https://intranet.example.org/\n        ca_file: pki/ca.pem\n",
    )
    (probe,) = load_inventory(path).devices["web"].probes
    assert probe.ca_file == str(tmp_path / "inv" / "pki" / "ca.pem")  # type: ignore[attr-defined]


def test_an_email_ca_file_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "alerting:\n  notifiers:\n    - {type: email, name: mail, host: smtp.example.org,"
        " sender: rw@example.org, ca_file: pki/site-ca.pem}\n",
        "roomwatch.yaml",
    )
    (mail,) = load_config(path).alerting.notifiers
    assert mail.ca_file == str(tmp_path / "pki" / "site-ca.pem")  # type: ignore[union-attr]


def test_config_unknown_key_and_bad_section_are_reported_with_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "inventory: inv.yaml\ncolector: {}\nalerting:\n  language: fr\n",
        "roomwatch.yaml",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert f"{path}:2:1: unknown key 'colector'" in text


def test_config_section_owned_by_alerting_is_validated_with_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "inventory: inv.yaml\nalerting:\n  language: fr\n", "roomwatch.yaml")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    (err,) = info.value.errors
    assert err.line == 3
    assert "alerting.language" in str(err)


def test_a_password_inside_a_url_in_the_inventory_is_refused_pointing_to_credentials(
    tmp_path: Path,
) -> None:
    inv_path = write(
        tmp_path,
        "devices:\n  - id: a\n    kind: website\n    probes:\n      - type: http\n"
        "        url: http://admin:s3cret@10.0.0.1/\n",
    )
    (err,) = errors_of(inv_path)
    assert err.startswith(f"{inv_path}:6:9: devices[0].probes[0].url: the URL carries a password")
    assert "credentials file" in err
    assert "s3cret" not in err  # the refusal itself must not print the secret


@pytest.mark.parametrize("header", ["Authorization", "X-Auth-Token", "Cookie", "X-API-Key"])
def test_a_secret_bearing_header_in_the_inventory_is_refused(tmp_path: Path, header: str) -> None:
    inv_path = write(
        tmp_path,
        "devices:\n  - id: a\n    kind: website\n    probes:\n      - type: http\n"
        f"        url: https://x.example.org/\n        headers: {{{header}: 'Bearer abc123'}}\n",
    )
    (err,) = errors_of(inv_path)
    assert f"header {header!r} carries a secret" in err
    assert "credentials file" in err and "token" in err
    assert "abc123" not in err


def test_an_inline_http_password_is_refused_like_every_secret(tmp_path: Path) -> None:
    inv_path = write(
        tmp_path,
        "devices:\n  - id: a\n    kind: website\n    probes:\n      - type: http\n"
        "        url: https://x.example.org/\n        username: ops\n        password: pw\n",
    )
    errors = errors_of(inv_path)
    assert any("probes[0].password: secrets do not belong in the inventory" in e for e in errors)


def test_http_login_comes_from_a_credentials_entry(tmp_path: Path) -> None:
    creds = write(tmp_path, "intranet:\n  username: ops\n  password: s3cret\n", "credentials.yaml")
    os.chmod(creds, 0o600)
    credentials, _ = load_credentials(creds)
    inv_path = write(
        tmp_path,
        "devices:\n  - id: a\n    kind: website\n    probes:\n      - type: http\n"
        "        url: https://x.example.org/\n        credentials: intranet\n",
    )
    probe = load_inventory(inv_path, credentials).devices["a"].probes[0]
    assert (probe.username, probe.password) == ("ops", "s3cret")  # type: ignore[attr-defined]
    assert "s3cret" not in repr(probe)
