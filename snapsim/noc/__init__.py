"""Network-on-chip experiments: synthetic traffic (:mod:`.traffic`), the measurement methodology
(:mod:`.methodology`), the two levels of the interconnect behind one interface (:mod:`.levels`) and the
closed forms beside them (:mod:`.bounds`).

``curve_point(hw, rate, ...)`` evaluates one point of a latency/throughput curve (what ``snapsim noc``
prints for each rate, and what a sweep script calls per point); ``analytical(hw, ...)`` gives the
closed forms of the same experiment.
"""

from __future__ import annotations

from .. import __version__
from ..config.hardware import HardwareConfig
from .bounds import md1_latency, pair_weights, throughput_bound, zero_load_mean
from .levels import LEVELS, make_level
from .methodology import BOOKSIM, Methodology, run_point
from .traffic import PATTERNS, PROCESSES, PacketSizes, Traffic, parse_sizes, read_trace

__all__ = ["curve_point", "analytical", "Methodology", "BOOKSIM", "PATTERNS", "PROCESSES", "LEVELS", "PacketSizes",
           "parse_sizes", "read_trace"]


def _grid(hw: HardwareConfig) -> tuple[int, int | None, int | None]:
    t = hw.topology
    if t.kind in ("mesh2d", "torus2d"):
        return t.n_chiplets, int(t.rows), int(t.cols)
    return t.n_chiplets, None, None


def _traffic(hw: HardwareConfig, pattern: str, rate_flits: float, sizes: PacketSizes, process: str, seed: int,
             trace=None, **kw) -> Traffic:
    n, rows, cols = _grid(hw)
    return Traffic(pattern, n, rate_flits / sizes.mean, sizes, process, rows, cols, seed, trace=trace, **kw)


def curve_point(hw: HardwareConfig, rate: float, *, pattern: str = "uniform", sizes: PacketSizes = PacketSizes(),
                level: str = "router", process: str = "bernoulli", seed: int = 0, method: Methodology = BOOKSIM,
                trace=None, **traffic_kw) -> dict:
    """One offered load (``rate`` flits per terminal per cycle): the methodology's metrics, with the
    offered load; an unstable point's accepted rate comes from a throughput run."""
    make_traffic = lambda: _traffic(hw, pattern, rate, sizes, process, seed, trace, **traffic_kw)  # noqa: E731
    make = lambda: make_level(level, hw)  # noqa: E731
    point = run_point(make, make_traffic, method)
    if not point["stable"] or "accepted_flits_per_node_cycle" not in point:
        tp = run_point(make, make_traffic, method, measure_latency=False)
        point["accepted_flits_per_node_cycle"] = tp.get("accepted_flits_per_node_cycle")
        point["accepted_flits_per_node_cycle_min"] = tp.get("accepted_flits_per_node_cycle_min")
        point["accepted_from"] = "throughput run"
    offered = make_traffic().offered_flits
    out = {"offered_flits_per_node_cycle": offered,
           "injection_rate_packets_per_node_cycle": offered / sizes.mean if process != "trace" else None}
    for key in ("packet_latency_cycles_mean", "network_latency_cycles_mean"):
        out[key] = point.pop(key, None)
    out["accepted_flits_per_node_cycle"] = point.pop("accepted_flits_per_node_cycle", None)
    out["stable"] = point.pop("stable")
    out.update(point)
    return out


def analytical(hw: HardwareConfig, *, pattern: str = "uniform", sizes: PacketSizes = PacketSizes(),
               hotspots=(0,), hotspot_fraction: float = 0.1) -> dict:
    """Closed forms of the experiment: mean zero-load latency, the throughput bound, and an M/D/1
    latency estimate as a function of the offered load (``estimate(rate)``)."""
    n, rows, cols = _grid(hw)
    lvl = make_level("router", hw)
    w = pair_weights(pattern, n, rows, cols, hotspots, hotspot_fraction)
    bound, why = throughput_bound(lvl.fabric, w)
    return {
        "zero_load_latency_cycles": zero_load_mean(lvl, w, sizes.mean),
        "throughput_bound_flits_per_node_cycle": bound,
        "throughput_bound_from": why,
        "estimate": lambda rate: md1_latency(lvl.fabric, lvl, w, sizes.mean, rate),
        "snapsim_version": __version__,
    }
