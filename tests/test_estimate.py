"""Cost estimates before running (snapsim/estimate.py): the counts it predicts match the engine's, and
values that validate but would overflow or exhaust the machine are refused before anything large is
built, with the estimate and the option that lifts the limit (issue 14: resource abuse).

The refusals run in forked children with a memory limit and a deadline (tests/fuzz/harness.py), so a
regression shows as a failure, not as a stalled or swapping test run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from snapsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "fuzz"))
from harness import Case, run_cases  # noqa: E402

HW = str(ROOT / "hwconfigs" / "packages" / "ucie-a-2x2.yaml")
LM = str(ROOT / "workloads" / "lm_32x4096.yaml")

# (name, --set items, expected fragment of the one-line refusal)
ABUSE = [
    ("1e12 inferences", ["workload.stream.inferences=1000000000000"], "beyond snapsim's clock"),
    ("batch 1e9", ["workload.stream.batch=1000000000"], "LM"),
    ("snn T=1e9", ["workload.snn.timesteps=1000000000"], "--max-memory-gib"),
    ("boundary T=1e9", ["workload.boundary.timesteps=1000000000"], "--max-memory-gib"),
    ("repeat 1e9", ["workload.stages.0.repeat=1000000000"], "expand to 1,000,000,001 stages"),
    ("1000x1000 mesh", ["topology.rows=1000", "topology.cols=1000"], "--max-memory-gib"),
    ("1e7-chiplet ring", ["topology={kind: ring, chiplets: 10000000}"], "--max-memory-gib"),
    ("huge MACs", ["workload.stages.0.macs=1e300"], "beyond snapsim's clock"),
    ("huge shapes", ["workload.stages.1.output_shape=[1000000000, 1000000000]"], "LM"),
    ("clock 1e-300", ["chiplet.compute.clock_ghz=1e-300"], "beyond snapsim's clock"),
    ("rate 1e-300", ["link.rate_gtps=1e-300"], "beyond snapsim's clock"),
    ("phy latency inf", ["link.phy_latency_ns=.inf"], "input should be a finite number"),
    ("lanes 2^64", ["link.lanes=18446744073709551616"], "must fit a 64-bit integer"),
    ("SRAM and DRAM bandwidth 1e-300", ["chiplet.sram.capacity_mib=1e-300",
                                        "chiplet.dram={capacity_gib: 1, bandwidth_gbytes_per_s: 1e-300, energy_pj_per_bit: 1}"],
     "beyond snapsim's clock"),
    ("MACs x batch beyond a float", ["workload.stages.0.macs=1e308", "workload.stream.batch=1000000000"], "beyond snapsim's clock"),
    ("utilization 1e-300", ["chiplet.compute.utilization=1e-300"], "beyond snapsim's clock"),
]


@pytest.mark.parametrize("name,sets,fragment", ABUSE, ids=[a[0] for a in ABUSE])
def test_values_that_validate_but_overflow_are_refused_at_once(tmp_path, name, sets, fragment):
    argv = ["run", "--hw", HW, "--workload", LM, "--mode", "all"]
    for item in sets:
        argv += ["--set", item]
    [o] = run_cases([Case(name, argv, files=(HW, LM), timeout_s=60, mem_mb=2048)], jobs=1, workdir=tmp_path)
    assert o.kind == "refused", o.short()
    assert o.elapsed_s < 15, o.short()
    first = o.stderr.splitlines()[0]
    assert (LM if fragment == "LM" else fragment) in first, first


def test_refusal_names_the_estimate_and_the_flag_that_lifts_it(capsys):
    assert main(["run", "--hw", HW, "--workload", LM, "--fidelity", "reference", "--max-wall-s", "0.1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err
    assert err.startswith(f"snapsim run: error: {LM}: mode snap, with {HW}: refused by its estimate: ~")
    assert "events" in err and "of memory" in err and "of wall time" in err
    assert "over the wall-time limit of 0.1 s (raise it with --max-wall-s " in err


def test_dry_run_prints_the_estimate_and_runs_nothing(capsys):
    assert main(["run", "--hw", HW, "--workload", LM, "--mode", "ann,snap", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("estimate for ") == 2
    for word in ("package", "plan", "work", "events", "memory", "wall time", "simulated", "within the limits"):
        assert word in out
    assert "latency per inference" not in out  # nothing ran


@pytest.mark.parametrize("mode,encoding", [("ann", "aer"), ("snap", "bitmap"), ("snn", "bitmap")])
def test_predicted_work_equals_what_the_engine_does(mode, encoding):
    """Where message sizes do not depend on the random draw (dense boundaries, bitmap spikes), the estimate's
    message hops and flit hops are exactly the engine's; and events are counted from them."""
    from snapsim.runner import Prepared

    prep = Prepared.load(HW, LM)
    wl = {"boundary.encoding": encoding, "stream.inferences": 64}
    est = prep.estimate(mode=mode, workload_overrides=wl, engine="event")
    res = prep.result(mode=mode, workload_overrides=wl, engine="event")
    assert est.message_hops == sum(l["messages"] for l in res.data["links"])
    assert est.flit_hops == sum(l["flits"] for l in res.data["links"])
    assert est.inferences == 64 and est.events >= est.message_hops
    streamed = prep.estimate(mode=mode, workload_overrides=wl)  # the same work, on the engine auto picks
    assert streamed.engine == "stream" and streamed.events == 0
    assert (streamed.message_hops, streamed.flit_hops) == (est.message_hops, est.flit_hops)


