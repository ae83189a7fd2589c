"""Bit-packed spike frames: pack, unpack, popcount, padding check.

Spikes ``[T, B, *features]`` are packed over the flattened features with ``bitorder="little"``:
bit i of byte j is feature ``8*j + i``; the ``8*nbytes - F`` padding bits of the last byte are zero.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["pack_spikes", "unpack_spikes", "popcount", "popcount_lut", "padding_clean", "POPCOUNT_LUT"]

POPCOUNT_LUT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
_HAS_BITWISE_COUNT = hasattr(np, "bitwise_count")


def pack_spikes(spikes: np.ndarray, n_lead: int = 2) -> np.ndarray:
    """Pack a 0/1 array ``[*lead, *features]`` (``n_lead`` leading axes) to uint8 ``[*lead, ceil(F/8)]``."""
    spikes = np.asarray(spikes)
    lead = spikes.shape[:n_lead]
    flat = spikes.reshape(lead + (math.prod(spikes.shape[n_lead:]),))
    if flat.dtype != np.bool_:
        flat = flat != 0
    return np.packbits(flat, axis=-1, bitorder="little")


def unpack_spikes(packed: np.ndarray, n_features: int) -> np.ndarray:
    """Unpack uint8 ``[..., nbytes]`` to bool ``[..., n_features]``."""
    bits = np.unpackbits(packed, axis=-1, count=n_features, bitorder="little")
    return bits.view(np.bool_)


def popcount(packed: np.ndarray) -> np.ndarray:
    """Set bits per row of ``[..., nbytes]`` uint8, as int64 ``[...]`` (vectorised, no unpacking)."""
    packed = np.ascontiguousarray(packed)
    if not _HAS_BITWISE_COUNT:
        return popcount_lut(packed)
    nbytes = packed.shape[-1]
    if nbytes % 8 == 0 and nbytes > 0:
        words = packed.view(np.uint64)
        return np.bitwise_count(words).sum(axis=-1, dtype=np.int64)
    return np.bitwise_count(packed).sum(axis=-1, dtype=np.int64)


def popcount_lut(packed: np.ndarray) -> np.ndarray:
    """Same as :func:`popcount` through a 256-entry lookup table (numpy < 2.0)."""
    return POPCOUNT_LUT[packed].sum(axis=-1, dtype=np.int64)


def padding_clean(packed: np.ndarray, n_features: int) -> bool:
    """True if every padding bit (beyond ``n_features`` in the last byte) is zero."""
    rem = n_features % 8
    if rem == 0 or packed.size == 0:
        return True
    mask = np.uint8((0xFF << rem) & 0xFF)
    return not np.any(packed[..., -1] & mask)
