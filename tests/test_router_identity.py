"""Pins exact results of the router level (snapsim.chiplet.router) so that work on its speed is proven not
to change what it computes: every packet's creation, injection and arrival cycle on a set of runs that
together take every path of the fabric (deterministic and adaptive routing, dateline classes, wormhole and
virtual cut-through, both VC release rules, speculation, multi-cycle stages, both allocators, iSLIP with two
iterations, slow channels, credit delay, terminal bandwidth, mixed packet sizes, overload), a methodology
point, and a whole simulation through the network's switch seam.

The pinned values were taken from the implementation as merged for issue 10 (before any optimisation); a
change to any of them is a change of the model, not of its speed."""

from __future__ import annotations

import hashlib

import pytest
import simpy

from snapsim.chiplet.router import RouterSwitch
from snapsim.config.load import load_hardware, load_workload
from snapsim.engine import Simulation
from snapsim.network import Network
from snapsim.noc import Methodology, PacketSizes, curve_point
from snapsim.noc.levels import RouterLevel
from snapsim.noc.traffic import Traffic
from snapsim.payload import StatisticalPayload
from snapsim.plan import Plan
from snapsim.resources import HWCONFIGS, WORKLOADS

NOC = HWCONFIGS / "noc" / "reference-mesh4.yaml"
R = "chiplet.router."

# name: (overrides, traffic pattern, rate in packets/terminal/cycle, packet sizes, cycles of injection)
CASES = {
    "reference-uniform-0.3": ({}, "uniform", 0.3, ((1,), (1.0,)), 1500),
    "reference-mixed-sizes-0.15": ({}, "uniform", 0.15, ((1, 4), (0.5, 0.5)), 1500),
    "reference-saturated": ({}, "uniform", 0.95, ((1,), (1.0,)), 800),
    "mesh8-uniform-0.1": ({"topology.rows": 8, "topology.cols": 8}, "uniform", 0.1, ((1,), (1.0,)), 800),
    "torus-dateline-overload": ({"topology.kind": "torus2d", R + "vcs_per_port": 2, R + "buffer_flits_per_vc": 2},
                                "uniform", 0.3, ((2,), (1.0,)), 800),
    "odd-even-overload": ({"topology.routing": "odd_even", R + "vcs_per_port": 2, R + "buffer_flits_per_vc": 3},
                          "transpose", 0.2, ((1, 3), (0.5, 0.5)), 800),
    "west-first-tornado": ({"topology.routing": "west_first"}, "tornado", 0.1, ((2,), (1.0,)), 800),
    "vct-atomic-yx": ({R + "flow_control": "virtual_cut_through", R + "vc_reallocation": "empty",
                       R + "vcs_per_port": 3, R + "buffer_flits_per_vc": 4, "topology.routing": "yx"},
                      "bitcomp", 0.12, ((1, 4), (0.5, 0.5)), 800),
    "vct-tail-sent-slow-sa": ({R + "flow_control": "virtual_cut_through", R + "sw_alloc_delay_cycles": 3,
                               R + "vcs_per_port": 2, R + "buffer_flits_per_vc": 5},
                              "uniform", 0.2, ((1, 5), (0.5, 0.5)), 800),
    "speculative-deep-separable": ({R + "speculative": True, R + "routing_delay_cycles": 2,
                                    R + "vc_alloc_delay_cycles": 2, R + "sw_alloc_delay_cycles": 2,
                                    R + "switch_traversal_delay_cycles": 2, R + "vc_allocator": "round_robin",
                                    R + "sw_allocator": "round_robin", R + "vcs_per_port": 2},
                                   "uniform", 0.12, ((1, 4), (0.5, 0.5)), 800),
    "islip2-slow-links-lookahead": ({R + "allocator_iterations": 2, R + "routing_delay_cycles": 0,
                                     R + "credit_delay_cycles": 2, R + "injection_cycles_per_flit": 2,
                                     R + "terminal_latency_cycles": 1, R + "nic_delay_cycles": 3,
                                     "link.phy_latency_ns": 3.0, "link.rate_gtps": 0.5,
                                     R + "vcs_per_port": 4, R + "buffer_flits_per_vc": 3},
                                    "hotspot", 0.1, ((1, 2), (0.5, 0.5)), 800),
}

