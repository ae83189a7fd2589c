"""Engine invariants: analytical bounds, exact zero-load latency, conservation, energy sums,
determinism, and identical results in both link fidelities."""

from __future__ import annotations

import json

import pytest

from snapsim.config import load_workload
from snapsim.energy import ENERGY_PARTS
from snapsim.engine import MODES, Simulation


@pytest.fixture(scope="module")
def resnet(root):
    return load_workload(root / "workloads" / "resnet18_imagenet.yaml", {"stream.inferences": 24})


@pytest.fixture(scope="module")
def lm(root):
    return load_workload(root / "workloads" / "lm_32x4096.yaml", {"stream.inferences": 24, "stream.batch": 2})


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("wl_name", ["resnet", "lm"])
def test_bounds_and_exact_zero_load(request, ucie_2x2, mode, wl_name):
    wl = request.getfixturevalue(wl_name)
    r = Simulation.build(ucie_2x2, wl, mode, seed=3).run()
    d = r.data
    zero = d["analytical"]["zero_load_latency_ns"]
    # the first inference enters an empty package: it takes exactly the zero-load latency, reported as its own field
    assert r.latencies_ns[0] == pytest.approx(zero, abs=1e-9)
    assert d["latency_ns_zero_load"] == r.latencies_ns[0] and r.flat()["latency_ns_zero_load"] == d["latency_ns_zero_load"]
    assert d["energy_pj_per_sample"] == pytest.approx(d["energy_pj_per_inf"] / wl.stream.batch, rel=1e-12)
    assert d["latency_ns_min"] >= zero - 1e-9
    assert d["throughput_inf_per_s"] <= d["analytical"]["throughput_bound_inf_per_s"] * (1 + 1e-9)


@pytest.mark.parametrize("mode", MODES)
def test_fast_and_reference_give_identical_results(ucie_2x2, resnet, mode):
    a = Simulation.build(ucie_2x2, resnet, mode, seed=5, fidelity="fast").run().data
    b = Simulation.build(ucie_2x2, resnet, mode, seed=5, fidelity="reference").run().data
    for k in ("fidelity", "config_hash"):
        a.pop(k), b.pop(k)
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


@pytest.mark.parametrize("mode", MODES)
def test_energy_parts_sum_to_total_and_determinism(ucie_2x2, lm, mode):
    r1 = Simulation.build(ucie_2x2, lm, mode, seed=11).run()
    r2 = Simulation.build(ucie_2x2, lm, mode, seed=11).run()
    assert r1.to_json() == r2.to_json()
    d = r1.data
    assert sum(d["energy_breakdown_pj"][p] for p in ENERGY_PARTS) == pytest.approx(d["energy_pj_per_inf"], rel=1e-12)
    assert all(d["energy_breakdown_pj"][p] >= 0 for p in ENERGY_PARTS)
    assert d["seed"] == 11 and d["snapsim_version"] and d["config"]["hardware"]["name"] == "ucie-a-2x2"
    if mode != "snap":
        assert d["energy_breakdown_pj"]["spike_codec"] == 0 or mode == "snn"
    else:
        assert d["energy_breakdown_pj"]["spike_codec"] > 0


def test_seed_changes_spike_payloads_only_in_spiking_modes(ucie_2x2, lm):
    a = Simulation.build(ucie_2x2, lm, "snap", seed=1).run().data
    b = Simulation.build(ucie_2x2, lm, "snap", seed=2).run().data
    assert a["d2d_payload_bits_per_inf"] != b["d2d_payload_bits_per_inf"]
    a = Simulation.build(ucie_2x2, lm, "ann", seed=1).run().data
    b = Simulation.build(ucie_2x2, lm, "ann", seed=2).run().data
    assert a["d2d_payload_bits_per_inf"] == b["d2d_payload_bits_per_inf"]


def test_message_conservation_and_counts(ucie_2x2, resnet):
    sim = Simulation.build(ucie_2x2, resnet, "snap", seed=0)
    r = sim.run()
    N = resnet.stream.inferences
    T = resnet.boundary.timesteps
    # every boundary message crosses each link of its route exactly once
    for b, bp in enumerate(sim.plan.boundaries):
        path = sim.net.route(bp.src, bp.dst)
        assert len(path) == 2  # mapping makes consecutive partitions neighbours
        link = sim.net.links[(path[0], path[1])]
        assert link.messages == N * T
        assert link.payload_bits == sum(sim.payload.message_bits(b, i, t) for i in range(N) for t in range(T))
    assert r.data["d2d_payload_bits_per_inf"] * N == sum(l["payload_bits"] for l in r.data["links"])


