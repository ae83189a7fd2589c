"""Closed-form and recurrence models beside the simulator: zero-load latency, serialization,
saturation bandwidth, credit limits, M/D/1 queueing, and pipeline bounds.

Nothing here runs SimPy. The simulator never beats these bounds, and at zero load it equals them to
the tick; ``tests/test_crosscheck.py`` checks both.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np

from .d2d.link import LinkTiming
from .units import TICKS_PER_S, ticks_to_ns

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Simulation

__all__ = [
    "serialization_ticks",
    "message_zero_load_ticks",
    "message_recurrence",
    "saturation_payload_gbps",
    "md1_mean_wait_ticks",
    "pipeline_bounds",
]


def serialization_ticks(timing: LinkTiming, n_flits: int) -> int:
    """Time to push ``n_flits`` back to back through one link, credits permitting."""
    return n_flits * timing.t_flit


def message_zero_load_ticks(path: Sequence[LinkTiming], transit: Sequence[int], n_flits: int) -> int:
    """Closed form: latency of one message on an idle route with cut-through forwarding.

    ``transit[h]`` is the die-crossing time before hop ``h+1``. Exact when no hop's credits bind and
    all hops frame the message into the same number of flits:
    ``sum(t_h + L_h) + sum(transit) + max_j (W_j + (n - 1) t_j)``, where ``W_j`` is the sum of the wake
    latencies of hops ``0..j`` (idle power-managed links are asleep; 0 for always-on links): the head
    waits ``wake_h`` at every hop, and the tail leaves hop ``j`` ``(n-1) t_j`` after the head did. Without
    power states this is ``sum(t_h + L_h) + sum(transit) + (n - 1) max(t_h)``. For a single credit-bound
    hop it is ``wake + n t + L + floor((n-1)/C) * (rtt - C t)``.
    """
    wakes = [tm.wake if tm.sleep_after is not None else 0 for tm in path]
    if len(path) == 1 and path[0].credits_bind:
        tm = path[0]
        return (wakes[0] + n_flits * tm.t_flit + tm.latency
                + ((n_flits - 1) // tm.credits) * (tm.credit_rtt - tm.credits * tm.t_flit))
    cum = np.cumsum(wakes)
    return (
        sum(tm.t_flit + tm.latency for tm in path) + sum(transit)
        + max(int(cum[j]) + (n_flits - 1) * tm.t_flit for j, tm in enumerate(path))
    )


def message_recurrence(
    path: Sequence[LinkTiming], transit: Sequence[int], messages: Sequence[tuple[int, int]]
) -> list[int]:
    """Reference recurrence, flit by flit in plain Python: arrival tick of each message's last flit.

    ``messages`` are ``(ready_tick, n_flits)`` in service order on an otherwise idle route. This is the
    link model's definition written out directly (no SimPy, no numpy), used as the golden model. A
    power-managed link is asleep from tick 0 and ``sleep_after`` ticks after its lanes last became free;
    a head flit that finds it asleep waits ``wake`` ticks.
    """
    ready_lists = [[r] * n for r, n in messages]
    done = [0] * len(messages)
    for h, tm in enumerate(path):
        free = 0
        used = False
        starts_all: list[int] = []
        nxt = []
        for m, ready in enumerate(ready_lists):
            out = []
            for j, r in enumerate(ready):
                k = len(starts_all)
                s = max(r, free)
                if j == 0 and tm.sleep_after is not None and (not used or r > free + tm.sleep_after):
                    s = max(s, r + tm.wake)
                used = True
                if k >= tm.credits:
                    s = max(s, starts_all[k - tm.credits] + tm.credit_rtt)
                starts_all.append(s)
                free = s + tm.t_flit
                out.append(s + tm.t_flit + tm.latency)
            if h + 1 < len(path):
                nxt.append([x + transit[h] for x in out])
            else:
                done[m] = out[-1]
        ready_lists = nxt
    return done


def saturation_payload_gbps(timing: LinkTiming) -> float:
    """Long-run payload bandwidth of one link direction: framing efficiency and credit limit included."""
    per_flit_ticks = max(timing.t_flit, timing.credit_rtt / timing.credits)
    return timing.payload_bits_per_flit / per_flit_ticks * 1000.0  # bits per ps -> Gbit/s


def md1_mean_wait_ticks(service_ticks: float, arrival_rate_per_tick: float) -> float:
    """Mean time in queue (excluding service) of an M/D/1 queue: rho * D / (2 (1 - rho))."""
    rho = arrival_rate_per_tick * service_ticks
    if rho >= 1:
        return math.inf
    return rho * service_ticks / (2 * (1 - rho))


def pipeline_bounds(sim: "Simulation") -> dict:
    """Zero-load latency of inference 0 and an upper bound on throughput, from the same cost models."""
    from .chiplet import Codec

    net, P, mode = sim.net, len(sim.parts), sim.mode
    costs = [c.ticks for c in sim.costs]

    def route(b: int):
        path = net.route(sim.cids[b], sim.cids[b + 1])
        timings = [net.links[(a, c)].timing for a, c in zip(path[:-1], path[1:])]
        transit = [net.transit_ticks[c] for c in path[1:-1]]
        return timings, transit

    def flits(b: int, i: int, t: int) -> int:
        return net.links[tuple(net.route(sim.cids[b], sim.cids[b + 1])[:2])].timing.flits(
            sim.payload.message_payload_bits(b, i, t)
        )

    busy: list[float] = []  # per-inference busy ticks of every server (bottleneck bound)
    if mode == "ann":
        t = 0
        for p in range(P):
            t += costs[p]
            if p < P - 1:
                timings, transit = route(p)
                t = message_recurrence(timings, transit, [(t, flits(p, 0, 0))])[0]
        zero = t
        busy += costs
    elif mode == "snap":
        t = 0
        for p in range(P):
            t += costs[p]
            if p < P - 1:
                bp = sim.boundaries[p]
                n = bp.neurons * sim.batch
                enc = Codec(sim.hw.chiplet_config(sim.cids[p]))
                dec = Codec(sim.hw.chiplet_config(sim.cids[p + 1]))
                step = enc.step_ticks(n)
                msgs = [(t + enc.pipeline_ticks() + (k + 1) * step, flits(p, 0, k)) for k in range(bp.timesteps)]
                timings, transit = route(p)
                t = max(message_recurrence(timings, transit, msgs)) + dec.pipeline_ticks() + dec.step_ticks(n)
                busy.append(enc.pipeline_ticks() + bp.timesteps * step)
                busy.append(dec.pipeline_ticks() + dec.step_ticks(n))
        zero = t
        busy += costs
    else:  # snn: timestep jobs pipeline through partitions
        T = sim.T
        ready = [0] * T
        for p in range(P):
            free = 0
            done_p = []
            for k in range(T):
                s = max(ready[k], free)
                free = s + costs[p]
                done_p.append(free)
            if p < P - 1:
                timings, transit = route(p)
                ready = message_recurrence(timings, transit, [(d, flits(p, 0, k)) for k, d in enumerate(done_p)])
            else:
                ready = done_p
        zero = max(ready)
        busy += [c * T for c in costs]
    # links: mean flits per inference over the whole stream (stochastic payloads vary per inference)
    N = sim.wl.stream.inferences
    link_busy: dict[tuple[int, int], float] = {}
    for b in range(P - 1):
        path = net.route(sim.cids[b], sim.cids[b + 1])
        steps = sim.boundaries[b].timesteps if mode != "ann" else 1
        table = getattr(sim.payload, "bits_table", None)
        if table is not None:
            bits = np.asarray(table(b), dtype=np.int64)[:N, :steps]
        else:
            bits = np.array([[sim.payload.message_payload_bits(b, i, t) for t in range(steps)] for i in range(N)],
                            dtype=np.int64)
        per_flit = net.links[(path[0], path[1])].timing.payload_bits_per_flit // 8
        total_flits = int(np.maximum(1, -(-(-(-bits // 8)) // per_flit)).sum())
        for a, c in zip(path[:-1], path[1:]):
            tm = net.links[(a, c)].timing
            per_flit = max(tm.t_flit, tm.credit_rtt / tm.credits)
            link_busy[(a, c)] = link_busy.get((a, c), 0.0) + total_flits * per_flit / N
    busy += list(link_busy.values())
    bottleneck = max(busy) if busy else 1
    s = sim.wl.stream
    rate_bounds = [TICKS_PER_S / bottleneck]
    if s.injection == "closed":
        rate_bounds.append(s.max_in_flight * TICKS_PER_S / max(zero, 1))
    elif s.injection == "periodic":
        rate_bounds.append(TICKS_PER_S / (s.interval_ns * 1000.0))
    return {
        "zero_load_latency_ns": ticks_to_ns(zero),
        "bottleneck_ns_per_inf": ticks_to_ns(bottleneck),
        "throughput_bound_inf_per_s": min(rate_bounds),
    }
