"""The SNAP reproduction study: SNAP against ANN-only and SNN-only, from actual snapsim runs.

``run_study(size="small"|"default", out_dir=...)`` runs four parts, every number from a snapsim run:

* ``size``: language (RWKV family) and vision (zoo) models, each split over 4 chiplets, on several D2D
  link presets, in two memory scenarios (``shipped``: the chiplet preset's SRAM, weights that do not
  fit stream from DRAM every inference; ``weights-on-die``: an idealised SRAM large enough for every
  partition's weights);
* ``regime``: one mid-size model, sweeping link lanes (bandwidth) x link pJ/bit, and boundary firing
  rate x timesteps, to map where SNAP wins and where it loses;
* ``accuracy``: the shipped SNAP traces (four sparsity levels each of a digits MLP and a char-LM)
  replayed in snap mode on a few link presets, with a three-objective Pareto front per task;
* ``chiplets``: a few models each split over 2, 4, 8 and 16 partitions (zoo ``_p2`` ... ``_p16``), one
  partition per die of a 16-die package (``xsr-serdes-4x4``, the first P dies of a neighbour chain), on a
  few link presets in both memory scenarios: how SNAP's margin changes with the number of dies.

Outputs (under ``out_dir``): ``runs.csv`` (one row per run, identified by ``run_id``), ``gains.csv``
(per case the ratios of the ann, snn and snap runs named by ``run_id_ann/_snn/_snap``),
``size_trend.csv``, ``regime.csv``, ``accuracy.csv``, ``accuracy_front.csv``, ``chiplets.csv``,
``summary.md`` and PNG figures. Everything is deterministic: fixed seed, runs in a fixed order, results
gathered in order.
"""

from __future__ import annotations

import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .pareto import pareto_front
from .study_targets import LINK_POWER, TargetSearch, run_targets, targets_figure, targets_sentences

__all__ = ["SIZES", "StudyResult", "run_study", "PAPER_ENERGY_GAIN", "PAPER_LATENCY_GAIN", "full_command"]

ROOT = Path(__file__).resolve().parents[1]
#: The paper's headline figures (Nardone et al. 2025): up to 5.3x energy efficiency, 15.2x lower latency.
PAPER_ENERGY_GAIN = 5.3
PAPER_LATENCY_GAIN = 15.2
MODES = ("ann", "snn", "snap")
SEED = 0
#: "weights-on-die": SRAM per chiplet (MiB) large enough for every partition of every zoo model (RWKV-14B
#: over 4 dies needs ~7 GiB per die). An idealisation, not a real die: SRAM energy and bandwidth per
#: bit are the preset's.
WEIGHTS_ON_DIE_SRAM_MIB = 1_048_576
SCENARIOS = {"shipped": {}, "weights-on-die": {"chiplet.sram.capacity_mib": WEIGHTS_ON_DIE_SRAM_MIB}}
GAIN_COLUMNS = ("energy_gain_vs_ann", "energy_gain_vs_snn", "latency_gain_vs_ann", "latency_gain_vs_snn")


@dataclass(frozen=True)
class StudySize:
    package: str
    models: tuple[str, ...]
    links: tuple[str, ...]
    scenarios: tuple[str, ...]
    inferences: int
    regime_models: tuple[str, ...]
    regime_scenario: str
    regime_lanes: tuple[int, ...]
    regime_energy_pj_per_bit: tuple[float, ...]
    regime_firing_rates: tuple[float, ...]
    regime_timesteps: tuple[int, ...]
    trace_links: tuple[str, ...]
    trace_inferences: int
    traces: tuple[str, ...] = ("digits", "charlm")
    trace_encodings: tuple[str, ...] = ("bitmap", "aer")
    levels: tuple[int, ...] = (0, 1, 2, 3)
    partitions: int = 4
    #: part ``chiplets``: each model over every partition count (zoo ``MODEL_p{P}.yaml``), partition p on
    #: die mapping[p] of this package (mapping[:P] is a neighbour chain for every P), per link x scenario
    chiplet_package: str = "hwconfigs/packages/xsr-serdes-4x4.yaml"
    chiplet_models: tuple[str, ...] = ()
    chiplet_partitions: tuple[int, ...] = (2, 4, 8, 16)
    chiplet_links: tuple[str, ...] = ()
    chiplet_scenarios: tuple[str, ...] = ("shipped", "weights-on-die")
    #: part ``targets``: the link energy per bit and bandwidth at which SNAP reaches the paper's figures
    targets: TargetSearch | None = None


_RWKV = ("rwkv-0.17b", "rwkv-0.43b", "rwkv-1.5b", "rwkv-3b", "rwkv-7b", "rwkv-14b")
_VISION = ("resnet18", "resnet50", "vgg16", "vit-b16")

SIZES: dict[str, StudySize] = {
    "small": StudySize(
        package="hwconfigs/packages/xsr-serdes-1x4.yaml",
        models=("rwkv-0.17b", "rwkv-1.5b", "resnet18"),
        links=("ucie-advanced-32g", "lr-serdes-board-112g"),
        scenarios=("shipped", "weights-on-die"),
        inferences=4,
        regime_models=("rwkv-1.5b",),
        regime_scenario="weights-on-die",
        regime_lanes=(1, 16),
        regime_energy_pj_per_bit=(1.2, 20.0),
        regime_firing_rates=(0.05, 0.2),
        regime_timesteps=(4, 16),
        trace_links=("ucie-advanced-32g", "lr-serdes-board-112g"),
        trace_inferences=8,
        chiplet_models=("rwkv-0.17b", "resnet18"),
        chiplet_partitions=(2, 16),
        chiplet_links=("lr-serdes-board-112g",),
        chiplet_scenarios=("shipped", "weights-on-die"),
        targets=TargetSearch(models=("resnet18", "rwkv-0.17b"), rates_gtps=(0.25, 1.0, 4.0, 16.0, 64.0),
                             bisection_steps=4, snn_timesteps=(4, 32, 256)),
    ),
    "default": StudySize(
        package="hwconfigs/packages/xsr-serdes-1x4.yaml",
        models=_RWKV + _VISION,
        links=("ucie-advanced-32g", "ucie-standard-16g", "bow-256", "xsr-serdes-112g", "lr-serdes-board-112g"),
        scenarios=("shipped", "weights-on-die"),
        inferences=16,
        regime_models=("rwkv-1.5b", "resnet50"),
        regime_scenario="weights-on-die",
        regime_lanes=(1, 2, 4, 16, 64),
        regime_energy_pj_per_bit=(0.1, 0.3, 1.2, 5.5, 20.0),
        regime_firing_rates=(0.01, 0.05, 0.1, 0.2, 0.5),
        regime_timesteps=(1, 2, 4, 8, 16),
        trace_links=("ucie-advanced-32g", "xsr-serdes-112g", "lr-serdes-board-112g"),
        trace_inferences=32,
        chiplet_models=("rwkv-0.43b", "rwkv-7b", "resnet50", "vit-b16"),
        chiplet_partitions=(2, 4, 8, 16),
        chiplet_links=("ucie-advanced-32g", "lr-serdes-board-112g"),
        chiplet_scenarios=("shipped", "weights-on-die"),
        targets=TargetSearch(models=_RWKV + _VISION),
    ),
}


