"""Running sweeps: failing points, resume, crash safety (SIGKILL), the result store and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import sweep_helpers
from sweep_helpers import CrashingEvaluator, FakeEvaluator, fake_metrics, point_key

from snapsim.cli import main
from snapsim.errors import SnapsimError
from snapsim.sweep import load_results, load_sweep, run_sweep
from snapsim.sweep.runner import progress_enabled
from snapsim.sweep.store import ResultStore, parts_dir

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data" / "sweeps"
TESTS = REPO / "tests"


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    """A results table without the timing column, for equality checks."""
    return df.drop(columns=["elapsed_s"]).reset_index(drop=True)


def run_point_keys(df: pd.DataFrame, spec) -> set[str]:
    cols = list(spec.axis_names) + [c for c in ("mode", "seed", "fidelity") if c not in spec.axis_names]
    return {point_key({c: r[c] for c in cols}) for r in df[cols].to_dict("records")}


def read_log(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def subprocess_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(TESTS), env.get("PYTHONPATH", "")])
    env["CI"] = "1"
    env.update(extra)
    return env


# ----------------------------------------------------------------------------------------- failures


def test_failing_points_are_recorded_and_the_rest_finish(tmp_path):
    spec = load_sweep(DATA / "fake_grid.yaml")
    out = tmp_path / "r.parquet"
    summary = run_sweep(spec, out, workers=1, evaluate=FakeEvaluator(), progress=False)
    assert (summary.total, summary.skipped, summary.ok, summary.failed) == (24, 0, 18, 6)
    assert summary.exit_code == 1 and "6 failed" in summary.format()
    df = load_results(out)
    assert list(df["point_index"]) == list(range(24))
    bad = df[df["status"] == "error"]
    assert set(bad["link.rate_gtps"]) == {13} and len(bad) == 6
    assert (bad["error"] == "ValueError: unsupported rate").all()
    assert bad["latency_ns_p50"].isna().all()
    good = df[df["status"] == "ok"]
    for row in good.to_dict("records"):
        expected = fake_metrics({k: row[k] for k in ("mode", "seed", "fidelity", "link.rate_gtps",
                                                     "workload.boundary.firing_rate")})
        assert row["latency_ns_p50"] == expected["latency_ns_p50"]
        assert row["config_hash"] == expected["config_hash"]
    for col in ("point_index", "point_hash", "status", "mode", "seed", "fidelity", "link.rate_gtps",
                "workload.boundary.firing_rate", "config_hash", "snapsim_version", "elapsed_s", "error"):
        assert col in df.columns
    assert not parts_dir(out).exists()  # consolidated and tidied


def test_error_message_is_one_line_and_non_mapping_results_fail(tmp_path):
    spec = load_sweep(DATA / "fake_zip.yaml")
    summary = run_sweep(spec, tmp_path / "a.parquet", workers=1, evaluate=sweep_helpers.fake_evaluate, progress=False)
    assert summary.failed == 0
    spec = load_sweep(DATA / "fake_grid.yaml")
    run_sweep(spec, tmp_path / "b.parquet", workers=1, evaluate=sweep_helpers.fake_evaluate, progress=False)
    err = load_results(tmp_path / "b.parquet").query("status == 'error'")["error"].iloc[0]
    assert "\n" not in err and err.endswith("fake model | second line")
    summary = run_sweep(spec, tmp_path / "c.parquet", workers=1, evaluate=sweep_helpers.not_a_mapping, progress=False)
    assert summary.failed == 24
    assert "not a mapping" in load_results(tmp_path / "c.parquet")["error"].iloc[0]


def test_failed_points_are_retried_on_resume_and_done_points_skipped(tmp_path):
    spec = load_sweep(DATA / "fake_grid.yaml")
    out = tmp_path / "r.parquet"
    run_sweep(spec, out, workers=1, evaluate=FakeEvaluator(), progress=False)
    log = tmp_path / "log"
    summary = run_sweep(spec, out, workers=1, evaluate=fake_metrics, progress=False)  # never fails
    assert (summary.skipped, summary.ok, summary.failed) == (18, 6, 0)
    df = load_results(out)
    assert len(df) == 24 and (df["status"] == "ok").all() and df["error"].isna().all()
    summary = run_sweep(spec, out, workers=1, evaluate=FakeEvaluator(str(log)), progress=False)
    assert (summary.skipped, summary.ok, summary.failed) == (24, 0, 0) and read_log(log) == []


def test_process_pool_matches_inline(tmp_path):
    spec = load_sweep(DATA / "fake_grid.yaml")
    run_sweep(spec, tmp_path / "inline.parquet", workers=1, evaluate=FakeEvaluator(), progress=False)
    log = tmp_path / "log"
    run_sweep(spec, tmp_path / "pool.parquet", workers=2, evaluate=FakeEvaluator(str(log)), progress=False)
    pd.testing.assert_frame_equal(comparable(load_results(tmp_path / "inline.parquet")),
                                  comparable(load_results(tmp_path / "pool.parquet")))
    assert sorted(read_log(log)) == sorted(point_key(p) for p in spec.run_points())


def test_a_dying_worker_fails_only_the_point_that_killed_it(tmp_path):
    spec = load_sweep(DATA / "fake_ok.yaml")
    out = tmp_path / "r.parquet"
    victim = {"mode": "snn", "seed": 2, "link.rate_gtps": 24}
    summary = run_sweep(spec, out, workers=2, evaluate=CrashingEvaluator(victim), progress=False)
    assert (summary.ok, summary.failed) == (59, 1)  # points lost beside it were retried one by one
    df = load_results(out)
    bad = df[df["status"] == "error"]
    assert len(df) == 60 and bad[["mode", "seed", "link.rate_gtps"]].to_dict("records") == [victim]
    assert "worker process died" in bad["error"].iloc[0]
    summary = run_sweep(spec, out, workers=2, evaluate=fake_metrics, progress=False)
    assert (summary.skipped, summary.ok, summary.failed) == (59, 1, 0)


def test_workers_that_cannot_start_stop_the_sweep_with_a_clear_error(tmp_path):
    spec = load_sweep(DATA / "fake_zip.yaml")
    t0 = time.monotonic()
    with pytest.raises(SnapsimError, match="sweep worker processes exit before running any point"):
        run_sweep(spec, tmp_path / "r.parquet", workers=2, evaluate=sweep_helpers.UnpicklableInWorker(),
                  progress=False)
    assert time.monotonic() - t0 < 30  # no churning through one dead pool per point


def test_edited_sweep_runs_only_new_points(tmp_path):
    body = (DATA / "fake_zip.yaml").read_text().replace("../../../hwconfigs", str(REPO / "hwconfigs"))
    body = body.replace("tiny_workload.yaml", str(DATA / "tiny_workload.yaml"))
    path = tmp_path / "s.yaml"
    path.write_text(body)
    out = tmp_path / "r.parquet"
    run_sweep(load_sweep(path), out, workers=1, evaluate=FakeEvaluator(), progress=False)
    path.write_text(body.replace("[8, 16, 32]", "[4, 8, 16, 32]").replace("[0.5, 0.3, 0.25]", "[0.6, 0.5, 0.3, 0.25]"))
    log = tmp_path / "log"
    summary = run_sweep(load_sweep(path), out, workers=1, evaluate=FakeEvaluator(str(log)), progress=False)
    assert (summary.skipped, summary.ok) == (3, 1) and len(read_log(log)) == 1
    df = load_results(out)
    assert list(df["link.rate_gtps"]) == [4, 8, 16, 32] and list(df["point_index"]) == [0, 1, 2, 3]


# ----------------------------------------------------------------------------------- crash safety


def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path):
    sweep = DATA / "fake_ok.yaml"
    spec = load_sweep(sweep)
    out = tmp_path / "killed.parquet"
    log1, log2 = tmp_path / "log1", tmp_path / "log2"
    cmd = [sys.executable, "-m", "snapsim", "sweep", str(sweep), "--out", str(out), "--workers", "2",
           "--evaluator", "sweep_helpers:fake_evaluate"]
    proc = subprocess.Popen(cmd, env=subprocess_env(SNAPSIM_FAKE_LOG=str(log1), SNAPSIM_FAKE_SLEEP_S="0.1"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list(parts_dir(out).glob("part-*.parquet"))) >= 3:  # glob of a missing dir is empty
                break
            time.sleep(0.01)
        assert proc.poll() is None, f"sweep ended before it could be killed: {proc.communicate()}"
        os.killpg(proc.pid, signal.SIGKILL)  # the whole group: CLI, forkserver and pool workers
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    partial = load_results(out)  # readable right after the kill
    saved = run_point_keys(partial, spec)
    assert 1 <= len(saved) < 60 and (partial["status"] == "ok").all()

    rerun = subprocess.run(cmd, env=subprocess_env(SNAPSIM_FAKE_LOG=str(log2)), capture_output=True, text=True,
                           timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert f"60 points: {len(saved)} skipped (already done), {60 - len(saved)} ok, 0 failed" in rerun.stdout

    second = read_log(log2)
    assert len(second) == len(set(second)), "a point was computed twice in the rerun"
    assert not set(second) & saved, "a point saved before the kill was computed again"
    assert set(second) | saved == {point_key(p) for p in spec.run_points()}
    first = read_log(log1)
    assert len(set(first) - saved) <= 2 * 2 * 10  # lost work is bounded by the chunks in flight

    reference = tmp_path / "reference.parquet"
    run_sweep(spec, reference, workers=1, evaluate=sweep_helpers.fake_evaluate, progress=False)
    pd.testing.assert_frame_equal(comparable(load_results(out)), comparable(load_results(reference)))
    pd.testing.assert_frame_equal(comparable(pd.read_parquet(out)), comparable(pd.read_parquet(reference)))


def test_store_survives_a_crash_between_replace_and_cleanup(tmp_path):
    out = tmp_path / "r.parquet"
    row = {"point_index": 0, "point_hash": "a", "status": "ok", "x": 1.0}
    with ResultStore(out) as store:
        store.append([row, {**row, "point_index": 1, "point_hash": "b", "status": "error", "x": None}])
        store.consolidate()
        # as if killed after consolidating but before deleting these parts, and mid-write of another
        store.append([{**row, "point_index": 1, "point_hash": "b", "x": 2.0}, {**row, "point_index": 2, "point_hash": "c"}])
        store.append([{**row, "point_hash": "a", "status": "error", "x": None}])  # a later failure of a done point
        (store.parts / ".part-x.parquet.123.tmp").write_bytes(b"PAR1 half written")
    df = load_results(out)
    assert list(df["point_hash"]) == ["a", "b", "c"]
    assert list(df["status"]) == ["ok", "ok", "ok"] and list(df["x"]) == [1.0, 2.0, 1.0]
    with ResultStore(out) as store:
        assert not list(store.parts.glob("*.tmp"))
        store.consolidate()
        store.remove_parts_dir()
    assert not parts_dir(out).exists()
    pd.testing.assert_frame_equal(pd.read_parquet(out)[["point_hash", "x"]], df[["point_hash", "x"]])


def test_store_lock_and_foreign_files(tmp_path):
    out = tmp_path / "r.parquet"
    with ResultStore(out):
        with pytest.raises(SnapsimError, match="another sweep is writing"):
            ResultStore(out).__enter__()
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "other.parquet")
    with pytest.raises(SnapsimError, match="not a snapsim sweep results file"):
        load_results(tmp_path / "other.parquet")
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(SnapsimError, match="cannot read results file"):
        load_results(tmp_path / "junk.parquet")
    with pytest.raises(SnapsimError, match="no such results file"):
        load_results(tmp_path / "missing.parquet")


# -------------------------------------------------------------------------------------------------- CLI


def test_cli_summary_exit_codes_and_default_out(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(TESTS))
    args = ["sweep", str(DATA / "fake_grid.yaml"), "--workers", "1", "--no-progress",
            "--evaluator", "sweep_helpers:fake_evaluate"]
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "sweep fake-grid: 24 points: 0 skipped (already done), 18 ok, 6 failed" in out
    assert "results: fake-grid.parquet (24 rows)" in out and "wall time:" in out
    assert "rerun the same command to retry" in out
    assert (tmp_path / "fake-grid.parquet").is_file()
    assert main(["sweep", str(DATA / "fake_zip.yaml"), "--workers", "1", "--out", "z.parquet",
                 "--evaluator", "sweep_helpers:fake_evaluate"]) == 0
    assert "3 ok, 0 failed" in capsys.readouterr().out


def test_cli_user_errors_exit_2_without_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["sweep", str(DATA / "bad_zip.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"snapsim sweep: error: {DATA / 'bad_zip.yaml'}:6: axes: combine: zip needs")
    assert "Traceback" not in err
    assert main(["sweep", str(DATA / "fake_zip.yaml"), "--workers", "0", "--evaluator", "sweep_helpers:fake_evaluate"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err
    assert main(["sweep", str(DATA / "fake_zip.yaml"), "--evaluator", "nomodule_xyz:f"]) == 2
    assert "cannot import 'nomodule_xyz'" in capsys.readouterr().err


def test_progress_only_on_an_interactive_terminal():
    class Tty:
        def isatty(self):
            return True

    class Pipe:
        def isatty(self):
            return False

    assert progress_enabled({}, (Tty(), Tty()))
    assert not progress_enabled({"CI": "true"}, (Tty(), Tty()))
    assert not progress_enabled({}, (Tty(), Pipe()))
    assert not progress_enabled({}, (Pipe(), Tty()))


def test_run_points_are_json_stable():
    # the log-based checks above rely on run points serialising the same way in every process
    spec = load_sweep(DATA / "fake_ok.yaml")
    assert all(json.loads(point_key(p)) == p for p in spec.run_points())


def test_ok_rows_after_a_failed_row_keep_their_metrics(tmp_path):
    """Regression: a chunk whose first row failed (no metric columns) must not drop later rows' metrics."""
    from snapsim.sweep.store import ResultStore, load_results

    out = tmp_path / "r.parquet"
    rows = [
        {"point_index": 0, "point_hash": "a", "status": "error", "error": "boom"},
        {"point_index": 1, "point_hash": "b", "status": "ok", "error": None, "latency_ns_p50": 12.5},
    ]
    with ResultStore(out) as store:
        store.append(rows)
    df = load_results(out)
    assert df.loc[df["point_hash"] == "b", "latency_ns_p50"].item() == 12.5


def test_column_order_does_not_depend_on_which_part_was_written_first(tmp_path):
    """Points carry different metric keys (a trace axis adds trace_* columns); the table's columns come in
    the order of the rows, not of the parts, so workers finishing in another order give the same table."""
    rows = [{"point_index": i, "point_hash": h, "status": "ok", **extra}
            for i, (h, extra) in enumerate([("a", {"x": 1.0}), ("b", {"x": 2.0, "trace_acc": 0.9}),
                                            ("c", {"x": 3.0, "trace_loss": 0.1})])]
    tables = []
    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        out = tmp_path / f"r{''.join(map(str, order))}.parquet"
        with ResultStore(out) as store:
            for k in order:
                store.append([rows[k]])
            tables.append(store.consolidate({r["point_hash"]: r["point_index"] for r in rows}))
    for t in tables[1:]:
        pd.testing.assert_frame_equal(t, tables[0])
