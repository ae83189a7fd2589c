"""The router level inside snapsim.network.Network through the switch seam (RouterSwitch): messages of a
package's workload run on the chiplets' routers; zero-load latency equals the router's closed form; a
whole simulation runs at either level with the same traffic counts."""

from __future__ import annotations

import simpy
import pytest

from snapsim.chiplet.router import RouterSwitch, zero_load_cycles
from snapsim.config.load import load_hardware, load_workload
from snapsim.engine import Simulation
from snapsim.errors import SnapsimError
from snapsim.network import Network
from snapsim.payload import StatisticalPayload
from snapsim.plan import Plan
from snapsim.resources import HWCONFIGS, WORKLOADS
from snapsim.testing import run_messages

ROUTER = dict(clock_ghz=2.0, vcs_per_port=4, buffer_flits_per_vc=8, routing_delay_cycles=1, vc_alloc_delay_cycles=1,
              sw_alloc_delay_cycles=1, switch_traversal_delay_cycles=1)


def package(**over):
    return load_hardware(HWCONFIGS / "packages" / "ucie-a-2x2.yaml", {"chiplet.router": ROUTER, **over})


def test_single_messages_take_the_closed_form():
    hw = package()
    for src, dst, bits in [(0, 1, 4096 * 8), (0, 3, 800), (2, 1, 64 * 1024 * 8)]:
        done, net = run_messages(hw, "fast", [(0, src, dst, bits)], switch=RouterSwitch())
        fab = net.switch.fabric
        flits = net.links[tuple(net.route(src, dst)[:2])].timing.flits(bits)
        want = zero_load_cycles(fab.cfg, fab.path_channels(src, dst), flits) * fab.cycle_ticks()
        assert done[0] == want


def test_streams_arrive_in_order_and_never_before_zero_load():
    hw = package()
    msgs = [(t * 3000, s, d, 2048 * 8) for t in range(20) for s, d in ((0, 3), (1, 2), (3, 0))]
    done, net = run_messages(hw, "fast", msgs, switch=RouterSwitch())  # the sink checks order and the floor
    assert len(done) == len(msgs) and net.switch.fabric.idle
    for link in net.links.values():  # the fabric's channel counters agree with the network's message counts
        assert link.flits * link.timing.flit_bits == link.wire_bits


@pytest.mark.parametrize("mode", ["ann", "snap"])
def test_a_simulation_runs_at_the_router_level(mode):
    hw = package()
    wl = load_workload(WORKLOADS / "lm_32x4096.yaml", {"stream.inferences": 8, "stream.batch": 2})
    plan = Plan.build(hw, wl, mode)
    ideal = Simulation(plan, StatisticalPayload(plan.boundaries, plan.batch, plan.inferences, 0)).run()
    env = simpy.Environment()
    net = Network(env, plan.package, "fast", switch=RouterSwitch())
    router = Simulation(plan, StatisticalPayload(plan.boundaries, plan.batch, plan.inferences, 0), network=net).run()
    assert router["d2d_bits_per_inf"] == ideal["d2d_bits_per_inf"]
    assert [l["flits"] for l in router["links"]] == [l["flits"] for l in ideal["links"]]
    assert router["latency_ns_min"] >= ideal["analytical"]["zero_load_latency_ns"] - 1e-6
    assert net.switch.fabric.traversals > 0


def test_router_level_needs_router_configs_and_always_on_links():
    with pytest.raises(SnapsimError, match="router config"):
        Network(simpy.Environment(), load_hardware(HWCONFIGS / "packages" / "ucie-a-2x2.yaml"), switch=RouterSwitch())
    hw = package(**{"link.sleep_after_idle_ns": 100.0, "link.wake_latency_ns": 10.0})
    with pytest.raises(SnapsimError, match="power states"):
        Network(simpy.Environment(), hw, switch=RouterSwitch())
