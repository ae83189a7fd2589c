"""The trace manifest (``manifest.json``, schema ``snapsim.trace`` version 1.0): parsing and checking.

A trace is a directory holding ``manifest.json`` and tensor shards split along the sample axis B.
The manifest is the source of truth; it is written last (its statistics are accumulated while the
shards stream out), and each shard also carries a small header naming its trace, index and sample
range, so a stray shard can be identified. Example::

    {"schema": "snapsim.trace", "version": "1.0",
     "model": {"name": "digits-mlp", "framework": "snntorch", "framework_version": "1.0.0"},
     "writer": "snapsim 0.1.0",
     "partitions": [{"id": "die0"}, {"id": "die1"}],
     "time": {"timesteps": 8},
     "container": "safetensors",
     "samples": 1797, "shard_samples": 1024,
     "shards": [{"file": "tensors-00000.safetensors", "samples": [0, 1024], "bytes": 131480,
                 "sha256": "..."}, ...],
     "boundaries": [
       {"name": "fc1->fc2", "kind": "spike", "src": "die0", "dst": ["die1"],
        "tensor": "fc1->fc2/spikes", "layout": ["T", "B", "N"], "features": [128], "timesteps": 8,
        "logical_dtype": "BOOL", "storage_dtype": "U8", "precision_bits": 1,
        "packing": {"axis": "features", "bitorder": "little"}, "spike_value": 1.0,
        "stats": {"nnz": 183912, "slots": 1840128, "firing_rate": 0.09995,
                  "nnz_per_timestep": [...]}},
       {"name": "fc2->head", "kind": "activation", "src": "die1", "dst": ["die0"],
        "tensor": "fc2->head/values", "layout": ["B", "N"], "features": [64], "timesteps": 1,
        "logical_dtype": "BF16", "storage_dtype": "U16", "precision_bits": 16,
        "stats": {"nnz": 50000, "slots": 115008, "zero_fraction": 0.565, "min": -3.1, "max": 7.2}}],
     "metrics": {"accuracy": 0.93}, "sparsity": {"penalty_weight": 1e-3}, "metadata": {}}

Conventions: spikes are stored time-major ``[T, B, ceil(F/8)]`` uint8, bit-packed over the flattened
features with ``bitorder="little"`` (bit i of byte j is feature 8j+i; padding bits are zero).
Activations are stored ``[B, *features]`` (or ``[T, B, *features]`` when the layout has T) in their
storage dtype; BF16 and FP8 are stored as uint16/uint8 bit patterns.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import TraceError

__all__ = [
    "SCHEMA",
    "VERSION",
    "MANIFEST_NAME",
    "LOGICAL_DTYPES",
    "STORAGE_NUMPY",
    "BoundaryInfo",
    "ShardInfo",
    "parse_manifest",
    "shard_file_name",
]

SCHEMA = "snapsim.trace"
VERSION = "1.0"
MANIFEST_NAME = "manifest.json"
KINDS = ("spike", "activation")
CONTAINERS = {"safetensors": ".safetensors", "npz": ".npz"}

# logical dtype -> (storage dtype, bits per element)
LOGICAL_DTYPES: dict[str, tuple[str, int]] = {
    "BOOL": ("U8", 1),
    "U8": ("U8", 8),
    "I8": ("I8", 8),
    "U16": ("U16", 16),
    "I16": ("I16", 16),
    "I32": ("I32", 32),
    "F16": ("F16", 16),
    "BF16": ("U16", 16),
    "F32": ("F32", 32),
    "F64": ("F64", 64),
    "F8_E4M3": ("U8", 8),
    "F8_E5M2": ("U8", 8),
}
FLOAT_LOGICAL = ("F16", "BF16", "F32", "F64", "F8_E4M3", "F8_E5M2")
STORAGE_NUMPY: dict[str, np.dtype] = {
    "U8": np.dtype(np.uint8),
    "I8": np.dtype(np.int8),
    "U16": np.dtype(np.uint16),
    "I16": np.dtype(np.int16),
    "I32": np.dtype(np.int32),
    "F16": np.dtype(np.float16),
    "F32": np.dtype(np.float32),
    "F64": np.dtype(np.float64),
}


def shard_file_name(index: int, container: str) -> str:
    return f"tensors-{index:05d}{CONTAINERS[container]}"


@dataclass(frozen=True)
class ShardInfo:
    """One shard file holding samples ``[start, stop)`` of every boundary."""

    file: str
    start: int
    stop: int
    bytes: int
    sha256: str | None = None

    @property
    def samples(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class BoundaryInfo:
    """One directed partition cut and the tensor that crosses it."""

    name: str
    index: int
    kind: str  # "spike" or "activation"
    src: str
    dst: tuple[str, ...]
    tensor: str
    layout: tuple[str, ...]
    features: tuple[int, ...]
    timesteps: int
    logical_dtype: str
    storage_dtype: str
    precision_bits: int
    bitorder: str | None = None
    spike_value: float | None = None
    stats: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def n_features(self) -> int:
        """Elements per frame (product of the feature dimensions)."""
        return math.prod(self.features)

    @property
    def packed_bytes(self) -> int:
        return -(-self.n_features // 8)

    @property
    def has_time(self) -> bool:
        return self.layout[0] == "T"

    def stored_shape(self, samples: int) -> tuple[int, ...]:
        """Shape of this boundary's tensor in a shard holding ``samples`` samples."""
        if self.kind == "spike":
            return (self.timesteps, samples, self.packed_bytes)
        return ((self.timesteps,) if self.has_time else ()) + (samples,) + self.features

    def logical_shape(self, samples: int) -> tuple[int, ...]:
        return ((self.timesteps,) if self.has_time else ()) + (samples,) + self.features

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "src": self.src,
            "dst": list(self.dst),
            "tensor": self.tensor,
            "layout": list(self.layout),
            "features": list(self.features),
            "timesteps": self.timesteps,
            "logical_dtype": self.logical_dtype,
            "storage_dtype": self.storage_dtype,
            "precision_bits": self.precision_bits,
        }
        if self.kind == "spike":
            out["packing"] = {"axis": "features", "bitorder": self.bitorder}
            out["spike_value"] = self.spike_value
        out["stats"] = self.stats
        return out