def test_dense_ann_boundary_bits_are_exact(ucie_2x2, resnet):
    r = Simulation.build(ucie_2x2, resnet, "ann").run()
    parts = resnet.partitions()
    expected = sum(p[-1].output_elements * 8 for p in parts[:-1])  # int8 activations
    assert r.data["d2d_payload_bits_per_inf"] == expected


def test_a_live_shortcut_crosses_the_boundary_with_the_output(ucie_2x2, resnet):
    """A cut inside a residual block also carries the shortcut (skip_elements): dense bits grow by exactly
    its size in ann, the spike neurons in snap, and the analytical zero-load latency follows."""
    cut = resnet.partitions()[0][-1].name
    base = resnet.model_dump()
    skip = 3 * 28 * 28
    with_skip = resnet.model_copy(update={"stages": [
        s.model_copy(update={"skip_elements": skip}) if s.name == cut else s for s in resnet.stages]})
    assert with_skip.partitions()[0][-1].live_elements == with_skip.partitions()[0][-1].output_elements + skip
    a0 = Simulation.build(ucie_2x2, resnet, "ann").run()
    a1 = Simulation.build(ucie_2x2, with_skip, "ann").run()
    assert a1.data["d2d_payload_bits_per_inf"] - a0.data["d2d_payload_bits_per_inf"] == skip * 8
    assert a1.latencies_ns[0] == pytest.approx(a1.data["analytical"]["zero_load_latency_ns"], abs=1e-9)
    assert a1.latencies_ns[0] > a0.latencies_ns[0]
    s1 = Simulation.build(ucie_2x2, with_skip, "snap")
    assert s1.plan.boundaries[0].neurons == Simulation.build(ucie_2x2, resnet, "snap").plan.boundaries[0].neurons + skip
    assert resnet.model_dump() == base  # the original workload is untouched


def test_snap_crosses_fewer_bits_than_ann_at_low_rate(ucie_2x2, lm):
    ann = Simulation.build(ucie_2x2, lm, "ann").run().data
    snap = Simulation.build(ucie_2x2, lm, "snap").run().data
    assert snap["d2d_payload_bits_per_inf"] < ann["d2d_payload_bits_per_inf"] / 3
    assert snap["energy_breakdown_pj"]["d2d_dynamic"] < ann["energy_breakdown_pj"]["d2d_dynamic"]


def test_language_target_case_runs_quickly_enough_to_simulate(ucie_2x2, root):
    # the target case (4 chiplets, 32 x 4096, 1024 tokens, snap); its wall time is a benchmark
    # figure, here we only check it completes and is self-consistent
    wl = load_workload(root / "workloads" / "lm_32x4096.yaml")
    r = Simulation.build(ucie_2x2, wl, "snap", seed=0).run()
    assert r.data["inferences"] == 1024 and len(r.latencies_ns) == 1024


def test_lookup_stage_reads_only_its_rows(ucie_2x2):
    from snapsim.config.workload import WorkloadConfig

    def wl(reads):
        stage = {"name": "embed", "macs": 0, "weight_params": 50_000_000, "output_shape": [1024]}
        if reads is not None:
            stage["weight_read_params_per_sample"] = reads
        return WorkloadConfig.model_validate({
            "kind": "workload", "name": "w", "input_shape": [1], "precision": "int8",
            "stages": [stage, {"name": "fc", "macs": 1024 * 1024, "weight_params": 1024 * 1024, "output_shape": [1024]}],
            "partition": {"count": 2}, "stream": {"inferences": 2, "batch": 4},
        })

    full = Simulation.build(ucie_2x2, wl(None), "ann").run().data["counts"]["chiplets"]["0"]
    rows = Simulation.build(ucie_2x2, wl(1024), "ann").run().data["counts"]["chiplets"]["0"]
    # the table's share that does not fit in the die's SRAM streams from DRAM once per inference, the rest
    # is read from SRAM; a lookup reads only one 1024-wide row per sample, split the same way
    sram_bits = ucie_2x2.chiplet.sram.capacity_mib * 8 * 2**20
    resident = sram_bits / (50_000_000 * 8)
    assert 0 < resident < 1
    assert full["dram_bits"] == pytest.approx(2 * 50_000_000 * 8 * (1 - resident), rel=1e-12)
    assert rows["dram_bits"] == pytest.approx(2 * 4 * 1024 * 8 * (1 - resident), rel=1e-12)
    assert full["sram_read_bits"] - rows["sram_read_bits"] == pytest.approx(
        2 * (50_000_000 - 4 * 1024) * 8 * resident, rel=1e-9)