def full_command(out_dir: str = "study_out") -> str:
    return f".venv/bin/python -m snapsim study snap --size default --out {out_dir}"


@dataclass
class StudyResult:
    size: str
    out_dir: Path
    runs: pd.DataFrame
    gains: pd.DataFrame
    size_trend: pd.DataFrame
    regime: pd.DataFrame
    accuracy: pd.DataFrame
    accuracy_front: pd.DataFrame
    chiplets: pd.DataFrame
    summary: str
    files: dict[str, Path] = field(default_factory=dict)
    elapsed_s: float = 0.0
    targets: pd.DataFrame = field(default_factory=pd.DataFrame)
    targets_grid: pd.DataFrame = field(default_factory=pd.DataFrame)


# ----------------------------------------------------------------------------------------------------
# running


_PREPARED: dict[tuple[str, str], Any] = {}


def _prepared(hw: str, wl: str):
    from .runner import Prepared

    key = (hw, wl)
    if key not in _PREPARED:
        _PREPARED[key] = Prepared.load(hw, wl)
    return _PREPARED[key]


#: resolved (frozen) hardware per (package file, overrides), shared by every workload and mode run on it: a
#: ``link.preset`` override re-reads the preset YAML files on each resolution, which cost more than the run
_HARDWARE: dict[tuple[str, str], Any] = {}


def _hardware(p, hw_file: str, hw_ov: dict):
    key = (hw_file, json.dumps(hw_ov, sort_keys=True))
    if key not in _HARDWARE:
        _HARDWARE[key] = p.hardware(hw_ov)
    return _HARDWARE[key]


def _execute(spec: dict) -> dict:
    """One run: the spec's metadata plus ``RunResult.flat()``; an error is recorded, not raised."""
    from .runner import simulate

    p = _prepared(spec["hw_file"], spec["wl_file"])
    hw_ov, wl_ov = dict(spec["hw_overrides"]), dict(spec["wl_overrides"])
    row = {k: v for k, v in spec.items() if k not in ("hw_overrides", "wl_overrides")}
    row["hw_overrides"] = json.dumps(hw_ov, sort_keys=True)
    row["wl_overrides"] = json.dumps(wl_ov, sort_keys=True)
    try:
        hw, wl = _hardware(p, spec["hw_file"], hw_ov), p.workload(wl_ov)
        row["link_lanes"] = hw.link.lanes
        row["link_rate_gtps"] = hw.link.rate_gtps
        row["link_bits_per_transfer"] = hw.link.bits_per_transfer
        row["link_gbps"] = hw.link.lanes * hw.link.rate_gtps * hw.link.bits_per_transfer
        row["link_energy_pj_per_bit"] = hw.link.energy_pj_per_bit
        row["link_idle_power_mw"] = hw.link.idle_power_mw
        row["chiplet_preset"] = hw.chiplet.name
        row["sram_capacity_mib"] = hw.chiplet.sram.capacity_mib
        row["params"] = float(sum(s.weight_params * s.repeat for s in wl.stages))
        row["macs_per_sample"] = float(sum(s.macs * s.repeat for s in wl.stages))
        row["precision"] = wl.precision
        mode = spec["mode"]
        if mode == "snap":
            row["firing_rate"], row["timesteps"] = wl.boundary.firing_rate, wl.boundary.timesteps
            row["encoding"] = str(wl.boundary.encoding)
        elif mode == "snn":
            row["firing_rate"], row["timesteps"] = wl.snn.firing_rate, wl.snn.timesteps
            row["encoding"] = str(wl.boundary.encoding)
        else:
            row["firing_rate"], row["timesteps"], row["encoding"] = np.nan, np.nan, "dense"
        if spec.get("trace"):  # the measured rate of the replayed trace, not the workload's nominal one
            manifest = json.loads((Path(spec["trace"]) / "manifest.json").read_text())
            spikes = [b["stats"] for b in manifest["boundaries"] if b["kind"] == "spike"]
            row["firing_rate"] = sum(b["nnz"] for b in spikes) / sum(b["slots"] for b in spikes)
        # = p.result(mode=..., hw_overrides=hw_ov, ...) with the hardware and workload resolved above
        res = simulate(hw, wl, mode, SEED, "fast", spec.get("trace"), trace_cache=p.trace_payload)
        flat = res.flat()
        flat.pop("mode", None)
        row.update(flat)
        row["status"], row["error"] = "ok", ""
    except Exception as exc:  # noqa: BLE001 - a failing point is recorded and the study goes on
        row["status"], row["error"] = "error", f"{type(exc).__name__}: {exc}"
    return row


def _run_all(specs: list[dict], workers: int) -> list[dict]:
    if workers <= 1 or len(specs) < 16:
        return [_execute(s) for s in specs]
    chunk = max(1, len(specs) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_execute, specs, chunksize=chunk))


# ----------------------------------------------------------------------------------------------------
# the plan: cases (one per gain row), each naming three runs


def _zoo(model: str, parts: int) -> str:
    return str(ROOT / "workloads" / "zoo" / f"{model}_p{parts}.yaml")


class _Plan:
    def __init__(self):
        self.specs: list[dict] = []
        self._ids: dict[str, str] = {}
        self.cases: list[dict] = []

    def run(self, **spec) -> str:
        key = json.dumps({k: spec[k] for k in ("hw_file", "wl_file", "mode", "hw_overrides", "wl_overrides", "trace")},
                         sort_keys=True)
        if key not in self._ids:
            run_id = f"r{len(self.specs):05d}"
            self._ids[key] = run_id
            self.specs.append({"run_id": run_id, **spec})
        return self._ids[key]

    def case(self, meta: dict, hw_file: str, wl_file: str, hw_ov: dict, wl_common: dict, wl_snap: dict) -> None:
        ids = {}
        for mode in MODES:
            wl_ov = {**wl_common, **(wl_snap if mode == "snap" else {})}
            ids[mode] = self.run(part=meta["part"], model=meta["model"], domain=meta["domain"],
                                 scenario=meta["scenario"], link=meta["link"], mode=mode, hw_file=hw_file,
                                 wl_file=wl_file, hw_overrides=hw_ov, wl_overrides=wl_ov, trace=None)
        self.cases.append({**meta, **{f"run_id_{m}": ids[m] for m in MODES}})


