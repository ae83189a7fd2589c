"""The SNAP study's conclusions as data: every number the report states, with the runs it comes from.

Each row of ``claims.csv`` is one stated number: its ``statement`` (the sentence the report prints, which
says the axis values it holds for), its ``kind`` and ``value``, and the ``run_ids`` it is computed from, so a
reader (and ``tests/test_study.py``) can recompute it from ``runs.csv``. Kinds (``m(X)`` = the run's energy
per inference under the claim's accounting, its p50 latency, or its zero-load latency):

* ``gain``: ``run_ids = "A S"``, value = m(A) / m(S);
* ``count``: ``run_ids = "A1 S1 A2 S2 ..."``, value = how many pairs have m(A) / m(S) >= ``target``;
* ``grows``: ``run_ids = "A_small S_small A_large S_large ..."`` per group, value = how many groups have a
  gain at the large end more than 1% above the small end's;
* ``wins``: ``run_ids = "ANN SNN SNAP ..."`` per case, value = how many cases ``target`` (a design) wins
  (:func:`.analysis.winner`);
* ``threshold``: ``run_ids = "A S A_below S_below"`` (A an SNN-only run): value = the SNN-only timesteps of
  the pair whose gain m(A) / m(S) reaches ``target``; the pair just below (fewer timesteps) does not;
* ``share``: ``run_ids = "A"`` (an ANN run), value = its D2D energy share (``energy``) or the share of its
  zero-load latency above the one-flit floor (``latency_zl``);
* ``count_share``: ``run_ids = "A1 A2 ..."``, value = how many reach a share of ``target``;
* ``accuracy``: ``run_ids = "R"``, value = the accuracy of the run's design (trace or reference).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .analysis import GROWTH_TOLERANCE
from .paper import PAPER_ENERGY_GAIN, PAPER_LATENCY_GAIN
from .scenarios import ALL_PARTS

__all__ = ["CLAIM_COLUMNS", "Claims", "build_claims", "fmt"]

CLAIM_COLUMNS = ("claim", "part", "scenario", "kind", "metric", "accounting", "target", "value", "run_ids",
                 "holds_for", "statement")
#: the paper's figures and the shares their ceilings need
SHARE_ENERGY = 1 - 1 / PAPER_ENERGY_GAIN
SHARE_LATENCY = 1 - 1 / PAPER_LATENCY_GAIN
_WHAT = {"energy_gain_vs_ann": ("energy", "ann"), "energy_gain_vs_snn": ("energy", "snn"),
         "latency_gain_vs_ann": ("latency", "ann"), "latency_gain_vs_snn": ("latency", "snn"),
         "latency_zl_gain_vs_ann": ("latency_zl", "ann"), "latency_zl_gain_vs_snn": ("latency_zl", "snn")}
_WORDS = {"energy": "energy", "latency": "p50 latency at load", "latency_zl": "zero-load latency"}


def fmt(x: float) -> str:
    """How the report writes a claimed number (4 significant digits)."""
    if isinstance(x, str):
        return x
    if math.isinf(x):
        return "inf"
    return format(float(x), ".4g")


def _accounting(row: Any) -> str:
    acc = row["accounting"] if "accounting" in row else "all"
    return " ".join(ALL_PARTS) if acc == "all" else acc.replace("+", " ")


class Claims:
    """Collects claim rows; :meth:`rows` is the ``claims.csv`` table."""

    def __init__(self) -> None:
        self._rows: list[dict] = []

    def add(self, part: str, scenario: str, kind: str, metric: str, value: Any, run_ids: list[str], statement: str,
            holds_for: str, target: Any = math.nan, accounting: str = "") -> None:
        self._rows.append({"claim": f"c{len(self._rows):04d}", "part": part, "scenario": scenario, "kind": kind,
                           "metric": metric, "accounting": accounting, "target": target, "value": value,
                           "run_ids": " ".join(run_ids), "holds_for": holds_for, "statement": statement})

    def rows(self) -> pd.DataFrame:
        return pd.DataFrame(self._rows, columns=list(CLAIM_COLUMNS))


def _pair(row: Any, col: str) -> list[str]:
    _metric, other = _WHAT[col]
    return [row[f"run_id_{other}"], row["run_id_snap"]]


def _scope(g: pd.DataFrame) -> str:
    """The axis values a set of cases holds for, read from the cases."""
    def vals(col, f=str):
        v = sorted({f(x) for x in g[col].dropna()}, key=lambda s: (len(s), s)) if col in g else []
        return "/".join(v) if v else "n/a"
    return (f"links {vals('link')}; dies {vals('dies_used', lambda x: str(int(x)))}; batch {vals('batch', lambda x: str(int(x)))}; "
            f"load {vals('load', lambda x: str(int(x)))}; SNN T {vals('snn_timesteps', lambda x: str(int(x)))}, "
            f"fetch {vals('weight_fetch')}; SNAP rate {vals('snap_firing_rate', lambda x: f'{x:g}')}, "
            f"T {vals('snap_timesteps', lambda x: str(int(x)))}; accounting {vals('accounting')}")


def _range_claims(c: Claims, part: str, scenario: str, g: pd.DataFrame, col: str, label: str) -> str:
    metric, other = _WHAT[col]
    lo, hi = g.loc[g[col].idxmin()], g.loc[g[col].idxmax()]
    what = f"SNAP's {_WORDS[metric]} gain over {other.upper()}-only"
    statement = (f"{label}: {what} spans {fmt(lo[col])}x ({lo['model']}, {lo['link']}) to {fmt(hi[col])}x "
                 f"({hi['model']}, {hi['link']}) over {len(g)} cases.")
    scope = _scope(g)
    for row in (lo, hi):
        c.add(part, scenario, "gain", metric, float(row[col]), _pair(row, col), statement, scope,
              accounting=_accounting(row))
    return statement


def _count_claim(c: Claims, part: str, scenario: str, g: pd.DataFrame, col: str, target: float, label: str) -> str:
    metric, other = _WHAT[col]
    k = int((g[col] >= target).sum())
    statement = (f"{label}: SNAP's {_WORDS[metric]} gain over {other.upper()}-only reaches the paper's {target:g}x "
                 f"in {k} of {len(g)} cases.")
    ids = [i for _, row in g.iterrows() for i in _pair(row, col)]
    c.add(part, scenario, "count", metric, k, ids, statement, _scope(g), target=target,
          accounting=_accounting(g.iloc[0]))
    return statement


def build_claims(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every stated number of the report, from the analysis tables."""
    c = Claims()
    gains = tables["gains"]
    for part, label_of in (("size", "part size"), ("chiplets", "part chiplets")):
        g_part = gains[gains["part"] == part]
        for scenario, g in g_part.groupby("scenario", sort=False):
            label = f"{scenario}, {label_of}"
            for col in ("energy_gain_vs_ann", "latency_zl_gain_vs_ann", "latency_gain_vs_ann",
                        "energy_gain_vs_snn", "latency_zl_gain_vs_snn", "latency_gain_vs_snn"):
                _range_claims(c, part, scenario, g, col, label)
            for col, target in (("energy_gain_vs_ann", PAPER_ENERGY_GAIN), ("latency_zl_gain_vs_ann", PAPER_LATENCY_GAIN),
                                ("latency_gain_vs_ann", PAPER_LATENCY_GAIN), ("energy_gain_vs_snn", PAPER_ENERGY_GAIN),
                                ("latency_zl_gain_vs_snn", PAPER_LATENCY_GAIN), ("latency_gain_vs_snn", PAPER_LATENCY_GAIN)):
                _count_claim(c, part, scenario, g, col, target, label)
            _ceiling_claims(c, part, scenario, g, label)
    _trend_claims(c, gains[gains["part"] == "size"], ["link", "domain"], "params", "model size", "size")
    _trend_claims(c, gains[gains["part"] == "chiplets"], ["link", "model"], "partitions", "die count", "chiplets")
    _regime_claims(c, gains[gains["part"] == "regime"])
    _axes_claims(c, gains[gains["part"] == "axes"])
    _ladder_claims(c, tables.get("ladder", pd.DataFrame()))
    _target_claims(c, tables.get("targets", pd.DataFrame()))
    _accuracy_claims(c, tables.get("accuracy", pd.DataFrame()))
    return c.rows()


