"""Probes: what the engine and network report while a run goes on, for timelines and time series.

The engine and network call a probe's hooks only when ``probe.enabled`` is true, so the default
:class:`NullProbe` costs one attribute test per call site. A probe receives integer ticks and never
changes the run. Hooks (every tick an ``int``, 1 tick = 1 ps):

* ``begin(sim)``: the simulation is built (its plan, payload and network can be read);
* ``server_queued(server, inference, ready, start)`` then ``server_job(server, inference, start, end)``: a
  FIFO server (``c<chiplet>.compute|encoder|decoder``) got a job ready at ``ready``, served in
  ``[start, end)``;
* ``boundary_message(seq, boundary, inference, message, payload_bits)``: network message ``seq`` carries
  message ``message`` (send window) of ``inference`` across plan boundary ``boundary``;
* ``link_message(link, seq, first_start, last_end, flits, payload_bits)`` and
  ``link_flits(link, seq, ready, starts)``: a link direction sent message ``seq``; ``ready[k]`` is when
  flit k could have left (cut-through) and ``starts[k]`` when it started serializing (int64 arrays), in
  both link fidelities, in the order the link serves messages;
* ``inference(inference, inject, done)``: an inference entered the package and left it;
* ``end(sim, start, end)``: the run is over (``[start, end)``: first injection to last completion);
  it may return a dict of keys to add to the result (a time series, say), or None.

:class:`BaseProbe` has every hook as a no-op (subclass it); :class:`RecordingProbe` keeps every event in
lists (tests, small runs); :class:`TeeProbe` forwards to several probes. :class:`LinkActivity` turns a
link's flit times into what a timeline shows (flit groups, credit stalls, sleep and wake): one rule,
shared by every probe that needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

__all__ = ["Probe", "BaseProbe", "NullProbe", "RecordingProbe", "TeeProbe", "LinkActivity", "LinkEvents",
           "with_every_hook", "HOOKS"]

HOOKS = ("begin", "server_queued", "server_job", "boundary_message", "link_message", "link_flits", "inference",
         "end")


class Probe(Protocol):
    enabled: bool

    def begin(self, sim) -> None:
        """The simulation ``sim`` is built (plan, payload, network); nothing has run yet."""

    def server_queued(self, server: str, inference: int, ready: int, start: int) -> None:
        """A job of ``inference`` became ready at server ``server`` at ``ready`` and starts at ``start``."""

    def server_job(self, server: str, inference: int, start: int, end: int) -> None:
        """A FIFO server (``c<chiplet>.compute|encoder|decoder``) served a job of ``inference`` in [start, end)."""

    def boundary_message(self, seq: int, boundary: int, inference: int, message: int, payload_bits: int) -> None:
        """Network message ``seq`` is message ``message`` of ``inference`` across plan boundary ``boundary``."""

    def link_message(self, link: str, seq: int, first_start: int, last_end: int, flits: int,
                     payload_bits: int) -> None:
        """A link direction sent message ``seq``: first flit started at ``first_start``, last flit
        finished serializing at ``last_end``."""

    def link_flits(self, link: str, seq: int, ready: np.ndarray, starts: np.ndarray) -> None:
        """Per flit of message ``seq`` on ``link``: when it could leave (``ready``) and when it started."""

    def inference(self, inference: int, inject: int, done: int) -> None:
        """An inference entered the package at ``inject`` and left it at ``done``."""

    def end(self, sim, start: int, end: int) -> dict | None:
        """The run is over; returns keys to add to the result, or None."""


class BaseProbe:
    """Every hook a no-op; subclasses override what they need."""

    enabled = True

    def begin(self, sim):
        pass

    def server_queued(self, server, inference, ready, start):
        pass

    def server_job(self, server, inference, start, end):
        pass

    def boundary_message(self, seq, boundary, inference, message, payload_bits):
        pass

    def link_message(self, link, seq, first_start, last_end, flits, payload_bits):
        pass

    def link_flits(self, link, seq, ready, starts):
        pass

    def inference(self, inference, inject, done):
        pass

    def end(self, sim, start, end):
        return None


class NullProbe(BaseProbe):
    """Records nothing (the default): disabled, so no hook is ever called."""

    enabled = False


class _Completed(BaseProbe):
    """A probe written before some hooks existed, with the missing ones as no-ops."""

    def __init__(self, probe):
        self.enabled = probe.enabled
        for name in HOOKS:
            if hasattr(probe, name):
                setattr(self, name, getattr(probe, name))


def with_every_hook(probe):
    """``probe`` itself if it has every hook, else a wrapper adding the missing ones as no-ops."""
    if all(hasattr(probe, name) for name in HOOKS):
        return probe
    return _Completed(probe)


class RecordingProbe(BaseProbe):
    """Keeps every event as a tuple in a list per hook."""

    def __init__(self) -> None:
        self.server_jobs: list[tuple[str, int, int, int]] = []
        self.server_waits: list[tuple[str, int, int, int]] = []
        self.link_messages: list[tuple[str, int, int, int, int, int]] = []
        self.link_flit_times: list[tuple[str, int, np.ndarray, np.ndarray]] = []
        self.boundary_messages: list[tuple[int, int, int, int, int]] = []
        self.inferences: list[tuple[int, int, int]] = []

    def server_queued(self, server, inference, ready, start):
        self.server_waits.append((server, inference, ready, start))

    def server_job(self, server, inference, start, end):
        self.server_jobs.append((server, inference, start, end))

    def boundary_message(self, seq, boundary, inference, message, payload_bits):
        self.boundary_messages.append((seq, boundary, inference, message, payload_bits))

    def link_message(self, link, seq, first_start, last_end, flits, payload_bits):
        self.link_messages.append((link, seq, first_start, last_end, flits, payload_bits))

    def link_flits(self, link, seq, ready, starts):
        self.link_flit_times.append((link, seq, np.asarray(ready).copy(), np.asarray(starts).copy()))

    def inference(self, inference, inject, done):
        self.inferences.append((inference, inject, done))


class TeeProbe(BaseProbe):
    """Forwards every hook to each of ``probes`` in order; ``end`` merges what they add to the result."""

    def __init__(self, *probes):
        self.probes = [with_every_hook(p) for p in probes if p.enabled]
        self.enabled = bool(self.probes)

    def begin(self, sim):
        for p in self.probes:
            p.begin(sim)

    def server_queued(self, *args):
        for p in self.probes:
            p.server_queued(*args)

    def server_job(self, *args):
        for p in self.probes:
            p.server_job(*args)

    def boundary_message(self, *args):
        for p in self.probes:
            p.boundary_message(*args)

    def link_message(self, *args):
        for p in self.probes:
            p.link_message(*args)

    def link_flits(self, *args):
        for p in self.probes:
            p.link_flits(*args)

    def inference(self, *args):
        for p in self.probes:
            p.inference(*args)

    def end(self, sim, start, end):
        out: dict = {}
        for p in self.probes:
            out.update(p.end(sim, start, end) or {})
        return out or None


# ----------------------------------------------------------------------------------- link activity


@dataclass(frozen=True)
class LinkActivity:
    """What one message did on one link direction, in ticks.

    ``groups``: runs of back-to-back flits ``[(start, end, flits)]`` (serialization busy time);
    ``stalls``: credit stalls ``[(from, to)]``, times a flit was ready and the lanes were free but no
    receive-buffer credit was back; ``asleep``: the sleep this message's head ended (``(from, to)``) and
    ``wake``: the wake-up it waited for (``(from, to)``), or None; ``ready``: when its head arrived;
    ``start``/``end``: first flit start, last flit end.
    """

    link: str
    seq: int
    ready: int
    start: int
    end: int
    flits: int
    groups: tuple[tuple[int, int, int], ...]
    stalls: tuple[tuple[int, int], ...]
    asleep: tuple[int, int] | None
    wake: tuple[int, int] | None
    t_flit: int = 0

    def flit_starts(self):
        """The start tick of every flit, from the groups."""
        for a, _b, n in self.groups:
            yield from range(a, a + n * self.t_flit, self.t_flit)


class LinkEvents:
    """Derives :class:`LinkActivity` from the ``link_flits`` hook (both fidelities report the same flit
    times): flit ``k`` starts at ``max(ready_k, lanes free, credit back)`` (:mod:`snapsim.d2d.link`), so
    whatever of ``start_k - max(ready_k, lanes free)`` remains is a credit stall; the lanes are free at the
    previous flit's end, or for the head at the previous message's end and after a wake-up. A wake is read
    from the link's power policy (its ``wakes`` count); the sleep it ends began ``sleep_after`` ticks after
    the link last went idle (at tick 0 if never used), as :class:`snapsim.d2d.power.IdleTimer` defines.
    """

    def __init__(self, sim):
        self.links = {link.name: link for link in sim.net.links.values()}
        self._end: dict[str, int | None] = {name: None for name in self.links}
        self._wakes: dict[str, int] = {name: 0 for name in self.links}

    def activity(self, link: str, seq: int, ready, starts) -> LinkActivity:
        lk = self.links[link]
        t = lk.timing.t_flit
        ready = np.asarray(ready).tolist()
        starts = np.asarray(starts).tolist()
        prev_end = self._end[link]
        power = lk.power
        asleep = wake = None
        lane = 0 if prev_end is None else prev_end  # when the lanes are free for the next flit
        if power.wakes != self._wakes[link]:
            self._wakes[link] = power.wakes
            head = ready[0]
            slept = 0 if prev_end is None else prev_end + power.sleep_after
            asleep, wake = (slept, head), (head, head + power.wake)
            lane = max(lane, head + power.wake)
        stalls, groups = [], []
        first = prev = starts[0]
        count = 0
        for r, s in zip(ready, starts):
            avail = r if r > lane else lane
            if s > avail:  # ready, lanes free, no credit back yet
                stalls.append((avail, s))
            if count and s != prev + t:  # a gap: the back-to-back run ends
                groups.append((first, prev + t, count))
                first, count = s, 0
            prev = s
            count += 1
            lane = s + t
        groups.append((first, prev + t, count))
        self._end[link] = lane
        return LinkActivity(link, seq, ready[0], starts[0], lane, len(starts), tuple(groups), tuple(stalls), asleep,
                            wake, t)

    def final_sleep(self, link: str, end: int) -> tuple[int, int] | None:
        """The sleep still running at ``end`` (a link with power states), or None."""
        power = self.links[link].power
        if not power.sleeps:
            return None
        prev = self._end[link]
        slept = 0 if prev is None else prev + power.sleep_after
        return (slept, end) if slept < end else None
