"""The plan: what to simulate, decided before any simulation is built (no SimPy here).

``Plan.build(hw, workload, mode)`` splits the workload into partitions (:mod:`snapsim.partition`: a
count, named cuts, or the die count the weights need), maps them onto chiplets, costs each partition
(:mod:`snapsim.costs`), and describes each boundary: what crosses it in this mode (neurons, spiking or
dense, timesteps, firing rate, typed encoding and its send windows), its route over the package with
every hop's timing, and the spike codec's times. The engine (:mod:`snapsim.engine`) decides how time
passes; the closed forms of each mode (:mod:`snapsim.modes`) read the same plan.

Tensor parallelism (``partition.tensor_parallel: k``): partition ``p`` runs on the ``k`` dies
``mapping[p k .. p k + k - 1]``; every stage's work is split evenly over them and after each stage they
exchange its output by a ring collective (die ``j`` sends to die ``j + 1 mod k``; ``all_reduce``:
``k - 1`` reduce-scatter steps of partial sums then ``k - 1`` all-gather steps, ``all_gather``: the
``k - 1`` all-gather steps; each message one ``1/k`` chunk of the stage output). What crosses:

* partial sums (reduce-scatter) are pre-activation values, dense at the workload precision in every
  mode: no spike encoding applies to them;
* the gathered output is an activation: dense at the precision in ``ann`` and ``snap`` (SNAP's
  encoders sit only at the pipeline boundaries; spiking the all-gather would need an encoder and a
  decoder per stage, which is not modelled), one bit per neuron per timestep in ``snn``.

A group serves one job (an inference, or an SNN timestep) at a time: its compute segments and
collectives in sequence, each collective on the group's ring links, which the plan checks no other
route of the plan uses. The job's time is therefore the closed form of its segments and of each
collective on an idle ring (:func:`snapsim.analytical.message_zero_load_ticks`, or the flit recurrence
:func:`snapsim.analytical.message_recurrence` where credits bind), and the
engine sends the collective's messages at the planned ticks (so link bits, energy and residency are
counted) and checks each arrives when planned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .analytical import message_recurrence, message_zero_load_ticks
from .chiplet import Codec
from .config.hardware import PRECISION_BITS, HardwareConfig
from .config.workload import Stage, WorkloadConfig
from .costs import (PartitionCost, dense_cost, dense_stage_costs, spiking_cost, spiking_io_costs,
                    spiking_stage_costs)
from .encoding import Dense, Encoding
from .errors import SnapsimError
from .package import Hop, Package
from .partition import split

__all__ = ["MODES", "Plan", "PartitionPlan", "BoundaryPlan", "CollectiveSend"]

MODES = ("ann", "snn", "snap")


@dataclass(frozen=True)
class CollectiveSend:
    """One message of a tensor-parallel collective, relative to the start of its partition's job."""

    at: int  # send tick offset
    src: int
    dst: int
    bits: int
    arrival: int  # tick offset the last flit is received (idle ring, closed form)


@dataclass(frozen=True)
class PartitionPlan:
    index: int
    chiplet: int  # the (first) die of the partition
    stages: tuple[Stage, ...]
    cost: PartitionCost  # per inference (ann, snap) or per timestep (snn), on each die of the group
    group: tuple[int, ...] = ()  # every die of the partition (tensor parallel: k dies), default (chiplet,)
    collectives: tuple[CollectiveSend, ...] = ()  # per job, tensor parallel only

    @property
    def dies(self) -> tuple[int, ...]:
        return self.group or (self.chiplet,)


@dataclass(frozen=True)
class BoundaryPlan:
    """What crosses boundary ``index`` (partition ``index`` -> ``index + 1``) in the plan's mode."""

    index: int
    src: int  # chiplet
    dst: int
    neurons: int  # per sample: the last stage's output plus any live skip tensor
    spiking: bool
    timesteps: int  # frames per sample per inference (1 for dense)
    firing_rate: float  # non-zero fraction: spikes per neuron per timestep, or non-zero activation values (ann)
    encoding: Encoding
    windows: tuple[tuple[int, int], ...]  # timesteps of each message (the encoding's send windows)
    hops: tuple[Hop, ...]
    on_die_bits: int  # bits of one inference's boundary tensor moved on die at each end (read at TX, written at RX)
    encoder_pipeline_ticks: int = 0  # snap: codec times (0 otherwise)
    encoder_step_ticks: int = 0
    decoder_ticks: int = 0

    @property
    def messages(self) -> int:
        """Messages per inference."""
        return len(self.windows)


