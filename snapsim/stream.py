"""The stream engine: a whole run as vectorised recurrences over the stream of inferences, with no event
per message.

When no directed link carries more than one boundary's messages (a chain of pipeline partitions, each
link used by one boundary, is the common case), nothing in the package arbitrates between flows: every
compute array, encoder, link direction and decoder is a first-come-first-served server fed by one
upstream that is itself FIFO, so jobs reach every server in stream order. The run is then a
feed-forward network of FIFO servers, and each server's departure times over the whole stream are a
Lindley / max-plus recurrence computed with numpy (cumulative maxima), as :mod:`snapsim.engine` defines
them one event at a time:

* a FIFO server (compute, encoder, decoder): ``end_i = max(ready_i, end_{i-1}) + service_i``, i.e.
  ``end = S + max(free, cummax(ready - S_prev))`` with ``S`` the running sum of service times;
* a link direction whose credits cannot bind, per message ``k`` of ``n_k`` flits: its flits' ready times
  at a hop are a maximum of arithmetic progressions (all at once at the first hop; spaced by the
  previous hop's flit time after cut-through), so the lanes are free again at
  ``E_k = max(E_{k-1} + n_k t, G_k)`` (``G_k`` from the message alone), one cumulative maximum;
* a link whose credits can bind (``C t < rtt``), flit by flit:
  ``s_f = max(r_f, s_{f-1} + t, s_{f-C} + rtt)``. The heaviest path from flit ``j`` to flit ``f`` takes
  as many credit steps as fit, so ``s_f = max_j (r_j + (f-j) t + floor((f-j)/C) (rtt - C t))``, which is
  evaluated for all flits at once on a ``[blocks, C]`` array (running maxima along both axes);
* power states (idle timer): a message whose head finds the link asleep (idle for more than
  ``sleep_after``) waits ``wake``; the decisions depend on earlier decisions only through the lanes'
  free time, so they are iterated to their fixed point (each pass makes at least the first undecided
  message exact; a slice that does not settle in a few passes is split in two).

The closed loop (``injection: closed``, ``max_in_flight = K``) feeds inference ``i + K`` in when
inference ``i`` leaves, so the stream is not feed-forward across inferences. It is solved chunk by
chunk: the injection ticks of a chunk are guessed (the first chunk with a one-server model: zero-load
latency, bottleneck spacing; later ones one cycle after inference ``i - K``), the chunk is computed
vectorised, and the guess is corrected until it is a fixed point. The correction is a Newton step of
the max-plus system: each done tick is traced back through the queueing to the injection that decides
it (its source), and moves with it. Every pass makes at least ``K`` more inferences exact; chunks that
settle quickly grow, and a chunk that does not settle within a few passes' work keeps its exact prefix.
Only the first pass of a chunk is a full one: it records every decision's margin (:class:`_Tape`), and
a corrected guess is evaluated from the first stage whose decisions it can change, the earlier stages'
ticks and states moving with their sources. When the loop binds, the inferences reach the slowest
partition about one service time apart and it queues by ties and near ties (several Newton steps),
while every other stage keeps wide margins: those steps evaluate the slowest partition alone.

The result is identical to the event engine's (latencies to the tick, counts, link busy / asleep /
wakes, energy): :func:`run` builds it with the same :func:`snapsim.engine.assemble_result`. The engine
reads the plan and the payload model, never the event engine. :func:`unsupported` says when it does not
apply (reference fidelity, a probe attached, flows sharing a link); :func:`snapsim.runner.simulate`
then runs the event engine and records why in the result (``engine``, ``engine_reason``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import MutableMapping

import numpy as np

from .d2d.framing import flits_for_bits_array
from .d2d.power import power_policy
from .d2d.reliability import error_process
from .energy import Counts
from .plan import Plan

__all__ = ["unsupported", "run", "solve", "solve_key", "Solution", "route_deliveries", "lindley", "link_starts",
           "credit_starts"]

NEG = -(2**62)  # "never": below every tick, with room to add any run's ticks without overflow
WAKE_PASSES = 8  # wake-decision passes before a slice of messages is split in two
LOOP_PASSES = 6  # closed-loop work (in full passes' worth of stages) before a chunk keeps its exact prefix
_CHUNK0 = 128  # the first closed-loop chunk (it doubles while chunks settle quickly) ...
_CHUNK_MAX = 4096  # ... up to this: a chunk's first pass keeps every stage's arrays (_Tape), ~4 per stage


# ------------------------------------------------------------------------------------ applicability


def unsupported(plan: Plan, fidelity: str = "fast", probe=None) -> str | None:
    """Why the stream engine cannot run ``plan`` exactly as the event engine would, or ``None`` if it can."""
    if fidelity != "fast":
        return f"fidelity {fidelity}: flit-by-flit events by definition"
    if probe is not None and getattr(probe, "enabled", False):
        return "a probe is attached (the stream engine emits no per-event hooks)"
    for part in plan.partitions:
        if len(part.dies) > 1 or part.collectives:
            return (f"partition {part.index} is tensor parallel over dies {list(part.dies)} (its collectives "
                    "share links with the pipeline)")
    owner: dict[tuple[int, int], int] = {}
    for bp in plan.boundaries:
        for hop in bp.hops:
            other = owner.setdefault(hop.edge, bp.index)
            if other != bp.index:
                return (f"link {plan.package.link_name(hop.edge)} carries boundaries {other} and {bp.index} "
                        "(flows arbitrate for it)")
    return None


# ------------------------------------------------------------------------------------------ kernels


def lindley(ready: np.ndarray, service, free: int, ramp: tuple | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A FIFO server over a stream of jobs: ``end_i = max(ready_i, end_{i-1}) + service_i`` with
    ``end_{-1} = free``. Returns the end ticks and, per job, whether it waited for the previous one.

    With ``before_i`` the service of the jobs before ``i`` and ``through_i = before_i + service_i``,
    ``end_i = through_i + m_i`` where ``m_i = max(free, x_0, .., x_i)`` and ``x_j = ready_j - before_j``;
    job ``i`` waited iff ``x_i < m_i`` (its start was set by an earlier job or ``free``). ``ramp``:
    ``(before, through)`` of a constant ``service`` over ``len(ready)`` jobs, if already at hand
    (:func:`_ramp`)."""
    if isinstance(service, (int, np.integer)):
        before, through = ramp if ramp is not None else _ramp(int(service), len(ready))
    else:
        through = np.cumsum(service, dtype=np.int64)
        before = through - service
    x = ready - before
    m = np.maximum.accumulate(x)
    np.maximum(m, free, out=m)
    return m + through, x < m


