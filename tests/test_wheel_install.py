"""A wheel install outside the checkout has the shipped data (defect 8 of issue 9).

The project is built into a wheel from a copy of its sources (so nothing can come from the checkout's
top-level ``hwconfigs``/``workloads`` symlinks), installed with ``pip install --no-deps`` into a fresh
venv, and run from a working directory outside the checkout: shipped packages, presets looked up by
name, a workload, a trace, the demo and the zoo. The fresh venv reaches the third-party dependencies
through a ``.pth`` file naming the project venv's site-packages (no network): a directory listed in a
``.pth`` joins ``sys.path`` but its own ``.pth`` files, among them the editable-install finder of the
checkout, are not processed, so the checkout's snapsim stays out of reach (checked before the install).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from snapsim.cli import main
from snapsim.native import can_build_extensions
from snapsim.resources import DATA

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow  # ~15 s: a wheel build, a venv and a dozen snapsim processes


def _run(cmd: list, cwd: Path, check: bool = True, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["MPLBACKEND"] = "Agg"
    p = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("wheel")
    # 1. the wheel, built from a copy of the sources (what a clone or an sdist holds)
    src = tmp / "src"
    src.mkdir()
    for name in ("setup.cfg", "setup.py", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    # (not the checkout's own builds of the compiled modules: the wheel build compiles them from the sources)
    shutil.copytree(ROOT / "snapsim", src / "snapsim",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", "*.so.sha256", "*.c"))
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-cache-dir", "-q",
          "-w", dist, src], cwd=tmp)
    (wheel,) = dist.glob("snapsim-*.whl")
    # 2. a fresh venv whose only way to the project's dependencies is a .pth naming their directory
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp)
    py = venv / "bin" / "python"
    site = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp).stdout.strip())
    (site / "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp / "work"  # outside the checkout
    work.mkdir()
    before = _run([py, "-c", "import snapsim"], cwd=work, check=False)
    # 3. the install
    _run([py, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel], cwd=tmp)
    probe = ("import json, snapsim\n"
             "try:\n"
             "    import snapsim.resources as r\n"
             "    where = {'data': str(r.DATA), 'hw': str(r.HWCONFIGS), 'wl': str(r.WORKLOADS)}\n"
             "except ImportError:\n"
             "    where = {}\n"
             "from snapsim.native import implementation\n"
             "from snapsim.chiplet import router\n"
             "print(json.dumps({'file': snapsim.__file__, 'router': implementation(router), **where}))")
    where = json.loads(_run([py, "-c", probe], cwd=work).stdout)
    return {"wheel": wheel, "venv": venv, "snapsim": venv / "bin" / "snapsim", "work": work, "before": before,
            **where}


def test_checkout_is_not_importable_in_the_fresh_venv(installed):
    before = installed["before"]
    assert before.returncode != 0 and "No module named 'snapsim'" in before.stderr, before.stderr


def test_snapsim_and_its_data_come_from_the_fresh_venv(installed):
    venv = installed["venv"].resolve()
    for key in ("file", "data", "hw", "wl"):
        path = Path(installed[key]).resolve()
        assert venv in path.parents, f"{key}: {path} is not inside the fresh venv {venv}"
        assert ROOT not in path.parents
    assert Path(installed["hw"], "packages", "ucie-a-2x2.yaml").is_file()


@pytest.mark.skipif(not can_build_extensions(), reason="no Cython or C compiler: the router runs as Python")
def test_the_wheel_carries_the_compiled_router_and_runs_it(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()
    ext = [n for n in names if n.startswith("snapsim/chiplet/router.") and n.endswith(".so")]
    assert len(ext) == 1, names
    assert ext[0] + ".sha256" in names and "snapsim/chiplet/router.pxd" in names and "snapsim/chiplet/router.py" in names
    # the installed extension matches the installed source (no stale-build warning, no fallback)
    assert installed["router"] == "compiled"


def test_wheel_holds_every_shipped_file(installed):
    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    shipped = {p.relative_to(DATA.parents[1]).as_posix() for p in DATA.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert shipped, "no shipped data found in the checkout"
    missing = sorted(shipped - names)
    assert not missing, f"shipped files missing from the wheel (add a glob to setup.cfg package_data): {missing}"
    assert "snapsim/examples/README.md" in names


def _json_run(installed, *args) -> dict:
    p = _run([installed["snapsim"], "run", *args, "--json"], cwd=installed["work"])
    (got,) = json.loads(p.stdout).values()  # keyed by mode; one mode here
    return got


def _checkout_run(capsys, *args) -> dict:
    assert main(["run", *map(str, args), "--json"]) == 0
    (got,) = json.loads(capsys.readouterr().out).values()
    return got


MEASURED = ("latency_ns_p50", "latency_ns_p99", "throughput_inf_per_s", "energy_pj_per_inf", "energy_breakdown_pj",
            "d2d_bits_per_inf", "links", "config_hash")


def test_shipped_package_and_workload_run_as_in_the_checkout(installed, capsys):
    args = ("--hw", Path(installed["hw"], "packages", "ucie-a-2x2.yaml"),
            "--workload", Path(installed["wl"], "lm_32x4096.yaml"), "--mode", "snap")
    got = _json_run(installed, *args)
    assert got["mode"] == "snap" and got["hardware"] == "ucie-a-2x2" and got["energy_pj_per_inf"] > 0
    want = _checkout_run(capsys, "--hw", ROOT / "hwconfigs/packages/ucie-a-2x2.yaml",
                         "--workload", ROOT / "workloads/lm_32x4096.yaml", "--mode", "snap")
    assert {k: got[k] for k in MEASURED} == {k: want[k] for k in MEASURED}


def test_presets_by_name_resolve_to_the_installed_data(installed):
    """A user's own package file naming shipped chiplet and link presets, outside any hwconfigs tree."""
    wl = shutil.copy(ROOT / "workloads" / "resnet18_imagenet.yaml", installed["work"] / "my-workload.yaml")
    pkg = installed["work"] / "my-package.yaml"
    pkg.write_text("kind: hardware\nname: my-package\nchiplet: simba-like-16nm\n"
                   "link: {preset: ucie-standard-16g, lanes: 8}\ntopology: {kind: ring, chiplets: 4}\n")
    got = _json_run(installed, "--hw", pkg, "--workload", wl, "--mode", "ann", "--set", "workload.stream.inferences=4")
    assert got["inferences"] == 4 and got["energy_pj_per_inf"] > 0
    assert {l["preset"] for l in got["links"]} == {"ucie-standard-16g"}
    bad = _run([installed["snapsim"], "run", "--hw", pkg, "--workload", wl, "--set", "link.preset=no-such-link"],
               cwd=installed["work"], check=False)
    assert bad.returncode == 2 and "ucie-advanced-32g" in bad.stderr  # the shipped presets are listed