def _plan(cfg: StudySize) -> _Plan:
    plan = _Plan()
    hw_file = str(ROOT / cfg.package)
    stream = {"stream.inferences": cfg.inferences}
    # part 1: model size x link x memory scenario
    for scenario in cfg.scenarios:
        for link in cfg.links:
            for model in cfg.models:
                domain = "language" if model.startswith("rwkv") else "vision"
                meta = {"part": "size", "model": model, "domain": domain, "scenario": scenario, "link": link}
                hw_ov = {"link.preset": link, **SCENARIOS[scenario]}
                plan.case(meta, hw_file, _zoo(model, cfg.partitions), hw_ov, stream, {})
    # part 2: regime map, per model: lanes x pJ/bit at every (firing rate, timesteps)
    for model in cfg.regime_models:
        wl = _zoo(model, cfg.partitions)
        domain = "language" if model.startswith("rwkv") else "vision"
        for lanes in cfg.regime_lanes:
            for epb in cfg.regime_energy_pj_per_bit:
                hw_ov = {"link.lanes": lanes, "link.energy_pj_per_bit": epb, **SCENARIOS[cfg.regime_scenario]}
                for fr in cfg.regime_firing_rates:
                    for ts in cfg.regime_timesteps:
                        meta = {"part": "regime", "model": model, "domain": domain,
                                "scenario": cfg.regime_scenario, "link": "package"}
                        plan.case(meta, hw_file, wl, hw_ov, stream,
                                  {"boundary.firing_rate": fr, "boundary.timesteps": ts})
    # part 3: accuracy, the shipped traces replayed in snap mode
    for task in cfg.traces:
        wl = str(ROOT / "workloads" / f"{task}_snap.yaml")
        for link in cfg.trace_links:
            for enc in cfg.trace_encodings:
                for level in cfg.levels:
                    trace = str(ROOT / "workloads" / "traces" / f"{task}_snap_l{level}.snaptrace")
                    wl_ov = {"stream.inferences": cfg.trace_inferences, "boundary.encoding": enc}
                    if task == "digits":  # its per-boundary specs repeat the encoding
                        wl_ov.update({"boundaries.0.encoding": enc, "boundaries.1.encoding": enc})
                    plan.run(part="accuracy", model=f"{task}-snap",
                             domain="vision" if task == "digits" else "language", scenario="shipped", link=link,
                             mode="snap", hw_file=hw_file, wl_file=wl, hw_overrides={"link.preset": link},
                             wl_overrides=wl_ov, trace=trace)
    # part 4: number of chiplets, each model split over P partitions on the first P dies of the 16-die package
    chiplet_hw = str(ROOT / cfg.chiplet_package)
    for scenario in cfg.chiplet_scenarios:
        for link in cfg.chiplet_links:
            for model in cfg.chiplet_models:
                for parts in cfg.chiplet_partitions:
                    meta = {"part": "chiplets", "model": model, "domain": _domain(model), "scenario": scenario,
                            "link": link}
                    hw_ov = {"link.preset": link, **SCENARIOS[scenario]}
                    plan.case(meta, chiplet_hw, _zoo(model, parts), hw_ov, stream, {})
    return plan


def _domain(model: str) -> str:
    return "language" if model.startswith("rwkv") else "vision"


# ----------------------------------------------------------------------------------------------------
# tables


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


def _chiplets_sentence(ch: pd.DataFrame) -> str:
    """What the chiplets table says, counted from it: in how many groups each margin over ANN-only grows."""
    if not len(ch):
        return "No chiplet-count data."
    counts = [c[len("energy_gain_vs_ann_p"):] for c in ch.columns if c.startswith("energy_gain_vs_ann_p")]
    lo, hi, n = counts[0], counts[-1], len(ch)
    grow_e, grow_l = int(ch["energy_gain_vs_ann_grows"].sum()), int(ch["latency_gain_vs_ann_grows"].sum())
    verdict = ("Yes, in most groups" if min(grow_e, grow_l) > n / 2 else
               "Only in some groups" if max(grow_e, grow_l) > 0 else "No")
    rhos = []
    for col, what in (("energy_gain_vs_ann", "energy"), ("latency_gain_vs_ann", "latency")):
        rho = ch[f"{col}_spearman"].dropna()
        rhos.append(f"{what} rho > 0 in {int((rho > 0).sum())}/{n}, < 0 in {int((rho < 0).sum())}/{n}, undefined "
                    f"(constant gain) in {n - len(rho)}/{n}, median {rho.median() if len(rho) else float('nan'):.2f}")

    def span(col: str, p: str, fmt: str) -> str:
        v = ch[f"{col}_p{p}"]
        return f"{format(v.min(), fmt)}-{format(v.max(), fmt)}"

    change = {col: ch[f"{col}_p{hi}"] / ch[f"{col}_p{lo}"] - 1
              for col in ("energy_gain_vs_ann", "latency_gain_vs_ann")}
    return (f"**{verdict}**: SNAP's margin over ANN-only is >1% larger at {hi} than at {lo} chiplets in "
            f"{grow_e}/{n} (scenario, link, model) groups for energy and {grow_l}/{n} for latency (measured from "
            f"the table, not assumed; from {lo} to {hi} chiplets the energy gain changes by "
            f"{change['energy_gain_vs_ann'].min():+.2%} to {change['energy_gain_vs_ann'].max():+.2%} and the latency "
            f"gain by {change['latency_gain_vs_ann'].min():+.2%} to {change['latency_gain_vs_ann'].max():+.2%}; "
            f"Spearman rho vs partitions: " + "; ".join(rhos) + "). The energy gain over "
            f"ANN-only spans {span('energy_gain_vs_ann', lo, '.4f')}x at {lo} and "
            f"{span('energy_gain_vs_ann', hi, '.4f')}x at {hi} chiplets; from {lo} to {hi} chiplets the ANN "
            f"design's D2D energy share goes from {span('ann_d2d_energy_share', lo, '.1%')} to "
            f"{span('ann_d2d_energy_share', hi, '.1%')} (its per-bit part from "
            f"{span('ann_d2d_dynamic_share', lo, '.2%')} to {span('ann_d2d_dynamic_share', hi, '.2%')}; the rest "
            f"is link idle power) and its DRAM share from {span('ann_dram_energy_share', lo, '.1%')} to "
            f"{span('ann_dram_energy_share', hi, '.1%')}.")


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


