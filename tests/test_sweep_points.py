"""The runner core: explicit lists of identified points run resumably on one backend, and the backends
behind their protocol."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest
from sweep_helpers import FakeEvaluator, fake_metrics

import snapsim.sweep.runner as runner_module
from snapsim.errors import SnapsimError
from snapsim.sweep import load_results
from snapsim.sweep.backends import Backend, InlineBackend, ProcessBackend
from snapsim.sweep.runner import PointRunner

SWEEP = Path(__file__).resolve().parents[1] / "snapsim" / "sweep"


def points(rates) -> tuple[list[dict], list[str]]:
    """Run points of the fake model, each with its own identity (the hash is the caller's business)."""
    pts = [{"mode": "ann", "seed": 0, "fidelity": "fast", "link.rate_gtps": r} for r in rates]
    return pts, [f"id-{r}" for r in rates]


def test_explicit_points_resume_across_runs_on_one_backend(tmp_path, monkeypatch):
    opened = []
    real_open = runner_module.open_backend
    monkeypatch.setattr(runner_module, "open_backend", lambda *a: opened.append(a) or real_open(*a))
    log = tmp_path / "log"
    out = tmp_path / "r.parquet"
    with PointRunner(out, evaluate=FakeEvaluator(str(log)), workers=1, progress=False) as runner:
        first = runner.run(*points([8, 13, 16]), name="batch")
        assert (first.total, first.skipped, first.ok, first.failed) == (3, 0, 2, 1)  # 13 fails in the fake model
        assert list(runner.table["point_hash"]) == ["id-8", "id-13", "id-16"]
        # a second batch: the done points are skipped, the failed one is retried, the new one runs
        second = runner.run(*points([8, 13, 16, 32]), name="batch")
        assert (second.total, second.skipped, second.ok, second.failed) == (4, 2, 1, 1)
        table = runner.table
    assert len(opened) == 1  # one backend for both batches
    assert len(log.read_text().splitlines()) == 3 + 2
    assert list(table["point_index"]) == [0, 1, 2, 3] and list(table["status"]) == ["ok", "error", "ok", "ok"]
    assert table.loc[3, "latency_ns_p50"] == fake_metrics(points([32])[0][0])["latency_ns_p50"]
    # on exit the rows are folded into the main file, as load_results reads them
    assert not out.with_name(out.name + ".parts").exists()
    pd.testing.assert_frame_equal(load_results(out).drop(columns="elapsed_s"), table.drop(columns="elapsed_s"))
    # a new runner on the same file: nothing to run but the failing point
    with PointRunner(out, evaluate=FakeEvaluator(str(log)), workers=1, progress=False) as again:
        third = again.run(*points([8, 13, 16, 32]))
    assert (third.skipped, third.ok, third.failed) == (3, 0, 1)


def test_explicit_points_with_a_repeated_identity_run_once(tmp_path):
    pts, hashes = points([8, 16])
    with PointRunner(tmp_path / "r.parquet", evaluate=FakeEvaluator(), workers=1, progress=False) as runner:
        s = runner.run(pts + pts[:1], hashes + hashes[:1])
    assert (s.total, s.ok) == (2, 2)


def test_runner_refuses_bad_arguments(tmp_path):
    with pytest.raises(SnapsimError, match="--workers must be at least 1"):
        PointRunner(tmp_path / "r.parquet", evaluate=FakeEvaluator(), workers=0)
    with pytest.raises(TypeError, match="exactly one"):
        PointRunner(tmp_path / "r.parquet")
    with PointRunner(tmp_path / "r.parquet", evaluate=FakeEvaluator(), workers=1) as runner:
        with pytest.raises(ValueError, match="2 points but 1 hashes"):
            runner.run(points([8, 16])[0], ["x"])


def test_local_backends_implement_the_protocol():
    inline = InlineBackend(FakeEvaluator())
    pool = ProcessBackend(FakeEvaluator(), 1)
    try:
        for backend in (inline, pool):
            assert isinstance(backend, Backend)
            handle = backend.submit([(0, "h", points([8])[0][0])])
            (done, rows), = backend.wait([handle])
            assert done is handle and rows[0]["status"] == "ok" and rows[0]["point_hash"] == "h"
    finally:
        pool.close()
        inline.close()


def _sweep_imports(module: str) -> set[str]:
    tree = ast.parse((SWEEP / f"{module}.py").read_text())
    return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 1}


def test_dask_backend_depends_only_on_the_backend_protocol_module():
    """No runner <-> dask_backend cycle: the Dask backend builds on snapsim.sweep.backends alone, and the
    backends module imports no other sweep module."""
    assert _sweep_imports("dask_backend") == {"backends"}
    assert _sweep_imports("backends") == set()
    assert "dask_backend" not in _sweep_imports("backends")


def test_dask_backend_has_the_protocol_methods():
    from snapsim.sweep.dask_backend import DaskBackend  # importing it does not import distributed

    for name in ("submit", "wait", "close"):
        assert callable(getattr(DaskBackend, name)), name
