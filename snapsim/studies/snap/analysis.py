"""The SNAP study's tables, computed from its runs (pure table arithmetic, no simulation).

``gains``: one row per case (an ANN-only, an SNN-only and a SNAP run at the same stream), with each design's
energy per inference and per sample under the case's scenario accounting, p50 latency at the case's load and
zero-load latency (the first inference), SNAP's gains over the other two, the winner of each metric, and
the analytical ceilings of SNAP's gains over ANN-only read from the ANN run: ``energy <= 1/(1-s)`` with
``s`` the share of the ANN design's energy on its D2D links (the most SNAP can remove) and ``latency <=
1/(1-s_t)`` with ``s_t`` the share of its zero-load latency above a one-flit-per-boundary floor.

The other tables select and summarise it: ``size_trend`` (gains vs model size), ``regime`` (winners over
batch x weight fetch x timesteps x link), ``axes`` (one choice at a time), ``ladder`` and ``paper_vs_realistic``
(the paper's assumptions one by one), ``chiplets`` (gains vs die count), ``accuracy`` and ``accuracy_front``
(the trace replays and the ANN-only / SNN-only references).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ...pareto import pareto_front
from .paper import PAPER_ENERGY_GAIN, PAPER_LATENCY_GAIN
from .plan import MODES
from .scenarios import ALL_PARTS, SCENARIOS, accounted_energy

__all__ = ["CHIPLET_COLUMNS", "GAIN_COLUMNS", "GROWTH_TOLERANCE", "RUNS_FRONT_COLUMNS", "WIN_MARGIN",
           "accuracy_tables", "axes_table", "chiplets_table", "ceiling_share", "gains_table", "ladder_table",
           "model_settings", "order_runs", "paper_vs_realistic", "preset_ranges", "regime_table",
           "size_trend_table", "winner"]

GAIN_COLUMNS = ("energy_gain_vs_ann", "energy_gain_vs_snn", "latency_gain_vs_ann", "latency_gain_vs_snn",
                "latency_zl_gain_vs_ann", "latency_zl_gain_vs_snn")
#: a design wins a metric only if it beats every other by more than this factor; otherwise the designs within
#: it of the best tie (``ann~snap``)
WIN_MARGIN = 1.01
#: the first columns of ``runs.csv``; the others follow in the order the runs report them
RUNS_FRONT_COLUMNS = ("run_id", "part", "model", "domain", "params", "partitions", "dies_used", "scenario", "link",
                      "mode", "batch", "load", "firing_rate", "timesteps", "weight_fetch", "weight_reuse_steps",
                      "encoding", "inferences", "latency_ns_p50", "latency_ns_zero_load", "energy_pj_per_inf",
                      "energy_pj_per_sample", "d2d_bits_per_inf", "d2d_payload_bits_per_inf", "hw_file", "wl_file",
                      "trace", "hw_overrides", "wl_overrides")
#: the last columns of ``runs.csv``: the run's identity in ``runs.parquet`` and its outcome
RUNS_BACK_COLUMNS = ("point_hash", "status", "error")
#: a margin "grows" with a variable only if it is >1% larger at the largest value than at the smallest
GROWTH_TOLERANCE = 1.01
#: labels a case may carry besides part/model/scenario/link (the axis values it holds for)
CASE_AXES = ("batch", "weight_fetch", "weight_reuse_steps", "snn_timesteps", "axis", "value", "step", "assumption",
             "dies")


def order_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs.csv``'s column order: :data:`RUNS_FRONT_COLUMNS`, the metrics, :data:`RUNS_BACK_COLUMNS`."""
    front = [c for c in RUNS_FRONT_COLUMNS if c in runs]
    back = [c for c in RUNS_BACK_COLUMNS if c in runs]
    return runs[front + [c for c in runs.columns if c not in front and c not in back] + back]


def winner(values: dict[str, float], margin: float = WIN_MARGIN) -> str:
    """The design with the smallest value if it beats every other by more than ``margin``, else the designs
    within ``margin`` of the best joined by ``~`` (in :data:`MODES` order)."""
    best = min(values.values())
    close = [m for m in MODES if m in values and values[m] <= best * margin]
    return "~".join(close)


def ceiling_share(gain_ceiling: float) -> float:
    """The share ``s`` a ceiling ``1/(1-s)`` needs: ``1 - 1/gain`` (5.3x needs 81.1%)."""
    return 1.0 - 1.0 / gain_ceiling


_CASE_KEEP = ("domain", "params", "partitions", "dies_used", "partitions_needed", "link_lanes", "link_gbps",
              "link_energy_pj_per_bit", "link_idle_power_mw", "load", "tensor_parallel", "precision")