# ----------------------------------------------------------------------------------------------------
# figures


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _figures(out: Path, gains: pd.DataFrame, acc: pd.DataFrame, front: pd.DataFrame, cfg: StudySize) -> dict:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.ticker import NullLocator

    files = {}
    g = gains[gains["part"] == "size"]
    scen = list(dict.fromkeys(g["scenario"]))
    fig, axes = plt.subplots(len(scen), 4, figsize=(18, 4 * len(scen)), squeeze=False)
    titles = {"energy_gain_vs_ann": "energy ANN/SNAP", "latency_gain_vs_ann": "latency ANN/SNAP",
              "energy_gain_vs_snn": "energy SNN/SNAP", "latency_gain_vs_snn": "latency SNN/SNAP"}
    for i, s in enumerate(scen):
        for j, col in enumerate(titles):
            ax = axes[i][j]
            for (link, domain), grp in g[g["scenario"] == s].groupby(["link", "domain"], sort=True):
                grp = grp.sort_values("params")
                ax.plot(grp["params"], grp[col], marker="o" if domain == "language" else "s",
                        ls="-" if domain == "language" else "--", label=f"{link} ({domain})")
            ax.axhline(1.0, color="k", lw=0.8)
            ax.axhline(PAPER_ENERGY_GAIN if col.startswith("energy") else PAPER_LATENCY_GAIN, color="r", lw=0.8,
                       ls=":", label="paper headline")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(f"{titles[col]}  [{s}]")
            ax.set_xlabel("parameters")
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    files["fig_gains_vs_size"] = _save(fig, out / "gains_vs_size.png")

    for model in cfg.regime_models:
        r = gains[(gains["part"] == "regime") & (gains["model"] == model)]
        if not len(r):
            continue
        fr0 = _nearest(cfg.regime_firing_rates, 0.05)
        ts0 = _nearest(cfg.regime_timesteps, 4)
        mid_lanes = _nearest(cfg.regime_lanes, 16)
        mid_epb = _nearest(cfg.regime_energy_pj_per_bit, 1.2)
        link_view = r[(r["firing_rate"] == fr0) & (r["timesteps"] == ts0)]
        spike_view = r[(r["link_lanes"] == mid_lanes) & (r["link_energy_pj_per_bit"] == mid_epb)]
        fig, axes = plt.subplots(2, 4, figsize=(21, 9), squeeze=False, layout="constrained")
        for i, (view, ycol, xcol, what) in enumerate((
                (link_view, "link_lanes", "link_energy_pj_per_bit", f"firing rate {fr0}, T={ts0}"),
                (spike_view, "firing_rate", "timesteps", f"lanes {mid_lanes}, {mid_epb} pJ/bit"))):
            for j, col in enumerate(titles):
                ax = axes[i][j]
                piv = view.pivot_table(index=ycol, columns=xcol, values=col, aggfunc="first")
                im = ax.imshow(np.log2(piv.values.astype(float)), cmap="RdBu", vmin=-4, vmax=4, origin="lower",
                               aspect="auto")
                ax.set_xticks(range(len(piv.columns)), [f"{c:g}" for c in piv.columns])
                ax.set_yticks(range(len(piv.index)), [f"{c:g}" for c in piv.index])
                ax.set_xlabel(xcol)
                ax.set_ylabel(ycol)
                ax.set_title(f"{titles[col]}\n{model}, {what}", fontsize=9)
                for (yi, xi), v in np.ndenumerate(piv.values.astype(float)):
                    ax.text(xi, yi, f"{v:.3g}", ha="center", va="center", fontsize=7)
        fig.colorbar(im, ax=axes, shrink=0.5, label="log2 gain (blue: SNAP wins, red: SNAP loses)")
        files[f"fig_regime_{model}"] = _save(fig, out / f"regime_map_{model}.png")

    c = gains[gains["part"] == "chiplets"]
    if len(c):
        scen, links = list(dict.fromkeys(c["scenario"])), list(dict.fromkeys(c["link"]))
        cols = [(col, link) for col in ("energy_gain_vs_ann", "latency_gain_vs_ann") for link in links]
        fig, axes = plt.subplots(len(scen), len(cols), figsize=(4.5 * len(cols), 3.8 * len(scen)), squeeze=False)
        counts = sorted(int(p) for p in c["partitions"].dropna().unique())
        for i, s in enumerate(scen):
            for j, (col, link) in enumerate(cols):
                ax = axes[i][j]
                for model, grp in c[(c["scenario"] == s) & (c["link"] == link)].groupby("model", sort=False):
                    grp = grp.sort_values("partitions")
                    ax.plot(grp["partitions"], grp[col], marker="o" if grp["domain"].iloc[0] == "language" else "s",
                            ls="-" if grp["domain"].iloc[0] == "language" else "--", label=model)
                ax.axhline(1.0, color="k", lw=0.8)
                # linear y (the gains sit near 1, where a paper line at 5.3x / 15.2x would flatten every curve)
                paper = PAPER_ENERGY_GAIN if col.startswith("energy") else PAPER_LATENCY_GAIN
                ax.set_xscale("log", base=2)
                ax.set_xticks(counts, [str(p) for p in counts])
                ax.xaxis.set_minor_locator(NullLocator())  # only the partition counts as x ticks
                ax.ticklabel_format(axis="y", useOffset=False, style="plain")
                ax.set_title(f"{titles[col]} (paper: up to {paper}x)\n[{s}, {link}]", fontsize=9)
                ax.set_xlabel("partitions = chiplets used")
        axes[0][0].legend(fontsize=7)
        fig.tight_layout()
        files["fig_gains_vs_chiplets"] = _save(fig, out / "gains_vs_chiplets.png")

    if len(acc):
        tasks = sorted(acc["task"].unique())
        fig, axes = plt.subplots(2, len(tasks), figsize=(6 * len(tasks), 8), squeeze=False)
        for j, task in enumerate(tasks):
            a, f = acc[acc["task"] == task], front[front["task"] == task]
            for link, grp in a.groupby("link", sort=True):
                axes[0][j].scatter(grp["energy_pj_per_inf"], grp["trace_accuracy"], label=link)
                axes[1][j].scatter(grp["d2d_bits_per_inf"], grp["trace_accuracy"], label=link)
            axes[0][j].scatter(f["energy_pj_per_inf"], f["trace_accuracy"], facecolors="none", edgecolors="k",
                               s=160, label="3-objective front")
            axes[0][j].set_xlabel("energy pJ / inference")
            axes[1][j].set_xlabel("D2D bits / inference")
            for ax in axes[:, j]:
                ax.set_ylabel("accuracy (trace manifest)")
                ax.set_title(f"{task}: SNAP trace replay, levels 0-3")
                ax.set_xscale("log")
            axes[0][j].legend(fontsize=7)
        fig.tight_layout()
        files["fig_accuracy"] = _save(fig, out / "accuracy_pareto.png")
    return files


