"""Workload models: a network as an ordered list of stages, its partition onto chiplets, and what
crosses each partition boundary.

MACs and weights are per *sample*; a stream inference carries ``stream.batch`` samples. The same
workload runs as ANN-only, SNN-only or SNAP; the mode decides whether a boundary carries dense
activations or spikes.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt, model_validator

from ..encoding import Bitmap, Dense, EncodingSpec
from ..errors import SnapsimError
from ..partition import balanced_cuts, split_at
from .hardware import IntKey, Precision, Strict

__all__ = ["MAX_STAGES", "StageConfig", "BoundarySpec", "CapacitySpec", "PartitionSpec", "StreamSpec", "SnnSpec",
           "WorkloadConfig", "Stage", "WEIGHT_FETCH"]


MAX_STAGES = 100_000
"""Most stages a workload may expand into (a network of 100k layers is far beyond any real model)."""


class StageConfig(Strict):
    name: str = Field(description="Stage name (unique after repeat expansion)")
    repeat: PositiveInt = Field(1, description="Expand into NAME0..NAME{repeat-1}")
    macs: NonNegativeFloat = Field(description="Multiply-accumulates per sample")
    weight_params: NonNegativeFloat = Field(0, description="Weights (parameters) this stage stores")
    weight_read_params_per_sample: NonNegativeFloat | None = Field(
        None,
        description="Weights read per sample when a stage reads only part of its weights (an embedding lookup "
        "reads one row); default: all weight_params, read once per inference and shared by its batch",
    )
    output_shape: list[PositiveInt] = Field(description="Output activation shape per sample, without batch")
    neurons: PositiveInt | None = Field(
        None,
        description="Output elements per sample of every layer the stage runs (a block of several layers): in "
        "SNN-only mode one spiking neuron (membrane) each, in the dense modes the activations written and read "
        "back on die; default: the output_shape's elements (a one-layer stage)",
    )
    skip_elements: NonNegativeInt = Field(
        0,
        description="Elements per sample of other tensors still live after this stage (a residual shortcut "
        "waiting for its add); a die boundary placed right after the stage carries them with the output",
    )


class BoundarySpec(Strict):
    """What crosses a partition boundary, by mode: activation values at ``precision`` in the
    ``ann_encoding`` (ann) or spikes in the ``encoding`` (snn, snap)."""

    precision: Precision | None = Field(None, description="Dense precision; default: workload precision")
    timesteps: PositiveInt = Field(4, description="SNAP: spike frames the encoder produces per inference (the SNN-only timesteps are snn.timesteps)")
    firing_rate: float = Field(0.1, ge=0, le=1, description="Mean spikes per neuron per timestep")
    encoding: EncodingSpec = Field(
        default_factory=Bitmap,
        description="Spike wire encoding: a kind name (bitmap) or a mapping with kind and that kind's fields "
        "(see snapsim/encoding.py and docs/reference/workload.md)",
    )
    ann_encoding: EncodingSpec = Field(
        default_factory=Dense,
        description="ANN-mode wire encoding of the activation values (at `precision`, or a trace's recorded "
        "precision): dense (default: every value sent, the usual accelerator-to-accelerator format), zvc "
        "(zero-value compression) or csr/aer/rle with values; it decides whether the ANN baseline uses its own "
        "activation sparsity",
    )
    activation_density: float = Field(
        1.0, ge=0, le=1,
        description="ANN mode, statistical payload: fraction of activation values that are non-zero (sizes "
        "zvc/csr messages; a trace replay counts them instead). Default 1.0: no exact zeros, as for GELU/SiLU "
        "activations; a ReLU layer zeroes about half (shared/reference/trace-formats.md section 8)",
    )

    @model_validator(mode="after")
    def _values(self) -> "BoundarySpec":
        if not self.ann_encoding.carries_values:
            raise ValueError(f"ann_encoding: {self.ann_encoding.kind} carries no values; an ANN boundary sends "
                             "activation values: dense, zvc, csr, aer or rle")
        return self


class CapacitySpec(Strict):
    """Capacity-driven split (:mod:`snapsim.partition`): the fewest partitions whose weights fit the dies' SRAM."""

    max_count: PositiveInt = Field(
        description="At most this many partitions; a model that needs more keeps as much as fits on die and "
        "streams the rest of its weights from DRAM"
    )
    sram_fraction: float = Field(
        1.0, gt=0, le=1, description="Share of each die's SRAM the partitioner may fill with weights"
    )


