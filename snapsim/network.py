"""The package network: directed D2D links between chiplets, assembled from injected parts, and message
delivery.

Parts (each injected, each with a default): the package description (:class:`snapsim.package.Package`:
routes, link configs and timings), the link model (:data:`snapsim.d2d.link.LINK_MODELS`: ``fast``
message-aggregate or ``reference`` flit-by-flit), the power policy of each link direction
(:func:`snapsim.d2d.power.power_policy`), the switch that forwards flits across an intermediate die
(:class:`snapsim.chiplet.switch.IdealSwitch`, the ideal level), a probe (:mod:`snapsim.probe`) and, per
link direction, its bit-error process seeded from ``seed`` (:mod:`snapsim.d2d.reliability`). A switch
with ``carries_messages`` (:class:`snapsim.chiplet.router.RouterSwitch`, the router level) instead takes
each whole message at ``send``, models the links' flits itself (``link_server`` gives each link's
counters) and hands deliveries back through :meth:`Network.deliver`. Framing is
:mod:`snapsim.d2d.framing`, shared with the analytical bounds.

A message travels its route hop by hop with cut-through forwarding: a flit that arrives at an
intermediate chiplet crosses that die (the switch) and is ready on the next link. A link with another
flit size re-frames the message: it leaves only once all of it has arrived (store-and-forward at that
hop). The message is delivered when its last flit is received at the destination.

Same-tick ordering: everything the links hand to each other or to the engine at one tick (a head flit
arriving at a link, a message delivered) is collected and processed in one batch at the end of that
tick, sorted by message sequence number. The order therefore never depends on the order SimPy happened
to schedule events in, and the reference and fast fidelities see identical orders.

Merged flows (fast link model, ideal switch, no probe; ``merge=False`` turns it off): a flow declared
with :meth:`Network.mark_route_used` whose links carry no other declared flow is served on every hop
when a message is sent, since nothing can interleave with it; only its delivery is an item of the
tick batches, and a group of such messages (a SNAP encoder's spike frames of one inference) is one
item at the last message's tick. The ticks are the same as hop by hop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import simpy

from .chiplet.switch import IdealSwitch
from .config.hardware import HardwareConfig, LinkConfig
from .d2d.link import LINK_MODELS
from .d2d.timing import FlitTimes, LinkTiming
from .d2d.power import power_policy
from .d2d.reliability import error_process
from .package import Package
from .probe import NullProbe, with_every_hook

__all__ = ["Network", "Message", "Group", "DirectedLink", "FIDELITIES"]

FIDELITIES = tuple(LINK_MODELS)
_LATE = 2  # SimPy priority below NORMAL(1): runs after every ordinary event of the same tick


def _order(item: tuple) -> tuple:
    return item[0], item[1]


class Group:
    """Completion of several messages at once: ``on_done()`` is called when the last of ``remaining``
    arrives (at the end of that tick, in message order)."""

    __slots__ = ("remaining", "on_done", "latest", "last")

    def __init__(self, remaining: int, on_done):
        self.remaining = remaining
        self.on_done = on_done
        self.latest = -1  # latest delivery tick known at send time (merged messages), and its message
        self.last = None


@dataclass
class Message:
    seq: int
    src: int
    dst: int
    payload_bits: int
    n_flits: int
    path: list[int]
    done: simpy.Event | None
    inject_tick: int
    group: Group | None = None
    on_done: object = None  # callable(message), instead of the done event
    hop: int = 0
    ready: FlitTimes | None = None  # fast: flit ready times at the current hop
    ready_events: list | None = None  # reference: per-flit ready events at the current hop
    ready_ticks: list | None = None  # reference, with an enabled probe: per-flit ready ticks at the current hop
    done_tick: int = -1


@dataclass
class DirectedLink:
    name: str
    src: int
    dst: int
    cfg: LinkConfig
    timing: LinkTiming
    server: object
    messages: int = 0
    payload_bits: int = 0
    wire_bits: int = 0
    used: bool = False

    @property
    def busy_ticks(self) -> int:
        return self.server.busy_ticks

    @property
    def flits(self) -> int:
        return self.server.flits_sent

    @property
    def power(self):
        return self.server.power

    @property
    def errors(self):
        """The link direction's error process (:mod:`snapsim.d2d.reliability`), or None if error free."""
        return getattr(self.server, "errors", None)

    @property
    def retry_bits(self) -> int:
        """Wire bits sent again by go-back-N (failed flits and the flits discarded after them)."""
        err = self.errors
        return 0 if err is None else err.retry_flits * self.timing.flit_bits


