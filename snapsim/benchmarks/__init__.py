"""Benchmarks: each module exposes run(quick=False) -> dict with its figures and a same-run baseline."""

from __future__ import annotations

import time
from typing import Any, Callable

__all__ = ["best_of"]


def best_of(fn: Callable[[], Any], repeats: int) -> tuple[Any, float]:
    """``fn()``'s result and its best wall time (s) over ``repeats`` calls: the least disturbed run on a
    machine shared with other work."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best
