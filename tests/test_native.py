"""Compiled modules (snapsim/native.py): the router level runs compiled where this machine can build it, the
Python source gives the same pinned results, and a build older than its source is never run.

The stale-build tests compile a one-line module with Cython in a temporary package (a few seconds) and
import it in fresh processes, so the test process's own modules are untouched.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from snapsim.chiplet import router
from snapsim.cli import main
from snapsim.native import PURE_ENV, can_build_extensions, digest_path, implementation, pure_requested, source_digest

ROOT = Path(__file__).resolve().parents[1]
needs_build = pytest.mark.skipif(not can_build_extensions(), reason="no Cython or C compiler here")


@needs_build
def test_the_router_is_compiled_where_this_machine_can_build_it():
    # make test runs `make build` first; a process asked for the source gets it
    assert pure_requested() or implementation(router) == "compiled", \
        "the router runs as Python here although this machine can compile it: `make build`"


@needs_build
@pytest.mark.slow
def test_the_python_source_gives_the_pinned_router_results():
    """tests/test_router_identity.py pins every packet's cycles on runs through every path of the fabric;
    they pass compiled in this process, and here on the Python source."""
    env = dict(os.environ, **{PURE_ENV: "1"})
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_router_identity.py",
                        "tests/test_router.py", "tests/test_native.py::test_the_copy_a_process_runs"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert " passed" in p.stdout and "skipped" not in p.stdout.splitlines()[-1], p.stdout[-500:]


def test_the_copy_a_process_runs():
    """A process asked for the source (the subprocess above) runs it, under the module's own name."""
    if pure_requested():
        assert implementation(router) == "python"
    assert router.RouterFabric.__module__ == "snapsim.chiplet.router"


# ------------------------------------------------------------------------------------ a stale build


PROBE = ("import json, sys\n"
         "from snapsim.native import select, implementation\n"
         "select('nativepkg.mod')\n"
         "import nativepkg.mod as m\n"
         "print(json.dumps([implementation(m), m.VALUE]))\n")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A package ``nativepkg`` whose ``mod.py`` (``VALUE = 1``) is compiled in place, its digest recorded as
    setup.py records it."""
    tmp = tmp_path_factory.mktemp("native")
    pkg = tmp / "nativepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("VALUE = 1\n")
    build = ("from setuptools import setup\nfrom Cython.Build import cythonize\n"
             "setup(ext_modules=cythonize(['nativepkg/mod.py'], quiet=True), script_args=['-q', 'build_ext', '--inplace'])\n")
    p = subprocess.run([sys.executable, "-c", build], cwd=tmp, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    (ext,) = pkg.glob("mod.*.so")
    digest_path(ext).write_text(source_digest(pkg / "mod.py") + "\n")
    return tmp


def _probe(root: Path, **env) -> tuple[list, str]:
    e = {k: v for k, v in os.environ.items() if k != PURE_ENV}
    e.update(env, PYTHONPATH=os.pathsep.join([str(root), str(ROOT)]))
    p = subprocess.run([sys.executable, "-c", PROBE], cwd=root, env=e, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout), p.stderr


@needs_build
def test_a_build_of_the_source_beside_it_runs_compiled(built):
    assert _probe(built) == (["compiled", 1], "")


@needs_build
def test_the_source_runs_when_asked(built):
    assert _probe(built, **{PURE_ENV: "1"}) == (["python", 1], "")
    assert _probe(built, **{PURE_ENV: "0"}) == (["compiled", 1], "")


@needs_build
def test_a_source_edited_since_the_build_runs_as_python_with_a_warning(built):
    mod = built / "nativepkg" / "mod.py"
    mod.write_text("VALUE = 2\n")
    try:
        got, err = _probe(built)
    finally:
        mod.write_text("VALUE = 1\n")
    assert got == ["python", 2]
    assert "was not built from the mod.py beside it" in err and "make build" in err
    assert _probe(built) == (["compiled", 1], "")  # the same bytes again: the build is current


@needs_build
def test_a_build_without_its_digest_is_not_trusted(built):
    (ext,) = (built / "nativepkg").glob("mod.*.so")
    rec = digest_path(ext)
    saved = rec.read_text()
    rec.unlink()
    try:
        got, err = _probe(built)
    finally:
        rec.write_text(saved)
    assert got == ["python", 1] and "was not built from" in err


def test_a_module_without_an_extension_is_left_to_python(tmp_path):
    pkg = tmp_path / "nativepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("VALUE = 3\n")
    assert _probe(tmp_path) == (["python", 3], "")


# ------------------------------------------------------------------------------------ the benchmark


@pytest.mark.slow
def test_router_benchmark_reports_its_copy_and_baselines(capsys):
    assert main(["bench", "--suite", "router", "--quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["router"]
    target, hot = out["cases"]
    assert out["router_implementation"] == implementation(router)
    assert out["router_flit_hops_per_cpu_s"] == target["router_flit_hops_per_cpu_s"] > 0
    assert out["meets_target"] == (target["router_flit_hops_per_cpu_s"] >= out["target_router_flit_hops_per_cpu_s"])
    for case in (target, hot):  # both levels carried the same traffic (they differ only in what is still in flight)
        assert case["router_flit_hops"] > 10_000
        assert abs(case["ideal_flit_hops"] - case["router_flit_hops"]) < 0.02 * case["router_flit_hops"]
    if out["router_implementation"] == "compiled":
        py = out["python_source"]
        # the Python source in a second process simulates exactly the same flit-hops
        assert py["router_implementation"] == "python" and py["router_flit_hops"] == target["router_flit_hops"]
        assert py["compiled_vs_python"] == pytest.approx(
            target["router_flit_hops_per_cpu_s"] / py["router_flit_hops_per_cpu_s"])
    else:
        assert "python_source" not in out