@dataclass(frozen=True)
class Plan:
    hw: HardwareConfig
    workload: WorkloadConfig
    mode: str
    package: Package
    chiplets: tuple[int, ...]  # (first) chiplet of each partition
    batch: int
    steps: int  # jobs per inference per partition: snn timesteps, else 1
    partitions: tuple[PartitionPlan, ...]
    boundaries: tuple[BoundaryPlan, ...]

    @property
    def inferences(self) -> int:
        return self.workload.stream.inferences

    @property
    def dies(self) -> tuple[int, ...]:
        """Every die a partition runs on, in partition order."""
        return tuple(c for part in self.partitions for c in part.dies)

    @property
    def routes(self) -> tuple[tuple[int, int], ...]:
        """(src, dst) of every route the plan sends messages on: boundaries and tensor-parallel rings."""
        out = [(bp.src, bp.dst) for bp in self.boundaries]
        for part in self.partitions:
            out += sorted({(c.src, c.dst) for c in part.collectives})
        return tuple(out)

    @classmethod
    def build(cls, hw: HardwareConfig, workload: WorkloadConfig, mode: str) -> "Plan":
        if mode not in MODES:
            raise SnapsimError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
        package = Package(hw)
        parts = split(workload, hw)
        P = len(parts)
        k = workload.partition.tensor_parallel
        mapping = list(hw.mapping) if hw.mapping is not None else list(range(package.n))
        if P * k > len(mapping):
            raise SnapsimError(
                f"workload {workload.name!r} has {P} partitions x {k} dies (tensor parallel) but hardware "
                f"{hw.name!r} maps only {len(mapping)} chiplets (topology has {package.n})"
            )
        for b in workload.boundaries:
            if not 0 <= b < P - 1:
                raise SnapsimError(f"workload {workload.name!r}: boundaries: index {b} is not a boundary of its "
                                   f"{P} partitions on {hw.name!r} (0..{P - 2})")
        groups = [tuple(mapping[p * k:(p + 1) * k]) for p in range(P)]
        cids = tuple(g[0] for g in groups)
        batch = workload.stream.batch
        partitions = tuple(_partition(hw, workload, mode, package, parts, groups, p) for p in range(P))
        boundaries = tuple(_boundary(hw, workload, mode, package, parts, groups, b) for b in range(P - 1))
        steps = workload.snn.timesteps if mode == "snn" else 1
        plan = cls(hw, workload, mode, package, cids, batch, steps, partitions, boundaries)
        if k > 1:
            _check_rings(plan)
        return plan


def _in_elems(wl: WorkloadConfig, parts, p: int) -> int:
    return math.prod(wl.input_shape) if p == 0 else parts[p - 1][-1].output_elements


