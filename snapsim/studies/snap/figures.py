"""The SNAP study's figures (PNG): gains vs model size, regime maps (who wins), gains vs die count, the accuracy
front, the paper scenario vs realistic (gains as the paper's assumptions are applied one by one), and the gains
vs link bandwidth, link pJ/bit and SNN-only timesteps of part ``targets``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..report import save_figure
from .paper import PAPER_ENERGY_GAIN, PAPER_LATENCY_GAIN, PAPER_TARGETS
from .plan import StudySize

__all__ = ["grid_figures", "ladder_figure", "targets_figure"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def grid_figures(out: Path, gains: pd.DataFrame, acc: pd.DataFrame, front: pd.DataFrame, cfg: StudySize) -> dict:
    """The figures of the grid parts (size, regime, chiplets, accuracy), written under ``out``."""
    from matplotlib.ticker import NullLocator

    plt = _pyplot()

    files = {}
    titles = {"energy_gain_vs_ann": "energy ANN/SNAP", "latency_zl_gain_vs_ann": "zero-load latency ANN/SNAP",
              "energy_gain_vs_snn": "energy SNN/SNAP", "latency_zl_gain_vs_snn": "zero-load latency SNN/SNAP"}
    g = gains[gains["part"] == "size"]
    if len(g):
        scen = list(dict.fromkeys(g["scenario"]))
        fig, axes = plt.subplots(len(scen), 4, figsize=(18, 4 * len(scen)), squeeze=False)
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
                ax.set_xlabel("parameters (dies: the capacity rule in realistic, 16 in paper)")
            axes[i][0].legend(fontsize=7)
        fig.tight_layout()
        files["fig_gains_vs_size"] = save_figure(fig, out / "gains_vs_size.png")

    files.update(_regime_maps(out, gains[gains["part"] == "regime"]))

    c = gains[gains["part"] == "chiplets"]
    if len(c):
        panels = list(dict.fromkeys(zip(c["scenario"], c["link"])))
        cols = ("energy_gain_vs_ann", "latency_zl_gain_vs_ann")
        fig, axes = plt.subplots(len(cols), len(panels), figsize=(4.5 * len(panels), 3.8 * len(cols)), squeeze=False)
        counts = sorted(int(p) for p in c["partitions"].dropna().unique())
        for j, (s, link) in enumerate(panels):
            for i, col in enumerate(cols):
                ax = axes[i][j]
                for model, grp in c[(c["scenario"] == s) & (c["link"] == link)].groupby("model", sort=False):
                    grp = grp.sort_values("partitions")
                    ax.plot(grp["partitions"], grp[col], marker="o" if grp["domain"].iloc[0] == "language" else "s",
                            ls="-" if grp["domain"].iloc[0] == "language" else "--", label=model)
                ax.axhline(1.0, color="k", lw=0.8)
                paper = PAPER_ENERGY_GAIN if col.startswith("energy") else PAPER_LATENCY_GAIN
                ax.set_xscale("log", base=2)
                ax.set_xticks(counts, [str(p) for p in counts])
                ax.xaxis.set_minor_locator(NullLocator())  # only the partition counts as x ticks
                ax.ticklabel_format(axis="y", useOffset=False, style="plain")
                ax.set_title(f"{titles[col]} (paper: up to {paper}x)\n[{s}, {link}]", fontsize=9)
                ax.set_xlabel("partitions = dies used")
        axes[0][0].legend(fontsize=7)
        fig.tight_layout()
        files["fig_gains_vs_chiplets"] = save_figure(fig, out / "gains_vs_chiplets.png")

    if len(acc):
        panels = list(dict.fromkeys(zip(acc["scenario"], acc["task"])))
        fig, axes = plt.subplots(1, len(panels), figsize=(6 * len(panels), 4.5), squeeze=False)
        markers = {"ann": "s", "snn": "^", "snap": "o"}
        for j, (s, task) in enumerate(panels):
            ax = axes[0][j]
            a = acc[(acc["scenario"] == s) & (acc["task"] == task)].dropna(subset=["accuracy"])
            f = front[(front["scenario"] == s) & (front["task"] == task)]
            for (design, link), grp in a.groupby(["design", "link"], sort=True):
                ax.scatter(grp["energy"], grp["accuracy"], marker=markers[design], label=f"{design} {link}", s=24)
            ax.scatter(f["energy"], f["accuracy"], facecolors="none", edgecolors="k", s=160, label="3-objective front")
            ax.set(xscale="log", xlabel="energy pJ / inference (scenario accounting)", ylabel="accuracy",
                   title=f"{task} [{s}]: SNAP levels, ANN-only and SNN-only references")
            ax.legend(fontsize=6)
        fig.tight_layout()
        files["fig_accuracy"] = save_figure(fig, out / "accuracy_pareto.png")
    return files


_DESIGNS = ("ann", "snn", "snap")


def _regime_maps(out: Path, r: pd.DataFrame) -> dict:
    """Per (scenario, model): who wins energy and zero-load latency, rows batch x weight fetch, columns link x SNN
    timesteps; the cell text is SNAP's gain over the runner-up."""
    if not len(r):
        return {}
    plt = _pyplot()
    from matplotlib.colors import ListedColormap

    files = {}
    colors = {"ann": "#4c72b0", "snn": "#55a868", "snap": "#c44e52"}
    for (scenario, model), g in r.groupby(["scenario", "model"], sort=False):
        rows = list(dict.fromkeys(zip(g["batch"], g["weight_fetch"])))
        cols = list(dict.fromkeys(zip(g["link"], g["snn_timesteps"])))
        fig, axes = plt.subplots(1, 2, figsize=(max(10, 0.9 * len(cols) * 2), 0.5 * len(rows) + 2.5), squeeze=False)
        for ax, (metric, col) in zip(axes[0], (("energy", "winner_energy"), ("zero-load latency", "winner_latency_zl"))):
            grid = np.full((len(rows), len(cols)), np.nan)
            labels = [["" for _ in cols] for _ in rows]
            for row in g.itertuples():
                i, j = rows.index((row.batch, row.weight_fetch)), cols.index((row.link, row.snn_timesteps))
                win = getattr(row, col)
                grid[i, j] = _DESIGNS.index(win) if "~" not in win else len(_DESIGNS)  # a tie: grey
                labels[i][j] = win.replace("~", "=")
            palette = [colors[d] for d in _DESIGNS] + ["#d9d9d9"]
            ax.imshow(grid, cmap=ListedColormap(palette), vmin=-0.5, vmax=len(_DESIGNS) + 0.5, aspect="auto")
            for i in range(len(rows)):
                for j in range(len(cols)):
                    ax.text(j, i, labels[i][j], ha="center", va="center", fontsize=6,
                            color="k" if "=" in labels[i][j] else "w")
            ax.set_xticks(range(len(cols)), [f"{lk}\nT={int(t)}" for lk, t in cols], rotation=90, fontsize=6)
            ax.set_yticks(range(len(rows)), [f"B={int(b)} {f}" for b, f in rows], fontsize=7)
            ax.set_title(f"lowest {metric}: {model} [{scenario}] (colours: ANN-only blue, SNN-only green, SNAP red; "
                         "grey: a tie within 1%; x: link and SNN-only T)", fontsize=8)
        fig.tight_layout()
        files[f"fig_regime_{scenario}_{model}"] = save_figure(fig, out / f"regime_map_{scenario}_{model}.png")
    return files


