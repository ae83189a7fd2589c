"""On-die SRAM and the optional DRAM that holds weights which do not fit on die.

Capacity: a partition's weights stay resident in SRAM up to the die's capacity and the rest streams from
DRAM every time it is needed (:meth:`Memory.resident_fraction`: the same fraction of every stage's
weights is resident). Energy: the per-bit SRAM energies are quoted for an array of
``energy_reference_kib``; an SRAM split into ``arrays`` arrays of another size pays
``(array size / reference) ** energy_size_exponent`` times them (:meth:`Memory.sram_energy_scale`).
"""

from __future__ import annotations

from ..config.hardware import ChipletConfig, SramConfig
from ..units import TICKS_PER_S, ceil_ticks

__all__ = ["Memory", "sram_energy_scale"]


def sram_energy_scale(sram: SramConfig) -> float:
    """Factor on the quoted per-bit SRAM energies for this SRAM's array size (1 without a reference size)."""
    if sram.energy_reference_kib is None:
        return 1.0
    array_kib = sram.capacity_mib * 1024 / sram.arrays
    return (array_kib / sram.energy_reference_kib) ** sram.energy_size_exponent


class Memory:
    def __init__(self, cfg: ChipletConfig):
        self.cfg = cfg

    @property
    def sram_bits(self) -> float:
        return self.cfg.sram.capacity_mib * 8 * 2**20

    @property
    def read_energy_pj_per_bit(self) -> float:
        return self.cfg.sram.read_energy_pj_per_bit * sram_energy_scale(self.cfg.sram)

    @property
    def write_energy_pj_per_bit(self) -> float:
        return self.cfg.sram.write_energy_pj_per_bit * sram_energy_scale(self.cfg.sram)

    def resident_fraction(self, weight_bits: float, capacity_bits: float | None = None) -> float:
        """Fraction of ``weight_bits`` resident in SRAM (``capacity_bits`` of it available, default all of it);
        the rest streams from DRAM whenever it is read. Without DRAM every weight is taken as resident."""
        if self.cfg.dram is None or weight_bits <= 0:
            return 1.0
        cap = self.sram_bits if capacity_bits is None else capacity_bits
        return min(1.0, cap / weight_bits)

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
