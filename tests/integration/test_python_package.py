"""`python -m build` makes a wheel and an sdist that carry everything roomwatch reads at run
time (templates, static files, locale catalogues, device profiles, migrations: every non-Python
file of its packages), the sdist also what packaging needs (unit, starter configuration,
dashboards, docs, packaging/), and neither the tests."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.fixtures.peers import env_without_proxy
from tests.fixtures.source_copy import copy_tree, package_data_files

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tree = copy_tree(tmp_path_factory.mktemp("build") / "src")
    out = tree.parent / "dist"
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(tree)],
        capture_output=True, text=True, timeout=600, env=env_without_proxy(), check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (wheel,) = out.glob("roomwatch-*.whl")
    (sdist,) = out.glob("roomwatch-*.tar.gz")
    return wheel, sdist


def test_the_wheel_carries_every_data_file_of_the_packages(built: tuple[Path, Path]) -> None:
    wheel, _ = built
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = package_data_files()
    assert any(n.startswith("core/locale/") for n in wanted)  # the walk found them
    assert wanted - names == set()
    assert "collector/api/metrics.py" in names
    assert not [n for n in names if n.startswith("tests/")]
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "roomwatch = collector.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_sdist_carries_the_packages_and_what_packaging_needs(built: tuple[Path, Path]) -> None:
    _, sdist = built
    with tarfile.open(sdist) as archive:
        names = {n.split("/", 1)[1] for n in archive.getnames() if "/" in n}
    assert package_data_files() - names == set()
    for needed in ("systemd/roomwatch.service", "systemd/etc/roomwatch.yaml",
                   "dashboards/prometheus/overview.json", "docs/upgrade.md",
                   "packaging/build-deb", "packaging/debian/postinst", "pyproject.toml"):  # fmt: skip
        assert needed in names, needed
    assert not [n for n in names if n.startswith("tests/")]
