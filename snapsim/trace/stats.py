"""Boundary statistics: incremental accumulators (written into the manifest) and encoding reports.

Spike statistics come from popcounts of the packed frames (no unpacking). The encoding report gives,
per boundary, the exact mean bits per sample under every encoding (rle from the spike positions,
shard by shard) and the break-even firing rates.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..encoding import Aer, Bitmap, Csr, Dense, Encoding, Rate, Rle, Zvc, breakeven_firing_rate
from .bitpack import popcount, unpack_spikes
from .dtypes import decode
from .manifest import FLOAT_LOGICAL, BoundaryInfo

__all__ = ["SpikeStats", "ActivationStats", "new_stats", "data_stats", "reference_precision", "report_encodings",
           "report_encodings_for"]


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
    encs: dict[str, Encoding] = {
        f"dense({precision_bits}b){per_step}": Dense(precision_bits=precision_bits),
        f"zvc({precision_bits}b){per_step}": Zvc(precision_bits=precision_bits),
    }
    if b.kind == "spike":
        r = max(1, round(math.log2(1 / firing_rate))) if 0 < firing_rate < 1 else 1
        encs.update(
            {
                "bitmap": Bitmap(),
                "aer": Aer(),
                "csr": Csr(),
                f"rate(window={b.timesteps})": Rate(window_steps=b.timesteps),
                f"rle(count_bits={r})": Rle(count_bits=r),
            }
        )
    else:
        encs[f"csr+values({precision_bits}b)"] = Csr(value_bits=precision_bits)
    return encs


def report_encodings_for(trace, name: str, encodings: dict[str, Encoding],
                         payload_bits_per_flit: int | None = None) -> dict[str, int]:
    """Exact total bits of boundary ``name`` over the whole trace under each encoding (streamed); with
    ``payload_bits_per_flit``, the total flits instead, each sample's messages framed on their own by the
    link's one framing rule (:func:`snapsim.d2d.framing.flits_for_bits_array`).

    Each sample's frames are encoded on their own and grouped into the encoding's messages
    (:meth:`Encoding.window_bits`: one per timestep, ``rate`` one per window, ``pack`` windows per message).
    Non-zero counts come from popcounts; encodings whose size depends on positions size each frame from
    the data, one timestep of one shard at a time.
    """
    b = trace.boundary(name)
    n = b.n_features
    totals = {k: 0 for k in encodings}
    if payload_bits_per_flit is not None:
        from ..d2d.framing import flits_for_bits_array

        count = lambda bits: int(flits_for_bits_array(bits, payload_bits_per_flit).sum())  # noqa: E731
    else:
        count = lambda bits: int(bits.sum())  # noqa: E731
    positional = {k: e for k, e in encodings.items() if e.data_dependent}
    for _, stored in trace.iter_shards(name):
        if b.kind == "spike":
            nnz = popcount(stored)  # [T, samples]
            fbits = {k: np.stack([e.frame_bits(unpack_spikes(step, n)) for step in stored])
                     for k, e in positional.items()}
        else:
            values = decode(stored, b.logical_dtype).reshape(b.timesteps, -1, n)
            nnz = np.count_nonzero(values, axis=-1).astype(np.int64)
            fbits = {k: e.frame_bits(values) for k, e in positional.items()}
        for k, e in encodings.items():
            totals[k] += count(e.window_bits(n, nnz, fbits.get(k)))  # [messages, samples]
    return totals


def data_stats(trace, name: str) -> dict[str, Any]:
    """The statistics of boundary ``name`` recomputed from its data (one streaming pass; popcounts for
    spikes), in the manifest's form (``nnz``, ``slots``, ``firing_rate`` or ``zero_fraction``, ...)."""
    b = trace.boundary(name)
    acc = new_stats(b)
    for _, stored in trace.iter_shards(name):
        acc.update_stored(stored)
    return acc.to_json()


