"""Closed-form and recurrence models of the interconnect beside the simulator: zero-load latency,
serialization, saturation bandwidth, credit limits and M/D/1 queueing.

Nothing here runs SimPy. The simulator never beats these bounds, and at zero load it equals them to
the tick; the tests check both. Each mode's pipeline closed forms (zero-load latency and throughput
bound of a whole inference) live beside its event flow in :mod:`snapsim.modes`, built on these.
Framing is :mod:`snapsim.d2d.framing`, the same rule the network uses: a message is framed per hop,
and a hop whose framing differs from the previous hop's waits for the whole message (store-and-forward).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .d2d.timing import LinkTiming

__all__ = [
    "serialization_ticks",
    "message_zero_load_ticks",
    "message_recurrence",
    "saturation_payload_gbps",
    "md1_mean_wait_ticks",
]


def serialization_ticks(timing: LinkTiming, n_flits: int) -> int:
    """Time to push ``n_flits`` back to back through one link, credits permitting."""
    return n_flits * timing.t_flit


def _segments(path: Sequence[LinkTiming], payload_bits: int) -> list[tuple[int, int, int]]:
    """``(first_hop, stop_hop, flits)`` of each run of consecutive hops that frame the message alike."""
    segs: list[tuple[int, int, int]] = []
    for h, tm in enumerate(path):
        n = tm.flits(payload_bits)
        if segs and segs[-1][2] == n:
            segs[-1] = (segs[-1][0], h + 1, n)
        else:
            segs.append((h, h + 1, n))
    return segs


def message_zero_load_ticks(path: Sequence[LinkTiming], transit: Sequence[int], payload_bits: int) -> int:
    """Closed form: latency of one message of ``payload_bits`` on an idle route with cut-through forwarding.

    ``transit[h]`` is the die-crossing time before hop ``h+1``. The route splits into segments of hops
    that frame the message into the same number of flits ``n`` (a re-framing hop waits for the whole
    message). Within a segment, exact when no hop's credits bind:
    ``sum(t_h + L_h) + sum(transit) + max_j (W_j + (n - 1) t_j)``, where ``W_j`` is the sum of the wake
    latencies of the segment's hops up to ``j`` (idle power-managed links are asleep; 0 for always-on
    links): the head waits ``wake_h`` at every hop, and the tail leaves hop ``j`` ``(n-1) t_j`` after the
    head did. Without power states this is ``sum(t_h + L_h) + sum(transit) + (n - 1) max(t_h)``. For a
    single credit-bound hop it is ``wake + n t + L + floor((n-1)/C) * (rtt - C t)``.
    """
    wakes = [tm.wake if tm.sleep_after is not None else 0 for tm in path]
    total = 0
    for a, z, n in _segments(path, payload_bits):
        hops = path[a:z]
        if z - a == 1 and hops[0].credits_bind:
            tm = hops[0]
            total += (wakes[a] + n * tm.t_flit + tm.latency
                      + ((n - 1) // tm.credits) * (tm.credit_rtt - tm.credits * tm.t_flit))
        else:
            cum = np.cumsum(wakes[a:z])
            total += (sum(tm.t_flit + tm.latency for tm in hops) + sum(transit[a : z - 1])
                      + max(int(cum[j]) + (n - 1) * tm.t_flit for j, tm in enumerate(hops)))
        if z < len(path):
            total += transit[z - 1]
    return total


def message_recurrence(
    path: Sequence[LinkTiming], transit: Sequence[int], messages: Sequence[tuple[int, int]]
) -> list[int]:
    """Reference recurrence, flit by flit in plain Python: arrival tick of each message's last flit.

    ``messages`` are ``(ready_tick, payload_bits)`` in service order on an otherwise idle route. This is
    the link model's definition written out directly (no SimPy, no numpy), used as the golden model. Each
    hop frames the message itself; a hop with another flit count than the previous hop's starts from the
    arrival of the whole message. A power-managed link is asleep from tick 0 and ``sleep_after`` ticks
    after its lanes last became free; a head flit that finds it asleep waits ``wake`` ticks.
    """
    ready_lists = [[r] * path[0].flits(bits) for r, bits in messages]
    done = [0] * len(messages)
    for h, tm in enumerate(path):
        free = 0
        used = False
        starts_all: list[int] = []
        nxt = []
        for m, ready in enumerate(ready_lists):
            n = tm.flits(messages[m][1])
            if n != len(ready):  # re-framed: every flit waits for the whole message
                ready = [max(ready)] * n
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
