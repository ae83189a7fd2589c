"""ANN-only: dense compute on every die; each boundary carries one dense message per inference.

Flow: inference ``i`` is ready at partition 0; each partition is a FIFO compute server; when it ends,
the boundary's activation is sent to the next partition's chiplet, whose job is ready on delivery.

Closed forms: the zero-load latency is the sum of partition times plus each boundary message's
zero-load route latency (:func:`snapsim.modes.common.route_arrivals`); every compute server is busy
one partition time per inference.
"""

from __future__ import annotations

from .common import route_arrivals

__all__ = ["Flow", "zero_load_ticks", "server_busy_ticks"]


class Flow:
    def __init__(self, sim):
        self.sim = sim
        self.last = len(sim.plan.partitions) - 1

    def start(self, i: int, now: int) -> None:
        self.job(0, i, now)

    def job(self, p: int, i: int, ready: int) -> None:
        """Inference ``i`` is ready at partition ``p`` at tick ``ready``."""
        sim = self.sim
        end = sim.compute(p, i, ready)
        if p == self.last:
            sim.finish(i, end)
            return
        self.boundary(p, i, end)

    def boundary(self, b: int, i: int, ready: int) -> None:
        sim = self.sim
        bp = sim.plan.boundaries[b]
        bits = sim.payload.message_bits(b, i, 0)
        msg = sim.net.send(bp.src, bp.dst, bits, at=ready, on_done=lambda _m: self.job(b + 1, i, sim.env.now))
        if sim.probe.enabled:
            sim.probe.boundary_message(msg.seq, b, i, 0, bits)


def zero_load_ticks(plan, payload) -> int:
    """Latency of inference 0 in an empty package."""
    t = 0
    for p, part in enumerate(plan.partitions):
        t += part.cost.ticks
        if p < len(plan.boundaries):
            t = route_arrivals(plan.boundaries[p], [(t, payload.message_bits(p, 0, 0))])[0]
    return t


def server_busy_ticks(plan) -> list[int]:
    """Busy ticks per inference of every compute, encoder and decoder server (links are added by
    :func:`snapsim.modes.bounds.pipeline_bounds`)."""
    return [part.cost.ticks for part in plan.partitions]