def _ceiling_claims(c: Claims, part: str, scenario: str, g: pd.DataFrame, label: str) -> None:
    scope = _scope(g)
    for metric, col, need, ceiling in (("energy", "ann_d2d_energy_share", SHARE_ENERGY, "energy_ceiling_vs_ann"),
                                       ("latency_zl", "ann_latency_link_share", SHARE_LATENCY, "latency_zl_ceiling_vs_ann")):
        lo, hi = g.loc[g[col].idxmin()], g.loc[g[col].idxmax()]
        k = int((g[col] >= need).sum())
        figure = PAPER_ENERGY_GAIN if metric == "energy" else PAPER_LATENCY_GAIN
        what = ("share of the ANN design's energy on its D2D links (s; SNAP's energy gain <= 1/(1-s))" if metric == "energy"
                else "share of the ANN design's zero-load latency above its one-flit floor (s_t; SNAP's latency gain "
                     "<= 1/(1-s_t))")
        statement = (f"{label}: the {what} spans {fmt(lo[col])} ({lo['model']}, {lo['link']}; ceiling "
                     f"{fmt(lo[ceiling])}x) to {fmt(hi[col])} ({hi['model']}, {hi['link']}; ceiling {fmt(hi[ceiling])}x); "
                     f"{figure:g}x needs {fmt(need)}, reached in {k} of {len(g)} cases.")
        for row in (lo, hi):
            c.add(part, scenario, "share", metric, float(row[col]), [row["run_id_ann"]], statement, scope,
                  accounting=_accounting(row))
        c.add(part, scenario, "count_share", metric, k, list(g["run_id_ann"]), statement, scope, target=need,
              accounting=_accounting(g.iloc[0]))


