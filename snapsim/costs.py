"""What one partition's work costs on its chiplet: roofline time in ticks and the actions it performs.

Pure functions over the chiplet components (:mod:`snapsim.chiplet`); the plan calls them once per
partition. Dense work (ANN-only and SNAP compute) is costed per inference; spiking work (SNN-only) per
timestep. Actions are counted, then priced by :mod:`snapsim.energy`. Every stage is costed on its own
(:func:`dense_stage_costs`, :func:`spiking_stage_costs`); a partition's cost is their sum.

Rules, each written once here:

* **weights**: a partition's weights stay resident in SRAM up to the die's capacity; the same fraction
  of every stage's weights is resident and the rest streams from DRAM whenever it is read
  (:meth:`snapsim.chiplet.Memory.resident_fraction`). Dense work reads each weight once per inference
  (shared by its batch); SNN-only work fetches weights per timestep by the workload's policy
  (:func:`weight_fetch_params`).
* **activations**: a stage reads its input and writes the output of every layer it runs
  (``Stage.neurons``: the inner layers' outputs are also read back by the next layer); dense at the
  workload precision, spikes as 1 bit per neuron per timestep.
* **membrane state**: ``spiking.membrane_state_bits`` per neuron read and written in SRAM at every
  neuron update, the one place it is charged (``energy_pj_per_neuron_update`` is the update's
  arithmetic); the SNN-only input encoder and output decoder, which also run one timestep per job, keep
  their state the same way, SNAP's boundary codec (a neuron's T steps back to back) in a register
  (:func:`codec_actions`). The encoder is a LIF neuron: its step is priced as a neuron update.
* **tensor parallel** (``tp`` dies per partition): every stage's MACs, weights, neurons and output are
  split evenly over the dies; each die reads the whole input of a stage. The cost returned is one die's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from .chiplet import Codec, Compute, Memory, Noc
from .config.hardware import PRECISION_BITS, ChipletConfig
from .config.workload import Stage
from .errors import SnapsimError

__all__ = ["PartitionCost", "codec_actions", "dense_cost", "dense_stage_costs", "spiking_cost", "spiking_io_costs",
           "spiking_stage_costs", "weight_fetch_params"]


@dataclass(frozen=True)
class PartitionCost:
    """Per-inference (dense) or per-timestep (spiking) cost of one partition (or stage) on one die."""

    ticks: int
    actions: dict[str, float] = field(default_factory=dict)


class _Actions(dict):
    def add(self, k: str, v: float) -> None:
        if v:
            self[k] = self.get(k, 0.0) + v


def _total(costs: Sequence[PartitionCost]) -> PartitionCost:
    actions = _Actions()
    for c in costs:
        for k, v in c.actions.items():
            actions.add(k, v)
    return PartitionCost(sum(c.ticks for c in costs), dict(actions))


def _check_precision(cfg: ChipletConfig, table: dict, precision: str, what: str, workload: str) -> None:
    if precision not in table:
        raise SnapsimError(
            f"chiplet {cfg.name!r} has no {what} for precision {precision!r} used by workload {workload!r}"
        )


def _resident(memory: Memory, stages: Sequence[Stage], wbits: int, tp: int) -> float:
    return memory.resident_fraction(sum(s.weight_params for s in stages) * wbits / tp)


def dense_stage_costs(cfg: ChipletConfig, stages: Sequence[Stage], in_elems: int, batch: int, precision: str,
                      workload: str = "", *, tp: int = 1) -> list[PartitionCost]:
    """Dense (ANN) work of each of ``stages`` for one inference of ``batch`` samples on one of ``tp`` dies:
    the roofline ``max(MAC time, SRAM time, DRAM time)``."""
    _check_precision(cfg, cfg.compute.energy_pj_per_mac, precision, "energy_pj_per_mac", workload)
    compute, memory, noc = Compute(cfg), Memory(cfg), Noc(cfg)
    wbits = abits = PRECISION_BITS[precision]
    resident = _resident(memory, stages, wbits, tp)
    out = []
    for s in stages:
        weights = s.weight_reads(batch) * wbits / tp
        inner = (s.neurons - s.output_elements) * batch * abits / tp  # inner layers: written, then read back
        sram_r = in_elems * batch * abits + inner + resident * weights
        sram_w = inner + s.output_elements * batch * abits / tp
        dram = (1.0 - resident) * weights
        macs = s.macs * batch / tp
        actions = _Actions()
        actions.add(f"mac.{precision}", macs)
        actions.add("noc_bit_hops", noc.bit_hops((in_elems + s.neurons / tp) * batch * abits))
        actions.add("sram_read_bits", sram_r)
        actions.add("sram_write_bits", sram_w)
        actions.add("dram_bits", dram)
        ticks = max(compute.mac_ticks(macs, precision), memory.sram_ticks(sram_r + sram_w), memory.dram_ticks(dram))
        out.append(PartitionCost(ticks, dict(actions)))
        in_elems = s.output_elements
    return out


def dense_cost(cfg: ChipletConfig, stages: Sequence[Stage], in_elems: int, batch: int, precision: str,
               workload: str = "", *, tp: int = 1) -> PartitionCost:
    """Dense work of a partition for one inference: the sum of :func:`dense_stage_costs`."""
    return _total(dense_stage_costs(cfg, stages, in_elems, batch, precision, workload, tp=tp))


def weight_fetch_params(policy: str, accumulates: float, weights: float, timesteps: int, reuse_steps: int = 1) -> float:
    """Weights an SNN-only stage fetches per timestep (averaged over the inference's ``timesteps``) when a
    timestep performs ``accumulates`` and the stage reads ``weights``:

    * ``event_driven``: only the weights the spikes address, each at most once per window of
      ``reuse_steps`` timesteps: ``min(accumulates x w, weights) / w`` with ``w = min(reuse_steps, timesteps)``;
    * ``per_timestep``: every weight every timestep;
    * ``per_inference``: every weight once per inference (``weights / timesteps`` per timestep).
    """
    if policy == "event_driven":
        w = max(1, min(reuse_steps, timesteps))
        return min(accumulates * w, weights) / w
    if policy == "per_timestep":
        return weights
    if policy == "per_inference":
        return weights / timesteps
    raise SnapsimError(f"unknown weight-fetch policy {policy!r}")


def codec_actions(cfg: ChipletConfig, kind: str, neuron_steps: float, *, stateful: bool) -> dict[str, float]:
    """Actions of ``neuron_steps`` encoder (``kind="encode"``: a LIF neuron per encoded neuron, priced as a
    neuron update) or decoder (``"decode"``: a spike-count accumulator) steps. ``stateful``: the codec runs
    one timestep per job (the SNN-only input encoder and output decoder), so its membrane or count is read
    and written in SRAM at every step (``spiking.membrane_state_bits``), as the spiking neurons' are;
    SNAP's boundary codec runs a neuron's T steps back to back from one activation (and counts a neuron's
    frames once they have all arrived), keeping the state in a register."""
    if kind not in ("encode", "decode"):
        raise ValueError(f"codec kind must be encode or decode, not {kind!r}")
    state = neuron_steps * cfg.spiking.membrane_state_bits if stateful else 0.0
    actions = _Actions()
    actions.add(f"{kind}_neuron_steps", neuron_steps)
    actions.add("sram_read_bits", state)
    actions.add("sram_write_bits", state)
    return dict(actions)


def spiking_stage_costs(cfg: ChipletConfig, stages: Sequence[Stage], in_elems: int, batch: int, precision: str,
                        firing_rate: float, *, timesteps: int = 1, weight_fetch: str = "event_driven",
                        reuse_steps: int = 1, tp: int = 1, workload: str = "") -> list[PartitionCost]:
    """Spiking (SNN) work of each of ``stages`` for one timestep of ``batch`` samples on one of ``tp`` dies:
    accumulates = MACs x firing rate (at the workload precision), one neuron update per neuron
    (``Stage.neurons``) with its membrane state, spikes read and written as 1-bit frames, weights fetched by
    the ``weight_fetch`` policy (:func:`weight_fetch_params`) over ``timesteps`` per inference."""
    _check_precision(cfg, cfg.spiking.energy_pj_per_ac, precision, "spiking.energy_pj_per_ac", workload)
    compute, memory, noc = Compute(cfg), Memory(cfg), Noc(cfg)
    wbits = PRECISION_BITS[precision]
    resident = _resident(memory, stages, wbits, tp)
    state_bits = cfg.spiking.membrane_state_bits
    out = []
    for s in stages:
        acs = s.macs * batch * firing_rate / tp
        neurons = s.neurons * batch / tp
        fetch = weight_fetch_params(weight_fetch, acs, s.weight_reads(batch) / tp, timesteps, reuse_steps) * wbits
        inner = (s.neurons - s.output_elements) * batch / tp  # inner layers' spikes: written, then read back
        state = neurons * state_bits
        sram_r = in_elems * batch + inner + state + resident * fetch
        sram_w = neurons + state
        dram = (1.0 - resident) * fetch
        actions = _Actions()
        actions.add(f"ac.{precision}", acs)
        actions.add("neuron_update", neurons)
        actions.add("noc_bit_hops", noc.bit_hops((in_elems + s.neurons / tp) * batch))
        actions.add("sram_read_bits", sram_r)
        actions.add("sram_write_bits", sram_w)
        actions.add("dram_bits", dram)
        ticks = max(compute.spiking_ticks(acs, neurons), memory.sram_ticks(sram_r + sram_w), memory.dram_ticks(dram))
        out.append(PartitionCost(ticks, dict(actions)))
        in_elems = s.output_elements
    return out


def spiking_io_costs(cfg: ChipletConfig, batch: int, firing_rate: float, *, encode_input: int = 0,
                     decode_output: int = 0, tp: int = 1) -> tuple[PartitionCost | None, PartitionCost | None]:
    """One timestep of the SNN-only design's input encoder (``encode_input`` neurons per sample encoded into
    spikes) and output decoder (``decode_output`` neurons decoded), each a pipelined codec pass
    (:func:`codec_actions`); None where there is none."""
    codec = Codec(cfg)
    enc = dec = None
    if encode_input:
        n_in = encode_input * batch / tp
        actions = codec_actions(cfg, "encode", n_in, stateful=True)
        actions["codec_spikes"] = n_in * firing_rate
        enc = PartitionCost(codec.step_ticks(n_in) + codec.pipeline_ticks(), actions)
    if decode_output:
        n_out = decode_output * batch / tp
        dec = PartitionCost(codec.step_ticks(n_out) + codec.pipeline_ticks(), codec_actions(cfg, "decode", n_out, stateful=True))
    return enc, dec


def spiking_cost(cfg: ChipletConfig, stages: Sequence[Stage], in_elems: int, batch: int, precision: str,
                 firing_rate: float, *, timesteps: int = 1, weight_fetch: str = "event_driven", reuse_steps: int = 1,
                 tp: int = 1, encode_input: int = 0, decode_output: int = 0, workload: str = "") -> PartitionCost:
    """Spiking work of a partition for one timestep: the sum of :func:`spiking_stage_costs` and of the
    network input encoder / output decoder it runs (:func:`spiking_io_costs`)."""
    stage_costs = spiking_stage_costs(cfg, stages, in_elems, batch, precision, firing_rate, timesteps=timesteps,
                                      weight_fetch=weight_fetch, reuse_steps=reuse_steps, tp=tp, workload=workload)
    io = spiking_io_costs(cfg, batch, firing_rate, encode_input=encode_input, decode_output=decode_output, tp=tp)
    return _total([*stage_costs, *(c for c in io if c is not None)])
