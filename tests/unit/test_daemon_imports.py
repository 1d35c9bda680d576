"""A daemon loads a library only when its configuration uses it: psycopg (10 MiB of the
process) with a PostgreSQL store, cryptography (8 MiB) with SNMPv3 privacy, influxdb-client
(14 MiB) with a sink. Measured RSS lives
in bench/README.md; this checks the structure that keeps it small, in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _loaded_after(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=True,
    )
    return {name.split(".")[0] for name in done.stdout.split()}


def test_the_daemon_on_sqlite_polling_v2c_loads_neither_psycopg_nor_cryptography() -> None:
    loaded = _loaded_after(
        "import collector.daemon\n"
        "from probes.snmp.engines import make_session\n"
        "from probes.snmp.session import Target\n"
        "make_session(Target(host='192.0.2.1', port=161, version='2c', community='c'))"
    )
    assert "collector" in loaded
    assert "probes" in loaded
    assert not loaded & {"psycopg", "psycopg_pool", "cryptography"}


def test_a_daemon_without_sinks_does_not_load_the_influxdb_client() -> None:
    loaded = _loaded_after(
        "from pathlib import Path\n"
        "from collector.sinks.factory import build_sinks\n"
        "from inventory.credentials import Credentials\n"
        "assert build_sinks([], Credentials({}), Path('/nonexistent')) == []"
    )
    assert "collector" in loaded
    assert "influxdb_client" not in loaded


def test_snmpv3_privacy_loads_cryptography_when_a_message_is_encrypted() -> None:
    loaded = _loaded_after(
        "from probes.snmp import usm\nusm._cipher(bytes(16), bytes(16), des=False).encryptor()"
    )
    assert "cryptography" in loaded
