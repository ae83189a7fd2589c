"""The encoding registry: exact wire sizes of boundary messages, one typed model per encoding kind.

A *frame* is what one boundary carries for one sample at one timestep: ``n`` elements (spikes or
activation values). A *message* is what leaves the encoder at once: the frames of one *window* of
timesteps (one timestep for every kind except ``rate``). Sizes are exact payload bit counts; link
framing (flits, headers, CRC) is added by :mod:`snapsim.d2d.framing`.

Each kind is a frozen, closed config model (:class:`Encoding` subclasses, discriminated on ``kind``) that
answers three questions, and nothing else in snapsim asks them another way:

* **when it sends**: :meth:`Encoding.windows` gives the timesteps of each message (``rate``: one message
  per window of ``window_steps``, sent at the window's last timestep; every other kind: one per step);
* **bits from counts**: :meth:`Encoding.count_terms` gives ``(fixed, per_spike)`` so that a message of
  ``F`` frames holding ``k`` non-zeros is ``fixed + per_spike * k`` bits (count-only kinds);
* **bits from frames**: :meth:`Encoding.frame_bits` sizes each frame from its data (needed by
  data-dependent kinds, ``rle``; exact for every kind).

:meth:`Encoding.window_bits` turns per-timestep non-zero counts (and, for data-dependent kinds, per-frame
bits) into per-message bits; the statistical payload, trace replay and ``trace stats`` all use it.

**Frame packing** (``pack``, every kind, default 1): a message carries ``pack`` consecutive send windows
instead of one, so several small spike frames share a flit (the link framing, :mod:`snapsim.d2d.framing`,
puts any message of B bits in ``ceil(B / payload per flit)`` flits, at least one: without packing a
3-spike AER frame costs a whole flit, like a full bitmap). The cost is latency: a message leaves when its
last frame is encoded, so the first frame waits ``pack - 1`` windows (snap: encoder steps; snn: timestep
computes), which the engine and the closed forms both see through :meth:`Encoding.windows`. Frames that
do not delimit themselves carry their length once they share a message (:meth:`Encoding.delimiter_bits`:
``aer`` without timestamps and ``rle`` add ``ceil(log2(n+1))`` bits per frame; the others have a fixed
size, a mask or a row length).

Kinds, with ``n`` neurons, ``k`` non-zeros and ``F`` frames in the message:

``dense``   ``F * n * precision_bits``; data independent.
``zvc``     zero-value compression: ``F * n`` mask bits + ``k * value_bits`` (default ``precision_bits``).
``bitmap``  ``F * n``: one bit per neuron per timestep.
``aer``     address-event representation: per spike ``address_bits`` (default ``max(1, ceil(log2 n))``)
            + ``timestamp_bits`` + ``value_bits`` (default 0, set for graded spikes) + a destination mask
            of ``multicast_destinations`` bits when that is > 1 (0 bits for unicast). The mask, not a
            ``ceil(log2 D)`` id, is the chosen multicast format: one event reaches any subset of the D
            destinations, so one copy crosses the first link. With ``timestamp_bits=0`` the message is
            frame-synchronous: its length delimits it (no header, no end-of-frame token).
``csr``     per frame a row-length field of ``count_bits`` (default ``ceil(log2(n+1))``) plus, per
            spike, a column index of ``index_bits`` (default ``max(1, ceil(log2 n))``) and ``value_bits``
            (default 0).
``rate``    a spike count per neuron per window of ``window_steps`` timesteps, ``count_bits`` each
            (default ``ceil(log2(window_steps+1))``, so counts never saturate); one message per window;
            data independent. The last window may be shorter.
``rle``     per frame, tokens of ``count_bits`` (r) bits (default ``ceil(log2(n+1))``, which never
            escapes; choose r near ``log2(1/p)`` to exploit sparsity). A token v < 2**r - 1 means
            "v zeros, then a spike"; the escape token 2**r - 1 means "2**r - 1 zeros, no spike". Zeros
            after the last spike are not sent (the message length delimits the frame). Each spike token is
            followed by ``value_bits`` (default 0). Size depends on spike *positions*: data dependent.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal, Mapping, Union

import numpy as np
from pydantic import BeforeValidator, Discriminator, Field, Tag, TypeAdapter, ValidationError

from .errors import SnapsimError
from .schema import Strict

__all__ = [
    "KINDS",
    "COUNT_ONLY_KINDS",
    "Encoding",
    "EncodingSpec",
    "EncodingError",
    "Dense",
    "Zvc",
    "Bitmap",
    "Aer",
    "Csr",
    "Rate",
    "Rle",
    "parse_encoding",
    "breakeven_firing_rate",
]


class EncodingError(SnapsimError):
    """A malformed encoding spec; ``path`` names where it came from, ``reason`` says what is wrong."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)


