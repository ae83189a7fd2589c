"""The pipeline's analytical bounds, per mode: zero-load latency of inference 0 and an upper bound on
throughput (the busiest server or link, and the injection process)."""

from __future__ import annotations

import numpy as np

from ..d2d.framing import flits_for_bits_array
from ..units import TICKS_PER_S, ticks_to_ns
from . import ann, snap, snn

__all__ = ["pipeline_bounds"]

_MODES = {"ann": ann, "snn": snn, "snap": snap}


def pipeline_bounds(plan, payload) -> dict:
    """Zero-load latency of inference 0 and an upper bound on throughput, from the plan's cost models.

    Links: the mean flits per inference over the whole stream (stochastic payloads vary per inference),
    framed per hop, each taking ``max(t_flit, credit_rtt / credits)`` of the link.
    """
    mode = _MODES[plan.mode]
    zero = mode.zero_load_ticks(plan, payload)
    busy: list[float] = list(mode.server_busy_ticks(plan))
    N = plan.inferences
    link_busy: dict[tuple[int, int], float] = {}
    for b, bp in enumerate(plan.boundaries):
        bits = np.asarray(payload.bits_table(b, N), dtype=np.int64)
        for hop in bp.hops:
            tm = hop.timing
            flits = int(flits_for_bits_array(bits, tm.payload_bits_per_flit).sum())
            per_flit = max(tm.t_flit, tm.credit_rtt / tm.credits)
            link_busy[hop.edge] = link_busy.get(hop.edge, 0.0) + flits * per_flit / N
    busy += list(link_busy.values())
    bottleneck = max(busy) if busy else 1
    s = plan.workload.stream
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