def _trend_claims(c: Claims, g: pd.DataFrame, keys: list[str], x: str, what: str, part: str) -> None:
    for scenario, gs in g.groupby("scenario", sort=False):
        for col in ("energy_gain_vs_ann", "latency_zl_gain_vs_ann", "energy_gain_vs_snn", "latency_zl_gain_vs_snn"):
            metric, other = _WHAT[col]
            ids, k, n = [], 0, 0
            for _, grp in gs.groupby(keys, sort=True):
                if grp[x].nunique() < 2:
                    continue
                grp = grp.sort_values(x)
                small, large = grp.iloc[0], grp.iloc[-1]
                ids += _pair(small, col) + _pair(large, col)
                k += int(large[col] > small[col] * GROWTH_TOLERANCE)
                n += 1
            if not n:
                continue
            statement = (f"{scenario}, part {part}: SNAP's {_WORDS[metric]} gain over {other.upper()}-only is more than "
                         f"{GROWTH_TOLERANCE - 1:.0%} larger at the largest {what} than at the smallest in {k} of {n} "
                         f"({', '.join(keys)}) groups.")
            c.add(part, scenario, "grows", metric, k, ids, statement, _scope(gs), accounting=_accounting(gs.iloc[0]))


def _regime_claims(c: Claims, r: pd.DataFrame) -> None:
    for (scenario, model), g in r.groupby(["scenario", "model"], sort=False):
        scope = _scope(g)
        for metric, col in (("energy", "winner_energy"), ("latency", "winner_latency"),
                            ("latency_zl", "winner_latency_zl")):
            ids = [i for _, row in g.iterrows() for i in (row["run_id_ann"], row["run_id_snn"], row["run_id_snap"])]
            counts = g[col].value_counts()
            parts = [f"{d} {int(counts.get(d, 0))}" for d in sorted(counts.index)]
            statement = (f"{scenario}, part regime, {model}: lowest {_WORDS[metric]} (a design wins by >1%, '~' = "
                         f"within 1%) over {len(g)} points: {', '.join(parts)}.")
            for d in sorted(counts.index):
                c.add("regime", scenario, "wins", metric, int(counts[d]), ids, statement, scope, target=d,
                      accounting=_accounting(g.iloc[0]))
        # where SNAP starts to beat SNN-only as SNN-only needs more timesteps
        for (link, batch, fetch), gg in g.groupby(["link", "batch", "weight_fetch"], sort=True):
            gg = gg.sort_values("snn_timesteps")
            for col in ("energy_gain_vs_snn", "latency_zl_gain_vs_snn"):
                metric, _other = _WHAT[col]
                ok = gg[gg[col] >= 1.0]
                where = f"{scenario}, part regime, {model}, {link}, batch {int(batch)}, {fetch} fetch"
                if not len(ok):
                    statement = (f"{where}: SNN-only has the lower {_WORDS[metric]} at every SNN T up to "
                                 f"{int(gg['snn_timesteps'].max())} (SNAP's gain at most {fmt(gg[col].max())}x).")
                    row = gg.loc[gg[col].idxmax()]
                    c.add("regime", scenario, "gain", metric, float(row[col]), _pair(row, col), statement,
                          _scope(gg), accounting=_accounting(row))
                    continue
                first = ok.iloc[0]
                below = gg[gg["snn_timesteps"] < first["snn_timesteps"]]
                if not len(below):
                    statement = (f"{where}: SNAP has the lower {_WORDS[metric]} already at the smallest SNN T "
                                 f"{int(first['snn_timesteps'])} (gain {fmt(first[col])}x).")
                    c.add("regime", scenario, "gain", metric, float(first[col]), _pair(first, col), statement,
                          _scope(gg), accounting=_accounting(first))
                    continue
                prev = below.iloc[-1]
                statement = (f"{where}: SNAP has the lower {_WORDS[metric]} once SNN-only needs "
                             f"T={int(first['snn_timesteps'])} (gain {fmt(first[col])}x; {fmt(prev[col])}x at "
                             f"T={int(prev['snn_timesteps'])}).")
                c.add("regime", scenario, "threshold", metric, int(first["snn_timesteps"]),
                      _pair(first, col) + _pair(prev, col), statement, _scope(gg), target=1.0,
                      accounting=_accounting(first))


