"""The one dtype table: every element type snapsim knows, and the workload precisions that name them.

A *logical* dtype is what a tensor holds (``BF16``, ``I64``, ``BOOL``); it is named as in safetensors and
the trace manifest. Its *storage* dtype is the numpy-representable type that holds it on disk and in
memory: numpy has no bfloat16 or fp8, so those are stored as ``U16``/``U8`` bit patterns, and spikes
(``BOOL``) are stored bit-packed in ``U8``. ``bits`` is the width of one element on the wire by default
(a manifest's ``precision_bits``; 1 for a spike).

Everything else derives from :data:`DTYPES`: the trace writer, reader and manifest checks, the recorder's
torch mapping (torch dtypes are named by string, so this module never imports torch), the importers'
numpy mapping, the shard container's dtype vocabulary and the workload precisions
(``fp32``/``fp16``/``bf16``/``fp8``/``int8``/``int4``, :data:`PRECISION_BITS`). A dtype that cannot be
handled is refused here, by :func:`logical` / :func:`from_torch` / :func:`from_numpy`, with one message.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "DType",
    "DTYPES",
    "STORAGE_NAMES",
    "PRECISIONS",
    "PRECISION_BITS",
    "UnknownDtype",
    "logical",
    "from_torch",
    "from_numpy",
    "int_range",
]


class UnknownDtype(ValueError):
    """A dtype name, torch dtype or numpy dtype outside the table (the message lists what is known)."""


@dataclass(frozen=True)
class DType:
    """One logical dtype. ``numpy`` is the dtype of its *storage* array."""

    name: str
    bits: int
    storage: str
    numpy: np.dtype
    torch: str | None
    """Attribute of the ``torch`` module (``"bfloat16"``); None when torch has no such dtype."""
    is_float: bool
    precision: str | None = None
    """The workload precision name of this dtype (``"bf16"``), if a workload can use it."""

    @property
    def signed(self) -> bool:
        return self.is_float or self.name.startswith("I")


def _d(name: str, bits: int, storage: str, numpy: str, torch: str | None, is_float: bool,
       precision: str | None = None) -> DType:
    return DType(name, bits, storage, np.dtype(numpy), torch, is_float, precision)


DTYPES: dict[str, DType] = {
    d.name: d
    for d in (
        _d("BOOL", 1, "U8", "uint8", "bool", False),  # spikes: bit-packed over the features
        _d("U8", 8, "U8", "uint8", "uint8", False),
        _d("I8", 8, "I8", "int8", "int8", False, "int8"),
        _d("I4", 4, "I8", "int8", None, False, "int4"),  # one value in [-8, 7] per int8 element
        _d("U16", 16, "U16", "uint16", "uint16", False),
        _d("I16", 16, "I16", "int16", "int16", False),
        _d("U32", 32, "U32", "uint32", "uint32", False),
        _d("I32", 32, "I32", "int32", "int32", False),
        _d("U64", 64, "U64", "uint64", "uint64", False),
        _d("I64", 64, "I64", "int64", "int64", False),
        _d("F16", 16, "F16", "float16", "float16", True, "fp16"),
        _d("BF16", 16, "U16", "uint16", "bfloat16", True, "bf16"),  # bit patterns
        _d("F32", 32, "F32", "float32", "float32", True, "fp32"),
        _d("F64", 64, "F64", "float64", "float64", True),
        _d("F8_E4M3", 8, "U8", "uint8", "float8_e4m3fn", True, "fp8"),  # bit patterns; the fp8 of inference
        _d("F8_E5M2", 8, "U8", "uint8", "float8_e5m2", True),
    )
}

STORAGE_NAMES: tuple[str, ...] = tuple(n for n, d in DTYPES.items() if d.storage == n)
"""Dtypes that are their own storage (the dtypes a shard file may hold)."""

PRECISIONS: dict[str, DType] = {
    d.precision: d
    for d in sorted(DTYPES.values(), key=lambda d: (-d.bits, not d.is_float))  # widest first, floats first
    if d.precision is not None
}
"""Workload precision name -> its logical dtype (fp32, fp16, bf16, fp8, int8, int4)."""

PRECISION_BITS: dict[str, int] = {p: d.bits for p, d in PRECISIONS.items()}
"""Workload precision name -> bits per element (``fp32`` 32 ... ``int4`` 4)."""

_BY_TORCH: dict[str, DType] = {d.torch: d for d in DTYPES.values() if d.torch is not None}
_BY_NUMPY: dict[np.dtype, DType] = {DTYPES[n].numpy: DTYPES[n] for n in STORAGE_NAMES}


def logical(name: str) -> DType:
    """The table entry of a logical dtype name; raises :class:`UnknownDtype` listing the known names."""
    try:
        return DTYPES[name]
    except (KeyError, TypeError):
        raise UnknownDtype(f"unknown dtype {name!r} (known: {', '.join(DTYPES)})") from None


def from_torch(torch_dtype: object) -> DType:
    """The entry of a torch dtype (``torch.int64`` or ``"int64"``); raises :class:`UnknownDtype`."""
    key = str(torch_dtype).removeprefix("torch.")
    try:
        return _BY_TORCH[key]
    except KeyError:
        supported = ", ".join(f"torch.{t}" for t in _BY_TORCH)
        raise UnknownDtype(f"cannot record tensors of dtype torch.{key}; supported: {supported}") from None


def from_numpy(numpy_dtype: object) -> DType:
    """The entry whose storage is this numpy dtype (int64 -> I64; uint16 -> U16, not BF16)."""
    try:
        return _BY_NUMPY[np.dtype(numpy_dtype)]
    except (KeyError, TypeError):
        known = ", ".join(str(d) for d in _BY_NUMPY)
        raise UnknownDtype(f"no logical dtype for numpy dtype {numpy_dtype} (known: {known})") from None


def int_range(d: DType) -> tuple[int, int]:
    """Smallest and largest value of an integer dtype, from its bits (I4: [-8, 7])."""
    if d.is_float or d.name == "BOOL":
        raise ValueError(f"{d.name} is not an integer dtype")
    if d.signed:
        return -(1 << (d.bits - 1)), (1 << (d.bits - 1)) - 1
    return 0, (1 << d.bits) - 1