def _ceil_log2(x: int) -> int:
    """Smallest b with 2**b >= x (0 for x <= 1)."""
    return 0 if x <= 1 else int(x - 1).bit_length()


def _check_shape(n: int, frames: int) -> tuple[int, int]:
    n, f = int(n), int(frames)
    if n < 1 or f < 1:
        raise SnapsimError(f"encoding: n_neurons and frames must be >= 1; got {n}, {f}")
    return n, f


Bits = Annotated[int, Field(strict=True, ge=0, le=64)]
PositiveBits = Annotated[int, Field(strict=True, ge=1, le=64)]


class Encoding(Strict):
    """Wire encoding of boundary messages: the base of every kind (see the module docstring)."""

    kind: str
    #: whether sizes need the data (positions), not only non-zero counts
    data_dependent: ClassVar[bool] = False
    #: whether the kind can carry values (an activation), not only spike presence
    carries_values: ClassVar[bool] = True

    #: frame packing: consecutive send windows per message (1: one message per window, the default)
    pack: Annotated[int, Field(strict=True, ge=1, le=1 << 20)] = Field(
        1, description="Frame packing: consecutive send windows per message (1: one message per window); "
        "packs sparse frames into fewer flits at the cost of waiting for the later frames")

    # --- when it sends -------------------------------------------------------------------------------

    def unit_windows(self, timesteps: int) -> tuple[tuple[int, int], ...]:
        """The kind's own send windows, before packing: one timestep each (``rate``: ``window_steps``)."""
        return tuple((t, t + 1) for t in range(int(timesteps)))

    def windows(self, timesteps: int) -> tuple[tuple[int, int], ...]:
        """``(first, stop)`` timesteps of each message of a sample's ``timesteps`` frames, in send order;
        a message leaves when the frame of timestep ``stop - 1`` is encoded. With ``pack = k`` a message
        holds ``k`` consecutive unit windows (the last message may hold fewer)."""
        units = self.unit_windows(timesteps)
        k = self.pack
        return tuple((units[i][0], units[min(i + k, len(units)) - 1][1]) for i in range(0, len(units), k))

    # --- bits from counts ----------------------------------------------------------------------------

    def count_terms(self, n_neurons: int, frames: int = 1) -> tuple[int, int]:
        """``(fixed_bits, bits_per_spike)`` of ``frames`` frames of ``n_neurons`` in one message, without the
        frame delimiters packing adds (:meth:`message_terms` has them)."""
        raise NotImplementedError  # pragma: no cover - every kind defines it or is data dependent

    def delimiter_bits(self, n_neurons: int) -> int:
        """Bits that mark where each frame ends when several frames share a message (``pack > 1``): 0 for
        kinds whose frames delimit themselves (a fixed size, a mask, a row length)."""
        return 0

    def message_terms(self, n_neurons: int, frames: int = 1) -> tuple[int, int]:
        """``(fixed_bits, bits_per_spike)`` of one sample's message of ``frames`` frames, frame delimiters
        included when packing (``pack > 1``): the size rule every payload model uses."""
        fixed, per = self.count_terms(n_neurons, frames)
        return fixed + self.packing_bits(n_neurons, frames), per

    def packing_bits(self, n_neurons: int, frames: int) -> int:
        """Frame delimiters of one sample's message of ``frames`` frames (0 unless ``pack > 1``)."""
        return int(frames) * self.delimiter_bits(n_neurons) if self.pack > 1 else 0

    def message_bits(self, n_neurons: int, n_spikes, frames: int = 1):
        """Exact bits of a message of ``frames`` frames holding ``n_spikes`` non-zeros in total.

        ``n_spikes`` may be an int or an array (vectorised). Integer input gives exact integers; a float
        (mean) count gives the exact mean size, since sizes are affine in the count. Count-only kinds
        only: a data-dependent kind raises :class:`SnapsimError`.
        """
        fixed, per = self.message_terms(n_neurons, frames)
        top = int(n_neurons) * int(frames)
        if np.ndim(n_spikes) == 0:
            k = n_spikes.item() if isinstance(n_spikes, np.generic) else n_spikes
            if isinstance(k, bool) or not isinstance(k, (int, float)):
                raise TypeError(f"n_spikes must be a number; got {n_spikes!r}")
            if not 0 <= k <= top:
                raise ValueError(f"n_spikes must be in [0, {top}]; got {k}")
            return fixed + per * k
        k = np.asarray(n_spikes)
        if k.size and (k.min() < 0 or k.max() > top):
            raise ValueError(f"n_spikes must be in [0, {top}]")
        if np.issubdtype(k.dtype, np.integer):
            return fixed + per * k.astype(np.int64)
        return fixed + per * k.astype(np.float64)

    # --- bits from frames ----------------------------------------------------------------------------

    def frame_bits(self, frames: np.ndarray) -> np.ndarray:
        """Exact bits of each frame sent as a message of its own; ``frames`` is ``[..., n]`` (bool or
        numeric, non-zero means ``!= 0``, NaN counts as non-zero). Returns int64 shaped ``frames.shape[:-1]``."""
        frames = _frames(frames)
        fixed, per = self.count_terms(frames.shape[-1], 1)
        if per == 0:
            return np.full(frames.shape[:-1], fixed, dtype=np.int64)
        return fixed + per * np.count_nonzero(frames, axis=-1).astype(np.int64)

    # --- messages from per-timestep data -------------------------------------------------------------

    def window_bits(self, n_neurons: int, nnz: np.ndarray, frame_bits: np.ndarray | None = None,
                    samples: int = 1) -> np.ndarray:
        """Bits of every message of a boundary, from per-timestep data summed over ``samples`` samples.

        ``nnz[t, ...]`` is the non-zero count at timestep t (summed over the samples); ``frame_bits[t, ...]``
        the summed bits of each sample's frame at t (:meth:`frame_bits`; needed by data-dependent kinds).
        Each sample's frames are encoded on their own. Returns int64 ``[messages, ...]``.
        """
        nnz = np.asarray(nnz)
        out = []
        for a, b in self.windows(nnz.shape[0]):
            if self.data_dependent:
                if frame_bits is None:
                    raise SnapsimError(f"encoding {self.kind}: sizes depend on spike positions; frame data needed")
                out.append(np.asarray(frame_bits[a:b]).sum(axis=0) + self.packing_bits(n_neurons, b - a) * samples)
            else:
                fixed, per = self.message_terms(n_neurons, b - a)
                out.append(fixed * samples + per * nnz[a:b].sum(axis=0))
        return np.asarray(out, dtype=np.int64)

    def unfit(self, n_neurons: int) -> tuple[str, str] | None:
        """``(field, why)`` when this encoding cannot carry frames of ``n_neurons`` (an address field too
        narrow for the neurons), else None; the workload checks every boundary with it."""
        return None

    # --- presentation --------------------------------------------------------------------------------

    def with_precision(self, precision_bits: int) -> "Encoding":
        """The same encoding with its value precision replaced (kinds without one are returned as is)."""
        return self

    def for_values(self, value_bits: int) -> "Encoding":
        """This encoding carrying activation values of ``value_bits`` bits each: the value field (``dense``,
        ``zvc``: ``precision_bits``; ``csr``, ``aer``, ``rle``: ``value_bits``) is set to it unless the config
        gave it explicitly. Kinds that carry no values (``bitmap``, ``rate``) raise :class:`SnapsimError`."""
        if not self.carries_values:
            raise SnapsimError(f"encoding {self.kind}: carries no values (spike presence only)")
        key = self._value_field
        if key in self.model_fields_set:
            return self
        return self.model_copy(update={key: int(value_bits)})

    _value_field: ClassVar[str] = "value_bits"

    def to_dict(self) -> dict[str, Any]:
        """``kind`` plus the fields that differ from the defaults (round-trips through parse_encoding)."""
        return {"kind": self.kind, **self.model_dump(exclude_defaults=True, exclude={"kind"})}

    def __str__(self) -> str:
        extra = self.model_dump(exclude_defaults=True, exclude={"kind"})
        if not extra:
            return self.kind
        return f"{self.kind}(" + ", ".join(f"{k}={v}" for k, v in sorted(extra.items())) + ")"


