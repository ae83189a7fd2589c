"""Conversions between logical dtypes (BF16, FP8, ...) and the numpy arrays that store them.

numpy has no bf16 or fp8, so they are stored as uint16/uint8 bit patterns and decoded to float32
when read. Encoding float input to BF16 rounds to nearest-even, as torch does. What each logical dtype
is (bits, storage, float or not) comes from the one table, :mod:`snapsim.dtypes`.
"""

from __future__ import annotations

import numpy as np

from ..dtypes import int_range, logical as logical_dtype

__all__ = ["to_storage", "decode", "bf16_bits_from_float32", "FP8_E4M3_TABLE", "FP8_E5M2_TABLE"]


def _fp8_table(exp_bits: int, man_bits: int, ieee_special: bool) -> np.ndarray:
    """float32 value of every 8-bit pattern (E4M3 is the 'fn' variant: no inf, NaN = S.1111.111)."""
    bias = (1 << (exp_bits - 1)) - 1
    out = np.empty(256, dtype=np.float32)
    for code in range(256):
        sign = -1.0 if code & 0x80 else 1.0
        e = (code >> man_bits) & ((1 << exp_bits) - 1)
        m = code & ((1 << man_bits) - 1)
        e_max = (1 << exp_bits) - 1
        if ieee_special and e == e_max:
            value = sign * np.inf if m == 0 else np.nan
        elif not ieee_special and e == e_max and m == (1 << man_bits) - 1:
            value = np.nan
        elif e == 0:
            value = sign * (m / (1 << man_bits)) * 2.0 ** (1 - bias)
        else:
            value = sign * (1 + m / (1 << man_bits)) * 2.0 ** (e - bias)
        out[code] = value
    return out


FP8_E4M3_TABLE = _fp8_table(4, 3, ieee_special=False)
FP8_E5M2_TABLE = _fp8_table(5, 2, ieee_special=True)


def bf16_bits_from_float32(x: np.ndarray) -> np.ndarray:
    """bfloat16 bit patterns (uint16) of float32 values, rounding to nearest-even (NaN stays NaN)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounded = (u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)
    out = rounded.astype(np.uint16)
    nan = np.isnan(x)
    if nan.any():
        out[nan] = ((u[nan] >> np.uint32(16)) | np.uint32(0x0040)).astype(np.uint16)
    return out


def to_storage(array: np.ndarray, logical: str) -> np.ndarray:
    """Convert input data to the storage array of ``logical``; raises ValueError saying why not.

    BF16 takes uint16/int16 bit patterns or floats (rounded to nearest-even); FP8 takes uint8/int8
    bit patterns; float dtypes take any real numeric input; integer dtypes take integers that fit.
    """
    d = logical_dtype(logical)
    dt = array.dtype
    if dt == np.bool_ or dt.kind not in "iuf":
        raise ValueError(f"expected numeric data for {logical}; got dtype {dt}")
    if logical == "BF16":
        if dt in (np.uint16, np.int16):
            return np.ascontiguousarray(array).view(np.uint16)
        if dt.kind == "f":
            return bf16_bits_from_float32(array.astype(np.float32))
        raise ValueError(f"BF16 data must be uint16 bit patterns or floats; got dtype {dt}")
    if logical in ("F8_E4M3", "F8_E5M2"):
        if dt in (np.uint8, np.int8):
            return np.ascontiguousarray(array).view(np.uint8)
        raise ValueError(f"{logical} data must be uint8 bit patterns; got dtype {dt}")
    if d.is_float:
        return np.ascontiguousarray(array, dtype=d.numpy)
    if dt.kind == "f":
        raise ValueError(f"{logical} data must be integers; got dtype {dt}")
    lo, hi = int_range(d)
    if array.size and (int(array.min()) < lo or int(array.max()) > hi):
        raise ValueError(f"values outside the {logical} range [{lo}, {hi}]")
    return np.ascontiguousarray(array, dtype=d.numpy)


def decode(stored: np.ndarray, logical: str) -> np.ndarray:
    """The logical values of a storage array: BF16 and FP8 become float32, others are unchanged."""
    if logical == "BF16":
        return (stored.astype(np.uint32) << np.uint32(16)).view(np.float32)
    if logical == "F8_E4M3":
        return FP8_E4M3_TABLE[stored]
    if logical == "F8_E5M2":
        return FP8_E5M2_TABLE[stored]
    return stored
