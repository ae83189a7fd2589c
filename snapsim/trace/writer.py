"""TraceWriter: stream boundary tensors into a trace directory, shard by shard.

Samples accumulate along B per boundary; a shard is written as soon as every boundary holds
``shard_samples`` samples, so memory stays bounded when appends are interleaved batch by batch.
Spikes are packed on arrival (8x smaller buffers). ``close()`` writes the remaining samples and then
``manifest.json`` with statistics accumulated on the way. Output bytes depend only on the data and
arguments (no timestamps, no random ids).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .. import __version__
from ..dtypes import DTYPES, UnknownDtype, from_torch
from ..errors import TraceError
from .bitpack import pack_spikes, padding_clean
from .dtypes import to_storage
from .manifest import MANIFEST_NAME, SCHEMA, VERSION, BoundaryInfo, ShardInfo, boundary_info, shard_file_name
from .stats import new_stats, non_finite
from .store import write_shard

__all__ = ["TraceWriter", "to_numpy"]


def to_numpy(array: Any) -> np.ndarray:
    """numpy view of ``array``; torch tensors are detached and moved to CPU (bf16/fp8 as bit patterns).

    torch is imported only if the object is a torch tensor.
    """
    if isinstance(array, np.ndarray):
        return array
    if type(array).__module__.split(".")[0] == "torch" and hasattr(array, "detach"):
        import torch

        t = array.detach().cpu()
        try:
            d = from_torch(t.dtype)
        except UnknownDtype:
            return t.numpy()
        if d.is_float and d.storage != d.name:  # bf16, fp8: numpy has none; their bit patterns
            return t.view(getattr(torch, f"int{8 * d.numpy.itemsize}")).numpy().view(d.numpy)
        return t.numpy()
    return np.asarray(array)


class _Buffer:
    def __init__(self, info: BoundaryInfo):
        self.info = info
        self.axis = 1 if info.has_time else 0  # sample axis of the stored tensor
        self.parts: list[np.ndarray] = []
        self.count = 0
        self.stats = new_stats(info)

    def take(self, n: int) -> np.ndarray:
        """Remove and return the first ``n`` buffered samples as one array."""
        whole = self.parts[0] if len(self.parts) == 1 else np.concatenate(self.parts, axis=self.axis)
        index = (slice(None),) * self.axis
        head = whole[index + (slice(0, n),)]
        rest = whole[index + (slice(n, None),)]
        self.parts = [rest] if rest.shape[self.axis] else []
        self.count -= n
        return np.ascontiguousarray(head)


class TraceWriter:
    """Write a trace directory (``manifest.json`` + shards); see :mod:`snapsim.trace.manifest`."""

    def __init__(
        self,
        path: str | Path,
        *,
        model: str,
        framework: str = "",
        framework_version: str = "",
        partitions: Sequence[str | dict],
        timesteps: int,
        container: str = "safetensors",
        shard_samples: int = 4096,
        metadata: dict | None = None,
        metrics: dict | None = None,
        sparsity: dict | None = None,
        run: dict | None = None,
        overwrite: bool = False,
    ):
        self.path = Path(path)
        self._manifest = str(self.path / MANIFEST_NAME)
        if container not in ("safetensors", "npz"):
            raise TraceError(f"{self.path}: container must be 'safetensors' or 'npz'; got {container!r}")
        if isinstance(timesteps, bool) or not isinstance(timesteps, int) or timesteps < 1:
            raise TraceError(f"{self.path}: timesteps must be a positive integer; got {timesteps!r}")
        if isinstance(shard_samples, bool) or not isinstance(shard_samples, int) or shard_samples < 1:
            raise TraceError(f"{self.path}: shard_samples must be a positive integer; got {shard_samples!r}")
        parts = []
        for p in partitions:
            entry = {"id": p} if isinstance(p, str) else dict(p)
            if not isinstance(entry.get("id"), str) or not entry["id"]:
                raise TraceError(f"{self.path}: each partition needs a string id; got {p!r}")
            parts.append(entry)
        ids = [p["id"] for p in parts]
        if not ids or len(set(ids)) != len(ids):
            raise TraceError(f"{self.path}: partitions must be non-empty and unique; got {ids}")
        self._extras: dict[str, Any] = {}
        for key, value in (("metrics", metrics), ("sparsity", sparsity), ("metadata", metadata), ("run", run)):
            if value is None:
                continue
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise TraceError(f"{self.path}: {key} must be JSON-serialisable with finite numbers ({exc})") from None
            self._extras[key] = value
        if self.path.exists():
            if not self.path.is_dir():
                raise TraceError(f"{self.path}: exists and is not a directory")
            if any(self.path.iterdir()):
                if not overwrite:
                    raise TraceError(f"{self.path}: directory is not empty (pass overwrite=True to replace it)")
                shutil.rmtree(self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.model = {"name": model, "framework": framework, "framework_version": framework_version}
        self.partitions = parts
        self.timesteps = timesteps
        self.container = container
        self.shard_samples = shard_samples
        self._buffers: dict[str, _Buffer] = {}
        self._shards: list[ShardInfo] = []
        self._written = 0
        self._started = False
        self._closed = False

    # ----------------------------------------------------------------------------------- boundaries

    def add_boundary(
        self,
        name: str,
        *,
        src: str,
        dst: Sequence[str],
        kind: str,
        features: Sequence[int],
        layout: Sequence[str] | None = None,
        logical_dtype: str | None = None,
        precision_bits: int | None = None,
        timesteps: int | None = None,
        spike_value: float = 1.0,
    ) -> BoundaryInfo:
        """Declare a boundary before the first append. Spikes: ``[T, B, *features]`` BOOL;
        activations: ``[B, *features]`` (or ``[T, B, *features]`` with T in the layout).

        The boundary is checked by the manifest's own model and rules
        (:func:`snapsim.trace.manifest.boundary_info`); every problem is reported at once."""
        if self._started:
            raise self._error("boundaries must all be declared before the first append", name)
        if not isinstance(name, str) or not name or name in self._buffers:
            raise self._error("boundary names must be unique and non-empty", name if isinstance(name, str) else None)
        if logical_dtype is None:
            logical_dtype = "BOOL" if kind == "spike" else "F32"
        d = DTYPES.get(logical_dtype) if isinstance(logical_dtype, str) else None  # unknown: the check says so
        features = [int(f) for f in features]
        if layout is None:
            feat_names = ["N"] if len(features) == 1 else [f"D{i}" for i in range(len(features))]
            layout = (["T", "B"] if kind == "spike" else ["B"]) + feat_names
        layout = list(layout)
        has_time = bool(layout) and layout[0] == "T"
        entry: dict[str, Any] = {
            "name": name,
            "kind": kind,
            "src": src,
            "dst": [dst] if isinstance(dst, str) else list(dst),
            "tensor": f"{name}/{'spikes' if kind == 'spike' else 'values'}",
            "layout": layout,
            "features": features,
            "timesteps": int(timesteps) if timesteps is not None else (self.timesteps if has_time else 1),
            "logical_dtype": logical_dtype,
            "storage_dtype": d.storage if d else logical_dtype,
            "precision_bits": int(precision_bits) if precision_bits is not None else (d.bits if d else 1),
        }
        if kind == "spike":
            entry["packing"] = {"axis": "features", "bitorder": "little"}
            entry["spike_value"] = float(spike_value)
        ids = [p["id"] for p in self.partitions]
        info = boundary_info(entry, len(self._buffers), self.timesteps, ids, self._manifest)
        self._buffers[name] = _Buffer(info)
        return info

    def _error(self, message: str, boundary: str | None = None, path: str | None = None) -> TraceError:
        """``FILE: boundary 'x': path: message`` (FILE: this trace's manifest)."""
        parts = [self._manifest]
        if boundary is not None:
            parts.append(f"boundary {boundary!r}")
        if path:
            parts.append(path)
        return TraceError(": ".join(parts) + ": " + message)

    # ------------------------------------------------------------------------------------ appending

    def _buffer(self, name: str) -> _Buffer:
        if self._closed:
            raise TraceError(f"{self.path}: the writer is closed")
        if name not in self._buffers:
            raise self._error(f"unknown boundary (declared: {', '.join(self._buffers) or 'none'})", name)
        return self._buffers[name]

    def append(self, name: str, array: Any) -> None:
        """Append samples: spikes ``[T, B, *features]`` of 0/1 (or 0/spike_value), activations
        ``[B, *features]`` (``[T, B, ...]`` with T in the layout). numpy arrays or torch tensors."""
        buf = self._buffer(name)
        info = buf.info
        x = to_numpy(array)
        want = info.logical_shape(-1)
        lead = 2 if info.has_time else 1
        if x.ndim != len(want) or x.shape[:lead - 1] != want[:lead - 1] or x.shape[lead:] != want[lead:]:
            shown = [("B" if d == -1 else d) for d in want]
            raise self._error(f"append: got shape {list(x.shape)}, expected {shown}", name)
        if info.kind == "spike":
            if x.dtype != np.bool_:
                if x.dtype.kind not in "iuf":
                    raise self._error(f"append: spike data must be numeric or bool; got {x.dtype}", name)
                ok = (x == 0) | (x == info.spike_value)
                if not ok.all():
                    bad = tuple(int(i) for i in np.argwhere(~ok)[0])
                    raise self._error(
                        f"spike tensor has non-binary values (e.g. {x[bad]!r} at index {list(bad)}; "
                        f"spikes must be 0 or {info.spike_value:g})",
                        name,
                    )
            stored = pack_spikes(x, 2)
        else:
            try:
                stored = to_storage(x, info.logical_dtype)
            except ValueError as exc:
                raise self._error(f"append: {exc}", name) from None
            bad = non_finite(stored, info.logical_dtype)
            if bad:
                raise self._error(f"activation has {bad} NaN/Inf values (activations must be finite)", name)
        self._push(buf, stored)

    def append_stored(self, name: str, stored: np.ndarray) -> None:
        """Append data already in storage form (packed spikes, BF16 bit patterns): used by converters."""
        buf = self._buffer(name)
        info = buf.info
        want = info.stored_shape(-1)
        axis = buf.axis
        if stored.ndim != len(want) or stored.dtype != np.dtype(_storage_numpy(info)) or any(
            s != w for i, (s, w) in enumerate(zip(stored.shape, want)) if i != axis
        ):
            raise self._error(f"stored data {stored.dtype}{list(stored.shape)} does not fit {want}", name)
        if info.kind == "spike" and not padding_clean(stored, info.n_features):
            raise self._error("spike tensor has non-zero padding bits", name)
        if info.kind == "activation" and non_finite(stored, info.logical_dtype):
            raise self._error("activation has NaN/Inf values (activations must be finite)", name)
        self._push(buf, stored)

    def _push(self, buf: _Buffer, stored: np.ndarray) -> None:
        self._started = True
        n = stored.shape[buf.axis]
        if n == 0:
            return
        buf.stats.update_stored(stored)
        buf.parts.append(stored)
        buf.count += n
        while all(b.count >= self.shard_samples for b in self._buffers.values()):
            self._flush(self.shard_samples)

    def _flush(self, n: int) -> None:
        index = len(self._shards)
        fname = shard_file_name(index, self.container)
        tensors = {b.info.tensor: b.take(n) for b in self._buffers.values()}
        header = {
            "schema": SCHEMA,
            "version": VERSION,
            "model": self.model["name"],
            "shard": index,
            "samples": [self._written, self._written + n],
            "tensors": {b.info.name: b.info.tensor for b in self._buffers.values()},
        }
        nbytes, sha = write_shard(self.path / fname, self.container, tensors, header)
        self._shards.append(ShardInfo(fname, self._written, self._written + n, nbytes, sha))
        self._written += n

    # -------------------------------------------------------------------------------------- closing

    def close(self) -> Path:
        """Flush the remaining samples and write ``manifest.json``; returns the trace directory."""
        if self._closed:
            return self.path
        if not self._buffers:
            raise TraceError(f"{self.path}: no boundaries were declared")
        counts = {name: self._written + b.count for name, b in self._buffers.items()}
        if len(set(counts.values())) != 1:
            listing = ", ".join(f"{k!r}: {v}" for k, v in counts.items())
            raise TraceError(f"{self.path}: boundaries received different sample counts ({listing})")
        remaining = next(iter(self._buffers.values())).count
        if self._written + remaining == 0:
            raise TraceError(f"{self.path}: no samples were appended")
        if remaining:
            self._flush(remaining)
        manifest: dict[str, Any] = {
            "schema": SCHEMA,
            "version": VERSION,
            "model": self.model,
            "writer": f"snapsim {__version__}",
            "partitions": self.partitions,
            "time": {"timesteps": self.timesteps},
            "container": self.container,
            "samples": self._written,
            "shard_samples": self.shard_samples,
            "shards": [
                {"file": s.file, "samples": [s.start, s.stop], "bytes": s.bytes, "sha256": s.sha256}
                for s in self._shards
            ],
            "boundaries": [],
        }
        for b in self._buffers.values():
            entry = b.info.to_json()
            entry["stats"] = b.stats.to_json()
            manifest["boundaries"].append(entry)
        if "run" in self._extras:
            manifest["run"] = self._extras["run"]
        for key in ("metrics", "sparsity", "metadata"):
            manifest[key] = self._extras.get(key, {})
        text = dumps_manifest(manifest)
        tmp = self.path / (MANIFEST_NAME + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(self.path / MANIFEST_NAME)
        self._closed = True
        return self.path

    def abort(self) -> None:
        """Remove the shards written so far (used when an exception interrupts writing)."""
        self._closed = True
        for s in self._shards:
            (self.path / s.file).unlink(missing_ok=True)
        try:
            self.path.rmdir()
        except OSError:
            pass

    def __enter__(self) -> "TraceWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
            return
        try:
            self.close()
        except BaseException:
            self.abort()  # e.g. no samples: leave no half-written (or empty) directory behind
            raise


def dumps_manifest(obj: Any) -> str:
    """Indented JSON with lists of scalars kept on one line (readable, diff-able, deterministic)."""

    def fmt(o: Any, depth: int) -> str:
        pad, inner = "  " * depth, "  " * (depth + 1)
        if isinstance(o, dict) and o:
            items = [f"{inner}{json.dumps(str(k))}: {fmt(v, depth + 1)}" for k, v in o.items()]
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(o, list) and any(isinstance(v, (dict, list)) for v in o):
            return "[\n" + ",\n".join(inner + fmt(v, depth + 1) for v in o) + "\n" + pad + "]"
        return json.dumps(o, allow_nan=False, separators=(", ", ": "))

    return fmt(obj, 0) + "\n"


def _storage_numpy(info: BoundaryInfo) -> np.dtype:
    return DTYPES[info.storage_dtype].numpy
