"""Build traces from plain arrays and event tables (tools without Python hooks), and convert containers.

- :func:`import_boundaries`: any number of boundaries, each from an array (:class:`ArraySource`) or an
  event table (:class:`EventSource`), into one trace; samples are streamed in chunks of
  ``shard_samples`` across all boundaries at once, so memory holds one chunk per boundary.
- :func:`import_spec`: the same from a YAML file naming every boundary (``snapsim trace import --spec``).
- :func:`import_array` / :func:`import_events`: the one-boundary shortcuts.
- :func:`convert`: copy a trace to another container bit for bit (data stays packed); every shard's
  checksum is verified as it is read, so a modified shard is refused, never given fresh checksums.

An array's ``layout`` names its axes in any order (e.g. ``B,T,N``); it is transposed to time-major.
``.npy`` files are memory-mapped. An event table has columns ``t, b, neuron`` (``.csv`` with an optional
header naming the columns, or an integer ``.npy`` of shape [E, 3]).

An import whose memory estimate (the dense buffer of one shard per boundary, the event tables) passes
``max_memory_gib``, or that would write more than :data:`MAX_SHARDS` shard files, is refused before
anything is read or written (:class:`~snapsim.errors.EstimateError`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Sequence, Union

import numpy as np
from pydantic import BeforeValidator, Discriminator, Field, Tag

from ..dtypes import UnknownDtype, from_numpy
from ..errors import EstimateError, TraceError
from ..estimate import DEFAULT_LIMITS, format_bytes
from ..schema import Strict
from .reader import open_trace
from .writer import TraceWriter

__all__ = [
    "ArraySource",
    "EventSource",
    "import_boundaries",
    "import_spec",
    "import_array",
    "import_events",
    "convert",
    "load_events",
    "parse_layout",
    "ImportSpec",
]

_EVENT_COLUMNS = {
    "t": "t", "time": "t", "timestep": "t", "step": "t",
    "b": "b", "batch": "b", "sample": "b",
    "neuron": "neuron", "n": "neuron", "addr": "neuron", "address": "neuron", "id": "neuron",
}
_NPY_MAGIC = b"\x93NUMPY"


def parse_layout(text: str | Sequence[str], label: str = "--layout") -> list[str]:
    """``"T,B,N"`` -> ``["T", "B", "N"]``; needs a unique ``B`` and at least one feature dimension."""
    dims = [d.strip() for d in text.split(",")] if isinstance(text, str) else [str(d) for d in text]
    if any(not d for d in dims) or len(set(dims)) != len(dims) or "B" not in dims:
        raise TraceError(f"{label}: expected unique comma-separated dimension names including B; got {text!r}")
    if len(dims) < 2 + ("T" in dims):
        raise TraceError(f"{label}: needs at least one feature dimension besides T and B; got {text!r}")
    return dims


MAX_SHARDS = 100_000
"""Most shard files an import writes (a trace of more is a mistake in --samples or --shard-samples)."""


def _check_count(label: str, name: str, value: Any) -> int:
    """A size given by the user: an integer from 1 to 2^62 (a shape, a shard size), else one line."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= 2**62:
        raise TraceError(f"{label}: {name} must be an integer from 1 to 2^62; got {value!r}")
    return int(value)


def _check_memory(label: str, need: float, what: str, max_memory_gib: float) -> None:
    """Refuse an import whose estimated memory passes ``max_memory_gib`` (one line naming the option)."""
    if need > max_memory_gib * (1 << 30):
        raise EstimateError(f"{label}: refused by its estimate: the import needs ~{format_bytes(need)} of memory "
                            f"({what}); over the memory limit of {max_memory_gib:g} GiB (raise it with "
                            f"--max-memory-gib {max(1, int(-(-need // (1 << 30))))}, or lower --shard-samples)")