def ladder_figure(path, ladder: pd.DataFrame):
    """The paper scenario vs realistic in one figure: SNAP's gains per model as the paper's assumptions are
    applied one by one (x: the step and the assumption it adds), with the paper's figures dashed."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(20, 4.8))
    steps = ladder.drop_duplicates("step").sort_values("step")
    for ax, (col, paper, what) in zip(axes, (("energy_gain_vs_ann", PAPER_ENERGY_GAIN, "energy ANN/SNAP"),
                                              ("latency_zl_gain_vs_ann", PAPER_LATENCY_GAIN, "zero-load latency ANN/SNAP"),
                                              ("energy_gain_vs_snn", PAPER_ENERGY_GAIN, "energy SNN/SNAP"),
                                              ("latency_zl_gain_vs_snn", PAPER_LATENCY_GAIN, "zero-load latency SNN/SNAP"))):
        for model, g in ladder.groupby("model", sort=False):
            g = g.sort_values("step")
            ax.plot(g["step"], g[col], "-o", ms=3, label=model)
        ax.axhline(paper, ls="--", color="k", lw=1, label=f"paper {paper}x")
        ax.axhline(1.0, color="k", lw=0.6)
        ax.set_yscale("log")
        ax.set_xticks(steps["step"], [f"{int(s)}: {a}" for s, a in zip(steps["step"], steps["assumption"])],
                      rotation=60, ha="right", fontsize=7)
        ax.set_title(f"{what}: realistic (0) -> paper (last)", fontsize=9)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return save_figure(fig, Path(path))


def _nearest(values, target):
    return min(values, key=lambda v: (abs(v - target), v))


def targets_figure(path, table: pd.DataFrame, scan: pd.DataFrame, gbps_range: tuple[float, float],
                   pj_range: tuple[float, float]):
    """One row per scenario. Left: latency and energy gain vs link bandwidth (grid runs). Middle: energy gain
    vs pJ/bit from the closed form, with the runs it rests on; the presets' ranges shaded. Right: gains over
    SNN-only vs the timesteps SNN-only needs (grid runs). The paper's figures dashed."""
    plt = _pyplot()
    scenarios = list(dict.fromkeys(table["scenario"]))
    fig, axes = plt.subplots(len(scenarios), 3, figsize=(18, 4.8 * len(scenarios)), squeeze=False)
    for row, sc in zip(axes, scenarios):
        _targets_row(plt, row, table[table["scenario"] == sc], scan[scan["scenario"] == sc], gbps_range, pj_range, sc)
    fig.tight_layout()
    return save_figure(fig, Path(path))