class PartitionSpec(Strict):
    """Exactly one of ``count`` (contiguous split balancing MACs), ``after`` (stage names ending each
    partition) or ``capacity`` (the die count the weights need, chosen with the hardware); ``names`` names
    the partitions (default ``die0, die1, ...``, what snapsim's recorders write), so a trace's boundaries are
    matched to the workload's by partition name."""

    count: PositiveInt | None = Field(None, description="Split the stages into this many contiguous partitions, balancing MACs (minimising the largest)")
    after: list[str] | None = Field(None, description="Stage names that end each partition but the last, in order")
    capacity: CapacitySpec | None = Field(
        None,
        description="Pick the partition count from the dies' SRAM: the fewest contiguous partitions whose weights "
        "fit (MACs balanced among such splits), at most capacity.max_count (then weights are balanced and the "
        "excess streams from DRAM); needs the hardware, so it is resolved when the run is planned",
    )
    tensor_parallel: PositiveInt = Field(
        1,
        description="Dies per partition: every stage's weights and work split evenly over this many neighbouring "
        "dies, which exchange each stage's output by a ring collective over their links (1: pipeline only)",
    )
    collective: Literal["all_reduce", "all_gather"] = Field(
        "all_reduce",
        description="Tensor-parallel exchange per stage: all_reduce (row-parallel: partial sums reduce-scattered, "
        "then the sum all-gathered; 2(k-1) ring steps) or all_gather (column-parallel: each die's slice of the "
        "output gathered; k-1 steps)",
    )
    names: list[Annotated[str, Field(min_length=1)]] | None = Field(
        None, description="Partition names in order (default die0, die1, ...); a trace replay matches its "
        "boundaries' src/dst partitions to them")

    @model_validator(mode="after")
    def _check(self) -> "PartitionSpec":
        if sum(x is not None for x in (self.count, self.after, self.capacity)) != 1:
            raise ValueError("give exactly one of count, after or capacity")
        return self


class StreamSpec(Strict):
    inferences: PositiveInt = Field(64, description="Inferences in the stream")
    batch: PositiveInt = Field(1, description="Samples per inference (per pipeline message)")
    injection: Literal["closed", "periodic", "poisson"] = Field("closed", description="closed: max_in_flight inferences at once, the next entering when one leaves; periodic or poisson: open-loop arrivals every interval_ns (exact or exponential mean)")
    max_in_flight: PositiveInt = Field(1, description="closed: inferences in the pipeline at once")
    interval_ns: PositiveFloat | None = Field(None, description="periodic: spacing; poisson: mean spacing")

    @model_validator(mode="after")
    def _check(self) -> "StreamSpec":
        if self.injection in ("periodic", "poisson") and self.interval_ns is None:
            raise ValueError(f"injection {self.injection} needs interval_ns")
        return self


#: SNN-only weight-fetch policies (``snn.weight_fetch``)
WEIGHT_FETCH = ("event_driven", "per_timestep", "per_inference")


