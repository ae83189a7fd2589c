"""Sweep benchmark: random sweeps of the shipped language model (1,024 tokens, 4 chiplets) over mode,
link rate, link energy per bit and boundary firing rate, on 2 local worker processes.

Sizes: 100 and 1,000 points (24 and 100 with ``--quick``), and 10,000 points (the target: under 60 s on 2
cores; not with ``--quick``). Baseline, measured in the same run: the same kind of sweep through the event
engine (``PreparedEvaluator(engine="event")``, the previous path): the smallest sweep is run in full, and
the larger ones are extrapolated from its rate (points per second), which the JSON says.

``ideal_points_per_s = workers / single_point_s`` (a point's time measured inline);
``parallel_efficiency`` is the measured rate over that ideal. ``worker_busy_fraction`` is the share of
workers x wall time spent inside points (the rest is pool start-up, pickling, Parquet parts).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from ..resources import HWCONFIGS, WORKLOADS

__all__ = ["run", "SWEEP_TEMPLATE", "TARGET_10K_S"]

_HARDWARE = HWCONFIGS / "packages" / "ucie-a-2x2.yaml"
_WORKLOAD = WORKLOADS / "lm_32x4096.yaml"
TARGET_10K_S = 60.0

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


def _sweep(tmp: Path, samples: int, workers: int, engine: str) -> dict:
    from ..sweep import PreparedEvaluator, load_results, load_sweep, run_sweep

    sweep_file = tmp / f"bench-{samples}-{engine}.yaml"
    sweep_file.write_text(SWEEP_TEMPLATE.format(hardware=_HARDWARE, workload=_WORKLOAD, samples=samples))
    spec = load_sweep(sweep_file)
    evaluator = PreparedEvaluator.from_spec(spec)
    evaluator.engine = engine
    out = tmp / f"out-{samples}-{engine}.parquet"
    t0 = time.perf_counter()
    summary = run_sweep(spec, out, workers=workers, evaluate=evaluator, progress=False)
    wall = time.perf_counter() - t0
    table = load_results(out)
    engines = sorted(set(table["engine"].dropna())) if "engine" in table else []
    return {"points": summary.total, "failed_points": summary.failed, "rows_written": len(table),
            "wall_s": wall, "points_per_s": summary.total / wall, "engines": engines,
            "worker_busy_fraction": float(table["elapsed_s"].sum()) / (workers * wall)}


def _single_point_s(tmp: Path, engine: str, points: int) -> float:
    from ..sweep import PreparedEvaluator, load_sweep

    sweep_file = tmp / f"single-{engine}.yaml"
    sweep_file.write_text(SWEEP_TEMPLATE.format(hardware=_HARDWARE, workload=_WORKLOAD, samples=points))
    spec = load_sweep(sweep_file)
    evaluator = PreparedEvaluator.from_spec(spec)
    evaluator.engine = engine
    run_points = spec.run_points()
    evaluator(run_points[0])  # warm: imports, caches
    t0 = time.perf_counter()
    for p in run_points:
        evaluator(p)
    return (time.perf_counter() - t0) / len(run_points)


def run(quick: bool = False) -> dict:
    workers = 2
    sizes = (24, 100) if quick else (100, 1000, 10000)
    with tempfile.TemporaryDirectory(prefix="snapsim-bench-sweep-") as tmp_name:
        tmp = Path(tmp_name)
        single = _single_point_s(tmp, "auto", 12 if quick else 30)
        single_event = _single_point_s(tmp, "event", 4 if quick else 8)
        baseline = _sweep(tmp, sizes[0], workers, "event")
        out: dict = {
            "workers": workers,
            "single_point_s": single,
            "single_point_event_s": single_event,
            "ideal_points_per_s": workers / single,
            "baseline": dict(baseline, engine="event",
                             method=f"the {sizes[0]}-point sweep run through the event engine; larger sizes "
                                    "extrapolated from its points per second"),
        }
        for n in sizes:
            res = _sweep(tmp, n, workers, "auto")
            base_s = n / baseline["points_per_s"]
            res.update(baseline_wall_s=base_s, baseline_measured=n == sizes[0], speedup=base_s / res["wall_s"],
                       parallel_efficiency=res["points_per_s"] / out["ideal_points_per_s"])
            if n == 10000:
                res.update(target_s=TARGET_10K_S, meets_target=res["wall_s"] < TARGET_10K_S and not res["failed_points"])
            out[f"sweep_{n}"] = res
    return out
