"""Test helpers: build hardware configs from dicts and drive the network directly."""

from __future__ import annotations

import simpy

from snapsim.config.hardware import HardwareConfig
from snapsim.config.load import SHIPPED_HWCONFIGS, load_chiplet
from snapsim.network import Network

CHIPLET = load_chiplet(SHIPPED_HWCONFIGS / "chiplet" / "simba-like-16nm.yaml")


def link_cfg(**kw) -> dict:
    base = dict(
        name="test-link", lanes=16, rate_gtps=16.0, energy_pj_per_bit=0.5, phy_latency_ns=2.0, flit_bytes=64,
        flit_overhead_bytes=4, rx_buffer_flits=64, idle_power_mw=10.0,
    )
    base.update(kw)
    return base


def hardware(topology: dict, transit_hops: int = 0, hop_latency_ns: float = 0.5, **link) -> HardwareConfig:
    chip = CHIPLET.model_dump()
    chip["noc"]["transit_hops"] = transit_hops
    chip["noc"]["hop_latency_ns"] = hop_latency_ns
    return HardwareConfig.model_validate(
        {"kind": "hardware", "name": "test", "chiplet": chip, "link": link_cfg(**link), "topology": topology}
    )


def run_messages(hw: HardwareConfig, fidelity: str, msgs: list[tuple[int, int, int, int]]):
    """msgs: (inject_tick, src, dst, payload_bits). Returns (done ticks in input order, network)."""
    env = simpy.Environment()
    net = Network(env, hw, fidelity)
    out: list = [None] * len(msgs)
    order = sorted(range(len(msgs)), key=lambda i: (msgs[i][0], i))

    def source():
        for i in order:
            t, s, d, bits = msgs[i]
            if t > env.now:
                yield env.timeout(t - env.now)
            out[i] = net.send(s, d, bits)

    env.process(source())
    env.run()
    return [m.done_tick for m in out], net