def _ramp(service: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(before, through)`` of :func:`lindley` for ``n`` jobs of ``service`` ticks each."""
    before = np.arange(n, dtype=np.int64) * service
    return before, before + service


def link_starts(ready: np.ndarray, t: int, free: int) -> np.ndarray:
    """Flit start ticks of lanes that are free at ``free``: ``s_f = max(r_f, s_{f-1} + t)``."""
    k = np.arange(len(ready), dtype=np.int64) * t
    return np.maximum(np.maximum.accumulate(ready - k), free) + k


def credit_starts(ready: np.ndarray, t: int, credits: int, rtt: int, history: np.ndarray) -> np.ndarray:
    """Flit start ticks under a credit loop that can bind: ``s_f = max(r_f, s_{f-1} + t, s_{f-C} + rtt)``.

    ``history`` holds the starts of the (up to ``C``) flits sent before, oldest first. The heaviest path
    from flit ``j`` to flit ``f`` in that recurrence takes ``floor((f-j)/C)`` credit steps, so
    ``s_f = max_j (r_j + (f-j) t + floor((f-j)/C) D)`` with ``D = rtt - C t > 0``. Writing
    ``f = aC + alpha`` and ``j = bC + beta``, ``floor((f-j)/C) = a - b - [beta > alpha]``, so with
    ``y_j = r_j - j t - b D``: ``s_f = f t + a D + max(max over j <= f with beta <= alpha of y_j,
    max over earlier blocks with beta > alpha of y_j - D)``, running maxima along both axes of ``y``
    laid out ``[blocks, C]``. The history enters as flits ready at their own start.
    """
    C, D = credits, rtt - credits * t
    V = len(history)
    r = np.concatenate((history, ready)) if V else ready
    U = len(r)
    blocks = -(-U // C)
    u = np.arange(U, dtype=np.int64)
    a = u // C
    y = np.full(blocks * C, NEG, dtype=np.int64)
    y[:U] = r - u * t - a * D
    Y = y.reshape(blocks, C)
    best = np.maximum.accumulate(Y, axis=1)  # same block, beta <= alpha
    if blocks > 1:
        prev = np.full((blocks, C), NEG, dtype=np.int64)
        prev[1:] = np.maximum.accumulate(Y, axis=0)[:-1]  # earlier blocks, per residue
        np.maximum(best, np.maximum.accumulate(prev, axis=1), out=best)  # earlier blocks, beta <= alpha
        later = np.full((blocks, C), NEG, dtype=np.int64)
        later[:, :-1] = np.maximum.accumulate(prev[:, :0:-1], axis=1)[:, ::-1]  # earlier blocks, beta > alpha
        np.maximum(best, later - D, out=best)
    s = best.reshape(-1)[:U] + u * t + a * D
    return s[V:]


# ----------------------------------------------------------------------------------------- the route


@dataclass(frozen=True)
class _HopState:
    free: int = 0  # tick the lanes are next free (the link model's ``free``)
    history: np.ndarray | None = None  # starts of the last C flits (credit-bound links only)
    used: bool = False  # a message has been served (the power policy's last_free is set)
    wakes: int = 0
    asleep: int = 0  # completed sleep intervals (ticks)


class _Hop:
    """One link direction of a boundary's route, with every message's flit count on it."""

    def __init__(self, hop, n: np.ndarray, prev_n: np.ndarray | None, prev_flit: bool):
        tm = hop.timing
        self.edge, self.timing, self.transit = hop.edge, tm, hop.transit_after
        self.t, self.L = tm.t_flit, tm.latency
        self.n = n
        self.nt = n * tm.t_flit
        self.reframed = None if prev_n is None else (n != prev_n)
        if self.reframed is not None and not self.reframed.any():
            self.reframed = None
        # flit-level when credits can bind, or when flits arrive flit by flit from a flit-level hop
        self.flit = tm.credits_bind or prev_flit
        self.offsets = np.concatenate(([0], np.cumsum(n, dtype=np.int64))) if self.flit else None
        self.sleeps = tm.sleep_after is not None
        self.sleep_after, self.wake = (tm.sleep_after or 0), tm.wake

    # The ready times of a slice of messages reach a hop as either
    #   ("ap", [(a, c), ...]): flit j of message k ready at max over pairs of a[k] + j c, or
    #   ("flits", r): each flit's ready tick, messages back to back.

    def serve(self, st: _HopState, k0: int, k1: int, ready) -> tuple[_HopState, "_Out"]:
        """Serve messages ``[k0, k1)``, settling the power policy's wake decisions."""
        if not self.sleeps:
            return self._serve(st, k0, k1, ready, None)
        wake = np.zeros(k1 - k0, dtype=bool)
        if not st.used:
            wake[0] = True
        passes = WAKE_PASSES if k1 - k0 > 1 else 2  # one message settles in two (its decision needs only st)
        for _ in range(passes):
            new, out = self._serve(st, k0, k1, ready, wake)
            prev_free = np.concatenate(([st.free], out.free[:-1]))
            decided = out.head > prev_free + self.sleep_after
            if not st.used:
                decided[0] = True
            if np.array_equal(decided, wake):
                slept_from = prev_free[wake] + self.sleep_after
                if not st.used:
                    slept_from[0] = 0
                asleep = int((out.head[wake] - slept_from).sum())
                return _HopState(new.free, new.history, True, st.wakes + int(wake.sum()), st.asleep + asleep), out
            wake = decided
        mid = (k0 + k1) // 2  # did not settle: each half settles on its own (one message always does)
        st, first = self.serve(st, k0, mid, _slice(ready, 0, mid - k0, self, k0))
        st, second = self.serve(st, mid, k1, _slice(ready, mid - k0, k1 - k0, self, k0))
        return st, first.join(second)

    def _serve(self, st: _HopState, k0: int, k1: int, ready, wake) -> tuple[_HopState, "_Out"]:
        t = self.t
        n, nt = self.n[k0:k1], self.nt[k0:k1]
        kind, value = ready
        if self.flit and kind == "ap":
            kind, value = "flits", _expand(value, n)
        if kind == "ap":
            head = value[0][0]
            for a, _c in value[1:]:
                head = np.maximum(head, a)
            eff = head if wake is None else head + self.wake * wake
            fast = [(a, c) for a, c in value if c > t]  # flits arriving slower than this link sends
            G = eff + nt
            for a, c in fast:
                G = np.maximum(G, a + (n - 1) * c + t)
            T = nt.cumsum()
            free = np.maximum.accumulate(G - T)
            np.maximum(free, st.free, out=free)
            free += T
            prev_free = np.empty_like(free)
            prev_free[0] = st.free
            prev_free[1:] = free[:-1]
            first = np.maximum(eff, prev_free)
            queued = (G - nt if fast else eff) - prev_free  # < 0: the message waited for the previous one
            # With one progression and no wake, `queued` is the only decision here that depends on ticks (the
            # other maxima above compare terms of one progression). `first` decides too, but only the next
            # hop reads it: alike when `fast` is empty (G - nt = eff), and else that hop gets several
            # progressions, which it does not track.
            margins = [queued] if len(value) == 1 and wake is None else None
            out = _Out(head, free, queued < 0, aps=[(first, t)] + fast, margins=margins)
            return _HopState(int(free[-1])), out
        r = value
        lo = self.offsets[k0]
        heads = self.offsets[k0:k1] - lo
        head = r[heads]
        if wake is not None and wake.any():
            r = r.copy()
            r[heads] += self.wake * wake
        if self.timing.credits_bind:
            hist = st.history if st.history is not None else np.zeros(0, dtype=np.int64)
            s = credit_starts(r, t, self.timing.credits, self.timing.credit_rtt, hist)
            keep = np.concatenate((hist, s))[-self.timing.credits:]
        else:
            s = link_starts(r, t, st.free)
            keep = None
        free = s[self.offsets[k0 + 1 : k1 + 1] - lo - 1] + t
        prev_free = np.concatenate(([st.free], free[:-1]))
        eff = r[heads]
        return _HopState(int(free[-1]), keep), _Out(head, free, eff < prev_free, starts=s)

    def forward(self, out: "_Out", k0: int, k1: int, nxt: "_Hop"):
        """Ready times of the same messages at the next hop: this hop's flit arrivals plus the die crossing;
        a message framed into another number of flits there waits for its last flit (store-and-forward)."""
        d = self.t + self.L + self.transit
        rf = None if nxt.reframed is None else nxt.reframed[k0:k1]
        last = out.free - self.t + d  # arrival of each message's last flit at the next hop
        if not nxt.flit:  # both message-level
            aps = [(a + d, c) for a, c in out.aps]
            if rf is not None:
                aps = [(np.where(rf, NEG, a), c) for a, c in aps] + [(np.where(rf, last, NEG), 0)]
            return ("ap", aps)
        n = self.n[k0:k1]
        if out.starts is not None:
            r = out.starts + d
        else:
            r = _expand(out.aps, n) + d
        if rf is None:
            return ("flits", r)
        n_next = nxt.n[k0:k1]
        new = np.repeat(last, n_next)
        keep = np.repeat(~rf, n)  # messages framed alike keep flit-level cut-through
        if keep.any():
            old_lo = np.concatenate(([0], np.cumsum(n)))[:-1]
            new_lo = np.concatenate(([0], np.cumsum(n_next)))[:-1]
            idx = np.flatnonzero(keep)
            new[idx + np.repeat(new_lo - old_lo, n)[idx]] = r[idx]
        return ("flits", new)


class _Out:
    """What a hop did to a slice of messages: head ready ticks, the lanes' free tick after each message,
    whether that free tick was set by the previous message (``waited``: it queued) rather than by the
    message's own arrival, and the flit starts (message-level or per flit). ``margins``, when the hop can
    tell, are per decision and message the signed difference of the two ticks it compared (see
    :class:`_Tape`); ``None``: not tracked (flit level, wake decisions, several ready progressions)."""

    __slots__ = ("head", "free", "waited", "aps", "starts", "margins")

    def __init__(self, head, free, waited, aps=None, starts=None, margins=None):
        self.head, self.free, self.waited, self.aps, self.starts = head, free, waited, aps, starts
        self.margins = margins

    def join(self, other: "_Out") -> "_Out":
        cat = np.concatenate
        aps = None
        if self.aps is not None:
            aps = [(cat((a, b)), c) for (a, c), (b, _c) in zip(self.aps, other.aps)]
        starts = None if self.starts is None else cat((self.starts, other.starts))
        return _Out(cat((self.head, other.head)), cat((self.free, other.free)), cat((self.waited, other.waited)),
                    aps, starts)


def _expand(aps, n: np.ndarray) -> np.ndarray:
    """Message-level ready times (flit j of message k at max over pairs of a[k] + j c) flit by flit."""
    lo = np.concatenate(([0], np.cumsum(n)))
    k = np.repeat(np.arange(len(n)), n)
    j = np.arange(lo[-1], dtype=np.int64) - lo[k]
    r = None
    for a, c in aps:
        v = a[k] + j * c if c else a[k]
        r = v if r is None else np.maximum(r, v)
    return r


def _slice(ready, i0: int, i1: int, hop: _Hop, k0: int):
    kind, value = ready
    if kind == "ap":
        return ("ap", [(a[i0:i1], c) for a, c in value])
    base = hop.offsets[k0]
    return ("flits", value[hop.offsets[k0 + i0] - base : hop.offsets[k0 + i1] - base])


class _Route:
    """A boundary's messages over its route, hop by hop."""

    def __init__(self, bp, bits: np.ndarray):
        self.payload_bits = int(bits.sum())
        self.hops: list[_Hop] = []
        prev_n, prev_flit = None, False
        for hop in bp.hops:
            n = flits_for_bits_array(bits, hop.timing.payload_bits_per_flit)
            h = _Hop(hop, n, prev_n, prev_flit)
            self.hops.append(h)
            prev_n, prev_flit = n, h.flit

    def run(self, states: list[_HopState], k0: int, k1: int, send: np.ndarray, source: np.ndarray,
            seen: list | None = None):
        """Deliver messages ``[k0, k1)`` sent at ``send``: (delivery ticks, their sources, new states).

        ``source[k]`` is the inference whose injection decides message k's send tick (see
        :func:`_propagate`); the delivery's source follows the queueing at every hop. ``seen``, if given,
        receives per hop its decision margins (:attr:`_Out.margins`) and the source of its last message."""
        ready = ("ap", [(send, 0)])
        new = []
        for h, hop in enumerate(self.hops):
            st, out = hop.serve(states[h], k0, k1, ready)
            new.append(st)
            source = _propagate(source, out.waited)
            if seen is not None:
                seen.append((out.margins, int(source[-1])))
            if h + 1 < len(self.hops):
                ready = hop.forward(out, k0, k1, self.hops[h + 1])
        return out.free + hop.L, source, new


def _propagate(source: np.ndarray, waited: np.ndarray) -> np.ndarray:
    """Sources of a FIFO server's outputs: a job that did not wait ends as its input decides; one that
    waited ends as the last job before it that did not wait (-1: the server's state before the slice)."""
    if not np.count_nonzero(waited):  # (the ndarray.any wrapper costs more than the count)
        return source
    last = np.arange(len(waited))
    last[waited] = -1
    np.maximum.accumulate(last, out=last)
    if waited[0]:
        out = source[np.maximum(last, 0)]
        out[last < 0] = -1
        return out
    return source[last]


def route_deliveries(package, src: int, dst: int, send: np.ndarray, payload_bits: np.ndarray) -> np.ndarray:
    """Delivery ticks of one flow of messages sent ``src -> dst`` at ``send`` (non-decreasing ticks) with
    ``payload_bits`` each, alone on an otherwise idle package (a :class:`snapsim.package.Package`): the
    link recurrences of the stream engine, as :meth:`snapsim.network.Network.send` times them."""
    from types import SimpleNamespace

    route = _Route(SimpleNamespace(hops=package.hops(src, dst)), np.asarray(payload_bits, dtype=np.int64))
    n = len(send)
    deliver, _src, _st = route.run([_HopState() for _h in route.hops], 0, n, np.asarray(send, dtype=np.int64),
                                   np.zeros(n, dtype=np.int64))
    return deliver


# --------------------------------------------------------------------------------------- the pipeline


class _Pipeline:
    """The plan's servers and routes in stream order; :meth:`run` computes a chunk of inferences."""

    def __init__(self, plan: Plan, bits: list[np.ndarray]):
        self.plan = plan
        self.mode = plan.mode
        self.P = len(plan.partitions)
        self.service = [part.cost.ticks for part in plan.partitions]
        self.M = [bp.messages for bp in plan.boundaries]
        self.routes = [_Route(bp, b.reshape(-1)) for bp, b in zip(plan.boundaries, bits)]
        if self.mode == "snap":
            self.enc = [bp.encoder_pipeline_ticks + bp.timesteps * bp.encoder_step_ticks for bp in plan.boundaries]
            # each send window's message leaves this long after the encoder's end (negative: before it)
            self.send_lag = [np.array([bp.encoder_pipeline_ticks + stop * bp.encoder_step_ticks - enc
                                       for _a, stop in bp.windows], dtype=np.int64)
                             for bp, enc in zip(plan.boundaries, self.enc)]
            self.dec = [bp.decoder_ticks for bp in plan.boundaries]
        if self.mode == "snn":
            self.T = plan.steps
            self.last_step = [np.array([stop - 1 for _a, stop in bp.windows], dtype=np.int64)
                              for bp in plan.boundaries]
            self.window_of = []
            for bp in plan.boundaries:
                w = np.zeros(self.T, dtype=np.int64)
                for m, (a, stop) in enumerate(bp.windows):
                    w[a:stop] = m
                self.window_of.append(w)
        self._ramps: dict[tuple[int, int], tuple] = {}  # lindley's ramps by (service, jobs), read only

    def _fifo(self, ready: np.ndarray, service: int, free: int) -> tuple[np.ndarray, np.ndarray]:
        """:func:`lindley` with constant ``service``, its ramp computed once per chunk length."""
        key = (service, len(ready))
        ramp = self._ramps.get(key)
        if ramp is None:
            ramp = self._ramps[key] = _ramp(service, len(ready))
        return lindley(ready, service, free, ramp)

    def initial(self) -> dict:
        B = len(self.routes)
        return {"compute": [0] * self.P, "encoder": [0] * B, "decoder": [0] * B,
                "hops": [[_HopState() for _h in r.hops] for r in self.routes]}

    def run(self, a: int, b: int, inject: np.ndarray, st: dict, tape: "_Tape | None" = None,
            start: int = 0, entry: tuple | None = None) -> tuple[np.ndarray, np.ndarray, dict | None]:
        """Done ticks of inferences ``[a, b)`` injected at ``inject``, the source of each (the inference,
        counted from ``a``, whose injection decides it through the queueing; -1: the state before ``a``),
        and the servers' states after them.

        ``tape``: record each stage's input, decisions and states (:class:`_Tape`). ``start``, ``entry``:
        evaluate only stages ``start..`` fed ``entry`` (ready ticks and sources at stage ``start``'s
        input, from :meth:`_Tape.entry_for`); the states of earlier stages are then left as in ``st``
        (:meth:`_Tape.states` completes them)."""
        new = {"compute": list(st["compute"]), "encoder": list(st["encoder"]), "decoder": list(st["decoder"]),
               "hops": list(st["hops"])}
        if self.mode == "snn":
            done, src = self._run_snn(a, b, inject, new, tape, start, entry)
        else:
            done, src = self._run_flow(a, b, inject, new, tape, start, entry)
        if tape is not None:
            tape.after = new
        return done, src, new

    def _run_flow(self, a: int, b: int, inject: np.ndarray, new: dict, tape, start: int, entry):
        """ann and snap: one compute job per inference and partition."""
        t, src = (inject, np.arange(b - a)) if start == 0 else entry
        for p in range(start, self.P):
            if tape is not None:
                tape.enter(p, t, src)
            end, w = self._fifo(t, self.service[p], new["compute"][p])
            src = _propagate(src, w)
            if tape is not None:
                tape.fifo(p, "compute", t, end, new["compute"][p], src)
            new["compute"][p] = int(end[-1])
            if p == self.P - 1:
                break
            M, route = self.M[p], self.routes[p]
            if self.mode == "ann":
                send = end
            else:  # snap: the encoder, then one message per send window as soon as it is encoded
                enc_end, w = self._fifo(end, self.enc[p], new["encoder"][p])
                src = _propagate(src, w)
                if tape is not None:
                    tape.fifo(p, "encoder", end, enc_end, new["encoder"][p], src)
                new["encoder"][p] = int(enc_end[-1])
                send = np.add.outer(enc_end, self.send_lag[p]).reshape(-1)
            deliver, msrc, new["hops"][p] = route.run(new["hops"][p], a * M, b * M, send, src.repeat(M),
                                                      None if tape is None else tape.hops[p])
            if self.mode == "ann":
                t, src = deliver, msrc
            else:  # the decoder starts when the inference's last message has arrived (FIFO: the last one)
                arrived = deliver[M - 1 :: M]
                t, w = self._fifo(arrived, self.dec[p], new["decoder"][p])
                src = _propagate(msrc[M - 1 :: M], w)
                if tape is not None:
                    tape.fifo(p, "decoder", arrived, t, new["decoder"][p], src)
                new["decoder"][p] = int(t[-1])
        if tape is not None:
            tape.enter(self.P, end, src)
        return end, src

    def _run_snn(self, a: int, b: int, inject: np.ndarray, new: dict, tape, start: int, entry):
        """snn: one compute job per inference, timestep and partition."""
        T, n = self.T, b - a
        if start == 0:
            ready, src = np.repeat(inject, T), np.repeat(np.arange(n), T)  # job (inference, timestep)
        else:
            ready, src = entry
        for p in range(start, self.P):
            if tape is not None:
                tape.enter(p, ready, src)
            end, w = self._fifo(ready, self.service[p], new["compute"][p])
            src = _propagate(src, w)
            if tape is not None:
                tape.fifo(p, "compute", ready, end, new["compute"][p], src)
            new["compute"][p] = int(end[-1])
            if p == self.P - 1:
                break
            M = self.M[p]
            last = self.last_step[p]
            send = end.reshape(n, T)[:, last].reshape(-1)
            deliver, msrc, new["hops"][p] = self.routes[p].run(new["hops"][p], a * M, b * M, send,
                                                               src.reshape(n, T)[:, last].reshape(-1),
                                                               None if tape is None else tape.hops[p])
            ready = deliver.reshape(n, M)[:, self.window_of[p]].reshape(-1)
            src = msrc.reshape(n, M)[:, self.window_of[p]].reshape(-1)
        done, src = end[T - 1 :: T], src[T - 1 :: T]
        if tape is not None:
            tape.enter(self.P, done, src)
        return done, src


class _Tape:
    """A full evaluation of a closed-loop chunk, kept so that later guesses of its injections are evaluated
    only from the first stage whose decisions they can change.

    Every decision the pipeline takes (whether a job queues behind the previous one at a FIFO server or a
    link direction) compares two ticks, and while no decision changes, every tick is the injection of its
    source (the inference whose injection decides it, see :func:`_propagate`) plus a constant. Moving
    the injections by ``delta`` therefore moves each compared tick by ``delta`` at its source (0 for the
    state before the chunk), and a comparison whose margin (the absolute difference of its two ticks)
    exceeds the spread ``max(delta, 0) - min(delta, 0)`` keeps its outcome; a tie (margin 0) never counts
    as kept. Ticks of inferences before the first moved one do not move at all (sources never come from
    later inferences). By induction along the pipeline: if every decision of stages ``< X`` about the
    inferences from the first moved one on has a margin above the spread, those stages decide alike,
    their sources stay, and every tick they produce moves by ``delta`` at its source: stage ``X``'s input
    (:meth:`entry_for`) and their servers' states after the chunk (:meth:`states`) follow without
    evaluating them. Decisions the tape does not track (flit-level or waking links,
    :attr:`_Out.margins`) make their stage always evaluated again.
    """

    def __init__(self, stages: int, inject: np.ndarray):
        self.inject = inject.copy()  # the injections of the recorded evaluation
        self.entries: list = [None] * (stages + 1)  # stage p's input (ready ticks, sources); [stages]: done
        self.fifos: list[list] = [[] for _ in range(stages)]  # per stage: (kind, ready, ends, free, last source)
        self.hops: list[list] = [[] for _ in range(stages)]  # per stage: (margins or None, last source) per hop
        self.after: dict = {}  # the servers' states after the chunk (set by _Pipeline.run)
        self._slack = None

    def enter(self, p: int, ready: np.ndarray, src: np.ndarray) -> None:
        self.entries[p] = (ready, src)

    def fifo(self, p: int, kind: str, ready: np.ndarray, ends: np.ndarray, free: int, src: np.ndarray) -> None:
        """Stage ``p``'s FIFO server ``kind``: its decisions (``ready_i`` against ``end_{i-1}``, measured only
        if needed) and the source of its state after the chunk (its last job's end)."""
        self.fifos[p].append((kind, ready, ends, free, int(src[-1])))

    def first_stage(self, inject: np.ndarray) -> tuple[int, np.ndarray]:
        """The first stage to evaluate for injections ``inject`` (the stage count: none, the done ticks
        move with their sources), and the injections' move since the recorded evaluation."""
        delta = inject - self.inject
        moved = np.flatnonzero(delta)
        stages = len(self.fifos)
        if not len(moved):
            return stages, delta
        spread = max(int(delta.max()), 0) - min(int(delta.min()), 0)
        kept = self._slack_from()[:, moved[0]] > spread
        return (stages if kept.all() else int(np.argmin(kept))), delta

    def entry_for(self, p: int, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stage ``p``'s input after the injections moved by ``delta`` (stages before ``p`` deciding alike)."""
        ready, src = self.entries[p]
        return ready + np.append(delta, 0)[src], src  # source -1 (the state before the chunk) indexes the 0

    def states(self, p: int, delta: np.ndarray, later: dict) -> dict:
        """The servers' states after the chunk: stages before ``p`` (deciding alike) from the recorded ones,
        each moved by ``delta`` at its source; ``later`` gives the states of stages ``p..``."""
        moved = np.append(delta, 0)  # source -1: the state before the chunk, which does not move
        new = {kind: list(v) for kind, v in later.items()}
        for q in range(p):
            for kind, _ready, _ends, _free, last in self.fifos[q]:
                new[kind][q] = self.after[kind][q] + int(moved[last])
            if self.hops[q]:  # only the lanes' free tick moves (a tracked hop keeps no flit history)
                new["hops"][q] = [replace(h, free=h.free + int(moved[last]))
                                  for h, (_m, last) in zip(self.after["hops"][q], self.hops[q])]
        return new

    def _slack_from(self) -> np.ndarray:
        """``[stage, i]``: the smallest margin of the stage's decisions about inferences ``i..`` of the chunk
        (0 for a stage with decisions the tape does not track)."""
        if self._slack is None:
            n, stages = len(self.inject), len(self.fifos)
            rows = np.full((stages, n), np.iinfo(np.int64).max, dtype=np.int64)
            fifos = [(p, f) for p, found in enumerate(self.fifos) for f in found]  # jobs alike: one array
            ends = np.array([f[2] for _p, f in fifos])
            prev = np.empty_like(ends)  # each job's decision: ready_i against end_{i-1} (end_{-1} = free)
            prev[:, 0] = [f[3] for _p, f in fifos]
            prev[:, 1:] = ends[:, :-1]
            groups = [([p for p, _f in fifos], np.array([f[1] for _p, f in fifos]) - prev)]
            untracked, by_length = [], {}
            for p, hops in enumerate(self.hops):
                for margins, _last in hops:
                    if margins is None:
                        untracked.append(p)
                    for m in margins or ():
                        by_length.setdefault(len(m), []).append((p, m))
            groups += [([p for p, _m in g], np.array([m for _p, m in g])) for g in by_length.values()]
            for at, signed in groups:  # `at`: each row's stage, non-decreasing
                per_job = np.abs(signed).reshape(len(at), n, -1)
                margin = per_job[:, :, 0]
                for j in range(1, per_job.shape[2]):  # the jobs of one inference (messages, timesteps)
                    margin = np.minimum(margin, per_job[:, :, j])
                present, first = np.unique(at, return_index=True)
                rows[present] = np.minimum(rows[present], np.minimum.reduceat(margin, first, axis=0))
            rows[untracked] = 0
            self._slack = np.minimum.accumulate(rows[:, ::-1], axis=1)[:, ::-1]
        return self._slack


# ------------------------------------------------------------------------------------------ injection


def _solve(pipe: _Pipeline, plan: Plan, seed: int, latency: int,
           spacing: int) -> tuple[np.ndarray, np.ndarray, dict, int]:
    """Injection and done ticks of every inference, and the final server states; also the evaluations
    made (full or from a later stage). ``latency``, ``spacing``: the zero-load latency and bottleneck
    service of an inference (ticks), for the closed loop's first guess."""
    s = plan.workload.stream
    N = s.inferences
    if s.injection != "closed":
        if s.injection == "periodic":
            from .units import ns_to_ticks

            gaps = np.full(N, ns_to_ticks(s.interval_ns), dtype=np.int64)
        else:  # the event engine's Poisson source: the same generator and draws
            rng = np.random.default_rng([seed, 1_000_003])
            gaps = np.rint(rng.exponential(s.interval_ns * 1000.0, size=N)).astype(np.int64)
        inject = np.zeros(N, dtype=np.int64)
        inject[1:] = np.cumsum(gaps[1:])
        done, _w, st = pipe.run(0, N, inject, pipe.initial())
        return inject, done, st, 1
    K = min(s.max_in_flight, N)
    P = pipe.P
    budget = LOOP_PASSES * P  # stages a chunk may evaluate before it keeps only its exact prefix
    inject = np.zeros(N, dtype=np.int64)
    done = np.zeros(N, dtype=np.int64)
    st = pipe.initial()
    a, width, passes = 0, max(K, _CHUNK0), 0  # the first K start together at tick 0 (exact guesses)
    lat = latency
    while a < N:
        b = min(N, a + width)
        g = inject[a:b]
        k = min(b, a + K) - a
        if a >= K:  # exact: inference i - K is done (the first K start at 0)
            g[:k] = done[a - K : a - K + k]
        if a:  # one cycle after inference i - K, as long as the last inference took
            j = np.arange(k, b - a)
            g[k:] = g[j % K] + (j // K) * lat
        else:
            _first_guess(g, K, latency, spacing)
        L = max(0, b - a - K)  # guessed injections in this chunk (the first K are exact)
        tape, work = None, 0
        while True:
            passes += 1
            X, delta = (0, None) if tape is None else tape.first_stage(g)
            if X == 0:  # a full evaluation, recorded
                tape = _Tape(P, g)
                d, source, st_new = pipe.run(a, b, g, st, tape=tape)
            elif X == P:  # no stage decides otherwise: the done ticks move with their sources
                (d, source), later = tape.entry_for(P, delta), st
            else:  # from the first stage whose decisions the moved guesses can change
                d, source, later = pipe.run(a, b, g, st, start=X, entry=tape.entry_for(X, delta))
            work += max(1, P - X)
            c = d[:L] - g[K:]  # how far each guess is from the done tick it must equal
            if not np.count_nonzero(c):
                if X:  # the states of stages before X follow their sources
                    st_new = tape.states(X, delta, later)
                break
            if work >= budget:  # keep the exact prefix: up to the first guess that was off, at least K
                b = a + K + int(np.flatnonzero(c)[0])
                g = g[: b - a]
                d, _w, st_new = pipe.run(a, b, g, st)
                passes += 1
                width = max(K, width // 2)
                break
            g[K:] += _newton(c, source[:L], K)
        done[a:b] = d
        inject[a:b] = g
        if b - a > K:
            lat = int(d[-1] - g[-1]) if b < N else lat
        st = st_new
        a = b
        if work <= 3 * P:  # settled quickly: try a chunk twice as long
            width = min(2 * width, _CHUNK_MAX)
    return inject, done, st, passes


def _first_guess(g: np.ndarray, K: int, latency: int, spacing: int) -> None:
    """Guess the injections ``g[K:]`` of the first chunk (the first ``K`` enter at 0) with a one-server
    model of the pipeline: inference ``i`` is done at ``max(g_i + latency, done_{i-1} + spacing)``
    (zero-load latency, bottleneck spacing) and inference ``i + K`` enters then."""
    out = g.tolist()
    done: list[int] = []
    prev = None
    for i in range(len(out)):
        if i >= K:
            out[i] = done[i - K]
        x = out[i] + latency
        prev = x if prev is None or x > prev + spacing else prev + spacing
        done.append(prev)
    g[K:] = out[K:]


def _newton(c: np.ndarray, source: np.ndarray, K: int) -> np.ndarray:
    """Corrections of the guessed injections ``g_i`` of a chunk (``i = K..``, counted from the chunk's
    start; the first K are exact). Inference ``i`` must enter when ``i - K`` is done; ``c_i = done_{i-K} -
    g_i``. Moving the injection of ``j = source_{i-K}`` (the inference whose injection decides
    ``done_{i-K}`` through the queueing) moves ``done_{i-K}`` alike, so the max-plus Newton step is
    ``delta_i = c_i + delta_j`` (0 when ``j`` is exact or -1): a sum along the chain of sources, taken by
    pointer jumping. The chain steps back at least ``K`` inferences at a time, so it has at most
    ``(L + K) // K`` links and that many jumps' ``bit_length`` doublings reach its end."""
    L = len(c)
    root = L + K  # an exact node of its own: D 0, pointing at itself; exact guesses and -1 point at it
    D = np.zeros(L + K + 1, dtype=np.int64)  # index K + x is guess x + K of the chunk; 0..K-1 are exact
    D[K:root] = c
    P = np.full(L + K + 1, root, dtype=np.int64)
    P[K:root] = np.where(source >= 0, source, root)
    for _ in range(max(1, (root // K).bit_length())):
        D += D[P]
        P = P[P]
    return D[K:root]


# ------------------------------------------------------------------------------------------ the result


@dataclass
class _LinkTally:
    """A used link direction's totals, as :func:`snapsim.engine.assemble_result` reads them (the stream
    engine only completes runs in which no flit fails its CRC: no error counters, no retried bits)."""

    name: str
    cfg: object
    power: object
    messages: int
    flits: int
    payload_bits: int
    wire_bits: int
    busy_ticks: int
    errors: object = None
    retry_bits: int = 0


class FlitFailure(Exception):
    """A flit of the run fails its CRC (its link's seeded error process says so): the run has retries or
    corrupt flits, which only the event engine models; ``str()`` says which link and attempt."""


@dataclass
class Solution:
    """A solved stream: injection and done ticks of every inference, the pipeline (flits per message per
    hop), the servers' and links' final states, each boundary's spikes, the analytical bounds, and the
    pipeline evaluations the solver made (full or from a later stage). Reusable by every run whose plan
    times alike (see :func:`solve_key`)."""

    inject_tick: np.ndarray
    done_tick: np.ndarray
    pipeline: _Pipeline
    states: dict
    spikes: list[int]
    bounds: dict
    passes: int
    payload: object  # kept so that the payload's identity in a solve key stays unique


def _tables(plan: Plan, payload) -> tuple[list[np.ndarray], list[int]]:
    """Payload bits ``[inference, message]`` of every boundary, and its total spikes (snap codec energy)."""
    N = plan.inferences
    bits, spikes = [], []
    for b, bp in enumerate(plan.boundaries):
        bits.append(np.ascontiguousarray(np.asarray(payload.bits_table(b, N), dtype=np.int64)[:N]))
        if plan.mode != "snap":
            spikes.append(0)
        else:
            spikes.append(int(np.asarray(payload.spikes_table(b, N)).sum()))
    return bits, spikes


def solve_key(plan: Plan, payload, seed: int) -> tuple:
    """Everything the stream solution depends on: the mode, the partitions' times, each boundary's send
    windows, codec times and route (link timings and die crossings), the payload model (by identity: a
    caller sharing one model across runs shares its tables), the injection and, for Poisson arrivals,
    the seed. Runs that differ elsewhere (energy costs, on-die NoC energy, names) share the solution."""
    s = plan.workload.stream
    return (
        plan.mode, plan.steps, id(payload), seed if s.injection == "poisson" else None,
        (s.injection, s.inferences, s.max_in_flight, s.interval_ns),
        tuple(p.cost.ticks for p in plan.partitions),
        tuple((bp.windows, bp.timesteps, bp.encoder_pipeline_ticks, bp.encoder_step_ticks, bp.decoder_ticks, bp.hops)
              for bp in plan.boundaries),
    )


def solve(plan: Plan, payload, seed: int = 0) -> Solution:
    """The whole stream of ``plan`` with ``payload``."""
    from .modes import pipeline_bounds

    bits, spikes = _tables(plan, payload)
    pipe = _Pipeline(plan, bits)
    bounds = pipeline_bounds(plan, payload)
    inject, done, st, passes = _solve(pipe, plan, seed, max(1, round(bounds["zero_load_latency_ns"] * 1000)),
                                      max(1, round(bounds["bottleneck_ns_per_inf"] * 1000)))
    return Solution(inject, done, pipe, st, spikes, bounds, passes, payload)


def run(plan: Plan, payload, *, seed: int = 0, fidelity: str = "fast", reason: str = "",
        cache: "MutableMapping | None" = None) -> "RunResult":
    """One run of ``plan`` by the stream engine; the same result as :class:`snapsim.engine.Simulation`.

    ``cache``: a mapping from :func:`solve_key` to :class:`Solution` shared by several runs (a sweep's
    points that differ only in what the solution does not read reuse it; only the accounting is redone).
    """
    from .engine import assemble_result

    why = unsupported(plan, fidelity)
    if why is not None:
        raise ValueError(f"the stream engine cannot run this plan: {why}")
    sol = None
    if cache is not None:
        key = solve_key(plan, payload, seed)
        sol = cache.get(key)
        if sol is not None and sol.payload is not payload:  # pragma: no cover - an id reused after a drop
            sol = None
    if sol is None:
        sol = solve(plan, payload, seed)
        if cache is not None:
            cache[key] = sol
    N = plan.inferences
    counts = Counts()
    if plan.mode == "snap":  # counted during the run by the event engine, boundary by boundary
        for bp, n in zip(plan.boundaries, sol.spikes):
            counts.add(bp.src, "codec_spikes", n)
    package = plan.package
    transit_bits = {c: 0 for c in range(package.n)}
    tallies: dict[tuple[int, int], _LinkTally] = {}
    for bp, route, states in zip(plan.boundaries, sol.pipeline.routes, sol.states["hops"]):
        for h, (hop, hs) in enumerate(zip(route.hops, states)):
            flits = int(hop.n.sum())
            wire = flits * hop.timing.flit_bits
            if h > 0:
                transit_bits[hop.edge[0]] += wire
            power = power_policy(hop.timing)
            power.last_free = hs.free
            power.wakes = hs.wakes
            if hop.sleeps:
                power.asleep_ticks = hs.asleep
            name = package.link_name(hop.edge)
            errors = error_process(hop.timing, seed, name)
            if errors is not None and flits >= errors.countdown:  # the event engine's first failure is in this run
                raise FlitFailure(f"link {name} fails attempt {errors.countdown} of its {flits} flits "
                                  "(link-layer retry: the event engine models it)")
            tallies[hop.edge] = _LinkTally(name, package.link_config[hop.edge], power,
                                           N * bp.messages, flits, route.payload_bits, wire, flits * hop.t)
    runs = [N * plan.steps] * len(plan.partitions)
    links = [tallies[e] for e in sorted(tallies)]
    return assemble_result(plan, payload, counts, runs, transit_bits, links, sol.inject_tick, sol.done_tick,
                           seed=seed, fidelity=fidelity, engine="stream", engine_reason=reason or "applies",
                           bounds=sol.bounds)
