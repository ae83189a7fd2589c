"""End to end with the real simulator: a small sweep of the shipped language workload."""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pytest

from snapsim.errors import ConfigError
from snapsim.runner import Prepared
from snapsim.sweep import PreparedEvaluator, load_results, load_sweep, run_sweep

DATA = Path(__file__).parent / "data" / "sweeps"


def test_real_sweep_matches_direct_runs_and_records_failures(tmp_path):
    spec = load_sweep(DATA / "lm_small.yaml")
    out = tmp_path / "lm.parquet"
    summary = run_sweep(spec, out, workers=2, progress=False)  # Prepared shipped to 2 worker processes
    assert (summary.total, summary.ok, summary.failed) == (8, 4, 4)
    df = load_results(out)
    bad = df[df["status"] == "error"]
    assert (bad["link.flit_overhead_bytes"] == 300).all()
    assert bad["error"].str.contains("link.flit_overhead_bytes: must be smaller than flit_bytes").all()

    prepared = Prepared.load(str(spec.hardware), str(spec.workload))
    good = df[df["status"] == "ok"]
    assert len(good) == 4
    for row in good.to_dict("records"):
        direct = prepared.run(mode=row["mode"], seed=1, fidelity="fast",
                              hw_overrides={"link.rate_gtps": row["link.rate_gtps"], "link.flit_overhead_bytes": 16},
                              workload_overrides={"stream.inferences": 8})
        for key in ("latency_ns_p50", "latency_ns_p99", "throughput_inf_per_s", "energy_pj_per_inf",
                    "d2d_bits_per_inf", "config_hash", "snapsim_version"):
            assert row[key] == direct[key], key
        assert row["inferences"] == 8
    # the link rate matters, and snap sends fewer bits than ann: the overrides really reached the model
    assert good.groupby("mode")["d2d_bits_per_inf"].first()["snap"] < good.groupby("mode")["d2d_bits_per_inf"].first()["ann"]
    ann = good[good["mode"] == "ann"].set_index("link.rate_gtps")
    assert ann.loc[32, "max_link_utilization"] < ann.loc[16, "max_link_utilization"]

    rerun = run_sweep(spec, out, workers=1, progress=False)
    assert (rerun.skipped, rerun.ok, rerun.failed) == (4, 0, 4)
    pd.testing.assert_frame_equal(load_results(out).drop(columns="elapsed_s"), df.drop(columns="elapsed_s"))


def test_prepared_evaluator_is_picklable_and_checks_axes_first(tmp_path):
    spec = load_sweep(DATA / "lm_small.yaml")
    evaluator = pickle.loads(pickle.dumps(PreparedEvaluator.from_spec(spec)))
    row = evaluator({"mode": "ann", "seed": 0, "fidelity": "fast", "workload.stream.inferences": 4})
    assert row["inferences"] == 4 and row["mode"] == "ann"
    with pytest.raises(ConfigError, match="axes.link.rate_gbps: value 8: unknown key"):
        run_sweep(load_sweep(DATA / "bad_axis_path.yaml"), tmp_path / "r.parquet", workers=1, progress=False)