def _nearest(values, target):
    return min(values, key=lambda v: (abs(v - target), v))


# ----------------------------------------------------------------------------------------------------
# summary


def md_table(df: pd.DataFrame, floatfmt: str = ".4g") -> str:
    """A GitHub markdown table (no tabulate dependency)."""
    def cell(v):
        if isinstance(v, (float, np.floating)):
            return "" if math.isnan(v) else format(float(v), floatfmt)
        return str(v)

    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def _summary(size: str, cfg: StudySize, runs, gains, trend, regime, acc, front, chiplets, elapsed: float,
             workers: int, targets: pd.DataFrame | None = None, ranges=None) -> str:
    ok = runs["status"] == "ok"
    g = gains[gains["part"] == "size"]
    lines = [f"# SNAP reproduction study ({size} size)", "",
             f"{len(runs)} snapsim runs ({int((~ok).sum())} failed), {len(gains)} gain cases, "
             f"{elapsed:.1f} s on {workers} worker(s). Every number below comes from those runs "
             "(`runs.csv`); every gain is a ratio of two rows of it, named in `gains.csv` by run_id.", "",
             f"Full-size command: `{full_command()}`", "",
             "## Assumptions", "",
             f"- Hardware: `{cfg.package}`: 4 `generic-7nm-hbm` chiplets (16384 MACs at 1.8 GHz, 48 MiB SRAM, "
             "one HBM3 stack each, 7 nm energies) in a 1x4 mesh, one model partition per chiplet "
             f"(zoo `_p{cfg.partitions}` workloads). The link preset is swapped with `link.preset` "
             f"({', '.join(cfg.links)}); topology, mapping and chiplet stay the package's.",
             "- Memory scenarios: `shipped` = the preset's 48 MiB SRAM per die; weights of a partition that do not "
             "fit stream from HBM every inference (this dominates the LLMs: DRAM is most of their energy and "
             "latency and hides the D2D link). `weights-on-die` = `chiplet.sram.capacity_mib` overridden to "
             f"{WEIGHTS_ON_DIE_SRAM_MIB} MiB so every partition's weights stay in SRAM: an idealisation "
             "(no real die has that), with the preset's SRAM energy per bit and bandwidth, that isolates "
             "compute and communication.",
             "- Modes as implemented by snapsim (docs/design.md): ANN-only = dense compute, dense boundary "
             "activations at the workload precision; SNN-only = every stage spiking for `snn.timesteps` steps at "
             "`snn.firing_rate`, accumulates = MACs x rate, weights fetched event-driven; SNAP = dense compute on "
             "each die, spike encoder/decoder only at the boundaries.",
             "- Per-model settings, as shipped in the zoo files (assumptions of those files: no trace exists for "
             f"these models); SNAP spike counts are drawn Binomial(neurons, rate) with seed {SEED}:", "",
             md_table(_model_settings(runs)), "",
             f"- Streams: `stream.inferences` = {cfg.inferences} per run (closed loop, the zoo's "
             "max_in_flight=4, batch 1); latency is the p50 per inference, energy per inference includes "
             "link idle power for the run's duration.",
             f"- Regime map: {', '.join(f'`{m}_p{cfg.partitions}`' for m in cfg.regime_models)}, scenario `{cfg.regime_scenario}`, on the "
             f"package's own link preset with `link.lanes` in {list(cfg.regime_lanes)} (bandwidth) x "
             f"`link.energy_pj_per_bit` in {list(cfg.regime_energy_pj_per_bit)}, and boundary firing rate in "
             f"{list(cfg.regime_firing_rates)} x timesteps in {list(cfg.regime_timesteps)} (full grid). Link idle "
             "power is kept at the preset value when lanes or pJ/bit change. SNN-only runs keep the zoo's "
             "snn settings (the regime only varies SNAP's boundary).",
             f"- Accuracy axis: the shipped traces `workloads/traces/{{digits,charlm}}_snap_l{{0..3}}.snaptrace` "
             f"replayed in snap mode ({cfg.trace_inferences} inferences each) with `workloads/digits_snap.yaml` "
             f"and `workloads/charlm_snap.yaml` (T=8 and T=4), each with the {' and '.join(e.upper() if e == 'aer' else e for e in cfg.trace_encodings)} wire encodings, on links {', '.join(cfg.trace_links)}; "
             "accuracy is the manifest's `metrics.accuracy` of the trained model at that sparsity level. "
             "The three-objective front (min energy, min p50 latency, max accuracy) is per task.",
             *_chiplets_assumption(cfg),
             "- Nothing is tuned toward the paper: presets and zoo values are used as shipped.", ""]

    # headline numbers
    lines += ["## Headline", ""]
    for col, paper in (("energy_gain_vs_ann", PAPER_ENERGY_GAIN), ("energy_gain_vs_snn", PAPER_ENERGY_GAIN),
                       ("latency_gain_vs_ann", PAPER_LATENCY_GAIN), ("latency_gain_vs_snn", PAPER_LATENCY_GAIN)):
        for part, sub in (("size", g), ("regime", gains[gains["part"] == "regime"]),
                          ("chiplets", gains[gains["part"] == "chiplets"])):
            v = sub[col].dropna()
            if not len(v):
                continue
            best = sub.loc[v.idxmax()]
            where = f"{best['partitions']:g} chiplets, " if part == "chiplets" else ""
            lines.append(
                f"- {col} [{part}]: min {v.min():.3g}, median {v.median():.3g}, max {v.max():.3g} "
                f"(at {best['model']}, {where}{best['scenario']}, {best['link']}, lanes {best['link_lanes']}, "
                f"{best['link_energy_pj_per_bit']:g} pJ/bit, rate {best['firing_rate']:g}, T {best['timesteps']:g}); paper {paper}x reached in "
                f"{int((v >= paper).sum())}/{len(v)} cases; SNAP loses (gain < 1) in {int((v < 1).sum())}/{len(v)}")
    lines.append("")
    if targets is not None and len(targets):
        t = cfg.targets
        lines += ["## Where do the gains reach the paper's figures? (part `targets`)", "",
                  f"Per model (`_p{t.partitions}`, `weights-on-die`, the 1x4 package's link; SNAP at firing rate "
                  f"{t.firing_rate:g}, T={t.timesteps}, the zoo's AER encoding), two searches of the D2D link, each point "
                  "an ANN-only and a SNAP run (`run_ids` in `targets.csv`, rows in `runs.csv`, part `targets`):", "",
                  f"- energy per bit: energy per inference is affine in the link's pJ/bit (bits and timing do "
                  f"not depend on it), so two runs per design ({t.energy_points_pj_per_bit[0]:g} and "
                  f"{t.energy_points_pj_per_bit[1]:g} pJ/bit) give the pJ/bit where energy(ANN)/energy(SNAP) = "
                  f"{PAPER_ENERGY_GAIN} in closed form, and a run at that value checks it (`gain_at_threshold`). "
                  "Idle and sleep power scale with pJ/bit as the presets derive them. Three link power models: "
                  "`always-on` (the presets: idle at 70% of active power), `power-managed` (a low-power state "
                  f"entered after {t.sleep_after_idle_ns:g} ns idle, {t.wake_latency_ns:g} ns wake, "
                  f"{t.sleep_power_frac:g} of active power: the XSR preset's fast state in hw-parameters.md "
                  "section 5), `gated-ideal` (zero idle power, free wake: an upper bound). `limit` = the gain "
                  "as pJ/bit grows without bound; `inf` threshold = never reached.",
                  f"- bandwidth: one lane, `rate_gtps` over {list(t.rates_gtps)} GT/s (PAM4: 2 bits per "
                  "transfer), idle power scaled with bandwidth, always-on; bisection "
                  f"({t.bisection_steps} steps) between the fastest grid link that reaches the figure and the next "
                  "one; `threshold` = the highest bandwidth found that still reaches it, `limit` = the best "
                  "gain on the grid.",
                  f"- SNN-only timesteps: the SNN-only design (the zoo's `snn.firing_rate`) run with `snn.timesteps` "
                  f"over {list(t.snn_timesteps)}, then integer bisection: `threshold` = the fewest timesteps at "
                  "which SNAP's gain over SNN-only reaches break-even (1x) or the paper's figure; a run at one "
                  "timestep fewer does not (`snn_timesteps_below`, `gain_below`). How many timesteps an SNN needs "
                  "for the accuracy of the ANN is a property of the trained network that snapsim does not model; "
                  "this converts the SNN-only comparison into that one number.", "",
                  *targets_sentences(targets, *(ranges or ((math.nan, math.nan), (math.nan, math.nan)))), "",
                  md_table(targets.drop(columns=["run_ids"], errors="ignore")[
                      [c for c in ("model", "search", "link_power", "metric", "target", "threshold", "threshold_unit",
                                   "limit", "gain_at_threshold", "reached") if c in targets]]), ""]
    lines += ["## Does the margin grow with model size?", "", _trend_sentence(trend), "",
              md_table(trend[["scenario", "link", "domain", "smallest", "largest",
                              "energy_gain_vs_ann_smallest", "energy_gain_vs_ann_largest", "energy_gain_vs_ann_spearman",
                              "latency_gain_vs_ann_smallest", "latency_gain_vs_ann_largest",
                              "latency_gain_vs_ann_spearman", "energy_gain_vs_snn_spearman"]]), ""]
    if len(chiplets):
        counts = [c[len("energy_gain_vs_ann_p"):] for c in chiplets.columns if c.startswith("energy_gain_vs_ann_p")]
        lines += ["## Does the margin grow with the number of chiplets?", "",
                  f"Part `chiplets`: {', '.join(cfg.chiplet_models)}, each split over {', '.join(counts)} "
                  f"partitions (zoo `_p<P>` files), partition p on die mapping[p] of `{cfg.chiplet_package}` "
                  f"(a neighbour chain, P-1 boundaries, P dies used), links {', '.join(cfg.chiplet_links)}, "
                  f"scenarios {', '.join(cfg.chiplet_scenarios)}; {cfg.inferences} inferences per run. `_p<P>` "
                  "columns: SNAP's gain over ANN-only and the ANN design's D2D (`ann_d2d_energy_share`; its "
                  "per-bit part `ann_d2d_dynamic_share`, the rest is link idle power) and DRAM "
                  "(`ann_dram_energy_share`) shares of its energy at P chiplets; `_spearman` = rank correlation "
                  "with P (empty when the gain is constant); `_grows` = >1% larger at the largest P than at the "
                  "smallest.", "",
                  _chiplets_sentence(chiplets), "",
                  md_table(chiplets.drop(columns=["domain", "partitions"])), ""]
    lines += ["## Gains per model and link (part `size`)", "",
              md_table(g[["scenario", "link", "model", "params", "energy_gain_vs_ann", "energy_gain_vs_snn",
                          "latency_gain_vs_ann", "latency_gain_vs_snn", "d2d_bits_reduction_vs_ann",
                          "ann_d2d_energy_share", "ann_d2d_dynamic_share", "ann_dram_energy_share"]]), ""]
    if len(regime):
        lines += ["## Regime map (part `regime`)", "",
                  "Where SNAP reaches the paper's figures and where it loses, per model; `energy/ann` = energy(ANN)/energy(SNAP) etc., min/max over the (firing rate, timesteps) grid, and how many grid points reach the paper's figure or lose:", "",
                  md_table(regime), ""]
    lines += ["## Accuracy axis (SNAP trace replay)", "",
              md_table(acc[["task", "level", "link", "encoding", "trace_accuracy", "firing_rate", "d2d_bits_per_inf",
                            "energy_pj_per_inf", "latency_ns_p50"]]), "",
              "Three-objective Pareto front (per task):", "",
              md_table(front[["task", "level", "link", "encoding", "trace_accuracy", "d2d_bits_per_inf", "energy_pj_per_inf",
                              "latency_ns_p50"]]), ""]
    if len(acc):
        wire = acc.groupby(["task", "link", "encoding"])["d2d_bits_per_inf"].nunique()
        payload = acc.groupby(["task", "link", "encoding"])["d2d_payload_bits_per_inf"].nunique()
        lines += [f"Wire bits per inference vary with the sparsity level in {int((wire > 1).sum())}/{len(wire)} "
                  f"(task, link, encoding) groups, payload bits in {int((payload > 1).sum())}/{len(payload)}: "
                  "a spike frame smaller than one flit still costs a whole flit on the wire (framing), so a "
                  "sparser boundary saves wire bits and link energy only once frames exceed a flit.", ""]
    lines += ["## Conclusion", "", _conclusion(gains, trend, chiplets) + _targets_conclusion(targets, ranges), ""]
    if (~ok).any():
        lines += ["## Failed runs", "", md_table(runs.loc[~ok, ["run_id", "model", "link", "mode", "error"]]), ""]
    return "\n".join(lines)


