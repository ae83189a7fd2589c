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
storage dtype; BF16 and FP8 are stored as uint16/uint8 bit patterns (the dtype table is
:mod:`snapsim.dtypes`).

Checking: the manifest is a pydantic model (:class:`ManifestConfig`; every field typed, strict, no
coercion) checked by the same machinery as the YAML configs, then the rules across fields (partitions
named by boundaries exist, shards cover the samples, layouts, dtypes). Every problem is reported at once
as ``manifest.json:LINE: dotted.path: message`` (:class:`~snapsim.errors.ManifestError`). The file is
parsed with ``json`` (fast, exact JSON numbers; duplicate keys and NaN/Infinity refused); only when there
is something to report is it read again with the strict YAML reader, which knows the line of every key.
A manifest of this version (1.0) has no unknown keys outside ``model``, ``partitions`` entries and the free
``metrics``/``sparsity``/``metadata``/``run`` sections; a newer 1.x may add keys, which are ignored.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pydantic
from pydantic import BaseModel, ConfigDict, Field

from ..config.problems import locate, pydantic_problems
from ..config.yamlio import MAX_BYTES, MAX_JSON_BYTES, load_json_text, load_yaml_text, read_text
from ..dtypes import DTYPES, STORAGE_NAMES, UnknownDtype, logical as logical_dtype
from ..errors import ConfigError, ManifestError, Problem

__all__ = [
    "SCHEMA",
    "VERSION",
    "MANIFEST_NAME",
    "LOGICAL_DTYPES",
    "FLOAT_LOGICAL",
    "STORAGE_NUMPY",
    "ManifestConfig",
    "BoundaryEntry",
    "BoundaryInfo",
    "ShardInfo",
    "ParsedManifest",
    "boundary_info",
    "read_manifest",
    "parse_manifest",
    "shard_file_name",
]

SCHEMA = "snapsim.trace"
VERSION = "1.0"
MANIFEST_NAME = "manifest.json"
KINDS = ("spike", "activation")
CONTAINERS = {"safetensors": ".safetensors", "npz": ".npz"}

# Views of the one dtype table (snapsim.dtypes), by the names trace modules use.
LOGICAL_DTYPES: dict[str, tuple[str, int]] = {n: (d.storage, d.bits) for n, d in DTYPES.items()}
"""logical dtype -> (storage dtype, bits per element)"""
FLOAT_LOGICAL: tuple[str, ...] = tuple(n for n, d in DTYPES.items() if d.is_float)
STORAGE_NUMPY: dict[str, np.dtype] = {n: DTYPES[n].numpy for n in STORAGE_NAMES}


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


# ---------------------------------------------------------------------------------------------- models

_INT64_MAX = 2**63 - 1
Count = Annotated[int, Field(ge=0, le=_INT64_MAX)]
Positive = Annotated[int, Field(ge=1, le=_INT64_MAX)]


class _Section(BaseModel):
    """A manifest section: strict scalars (no "16" for 16, no true for 1), finite numbers, closed."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid", allow_inf_nan=False)


class _OpenSection(_Section):
    """A section that may carry the writer's own keys (kept in the manifest data, not checked)."""

    model_config = ConfigDict(strict=True, frozen=True, extra="allow")


class ModelInfo(_OpenSection):
    name: str = Field(min_length=1, description="Model name")
    framework: str = Field("", description="Trainer that produced the tensors (torch, snntorch, spikingjelly, norse, nir, ...)")
    framework_version: str = Field("", description="Its version")


class PartitionEntry(_OpenSection):
    id: str = Field(min_length=1, description="Partition name; boundaries name their src and dst by it")


class TimeInfo(_Section):
    timesteps: Positive = Field(description="Timesteps of every spike boundary")


class ShardEntry(_Section):
    file: str = Field(description="Shard file, relative to the trace directory")
    samples: Annotated[tuple[Count, Count], pydantic.Strict(False)] = Field(description="[start, stop)")
    bytes: Count = Field(description="File size in bytes (checked on open)")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Checksum of the file (checked before its data is first read)")


class Packing(_Section):
    axis: Literal["features"] = Field(description="Spikes are bit-packed along the flattened features")
    bitorder: Literal["little"] = Field(description="Bit order within each byte")


class BoundaryStats(_Section):
    """Statistics the writer accumulated (each key optional; given, it may not be null but for min/max of
    a boundary without values)."""

    nnz: Count = Field(None, description="Non-zeros (spikes) recorded")  # type: ignore[assignment]
    slots: Count = Field(None, description="Elements recorded (samples x features x timesteps)")  # type: ignore[assignment]
    firing_rate: float = Field(None, ge=0, le=1, description="Spike boundaries: nnz / slots")  # type: ignore[assignment]
    zero_fraction: float = Field(None, ge=0, le=1, description="Activation boundaries: 1 - nnz / slots")  # type: ignore[assignment]
    nnz_per_timestep: list[Count] = Field(None, description="Spike boundaries: non-zeros at each timestep")  # type: ignore[assignment]
    min: int | float | None = Field(None, description="Activation boundaries: smallest value")
    max: int | float | None = Field(None, description="Activation boundaries: largest value")


