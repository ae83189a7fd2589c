"""The SNAP reproduction study (``snapsim study snap``): SNAP against ANN-only and SNN-only, from snapsim runs,
in two scenarios side by side (``realistic``: cited defaults; ``paper``: the assumptions under which figures
of the paper's size arise).

Steps: :mod:`.plan` (the grid parts: size, regime, axes, ladder, accuracy, chiplets), :mod:`.targets` (part
``targets``, a search), :mod:`.analysis` (tables), :mod:`.claims` (every stated number with its runs),
:mod:`.report` (``summary.md``) and :mod:`.figures` (PNGs); :mod:`.scenarios` defines the two scenarios.

Outputs (under the output directory): ``runs.csv`` (one row per run, identified by ``run_id``), ``gains.csv``
(per case the ratios of the ann, snn and snap runs named by ``run_id_ann/_snn/_snap``), ``size_trend.csv``,
``regime.csv``, ``axes.csv``, ``ladder.csv``, ``paper_vs_realistic.csv``, ``accuracy.csv``,
``accuracy_front.csv``, ``chiplets.csv``, ``targets.csv``, ``targets_grid.csv``, ``scenarios.csv`` (every
assumption of both scenarios), ``claims.csv``, ``summary.md``, PNG figures, and ``runs.parquet`` (every
run's result, what a rerun resumes from). Everything is deterministic: fixed seed, runs in a fixed order,
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
from .analysis import (accuracy_tables, axes_table, chiplets_table, gains_table, ladder_table, order_runs,
                       paper_vs_realistic, preset_ranges, regime_table, size_trend_table)
from .claims import build_claims
from .figures import grid_figures, ladder_figure, targets_figure
from .plan import SIZES, StudySize, build_plan
from .references import load_references
from .report import Facts, summary
from .scenarios import PAPER, REALISTIC, scenarios_table
from .targets import run_targets

__all__ = ["SnapStudy"]


class SnapStudy(Study):
    name = "snap"
    title = ("SNAP vs ANN-only and SNN-only (Nardone et al. 2025), realistic and paper scenarios: model size, "
             "regime map, decisive axes, assumption ladder, accuracy, chiplet count, link thresholds")
    sizes = SIZES
    default_size = "default"

    def plan(self, config: StudySize) -> Plan:
        return build_plan(config)

    def search(self, config: StudySize, plan: Plan, runner: PlanRunner) -> dict[str, pd.DataFrame]:
        if config.targets is None:
            return {}
        hw_file = str(paths.package(config.package))
        link = load_hardware(hw_file).link
        tables, grids = [], []
        for scenario in (REALISTIC, PAPER):
            t, g = run_targets(config.targets, plan, runner, hw_file, scenario, config.inferences, link)
            tables.append(t)
            grids.append(g)
        return {"targets": pd.concat(tables, ignore_index=True), "targets_grid": pd.concat(grids, ignore_index=True)}

    def analyse(self, config: StudySize, plan: Plan, runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
        gains = gains_table(runs, plan.cases)
        accuracy, front = accuracy_tables(runs, load_references())
        ladder = ladder_table(gains)
        return {"runs": order_runs(runs), "gains": gains, "size_trend": size_trend_table(gains),
                "regime": regime_table(gains), "axes": axes_table(gains), "ladder": ladder,
                "paper_vs_realistic": paper_vs_realistic(ladder), "accuracy": accuracy, "accuracy_front": front,
                "chiplets": chiplets_table(gains), "scenarios": scenarios_table()}

    def figures(self, result: StudyResult) -> dict[str, Path]:
        t, out = result.tables, result.out_dir
        files = grid_figures(out, t["gains"], t["accuracy"], t["accuracy_front"], result.config)
        if len(t["ladder"]):
            files["fig_paper_vs_realistic"] = ladder_figure(out / "paper_vs_realistic.png", t["ladder"])
        if len(t.get("targets", ())):
            files["fig_targets"] = targets_figure(out / "gains_vs_link.png", t["targets"], t["targets_grid"],
                                                  *preset_ranges(t["runs"]))
        return files

    def conclude(self, config: StudySize, tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        return {"claims": build_claims(tables)}

    def summary(self, result: StudyResult) -> str:
        cfg, t = result.config, result.tables
        return summary(result.size, cfg, Facts.load(cfg), t, result.elapsed_s, result.where,
                       ranges=preset_ranges(t["runs"]))

    def console(self, result: StudyResult) -> str:
        t = result.tables
        lines = [f"SNAP study ({result.size}): {len(result.runs)} runs in {result.elapsed_s:.1f} s "
                 f"({result.counts['resumed']} found finished, {result.counts['ok']} run, "
                 f"{result.counts['failed']} failed)", "",
                 "Paper scenario vs realistic (ratio other/SNAP; > 1 means SNAP is better; short_of_paper = paper "
                 "figure / gain):",
                 md_table(t["paper_vs_realistic"][[c for c in t["paper_vs_realistic"].columns
                                                   if not c.startswith("run_id")]]), ""]
        g = t["gains"][t["gains"]["part"] == "size"]
        lines += ["Model size (part size), both scenarios:",
                  md_table(g[["scenario", "link", "model", "dies_used", "energy_gain_vs_ann", "latency_zl_gain_vs_ann",
                              "energy_gain_vs_snn", "latency_zl_gain_vs_snn", "ann_d2d_energy_share",
                              "energy_ceiling_vs_ann", "latency_zl_ceiling_vs_ann"]]), ""]
        lines += [f"claims stated in summary.md: {len(t.get('claims', ()))} (claims.csv names the runs of each)",
                  f"failed runs: {int((result.runs['status'] != 'ok').sum())}", "outputs:"]
        lines += [f"  {name:<24} {path}" for name, path in result.files.items()]
        return "\n".join(lines)
