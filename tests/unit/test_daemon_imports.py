"""A daemon loads a library only when its configuration uses it: psycopg (10 MiB of the
process) with a PostgreSQL store, cryptography (8 MiB) with SNMPv3 privacy; and a sink writes
with aiohttp, which the daemon has loaded for its API anyway, not with influxdb-client
(14 MiB, and a blocking client that starves under the GIL). Measured RSS lives
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


def test_a_daemon_with_a_sink_loads_no_blocking_http_client() -> None:
    loaded = _loaded_after(
        "from pathlib import Path\n"
        "from collector.sinks.config import SinkConfig\n"
        "from collector.sinks.factory import build_sinks\n"
        "from inventory.credentials import Credentials\n"
        "config = SinkConfig(name='vm', url='http://127.0.0.1:8428', org='o', bucket='b',"
        " credentials='influx')\n"
        "creds = Credentials({'influx': {'token': 't'}})\n"
        "assert len(build_sinks([config], creds, Path('/nonexistent'))) == 1"
    )
    assert "collector" in loaded
    assert "aiohttp" in loaded
    assert not loaded & {"influxdb_client", "urllib3", "requests"}


def test_snmpv3_privacy_loads_cryptography_when_a_message_is_encrypted() -> None:
    loaded = _loaded_after(
        "from probes.snmp import usm\nusm._cipher(bytes(16), bytes(16), des=False).encryptor()"
    )
    assert "cryptography" in loaded
