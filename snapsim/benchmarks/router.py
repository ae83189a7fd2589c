"""Router-level benchmark: router flit-hops simulated per second of CPU (one core, ``time.process_time``),
with the ideal level on the same traffic in the same run as the baseline.

Cases: the issue's target, an 8x8 mesh of the reference routers under uniform random traffic at 10% load
(0.1 flits/terminal/cycle, 1-flit packets), and the 4x4 reference mesh near saturation (0.7). A flit-hop is
one flit crossing one router (the ideal level: one flit crossing one switch, injection and ejection
routers included), so the two rates count the same work. Each level's time is its best of a few runs (one
with ``--quick``), each on a fresh level, in CPU seconds of this process.

The router level runs compiled where the install could build it (:mod:`snapsim.native`); the report says
which copy ran (``router_implementation``) and, when compiled, measures the target case again on the Python
source in a second process (``SNAPSIM_PURE_PYTHON=1``), a second baseline from the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from . import best_of
from ..chiplet import router as router_module
from ..config.load import load_hardware
from ..native import PURE_ENV, implementation
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


def _case(name: str, hw, pattern: str, rate: float, cycles: int, repeats: int,
          levels=("router", "ideal")) -> dict:
    n = hw.topology.n_chiplets
    rows, cols = int(hw.topology.rows), int(hw.topology.cols)
    out = {"case": name}
    for lv in levels:
        def fresh(lv=lv):
            return make_level(lv, hw), Traffic(pattern, n, rate, rows=rows, cols=cols, seed=0)

        hops, dt = best_of(lambda run: drive(run[0], run[1], cycles), repeats, time.process_time, fresh)
        out[f"{lv}_flit_hops"] = hops
        out[f"{lv}_cpu_s"] = round(dt, 4)
        out[f"{lv}_flit_hops_per_cpu_s"] = hops / dt
    if "ideal" in levels:
        out["router_vs_ideal"] = out["router_flit_hops_per_cpu_s"] / out["ideal_flit_hops_per_cpu_s"]
    return out


TARGET_CASE = "8x8 mesh uniform 0.1 flits/terminal/cycle (target)"


def _target(cycles: int, repeats: int, levels=("router", "ideal")) -> dict:
    mesh8 = load_hardware(HWCONFIGS / "noc" / "reference-mesh4.yaml", {"topology.rows": 8, "topology.cols": 8})
    return _case(TARGET_CASE, mesh8, "uniform", 0.1, cycles, repeats, levels)


def _python_source(cycles: int, repeats: int) -> dict:
    """The target case's router level on the Python source, in a second process (this one runs the compiled
    copy): ``python -m snapsim.benchmarks.router CYCLES REPEATS`` with ``SNAPSIM_PURE_PYTHON=1``."""
    env = dict(os.environ, **{PURE_ENV: "1"})
    proc = subprocess.run([sys.executable, "-m", "snapsim.benchmarks.router", str(cycles), str(repeats)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def run(quick: bool = False) -> dict:
    mesh4 = load_hardware(HWCONFIGS / "noc" / "reference-mesh4.yaml")
    cycles, repeats = (3_000, 1) if quick else (20_000, 3)
    cases = [_target(cycles, repeats),
             _case("4x4 reference mesh uniform 0.7", mesh4, "uniform", 0.7, cycles // 2, repeats)]
    target = cases[0]["router_flit_hops_per_cpu_s"]
    out = {"router_implementation": implementation(router_module),
           "timing": f"CPU time of this process, best of {repeats} run(s) per level", "cases": cases}
    if out["router_implementation"] == "compiled":
        py = _python_source(cycles, repeats)
        out["python_source"] = {
            "case": TARGET_CASE,
            "router_implementation": py["router_implementation"],
            "router_flit_hops": py["router_flit_hops"],
            "router_cpu_s": py["router_cpu_s"],
            "router_flit_hops_per_cpu_s": py["router_flit_hops_per_cpu_s"],
            "compiled_vs_python": target / py["router_flit_hops_per_cpu_s"],
        }
    out.update({
        "target_router_flit_hops_per_cpu_s": TARGET_FLIT_HOPS_PER_S,
        "router_flit_hops_per_cpu_s": target,
        "meets_target": bool(target >= TARGET_FLIT_HOPS_PER_S),
    })
    return out


if __name__ == "__main__":  # the Python-source measurement of run(): the target case's router level, as JSON
    res = _target(int(sys.argv[1]), int(sys.argv[2]), levels=("router",))
    res["router_implementation"] = implementation(router_module)
    print(json.dumps(res))