def gains_table(runs: pd.DataFrame, cases: list[dict]) -> pd.DataFrame:
    """Per case, the ann/snn/snap metrics of the named runs, SNAP's gains over the others, winners and ceilings."""
    by_id = runs.set_index("run_id")
    rows = []
    for case in cases:
        r = {m: by_id.loc[case[f"run_id_{m}"]] for m in MODES}
        if any(r[m]["status"] != "ok" for m in MODES):
            continue
        parts = tuple(case["accounting"].split())
        row = {k: case[k] for k in ("part", "model", "scenario", "link")}
        row.update({k: case[k] for k in CASE_AXES if k in case})
        snap = r["snap"]
        row.update({k: snap[k] for k in _CASE_KEEP if k in snap})
        row["batch"] = int(snap["batch"])
        row["snap_firing_rate"], row["snap_timesteps"] = snap["firing_rate"], snap["timesteps"]
        row["snn_firing_rate"], row["snn_timesteps"] = r["snn"]["firing_rate"], r["snn"]["timesteps"]
        row["weight_fetch"], row["weight_reuse_steps"] = r["snn"]["weight_fetch"], r["snn"]["weight_reuse_steps"]
        row["sparse_efficiency"] = r["snn"]["sparse_efficiency"]
        row["accounting"] = "all" if set(parts) == set(ALL_PARTS) else "+".join(parts)
        for m in MODES:
            row[f"run_id_{m}"] = case[f"run_id_{m}"]
        energy = {m: accounted_energy(r[m], parts) for m in MODES}
        lat = {m: float(r[m]["latency_ns_p50"]) for m in MODES}
        zl = {m: float(r[m]["latency_ns_zero_load"]) for m in MODES}
        for m in MODES:
            row[f"energy_{m}"] = energy[m]
            row[f"energy_per_sample_{m}"] = energy[m] / row["batch"]
            row[f"latency_{m}"] = lat[m]
            row[f"latency_zl_{m}"] = zl[m]
            row[f"d2d_bits_{m}"] = r[m]["d2d_bits_per_inf"]
        for other in ("ann", "snn"):
            row[f"energy_gain_vs_{other}"] = energy[other] / energy["snap"]
            row[f"latency_gain_vs_{other}"] = lat[other] / lat["snap"]
            row[f"latency_zl_gain_vs_{other}"] = zl[other] / zl["snap"]
        row["winner_energy"] = winner(energy)
        row["winner_latency"] = winner(lat)
        row["winner_latency_zl"] = winner(zl)
        ann = r["ann"]
        row["d2d_bits_reduction_vs_ann"] = ann["d2d_bits_per_inf"] / max(snap["d2d_bits_per_inf"], 1.0)
        d2d = ann["energy_d2d_dynamic_pj_per_inf"] + ann["energy_d2d_static_pj_per_inf"]
        row["ann_d2d_energy_share"] = d2d / energy["ann"]  # s: the most SNAP can remove
        row["ann_d2d_dynamic_share"] = ann["energy_d2d_dynamic_pj_per_inf"] / energy["ann"]
        row["ann_dram_energy_share"] = (ann["energy_dram_pj_per_inf"] / energy["ann"]) if "dram" in parts else 0.0
        row["energy_ceiling_vs_ann"] = 1.0 / (1.0 - row["ann_d2d_energy_share"]) if row["ann_d2d_energy_share"] < 1 else math.inf
        row["ann_latency_link_share"] = 1.0 - ann["latency_floor_ns"] / zl["ann"]  # s_t
        row["latency_zl_ceiling_vs_ann"] = zl["ann"] / ann["latency_floor_ns"]
        rows.append(row)
    return pd.DataFrame(rows)


def size_trend_table(gains: pd.DataFrame) -> pd.DataFrame:
    """Per (scenario, link, domain): each gain and the dies used at the smallest and largest model, and whether
    the gain rises with model size (Spearman rank correlation of gain vs parameters; ``_grows``: >1% larger at
    the largest model)."""
    g = gains[gains["part"] == "size"]
    rows = []
    for (scenario, link, domain), grp in g.groupby(["scenario", "link", "domain"], sort=True):
        grp = grp.sort_values("params")
        row = {"scenario": scenario, "link": link, "domain": domain, "models": len(grp),
               "smallest": grp["model"].iloc[0], "largest": grp["model"].iloc[-1],
               "dies": " ".join(str(int(d)) for d in grp["dies_used"])}
        for col in GAIN_COLUMNS:
            first, last = grp[col].iloc[0], grp[col].iloc[-1]
            row[f"{col}_smallest"], row[f"{col}_largest"] = first, last
            row[f"{col}_spearman"] = _spearman(grp["params"], grp[col])
            row[f"{col}_grows"] = bool(last > first * GROWTH_TOLERANCE)
        rows.append(row)
    return pd.DataFrame(rows)


