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

    def pipeline_ticks(self) -> int:
        return cycles_to_ticks(self.cfg.codec.pipeline_cycles, self.cfg.compute.clock_ghz)