_NAME_RE = re.compile(r"^[^\x00-\x1f]{1,200}$")


class _Where:
    """Formats error locations: ``FILE: boundary 'x': field: message``."""

    def __init__(self, file: str):
        self.file = file

    def error(self, message: str, boundary: str | None = None, path: str | None = None) -> TraceError:
        parts = [self.file]
        if boundary is not None:
            parts.append(f"boundary {boundary!r}")
        if path:
            parts.append(path)
        return TraceError(": ".join(parts) + ": " + message)


def _get(obj: dict, key: str, typ, where: _Where, ctx: str, boundary: str | None = None, optional=False):
    if not isinstance(obj, dict):
        raise where.error(f"must be an object; got {type(obj).__name__}", boundary, ctx)
    if key not in obj:
        if optional:
            return None
        raise where.error("required field is missing", boundary, f"{ctx}.{key}" if ctx else key)
    value = obj[key]
    ok = isinstance(value, typ) and not (isinstance(value, bool) and typ in (int, (int, float)))
    if not ok:
        name = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        raise where.error(f"must be {name}; got {value!r}", boundary, f"{ctx}.{key}" if ctx else key)
    return value


def check_version(data: Any, where: _Where) -> None:
    if not isinstance(data, dict):
        raise where.error("the manifest must be a JSON object")
    if data.get("schema") != SCHEMA:
        raise where.error(f"schema: expected {SCHEMA!r}; got {data.get('schema')!r}")
    version = data.get("version")
    if not isinstance(version, str) or not re.fullmatch(r"1\.\d+", version):
        raise where.error(
            f"version: unknown schema version {version!r} (this snapsim reads {SCHEMA} 1.x; "
            "upgrade snapsim or re-export the trace)"
        )