#: per die count in ``chiplets_table``: SNAP's gains over ANN-only; the ANN design's D2D share (all, and per-bit
#: only) and DRAM share of its energy
CHIPLET_COLUMNS = ("energy_gain_vs_ann", "latency_gain_vs_ann", "ann_d2d_energy_share", "ann_d2d_dynamic_share",
                   "ann_dram_energy_share")


def _spearman(x: pd.Series, y: pd.Series) -> float:
    """Spearman rank correlation (Pearson on average ranks); NaN when either side is constant."""
    if len(x) < 2 or x.nunique() < 2 or y.nunique() < 2:
        return float("nan")
    return float(x.rank().corr(y.rank()))


def chiplets_table(gains: pd.DataFrame) -> pd.DataFrame:
    """Part ``chiplets``, one row per (scenario, link, model): at each die count P SNAP's energy and latency
    gain over ANN-only and the ANN design's D2D (all, and per-bit) and DRAM energy shares (columns
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
            if col in ("energy_gain_vs_ann", "latency_gain_vs_ann"):
                row[f"{col}_grows"] = bool(grp[col].iloc[-1] > grp[col].iloc[0] * GROWTH_TOLERANCE)
        rows.append(row)
    return pd.DataFrame(rows)


REGIME_KEYS = ("scenario", "model", "link", "batch", "weight_fetch", "weight_reuse_steps", "snn_timesteps")


def regime_table(gains: pd.DataFrame) -> pd.DataFrame:
    """Part ``regime``: one row per (scenario, model, link, batch, weight fetch, SNN timesteps): who wins energy
    (per sample, the same ranking as per inference), p50 latency at the case's load and zero-load latency, and
    SNAP's gains."""
    r = gains[gains["part"] == "regime"]
    cols = [*REGIME_KEYS, "dies_used", "load", "winner_energy", "winner_latency", "winner_latency_zl",
            "energy_per_sample_ann", "energy_per_sample_snn", "energy_per_sample_snap", *GAIN_COLUMNS,
            "run_id_ann", "run_id_snn", "run_id_snap"]
    return r[cols].sort_values(list(REGIME_KEYS[:2])).reset_index(drop=True) if len(r) else r


def axes_table(gains: pd.DataFrame) -> pd.DataFrame:
    """Part ``axes``: SNAP's gains and the winners at each value of each axis, per (scenario, model)."""
    a = gains[gains["part"] == "axes"]
    cols = ["scenario", "model", "axis", "value", "dies_used", "winner_energy", "winner_latency", "winner_latency_zl",
            *GAIN_COLUMNS, "run_id_ann", "run_id_snn", "run_id_snap"]
    return a[cols].reset_index(drop=True) if len(a) else a


def ladder_table(gains: pd.DataFrame) -> pd.DataFrame:
    """Part ``ladder``: per model and step (the first ``step`` paper assumptions applied) SNAP's gains, the
    ANN link shares and the ceilings they allow."""
    lad = gains[gains["part"] == "ladder"]
    cols = ["model", "step", "assumption", "accounting", "dies_used", *GAIN_COLUMNS, "ann_d2d_energy_share",
            "energy_ceiling_vs_ann", "ann_latency_link_share", "latency_zl_ceiling_vs_ann", "run_id_ann",
            "run_id_snn", "run_id_snap"]
    return lad[cols].sort_values(["model", "step"], kind="stable").reset_index(drop=True) if len(lad) else lad


def paper_vs_realistic(ladder: pd.DataFrame) -> pd.DataFrame:
    """One row per model and scenario (the ladder's first and last steps: the realistic defaults and every
    paper assumption): SNAP's gains, the ceilings and the distance to the paper's figures (paper figure /
    gain: how many times short a gain falls)."""
    if not len(ladder):
        return ladder
    last = ladder["step"].max()
    rows = []
    for model, grp in ladder.groupby("model", sort=False):
        for step, scenario in ((0, "realistic"), (last, "paper")):
            r = grp[grp["step"] == step].iloc[0]
            row = {"model": model, "scenario": scenario}
            for col in ("energy_gain_vs_ann", "latency_zl_gain_vs_ann", "latency_gain_vs_ann", "energy_gain_vs_snn",
                        "latency_zl_gain_vs_snn", "latency_gain_vs_snn", "ann_d2d_energy_share", "energy_ceiling_vs_ann",
                        "ann_latency_link_share", "latency_zl_ceiling_vs_ann"):
                row[col] = r[col]
            for col, paper in (("energy_gain_vs_ann", PAPER_ENERGY_GAIN), ("latency_zl_gain_vs_ann", PAPER_LATENCY_GAIN),
                               ("energy_gain_vs_snn", PAPER_ENERGY_GAIN), ("latency_zl_gain_vs_snn", PAPER_LATENCY_GAIN)):
                row[f"{col}_short_of_paper"] = paper / r[col]
            row.update({f"run_id_{m}": r[f"run_id_{m}"] for m in MODES})
            rows.append(row)
    return pd.DataFrame(rows)


