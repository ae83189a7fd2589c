"""Simulation-speed benchmark: simulated flit-hops per second of the fast path against the reference
fidelity, each case run by both (and by the event engine at the fast fidelity, the previous fast path)
in one process, with identical results required.

Cases (each a field of ``cases``):

* ``link_stream_64kib``: one link direction, a Poisson stream of 64 KiB messages at 80% load. Fast: the
  stream engine's link recurrences (:func:`snapsim.stream.route_deliveries`); reference: the flit-by-flit
  network; event: the network with the message-aggregate link model.
* ``lm_ann_4`` / ``lm_snap_4``: the 32 x 4096 language model on the 2x2 UCIe-A package, batch 8 (dense
  activations of 64 KiB; SNAP spike frames of about 10 flits).
* ``lm_snap_2`` / ``lm_snap_16``: the SNAP spike-frame case split over 2 (1x2) and 16 (4x4) chiplets.

Every package case is a whole run (plan, payload, simulation, result): fast is ``simulate`` with the
stream engine, reference is ``simulate(fidelity="reference")``, event is ``simulate(engine="event")``.
Fast and event times are the best of a few repeats, the reference one run. The target case
(``lm_snap_1024``) is the 4-chiplet language model for 1,024 tokens in snap mode at batch 1, stream
engine against the event engine.
"""

from __future__ import annotations

import resource
import tracemalloc

import numpy as np
import simpy

from . import best_of
from ..config.load import load_hardware, load_workload
from ..network import Network
from ..package import Package
from ..resources import HWCONFIGS, WORKLOADS
from ..runner import simulate
from ..stream import route_deliveries

__all__ = ["run", "link_stream_case", "TARGET_FLIT_HOPS_PER_S", "TARGET_SPEEDUP", "TARGET_LM_SNAP_S"]

TARGET_FLIT_HOPS_PER_S = 1e7
TARGET_SPEEDUP = 50.0
TARGET_LM_SNAP_S = 0.020

_PACKAGES = HWCONFIGS / "packages"


def _poisson_sends(timing, messages: int, payload_bits: int, load: float, seed: int) -> np.ndarray:
    n = timing.flits(payload_bits)
    gaps = np.rint(np.random.default_rng(seed).exponential(n * timing.t_flit / load, size=messages)).astype(np.int64)
    return np.cumsum(gaps)


def link_stream_case(hw, fidelity: str, messages: int, payload_bits: int, load: float, seed: int = 0):
    """A Poisson stream of equal messages over one link direction at ``load`` of its flit bandwidth, through
    the event-driven network. Returns (flit_hops, completion ticks list)."""
    env = simpy.Environment()
    net = Network(env, hw, fidelity)
    sends = _poisson_sends(net.links[(0, 1)].timing, messages, payload_bits, load, seed)
    done: list = []

    def source():
        for t in sends:
            yield env.timeout(int(t) - env.now)
            done.append(net.send(0, 1, payload_bits))

    env.process(source())
    env.run()
    return sum(l.flits for l in net.links.values()), [m.done_tick for m in done]


def _stream_link_case(hw, messages: int, payload_bits: int, load: float, seed: int = 0):
    package = Package(hw)
    sends = _poisson_sends(package.timing[(0, 1)], messages, payload_bits, load, seed)
    done = route_deliveries(package, 0, 1, sends, np.full(messages, payload_bits))
    return messages * package.timing[(0, 1)].flits(payload_bits), done.tolist()


def _same(a, b, ignore=("engine", "engine_reason", "fidelity", "config_hash")) -> bool:
    da = {k: v for k, v in a.data.items() if k not in ignore}
    db = {k: v for k, v in b.data.items() if k not in ignore}
    return da == db and bool(np.array_equal(a.latencies_ns, b.latencies_ns))


