"""The SNAP study's tables, computed from its runs (pure table arithmetic, no simulation).

``gains``: one row per case, SNAP's ratios over the ANN-only and SNN-only runs it names; ``size_trend``:
per (scenario, link, domain) the gains at the smallest and largest model and their rank correlation with
the parameter count; ``regime``: per (model, lanes, pJ/bit) the range of each gain over the (firing rate,
timesteps) grid; ``chiplets``: per (scenario, link, model) the gains and energy shares at each partition
count; ``accuracy`` and ``accuracy_front``: the trace replays and their three-objective Pareto front.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ...pareto import pareto_front
from .paper import PAPER_ENERGY_GAIN, PAPER_LATENCY_GAIN
from .plan import MODES

__all__ = ["CHIPLET_COLUMNS", "GAIN_COLUMNS", "GROWTH_TOLERANCE", "RUNS_FRONT_COLUMNS", "accuracy_tables",
           "chiplets_table", "gains_table", "model_settings", "order_runs", "preset_ranges", "regime_table",
           "size_trend_table"]

GAIN_COLUMNS = ("energy_gain_vs_ann", "energy_gain_vs_snn", "latency_gain_vs_ann", "latency_gain_vs_snn")
#: the first columns of ``runs.csv``; the others follow in the order the runs report them
RUNS_FRONT_COLUMNS = ("run_id", "part", "model", "domain", "params", "partitions", "scenario", "link", "mode",
                      "firing_rate", "timesteps", "encoding", "inferences", "latency_ns_p50", "energy_pj_per_inf",
                      "d2d_bits_per_inf", "d2d_payload_bits_per_inf", "hw_file", "wl_file", "trace",
                      "hw_overrides", "wl_overrides")
#: the last columns of ``runs.csv``: the run's identity in ``runs.parquet`` and its outcome
RUNS_BACK_COLUMNS = ("point_hash", "status", "error")


def order_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs.csv``'s column order: :data:`RUNS_FRONT_COLUMNS`, the metrics, :data:`RUNS_BACK_COLUMNS`."""
    front = [c for c in RUNS_FRONT_COLUMNS if c in runs]
    back = [c for c in RUNS_BACK_COLUMNS if c in runs]
    return runs[front + [c for c in runs.columns if c not in front and c not in back] + back]


_CASE_KEEP = ("model", "domain", "params", "partitions", "scenario", "link", "link_lanes", "link_gbps",
              "link_energy_pj_per_bit", "sram_capacity_mib")


def gains_table(runs: pd.DataFrame, cases: list[dict]) -> pd.DataFrame:
    """Per case, the ann/snn/snap metrics of the named runs and SNAP's gains (ratios) over the others."""
    by_id = runs.set_index("run_id")
    rows = []
    for case in cases:
        snap, ann, snn = (by_id.loc[case[f"run_id_{m}"]] for m in ("snap", "ann", "snn"))
        counts = {r["partitions"] for r in (ann, snn, snap) if r["status"] == "ok"}
        if len(counts) > 1:  # the three runs of a case are one workload split one way
            raise ValueError(f"case {case}: its runs have different partition counts {sorted(counts)}")
        row = {"part": case["part"]}
        row.update({k: snap[k] for k in _CASE_KEEP})
        row["firing_rate"], row["timesteps"] = snap["firing_rate"], snap["timesteps"]
        for m in MODES:
            row[f"run_id_{m}"] = case[f"run_id_{m}"]
        for m, r in (("ann", ann), ("snn", snn), ("snap", snap)):
            row[f"energy_{m}"] = r["energy_pj_per_inf"]
            row[f"latency_{m}"] = r["latency_ns_p50"]
            row[f"d2d_bits_{m}"] = r["d2d_bits_per_inf"]
        row["energy_gain_vs_ann"] = ann["energy_pj_per_inf"] / snap["energy_pj_per_inf"]
        row["energy_gain_vs_snn"] = snn["energy_pj_per_inf"] / snap["energy_pj_per_inf"]
        row["latency_gain_vs_ann"] = ann["latency_ns_p50"] / snap["latency_ns_p50"]
        row["latency_gain_vs_snn"] = snn["latency_ns_p50"] / snap["latency_ns_p50"]
        row["d2d_bits_reduction_vs_ann"] = ann["d2d_bits_per_inf"] / max(snap["d2d_bits_per_inf"], 1.0)
        d2d_ann = ann["energy_d2d_dynamic_pj_per_inf"] + ann["energy_d2d_static_pj_per_inf"]
        row["ann_d2d_energy_share"] = d2d_ann / ann["energy_pj_per_inf"]
        row["ann_d2d_dynamic_share"] = ann["energy_d2d_dynamic_pj_per_inf"] / ann["energy_pj_per_inf"]
        row["ann_dram_energy_share"] = ann["energy_dram_pj_per_inf"] / ann["energy_pj_per_inf"]
        rows.append(row)
    return pd.DataFrame(rows)