def _axes_claims(c: Claims, a: pd.DataFrame) -> None:
    for (scenario, model, axis), g in a.groupby(["scenario", "model", "axis"], sort=False):
        first, last = g.iloc[0], g.iloc[-1]
        bits = []
        pend = []
        for col in ("energy_gain_vs_ann", "energy_gain_vs_snn", "latency_zl_gain_vs_snn", "latency_gain_vs_snn"):
            metric, other = _WHAT[col]
            bits.append(f"{_WORDS[metric]} vs {other.upper()}-only {fmt(first[col])}x -> {fmt(last[col])}x")
            pend += [(metric, float(first[col]), _pair(first, col)), (metric, float(last[col]), _pair(last, col))]
        statement = (f"{scenario}, part axes, {model}, {axis} {first['value']} -> {last['value']} (everything else at "
                     f"the scenario's values): SNAP's " + "; ".join(bits) + ".")
        for metric, value, ids in pend:
            c.add("axes", scenario, "gain", metric, value, ids, statement, _scope(g), accounting=_accounting(first))


def _ladder_claims(c: Claims, lad: pd.DataFrame) -> None:
    if not len(lad):
        return
    last = lad["step"].max()
    for model, g in lad.groupby("model", sort=False):
        a, b = g[g["step"] == 0].iloc[0], g[g["step"] == last].iloc[0]
        bits, pend = [], []
        for col in ("energy_gain_vs_ann", "latency_zl_gain_vs_ann", "energy_gain_vs_snn", "latency_zl_gain_vs_snn"):
            metric, other = _WHAT[col]
            bits.append(f"{_WORDS[metric]} vs {other.upper()}-only {fmt(a[col])}x -> {fmt(b[col])}x")
            pend += [(metric, float(a[col]), _pair(a, col), a), (metric, float(b[col]), _pair(b, col), b)]
        statement = (f"part ladder, {model}, from the realistic defaults to every paper assumption (package link "
                     f"replaced by the paper link): SNAP's " + "; ".join(bits) + ".")
        for metric, value, ids, row in pend:
            c.add("ladder", "ladder", "gain", metric, value, ids, statement, f"steps 0 and {last}",
                  accounting=_accounting(row))