class BoundaryEntry(_Section):
    """One entry of ``boundaries``."""

    name: str = Field(description="Boundary name (1-200 printable characters)")
    kind: Literal["spike", "activation"] = Field(description="spike: bit-packed spikes over T timesteps; activation: dense values in their dtype")
    src: str = Field(description="Partition the tensor leaves")
    dst: list[str] = Field(min_length=1, description="Partitions it reaches (distinct, not src)")
    tensor: str = Field(min_length=1, description="Tensor name in the shards")
    layout: list[str] = Field(description="Dimension names, time-major: [T, B, *features] for spikes, [B, *features] or [T, B, *features] for activations")
    features: list[Positive] = Field(min_length=1, description="Feature shape per sample")
    timesteps: Positive = Field(description="Frames per sample (1 without a T dimension)")
    logical_dtype: str = Field(description="Element type (BOOL for spikes; F32, F16, BF16, F8_E4M3, I8, ... for activations; see snapsim/dtypes.py)")
    storage_dtype: str = Field(description="How the elements are stored (U8 for packed spikes; bf16 and fp8 as bit patterns)")
    precision_bits: int = Field(ge=1, le=64, description="Wire bits per element of a dense encoding")
    packing: Packing | None = Field(None, description="Spike boundaries: how the spikes are bit-packed")
    spike_value: float | None = Field(None, allow_inf_nan=False, description="Spike boundaries: the value one spike carries (graded spikes)")
    stats: BoundaryStats = Field(BoundaryStats(), description="Statistics the writer accumulated")


class ManifestConfig(_Section):
    """``manifest.json`` (after ``schema`` and ``version`` are known)."""

    schema_: str = Field(alias="schema", description="Always snapsim.trace")
    version: str = Field(description="Schema version, 1.x")
    model: ModelInfo = Field(description="The model the trace was recorded from")
    writer: str | None = Field(None, description="What wrote the trace (snapsim version, importer)")
    partitions: list[PartitionEntry] = Field(min_length=1, description="The model's partitions in pipeline order")
    time: TimeInfo = Field(description="The time axis")
    container: Literal["safetensors", "npz"] = Field(description="Shard format")
    samples: Count = Field(description="Samples in the trace")
    shard_samples: Positive = Field(description="Samples per shard (the last may hold fewer)")
    shards: list[ShardEntry] = Field(description="The shards, contiguous along the sample axis")
    boundaries: list[BoundaryEntry] = Field(min_length=1, description="The recorded boundaries (at least one)")
    metrics: dict[str, Any] = Field({}, description="Task metrics of the recorded model (accuracy, loss, ...): reported with replays")
    sparsity: dict[str, Any] = Field({}, description="How the boundary sparsity was obtained (penalty, target, ...)")
    metadata: dict[str, Any] = Field({}, description="Free provenance (script, data set, seed, ...)")
    run: dict[str, Any] | None = Field(None, description="The recording run (command, host, time), if recorded")


# ---------------------------------------------------------------------------------------------- checks

_NAME_RE = re.compile(r"^[^\x00-\x1f]{1,200}$")
Found = list[tuple[str, str]]  # (dotted path, message) of problems found outside the model


def layout_problem(layout: Any, kind: str, n_features: int) -> str | None:
    """Why a layout is wrong, or None. Layouts are dimension names, time-major: ``[T, B, *features]``
    (spikes always) or ``[B, *features]``."""
    if not isinstance(layout, (list, tuple)) or not all(isinstance(d, str) and d for d in layout):
        return f"must be a list of dimension names; got {layout!r}"
    if len(set(layout)) != len(layout):
        return f"dimension names must be unique; got {list(layout)}"
    lead = ["T", "B"] if (kind == "spike" or (layout and layout[0] == "T")) else ["B"]
    if list(layout[: len(lead)]) != lead or any(d in ("T", "B") for d in layout[len(lead):]):
        want = "[T, B, ...]" if kind == "spike" else "[B, ...] or [T, B, ...]"
        return f"must be time-major {want}; got {list(layout)} (transpose batch-first data before writing)"
    if len(layout) - len(lead) != n_features:
        return f"{len(layout) - len(lead)} feature dimensions in the layout but {n_features} in features"
    return None


