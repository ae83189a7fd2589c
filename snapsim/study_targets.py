"""Study part ``targets``: where SNAP's gains reach the paper's figures, over ANN-only and SNN-only.

The grid parts of the study say *whether* a preset reaches 5.3x energy / 15.2x latency; this part says
*where*: for each model (``weights-on-die``, SNAP at its most favourable boundary settings) three
one-dimensional searches, every point a pair of snapsim runs (the other design and SNAP):

* **energy per bit** ``e`` (vs ANN-only): the link's active energy per bit and its idle (and sleep) power
  are scaled together (the presets derive idle power as a fraction of ``e`` x bandwidth), for each link
  power model in :data:`LINK_POWER`. Wire bits, timing and every other count
  do not depend on ``e``, so each design's energy per inference is affine in ``e``:
  ``E(e) = E(e1) + (e - e1) (E(e2) - E(e1)) / (e2 - e1)``, and the ``e`` at which
  ``E_ann(e) / E_snap(e)`` equals a target follows in closed form from two runs per design. A third pair
  of runs at that ``e`` checks the closed form (the gain there must equal the target). When the gain's
  limit for ``e -> inf`` (the ratio of the slopes) is below the target, no energy per bit reaches it.
* **bandwidth** (vs ANN-only): one lane, ``rate_gtps`` swept on a log grid, idle power scaled with
  bandwidth. Energy and latency gains are read per grid point; for each target, bisection (in log rate)
  between the fastest grid point that reaches it and the next faster one gives the highest bandwidth
  that still reaches it.
* **SNN-only timesteps** (vs SNN-only): ``snn.timesteps`` on a grid, then integer bisection: the fewest
  timesteps SNN-only must need for SNAP's gain over it to reach break-even or the paper's figures.

Results: ``targets.csv`` (one row per model x search x target: threshold, limit, the gain measured at the
threshold and the run ids it comes from) and ``targets_grid.csv`` (the grid runs of both searches).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

__all__ = ["TargetSearch", "run_targets", "energy_threshold", "PAPER_TARGETS"]

#: Nardone et al. 2025 report up to 5.3x energy efficiency and 15.2x lower latency.
PAPER_TARGETS = {"energy": 5.3, "latency": 15.2}
#: SNN-only side: SNAP's gain over SNN-only grows with the timesteps SNN-only needs; thresholds searched
#: for break-even and the paper's figures, per metric.
SNN_TARGETS = (("energy", 1.0), ("latency", 1.0), ("energy", PAPER_TARGETS["energy"]),
               ("latency", PAPER_TARGETS["latency"]))
#: Link power models of the energy search: ``always-on`` idles at the preset's fraction of active power
#: (every shipped preset: no power states); ``power-managed`` adds a low-power state (sleep after
#: ``TargetSearch.sleep_after_idle_ns`` idle, ``wake_latency_ns`` exit, ``sleep_power_frac`` of active
#: power); ``gated-ideal`` draws nothing while idle and wakes for free: an upper bound.
LINK_POWER = ("always-on", "power-managed", "gated-ideal")


@dataclass(frozen=True)
class TargetSearch:
    """What the ``targets`` part runs."""

    models: tuple[str, ...]  # zoo models (``_p{partitions}`` files)
    partitions: int = 4
    firing_rate: float = 0.01  # SNAP's most favourable boundary settings in the regime map
    timesteps: int = 1
    energy_points_pj_per_bit: tuple[float, float] = (1.0, 100.0)  # the two runs of the closed form
    rates_gtps: tuple[float, ...] = tuple(2.0**k for k in range(-6, 7))  # one lane, 1/64 .. 64 GT/s
    bisection_steps: int = 6
    # power-managed links: the XSR SerDes preset's fast low-power state (hw-parameters.md section 5,
    # xsr-serdes-112g: wake_fast_ns 100, lp_power_frac 0.1; L); entering it after as long idle as one
    # wake costs is an assumption (L)
    wake_latency_ns: float = 100.0
    sleep_after_idle_ns: float = 100.0
    sleep_power_frac: float = 0.1
    # SNN-only timesteps grid (the zoo's snn.firing_rate stays); integer bisection refines each threshold
    snn_timesteps: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)

    def __post_init__(self):
        for name in ("rates_gtps", "snn_timesteps"):
            v = getattr(self, name)
            if list(v) != sorted(set(v)) or min(v) <= 0:
                raise ValueError(f"{name} must be positive and strictly increasing")


def energy_threshold(e1: float, e2: float, ann: tuple[float, float], snap: tuple[float, float],
                     target: float) -> tuple[float, float]:
    """Energy per bit at which energy(ANN)/energy(SNAP) = ``target``, from each design's energy at ``e1`` and
    ``e2`` (affine in e). Returns (threshold, limit of the gain as e -> inf); threshold is inf when the limit
    does not exceed the target, 0 when the target is met even at e = 0."""
    sa, ss = (ann[1] - ann[0]) / (e2 - e1), (snap[1] - snap[0]) / (e2 - e1)
    a0, s0 = ann[0] - sa * e1, snap[0] - ss * e1  # energies at e = 0
    limit = math.inf if ss <= 0 else sa / ss
    if limit <= target:
        return math.inf, limit
    e = (target * s0 - a0) / (sa - target * ss)
    return max(e, 0.0), limit


def _rate_bracket(rates: np.ndarray, gains: np.ndarray, target: float) -> tuple[float, float] | None:
    """(reaching, failing) adjacent rates around the highest rate whose gain reaches ``target``; None if
    no grid rate reaches it; (r, inf) if even the fastest does."""
    ok = np.flatnonzero(gains >= target)
    if not len(ok):
        return None
    i = int(ok.max())
    return (float(rates[i]), math.inf if i + 1 == len(rates) else float(rates[i + 1]))


def run_targets(search: TargetSearch, plan, execute: Callable[[list[dict]], list[dict]], hw_file: str,
                zoo: Callable[[str, int], str], scenario_overrides: dict, inferences: int,
                preset_link, done: list[dict] = ()) -> tuple[list[dict], pd.DataFrame, pd.DataFrame]:
    """Run the searches. ``plan.run(**spec)`` registers a run and returns its id (deduplicated);
    ``execute(specs)`` runs specs and returns rows in order; ``done`` are rows of the plan already run
    (reused, not run again). ``preset_link`` is the package's LinkConfig (the scaling base). Returns
    (the rows run here, in plan order; targets table; grid table: the bandwidth and SNN timesteps grids)."""
    rows: dict[str, dict] = {r["run_id"]: r for r in done}
    new: set[str] = set()
    wl_snap = {"boundary.firing_rate": search.firing_rate, "boundary.timesteps": search.timesteps}
    stream = {"stream.inferences": inferences}
    base_gbps = preset_link.lanes * preset_link.rate_gtps * preset_link.bits_per_transfer
    idle_per_pj_gbps = preset_link.idle_power_mw / (preset_link.energy_pj_per_bit * base_gbps)

    def spec(model: str, mode: str, hw_ov: dict) -> dict:
        return dict(part="targets", model=model, domain="language" if model.startswith("rwkv") else "vision",
                    scenario="weights-on-die", link="package", mode=mode, hw_file=hw_file,
                    wl_file=zoo(model, search.partitions), hw_overrides={**scenario_overrides, **hw_ov},
                    wl_overrides={**stream, **(wl_snap if mode == "snap" else {})}, trace=None)

    def energy_ov(e: float, power: str) -> dict:
        active_mw = e * base_gbps  # pJ/bit x Gb/s = mW
        ov = {"link.energy_pj_per_bit": float(e),
              "link.idle_power_mw": float(idle_per_pj_gbps * active_mw) if power != "gated-ideal" else 0.0}
        if power == "power-managed":
            ov.update({"link.sleep_after_idle_ns": search.sleep_after_idle_ns,
                       "link.wake_latency_ns": search.wake_latency_ns,
                       "link.sleep_power_mw": float(search.sleep_power_frac * active_mw)})
        return ov

    def rate_ov(rate: float) -> dict:
        gbps = rate * preset_link.bits_per_transfer
        return {"link.lanes": 1, "link.rate_gtps": float(rate),
                "link.idle_power_mw": float(idle_per_pj_gbps * preset_link.energy_pj_per_bit * gbps)}

    def pair(model: str, hw_ov: dict) -> tuple[str, str]:
        return tuple(plan.run(**spec(model, m, hw_ov)) for m in ("ann", "snap"))

    def run_pending(ids: list[str]) -> None:
        want = set(ids)
        todo = [s for s in plan.specs if s["run_id"] in want and s["run_id"] not in rows]
        if not todo:
            return
        for s, r in zip(todo, execute(todo)):
            rows[s["run_id"]] = r
            new.add(s["run_id"])

    def snn_vs_snap(model: str, T: int) -> tuple[str, str]:
        """(SNN-only run at T timesteps, SNAP run): ordered like ``pair`` so ``gains`` reads other/SNAP."""
        snn = spec(model, "snn", {})
        snn["wl_overrides"] = {**stream, "snn.timesteps": int(T)}
        return plan.run(**snn), plan.run(**spec(model, "snap", {}))

    def gains(ids: tuple[str, str]) -> dict:
        a, s = rows[ids[0]], rows[ids[1]]
        if a["status"] != "ok" or s["status"] != "ok":
            return {"energy": math.nan, "latency": math.nan}
        return {"energy": a["energy_pj_per_inf"] / s["energy_pj_per_inf"],
                "latency": a["latency_ns_p50"] / s["latency_ns_p50"]}

    # round 1: the two energy points and the bandwidth grid, every model, in one batch
    e1, e2 = search.energy_points_pj_per_bit
    epairs = {(m, pw): (pair(m, energy_ov(e1, pw)), pair(m, energy_ov(e2, pw)))
              for m in search.models for pw in LINK_POWER}
    grid = {m: [pair(m, rate_ov(r)) for r in search.rates_gtps] for m in search.models}
    tgrid = {m: [snn_vs_snap(m, T) for T in search.snn_timesteps] for m in search.models}
    run_pending([i for p in (*(x for v in epairs.values() for x in v), *(x for v in grid.values() for x in v),
                             *(x for v in tgrid.values() for x in v)) for i in p])

    scan = []
    for m in search.models:
        for r, ids in zip(search.rates_gtps, grid[m]):
            g = gains(ids)
            a = rows[ids[0]]
            scan.append({"search": "bandwidth", "model": m, "rate_gtps": r, "link_gbps": r * preset_link.bits_per_transfer,
                         "energy_gain_vs_ann": g["energy"], "latency_gain_vs_ann": g["latency"],
                         "latency_ann_ns": a.get("latency_ns_p50"), "latency_snap_ns": rows[ids[1]].get("latency_ns_p50"),
                         "run_id_ann": ids[0], "run_id_snap": ids[1]})
        for T, ids in zip(search.snn_timesteps, tgrid[m]):
            g = gains(ids)
            scan.append({"search": "snn_timesteps", "model": m, "snn_timesteps": T, "energy_gain_vs_snn": g["energy"],
                         "latency_gain_vs_snn": g["latency"], "run_id_snn": ids[0], "run_id_snap": ids[1]})
    scan_df = pd.DataFrame(scan)
    bw_df = scan_df[scan_df["search"] == "bandwidth"]

    # closed-form energy thresholds, then the check runs and the bandwidth bisection, a batch per step
    out: list[dict] = []
    checks: dict[tuple[str, str], tuple[str, str]] = {}  # (model, link power) -> the runs at its threshold
    tbrackets: dict[tuple[str, str, float], list[int]] = {}  # (model, metric, target) -> [failing T, reaching T]
    brackets: dict[tuple[str, str], list[float]] = {}  # (model, metric) -> [reaching rate, failing rate]
    for m in search.models:
        common = {"model": m, "partitions": search.partitions, "firing_rate": search.firing_rate,
                  "timesteps": search.timesteps}
        for pw in LINK_POWER:  # energy per bit (closed form), once per link power model
            (a1, s1), (a2, s2) = epairs[(m, pw)]
            target = PAPER_TARGETS["energy"]
            row = {**common, "search": "energy_per_bit", "link_power": pw, "metric": "energy_gain_vs_ann",
                   "target": target, "threshold_unit": "pJ/bit", "run_ids": " ".join((a1, s1, a2, s2))}
            if all(rows[i]["status"] == "ok" for i in (a1, s1, a2, s2)):
                ea = (rows[a1]["energy_pj_per_inf"], rows[a2]["energy_pj_per_inf"])
                es = (rows[s1]["energy_pj_per_inf"], rows[s2]["energy_pj_per_inf"])
                thr, limit = energy_threshold(e1, e2, ea, es, target)
                for name, (y1, y2) in (("ann", ea), ("snap", es)):  # E(e) = at_0 + e x per_pj (pJ; pJ per pJ/bit)
                    row[f"{name}_energy_per_pj_per_bit"] = (y2 - y1) / (e2 - e1)
                    row[f"{name}_energy_at_0_pj"] = y1 - row[f"{name}_energy_per_pj_per_bit"] * e1
            else:
                thr, limit = math.nan, math.nan
            row.update(threshold=thr, limit=limit, reached=bool(math.isfinite(thr)))
            if math.isfinite(thr) and thr > 0:
                checks[(m, pw)] = pair(m, energy_ov(thr, pw))
            out.append(row)
        # bandwidth (grid + bisection), for both figures
        gm = bw_df[bw_df["model"] == m]
        for metric in ("energy", "latency"):
            target = PAPER_TARGETS[metric]
            col = gm[f"{metric}_gain_vs_ann"].to_numpy()
            row = {**common, "search": "bandwidth", "link_power": "always-on", "metric": f"{metric}_gain_vs_ann",
                   "target": target,
                   "threshold_unit": "Gb/s per direction", "limit": float(np.nanmax(col))}
            best = gm.iloc[int(np.nanargmax(col))]  # the grid point the limit comes from
            row["run_ids"] = f"{best['run_id_ann']} {best['run_id_snap']}"
            br = _rate_bracket(gm["rate_gtps"].to_numpy(), col, target)
            if br is None:  # not even the slowest grid link reaches it
                row.update(threshold=math.nan, reached=False)
            else:
                row["reached"] = True
                if math.isinf(br[1]):  # the fastest grid link already reaches it: a lower bound
                    fastest = gm.iloc[-1]
                    row.update(threshold=br[0] * preset_link.bits_per_transfer, threshold_is_lower_bound=True,
                               gain_at_threshold=fastest[f"{metric}_gain_vs_ann"],
                               run_ids=f"{fastest['run_id_ann']} {fastest['run_id_snap']}")
                else:
                    brackets[(m, metric)] = [br[0], br[1]]
            out.append(row)
        # SNN-only timesteps: the fewest at which SNAP's gain over SNN-only reaches each target
        Ts = np.array(search.snn_timesteps)
        for metric, target in SNN_TARGETS:
            col = np.array([gains(ids)[metric] for ids in tgrid[m]])
            row = {**common, "search": "snn_timesteps", "link_power": "always-on", "metric": f"{metric}_gain_vs_snn",
                   "target": target, "threshold_unit": "SNN-only timesteps", "limit": float(np.nanmax(col))}
            ok = np.flatnonzero(col >= target)
            if not len(ok):
                row.update(threshold=math.nan, reached=False,
                           run_ids=" ".join(tgrid[m][int(np.nanargmax(col))]))
            else:
                i = int(ok.min())
                row["reached"] = True
                if i == 0:  # already at the smallest grid T: an upper bound
                    row.update(threshold=float(Ts[0]), threshold_is_upper_bound=True, gain_at_threshold=col[0],
                               run_ids=" ".join(tgrid[m][0]))
                else:
                    tbrackets[(m, metric, target)] = [int(Ts[i - 1]), int(Ts[i])]
            out.append(row)
    run_pending([i for p in checks.values() for i in p])
    for _ in range(search.bisection_steps):  # each step halves every open bracket (in log rate), one batch
        mids = {k: math.sqrt(lo * hi) for k, (lo, hi) in brackets.items()}
        ids = {k: pair(k[0], rate_ov(r)) for k, r in mids.items()}
        run_pending([i for p in ids.values() for i in p])
        for k, r in mids.items():
            brackets[k][0 if gains(ids[k])[k[1]] >= PAPER_TARGETS[k[1]] else 1] = r
    while any(hi - lo > 1 for lo, hi in tbrackets.values()):  # integer bisection on T, one batch per step
        mids = {k: (lo + hi) // 2 for k, (lo, hi) in tbrackets.items() if hi - lo > 1}
        ids = {k: snn_vs_snap(k[0], T) for k, T in mids.items()}
        run_pending([i for p in ids.values() for i in p])
        for k, T in mids.items():
            tbrackets[k][1 if gains(ids[k])[k[1]] >= k[2] else 0] = T
    for row in out:
        metric = row["metric"].split("_")[0]
        if row["search"] == "energy_per_bit" and (row["model"], row["link_power"]) in checks:
            ids = checks[(row["model"], row["link_power"])]
            row["gain_at_threshold"] = gains(ids)[metric]
            row["run_ids"] += " " + " ".join(ids)
        elif row["search"] == "bandwidth" and (row["model"], metric) in brackets:
            lo, hi = brackets[(row["model"], metric)]
            ids = pair(row["model"], rate_ov(lo))  # already run: a grid point or a bisection midpoint
            row.update(threshold=lo * preset_link.bits_per_transfer, threshold_next_gbps=hi * preset_link.bits_per_transfer,
                       gain_at_threshold=gains(ids)[metric], run_ids=" ".join(ids))
        elif row["search"] == "snn_timesteps" and (row["model"], metric, row["target"]) in tbrackets:
            lo, hi = tbrackets[(row["model"], metric, row["target"])]
            ids, below = snn_vs_snap(row["model"], hi), snn_vs_snap(row["model"], lo)  # both already run
            row.update(threshold=float(hi), gain_at_threshold=gains(ids)[metric], snn_timesteps_below=lo,
                       gain_below=gains(below)[metric], run_ids=" ".join((*ids, below[0])))
    table = pd.DataFrame(out)
    return [rows[s["run_id"]] for s in plan.specs if s["run_id"] in new], table, scan_df


def _fmt(x: float, unit: str) -> str:
    if not math.isfinite(x):
        return "unreachable"
    return f"{x:.3g} {unit}"


def targets_sentences(table: pd.DataFrame, gbps_range: tuple[float, float], pj_range: tuple[float, float]) -> list[str]:
    """What the table says, one bullet per search, measured (no claim without a row behind it)."""
    out = []
    lo_g, hi_g = gbps_range
    lo_e, hi_e = pj_range
    for pw in LINK_POWER:
        e = table[(table["search"] == "energy_per_bit") & (table["link_power"] == pw)]
        if not len(e):
            continue
        inside = e[e["threshold"] <= hi_e]
        per = ", ".join(f"{r.model} {_fmt(r.threshold, 'pJ/bit')} (limit {r.limit:.3g}x)" for r in e.itertuples())
        out.append(f"- Energy {PAPER_TARGETS['energy']}x vs ANN-only by link energy per bit, {pw} links: {per}; "
                   f"within the presets' {lo_e:g}-{hi_e:g} pJ/bit in {len(inside)}/{len(e)} models.")
    for metric in ("latency", "energy"):
        b = table[(table["search"] == "bandwidth") & (table["metric"] == f"{metric}_gain_vs_ann")]
        if not len(b):
            continue
        per = ", ".join(
            f"{r.model} {'<= ' + _fmt(r.threshold, 'Gb/s') if r.reached else 'not reached'} (max {r.limit:.3g}x)"
            for r in b.itertuples())
        inside = b[b["reached"] & (b["threshold"] >= lo_g)]
        out.append(f"- {metric.capitalize()} {PAPER_TARGETS[metric]}x vs ANN-only by link bandwidth (one lane, "
                   f"always-on): {per}; at a bandwidth the presets offer ({lo_g:g}-{hi_g:g} Gb/s per direction) in "
                   f"{len(inside)}/{len(b)} models.")
    for metric, target in SNN_TARGETS:
        t = table[(table["search"] == "snn_timesteps") & (table["metric"] == f"{metric}_gain_vs_snn")
                  & (table["target"] == target)]
        if not len(t):
            continue
        what = "break-even (gain 1)" if target == 1.0 else f"{target}x"
        per = ", ".join(f"{r.model} {int(r.threshold) if r.reached else 'not within the grid'}" for r in t.itertuples())
        out.append(f"- {metric.capitalize()} {what} vs SNN-only: SNN-only needs at least this many timesteps for SNAP "
                   f"to get there: {per}.")
    return out


def targets_figure(path, table: pd.DataFrame, scan: pd.DataFrame, gbps_range: tuple[float, float],
                   pj_range: tuple[float, float]):
    """Left: latency and energy gain vs link bandwidth (grid runs). Middle: energy gain vs pJ/bit from the
    closed form, with the runs it rests on; the presets' ranges shaded. Right: gains over SNN-only vs the
    timesteps SNN-only needs (grid runs). The paper's figures dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(18, 4.8))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (m, g) in enumerate(scan[scan["search"] == "snn_timesteps"].groupby("model", sort=False)):
        c = colors[i % len(colors)]
        ax3.plot(g["snn_timesteps"], g["energy_gain_vs_snn"], "-o", ms=3, color=c, label=m)
        ax3.plot(g["snn_timesteps"], g["latency_gain_vs_snn"], ":", color=c)
    ax3.axhline(1.0, color="k", lw=0.8)
    ax3.axhline(PAPER_TARGETS["energy"], ls="--", color="k", lw=1, label="paper 5.3x / 15.2x")
    ax3.axhline(PAPER_TARGETS["latency"], ls="--", color="k", lw=1)
    ax3.set(xscale="log", yscale="log", xlabel="timesteps SNN-only needs", ylabel="gain vs SNN-only (solid energy, dotted latency)",
            title="SNAP gain vs SNN-only timesteps")
    ax3.legend(fontsize=7)
    for i, (m, g) in enumerate(scan[scan["search"] == "bandwidth"].groupby("model", sort=False)):
        c = colors[i % len(colors)]
        ax1.plot(g["link_gbps"], g["latency_gain_vs_ann"], "-o", ms=3, color=c, label=f"{m} latency")
        ax1.plot(g["link_gbps"], g["energy_gain_vs_ann"], ":", color=c)
    ax1.axhline(PAPER_TARGETS["latency"], ls="--", color="k", lw=1, label="paper 15.2x latency")
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
    ax2.axhline(PAPER_TARGETS["energy"], ls="--", color="k", lw=1, label="paper 5.3x energy")
    ax2.axvspan(*pj_range, color="0.85", zorder=0, label="link presets")
    ax2.set(xscale="log", yscale="log", xlabel="link energy (pJ/bit)", ylabel="energy gain vs ANN-only",
            title="SNAP energy gain vs link pJ/bit (dots: check runs)")
    ax2.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