def _target_claims(c: Claims, t: pd.DataFrame) -> None:
    if not len(t):
        return
    for row in t.to_dict("records"):
        if not row.get("reached") or not isinstance(row.get("run_ids"), str):
            continue
        ids = row["run_ids"].split()
        metric = row["metric"].split("_gain")[0]
        where = f"{row['scenario']}, part targets, {row['model']}"
        acc = " ".join(row["accounting"].split("+")) if isinstance(row.get("accounting"), str) else ""
        if row["search"] == "snn_timesteps" and "gain_below" in row and not row.get("threshold_is_upper_bound"):
            statement = (f"{where}: SNAP's {_WORDS[metric]} gain over SNN-only reaches {row['target']:g}x once SNN-only "
                         f"needs T={int(row['threshold'])} (gain {fmt(row['gain_at_threshold'])}x; "
                         f"{fmt(row['gain_below'])}x at T={int(row['snn_timesteps_below'])}).")
            snn, snap, below = ids  # the pair at the threshold and the SNN-only run below it (same SNAP run)
            c.add("targets", row["scenario"], "threshold", metric, int(row["threshold"]), [snn, snap, below, snap],
                  statement,
                  f"SNAP rate {row['firing_rate']:g}, T {row['timesteps']}", target=row["target"], accounting=acc)
        elif row["search"] == "energy_per_bit" and "gain_at_threshold" in row and math.isfinite(row["threshold"]) \
                and row["threshold"] > 0:
            statement = (f"{where}, {row['link_power']} links: SNAP's energy gain over ANN-only reaches "
                         f"{row['target']:g}x at {fmt(row['threshold'])} pJ/bit (closed form, checked by runs there: "
                         f"gain {fmt(row['gain_at_threshold'])}x).")
            c.add("targets", row["scenario"], "gain", "energy", float(row["gain_at_threshold"]), ids[-2:], statement,
                  f"{row['link_power']} links, SNAP rate {row['firing_rate']:g}, T {row['timesteps']}", accounting=acc)


def _accuracy_claims(c: Claims, acc: pd.DataFrame) -> None:
    if not len(acc):
        return
    realistic = acc[acc["scenario"] == acc["scenario"].iloc[0]]
    for task, g in realistic.groupby("task", sort=True):
        g = g.drop_duplicates(["design", "level", "timesteps"]).dropna(subset=["accuracy"])
        ann = g[g["design"] == "ann"]
        snap = g[g["design"] == "snap"].sort_values("level")
        snn = g[g["design"] == "snn"].sort_values("timesteps")
        bits, rows = [], []
        if len(ann):
            bits.append(f"ANN-only (dense boundaries) {fmt(ann['accuracy'].iloc[0])}")
            rows.append(ann.iloc[0])
        if len(snap):
            bits.append("SNAP levels " + ", ".join(f"{int(r.level)}: {fmt(r.accuracy)} (rate {r.firing_rate:.3g})"
                                                    for r in snap.itertuples()))
            rows += [r for _, r in snap.iterrows()]
        if len(snn):
            bits.append("SNN-only " + ", ".join(f"T={int(r.timesteps)}: {fmt(r.accuracy)}" for r in snn.itertuples()))
            rows += [r for _, r in snn.iterrows()]
        statement = f"part accuracy, {task} (test split of its example): " + "; ".join(bits) + "."
        for r in rows:
            c.add("accuracy", "any", "accuracy", r["design"], float(r["accuracy"]), [r["run_id"]], statement,
                  r["accuracy_source"])