def _frames(frames) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim < 1 or frames.shape[-1] < 1:
        raise ValueError(f"frames must be shaped [..., n_neurons] with n_neurons >= 1; got {frames.shape}")
    return frames


class Dense(Encoding):
    """Every element at full precision."""

    kind: Literal["dense"] = "dense"
    precision_bits: PositiveBits = Field(16, description="Bits per element")
    _value_field: ClassVar[str] = "precision_bits"

    def count_terms(self, n_neurons, frames=1):
        n, f = _check_shape(n_neurons, frames)
        return f * n * self.precision_bits, 0

    def with_precision(self, precision_bits):
        return self.model_copy(update={"precision_bits": int(precision_bits)})


class Zvc(Encoding):
    """Zero-value compression: a non-zero mask plus the non-zero values."""

    kind: Literal["zvc"] = "zvc"
    precision_bits: PositiveBits = Field(16, description="Bits per value when value_bits is not given")
    value_bits: Bits | None = Field(None, description="Bits per non-zero value; default precision_bits")
    _value_field: ClassVar[str] = "precision_bits"

    def count_terms(self, n_neurons, frames=1):
        n, f = _check_shape(n_neurons, frames)
        return f * n, self.precision_bits if self.value_bits is None else self.value_bits

    def with_precision(self, precision_bits):
        return self.model_copy(update={"precision_bits": int(precision_bits)})


