"""Build traces from plain arrays and event tables (tools without Python hooks), and convert containers.

- :func:`import_array`: one boundary from an array or ``.npy`` file in any dimension order
  (``layout`` names the axes, e.g. ``B,T,N``); it is transposed to time-major and streamed in
  chunks of ``shard_samples`` (``.npy`` files are memory-mapped).
- :func:`import_events`: spikes from an AER event table with columns ``t, b, neuron``
  (``.csv`` with an optional header naming the columns, or an integer ``.npy`` of shape [E, 3]).
- :func:`convert`: copy a trace to another container bit for bit (data stays packed); every shard's
  checksum is verified as it is read, so a modified shard is refused, never given fresh checksums.

An import whose memory estimate (the dense buffer of one shard, the event table) passes
``max_memory_gib`` is refused before anything is read or written (:class:`~snapsim.errors.EstimateError`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..dtypes import UnknownDtype, from_numpy
from ..errors import EstimateError, TraceError
from ..estimate import DEFAULT_LIMITS, format_bytes
from .reader import open_trace
from .writer import TraceWriter

__all__ = ["import_array", "import_events", "convert", "load_events", "parse_layout"]

_EVENT_COLUMNS = {
    "t": "t", "time": "t", "timestep": "t", "step": "t",
    "b": "b", "batch": "b", "sample": "b",
    "neuron": "neuron", "n": "neuron", "addr": "neuron", "address": "neuron", "id": "neuron",
}


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


def _check_memory(label: str, need: float, what: str, max_memory_gib: float) -> None:
    """Refuse an import whose estimated memory passes ``max_memory_gib`` (one line naming the option)."""
    if need > max_memory_gib * (1 << 30):
        raise EstimateError(f"{label}: refused by its estimate: the import needs ~{format_bytes(need)} of memory "
                            f"({what}); over the memory limit of {max_memory_gib:g} GiB (raise it with "
                            f"--max-memory-gib {max(1, int(-(-need // (1 << 30))))}, or lower --shard-samples)")


def _load_npy(path: Path) -> np.ndarray:
    if not path.is_file():
        raise TraceError(f"{path}: no such file")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise TraceError(f"{path}: object array would need pickle (refused); save a numeric array") from None
        raise TraceError(f"{path}: not a readable .npy file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise TraceError(f"{path}: not a readable .npy file ({exc})") from None


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
    model: str = "imported",
    framework: str = "",
    container: str = "safetensors",
    shard_samples: int = 4096,
    metrics: dict | None = None,
    overwrite: bool = False,
    max_memory_gib: float = DEFAULT_LIMITS.memory_gib,
) -> Path:
    """Write a one-boundary trace from an array whose axes are named by ``layout``.

    ``kind`` defaults to ``spike`` when the layout has T, else ``activation``.
    """
    label = str(data) if isinstance(data, (str, Path)) else "array"
    arr = _load_npy(Path(data)) if isinstance(data, (str, Path)) else np.asarray(data)
    dims = parse_layout(layout)
    if arr.ndim != len(dims):
        raise TraceError(f"{label}: array has {arr.ndim} dimensions {list(arr.shape)} but --layout names {len(dims)}")
    kind = kind or ("spike" if "T" in dims else "activation")
    if kind == "spike" and "T" not in dims:
        raise TraceError(f"{label}: spike data needs a T dimension in --layout; got {dims}")
    lead = (["T"] if "T" in dims else []) + ["B"]
    feat_dims = [d for d in dims if d not in ("T", "B")]
    order = [dims.index(d) for d in lead + feat_dims]
    features = [arr.shape[dims.index(d)] for d in feat_dims]
    if kind == "activation" and logical_dtype is None:
        try:
            logical_dtype = from_numpy(arr.dtype).name
        except UnknownDtype:
            raise TraceError(f"{label}: unknown dtype {arr.dtype} for an activation (give --dtype)") from None
    timesteps = arr.shape[dims.index("T")] if "T" in dims else 1
    dst = list(dst)
    partitions = list(dict.fromkeys([src, *dst]))
    b_axis = dims.index("B")
    n_samples = arr.shape[b_axis]
    if -(-n_samples // shard_samples) > MAX_SHARDS:
        raise EstimateError(f"{label}: refused by its estimate: {n_samples:,} samples in shards of {shard_samples:,} "
                            f"make more than {MAX_SHARDS:,} shard files (raise --shard-samples)")
    per_sample = arr.dtype.itemsize * int(np.prod(arr.shape, dtype=object)) // max(1, n_samples)
    _check_memory(label, 3.0 * per_sample * min(n_samples, shard_samples),
                  f"{min(n_samples, shard_samples):,} samples of {per_sample:,} bytes per shard, copied to time-major "
                  "and packed", max_memory_gib)
    with TraceWriter(
        out, model=model, framework=framework, partitions=partitions, timesteps=timesteps,
        container=container, shard_samples=shard_samples, metrics=metrics, overwrite=overwrite,
    ) as w:
        w.add_boundary(
            boundary, src=src, dst=dst, kind=kind, layout=lead + feat_dims, features=features,
            logical_dtype=logical_dtype, precision_bits=precision_bits,
        )
        for s in range(0, n_samples, shard_samples):
            index = [slice(None)] * arr.ndim
            index[b_axis] = slice(s, min(n_samples, s + shard_samples))
            chunk = np.ascontiguousarray(np.transpose(arr[tuple(index)], order))
            try:
                w.append(boundary, chunk)
            except TraceError as exc:
                raise TraceError(f"{label}: {exc}") from None
    return Path(out)


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
    model: str = "imported",
    framework: str = "",
    container: str = "safetensors",
    shard_samples: int = 4096,
    metrics: dict | None = None,
    overwrite: bool = False,
    max_memory_gib: float = DEFAULT_LIMITS.memory_gib,
) -> Path:
    """Write a one-boundary spike trace from events (t, b, neuron); every event must be in range and unique."""
    label = str(events) if isinstance(events, (str, Path)) else "events"
    for name, value in (("neurons", neurons), ("timesteps", timesteps), ("samples", samples),
                        ("shard_samples", shard_samples)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= 2**62:
            raise TraceError(f"{label}: {name} must be an integer from 1 to 2^62; got {value!r}")
    shards = -(-int(samples) // int(shard_samples))
    if shards > MAX_SHARDS:
        raise EstimateError(f"{label}: refused by its estimate: {samples:,} samples in shards of {shard_samples:,} make "
                            f"{shards:,} shard files (at most {MAX_SHARDS:,}; raise --shard-samples)")
    dense = int(timesteps) * min(int(samples), int(shard_samples)) * int(neurons)
    table_bytes = (Path(events).stat().st_size * 12 if isinstance(events, (str, Path)) and Path(events).is_file()
                   else np.asarray(events).size * 8 * 4)
    _check_memory(label, 2.0 * dense + table_bytes,
                  f"a shard of {timesteps:,} timesteps x {min(samples, shard_samples):,} samples x {neurons:,} neurons "
                  "as dense spikes, and the event table", max_memory_gib)
    if isinstance(events, (str, Path)):
        table, first_line = load_events(events)
    else:
        table, first_line = np.asarray(events, dtype=np.int64).reshape(-1, 3), None

    def where(r: int) -> str:
        return f"{label}:{first_line + r}" if first_line is not None else f"{label}: event {r}"

    for col, (name, limit, opt) in enumerate(
        (("t", timesteps, "timesteps"), ("b", samples, "samples"), ("neuron", neurons, "neurons"))
    ):
        bad = np.flatnonzero((table[:, col] < 0) | (table[:, col] >= limit))
        if bad.size:
            r = int(bad[0])
            raise TraceError(
                f"{where(r)}: {name}={int(table[r, col])} outside [0, {limit}) set by {opt} "
                f"({bad.size} such events)"
            )
    linear = (table[:, 1] * timesteps + table[:, 0]) * neurons + table[:, 2]
    order = np.argsort(linear, kind="stable")
    sorted_lin = linear[order]
    dup = np.flatnonzero(sorted_lin[1:] == sorted_lin[:-1])
    if dup.size:
        r = int(order[dup[0] + 1])
        t, b, n = (int(v) for v in table[r])
        raise TraceError(f"{where(r)}: duplicate spike (t={t}, b={b}, neuron={n})")
    b_sorted = table[order, 1]
    with TraceWriter(
        out, model=model, framework=framework, partitions=list(dict.fromkeys([src, *dst])),
        timesteps=timesteps, container=container, shard_samples=shard_samples, metrics=metrics,
        overwrite=overwrite,
    ) as w:
        w.add_boundary(boundary, src=src, dst=list(dst), kind="spike", features=[neurons])
        for s in range(0, samples, shard_samples):
            e = min(samples, s + shard_samples)
            lo, hi = np.searchsorted(b_sorted, [s, e])
            rows = table[order[lo:hi]]
            dense = np.zeros((timesteps, e - s, neurons), dtype=bool)
            dense[rows[:, 0], rows[:, 1] - s, rows[:, 2]] = True
            w.append(boundary, dense)
    return Path(out)


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