def test_shipped_trace_replays(installed, capsys):
    args = ("--hw", Path(installed["hw"], "packages", "ucie-a-2x2.yaml"),
            "--workload", Path(installed["wl"], "digits_snap.yaml"),
            "--trace", Path(installed["wl"], "traces", "digits_snap_l1.snaptrace"), "--mode", "snap")
    got = _json_run(installed, *args)
    assert got["trace_metrics"]["accuracy"] > 0.9
    want = _checkout_run(capsys, "--hw", ROOT / "hwconfigs/packages/ucie-a-2x2.yaml",
                         "--workload", ROOT / "workloads/digits_snap.yaml",
                         "--trace", ROOT / "workloads/traces/digits_snap_l1.snaptrace", "--mode", "snap")
    assert {k: got[k] for k in MEASURED} == {k: want[k] for k in MEASURED}


def test_demo_runs_from_the_install(installed):
    p = _run([installed["snapsim"], "demo", "--out-dir", "out"], cwd=installed["work"])
    assert p.stdout.count("snap vs ann") == 2
    assert "36 rows" in p.stdout
    out = installed["work"] / "out"
    assert (out / "demo_front.png").stat().st_size > 0 and (out / "demo_front.csv").is_file()


def test_zoo_emits_the_shipped_files_from_the_install(installed):
    p = _run([installed["snapsim"], "zoo", "rwkv-1.5b", "--parts", "4"], cwd=installed["work"])
    assert p.stdout == (ROOT / "workloads" / "zoo" / "rwkv-1.5b_p4.yaml").read_text(encoding="utf-8")
    assert "rwkv-14b" in _run([installed["snapsim"], "zoo", "--list"], cwd=installed["work"]).stdout


def test_validate_every_shipped_config_from_the_install(installed):
    files = sorted(Path(installed["hw"]).glob("*/*.yaml")) + sorted(Path(installed["wl"]).glob("**/*.yaml"))
    assert len(files) > 60
    p = _run([installed["snapsim"], "validate", *files], cwd=installed["work"])
    assert p.stdout.count(": ok") == len(files)
