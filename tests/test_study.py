"""The SNAP reproduction study at its small size: tables, gains recomputed from runs, the accuracy
front, the summary and the CLI (also on a Dask cluster)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from snapsim import studies
from snapsim.studies import paths
from snapsim.studies.snap.analysis import CHIPLET_COLUMNS, GAIN_COLUMNS
from snapsim.studies.snap.paper import PAPER_ENERGY_GAIN, PAPER_LATENCY_GAIN
from snapsim.studies.snap.plan import SIZES

REPO = Path(__file__).resolve().parents[1]
TABLES = ("runs", "gains", "size_trend", "regime", "accuracy", "accuracy_front", "chiplets", "targets", "targets_grid")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study_small")
    return studies.run("snap", "small", out)


def assert_same_tables(a, b) -> None:
    """Every CSV table of two study outputs equal, exactly (run ids and row order included)."""
    for name in TABLES:
        pd.testing.assert_frame_equal(pd.read_csv(a / f"{name}.csv"), pd.read_csv(b / f"{name}.csv"),
                                      check_exact=True, obj=name)


def test_all_runs_ok_and_files_written(study):
    assert (study.runs["status"] == "ok").all(), study.runs.loc[study.runs["status"] != "ok", "error"].tolist()
    for name in ("runs", "gains", "size_trend", "regime", "accuracy", "accuracy_front", "chiplets", "summary",
                 "fig_gains_vs_size", "fig_accuracy", "fig_gains_vs_chiplets"):
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
    # process-parallel results equal the in-process ones, the adaptive targets part included
    assert_same_tables(tmp_path / "o", study.out_dir)


def test_cli_small_on_a_dask_local_cluster_gives_the_same_rows(study, tmp_path, capsys):
    pytest.importorskip("distributed", reason="Dask is an optional extra (pip install 'dask[distributed]')")
    from snapsim.cli import main

    rc = main(["study", "snap", "--size", "small", "--out", str(tmp_path / "d"), "--scheduler", "local"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "on Dask scheduler local" in captured.err
    assert_same_tables(tmp_path / "d", study.out_dir)


# ---------------------------------------------------------------------------------------------- part chiplets


def _wl_partitions(path: str) -> int:
    m = re.search(r"_p(\d+)\.yaml$", path)
    assert m, path
    return int(m.group(1))


def test_chiplets_cases_are_the_full_grid(study):
    cfg = SIZES["small"]
    assert len(cfg.chiplet_partitions) >= 2 and len(cfg.chiplet_models) >= 2
    gains = pd.read_csv(study.files["gains"])
    c = gains[gains["part"] == "chiplets"]
    expect = {(s, link, m, p) for s in cfg.chiplet_scenarios for link in cfg.chiplet_links
              for m in cfg.chiplet_models for p in cfg.chiplet_partitions}
    got = list(zip(c["scenario"], c["link"], c["model"], c["partitions"]))
    assert len(got) == len(expect) == len(set(got))
    assert set(got) == expect
    runs = pd.read_csv(study.files["runs"])
    assert (runs["part"] == "chiplets").sum() == 3 * len(expect)


def test_chiplets_runs_have_the_partition_count_the_case_claims(study):
    cfg = SIZES["small"]
    runs = pd.read_csv(study.files["runs"]).set_index("run_id")
    gains = pd.read_csv(study.files["gains"])
    c = gains[gains["part"] == "chiplets"]
    for _, g in c.iterrows():
        three = runs.loc[[g[f"run_id_{m}"] for m in ("ann", "snn", "snap")]]
        assert list(three["mode"]) == ["ann", "snn", "snap"]
        assert (three["part"] == "chiplets").all()
        assert (three["hw_file"] == str(paths.package(cfg.chiplet_package))).all()
        assert three["wl_file"].nunique() == 1
        wl = three["wl_file"].iloc[0]
        assert wl.endswith(f"{g['model']}_p{g['partitions']}.yaml"), wl
        # the count the engine ran (runs.partitions), the zoo file's split and the case's column agree
        assert (three["partitions"] == _wl_partitions(wl)).all()
        assert (three["partitions"] == g["partitions"]).all()
        assert (three["scenario"] == g["scenario"]).all() and (three["link"] == g["link"]).all()
    # and the count really varies across the cases of one (scenario, link, model)
    for _, grp in c.groupby(["scenario", "link", "model"]):
        assert sorted(grp["partitions"]) == sorted(cfg.chiplet_partitions)
        assert runs.loc[grp["run_id_ann"], "wl_file"].nunique() == len(cfg.chiplet_partitions)
    # every part records the engine's partition count, matching its workload file where that names one
    for _, r in runs.reset_index().iterrows():
        if re.search(r"_p\d+\.yaml$", r["wl_file"]):
            assert r["partitions"] == _wl_partitions(r["wl_file"]), r["run_id"]
    size = runs[runs["part"] == "size"]
    assert (size["partitions"] == SIZES["small"].partitions).all()


def test_chiplets_cases_differ_only_in_the_split(study):
    """Same hardware file and overrides for every partition count of a group: only the die count varies."""
    runs = pd.read_csv(study.files["runs"]).set_index("run_id")
    gains = pd.read_csv(study.files["gains"])
    c = gains[gains["part"] == "chiplets"]
    for (scenario, link, _), grp in c.groupby(["scenario", "link", "model"]):
        r = runs.loc[grp["run_id_snap"]]
        assert r["hw_file"].nunique() == 1 and r["hw_overrides"].nunique() == 1
        assert (r["chiplet_preset"] == "generic-7nm-hbm").all()
        # the link is swapped to the case's preset (its lanes/energy are the preset's, not the package's)
        assert r["link_energy_pj_per_bit"].nunique() == 1
        ov = r["hw_overrides"].iloc[0]
        assert f'"link.preset": "{link}"' in ov
        assert ("capacity_mib" in ov) == (scenario == "weights-on-die")


def test_chiplets_table_gains_are_ratios_of_the_named_runs(study):
    cfg = SIZES["small"]
    runs = pd.read_csv(study.files["runs"]).set_index("run_id")
    gains = pd.read_csv(study.files["gains"])
    table = pd.read_csv(study.files["chiplets"])
    pd.testing.assert_frame_equal(table, study.chiplets.reset_index(drop=True), check_dtype=False)
    c = gains[gains["part"] == "chiplets"]
    assert len(table) == len(cfg.chiplet_scenarios) * len(cfg.chiplet_links) * len(cfg.chiplet_models)
    for col in CHIPLET_COLUMNS:
        for p in cfg.chiplet_partitions:
            assert f"{col}_p{p}" in table.columns
    for _, t in table.iterrows():
        for p in cfg.chiplet_partitions:
            g = c[(c["scenario"] == t["scenario"]) & (c["link"] == t["link"]) & (c["model"] == t["model"])
                  & (c["partitions"] == p)]
            assert len(g) == 1
            g = g.iloc[0]
            ann, snap = runs.loc[g["run_id_ann"]], runs.loc[g["run_id_snap"]]
            assert ann["partitions"] == snap["partitions"] == p
            assert t[f"energy_gain_vs_ann_p{p}"] == pytest.approx(ann["energy_pj_per_inf"] / snap["energy_pj_per_inf"],
                                                                  rel=1e-12)
            assert t[f"latency_gain_vs_ann_p{p}"] == pytest.approx(ann["latency_ns_p50"] / snap["latency_ns_p50"],
                                                                   rel=1e-12)
            d2d = ann["energy_d2d_dynamic_pj_per_inf"] + ann["energy_d2d_static_pj_per_inf"]
            assert t[f"ann_d2d_energy_share_p{p}"] == pytest.approx(d2d / ann["energy_pj_per_inf"], rel=1e-12)
            assert t[f"ann_d2d_dynamic_share_p{p}"] == pytest.approx(
                ann["energy_d2d_dynamic_pj_per_inf"] / ann["energy_pj_per_inf"], rel=1e-12)
            assert t[f"ann_dram_energy_share_p{p}"] == pytest.approx(
                ann["energy_dram_pj_per_inf"] / ann["energy_pj_per_inf"], rel=1e-12, abs=1e-15)


def _spearman_by_hand(x, y) -> float:
    """Pearson correlation of average ranks (ties share the mean of their positions), numpy only."""
    def ranks(v):
        v = np.asarray(v, dtype=float)
        return np.array([(v < a).sum() + ((v == a).sum() + 1) / 2 for a in v])

    return float(np.corrcoef(ranks(x), ranks(y))[0, 1])


def test_chiplets_table_rho_and_growth_match_a_recomputation(study):
    cfg = SIZES["small"]
    gains = pd.read_csv(study.files["gains"])
    table = pd.read_csv(study.files["chiplets"])
    c = gains[gains["part"] == "chiplets"]
    lo, hi = min(cfg.chiplet_partitions), max(cfg.chiplet_partitions)
    for _, t in table.iterrows():
        grp = c[(c["scenario"] == t["scenario"]) & (c["link"] == t["link"]) & (c["model"] == t["model"])]
        for col in GAIN_COLUMNS:
            if grp[col].nunique() < 2:
                assert np.isnan(t[f"{col}_spearman"])
            else:
                assert t[f"{col}_spearman"] == pytest.approx(_spearman_by_hand(grp["partitions"], grp[col]))
        for col in ("energy_gain_vs_ann", "latency_gain_vs_ann"):
            grows = t[f"{col}_p{hi}"] > 1.01 * t[f"{col}_p{lo}"]
            assert bool(t[f"{col}_grows"]) == grows


def test_summary_has_the_chiplets_section(study):
    text = study.files["summary"].read_text()
    assert "## Does the margin grow with the number of chiplets?" in text
    section = text.split("## Does the margin grow with the number of chiplets?")[1].split("\n## ")[0]
    cfg = SIZES["small"]
    assert f"`{cfg.chiplet_package}`" in section and all(m in section for m in cfg.chiplet_models)
    table = pd.read_csv(study.files["chiplets"])
    n = len(table)
    # the sentence's counts are the table's
    e, l = int(table["energy_gain_vs_ann_grows"].sum()), int(table["latency_gain_vs_ann_grows"].sum())
    assert f"in {e}/{n} (scenario, link, model) groups for energy and {l}/{n} for latency" in section
    for p in cfg.chiplet_partitions:  # the table's per-count columns, one row per group
        assert f"| energy_gain_vs_ann_p{p} |" in section and f"| ann_dram_energy_share_p{p} |" in section
    assert section.count("\n| shipped |") + section.count("\n| weights-on-die |") == n
    # the headline and the conclusion count the chiplets cases
    assert "[chiplets]:" in text
    c = pd.read_csv(study.files["gains"]).query("part == 'chiplets'")
    concl = text.split("## Conclusion")[1]
    e, l = int((c["energy_gain_vs_ann"] >= PAPER_ENERGY_GAIN).sum()), int((c["latency_gain_vs_ann"] >= PAPER_LATENCY_GAIN).sum())
    assert f"chiplets {e}/{l} of {len(c)}" in concl
    gains = pd.read_csv(study.files["gains"])
    assert f"reached in {int((gains['energy_gain_vs_ann'] >= PAPER_ENERGY_GAIN).sum())} of {len(gains)} cases" in concl


def test_chiplet_package_with_four_dies_equals_the_1x4_package():
    """The 16-die package's first 4 dies (serpentine row 0) behave as the 4-die row the size part uses, so the
    chiplets part changes only the number of dies."""
    import json

    from snapsim.studies.evaluate import RunEvaluator

    cfg = SIZES["small"]
    base = {"mode": "ann", "seed": 0, "fidelity": "fast", "wl_file": str(paths.zoo("rwkv-0.17b", 4)), "trace": None,
            "hw_overrides": json.dumps({"link.preset": "lr-serdes-board-112g"}),
            "wl_overrides": json.dumps({"stream.inferences": 2})}
    evaluate = RunEvaluator()
    a = evaluate({**base, "hw_file": str(paths.package(cfg.chiplet_package))})
    b = evaluate({**base, "hw_file": str(paths.package(cfg.package))})
    assert a["partitions"] == b["partitions"] == 4
    for k in ("energy_pj_per_inf", "latency_ns_p50", "d2d_bits_per_inf", "energy_d2d_static_pj_per_inf"):
        assert a[k] == pytest.approx(b[k], rel=1e-12), k


def test_chiplets_table_on_synthetic_gains():
    """Four partition counts, a non-linear rise, a fall and a constant gain: rho is the rank correlation (not
    Pearson), `_grows` needs >1%, and the per-count columns pick the right rows whatever the row order."""
    from snapsim.studies.snap.analysis import chiplets_table

    parts = [16, 2, 8, 4]  # deliberately unsorted
    rows = []
    bump = {2: 1.0, 4: 1.2, 8: 1.2, 16: 1.1}  # a tie: average ranks
    for model, f in (("up", lambda p: 1 + (p / 16) ** 4), ("down", lambda p: 2.0 / p), ("flat", lambda p: 1.0),
                     ("tiny", lambda p: 1 + 0.0005 * p), ("bump", bump.get)):
        for p in parts:
            rows.append({"part": "chiplets", "scenario": "shipped", "link": "L", "model": model, "domain": "vision",
                         "params": 1e6, "partitions": p, "energy_gain_vs_ann": f(p), "latency_gain_vs_ann": f(p),
                         "energy_gain_vs_snn": 1.0 / f(p), "latency_gain_vs_snn": f(p),
                         "ann_d2d_energy_share": p / 100, "ann_d2d_dynamic_share": p / 1000,
                         "ann_dram_energy_share": 1 - p / 100})
    rows.append({**rows[0], "part": "size", "partitions": 4, "energy_gain_vs_ann": 99.0})  # other parts ignored
    t = chiplets_table(pd.DataFrame(rows)).set_index("model")
    assert list(t.index) == ["up", "down", "flat", "tiny", "bump"]
    assert t.loc["up", "energy_gain_vs_ann_p4"] == pytest.approx(1 + (4 / 16) ** 4)
    assert t.loc["down", "ann_dram_energy_share_p16"] == pytest.approx(0.84)
    assert t.loc["up", "energy_gain_vs_ann_spearman"] == pytest.approx(1.0)  # Pearson would be < 1
    assert t.loc["down", "energy_gain_vs_ann_spearman"] == pytest.approx(-1.0)
    assert t.loc["up", "energy_gain_vs_snn_spearman"] == pytest.approx(-1.0)
    assert np.isnan(t.loc["flat", "energy_gain_vs_ann_spearman"])
    assert list(t["energy_gain_vs_ann_grows"]) == [True, False, False, False, True]  # "tiny": +0.7% < 1%
    assert t.loc["bump", "energy_gain_vs_ann_spearman"] == pytest.approx(
        _spearman_by_hand([2, 4, 8, 16], [1.0, 1.2, 1.2, 1.1]))
    assert t.loc["bump", "energy_gain_vs_ann_spearman"] == pytest.approx(1.5 / np.sqrt(5 * 4.5))  # ranks 1,2,3,4 vs 1,3.5,3.5,2
    assert t.loc["tiny", "latency_gain_vs_ann_spearman"] == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------- part targets


def test_targets_rows_and_runs(study):
    from snapsim.studies.snap.targets import LINK_POWER, SNN_TARGETS

    t = SIZES["small"].targets
    tab = study.targets
    assert study.files["targets"].exists() and study.files["fig_targets"].stat().st_size > 0
    assert len(tab) == len(t.models) * (len(LINK_POWER) + 2 + len(SNN_TARGETS))
    runs = study.runs.set_index("run_id")
    for r in tab.itertuples():
        ids = r.run_ids.split()
        assert ids and all(runs.loc[i, "part"] == "targets" and runs.loc[i, "status"] == "ok" for i in ids)
        assert {runs.loc[i, "mode"] for i in ids} == ({"snn", "snap"} if r.search == "snn_timesteps" else {"ann", "snap"})
        assert all(runs.loc[i, "model"] == r.model for i in ids)
        if r.search == "bandwidth":
            a, s_ = ids[-2:]
            col = "latency_ns_p50" if r.metric.startswith("latency") else "energy_pj_per_inf"
            assert runs.loc[a, "link_lanes"] == 1
            if r.reached:  # the runs at the threshold reach the figure
                assert runs.loc[a, col] / runs.loc[s_, col] == pytest.approx(r.gain_at_threshold, rel=1e-12)
                assert r.gain_at_threshold >= r.target
                assert runs.loc[a, "link_gbps"] == pytest.approx(r.threshold)
            else:  # the best grid point, where the limit comes from, does not
                assert runs.loc[a, col] / runs.loc[s_, col] == pytest.approx(r.limit, rel=1e-12)
                assert r.limit < r.target
        if r.search == "energy_per_bit" and r.reached:
            a, s_ = ids[-2:]  # the check runs at the closed-form threshold
            assert runs.loc[a, "link_energy_pj_per_bit"] == pytest.approx(r.threshold)
            assert runs.loc[a, "energy_pj_per_inf"] / runs.loc[s_, "energy_pj_per_inf"] == pytest.approx(r.target, rel=1e-6)
    # the grids: one ann/snap pair per rate and one snn/snap pair per SNN timesteps, per model; gains are ratios
    grid = study.targets_grid
    bw, tg = grid[grid["search"] == "bandwidth"], grid[grid["search"] == "snn_timesteps"]
    assert len(bw) == len(t.models) * len(t.rates_gtps) and len(tg) == len(t.models) * len(t.snn_timesteps)
    for r in bw.itertuples():
        assert runs.loc[r.run_id_ann, "latency_ns_p50"] / runs.loc[r.run_id_snap, "latency_ns_p50"] == pytest.approx(
            r.latency_gain_vs_ann, rel=1e-12)
    for r in tg.itertuples():
        assert runs.loc[r.run_id_snn, "mode"] == "snn" and runs.loc[r.run_id_snn, "timesteps"] == r.snn_timesteps
        assert runs.loc[r.run_id_snn, "energy_pj_per_inf"] / runs.loc[r.run_id_snap, "energy_pj_per_inf"] == pytest.approx(
            r.energy_gain_vs_snn, rel=1e-12)


def test_summary_has_the_targets_section(study):
    text = study.summary
    assert "## Where do the gains reach the paper's figures? (part `targets`)" in text
    assert "Searching the link itself (part `targets`)" in text
    tab = study.targets
    lat = tab[(tab["search"] == "bandwidth") & (tab["metric"] == "latency_gain_vs_ann")]
    assert f"reached by {int(lat['reached'].sum())} of {len(lat)} models" in text



# ------------------------------------------------------------------------------------------------- resume


def test_a_killed_study_resumes_where_it_stopped(study, tmp_path):
    """SIGKILL the CLI mid-study; the rerun runs only what the killed run had not saved (the saved runs are
    found finished, none runs twice), and the tables equal those of an uninterrupted run."""
    from snapsim.studies.execute import STORE_NAME
    from snapsim.sweep import load_results
    from snapsim.sweep.store import parts_dir

    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), "CI": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "snapsim", "study", "snap", "--size", "small", "--out", str(out)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list(parts_dir(out / STORE_NAME).glob("part-*.parquet"))) >= 3:
                break
            time.sleep(0.01)
        assert proc.poll() is None, f"the study ended before it could be killed: {proc.communicate()}"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert not (out / "summary.md").exists()
    saved = load_results(out / STORE_NAME)  # readable right after the kill
    n_saved = int((saved["status"] == "ok").sum())
    assert 1 <= n_saved < len(study.runs)

    resumed = studies.run("snap", "small", out)
    assert resumed.counts == {"resumed": n_saved, "ok": len(study.runs) - n_saved, "failed": 0}
    assert_same_tables(out, study.out_dir)


# -------------------------------------------------------------------------------------------------- prose


def test_the_report_types_no_hardware_fact():
    """The report's sentences read hardware facts from the configs: none is written into the source."""
    import inspect

    from snapsim.studies import evaluate
    from snapsim.studies.snap import analysis, figures, report, targets

    for module in (report, figures):
        source = inspect.getsource(module)
        for literal in ("48 MiB", "HBM", "16384", "1.8 GHz", "1x4", "4x4", "70%", "PAM4", "0.1 for every", "5.3",
                        "15.2"):
            assert literal not in source, (module.__name__, literal)
    for module in (report, figures, analysis, targets, evaluate):  # a domain is read, never guessed from a name
        assert "rwkv" not in inspect.getsource(module), module.__name__