@pytest.mark.parametrize("mode", MODES)
def test_open_loop_injection(ucie_2x2, root, mode):
    # periodic arrivals far apart: every inference finds an empty package and takes the zero-load latency
    wl = load_workload(root / "workloads" / "resnet18_imagenet.yaml",
                       {"stream.inferences": 5, "stream.injection": "periodic", "stream.interval_ns": 1e8})
    r = Simulation.build(ucie_2x2, wl, mode, seed=2).run()
    zero = r.data["analytical"]["zero_load_latency_ns"]
    assert all(x == pytest.approx(zero, abs=1e-9) for x in r.latencies_ns)
    # Poisson arrivals at a high rate queue up: later inferences wait, none beats the zero-load bound
    wl = load_workload(root / "workloads" / "resnet18_imagenet.yaml",
                       {"stream.inferences": 30, "stream.injection": "poisson", "stream.interval_ns": 1000.0})
    a = Simulation.build(ucie_2x2, wl, mode, seed=2).run()
    b = Simulation.build(ucie_2x2, wl, mode, seed=2).run()
    assert a.to_json() == b.to_json()
    assert a.latencies_ns.min() >= a.data["analytical"]["zero_load_latency_ns"] - 1e-9
    assert a.latencies_ns.max() > 5 * a.data["analytical"]["zero_load_latency_ns"]


# ------------------------------------------------------------------------------------- link power states


@pytest.fixture(scope="module")
def ucie_2x2_sleepy(root):
    from snapsim.config import load_hardware

    return load_hardware(root / "hwconfigs" / "packages" / "ucie-a-2x2.yaml",
                         {"link.sleep_after_idle_ns": 20.0, "link.wake_latency_ns": 5.0, "link.sleep_power_mw": 1.5})


@pytest.mark.parametrize("mode", MODES)
def test_power_managed_links_time_and_energy(ucie_2x2, ucie_2x2_sleepy, resnet, mode):
    """With link power states: inference 0 still takes exactly the zero-load latency (every hop wakes),
    both fidelities agree, each used link's busy + awake-idle + asleep time is the makespan, and its static
    energy is idle power x awake-idle time + sleep power x asleep time."""
    r = Simulation.build(ucie_2x2_sleepy, resnet, mode, seed=2).run()
    ref = Simulation.build(ucie_2x2_sleepy, resnet, mode, seed=2, fidelity="reference").run().data
    d = r.data
    assert r.latencies_ns[0] == pytest.approx(d["analytical"]["zero_load_latency_ns"], abs=1e-9)
    for k in ("fidelity", "config_hash"):
        ref.pop(k)
    assert json.dumps({k: v for k, v in d.items() if k not in ("fidelity", "config_hash")}, sort_keys=True) == \
        json.dumps(ref, sort_keys=True)
    counts = d["counts"]["links"]
    link_cfg = ucie_2x2_sleepy.link
    static = 0.0
    assert {l["name"] for l in d["links"]} == set(counts)
    for l in d["links"]:
        c = counts[l["name"]]
        assert l["wakes"] >= 1 and l["asleep_ns"] > 0 and c["asleep_ns"] == l["asleep_ns"]
        assert l["busy_ns"] + l["asleep_ns"] + c["idle_ns"] == pytest.approx(d["makespan_ns"], rel=1e-12)
        static += c["idle_ns"] * link_cfg.idle_power_mw + c["asleep_ns"] * link_cfg.sleep_power_mw
    assert d["energy_breakdown_pj"]["d2d_static"] == pytest.approx(static / resnet.stream.inferences, rel=1e-9)
    # always-on links on the same package burn more static energy and are never slower
    on = Simulation.build(ucie_2x2, resnet, mode, seed=2).run()
    assert d["energy_breakdown_pj"]["d2d_static"] < on.data["energy_breakdown_pj"]["d2d_static"]
    assert min(r.latencies_ns) >= min(on.latencies_ns)
