"""Energy as counted actions times a cost table, plus static power times time.

The simulation only counts actions per chiplet (MACs by precision, accumulates, neuron updates, SRAM
and DRAM bits, on-die bit-hops, codec neuron-steps and spikes) and per link (wire bits, idle time).
:func:`price` turns counts into the energy breakdown afterwards, so a new cost table needs no new
simulation. Parts: compute, sram, dram, noc, d2d_dynamic, d2d_static, spike_codec; they sum to the
total by construction (the total is computed as their sum).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .config.hardware import HardwareConfig

__all__ = ["Counts", "ENERGY_PARTS", "price"]

ENERGY_PARTS = ("compute", "sram", "dram", "noc", "d2d_dynamic", "d2d_static", "spike_codec")


@dataclass
class Counts:
    """Action counts: ``chip[cid][action]`` and ``link[name] = (wire_bits, idle_ns, cost...)``."""

    chip: dict[int, dict[str, float]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))
    link_wire_bits: dict[str, int] = field(default_factory=dict)
    link_idle_ns: dict[str, float] = field(default_factory=dict)
    link_energy_pj_per_bit: dict[str, float] = field(default_factory=dict)
    link_idle_power_mw: dict[str, float] = field(default_factory=dict)

    def add(self, cid: int, action: str, n: float) -> None:
        self.chip[cid][action] += n

    def as_dict(self) -> dict:
        return {
            "chiplets": {str(c): dict(sorted(a.items())) for c, a in sorted(self.chip.items())},
            "links": {
                name: {"wire_bits": self.link_wire_bits[name], "idle_ns": self.link_idle_ns[name]}
                for name in sorted(self.link_wire_bits)
            },
        }


def price(counts: Counts, hw: HardwareConfig) -> dict[str, float]:
    """Energy breakdown in pJ. Every part is a sum of count x cost; the total is the sum of the parts."""
    parts = dict.fromkeys(ENERGY_PARTS, 0.0)
    for cid, actions in counts.chip.items():
        c = hw.chiplet_config(cid)
        for action, n in actions.items():
            if n == 0:
                continue
            if action.startswith("mac."):
                parts["compute"] += n * c.compute.energy_pj_per_mac[action[4:]]
            elif action == "ac":
                parts["compute"] += n * c.spiking.energy_pj_per_ac
            elif action == "neuron_update":
                parts["compute"] += n * c.spiking.energy_pj_per_neuron_update
            elif action == "sram_read_bits":
                parts["sram"] += n * c.sram.read_energy_pj_per_bit
            elif action == "sram_write_bits":
                parts["sram"] += n * c.sram.write_energy_pj_per_bit
            elif action == "dram_bits":
                parts["dram"] += n * c.dram.energy_pj_per_bit
            elif action == "noc_bit_hops":
                parts["noc"] += n * c.noc.energy_pj_per_bit_per_hop
            elif action == "encode_neuron_steps":
                parts["spike_codec"] += n * c.codec.encode_energy_pj_per_neuron_step
            elif action == "decode_neuron_steps":
                parts["spike_codec"] += n * c.codec.decode_energy_pj_per_neuron_step
            elif action == "codec_spikes":
                parts["spike_codec"] += n * c.codec.energy_pj_per_spike
            else:
                raise KeyError(f"no cost for action {action!r}")
    for name, bits in counts.link_wire_bits.items():
        parts["d2d_dynamic"] += bits * counts.link_energy_pj_per_bit[name]
        # mW x ns = pJ
        parts["d2d_static"] += counts.link_idle_ns[name] * counts.link_idle_power_mw[name]
    parts["total"] = sum(parts[p] for p in ENERGY_PARTS)
    return parts
