"""Pareto benchmark: :func:`snapsim.pareto.pareto_mask` on random points, against a brute-force
all-pairs dominance check measured in the same run on a subset (and extrapolated as ``O(n^2)``).

The two must agree on the subset; the benchmark raises if they do not, so a fast figure can never
come from a wrong front.
"""

from __future__ import annotations


import numpy as np

from . import best_of
from ..pareto import pareto_mask

__all__ = ["run", "brute_force_mask"]


def brute_force_mask(values: np.ndarray, directions: list[str]) -> np.ndarray:
    """All-pairs dominance check, vectorised per row chunk: ``O(n^2 k)`` work, the baseline."""
    sign = np.array([1.0 if d == "min" else -1.0 for d in directions])
    v = np.asarray(values, dtype=np.float64) * sign
    valid = ~np.isnan(v).any(axis=1)
    w = v[valid]
    dominated = np.zeros(len(w), dtype=bool)
    step = 256
    cols = [np.ascontiguousarray(w[:, j])[None, :] for j in range(w.shape[1])]
    for s in range(0, len(w), step):
        q = w[s : s + step]
        le = cols[0] <= q[:, 0, None]  # le[i, j]: point j is no worse than point s+i in objective 0
        lt = cols[0] < q[:, 0, None]
        for j in range(1, w.shape[1]):
            le &= cols[j] <= q[:, j, None]
            lt |= cols[j] < q[:, j, None]
        dominated[s : s + step] = (le & lt).any(axis=1)
    mask = np.zeros(len(v), dtype=bool)
    mask[np.flatnonzero(valid)[~dominated]] = True
    return mask


def run(quick: bool = False) -> dict:
    rng = np.random.default_rng(20240611)
    n = 100_000 if quick else 1_000_000
    n_base = 2_000 if quick else 5_000
    n3 = 20_000 if quick else 200_000
    dirs2 = ["min", "min"]

    # Latency/energy-like data: log-normal, anti-correlated, with a coarse grid to create ties.
    lat = rng.lognormal(0.0, 0.5, n)
    energy = np.round(rng.lognormal(0.0, 0.5, n) / lat**0.5, 3)
    pts = np.column_stack([lat, energy])
    mask, secs = best_of(lambda: pareto_mask(pts, dirs2), 1 if quick else 3)

    sub = pts[:n_base]
    base_mask, base_secs = best_of(lambda: brute_force_mask(sub, dirs2), 1)
    if not np.array_equal(base_mask, pareto_mask(sub, dirs2)):
        raise RuntimeError("pareto_mask disagrees with the brute-force baseline")

    pts3 = rng.random((n3, 3))
    dirs3 = ["min", "min", "max"]
    mask3, secs3 = best_of(lambda: pareto_mask(pts3, dirs3), 1)
    base3 = brute_force_mask(pts3[:n_base // 2], dirs3)
    if not np.array_equal(base3, pareto_mask(pts3[:n_base // 2], dirs3)):
        raise RuntimeError("pareto_mask (3 objectives) disagrees with the brute-force baseline")

    baseline_full_secs = base_secs * (n / n_base) ** 2
    return {
        "pareto_points": n,
        "pareto_objectives": 2,
        "pareto_front_points": int(mask.sum()),
        "pareto_seconds": secs,
        "pareto_points_per_s": n / secs,
        "baseline_method": f"brute-force all pairs (numpy), measured on {n_base} points, O(n^2) extrapolated",
        "baseline_points": n_base,
        "baseline_seconds": base_secs,
        "baseline_points_per_s": n_base / base_secs,
        "baseline_seconds_extrapolated": baseline_full_secs,
        "speedup_vs_baseline": baseline_full_secs / secs,
        "pareto3_points": n3,
        "pareto3_front_points": int(mask3.sum()),
        "pareto3_seconds": secs3,
        "pareto3_points_per_s": n3 / secs3,
    }
