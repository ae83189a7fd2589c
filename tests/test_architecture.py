"""The seams of the architecture (plan / engine split, injected network parts, the encoding registry,
re-pricing) and regression tests for the defects they removed (issue 9)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from snapsim.testing import hardware, workload
from snapsim.cli import main
from snapsim.config import load_hardware, load_workload
from snapsim.config.workload import WorkloadConfig
from snapsim.energy import price, reprice
from snapsim.engine import Simulation
from snapsim.payload import StatisticalPayload
from snapsim.plan import Plan
from snapsim.probe import RecordingProbe
from snapsim.runner import simulate
from snapsim.trace import TraceWriter, open_trace
from snapsim.trace.replay import trace_payload_for

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "hwconfigs" / "packages"
WL = ROOT / "workloads"


def _tiny(encoding, timesteps=4, inferences=6, batch=2, neurons=64, parts=2, rate=0.2) -> WorkloadConfig:
    return workload(parts, neurons, encoding=encoding, timesteps=timesteps, firing_rate=rate, inferences=inferences,
                    batch=batch)


def _trace(path, wl: WorkloadConfig, seed=3):
    plan = Plan.build(load_hardware(PKG / "ucie-a-2x2.yaml"), wl, "snap")
    parts = plan.workload.partition_names()  # die0, die1, ...: matched by name
    rng = np.random.default_rng(seed)
    T = wl.boundary.timesteps
    with TraceWriter(path, model="tiny", partitions=parts, timesteps=T, shard_samples=3) as w:
        for bp in plan.boundaries:
            w.add_boundary(f"b{bp.index}", src=parts[bp.index], dst=[parts[bp.index + 1]], kind="spike",
                           features=[bp.neurons])
        for bp in plan.boundaries:
            w.append(f"b{bp.index}", rng.random((T, 7, bp.neurons)) < 0.2)
    return open_trace(path)


# ------------------------------------------------------------------------- defect 1: rate windows


@pytest.mark.parametrize("mode", ["snap", "snn"])
def test_rate_sends_one_message_per_window_on_the_wire(mode, tmp_path):
    """window_steps=4 over T=4: one message per inference per boundary (not one per timestep), of
    n x batch x count_bits payload bits, in the statistical model and in trace replay alike."""
    hw = load_hardware(PKG / "ucie-a-2x2.yaml")
    wl = _tiny({"kind": "rate", "window_steps": 4})
    count_bits = 3  # ceil(log2(4 + 1))
    stat = simulate(hw, wl, mode, seed=1)
    replay = simulate(hw, wl, mode, seed=1, trace=str(_trace(tmp_path / "t", wl).path))
    for r in (stat, replay):
        (link,) = r.data["links"]
        assert link["messages"] == wl.stream.inferences
        assert link["payload_bits"] == wl.stream.inferences * 64 * wl.stream.batch * count_bits
    assert stat.data["links"] == replay.data["links"]  # data-independent: statistical == replay


def test_rate_window_payload_tables_agree(tmp_path):
    wl = _tiny({"kind": "rate", "window_steps": 3}, timesteps=8)
    plan = Plan.build(load_hardware(PKG / "ucie-a-2x2.yaml"), wl, "snap")
    stat = StatisticalPayload(plan.boundaries, plan.batch, plan.inferences, seed=0)
    rep = trace_payload_for(_trace(tmp_path / "t", wl), plan)
    assert plan.boundaries[0].windows == ((0, 3), (3, 6), (6, 8))
    assert (stat.bits_table(0, 6) == rep.bits_table(0, 6)).all()
    assert stat.bits_table(0, 6).shape == (6, 3)


# --------------------------------------------------------------------------- defect 2: rle replay


def test_rle_replays_from_the_command_line(capsys):
    trace = WL / "traces" / "charlm_snap_l2.snaptrace"
    code = main(["run", "--hw", str(PKG / "ucie-a-2x2.yaml"), "--workload", str(WL / "charlm_snap.yaml"),
                 "--trace", str(trace), "--set", "workload.boundary.encoding={kind: rle, count_bits: 4}",
                 "--set", "workload.stream.inferences=16", "--mode", "snap", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    data = json.loads(out.out)["snap"]
    # brute force: every sample's frame at every timestep, run-length coded with 4-bit tokens
    from snapsim.encoding import Rle

    tr = open_trace(trace)
    (b,) = [x for x in tr.boundaries if x.kind == "spike"]
    frames = tr.read(b.name, 0, 16).reshape(b.timesteps, 16, -1)  # [T, 16 samples, n] bool
    assert data["d2d_payload_bits_per_inf"] * 16 == int(Rle(count_bits=4).frame_bits(frames).sum())


def test_rle_statistical_payload_draws_positions():
    """Without a trace, rle sizes come from Bernoulli frames: mean size near the iid expectation."""
    n, p, r = 256, 0.05, 5
    wl = _tiny({"kind": "rle", "count_bits": r}, neurons=n, rate=p, inferences=200, batch=1)
    plan = Plan.build(load_hardware(PKG / "ucie-a-2x2.yaml"), wl, "snap")
    bits = StatisticalPayload(plan.boundaries, 1, 200, seed=4).bits_table(0, 200)
    # per spike one token; zeros before each spike escape floor(gap / 31) times; gap ~ Geometric(p)
    q = 1 - p
    escapes_per_spike = sum(q ** (31 * j) for j in range(1, 20))
    expected = n * p * (1 + escapes_per_spike) * r
    assert bits.mean() == pytest.approx(expected, rel=0.05)


# ----------------------------------------------------------------- defect 3: validate encodings


def test_validate_reports_every_encoding_mistake_with_file_and_line(tmp_path, capsys):
    path = tmp_path / "wl.yaml"
    path.write_text(
        "kind: workload\nname: bad\ninput_shape: [4]\nstages:\n"
        "  - {name: a, macs: 10, output_shape: [4]}\n  - {name: b, macs: 10, output_shape: [4]}\n"
        "  - {name: c, macs: 10, output_shape: [4]}\n  - {name: d, macs: 10, output_shape: [4]}\n"
        "partition: {count: 4}\n"
        "boundary:\n  encoding: {kind: aer, adress_bits: 3}\n"
        "boundaries:\n"
        "  0:\n    encoding: {kind: aerx}\n"
        "  1:\n    encoding:\n      kind: aer\n      address_bits: 0\n"
    )
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:11: boundary.encoding.adress_bits: unknown key" in err
    assert f"{path}:14: boundaries.0.encoding" in err and "'aerx' is not an encoding kind" in err
    assert f"{path}:18: boundaries.1.encoding.address_bits:" in err and "greater than or equal to 1" in err
    assert "Traceback" not in err


# ------------------------------------------------------------ defect 4: bound with re-framing


def test_zero_load_bound_is_exact_across_links_of_different_flit_sizes():
    """A route whose second link frames the message differently re-frames it (store-and-forward at that
    hop); the analytical zero-load latency frames per hop as the network does, so it equals inference 0."""
    hw = hardware({"kind": "mesh2d", "rows": 1, "cols": 3}, transit_hops=2, flit_bytes=64)
    data = hw.model_dump()
    data["links"] = [{"between": [1, 2], "link": {**data["link"], "name": "big-flits", "flit_bytes": 256,
                                                   "flit_overhead_bytes": 16}}]
    data["mapping"] = [0, 2]
    hw = type(hw).model_validate(data)
    wl = _tiny("aer", inferences=3, batch=1)
    for mode in ("ann", "snn", "snap"):
        r = simulate(hw, wl, mode, seed=2)
        assert r.latencies_ns[0] == pytest.approx(r.data["analytical"]["zero_load_latency_ns"], abs=1e-9), mode
        assert (r.latencies_ns >= r.data["analytical"]["zero_load_latency_ns"] - 1e-9).all()


# ----------------------------------------------------------------------------------------- seams


def test_plan_is_pure_and_built_before_the_engine():
    code = "import sys, snapsim.plan; sys.exit('simpy' in sys.modules)"
    import subprocess

    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0
    plan = Plan.build(load_hardware(PKG / "ucie-a-2x2.yaml"), load_workload(WL / "lm_32x4096.yaml"), "snap")
    assert [bp.messages for bp in plan.boundaries] == [4, 4, 4]
    assert all(h.timing.t_flit > 0 for bp in plan.boundaries for h in bp.hops)


def test_probe_sees_every_message_job_and_inference():
    hw = load_hardware(PKG / "ucie-a-2x2.yaml")
    wl = _tiny("bitmap", parts=3)
    probe = RecordingProbe()
    r = simulate(hw, wl, "snap", seed=0, probe=probe)
    assert len(probe.link_messages) == sum(l["messages"] for l in r.data["links"])
    assert sum(f for *_x, f, _b in probe.link_messages) == sum(l["flits"] for l in r.data["links"])
    assert len(probe.inferences) == wl.stream.inferences
    compute = [j for j in probe.server_jobs if j[0].endswith(".compute")]
    assert len(compute) == 3 * wl.stream.inferences
    assert all(end > start for *_x, start, end in probe.server_jobs)
    plain = simulate(hw, wl, "snap", seed=0)
    assert (plain.latencies_ns == r.latencies_ns).all()  # observing changes nothing


def test_injected_power_policy_is_used():
    from snapsim.d2d.power import AlwaysOn
    from snapsim.network import Network

    class Counting(AlwaysOn):
        sleeps = True  # asks to see every head flit
        heads = 0

        def head_arrives(self, now):
            Counting.heads += 1
            return now

    hw = load_hardware(PKG / "ucie-a-2x2.yaml")
    plan = Plan.build(hw, _tiny("aer"), "snap")
    payload = StatisticalPayload(plan.boundaries, plan.batch, plan.inferences, 0)
    sim = Simulation(plan, payload)
    sim.net = Network(sim.env, plan.package, power=Counting)
    for bp in plan.boundaries:
        sim.net.mark_route_used(bp.src, bp.dst)
    r = sim.run()
    assert Counting.heads == sum(l["messages"] for l in r.data["links"]) > 0
    assert {l["power_policy"] for l in r.data["links"]} == {"always_on"}


def test_a_saved_run_reprices_with_another_cost_table():
    """Energy is counts x costs: re-pricing a saved run with other per-action and per-bit costs equals
    running again with them."""
    pkg = PKG / "ucie-a-2x2.yaml"
    wl = load_workload(WL / "resnet18_imagenet.yaml", {"stream.inferences": 8})
    saved = json.loads(simulate(load_hardware(pkg), wl, "snap", seed=1).to_json())
    costly = load_hardware(pkg, {"link.energy_pj_per_bit": 3.0, "link.idle_power_mw": 40.0,
                                 "chiplet.compute.energy_pj_per_mac.int8": 0.5,
                                 "chiplet.sram.read_energy_pj_per_bit": 0.3})
    again = simulate(costly, wl, "snap", seed=1).data
    energy = reprice(saved, costly)
    N = wl.stream.inferences
    assert energy["total"] / N == pytest.approx(again["energy_pj_per_inf"], rel=1e-12)
    for part, v in again["energy_breakdown_pj"].items():
        assert energy[part] / N == pytest.approx(v, rel=1e-12, abs=1e-9), part
    assert energy["total"] != pytest.approx(saved["energy_pj_per_inf"] * N, rel=1e-3)


def test_validate_takes_every_input_kind_including_traces(tmp_path, capsys):
    """One config layer: snapsim validate checks a trace (directory or manifest.json) like any file, every
    problem with file:line."""
    import shutil

    src = WL / "traces" / "digits_snap_l1.snaptrace"
    assert main(["validate", str(src), str(src / "manifest.json"), str(PKG / "ucie-a-2x2.yaml")]) == 0
    bad = tmp_path / "t"
    shutil.copytree(src, bad)
    m = json.loads((bad / "manifest.json").read_text())
    m["samples"] = "x"
    m["boundaries"][0]["timesteps"] = -1
    (bad / "manifest.json").write_text(json.dumps(m, indent=1))
    capsys.readouterr()
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad / 'manifest.json'}:" in err and ": samples: " in err and "boundaries.0.timesteps" in err


def test_statistical_batch_counts_are_binomial_over_the_batch():
    """A count-only encoding's message depends on the batch's total count only; it is drawn as
    Binomial(n x batch, p): mean and variance of the spikes per message match, and bits follow exactly."""
    n, B, p = 512, 8, 0.07
    wl = _tiny("aer", neurons=n, batch=B, rate=p, inferences=4000)
    plan = Plan.build(load_hardware(PKG / "ucie-a-2x2.yaml"), wl, "snap")
    payload = StatisticalPayload(plan.boundaries, B, 4000, seed=9)
    spikes = np.array([[payload.message_spikes(0, i, m) for m in range(4)] for i in range(4000)])
    assert spikes.mean() == pytest.approx(n * B * p, rel=0.01)
    assert spikes.var() == pytest.approx(n * B * p * (1 - p), rel=0.08)
    assert (payload.bits_table(0, 4000) == 9 * spikes).all()  # aer: ceil(log2 512) = 9 bits per spike
