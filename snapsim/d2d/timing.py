"""Integer timing of one link direction, derived from its config, and the flit times of a message.

Pure (no SimPy): the plan, the analytical bounds and both link models read these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config.hardware import LinkConfig
from ..units import cycles_to_ticks, ns_to_ticks
from .framing import flits_for_bits
from .reliability import flit_error_rate

__all__ = ["LinkTiming", "FlitTimes"]


@dataclass(frozen=True)
class LinkTiming:
    """Integer timing of one link direction, derived from its config."""

    t_flit: int  # ticks to serialize one flit
    latency: int  # ticks from end of serialization to flit received (PHY, FEC, flight)
    credit_latency: int  # ticks for a freed RX slot to be usable by TX again
    credits: int
    flit_bits: int
    payload_bits_per_flit: int
    sleep_after: int | None = None  # idle ticks before the low-power state; None: always on
    wake: int = 0  # ticks from a head flit at a sleeping link to the link able to send
    flit_error_rate: float = 0.0  # probability that a flit fails its CRC (snapsim.d2d.reliability)
    go_back_n: bool = False  # a failed flit is replayed (else delivered corrupt)

    @classmethod
    def from_config(cls, cfg: LinkConfig) -> "LinkTiming":
        flit_bits = cfg.flit_bytes * 8
        transfers = math.ceil(flit_bits / (cfg.lanes * cfg.bits_per_transfer))
        t_flit = max(1, cycles_to_ticks(transfers, cfg.rate_gtps))  # whole unit intervals, rounded up to a tick
        lat = ns_to_ticks(cfg.phy_latency_ns + cfg.fec_latency_ns)
        clat = lat if cfg.credit_latency_ns is None else ns_to_ticks(cfg.credit_latency_ns)
        sleep = None if cfg.sleep_after_idle_ns is None else ns_to_ticks(cfg.sleep_after_idle_ns)
        return cls(t_flit, lat, clat, cfg.rx_buffer_flits, flit_bits, cfg.payload_bytes_per_flit * 8, sleep,
                   ns_to_ticks(cfg.wake_latency_ns), flit_error_rate(cfg.bit_error_rate, flit_bits),
                   cfg.retry == "go_back_n")

    @property
    def replay_penalty(self) -> int:
        """Go-back-N: ticks from the start of a flit that fails its CRC to the start of its replay (it is sent,
        flies, fails at the receiver, and the NAK comes back like a credit)."""
        return self.t_flit + self.latency + self.credit_latency

    @property
    def credit_rtt(self) -> int:
        """Ticks from a flit's start to its credit being usable again."""
        return self.t_flit + self.latency + self.credit_latency

    @property
    def credits_bind(self) -> bool:
        """True if the credit loop, not the lanes, can limit back-to-back flits."""
        return self.credits * self.t_flit < self.credit_rtt

    def flits(self, payload_bits: int) -> int:
        """Flits of a message of ``payload_bits`` on this link (:func:`snapsim.d2d.framing.flits_for_bits`)."""
        return flits_for_bits(payload_bits, self.payload_bits_per_flit)


class FlitTimes:
    """Times (ticks) of a message's flits: an arithmetic progression or an explicit array."""

    __slots__ = ("first", "spacing", "n", "arr")

    def __init__(self, first: int, spacing: int, n: int, arr: np.ndarray | None = None):
        self.first = first
        self.spacing = spacing
        self.n = n
        self.arr = arr

    @classmethod
    def from_array(cls, arr: np.ndarray) -> "FlitTimes":
        return cls(int(arr[0]), 0, len(arr), arr)

    @property
    def last(self) -> int:
        if self.arr is not None:
            return int(self.arr[-1])
        return self.first + (self.n - 1) * self.spacing

    def shifted(self, d: int) -> "FlitTimes":
        if self.arr is not None:
            return FlitTimes(self.first + d, 0, self.n, self.arr + d)
        return FlitTimes(self.first + d, self.spacing, self.n)

    def to_array(self) -> np.ndarray:
        if self.arr is not None:
            return self.arr
        return self.first + np.arange(self.n, dtype=np.int64) * self.spacing