def _chiplets_assumption(cfg: StudySize) -> list[str]:
    if not (cfg.chiplet_models and cfg.chiplet_links and cfg.chiplet_scenarios):
        return []
    return [f"- Chiplet count: `{cfg.chiplet_package}`: 16 `generic-7nm-hbm` chiplets in a 4x4 mesh, same "
            "chiplet and link presets as the 1x4 package, mapping in serpentine order so partition p runs on die "
            f"mapping[p] and the first P dies are a chain of neighbours; {', '.join(cfg.chiplet_models)} are run "
            f"as zoo `_p{{{','.join(str(p) for p in cfg.chiplet_partitions)}}}` (the same model split over P "
            "partitions; P-1 boundaries, P dies used, the other dies and their links idle and not charged). In "
            "the `shipped` scenario more dies also mean more total SRAM (48 MiB each), so fewer weights stream "
            "from HBM."]


def _model_settings(runs: pd.DataFrame) -> pd.DataFrame:
    r = runs[(runs["part"] == "size") & (runs["status"] == "ok")]
    snap = r[r["mode"] == "snap"].drop_duplicates("model").set_index("model")
    snn = r[r["mode"] == "snn"].drop_duplicates("model").set_index("model")
    out = pd.DataFrame({
        "model": snap.index, "domain": snap["domain"].values, "params": snap["params"].values,
        "precision": snap["precision"].values, "snap boundary rate": snap["firing_rate"].values,
        "snap T": snap["timesteps"].values, "encoding": snap["encoding"].values,
        "snn rate": snn.loc[snap.index, "firing_rate"].values, "snn T": snn.loc[snap.index, "timesteps"].values})
    return out.reset_index(drop=True)


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


