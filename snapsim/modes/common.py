"""Closed-form pieces every mode shares: a boundary message's route as the analytical models want it,
and the arrival of a set of messages on an idle route."""

from __future__ import annotations

from typing import Sequence

from ..analytical import message_recurrence

__all__ = ["route_arrivals"]


def route_arrivals(bp, messages: Sequence[tuple[int, int]]) -> list[int]:
    """Arrival ticks (last flit at the destination) of ``(ready_tick, payload_bits)`` messages sent in
    order over boundary ``bp``'s route, otherwise idle."""
    timings = [h.timing for h in bp.hops]
    transit = [h.transit_after for h in bp.hops[:-1]]
    return message_recurrence(timings, transit, messages)
