"""`snapsim run` and `snapsim validate` end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from snapsim.cli import main

REQUIRED = {
    "latency_ns_p50", "latency_ns_p99", "throughput_inf_per_s", "energy_pj_per_inf", "energy_breakdown_pj",
    "d2d_bits_per_inf", "links", "seed", "snapsim_version",
}


def test_run_json_has_required_fields(root, capsys):
    rc = main(["run", "--hw", str(root / "hwconfigs/packages/ucie-a-2x2.yaml"),
               "--workload", str(root / "workloads/resnet18_imagenet.yaml"), "--mode", "snap", "--seed", "4",
               "--set", "workload.stream.inferences=5", "--json"])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)["snap"]  # keyed by mode
    assert REQUIRED <= set(d)
    assert set(d["energy_breakdown_pj"]) >= {"compute", "sram", "noc", "d2d_dynamic", "d2d_static", "spike_codec"}
    assert d["seed"] == 4 and d["inferences"] == 5
    assert all({"name", "bits", "utilization"} <= set(l) for l in d["links"])
    assert d["config"]["workload"]["stream"]["inferences"] == 5  # resolved config is recorded


def test_run_all_modes_writes_parquet(root, tmp_path, capsys):
    out = tmp_path / "r.parquet"
    rc = main(["run", "--hw", str(root / "hwconfigs/packages/ucie-a-2x2.yaml"),
               "--workload", str(root / "workloads/lm_32x4096.yaml"), "--mode", "all",
               "--set", "workload.stream.inferences=4", "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "snap vs ann" in text and "snap vs snn" in text
    df = pd.read_parquet(out)
    assert list(df["mode"]) == ["ann", "snn", "snap"]
    assert (df["energy_pj_per_inf"] > 0).all()


def test_console_entry_point_runs_as_module(root):
    p = subprocess.run([sys.executable, "-m", "snapsim", "validate", str(root / "workloads/lm_32x4096.yaml")],
                       capture_output=True, text=True, cwd=root)
    assert p.returncode == 0, p.stderr
    assert "ok (workload)" in p.stdout


def test_bench_link_quick_reports_both_fidelities_and_identical_timing(capsys):
    rc = main(["bench", "--suite", "link", "--quick", "--json"])
    assert rc == 0
    d = json.loads(capsys.readouterr().out)
    assert d["identical_timing"] is True
    assert d["reference_flit_hops_per_s"] > 0 and d["fast_flit_hops_per_s"] > 0
    assert d["speedup"] == pytest.approx(d["fast_flit_hops_per_s"] / d["reference_flit_hops_per_s"])
    assert sorted(d["cases"]) == ["link_stream_64kib", "lm_ann_4", "lm_snap_16", "lm_snap_2", "lm_snap_4"]
    assert all(c["identical"] and c["fast_engine"] == "stream" for c in d["cases"].values())
    assert d["lm_snap_1024"]["identical"] and d["lm_snap_1024"]["fast_engine"] == "stream"


def test_preset_swap_override(root, capsys):
    from snapsim.config import load_hardware

    hw = load_hardware(root / "hwconfigs/packages/ucie-a-2x2.yaml", {"link.preset": "bow-256", "link.lanes": 32})
    assert hw.link.name == "bow-256" and hw.link.lanes == 32 and hw.chiplet.name == "simba-like-16nm"
    rc = main(["run", "--hw", str(root / "hwconfigs/packages/ucie-a-2x2.yaml"),
               "--workload", str(root / "workloads/resnet18_imagenet.yaml"), "--set", "link.preset=no-such"])
    err = capsys.readouterr().err
    assert rc == 2 and "unknown link preset 'no-such'" in err
