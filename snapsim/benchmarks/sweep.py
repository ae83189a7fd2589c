"""Sweep benchmark: points per second of a random sweep of the shipped language workload on 2 local
worker processes, against the single-point time measured inline in the same run.

``ideal_points_per_s = workers / single_point_s``; ``parallel_efficiency`` is the measured rate over
that ideal. It charges the sweep machinery (pool start-up, pickling, Parquet parts, consolidation) but
also any slowdown of the workers themselves (cores shared with other load); ``worker_busy_fraction``
separates the two: the share of workers x wall time spent inside points.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from ..resources import HWCONFIGS, WORKLOADS

__all__ = ["run", "SWEEP_TEMPLATE"]

_HARDWARE = HWCONFIGS / "packages" / "ucie-a-2x2.yaml"
_WORKLOAD = WORKLOADS / "lm_32x4096.yaml"

SWEEP_TEMPLATE = """\
kind: sweep
name: bench-lm-random
hardware: {hardware}
workload: {workload}
seed: 0
fidelity: fast
combine: random
samples: {samples}
axes:
  mode: [ann, snn, snap]
  link.rate_gtps: {{range: [8, 32], integer: true}}
  link.energy_pj_per_bit: {{range: [0.1, 2.0], scale: log}}
  workload.boundary.firing_rate: {{range: [0.01, 0.2], scale: log}}
"""


def run(quick: bool = False) -> dict:
    from ..sweep import PreparedEvaluator, load_results, load_sweep, run_sweep

    samples = 24 if quick else 1000
    single_runs = 4 if quick else 12
    workers = 2
    with tempfile.TemporaryDirectory(prefix="snapsim-bench-sweep-") as tmp:
        sweep_file = Path(tmp) / "bench.yaml"
        sweep_file.write_text(SWEEP_TEMPLATE.format(hardware=_HARDWARE, workload=_WORKLOAD, samples=samples))
        spec = load_sweep(sweep_file)

        # Baseline: the same kind of points, one after another in this process. (Raises a SnapsimError
        # if the simulator core is missing from the build.)
        evaluator = PreparedEvaluator.from_spec(spec)
        points = spec.run_points()[:single_runs]
        t0 = time.perf_counter()
        for p in points:
            evaluator(p)
        single_s = (time.perf_counter() - t0) / len(points)

        t0 = time.perf_counter()
        summary = run_sweep(spec, Path(tmp) / "out.parquet", workers=workers, progress=False)
        wall_s = time.perf_counter() - t0
        table = load_results(Path(tmp) / "out.parquet")

    rate = summary.total / wall_s
    ideal = workers / single_s
    return {
        "points": summary.total,
        "workers": workers,
        "failed_points": summary.failed,
        "rows_written": len(table),
        "sweep_wall_s": round(wall_s, 3),
        # time the workers spent inside points over workers x wall: 1.0 means no sweep overhead at all
        "worker_busy_fraction": float(table["elapsed_s"].sum()) / (workers * wall_s),
        "points_per_s": rate,
        "single_point_s": single_s,
        "ideal_points_per_s": ideal,
        "parallel_efficiency": rate / ideal,
    }
