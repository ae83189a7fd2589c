"""One direction of a die-to-die link, cycle-level, in two fidelities with identical timing.

The model (both fidelities):

* A message of ``B`` payload bits is framed into ``n = max(1, ceil(ceil(B/8) / payload_bytes_per_flit))``
  flits of ``flit_bytes`` each (header/CRC included); an empty message still sends one flit (a
  timestep marker).
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
* Power states (optional, ``sleep_after_idle_ns``): the lanes sleep once idle for ``sleep_after`` ticks
  (and from tick 0 until first used); a head flit that finds them asleep waits ``wake`` ticks, i.e. the
  lanes are free at ``max(free, head + wake)``. Sleep time is charged at ``sleep_power_mw`` instead of
  ``idle_power_mw`` (:class:`LinkPower`).

``ReferenceLink`` makes every flit a SimPy event (a process that waits for each flit, takes a credit
from a ``simpy.Container`` and holds the lanes). ``FastLink`` computes a whole message at once: in
closed form when flit times are an arithmetic progression and credits cannot bind, else with a
vectorised max-plus recurrence over blocks of ``C`` flits. Tests check they agree to the tick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import simpy

from ..config.hardware import LinkConfig
from ..units import ns_to_ticks

__all__ = ["LinkTiming", "LinkPower", "FlitTimes", "FastLink", "ReferenceLink", "flits_for_bits"]

_NEG = -(2**62)


@dataclass(frozen=True)
class LinkTiming:
    """Integer timing of one link direction, derived from its config."""

    t_flit: int  # ticks to serialize one flit
    latency: int  # ticks from end of serialization to flit received (PHY, FEC, flight)
    credit_latency: int  # ticks for a freed RX slot to be usable by TX again
    credits: int
    flit_bits: int
    payload_bits_per_flit: int
    sleep_after: int | None = None  # idle ticks before the low-power state; None: always on
    wake: int = 0  # ticks from a head flit at a sleeping link to the link able to send

    @classmethod
    def from_config(cls, cfg: LinkConfig) -> "LinkTiming":
        flit_bits = cfg.flit_bytes * 8
        transfers = math.ceil(flit_bits / (cfg.lanes * cfg.bits_per_transfer))
        t_flit = max(1, int(math.ceil(transfers * 1000.0 / cfg.rate_gtps - 1e-9)))
        lat = ns_to_ticks(cfg.phy_latency_ns)
        clat = lat if cfg.credit_latency_ns is None else ns_to_ticks(cfg.credit_latency_ns)
        sleep = None if cfg.sleep_after_idle_ns is None else ns_to_ticks(cfg.sleep_after_idle_ns)
        return cls(t_flit, lat, clat, cfg.rx_buffer_flits, flit_bits, cfg.payload_bytes_per_flit * 8, sleep,
                   ns_to_ticks(cfg.wake_latency_ns))

    @property
    def credit_rtt(self) -> int:
        """Ticks from a flit's start to its credit being usable again."""
        return self.t_flit + self.latency + self.credit_latency

    @property
    def credits_bind(self) -> bool:
        """True if the credit loop, not the lanes, can limit back-to-back flits."""
        return self.credits * self.t_flit < self.credit_rtt

    def flits(self, payload_bits: int) -> int:
        return flits_for_bits(payload_bits, self.payload_bits_per_flit)


