"""SNN-only: every stage spiking for ``snn.timesteps`` steps; spikes cross the die boundaries.

Flow: each (inference, timestep) is a job that flows through the partitions, so timesteps pipeline
across chiplets. After partition ``p`` finishes a timestep, the boundary's message of that timestep's
send window leaves once the window's last timestep is done (every timestep for per-step encodings); on
delivery, every timestep of the window is ready at partition ``p + 1``. An inference is done when its
last timestep leaves the last partition.

Closed forms: the zero-load latency is the timestep pipeline of an empty package (a FIFO recurrence per
partition and the idle-route arrival of each message); every compute server is busy ``T`` partition
times per inference.
"""

from __future__ import annotations

from .common import route_arrivals

__all__ = ["Flow", "zero_load_ticks", "server_busy_ticks"]


def _window_ends(bp) -> dict[int, int]:
    """Timestep -> message index, for the last timestep of each send window."""
    return {stop - 1: m for m, (_a, stop) in enumerate(bp.windows)}


class Flow:
    def __init__(self, sim):
        self.sim = sim
        self.T = sim.plan.steps
        self.last = len(sim.plan.partitions) - 1
        self.ends = [_window_ends(bp) for bp in sim.plan.boundaries]

    def start(self, i: int, now: int) -> None:
        state = [self.T, now]  # timestep jobs still running, latest finish
        for t in range(self.T):
            self.job(0, i, t, now, state)

    def job(self, p: int, i: int, t: int, ready: int, state: list) -> None:
        """Timestep ``t`` of inference ``i`` is ready at partition ``p`` at tick ``ready``."""
        sim = self.sim
        end = sim.compute(p, i, ready)
        if p < self.last:
            m = self.ends[p].get(t)
            if m is None:  # the window's message leaves with its last timestep
                return
            bp = sim.plan.boundaries[p]
            first, stop = bp.windows[m]
            bits = sim.payload.message_bits(p, i, m)
            msg = sim.net.send(bp.src, bp.dst, bits, at=end,
                               on_done=lambda _m: self._arrived(p + 1, i, first, stop, state))
            if sim.probe.enabled:
                sim.probe.boundary_message(msg.seq, p, i, m, bits)
            return
        state[0] -= 1
        state[1] = max(state[1], end)
        if state[0] == 0:
            sim.finish(i, state[1])

    def _arrived(self, p: int, i: int, first: int, stop: int, state: list) -> None:
        now = self.sim.env.now
        for t in range(first, stop):
            self.job(p, i, t, now, state)


def zero_load_ticks(plan, payload) -> int:
    T = plan.steps
    ready = [0] * T
    for p, part in enumerate(plan.partitions):
        free = 0
        done = []
        for k in range(T):
            s = max(ready[k], free)
            free = s + part.cost.ticks
            done.append(free)
        if p < len(plan.boundaries):
            bp = plan.boundaries[p]
            arrivals = route_arrivals(bp, [(done[stop - 1], payload.message_bits(p, 0, m))
                                           for m, (_a, stop) in enumerate(bp.windows)])
            ready = [0] * T
            for (a, stop), arr in zip(bp.windows, arrivals):
                ready[a:stop] = [arr] * (stop - a)
        else:
            ready = done
    return max(ready)


def server_busy_ticks(plan) -> list[int]:
    return [part.cost.ticks * plan.steps for part in plan.partitions]