class SnnSpec(Strict):
    """SNN-only mode: every stage spiking for ``timesteps`` steps at ``firing_rate``."""

    timesteps: PositiveInt = Field(4, description="SNN-only: timesteps per inference (every stage spiking)")
    firing_rate: float = Field(0.1, ge=0, le=1, description="SNN-only: mean spikes per neuron per timestep, at every stage")
    weight_fetch: Literal[WEIGHT_FETCH] = Field(  # type: ignore[valid-type]
        "event_driven",
        description="How SNN-only fetches weights from memory: event_driven (only the weights the spikes address, "
        "each at most once per window of weight_reuse_steps timesteps; with 1, the time-sequential processing of "
        "conventional SNN accelerators, Lee et al. HPCA 2022 'Parallel Time Batching'), per_timestep (every "
        "weight every timestep, whatever the spikes) or per_inference (every weight once per inference: all "
        "timesteps of a layer run with its weights held, a temporal-parallel dataflow)",
    )
    weight_reuse_steps: PositiveInt = Field(
        1, description="event_driven: timesteps a fetched weight stays buffered and is reused (the time window)"
    )


class WorkloadConfig(Strict):
    kind: Literal["workload"] = Field("workload", description="File kind")
    name: str = Field(description="Workload name")
    description: str = Field("", description="What the workload models (free text)")
    domain: Literal["language", "vision", "other"] = Field("other", description="What kind of task (reports group models by it)")
    unit: str = Field("inference", description="What one sample is: token, image, ...")
    precision: Precision = Field("bf16", description="Precision of weights, activations and MACs (dense work)")
    input_shape: list[PositiveInt] = Field(description="Input of the first stage per sample, without batch")
    stages: list[StageConfig] = Field(min_length=1, description="The network's stages in order")
    partition: PartitionSpec = Field(description="How the stages split into partitions, one per chiplet")
    boundary: BoundarySpec = Field(default_factory=BoundarySpec, description="What crosses every partition boundary (unless boundaries replaces it)")
    boundaries: dict[IntKey, BoundarySpec] = Field(default_factory=dict, description="Per-boundary replacements")
    snn: SnnSpec = Field(default_factory=SnnSpec, description="The SNN-only design's timesteps and firing rate")
    stream: StreamSpec = Field(default_factory=StreamSpec, description="The stream of inferences")
    sources: dict[str, str] = Field(default_factory=dict, description="Field path -> citation or assumption for the values")

    @model_validator(mode="after")
    def _check(self) -> "WorkloadConfig":
        expanded = sum(s.repeat for s in self.stages)
        if expanded > MAX_STAGES:  # checked before expanding them (repeat: 1e9 would fill the memory)
            raise ValueError(f"stages expand to {expanded:,} stages (with repeat); at most {MAX_STAGES:,} are supported")
        names = [s.name for s in self.expanded_stages()]
        if len(set(names)) != len(names):
            first: dict[str, int] = {}
            for i, s in enumerate(self.stages):  # name the stage entry that repeats a name, for its line
                for r in range(s.repeat):
                    name = s.name if s.repeat == 1 else f"{s.name}{r}"
                    if name in first:
                        raise ValueError(f"stages.{i}.name: stage name {name!r} (after repeat expansion) is already "
                                         f"used by stages.{first[name]}; names must be unique")
                    first[name] = i
        if self.partition.after is not None:
            pos = {n: i for i, n in enumerate(names)}
            idx = []
            for n in self.partition.after:
                if n not in pos:
                    raise ValueError(f"partition.after names unknown stage {n!r}")
                idx.append(pos[n])
            if idx != sorted(idx) or len(set(idx)) != len(idx):
                raise ValueError("partition.after must list stages in increasing order")
            if idx and idx[-1] == len(names) - 1:
                raise ValueError("partition.after must not name the last stage (it ends the last partition anyway)")
        elif self.partition.count is not None and self.partition.count > len(names):
            raise ValueError(f"partition.count {self.partition.count} exceeds the {len(names)} stages")
        if self.partition.capacity is None:  # a capacity split's count is known once planned on hardware
            names = self.partition.names
            if names is not None and (len(names) != self.n_partitions or len(set(names)) != len(names)):
                raise ValueError(f"partition.names must name each of the {self.n_partitions} partitions once; "
                                 f"got {names}")
            n_b = self.n_partitions - 1
            for b in self.boundaries:
                if not 0 <= b < n_b:
                    raise ValueError(f"boundaries: index {b} is not a boundary (0..{n_b - 1})")
            parts = self.partitions()
            for b in range(n_b):  # each boundary's encoding must fit the neurons that cross it
                unfit = self.boundary_spec(b).encoding.unfit(parts[b][-1].live_elements)
                if unfit is not None:
                    where = f"boundaries.{b}" if b in self.boundaries else "boundary"
                    raise ValueError(f"{where}.encoding.{unfit[0]}: {unfit[1]} at boundary {b}")
        return self

    def expanded_stages(self) -> list["Stage"]:
        out: list[Stage] = []
        for s in self.stages:
            for r in range(s.repeat):
                name = s.name if s.repeat == 1 else f"{s.name}{r}"
                out.append(Stage(name, float(s.macs), float(s.weight_params), tuple(s.output_shape),
                                 s.weight_read_params_per_sample, s.skip_elements, s.neurons))
        return out

    @property
    def n_partitions(self) -> int:
        """Partitions of a ``count`` or ``after`` split (a ``capacity`` split needs the hardware:
        :func:`snapsim.partition.split`)."""
        if self.partition.after is not None:
            return len(self.partition.after) + 1
        if self.partition.capacity is not None:
            raise SnapsimError(f"workload {self.name!r}: partition.capacity picks the partition count from the "
                               "hardware (snapsim.partition.split(workload, hardware))")
        return int(self.partition.count)

    def partitions(self) -> list[list["Stage"]]:
        """Stages of each partition, contiguous, in order (``count`` or ``after`` splits)."""
        stages = self.expanded_stages()
        if self.partition.after is not None:
            cuts = [i + 1 for i, s in enumerate(stages) if s.name in set(self.partition.after)]
        else:
            cuts = balanced_cuts([s.macs for s in stages], self.n_partitions)
        return split_at(stages, cuts)

    def partition_names(self, count: int | None = None) -> list[str]:
        """The name of each partition: ``partition.names``, default ``die0, die1, ...`` (``count``: the
        planned partition count, for a capacity split whose count the hardware decides)."""
        if self.partition.names is not None:
            return list(self.partition.names)
        return [f"die{p}" for p in range(self.n_partitions if count is None else count)]

    def boundary_spec(self, b: int) -> BoundarySpec:
        return self.boundaries.get(b, self.boundary)