def _targets_row(plt, axes, table: pd.DataFrame, scan: pd.DataFrame, gbps_range, pj_range, scenario: str) -> None:
    ax1, ax2, ax3 = axes
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (m, g) in enumerate(scan[scan["search"] == "snn_timesteps"].groupby("model", sort=False)):
        c = colors[i % len(colors)]
        ax3.plot(g["snn_timesteps"], g["energy_gain_vs_snn"], "-o", ms=3, color=c, label=m)
        ax3.plot(g["snn_timesteps"], g["latency_gain_vs_snn"], ":", color=c)
    ax3.axhline(1.0, color="k", lw=0.8)
    ax3.axhline(PAPER_TARGETS["energy"], ls="--", color="k", lw=1, label=f"paper {PAPER_ENERGY_GAIN}x / {PAPER_LATENCY_GAIN}x")
    ax3.axhline(PAPER_TARGETS["latency"], ls="--", color="k", lw=1)
    ax3.set(xscale="log", yscale="log", xlabel="timesteps SNN-only needs", ylabel="gain vs SNN-only (solid energy, dotted latency)",
            title=f"SNAP gain vs SNN-only timesteps [{scenario}]")
    ax3.legend(fontsize=7)
    for i, (m, g) in enumerate(scan[scan["search"] == "bandwidth"].groupby("model", sort=False)):
        c = colors[i % len(colors)]
        ax1.plot(g["link_gbps"], g["latency_gain_vs_ann"], "-o", ms=3, color=c, label=f"{m} latency")
        ax1.plot(g["link_gbps"], g["energy_gain_vs_ann"], ":", color=c)
    ax1.axhline(PAPER_TARGETS["latency"], ls="--", color="k", lw=1, label=f"paper {PAPER_LATENCY_GAIN}x latency")
    ax1.axvspan(*gbps_range, color="0.85", zorder=0, label="link presets")
    ax1.set(xscale="log", yscale="log", xlabel="link bandwidth per direction (Gb/s)",
            ylabel="gain vs ANN-only (solid latency, dotted energy)", title=f"SNAP gain vs link bandwidth [{scenario}]")
    ax1.legend(fontsize=7)
    e = table[table["search"] == "energy_per_bit"].dropna(subset=["ann_energy_per_pj_per_bit"])
    styles = {"always-on": ":", "power-managed": "--", "gated-ideal": "-"}
    finite = e["threshold"][np.isfinite(e["threshold"]) & (e["threshold"] > 0)]
    xs = np.logspace(-2, math.ceil(math.log10(max(1e3, finite.max() if len(finite) else 1e3))) + 1, 300)
    for i, (m, g) in enumerate(e.groupby("model", sort=False)):
        c = colors[i % len(colors)]
        for r in g.itertuples():
            y = (r.ann_energy_at_0_pj + xs * r.ann_energy_per_pj_per_bit) / (r.snap_energy_at_0_pj + xs * r.snap_energy_per_pj_per_bit)
            ax2.plot(xs, y, styles.get(r.link_power, "-"), color=c, label=m if r.link_power == "gated-ideal" else None)
            if math.isfinite(r.threshold) and r.threshold > 0:
                ax2.plot([r.threshold], [r.gain_at_threshold], "o", color=c, ms=4)
    for pw, ls in styles.items():  # a key for the line styles
        ax2.plot([], [], ls, color="k", label=f"{pw} links")
    ax2.axhline(PAPER_TARGETS["energy"], ls="--", color="k", lw=1, label=f"paper {PAPER_ENERGY_GAIN}x energy")
    ax2.axvspan(*pj_range, color="0.85", zorder=0, label="link presets")
    ax2.set(xscale="log", yscale="log", xlabel="link energy (pJ/bit)", ylabel="energy gain vs ANN-only",
            title=f"SNAP energy gain vs link pJ/bit (dots: check runs) [{scenario}]")
    ax2.legend(fontsize=7, ncol=2)
