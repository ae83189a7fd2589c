"""On-die network: energy of moving activations between SRAM, compute and the die edge."""

from __future__ import annotations

from ..config.hardware import ChipletConfig

__all__ = ["Noc"]


class Noc:
    def __init__(self, cfg: ChipletConfig):
        self.cfg = cfg

    def bit_hops(self, bits: float) -> float:
        """Bit-hops for an on-die transfer of ``bits`` over the mean hop count."""
        return bits * self.cfg.noc.avg_hops