class Bitmap(Encoding):
    """One bit per neuron per timestep."""

    kind: Literal["bitmap"] = "bitmap"
    carries_values: ClassVar[bool] = False

    def count_terms(self, n_neurons, frames=1):
        n, f = _check_shape(n_neurons, frames)
        return f * n, 0


class Aer(Encoding):
    """Address-event representation: one event per spike."""

    kind: Literal["aer"] = "aer"
    address_bits: PositiveBits | None = Field(None, description="Bits of a spike's address; default max(1, ceil(log2 n))")
    timestamp_bits: Bits = Field(0, description="Bits of a timestamp per event; 0: frame-synchronous (the message belongs to one timestep)")
    value_bits: Bits | None = Field(None, description="Bits of a graded spike's value; default 0")
    multicast_destinations: Annotated[int, Field(strict=True, ge=1, le=4096)] = Field(1, description="Destinations D; above 1 each event carries a D-bit destination mask")

    def count_terms(self, n_neurons, frames=1):
        n, _f = _check_shape(n_neurons, frames)
        address = self.address_bits if self.address_bits is not None else max(1, _ceil_log2(n))
        mask = self.multicast_destinations if self.multicast_destinations > 1 else 0
        return 0, address + self.timestamp_bits + (self.value_bits or 0) + mask

    def unfit(self, n_neurons):
        need = max(1, _ceil_log2(n_neurons))
        if self.address_bits is not None and self.address_bits < need:
            return "address_bits", f"{self.address_bits} bits cannot address {n_neurons} neurons (needs {need})"
        return None
    def delimiter_bits(self, n_neurons):
        # frame-synchronous events (no timestamp) need each frame's event count once frames share a message
        return 0 if self.timestamp_bits else max(1, _ceil_log2(int(n_neurons) + 1))


