"""Trace benchmark: spike statistics over packed data, and replay memory against trace length.

1. Statistics (nnz per timestep, as ``trace stats`` and the writer compute them) over bit-packed
   spikes with a vectorised popcount, in MB/s of packed data; the same-run baseline unpacks the bits
   and sums them. Target: >= 500 MB/s on one core.
2. Replay memory: the same replay (every message of every inference through
   :class:`~snapsim.trace.replay.TracePayload`) over a trace of a few shards and over one 10x longer;
   peak traced memory (tracemalloc) must not grow with the length.
"""

from __future__ import annotations

import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from ..encoding import Aer, Rle
from ..trace import TracePayload, TraceWriter, open_trace
from ..trace.bitpack import pack_spikes, popcount_lut
from ..trace.stats import SpikeStats

__all__ = ["run"]


def _best_rate(fn, nbytes: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return nbytes / best / 1e6


def _stats_throughput(quick: bool) -> dict:
    rng = np.random.default_rng(0)
    T, N = 8, 1024
    B = 1024 if quick else 4096
    packed = pack_spikes(rng.random((T, B, N), dtype=np.float32) < 0.1)
    nbytes = packed.nbytes
    repeats = 3 if quick else 5

    def popcount_stats():
        s = SpikeStats(T, N)
        s.update_stored(packed)
        return s.nnz_per_timestep

    def lut_stats():
        return popcount_lut(packed).sum(axis=1)

    def unpack_stats():
        return np.unpackbits(packed, axis=-1, bitorder="little").sum(axis=-1, dtype=np.int64).sum(axis=1)

    same = bool((popcount_stats() == unpack_stats()).all() and (lut_stats() == unpack_stats()).all())
    return {
        "packed_mb": nbytes / 1e6,
        "stats_popcount_mb_per_s": _best_rate(popcount_stats, nbytes, repeats),
        "stats_lut_mb_per_s": _best_rate(lut_stats, nbytes, repeats),
        "baseline_unpack_sum_mb_per_s": _best_rate(unpack_stats, nbytes, repeats),
        "target_mb_per_s": 500.0,
        "identical_counts": same,
    }


def _write(path: Path, shards: int, shard_samples: int, T: int, N: int) -> None:
    rng = np.random.default_rng(1)
    with TraceWriter(path, model="bench", partitions=["die0", "die1"], timesteps=T,
                     shard_samples=shard_samples) as w:
        w.add_boundary("a->b", src="die0", dst=["die1"], kind="spike", features=[N])
        for _ in range(shards):
            w.append("a->b", rng.random((T, shard_samples, N), dtype=np.float32) < 0.05)


def _replay_peak(path: Path, batch: int) -> tuple[int, int, float]:
    tr = open_trace(path)
    inferences = tr.n_samples // batch
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    # aer (popcount tables), rle (positions, unpacked one timestep at a time) and spike counts
    payload = TracePayload(tr, ["a->b", "a->b"], [Aer(), Rle(count_bits=4)], batch=batch)
    total = 0
    for i in range(inferences):
        for t in range(tr.timesteps):
            total += payload.message_bits(0, i, t) + payload.message_bits(1, i, t)
            total += payload.message_spikes(0, i, t)
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak, total, elapsed


def _replay_memory(quick: bool) -> dict:
    T, N = 8, 1024
    shard_samples = 128 if quick else 512
    working = 3  # shards in the small trace
    batch = 32
    with tempfile.TemporaryDirectory(prefix="snapsim-bench-trace-") as tmp:
        small, large = Path(tmp) / "x1.snaptrace", Path(tmp) / "x10.snaptrace"
        _write(small, working, shard_samples, T, N)
        _write(large, 10 * working, shard_samples, T, N)
        peak1, _, s1 = _replay_peak(small, batch)
        peak10, _, s10 = _replay_peak(large, batch)
        shard_mb = sum(f.stat().st_size for f in large.glob("tensors-*")) / 1e6
    return {
        "replay_trace_mb_1x": shard_mb / 10,
        "replay_trace_mb_10x": shard_mb,
        "replay_peak_kib_1x": peak1 / 1024,
        "replay_peak_kib_10x": peak10 / 1024,
        "replay_peak_growth_10x_over_1x": peak10 / peak1,
        "replay_s_1x": s1,
        "replay_s_10x": s10,
        "replay_packed_mb_per_s_10x": shard_mb / s10,
    }


def _replay_cost(quick: bool) -> dict:
    """Wall time of a run replaying a shipped trace against the same run with the statistical payload
    model, both in the same process (median of repeats, trace opened and tables built beforehand, as in
    a sweep)."""
    import statistics

    from ..resources import HWCONFIGS, WORKLOADS
    from ..runner import Prepared, simulate

    reps = 3 if quick else 7
    out: dict = {}
    worst = 0.0
    for name in ("digits_snap", "charlm_snap"):
        prep = Prepared.load(str(HWCONFIGS / "packages" / "ucie-a-2x2.yaml"), str(WORKLOADS / f"{name}.yaml"),
                             str(WORKLOADS / "traces" / f"{name}_l2.snaptrace"))
        for mode in ("ann", "snn", "snap"):
            prep.result(mode=mode)  # warm: open the trace, build its tables
            hw, wl = prep.hardware(), prep.workload()
            t_trace, t_stat = [], []
            for _ in range(reps):
                t0 = time.perf_counter()
                prep.result(mode=mode)
                t_trace.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                simulate(hw, wl, mode)
                t_stat.append(time.perf_counter() - t0)
            ratio = statistics.median(t_trace) / statistics.median(t_stat)
            out[f"replay_cost_ratio_{name}_{mode}"] = ratio
            worst = max(worst, ratio)
    out["replay_cost_ratio_worst"] = worst
    out["replay_cost_target_ratio"] = 1.5
    return out


def run(quick: bool = False) -> dict:
    out = _stats_throughput(quick)
    out.update(_replay_cost(quick))
    out.update(_replay_memory(quick))
    out["stats_speedup_over_baseline"] = out["stats_popcount_mb_per_s"] / out["baseline_unpack_sum_mb_per_s"]
    out["meets_target"] = out["stats_popcount_mb_per_s"] >= out["target_mb_per_s"]
    return out
