"""The discrete-event engine: a stream of inferences through the chiplet pipeline.

What to simulate is decided beforehand by the plan (:mod:`snapsim.plan`: mapping, per-partition costs,
per-boundary payload, encoding and route) and the payload model (:mod:`snapsim.payload`, or a trace
replay). The engine decides how time passes: it owns the SimPy environment, the network (assembled from
injected parts, :mod:`snapsim.network`), one FIFO server per chiplet compute array, spike encoder and
decoder, the injection process, and the counters. How an inference moves is the mode's flow
(:mod:`snapsim.modes`).

Time is integer ticks (1 ps). Energy is counted as actions and residencies and priced afterwards
(:mod:`snapsim.energy`).
"""

from __future__ import annotations

import numpy as np
import simpy

from . import __version__
from .chiplet import Noc
from .config.hardware import HardwareConfig
from .config.load import config_hash
from .config.workload import WorkloadConfig
from .costs import codec_actions
from .energy import ENERGY_PARTS, Counts, CostTable, price
from .modes import FLOWS, pipeline_bounds
from .network import Network
from .payload import PayloadModel, StatisticalPayload
from .plan import MODES, Plan
from .probe import NullProbe, with_every_hook
from .units import TICKS_PER_S, ns_to_ticks, ticks_to_ns

__all__ = ["MODES", "Simulation", "FifoServer", "assemble_result", "count_deferred"]

SERVER_KINDS = ("compute", "encoder", "decoder")


def _expect(tick: int):
    """``on_done`` of a planned message: it must arrive at ``tick`` (the plan's closed form)."""

    def check(msg) -> None:
        if msg.done_tick != tick:  # pragma: no cover - the plan's ring check makes this an engine bug
            raise RuntimeError(f"collective message {msg.src}->{msg.dst} arrived at tick {msg.done_tick}, "
                               f"planned {tick}: its ring links were contended")

    return check


class FifoServer:
    """A first-come-first-served unit with known service times (MAC array, encoder, decoder).

    A job ready at tick ``ready`` starts at ``max(ready, free)`` and ends ``ticks`` later: the Lindley
    recurrence, so the engine needs no SimPy event to queue or serve a job. Each server is fed by one
    upstream (the source, a message stream, an encoder or a decoder, each itself FIFO), so jobs are
    offered in non-decreasing ``ready`` order, which makes the recurrence exact; ``occupy`` checks it.
    """

    __slots__ = ("free", "busy_ticks", "_last_ready")

    def __init__(self) -> None:
        self.free = 0
        self.busy_ticks = 0
        self._last_ready = 0

    def occupy(self, ready: int, ticks: int) -> tuple[int, int]:
        if ready < self._last_ready:  # pragma: no cover - would be an engine bug
            raise RuntimeError("FIFO server offered a job out of order")
        self._last_ready = ready
        start = ready if ready > self.free else self.free
        self.free = start + ticks
        self.busy_ticks += ticks
        return start, self.free


