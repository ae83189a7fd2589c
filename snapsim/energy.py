"""Energy as counted actions and state residencies times a cost table.

The simulation only counts: actions per chiplet (MACs and accumulates by precision, neuron updates, SRAM
and DRAM bits, on-die bit-hops, codec neuron-steps and spikes) and, per link direction, wire bits and the
time spent awake idle and asleep (the power policy's residency). :func:`price` turns counts into the
energy breakdown against a :class:`CostTable` afterwards, so a saved run can be re-priced with another
cost table without simulating again (:func:`reprice`). Parts: compute, sram, dram, noc, d2d_dynamic,
d2d_static, spike_codec; they sum to the total by construction (the total is computed as their sum).
Static link energy is ``idle_power_mw x idle ns + sleep_power_mw x asleep ns`` (mW x ns = pJ).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Mapping

from .chiplet import Codec, Memory
from .config.hardware import ChipletConfig, HardwareConfig, LinkConfig
from .errors import SnapsimError
from .package import Package

__all__ = ["Counts", "CostTable", "ENERGY_PARTS", "chiplet_costs", "price", "reprice"]

ENERGY_PARTS = ("compute", "sram", "dram", "noc", "d2d_dynamic", "d2d_static", "spike_codec")


@dataclass
class Counts:
    """Action counts ``chip[cid][action]`` and per-link ``wire_bits``, ``idle_ns`` (awake), ``asleep_ns`` and
    ``retry_bits`` (bits sent again by link-layer retry)."""

    chip: dict[int, dict[str, float]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))
    links: dict[str, dict[str, float]] = field(default_factory=dict)

    def add(self, cid: int, action: str, n: float) -> None:
        self.chip[cid][action] += n

    def link(self, name: str, *, wire_bits: int, idle_ns: float, asleep_ns: float, retry_bits: int = 0) -> None:
        self.links[name] = {"wire_bits": wire_bits, "idle_ns": idle_ns, "asleep_ns": asleep_ns, "retry_bits": retry_bits}

    def as_dict(self) -> dict:
        return {
            "chiplets": {str(c): dict(sorted(a.items())) for c, a in sorted(self.chip.items())},
            "links": {name: dict(v) for name, v in sorted(self.links.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> "Counts":
        counts = cls()
        for cid, actions in data["chiplets"].items():
            for action, n in actions.items():
                counts.add(int(cid), action, n)
        for name, v in data["links"].items():
            counts.link(name, wire_bits=v["wire_bits"], idle_ns=v["idle_ns"], asleep_ns=v["asleep_ns"],
                        retry_bits=v.get("retry_bits", 0))
        return counts


def chiplet_costs(c: ChipletConfig) -> dict[str, tuple[str, float]]:
    """Action -> (energy part, pJ per action) for one chiplet."""
    memory, codec = Memory(c), Codec(c)
    table = {f"mac.{prec}": ("compute", pj) for prec, pj in c.compute.energy_pj_per_mac.items()}
    table.update({f"ac.{prec}": ("compute", pj) for prec, pj in c.spiking.energy_pj_per_ac.items()})
    table.update(
        {
            "neuron_update": ("compute", c.spiking.energy_pj_per_neuron_update),
            "sram_read_bits": ("sram", memory.read_energy_pj_per_bit),
            "sram_write_bits": ("sram", memory.write_energy_pj_per_bit),
            "noc_bit_hops": ("noc", c.noc.energy_pj_per_bit_per_hop),
            "encode_neuron_steps": ("spike_codec", codec.encode_energy_pj_per_neuron_step),
            "decode_neuron_steps": ("spike_codec", c.codec.decode_energy_pj_per_neuron_step),
            "codec_spikes": ("spike_codec", c.codec.energy_pj_per_spike),
        }
    )
    if c.dram is not None:
        table["dram_bits"] = ("dram", c.dram.energy_pj_per_bit)
    return table


@dataclass(frozen=True)
class CostTable:
    """Prices: per chiplet, action -> (energy part, pJ); per link name, pJ/bit and idle and sleep power (mW)."""

    chiplets: dict[int, dict[str, tuple[str, float]]]
    links: dict[str, dict[str, float]]

    @classmethod
    def from_hardware(cls, hw: HardwareConfig, link_configs: Mapping[str, LinkConfig]) -> "CostTable":
        """The cost table of ``hw``: every chiplet of its package, and the named link directions."""
        chiplets = {cid: chiplet_costs(hw.chiplet_config(cid)) for cid in range(hw.topology.n_chiplets)}
        links = {
            name: {"energy_pj_per_bit": cfg.energy_pj_per_bit, "idle_power_mw": cfg.idle_power_mw,
                   "sleep_power_mw": cfg.sleep_power_mw}
            for name, cfg in link_configs.items()
        }
        return cls(chiplets, links)

    def as_dict(self) -> dict:
        return {
            "chiplets": {str(c): {a: [part, pj] for a, (part, pj) in sorted(t.items())}
                         for c, t in sorted(self.chiplets.items())},
            "links": {name: dict(v) for name, v in sorted(self.links.items())},
        }


def price(counts: Counts, table: CostTable) -> dict[str, float]:
    """Energy breakdown in pJ. Every part is a sum of count x cost; the total is the sum of the parts."""
    parts = dict.fromkeys(ENERGY_PARTS, 0.0)
    for cid, actions in counts.chip.items():
        costs = table.chiplets[cid]
        for action, n in actions.items():
            if n == 0:
                continue
            if action not in costs:
                raise KeyError(f"chiplet {cid}: no cost for action {action!r}")
            part, pj = costs[action]
            parts[part] += n * pj
    for name, c in counts.links.items():
        cost = table.links[name]
        # retransmitted bits (go-back-N replays) cost the same per bit as the first transmission
        parts["d2d_dynamic"] += (c["wire_bits"] + c.get("retry_bits", 0)) * cost["energy_pj_per_bit"]
        # mW x ns = pJ
        parts["d2d_static"] += c["idle_ns"] * cost["idle_power_mw"]
        parts["d2d_static"] += c["asleep_ns"] * cost["sleep_power_mw"]
    parts["total"] = sum(parts[p] for p in ENERGY_PARTS)
    return parts


def reprice(result: Mapping, hw: HardwareConfig) -> dict[str, float]:
    """The energy breakdown (pJ, whole run) of a saved result (``RunResult.data`` or its JSON) priced
    with the costs of ``hw``. Only prices change: ``hw`` must describe the same package (chiplet ids and
    link directions), and parameters that change timing (rates, latencies, power-state timers) need a
    new simulation."""
    package = Package(hw)
    names = {package.link_name(edge): cfg for edge, cfg in package.link_config.items()}
    counts = Counts.from_dict(result["counts"])
    missing = sorted(set(counts.links) - set(names))
    if missing:
        raise SnapsimError(f"reprice: hardware {hw.name!r} has no link {', '.join(missing)} of the saved run")
    return price(counts, CostTable.from_hardware(hw, {n: names[n] for n in counts.links}))