def test_estimate_errs_high_on_the_payload_memory():
    """The statistical payload's binomial draws (inferences x timesteps x batch) dominate a large batch;
    the estimate counts them (the old runner allocated 29 TiB for batch 1e9 before failing)."""
    from snapsim.runner import Prepared

    prep = Prepared.load(HW, LM, limits=None)
    small = prep.estimate(mode="snap", workload_overrides={"stream.batch": 1})
    large = prep.estimate(mode="snap", workload_overrides={"stream.batch": 1000})
    assert large.memory_bytes > 500 * small.memory_bytes * 0.5
    assert large.memory_bytes >= 1024 * 4 * 1000 * 8  # int64 draws of every inference, timestep and sample


def test_progress_bar_only_on_a_terminal_for_long_runs(monkeypatch, capsys):
    import snapsim.progress as progress

    calls = []

    class Probe(progress.ProgressProbe):
        def __init__(self, total, desc):
            calls.append(total)
            super().__init__(total, desc)

    monkeypatch.setattr(progress, "ProgressProbe", Probe)
    monkeypatch.setattr(progress, "PROGRESS_AFTER_S", 0.0)
    monkeypatch.setattr(progress, "progress_enabled", lambda: True)
    assert main(["run", "--hw", HW, "--workload", LM, "--set", "workload.stream.inferences=8"]) == 0
    assert calls == [8]
    monkeypatch.setattr(progress, "progress_enabled", lambda: False)
    assert main(["run", "--hw", HW, "--workload", LM, "--set", "workload.stream.inferences=8"]) == 0
    assert calls == [8]


def test_estimate_benchmark_reports_estimated_and_measured_wall_time():
    from snapsim.benchmarks.estimate import run

    res = run(quick=True)
    assert len(res["cases"]) == 4
    for case in res["cases"]:
        assert case["estimated_s"] > 0 and case["measured_s"] > 0 and case["ratio"] > 0


def test_the_estimate_prices_the_engine_the_run_will_use():
    """Every run was priced as an event-engine run: a million-inference LM stream, which the stream engine
    runs in ~2 s, was estimated at 3.5 min, and ten times as many inferences (~25 s) were refused over
    --max-wall-s. A probe, --engine event or a link expected to fail a flit (which hands the run to the
    event engine) still price the event engine."""
    from snapsim.probe import RecordingProbe
    from snapsim.runner import Prepared

    prep = Prepared.load(HW, LM)
    many = {"stream.inferences": 1_000_000}
    streamed = prep.estimate(mode="snap", workload_overrides=many)
    event = prep.estimate(mode="snap", workload_overrides=many, engine="event")
    assert streamed.engine == "stream" and streamed.events == 0 and "stream engine" in streamed.lines()[0]
    assert event.engine == "event" and event.events > 0
    assert event.wall_s > 10 * streamed.wall_s
    assert (streamed.jobs, streamed.flit_hops) == (event.jobs, event.flit_hops)
    few = {"stream.inferences": 64}
    assert prep.estimate(mode="snap", workload_overrides=few, probe=RecordingProbe()).engine == "event"
    assert prep.estimate(mode="snap", workload_overrides=few, hw_overrides={"link.bit_error_rate": 1e-6}).engine == "event"
    assert prep.estimate(mode="snap", workload_overrides=few).engine == "stream"  # UCIe's BER 1e-15: no failure


def test_dry_run_names_the_engine_a_probe_forces(tmp_path, capsys):
    assert main(["run", "--hw", HW, "--workload", LM, "--dry-run"]) == 0
    assert "stream engine" in capsys.readouterr().out
    assert main(["run", "--hw", HW, "--workload", LM, "--dry-run", "--timeseries"]) == 0
    assert "event engine" in capsys.readouterr().out


def test_a_package_of_one_chiplet_is_estimated_and_runs(capsys):
    """A package without links (one chiplet) crashed the engine-aware estimate (max() of no link error rates)."""
    assert main(["run", "--hw", str(ROOT / "hwconfigs" / "packages" / "ucie-a-1x2.yaml"), "--workload", LM,
                 "--set", "topology.cols=1", "--set", "mapping=[0]", "--set", "workload.partition.count=1",
                 "--mode", "ann"]) == 0
    assert "latency per inference" in capsys.readouterr().out
