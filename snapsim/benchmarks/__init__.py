"""Benchmarks: each module exposes run(quick=False) -> dict with its figures and a same-run baseline."""

from __future__ import annotations

import time
from typing import Any, Callable

__all__ = ["best_of"]


def best_of(fn: Callable[..., Any], repeats: int, clock: Callable[[], float] = time.perf_counter,
            setup: Callable[[], Any] | None = None) -> tuple[Any, float]:
    """``fn()``'s result and its best time (s, by ``clock``: wall time unless given) over ``repeats`` calls:
    the least disturbed run on a machine shared with other work. With ``setup``, each call is
    ``fn(setup())`` and only ``fn`` is timed."""
    best, out = float("inf"), None
    for _ in range(repeats):
        arg = setup() if setup is not None else None
        t0 = clock()
        out = fn(arg) if setup is not None else fn()
        best = min(best, clock() - t0)
    return out, best
