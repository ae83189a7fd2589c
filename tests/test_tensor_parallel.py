"""Tensor-parallel partitions (partition.tensor_parallel): each stage split over k neighbouring dies that
exchange its output by a ring collective. The first inference equals the closed form to the tick in every
mode, every planned collective message crosses the links (bits, energy) at its planned time, partial sums
stay dense while SNN-only gathers spikes, and a ring that would share links with other routes is refused."""

from __future__ import annotations

import math

import pytest

from snapsim.config import load_hardware, load_workload
from snapsim.engine import MODES, Simulation
from snapsim.errors import SnapsimError
from snapsim.plan import Plan
from snapsim.probe import RecordingProbe
from snapsim.resources import HWCONFIGS, WORKLOADS


@pytest.fixture(scope="module")
def hw16():
    return load_hardware(HWCONFIGS / "packages" / "xsr-serdes-4x4.yaml")


def wl(model="resnet18", count=4, k=2, collective="all_reduce", **extra):
    return load_workload(WORKLOADS / "zoo" / f"{model}_p16.yaml",
                         {"partition": {"count": count, "tensor_parallel": k, "collective": collective},
                          "boundary.encoding": "bitmap",  # fixed-size frames: no inference is faster than the first
                          "stream.inferences": 6, **extra})


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("k,collective", [(2, "all_reduce"), (4, "all_gather"), (4, "all_reduce")])
def test_first_inference_equals_the_closed_form(hw16, mode, k, collective):
    w = wl(count=16 // k, k=k, collective=collective, **({"snn.timesteps": 3} if mode == "snn" else {}))
    r = Simulation.build(hw16, w, mode).run()
    d = r.data
    assert r.latencies_ns[0] == pytest.approx(d["analytical"]["zero_load_latency_ns"], abs=1e-9)
    assert d["latency_ns_min"] >= d["analytical"]["zero_load_latency_ns"] - 1e-9
    assert d["throughput_inf_per_s"] <= d["analytical"]["throughput_bound_inf_per_s"] * (1 + 1e-9)
    assert len(d["chiplets_used"]) == 16


def test_collective_messages_cross_the_links_at_their_planned_ticks(hw16):
    w = wl(count=4, k=2)
    plan = Plan.build(hw16, w, "ann")
    part = plan.partitions[0]
    stages = len(part.stages)
    # all_reduce over 2 dies: one reduce-scatter and one all-gather step per stage, one message per die per step
    assert len(part.collectives) == stages * 2 * 2
    probe = RecordingProbe()
    r = Simulation.build(hw16, w, "ann", probe=probe).run()
    ring = {(c.src, c.dst) for p in plan.partitions for c in p.collectives}
    sent = sum(c.bits for p in plan.partitions for c in p.collectives) * w.stream.inferences
    payload = sum(l["payload_bits"] for l in r.data["links"] if tuple(int(x) for x in l["name"][1:].split("->c")) in ring)
    assert payload == sent
    boundary = sum(bp.on_die_bits for bp in plan.boundaries) * w.stream.inferences  # dense: payload = tensor bits
    assert sum(l["payload_bits"] for l in r.data["links"]) == sent + boundary
    # each partition's work is counted on every die of its group
    counts = r.data["counts"]["chiplets"]
    macs = [counts[str(c)]["mac.int8"] for c in plan.dies]
    assert macs[0] == macs[1] and macs[2] == macs[3]


def test_partial_sums_stay_dense_and_snn_gathers_spikes(hw16):
    w = wl(count=8, k=2)
    ann, snn = Plan.build(hw16, w, "ann"), Plan.build(hw16, w, "snn")
    for a, s in zip(ann.partitions[0].collectives, snn.partitions[0].collectives):
        assert a.bits == math.ceil(a.bits / 8) * 8  # int8 chunks
    steps = [c.bits for c in snn.partitions[0].collectives[::2]]  # one die's messages, step by step
    dense = [c.bits for c in ann.partitions[0].collectives[::2]]
    assert steps[0::2] == dense[0::2]  # reduce-scatter: partial sums at the precision in every mode
    assert [8 * b for b in steps[1::2]] == dense[1::2]  # all-gather: one bit per neuron per timestep in SNN-only
    snap = Plan.build(hw16, w, "snap")
    assert [c.bits for c in snap.partitions[0].collectives] == [c.bits for c in ann.partitions[0].collectives]


def test_tensor_parallel_halves_each_dies_weights_and_work(hw16):
    one, two = Plan.build(hw16, wl(count=4, k=1), "ann"), Plan.build(hw16, wl(count=4, k=2), "ann")
    for a, b in zip(one.partitions, two.partitions):
        assert b.cost.actions["mac.int8"] == pytest.approx(a.cost.actions["mac.int8"] / 2)
        assert b.cost.ticks > 0 and len(b.dies) == 2 and len(a.dies) == 1


def test_a_ring_sharing_links_with_other_routes_is_refused(hw16):
    scrambled = hw16.model_copy(update={"mapping": [0, 2, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]})
    with pytest.raises(SnapsimError, match="shares link"):
        Plan.build(scrambled, wl(count=2, k=2), "ann")
    too_many = wl(count=16, k=2)
    with pytest.raises(SnapsimError, match="16 partitions x 2 dies"):
        Plan.build(hw16, too_many, "ann")


def test_power_managed_ring_links_are_refused(hw16):
    sleepy = hw16.model_copy(update={"link": hw16.link.model_copy(update={"sleep_after_idle_ns": 100.0})})
    with pytest.raises(SnapsimError, match="link power states"):
        Plan.build(sleepy, wl(count=4, k=2), "ann")
