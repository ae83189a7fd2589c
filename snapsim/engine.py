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
from .energy import ENERGY_PARTS, Counts, CostTable, price
from .modes import FLOWS, pipeline_bounds
from .network import Network
from .payload import PayloadModel, StatisticalPayload
from .plan import MODES, Plan
from .probe import NullProbe
from .units import TICKS_PER_S, ns_to_ticks, ticks_to_ns

__all__ = ["MODES", "Simulation", "FifoServer"]

SERVER_KINDS = ("compute", "encoder", "decoder")


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
        self.probe = probe if probe is not None else NullProbe()
        self.env = network.env if network is not None else simpy.Environment()
        self.net = network if network is not None else Network(self.env, plan.package, fidelity, probe=self.probe,
                                                               seed=self.seed)
        self.servers = {(c, k): FifoServer() for c in plan.chiplets for k in SERVER_KINDS}
        for bp in plan.boundaries:
            self.net.mark_route_used(bp.src, bp.dst)
        self.counts = Counts()
        self._runs = [0] * len(plan.partitions)
        N = plan.inferences
        self.inject_tick = np.zeros(N, dtype=np.int64)
        self.done_tick = np.full(N, -1, dtype=np.int64)
        self.flow = FLOWS[plan.mode](self)

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
            self.probe.server_job(f"c{chiplet}.{kind}", inference, start, end)
        return end

    def compute(self, p: int, inference: int, ready: int) -> int:
        """One run of partition ``p``'s work (its actions are counted once, at the end of the run)."""
        self._runs[p] += 1
        part = self.plan.partitions[p]
        return self.occupy(part.chiplet, "compute", inference, ready, part.cost.ticks)

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

    def _count_deferred(self, N: int) -> None:
        """Work counted per run at the end: partition actions, and each boundary tensor moved on die at
        both ends (SRAM read and NoC at TX, NoC and SRAM write at RX), and the codec's neuron-steps."""
        plan = self.plan
        for part, n in zip(plan.partitions, self._runs):
            for k, v in part.cost.actions.items():
                self.counts.add(part.chiplet, k, v * n)
        for bp in plan.boundaries:
            bits = bp.on_die_bits * N
            if bits:
                for cid, action in ((bp.src, "sram_read_bits"), (bp.dst, "sram_write_bits")):
                    self.counts.add(cid, action, bits)
                    self.counts.add(cid, "noc_bit_hops", Noc(self.hw.chiplet_config(cid)).bit_hops(bits))
            if plan.mode == "snap":  # codec work: every boundary of every inference, all timesteps
                work = bp.neurons * plan.batch * bp.timesteps * N
                self.counts.add(bp.src, "encode_neuron_steps", work)
                self.counts.add(bp.dst, "decode_neuron_steps", work)
        for cid, bits in self.net.transit_bits.items():
            if bits:
                self.counts.add(cid, "noc_bit_hops", bits * self.hw.chiplet_config(cid).noc.transit_hops)

    # -------------------------------------------------------------------------------------------- run

    def run(self) -> "RunResult":
        from .results import RunResult

        self.env.process(self._source())
        self.env.run()
        if (self.done_tick < 0).any():  # pragma: no cover - would be an engine bug
            raise RuntimeError("simulation ended with unfinished inferences")
        N = self.plan.inferences
        self._count_deferred(N)
        start, end = int(self.inject_tick.min()), int(self.done_tick.max())
        makespan = max(1, end - start)
        links = []
        for link in self.net.used_links():
            res = link.power.residency(start, end, link.busy_ticks)
            self.counts.link(link.name, wire_bits=link.wire_bits, idle_ns=ticks_to_ns(res["idle"]),
                             asleep_ns=ticks_to_ns(res["asleep"]), retry_bits=link.retry_bits)
            err = link.errors
            links.append(
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
        table = CostTable.from_hardware(self.hw, {l.name: l.cfg for l in self.net.used_links()})
        energy = price(self.counts, table)
        lat_ns = (self.done_tick - self.inject_tick) / 1000.0
        result = {
            "mode": self.mode,
            "fidelity": self.fidelity,
            "hardware": self.hw.name,
            "workload": self.wl.name,
            "inferences": N,
            "batch": self.plan.batch,
            "partitions": len(self.plan.partitions),
            "chiplets_used": list(self.plan.chiplets),
            "latency_ns_p50": float(np.percentile(lat_ns, 50)),
            "latency_ns_p99": float(np.percentile(lat_ns, 99)),
            "latency_ns_mean": float(lat_ns.mean()),
            "latency_ns_min": float(lat_ns.min()),
            "latency_ns_max": float(lat_ns.max()),
            "makespan_ns": ticks_to_ns(makespan),
            "throughput_inf_per_s": N * TICKS_PER_S / makespan,
            "energy_pj_per_inf": energy["total"] / N,
            "energy_breakdown_pj": {k: energy[k] / N for k in ENERGY_PARTS},
            "d2d_bits_per_inf": sum(l["bits"] for l in links) / N,
            "d2d_payload_bits_per_inf": sum(l["payload_bits"] for l in links) / N,
            "d2d_retransmitted_bits_per_inf": sum(l["retransmitted_bits"] for l in links) / N,
            "links": links,
            "analytical": pipeline_bounds(self.plan, self.payload),
            "seed": self.seed,
            "snapsim_version": __version__,
            "config_hash": config_hash(self.hw, self.wl, extra={"mode": self.mode, "seed": self.seed, "fidelity": self.fidelity}),
            "config": {"hardware": self.hw.model_dump(mode="json"), "workload": self.wl.model_dump(mode="json")},
            "counts": self.counts.as_dict(),
            "cost_table": table.as_dict(),
        }
        return RunResult(result, lat_ns)