def parse_boundary(entry: Any, index: int, timesteps: int, partitions: set[str], where: _Where) -> BoundaryInfo:
    ctx = f"boundaries[{index}]"
    name = _get(entry, "name", str, where, ctx)
    if not _NAME_RE.match(name):
        raise where.error("name must be 1-200 printable characters", name, "name")
    kind = _get(entry, "kind", str, where, "", name)
    if kind not in KINDS:
        raise where.error(f"kind must be one of {', '.join(KINDS)}; got {kind!r}", name, "kind")
    src = _get(entry, "src", str, where, "", name)
    dst = _get(entry, "dst", list, where, "", name)
    for p in [src, *dst]:
        if p not in partitions:
            raise where.error(f"unknown partition {p!r} (partitions: {', '.join(sorted(partitions))})", name, "src/dst")
    if not dst or len(set(dst)) != len(dst) or src in dst:
        raise where.error("dst must be a non-empty list of distinct partitions other than src", name, "dst")
    layout = _get(entry, "layout", list, where, "", name)
    features = _get(entry, "features", list, where, "", name)
    if not all(isinstance(f, int) and not isinstance(f, bool) and f >= 1 for f in features) or not features:
        raise where.error(f"must be a non-empty list of positive integers; got {features!r}", name, "features")
    check_layout(layout, kind, len(features), where, name)
    bt = _get(entry, "timesteps", int, where, "", name)
    has_time = layout[0] == "T"
    if bt < 1 or (not has_time and bt != 1):
        raise where.error(f"must be >= 1 (and 1 when the layout has no T); got {bt}", name, "timesteps")
    if kind == "spike" and bt != timesteps:
        raise where.error(f"spike boundary has {bt} timesteps but time.timesteps is {timesteps}", name, "timesteps")
    logical = _get(entry, "logical_dtype", str, where, "", name)
    storage = _get(entry, "storage_dtype", str, where, "", name)
    if logical not in LOGICAL_DTYPES:
        raise where.error(f"unknown dtype {logical!r} (known: {', '.join(LOGICAL_DTYPES)})", name, "logical_dtype")
    if kind == "spike" and logical != "BOOL":
        raise where.error(f"spike boundaries are BOOL; got {logical!r}", name, "logical_dtype")
    if kind == "activation" and logical == "BOOL":
        raise where.error("activation boundaries cannot be BOOL (use kind 'spike')", name, "logical_dtype")
    if storage != LOGICAL_DTYPES[logical][0]:
        raise where.error(
            f"unknown dtype: storage {storage!r} for logical {logical} (expected {LOGICAL_DTYPES[logical][0]!r})",
            name,
            "storage_dtype",
        )
    precision = _get(entry, "precision_bits", int, where, "", name)
    if not 1 <= precision <= 64:
        raise where.error(f"must be in [1, 64]; got {precision}", name, "precision_bits")
    tensor = _get(entry, "tensor", str, where, "", name)
    bitorder = spike_value = None
    if kind == "spike":
        packing = _get(entry, "packing", dict, where, "", name)
        bitorder = _get(packing, "bitorder", str, where, "packing", name)
        if bitorder != "little" or packing.get("axis") != "features":
            raise where.error(
                f"unsupported packing {packing!r} (expected axis 'features', bitorder 'little')", name, "packing"
            )
        spike_value = float(_get(entry, "spike_value", (int, float), where, "", name))
    stats = entry.get("stats", {})
    if not isinstance(stats, dict):
        raise where.error("must be an object", name, "stats")
    return BoundaryInfo(
        name=name,
        index=index,
        kind=kind,
        src=src,
        dst=tuple(dst),
        tensor=tensor,
        layout=tuple(layout),
        features=tuple(features),
        timesteps=bt,
        logical_dtype=logical,
        storage_dtype=storage,
        precision_bits=precision,
        bitorder=bitorder,
        spike_value=spike_value,
        stats=stats,
    )


