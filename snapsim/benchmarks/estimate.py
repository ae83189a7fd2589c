"""Estimate benchmark: how close the cost estimate (:mod:`snapsim.estimate`) comes to measured runs.

For a set of shipped runs (both fidelities, every mode, one with a large batch), it prints the estimated and
the measured wall time of the simulation and their ratio. The estimate is meant to err high (ratio above
1) by a small factor; a ratio below 1 means a run could pass its wall-time limit, and the costs in
:data:`snapsim.estimate.COSTS` need measuring again. The measured time is the baseline, from the same run.
"""

from __future__ import annotations

import time

from ..estimate import NO_LIMITS
from ..resources import shipped

__all__ = ["run", "CASES"]

CASES = [
    # (package, workload, mode, fidelity, workload overrides)
    ("ucie-a-2x2", "lm_32x4096", "ann", "fast", {}),
    ("ucie-a-2x2", "lm_32x4096", "snn", "fast", {}),
    ("ucie-a-2x2", "lm_32x4096", "snap", "fast", {}),
    ("ucie-a-2x2", "lm_32x4096", "snap", "fast", {"stream.batch": 256}),
    ("ucie-a-2x2", "resnet18_imagenet", "snap", "reference", {}),
    ("simba-grs-6x6", "digits_snap", "snn", "reference", {}),
    ("ucie-a-4x4", "charlm_snap", "snap", "fast", {"boundary.encoding": "rle"}),
]


def run(quick: bool = False) -> dict:
    from ..runner import Prepared

    rows = []
    for hw, wl, mode, fidelity, over in CASES[:4] if quick else CASES:
        prep = Prepared.load(str(shipped(f"hwconfigs/packages/{hw}.yaml")), str(shipped(f"workloads/{wl}.yaml")),
                             limits=NO_LIMITS)
        est = prep.estimate(mode=mode, fidelity=fidelity, workload_overrides=over)
        t0 = time.perf_counter()
        prep.result(mode=mode, fidelity=fidelity, workload_overrides=over)
        wall = time.perf_counter() - t0
        rows.append({"case": f"{wl} on {hw}, {mode} {fidelity}" + (f" {over}" if over else ""),
                     "estimated_s": est.wall_s, "measured_s": wall, "ratio": est.wall_s / wall,
                     "events": est.events})
    ratios = [r["ratio"] for r in rows]
    return {"cases": rows, "ratio_min": min(ratios), "ratio_max": max(ratios)}
