"""Sweeps under faults (issue 14): workers die with their parent, the store keeps one type per column and
refuses parts it cannot conform, write faults are one line and keep what is done, pareto reads an
unfinished sweep, a scheduler that is not one fails fast and leaves nothing behind."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sweep_helpers
from sweep_helpers import FakeEvaluator

from snapsim.cli import main
from snapsim.errors import SnapsimError
from snapsim.sweep import load_results, load_sweep, run_sweep
from snapsim.sweep.store import ResultStore, parts_dir

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "sweeps"
sys.path.insert(0, str(REPO / "tests" / "fuzz"))
from harness import FakeService, processes_with_marker  # noqa: E402


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=["elapsed_s"]).reset_index(drop=True)


def reference(tmp_path: Path, name: str = "fake_grid.yaml") -> pd.DataFrame:
    out = tmp_path / f"reference-{name}.parquet"
    run_sweep(load_sweep(DATA / name), out, workers=1, evaluate=sweep_helpers.fake_evaluate, progress=False)
    return pd.read_parquet(out)


@pytest.mark.parametrize("start_method", ["forkserver", "spawn"])
def test_workers_die_when_the_sweep_process_is_killed(tmp_path, start_method):
    """SIGKILL of the main process only (not its group) used to leave the forkserver, the resource tracker
    and the workers running until someone killed them (17 minutes observed). Spawn is the start method
    where there is no forkserver (macOS, Windows): its workers watch their parent the same way."""
    marker = f"orphan-test-{os.getpid()}-{time.monotonic_ns()}"
    path = [p for p in (os.environ.get("PYTHONPATH"), str(REPO), str(REPO / "tests")) if p]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path), CI="1",
               SNAPSIM_FAKE_SLEEP_S="0.3", SNAPSIM_FUZZ_CASE=marker)
    out = tmp_path / "r.parquet"
    script = ("import multiprocessing, sys\n"
              + ("multiprocessing.get_all_start_methods = lambda: ['spawn']\n" if start_method == "spawn" else "")
              + "from snapsim.cli import main\nsys.exit(main(sys.argv[1:]))\n")
    proc = subprocess.Popen([sys.executable, "-c", script, "sweep", str(DATA / "fake_grid.yaml"), "--out", str(out),
                             "--workers", "2", "--evaluator", "sweep_helpers:fake_evaluate"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(processes_with_marker(marker)) < 4:  # main, workers, helpers
            time.sleep(0.05)
        assert len(processes_with_marker(marker)) >= 4, "the pool never started"
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and processes_with_marker(marker):
            time.sleep(0.1)
        left = processes_with_marker(marker)
    finally:
        for pid in processes_with_marker(marker):
            os.kill(pid, signal.SIGKILL)
    assert left == [], f"{len(left)} processes outlived the sweep"


def _part(store_dir: Path, name: str, table: pa.Table) -> Path:
    path = store_dir / name
    pq.write_table(table, path)
    return path


def test_int_columns_stay_ints_and_wrong_typed_parts_are_refused(tmp_path, capsys):
    """A part with wrong types was accepted and turned int columns into floats; now a part holding whole
    floats in an int column is cast back, and a part holding text there is set aside and its points rerun."""
    ref = reference(tmp_path)
    assert ref["seed"].dtype == "int64"
    spec = load_sweep(DATA / "fake_grid.yaml")
    out = tmp_path / "r.parquet"
    run_sweep(spec, out, workers=1, evaluate=sweep_helpers.fake_evaluate, progress=False)
    table = pq.read_table(out)
    rows = table.to_pylist()
    # remove two points from the table, and put them back as parts of the wrong types
    keep = pa.Table.from_pylist(rows[2:], schema=table.schema)
    pq.write_table(keep, out)
    d = parts_dir(out)
    d.mkdir()
    whole = pa.Table.from_pylist([rows[0]], schema=table.schema)
    whole = whole.set_column(whole.schema.get_field_index("seed"), "seed", pa.array([float(rows[0]["seed"])]))
    _part(d, "part-0-whole.parquet", whole)
    text = pa.Table.from_pylist([rows[1]], schema=table.schema)
    text = text.set_column(text.schema.get_field_index("seed"), "seed", pa.array(["seven"]))
    _part(d, "part-1-text.parquet", text)
    status = pa.Table.from_pylist([rows[1]], schema=table.schema)
    status = status.set_column(status.schema.get_field_index("status"), "status", pa.array([1]))
    _part(d, "part-2-status.parquet", status)

    assert len(load_results(out)) == len(rows) - 1  # readers skip the refused parts
    code = main(["sweep", str(DATA / "fake_grid.yaml"), "--out", str(out), "--workers", "1",
                 "--evaluator", "sweep_helpers:fake_evaluate"])
    stdout = capsys.readouterr().out
    assert code == 1  # the fake model fails its rate-13 points by design
    assert "1 ok" in stdout  # the point of the refused parts ran again
    assert stdout.count("warning: ") == 2 and "part-1-text.parquet: part refused (column 'seed' holds string" in stdout
    assert sorted(p.name for p in d.iterdir()) == ["part-1-text.parquet.rejected", "part-2-status.parquet.rejected"]
    final = pd.read_parquet(out)
    assert final["seed"].dtype == "int64" and pq.read_table(out).schema.field("seed").type == pa.int64()
    pd.testing.assert_frame_equal(comparable(final), comparable(ref))


def _inject_write_fault(monkeypatch, after: int, err: int) -> list[int]:
    """``pq.write_table`` in the store fails with ``err`` from call ``after`` on (half a file written)."""
    import snapsim.sweep.store as store

    calls = [0]
    real = store.pq.write_table

    def write(table, where, *a, **k):
        calls[0] += 1
        if calls[0] > after:
            Path(where).write_bytes(b"PAR1 half")
            raise OSError(err, os.strerror(err), str(where))
        return real(table, where, *a, **k)

    monkeypatch.setattr(store.pq, "write_table", write)
    return calls


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EACCES, errno.EROFS])
def test_write_faults_are_one_line_and_keep_what_is_done(tmp_path, monkeypatch, capsys, err):
    """No space left, no permission, a read-only file system: tracebacks before; now one line, the parts
    written so far stay, and the rerun resumes to the same table as an uninterrupted sweep."""
    ref = reference(tmp_path)
    out = tmp_path / "r.parquet"
    _inject_write_fault(monkeypatch, after=1, err=err)
    code = main(["sweep", str(DATA / "fake_grid.yaml"), "--out", str(out), "--workers", "1",
                 "--evaluator", "sweep_helpers:fake_evaluate"])
    stderr = capsys.readouterr().err
    assert code == 2 and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert f"cannot write a part of the results ({os.strerror(err)})" in stderr
    assert "points are done and kept (rerun the same command to resume)" in stderr
    kept = load_results(out)
    assert 1 <= len(kept) < 24
    assert not list(parts_dir(out).glob(".*.tmp"))
    monkeypatch.undo()
    assert main(["sweep", str(DATA / "fake_grid.yaml"), "--out", str(out), "--workers", "1",
                 "--evaluator", "sweep_helpers:fake_evaluate"]) == 1
    assert f"{len(kept)} skipped" in capsys.readouterr().out
    pd.testing.assert_frame_equal(comparable(pd.read_parquet(out)), comparable(ref))


def test_unwritable_parts_directory_or_a_file_in_its_place(tmp_path, capsys):
    out = tmp_path / "r.parquet"
    parts_dir(out).write_text("not a directory")
    code = main(["sweep", str(DATA / "fake_grid.yaml"), "--out", str(out), "--workers", "1",
                 "--evaluator", "sweep_helpers:fake_evaluate"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "is not a directory" in err
    if os.geteuid() != 0:  # as root, permissions do not stop a write (the injected faults above cover it)
        parts_dir(out).unlink()
        parts_dir(out).mkdir()
        parts_dir(out).chmod(0o555)
        try:
            code = main(["sweep", str(DATA / "fake_grid.yaml"), "--out", str(out), "--workers", "1",
                         "--evaluator", "sweep_helpers:fake_evaluate"])
        finally:
            parts_dir(out).chmod(0o755)
        err = capsys.readouterr().err
        assert code == 2 and "Permission denied" in err and len(err.strip().splitlines()) == 1


def test_a_results_file_that_cannot_be_replaced_keeps_the_parts(tmp_path, monkeypatch, capsys):
    """An immutable results file (chattr +i: rename over it fails with EPERM) gave a traceback."""
    ref = reference(tmp_path, "fake_grid.yaml")
    out = tmp_path / "r.parquet"
    half = tmp_path / "half.yaml"
    half.write_text((DATA / "fake_grid.yaml").read_text().replace("[8, 13, 16, 32]", "[8, 13]")
                    .replace("tiny_workload.yaml", str(DATA / "tiny_workload.yaml"))
                    .replace("../../../hwconfigs", str(REPO / "hwconfigs")))
    run_sweep(load_sweep(half), out, workers=1, evaluate=sweep_helpers.fake_evaluate, progress=False)
    real = os.replace
    replaced = []

    def immutable(src, dst, *a, **k):  # as `chattr +i` does (that needs root): renaming over it fails
        if Path(dst) == out:
            replaced.append(dst)
            if len(replaced) > 1:  # the sweep starts (renumbering its table), then the file turns immutable
                raise PermissionError(errno.EPERM, "Operation not permitted", str(dst))
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", immutable)
    code = main(["sweep", str(DATA / "fake_grid.yaml"), "--out", str(out), "--workers", "1",
                 "--evaluator", "sweep_helpers:fake_evaluate"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"{out}: cannot write the results table (Operation not permitted)" in err
    assert "the finished points are kept in" in err
    assert len(load_results(out)) == 24  # the new points are in the parts
    monkeypatch.undo()
    main(["sweep", str(DATA / "fake_grid.yaml"), "--out", str(out), "--workers", "1",
          "--evaluator", "sweep_helpers:fake_evaluate"])
    assert "18 skipped" in capsys.readouterr().out  # the 6 failing points are retried
    pd.testing.assert_frame_equal(comparable(pd.read_parquet(out)), comparable(ref))


def test_pareto_reads_the_finished_parts_of_an_unfinished_sweep(tmp_path, capsys):
    out = tmp_path / "r.parquet"
    spec = load_sweep(DATA / "fake_grid.yaml")
    rows = [{"point_index": i, "point_hash": f"h{i}", "status": "ok", "mode": "ann",
             **sweep_helpers.fake_metrics({**p, "link.rate_gtps": 8})} for i, p in enumerate(spec.run_points()[:6])]
    with ResultStore(out) as store:  # a killed sweep: parts written, never consolidated
        store.append(rows[:3])
        store.append(rows[3:])
    assert not out.exists()
    assert main(["pareto", str(out), "-o", str(tmp_path / "f.png")]) == 0
    assert "6 points from" in capsys.readouterr().out


@pytest.mark.parametrize("greeting", [b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", b"SSH-2.0-OpenSSH_9\r\n",
                                      None], ids=["http", "ssh", "silent"])
def test_a_non_dask_service_is_a_clean_error_and_leaves_nothing(tmp_path, greeting):
    """Before: a MemoryError (a 3 EiB allocation for a frame length read from text) or a hang."""
    server = FakeService(greeting)
    try:
        t0 = time.perf_counter()
        with pytest.raises(SnapsimError, match=f"--scheduler tcp://127.0.0.1:{server.port}: "):
            run_sweep(load_sweep(DATA / "fake_zip.yaml"), tmp_path / "r.parquet",
                      scheduler=f"tcp://127.0.0.1:{server.port}", evaluate=FakeEvaluator(), progress=False)
        assert time.perf_counter() - t0 < 10
    finally:
        server.close()
    assert list(tmp_path.iterdir()) == []
