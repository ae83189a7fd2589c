"""Part ``targets`` of the SNAP study: where SNAP's gains reach the paper's figures, over ANN-only and SNN-only.

The grid parts of the study say *whether* a preset reaches the paper's figures; this part says *where*:
for each model (in a scenario: its assumptions but the link's; SNAP at its most favourable boundary settings)
three one-dimensional
searches, every point a pair of snapsim runs (the other design and SNAP), run in batches by the study's
:class:`~snapsim.studies.execute.PlanRunner` (each batch chosen from the results of the previous ones):

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
  timesteps SNN-only must need for SNAP's gain over it to reach break-even or the paper's figures (to one
  timestep, or to ``snn_precision`` relative: the run below the threshold is the last one that did not
  reach it).

Results: ``targets.csv`` (one row per model x search x target: threshold, limit, the gain measured at the
threshold and the run ids it comes from) and ``targets_grid.csv`` (the grid runs of both searches).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import paths
from ..plan import Plan
from .paper import PAPER_TARGETS
from .scenarios import ALL_PARTS, Scenario, accounted_energy

__all__ = ["LINK_POWER", "POWER_MANAGED_SOURCE", "SNN_TARGETS", "TargetSearch", "energy_threshold", "idle_fraction",
           "run_targets"]

#: SNN-only side: SNAP's gain over SNN-only grows with the timesteps SNN-only needs; thresholds searched
#: for break-even and the paper's figures, per metric.
SNN_TARGETS = (("energy", 1.0), ("latency", 1.0), ("latency_zl", 1.0), ("energy", PAPER_TARGETS["energy"]),
               ("latency", PAPER_TARGETS["latency"]), ("latency_zl", PAPER_TARGETS["latency"]))
#: Link power models of the energy search: ``always-on`` idles at the preset's fraction of active power
#: (every shipped preset: no power states); ``power-managed`` adds a low-power state (sleep after
#: ``TargetSearch.sleep_after_idle_ns`` idle, ``wake_latency_ns`` exit, ``sleep_power_frac`` of active
#: power); ``gated-ideal`` draws nothing while idle and wakes for free: an upper bound.
LINK_POWER = ("always-on", "power-managed", "gated-ideal")
#: Where the power-managed link's defaults (``TargetSearch.wake_latency_ns``, ``sleep_power_frac``) come from.
POWER_MANAGED_SOURCE = ("the XSR preset's fast low-power state in hw-parameters.md section 5 (xsr-serdes-112g: "
                        "wake_fast_ns 100, lp_power_frac 0.1)")


@dataclass(frozen=True)
class TargetSearch:
    """What the ``targets`` part runs."""

    models: tuple[str, ...]  # zoo models (``_p{partitions}`` files: the stages; the scenario decides the split)
    partitions: int = 16
    firing_rate: float = 0.01  # SNAP's most favourable boundary settings in the regime map
    timesteps: int = 1
    energy_points_pj_per_bit: tuple[float, float] = (1.0, 100.0)  # the two runs of the closed form
    rates_gtps: tuple[float, ...] = tuple(2.0**k for k in range(-6, 7))  # one lane, 1/64 .. 64 GT/s
    bisection_steps: int = 6
    # power-managed links: POWER_MANAGED_SOURCE (L); entering the low-power state after as long idle as
    # one wake costs is an assumption (L)
    wake_latency_ns: float = 100.0
    sleep_after_idle_ns: float = 100.0
    sleep_power_frac: float = 0.1
    # SNN-only timesteps grid (the zoo's snn.firing_rate stays); integer bisection refines each threshold until
    # the bracket is one timestep or snn_precision relative wide (the next run below is the bracket's low end)
    snn_timesteps: tuple[int, ...] = (1, 4, 16, 64, 256)
    snn_precision: float = 0.05
    #: inferences per run (None: the study's)
    inferences: int | None = 8

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
    if sa <= 0 and ss <= 0:  # no link energy at all (one die, no boundary): the gain does not depend on e
        gain = a0 / s0
        return (0.0 if gain >= target else math.inf), gain
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


def idle_fraction(link) -> float:
    """A link's idle power as a fraction of its active power (pJ/bit x raw bandwidth): the scaling base of the
    energy and bandwidth searches, which keep that fraction while they change pJ/bit or bandwidth."""
    return link.idle_power_mw / link.active_power_mw


def run_targets(search: TargetSearch, plan: Plan, runner: Any, hw_file: str, scenario: Scenario,
                inferences: int, preset_link) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the searches in ``scenario`` (its assumptions but the link's, which the searches set from the
    package's own link; its energy accounting). Runs are registered on ``plan`` (``plan.run(...)``,
    deduplicated) and run by ``runner`` (``runner.run(plan)`` runs every registered run without a row;
    ``runner.rows[run_id]`` is its row), one batch per search step. ``preset_link`` is the package's
    LinkConfig (the scaling base). Returns (targets table, grid table: the bandwidth and SNN timesteps grids)."""
    rows = runner.rows
    wl_snap = {"boundary.firing_rate": search.firing_rate, "boundary.timesteps": search.timesteps}
    stream = {"stream.inferences": search.inferences or inferences}
    idle_frac = idle_fraction(preset_link)
    parts = scenario.accounting

    def spec(model: str, mode: str, hw_ov: dict) -> dict:
        s_hw, s_wl = scenario.overrides(mode, link="package")
        return dict(part="targets", model=model, scenario=scenario.name, link="package", mode=mode,
                    hw_file=hw_file, wl_file=paths.zoo(model, search.partitions),
                    hw_overrides={**s_hw, **hw_ov},
                    wl_overrides={**stream, **s_wl, **(wl_snap if mode == "snap" else {})}, trace=None)

    def energy_ov(e: float, power: str) -> dict:
        # idle power follows pJ/bit by the link's own rule (LinkConfig derives it from idle_power_fraction)
        active_mw = preset_link.model_copy(update={"energy_pj_per_bit": float(e)}).active_power_mw
        ov = {"link.energy_pj_per_bit": float(e), "link.idle_power_fraction": idle_frac}
        if power == "gated-ideal":
            ov["link.idle_power_fraction"] = 0.0
        if power == "power-managed":
            ov.update({"link.sleep_after_idle_ns": search.sleep_after_idle_ns,
                       "link.wake_latency_ns": search.wake_latency_ns,
                       "link.sleep_power_mw": float(search.sleep_power_frac * active_mw)})
        return ov

    def one_lane_gbps(rate: float) -> float:
        return preset_link.model_copy(update={"lanes": 1, "rate_gtps": rate}).raw_gbps

    def rate_ov(rate: float) -> dict:
        # idle power follows the bandwidth by the link's own rule (derived from idle_power_fraction)
        return {"link.lanes": 1, "link.rate_gtps": float(rate), "link.idle_power_fraction": idle_frac}

    def pair(model: str, hw_ov: dict) -> tuple[str, str]:
        return tuple(plan.run(**spec(model, m, hw_ov)) for m in ("ann", "snap"))

    def snn_vs_snap(model: str, T: int) -> tuple[str, str]:
        """(SNN-only run at T timesteps, SNAP run): ordered like ``pair`` so ``gains`` reads other/SNAP."""
        snn = spec(model, "snn", {})
        snn["wl_overrides"] = {**snn["wl_overrides"], "snn.timesteps": int(T)}
        return plan.run(**snn), plan.run(**spec(model, "snap", {}))

    def energy(run_id: str) -> float:
        return accounted_energy(rows[run_id], parts)

    def gains(ids: tuple[str, str]) -> dict:
        a, s = rows[ids[0]], rows[ids[1]]
        if a["status"] != "ok" or s["status"] != "ok":
            return {"energy": math.nan, "latency": math.nan, "latency_zl": math.nan}
        return {"energy": energy(ids[0]) / energy(ids[1]), "latency": a["latency_ns_p50"] / s["latency_ns_p50"],
                "latency_zl": a["latency_ns_zero_load"] / s["latency_ns_zero_load"]}

    # round 1: the two energy points and the bandwidth grid, every model, in one batch
    e1, e2 = search.energy_points_pj_per_bit
    epairs = {(m, pw): (pair(m, energy_ov(e1, pw)), pair(m, energy_ov(e2, pw)))
              for m in search.models for pw in LINK_POWER}
    grid = {m: [pair(m, rate_ov(r)) for r in search.rates_gtps] for m in search.models}
    tgrid = {m: [snn_vs_snap(m, T) for T in search.snn_timesteps] for m in search.models}
    runner.run(plan)  # one batch: every run registered since the last one

    scan = []
    for m in search.models:
        for r, ids in zip(search.rates_gtps, grid[m]):
            g = gains(ids)
            a = rows[ids[0]]
            scan.append({"scenario": scenario.name, "search": "bandwidth", "model": m, "rate_gtps": r, "link_gbps": one_lane_gbps(r),
                         "energy_gain_vs_ann": g["energy"], "latency_gain_vs_ann": g["latency"],
                         "latency_ann_ns": a.get("latency_ns_p50"), "latency_snap_ns": rows[ids[1]].get("latency_ns_p50"),
                         "run_id_ann": ids[0], "run_id_snap": ids[1]})
        for T, ids in zip(search.snn_timesteps, tgrid[m]):
            g = gains(ids)
            scan.append({"scenario": scenario.name, "search": "snn_timesteps", "model": m, "snn_timesteps": T, "energy_gain_vs_snn": g["energy"],
                         "latency_gain_vs_snn": g["latency"], "latency_zl_gain_vs_snn": g["latency_zl"],
                         "run_id_snn": ids[0], "run_id_snap": ids[1]})
    scan_df = pd.DataFrame(scan)
    bw_df = scan_df[scan_df["search"] == "bandwidth"]

    # closed-form energy thresholds, then the check runs and the bandwidth bisection, a batch per step
    out: list[dict] = []
    checks: dict[tuple[str, str], tuple[str, str]] = {}  # (model, link power) -> the runs at its threshold
    tbrackets: dict[tuple[str, str, float], list[int]] = {}  # (model, metric, target) -> [failing T, reaching T]
    brackets: dict[tuple[str, str], list[float]] = {}  # (model, metric) -> [reaching rate, failing rate]
    for m in search.models:
        common = {"scenario": scenario.name, "model": m, "firing_rate": search.firing_rate,
                  "timesteps": search.timesteps,
                  "accounting": "all" if set(parts) == set(ALL_PARTS) else "+".join(parts)}
        for pw in LINK_POWER:  # energy per bit (closed form), once per link power model
            (a1, s1), (a2, s2) = epairs[(m, pw)]
            target = PAPER_TARGETS["energy"]
            row = {**common, "search": "energy_per_bit", "link_power": pw, "metric": "energy_gain_vs_ann",
                   "target": target, "threshold_unit": "pJ/bit", "run_ids": " ".join((a1, s1, a2, s2))}
            if all(rows[i]["status"] == "ok" for i in (a1, s1, a2, s2)):
                ea = (energy(a1), energy(a2))
                es = (energy(s1), energy(s2))
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
                    row.update(threshold=one_lane_gbps(br[0]), threshold_is_lower_bound=True,
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
    runner.run(plan)
    for _ in range(search.bisection_steps):  # each step halves every open bracket (in log rate), one batch
        mids = {k: math.sqrt(lo * hi) for k, (lo, hi) in brackets.items()}
        ids = {k: pair(k[0], rate_ov(r)) for k, r in mids.items()}
        runner.run(plan)
        for k, r in mids.items():
            brackets[k][0 if gains(ids[k])[k[1]] >= PAPER_TARGETS[k[1]] else 1] = r

    def open_bracket(lo: int, hi: int) -> bool:
        return hi - lo > 1 and hi > lo * (1 + search.snn_precision)

    while any(open_bracket(*b) for b in tbrackets.values()):  # integer bisection on T, one batch per step
        mids = {k: (lo + hi) // 2 for k, (lo, hi) in tbrackets.items() if open_bracket(lo, hi)}
        ids = {k: snn_vs_snap(k[0], T) for k, T in mids.items()}
        runner.run(plan)
        for k, T in mids.items():
            tbrackets[k][1 if gains(ids[k])[k[1]] >= k[2] else 0] = T
    for row in out:
        metric = row["metric"].rsplit("_gain_vs_", 1)[0]
        if row["search"] == "energy_per_bit" and (row["model"], row["link_power"]) in checks:
            ids = checks[(row["model"], row["link_power"])]
            row["gain_at_threshold"] = gains(ids)[metric]
            row["run_ids"] += " " + " ".join(ids)
        elif row["search"] == "bandwidth" and (row["model"], metric) in brackets:
            lo, hi = brackets[(row["model"], metric)]
            ids = pair(row["model"], rate_ov(lo))  # already run: a grid point or a bisection midpoint
            row.update(threshold=one_lane_gbps(lo), threshold_next_gbps=one_lane_gbps(hi),
                       gain_at_threshold=gains(ids)[metric], run_ids=" ".join(ids))
        elif row["search"] == "snn_timesteps" and (row["model"], metric, row["target"]) in tbrackets:
            lo, hi = tbrackets[(row["model"], metric, row["target"])]
            ids, below = snn_vs_snap(row["model"], hi), snn_vs_snap(row["model"], lo)  # both already run
            row.update(threshold=float(hi), gain_at_threshold=gains(ids)[metric], snn_timesteps_below=lo,
                       gain_below=gains(below)[metric], run_ids=" ".join((*ids, below[0])))
    return pd.DataFrame(out), scan_df
