"""Shipped traces end to end: replay in every mode, and a sweep over traces whose rows carry the
trained models' accuracy, giving a three-objective front (accuracy, energy, latency)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from snapsim.cli import main
from snapsim.sweep import load_sweep, run_sweep
from snapsim.trace import open_trace

ROOT = Path(__file__).resolve().parents[1]
HW = ROOT / "hwconfigs/packages/ucie-a-2x2.yaml"


@pytest.mark.parametrize("name", ["digits_snap", "charlm_snap"])
def test_shipped_trace_replays_in_every_mode(name, capsys):
    trace = ROOT / f"workloads/traces/{name}_l2.snaptrace"
    rc = main(["run", "--hw", str(HW), "--workload", str(ROOT / f"workloads/{name}.yaml"), "--trace", str(trace),
               "--mode", "all", "--set", "workload.stream.inferences=6", "--json"])
    assert rc == 0
    runs = json.loads(capsys.readouterr().out)
    assert set(runs) == {"ann", "snn", "snap"}
    metrics = open_trace(trace).manifest["metrics"]
    for mode, d in runs.items():
        assert d["trace"] == str(trace)
        assert d["trace_metrics"] == {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        assert d["d2d_payload_bits_per_inf"] > 0


def test_sweep_over_traces_gives_accuracy_bits_energy_front(tmp_path):
    spec = load_sweep(ROOT / "tests/data/sweeps/digits_traces.yaml")
    out = tmp_path / "dt.parquet"
    summary = run_sweep(spec, out, workers=1, progress=False)
    assert summary.exit_code == 0
    df = pd.read_parquet(out)
    assert len(df) == 8 and (df["status"] == "ok").all()
    acc = {open_trace(ROOT / f"workloads/traces/digits_snap_l{k}.snaptrace").manifest["metrics"]["accuracy"]
           for k in range(4)}
    assert set(df["trace_accuracy"]) == acc
    # with address-event coding, a sparser boundary (higher penalty, lower accuracy) sends fewer bits
    per_trace = df[df["link.preset"] == "ucie-advanced-32g"].sort_values("trace")
    bits = list(per_trace["d2d_payload_bits_per_inf"])
    assert bits == sorted(bits, reverse=True) and bits[0] > bits[-1]
    png = tmp_path / "front.png"
    rc = main(["pareto", str(out), "--x", "energy_pj_per_inf", "--y", "latency_ns_p50",
               "--z", "trace_accuracy", "--z-dir", "max", "-o", str(png)])
    assert rc == 0 and png.stat().st_size > 10_000
    front = pd.read_csv(png.with_suffix(".csv"))
    assert 1 <= len(front) <= len(df) and "trace_accuracy" in front