def size_trend_table(gains: pd.DataFrame) -> pd.DataFrame:
    """Per (scenario, link, domain): each gain at the smallest and largest model, and whether it rises
    with model size (Spearman rank correlation of gain vs parameters)."""
    g = gains[gains["part"] == "size"]
    rows = []
    for (scenario, link, domain), grp in g.groupby(["scenario", "link", "domain"], sort=True):
        grp = grp.sort_values("params")
        row = {"scenario": scenario, "link": link, "domain": domain, "models": len(grp),
               "smallest": grp["model"].iloc[0], "largest": grp["model"].iloc[-1]}
        for col in GAIN_COLUMNS:
            first, last = grp[col].iloc[0], grp[col].iloc[-1]
            rho = grp["params"].rank().corr(grp[col].rank()) if len(grp) > 1 else np.nan
            row[f"{col}_smallest"], row[f"{col}_largest"] = first, last
            row[f"{col}_spearman"] = rho
        rows.append(row)
    return pd.DataFrame(rows)


#: per partition count in ``chiplets_table``: SNAP's gains over ANN-only; the ANN design's D2D share (all, and
#: per-bit only) and DRAM share of its energy
CHIPLET_COLUMNS = ("energy_gain_vs_ann", "latency_gain_vs_ann", "ann_d2d_energy_share", "ann_d2d_dynamic_share",
                   "ann_dram_energy_share")
#: a margin "grows" with a variable only if it is >1% larger at the largest value than at the smallest
GROWTH_TOLERANCE = 1.01


def _spearman(x: pd.Series, y: pd.Series) -> float:
    """Spearman rank correlation (Pearson on average ranks); NaN when either side is constant."""
    if len(x) < 2 or x.nunique() < 2 or y.nunique() < 2:
        return float("nan")
    return float(x.rank().corr(y.rank()))


def chiplets_table(gains: pd.DataFrame) -> pd.DataFrame:
    """Part ``chiplets``, one row per (scenario, link, model): at each partition count P SNAP's energy and
    latency gain over ANN-only and the ANN design's D2D (all, and per-bit) and DRAM energy shares (columns
    ``<metric>_p<P>``), and whether each gain rises with P: Spearman rho of gain vs P (``<gain>_spearman``,
    also for the gains over SNN-only) and ``<gain>_grows`` (gain at the largest P > gain at the smallest P x
    1.01, the criterion of the size trend)."""
    g = gains[gains["part"] == "chiplets"]
    counts = sorted(int(p) for p in g["partitions"].dropna().unique())
    rows = []
    for (scenario, link, model), grp in g.groupby(["scenario", "link", "model"], sort=False):
        grp = grp.sort_values("partitions")
        row = {"scenario": scenario, "link": link, "model": model, "domain": grp["domain"].iloc[0],
               "params": grp["params"].iloc[0], "partitions": " ".join(str(int(p)) for p in grp["partitions"])}
        by_p = grp.set_index("partitions")
        for col in CHIPLET_COLUMNS:
            for p in counts:
                row[f"{col}_p{p}"] = by_p[col].get(p, np.nan)
        for col in GAIN_COLUMNS:
            row[f"{col}_spearman"] = _spearman(grp["partitions"], grp[col])
            if col.endswith("_vs_ann"):
                row[f"{col}_grows"] = bool(grp[col].iloc[-1] > grp[col].iloc[0] * GROWTH_TOLERANCE)
        rows.append(row)
    return pd.DataFrame(rows)


