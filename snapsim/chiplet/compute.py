"""MAC array (dense ANN work) and spiking units (accumulates, neuron updates)."""

from __future__ import annotations

import math

from ..config.hardware import ChipletConfig
from ..units import cycles_to_ticks

__all__ = ["Compute"]


class Compute:
    def __init__(self, cfg: ChipletConfig):
        self.cfg = cfg

    def macs_per_cycle(self, precision: str) -> float:
        c = self.cfg.compute
        return c.mac_units * c.macs_per_cycle_scale.get(precision, 1.0) * c.utilization

    def mac_ticks(self, macs: float, precision: str) -> int:
        """Ticks for ``macs`` MACs on the array at ``precision`` (whole cycles)."""
        if macs <= 0:
            return 0
        cycles = _whole(macs / self.macs_per_cycle(precision))
        return cycles_to_ticks(cycles, self.cfg.compute.clock_ghz)

    def spiking_ticks(self, accumulates: float, neuron_updates: float) -> int:
        """Ticks for one timestep of spiking work: accumulate and neuron-update units run in parallel; the
        accumulate units reach ``sparse_efficiency`` of their peak rate on event input."""
        s = self.cfg.spiking
        cycles = max(_whole(accumulates / (s.ac_units * s.sparse_efficiency)), _whole(neuron_updates / s.neuron_units), 0)
        return cycles_to_ticks(cycles, self.cfg.compute.clock_ghz)


def _whole(cycles: float) -> float:
    """Whole cycles (rounded up); an infinite count stays infinite, for cycles_to_ticks to refuse."""
    return math.ceil(cycles - 1e-9) if math.isfinite(cycles) else cycles