def test_the_summary_follows_the_configs(study):
    """Another SRAM size, topology, idle power and stream in the configs: the assumptions say so."""
    import dataclasses

    from snapsim.studies.snap import report

    cfg = SIZES["small"]
    facts = report.Facts.load(cfg)
    hw = facts.package
    chiplet = hw.chiplet.model_copy(update={"sram": hw.chiplet.sram.model_copy(update={"capacity_mib": 96.0}),
                                            "compute": hw.chiplet.compute.model_copy(update={"mac_units": 8192})})
    link = hw.link.model_copy(update={"idle_power_mw": hw.link.idle_power_mw / 2})
    other = dataclasses.replace(facts, package=hw.model_copy(update={"chiplet": chiplet, "link": link, "name": "pkg-x"}),
                                streams=(("closed", 2, 1),))
    text = report.summary("small", cfg, other, study.tables, 1.0, "1 worker(s)")
    assumptions = text.split("## Assumptions")[1].split("## Headline")[0]
    assert "8192 MACs at 1.8 GHz, 96 MiB SRAM" in assumptions and "`pkg-x`" in assumptions
    assert "the preset's 96 MiB SRAM per die" in assumptions and "max_in_flight=2" in assumptions
    assert "48 MiB SRAM per die" not in assumptions
    targets = text.split("(part `targets`)")[1]
    assert "idle at 35% of active power" in targets
    shipped = report.summary("small", cfg, facts, study.tables, 1.0, "1 worker(s)")
    assert "16384 MACs at 1.8 GHz, 48 MiB SRAM" in shipped and "idle at 70% of active power" in shipped