class Network:
    def __init__(
        self,
        env: simpy.Environment,
        package: Package | HardwareConfig,
        fidelity: str = "fast",
        *,
        power: Callable[[LinkTiming], object] = power_policy,
        switch=None,
        probe=None,
        merge: bool = True,
        seed: int = 0,
    ):
        if fidelity not in LINK_MODELS:
            raise ValueError(f"fidelity must be one of {FIDELITIES}")
        if isinstance(package, HardwareConfig):
            package = Package(package)
        self.env = env
        self.package = package
        self.fidelity = fidelity
        self.topology = package.topology
        self.switch = switch if switch is not None else IdealSwitch(package.transit_ticks)
        self.probe = with_every_hook(probe) if probe is not None else NullProbe()
        self._probing = bool(self.probe.enabled)  # read once: the per-message path tests a plain attribute
        self.route = package.route  # chiplets visited from src to dst (the package's routing)
        model = LINK_MODELS[fidelity]
        # a switch that carries whole messages (the router level) also models the links' flits
        self._carried = getattr(self.switch, "carries_messages", False)
        self.links: dict[tuple[int, int], DirectedLink] = {}
        for (s, d), timing in sorted(package.timing.items()):
            if self._carried:
                server = self.switch.link_server((s, d), timing, power(timing))
            else:
                server = model(env, timing, power(timing), error_process(timing, seed, package.link_name((s, d))))
            self.links[(s, d)] = DirectedLink(package.link_name((s, d)), s, d, package.link_config[(s, d)], timing,
                                              server)
        self._seq = 0
        self._buckets: dict[int, list[tuple[int, int, Message]]] = {}
        self.transit_bits: dict[int, int] = {c: 0 for c in range(package.n)}
        self._flows: dict[tuple[int, int], set[tuple[int, int]]] = {}  # link -> declared flows using it
        self._merge: dict[tuple[int, int], bool] = {}
        # merging needs link models that serve a message in one call and a switch without state
        self._can_merge = merge and fidelity == "fast" and type(self.switch) is IdealSwitch
        if self._carried:
            self.switch.attach(self)

    # ------------------------------------------------------------------------------------------ routes

    def mark_route_used(self, src: int, dst: int) -> None:
        """Declare the flow ``src -> dst``: its links count as used, and a flow whose links carry no other
        declared flow is served whole at send time (see :meth:`send`)."""
        path = self.route(src, dst)
        for a, b in zip(path[:-1], path[1:]):
            self.links[(a, b)].used = True
            self._flows.setdefault((a, b), set()).add((src, dst))
        self._merge.clear()

    def _merges(self, src: int, dst: int) -> bool:
        """Whether messages of ``src -> dst`` can be served on every hop when sent: the fast link model,
        the ideal switch, no probe, and a declared flow alone on each of its links, so no other message
        can interleave with it anywhere and serving it early changes nothing."""
        key = (src, dst)
        ok = self._merge.get(key)
        if ok is None:
            path = self.route(src, dst)
            ok = self._merge[key] = self._can_merge and all(
                self._flows.get((a, b)) == {key} for a, b in zip(path[:-1], path[1:]))
        return ok and not self._probing

    # ------------------------------------------------------------------------------------------ sending

    def send(self, src: int, dst: int, payload_bits: int, at: int | None = None, group: Group | None = None,
             on_done=None) -> Message:
        """Inject a message now (or at tick ``at`` >= now). When its last flit is received at ``dst``:
        ``on_done(message)`` is called if given, else the group is counted down if given, else
        ``message.done`` (a SimPy event) fires.

        A message of a declared flow that shares none of its links (:meth:`mark_route_used`) is served on
        every hop right away (its frames become one network operation) and only its delivery is an
        event; the messages of a group that all arrive so are delivered as one item, at the last one's
        tick and in its place in that tick's order. Everything else moves hop by hop at its head flit's
        tick. Both give the same ticks: a link serves one flow's messages in the order they are sent."""
        path = self.route(src, dst)
        env = self.env
        tick = env.now if at is None else at
        first = self.links[(path[0], path[1])]
        n = first.timing.flits(payload_bits)
        event = None if (group is not None or on_done is not None) else env.event()
        msg = Message(self._seq, src, dst, int(payload_bits), n, path, event, tick, group=group, on_done=on_done)
        self._seq += 1
        if self._carried:
            self.switch.send(msg)
            return msg
        if self.fidelity != "fast":
            self._at(tick, 0, msg)
            return msg
        msg.ready = FlitTimes(tick, 0, n)
        if not self._merges(src, dst):
            self._at(tick, 0, msg)
            return msg
        kind = 0
        while kind == 0:
            tick, kind = self._fast_hop(msg)
        msg.done_tick = tick
        if group is None:
            self._at(tick, 1, msg)
            return msg
        group.remaining -= 1
        if (tick, msg.seq) > (group.latest, -1 if group.last is None else group.last.seq):
            group.latest, group.last = tick, msg
        if group.remaining == 0:
            self._at(group.latest, 2, group.last)
        return msg

    def deliver(self, msg: Message, tick: int) -> None:
        """A switch that carries whole messages delivers ``msg`` at ``tick`` (>= now), in the end-of-tick batch."""
        self._at(tick, 1, msg)

    def _enqueue(self, kind: int, msg: Message) -> None:
        """kind 0: head flit at the link of hop ``msg.hop``; kind 1: message delivered; kind 2: the last
        message of ``msg.group`` delivered (the others were delivered before). All now."""
        self._at(self.env.now, kind, msg)

    def _at(self, tick: int, kind: int, msg: Message) -> None:
        """Queue an item for the end of ``tick``: one LATE-priority event per tick serves all its items."""
        bucket = self._buckets.get(tick)
        if bucket is None:
            bucket = self._buckets[tick] = []
            ev = self.env.event()
            ev._ok = True  # a pre-triggered event scheduled at LATE priority (SimPy has no public API for this)
            ev._value = tick
            ev.callbacks.append(self._flush)
            self.env.schedule(ev, priority=_LATE, delay=tick - self.env.now)
        bucket.append((msg.seq, kind, msg))

    def _flush(self, ev) -> None:
        batch = self._buckets.pop(ev._value)
        batch.sort(key=_order)
        for _seq, kind, msg in batch:
            if kind == 1:
                msg.done_tick = self.env.now
                if msg.on_done is not None:
                    msg.on_done(msg)
                elif msg.group is not None:
                    group = msg.group
                    group.remaining -= 1
                    if group.remaining == 0:
                        if group.latest > self.env.now:  # a merged message of the group arrives later
                            self._at(group.latest, 2, group.last)
                        else:
                            group.on_done()
                else:
                    msg.done.succeed(msg)
            elif kind == 2:
                msg.group.on_done()
            elif self.fidelity == "fast":
                tick, kind = self._fast_hop(msg)
                self._at(tick, kind, msg)
            else:
                self._reference_hop(msg)

    def _account(self, msg: Message) -> tuple[DirectedLink, int, bool]:
        """Count message ``msg`` on the link of its current hop: (the link, its flits there, last hop?)."""
        a, b = msg.path[msg.hop], msg.path[msg.hop + 1]
        link = self.links[(a, b)]
        n = msg.n_flits if msg.hop == 0 else link.timing.flits(msg.payload_bits)
        # A link with another flit size re-frames the message: it leaves only once all of it has arrived
        # (store-and-forward at that hop); equal framing keeps flit-level cut-through.
        msg.n_flits = n
        link.messages += 1
        link.payload_bits += msg.payload_bits
        link.wire_bits += n * link.timing.flit_bits
        if msg.hop > 0:
            self.transit_bits[a] += n * link.timing.flit_bits
        return link, n, msg.hop + 2 == len(msg.path)

    def _fast_hop(self, msg: Message) -> tuple[int, int]:
        """Serve ``msg`` on the link of its current hop (fast link model); returns the tick and kind of what
        follows: its head flit at the next hop (0) or its delivery (1)."""
        link, n, last_hop = self._account(msg)
        tm = link.timing
        ready = msg.ready
        if ready.n != n:
            ready = FlitTimes(ready.last, 0, n)  # re-framed: whole message must have arrived
        starts = link.server.serve(ready)
        if self._probing:
            self.probe.link_message(link.name, msg.seq, starts.first, starts.last + tm.t_flit, n, msg.payload_bits)
            self.probe.link_flits(link.name, msg.seq, ready.to_array(), starts.to_array())
        if last_hop:
            return starts.last + tm.t_flit + tm.latency, 1
        msg.ready = self.switch.forward(link.dst, starts.shifted(tm.t_flit + tm.latency))
        msg.hop += 1
        return msg.ready.first, 0

    def _reference_hop(self, msg: Message) -> None:
        link, n, last_hop = self._account(msg)
        env = self.env
        tm = link.timing
        ready_events = msg.ready_events
        if ready_events is not None and len(ready_events) != n:
            last = ready_events[-1]
            ready_events = [last] * n
        report = None
        nxt_ticks: list | None = None
        if self._probing:
            starts = [0] * n
            if ready_events is None:  # first hop: every flit ready now
                ready_ticks = [env.now] * n
            elif len(msg.ready_ticks) != n:  # re-framed: ready once the whole message has arrived
                ready_ticks = [msg.ready_ticks[-1]] * n
            else:  # filled by the previous hop as its flits start (complete before this hop's last flit)
                ready_ticks = msg.ready_ticks
            nxt_ticks = [0] * n

            def report(k: int, start: int) -> None:
                starts[k] = start
                if k == n - 1:
                    self.probe.link_message(link.name, msg.seq, starts[0], start + tm.t_flit, n, msg.payload_bits)
                    self.probe.link_flits(link.name, msg.seq, np.asarray(ready_ticks, dtype=np.int64),
                                          np.asarray(starts, dtype=np.int64))

        if last_hop:
            def on_flit(k: int, start: int) -> None:
                if report is not None:
                    report(k, start)
                if k == n - 1:
                    self._at(start + tm.t_flit + tm.latency, 1, msg)

        else:
            nxt_events = [env.event() for _ in range(n)]
            delay = tm.t_flit + tm.latency + self.switch.delay(link.dst)

            def on_flit(k: int, start: int) -> None:
                if report is not None:
                    nxt_ticks[k] = start + delay
                    report(k, start)
                ev = env.timeout(start + delay - env.now)
                target = nxt_events[k]
                ev.callbacks.append(lambda _e: target.succeed())
                if k == 0:
                    def head(_e):
                        msg.hop += 1
                        msg.ready_events = nxt_events
                        msg.ready_ticks = nxt_ticks
                        self._enqueue(0, msg)
                    ev.callbacks.append(head)

        link.server.submit(n, ready_events, on_flit)

    # -------------------------------------------------------------------------------------------- stats

    def used_links(self) -> list[DirectedLink]:
        return [l for _k, l in sorted(self.links.items()) if l.used]