def _boundary_rules(b: BoundaryEntry, p: str, timesteps: int, partitions: list[str]) -> Found:
    """The rules across the fields of one boundary (``p``: its dotted path)."""
    found: Found = []
    if not _NAME_RE.match(b.name):
        found.append((f"{p}.name", "must be 1-200 printable characters"))
    known = ", ".join(partitions)
    for key, part in [("src", b.src)] + [(f"dst.{j}", d) for j, d in enumerate(b.dst)]:
        if part not in partitions:
            found.append((f"{p}.{key}", f"unknown partition {part!r} (partitions: {known})"))
    if len(set(b.dst)) != len(b.dst) or b.src in b.dst:
        found.append((f"{p}.dst", "dst must be a non-empty list of distinct partitions other than src"))
    why = layout_problem(b.layout, b.kind, len(b.features))
    if why:
        found.append((f"{p}.layout", why))
    elif b.layout[0] != "T" and b.timesteps != 1:
        found.append((f"{p}.timesteps", f"must be 1 when the layout has no T; got {b.timesteps}"))
    if b.kind == "spike" and b.timesteps != timesteps:
        found.append((f"{p}.timesteps", f"spike boundary has {b.timesteps} timesteps but time.timesteps is {timesteps}"))
    try:
        d = logical_dtype(b.logical_dtype)
    except UnknownDtype as exc:
        found.append((f"{p}.logical_dtype", str(exc)))
    else:
        if b.kind == "spike" and d.name != "BOOL":
            found.append((f"{p}.logical_dtype", f"spike boundaries are BOOL; got {d.name!r}"))
        elif b.kind == "activation" and d.name == "BOOL":
            found.append((f"{p}.logical_dtype", "activation boundaries cannot be BOOL (use kind 'spike')"))
        elif b.storage_dtype != d.storage:
            found.append((f"{p}.storage_dtype",
                          f"unknown dtype: storage {b.storage_dtype!r} for logical {d.name} (expected {d.storage!r})"))
    if b.kind == "spike":
        if b.packing is None:
            found.append((f"{p}.packing", "required field is missing (a spike boundary is bit-packed)"))
        if b.spike_value is None:
            found.append((f"{p}.spike_value", "required field is missing (the value a spike carries)"))
        elif b.spike_value == 0:
            found.append((f"{p}.spike_value", "must be finite and non-zero; got 0"))
    return found


def _info(b: BoundaryEntry, index: int, stats: dict[str, Any]) -> BoundaryInfo:
    return BoundaryInfo(
        name=b.name, index=index, kind=b.kind, src=b.src, dst=tuple(b.dst), tensor=b.tensor,
        layout=tuple(b.layout), features=tuple(b.features), timesteps=b.timesteps,
        logical_dtype=b.logical_dtype, storage_dtype=b.storage_dtype, precision_bits=b.precision_bits,
        bitorder=b.packing.bitorder if b.kind == "spike" and b.packing else None,
        spike_value=b.spike_value if b.kind == "spike" else None, stats=stats,
    )


def _named(problems: list[Problem], names: dict[int, str]) -> list[Problem]:
    """Prefix ``boundary 'NAME': `` to the message of every problem inside ``boundaries.I``."""
    out = []
    for pr in problems:
        m = re.match(r"^boundaries\.(\d+)(\.|$)", pr.path)
        name = names.get(int(m.group(1))) if m else None
        out.append(Problem(pr.file, pr.line, pr.path, f"boundary {name!r}: {pr.message}", pr.cross_field)
                   if name is not None else pr)
    return out


def boundary_info(entry: dict[str, Any], index: int, timesteps: int, partitions: list[str], file: str) -> BoundaryInfo:
    """Check one boundary entry (as the writer declares it) by the manifest's model and rules;
    raises :class:`ManifestError` listing every problem (path ``boundaries.INDEX.field``)."""
    p = f"boundaries.{index}"
    names = {index: entry["name"]} if isinstance(entry.get("name"), str) else {}
    try:
        b = BoundaryEntry.model_validate(entry)
    except pydantic.ValidationError as exc:
        raise ManifestError(_named(pydantic_problems(exc, entry, {}, file, p), names)) from None
    found = _boundary_rules(b, p, timesteps, partitions)
    if found:
        raise ManifestError(_named([Problem(file, None, path, msg) for path, msg in found], names))
    return _info(b, index, dict(entry.get("stats") or {}))


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


def _version_problems(data: Any, file: str) -> list[Problem]:
    if not isinstance(data, dict):
        return [Problem(file, 1, "", f"the manifest must be a JSON object; got {type(data).__name__}")]
    out = []
    if data.get("schema") != SCHEMA:
        out.append(Problem(file, None, "schema", f"expected {SCHEMA!r}; got {data.get('schema')!r}"))
    version = data.get("version")
    if not isinstance(version, str) or not re.fullmatch(r"1\.\d+", version):
        out.append(Problem(file, None, "version", f"unknown schema version {version!r} (this snapsim reads "
                                                  f"{SCHEMA} 1.x; upgrade snapsim or re-export the trace)"))
    return out


