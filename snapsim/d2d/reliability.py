"""Link-layer reliability of a D2D link direction: bit errors, a CRC per flit, go-back-N retry.

A flit of ``b`` wire bits fails its CRC with probability ``p = 1 - (1 - BER)^b`` (``BER`` =
``bit_error_rate``, what the CRC sees after FEC; FEC itself adds ``fec_latency_ns`` to every flit). Failures
are independent. Every transmission attempt of a flit is one Bernoulli trial; the link keeps a seeded
count-down of attempts to the next failure (a geometric draw per failure), so both link fidelities see the
same failures in the same order and an error-free stretch costs nothing.

Go-back-N (``retry: go_back_n``, UCIe's and PCIe flit mode's link layer): the receiver drops the failed flit
and everything after it and returns a NAK; the transmitter, once the NAK is back (``replay_penalty`` =
``t_flit + L + L_credit`` after the failed flit started), sends the failed flit again, then the rest. The
flits it had sent meanwhile are discarded: each retry costs ``1 + wasted`` flits on the wire, ``wasted =
min(flits after it in the message, (penalty - t_flit) // t_flit)``. The replay buffer is assumed to cover
the round trip. Without retry a failed flit is delivered corrupt (counted).

Each link direction's generator is seeded from the run seed and the link's name, so a run is reproducible
and a link's errors do not depend on the other links' traffic.
"""

from __future__ import annotations

import math
import random

__all__ = ["flit_error_rate", "ErrorProcess", "error_process"]


def flit_error_rate(bit_error_rate: float, flit_bits: int) -> float:
    """Probability that a flit of ``flit_bits`` has at least one bit error (computed without cancellation)."""
    if bit_error_rate <= 0:
        return 0.0
    return -math.expm1(flit_bits * math.log1p(-bit_error_rate))


class ErrorProcess:
    """The failures of one link direction's transmission attempts, and their counters."""

    __slots__ = ("p", "rng", "_log_q", "countdown", "failures", "retry_flits", "corrupt_flits")

    def __init__(self, p: float, seed: int, name: str):
        self.p = p
        # a string seed is hashed with SHA-512 by the random module: reproducible, cheap to set up per link
        self.rng = random.Random(f"snapsim.reliability:{int(seed)}:{name}")
        self._log_q = math.log1p(-p) if 0 < p < 1 else 0.0
        self.countdown = self._draw()
        self.failures = 0  # attempts that failed their CRC
        self.retry_flits = 0  # flits sent again (the failed ones and the go-back-N discards)
        self.corrupt_flits = 0  # failed flits delivered as they are (no retry)

    def _draw(self) -> int:
        """Attempts up to and including the next failure: geometric, by inversion."""
        if self.p <= 0:
            return 1 << 62
        if self.p >= 1:
            return 1
        u = 1.0 - self.rng.random()  # in (0, 1]
        attempts = math.log(u) / self._log_q  # +inf when p is subnormal (log1p(-p) ~ -p): never within a run
        return 1 << 62 if not attempts < (1 << 62) else int(attempts) + 1

    def clean(self, n: int) -> bool:
        """True (and consumed) if the next ``n`` attempts all succeed."""
        if self.countdown > n:
            self.countdown -= n
            return True
        return False

    def failures_in(self, n: int) -> int:
        """Consume ``n`` attempts; the number that failed."""
        f = 0
        while self.countdown <= n:
            n -= self.countdown
            self.countdown = self._draw()
            f += 1
        self.countdown -= n
        self.failures += f
        return f

    def attempt(self) -> bool:
        """One attempt: True if it fails its CRC."""
        self.countdown -= 1
        if self.countdown == 0:
            self.countdown = self._draw()
            self.failures += 1
            return True
        return False


def error_process(timing, seed: int, name: str) -> ErrorProcess | None:
    """The error process of a link direction, or None for an error-free link."""
    if timing.flit_error_rate <= 0:
        return None
    return ErrorProcess(timing.flit_error_rate, seed, name)
