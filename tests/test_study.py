"""The SNAP reproduction study at its small size: tables, gains recomputed from runs, the accuracy
front, the summary and the CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from snapsim.study import GAIN_COLUMNS, SIZES, run_study


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study_small")
    return run_study("small", out)


def test_all_runs_ok_and_files_written(study):
    assert (study.runs["status"] == "ok").all(), study.runs.loc[study.runs["status"] != "ok", "error"].tolist()
    for name in ("runs", "gains", "size_trend", "regime", "accuracy", "accuracy_front", "summary",
                 "fig_gains_vs_size", "fig_accuracy"):
        assert study.files[name].exists() and study.files[name].stat().st_size > 0, name
    assert any(k.startswith("fig_regime_") for k in study.files)


def test_runs_table_rows_and_columns(study):
    cfg = SIZES["small"]
    runs = pd.read_csv(study.files["runs"])
    for col in ("run_id", "model", "params", "domain", "partitions", "link", "scenario", "mode", "firing_rate",
                "timesteps", "latency_ns_p50", "energy_pj_per_inf", "d2d_bits_per_inf", "energy_compute_pj_per_inf",
                "energy_dram_pj_per_inf", "energy_d2d_dynamic_pj_per_inf", "energy_d2d_static_pj_per_inf",
                "energy_spike_codec_pj_per_inf", "trace_accuracy", "link_lanes", "link_energy_pj_per_bit"):
        assert col in runs.columns, col
    assert runs["run_id"].is_unique
    size = runs[runs["part"] == "size"]
    assert len(size) == len(cfg.models) * len(cfg.links) * len(cfg.scenarios) * 3
    assert set(size["mode"]) == {"ann", "snn", "snap"}
    assert set(size["domain"]) == {"language", "vision"}
    assert (size["inferences"] == cfg.inferences).all()
    acc = runs[runs["part"] == "accuracy"]
    assert len(acc) == len(cfg.traces) * len(cfg.levels) * len(cfg.trace_links) * len(cfg.trace_encodings)
    assert acc["trace_accuracy"].between(0, 1).all()
    # energy parts sum to the total
    parts = [c for c in runs.columns if c.startswith("energy_") and c.endswith("_pj_per_inf") and c != "energy_pj_per_inf"]
    np.testing.assert_allclose(runs[parts].sum(axis=1), runs["energy_pj_per_inf"], rtol=1e-9)


def test_gains_rows(study):
    cfg = SIZES["small"]
    gains = pd.read_csv(study.files["gains"])
    n_size = len(cfg.models) * len(cfg.links) * len(cfg.scenarios)
    n_regime = len(cfg.regime_models) * len(cfg.regime_lanes) * len(cfg.regime_energy_pj_per_bit) * len(
        cfg.regime_firing_rates) * len(cfg.regime_timesteps)
    assert (gains["part"] == "size").sum() == n_size
    assert (gains["part"] == "regime").sum() == n_regime
    for col in GAIN_COLUMNS + ("run_id_ann", "run_id_snn", "run_id_snap", "model", "link", "params"):
        assert col in gains.columns
    assert gains[list(GAIN_COLUMNS)].notna().all().all()


def test_gains_equal_ratios_of_the_named_runs(study):
    runs = pd.read_csv(study.files["runs"]).set_index("run_id")
    gains = pd.read_csv(study.files["gains"])
    for _, g in gains.iterrows():
        ann, snn, snap = (runs.loc[g[f"run_id_{m}"]] for m in ("ann", "snn", "snap"))
        assert (ann["mode"], snn["mode"], snap["mode"]) == ("ann", "snn", "snap")
        # the three runs are the same model on the same hardware
        assert ann["model"] == snn["model"] == snap["model"] == g["model"]
        assert ann["hw_overrides"] == snn["hw_overrides"] == snap["hw_overrides"]
        assert g["energy_gain_vs_ann"] == pytest.approx(ann["energy_pj_per_inf"] / snap["energy_pj_per_inf"], rel=1e-12)
        assert g["energy_gain_vs_snn"] == pytest.approx(snn["energy_pj_per_inf"] / snap["energy_pj_per_inf"], rel=1e-12)
        assert g["latency_gain_vs_ann"] == pytest.approx(ann["latency_ns_p50"] / snap["latency_ns_p50"], rel=1e-12)
        assert g["latency_gain_vs_snn"] == pytest.approx(snn["latency_ns_p50"] / snap["latency_ns_p50"], rel=1e-12)


def test_regime_cases_vary_what_they_claim(study):
    runs = pd.read_csv(study.files["runs"]).set_index("run_id")
    gains = pd.read_csv(study.files["gains"])
    r = gains[gains["part"] == "regime"]
    cfg = SIZES["small"]
    assert set(r["link_lanes"]) == set(cfg.regime_lanes)
    assert set(r["link_energy_pj_per_bit"]) == set(cfg.regime_energy_pj_per_bit)
    snap = runs.loc[r["run_id_snap"]]
    assert set(snap["firing_rate"]) == set(cfg.regime_firing_rates)
    assert set(snap["timesteps"]) == set(cfg.regime_timesteps)


def _brute_front(df: pd.DataFrame) -> set:
    v = np.column_stack([df["energy_pj_per_inf"], df["latency_ns_p50"], -df["trace_accuracy"]])
    keep = set()
    for i in range(len(v)):
        dominated = np.any(np.all(v <= v[i], axis=1) & np.any(v < v[i], axis=1))
        if not dominated:
            keep.add(df["run_id"].iloc[i])
    return keep


def test_accuracy_front_is_exactly_the_non_dominated_rows(study):
    acc = pd.read_csv(study.files["accuracy"])
    front = pd.read_csv(study.files["accuracy_front"])
    assert set(acc["task"]) == {"digits", "charlm"}
    for task in ("digits", "charlm"):
        expect = _brute_front(acc[acc["task"] == task].reset_index(drop=True))
        assert expect
        assert set(front.loc[front["task"] == task, "run_id"]) == expect


def test_size_trend_matches_gains(study):
    gains = pd.read_csv(study.files["gains"])
    trend = pd.read_csv(study.files["size_trend"])
    g = gains[gains["part"] == "size"]
    for _, t in trend.iterrows():
        grp = g[(g["scenario"] == t["scenario"]) & (g["link"] == t["link"]) & (g["domain"] == t["domain"])]
        grp = grp.sort_values("params")
        assert t["energy_gain_vs_ann_largest"] == pytest.approx(grp["energy_gain_vs_ann"].iloc[-1])
        assert t["largest"] == grp["model"].iloc[-1]


def test_summary_states_assumptions(study):
    text = study.files["summary"].read_text()
    for needle in ("## Assumptions", "firing rate", "timesteps", "AER", "stream.inferences", "generic-7nm-hbm",
                   "weights-on-die", "--size default", "## Conclusion", "grow with model size", "5.3", "15.2"):
        assert needle in text, needle


def test_cli_small_parallel_is_deterministic(study, tmp_path, capsys):
    from snapsim.cli import main

    rc = main(["study", "snap", "--size", "small", "--out", str(tmp_path / "o"), "--workers", "2"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "energy_gain_vs_ann" in out and "summary.md" in out
    # process-parallel results equal the in-process ones
    a = pd.read_csv(tmp_path / "o" / "gains.csv")
    b = pd.read_csv(study.files["gains"])
    pd.testing.assert_frame_equal(a, b)
