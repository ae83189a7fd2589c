"""The discrete-event engine: a stream of inferences through the chiplet pipeline.

Each workload partition runs on one chiplet (``HardwareConfig.mapping``). Per chiplet the MAC array
(or spiking units), the spike encoder and the spike decoder are FIFO servers (SimPy resources); the
D2D links are modelled by :mod:`snapsim.network`. Modes:

* ``ann``: dense ANN compute everywhere; dense activations at the boundary precision cross links.
* ``snn``: every stage spiking for ``snn.timesteps`` steps; each (inference, timestep) flows through the
  pipeline as its own job, so timesteps pipeline across chiplets; spikes cross links.
* ``snap``: dense ANN compute on each die; before each link an encoder turns the activation into
  ``boundary.timesteps`` spike frames (one message each), after it a decoder rebuilds the activation.

Time is integer ticks (1 ps). Energy is counted as actions (see :mod:`snapsim.energy`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import simpy

from . import __version__
from .chiplet import Codec, Compute, Memory, Noc
from .config.hardware import PRECISION_BITS, HardwareConfig
from .config.load import config_hash
from .config.workload import WorkloadConfig
from .encoding import Encoding, parse_encoding
from .energy import ENERGY_PARTS, Counts, price
from .errors import SnapsimError
from .network import Group, Network
from .payload import BoundaryPayload, PayloadModel, StatisticalPayload
from .units import TICKS_PER_S, ns_to_ticks, ticks_to_ns

__all__ = ["MODES", "Simulation", "PartitionCost", "MEMBRANE_STATE_BITS"]

MODES = ("ann", "snn", "snap")
MEMBRANE_STATE_BITS = 16  # membrane potential kept per spiking neuron (read and written every timestep)


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


@dataclass
class PartitionCost:
    """Per-inference (ann/snap) or per-timestep (snn) cost of one partition on its chiplet."""

    ticks: int
    actions: dict[str, float]


class Simulation:
    def __init__(
        self,
        hw: HardwareConfig,
        workload: WorkloadConfig,
        mode: str,
        seed: int = 0,
        fidelity: str = "fast",
        payload: PayloadModel | None = None,
    ):
        if mode not in MODES:
            raise SnapsimError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
        self.hw, self.wl, self.mode, self.seed, self.fidelity = hw, workload, mode, int(seed), fidelity
        self.env = simpy.Environment()
        self.net = Network(self.env, hw, fidelity)
        self.parts = workload.partitions()
        P = len(self.parts)
        n = self.net.topology.n
        mapping = list(hw.mapping) if hw.mapping is not None else list(range(n))
        if P > len(mapping):
            raise SnapsimError(
                f"workload {workload.name!r} has {P} partitions but hardware {hw.name!r} maps only "
                f"{len(mapping)} chiplets (topology has {n})"
            )
        self.cids = mapping[:P]
        self.batch = workload.stream.batch
        self.T = workload.snn.timesteps if mode == "snn" else 1
        self.boundaries = [self._boundary_payload(b) for b in range(P - 1)]
        self.payload = payload or StatisticalPayload(self.boundaries, self.batch, workload.stream.inferences, seed)
        self.counts = Counts()
        self.costs = [self._partition_cost(p) for p in range(P)]
        self.compute_res = {c: FifoServer() for c in self.cids}
        self.encoder_res = {c: FifoServer() for c in self.cids}
        self.decoder_res = {c: FifoServer() for c in self.cids}
        for b in range(P - 1):
            self.net.mark_route_used(self.cids[b], self.cids[b + 1])
        self._runs = [0] * P
        self._moved_bits = [0.0] * (P - 1)
        self._codec_ticks = []
        for b in range(P - 1):
            n = self.boundaries[b].neurons * self.batch
            enc, dec = Codec(hw.chiplet_config(self.cids[b])), Codec(hw.chiplet_config(self.cids[b + 1]))
            self._codec_ticks.append((enc.pipeline_ticks(), enc.step_ticks(n), dec.pipeline_ticks() + dec.step_ticks(n)))
        self.inject_tick = np.zeros(workload.stream.inferences, dtype=np.int64)
        self.done_tick = np.full(workload.stream.inferences, -1, dtype=np.int64)

    # ------------------------------------------------------------------------------------ cost models

    def _boundary_payload(self, b: int) -> BoundaryPayload:
        spec = self.wl.boundary_spec(b)
        neurons = self.parts[b][-1].live_elements  # the output plus any live skip tensor (residual shortcut)
        path = f"boundaries.{b}" if b in self.wl.boundaries else "boundary"
        if self.mode == "ann":
            prec = spec.precision or self.wl.precision
            return BoundaryPayload(neurons, False, 1, 0.0, Encoding("dense", precision_bits=PRECISION_BITS[prec]))
        enc = parse_encoding(spec.encoding, f"{path}.encoding")
        if self.mode == "snn":
            return BoundaryPayload(neurons, True, self.wl.snn.timesteps, self.wl.snn.firing_rate, enc)
        return BoundaryPayload(neurons, True, spec.timesteps, spec.firing_rate, enc)

    def _partition_cost(self, p: int) -> PartitionCost:
        cid = self.cids[p]
        cfg = self.hw.chiplet_config(cid)
        compute, memory, noc = Compute(cfg), Memory(cfg), Noc(cfg)
        prec = self.wl.precision
        if prec not in cfg.compute.energy_pj_per_mac:
            raise SnapsimError(
                f"chiplet {cfg.name!r} has no energy_pj_per_mac for precision {prec!r} used by workload {self.wl.name!r}"
            )
        wbits = PRECISION_BITS[prec]
        B = self.batch
        stages = self.parts[p]
        weight_bits = sum(s.weight_params for s in stages) * wbits
        on_die = memory.weights_on_die(weight_bits)
        in_elems = math.prod(self.wl.input_shape) if p == 0 else self.parts[p - 1][-1].output_elements
        actions: dict[str, float] = {}

        def add(k: str, v: float) -> None:
            actions[k] = actions.get(k, 0.0) + v

        ticks = 0
        for s in stages:
            if self.mode == "snn":
                rate = self.wl.snn.firing_rate
                acs = s.macs * B * rate
                neurons = s.output_elements * B
                w = min(acs, s.weight_reads(B)) * wbits  # event-driven weight fetch, each weight at most once
                act = (in_elems + s.output_elements) * B  # 1-bit spikes in and out
                state = neurons * MEMBRANE_STATE_BITS
                sram_r = in_elems * B + state + (w if on_die else 0)
                sram_w = s.output_elements * B + state
                dram = 0 if on_die else w
                add("ac", acs)
                add("neuron_update", neurons)
                t = max(compute.spiking_ticks(acs, neurons), memory.sram_ticks(sram_r + sram_w), memory.dram_ticks(dram))
                add("noc_bit_hops", noc.bit_hops(act))
            else:
                abits = PRECISION_BITS[prec]
                sram_r = in_elems * B * abits + (s.weight_reads(B) * wbits if on_die else 0)
                sram_w = s.output_elements * B * abits
                dram = 0 if on_die else s.weight_reads(B) * wbits
                add(f"mac.{prec}", s.macs * B)
                t = max(compute.mac_ticks(s.macs * B, prec), memory.sram_ticks(sram_r + sram_w), memory.dram_ticks(dram))
                add("noc_bit_hops", noc.bit_hops((in_elems + s.output_elements) * B * abits))
            add("sram_read_bits", sram_r)
            add("sram_write_bits", sram_w)
            if dram:
                add("dram_bits", dram)
            ticks += t
            in_elems = s.output_elements
        if self.mode == "snn":
            codec = Codec(cfg)
            if p == 0:  # encode the network input into spikes, one timestep per job
                n_in = math.prod(self.wl.input_shape) * B
                add("encode_neuron_steps", n_in)
                add("codec_spikes", n_in * self.wl.snn.firing_rate)
                ticks += codec.step_ticks(n_in) + codec.pipeline_ticks()
            if p == len(self.parts) - 1:  # decode the network output
                n_out = self.parts[p][-1].output_elements * B
                add("decode_neuron_steps", n_out)
                ticks += codec.step_ticks(n_out) + codec.pipeline_ticks()
        return PartitionCost(ticks, actions)

    # ---------------------------------------------------------------------------------------- process

    def _charge(self, p: int) -> None:
        """One more run of partition ``p``'s work (its actions are added once, at the end of the run)."""
        self._runs[p] += 1

    def _moved(self, b: int, dense_bits: float) -> None:
        """A boundary's activation moved on die at both ends (SRAM read and NoC at TX, NoC and SRAM write
        at RX); summed per boundary and counted at the end of the run."""
        self._moved_bits[b] += dense_bits

    def _count_deferred(self) -> None:
        for p, n in enumerate(self._runs):
            cid = self.cids[p]
            for k, v in self.costs[p].actions.items():
                self.counts.add(cid, k, v * n)
        for b, bits in enumerate(self._moved_bits):
            if not bits:
                continue
            for cid, action in ((self.cids[b], "sram_read_bits"), (self.cids[b + 1], "sram_write_bits")):
                self.counts.add(cid, action, bits)
                self.counts.add(cid, "noc_bit_hops", Noc(self.hw.chiplet_config(cid)).bit_hops(bits))

    def _start_inference(self, i: int) -> None:
        """Inference ``i`` enters partition 0 now. Jobs then move by callbacks: a server computes when a
        job ends (no event), and the message, encoder frames or completion are scheduled at that tick."""
        now = self.env.now
        self.inject_tick[i] = now
        if self.mode == "snn":
            state = [self.T, now]  # timestep jobs still running, latest finish
            for t in range(self.T):
                self._snn_job(0, i, t, now, state)
        else:
            self._job(0, i, now)

    def _job(self, p: int, i: int, ready: int) -> None:
        """ann/snap: inference ``i`` is ready at partition ``p`` at tick ``ready``."""
        _start, end = self.compute_res[self.cids[p]].occupy(ready, self.costs[p].ticks)
        self._charge(p)
        if p == len(self.parts) - 1:
            self._finish(i, end)
        elif self.mode == "ann":
            bits = self.payload.message_payload_bits(p, i, 0)
            self._moved(p, bits)
            self.net.send(self.cids[p], self.cids[p + 1], bits, at=end,
                          on_done=lambda _m: self._job(p + 1, i, self.env.now))
        else:
            self._snap_boundary(p, i, end)

    def _snn_job(self, p: int, i: int, t: int, ready: int, state: list) -> None:
        """snn: timestep ``t`` of inference ``i`` is ready at partition ``p``; timesteps pipeline."""
        _start, end = self.compute_res[self.cids[p]].occupy(ready, self.costs[p].ticks)
        self._charge(p)
        if p < len(self.parts) - 1:
            bits = self.payload.message_payload_bits(p, i, t)
            self._moved(p, self.boundaries[p].neurons * self.batch)  # spikes move on die as 1-bit frames
            self.net.send(self.cids[p], self.cids[p + 1], bits, at=end,
                          on_done=lambda _m: self._snn_job(p + 1, i, t, self.env.now, state))
            return
        state[0] -= 1
        state[1] = max(state[1], end)
        if state[0] == 0:
            self._finish(i, state[1])

    def _spikes(self, b: int, i: int, t: int) -> float:
        f = getattr(self.payload, "message_spikes", None)
        if f is not None:
            return f(b, i, t)
        bp = self.boundaries[b]
        return bp.neurons * self.batch * bp.firing_rate

    def _snap_boundary(self, b: int, i: int, ready: int) -> None:
        """Encoder on the source die emits one spike frame per timestep (each sent as soon as encoded);
        the decoder on the destination die finishes one step after the last frame arrives."""
        src, dst = self.cids[b], self.cids[b + 1]
        bp = self.boundaries[b]
        pipe, step, dec_ticks = self._codec_ticks[b]
        self._moved(b, bp.neurons * self.batch * PRECISION_BITS[self.wl.precision])

        def decoded() -> None:
            _s, end = self.decoder_res[dst].occupy(self.env.now, dec_ticks)
            self._job(b + 1, i, end)

        group = Group(bp.timesteps, decoded)
        start, _end = self.encoder_res[src].occupy(ready, pipe + bp.timesteps * step)
        spikes = 0.0
        for t in range(bp.timesteps):
            self.net.send(src, dst, self.payload.message_payload_bits(b, i, t), at=start + pipe + (t + 1) * step,
                          group=group)
            spikes += self._spikes(b, i, t)
        self.counts.add(src, "codec_spikes", spikes)

    def _finish(self, i: int, end: int) -> None:
        """Inference ``i`` leaves the last partition at tick ``end``."""
        self.done_tick[i] = end
        s = self.wl.stream
        if s.injection == "closed" and self._next < s.inferences:
            nxt = self._next
            self._next += 1
            self.env.timeout(end - self.env.now).callbacks.append(lambda _e: self._start_inference(nxt))

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
        from .results import RunResult

        self.env.process(self._source())
        self.env.run()
        self._count_deferred()
        if self.mode == "snap":  # codec work: every boundary of every inference, all timesteps
            N = self.wl.stream.inferences
            for b, bp in enumerate(self.boundaries):
                work = bp.neurons * self.batch * bp.timesteps * N
                self.counts.add(self.cids[b], "encode_neuron_steps", work)
                self.counts.add(self.cids[b + 1], "decode_neuron_steps", work)
        if (self.done_tick < 0).any():  # pragma: no cover - would be an engine bug
            raise RuntimeError("simulation ended with unfinished inferences")
        start, end = int(self.inject_tick.min()), int(self.done_tick.max())
        makespan = max(1, end - start)
        links = []
        for link in self.net.used_links():
            power = link.server.power
            # a power-managed link sleeps from tick 0 until its first message, so [0, start) is sleep too
            asleep = 0 if power.sleep_after is None else power.asleep_total(end) - start
            asleep = min(max(0, asleep), max(0, makespan - link.busy_ticks))
            idle_ns = ticks_to_ns(max(0, makespan - link.busy_ticks - asleep))
            self.counts.link_wire_bits[link.name] = link.wire_bits
            self.counts.link_idle_ns[link.name] = idle_ns
            self.counts.link_asleep_ns[link.name] = ticks_to_ns(asleep)
            self.counts.link_energy_pj_per_bit[link.name] = link.cfg.energy_pj_per_bit
            self.counts.link_idle_power_mw[link.name] = link.cfg.idle_power_mw
            self.counts.link_sleep_power_mw[link.name] = link.cfg.sleep_power_mw
            links.append(
                {
                    "name": link.name,
                    "preset": link.cfg.name,
                    "messages": link.messages,
                    "flits": link.flits,
                    "payload_bits": link.payload_bits,
                    "bits": link.wire_bits,
                    "busy_ns": ticks_to_ns(link.busy_ticks),
                    "asleep_ns": ticks_to_ns(asleep),
                    "wakes": power.wakes,
                    "utilization": link.busy_ticks / makespan,
                }
            )
        for cid, bits in self.net.transit_bits.items():
            if bits:
                noc = self.hw.chiplet_config(cid).noc
                self.counts.add(cid, "noc_bit_hops", bits * noc.transit_hops)
        energy = price(self.counts, self.hw)
        N = self.wl.stream.inferences
        lat_ns = (self.done_tick - self.inject_tick) / 1000.0
        from .analytical import pipeline_bounds

        bounds = pipeline_bounds(self)
        result = {
            "mode": self.mode,
            "fidelity": self.fidelity,
            "hardware": self.hw.name,
            "workload": self.wl.name,
            "inferences": N,
            "batch": self.batch,
            "partitions": len(self.parts),
            "chiplets_used": list(self.cids),
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
            "links": links,
            "analytical": bounds,
            "seed": self.seed,
            "snapsim_version": __version__,
            "config_hash": config_hash(self.hw, self.wl, extra={"mode": self.mode, "seed": self.seed, "fidelity": self.fidelity}),
            "config": {"hardware": self.hw.model_dump(mode="json"), "workload": self.wl.model_dump(mode="json")},
            "counts": self.counts.as_dict(),
        }
        return RunResult(result, lat_ns)
