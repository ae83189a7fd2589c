"""Link-model benchmark: the same link and package cases in the reference (flit-per-event) and fast
(message-aggregate) fidelities, in one process, reporting simulated flit-hops per second of each.

Both fidelities must also produce identical timing on every case; the benchmark checks that too, so a
fast number can never come from a wrong model.
"""

from __future__ import annotations

import resource
import time
import tracemalloc

import numpy as np
import simpy

from ..config.load import load_hardware, load_workload
from ..engine import Simulation
from ..network import Network
from ..resources import HWCONFIGS, WORKLOADS

__all__ = ["run", "link_stream_case"]


def link_stream_case(hw, fidelity: str, messages: int, payload_bits: int, load: float, seed: int = 0):
    """A Poisson stream of equal messages over one link direction at ``load`` of its flit bandwidth.

    Returns (flit_hops, completion ticks list).
    """
    env = simpy.Environment()
    net = Network(env, hw, fidelity)
    link = net.links[(0, 1)]
    n = link.timing.flits(payload_bits)
    mean_gap = n * link.timing.t_flit / load
    gaps = np.rint(np.random.default_rng(seed).exponential(mean_gap, size=messages)).astype(np.int64)
    done: list = []

    def source():
        for g in gaps:
            yield env.timeout(int(g))
            done.append(net.send(0, 1, payload_bits))

    env.process(source())
    env.run()
    return sum(l.flits for l in net.links.values()), [m.done_tick for m in done]


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run(quick: bool = False) -> dict:
    hw = load_hardware(HWCONFIGS / "packages" / "ucie-a-2x2.yaml")
    scale = 0.25 if quick else 1.0
    cases = []
    # 1. one link, a stream of 64 KiB messages (a batch of 8 bf16 4096-wide activations) at 80% load
    msgs = max(20, int(400 * scale))
    (ref_hops, ref_done), ref_s = _timed(lambda: link_stream_case(hw, "reference", msgs, 8 * 4096 * 16, 0.8))
    (fast_hops, fast_done), fast_s = _timed(lambda: link_stream_case(hw, "fast", msgs, 8 * 4096 * 16, 0.8))
    cases.append(("link stream 64KiB msgs @80%", ref_hops, ref_s, fast_hops, fast_s, ref_done == fast_done))
    # 2. the 4-chiplet package running the language workload, 8 tokens per message, ann and snap
    for mode in ("ann", "snap"):
        wl = load_workload(
            WORKLOADS / "lm_32x4096.yaml",
            {"stream.inferences": max(16, int(128 * scale)), "stream.batch": 8},
        )
        r_ref, ref_s = _timed(lambda: Simulation.build(hw, wl, mode, seed=0, fidelity="reference").run())
        r_fast, fast_s = _timed(lambda: Simulation.build(hw, wl, mode, seed=0, fidelity="fast").run())
        hops_ref = sum(l["flits"] for l in r_ref.data["links"])
        hops_fast = sum(l["flits"] for l in r_fast.data["links"])
        same = bool((r_ref.latencies_ns == r_fast.latencies_ns).all()) and (
            r_ref.data["energy_pj_per_inf"] == r_fast.data["energy_pj_per_inf"]
        )
        cases.append((f"package lm-32x4096 {mode} batch 8", hops_ref, ref_s, hops_fast, fast_s, same))
    # 3. the target case: 4 chiplets, 32 x 4096 language model, 1,024 tokens, snap mode, fast fidelity
    wl = load_workload(WORKLOADS / "lm_32x4096.yaml", {"stream.inferences": 256 if quick else 1024})
    target, target_s = _timed(lambda: Simulation.build(hw, wl, "snap", seed=0, fidelity="fast").run())
    tracemalloc.start()  # memory measured on a second, identical run (tracing slows Python several-fold)
    Simulation.build(hw, wl, "snap", seed=0, fidelity="fast").run()
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    ref_rate = sum(c[1] for c in cases) / sum(c[2] for c in cases)
    fast_rate = sum(c[3] for c in cases) / sum(c[4] for c in cases)
    return {
        "cases": [
            {
                "case": c[0],
                "flit_hops": c[1],
                "reference_s": round(c[2], 4),
                "fast_s": round(c[4], 4),
                "reference_flit_hops_per_s": c[1] / c[2],
                "fast_flit_hops_per_s": c[3] / c[4],
                "speedup": (c[3] / c[4]) / (c[1] / c[2]),
                "identical_timing": c[5],
            }
            for c in cases
        ],
        "reference_flit_hops_per_s": ref_rate,
        "fast_flit_hops_per_s": fast_rate,
        "speedup": fast_rate / ref_rate,
        "identical_timing": all(c[5] for c in cases),
        "lm_snap_tokens": target.data["inferences"],
        "lm_snap_wall_s": target_s,
        "lm_snap_peak_python_mib": peak / 2**20,
        "process_max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
