"""One direction of a die-to-die link, cycle-level, in two fidelities with identical timing.

The model (both fidelities):

* A message is framed into flits by :mod:`snapsim.d2d.framing` (header/CRC included; an empty message
  still sends one flit, a timestep marker).
* A flit serializes over ``lanes`` lanes at ``rate_gtps`` x ``bits_per_transfer`` in
  ``t_flit = ceil(ceil(flit_bits / (lanes*bits_per_transfer)) * 1000 / rate_gtps)`` ps (whole UIs,
  rounded up to a whole tick).
* Flit ``k`` of the link's flit sequence starts at
  ``start_k = max(ready_k, start_{k-1} + t_flit, start_{k-C} + t_flit + L + L_credit)``: it must be
  ready (cut-through: a flit can leave as soon as it has arrived), the lanes must be free, and a
  credit must be back (``C = rx_buffer_flits``; the receiver frees a slot when a flit is fully
  received and the credit takes ``L_credit`` to return). It is received at ``start_k + t_flit + L``.
* Messages are served whole and in arrival order of their head flit (wormhole: once a message's head
  wins the link, the link carries its flits until the tail). Ties are broken by the dispatcher.
* Power: an injected policy (:mod:`snapsim.d2d.power`) says when a head flit can start
  (``head_arrives``: a sleeping link wakes first, so the lanes are free at ``max(free, head + wake)``) and
  splits the run into busy, idle and asleep time.
* Reliability (:mod:`snapsim.d2d.reliability`): an attempt that fails its CRC is, with go-back-N, sent again
  ``replay_penalty`` after it started (its credit is back then too); the flits sent meanwhile are
  discarded without taking credits. Without retry it is delivered corrupt (counted). Both fidelities draw
  the same failures from the link's seeded error process.

``ReferenceLink`` makes every flit a SimPy event (a process that waits for each flit, takes a credit
from a ``simpy.Container`` and holds the lanes). ``FastLink`` computes a whole message at once: in
closed form when flit times are an arithmetic progression and credits cannot bind, else with a
vectorised max-plus recurrence over blocks of ``C`` flits. Tests check they agree to the tick.
"""

from __future__ import annotations

import numpy as np
import simpy

from .reliability import ErrorProcess
from .timing import FlitTimes, LinkTiming

__all__ = ["FastLink", "ReferenceLink", "LINK_MODELS"]

_NEG = -(2**62)


def _lindley(ready: np.ndarray, free: int, t: int) -> np.ndarray:
    """start_k = max(ready_k, start_{k-1} + t) with start_{-1} + t = free, vectorised."""
    k = np.arange(len(ready), dtype=np.int64) * t
    x = ready - k
    x[0] = max(int(x[0]), free)
    return np.maximum.accumulate(x) + k


