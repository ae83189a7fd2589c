"""The package as a pure description: topology, the link config and timing of every directed edge, the
die-crossing time of every chiplet, and routes. No SimPy: the plan, the analytical bounds and the network
all read the same object, so a route or a link's timing is decided in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config.hardware import HardwareConfig, LinkConfig
from .d2d.timing import LinkTiming
from .topology import Topology
from .units import ns_to_ticks

__all__ = ["Package", "Hop"]


@dataclass(frozen=True)
class Hop:
    """One link of a route: the directed edge, its timing, and the die-crossing ticks before the next hop
    (0 after the last hop)."""

    edge: tuple[int, int]
    timing: LinkTiming
    transit_after: int


class Package:
    """Topology, per-edge link configs (``links:`` overrides included), timings and routes of a package."""

    def __init__(self, hw: HardwareConfig):
        self.hw = hw
        self.topology = Topology(hw.topology)
        self.n = self.topology.n
        overrides: dict[tuple[int, int], LinkConfig] = {}
        for e in hw.links:
            a, b = e.between
            overrides[(min(a, b), max(a, b))] = e.link
        self.link_config: dict[tuple[int, int], LinkConfig] = {}
        self.timing: dict[tuple[int, int], LinkTiming] = {}
        for a, b in self.topology.edges:
            cfg = overrides.get((a, b), hw.link)
            timing = LinkTiming.from_config(cfg)
            for s, d in ((a, b), (b, a)):
                self.link_config[(s, d)] = cfg
                self.timing[(s, d)] = timing
        self.transit_ticks = {
            c: ns_to_ticks(hw.chiplet_config(c).noc.transit_hops * hw.chiplet_config(c).noc.hop_latency_ns)
            for c in range(self.n)
        }
        self._routes: dict[tuple[int, int], list[int]] = {}

    @staticmethod
    def link_name(edge: tuple[int, int]) -> str:
        return f"c{edge[0]}->c{edge[1]}"

    def route(self, src: int, dst: int) -> list[int]:
        """Chiplets visited from ``src`` to ``dst`` (both included), by the topology's routing."""
        key = (src, dst)
        if key not in self._routes:
            self._routes[key] = self.topology.route(src, dst)
        return self._routes[key]

    def hops(self, src: int, dst: int) -> tuple[Hop, ...]:
        path = self.route(src, dst)
        return tuple(
            Hop((a, b), self.timing[(a, b)], self.transit_ticks[b] if i + 2 < len(path) else 0)
            for i, (a, b) in enumerate(zip(path[:-1], path[1:]))
        )