class Csr(Encoding):
    """Compressed sparse rows: a row length per frame, a column index (and value) per spike."""

    kind: Literal["csr"] = "csr"
    count_bits: PositiveBits | None = Field(None, description="Bits of a frame's row-length field; default ceil(log2(n + 1))")
    index_bits: PositiveBits | None = Field(None, description="Bits of a spike's column index; default max(1, ceil(log2 n))")
    value_bits: Bits | None = Field(None, description="Bits of a value per spike; default 0")

    def count_terms(self, n_neurons, frames=1):
        n, f = _check_shape(n_neurons, frames)
        count = self.count_bits if self.count_bits is not None else max(1, _ceil_log2(n + 1))
        index = self.index_bits if self.index_bits is not None else max(1, _ceil_log2(n))
        return f * count, index + (self.value_bits or 0)

    def unfit(self, n_neurons):
        need = max(1, _ceil_log2(n_neurons))
        if self.index_bits is not None and self.index_bits < need:
            return "index_bits", f"{self.index_bits} bits cannot index {n_neurons} neurons (needs {need})"
        need = max(1, _ceil_log2(n_neurons + 1))
        if self.count_bits is not None and self.count_bits < need:
            return "count_bits", f"{self.count_bits} bits cannot count up to {n_neurons} spikes a frame (needs {need})"
        return None