class Simulation:
    """One run of a plan: ``Simulation(plan, payload, seed=..., fidelity=...)``, or from configs with
    :meth:`build`. Network parts (power policy, switch) and the probe may be injected."""

    def __init__(self, plan: Plan, payload: PayloadModel, *, seed: int = 0, fidelity: str = "fast",
                 network: Network | None = None, probe=None):
        self.plan = plan
        self.hw, self.wl, self.mode = plan.hw, plan.workload, plan.mode
        self.seed, self.fidelity = int(seed), fidelity
        self.payload = payload
        self.probe = with_every_hook(probe) if probe is not None else NullProbe()
        self.env = network.env if network is not None else simpy.Environment()
        self.net = network if network is not None else Network(self.env, plan.package, fidelity, probe=self.probe,
                                                               seed=self.seed)
        self.servers = {(c, k): FifoServer() for c in plan.dies for k in SERVER_KINDS}
        for src, dst in plan.routes:
            self.net.mark_route_used(src, dst)
        self.counts = Counts()
        self._runs = [0] * len(plan.partitions)
        N = plan.inferences
        self.inject_tick = np.zeros(N, dtype=np.int64)
        self.done_tick = np.full(N, -1, dtype=np.int64)
        self.flow = FLOWS[plan.mode](self)
        #: why this run uses the event engine (recorded in the result; :func:`snapsim.runner.simulate` sets it)
        self.engine_reason = "the event engine was called directly"
        if self.probe.enabled:
            self.probe.begin(self)

    @classmethod
    def build(cls, hw: HardwareConfig, workload: WorkloadConfig, mode: str, seed: int = 0, fidelity: str = "fast",
              payload: PayloadModel | None = None, probe=None) -> "Simulation":
        """The plan of ``(hw, workload, mode)`` with the statistical payload model (or ``payload``)."""
        plan = Plan.build(hw, workload, mode)
        if payload is None:
            payload = StatisticalPayload(plan.boundaries, plan.batch, plan.inferences, seed)
        return cls(plan, payload, seed=seed, fidelity=fidelity, probe=probe)

    # -------------------------------------------------------------------------------- flow services

    def occupy(self, chiplet: int, kind: str, inference: int, ready: int, ticks: int) -> int:
        """A job of ``ticks`` on chiplet ``chiplet``'s ``kind`` server, ready at ``ready``; returns its end."""
        start, end = self.servers[(chiplet, kind)].occupy(ready, ticks)
        if self.probe.enabled:
            self.probe.server_queued(f"c{chiplet}.{kind}", inference, ready, start)
            self.probe.server_job(f"c{chiplet}.{kind}", inference, start, end)
        return end

    def compute(self, p: int, inference: int, ready: int) -> int:
        """One run of partition ``p``'s work (its actions are counted once, at the end of the run). A
        tensor-parallel partition's run also sends its collectives' messages at their planned ticks."""
        self._runs[p] += 1
        part = self.plan.partitions[p]
        end = self.occupy(part.chiplet, "compute", inference, ready, part.cost.ticks)
        if part.collectives:
            start = end - part.cost.ticks
            for c in part.collectives:
                self.net.send(c.src, c.dst, c.bits, at=start + c.at, on_done=_expect(start + c.arrival))
        return end

    def finish(self, i: int, end: int) -> None:
        """Inference ``i`` leaves the last partition at tick ``end``."""
        self.done_tick[i] = end
        if self.probe.enabled:
            self.probe.inference(i, int(self.inject_tick[i]), end)
        s = self.wl.stream
        if s.injection == "closed" and self._next < s.inferences:
            nxt = self._next
            self._next += 1
            self.env.timeout(end - self.env.now).callbacks.append(lambda _e: self._start_inference(nxt))

    # ---------------------------------------------------------------------------------------- process

    def _start_inference(self, i: int) -> None:
        now = self.env.now
        self.inject_tick[i] = now
        self.flow.start(i, now)

    def _source(self):
        s = self.wl.stream
        env = self.env
        if s.injection == "closed":
            first = min(s.max_in_flight, s.inferences)
            self._next = first
            for i in range(first):
                self._start_inference(i)
            return
        self._next = s.inferences
        if s.injection == "periodic":
            gaps = [ns_to_ticks(s.interval_ns)] * s.inferences
        else:
            rng = np.random.default_rng([self.seed, 1_000_003])
            gaps = np.rint(rng.exponential(s.interval_ns * 1000.0, size=s.inferences)).astype(np.int64).tolist()
        for i in range(s.inferences):
            self._start_inference(i)
            if i + 1 < s.inferences:
                yield env.timeout(int(gaps[i + 1]))

    # -------------------------------------------------------------------------------------------- run

    def run(self) -> "RunResult":
        self.env.process(self._source())
        self.env.run()
        if (self.done_tick < 0).any():  # pragma: no cover - would be an engine bug
            raise RuntimeError("simulation ended with unfinished inferences")
        result = assemble_result(self.plan, self.payload, self.counts, self._runs, self.net.transit_bits,
                                 self.net.used_links(), self.inject_tick, self.done_tick, seed=self.seed,
                                 fidelity=self.fidelity, engine="event", engine_reason=self.engine_reason)
        if self.probe.enabled:
            start, end = int(self.inject_tick.min()), int(self.done_tick.max())
            result.data.update(self.probe.end(self, start, end) or {})
        return result


def count_deferred(plan: Plan, counts: Counts, runs, transit_bits) -> None:
    """Work counted per run at the end: partition actions (``runs[p]`` jobs of partition ``p``), each
    boundary tensor moved on die at both ends (SRAM read and NoC at TX, NoC and SRAM write at RX), the
    codec's neuron-steps, and the NoC bits of flits crossing intermediate dies (``transit_bits[chiplet]``)."""
    hw, N = plan.hw, plan.inferences
    for part, n in zip(plan.partitions, runs):
        for cid in part.dies:  # a tensor-parallel group runs the same work on each of its dies
            for k, v in part.cost.actions.items():
                counts.add(cid, k, v * n)
    for bp in plan.boundaries:
        bits = bp.on_die_bits * N
        if bits:
            for cid, action in ((bp.src, "sram_read_bits"), (bp.dst, "sram_write_bits")):
                counts.add(cid, action, bits)
                counts.add(cid, "noc_bit_hops", Noc(hw.chiplet_config(cid)).bit_hops(bits))
        if plan.mode == "snap":  # codec work: every boundary of every inference, all timesteps
            work = bp.neurons * plan.batch * bp.timesteps * N
            for cid, kind in ((bp.src, "encode"), (bp.dst, "decode")):
                for k, v in codec_actions(hw.chiplet_config(cid), kind, work, stateful=False).items():
                    counts.add(cid, k, v)
    for cid, bits in transit_bits.items():
        if bits:
            counts.add(cid, "noc_bit_hops", bits * hw.chiplet_config(cid).noc.transit_hops)