class Stage:
    """One expanded stage (plain, hashable)."""

    __slots__ = ("name", "macs", "weight_params", "output_shape", "read_per_sample", "skip_elements", "_neurons")

    def __init__(self, name: str, macs: float, weight_params: float, output_shape: tuple[int, ...],
                 read_per_sample: float | None = None, skip_elements: int = 0, neurons: int | None = None):
        self.name = name
        self.macs = macs
        self.weight_params = weight_params
        self.output_shape = output_shape
        self.read_per_sample = read_per_sample
        self.skip_elements = skip_elements
        self._neurons = neurons

    @property
    def neurons(self) -> int:
        """Output elements per sample of every layer of the stage (spiking neurons in SNN-only mode)."""
        return self.output_elements if self._neurons is None else int(self._neurons)

    def weight_reads(self, batch: int) -> float:
        """Weights read by one inference of ``batch`` samples."""
        if self.read_per_sample is None:
            return self.weight_params
        return min(self.weight_params, self.read_per_sample * batch)

    @property
    def output_elements(self) -> int:
        return math.prod(self.output_shape)

    @property
    def live_elements(self) -> int:
        """Elements per sample that cross a die boundary placed right after this stage: the output plus any
        skip tensor (residual shortcut) still waiting for its consumer."""
        return math.prod(self.output_shape) + self.skip_elements

    def __repr__(self) -> str:
        return f"Stage({self.name!r}, macs={self.macs:g})"
