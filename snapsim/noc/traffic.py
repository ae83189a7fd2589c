"""Synthetic traffic for network-on-chip experiments: destination patterns, injection processes and
packet-size distributions (Dally & Towles, *Principles and Practices of Interconnection Networks*, ch. 3
and 23; the same set as BookSim2's ``traffic`` and ``injection_process`` options).

Everything is vectorised per block of cycles and drawn, block after block in cycle order, from one
generator seeded by ``(seed, purpose)``: the same seed and blocks give the same packets.

Patterns map a source terminal to a destination (terminal ids are row-major on meshes and tori: node
``y * cols + x``):

* ``uniform``: any terminal, the source included (as BookSim); ``hotspot``: ``hotspot_fraction`` of the
  packets to the hot spots, the rest uniform;
* ``transpose`` (x, y) -> (y, x) on a square grid; ``tornado``: each coordinate + ceil(k/2) - 1 mod k;
  ``neighbor``: each coordinate + 1 mod k;
* ``bitcomp`` (bit complement), ``bitrev`` (bit reversal), ``shuffle`` (rotate left by one bit) on
  ``2**b`` terminals.

Injection: ``bernoulli`` (each terminal creates a packet in a cycle with probability ``rate``),
``onoff`` (a two-state Markov source: bursts of mean ``burst_cycles`` cycles at one flit per cycle,
silences sized so the mean is ``rate``), or a trace (``cycle src dst flits`` rows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import SnapsimError

__all__ = ["PATTERNS", "PROCESSES", "Traffic", "PacketSizes", "parse_sizes", "read_trace", "destinations"]

PATTERNS = ("uniform", "transpose", "bitcomp", "bitrev", "shuffle", "tornado", "neighbor", "hotspot")
PROCESSES = ("bernoulli", "onoff", "trace")


@dataclass(frozen=True)
class PacketSizes:
    """Packet sizes in flits and their probabilities."""

    flits: tuple[int, ...] = (1,)
    probs: tuple[float, ...] = (1.0,)

    @property
    def mean(self) -> float:
        return float(sum(f * p for f, p in zip(self.flits, self.probs)))

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        if len(self.flits) == 1:
            return np.full(n, self.flits[0], dtype=np.int64)
        return rng.choice(np.asarray(self.flits, dtype=np.int64), size=n, p=np.asarray(self.probs))


def parse_sizes(text: str) -> PacketSizes:
    """``"4"`` (every packet 4 flits) or ``"1:0.8,5:0.2"`` (sizes with probabilities)."""
    try:
        if ":" not in text:
            n = int(text)
            if n < 1:
                raise ValueError
            return PacketSizes((n,), (1.0,))
        pairs = [item.split(":") for item in text.split(",") if item.strip()]
        flits = tuple(int(a) for a, _ in pairs)
        probs = tuple(float(b) for _, b in pairs)
    except ValueError:
        raise SnapsimError(f"--packet-flits {text!r}: expected a positive integer or SIZE:PROB,SIZE:PROB,...")
    if any(f < 1 for f in flits) or any(p < 0 for p in probs) or not math.isclose(sum(probs), 1.0, abs_tol=1e-9):
        raise SnapsimError(f"--packet-flits {text!r}: sizes must be >= 1 and probabilities sum to 1")
    return PacketSizes(flits, probs)


def _bits(n: int, pattern: str) -> int:
    b = n.bit_length() - 1
    if n < 2 or 1 << b != n:
        raise SnapsimError(f"traffic {pattern}: needs a power-of-two number of terminals; got {n}")
    return b


def destinations(pattern: str, src: np.ndarray, n: int, rows: int | None, cols: int | None,
                 rng: np.random.Generator, hotspots: tuple[int, ...] = (0,), hotspot_fraction: float = 0.1
                 ) -> np.ndarray:
    """Destination terminal of each source in ``src`` (an int array) under ``pattern``."""
    src = np.asarray(src, dtype=np.int64)
    if pattern == "uniform":
        return rng.integers(0, n, size=len(src))
    if pattern == "hotspot":
        dst = rng.integers(0, n, size=len(src))
        hot = rng.random(len(src)) < hotspot_fraction
        dst[hot] = np.asarray(hotspots, dtype=np.int64)[rng.integers(0, len(hotspots), size=int(hot.sum()))]
        return dst
    if pattern in ("transpose", "tornado", "neighbor"):
        if rows is None or cols is None:
            raise SnapsimError(f"traffic {pattern}: needs a mesh2d or torus2d topology (rows and cols)")
        y, x = np.divmod(src, cols)
        if pattern == "transpose":
            if rows != cols:
                raise SnapsimError(f"traffic transpose: needs a square grid; got {rows} x {cols}")
            return x * cols + y
        if pattern == "tornado":
            return ((y + (rows + 1) // 2 - 1) % rows) * cols + (x + (cols + 1) // 2 - 1) % cols
        return ((y + 1) % rows) * cols + (x + 1) % cols
    if pattern in ("bitcomp", "bitrev", "shuffle"):
        b = _bits(n, pattern)
        if pattern == "bitcomp":
            return (~src) & (n - 1)
        if pattern == "shuffle":
            return ((src << 1) & (n - 1)) | (src >> (b - 1))
        out = np.zeros_like(src)
        for k in range(b):
            out |= ((src >> k) & 1) << (b - 1 - k)
        return out
    raise SnapsimError(f"--traffic: unknown pattern {pattern!r}; choose from {', '.join(PATTERNS)}")


def read_trace(path: str | Path) -> np.ndarray:
    """A traffic trace: one packet per line, ``cycle src dst flits`` (whitespace or commas; ``#`` comments),
    returned as an int array of rows sorted by cycle (stable)."""
    rows = []
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise SnapsimError(f"{path}: cannot read the trace ({exc.strerror})")
    for no, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].replace(",", " ").split()
        if not text:
            continue
        try:
            vals = [int(v) for v in text]
        except ValueError:
            raise SnapsimError(f"{path}:{no}: expected four integers 'cycle src dst flits'; got {line.strip()!r}")
        if len(vals) != 4 or vals[0] < 0 or vals[3] < 1:
            raise SnapsimError(f"{path}:{no}: expected 'cycle src dst flits' with cycle >= 0 and flits >= 1; "
                               f"got {line.strip()!r}")
        rows.append(vals)
    arr = np.asarray(rows, dtype=np.int64).reshape(-1, 4)
    return arr[np.argsort(arr[:, 0], kind="stable")]


@dataclass
class Traffic:
    """A synthetic traffic source: ``blocks(start, stop)`` yields ``(a, b, cycles, srcs, dsts, sizes)``: the
    packets created in each block ``[a, b)`` of ``[start, stop)``, in cycle order (ties by source)."""

    pattern: str
    nodes: int
    rate_packets: float  # per terminal per cycle
    sizes: PacketSizes = field(default_factory=PacketSizes)
    process: str = "bernoulli"
    rows: int | None = None
    cols: int | None = None
    seed: int = 0
    burst_cycles: float = 8.0
    hotspots: tuple[int, ...] = (0,)
    hotspot_fraction: float = 0.1
    trace: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.process not in PROCESSES:
            raise SnapsimError(f"--injection: unknown process {self.process!r}; choose from {', '.join(PROCESSES)}")
        if self.process != "trace":
            if self.pattern not in PATTERNS:
                raise SnapsimError(f"--traffic: unknown pattern {self.pattern!r}; choose from {', '.join(PATTERNS)}")
            if not 0.0 <= self.rate_packets <= 1.0:
                raise SnapsimError(f"rate {self.rate_packets:g} packets/terminal/cycle is outside [0, 1]")
            destinations(self.pattern, np.arange(min(self.nodes, 2)), self.nodes, self.rows, self.cols,
                         np.random.default_rng(0), self.hotspots, self.hotspot_fraction)  # checks the pattern fits
        self._rng = np.random.default_rng([self.seed, 0x7AFF1C])
        self._on = np.zeros(self.nodes, dtype=bool)
        self._trace_pos = 0
        if self.process == "onoff":
            on_rate = 1.0 / self.sizes.mean  # one flit per cycle while on
            if self.rate_packets >= on_rate:
                raise SnapsimError(f"onoff injection: rate {self.rate_packets:g} packets/cycle must be below the "
                                   f"burst rate {on_rate:g} (one flit per cycle)")
            self._beta = 1.0 / self.burst_cycles
            self._alpha = self.rate_packets * self._beta / (on_rate - self.rate_packets) if self.rate_packets else 0.0
            self._on_rate = on_rate
        if self.process == "trace" and self.trace is not None:
            bad = (self.trace[:, 1] >= self.nodes) | (self.trace[:, 2] >= self.nodes) | (self.trace[:, 1] < 0) | (
                self.trace[:, 2] < 0)
            if bad.any():
                k = int(np.nonzero(bad)[0][0])
                raise SnapsimError(f"trace row {k + 1}: terminal outside 0..{self.nodes - 1}")

    @property
    def offered_flits(self) -> float:
        """Offered load, flits per terminal per cycle."""
        if self.process == "trace":
            if self.trace is None or not len(self.trace):
                return 0.0
            span = int(self.trace[-1, 0]) + 1
            return float(self.trace[:, 3].sum()) / (span * self.nodes)
        return self.rate_packets * self.sizes.mean

    def blocks(self, start: int, stop: int, block: int = 4096) -> Iterator[tuple[np.ndarray, ...]]:
        for a in range(start, stop, block):
            b = min(stop, a + block)
            yield (a, b) + self._block(a, b)

    def _block(self, a: int, b: int) -> tuple[np.ndarray, ...]:
        rng, n = self._rng, self.nodes
        if self.process == "trace":
            tr = self.trace
            lo = self._trace_pos
            hi = lo + int(np.searchsorted(tr[lo:, 0], b, side="left"))
            self._trace_pos = hi
            rows = tr[lo:hi]
            return rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3]
        if self.process == "bernoulli":
            mask = rng.random((b - a, n)) < self.rate_packets
        else:  # onoff: the state evolves per cycle; packets only while on
            mask = np.empty((b - a, n), dtype=bool)
            on = self._on
            u = rng.random((b - a, n, 2))
            for t in range(b - a):
                on = np.where(on, u[t, :, 0] >= self._beta, u[t, :, 0] < self._alpha)
                mask[t] = on & (u[t, :, 1] < self._on_rate)
            self._on = on
        cyc, src = np.nonzero(mask)
        dst = destinations(self.pattern, src, n, self.rows, self.cols, rng, self.hotspots, self.hotspot_fraction)
        return cyc + a, src, dst, self.sizes.draw(rng, len(src))
