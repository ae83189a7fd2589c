"""The cycle-level router: an input-queued virtual-channel router, and the fabric of such routers that a
package (or a synthetic network-on-chip) becomes at the router level.

Model (one router per chiplet; port 0 is its terminal: the injection port from and the ejection port to
its network interface, the NIC; ports 1.. are its links, to neighbours in increasing id):

* **Buffers**: private per input virtual channel, ``buffer_flits_per_vc`` deep. An output VC is free for
  the next packet once the previous tail has left (``vc_reallocation: tail_sent``: the new packet may
  queue behind the old one in the downstream buffer, and is routed only when it reaches the front) or
  only once the downstream buffer is empty (``empty``: atomic). Wormhole takes a free VC whatever its
  room; virtual cut-through only if the downstream buffer has room for the whole packet.
* **Pipeline**, per head flit at a router, each stage a whole number of cycles: routing (RC,
  ``routing_delay_cycles``; 0 = lookahead), VC allocation (VA), switch allocation (SA), switch traversal
  (ST). Body flits skip RC and VA. A flit that finishes ST in cycle ``w`` starts on the channel in cycle
  ``w + 1``, takes ``ser`` cycles to transfer and ``lat`` more to arrive: it is buffered, and can start
  its next stage, in cycle ``w + 1 + ser + lat``. With ``speculative`` the head bids for the switch in its
  last VA cycle (speculative requests lose to non-speculative ones and are wasted when VA fails).
* **Allocators**: VA matches input VCs to output VCs (a head requests every free output VC its route
  permits, within its dateline class on rings and tori); SA matches input ports to output ports (each
  input port first picks, per output, its round-robin-next VC with a flit and a credit). Both are iSLIP
  (grant and accept round-robin pointers that move only on an accepted grant, in the first of
  ``allocator_iterations``) or a separable input-first allocator of round-robin arbiters. A request that
  loses is made again the next allocation cycle; one that cannot be made (no free VC, no credit, channel
  busy) waits for the event that enables it, which is equivalent and avoids polling.
* **Credits**, per VC: an upstream output VC holds one credit per free downstream slot. A flit leaving
  its buffer (the end of SA) sends a credit back; it is usable ``2 + credit latency + credit_delay_cycles``
  cycles later (one cycle to register, one to cross, the wire latency, the processing delay).
* **Injection and ejection** are ports of finite bandwidth (``injection/ejection_cycles_per_flit``). The
  NIC keeps an unbounded source queue; a flit created in cycle ``t`` can be written to the injection
  channel in cycle ``t + nic_delay_cycles - 1`` if a VC and a credit are free; the NIC consumes ejected
  flits at once and returns their credits.

Zero-load latency (closed form, :func:`zero_load_cycles`), for a packet of ``P`` flits crossing ``H``
routers over equal channels (injection, ``H - 1`` links, ejection)::

    T0 = nic + sum_c (ser_c + lat_c) + H * D + (P - 1) * max(S, ser)
    D  = R + V + S + T            (R + V + S - 1 + T when speculative)

(unequal channels: the slowest one that holds the tail back, see :func:`zero_load_cycles`). It is exact
when the buffers cover the credit round trip. The same router is used for a chiplet's D2D
ports inside :class:`snapsim.network.Network` (through :class:`RouterSwitch`, the switch seam) and for
synthetic traffic (:mod:`snapsim.noc`).

Time is whole router cycles (``clock_ghz`` of the routers, which must agree); link times in ticks are
rounded up to whole cycles.

This module is also compiled (:mod:`snapsim.native`): setup.py builds it with Cython and the C types of
``router.pxd``, which must name every attribute of :class:`RouterFabric` and :class:`Packet`. This source is
the only copy of the model; both copies give the same pinned results (tests/test_router_identity.py, run on
each by tests/test_native.py).
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import deque
from dataclasses import dataclass
from heapq import heappop, heappush
from itertools import compress
from typing import Callable, Mapping, Sequence

from ..config.hardware import RouterConfig
from ..errors import SnapsimError
from ..native import is_compiled
from ..topology import Topology
from ..units import cycles_to_ticks

__all__ = ["Packet", "Channel", "RouterFabric", "RouterSwitch", "zero_load_cycles", "router_pipeline_cycles"]

_IDLE, _VA, _ACTIVE = 0, 1, 2
_NIC = -2  # owner mark of an injection VC taken by the NIC
_FREE = (-1).__eq__  # an output VC's owner mark says it is free


class Packet:
    """A packet: ``size`` flits from terminal ``src`` to ``dst``, created in cycle ``created``.

    ``injected`` (head written to the injection channel) and ``arrived`` (tail ejected) are filled in by
    the fabric; ``tag`` is the caller's (a network message, a measurement flag). With deterministic routing
    ``route`` holds the options of each router on the path (an iterator over them once the head has left the
    NIC, taken as the head reaches each router)."""

    __slots__ = ("id", "src", "dst", "size", "created", "injected", "arrived", "route", "tag")

    def __init__(self, pid: int, src: int, dst: int, size: int, created: int, tag=None):
        self.id = pid
        self.src = src
        self.dst = dst
        self.size = size
        self.created = created
        self.injected = -1
        self.arrived = -1
        self.route = None
        self.tag = tag


@dataclass(frozen=True)
class Channel:
    """A directed channel between two routers in cycles: transfer ``ser`` per flit, then ``lat`` to arrive;
    its credits come back over a wire of ``credit_lat`` cycles."""

    ser: int
    lat: int
    credit_lat: int


def router_pipeline_cycles(cfg: RouterConfig) -> int:
    """D: cycles a head flit spends in one router at zero load (speculative: SA starts in VA's last cycle)."""
    if cfg.speculative:
        return cfg.routing_delay_cycles + cfg.vc_alloc_delay_cycles + cfg.sw_alloc_delay_cycles - 1 + \
            cfg.switch_traversal_delay_cycles
    return (cfg.routing_delay_cycles + cfg.vc_alloc_delay_cycles + cfg.sw_alloc_delay_cycles
            + cfg.switch_traversal_delay_cycles)


def zero_load_cycles(cfg: RouterConfig, channels: Sequence[Channel], flits: int) -> int:
    """Closed form: cycles from a packet's creation to its tail's ejection in an idle fabric.

    ``channels`` are the ones the packet crosses in order, injection and ejection included (so it crosses
    ``len(channels) - 1`` routers). The head starts on channel ``j`` at ``h_j = nic + sum_{i<j} (ser_i +
    lat_i + D)``; a body flit needs ``S + T`` per router and follows the one before it ``g_j = max(ser_j, S)``
    later on a router's channel (``ser_0`` on the injection channel). The tail is held back by one channel,
    the one that maximises ``h_j + (P - 1) g_j + sum_{i>=j} (ser_i + lat_i) + (m - j)(S + T)`` (``m`` =
    routers crossed). With equal channels this is ``nic + sum (ser + lat) + m D + (P - 1) max(ser, S)``."""
    D = router_pipeline_cycles(cfg)
    S, T = cfg.sw_alloc_delay_cycles, cfg.switch_traversal_delay_cycles
    m = len(channels) - 1
    head = cfg.nic_delay_cycles
    best = 0
    for j, ch in enumerate(channels):
        g = ch.ser if j == 0 else max(ch.ser, S)
        tail = head + (flits - 1) * g + sum(c.ser + c.lat for c in channels[j:]) + (m - j) * (S + T)
        best = max(best, tail)
        head += ch.ser + ch.lat + D
    return best


_COMPILED = is_compiled(__file__)  # built with Cython and router.pxd (snapsim/native.py), or run as Python


def _ints(values) -> Sequence[int]:
    """A table of integers the hot loops index: a C array compiled (a typed memoryview, router.pxd), a list in
    Python (which indexes lists faster than arrays)."""
    return array("l", values) if _COMPILED else list(values)


def _ahead(wheel: list[list], c: int, span: int) -> list[list]:
    """The slots of ``wheel`` (a power-of-two ring of per-cycle lists) for cycles ``c .. c + span - 1``."""
    M = len(wheel) - 1
    return [wheel[(c + d) & M] for d in range(span)]


def _first_from(items: list[int], start: int) -> int:
    """The first of the sorted ``items`` at or after ``start``, cyclically."""
    k = bisect_left(items, start)
    return items[k] if k < len(items) else items[0]


# The allocators match the inputs ``ibase .. ibase + n_in - 1`` of one router to its outputs ``obase .. obase +
# n_out - 1`` (its ports, or its VCs). A round-robin pointer holds the index of the input (output) it favours
# now and moves past a winner, wrapping within its range; ``reqs[input]`` lists the outputs it requests.


def _islip(reqs: dict[int, list[int]], gptr: list[int], aptr: list[int], n_in: int, n_out: int, iters: int,
           ibase: int, obase: int) -> dict[int, int]:
    """iSLIP: ``reqs[input]`` sorted. Grant pointers ``gptr[output]`` and accept pointers ``aptr[input]`` move
    only on grants accepted in the first iteration. Returns input -> output, in the order the matches were made
    (by iteration, then by input).

    In each iteration every unmatched output grants the first input requesting it (and unmatched when the
    iteration starts) at or after its grant pointer, and every input accepts the first output granting it at
    or after its accept pointer. Here the inputs accept in order and an output's grant is worked out only
    when an input's accept scan reaches it: the same matching as granting everything first, in far fewer
    steps when inputs request many outputs (VC allocation). An output accepted earlier in the same
    iteration is skipped: it granted the input that took it (and only accepted outputs' pointers move)."""
    if not reqs:
        return {}
    inputs = sorted(reqs)
    if sum(map(len, reqs.values())) == len(reqs):
        # one output each (typical of switch allocation): every output grants its first requester at or after
        # its pointer, which accepts; later iterations find every requested output taken
        grant: dict[int, int] = {}
        for i in inputs:
            o = reqs[i][0]
            g = grant.get(o)
            if g is None or g < gptr[o] <= i:  # inputs come in order: the first at or after the pointer
                grant[o] = i
        match: dict[int, int] = {}
        for i in inputs:
            o = reqs[i][0]
            if grant[o] == i:
                match[i] = o
                gptr[o] = ibase + (i - ibase + 1) % n_in
                aptr[i] = obase + (o - obase + 1) % n_out
        return match
    lists = list(reqs.values())
    requesters: dict[int, list[int]] | None = None  # output -> its requesting inputs (None: every input)
    if lists.count(lists[0]) != len(lists):
        requesters = {}
        for i in inputs:
            for o in reqs[i]:
                requesters.setdefault(o, []).append(i)
    inmatch: dict[int, int] = {}
    outmatch: set[int] = set()
    first = 0
    if requesters is None:
        # every input requests the same outputs (the heads of one port in VC allocation). First iteration: output o
        # grants the first input at or after gptr[o], so input i is granted by the outputs whose pointer lies after
        # the input before it (cyclically) and at or before i; it accepts the first of them from aptr[i], skipping
        # the outputs accepted earlier in the iteration (only their pointers have moved)
        outs = lists[0]
        prev = inputs[-1]
        for i in inputs:
            k = bisect_left(outs, aptr[i])
            wrap = prev >= i  # the first input (or the only one): its interval wraps around
            for o in (outs[k:] + outs[:k]) if k else outs:
                if o in outmatch:
                    continue
                g = gptr[o]
                if (g <= i or g > prev) if wrap else (prev < g <= i):
                    inmatch[i] = o
                    outmatch.add(o)
                    gptr[o] = ibase + (i - ibase + 1) % n_in
                    aptr[i] = obase + (o - obase + 1) % n_out
                    break
            prev = i
        if not inmatch:
            return inmatch
        first = 1
    for it in range(first, iters):
        matched = set(inmatch)  # inputs matched when the iteration starts: outputs no longer grant them
        grant = {}
        progress = False
        for i in inputs:
            if i in matched:
                continue
            outs = reqs[i]
            n = len(outs)
            k = bisect_left(outs, aptr[i])
            for j in range(k, k + n):
                o = outs[j % n]
                if o in outmatch:
                    continue
                g = grant.get(o)
                if g is None:
                    ins = inputs if requesters is None else requesters[o]
                    kk = bisect_left(ins, gptr[o])
                    if not matched:
                        g = ins[kk] if kk < len(ins) else ins[0]
                    else:
                        g = -1
                        for j2 in range(kk, kk + len(ins)):
                            x = ins[j2 % len(ins)]
                            if x not in matched:
                                g = x
                                break
                    grant[o] = g
                if g == i:
                    inmatch[i] = o
                    outmatch.add(o)
                    if it == 0:
                        gptr[o] = ibase + (i - ibase + 1) % n_in
                        aptr[i] = obase + (o - obase + 1) % n_out
                    progress = True
                    break
        if not progress:
            break
    return inmatch


def _separable(reqs: dict[int, list[int]], optr: list[int], iptr: list[int], n_in: int, n_out: int,
               ibase: int, obase: int) -> dict[int, int]:
    """Separable input-first allocation with round-robin arbiters: each input picks one of its outputs
    (round-robin from its pointer), each output one of the inputs that picked it; the winners' arbiters
    move past the winner."""
    picked: dict[int, list[int]] = {}
    for i in sorted(reqs):
        picked.setdefault(_first_from(reqs[i], iptr[i]), []).append(i)
    match: dict[int, int] = {}
    for o in sorted(picked):
        i = _first_from(picked[o], optr[o])
        match[i] = o
        iptr[i] = obase + (o - obase + 1) % n_out
        optr[o] = ibase + (i - ibase + 1) % n_in
    return match


class RouterFabric:
    """Routers on a topology, joined by channels, each with a terminal (its NIC), simulated cycle by cycle.

    ``inject(packet)`` queues a packet at its source NIC (created in a cycle >= the current one);
    ``run(until)`` advances to cycle ``until``; delivered packets are appended to ``delivered`` (and
    ``on_deliver(packet)`` is called if given). Counters: ``flits_ejected[t]``, ``traversals`` (router
    flit-hops), ``channel_flits[(a, b)]``.
    """

    def __init__(self, topology: Topology, router: RouterConfig, channels: Mapping[tuple[int, int], Channel],
                 on_deliver: Callable[[Packet], None] | None = None):
        self.topology = topology
        self.cfg = cfg = router
        R = self.n = topology.n
        nbrs = [sorted(topology.adj[r]) for r in range(R)]
        P = self.P = 1 + max((len(x) for x in nbrs), default=0)
        V = self.V = cfg.vcs_per_port
        self.B = cfg.buffer_flits_per_vc
        self.port_of = [{n: k + 1 for k, n in enumerate(nbrs[r])} for r in range(R)]
        self.vct = cfg.flow_control == "virtual_cut_through"
        self.early = cfg.vc_reallocation == "tail_sent"  # release at the tail, not once drained
        self.dateline = topology.cfg.kind in ("torus2d", "ring")
        if self.dateline and V % 2:
            raise SnapsimError(f"router: a {topology.cfg.kind} needs an even vcs_per_port (two dateline classes); "
                               f"got {V}")
        n_in, n_out = R * P, R * P + R
        self.o_down = _ints([-1] * n_out)
        self.o_ser = _ints([1] * n_out)
        self.o_lat = _ints([0] * n_out)
        self.o_cret = _ints([0] * n_out)
        self.i_up = _ints([-1] * n_in)
        self.o_edge: list[tuple[int, int] | None] = [None] * n_out
        cd = cfg.credit_delay_cycles
        for r in range(R):
            for nb, p in self.port_of[r].items():
                og = r * P + p
                ch = channels[(r, nb)]
                ig = nb * P + self.port_of[nb][r]
                self.o_down[og], self.o_ser[og], self.o_lat[og] = ig, ch.ser, ch.lat
                self.o_cret[og] = 2 + ch.credit_lat + cd
                self.i_up[ig] = og
                self.o_edge[og] = (r, nb)
            ej = r * P  # ejection: out port 0, consumed by the NIC
            self.o_ser[ej], self.o_lat[ej] = cfg.ejection_cycles_per_flit, cfg.terminal_latency_cycles
            self.o_cret[ej] = 2 + cfg.terminal_latency_cycles + cd
            nic = R * P + r  # the NIC's output into the router's port 0
            self.o_down[nic], self.o_ser[nic], self.o_lat[nic] = r * P, cfg.injection_cycles_per_flit, \
                cfg.terminal_latency_cycles
            self.o_cret[nic] = 2 + cfg.terminal_latency_cycles
            self.i_up[r * P] = nic
        Td = cfg.switch_traversal_delay_cycles
        # a flit granted (SA done) in cycle u leaves ST in u + Td, starts on the channel the cycle after and
        # is buffered downstream ser + lat later; the channel takes the next flit ser cycles after it
        self.o_dly = _ints([Td + 1 + self.o_ser[og] + self.o_lat[og] for og in range(n_out)])
        self.o_free = _ints([Td + 1 + self.o_ser[og] for og in range(n_out)])
        # input VC state
        self.ibuf = [deque() for _ in range(n_in * V)]
        self.ist = _ints([_IDLE] * (n_in * V))
        self.iopt: list = [None] * (n_in * V)
        self.iov = _ints([-1] * (n_in * V))
        self.ipend = _ints([0] * (n_in * V))  # an SA request or grant is pending
        self.ispec = _ints([0] * (n_in * V))
        # output VC state (downstream buffer as seen from upstream)
        self.ocr = _ints([self.B] * (n_out * V))
        self.oown = _ints([-1] * (n_out * V))
        self.otail = _ints([0] * (n_out * V))
        self.owait = _ints([-1] * (n_out * V))  # an input VC waiting for a credit of this output VC
        # a credit coming back to this output VC needs more than counting: its VC is released once the buffer
        # is empty (otail), an input VC waits for it (owait), or (virtual cut-through) the room it makes may let
        # a waiting head take the VC
        self.owatch = _ints([1 if self.vct else 0] * (n_out * V))
        self.o_busy = _ints([0] * n_out)  # first cycle the channel can start a new flit
        self.in_stamp = _ints([-1] * n_in)  # the last cycle an SA request used this input port
        self.out_stamp = _ints([-1] * n_out)
        self.r_stamp = _ints([-1] * R)  # the last cycle this router had contending SA requests
        self.pwait: list[list[int]] = [[] for _ in range(n_out)]  # input VCs waiting for a free VC here
        # allocator pointers (see _islip), all starting at the router's first input (output) port or VC: VA's
        # per output VC and input VC, SA's per output port and input port, and each input port's pointer to the
        # VC that bids for the switch next
        PV = P * V
        self.va_g = _ints([x - x % PV for x in range(n_out * V)])
        self.va_a = _ints([x - x % PV for x in range(n_in * V)])
        self.sa_g = _ints([x - x % P for x in range(n_out)])
        self.sa_a = _ints([x - x % P for x in range(n_in)])
        self.sa_rr = _ints([ig * V for ig in range(n_in)])
        # NICs: a queue of packets each; the head packet's flits are written one by one (nic_k: the next one).
        # A terminal with packets is in exactly one of nic_ready (its head packet may be written: polled every
        # cycle) and nic_sleep (a heap of (cycle its head packet is ready, terminal)): idle NICs cost nothing.
        self.nic_q: list[deque] = [deque() for _ in range(R)]
        self.nic_k = _ints([0] * R)
        self.nic_vc = _ints([-1] * R)
        self.nic_last = _ints([-1] * R)
        self.nic_ready: set[int] = set()
        self.nic_sleep: list[tuple[int, int]] = []
        # the VCs in round-robin order after the last one used (-1, none yet, indexes the same order as V - 1)
        self.nic_rot = [tuple((last + j) % V for j in range(1, V + 1)) for last in range(V)]
        # cycles from writing a flit to the injection channel to its arrival in the router's input buffer
        self.nic_dly = _ints([1 + self.o_ser[R * P + t] + self.o_lat[R * P + t] for t in range(R)])
        # per-VC tables for the hot loops (a subscript instead of index arithmetic)
        NI = n_in * V
        up = [self.i_up[ivc // V] for ivc in range(NI)]
        # a flit leaving input VC ivc returns a credit to the upstream output VC i_cred[ivc], i_cret[ivc] later
        self.i_cred = _ints([-1 if up[ivc] < 0 else up[ivc] * V + ivc % V for ivc in range(NI)])
        self.i_cret = _ints([0 if up[ivc] < 0 else self.o_cret[up[ivc]] for ivc in range(NI)])
        # the input VC an output VC feeds (-1: an ejection port, consumed by the NIC)
        self.v_next = _ints([-1 if self.o_down[ovc // V] < 0 else (self.o_down[ovc // V] - ovc // V) * V + ovc
                             for ovc in range(n_out * V)])
        # where a pointer goes when x wins: the next of the router's VCs, of its ports, of a port's VCs
        self.after_pv = _ints([x - x % PV + (x + 1) % PV for x in range(n_out * V)])
        self.after_p = _ints([x - x % P + (x + 1) % P for x in range(n_out)])
        self.after_v = _ints([x - x % V + (x + 1) % V for x in range(NI)])
        # a router's channel is never still busy when SA would send on it if no flit takes longer to transfer
        # than SA takes: then neither SA nor its grants need to look at it
        self.chan_waits = max(self.o_ser[:R * P]) > cfg.sw_alloc_delay_cycles
        # the usual switch allocation: 1 cycle, no speculation, no channel to wait for (see _sa_plain)
        self.sa_plain = cfg.sw_alloc_delay_cycles == 1 and not cfg.speculative and not self.chan_waits
        # VA splits by output port (deterministic routing: iport, the port of the head in each input VC) or by
        # router (i_router)
        self.iport = _ints([-1] * NI)
        self.i_router = _ints([ivc // PV for ivc in range(NI)])
        # the port of each VC (input or output): a subscript allocates no int, unlike ivc // V
        self.v_port = _ints([x // V for x in range(n_out * V)])
        # event wheel
        horizon = (cfg.routing_delay_cycles + cfg.vc_alloc_delay_cycles + cfg.sw_alloc_delay_cycles
                   + cfg.switch_traversal_delay_cycles + max(self.o_ser) + max(self.o_lat) + max(self.o_cret)
                   + cfg.nic_delay_cycles + 8)
        W = 1
        while W < horizon:
            W *= 2
        self.W, self.M = W, W - 1
        self.v_cret = _ints([self.o_cret[og] for og in range(n_out) for _v in range(V)])  # per output VC
        self.cret_span, self.dly_span = max(self.o_cret) + 1, max(self.o_dly) + 1
        self.w_cred = [[] for _ in range(W)]
        self.w_arr = [[] for _ in range(W)]
        self.w_ej = [[] for _ in range(W)]
        # these three keep their slot lists (emptied, never replaced): the slots ahead of each cycle, once
        self.cred_ahead = [_ahead(self.w_cred, s, self.cret_span) for s in range(W)]
        self.arr_ahead = [_ahead(self.w_arr, s, self.dly_span) for s in range(W)]
        self.ej_ahead = [_ahead(self.w_ej, s, self.dly_span) for s in range(W)]
        self.w_va = [[] for _ in range(W)]
        self.w_sa = [[] for _ in range(W)]
        self.w_up = [[] for _ in range(W)]  # SA grants whose update (flit leaves the buffer) is due
        self.w_vaup = [[] for _ in range(W)]  # VA grants whose update is due (VA delay > 1)
        self.now = 0
        self.pending = 0  # flits inside the fabric or queued at NICs
        self.inflight = 0  # flits written to an injection channel and not yet ejected
        self.delivered: list[Packet] = []
        self.on_deliver = on_deliver
        self.flits_ejected = _ints([0] * R)
        self.traversals = 0
        self.o_flits = _ints([0] * n_out)
        self._routes: dict[tuple[int, int], tuple] = {}
        self._route_of: list[tuple | None] = [None] * (R * R)  # the same, by src * n + dst
        self._adapt: dict[tuple[int, int, int], tuple] = {}
        self.adaptive = topology.adaptive
        # False: the shortcuts for uncontended requests (a lone head at an output port, requests sharing no
        # port) are used; True: every allocation goes through the general allocator (tests compare the two)
        self.general = False

    # ------------------------------------------------------------------------------------------ build

    @classmethod
    def from_package(cls, package, on_deliver=None) -> "RouterFabric":
        """The router fabric of a :class:`snapsim.package.Package`: every chiplet's router (all alike), its
        links as channels (their timing rounded up to whole router cycles)."""
        hw = package.hw
        cfgs = [hw.chiplet_config(c).router for c in range(package.n)]
        if any(c is None for c in cfgs):
            missing = [c for c in range(package.n) if cfgs[c] is None]
            raise SnapsimError(f"router level: chiplet {missing[0]} has no router config (chiplet.router)")
        base = cfgs[0]
        if any(c.model_dump(exclude={"sources"}) != base.model_dump(exclude={"sources"}) for c in cfgs[1:]):
            raise SnapsimError("router level: every chiplet's router must be configured alike")
        flit_bits = {tm.flit_bits for tm in package.timing.values()}
        if len(flit_bits) > 1:
            raise SnapsimError("router level: every link must use the same flit size (routers do not re-frame)")
        return cls(package.topology, base, channels_of(package, base), on_deliver)

    def cycle_ticks(self) -> int:
        return cycles_to_ticks(1, self.cfg.clock_ghz)

    # ----------------------------------------------------------------------------------------- routes

    def channel(self, og: int) -> Channel:
        return Channel(self.o_ser[og], self.o_lat[og], self.o_cret[og] - 2 - self.cfg.credit_delay_cycles)

    def path_channels(self, src: int, dst: int) -> list[Channel]:
        """Channels a packet from ``src`` to ``dst`` crosses (injection, links, ejection), on the route the
        ideal network takes (the adaptive routings' first choice)."""
        P = self.P
        path = self.topology.route(src, dst)
        out = [self.channel(self.n * P + src)]
        out += [self.channel(a * P + self.port_of[a][b]) for a, b in zip(path[:-1], path[1:])]
        out.append(self.channel(dst * P))
        return out

    def _route(self, src: int, dst: int) -> tuple:
        """Per router of a deterministic route: (out port, options ((out port, first VC, end VC),)) of its hop."""
        key = (src, dst)
        r = self._routes.get(key)
        if r is None:
            topo, P, V = self.topology, self.P, self.V
            path = topo.route(src, dst)
            hops = []
            cls, dim = 0, -1
            half = V // 2
            for a, b in zip(path[:-1], path[1:]):
                og = a * P + self.port_of[a][b]
                if self.dateline:
                    d = topo.dimension(a, b)
                    if d != dim:
                        cls, dim = 0, d
                    if topo.crosses_dateline(a, b):
                        cls = 1
                    hops.append((og, ((og, og * V + cls * half, og * V + (cls + 1) * half),)))
                else:
                    hops.append((og, ((og, og * V, og * V + V),)))
            hops.append((dst * P, ((dst * P, dst * P * V, dst * P * V + V),)))
            r = self._routes[key] = self._route_of[src * self.n + dst] = tuple(hops)
        return r

    def _route_head(self, ivc: int, pkt: Packet) -> None:
        """The head of ``pkt`` is at the front of input VC ``ivc``: its routing options there (RC)."""
        if self.adaptive:
            self.iopt[ivc] = self._options(ivc // (self.P * self.V), pkt)
        else:
            self.iport[ivc], self.iopt[ivc] = next(pkt.route)

    def _options(self, r: int, pkt: Packet) -> tuple:
        """Adaptive routing: the options of every port the routing permits at router ``r``."""
        key = (r, pkt.src, pkt.dst)
        opts = self._adapt.get(key)
        if opts is None:
            P, V = self.P, self.V
            if r == pkt.dst:
                opts = ((r * P, r * P * V, r * P * V + V),)
            else:
                opts = tuple((r * P + self.port_of[r][b], (r * P + self.port_of[r][b]) * V,
                              (r * P + self.port_of[r][b]) * V + V)
                             for b in self.topology.next_hops(r, pkt.src, pkt.dst))
            self._adapt[key] = opts
        return opts

    # ---------------------------------------------------------------------------------------- traffic

    def inject(self, pkt: Packet) -> None:
        """Queue ``pkt`` at its source NIC; its head can be written ``nic_delay_cycles - 1`` after ``created``."""
        self.inject_all((pkt,))

    def inject_all(self, pkts: Sequence[Packet]) -> None:
        """:meth:`inject` each of ``pkts`` in order."""
        now, n = self.now, self.n
        nd1 = self.cfg.nic_delay_cycles - 1
        nic_q, sleep, routes = self.nic_q, self.nic_sleep, self._route_of
        adaptive = self.adaptive
        flits = 0
        try:
            for pkt in pkts:
                created, src = pkt.created, pkt.src
                if created < now:
                    raise ValueError(f"packet created in cycle {created}, before the fabric's cycle {now}")
                if not adaptive:
                    rt = routes[src * n + pkt.dst]
                    if rt is None:
                        rt = self._route(src, pkt.dst)
                    pkt.route = rt  # iterated from the NIC on (an iterator only while the packet travels)
                q = nic_q[src]
                q.append(pkt)
                if len(q) == 1:  # the NIC was idle: it wakes when this packet is ready
                    heappush(sleep, (created + nd1, src))
                flits += pkt.size
        finally:  # the packets queued before a bad one stay queued, and counted
            self.pending += flits

    @property
    def idle(self) -> bool:
        return self.pending == 0

    def next_busy_cycle(self) -> int:
        """The first cycle >= now in which anything can happen (packets waiting at NICs for their creation
        cycle make the fabric quiet until then); ``now`` unless nothing is in flight."""
        if self.inflight or not self.pending or self.nic_ready:
            return self.now
        for lists in (self.w_cred, self.w_arr, self.w_ej, self.w_va, self.w_sa, self.w_up, self.w_vaup):
            if any(lists):
                return self.now
        return max(self.now, self.nic_sleep[0][0])

    def skip_to(self, cycle: int) -> None:
        """Advance an quiet fabric to ``cycle`` without simulating the empty cycles in between."""
        if cycle > self.now:
            if self.next_busy_cycle() < cycle:
                raise ValueError("skip_to past a cycle with work")
            self.now = cycle

    # ------------------------------------------------------------------------------------------- run

    def run(self, until: int) -> None:
        """Simulate cycles ``now .. until - 1``."""
        M, V, B, P = self.M, self.V, self.B, self.P
        PV = P * V
        Rd = self.cfg.routing_delay_cycles
        w_cred, w_arr, w_ej, w_va, w_sa, w_up, w_vaup = (self.w_cred, self.w_arr, self.w_ej, self.w_va, self.w_sa,
                                                         self.w_up, self.w_vaup)
        ibuf, ist, ipend, iopt, iport = self.ibuf, self.ist, self.ipend, self.iopt, self.iport
        ocr, oown, otail, owait, owatch, pwait = self.ocr, self.oown, self.otail, self.owait, self.owatch, self.pwait
        vct = self.vct
        delivered, on_deliver, flits_ejected = self.delivered, self.on_deliver, self.flits_ejected
        v_cret, cred_ahead = self.v_cret, self.cred_ahead
        nic_ready, nic_sleep = self.nic_ready, self.nic_sleep
        options, adaptive = self._options, self.adaptive
        next_hop = next
        c = self.now
        while c < until:
            s = c & M
            # 1. credits (and the VC releases and wake-ups they bring)
            lst = w_cred[s]
            if lst:
                for ovc in lst:
                    ocr[ovc] += 1
                    if owatch[ovc]:
                        if otail[ovc] and ocr[ovc] == B:
                            otail[ovc] = 0
                            oown[ovc] = -1
                            og = ovc // V
                            if pwait[og]:
                                self._wake_port(og, c)
                        elif vct and oown[ovc] == -1 and pwait[ovc // V]:
                            self._wake_port(ovc // V, c)
                        x = owait[ovc]
                        if x >= 0:
                            owait[ovc] = -1
                            w_sa[s].append(x)
                        owatch[ovc] = vct or otail[ovc]
                lst.clear()
            # 2. flits arriving at router input buffers
            lst = w_arr[s]
            if lst:
                va_at = w_va[(c + Rd) & M]
                sa_now = w_sa[s]
                if adaptive:
                    for ivc, f in lst:
                        buf = ibuf[ivc]
                        buf.append(f)
                        st = ist[ivc]
                        if st == _IDLE:  # a head: RC
                            ist[ivc] = _VA
                            iopt[ivc] = options(ivc // PV, f[0])
                            va_at.append(ivc)
                        elif st == _ACTIVE and not ipend[ivc] and len(buf) == 1:
                            ipend[ivc] = 1
                            sa_now.append(ivc)
                else:  # the same, the route's next hop taken as RC
                    for ivc, f in lst:
                        buf = ibuf[ivc]
                        buf.append(f)
                        st = ist[ivc]
                        if st == _IDLE:
                            ist[ivc] = _VA
                            pkt = f[0]
                            iport[ivc], iopt[ivc] = next_hop(pkt.route)
                            va_at.append(ivc)
                        elif st == _ACTIVE and not ipend[ivc] and len(buf) == 1:
                            ipend[ivc] = 1
                            sa_now.append(ivc)
                lst.clear()
            # 3. flits arriving at NICs
            lst = w_ej[s]
            if lst:
                self.pending -= len(lst)
                self.inflight -= len(lst)
                cred_at = cred_ahead[s]
                for ovc, f in lst:
                    cred_at[v_cret[ovc]].append(ovc)
                    pkt = f[0]
                    flits_ejected[pkt.dst] += 1
                    if f[2]:
                        pkt.arrived = c
                        delivered.append(pkt)
                        if on_deliver is not None:
                            on_deliver(pkt)
                lst.clear()
            # 4. NICs write flits to their injection channels
            if nic_ready or (nic_sleep and nic_sleep[0][0] <= c):
                self._nics(c)
            # 5. VC allocation, 6. switch allocation: evaluation, then the grants due now take effect (the
            # evaluation's own with a 1-cycle SA)
            if w_va[s]:
                self._va(c)
            if w_vaup[s]:
                self._va_updates(c)
            if w_sa[s]:
                self._sa(c)
            if w_up[s]:
                self._sa_update(c)
            c += 1
        self.now = c

    def run_until_idle(self, limit: int | None = None) -> None:
        """Run until every injected packet is delivered (or cycle ``limit``)."""
        while self.pending and (limit is None or self.now < limit):
            self.run(self.now + 64 if limit is None else min(limit, self.now + 64))

    # ----------------------------------------------------------------------------------------- stages

    def _wake_port(self, og: int, c: int) -> None:
        """Output VCs of ``og`` became free: heads waiting for one retry VA at their next VA cycle."""
        waiters = self.pwait[og]
        lst = self.w_va[c & self.M]
        for ivc in waiters:
            if self.ist[ivc] == _VA and self.ipend[ivc] == 2:  # still waiting
                self.ipend[ivc] = 0
                lst.append(ivc)
        waiters.clear()

    def _nics(self, c: int) -> None:
        """NICs whose head packet is ready write its next flit to their injection channel (one per cycle) when
        the channel, a VC (for a head: the first free one after the last used, round robin) and a credit allow."""
        ready, sleep = self.nic_ready, self.nic_sleep
        while sleep and sleep[0][0] <= c:
            ready.add(heappop(sleep)[1])
        V, M = self.V, self.M
        ocr, oown, o_busy, o_ser, o_flits, v_next = self.ocr, self.oown, self.o_busy, self.o_ser, self.o_flits, \
            self.v_next
        nic_q, nic_k, nic_vc, nic_last, nic_rot = self.nic_q, self.nic_k, self.nic_vc, self.nic_last, self.nic_rot
        nic_dly, vct, early, adaptive = self.nic_dly, self.vct, self.early, self.adaptive
        arr_at = self.arr_ahead[c & M]
        og0 = self.n * self.P  # the NICs' output ports follow the routers'
        nd1 = self.cfg.nic_delay_cycles - 1
        c1 = c + 1
        need = 1
        written = 0
        for t in sorted(ready):
            og = og0 + t
            if o_busy[og] > c1:
                continue
            q = nic_q[t]
            pkt = q[0]
            vc = nic_vc[t]
            if vc < 0:  # a head
                base = og * V
                if vct:
                    need = pkt.size
                for v in nic_rot[nic_last[t]]:
                    if oown[base + v] == -1 and ocr[base + v] >= need:
                        vc = v
                        break
                else:
                    continue
                oown[base + vc] = _NIC
                nic_vc[t] = nic_last[t] = vc
            ovc = og * V + vc
            if ocr[ovc] <= 0:
                continue
            ocr[ovc] -= 1
            written += 1
            k = nic_k[t]
            if k == 0:
                pkt.injected = c
                if not adaptive:
                    pkt.route = iter(pkt.route)
            o_busy[og] = c1 + o_ser[og]
            o_flits[og] += 1
            if k == pkt.size - 1:  # the tail
                arr_at[nic_dly[t]].append((v_next[ovc], (pkt, k, True)))
                nic_vc[t] = -1
                if early:
                    oown[ovc] = -1
                else:
                    self.otail[ovc] = self.owatch[ovc] = 1
                nic_k[t] = 0
                q.popleft()
                if not q:
                    ready.discard(t)
                else:
                    nxt_ready = q[0].created + nd1
                    if nxt_ready > c:  # the next packet is not ready yet
                        ready.discard(t)
                        heappush(sleep, (nxt_ready, t))
            else:
                arr_at[nic_dly[t]].append((v_next[ovc], (pkt, k, False)))
                nic_k[t] = k + 1
        self.inflight += written

    def _free_vcs(self, opts: tuple, size: int) -> list[int]:
        """The free output VCs of ``opts`` (with virtual cut-through: with room for ``size`` flits)."""
        oown, ocr = self.oown, self.ocr
        if self.vct:
            return [o for og, lo, hi in opts for o in range(lo, hi) if oown[o] == -1 and ocr[o] >= size]
        if len(opts) == 1:
            _og, lo, hi = opts[0]
            return list(compress(range(lo, hi), map(_FREE, oown[lo:hi])))
        return [o for og, lo, hi in opts for o in range(lo, hi) if oown[o] == -1]

    def _first_free(self, start: int, lo: int, hi: int, need: int) -> int:
        """The first output VC of ``lo .. hi - 1`` from ``start`` on, cyclically, that is free and has room for
        ``need`` flits (-1: none)."""
        oown, ocr = self.oown, self.ocr
        for o in range(start, hi):
            if oown[o] == -1 and ocr[o] >= need:
                return o
        for o in range(lo, start):
            if oown[o] == -1 and ocr[o] >= need:
                return o
        return -1

    def _va(self, c: int) -> None:
        """VC allocation evaluated in cycle ``c`` for the heads listed there.

        With deterministic routing each head requests the VCs of one output port, so the allocation splits
        exactly into one independent problem per output port (adaptive routing, and ``general``: per router),
        solved in port (router) order. A head alone at its port takes the first free VC at or after its accept
        pointer (what iSLIP and the separable allocator both grant then) and, with a 1-cycle VA and no
        speculation, owns it at once; the heads of a contended port go through the full allocator, whose grants
        take effect after the lone heads'."""
        M = self.M
        s = c & M
        reqs = self.w_va[s]
        self.w_va[s] = []
        iopt = self.iopt
        general = self.general
        by_router = self.adaptive or general
        key_of = (self.i_router if by_router else self.iport).__getitem__
        oown, ibuf = self.oown, self.ibuf
        ist, iov, ipend = self.ist, self.iov, self.ipend
        va_g, va_a, after_pv = self.va_g, self.va_a, self.after_pv
        vct = self.vct
        inline = self.cfg.vc_alloc_delay_cycles == 1 and not self.cfg.speculative
        sa_next = self.w_sa[(c + 1) & M]
        grants: list[tuple[int, int]] = []
        failed: list[int] = []
        # requests sorted by port (router); a run of equal keys is a contended port (router)
        if len(reqs) > 1:
            reqs.sort(key=key_of)
            keys = list(map(key_of, reqs))
            keys.append(-1)
            nexts = iter(keys)
            next(nexts)
        else:
            keys, nexts = (-1,), (-2,)
        group = None
        for ivc, k, kn in zip(reqs, keys, nexts):
            if group is not None:  # in a run of one port's (router's) heads
                group.append(ivc)
                if k != kn:
                    self._va_group(group, grants, failed)
                    group = None
                continue
            if k == kn:
                group = [ivc]
                continue
            opts = iopt[ivc]
            if by_router and (general or len(opts) > 1):
                self._va_group([ivc], grants, failed)
                continue
            _og, lo, hi = opts[0]
            start = va_a[ivc]
            if start < lo or start >= hi:
                start = lo
            if oown[start] == -1 and not vct:
                got = start  # the VC the pointer favours is free (the usual case)
            else:
                got = self._first_free(start, lo, hi, ibuf[ivc][0][0].size if vct else 0)
                if got < 0:
                    self._va_wait(ivc)
                    continue
            va_g[got] = after_pv[ivc]
            va_a[ivc] = after_pv[got]
            if inline:  # the VA result takes effect now: the head owns its VC and bids for SA next cycle (a
                # head in VA has no SA bid pending without speculation)
                oown[got] = ivc
                iov[ivc] = got
                ist[ivc] = _ACTIVE
                ipend[ivc] = 1
                sa_next.append(ivc)
            else:
                grants.append((ivc, got))
        if self.cfg.vc_alloc_delay_cycles == 1:
            if grants or failed:
                self._va_update(c, grants, failed)
        elif grants or failed:
            self.w_vaup[(c + self.cfg.vc_alloc_delay_cycles - 1) & M].append((grants, failed))

    def _va_wait(self, ivc: int) -> None:
        """No VC to request: wait until one of the head's ports frees one."""
        self.ipend[ivc] = 2
        for og, _lo, _hi in self.iopt[ivc]:
            self.pwait[og].append(ivc)

    def _va_group(self, group: list[int], grants: list, failed: list) -> None:
        """Full allocation among heads that compete (one router, or one output port of it)."""
        cfg = self.cfg
        PV = self.P * self.V
        base = group[0] // PV * PV
        vct = self.vct
        cand = {}
        islip = cfg.vc_allocator == "islip"
        free_of: dict[tuple, list[int]] = {}  # (options, room needed) -> free VCs: heads of a port share them
        for x in sorted(group):
            opts = self.iopt[x]
            size = self.ibuf[x][0][0].size
            key = (opts, size if vct else 0)
            free = free_of.get(key)
            if free is None:
                free = free_of[key] = self._free_vcs(opts, size)
                if islip and len(opts) > 1:
                    free.sort()  # several ports (adaptive routing): iSLIP takes its requests sorted
            if free:
                cand[x] = free
            else:
                self._va_wait(x)
        if not cand:
            return
        if islip:
            match = _islip(cand, self.va_g, self.va_a, PV, PV, cfg.allocator_iterations, base, base)
        else:
            match = _separable(cand, self.va_g, self.va_a, PV, PV, base, base)
        for x in cand:
            o = match.get(x)
            if o is None:
                failed.append(x)
            else:
                grants.append((x, o))

    def _va_updates(self, c: int) -> None:
        """VA results due in cycle ``c`` take effect: winners own their output VC and go to SA (the next
        cycle; speculative: this one); losers and grants taken meanwhile retry the next cycle."""
        M = self.M
        s = c & M
        for grants, failed in self.w_vaup[s]:
            self._va_update(c, grants, failed)
        self.w_vaup[s] = []

    def _va_update(self, c: int, grants, failed) -> None:
        M = self.M
        oown, ocr, ist, iov, ipend, ibuf = self.oown, self.ocr, self.ist, self.iov, self.ipend, self.ibuf
        nxt = self.w_va[(c + 1) & M]
        spec = self.cfg.speculative
        for ivc, ovc in grants:
            if oown[ovc] != -1 or (self.vct and ocr[ovc] < ibuf[ivc][0][0].size):
                nxt.append(ivc)  # taken meanwhile (VA delay > 1): allocate again
                continue
            oown[ovc] = ivc
            iov[ivc] = ovc
            ist[ivc] = _ACTIVE
            if not ipend[ivc]:
                ipend[ivc] = 1
                if spec:
                    self.ispec[ivc] = 1
                    self.w_sa[c & M].append(ivc)
                else:
                    self.w_sa[(c + 1) & M].append(ivc)
        for ivc in failed:
            nxt.append(ivc)

    def _sa(self, c: int) -> None:
        """Switch allocation evaluated in cycle ``c``; its grants take effect in cycle ``c + Sd - 1`` (at once with
        a 1-cycle SA): those of routers without contention in request order, then the contended routers' in
        router order."""
        if self.sa_plain:
            self._sa_plain(c)
            return
        M, V, P = self.M, self.V, self.P
        PV = P * V
        s = c & M
        reqs = self.w_sa[s]
        self.w_sa[s] = []
        cfg = self.cfg
        Sd, Td = cfg.sw_alloc_delay_cycles, cfg.switch_traversal_delay_cycles
        iov, ispec = self.iov, self.ispec
        ocr, o_busy, owait, owatch = self.ocr, self.o_busy, self.owait, self.owatch
        free_by = c + Sd + Td  # the flit would start on its channel in this cycle: the channel must be free
        chan_waits = self.chan_waits
        in_st, out_st, r_st = self.in_stamp, self.out_stamp, self.r_stamp
        general = self.general
        any_spec = general or cfg.speculative
        v_port, i_router = self.v_port, self.i_router
        eligible: list[int] = []
        # every request is live: an input VC bids only while it owns an output VC and holds a flit, and has at
        # most one bid or grant pending (ipend), which only its own grant ends
        for ivc in reqs:
            ovc = iov[ivc]
            if ocr[ovc] <= 0:
                owait[ovc] = ivc  # retried when a credit comes back
                owatch[ovc] = 1
                continue
            og = v_port[ovc]
            if chan_waits:
                busy = o_busy[og]
                if busy > free_by:
                    self.w_sa[(busy - Sd - Td) & M].append(ivc)  # the first cycle the channel allows
                    continue
            eligible.append(ivc)
            # a router where two requests share a port (or one is speculative) needs the allocator
            ig = v_port[ivc]
            if in_st[ig] == c or out_st[og] == c or any_spec and (general or ispec[ivc]):
                r_st[i_router[ivc]] = c
            in_st[ig] = c
            out_st[og] = c
        if not eligible:
            return
        # the winners' flits go in this order: the uncontended routers' (in request order), then the contended
        # routers' (in router order); the contended routers' losers bid again Sd cycles later, before the
        # flits that won this cycle and have more to send (nxt)
        nxt: list[int] = []
        contended = self._send(c, eligible, True, nxt)
        self._sa_done(c, contended, nxt)

    def _sa_done(self, c: int, contended: dict[int, list[int]], nxt: list[int]) -> None:
        """The end of the SA of cycle ``c``, once the uncontended grants are sent: the contended routers'
        allocation (their grants sent now with a 1-cycle SA, their losers bid again ``Sd`` later), then ``nxt``
        (input VCs with more flits to send) bid the next cycle."""
        M, Sd = self.M, self.cfg.sw_alloc_delay_cycles
        if contended:
            chosen: list[int] = []
            retry: list[int] = []
            for r in sorted(contended):
                self._sa_router(r, sorted(contended[r]), chosen, retry)
            self.w_sa[(c + Sd) & M].extend(retry)
            if Sd == 1:
                self._send(c, chosen, False, nxt)
            else:
                self.w_up[(c + Sd - 1) & M].extend(chosen)
        if nxt:
            self.w_sa[(c + 1) & M].extend(nxt)

    def _sa_router(self, r: int, group: list[int], winners: list[int], retry: list[int]) -> None:
        """Switch allocation of one router with several requests: per input port and output port the
        round-robin-next VC, then iSLIP (or separable) over ports; speculative requests take what is left."""
        V, P = self.V, self.P
        cfg = self.cfg
        iov, ispec, sa_rr = self.iov, self.ispec, self.sa_rr
        rp = r * P
        chosen: list[int] = []
        taken_in: set[int] = set()
        taken_out: set[int] = set()
        spec = cfg.speculative
        for speculative in ([0, 1] if spec else [0]):
            best: dict[tuple[int, int], int] = {}
            for ivc in group:
                if spec and ispec[ivc] != speculative:
                    continue
                ig = ivc // V
                og = iov[ivc] // V
                if spec and (ig in taken_in or og in taken_out):
                    continue
                key = (ig, og)
                cur = best.get(key)
                # the group is sorted, so a port's VCs come in increasing order: keep the first, unless it is
                # before the round-robin pointer and this one is at or after it
                if cur is None or cur < sa_rr[ig] <= ivc:
                    best[key] = ivc
            if not best:
                continue
            reqs: dict[int, list[int]] = {}
            for (ig, og) in sorted(best):
                reqs.setdefault(ig, []).append(og)
            if cfg.sw_allocator == "islip":
                match = _islip(reqs, self.sa_g, self.sa_a, P, P, cfg.allocator_iterations, rp, rp)
            else:
                match = _separable(reqs, self.sa_g, self.sa_a, P, P, rp, rp)
            for ig, og in match.items():
                ivc = best[(ig, og)]
                sa_rr[ig] = self.after_v[ivc]
                taken_in.add(ig)
                taken_out.add(og)
                chosen.append(ivc)
        chosen_set = set(chosen)
        winners.extend(chosen)
        for ivc in group:
            if ivc not in chosen_set:
                retry.append(ivc)

    def _sa_update(self, c: int) -> None:
        """The grants of a multi-cycle SA due in cycle ``c`` take effect."""
        s = c & self.M
        lst = self.w_up[s]
        self.w_up[s] = []
        self._send(c, lst, False, self.w_sa[(c + 1) & self.M])

    def _sa_plain(self, c: int) -> None:
        """:meth:`_sa` in the usual case (``sa_plain``: a 1-cycle SA, no speculation, channels never busy when SA
        sends): the same steps, and those of :meth:`_send` for the uncontended grants, without the cases that
        cannot arise."""
        M = self.M
        s = c & M
        reqs = self.w_sa[s]
        self.w_sa[s] = []
        ibuf, iov = self.ibuf, self.iov
        ocr, owait, owatch = self.ocr, self.owait, self.owatch
        in_st, out_st, r_st = self.in_stamp, self.out_stamp, self.r_stamp
        v_port, i_router = self.v_port, self.i_router
        eligible: list[int] = []
        # pass 1: the live requests (see _sa), and the routers where two of them share a port
        for ivc in reqs:
            ovc = iov[ivc]
            if ocr[ovc] <= 0:
                owait[ovc] = ivc  # retried when a credit comes back
                owatch[ovc] = 1
                continue
            eligible.append(ivc)
            og = v_port[ovc]
            ig = v_port[ivc]
            if in_st[ig] == c or out_st[og] == c:
                r_st[i_router[ivc]] = c
            in_st[ig] = c
            out_st[og] = c
        if not eligible:
            return
        # pass 2: the uncontended requests win (their router's pointers move) and are sent now, in request order
        nxt: list[int] = []
        contended: dict[int, list[int]] = {}
        sa_g, sa_a, sa_rr, after_p, after_v = self.sa_g, self.sa_a, self.sa_rr, self.after_p, self.after_v
        i_cred, i_cret, v_next, o_dly, o_flits = self.i_cred, self.i_cret, self.v_next, self.o_dly, self.o_flits
        cred_at, arr_at, ej_at = self.cred_ahead[s], self.arr_ahead[s], self.ej_ahead[s]
        for ivc in eligible:
            r = i_router[ivc]
            if r_st[r] == c:
                if r in contended:
                    contended[r].append(ivc)
                else:
                    contended[r] = [ivc]
                continue
            ovc = iov[ivc]
            og = v_port[ovc]
            ig = v_port[ivc]
            sa_g[og] = after_p[ig]
            sa_a[ig] = after_p[og]
            sa_rr[ig] = after_v[ivc]
            ocr[ovc] -= 1
            o_flits[og] += 1
            buf = ibuf[ivc]
            f = buf.popleft()
            cred_at[i_cret[ivc]].append(i_cred[ivc])
            down = v_next[ovc]
            if down < 0:
                ej_at[o_dly[og]].append((ovc, f))
            else:
                arr_at[o_dly[og]].append((down, f))
            self._sent(c, ivc, ovc, og, f[2], buf, nxt)
        self.traversals += len(eligible) - sum(map(len, contended.values()))  # router flit-hops: the grants sent
        self._sa_done(c, contended, nxt)

    def _sent(self, c: int, ivc: int, ovc: int, og: int, tail: bool, buf: deque, nxt: list[int]) -> None:
        """A flit of input VC ``ivc`` left for output VC ``ovc`` (port ``og``) in cycle ``c``: after a tail the
        input VC is done with its packet (the output VC is released, or marked to be once drained, and the next
        packet's head, if buffered, is routed); otherwise it bids again the next cycle (``nxt``) while it holds
        a flit."""
        if tail:
            if self.early:
                self.oown[ovc] = -1
                if self.pwait[og]:
                    self._wake_port(og, c + 1)
            else:
                self.otail[ovc] = self.owatch[ovc] = 1
            if buf:
                self.ist[ivc] = _VA
                self._route_head(ivc, buf[0][0])
                self.ipend[ivc] = 0
                self.w_va[(c + 1 + self.cfg.routing_delay_cycles) & self.M].append(ivc)
            else:
                self.ist[ivc] = _IDLE
                self.ipend[ivc] = 0
        elif buf:
            nxt.append(ivc)
        else:
            self.ipend[ivc] = 0

    def _send(self, c: int, lst: list[int], evaluate: bool, nxt: list[int]) -> dict[int, list[int]]:
        """SA grants take effect in cycle ``c``: flits leave their buffers and send their credits back; they
        cross the switch (ST) and start on their channel, so their arrival downstream is known now. Input VCs
        with more flits of the packet bid again the next cycle (appended to ``nxt``).

        With ``evaluate``, ``lst`` are the requests found eligible by this cycle's SA: those of a router with
        contention (its requests share a port) are returned by router; the others win (their router's
        pointers move) and, with a 1-cycle SA, take effect now, else join the grants due ``Sd - 1`` later."""
        M, V, P = self.M, self.V, self.P
        PV = P * V
        Sd = self.cfg.sw_alloc_delay_cycles
        spec, late = self.cfg.speculative, Sd > 1
        contended: dict[int, list[int]] = {}
        r_st = self.r_stamp
        sa_g, sa_a, sa_rr, after_p, after_v = self.sa_g, self.sa_a, self.sa_rr, self.after_p, self.after_v
        later = self.w_up[(c + Sd - 1) & M]
        ibuf, iov, ispec = self.ibuf, self.iov, self.ispec
        ocr, o_busy, o_free = self.ocr, self.o_busy, self.o_free
        i_cred, i_cret, v_next, o_dly, o_flits = self.i_cred, self.i_cret, self.v_next, self.o_dly, self.o_flits
        w_ej = self.w_ej
        chan_waits = self.chan_waits
        # the wheel slots of the cycles ahead, as far as a credit or a flit can take
        cred_at, arr_at = self.cred_ahead[c & M], self.arr_ahead[c & M]
        for ivc in lst:
            ovc = iov[ivc]
            og = ovc // V
            if evaluate:
                r = ivc // PV
                if r_st[r] == c:
                    contended.setdefault(r, []).append(ivc)
                    continue
                # no other request shares its input or output port: iSLIP (and the separable allocator) grant it
                ig = ivc // V
                sa_g[og] = after_p[ig]
                sa_a[ig] = after_p[og]
                sa_rr[ig] = after_v[ivc]
                if late:
                    later.append(ivc)
                    continue
            elif late and ocr[ovc] <= 0:  # a credit was spent meanwhile (SA delay > 1): allocate again
                nxt.append(ivc)
                continue
            ocr[ovc] -= 1
            if spec:
                ispec[ivc] = 0
            if chan_waits:
                o_busy[og] = c + o_free[og]
            o_flits[og] += 1
            buf = ibuf[ivc]
            f = buf.popleft()
            cred_at[i_cret[ivc]].append(i_cred[ivc])
            down = v_next[ovc]
            if down < 0:
                w_ej[(c + o_dly[og]) & M].append((ovc, f))
            else:
                arr_at[o_dly[og]].append((down, f))
            self._sent(c, ivc, ovc, og, f[2], buf, nxt)
        # router flit-hops: the grants sent now (a due grant that found its credit spent counts as well, as it
        # always has)
        if not evaluate:
            self.traversals += len(lst)
        elif not late:
            self.traversals += len(lst) - sum(map(len, contended.values()))
        return contended

def channels_of(package, cfg: RouterConfig) -> dict[tuple[int, int], Channel]:
    """Each directed link of a package as a channel in router cycles (times rounded up)."""
    cyc = cycles_to_ticks(1, cfg.clock_ghz)

    def up(t: int) -> int:
        return -(-t // cyc)

    return {edge: Channel(max(1, up(tm.t_flit)), up(tm.latency), up(tm.credit_latency))
            for edge, tm in package.timing.items()}


class _ChannelStats:
    """The link server a :class:`snapsim.network.Network` keeps per link direction when the router level
    carries the messages: flits sent (read from the fabric's output port) and the busy time they took."""

    def __init__(self, timing, power):
        self.timing = timing
        self.power = power
        self.fabric = None
        self.og = -1

    @property
    def flits_sent(self) -> int:
        return self.fabric.o_flits[self.og] if self.fabric is not None else 0

    @property
    def busy_ticks(self) -> int:
        return self.flits_sent * self.timing.t_flit


class RouterSwitch:
    """The router level through the network's switch seam: instead of forwarding flits between links
    (:class:`snapsim.chiplet.switch.IdealSwitch`), it carries whole messages: ``Network.send`` hands a
    message to :meth:`send`, the chiplets' routers (a :class:`RouterFabric` of the package) move it cycle
    by cycle on the SimPy clock, and its delivery comes back through ``Network.deliver``.

    A message becomes a packet of the first link's flits, created in the first router cycle that starts at
    or after its injection tick and that the fabric has not yet evaluated (the fabric evaluates a cycle
    after every other event of its first tick). Link power states are modelled at the ideal level only."""

    name = "router"
    carries_messages = True

    def __init__(self) -> None:
        self.net = None
        self.fabric: RouterFabric | None = None
        self._servers: dict[tuple[int, int], _ChannelStats] = {}
        self._wake = None

    def link_server(self, edge: tuple[int, int], timing, power) -> _ChannelStats:
        if power.sleeps:
            raise SnapsimError(f"router level: link {edge[0]}->{edge[1]} has power states (sleep_after_idle_ns); "
                               "they are modelled at the ideal level only")
        server = self._servers[edge] = _ChannelStats(timing, power)
        return server

    def attach(self, net) -> None:
        self.net = net
        self.fabric = fab = RouterFabric.from_package(net.package, on_deliver=self._delivered)
        self.cyc = fab.cycle_ticks()
        for (a, b), server in self._servers.items():
            server.fabric = fab
            server.og = a * fab.P + fab.port_of[a][b]
        net.env.process(self._run())

    def forward(self, chiplet, arrivals):  # pragma: no cover - the network never asks when messages are carried
        raise RuntimeError("RouterSwitch carries whole messages")

    def delay(self, chiplet: int) -> int:
        """Ticks a head flit spends crossing a chiplet's router at zero load (its pipeline depth)."""
        return router_pipeline_cycles(self.fabric.cfg) * self.cyc

    def send(self, msg) -> None:
        """A message handed to the network at ``msg.inject_tick``: count its link traffic, queue it."""
        net, fab = self.net, self.fabric
        path = msg.path
        n = msg.n_flits
        for h, (a, b) in enumerate(zip(path[:-1], path[1:])):
            link = net.links[(a, b)]
            link.messages += 1
            link.payload_bits += msg.payload_bits
            link.wire_bits += n * link.timing.flit_bits
            if h > 0:
                net.transit_bits[a] += n * link.timing.flit_bits
        created = max(-(-msg.inject_tick // self.cyc), fab.now)
        fab.inject(Packet(msg.seq, msg.src, msg.dst, n, created, msg))
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def _delivered(self, pkt: Packet) -> None:
        self.net.deliver(pkt.tag, pkt.arrived * self.cyc)

    def _run(self):
        env, fab, cyc = self.net.env, self.fabric, self.cyc
        while True:
            if fab.idle:
                self._wake = env.event()
                yield self._wake
                self._wake = None
            c = max(fab.now, -(-int(env.now) // cyc))
            if c * cyc > env.now:
                yield env.timeout(c * cyc - env.now)
            # evaluate cycle c after everything else of its tick (the network's end-of-tick batch included)
            ev = env.event()
            ev._ok = True  # a pre-triggered event at a priority below the network's (SimPy has no public API)
            ev._value = None
            env.schedule(ev, priority=3, delay=0)
            yield ev
            fab.run(c + 1)
            nxt = fab.next_busy_cycle()
            if nxt > fab.now:  # only packets created later are left: jump to the first
                fab.skip_to(nxt)