def _trend_sentence(trend: pd.DataFrame) -> str:
    if not len(trend):
        return "No size data."
    parts = []
    for col in ("energy_gain_vs_ann", "latency_gain_vs_ann", "energy_gain_vs_snn", "latency_gain_vs_snn"):
        rho = trend[f"{col}_spearman"].dropna()
        grow = trend[f"{col}_largest"] > trend[f"{col}_smallest"] * 1.01
        parts.append(f"{col}: larger at the largest than at the smallest model in {int(grow.sum())}/{len(trend)} "
                     f"(scenario, link, domain) groups; median Spearman rho vs parameters "
                     f"{rho.median() if len(rho) else float('nan'):.2f}")
    grow_e = (trend["energy_gain_vs_ann_largest"] > trend["energy_gain_vs_ann_smallest"] * 1.01).mean()
    grow_l = (trend["latency_gain_vs_ann_largest"] > trend["latency_gain_vs_ann_smallest"] * 1.01).mean()
    verdict = ("Yes, in most groups" if min(grow_e, grow_l) > 0.5 else
               "Not in general" if max(grow_e, grow_l) > 0 else "No")
    return (f"**{verdict}**: the paper's claim that the margin over ANN-only grows with model size is "
            f"{'supported' if verdict.startswith('Yes') else 'not reproduced'} by these runs. Measured, not "
            "assumed (a margin 'grows' only if the gain at the largest model exceeds the smallest's by >1%): "
            + "; ".join(parts) + ".")


def _targets_conclusion(targets: pd.DataFrame | None, ranges) -> str:
    """One sentence on where the paper's figures are reached at all, from the ``targets`` table."""
    if targets is None or not len(targets) or ranges is None:
        return ""
    (lo_g, hi_g), (lo_e, hi_e) = ranges
    lat = targets[(targets["search"] == "bandwidth") & (targets["metric"] == "latency_gain_vs_ann")]
    lat_ok = lat[lat["reached"]]
    parts = [f" Searching the link itself (part `targets`): SNAP's {PAPER_LATENCY_GAIN}x latency gain over ANN-only "
             f"is reached by {len(lat_ok)} of {len(lat)} models, at link bandwidths up to "
             f"{lat_ok['threshold'].min():.3g}-{lat_ok['threshold'].max():.3g} Gb/s per direction" if len(lat_ok) else
             f" Searching the link itself (part `targets`): no model reaches {PAPER_LATENCY_GAIN}x latency on any grid link"]
    parts[0] += f" (the presets offer {lo_g:g}-{hi_g:g} Gb/s)."
    snn = targets[targets["search"] == "snn_timesteps"]
    for metric, target, reaches, never in (
            ("energy", 1.0, "costs as much as SNAP", "costs as much as SNAP"),
            ("energy", PAPER_ENERGY_GAIN, f"is {PAPER_ENERGY_GAIN}x SNAP's energy",
             f"reaches {PAPER_ENERGY_GAIN}x SNAP's energy"),
            ("latency", PAPER_LATENCY_GAIN, f"is {PAPER_LATENCY_GAIN}x SNAP's latency",
             f"reaches {PAPER_LATENCY_GAIN}x SNAP's latency")):
        rows = snn[(snn["metric"] == f"{metric}_gain_vs_snn") & (snn["target"] == target)]
        t = rows[rows["reached"]]
        if len(t):
            parts.append(f" SNN-only {reaches} once it needs {t['threshold'].min():.0f}-{t['threshold'].max():.0f} "
                         f"timesteps ({len(t)} of {len(rows)} models within the grid).")
        elif len(rows):
            parts.append(f" SNN-only never {never} within the timesteps grid.")
    for pw in LINK_POWER:
        e = targets[(targets["search"] == "energy_per_bit") & (targets["link_power"] == pw)]
        ok = e[e["reached"]]
        parts.append(f" {PAPER_ENERGY_GAIN}x energy with {pw} links: {len(ok)} of {len(e)} models"
                     + (f", from {ok['threshold'].min():.3g} pJ/bit (presets {lo_e:g}-{hi_e:g})" if len(ok) else "")
                     + ".")
    return "".join(parts)