def flits_for_bits(payload_bits: int, payload_bits_per_flit: int) -> int:
    payload_bytes = -(-int(payload_bits) // 8)
    per_flit = payload_bits_per_flit // 8
    return max(1, -(-payload_bytes // per_flit))


class FlitTimes:
    """Times (ticks) of a message's flits: an arithmetic progression or an explicit array."""

    __slots__ = ("first", "spacing", "n", "arr")

    def __init__(self, first: int, spacing: int, n: int, arr: np.ndarray | None = None):
        self.first = first
        self.spacing = spacing
        self.n = n
        self.arr = arr

    @classmethod
    def from_array(cls, arr: np.ndarray) -> "FlitTimes":
        return cls(int(arr[0]), 0, len(arr), arr)

    @property
    def last(self) -> int:
        if self.arr is not None:
            return int(self.arr[-1])
        return self.first + (self.n - 1) * self.spacing

    def shifted(self, d: int) -> "FlitTimes":
        if self.arr is not None:
            return FlitTimes(self.first + d, 0, self.n, self.arr + d)
        return FlitTimes(self.first + d, self.spacing, self.n)

    def to_array(self) -> np.ndarray:
        if self.arr is not None:
            return self.arr
        return self.first + np.arange(self.n, dtype=np.int64) * self.spacing


class LinkPower:
    """Power state of one link direction, shared by both fidelities.

    The lanes fall asleep ``sleep_after`` ticks after they last became free (and are asleep from tick 0
    until first used). A message whose head reaches a sleeping link waits ``wake`` ticks before its first
    flit can start; a link does not sleep while it carries a message. ``sleep_after is None``: always on.
    """

    __slots__ = ("sleep_after", "wake", "last_free", "asleep_ticks", "wakes")

    def __init__(self, timing: LinkTiming):
        self.sleep_after = timing.sleep_after
        self.wake = timing.wake
        self.last_free: int | None = None  # tick the lanes last became free; None: never used
        self.asleep_ticks = 0  # completed sleep intervals
        self.wakes = 0

    def head_arrives(self, now: int) -> int:
        """The head of the next message is at the link at ``now``: the earliest tick the link can send."""
        if self.sleep_after is None:
            return now
        slept_from = 0 if self.last_free is None else self.last_free + self.sleep_after
        if self.last_free is not None and now <= slept_from:
            return now  # awake (or still busy: last_free >= now)
        self.asleep_ticks += now - slept_from
        self.wakes += 1
        return now + self.wake

    def asleep_total(self, end: int) -> int:
        """Ticks asleep up to ``end``, including a sleep still running at ``end``."""
        if self.sleep_after is None:
            return 0
        slept_from = 0 if self.last_free is None else self.last_free + self.sleep_after
        return self.asleep_ticks + max(0, end - slept_from)


def _lindley(ready: np.ndarray, free: int, t: int) -> np.ndarray:
    """start_k = max(ready_k, start_{k-1} + t) with start_{-1} + t = free, vectorised."""
    k = np.arange(len(ready), dtype=np.int64) * t
    x = ready - k
    x[0] = max(int(x[0]), free)
    return np.maximum.accumulate(x) + k


class FastLink:
    """Aggregate-per-message link: same timing as :class:`ReferenceLink`, one computation per message."""

    def __init__(self, timing: LinkTiming):
        self.timing = timing
        self.free = 0  # tick at which the lanes are next free
        self._hist = np.full(timing.credits, _NEG, dtype=np.int64) if timing.credits_bind else None
        self.busy_ticks = 0
        self.flits_sent = 0
        self.power = LinkPower(timing)

    def serve(self, ready: FlitTimes) -> FlitTimes:
        """Schedule a message whose flits become ready at ``ready``; returns the flit start times."""
        tm = self.timing
        t = tm.t_flit
        n = ready.n
        if tm.sleep_after is not None:  # a sleeping link wakes first: its lanes are free only after that
            self.free = max(self.free, self.power.head_arrives(ready.first))
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

    def __init__(self, env: simpy.Environment, timing: LinkTiming):
        self.env = env
        self.timing = timing
        self.credits = simpy.Container(env, capacity=timing.credits, init=timing.credits)
        self.queue: simpy.Store = simpy.Store(env)
        self.busy_ticks = 0
        self.flits_sent = 0
        self.power = LinkPower(timing)
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
                if k == 0 and tm.sleep_after is not None:  # the head is here: wake a sleeping link first
                    wake_done = self.power.head_arrives(env.now)
                    if wake_done > env.now:
                        yield env.timeout(wake_done - env.now)
                yield self.credits.get(1)
                start = env.now
                yield env.timeout(tm.t_flit)
                self.busy_ticks += tm.t_flit
                self.flits_sent += 1
                if k == n - 1:
                    self.power.last_free = env.now
                env.timeout(tm.latency + tm.credit_latency).callbacks.append(self._return_credit)
                on_flit(k, start)
