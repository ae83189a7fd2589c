"""Exact wire sizes of one boundary message under each encoding.

A *frame* is what one boundary carries for one sample at one timestep: ``n_neurons`` elements
(spikes or activation values). A *message* is the encoding of one or more frames. Sizes are exact
bit counts of the payload; link framing (flits, headers, CRC) is added by the link model.

Kinds (``Encoding.kind``), with ``n`` = n_neurons, ``k`` = non-zeros (spikes) and ``F`` = frames:

``dense``   ``F * n * precision_bits``. Every element at full precision; data independent.
``zvc``     zero-value compression: ``F * n`` mask bits + ``k * value_bits``
            (``value_bits`` defaults to ``precision_bits``).
``bitmap``  ``F * n``: one bit per neuron per timestep.
``aer``     address-event representation: per spike ``address_bits`` (default
            ``max(1, ceil(log2 n))``) + ``timestamp_bits`` + ``value_bits`` (default 0, set for graded
            spikes) + a destination mask of ``multicast_destinations`` bits when that is > 1 (0 bits for
            unicast). The mask, not a ``ceil(log2 D)`` destination id, is the chosen multicast format: one
            event reaches any subset of the D destinations, so one copy crosses the first link. With
            ``timestamp_bits=0`` the message is frame-synchronous: it belongs to one timestep and its
            length delimits it (no header, no end-of-frame token).
``csr``     per frame one row-length field of ``count_bits`` (default ``ceil(log2(n+1))``) plus, per
            spike, a column index of ``index_bits`` (default ``max(1, ceil(log2 n))``) and ``value_bits``
            (default 0).
``rate``    a spike count per neuron per window of ``window_steps`` timesteps, ``count_bits`` each
            (default ``ceil(log2(window_steps+1))``, so counts never saturate); one message per window,
            sent at the window's last timestep (see :func:`sends_at`); data independent.
``rle``     per frame, tokens of ``count_bits`` (r) bits (default ``ceil(log2(n+1))``, which never
            escapes; choose r near ``log2(1/p)`` to exploit sparsity). A token v < 2**r - 1 means
            "v zeros, then a spike"; the escape token 2**r - 1 means "2**r - 1 zeros, no spike".
            Zeros after the last spike are not sent (the message length delimits the frame). Each spike
            token is followed by ``value_bits`` (default 0). Size depends on spike *positions*.

Every kind except ``rle`` is *count-only*: its size is ``fixed + per_spike * k`` (see
:func:`cost_terms`), so :func:`message_bits` needs only counts, and the mean size at a mean spike
count is exact (the size is affine in ``k``). ``rle`` needs the data: :func:`message_bits_from_frames`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Mapping

import numpy as np

from .errors import SnapsimError

__all__ = [
    "KINDS",
    "COUNT_ONLY_KINDS",
    "Encoding",
    "EncodingError",
    "parse_encoding",
    "cost_terms",
    "message_bits",
    "message_bits_from_frames",
    "breakeven_firing_rate",
    "sends_at",
    "encoding_to_dict",
]

KINDS = ("dense", "zvc", "bitmap", "aer", "csr", "rate", "rle")
COUNT_ONLY_KINDS = ("dense", "zvc", "bitmap", "aer", "csr", "rate")


class EncodingError(SnapsimError):
    """A malformed encoding spec; ``path`` names where it came from, ``reason`` says what is wrong."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)


def _ceil_log2(x: int) -> int:
    """Smallest b with 2**b >= x (0 for x <= 1)."""
    return 0 if x <= 1 else int(x - 1).bit_length()


@dataclass(frozen=True)
class Encoding:
    """Wire encoding of one boundary message; field meanings per kind are in the module docstring.

    ``None`` widths are derived from ``n_neurons`` (and ``window_steps``) when a size is computed.
    """

    kind: str
    precision_bits: int = 16
    timestamp_bits: int = 0
    address_bits: int | None = None
    multicast_destinations: int = 1
    window_steps: int = 1
    count_bits: int | None = None
    value_bits: int | None = None
    index_bits: int | None = None

    def __post_init__(self) -> None:
        problems = _check(self)
        if problems:
            raise EncodingError("", "; ".join(problems))

    # Resolved widths --------------------------------------------------------------------------------

    def resolved_address_bits(self, n_neurons: int) -> int:
        return self.address_bits if self.address_bits is not None else max(1, _ceil_log2(n_neurons))

    def resolved_index_bits(self, n_neurons: int) -> int:
        return self.index_bits if self.index_bits is not None else max(1, _ceil_log2(n_neurons))

    def resolved_count_bits(self, n_neurons: int) -> int:
        if self.count_bits is not None:
            return self.count_bits
        if self.kind == "rate":
            return max(1, _ceil_log2(self.window_steps + 1))
        return max(1, _ceil_log2(n_neurons + 1))  # csr row length, rle run field

    def resolved_value_bits(self) -> int:
        if self.value_bits is not None:
            return self.value_bits
        return self.precision_bits if self.kind == "zvc" else 0

    def multicast_bits(self) -> int:
        """Bits of the per-event destination mask (aer only): D if D > 1 else 0."""
        return self.multicast_destinations if self.multicast_destinations > 1 else 0


