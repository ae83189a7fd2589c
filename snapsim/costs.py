"""What one partition's work costs on its chiplet: roofline time in ticks and the actions it performs.

Pure functions over the chiplet components (:mod:`snapsim.chiplet`); the plan calls them once per
partition. Dense work (ANN-only and SNAP compute) is costed per inference; spiking work (SNN-only) per
timestep. Actions are counted, then priced by :mod:`snapsim.energy`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from .chiplet import Codec, Compute, Memory, Noc
from .config.hardware import PRECISION_BITS, ChipletConfig
from .config.workload import Stage
from .errors import SnapsimError

__all__ = ["PartitionCost", "MEMBRANE_STATE_BITS", "dense_cost", "spiking_cost"]

MEMBRANE_STATE_BITS = 16  # membrane potential kept per spiking neuron (read and written every timestep)


@dataclass(frozen=True)
class PartitionCost:
    """Per-inference (dense) or per-timestep (spiking) cost of one partition on its chiplet."""

    ticks: int
    actions: dict[str, float] = field(default_factory=dict)


class _Actions(dict):
    def add(self, k: str, v: float) -> None:
        self[k] = self.get(k, 0.0) + v


def _check_precision(cfg: ChipletConfig, precision: str, workload: str) -> None:
    if precision not in cfg.compute.energy_pj_per_mac:
        raise SnapsimError(
            f"chiplet {cfg.name!r} has no energy_pj_per_mac for precision {precision!r} used by workload {workload!r}"
        )


def dense_cost(cfg: ChipletConfig, stages: Sequence[Stage], in_elems: int, batch: int, precision: str,
               workload: str = "") -> PartitionCost:
    """Dense (ANN) work of ``stages`` for one inference of ``batch`` samples: per stage the roofline
    ``max(MAC time, SRAM time, DRAM time)``; weights stay in SRAM if the partition's weights fit,
    otherwise they stream from DRAM every inference."""
    _check_precision(cfg, precision, workload)
    compute, memory, noc = Compute(cfg), Memory(cfg), Noc(cfg)
    wbits = abits = PRECISION_BITS[precision]
    on_die = memory.weights_on_die(sum(s.weight_params for s in stages) * wbits)
    actions = _Actions()
    ticks = 0
    for s in stages:
        weights = s.weight_reads(batch) * wbits
        sram_r = in_elems * batch * abits + (weights if on_die else 0)
        sram_w = s.output_elements * batch * abits
        dram = 0 if on_die else weights
        actions.add(f"mac.{precision}", s.macs * batch)
        ticks += max(compute.mac_ticks(s.macs * batch, precision), memory.sram_ticks(sram_r + sram_w),
                     memory.dram_ticks(dram))
        actions.add("noc_bit_hops", noc.bit_hops((in_elems + s.output_elements) * batch * abits))
        actions.add("sram_read_bits", sram_r)
        actions.add("sram_write_bits", sram_w)
        if dram:
            actions.add("dram_bits", dram)
        in_elems = s.output_elements
    return PartitionCost(ticks, dict(actions))


def spiking_cost(cfg: ChipletConfig, stages: Sequence[Stage], in_elems: int, batch: int, precision: str,
                 firing_rate: float, *, encode_input: int = 0, decode_output: int = 0,
                 workload: str = "") -> PartitionCost:
    """Spiking (SNN) work of ``stages`` for one timestep of ``batch`` samples: accumulates = MACs x firing
    rate, one neuron update per output neuron, membrane state read and written, weights fetched
    event-driven (each weight at most once per step); ``encode_input``/``decode_output`` neurons per
    sample are encoded into / decoded from spikes by the codec (network input and output)."""
    _check_precision(cfg, precision, workload)
    compute, memory, noc, codec = Compute(cfg), Memory(cfg), Noc(cfg), Codec(cfg)
    wbits = PRECISION_BITS[precision]
    on_die = memory.weights_on_die(sum(s.weight_params for s in stages) * wbits)
    actions = _Actions()
    ticks = 0
    for s in stages:
        acs = s.macs * batch * firing_rate
        neurons = s.output_elements * batch
        w = min(acs, s.weight_reads(batch)) * wbits  # event-driven weight fetch, each weight at most once
        act = (in_elems + s.output_elements) * batch  # 1-bit spikes in and out
        state = neurons * MEMBRANE_STATE_BITS
        sram_r = in_elems * batch + state + (w if on_die else 0)
        sram_w = s.output_elements * batch + state
        dram = 0 if on_die else w
        actions.add("ac", acs)
        actions.add("neuron_update", neurons)
        ticks += max(compute.spiking_ticks(acs, neurons), memory.sram_ticks(sram_r + sram_w), memory.dram_ticks(dram))
        actions.add("noc_bit_hops", noc.bit_hops(act))
        actions.add("sram_read_bits", sram_r)
        actions.add("sram_write_bits", sram_w)
        if dram:
            actions.add("dram_bits", dram)
        in_elems = s.output_elements
    if encode_input:  # encode the network input into spikes, one timestep per job
        n_in = encode_input * batch
        actions.add("encode_neuron_steps", n_in)
        actions.add("codec_spikes", n_in * firing_rate)
        ticks += codec.step_ticks(n_in) + codec.pipeline_ticks()
    if decode_output:  # decode the network output
        n_out = decode_output * batch
        actions.add("decode_neuron_steps", n_out)
        ticks += codec.step_ticks(n_out) + codec.pipeline_ticks()
    return PartitionCost(ticks, dict(actions))
