"""The SNAP study's figures (PNG): gains vs model size, regime maps, gains vs chiplet count, the accuracy
front, and the gains vs link bandwidth, link pJ/bit and SNN-only timesteps of part ``targets``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ..report import save_figure
from .paper import PAPER_ENERGY_GAIN, PAPER_LATENCY_GAIN, PAPER_TARGETS
from .plan import StudySize

__all__ = ["grid_figures", "targets_figure"]


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
    files["fig_gains_vs_size"] = save_figure(fig, out / "gains_vs_size.png")

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
        files[f"fig_regime_{model}"] = save_figure(fig, out / f"regime_map_{model}.png")

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
                # linear y (the gains sit near 1, where a line at the paper's figures would flatten every curve)
                paper = PAPER_ENERGY_GAIN if col.startswith("energy") else PAPER_LATENCY_GAIN
                ax.set_xscale("log", base=2)
                ax.set_xticks(counts, [str(p) for p in counts])
                ax.xaxis.set_minor_locator(NullLocator())  # only the partition counts as x ticks
                ax.ticklabel_format(axis="y", useOffset=False, style="plain")
                ax.set_title(f"{titles[col]} (paper: up to {paper}x)\n[{s}, {link}]", fontsize=9)
                ax.set_xlabel("partitions = chiplets used")
        axes[0][0].legend(fontsize=7)
        fig.tight_layout()
        files["fig_gains_vs_chiplets"] = save_figure(fig, out / "gains_vs_chiplets.png")

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
        files["fig_accuracy"] = save_figure(fig, out / "accuracy_pareto.png")
    return files


def _nearest(values, target):
    return min(values, key=lambda v: (abs(v - target), v))


def targets_figure(path, table: pd.DataFrame, scan: pd.DataFrame, gbps_range: tuple[float, float],
                   pj_range: tuple[float, float]):
    """Left: latency and energy gain vs link bandwidth (grid runs). Middle: energy gain vs pJ/bit from the
    closed form, with the runs it rests on; the presets' ranges shaded. Right: gains over SNN-only vs the
    timesteps SNN-only needs (grid runs). The paper's figures dashed."""
    plt = _pyplot()
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(18, 4.8))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (m, g) in enumerate(scan[scan["search"] == "snn_timesteps"].groupby("model", sort=False)):
        c = colors[i % len(colors)]
        ax3.plot(g["snn_timesteps"], g["energy_gain_vs_snn"], "-o", ms=3, color=c, label=m)
        ax3.plot(g["snn_timesteps"], g["latency_gain_vs_snn"], ":", color=c)
    ax3.axhline(1.0, color="k", lw=0.8)
    ax3.axhline(PAPER_TARGETS["energy"], ls="--", color="k", lw=1, label=f"paper {PAPER_ENERGY_GAIN}x / {PAPER_LATENCY_GAIN}x")
    ax3.axhline(PAPER_TARGETS["latency"], ls="--", color="k", lw=1)
    ax3.set(xscale="log", yscale="log", xlabel="timesteps SNN-only needs", ylabel="gain vs SNN-only (solid energy, dotted latency)",
            title="SNAP gain vs SNN-only timesteps")
    ax3.legend(fontsize=7)
    for i, (m, g) in enumerate(scan[scan["search"] == "bandwidth"].groupby("model", sort=False)):
        c = colors[i % len(colors)]
        ax1.plot(g["link_gbps"], g["latency_gain_vs_ann"], "-o", ms=3, color=c, label=f"{m} latency")
        ax1.plot(g["link_gbps"], g["energy_gain_vs_ann"], ":", color=c)
    ax1.axhline(PAPER_TARGETS["latency"], ls="--", color="k", lw=1, label=f"paper {PAPER_LATENCY_GAIN}x latency")
    ax1.axvspan(*gbps_range, color="0.85", zorder=0, label="link presets")
    ax1.set(xscale="log", yscale="log", xlabel="link bandwidth per direction (Gb/s)",
            ylabel="gain vs ANN-only (solid latency, dotted energy)", title="SNAP gain vs link bandwidth")
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
            title="SNAP energy gain vs link pJ/bit (dots: check runs)")
    ax2.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return save_figure(fig, Path(path))
