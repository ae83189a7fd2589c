"""Boundary statistics: incremental accumulators (written into the manifest) and encoding reports.

Spike statistics come from popcounts of the packed frames (no unpacking). The encoding report gives,
per boundary, the exact mean bits per sample under every encoding (rle from the spike positions,
shard by shard) and the break-even firing rates.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..encoding import Encoding, breakeven_firing_rate, cost_terms, message_bits_from_frames
from .bitpack import popcount, unpack_spikes
from .dtypes import decode
from .manifest import FLOAT_LOGICAL, BoundaryInfo

__all__ = ["SpikeStats", "ActivationStats", "new_stats", "report_encodings", "report_encodings_for"]


class SpikeStats:
    """Spike counts per timestep over packed frames ``[T, B, nbytes]``."""

    def __init__(self, timesteps: int, n_features: int):
        self.n_features = n_features
        self.nnz_per_timestep = np.zeros(timesteps, dtype=np.int64)
        self.samples = 0

    def update_stored(self, packed: np.ndarray) -> None:
        self.nnz_per_timestep += popcount(packed).sum(axis=1)
        self.samples += packed.shape[1]

    def to_json(self) -> dict[str, Any]:
        nnz = int(self.nnz_per_timestep.sum())
        slots = self.samples * self.n_features * len(self.nnz_per_timestep)
        return {
            "nnz": nnz,
            "slots": slots,
            "firing_rate": nnz / slots if slots else 0.0,
            "nnz_per_timestep": [int(v) for v in self.nnz_per_timestep],
        }


class ActivationStats:
    """Non-zero count, zero fraction and range of activation values (floats must be finite)."""

    def __init__(self, logical_dtype: str):
        self.logical = logical_dtype
        self.nnz = 0
        self.slots = 0
        self.min: float | int | None = None
        self.max: float | int | None = None

    def update_stored(self, stored: np.ndarray) -> None:
        values = decode(stored, self.logical)
        self.nnz += int(np.count_nonzero(values))
        self.slots += values.size
        if values.size:
            lo, hi = values.min().item(), values.max().item()
            self.min = lo if self.min is None else min(self.min, lo)
            self.max = hi if self.max is None else max(self.max, hi)

    def to_json(self) -> dict[str, Any]:
        return {
            "nnz": self.nnz,
            "slots": self.slots,
            "zero_fraction": 1 - self.nnz / self.slots if self.slots else 0.0,
            "min": self.min,
            "max": self.max,
        }


def new_stats(b: BoundaryInfo) -> SpikeStats | ActivationStats:
    if b.kind == "spike":
        return SpikeStats(b.timesteps, b.n_features)
    return ActivationStats(b.logical_dtype)


def non_finite(stored: np.ndarray, logical: str) -> int:
    """Number of NaN/Inf values in a storage array of a float logical dtype (0 for integers)."""
    if logical not in FLOAT_LOGICAL:
        return 0
    return int(stored.size - np.count_nonzero(np.isfinite(decode(stored, logical))))


# ------------------------------------------------------------------------------------------- reports


def default_encodings(b: BoundaryInfo, precision_bits: int, firing_rate: float) -> dict[str, Encoding]:
    """The encodings a stats report compares (rle field width chosen near log2(1/p))."""
    per_step = " per timestep" if b.kind == "spike" else ""
    encs = {
        f"dense({precision_bits}b){per_step}": Encoding("dense", precision_bits=precision_bits),
        f"zvc({precision_bits}b){per_step}": Encoding("zvc", precision_bits=precision_bits),
    }
    if b.kind == "spike":
        r = max(1, round(math.log2(1 / firing_rate))) if 0 < firing_rate < 1 else 1
        encs.update(
            {
                "bitmap": Encoding("bitmap"),
                "aer": Encoding("aer"),
                "csr": Encoding("csr"),
                f"rate(window={b.timesteps})": Encoding("rate", window_steps=b.timesteps),
                f"rle(count_bits={r})": Encoding("rle", count_bits=r),
            }
        )
    else:
        encs[f"csr+values({precision_bits}b)"] = Encoding("csr", value_bits=precision_bits)
    return encs


def report_encodings_for(trace, name: str, encodings: dict[str, Encoding]) -> dict[str, int]:
    """Exact total bits of boundary ``name`` over the whole trace under each encoding (streamed).

    Spike boundaries send one message per timestep (``rate``: per window); each sample's frame is
    encoded on its own. Count-only encodings use popcounts; rle unpacks one shard at a time.
    """
    b = trace.boundary(name)
    n, T = b.n_features, b.timesteps
    totals = {k: 0 for k in encodings}
    nnz_total = 0
    frames_total = 0
    rle = {k: e for k, e in encodings.items() if e.kind == "rle"}
    for _, stored in trace.iter_shards(name):
        if b.kind == "spike":
            nnz = popcount(stored)  # [T, b]
            frames_total += nnz.size
            nnz_total += int(nnz.sum())
            for step in stored if rle else ():  # one timestep at a time bounds the unpacked size
                frames = unpack_spikes(step, n)
                for k, e in rle.items():
                    totals[k] += int(message_bits_from_frames(e, frames).sum())
        else:
            values = decode(stored, b.logical_dtype).reshape(-1, n)
            frames_total += values.shape[0]
            nnz_total += int(np.count_nonzero(values))
            for k, e in rle.items():
                totals[k] += int(message_bits_from_frames(e, values).sum())
    samples = trace.n_samples
    for k, e in encodings.items():
        if e.kind == "rle":
            continue
        if e.kind == "rate":
            fixed, per = cost_terms(e, n, T)
            totals[k] = fixed * samples
        else:
            fixed, per = cost_terms(e, n, 1)
            totals[k] = fixed * frames_total + per * nnz_total
    return totals


def report_encodings(trace, precision_bits: int = 16) -> list[dict[str, Any]]:
    """Per boundary: firing rate or zero fraction, mean bits per sample under every encoding, and
    break-even firing rates (spikes vs a dense activation at ``precision_bits``; bitmap vs aer)."""
    rows = []
    for b in trace.boundaries:
        stats = b.stats
        n, T = b.n_features, b.timesteps
        row: dict[str, Any] = {"boundary": b.name, "kind": b.kind, "src": b.src, "dst": list(b.dst)}
        row["features"] = n
        row["timesteps"] = T
        if b.kind == "spike":
            rate = stats.get("firing_rate", 0.0)
            row["firing_rate"] = rate
        else:
            rate = 1 - stats.get("zero_fraction", 0.0)
            row["zero_fraction"] = stats.get("zero_fraction", 0.0)
        encs = default_encodings(b, precision_bits, rate)
        totals = report_encodings_for(trace, b.name, encs)
        samples = max(trace.n_samples, 1)
        per_sample = {k: v / samples for k, v in totals.items()}
        if b.kind == "spike":
            # an ANN sends the activation once per sample; spikes go out on every timestep
            per_sample[f"dense activation ({precision_bits}b, 1 frame)"] = n * precision_bits
            dense = Encoding("dense", precision_bits=precision_bits)
            aer = Encoding("aer")
            row["breakeven_vs_dense"] = {
                k: _finite(breakeven_firing_rate(dense, e, n, timesteps_a=1, timesteps_b=T))
                for k, e in (("aer", aer), ("csr", Encoding("csr")), ("bitmap", Encoding("bitmap")))
            }
            row["breakeven_bitmap_vs_aer"] = _finite(breakeven_firing_rate(Encoding("bitmap"), aer, n))
        row["bits_per_sample"] = per_sample
        rows.append(row)
    return rows


def _finite(x: float) -> float | None:
    """JSON-friendly: None when the two encodings never cross."""
    return None if (math.isinf(x) or math.isnan(x)) else x
