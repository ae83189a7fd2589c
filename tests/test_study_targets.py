"""Study part ``targets``: closed-form energy thresholds checked by runs, bandwidth thresholds bracketed by runs.
The searches run in the paper scenario (every model split over 16 dies, its energy accounting); in the
realistic one a model whose weights fit on one die has no boundary, so no link reaches anything."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from snapsim.config import load_hardware
from snapsim.runner import Prepared
from snapsim.studies import paths
from snapsim.studies.execute import PlanRunner
from snapsim.studies.plan import Plan
from snapsim.studies.snap.paper import PAPER_TARGETS
from snapsim.studies.snap.plan import SEED
from snapsim.studies.snap.scenarios import PAPER, REALISTIC, accounted_energy
from snapsim.studies.snap.targets import LINK_POWER, SNN_TARGETS, TargetSearch, energy_threshold, run_targets

SEARCH = TargetSearch(models=("resnet18",), rates_gtps=(0.5, 2.0, 8.0, 32.0), bisection_steps=4,
                      snn_timesteps=(2, 16, 512))


def test_energy_threshold_closed_form_by_hand():
    # ANN 10 + 2e, SNAP 9 + 0.1e (pJ): gain 5 at e = (5*9 - 10) / (2 - 5*0.1) = 35 / 1.5
    thr, limit = energy_threshold(1.0, 3.0, (12.0, 16.0), (9.1, 9.3), 5.0)
    assert thr == pytest.approx(35 / 1.5) and limit == pytest.approx(20.0)
    assert (10 + 2 * thr) / (9 + 0.1 * thr) == pytest.approx(5.0)
    # the limit 2e/0.5e = 4 stays below 5: no energy per bit reaches it
    assert energy_threshold(1.0, 2.0, (12.0, 14.0), (9.5, 10.0), 5.0) == (math.inf, pytest.approx(4.0))
    # already above the target at e = 0
    assert energy_threshold(1.0, 2.0, (60.0, 61.0), (10.0, 10.1), 5.0)[0] == 0.0
    # no link energy at all (a model on one die): the gain does not depend on e
    assert energy_threshold(1.0, 2.0, (60.0, 60.0), (60.0, 60.0), 5.0) == (math.inf, 1.0)


HW_FILE = str(paths.package("xsr-serdes-4x4"))


def energy(row) -> float:
    return accounted_energy(row, PAPER.accounting)


def search(out, targets: TargetSearch = SEARCH, inferences: int = 4, scenario=PAPER):
    """``run_targets`` on a fresh plan with an inline runner writing into ``out``; returns (rows by run id,
    targets table, grid table)."""
    plan = Plan(seed=SEED)
    with PlanRunner(out, name="targets", workers=1, progress=False) as runner:
        table, scan = run_targets(targets, plan, runner, HW_FILE, scenario, inferences, load_hardware(HW_FILE).link)
    return runner.rows, table, scan


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    rows, table, scan = search(tmp_path_factory.mktemp("targets"))
    return rows, table, scan, HW_FILE


def test_every_run_ok_and_rows_complete(result):
    rows, table, scan, _ = result
    assert rows and all(r["status"] == "ok" for r in rows.values())
    assert all(r["part"] == "targets" for r in rows.values())
    assert (scan["search"] == "bandwidth").sum() == len(SEARCH.rates_gtps)
    assert (scan["search"] == "snn_timesteps").sum() == len(SEARCH.snn_timesteps)
    # one energy-per-bit row per link power model, one bandwidth row per metric, one SNN row per target
    assert sorted(table["search"] + "/" + table["link_power"] + "/" + table["metric"] + "/" + table["target"].astype(str)) == sorted(
        [f"energy_per_bit/{p}/energy_gain_vs_ann/5.3" for p in LINK_POWER]
        + ["bandwidth/always-on/energy_gain_vs_ann/5.3", "bandwidth/always-on/latency_gain_vs_ann/15.2"]
        + [f"snn_timesteps/always-on/{m}_gain_vs_snn/{t}" for m, t in SNN_TARGETS])


def test_gated_energy_slope_is_the_wire_bits(result):
    """With idle power 0, d energy / d (pJ/bit) is exactly the wire bits per inference of each design."""
    rows, table, _, _ = result
    r = table[(table["search"] == "energy_per_bit") & (table["link_power"] == "gated-ideal")].iloc[0]
    a1, s1 = r["run_ids"].split()[:2]
    assert r["ann_energy_per_pj_per_bit"] == pytest.approx(rows[a1]["d2d_bits_per_inf"], rel=1e-9)
    assert r["snap_energy_per_pj_per_bit"] == pytest.approx(rows[s1]["d2d_bits_per_inf"], rel=1e-9)
    assert r["limit"] == pytest.approx(rows[a1]["d2d_bits_per_inf"] / rows[s1]["d2d_bits_per_inf"])


def test_energy_threshold_is_checked_by_a_run_at_it(result):
    rows, table, _, _ = result
    for r in table[table["search"] == "energy_per_bit"].itertuples():
        if math.isfinite(r.threshold) and r.threshold > 0:
            a, s = r.run_ids.split()[-2:]
            assert energy(rows[a]) / energy(rows[s]) == pytest.approx(PAPER_TARGETS["energy"], rel=1e-6)
            assert r.gain_at_threshold == pytest.approx(PAPER_TARGETS["energy"], rel=1e-6)
        else:
            assert r.limit <= PAPER_TARGETS["energy"] and not r.reached


def test_bandwidth_threshold_is_bracketed_by_runs(result):
    """The gain reaches the target at the threshold and not at the next faster rate the search tried."""
    rows, table, scan, hw_file = result
    p = Prepared.load(hw_file, str(paths.zoo("resnet18", SEARCH.partitions)))
    link = p.hardware().link
    for r in table[(table["search"] == "bandwidth") & table["reached"]].itertuples():
        metric = r.metric.split("_")[0]
        assert r.gain_at_threshold >= r.target
        if isinstance(r.threshold_next_gbps, float) and math.isfinite(r.threshold_next_gbps):
            rate = r.threshold_next_gbps / link.bits_per_transfer
            idle = link.idle_power_mw * r.threshold_next_gbps / (link.lanes * link.rate_gtps * link.bits_per_transfer)
            hw_ov = {"link.lanes": 1, "link.rate_gtps": rate, "link.idle_power_mw": idle}
            wl = {"stream.inferences": SEARCH.inferences, **PAPER.overrides("ann", link="package")[1]}
            snap_wl = {**wl, **PAPER.overrides("snap", link="package")[1], "boundary.firing_rate": SEARCH.firing_rate,
                       "boundary.timesteps": SEARCH.timesteps}
            a = p.result(mode="ann", seed=SEED, hw_overrides=hw_ov, workload_overrides=wl).flat()
            s = p.result(mode="snap", seed=SEED, hw_overrides=hw_ov, workload_overrides=snap_wl).flat()
            gain = energy(a) / energy(s) if metric == "energy" else a["latency_ns_p50"] / s["latency_ns_p50"]
            assert gain < r.target
            assert r.threshold_next_gbps / r.threshold <= 4 ** (1 / 2**SEARCH.bisection_steps) + 1e-9
    lat = table[(table["search"] == "bandwidth") & (table["metric"] == "latency_gain_vs_ann")].iloc[0]
    assert lat["reached"]  # resnet18 on a single slow lane: dense activations are link-bound, spikes are not


def test_runs_already_done_are_reused_not_repeated(tmp_path):
    """A second search on the same plan and runner runs nothing new and finds the same; a search with a new
    plan and runner on the same output (as a rerun of the study would) finds every run finished in
    ``runs.parquet`` and runs none of them again."""
    small = TargetSearch(models=("resnet18",), rates_gtps=(2.0, 32.0), bisection_steps=2)
    link = load_hardware(HW_FILE).link
    args = (HW_FILE, PAPER, 2, link)
    plan = Plan(seed=SEED)
    with PlanRunner(tmp_path, name="targets", workers=1, progress=False) as runner:
        table, scan = run_targets(small, plan, runner, *args)
        first = dict(runner.counts)
        n_runs = len(plan.runs)
        table2, scan2 = run_targets(small, plan, runner, *args)
        assert runner.counts == first and len(plan.runs) == n_runs
    assert first == {"resumed": 0, "ok": n_runs, "failed": 0}
    plan3 = Plan(seed=SEED)
    with PlanRunner(tmp_path, name="targets", workers=1, progress=False) as runner3:
        table3, scan3 = run_targets(small, plan3, runner3, *args)
    assert runner3.counts == {"resumed": n_runs, "ok": 0, "failed": 0}
    assert plan3.runs == plan.runs
    for t, g in ((table2, scan2), (table3, scan3)):
        pd.testing.assert_frame_equal(t, table)
        pd.testing.assert_frame_equal(g, scan)


def test_snn_timesteps_threshold_is_the_first_that_reaches(result):
    """The threshold T reaches the target (its runs say so) and the run just below it does not (T - 1, or the low end
    of a bracket within snn_precision)."""
    rows, table, _, _ = result
    t = table[table["search"] == "snn_timesteps"]
    assert t.loc[t["metric"] == "energy_gain_vs_snn", "reached"].all()  # resnet18: SNN-only at 512 steps costs more
    for r in t[t["reached"]].itertuples():
        snn, snap, below = r.run_ids.split()
        m = {"energy": energy, "latency": lambda row: row["latency_ns_p50"],
             "latency_zl": lambda row: row["latency_ns_zero_load"]}[r.metric.rsplit("_gain_vs_", 1)[0]]
        assert rows[snn]["mode"] == "snn" and rows[snap]["mode"] == "snap" and rows[below]["mode"] == "snn"
        lo = rows[below]["timesteps"]
        assert rows[snn]["timesteps"] == r.threshold and lo == r.snn_timesteps_below < r.threshold
        assert r.threshold - lo == 1 or r.threshold <= lo * (1 + SEARCH.snn_precision)  # the bisection's bracket
        assert m(rows[snn]) / m(rows[snap]) >= r.target > m(rows[below]) / m(rows[snap])
    # break-even comes first, the paper's figures later
    e = t[t["metric"] == "energy_gain_vs_snn"].set_index("target")["threshold"]
    assert e[1.0] < e[PAPER_TARGETS["energy"]]



def test_a_model_on_one_die_reaches_nothing_whatever_the_link(tmp_path):
    """Realistic scenario: resnet18's weights fit on one die, so there is no die boundary: the gain over ANN-only
    is exactly 1 on every link the searches try (and the report says 'never')."""
    small = TargetSearch(models=("resnet18",), rates_gtps=(0.5, 32.0), bisection_steps=1, snn_timesteps=(2, 64))
    rows, table, scan = search(tmp_path, small, 2, REALISTIC)
    ann = table[table["metric"].str.endswith("_vs_ann")]
    assert not ann["reached"].any()
    assert (scan.loc[scan["search"] == "bandwidth", "energy_gain_vs_ann"] == 1.0).all()
    assert all(r["dies_used"] == 1 for r in rows.values())