def _partition(hw, wl: WorkloadConfig, mode: str, package: Package, parts, groups, p: int) -> PartitionPlan:
    group = groups[p]
    k = len(group)
    cfg = hw.chiplet_config(group[0])
    in_elems = _in_elems(wl, parts, p)
    B = wl.stream.batch
    snn = wl.snn
    if mode != "snn":
        cost = dense_cost(cfg, parts[p], in_elems, B, wl.precision, wl.name, tp=k)
    else:
        cost = spiking_cost(
            cfg, parts[p], in_elems, B, wl.precision, snn.firing_rate, timesteps=snn.timesteps,
            weight_fetch=snn.weight_fetch, reuse_steps=snn.weight_reuse_steps, tp=k,
            encode_input=math.prod(wl.input_shape) if p == 0 else 0,
            decode_output=parts[p][-1].output_elements if p == len(parts) - 1 else 0,
            workload=wl.name,
        )
    if k == 1:
        return PartitionPlan(p, group[0], tuple(parts[p]), cost, group)
    for c in group[1:]:
        if hw.chiplet_config(c) != cfg:
            raise SnapsimError(f"tensor-parallel partition {p} spans dies {list(group)} of different chiplet presets")
    # the job: per stage, compute on every die, then the stage output's ring collective
    enc = dec = None
    if mode != "snn":
        stage_ticks = [c.ticks for c in dense_stage_costs(cfg, parts[p], in_elems, B, wl.precision, wl.name, tp=k)]
    else:
        stage_ticks = [c.ticks for c in spiking_stage_costs(
            cfg, parts[p], in_elems, B, wl.precision, snn.firing_rate, timesteps=snn.timesteps,
            weight_fetch=snn.weight_fetch, reuse_steps=snn.weight_reuse_steps, tp=k, workload=wl.name)]
        enc, dec = spiking_io_costs(cfg, B, snn.firing_rate, tp=k,
                                    encode_input=math.prod(wl.input_shape) if p == 0 else 0,
                                    decode_output=parts[p][-1].output_elements if p == len(parts) - 1 else 0)
    prec = PRECISION_BITS[wl.precision]
    ring = [package.hops(group[j], group[(j + 1) % k]) for j in range(k)]
    sent: list[list[tuple[int, int]]] = [[] for _ in range(k)]  # messages on each ring route this job
    sends: list[CollectiveSend] = []
    zero_load: dict[tuple[int, int], int] = {}

    def arrival(j: int, t: int, bits: int) -> int:
        """Arrival of a message sent on ring route j at t, once the route's previous message has arrived. Where
        no hop's credits bind, nothing of that message still holds the route (its lanes are free and its
        credits return within (C - 1) t_flit), so the message crosses an idle route (closed form); otherwise
        the flit recurrence over every message of the route this job."""
        timings = [h.timing for h in ring[j]]
        transit = [h.transit_after for h in ring[j][:-1]]
        sent[j].append((t, bits))
        if any(tm.credits_bind for tm in timings):
            return message_recurrence(timings, transit, sent[j])[-1]
        if (j, bits) not in zero_load:
            zero_load[(j, bits)] = message_zero_load_ticks(timings, transit, bits)
        return t + zero_load[(j, bits)]

    t = enc.ticks if enc is not None else 0  # the SNN input encoder first, the output decoder last
    for s, ticks in zip(parts[p], stage_ticks):
        t += ticks
        chunk = math.ceil(s.output_elements * B / k)
        gather_bits = chunk if mode == "snn" else chunk * prec  # spikes: one bit per neuron per timestep
        steps = ([chunk * prec] * (k - 1) if wl.partition.collective == "all_reduce" else []) + [gather_bits] * (k - 1)
        for bits in steps:
            arrivals = []
            for j in range(k):
                arrivals.append(arrival(j, t, bits))
                sends.append(CollectiveSend(t, group[j], group[(j + 1) % k], bits, arrivals[-1]))
            t = max(arrivals)
    t += dec.ticks if dec is not None else 0
    for hop in (h for r in ring for h in r):
        if hop.timing.sleep_after is not None:
            raise SnapsimError(f"tensor-parallel ring link {Package.link_name(hop.edge)} has link power states: a "
                               "collective's timing on a sleeping ring is not modelled")
    return PartitionPlan(p, group[0], tuple(parts[p]), PartitionCost(t, cost.actions), group, tuple(sends))


def _check_rings(plan: Plan) -> None:
    """Every tensor-parallel ring link carries only its group's collectives (what makes a job's time exact)."""
    owner: dict[tuple[int, int], str] = {}
    for bp in plan.boundaries:
        for h in bp.hops:
            owner[h.edge] = f"boundary {bp.index}"
    for part in plan.partitions:
        for src, dst in sorted({(c.src, c.dst) for c in part.collectives}):
            for h in plan.package.hops(src, dst):
                who = owner.get(h.edge)
                if who is not None and who != f"partition {part.index}":
                    raise SnapsimError(
                        f"tensor-parallel ring of partition {part.index} shares link "
                        f"{Package.link_name(h.edge)} with {who}: map each group onto dies whose ring links no "
                        "other route uses (e.g. consecutive dies of a neighbour chain)")
                owner[h.edge] = f"partition {part.index}"


def _boundary(hw, wl: WorkloadConfig, mode: str, package: Package, parts, groups, b: int) -> BoundaryPlan:
    spec = wl.boundary_spec(b)
    neurons = parts[b][-1].live_elements  # the output plus any live skip tensor (residual shortcut)
    B = wl.stream.batch
    src, dst = groups[b][-1], groups[b + 1][0]
    hops = package.hops(src, dst)
    if mode == "ann":
        bits = PRECISION_BITS[spec.precision or wl.precision]
        enc = spec.ann_encoding.for_values(bits)  # dense by default; zvc/csr use the activations' own zeros
        return BoundaryPlan(b, src, dst, neurons, False, 1, spec.activation_density, enc, enc.windows(1), hops,
                            neurons * B * bits)
    if mode == "snn":
        T = wl.snn.timesteps
        return BoundaryPlan(b, src, dst, neurons, True, T, wl.snn.firing_rate, spec.encoding,
                            spec.encoding.windows(T), hops, neurons * B * T)  # spikes move on die as 1-bit frames
    T = spec.timesteps
    enc, dec = Codec(hw.chiplet_config(src)), Codec(hw.chiplet_config(dst))
    n = neurons * B
    return BoundaryPlan(b, src, dst, neurons, True, T, spec.firing_rate, spec.encoding, spec.encoding.windows(T),
                        hops, n * PRECISION_BITS[wl.precision], enc.pipeline_ticks(), enc.step_ticks(n),
                        dec.pipeline_ticks() + dec.step_ticks(n))
