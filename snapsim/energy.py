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

from .config.hardware import ChipletConfig, HardwareConfig

__all__ = ["Counts", "ENERGY_PARTS", "cost_table", "price"]

ENERGY_PARTS = ("compute", "sram", "dram", "noc", "d2d_dynamic", "d2d_static", "spike_codec")


@dataclass
class Counts:
    """Action counts: ``chip[cid][action]`` and ``link[name] = (wire_bits, idle_ns, cost...)``."""

    chip: dict[int, dict[str, float]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))
    link_wire_bits: dict[str, int] = field(default_factory=dict)
    link_idle_ns: dict[str, float] = field(default_factory=dict)  # idle and awake
    link_asleep_ns: dict[str, float] = field(default_factory=dict)  # in the low-power state
    link_energy_pj_per_bit: dict[str, float] = field(default_factory=dict)
    link_idle_power_mw: dict[str, float] = field(default_factory=dict)
    link_sleep_power_mw: dict[str, float] = field(default_factory=dict)

    def add(self, cid: int, action: str, n: float) -> None:
        self.chip[cid][action] += n

    def as_dict(self) -> dict:
        return {
            "chiplets": {str(c): dict(sorted(a.items())) for c, a in sorted(self.chip.items())},
            "links": {
                name: {"wire_bits": self.link_wire_bits[name], "idle_ns": self.link_idle_ns[name],
                       "asleep_ns": self.link_asleep_ns.get(name, 0.0)}
                for name in sorted(self.link_wire_bits)
            },
        }


def cost_table(c: ChipletConfig) -> dict[str, tuple[str, float]]:
    """Action -> (energy part, pJ per action) for one chiplet."""
    table = {f"mac.{prec}": ("compute", pj) for prec, pj in c.compute.energy_pj_per_mac.items()}
    table.update(
        {
            "ac": ("compute", c.spiking.energy_pj_per_ac),
            "neuron_update": ("compute", c.spiking.energy_pj_per_neuron_update),
            "sram_read_bits": ("sram", c.sram.read_energy_pj_per_bit),
            "sram_write_bits": ("sram", c.sram.write_energy_pj_per_bit),
            "noc_bit_hops": ("noc", c.noc.energy_pj_per_bit_per_hop),
            "encode_neuron_steps": ("spike_codec", c.codec.encode_energy_pj_per_neuron_step),
            "decode_neuron_steps": ("spike_codec", c.codec.decode_energy_pj_per_neuron_step),
            "codec_spikes": ("spike_codec", c.codec.energy_pj_per_spike),
        }
    )
    if c.dram is not None:
        table["dram_bits"] = ("dram", c.dram.energy_pj_per_bit)
    return table


def price(counts: Counts, hw: HardwareConfig) -> dict[str, float]:
    """Energy breakdown in pJ. Every part is a sum of count x cost; the total is the sum of the parts."""
    parts = dict.fromkeys(ENERGY_PARTS, 0.0)
    for cid, actions in counts.chip.items():
        table = cost_table(hw.chiplet_config(cid))
        for action, n in actions.items():
            if n == 0:
                continue
            if action not in table:
                raise KeyError(f"chiplet {cid}: no cost for action {action!r}")
            part, pj = table[action]
            parts[part] += n * pj
    for name, bits in counts.link_wire_bits.items():
        parts["d2d_dynamic"] += bits * counts.link_energy_pj_per_bit[name]
        # mW x ns = pJ
        parts["d2d_static"] += counts.link_idle_ns[name] * counts.link_idle_power_mw[name]
        parts["d2d_static"] += counts.link_asleep_ns.get(name, 0.0) * counts.link_sleep_power_mw.get(name, 0.0)
    parts["total"] = sum(parts[p] for p in ENERGY_PARTS)
    return parts