class FastLink:
    """Aggregate-per-message link: same timing as :class:`ReferenceLink`, one computation per message."""

    def __init__(self, env: simpy.Environment, timing: LinkTiming, power, errors: ErrorProcess | None = None):
        self.timing = timing
        self.errors = errors
        self.free = 0  # tick at which the lanes are next free
        self._hist = np.full(timing.credits, _NEG, dtype=np.int64) if timing.credits_bind else None
        self.busy_ticks = 0
        self.flits_sent = 0
        self.power = power

    def serve(self, ready: FlitTimes) -> FlitTimes:
        """Schedule a message whose flits become ready at ``ready``; returns the flit start times."""
        tm = self.timing
        t = tm.t_flit
        n = ready.n
        if self.power.sleeps:  # a sleeping link wakes first: its lanes are free only after that
            self.free = max(self.free, self.power.head_arrives(ready.first))
        err = self.errors
        if err is not None:
            if err.countdown > n:  # no failure among these n attempts (ErrorProcess.clean, inlined)
                err.countdown -= n
            elif tm.go_back_n:
                return self._serve_with_retries(ready.to_array())
            else:
                err.corrupt_flits += err.failures_in(n)
        if self._hist is None and ready.arr is None:
            if ready.spacing <= t:
                starts = FlitTimes(max(ready.first, self.free), t, n)
            elif self.free <= ready.first:
                starts = FlitTimes(ready.first, ready.spacing, n)
            else:
                starts = FlitTimes.from_array(_lindley(ready.to_array().copy(), self.free, t))
        elif self._hist is None:
            starts = FlitTimes.from_array(_lindley(ready.arr.copy(), self.free, t))
        else:
            starts = FlitTimes.from_array(self._credit_limited(ready.to_array()))
        self.free = starts.last + t
        self.power.last_free = self.free
        self.busy_ticks += n * t
        self.flits_sent += n
        return starts

    def _serve_with_retries(self, ready: np.ndarray) -> FlitTimes:
        """A message some of whose attempts fail (go-back-N): attempt by attempt, as :class:`ReferenceLink`."""
        tm = self.timing
        t, C, rtt, pen = tm.t_flit, tm.credits, tm.credit_rtt, tm.replay_penalty
        err = self.errors
        hist = list(self._hist) if self._hist is not None else None
        free = self.free
        n = len(ready)
        starts = np.empty(n, dtype=np.int64)
        k = 0
        while k < n:
            s = max(int(ready[k]), free)
            if hist is not None:
                s = max(s, hist[-C] + rtt)
                hist.append(s)
            self.busy_ticks += t
            self.flits_sent += 1
            if err.attempt():
                wasted = min(n - k - 1, (pen - t) // t)
                err.retry_flits += 1 + wasted
                self.busy_ticks += wasted * t
                self.flits_sent += wasted
                free = s + pen
                continue
            starts[k] = s
            free = s + t
            k += 1
        if hist is not None:
            self._hist = np.asarray(hist[-C:], dtype=np.int64)
        self.free = free
        self.power.last_free = free
        return FlitTimes.from_array(starts)

    def _credit_limited(self, ready: np.ndarray) -> np.ndarray:
        tm = self.timing
        C, t, rtt = tm.credits, tm.t_flit, tm.credit_rtt
        n = len(ready)
        hist = self._hist
        starts = np.empty(n, dtype=np.int64)
        free = self.free
        for b in range(0, n, C):
            m = min(C, n - b)
            prev = hist if b == 0 else np.concatenate((hist, starts[:b]))[-C:]
            eff = np.maximum(ready[b : b + m], prev[:m] + rtt)
            s = _lindley(eff, free, t)
            starts[b : b + m] = s
            free = int(s[-1]) + t
        self._hist = np.concatenate((hist, starts))[-C:]
        return starts


class ReferenceLink:
    """Flit-by-flit SimPy model: a process per link direction, a credit container, one event per flit step.

    ``submit(n, ready_events, on_flit)``: ``ready_events[k]`` fires when flit k is ready (``None`` for
    already ready); ``on_flit(k, start_tick)`` is called when flit k starts serializing.
    """

    def __init__(self, env: simpy.Environment, timing: LinkTiming, power, errors: ErrorProcess | None = None):
        self.env = env
        self.timing = timing
        self.errors = errors
        self.credits = simpy.Container(env, capacity=timing.credits, init=timing.credits)
        self.queue: simpy.Store = simpy.Store(env)
        self.busy_ticks = 0
        self.flits_sent = 0
        self.power = power
        env.process(self._run())

    def submit(self, n: int, ready_events, on_flit) -> None:
        self.queue.put((n, ready_events, on_flit))

    def _return_credit(self, _ev) -> None:
        self.credits.put(1)

    def _run(self):
        env, tm = self.env, self.timing
        while True:
            n, ready_events, on_flit = yield self.queue.get()
            for k in range(n):
                ev = ready_events[k] if ready_events is not None else None
                if ev is not None and not ev.processed:
                    yield ev
                if k == 0 and self.power.sleeps:  # the head is here: wake a sleeping link first
                    wake_done = self.power.head_arrives(env.now)
                    if wake_done > env.now:
                        yield env.timeout(wake_done - env.now)
                while True:
                    yield self.credits.get(1)
                    start = env.now
                    yield env.timeout(tm.t_flit)
                    self.busy_ticks += tm.t_flit
                    self.flits_sent += 1
                    env.timeout(tm.latency + tm.credit_latency).callbacks.append(self._return_credit)
                    err = self.errors
                    if err is None or not err.attempt():
                        break
                    if not tm.go_back_n:
                        err.corrupt_flits += 1
                        break
                    wasted = min(n - k - 1, (tm.replay_penalty - tm.t_flit) // tm.t_flit)
                    err.retry_flits += 1 + wasted
                    self.busy_ticks += wasted * tm.t_flit
                    self.flits_sent += wasted
                    yield env.timeout(tm.replay_penalty - tm.t_flit)  # the NAK comes back; replay
                if k == n - 1:
                    self.power.last_free = env.now
                on_flit(k, start)


#: The link models by fidelity name; each is built as ``Model(env, timing, power_policy)``.
LINK_MODELS = {"fast": FastLink, "reference": ReferenceLink}