def _without(data: Any, locs: list[tuple]) -> Any:
    """``data`` without the keys at ``locs`` (pydantic locations of unknown keys)."""
    import copy

    data = copy.deepcopy(data)
    for loc in locs:
        node = data
        for part in loc[:-1]:
            node = node[part]
        node.pop(loc[-1], None)
    return data


def _model(data: dict, file: str) -> tuple[ManifestConfig | None, list[Problem]]:
    try:
        return ManifestConfig.model_validate(data), []
    except pydantic.ValidationError as exc:
        errors = exc.errors()
        newer = data["version"] != VERSION and int(data["version"].split(".")[1]) > int(VERSION.split(".")[1])
        extras = [e["loc"] for e in errors if e["type"] == "extra_forbidden"]
        if newer and extras and len(extras) == len(errors):  # keys of a newer 1.x: read what this version knows
            return _model(_without(data, extras), file)
        return None, pydantic_problems(exc, data, {}, file)


def _rules(m: ManifestConfig, data: dict, file: str) -> tuple[list[BoundaryInfo], list[ShardInfo], Found]:
    found: Found = []
    partitions = [p.id for p in m.partitions]
    if len(set(partitions)) != len(partitions):
        found.append(("partitions", f"ids must be unique; got {partitions}"))
    shards, pos = [], 0
    suffix = CONTAINERS[m.container]
    for i, s in enumerate(m.shards):
        if "/" in s.file or "\\" in s.file or s.file.startswith(".") or not s.file.endswith(suffix):
            found.append((f"shards.{i}.file", f"must be a plain {suffix} file name; got {s.file!r}"))
        start, stop = s.samples
        if start != pos or stop <= start:
            found.append((f"shards.{i}.samples", f"shards must cover samples contiguously from {pos}; got {[start, stop]}"))
        shards.append(ShardInfo(s.file, start, stop, s.bytes, s.sha256))
        pos = max(pos, stop)
    if pos != m.samples:
        found.append(("shards", f"cover {pos} samples but samples is {m.samples}"))
    boundaries = []
    for i, b in enumerate(m.boundaries):
        found += _boundary_rules(b, f"boundaries.{i}", m.time.timesteps, partitions)
        boundaries.append(_info(b, i, data["boundaries"][i].get("stats", {})))
    names = [b.name for b in m.boundaries]
    tensors = [b.tensor for b in m.boundaries]
    if len(set(names)) != len(names) or len(set(tensors)) != len(tensors):
        found.append(("boundaries", "names and tensor names must be unique"))
    return boundaries, shards, found


def parse_manifest(data: Any, file: str, text: str | None = None) -> ParsedManifest:
    """Check a manifest read from ``file`` (``text``: its contents, for line numbers); raises
    :class:`ManifestError` listing every problem with its line and dotted path."""
    problems = _version_problems(data, file)
    if not problems:
        model, problems = _model(data, file)
        if model is not None:
            boundaries, shards, found = _rules(model, data, file)
            problems = [Problem(file, None, path, msg) for path, msg in found]
    if problems:
        names = {}
        if isinstance(data, dict) and isinstance(data.get("boundaries"), list):
            names = {i: b["name"] for i, b in enumerate(data["boundaries"])
                     if isinstance(b, dict) and isinstance(b.get("name"), str)}
        raise ManifestError(_named(_with_lines(problems, file, text), names))
    assert model is not None
    return ParsedManifest(
        data=data, container=model.container, timesteps=model.time.timesteps, n_samples=model.samples,
        shard_samples=model.shard_samples, partitions=tuple(p.id for p in model.partitions),
        boundaries=tuple(boundaries), shards=tuple(shards),
    )


def _with_lines(problems: list[Problem], file: str, text: str | None) -> list[Problem]:
    """The problems located at their lines: ``text`` is read again, by the strict YAML reader (JSON is YAML
    1.2), only now that there is something to report."""
    if text is None or len(text) > MAX_BYTES:  # a huge manifest: the problems without their lines
        return problems
    try:
        _, origins = load_yaml_text(text, file)
    except ConfigError:
        return problems
    return [pr if pr.line is not None else Problem(file, locate(origins, pr.path, file)[1], pr.path, pr.message,
                                                   pr.cross_field) for pr in problems]


def read_manifest(path: str | Path) -> ParsedManifest:
    """Read and check ``manifest.json`` through the input gate (UTF-8, size, depth, duplicate keys,
    finite numbers); raises :class:`ManifestError` (a TraceError) naming file and line."""
    file = str(path)
    try:
        text = read_text(path, MAX_JSON_BYTES, what="manifest")
        data = load_json_text(text, file, what="JSON")
    except ManifestError:
        raise
    except ConfigError as exc:
        raise ManifestError(exc.problems) from None
    return parse_manifest(data, file, text)
