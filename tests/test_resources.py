"""snapsim.resources: the one place that knows where the shipped data lives (inside the package), and the
checkout's top-level symlinks that keep the documented paths (``hwconfigs/...``, ``workloads/...``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import snapsim
from snapsim import resources
from snapsim.config.load import SHIPPED_HWCONFIGS
from snapsim.errors import SnapsimError
from snapsim.resources import DATA, HWCONFIGS, WORKLOADS, shipped

ROOT = Path(__file__).resolve().parents[1]


def test_data_is_inside_the_package():
    pkg = Path(snapsim.__file__).resolve().parent
    assert DATA.resolve() == pkg / "data"
    assert HWCONFIGS == DATA / "hwconfigs" and WORKLOADS == DATA / "workloads"
    assert SHIPPED_HWCONFIGS == HWCONFIGS  # the config loader's preset directory is the same one
    for sub in ("link", "chiplet", "packages"):
        assert any((HWCONFIGS / sub).glob("*.yaml")), sub
    for sub in ("zoo", "sweeps", "traces"):
        assert any((WORKLOADS / sub).iterdir()), sub


@pytest.mark.parametrize("link,target", [("hwconfigs", HWCONFIGS), ("workloads", WORKLOADS)])
def test_checkout_paths_are_symlinks_into_the_package_data(link, target):
    path = ROOT / link
    assert path.is_symlink(), f"{link} must be a symlink into snapsim/data (git keeps it as one)"
    assert os.readlink(path) == f"snapsim/data/{link}"  # relative: valid in any clone
    assert path.resolve() == target.resolve()


def test_checkout_symlinks_are_committed_as_symlinks():
    out = subprocess.run(["git", "ls-files", "-s", "hwconfigs", "workloads"], cwd=ROOT, capture_output=True,
                         text=True)
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    modes = {line.split()[-1]: line.split()[0] for line in out.stdout.splitlines()}
    assert modes == {"hwconfigs": "120000", "workloads": "120000"}


def test_shipped_finds_files_and_directories():
    assert shipped("hwconfigs/packages/ucie-a-2x2.yaml") == HWCONFIGS / "packages" / "ucie-a-2x2.yaml"
    assert shipped(Path("workloads") / "traces" / "digits_snap_l2.snaptrace").is_dir()
    # a documented checkout path names the same file relative to the repository and to the data
    assert shipped("workloads/lm_32x4096.yaml").read_bytes() == (ROOT / "workloads/lm_32x4096.yaml").read_bytes()


def test_shipped_missing_file_is_a_clear_error():
    with pytest.raises(SnapsimError) as exc:
        shipped("hwconfigs/packages/no-such.yaml")
    msg = str(exc.value)
    assert msg.startswith("hwconfigs/packages/no-such.yaml: no such shipped file")
    assert "hwconfigs/packages/ holds:" in msg and "ucie-a-2x2.yaml" in msg
    with pytest.raises(SnapsimError, match=r"no-such/x\.yaml: no such shipped file .* \./ holds: hwconfigs, workloads"):
        shipped("no-such/x.yaml")


@pytest.mark.parametrize("bad", ["/etc/passwd", "../setup.cfg", "workloads/../../cli.py", ""])
def test_shipped_rejects_paths_outside_the_data(bad):
    with pytest.raises(SnapsimError, match="not a path inside snapsim's shipped data"):
        shipped(bad)


def test_no_module_computes_paths_into_the_repository():
    """Shipped data is reached through snapsim.resources only."""
    offenders = []
    for path in sorted(Path(resources.__file__).parent.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "parents[" in text or "SHIPPED_HWCONFIGS.parent" in text:
            offenders.append(path.relative_to(ROOT).as_posix())
    assert not offenders