def _package_case(package: str, mode: str, overrides: dict, repeats: int) -> dict:
    hw = load_hardware(_PACKAGES / package)
    wl = load_workload(WORKLOADS / "lm_32x4096.yaml", overrides)
    ref, ref_s = best_of(lambda: simulate(hw, wl, mode, fidelity="reference"), 1)
    event, event_s = best_of(lambda: simulate(hw, wl, mode, engine="event"), max(1, repeats // 2))
    fast, fast_s = best_of(lambda: simulate(hw, wl, mode, engine="stream"), repeats)
    hops = sum(l["flits"] for l in fast.data["links"])
    return _row(f"{package} lm-32x4096 {mode}, {overrides.get('partition.count', 4)} chiplets, batch "
                f"{wl.stream.batch}, {wl.stream.inferences} inferences", hops, ref_s, event_s, fast_s,
                _same(ref, fast) and _same(event, fast), fast.data["engine"])


def _row(label: str, hops: int, ref_s: float, event_s: float, fast_s: float, same: bool, engine: str) -> dict:
    return {
        "case": label,
        "flit_hops": int(hops),
        "reference_s": ref_s,
        "event_s": event_s,
        "fast_s": fast_s,
        "fast_engine": engine,
        "reference_flit_hops_per_s": hops / ref_s,
        "event_flit_hops_per_s": hops / event_s,
        "fast_flit_hops_per_s": hops / fast_s,
        "speedup": ref_s / fast_s,
        "speedup_over_event": event_s / fast_s,
        "identical": same,
        "meets_target": hops / fast_s >= TARGET_FLIT_HOPS_PER_S and ref_s / fast_s >= TARGET_SPEEDUP,
    }


def run(quick: bool = False) -> dict:
    repeats = 3 if quick else 5
    cases: dict[str, dict] = {}
    hw = load_hardware(_PACKAGES / "ucie-a-2x2.yaml")
    # 1. one link, a stream of 64 KiB messages (a batch of 8 bf16 4096-wide activations) at 80% load
    msgs = 100 if quick else 400
    bits = 8 * 4096 * 16
    (ref_hops, ref_done), ref_s = best_of(lambda: link_stream_case(hw, "reference", msgs, bits, 0.8), 1)
    (_h, ev_done), ev_s = best_of(lambda: link_stream_case(hw, "fast", msgs, bits, 0.8), max(1, repeats // 2))
    (hops, done), fast_s = best_of(lambda: _stream_link_case(hw, msgs, bits, 0.8), repeats)
    cases["link_stream_64kib"] = _row(f"one link, {msgs} messages of 64 KiB at 80% load", hops, ref_s, ev_s, fast_s,
                                      ref_done == done == ev_done and hops == ref_hops, "stream")
    # 2. the language model at batch 8: dense activations (ann) and spike frames (snap) on 2, 4, 16 chiplets
    n = 128 if quick else 512
    cases["lm_ann_4"] = _package_case("ucie-a-2x2.yaml", "ann", {"stream.inferences": n, "stream.batch": 8}, repeats)
    cases["lm_snap_2"] = _package_case("ucie-a-1x2.yaml", "snap", {"stream.inferences": 4 * n, "stream.batch": 8,
                                                                     "partition.count": 2}, repeats)
    cases["lm_snap_4"] = _package_case("ucie-a-2x2.yaml", "snap", {"stream.inferences": n, "stream.batch": 8},
                                       repeats)
    cases["lm_snap_16"] = _package_case("ucie-a-4x4.yaml", "snap", {"stream.inferences": n // 4, "stream.batch": 8,
                                                                      "partition.count": 16}, repeats)
    # 3. the target case: 4 chiplets, 32 x 4096 language model, 1,024 tokens, snap mode, batch 1
    wl = load_workload(WORKLOADS / "lm_32x4096.yaml", {"stream.inferences": 256 if quick else 1024})
    event, event_s = best_of(lambda: simulate(hw, wl, "snap", engine="event"), 1 if quick else 3)
    target, target_s = best_of(lambda: simulate(hw, wl, "snap", engine="stream"), 3 if quick else 7)
    tracemalloc.start()  # memory measured on a further, identical run (tracing slows Python several-fold)
    simulate(hw, wl, "snap", engine="stream")
    _cur, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows = list(cases.values())
    ref_total = sum(c["reference_s"] for c in rows)
    fast_total = sum(c["fast_s"] for c in rows)
    hops_total = sum(c["flit_hops"] for c in rows)
    return {
        "cases": cases,
        "timing": f"fast and event: best of {repeats} and {max(1, repeats // 2)} runs; reference: one run",
        "reference_flit_hops_per_s": hops_total / ref_total,
        "fast_flit_hops_per_s": hops_total / fast_total,
        "speedup": ref_total / fast_total,
        "slowest_case_fast_flit_hops_per_s": min(c["fast_flit_hops_per_s"] for c in rows),
        "smallest_case_speedup": min(c["speedup"] for c in rows),
        "target_flit_hops_per_s": TARGET_FLIT_HOPS_PER_S,
        "target_speedup": TARGET_SPEEDUP,
        "identical_timing": all(c["identical"] for c in rows),
        "all_cases_meet_target": all(c["meets_target"] for c in rows),
        "lm_snap_1024": {
            "case": f"ucie-a-2x2 lm-32x4096 snap, {target.data['inferences']} tokens, batch 1",
            "fast_s": target_s,
            "fast_engine": target.data["engine"],
            "event_s": event_s,
            "speedup_over_event": event_s / target_s,
            "identical": _same(event, target),
            "target_s": TARGET_LM_SNAP_S,
            "meets_target": target_s <= TARGET_LM_SNAP_S and _same(event, target),
            "peak_python_mib": peak / 2**20,
        },
        "process_max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