def reference_precision(trace, b: BoundaryInfo, precision_bits: int | None) -> tuple[int, str]:
    """The precision of the dense activation a boundary is compared against, and where it comes from:
    ``precision_bits`` if given; an activation's own ``precision_bits``; for spikes, the precision of the
    activation recorded at the same cut (same src and dst) if the trace has one, else 16 (bf16)."""
    if precision_bits is not None:
        return precision_bits, "given"
    if b.kind == "activation":
        return b.precision_bits, f"its recorded precision ({b.logical_dtype}, {b.precision_bits} wire bits)"
    same_cut = [x for x in trace.boundaries if x.kind == "activation" and x.src == b.src and x.dst == b.dst]
    if len(same_cut) == 1:
        x = same_cut[0]
        return x.precision_bits, f"the activation recorded at the same cut ({x.name}: {x.precision_bits} wire bits)"
    return DEFAULT_REFERENCE_BITS, "bf16 (no activation recorded at this cut; --precision-bits sets it)"


#: The dense activation a spike boundary is compared with when the trace has none at its cut: bf16, the
#: precision the shipped workloads and most accelerator studies move activations in.
DEFAULT_REFERENCE_BITS = 16


def report_encodings(trace, precision_bits: int | None = None,
                     payload_bytes_per_flit: int | None = None) -> list[dict[str, Any]]:
    """Per boundary: firing rate or zero fraction, mean bits per sample under every encoding, and
    break-even firing rates (spikes vs a dense activation; bitmap vs aer). Everything is computed from the
    data; a manifest whose recorded statistics differ is reported (``manifest_stats``), not trusted.

    The dense reference is ``precision_bits`` if given, else per boundary (:func:`reference_precision`).
    With ``payload_bytes_per_flit`` (a link's flit payload) every row also has ``flits_per_sample``: the
    flits each encoding's messages take, and spike boundaries add their encodings packed over all T steps
    (``pack``), where small frames share flits."""
    rows = []
    for b in trace.boundaries:
        n, T = b.n_features, b.timesteps
        stats = data_stats(trace, b.name)
        ref_bits, ref_source = reference_precision(trace, b, precision_bits)
        row: dict[str, Any] = {"boundary": b.name, "kind": b.kind, "src": b.src, "dst": list(b.dst)}
        row["features"] = n
        row["timesteps"] = T
        row["logical_dtype"] = b.logical_dtype
        row["precision_bits"] = b.precision_bits
        row["nnz"], row["slots"] = stats["nnz"], stats["slots"]
        if b.kind == "spike":
            rate = stats["firing_rate"]
            row["firing_rate"] = rate
        else:
            rate = 1 - stats["zero_fraction"]
            row["zero_fraction"] = stats["zero_fraction"]
        recorded = {k: b.stats.get(k) for k in ("nnz", "slots") if k in b.stats}
        if recorded and recorded != {k: stats[k] for k in recorded}:
            row["manifest_stats"] = recorded  # stale or wrong: the data above is what counts
        row["reference_precision_bits"] = ref_bits
        row["reference"] = ref_source
        encs = default_encodings(b, ref_bits, rate)
        if payload_bytes_per_flit is not None and b.kind == "spike" and T > 1:
            encs.update({f"{k}, pack={T}": e.model_copy(update={"pack": T}) for k, e in list(encs.items())
                         if e.kind != "rate"})
        totals = report_encodings_for(trace, b.name, encs)
        samples = max(trace.n_samples, 1)
        per_sample = {k: v / samples for k, v in totals.items()}
        if payload_bytes_per_flit is not None:
            flits = report_encodings_for(trace, b.name, encs, 8 * payload_bytes_per_flit)
            row["flits_per_sample"] = {k: v / samples for k, v in flits.items()}
        if b.kind == "spike":
            # an ANN sends the activation once per sample; spikes go out on every timestep
            per_sample[f"dense activation ({ref_bits}b, 1 frame)"] = n * ref_bits
            dense = Dense(precision_bits=ref_bits)
            row["breakeven_vs_dense"] = {
                k: _finite(breakeven_firing_rate(dense, e, n, timesteps_a=1, timesteps_b=T))
                for k, e in (("aer", Aer()), ("csr", Csr()), ("bitmap", Bitmap()))
            }
            row["breakeven_bitmap_vs_aer"] = _finite(breakeven_firing_rate(Bitmap(), Aer(), n))
        row["bits_per_sample"] = per_sample
        rows.append(row)
    return rows


def _finite(x: float) -> float | None:
    """JSON-friendly: None when the two encodings never cross."""
    return None if (math.isinf(x) or math.isnan(x)) else x