def check_layout(layout: Any, kind: str, n_features: int, where: _Where, name: str) -> None:
    """Layouts are dimension names, time-major: ``[T, B, *features]`` or ``[B, *features]``."""
    if not isinstance(layout, (list, tuple)) or not all(isinstance(d, str) and d for d in layout):
        raise where.error(f"must be a list of dimension names; got {layout!r}", name, "layout")
    if len(set(layout)) != len(layout):
        raise where.error(f"dimension names must be unique; got {list(layout)}", name, "layout")
    lead = ["T", "B"] if (kind == "spike" or (layout and layout[0] == "T")) else ["B"]
    if list(layout[: len(lead)]) != lead or any(d in ("T", "B") for d in layout[len(lead) :]):
        want = "[T, B, ...]" if kind == "spike" else "[B, ...] or [T, B, ...]"
        raise where.error(
            f"must be time-major {want}; got {list(layout)} (transpose batch-first data before writing)",
            name,
            "layout",
        )
    if len(layout) - len(lead) != n_features:
        raise where.error(
            f"{len(layout) - len(lead)} feature dimensions in the layout but {n_features} in features", name, "layout"
        )


@dataclass(frozen=True)
class ParsedManifest:
    data: dict[str, Any]
    container: str
    timesteps: int
    n_samples: int
    shard_samples: int
    partitions: tuple[str, ...]
    boundaries: tuple[BoundaryInfo, ...]
    shards: tuple[ShardInfo, ...]


def parse_manifest(data: Any, file: str) -> ParsedManifest:
    """Check a manifest dict; raises :class:`TraceError` naming ``file``, the boundary and the field."""
    where = _Where(file)
    check_version(data, where)
    model = _get(data, "model", dict, where, "")
    _get(model, "name", str, where, "model")
    container = _get(data, "container", str, where, "")
    if container not in CONTAINERS:
        raise where.error(f"container: must be one of {', '.join(CONTAINERS)}; got {container!r}")
    parts = _get(data, "partitions", list, where, "")
    partitions = []
    for i, p in enumerate(parts):
        partitions.append(_get(p, "id", str, where, f"partitions[{i}]"))
    if len(set(partitions)) != len(partitions) or len(partitions) < 1:
        raise where.error(f"partitions: ids must be unique and non-empty; got {partitions}")
    timesteps = _get(_get(data, "time", dict, where, ""), "timesteps", int, where, "time")
    if timesteps < 1:
        raise where.error(f"time.timesteps: must be >= 1; got {timesteps}")
    n_samples = _get(data, "samples", int, where, "")
    shard_samples = _get(data, "shard_samples", int, where, "")
    if n_samples < 0 or shard_samples < 1:
        raise where.error("samples must be >= 0 and shard_samples >= 1")
    shards = []
    pos = 0
    for i, s in enumerate(_get(data, "shards", list, where, "")):
        ctx = f"shards[{i}]"
        fname = _get(s, "file", str, where, ctx)
        if "/" in fname or "\\" in fname or fname.startswith(".") or not fname.endswith(CONTAINERS[container]):
            raise where.error(f"{ctx}.file: must be a plain {CONTAINERS[container]} file name; got {fname!r}")
        rng = _get(s, "samples", list, where, ctx)
        if len(rng) != 2 or rng[0] != pos or not isinstance(rng[1], int) or rng[1] <= rng[0]:
            raise where.error(f"{ctx}.samples: shards must cover samples contiguously from {pos}; got {rng!r}")
        nbytes = _get(s, "bytes", int, where, ctx)
        sha = _get(s, "sha256", str, where, ctx, optional=True)
        shards.append(ShardInfo(fname, rng[0], rng[1], nbytes, sha))
        pos = rng[1]
    if pos != n_samples:
        raise where.error(f"shards: cover {pos} samples but samples is {n_samples}")
    boundaries = []
    pset = set(partitions)
    for i, entry in enumerate(_get(data, "boundaries", list, where, "")):
        boundaries.append(parse_boundary(entry, i, timesteps, pset, where))
    names = [b.name for b in boundaries]
    tensors = [b.tensor for b in boundaries]
    if len(set(names)) != len(names) or len(set(tensors)) != len(tensors):
        raise where.error("boundaries: names and tensor names must be unique")
    for key in ("metrics", "sparsity", "metadata"):
        if key in data and not isinstance(data[key], dict):
            raise where.error(f"{key}: must be an object")
    return ParsedManifest(
        data=data,
        container=container,
        timesteps=timesteps,
        n_samples=n_samples,
        shard_samples=shard_samples,
        partitions=tuple(partitions),
        boundaries=tuple(boundaries),
        shards=tuple(shards),
    )
