"""Simulated time is an integer number of ticks; one tick is one picosecond.

Conversions happen only at the edges (config in, results out). Every conversion states how it rounds.
"""

from __future__ import annotations

import math

__all__ = ["TICKS_PER_NS", "TICKS_PER_S", "ns_to_ticks", "ticks_to_ns", "cycles_to_ticks"]

TICKS_PER_NS = 1000
TICKS_PER_S = 10**12


def ns_to_ticks(ns: float, rounding: str = "nearest") -> int:
    """Nanoseconds to ticks. ``rounding`` is ``nearest`` (configured latencies, exact to 1 ps) or ``ceil``."""
    x = ns * TICKS_PER_NS
    if rounding == "ceil":
        return int(math.ceil(x - 1e-9))
    if rounding == "nearest":
        return int(round(x))
    raise ValueError(f"unknown rounding {rounding!r}")


def ticks_to_ns(ticks: float) -> float:
    return ticks / TICKS_PER_NS


def cycles_to_ticks(cycles: float, clock_ghz: float) -> int:
    """Whole cycles of a clock to ticks, rounded up to the next tick (a cycle is never shortened)."""
    return int(math.ceil(cycles * TICKS_PER_NS / clock_ghz - 1e-9))
