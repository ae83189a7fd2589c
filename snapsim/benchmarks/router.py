"""Router-level benchmark: router flit-hops simulated per second of CPU (one core, ``time.process_time``),
with the ideal level on the same traffic in the same run as the baseline.

Cases: the issue's target, an 8x8 mesh of the reference routers under uniform random traffic at 10% load
(0.1 flits/terminal/cycle, 1-flit packets), and the 4x4 reference mesh near saturation (0.7). A flit-hop is
one flit crossing one router (the ideal level: one flit crossing one switch, injection and ejection
routers included), so the two rates count the same work.
"""

from __future__ import annotations

import time

from ..config.load import load_hardware
from ..noc.levels import make_level
from ..noc.traffic import Traffic
from ..resources import HWCONFIGS

__all__ = ["run", "drive"]

TARGET_FLIT_HOPS_PER_S = 4e5  # the reference C++ simulator's speed on the team's machine (issue 10)


def drive(level, traffic: Traffic, cycles: int) -> int:
    """Inject ``traffic`` for ``cycles`` and run ``level`` that far; returns the router flit-hops done."""
    topo = level.package.topology
    hops = 0
    for a, b, cyc, src, dst, size in traffic.blocks(0, cycles, 1000):
        level.inject_many(cyc.tolist(), src.tolist(), dst.tolist(), size.tolist(), None)
        level.run(b)
        for _created, _inj, _arr, flits, _tag in level.take_delivered():
            pass
    if level.name == "router":
        return level.fabric.traversals
    for link in level.net.links.values():  # ideal: every flit crossing a switch leaves it on a link
        if link.src < topo.n:
            hops += link.flits
    return hops


def _case(name: str, hw, pattern: str, rate: float, cycles: int) -> dict:
    n = hw.topology.n_chiplets
    rows, cols = int(hw.topology.rows), int(hw.topology.cols)
    out = {"case": name}
    for lv in ("router", "ideal"):
        level = make_level(lv, hw)
        traffic = Traffic(pattern, n, rate, rows=rows, cols=cols, seed=0)
        t0 = time.process_time()
        hops = drive(level, traffic, cycles)
        dt = time.process_time() - t0
        out[f"{lv}_flit_hops"] = hops
        out[f"{lv}_cpu_s"] = round(dt, 4)
        out[f"{lv}_flit_hops_per_cpu_s"] = hops / dt
    out["router_vs_ideal"] = out["router_flit_hops_per_cpu_s"] / out["ideal_flit_hops_per_cpu_s"]
    return out


def run(quick: bool = False) -> dict:
    ref = HWCONFIGS / "noc" / "reference-mesh4.yaml"
    mesh8 = load_hardware(ref, {"topology.rows": 8, "topology.cols": 8})
    mesh4 = load_hardware(ref)
    cycles = 3_000 if quick else 20_000
    cases = [
        _case("8x8 mesh uniform 0.1 flits/terminal/cycle (target)", mesh8, "uniform", 0.1, cycles),
        _case("4x4 reference mesh uniform 0.7", mesh4, "uniform", 0.7, cycles // 2),
    ]
    target = cases[0]["router_flit_hops_per_cpu_s"]
    return {
        "cases": cases,
        "target_router_flit_hops_per_cpu_s": TARGET_FLIT_HOPS_PER_S,
        "router_flit_hops_per_cpu_s": target,
        "meets_target": bool(target >= TARGET_FLIT_HOPS_PER_S),
    }
