"""Dask backend: a LocalCluster of 2 worker processes on loopback gives the same table as local processes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sweep_helpers import FakeEvaluator

from snapsim.errors import SnapsimError
from snapsim.sweep import load_results, load_sweep, run_sweep

distributed = pytest.importorskip("distributed", reason="Dask is an optional extra (pip install 'dask[distributed]')")

DATA = Path(__file__).parent / "data" / "sweeps"


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["elapsed_s"]).reset_index(drop=True)


def test_dask_cluster_matches_local_processes(tmp_path):
    spec = load_sweep(DATA / "fake_grid.yaml")  # includes failing points
    local = run_sweep(spec, tmp_path / "local.parquet", workers=2, evaluate=FakeEvaluator(), progress=False)
    # an existing cluster, reached by address
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        log = tmp_path / "log"
        remote = run_sweep(spec, tmp_path / "tcp.parquet", scheduler=cluster.scheduler_address,
                           evaluate=FakeEvaluator(str(log)), progress=False)
        assert len(log.read_text().splitlines()) == 24  # each point evaluated exactly once
    # a cluster started by the sweep itself
    own = run_sweep(spec, tmp_path / "own.parquet", scheduler="local", evaluate=FakeEvaluator(), progress=False)
    for s in (local, remote, own):
        assert (s.ok, s.failed) == (18, 6)
    expected = comparable(load_results(tmp_path / "local.parquet"))
    pd.testing.assert_frame_equal(comparable(load_results(tmp_path / "tcp.parquet")), expected)
    pd.testing.assert_frame_equal(comparable(load_results(tmp_path / "own.parquet")), expected)


def test_unreachable_scheduler_is_a_user_error(tmp_path):
    """A refused port fails at once (no 10 s of retries) and leaves nothing behind: no results file, no
    parts directory (issue 14)."""
    import time

    spec = load_sweep(DATA / "fake_zip.yaml")
    t0 = time.perf_counter()
    with pytest.raises(SnapsimError, match=r"--scheduler tcp://127.0.0.1:9: cannot connect \(Connection refused\)"):
        run_sweep(spec, tmp_path / "r.parquet", scheduler="tcp://127.0.0.1:9", evaluate=FakeEvaluator(),
                  progress=False)
    assert time.perf_counter() - t0 < 5
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_cli_reads_the_scheduler_from_the_environment(tmp_path, monkeypatch, capsys):
    from snapsim.cli import main

    monkeypatch.setattr("snapsim.sweep.dask_backend.CONNECT_TIMEOUT_S", 1)
    monkeypatch.setenv("SNAPSIM_DASK_SCHEDULER", "tcp://127.0.0.1:9")
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    code = main(["sweep", str(DATA / "fake_zip.yaml"), "--out", str(tmp_path / "r.parquet"),
                 "--evaluator", "sweep_helpers:fake_evaluate"])
    assert code == 2
    assert "snapsim sweep: error: --scheduler tcp://127.0.0.1:9: cannot connect" in capsys.readouterr().err