# name: (packets delivered, sum of packet latencies, sum of network latencies, router flit-hops, sha256[:16] of
# every (id, created, injected, arrived) in delivery order)
PINNED = {
    "islip2-slow-links-lookahead": (1269, 44249, 41088, 6908, "4c7b65d624e7a5fd"),
    "mesh8-uniform-0.1": (5085, 170026, 170026, 31448, "92f1214067be10ca"),
    "odd-even-overload": (2470, 65433, 59713, 17158, "0fc076b94f5e3b95"),
    "reference-mixed-sizes-0.15": (3579, 86663, 84311, 31911, "b7b7462d3f4d0107"),
    "reference-saturated": (12178, 1413528, 1402847, 42718, "1ddcbf9b29035a98"),
    "reference-uniform-0.3": (7125, 143249, 143249, 24728, "857d5b3acfb87497"),
    "speculative-deep-separable": (1520, 65385, 64516, 13486, "6d6cf671debd5202"),
    "torus-dateline-overload": (3791, 2656063, 130813, 22500, "cd8e66609938b55e"),
    "vct-tail-sent-slow-sa": (2522, 1598838, 163687, 27203, "37548e02a0d429dd"),
    "vct-atomic-yx": (1537, 64791, 58852, 19162, "122f4421065d5482"),
    "west-first-tornado": (1281, 30218, 30067, 10342, "9b1a537ebd1015de"),
}


def fingerprint(name: str) -> tuple:
    over, pattern, rate, (flits, probs), cycles = CASES[name]
    hw = load_hardware(NOC, over)
    lvl = RouterLevel(hw)
    k = int(hw.topology.rows), int(hw.topology.cols)
    tr = Traffic(pattern, hw.topology.n_chiplets, rate, PacketSizes(flits, probs), rows=k[0], cols=k[1], seed=7)
    for a, b, cyc, src, dst, size in tr.blocks(0, cycles, 250):
        for t, s, d, z in zip(cyc.tolist(), src.tolist(), dst.tolist(), size.tolist()):
            lvl.inject(s, d, z, t)
        lvl.run(b)
    lvl.fabric.run_until_idle(400_000)
    assert lvl.fabric.idle
    pkts = list(lvl.fabric.delivered)
    digest = hashlib.sha256(repr([(p.id, p.created, p.injected, p.arrived) for p in pkts]).encode()).hexdigest()
    return (len(pkts), sum(p.arrived - p.created for p in pkts), sum(p.arrived - p.injected for p in pkts),
            lvl.fabric.traversals, digest[:16])


@pytest.mark.parametrize("name", sorted(CASES))
def test_router_runs_are_pinned(name):
    assert fingerprint(name) == PINNED[name]


def test_a_methodology_point_is_pinned():
    pt = curve_point(load_hardware(NOC), 0.6, sizes=PacketSizes((1, 4), (0.5, 0.5)),
                     method=Methodology(sample_period_cycles=500, warmup_periods=1, max_samples=4))
    got = {k: pt[k] for k in ("packet_latency_cycles_mean", "network_latency_cycles_mean",
                              "accepted_flits_per_node_cycle", "packet_latency_cycles_p99", "packets_measured",
                              "router_flit_hops", "cycles", "stable")}
    assert got == {"packet_latency_cycles_mean": 30.616599403404106, "network_latency_cycles_mean": 28.912791717845234,
                   "accepted_flits_per_node_cycle": 0.587875, "packet_latency_cycles_p99": 78.0,
                   "packets_measured": 5699, "router_flit_hops": 100045, "cycles": 3000, "stable": True}


def test_a_simulation_through_the_switch_seam_is_pinned():
    hw = load_hardware(HWCONFIGS / "packages" / "ucie-a-2x2.yaml", {"chiplet.router": dict(
        clock_ghz=2.0, vcs_per_port=2, buffer_flits_per_vc=4, routing_delay_cycles=1, vc_alloc_delay_cycles=1,
        sw_alloc_delay_cycles=1, switch_traversal_delay_cycles=1)})
    wl = load_workload(WORKLOADS / "lm_32x4096.yaml", {"stream.inferences": 8, "stream.batch": 2})
    plan = Plan.build(hw, wl, "ann")
    net = Network(simpy.Environment(), plan.package, "fast", switch=RouterSwitch())
    res = Simulation(plan, StatisticalPayload(plan.boundaries, plan.batch, plan.inferences, 0), network=net).run()
    got = {k: res.data[k] for k in ("latency_ns_min", "latency_ns_mean", "latency_ns_max", "latency_ns_p99", "makespan_ns")}
    assert got == {"latency_ns_min": 205373822.508, "latency_ns_mean": 252329151.276, "latency_ns_max": 368619902.532,
                   "latency_ns_p99": 364810827.33144, "makespan_ns": 586281342.564}
    assert net.switch.fabric.traversals == 3312