def _conclusion(gains: pd.DataFrame, trend: pd.DataFrame, chiplets: pd.DataFrame | None = None) -> str:
    chiplets = chiplets if chiplets is not None else pd.DataFrame()
    g = gains[gains["part"] == "size"]
    r = gains[gains["part"] == "regime"]
    out = []
    c = gains[gains["part"] == "chiplets"]
    for name, sub in (("model/link grid", g), ("regime map", r), ("chiplet-count grid", c)):
        if not len(sub):
            continue
        out.append(
            f"On the {name}, SNAP's energy gain over ANN-only spans {sub['energy_gain_vs_ann'].min():.4g}x to "
            f"{sub['energy_gain_vs_ann'].max():.4g}x and its latency gain {sub['latency_gain_vs_ann'].min():.4g}x to "
            f"{sub['latency_gain_vs_ann'].max():.4g}x; over SNN-only {sub['energy_gain_vs_snn'].min():.4g}x to "
            f"{sub['energy_gain_vs_snn'].max():.4g}x (energy) and {sub['latency_gain_vs_snn'].min():.4g}x to "
            f"{sub['latency_gain_vs_snn'].max():.4g}x (latency).")
    if len(g):
        share, dyn = g["ann_d2d_energy_share"], g["ann_d2d_dynamic_share"]
        out.append(
            f"The D2D link is {share.min():.1%}-{share.max():.1%} of the ANN design's energy on the model/link grid "
            f"(the rest is compute, SRAM and, in the `shipped` scenario, HBM weight streaming), but only "
            f"{dyn.min():.2%}-{dyn.max():.2%} is per-bit (dynamic) energy; the rest is link idle power over the "
            "run, which fewer bits do not remove unless the run gets shorter. SNAP can only save on the dynamic "
            "share (and on idle time when the link bounds latency), and pays spike encode/decode and T frames of link latency; where the share is small "
            "the gain over ANN-only is ~1x.")
        loses = (g["energy_gain_vs_snn"] < 1).mean()
        loses_l = (g["latency_gain_vs_snn"] < 1).mean()
        out.append(
            f"Against SNN-only, SNAP uses more energy in {loses:.0%} and has a higher latency in {loses_l:.0%} of "
            "the model/link cases: snapsim's SNN-only design replaces MACs by accumulates at the firing rate "
            "(zoo: 0.1 for every stage) and reads weights event-driven, which on these presets costs less than SNAP's dense "
            "compute. snapsim does not model the accuracy an SNN-only network would lose, which is part of the "
            "paper's case for SNAP over SNN-only.")
    r = gains[gains["part"] == "regime"]
    for model, sub in r.groupby("model", sort=True):
        best = sub.loc[sub["energy_gain_vs_ann"].idxmax()]
        worst = sub.loc[sub["energy_gain_vs_ann"].idxmin()]
        out.append(
            f"Regime map, {model}: the best energy gain over ANN-only, {best['energy_gain_vs_ann']:.4g}x, is at "
            f"{best['link_lanes']:g} lanes, {best['link_energy_pj_per_bit']:g} pJ/bit, firing rate "
            f"{best['firing_rate']:g}, T={best['timesteps']:g}; the worst, {worst['energy_gain_vs_ann']:.4g}x "
            f"{'(SNAP loses) ' if worst['energy_gain_vs_ann'] < 1 else ''}at {worst['link_lanes']:g} lanes, "
            f"{worst['link_energy_pj_per_bit']:g} pJ/bit, rate {worst['firing_rate']:g}, T={worst['timesteps']:g}.")
    if len(chiplets):
        out.append("Chiplet count: " + _chiplets_sentence(chiplets).replace("**", ""))
    paper_e = int((gains["energy_gain_vs_ann"] >= PAPER_ENERGY_GAIN).sum())
    paper_l = int((gains["latency_gain_vs_ann"] >= PAPER_LATENCY_GAIN).sum())
    per_part = ", ".join(
        f"{part} {int((sub['energy_gain_vs_ann'] >= PAPER_ENERGY_GAIN).sum())}/"
        f"{int((sub['latency_gain_vs_ann'] >= PAPER_LATENCY_GAIN).sum())} of {len(sub)}"
        for part, sub in gains.groupby("part", sort=False))
    out.append(f"The paper's 5.3x energy gain over ANN-only is reached in {paper_e} of {len(gains)} cases and its "
               f"15.2x latency gain in {paper_l} (energy/latency per part: {per_part})"
               + ("; see the regime map for which link bandwidth, pJ/bit, firing "
               "rate and timesteps those are." if paper_e or paper_l else ".")
               + " These are snapsim's numbers under the stated assumptions, not a confirmation or refutation "
               "of the paper's hardware.")
    return " ".join(out)


# ----------------------------------------------------------------------------------------------------


def run_study(size: str = "default", out_dir: str | os.PathLike = "study_out", workers: int | None = None,
              progress=None) -> StudyResult:
    """Run the study and write its tables, figures and summary under ``out_dir``."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}; got {size!r}")
    cfg = SIZES[size]
    if workers is None:
        workers = 1 if size == "small" else max(1, min(os.cpu_count() or 1, 8))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    plan = _plan(cfg)
    if progress:
        progress(f"{len(plan.specs)} runs, {len(plan.cases)} cases, {workers} worker(s)")
    rows = _run_all(plan.specs, workers)
    targets = scan = pd.DataFrame()
    if cfg.targets is not None:  # adaptive: runs in batches, each point chosen from the previous ones
        from .config import load_hardware

        hw_file = str(ROOT / cfg.package)
        extra, targets, scan = run_targets(cfg.targets, plan, lambda specs: _run_all(specs, workers), hw_file, _zoo,
                                           SCENARIOS["weights-on-die"], cfg.inferences, load_hardware(hw_file).link,
                                           done=rows)
        rows += extra
    runs = pd.DataFrame(rows)
    front_cols = ["run_id", "part", "model", "domain", "params", "partitions", "scenario", "link", "mode",
                  "firing_rate", "timesteps", "encoding", "inferences", "latency_ns_p50", "energy_pj_per_inf",
                  "d2d_bits_per_inf", "d2d_payload_bits_per_inf"]
    runs = runs[[c for c in front_cols if c in runs] + [c for c in runs.columns if c not in front_cols]]
    gains = gains_table(runs, plan.cases)
    trend = size_trend_table(gains)
    regime = regime_table(gains)
    acc, front = accuracy_tables(runs)
    chiplets = chiplets_table(gains)
    elapsed = time.perf_counter() - t0
    files = {}
    for name, df in (("runs", runs), ("gains", gains), ("size_trend", trend), ("regime", regime),
                     ("accuracy", acc), ("accuracy_front", front), ("chiplets", chiplets), ("targets", targets),
                     ("targets_grid", scan)):
        files[name] = out / f"{name}.csv"
        df.to_csv(files[name], index=False)
    files.update(_figures(out, gains, acc, front, cfg))
    ranges = _preset_ranges(runs)
    if len(targets):
        files["fig_targets"] = targets_figure(out / "gains_vs_link.png", targets, scan, *ranges)
    elapsed = time.perf_counter() - t0
    summary = _summary(size, cfg, runs, gains, trend, regime, acc, front, chiplets, elapsed, workers,
                       targets=targets, ranges=ranges)
    files["summary"] = out / "summary.md"
    files["summary"].write_text(summary)
    return StudyResult(size, out, runs, gains, trend, regime, acc, front, chiplets, summary, files, elapsed,
                       targets=targets, targets_grid=scan)


def _preset_ranges(runs: pd.DataFrame) -> tuple[tuple[float, float], tuple[float, float]]:
    """Bandwidth (Gb/s per direction) and pJ/bit spanned by the link presets the size part ran."""
    r = runs[(runs["part"] == "size") & (runs["status"] == "ok")]
    if not len(r):
        return (math.nan, math.nan), (math.nan, math.nan)
    return ((float(r["link_gbps"].min()), float(r["link_gbps"].max())),
            (float(r["link_energy_pj_per_bit"].min()), float(r["link_energy_pj_per_bit"].max())))
