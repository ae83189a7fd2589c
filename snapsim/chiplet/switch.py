"""The switch of a chiplet between its D2D ports: how flits of a message crossing the die (arrived on one
link, leaving on another) become ready on the next link.

:class:`IdealSwitch` is an ideal output-queued switch: every flit is ready on the next link a fixed
``transit_hops x hop_latency_ns`` after it arrived, with no allocation or head-of-line blocking
(contention happens only on the links). It is injected into :class:`snapsim.network.Network`; a
cycle-level router model plugs in through the same two methods.
"""

from __future__ import annotations

from typing import Mapping

from ..d2d.timing import FlitTimes

__all__ = ["IdealSwitch"]


class IdealSwitch:
    name = "ideal"

    def __init__(self, transit_ticks: Mapping[int, int]):
        self.transit_ticks = dict(transit_ticks)

    def forward(self, chiplet: int, arrivals: FlitTimes) -> FlitTimes:
        """Ready times on the next link of flits that arrived at ``chiplet`` at ``arrivals`` (fast links)."""
        return arrivals.shifted(self.transit_ticks[chiplet])

    def delay(self, chiplet: int) -> int:
        """Ticks from a flit's arrival at ``chiplet`` to it being ready on the next link (reference links)."""
        return self.transit_ticks[chiplet]