def regime_table(gains: pd.DataFrame) -> pd.DataFrame:
    """Regime map summary: per (lanes, pJ/bit) the range of each gain over firing rate x timesteps, and
    how many (rate, T) points reach the paper's figures or lose."""
    r = gains[gains["part"] == "regime"]
    rows = []
    for (model, lanes, epb), grp in r.groupby(["model", "link_lanes", "link_energy_pj_per_bit"], sort=True):
        row = {"model": model, "lanes": lanes, "link_gbps": grp["link_gbps"].iloc[0], "pj_per_bit": epb, "points": len(grp),
               "ann_d2d_share": grp["ann_d2d_energy_share"].iloc[0]}
        for col, paper in (("energy_gain_vs_ann", PAPER_ENERGY_GAIN), ("latency_gain_vs_ann", PAPER_LATENCY_GAIN),
                           ("energy_gain_vs_snn", PAPER_ENERGY_GAIN), ("latency_gain_vs_snn", PAPER_LATENCY_GAIN)):
            short = col.replace("_gain_vs_", "/")
            row[f"{short} min"], row[f"{short} max"] = grp[col].min(), grp[col].max()
            row[f"{short} >=paper"] = int((grp[col] >= paper).sum())
            row[f"{short} <1"] = int((grp[col] < 1).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def model_settings(runs: pd.DataFrame) -> pd.DataFrame:
    """Per model of part ``size``: domain, parameters, precision and the SNAP and SNN-only settings it ran with."""
    r = runs[(runs["part"] == "size") & (runs["status"] == "ok")]
    snap = r[r["mode"] == "snap"].drop_duplicates("model").set_index("model")
    snn = r[r["mode"] == "snn"].drop_duplicates("model").set_index("model")
    out = pd.DataFrame({
        "model": snap.index, "domain": snap["domain"].values, "params": snap["params"].values,
        "precision": snap["precision"].values, "snap boundary rate": snap["firing_rate"].values,
        "snap T": snap["timesteps"].values, "encoding": snap["encoding"].values,
        "snn rate": snn.loc[snap.index, "firing_rate"].values, "snn T": snn.loc[snap.index, "timesteps"].values})
    return out.reset_index(drop=True)


def accuracy_tables(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    acc = runs[(runs["part"] == "accuracy") & (runs["status"] == "ok")].copy()
    acc["task"] = acc["model"].str.replace("-snap", "", regex=False)
    acc["level"] = acc["trace"].str.extract(r"_l(\d)\.snaptrace$")[0].astype(int)
    cols = ["run_id", "task", "level", "link", "encoding", "trace_accuracy", "firing_rate", "timesteps", "d2d_bits_per_inf",
            "d2d_payload_bits_per_inf", "energy_pj_per_inf", "latency_ns_p50", "energy_d2d_dynamic_pj_per_inf",
            "energy_d2d_static_pj_per_inf", "energy_spike_codec_pj_per_inf", "trace"]
    acc = acc[cols].reset_index(drop=True)
    fronts = []
    for task, grp in acc.groupby("task", sort=True):
        fronts.append(pareto_front(grp, {"energy_pj_per_inf": "min", "latency_ns_p50": "min",
                                         "trace_accuracy": "max"}))
    front = pd.concat(fronts, ignore_index=True) if fronts else acc.iloc[:0]
    return acc, front


def preset_ranges(runs: pd.DataFrame) -> tuple[tuple[float, float], tuple[float, float]]:
    """Bandwidth (Gb/s per direction) and pJ/bit spanned by the link presets the size part ran."""
    r = runs[(runs["part"] == "size") & (runs["status"] == "ok")]
    if not len(r):
        return (math.nan, math.nan), (math.nan, math.nan)
    return ((float(r["link_gbps"].min()), float(r["link_gbps"].max())),
            (float(r["link_energy_pj_per_bit"].min()), float(r["link_energy_pj_per_bit"].max())))
