"""Spike encoder (activation -> spikes before a D2D link) and decoder (spikes -> activation after it)."""

from __future__ import annotations

import math

from ..config.hardware import ChipletConfig
from ..units import cycles_to_ticks

__all__ = ["Codec"]


class Codec:
    def __init__(self, cfg: ChipletConfig):
        self.cfg = cfg

    def step_ticks(self, neurons: int) -> int:
        """Ticks to encode (or decode) one timestep of ``neurons`` neurons, pipeline latency excluded."""
        c = self.cfg.codec
        return cycles_to_ticks(math.ceil(neurons / c.neurons_per_cycle - 1e-9), self.cfg.compute.clock_ghz)

    @property
    def encode_energy_pj_per_neuron_step(self) -> float:
        """The encoder is a LIF neuron: a neuron update's arithmetic unless the codec gives its own."""
        e = self.cfg.codec.encode_energy_pj_per_neuron_step
        return self.cfg.spiking.energy_pj_per_neuron_update if e is None else e

    def pipeline_ticks(self) -> int:
        return cycles_to_ticks(self.cfg.codec.pipeline_cycles, self.cfg.compute.clock_ghz)
