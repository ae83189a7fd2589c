"""A run's timeline as a Perfetto trace (``snapsim run ... --timeline run.perfetto-trace``).

:class:`TimelineProbe` is a probe (:mod:`snapsim.probe`) that streams Perfetto's protobuf trace format
(``TracePacket``/``TrackEvent`` messages, built with the ``perfetto`` package's own protobuf bindings)
to a file as the run goes, so memory does not grow with the run. Open the file at ui.perfetto.dev.

Tracks (one per component; a chiplet's servers are grouped under the chiplet, links under "links"):

* ``c<k> compute`` / ``encoder`` / ``decoder``: one slice per job (``inference i``), with when it was
  ready and how long it queued;
* ``<src>-><dst>`` per link direction: one slice per message (``b<boundary> i<inference> m<message>``,
  with payload bits, encoding, flits and wire bits), nested inside it the flit groups (runs of
  back-to-back flits) and the credit stalls between them; before it, a credit stall of its head flit
  and, with link power states, ``asleep`` and ``wake`` slices.

Every slice of inference ``i`` carries flow id ``i + 1``, so the UI draws arrows along the inference's
path from the first compute job to the last. Time: Perfetto counts integer nanoseconds, and snapsim's
tick is 1 ps, so **timestamps are ticks: 1 ns shown in the UI is 1 ps simulated** (flits last tens to
hundreds of ps; rounding them to ns would erase them). The root track's name says so.

Size is bounded for long runs: ``window_ns=(start, stop)`` keeps only what overlaps that span of
simulated time, and ``max_events`` caps the events written (later ones are counted as dropped). The result
gets a ``timeline`` entry (path, events written and dropped, window).
"""

from __future__ import annotations

from pathlib import Path

from .probe import BaseProbe, LinkEvents
from .units import ns_to_ticks

__all__ = ["TimelineProbe", "TIME_NOTE", "timeline_path", "parse_window"]

TIME_NOTE = "timestamps are ps: 1 ns shown = 1 ps simulated"
_SEQ = 1  # trusted packet sequence id of every packet


_FLUSH = 4096  # packets serialized at once: a file of concatenated Trace messages is one Trace


def _bindings():
    try:
        from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb
    except ImportError as exc:  # pragma: no cover - a dependency of snapsim (setup.cfg)
        from .errors import SnapsimError

        raise SnapsimError("--timeline needs the perfetto package (pip install perfetto)") from exc
    return pb


