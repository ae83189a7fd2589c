"""Reading traces: ``open_trace`` checks the manifest and every shard header, then reads lazily.

Opening is cheap (headers only): schema and version, partitions and boundaries, shard sizes (a
truncated shard is caught here), tensor presence, dtypes and shapes; the manifest and every shard must be
regular files inside the trace directory (a symbolic link that leads out of it is refused). Every read
of a shard's data first checks its sha256 against the manifest (once per process for each state of the
file, :func:`snapsim.trace.store.verify_sha256`), so ``run``, ``stats`` and ``convert`` never use a
modified shard. :meth:`Trace.validate` also reads all data: checksums (always recomputed), spike padding
bits, NaN/Inf in activations and the recorded statistics.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..errors import TraceError
from .bitpack import padding_clean, unpack_spikes
from .dtypes import decode
from .manifest import MANIFEST_NAME, BoundaryInfo, ShardInfo, read_manifest
from .stats import new_stats, non_finite
from .store import ShardReader, verify_sha256

__all__ = ["Trace", "open_trace"]


def open_trace(path: str | Path) -> "Trace":
    """Open and check a trace directory (or its ``manifest.json``); raises :class:`TraceError`."""
    return Trace(path)


class Trace:
    """A trace on disk. ``boundaries`` are :class:`BoundaryInfo`; data is read per call, shard by shard."""

    def __init__(self, path: str | Path):
        p = Path(path)
        if p.name == MANIFEST_NAME and p.is_file():
            p = p.parent
        self.path = p
        mfile = p / MANIFEST_NAME
        self._mlabel = str(mfile)
        if not p.is_dir():
            raise TraceError(f"{p}: no such trace directory")
        if not mfile.is_file():
            raise TraceError(f"{mfile}: missing (not a trace directory, or the writer was not closed)")
        self._inside(mfile, "manifest")
        parsed = read_manifest(mfile)
        self.manifest: dict[str, Any] = parsed.data
        self.container = parsed.container
        self.timesteps = parsed.timesteps
        self.n_samples = parsed.n_samples
        self.shard_samples = parsed.shard_samples
        self.partitions = list(parsed.partitions)
        self.boundaries: list[BoundaryInfo] = list(parsed.boundaries)
        self.shards: list[ShardInfo] = list(parsed.shards)
        self._by_name = {b.name: b for b in self.boundaries}
        self._readers = [self._check_shard(i, s) for i, s in enumerate(self.shards)]

    # ------------------------------------------------------------------------------------- checking

    def _inside(self, path: Path, what: str) -> None:
        """Refuse ``path`` unless it is a regular file whose real location is in the trace directory."""
        real, home = os.path.realpath(path), os.path.realpath(self.path)
        if os.path.dirname(real) != home:
            raise TraceError(f"{path}: the {what} is a symbolic link to {real}, outside the trace directory (refused)")
        if os.path.exists(real) and not os.path.isfile(real):
            raise TraceError(f"{path}: the {what} is not a regular file")

    def _check_shard(self, index: int, shard: ShardInfo) -> ShardReader:
        self._inside(self.path / shard.file, "shard")
        reader = ShardReader(self.path / shard.file, self.container, shard.bytes)
        label = reader.label
        hdr = reader.header
        if hdr.get("samples") != [shard.start, shard.stop] or hdr.get("shard") != index:
            raise TraceError(
                f"{label}: shard header says shard {hdr.get('shard')!r} with samples {hdr.get('samples')!r}, "
                f"the manifest expects shard {index} with samples {[shard.start, shard.stop]}"
            )
        for b in self.boundaries:
            if b.tensor not in reader.tensors:
                raise TraceError(f"{label}: boundary {b.name!r}: missing tensor {b.tensor!r}")
            dtype, shape = reader.tensors[b.tensor]
            if dtype != b.storage_dtype:
                raise TraceError(
                    f"{label}: boundary {b.name!r}: tensor {b.tensor!r} is stored as {dtype} "
                    f"but the manifest says {b.storage_dtype} (unknown or mismatched dtype)"
                )
            want = b.stored_shape(shard.samples)
            if tuple(shape) != want:
                raise TraceError(
                    f"{label}: boundary {b.name!r}: tensor {b.tensor!r} has shape {list(shape)} "
                    f"but the manifest implies {list(want)}"
                )
        return reader

    def validate(self) -> None:
        """Read everything: checksums, spike padding, finite activations, recorded statistics."""
        for shard in self.shards:
            verify_sha256(self.path / shard.file, shard.sha256, cached=False)
        for b in self.boundaries:
            acc = new_stats(b)
            for shard, stored in self.iter_shards(b.name):
                label = self.path / shard.file
                if b.kind == "spike" and not padding_clean(stored, b.n_features):
                    raise TraceError(
                        f"{label}: boundary {b.name!r}: spike tensor has non-binary data "
                        f"(padding bits beyond feature {b.n_features} are set)"
                    )
                acc.update_stored(stored)
            actual = acc.to_json()
            recorded = {k: b.stats.get(k) for k in ("nnz", "slots")}
            if recorded != {k: actual[k] for k in ("nnz", "slots")}:
                raise TraceError(
                    f"{self._mlabel}: boundary {b.name!r}: stats {recorded} disagree with the data "
                    f"{ {k: actual[k] for k in ('nnz', 'slots')} }"
                )
            for key, value in actual.items():  # every other statistic recorded must be the data's too
                if key in b.stats and not _same(b.stats[key], value):
                    raise TraceError(f"{self._mlabel}: boundary {b.name!r}: stats.{key} {b.stats[key]!r} disagrees "
                                     f"with the data ({value!r})")

    # -------------------------------------------------------------------------------------- reading

    def boundary(self, name: str | int) -> BoundaryInfo:
        """Boundary by name or index."""
        if isinstance(name, int) and not isinstance(name, bool):
            if 0 <= name < len(self.boundaries):
                return self.boundaries[name]
            raise TraceError(f"{self._mlabel}: boundary index {name} out of range (0..{len(self.boundaries) - 1})")
        if name not in self._by_name:
            raise TraceError(
                f"{self._mlabel}: boundary {name!r} not in the trace (boundaries: {', '.join(self._by_name)})"
            )
        return self._by_name[name]

    def _read_stored(self, b: BoundaryInfo, i: int, start: int | None = None, stop: int | None = None) -> np.ndarray:
        shard = self.shards[i]
        verify_sha256(self.path / shard.file, shard.sha256)  # every read path: run, stats, convert, validate
        arr = self._readers[i].read(b.tensor, start, stop, 1 if b.has_time else 0)
        if b.kind == "spike" and not padding_clean(arr, b.n_features):  # set padding bits would count as spikes
            raise TraceError(
                f"{self._readers[i].label}: boundary {b.name!r}: spike tensor has non-binary data "
                f"(padding bits beyond feature {b.n_features} are set)"
            )
        if b.kind == "activation":
            bad = non_finite(arr, b.logical_dtype)
            if bad:
                raise TraceError(
                    f"{self._readers[i].label}: boundary {b.name!r}: activation has {bad} NaN/Inf values"
                )
        return arr

    def iter_shards(self, name: str, start: int = 0, stop: int | None = None) -> Iterator[tuple[ShardInfo, np.ndarray]]:
        """Stored (packed / bit-pattern) data of samples ``[start, stop)``, one piece per shard."""
        b = self.boundary(name)
        stop = self.n_samples if stop is None else stop
        if not 0 <= start <= stop <= self.n_samples:
            raise TraceError(
                f"{self._mlabel}: boundary {b.name!r}: sample range [{start}, {stop}) outside [0, {self.n_samples})"
            )
        for i, shard in enumerate(self.shards):
            lo, hi = max(start, shard.start), min(stop, shard.stop)
            if lo >= hi:
                continue
            if lo == shard.start and hi == shard.stop:
                yield shard, self._read_stored(b, i)
            else:
                yield shard, self._read_stored(b, i, lo - shard.start, hi - shard.start)

    def to_logical(self, name: str, stored: np.ndarray) -> np.ndarray:
        """Stored data to logical values: spikes unpacked to bool ``[T, B, *features]``, BF16/FP8 to float32."""
        b = self.boundary(name)
        if b.kind == "spike":
            t, n = stored.shape[0], stored.shape[1]
            return unpack_spikes(stored, b.n_features).reshape((t, n) + b.features)
        return decode(stored, b.logical_dtype)

    def read_stored(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Samples ``[start, stop)`` in storage form (packed spikes, BF16 as uint16 bit patterns)."""
        b = self.boundary(name)
        pieces = [arr for _, arr in self.iter_shards(name, start, stop)]
        if not pieces:
            return np.zeros(b.stored_shape(0), dtype=_np_storage(b))
        return pieces[0] if len(pieces) == 1 else np.concatenate(pieces, axis=1 if b.has_time else 0)

    def read(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Samples ``[start, stop)`` as logical values (spikes bool, bf16 as float32)."""
        return self.to_logical(name, self.read_stored(name, start, stop))

    def iter_batches(self, name: str, batch_samples: int = 1024, stored: bool = False) -> Iterator[np.ndarray]:
        """Consecutive batches of ``batch_samples`` samples (the last may be shorter), streamed shard
        by shard; memory holds one shard plus one batch."""
        if batch_samples < 1:
            raise TraceError(f"batch_samples must be >= 1; got {batch_samples}")
        b = self.boundary(name)
        axis = 1 if b.has_time else 0
        carry: list[np.ndarray] = []
        carried = 0
        emit = (lambda a: a) if stored else (lambda a: self.to_logical(name, a))
        for _, arr in self.iter_shards(name):
            pos = 0
            n = arr.shape[axis]
            while pos < n:
                take = min(batch_samples - carried, n - pos)
                carry.append(arr[(slice(None),) * axis + (slice(pos, pos + take),)])
                carried += take
                pos += take
                if carried == batch_samples:
                    yield emit(carry[0] if len(carry) == 1 else np.concatenate(carry, axis=axis))
                    carry, carried = [], 0
        if carried:
            yield emit(carry[0] if len(carry) == 1 else np.concatenate(carry, axis=axis))

    def __repr__(self) -> str:
        return (
            f"Trace({str(self.path)!r}, model={self.manifest['model'].get('name')!r}, samples={self.n_samples}, "
            f"boundaries={[b.name for b in self.boundaries]})"
        )


def _same(recorded: Any, actual: Any) -> bool:
    """A recorded statistic equals the one computed from the data (floats to 1e-9)."""
    if isinstance(actual, list):
        return isinstance(recorded, list) and len(recorded) == len(actual) and all(map(_same, recorded, actual))
    if actual is None or recorded is None:
        return recorded is actual
    if isinstance(recorded, bool) or not isinstance(recorded, (int, float)):
        return False
    return math.isclose(float(recorded), float(actual), rel_tol=1e-9, abs_tol=1e-12)


def _np_storage(b: BoundaryInfo) -> np.dtype:
    from .manifest import STORAGE_NUMPY

    return STORAGE_NUMPY[b.storage_dtype]