def model_settings(runs: pd.DataFrame) -> pd.DataFrame:
    """Per model of part ``size`` (realistic): domain, parameters, precision, the dies its weights need and
    use, and the SNAP and SNN-only settings it ran with."""
    r = runs[(runs["part"] == "size") & (runs["status"] == "ok") & (runs["scenario"] == "realistic")]
    snap = r[r["mode"] == "snap"].drop_duplicates("model").set_index("model")
    snn = r[r["mode"] == "snn"].drop_duplicates("model").set_index("model")
    out = pd.DataFrame({
        "model": snap.index, "domain": snap["domain"].values, "params": snap["params"].values,
        "precision": snap["precision"].values, "dies needed": snap["partitions_needed"].values,
        "dies used": snap["dies_used"].values, "snap boundary rate": snap["firing_rate"].values,
        "snap T": snap["timesteps"].values, "encoding": snap["encoding"].values,
        "snn rate": snn.loc[snap.index, "firing_rate"].values, "snn T": snn.loc[snap.index, "timesteps"].values})
    return out.reset_index(drop=True)


def accuracy_tables(runs: pd.DataFrame, references: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Part ``accuracy``: one row per run (SNAP trace replays, and the ANN-only and SNN-only runs of the same
    models), each with its accuracy: the trace's for SNAP, the trained references' for ANN-only (dense
    boundaries) and SNN-only (at the run's timesteps; none where no model was trained). Energy is counted as
    the run's scenario counts it. The front: per (scenario, task), the non-dominated rows over (min energy,
    min p50 latency, max accuracy) among those with an accuracy."""
    acc = runs[(runs["part"] == "accuracy") & (runs["status"] == "ok")].copy()
    if not len(acc):
        empty = pd.DataFrame()
        return empty, empty
    acc["task"] = acc["model"].str.replace("-snap", "", regex=False)
    level = acc["trace"].fillna("").str.extract(r"_l(\d)\.snaptrace$")[0]
    acc["level"] = level.astype(float)
    acc["design"] = acc["mode"]
    acc["accuracy"] = [_accuracy(r, references) for r in acc.to_dict("records")]
    acc["accuracy_source"] = [_accuracy_source(r, references) for r in acc.to_dict("records")]
    acc["energy"] = [accounted_energy(r, SCENARIOS[r["scenario"]].accounting) for r in acc.to_dict("records")]
    cols = ["run_id", "scenario", "task", "design", "level", "link", "encoding", "timesteps", "accuracy",
            "accuracy_source", "firing_rate", "d2d_bits_per_inf", "d2d_payload_bits_per_inf", "energy",
            "latency_ns_p50", "latency_ns_zero_load", "trace"]
    acc = acc[cols].reset_index(drop=True)
    fronts = []
    for _, grp in acc.dropna(subset=["accuracy"]).groupby(["scenario", "task"], sort=True):
        fronts.append(pareto_front(grp, {"energy": "min", "latency_ns_p50": "min", "accuracy": "max"}))
    front = pd.concat(fronts, ignore_index=True) if fronts else acc.iloc[:0]
    return acc, front


def _accuracy(row: dict, references: dict) -> float:
    if row["mode"] == "snap":
        return float(row["trace_accuracy"])
    ref = references.get(row["task"], {})
    if row["mode"] == "ann":
        return float(ref["ann"]["accuracy"]) if "ann" in ref else math.nan
    snn = ref.get("snn", {}).get(str(int(row["timesteps"])))
    return float(snn["accuracy"]) if snn else math.nan


def _accuracy_source(row: dict, references: dict) -> str:
    if row["mode"] == "snap":
        return "trace manifest metrics.accuracy (the trained SNAP model at this sparsity level)"
    if math.isnan(_accuracy(row, references)):
        return "no trained model"
    what = "dense boundaries" if row["mode"] == "ann" else f"SNN-only at T={int(row['timesteps'])}"
    return f"references.json: {row['task']} trained with {what}"


def preset_ranges(runs: pd.DataFrame) -> tuple[tuple[float, float], tuple[float, float]]:
    """Bandwidth (Gb/s per direction) and pJ/bit spanned by the link presets the realistic size part ran."""
    r = runs[(runs["part"] == "size") & (runs["status"] == "ok") & (runs["scenario"] == "realistic")]
    if not len(r):
        return (math.nan, math.nan), (math.nan, math.nan)
    return ((float(r["link_gbps"].min()), float(r["link_gbps"].max())),
            (float(r["link_energy_pj_per_bit"].min()), float(r["link_energy_pj_per_bit"].max())))
