"""On-die SRAM and the optional DRAM that holds weights which do not fit on die."""

from __future__ import annotations

from ..config.hardware import ChipletConfig
from ..units import TICKS_PER_S, ceil_ticks

__all__ = ["Memory"]


class Memory:
    def __init__(self, cfg: ChipletConfig):
        self.cfg = cfg

    @property
    def sram_bits(self) -> float:
        return self.cfg.sram.capacity_mib * 8 * 2**20

    def weights_on_die(self, weight_bits: float) -> bool:
        """Weights stay resident in SRAM if they fit; otherwise they stream from DRAM every inference."""
        return weight_bits <= self.sram_bits or self.cfg.dram is None

    def sram_ticks(self, bits: float) -> int:
        return _transfer_ticks(bits, self.cfg.sram.bandwidth_gbytes_per_s)

    def dram_ticks(self, bits: float) -> int:
        if bits <= 0:
            return 0
        if self.cfg.dram is None:
            raise ValueError("no dram configured")
        return _transfer_ticks(bits, self.cfg.dram.bandwidth_gbytes_per_s)


def _transfer_ticks(bits: float, gbytes_per_s: float) -> int:
    if bits <= 0:
        return 0
    return ceil_ticks(bits / 8 / (gbytes_per_s * 1e9) * TICKS_PER_S, f"moving {bits:.3g} bits at {gbytes_per_s:g} GB/s")