def _load_npy(path: Path) -> np.ndarray:
    if not path.is_file():
        raise TraceError(f"{path}: no such file")
    with open(path, "rb") as f:
        head = f.read(len(_NPY_MAGIC))
    if head != _NPY_MAGIC:
        raise TraceError(f"{path}: not a .npy file (it does not start with the NumPy magic bytes; a text or CSV "
                         "file? read it and save it with numpy.save)")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise TraceError(f"{path}: object array would need pickle (refused); save a numeric array") from None
        raise TraceError(f"{path}: not a readable .npy file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise TraceError(f"{path}: not a readable .npy file ({exc})") from None


# ------------------------------------------------------------------------------------------- sources


@dataclass
class ArraySource:
    """One boundary from an array (or ``.npy`` file) whose axes are named by ``layout``.

    ``kind`` defaults to ``spike`` when the layout has T, else ``activation``; an activation's logical
    dtype defaults to the array's (``logical_dtype`` names another, e.g. ``BF16`` for uint16 bit patterns).
    """

    name: str
    src: str
    dst: Sequence[str]
    data: np.ndarray | str | Path
    layout: str | Sequence[str]
    kind: str | None = None
    logical_dtype: str | None = None
    precision_bits: int | None = None
    label: str = ""
    _arr: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.label = self.label or (str(self.data) if isinstance(self.data, (str, Path)) else f"array {self.name!r}")
        self._loaded: np.ndarray | None = None

    def _array(self) -> np.ndarray:
        """The data, loaded (memory-mapped) once."""
        if self._loaded is None:
            self._loaded = _load_npy(Path(self.data)) if isinstance(self.data, (str, Path)) else np.asarray(self.data)
        return self._loaded

    def prepare(self) -> dict[str, Any]:
        """Load (memory-map) the data and return the ``TraceWriter.add_boundary`` arguments."""
        arr = self._array()
        dims = parse_layout(self.layout)
        if arr.ndim != len(dims):
            raise TraceError(f"{self.label}: array has {arr.ndim} dimensions {list(arr.shape)} but the layout "
                             f"names {len(dims)} ({','.join(dims)})")
        kind = self.kind or ("spike" if "T" in dims else "activation")
        if kind == "spike" and "T" not in dims:
            raise TraceError(f"{self.label}: spike data needs a T dimension in the layout; got {dims}")
        lead = (["T"] if "T" in dims else []) + ["B"]
        feat_dims = [d for d in dims if d not in ("T", "B")]
        self._order = [dims.index(d) for d in lead + feat_dims]
        self._b_axis = dims.index("B")
        logical = self.logical_dtype
        if kind == "activation" and logical is None:
            try:
                logical = from_numpy(arr.dtype).name
            except UnknownDtype:
                raise TraceError(f"{self.label}: unknown dtype {arr.dtype} for an activation (give the dtype)"
                                 ) from None
        self._arr = arr
        return dict(src=self.src, dst=list(self.dst), kind=kind, layout=lead + feat_dims,
                    features=[arr.shape[dims.index(d)] for d in feat_dims], logical_dtype=logical,
                    precision_bits=self.precision_bits,
                    timesteps=arr.shape[dims.index("T")] if "T" in dims else 1)

    @property
    def samples(self) -> int:
        return int(self._arr.shape[self._b_axis])

    def memory_bytes(self, shard_samples: int) -> tuple[float, str]:
        """Estimated memory of importing it (one shard's samples, copied to time-major and packed), from the
        array's header alone, and what that memory is."""
        arr = self._array()
        dims = parse_layout(self.layout)
        if arr.ndim != len(dims):
            return 0.0, ""  # prepare() says what is wrong
        n = int(arr.shape[dims.index("B")])
        per_sample = arr.dtype.itemsize * int(np.prod(arr.shape, dtype=object)) // max(1, n)
        rows = min(n, shard_samples)
        return 3.0 * per_sample * rows, (f"{rows:,} samples of {per_sample:,} bytes per shard, copied to "
                                                "time-major and packed")

    def chunk(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)``, time-major."""
        index = [slice(None)] * self._arr.ndim
        index[self._b_axis] = slice(start, stop)
        return np.ascontiguousarray(np.transpose(self._arr[tuple(index)], self._order))


@dataclass
class EventSource:
    """One spike boundary from events (t, b, neuron): an int array [E, 3] or a ``.csv``/``.npy`` file.
    Every event must be in range and unique."""

    name: str
    src: str
    dst: Sequence[str]
    events: np.ndarray | str | Path
    neurons: int
    timesteps: int
    samples: int
    label: str = ""

    def __post_init__(self) -> None:
        self.label = self.label or (str(self.events) if isinstance(self.events, (str, Path)) else "events")

    def prepare(self) -> dict[str, Any]:
        if isinstance(self.events, (str, Path)):
            table, first_line = load_events(self.events)
        else:
            table, first_line = np.asarray(self.events, dtype=np.int64).reshape(-1, 3), None

        def where(r: int) -> str:
            return f"{self.label}:{first_line + r}" if first_line is not None else f"{self.label}: event {r}"

        self._check_sizes()
        T, N = self.timesteps, self.neurons
        for col, (name, limit, opt) in enumerate(
            (("t", T, "timesteps"), ("b", self.samples, "samples"), ("neuron", N, "neurons"))
        ):
            bad = np.flatnonzero((table[:, col] < 0) | (table[:, col] >= limit))
            if bad.size:
                r = int(bad[0])
                raise TraceError(
                    f"{where(r)}: {name}={int(table[r, col])} outside [0, {limit}) set by {opt} ({bad.size} such events)"
                )
        linear = (table[:, 1] * T + table[:, 0]) * N + table[:, 2]
        order = np.argsort(linear, kind="stable")
        sorted_lin = linear[order]
        dup = np.flatnonzero(sorted_lin[1:] == sorted_lin[:-1])
        if dup.size:
            r = int(order[dup[0] + 1])
            t, b, n = (int(v) for v in table[r])
            raise TraceError(f"{where(r)}: duplicate spike (t={t}, b={b}, neuron={n})")
        self._rows = table[order]
        self._b_sorted = self._rows[:, 1]
        return dict(src=self.src, dst=list(self.dst), kind="spike", features=[N], timesteps=T)

    def _check_sizes(self) -> None:
        for name in ("neurons", "timesteps", "samples"):
            _check_count(self.label, name, getattr(self, name))

    def memory_bytes(self, shard_samples: int) -> tuple[float, str]:
        """Estimated memory of importing it (a shard as dense spikes, and the event table), before the table
        is read, and what that memory is."""
        self._check_sizes()
        rows = min(int(self.samples), shard_samples)
        dense = int(self.timesteps) * rows * int(self.neurons)
        path = Path(self.events) if isinstance(self.events, (str, Path)) else None
        table = (path.stat().st_size * 12 if path is not None and path.is_file()
                 else 0 if path is not None else np.asarray(self.events).size * 8 * 4)
        return 2.0 * dense + table, (f"a shard of {self.timesteps:,} timesteps x {rows:,} samples x "
                                            f"{self.neurons:,} neurons as dense spikes, and the event table")

    def chunk(self, start: int, stop: int) -> np.ndarray:
        lo, hi = np.searchsorted(self._b_sorted, [start, stop])
        rows = self._rows[lo:hi]
        dense = np.zeros((self.timesteps, stop - start, self.neurons), dtype=bool)
        dense[rows[:, 0], rows[:, 1] - start, rows[:, 2]] = True
        return dense


Source = Union[ArraySource, EventSource]


def import_boundaries(
    out: str | Path,
    sources: Sequence[Source],
    *,
    partitions: Sequence[str] | None = None,
    model: str = "imported",
    framework: str = "",
    container: str = "safetensors",
    shard_samples: int = 4096,
    metrics: dict | None = None,
    overwrite: bool = False,
    max_memory_gib: float = DEFAULT_LIMITS.memory_gib,
) -> Path:
    """Write a trace holding every boundary of ``sources`` (all with the same number of samples).

    ``partitions`` (their order in the manifest) defaults to the partitions the boundaries name, in the
    order they first appear. The trace's ``time.timesteps`` is the spike boundaries' T (they must agree).
    Nothing is written (not even the directory) when a source is invalid, or when the import's memory
    estimate passes ``max_memory_gib`` or it would write more than :data:`MAX_SHARDS` shard files
    (:class:`~snapsim.errors.EstimateError`).
    """
    if not sources:
        raise TraceError(f"{out}: no boundaries to import")
    names = [s.name for s in sources]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise TraceError(f"{out}: boundary names must be unique; repeated: {', '.join(dup)}")
    shard_samples = _check_count(str(out), "shard_samples", shard_samples)
    label = sources[0].label if len(sources) == 1 else str(out)  # what the refusals below name
    needs = [s.memory_bytes(shard_samples) for s in sources]  # from headers and sizes: nothing read yet
    _check_memory(label, sum(n for n, _ in needs), "; ".join(w for _, w in needs if w), max_memory_gib)
    specs = [s.prepare() for s in sources]
    counts = {s.name: s.samples for s in sources}
    if len(set(counts.values())) != 1:
        listing = ", ".join(f"{k!r}: {v}" for k, v in counts.items())
        raise TraceError(f"{out}: every boundary needs the same number of samples (B); got {listing}")
    n_samples = next(iter(counts.values()))
    if n_samples == 0:
        raise TraceError(f"{sources[0].label}: no samples (the B axis has length 0); nothing to import")
    shards = -(-n_samples // shard_samples)
    if shards > MAX_SHARDS:
        raise EstimateError(f"{label}: refused by its estimate: {n_samples:,} "
                            f"samples in shards of {shard_samples:,} make {shards:,} shard files (at most "
                            f"{MAX_SHARDS:,}; raise --shard-samples)")
    spike_t = sorted({sp["timesteps"] for sp in specs if sp["kind"] == "spike"})
    if len(spike_t) > 1:
        listing = ", ".join(f"{s.name!r}: T={sp['timesteps']}" for s, sp in zip(sources, specs) if sp["kind"] == "spike")
        raise TraceError(f"{out}: spike boundaries must share one T; got {listing}")
    timesteps = spike_t[0] if spike_t else max(sp["timesteps"] for sp in specs)
    if partitions is None:
        partitions = list(dict.fromkeys(p for sp in specs for p in (sp["src"], *sp["dst"])))
    with TraceWriter(
        out, model=model, framework=framework, partitions=list(partitions), timesteps=timesteps,
        container=container, shard_samples=shard_samples, metrics=metrics, overwrite=overwrite,
    ) as w:
        for s, sp in zip(sources, specs):
            w.add_boundary(s.name, **sp)
        for start in range(0, n_samples, shard_samples):
            stop = min(n_samples, start + shard_samples)
            for s in sources:
                try:
                    w.append(s.name, s.chunk(start, stop))
                except TraceError as exc:
                    raise TraceError(f"{s.label}: {exc}") from None
    return Path(out)


def import_array(
    out: str | Path,
    data: np.ndarray | str | Path,
    *,
    boundary: str,
    src: str,
    dst: Sequence[str],
    layout: str | Sequence[str],
    kind: str | None = None,
    logical_dtype: str | None = None,
    precision_bits: int | None = None,
    **options: Any,
) -> Path:
    """Write a one-boundary trace from an array whose axes are named by ``layout`` (see :class:`ArraySource`);
    ``options`` (``model``, ``framework``, ``container``, ``shard_samples``, ``metrics``, ``overwrite``) as
    for :func:`import_boundaries`."""
    source = ArraySource(boundary, src, list(dst), data, layout, kind, logical_dtype, precision_bits)
    return import_boundaries(out, [source], **options)


def load_events(path: str | Path) -> tuple[np.ndarray, int | None]:
    """Event table as int64 ``[E, 3]`` with columns (t, b, neuron), from ``.csv`` or ``.npy``, and the
    file line of the first event (CSV) or None (npy)."""
    path = Path(path)
    if path.suffix == ".npy":
        arr = np.asarray(_load_npy(path))
        if arr.ndim != 2 or arr.shape[1] != 3 or arr.dtype.kind not in "iu":
            raise TraceError(f"{path}: events must be an integer array of shape [E, 3] (t, b, neuron); "
                             f"got {arr.dtype} {list(arr.shape)}")
        return arr.astype(np.int64), None
    if not path.is_file():
        raise TraceError(f"{path}: no such file")
    with open(path, encoding="utf-8", errors="replace") as f:
        first = f.readline()
    cols = [c.strip().lower() for c in first.split(",")]
    has_header = any(c and not c.lstrip("-").isdigit() for c in cols)
    if has_header:
        names = [_EVENT_COLUMNS.get(c) for c in cols]
        if sorted(n for n in names if n) != ["b", "neuron", "t"] or len(cols) != 3:
            raise TraceError(f"{path}: header must name the columns t, b, neuron; got {first.strip()!r}")
        order = [names.index("t"), names.index("b"), names.index("neuron")]
    else:
        order = [0, 1, 2]
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2, skiprows=1 if has_header else 0)
    except ValueError as exc:
        raise TraceError(f"{path}: cannot parse integer events t,b,neuron ({exc})") from None
    first_line = 2 if has_header else 1
    if table.size == 0:
        return np.zeros((0, 3), dtype=np.int64), first_line
    if table.shape[1] != 3:
        raise TraceError(f"{path}: expected 3 columns (t, b, neuron); got {table.shape[1]}")
    return table[:, order], first_line


def import_events(
    out: str | Path,
    events: np.ndarray | str | Path,
    *,
    boundary: str,
    src: str,
    dst: Sequence[str],
    neurons: int,
    timesteps: int,
    samples: int,
    **options: Any,
) -> Path:
    """Write a one-boundary spike trace from events (t, b, neuron) (see :class:`EventSource`); ``options`` as
    for :func:`import_boundaries`."""
    source = EventSource(boundary, src, list(dst), events, neurons, timesteps, samples)
    return import_boundaries(out, [source], **options)


# ------------------------------------------------------------------------------------- the spec file


def _names(value: Any) -> Any:
    """``"a,b"`` or ``"a"`` -> a list of names (a list is kept)."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",")]
    return value


Names = Annotated[list[Annotated[str, Field(min_length=1)]], BeforeValidator(_names), Field(min_length=1)]
Positive = Annotated[int, Field(ge=1)]


class ArrayEntry(Strict):
    """A boundary read from an ``.npy`` array."""

    name: str = Field(min_length=1)
    src: str = Field(min_length=1)
    dst: Names
    npy: str = Field(min_length=1, description="path of the .npy file, relative to the spec file")
    layout: Names = Field(description="axis names of the array, e.g. B,T,N or [T, B, C, H, W]")
    kind: Literal["spike", "activation"] | None = None
    dtype: str | None = Field(None, description="logical dtype of an activation (e.g. BF16 for uint16 bits)")
    precision_bits: Annotated[int, Field(ge=1, le=64)] | None = None


class EventEntry(Strict):
    """A spike boundary read from an event table (t, b, neuron)."""

    name: str = Field(min_length=1)
    src: str = Field(min_length=1)
    dst: Names
    events: str = Field(min_length=1, description="path of the .csv or .npy table, relative to the spec file")
    neurons: Positive
    timesteps: Positive
    samples: Positive


def _entry_kind(value: Any) -> str | None:
    """An entry with ``events`` is an event table, any other mapping an array."""
    if isinstance(value, dict):
        return "event table" if "events" in value else "array"
    if isinstance(value, (ArrayEntry, EventEntry)):
        return "event table" if isinstance(value, EventEntry) else "array"
    return None


class ImportSpec(Strict):
    """``snapsim trace import --spec FILE.yaml``: every boundary of a trace built from arrays and events."""

    kind: Literal["trace-import"] = "trace-import"
    model: str = Field("imported", min_length=1)
    framework: str = ""
    container: Literal["safetensors", "npz"] = "safetensors"
    shard_samples: Positive = 4096
    partitions: list[Annotated[str, Field(min_length=1)]] | None = None
    metrics: dict[str, Any] = {}
    boundaries: list[Annotated[Union[Annotated[ArrayEntry, Tag("array")], Annotated[EventEntry, Tag("event table")]],
                               Discriminator(_entry_kind)]] = Field(min_length=1)


def import_spec(spec_file: str | Path, out: str | Path, *, overwrite: bool = False,
                max_memory_gib: float = DEFAULT_LIMITS.memory_gib) -> Path:
    """Write the trace an import spec file describes (paths in it are relative to the file); raises
    :class:`~snapsim.errors.ConfigError` naming file, line and field for a malformed spec."""
    from ..config.problems import validate_model
    from ..config.yamlio import load_yaml

    data, origins = load_yaml(spec_file)
    spec = validate_model(ImportSpec, data, origins, str(spec_file))
    base = Path(spec_file).parent
    sources: list[Source] = []
    for entry in spec.boundaries:
        if isinstance(entry, EventEntry):
            sources.append(EventSource(entry.name, entry.src, entry.dst, base / entry.events, entry.neurons,
                                       entry.timesteps, entry.samples))
        else:
            sources.append(ArraySource(entry.name, entry.src, entry.dst, base / entry.npy, entry.layout, entry.kind,
                                       entry.dtype, entry.precision_bits))
    return import_boundaries(out, sources, partitions=spec.partitions, model=spec.model, framework=spec.framework,
                             container=spec.container, shard_samples=spec.shard_samples,
                             metrics=dict(spec.metrics), overwrite=overwrite, max_memory_gib=max_memory_gib)


def convert(src: str | Path, dst: str | Path, to: str, *, shard_samples: int | None = None,
            overwrite: bool = False) -> Path:
    """Copy trace ``src`` to ``dst`` in container ``to`` (``npz`` or ``safetensors``), bit for bit."""
    tr = open_trace(src)
    if Path(dst).resolve() == tr.path.resolve():
        raise TraceError(f"{dst}: the destination is the source trace")
    m = tr.manifest
    model = m["model"]
    extras: dict[str, Any] = {k: m[k] for k in ("metrics", "sparsity", "metadata", "run") if k in m}
    with TraceWriter(
        dst, model=model["name"], framework=model.get("framework", ""),
        framework_version=model.get("framework_version", ""), partitions=m["partitions"],
        timesteps=tr.timesteps, container=to, shard_samples=shard_samples or tr.shard_samples,
        overwrite=overwrite, **extras,
    ) as w:
        for b in tr.boundaries:
            w.add_boundary(
                b.name, src=b.src, dst=list(b.dst), kind=b.kind, features=list(b.features), layout=list(b.layout),
                logical_dtype=b.logical_dtype, precision_bits=b.precision_bits, timesteps=b.timesteps,
                spike_value=b.spike_value if b.spike_value is not None else 1.0,
            )
        for shard in tr.shards:
            for b in tr.boundaries:
                _, stored = next(tr.iter_shards(b.name, shard.start, shard.stop))
                w.append_stored(b.name, stored)
    return Path(dst)
