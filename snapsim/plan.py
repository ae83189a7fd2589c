"""The plan: what to simulate, decided before any simulation is built (no SimPy here).

``Plan.build(hw, workload, mode)`` maps the workload's partitions onto chiplets, costs each partition
(:mod:`snapsim.costs`), and describes each boundary: what crosses it in this mode (neurons, spiking or
dense, timesteps, firing rate, typed encoding and its send windows), its route over the package with
every hop's timing, and the spike codec's times. The engine (:mod:`snapsim.engine`) decides how time
passes; the closed forms of each mode (:mod:`snapsim.modes`) read the same plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .chiplet import Codec
from .config.hardware import PRECISION_BITS, HardwareConfig
from .config.workload import Stage, WorkloadConfig
from .costs import PartitionCost, dense_cost, spiking_cost
from .encoding import Encoding
from .errors import SnapsimError
from .package import Hop, Package

__all__ = ["MODES", "Plan", "PartitionPlan", "BoundaryPlan"]

MODES = ("ann", "snn", "snap")


@dataclass(frozen=True)
class PartitionPlan:
    index: int
    chiplet: int
    stages: tuple[Stage, ...]
    cost: PartitionCost  # per inference (ann, snap) or per timestep (snn)


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
    chiplets: tuple[int, ...]  # chiplet of each partition
    batch: int
    steps: int  # jobs per inference per partition: snn timesteps, else 1
    partitions: tuple[PartitionPlan, ...]
    boundaries: tuple[BoundaryPlan, ...]

    @property
    def inferences(self) -> int:
        return self.workload.stream.inferences

    @classmethod
    def build(cls, hw: HardwareConfig, workload: WorkloadConfig, mode: str) -> "Plan":
        if mode not in MODES:
            raise SnapsimError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
        package = Package(hw)
        parts = workload.partitions()
        P = len(parts)
        mapping = list(hw.mapping) if hw.mapping is not None else list(range(package.n))
        if P > len(mapping):
            raise SnapsimError(
                f"workload {workload.name!r} has {P} partitions but hardware {hw.name!r} maps only "
                f"{len(mapping)} chiplets (topology has {package.n})"
            )
        cids = tuple(mapping[:P])
        batch = workload.stream.batch
        partitions = tuple(
            PartitionPlan(p, cids[p], tuple(parts[p]), _partition_cost(hw, workload, mode, parts, cids, p))
            for p in range(P)
        )
        boundaries = tuple(_boundary(hw, workload, mode, package, parts, cids, b) for b in range(P - 1))
        steps = workload.snn.timesteps if mode == "snn" else 1
        return cls(hw, workload, mode, package, cids, batch, steps, partitions, boundaries)


def _partition_cost(hw, wl: WorkloadConfig, mode: str, parts, cids, p: int) -> PartitionCost:
    cfg = hw.chiplet_config(cids[p])
    in_elems = math.prod(wl.input_shape) if p == 0 else parts[p - 1][-1].output_elements
    B = wl.stream.batch
    if mode != "snn":
        return dense_cost(cfg, parts[p], in_elems, B, wl.precision, wl.name)
    return spiking_cost(
        cfg, parts[p], in_elems, B, wl.precision, wl.snn.firing_rate,
        encode_input=math.prod(wl.input_shape) if p == 0 else 0,
        decode_output=parts[p][-1].output_elements if p == len(parts) - 1 else 0,
        workload=wl.name,
    )


def _boundary(hw, wl: WorkloadConfig, mode: str, package: Package, parts, cids, b: int) -> BoundaryPlan:
    spec = wl.boundary_spec(b)
    neurons = parts[b][-1].live_elements  # the output plus any live skip tensor (residual shortcut)
    B = wl.stream.batch
    src, dst = cids[b], cids[b + 1]
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
