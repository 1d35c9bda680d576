"""The spool on a real file system that fills up (a small tmpfs): a batch the store accepted
whose delete cannot be written is not sent again after a restart."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.sinks.spool import Spool

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root"),
]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with contextlib.suppress(OSError), open(filler, "wb", buffering=0) as out:
        while True:
            out.write(b"\0" * 65536)
    with contextlib.suppress(OSError), open(filler, "ab", buffering=0) as out:  # the last bytes
        while True:
            out.write(b"\0")
    return filler


def test_a_delivered_batch_whose_delete_fails_on_a_full_disk_is_not_sent_again(
    small_disk: Path,
) -> None:
    spool = Spool(small_disk / "spool" / "influx.sqlite", max_rows=100_000)
    for poll in range(4):  # four polls of 500 samples: four chunks
        spool.append([f"m,device=d{i} v={i}i {i}" for i in range(poll * 500, poll * 500 + 500)],
                     queued_at=1.0 + poll)  # fmt: skip
    batch = spool.peek(500)
    assert batch is not None and (batch.first_id, batch.last_id, batch.count) == (1, 1, 500)
    filler = fill(small_disk)
    with pytest.raises(OSError, match="No space left"):  # the disk really is full
        (small_disk / "probe").write_bytes(b"x" * 4096)
    # The store accepted the batch; the delete cannot be written, the settled marker can.
    assert spool.remove_upto(batch.last_id) == 500
    spool.close()
    filler.unlink()  # the admin frees the disk and restarts roomwatch
    again = Spool(small_disk / "spool" / "influx.sqlite", max_rows=100_000)
    try:
        nxt = again.peek(500)
        assert nxt is not None
        assert nxt.first_id == 2, "the delivered batch would be written a second time"
        assert nxt.lines[0] == "m,device=d500 v=500i 500"
        assert again.depth == 1500
    finally:
        again.close()


def test_a_marker_from_an_emptied_spool_does_not_hide_new_rows(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite"
    spool = Spool(path, max_rows=1000)
    spool.append(["a 1", "b 2", "c 3"], queued_at=1.0)
    batch = spool.peek(10)
    assert batch is not None
    spool.remove_upto(batch.last_id)  # delivered: the marker says 3, the spool is empty
    spool.close()
    reopened = Spool(path, max_rows=1000)  # ids start again at 1 in an empty spool
    reopened.append(["d 4", "e 5"], queued_at=2.0)
    reopened.close()
    last = Spool(path, max_rows=1000)
    try:
        rows = last.peek(10)
        assert rows is not None and rows.lines == ["d 4", "e 5"]
    finally:
        last.close()
