"""Closed forms of a synthetic-traffic experiment: the traffic matrix of a pattern, zero-load latency,
channel loads and the throughput bound, and an M/D/1 latency estimate between them.

* Zero-load latency: the router's closed form (:func:`snapsim.chiplet.router.zero_load_cycles`) averaged
  over the pattern's (source, destination) pairs and the mean packet size; exact on average.
* Channel-load bound: with every terminal injecting ``lam`` flits per cycle, a channel ``c`` carries
  ``lam * gamma_c`` flits per cycle, ``gamma_c`` the sum of the pair weights of the routes that use it
  (injection and ejection channels included). It cannot carry more than ``1 / ser_c``, so the accepted
  throughput is at most ``min_c 1 / (ser_c * gamma_c)``: for uniform traffic on a k x k mesh, 4/k. With
  adaptive routing the routes are not fixed, so the bound uses only cuts every route must cross (the
  two bisections of a grid, and each terminal's ejection channel).
* Latency estimate: zero-load latency plus an M/D/1 wait at every channel of the route at its load
  (an approximation: arrivals after the first hop are not Poisson).
"""

from __future__ import annotations

import math

import numpy as np

from .traffic import PATTERNS, destinations

__all__ = ["pair_weights", "zero_load_mean", "channel_loads", "throughput_bound", "md1_latency"]


def pair_weights(pattern: str, n: int, rows: int | None, cols: int | None, hotspots=(0,),
                 hotspot_fraction: float = 0.1) -> np.ndarray:
    """``w[s, d]``: the probability that a packet of source ``s`` goes to ``d`` (rows sum to 1)."""
    if pattern == "uniform":
        return np.full((n, n), 1.0 / n)
    if pattern == "hotspot":
        w = np.full((n, n), (1.0 - hotspot_fraction) / n)
        for h in hotspots:
            w[:, h] += hotspot_fraction / len(hotspots)
        return w
    if pattern not in PATTERNS:
        raise ValueError(pattern)
    dst = destinations(pattern, np.arange(n), n, rows, cols, np.random.default_rng(0))
    w = np.zeros((n, n))
    w[np.arange(n), dst] = 1.0
    return w


def zero_load_mean(level, weights: np.ndarray, mean_flits: float) -> float:
    """Mean zero-load packet latency (cycles) over the pairs, for the mean packet size (T0 is linear in it)."""
    n = len(weights)
    total = 0.0
    lo, hi = math.floor(mean_flits), math.ceil(mean_flits)
    frac = mean_flits - lo
    for s in range(n):
        for d in np.nonzero(weights[s])[0]:
            t_lo = level.zero_load_cycles(s, int(d), max(1, lo))
            t = t_lo if hi == lo else (1 - frac) * t_lo + frac * level.zero_load_cycles(s, int(d), hi)
            total += weights[s, d] * t
    return total / n


def channel_loads(fabric, weights: np.ndarray) -> dict[tuple, float]:
    """``gamma`` of every channel used (flits per cycle per unit injection rate), keyed
    ``("inj", t)``, ``("ej", t)`` or the directed link ``(a, b)``, along the routes the ideal level takes."""
    n = len(weights)
    loads: dict[tuple, float] = {}
    topo = fabric.topology
    for s in range(n):
        loads[("inj", s)] = 1.0
        for d in np.nonzero(weights[s])[0]:
            w = float(weights[s, d])
            path = topo.route(s, int(d))
            for a, b in zip(path[:-1], path[1:]):
                loads[(a, b)] = loads.get((a, b), 0.0) + w
            loads[("ej", int(d))] = loads.get(("ej", int(d)), 0.0) + w
    return loads


def _ser(fabric, key) -> int:
    P = fabric.P
    if key[0] == "inj":
        return fabric.o_ser[fabric.n * P + key[1]]
    if key[0] == "ej":
        return fabric.o_ser[key[1] * P]
    a, b = key
    return fabric.o_ser[a * P + fabric.port_of[a][b]]


def throughput_bound(fabric, weights: np.ndarray) -> tuple[float, str]:
    """The accepted throughput bound (flits per terminal per cycle) and what sets it."""
    loads = channel_loads(fabric, weights)
    topo = fabric.topology
    best, why = math.inf, ""
    for key, g in loads.items():
        if g <= 0:
            continue
        if topo.adaptive and key[0] not in ("inj", "ej"):
            continue
        cap = 1.0 / (_ser(fabric, key) * g)
        link = key[0] not in ("inj", "ej")
        if cap < best - 1e-12 or (link and cap <= best + 1e-12 and why != "channel load"):
            best, why = cap, ("channel load" if key[0] not in ("inj", "ej") else f"{key[0]}ection port")
    if topo.adaptive:  # cuts every route crosses: the bisections of the grid
        rows, cols = int(topo.cfg.rows), int(topo.cfg.cols)
        n = len(weights)
        xs = np.arange(n) % cols
        ys = np.arange(n) // cols
        for side in (xs < cols // 2, ys < rows // 2):
            for A, Bm in ((side, ~side), (~side, side)):
                crossing = float(weights[np.ix_(A, Bm)].sum())
                links = [(a, b) for a in range(n) for b in topo.adj[a] if A[a] and Bm[b]]
                if crossing <= 0 or not links:
                    continue
                cap = sum(1.0 / fabric.o_ser[a * fabric.P + fabric.port_of[a][b]] for a, b in links) / crossing
                if cap < best:
                    best, why = cap, "bisection"
    return best, why


def md1_latency(fabric, level, weights: np.ndarray, mean_flits: float, lam: float) -> float:
    """Zero-load latency plus an M/D/1 wait at each channel of the route (cycles; inf past the bound)."""
    loads = channel_loads(fabric, weights)
    n = len(weights)
    wait: dict[tuple, float] = {}
    for key, g in loads.items():
        ser = _ser(fabric, key)
        service = mean_flits * ser
        rho = lam * g * ser
        wait[key] = math.inf if rho >= 1 else rho * service / (2 * (1 - rho))
    total = 0.0
    for s in range(n):
        for d in np.nonzero(weights[s])[0]:
            path = fabric.topology.route(s, int(d))
            w = wait[("inj", s)] + wait[("ej", int(d))] + sum(wait[(a, b)] for a, b in zip(path[:-1], path[1:]))
            total += weights[s, d] * w
    return zero_load_mean(level, weights, mean_flits) + total / n