class Rate(Encoding):
    """A spike count per neuron per window of timesteps; one message per window."""

    kind: Literal["rate"] = "rate"
    carries_values: ClassVar[bool] = False
    window_steps: Annotated[int, Field(strict=True, ge=1, le=1 << 20)] = Field(1, description="Timesteps per window; one message per window, sent at its last timestep")
    count_bits: PositiveBits | None = Field(None, description="Bits of a neuron's spike count; default ceil(log2(window_steps + 1)), which never saturates")

    def unit_windows(self, timesteps):
        T, W = int(timesteps), self.window_steps
        return tuple((a, min(a + W, T)) for a in range(0, T, W))

    def count_terms(self, n_neurons, frames=1):
        n, f = _check_shape(n_neurons, frames)
        count = self.count_bits if self.count_bits is not None else max(1, _ceil_log2(self.window_steps + 1))
        return -(-f // self.window_steps) * n * count, 0


class Rle(Encoding):
    """Run-length tokens per frame (see the module docstring); size depends on spike positions."""

    kind: Literal["rle"] = "rle"
    count_bits: PositiveBits | None = Field(None, description="Bits r of a run token; default ceil(log2(n + 1)), which never escapes; near log2(1/p) exploits sparsity")
    value_bits: Bits | None = Field(None, description="Bits of a value after each spike token; default 0")
    data_dependent: ClassVar[bool] = True

    def count_terms(self, n_neurons, frames=1):
        raise SnapsimError(
            "encoding rle: the size depends on spike positions, not only on counts; size it from the data "
            "with frame_bits (a trace, or frames drawn by the statistical payload)"
        )

    def delimiter_bits(self, n_neurons):
        # trailing zeros are not sent, so a frame's token count marks its end once frames share a message
        return max(1, _ceil_log2(int(n_neurons) + 1))

    def frame_bits(self, frames):
        frames = _frames(frames)
        n = frames.shape[-1]
        lead = frames.shape[:-1]
        flat = frames.reshape(-1, n)
        flat = flat if flat.dtype == np.bool_ else flat != 0
        n_frames = flat.shape[0]
        r = self.count_bits if self.count_bits is not None else max(1, _ceil_log2(n + 1))
        escape = (1 << r) - 1
        idx = np.flatnonzero(flat)  # sorted by frame, then neuron
        if idx.size == 0:
            return np.zeros(lead, dtype=np.int64)
        rows = idx // n
        k = np.bincount(rows, minlength=n_frames).astype(np.int64)
        # zeros before each spike: the distance from the previous spike, or from the frame start
        gaps = np.empty_like(idx)
        gaps[0] = idx[0] - rows[0] * n
        np.subtract(idx[1:], idx[:-1] + 1, out=gaps[1:])
        starts = np.flatnonzero(rows[1:] != rows[:-1]) + 1
        gaps[starts] = idx[starts] - rows[starts] * n
        if escape >= n:  # no gap (at most n - 1 zeros) reaches the escape token: also keeps 2**r - 1 in int64
            esc = np.zeros_like(gaps)
        else:
            esc = gaps // escape
        hit = np.flatnonzero(esc)
        escapes = np.bincount(rows[hit], weights=esc[hit], minlength=n_frames).astype(np.int64)
        return ((k + escapes) * r + k * (self.value_bits or 0)).reshape(lead)


_CLASSES: tuple[type[Encoding], ...] = (Dense, Zvc, Bitmap, Aer, Csr, Rate, Rle)
REGISTRY: dict[str, type[Encoding]] = {c.model_fields["kind"].default: c for c in _CLASSES}
KINDS = tuple(REGISTRY)
COUNT_ONLY_KINDS = tuple(k for k, c in REGISTRY.items() if not c.data_dependent)


def _kind_of(value: Any) -> str | None:
    if isinstance(value, Encoding):
        return value.kind
    if isinstance(value, Mapping):
        kind = value.get("kind")
        return kind if isinstance(kind, str) and kind in REGISTRY else None
    return None


def _shorthand(value: Any) -> Any:
    """A bare kind name (``encoding: aer``) stands for ``{kind: aer}``; an unknown kind is named."""
    if isinstance(value, str):
        value = {"kind": value}
    if isinstance(value, Mapping):
        if "kind" not in value:
            raise ValueError(f"kind is missing: an encoding names its kind, one of {', '.join(KINDS)}")
        kind = value["kind"]
        if not isinstance(kind, str) or kind not in REGISTRY:
            raise ValueError(f"kind {kind!r} is not an encoding kind; one of {', '.join(KINDS)}")
    elif not isinstance(value, Encoding):
        raise ValueError(f"must be an encoding kind name or a mapping with kind; got {value!r}")
    return value


_UNION = Union[tuple(Annotated[c, Tag(k)] for k, c in REGISTRY.items())]  # type: ignore[valid-type]

#: The config field type of an encoding: a kind name or a mapping with ``kind`` and that kind's fields.
EncodingSpec = Annotated[
    _UNION,
    Discriminator(_kind_of),
    BeforeValidator(_shorthand),
]

_ADAPTER: TypeAdapter = TypeAdapter(EncodingSpec)


def parse_encoding(obj: str | Mapping[str, Any] | Encoding, path: str = "") -> Encoding:
    """An :class:`Encoding` from a kind name (``"aer"``), a mapping (``{"kind": "aer", ...}``) or an
    encoding. Raises :class:`EncodingError` naming ``path`` and every problem on bad input."""
    if isinstance(obj, Encoding):
        return obj
    try:
        return _ADAPTER.validate_python(obj)
    except ValidationError as exc:
        problems = []
        kind = obj if isinstance(obj, str) else _kind_of(obj)
        for err in exc.errors():
            loc = [str(x) for x in err["loc"]]
            if loc and loc[0] == kind:  # the union's tag, not a key of the input
                loc = loc[1:]
            where = ".".join(loc)
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown field of this encoding kind"
            elif err["type"] == "value_error":
                msg = msg[len("Value error, "):] if msg.startswith("Value error, ") else msg
            elif not isinstance(err.get("input"), (dict, list)):
                msg += f"; got {err.get('input')!r}"
            problems.append(f"{where}: {msg}" if where else msg)
        raise EncodingError(path, "; ".join(problems)) from None


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
    ``precision_bits``, if given, replaces the value precision of both (dense, zvc).
    Returns ``math.inf`` if the costs never cross (parallel in p) and ``math.nan`` if they are equal
    for every p. The result may lie outside [0, 1]: then one encoding wins at every real rate.
    Examples: bitmap vs aer crosses at ``1 / address_bits``; dense (P bits, 1 frame) vs aer over T
    frames at ``P / (T * address_bits)``.
    """
    if precision_bits is not None:
        enc_a, enc_b = enc_a.with_precision(precision_bits), enc_b.with_precision(precision_bits)
    fa, sa = enc_a.message_terms(n_neurons, timesteps_a)
    fb, sb = enc_b.message_terms(n_neurons, timesteps_b)
    # cost(p) = fixed + per_spike * p * n * T
    slope = sa * n_neurons * timesteps_a - sb * n_neurons * timesteps_b
    offset = fa - fb
    if slope == 0:
        return math.nan if offset == 0 else math.inf
    return -offset / slope