_INT_FIELDS = {
    "precision_bits": (1, 64),
    "timestamp_bits": (0, 64),
    "address_bits": (1, 64),
    "multicast_destinations": (1, 4096),
    "window_steps": (1, 1 << 20),
    "count_bits": (1, 64),
    "value_bits": (0, 64),
    "index_bits": (1, 64),
}


def _check(enc: Encoding) -> list[str]:
    problems = []
    if enc.kind not in KINDS:
        problems.append(f"unknown encoding kind {enc.kind!r} (expected one of: {', '.join(KINDS)})")
    for name, (lo, hi) in _INT_FIELDS.items():
        value = getattr(enc, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            problems.append(f"{name} must be an integer; got {value!r}")
        elif not lo <= value <= hi:
            problems.append(f"{name} must be in [{lo}, {hi}]; got {value}")
    return problems


def parse_encoding(obj: str | Mapping[str, Any] | Encoding, path: str) -> Encoding:
    """Build an :class:`Encoding` from a kind name (``"aer"``) or a mapping (``{"kind": "aer", ...}``).

    Raises :class:`EncodingError` (a :class:`SnapsimError`) naming ``path`` on bad input.
    """
    if isinstance(obj, Encoding):
        return obj
    if isinstance(obj, str):
        data: dict[str, Any] = {"kind": obj}
    elif isinstance(obj, Mapping):
        data = dict(obj)
    else:
        raise EncodingError(path, f"must be an encoding kind name or a mapping; got {type(obj).__name__} {obj!r}")
    if "kind" not in data:
        raise EncodingError(path, f"missing 'kind' (one of: {', '.join(KINDS)})")
    known = {f.name for f in fields(Encoding)}
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise EncodingError(
            f"{path}.{unknown[0]}" if path else unknown[0],
            f"unknown encoding field (fields: {', '.join(sorted(known))})",
        )
    if not isinstance(data["kind"], str):
        raise EncodingError(f"{path}.kind", f"must be a string; got {data['kind']!r}")
    try:
        return Encoding(**data)
    except EncodingError as exc:
        raise EncodingError(path, exc.reason) from None


def encoding_to_dict(enc: Encoding) -> dict[str, Any]:
    """The fields that differ from the defaults, plus ``kind`` (round-trips through parse_encoding)."""
    default = Encoding(kind=enc.kind)
    return {k: v for k, v in asdict(enc).items() if k == "kind" or v != getattr(default, k)}


# ------------------------------------------------------------------------------------------ count-only


def cost_terms(enc: Encoding, n_neurons: int, timesteps: int = 1) -> tuple[int, int]:
    """``(fixed_bits, bits_per_spike)`` of a count-only encoding over ``timesteps`` frames of ``n_neurons``.

    The message size is ``fixed_bits + bits_per_spike * n_spikes``. For ``rate`` the frames are grouped
    into ``ceil(timesteps / window_steps)`` windows. Raises :class:`SnapsimError` for ``rle``.
    """
    n, t = int(n_neurons), int(timesteps)
    if n < 1 or t < 1:
        raise SnapsimError(f"encoding {enc.kind}: n_neurons and timesteps must be >= 1; got {n}, {t}")
    kind = enc.kind
    if kind == "dense":
        return t * n * enc.precision_bits, 0
    if kind == "zvc":
        return t * n, enc.resolved_value_bits()
    if kind == "bitmap":
        return t * n, 0
    if kind == "aer":
        per = enc.resolved_address_bits(n) + enc.timestamp_bits + enc.resolved_value_bits() + enc.multicast_bits()
        return 0, per
    if kind == "csr":
        return t * enc.resolved_count_bits(n), enc.resolved_index_bits(n) + enc.resolved_value_bits()
    if kind == "rate":
        windows = -(-t // enc.window_steps)
        return windows * n * enc.resolved_count_bits(n), 0
    raise SnapsimError(
        f"encoding {kind}: the size depends on spike positions, not only on counts; "
        "compute it from the data with message_bits_from_frames"
    )


def message_bits(enc: Encoding, n_neurons: int, n_spikes, timesteps: int = 1):
    """Exact bits of a message of ``timesteps`` frames holding ``n_spikes`` non-zeros in total.

    ``n_spikes`` may be an int or an array (vectorised). Integer input gives exact integers; a float
    (mean) count gives the exact mean size, since sizes are affine in the count. Count-only kinds
    only (``rle`` raises :class:`SnapsimError`).
    """
    fixed, per = cost_terms(enc, n_neurons, timesteps)
    if np.ndim(n_spikes) == 0:
        k = n_spikes.item() if isinstance(n_spikes, np.generic) else n_spikes
        if isinstance(k, bool) or not isinstance(k, (int, float)):
            raise TypeError(f"n_spikes must be a number; got {n_spikes!r}")
        if not 0 <= k <= n_neurons * timesteps:
            raise ValueError(f"n_spikes must be in [0, {n_neurons * timesteps}]; got {k}")
        return fixed + per * k
    k = np.asarray(n_spikes)
    if k.size and (k.min() < 0 or k.max() > n_neurons * timesteps):
        raise ValueError(f"n_spikes must be in [0, {n_neurons * timesteps}]")
    if np.issubdtype(k.dtype, np.integer):
        return fixed + per * k.astype(np.int64)
    return fixed + per * k.astype(np.float64)


# ---------------------------------------------------------------------------------------- from frames


def _rle_bits(enc: Encoding, flat: np.ndarray) -> np.ndarray:
    """Exact rle size per row of a 2-D bool frame array."""
    n_frames, n = flat.shape
    r = enc.resolved_count_bits(n)
    escape = (1 << r) - 1
    idx = np.flatnonzero(flat)  # sorted by frame, then neuron
    if idx.size == 0:
        return np.zeros(n_frames, dtype=np.int64)
    rows = idx // n
    k = np.bincount(rows, minlength=n_frames).astype(np.int64)
    # zeros before each spike: the distance from the previous spike, or from the frame start
    gaps = np.empty_like(idx)
    gaps[0] = idx[0] - rows[0] * n
    np.subtract(idx[1:], idx[:-1] + 1, out=gaps[1:])
    starts = np.flatnonzero(rows[1:] != rows[:-1]) + 1
    gaps[starts] = idx[starts] - rows[starts] * n
    esc = gaps // escape
    hit = np.flatnonzero(esc)
    escapes = np.bincount(rows[hit], weights=esc[hit], minlength=n_frames).astype(np.int64)
    return (k + escapes) * r + k * enc.resolved_value_bits()


def message_bits_from_frames(enc: Encoding, frames: np.ndarray) -> np.ndarray:
    """Exact bits of each frame's message; ``frames`` is ``[..., n_neurons]`` (bool or numeric).

    Returns int64 bits shaped ``frames.shape[:-1]``. Non-zero means ``!= 0`` (NaN counts as non-zero).
    For ``rate`` each leading index is one window's message (``n * count_bits``; the size does not
    depend on the counts).
    """
    frames = np.asarray(frames)
    if frames.ndim < 1 or frames.shape[-1] < 1:
        raise ValueError(f"frames must be shaped [..., n_neurons] with n_neurons >= 1; got {frames.shape}")
    n = frames.shape[-1]
    lead = frames.shape[:-1]
    if enc.kind == "rle":
        flat = frames.reshape(-1, n)
        return _rle_bits(enc, flat if flat.dtype == np.bool_ else flat != 0).reshape(lead)
    fixed, per = cost_terms(enc, n, 1)
    if per == 0:
        return np.full(lead, fixed, dtype=np.int64)
    nnz = np.count_nonzero(frames, axis=-1)
    return fixed + per * np.asarray(nnz, dtype=np.int64)


def sends_at(enc: Encoding, timestep: int, timesteps: int) -> bool:
    """Whether a message leaves at ``timestep``: every step, except ``rate`` (last step of each window)."""
    if enc.kind != "rate":
        return True
    return (timestep + 1) % enc.window_steps == 0 or timestep == timesteps - 1


# ------------------------------------------------------------------------------------------ break-even


def breakeven_firing_rate(
    enc_a: Encoding,
    enc_b: Encoding,
    n_neurons: int,
    precision_bits: int | None = None,
    *,
    timesteps_a: int = 1,
    timesteps_b: int = 1,
) -> float:
    """Firing rate p (spikes per neuron per timestep) at which ``enc_a`` and ``enc_b`` cost the same.

    ``enc_a`` carries ``timesteps_a`` frames per sample and ``enc_b`` ``timesteps_b`` (e.g. a dense
    activation, 1 frame, against spikes over T frames); both see ``p * n_neurons * timesteps`` non-zeros.
    ``precision_bits``, if given, replaces the precision of both (the dense/zvc value width).
    Returns ``math.inf`` if the costs never cross (parallel in p) and ``math.nan`` if they are equal
    for every p. The result may lie outside [0, 1]: then one encoding wins at every real rate.
    Examples: bitmap vs aer crosses at ``1 / address_bits``; dense (P bits, 1 frame) vs aer over T
    frames at ``P / (T * address_bits)``.
    """
    if precision_bits is not None:
        enc_a = replace(enc_a, precision_bits=precision_bits)
        enc_b = replace(enc_b, precision_bits=precision_bits)
    fa, sa = cost_terms(enc_a, n_neurons, timesteps_a)
    fb, sb = cost_terms(enc_b, n_neurons, timesteps_b)
    # cost(p) = fixed + per_spike * p * n * T
    slope = sa * n_neurons * timesteps_a - sb * n_neurons * timesteps_b
    offset = fa - fb
    if slope == 0:
        return math.nan if offset == 0 else math.inf
    return -offset / slope