def assemble_result(plan: Plan, payload: PayloadModel, counts: Counts, runs, transit_bits, links, inject_tick,
                    done_tick, *, seed: int, fidelity: str, engine: str, engine_reason: str,
                    bounds: dict | None = None) -> "RunResult":
    """The result of a finished run, whichever engine produced it (:class:`Simulation`, or the stream
    engine :mod:`snapsim.stream`): deferred counts, per-link traffic and residency, priced energy,
    latency statistics, the analytical bounds and provenance.

    ``links`` are the used link directions in name order, each with ``name``, ``cfg``, ``power`` (its
    policy, for residency and wakes), ``messages``, ``flits``, ``payload_bits``, ``wire_bits`` and
    ``busy_ticks``; ``counts`` holds what was counted during the run (codec spikes); ``bounds``, if given,
    is ``pipeline_bounds(plan, payload)`` already computed."""
    from .results import RunResult

    hw, wl = plan.hw, plan.workload
    N = plan.inferences
    count_deferred(plan, counts, runs, transit_bits)
    start, end = int(inject_tick.min()), int(done_tick.max())
    makespan = max(1, end - start)
    rows = []
    for link in links:
        res = link.power.residency(start, end, link.busy_ticks)
        counts.link(link.name, wire_bits=link.wire_bits, idle_ns=ticks_to_ns(res["idle"]),
                    asleep_ns=ticks_to_ns(res["asleep"]), retry_bits=link.retry_bits)
        err = link.errors
        rows.append(
            {
                "name": link.name,
                "preset": link.cfg.name,
                "power_policy": link.power.name,
                "idle_power_mw": link.cfg.idle_power_mw,
                "idle_power_source": link.cfg.idle_power_source,
                "messages": link.messages,
                "flits": link.flits,
                "payload_bits": link.payload_bits,
                "bits": link.wire_bits,
                "busy_ns": ticks_to_ns(link.busy_ticks),
                "asleep_ns": ticks_to_ns(res["asleep"]),
                "wakes": link.power.wakes,
                "utilization": link.busy_ticks / makespan,
                "flit_errors": 0 if err is None else err.failures,
                "retransmitted_bits": link.retry_bits,
                "corrupt_flits": 0 if err is None else err.corrupt_flits,
            }
        )
    table = CostTable.from_hardware(hw, {l.name: l.cfg for l in links})
    energy = price(counts, table)
    lat_ns = (done_tick - inject_tick) / 1000.0
    result = {
        "mode": plan.mode,
        "fidelity": fidelity,
        "engine": engine,
        "engine_reason": engine_reason,
        "hardware": hw.name,
        "workload": wl.name,
        "inferences": N,
        "batch": plan.batch,
        "partitions": len(plan.partitions),
        "chiplets_used": list(plan.dies),
        "latency_ns_p50": float(np.percentile(lat_ns, 50)),
        "latency_ns_p99": float(np.percentile(lat_ns, 99)),
        "latency_ns_mean": float(lat_ns.mean()),
        "latency_ns_min": float(lat_ns.min()),
        "latency_ns_max": float(lat_ns.max()),
        "makespan_ns": ticks_to_ns(makespan),
        "throughput_inf_per_s": N * TICKS_PER_S / makespan,
        "latency_ns_zero_load": float(lat_ns[0]),
        "energy_pj_per_inf": energy["total"] / N,
        "energy_pj_per_sample": energy["total"] / (N * plan.batch),
        "energy_breakdown_pj": {k: energy[k] / N for k in ENERGY_PARTS},
        "d2d_bits_per_inf": sum(l["bits"] for l in rows) / N,
        "d2d_payload_bits_per_inf": sum(l["payload_bits"] for l in rows) / N,
        "d2d_retransmitted_bits_per_inf": sum(l["retransmitted_bits"] for l in rows) / N,
        "links": rows,
        "analytical": dict(bounds) if bounds is not None else pipeline_bounds(plan, payload),
        "seed": seed,
        "snapsim_version": __version__,
        "config_hash": config_hash(hw, wl, extra={"mode": plan.mode, "seed": seed, "fidelity": fidelity}),
        "config": {"hardware": hw.model_dump(mode="json"), "workload": wl.model_dump(mode="json")},
        "counts": counts.as_dict(),
        "cost_table": table.as_dict(),
    }
    return RunResult(result, lat_ns)
