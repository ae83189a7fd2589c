"""The SNAP reproduction study (``snapsim study snap``): SNAP against ANN-only and SNN-only, from snapsim runs.

Steps: :mod:`.plan` (the grid parts: size, regime, accuracy, chiplets), :mod:`.targets` (part ``targets``,
a search), :mod:`.analysis` (tables), :mod:`.report` (``summary.md``) and :mod:`.figures` (PNGs).

Outputs (under the output directory): ``runs.csv`` (one row per run, identified by ``run_id``),
``gains.csv`` (per case the ratios of the ann, snn and snap runs named by ``run_id_ann/_snn/_snap``),
``size_trend.csv``, ``regime.csv``, ``accuracy.csv``, ``accuracy_front.csv``, ``chiplets.csv``,
``targets.csv``, ``targets_grid.csv``, ``summary.md``, PNG figures, and ``runs.parquet`` (every run's
result, what a rerun resumes from). Everything is deterministic: fixed seed, runs in a fixed order,
results gathered by run id.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...config import load_hardware
from .. import paths
from ..base import Study, StudyResult
from ..execute import PlanRunner
from ..plan import Plan
from ..report import md_table
from .analysis import accuracy_tables, chiplets_table, gains_table, order_runs, preset_ranges, regime_table, size_trend_table
from .figures import grid_figures, targets_figure
from .plan import SCENARIOS, SIZES, StudySize, build_plan
from .report import Facts, summary
from .targets import run_targets

__all__ = ["SnapStudy"]


class SnapStudy(Study):
    name = "snap"
    title = "SNAP vs ANN-only and SNN-only (Nardone et al. 2025): model size, regime map, accuracy, chiplet count, link thresholds"
    sizes = SIZES
    default_size = "default"

    def plan(self, config: StudySize) -> Plan:
        return build_plan(config)

    def search(self, config: StudySize, plan: Plan, runner: PlanRunner) -> dict[str, pd.DataFrame]:
        if config.targets is None:
            return {}
        hw_file = str(paths.package(config.package))
        targets, grid = run_targets(config.targets, plan, runner, hw_file, SCENARIOS["weights-on-die"],
                                    config.inferences, load_hardware(hw_file).link)
        return {"targets": targets, "targets_grid": grid}

    def analyse(self, config: StudySize, plan: Plan, runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
        gains = gains_table(runs, plan.cases)
        accuracy, front = accuracy_tables(runs)
        return {"runs": order_runs(runs), "gains": gains, "size_trend": size_trend_table(gains),
                "regime": regime_table(gains), "accuracy": accuracy, "accuracy_front": front,
                "chiplets": chiplets_table(gains)}

    def figures(self, result: StudyResult) -> dict[str, Path]:
        t, out = result.tables, result.out_dir
        files = grid_figures(out, t["gains"], t["accuracy"], t["accuracy_front"], result.config)
        if len(t.get("targets", ())):
            files["fig_targets"] = targets_figure(out / "gains_vs_link.png", t["targets"], t["targets_grid"],
                                                  *preset_ranges(t["runs"]))
        return files

    def summary(self, result: StudyResult) -> str:
        cfg, t = result.config, result.tables
        return summary(result.size, cfg, Facts.load(cfg), t, result.elapsed_s, result.where,
                       ranges=preset_ranges(t["runs"]))

    def console(self, result: StudyResult) -> str:
        t = result.tables
        g = t["gains"][t["gains"]["part"] == "size"]
        lines = [f"SNAP study ({result.size}): {len(result.runs)} runs in {result.elapsed_s:.1f} s "
                 f"({result.counts['resumed']} found finished, {result.counts['ok']} run, "
                 f"{result.counts['failed']} failed)", "",
                 "Gains (ratio other/SNAP; > 1 means SNAP is better), model/link grid:",
                 md_table(g[["scenario", "link", "model", "energy_gain_vs_ann", "energy_gain_vs_snn",
                             "latency_gain_vs_ann", "latency_gain_vs_snn", "ann_d2d_energy_share"]]),
                 "", "Regime map:", md_table(t["regime"])]
        ch = t["chiplets"]
        if len(ch):
            lines += ["", "Chiplet count (gain over ANN-only and ANN link/DRAM energy shares per partition count):",
                      md_table(ch[[c for c in ch.columns if c.startswith(
                          ("scenario", "link", "model", "energy_gain_vs_ann", "latency_gain_vs_ann", "ann_"))]])]
        if len(t.get("targets", ())):
            lines += ["", "Where SNAP reaches the paper's figures (threshold per model; inf/nan = never):",
                      md_table(t["targets"][["model", "search", "link_power", "metric", "target", "threshold",
                                             "threshold_unit", "limit", "reached"]])]
        lines += ["", "Accuracy front (3 objectives: energy, latency, accuracy):",
                  md_table(t["accuracy_front"][["task", "level", "link", "encoding", "trace_accuracy",
                                                "d2d_bits_per_inf", "energy_pj_per_inf", "latency_ns_p50"]]),
                  "", f"failed runs: {int((result.runs['status'] != 'ok').sum())}", "outputs:"]
        lines += [f"  {name:<24} {path}" for name, path in result.files.items()]
        return "\n".join(lines)
