"""Simulated time is an integer number of ticks; one tick is one picosecond.

Conversions happen only at the edges (config in, results out). Every conversion states how it rounds.
"""

from __future__ import annotations

import math

__all__ = ["TICKS_PER_NS", "TICKS_PER_S", "MAX_TICKS", "ns_to_ticks", "ticks_to_ns", "cycles_to_ticks", "ceil_ticks"]

TICKS_PER_NS = 1000
TICKS_PER_S = 10**12
MAX_TICKS = 2**62
"""The latest tick a run may reach (about 53 days of simulated time): ticks are 64-bit integers, and sums of
two of them must not overflow. A longer time is refused (:class:`snapsim.errors.EstimateError`)."""


def _ticks(x: float, what: str) -> int:
    """``x`` ticks as an int, or EstimateError when it is not a finite time within :data:`MAX_TICKS`."""
    if not 0 <= x <= MAX_TICKS:  # also catches NaN
        from .errors import EstimateError

        shown = f"{x / TICKS_PER_NS:.3g} ns" if x == x else "an undefined time (NaN)"
        raise EstimateError(f"{what} of {shown} is beyond snapsim's clock (at most 2^62 ps, about 53 days; "
                            "check the clocks, rates and sizes of the configs)")
    return int(x)


def ns_to_ticks(ns: float, rounding: str = "nearest") -> int:
    """Nanoseconds to ticks. ``rounding`` is ``nearest`` (configured latencies, exact to 1 ps) or ``ceil``."""
    x = ns * TICKS_PER_NS
    if rounding == "ceil":
        return _ticks(math.ceil(x - 1e-9) if math.isfinite(x) else x, "a time")
    if rounding == "nearest":
        return _ticks(round(x) if math.isfinite(x) else x, "a time")
    raise ValueError(f"unknown rounding {rounding!r}")


def ceil_ticks(ticks: float, what: str = "a time") -> int:
    """A tick count computed elsewhere (a transfer's bits over a bandwidth), rounded up to a whole tick; beyond
    :data:`MAX_TICKS` (or not finite) it is an EstimateError naming ``what``."""
    return _ticks(math.ceil(ticks - 1e-9) if math.isfinite(ticks) else ticks, what)


def ticks_to_ns(ticks: float) -> float:
    return ticks / TICKS_PER_NS


def cycles_to_ticks(cycles: float, clock_ghz: float) -> int:
    """Whole cycles of a clock to ticks, rounded up to the next tick (a cycle is never shortened)."""
    try:
        x = cycles * TICKS_PER_NS / clock_ghz
    except OverflowError:  # an integer count of cycles beyond a float
        x = math.inf
    return _ticks(math.ceil(x - 1e-9) if math.isfinite(x) else x, f"{_g(cycles)} cycles at {clock_ghz:g} GHz")


def _g(x: float) -> str:
    try:
        return f"{float(x):.3g}"
    except OverflowError:
        return f"~1e{len(str(int(x))) - 1}"