class TimelineProbe(BaseProbe):
    """Writes the run's timeline to ``path`` (see the module docstring)."""

    def __init__(self, path: str | Path, window_ns: tuple[float, float] | None = None,
                 max_events: int | None = 1_000_000):
        self.path = Path(path)
        if window_ns is not None:
            lo, hi = window_ns
            if not 0 <= lo < hi:
                raise ValueError(f"window_ns must be (start, stop) with 0 <= start < stop; got {window_ns}")
            self.window = (ns_to_ticks(lo), ns_to_ticks(hi))
        else:
            self.window = None
        self.window_ns = window_ns
        self.max_events = max_events
        self.events = 0
        self.dropped = 0

    # ------------------------------------------------------------------------------------- writing

    def _packet(self):
        """A new packet of the pending batch (written to the file every ``_FLUSH`` packets)."""
        if len(self._batch.packet) >= _FLUSH:
            self._flush()
        p = self._batch.packet.add()
        p.trusted_packet_sequence_id = _SEQ
        return p

    def _flush(self) -> None:
        self._file.write(self._batch.SerializeToString())
        self._batch = self._pb.Trace()

    def _track(self, uuid: int, name: str, parent: int | None = None, rank: int = 0) -> None:
        p = self._packet()
        d = p.track_descriptor
        d.uuid = uuid
        d.name = name
        if parent is not None:
            d.parent_uuid = parent
            d.sibling_order_rank = rank
        d.child_ordering = self._pb.TrackDescriptor.EXPLICIT

    def _keep(self, a: int, b: int) -> bool:
        return self.window is None or (b > self.window[0] and a < self.window[1])

    def _unit(self, slices: list[tuple]) -> None:
        """Write a group of slices atomically (all or none): ``(track, name, begin, end, flow, args)``,
        parents before the children they contain. Out of the window: skipped; over the cap: dropped."""
        if not slices or not self._keep(min(s[2] for s in slices), max(s[3] for s in slices)):
            return
        if self.max_events is not None and self.events + 2 * len(slices) > self.max_events:
            self.dropped += 2 * len(slices)
            return
        TE = self._pb.TrackEvent
        # begins in order, ends in reverse: children nest inside their parent; siblings are disjoint
        stack: list[tuple] = []
        for track, name, a, b, flow, args in slices:
            while stack and stack[-1][1] <= a:
                self._end(*stack.pop())
            p = self._packet()
            p.timestamp = a
            ev = p.track_event
            ev.type = TE.TYPE_SLICE_BEGIN
            ev.track_uuid = track
            ev.name = name
            if flow is not None:
                ev.flow_ids.append(flow)
            for key, value in args.items():
                ann = ev.debug_annotations.add()
                ann.name = key
                if isinstance(value, str):
                    ann.string_value = value
                else:
                    ann.int_value = int(value)
            stack.append((track, b))
        while stack:
            self._end(*stack.pop())
        self.events += 2 * len(slices)

    def _end(self, track: int, b: int) -> None:
        p = self._packet()
        p.timestamp = b
        p.track_event.type = self._pb.TrackEvent.TYPE_SLICE_END
        p.track_event.track_uuid = track

    # --------------------------------------------------------------------------------------- hooks

    def begin(self, sim) -> None:
        self._pb = _bindings()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "wb")  # noqa: SIM115 - closed in end()
        self._batch = self._pb.Trace()
        first = self._packet()
        first.sequence_flags = self._pb.TracePacket.SEQ_INCREMENTAL_STATE_CLEARED
        first.timestamp = 0
        plan = sim.plan
        uuid = iter(range(1, 1 << 30))
        self.root = next(uuid)
        self._track(self.root, f"snapsim {plan.mode}: {plan.workload.name} on {plan.hw.name} ({TIME_NOTE})")
        self.servers: dict[str, int] = {}
        names = plan.workload.partition_names()
        for rank, c in enumerate(sorted(set(plan.chiplets))):
            parent = next(uuid)
            parts = [names[p.index] for p in plan.partitions if p.chiplet == c]
            self._track(parent, f"chiplet c{c} ({', '.join(parts)})", self.root, rank)
            kinds = ["compute"] + (["encoder", "decoder"] if plan.mode == "snap" else [])
            for r, kind in enumerate(kinds):
                self.servers[f"c{c}.{kind}"] = u = next(uuid)
                self._track(u, f"c{c} {kind}", parent, r)
        links_parent = next(uuid)
        self._track(links_parent, "links", self.root, len(self.servers) + 1000)
        self.link_tracks: dict[str, int] = {}
        for r, link in enumerate(sim.net.used_links()):
            self.link_tracks[link.name] = u = next(uuid)
            self._track(u, f"{link.name} ({link.cfg.name})", links_parent, r)
        self.linkev = LinkEvents(sim)
        self.flit_bits = {name: lk.timing.flit_bits for name, lk in self.linkev.links.items()}
        self.encodings = [str(bp.encoding) for bp in plan.boundaries]
        self.hops = [len(bp.hops) for bp in plan.boundaries]
        self._messages: dict[int, list[int]] = {}  # seq -> [boundary, inference, message, hops still to report]
        self._payload: dict[int, int] = {}  # seq -> payload bits, from link_message (just before link_flits)
        self._ready: dict[tuple[str, int], int] = {}

    def server_queued(self, server, inference, ready, start):
        self._ready[(server, inference)] = ready

    def server_job(self, server, inference, start, end):
        ready = self._ready.pop((server, inference), start)
        track = self.servers.get(server)
        if track is None:  # pragma: no cover - every server of the plan has a track
            return
        self._unit([(track, f"inference {inference}", start, end, inference + 1,
                     {"inference": inference, "ready_ps": ready, "queued_ps": start - ready})])

    def boundary_message(self, seq, boundary, inference, message, payload_bits):
        self._messages[seq] = [boundary, inference, message, self.hops[boundary]]

    def link_flits(self, link, seq, ready, starts):
        act = self.linkev.activity(link, seq, ready, starts)
        track = self.link_tracks.get(link)
        if track is None:  # pragma: no cover - only used links carry messages
            return
        b, i, m, left = self._messages.get(seq, (-1, -1, -1, 1))
        if left <= 1:
            self._messages.pop(seq, None)
        else:
            self._messages[seq][3] = left - 1
        payload = self._payload.pop(seq, 0)
        before = []
        if act.asleep is not None and act.asleep[1] > act.asleep[0]:
            before.append((track, "asleep", *act.asleep, None, {}))
        if act.wake is not None:
            before.append((track, "wake", *act.wake, None, {}))
        stalls = list(act.stalls)
        if stalls and stalls[0][1] <= act.start:  # the head's stall comes before the message starts
            a, z = stalls.pop(0)
            before.append((track, "credit stall", a, z, None, {}))
        for s in before:
            self._unit([s])
        args = {"seq": seq, "boundary": b, "inference": i, "message": m, "flits": act.flits,
                "payload_bits": payload,
                "wire_bits": act.flits * self.flit_bits[link],
                "encoding": self.encodings[b] if 0 <= b < len(self.encodings) else "?"}
        inner = [(track, f"flits x{n}", a, z, None, {"flits": n}) for a, z, n in act.groups]
        inner += [(track, "credit stall", a, z, None, {}) for a, z in stalls]
        inner.sort(key=lambda s: s[2])
        name = f"b{b} i{i} m{m}" if b >= 0 else f"message {seq}"
        self._unit([(track, name, act.start, act.end, i + 1 if i >= 0 else None, args)] + inner)

    def link_message(self, link, seq, first_start, last_end, flits, payload_bits):
        self._payload[seq] = payload_bits

    def end(self, sim, start, end) -> dict:
        for link, track in self.link_tracks.items():
            sleep = self.linkev.final_sleep(link, end)
            if sleep is not None:
                self._unit([(track, "asleep", *sleep, None, {})])
        self._flush()
        self._file.close()
        out = {"path": str(self.path), "events": self.events, "dropped_events": self.dropped,
               "time": TIME_NOTE}
        if self.window_ns is not None:
            out["window_ns"] = list(self.window_ns)
        return {"timeline": out}


def timeline_path(path: str | Path, mode: str, several: bool) -> Path:
    """Where the timeline of ``mode`` goes: ``path`` itself for one mode; with several modes, the mode is
    put before the suffix (``run.perfetto-trace`` -> ``run.snap.perfetto-trace``)."""
    path = Path(path)
    if not several:
        return path
    name = path.name
    stem, dot, suffix = name.partition(".")
    return path.with_name(f"{stem}.{mode}{dot}{suffix}" if dot else f"{name}.{mode}")


def parse_window(text: str) -> tuple[float, float]:
    """``"START:STOP"`` (ns of simulated time) -> ``(start, stop)``; raises ValueError saying why not."""
    try:
        lo, hi = (float(x) for x in text.split(":"))
    except ValueError:
        raise ValueError(f"expected START_NS:STOP_NS, e.g. 0:5000; got {text!r}") from None
    if not 0 <= lo < hi:
        raise ValueError(f"expected 0 <= START_NS < STOP_NS; got {text!r}")
    return lo, hi
