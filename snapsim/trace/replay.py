"""Replay payload model: exact boundary message sizes from a recorded trace.

The engine asks ``message_bits(boundary, inference, message)``. Inference ``i`` carries samples
``[i*batch, (i+1)*batch)`` modulo the trace's sample count; message ``m`` holds the frames of the m-th
send window of the boundary's encoding (one timestep, or a ``rate`` window; 0 for boundaries without a
time axis), each sample's frames encoded on their own and sized by the encoding's one rule,
:meth:`snapsim.encoding.Encoding.window_bits`, from the slice's non-zero counts (and, for encodings
whose size depends on spike positions, each frame's bits). Those per-(timestep, sample) values come from
per-shard prefix-sum tables built vectorised from the packed data when a shard is first needed and kept
in a small LRU cache, so memory does not grow with trace length. Encodings whose size ignores the data
(dense, bitmap, rate) never read it. ``message_spikes`` gives the non-zero count of the same slice (the
engine uses it for codec energy).
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np

from ..encoding import Encoding
from ..errors import TraceError
from .bitpack import popcount, unpack_spikes
from .dtypes import decode
from .manifest import BoundaryInfo
from .reader import Trace, open_trace

__all__ = ["TracePayload", "check_compatible", "match_boundaries", "trace_payload_for"]


class TracePayload:
    """Message sizes of ``boundary_names[k]`` (workload boundary k) under ``encodings[k]``."""

    def __init__(
        self,
        trace: Trace | str | Path,
        boundary_names: Sequence[str],
        encodings: Sequence[Encoding],
        batch: int,
        cache_shards: int = 3,
        frames: Sequence[int] | None = None,
    ):
        self.trace = trace if isinstance(trace, Trace) else open_trace(trace)
        if len(boundary_names) != len(encodings):
            raise TraceError(
                f"{self.trace.path}: {len(boundary_names)} boundary names but {len(encodings)} encodings"
            )
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
            raise TraceError(f"{self.trace.path}: batch must be a positive integer; got {batch!r}")
        if self.trace.n_samples < 1:
            raise TraceError(f"{self.trace.path}: the trace holds no samples")
        self.batch = int(batch)
        self.infos: list[BoundaryInfo] = [self.trace.boundary(n) for n in boundary_names]
        self.encodings = list(encodings)
        for info, enc in zip(self.infos, self.encodings):
            if enc.kind == "rate" and info.kind != "spike":
                raise TraceError(f"{self.trace.path}: boundary {info.name!r}: encoding rate needs spikes")
        # frames per sample each boundary replays: the trace's timesteps, or 1 for an activation recorded per
        # timestep that must then be the same at every step (checked as its shards are read)
        self.steps = [info.timesteps for info in self.infos] if frames is None else [int(f) for f in frames]
        for info, steps in zip(self.infos, self.steps):
            if steps != info.timesteps and not (info.kind == "activation" and steps == 1):
                raise TraceError(f"{self.trace.path}: boundary {info.name!r}: {info.timesteps} timesteps recorded, "
                                 f"{steps} asked for")
        self.windows = [enc.windows(steps) for steps, enc in zip(self.steps, self.encodings)]
        self._starts = [s.start for s in self.trace.shards]
        self._cache_shards = max(1, cache_shards)
        self._tables: list[OrderedDict[tuple[int, str], np.ndarray]] = [OrderedDict() for _ in self.infos]
        self._shard_totals: list[dict[tuple[int, str], np.ndarray]] = [{} for _ in self.infos]
        self._memo: list[OrderedDict[int, tuple[np.ndarray, np.ndarray]]] = [OrderedDict() for _ in self.infos]
        self._const: list[np.ndarray | None] = [self._constant_bits(i) for i in range(len(self.infos))]

    # ----------------------------------------------------------------------------------------- API

    def message_bits(self, boundary: int, inference: int, message: int) -> int:
        """Exact payload bits of message ``message`` of ``inference`` across ``boundary``."""
        return int(self.inference_bits(boundary, inference)[self._message(boundary, message)])

    def message_spikes(self, boundary: int, inference: int, message: int) -> int:
        """Non-zeros (spikes) in the same tensor slice."""
        return int(self._inference_values(boundary, inference)[1][self._message(boundary, message)])

    def inference_bits(self, boundary: int, inference: int) -> np.ndarray:
        """Payload bits of every message of one inference (int64 ``[messages]``)."""
        self._info(boundary)
        const = self._const[boundary]
        if const is not None:
            if inference < 0:
                raise ValueError(f"inference must be >= 0; got {inference}")
            return const
        return self._inference_values(boundary, inference)[0]

    def bits_table(self, boundary: int, inferences: int) -> np.ndarray:
        """Payload bits of every message of the first ``inferences`` inferences, ``[inference, message]``."""
        return np.stack([self.inference_bits(boundary, i) for i in range(inferences)])

    def spikes_table(self, boundary: int, inferences: int) -> np.ndarray:
        """Non-zeros of every message of the first ``inferences`` inferences, ``[inference, message]``."""
        return np.stack([self._inference_values(boundary, i)[1] for i in range(inferences)])

    # ------------------------------------------------------------------------------------ internals

    def _info(self, boundary: int) -> BoundaryInfo:
        if not 0 <= boundary < len(self.infos):
            raise ValueError(f"boundary index {boundary} outside [0, {len(self.infos)})")
        return self.infos[boundary]

    def _message(self, boundary: int, message: int) -> int:
        info = self._info(boundary)
        if not 0 <= message < len(self.windows[boundary]):
            raise ValueError(f"boundary {info.name!r}: message {message} outside [0, {len(self.windows[boundary])})")
        return message

    def _constant_bits(self, k: int) -> np.ndarray | None:
        """Bits of every message of one inference when the encoding ignores the data, else None."""
        info, enc = self.infos[k], self.encodings[k]
        if enc.data_dependent or enc.count_terms(info.n_features, 1)[1] != 0:
            return None
        zeros = np.zeros(self.steps[k], dtype=np.int64)
        return enc.window_bits(info.n_features, zeros, samples=self.batch)

    def _inference_values(self, k: int, inference: int) -> tuple[np.ndarray, np.ndarray]:
        """(bits, non-zeros) of every message of one inference, memoised for the last few inferences."""
        self._info(k)
        if inference < 0:
            raise ValueError(f"inference must be >= 0; got {inference}")
        memo = self._memo[k]
        if inference in memo:
            return memo[inference]
        info, enc = self.infos[k], self.encodings[k]
        nnz = self._sum_samples(k, inference, "nnz")
        fbits = self._sum_samples(k, inference, "fbits") if enc.data_dependent else None
        bits = enc.window_bits(info.n_features, nnz, fbits, samples=self.batch)
        spikes = np.array([nnz[a:z].sum() for a, z in self.windows[k]], dtype=np.int64)
        memo[inference] = (bits, spikes)
        while len(memo) > 8:
            memo.popitem(last=False)
        return bits, spikes

    def _sum_samples(self, k: int, inference: int, what: str) -> np.ndarray:
        """``what`` (nnz or fbits) per timestep summed over the inference's samples."""
        total_samples = self.trace.n_samples
        out = np.zeros(self.steps[k], dtype=np.int64)
        start = (inference * self.batch) % total_samples
        remaining = self.batch
        if remaining >= total_samples:
            out += self._full_total(k, what) * (remaining // total_samples)
            remaining %= total_samples
        while remaining > 0:
            stop = min(total_samples, start + remaining)
            out += self._range_sum(k, start, stop, what)
            remaining -= stop - start
            start = 0
        return out

    def _range_sum(self, k: int, start: int, stop: int, what: str) -> np.ndarray:
        out = 0
        i = bisect.bisect_right(self._starts, start) - 1
        while start < stop:
            shard = self.trace.shards[i]
            hi = min(stop, shard.stop)
            prefix = self._table(k, i, what)
            out = out + prefix[:, hi - shard.start] - prefix[:, start - shard.start]
            start = hi
            i += 1
        return out

    def _full_total(self, k: int, what: str) -> np.ndarray:
        totals = self._shard_totals[k]
        n_shards = len(self.trace.shards)
        for i in range(n_shards):
            if (i, what) not in totals:
                self._table(k, i, what)
        return sum(totals[(i, what)] for i in range(n_shards))

    def _table(self, k: int, i: int, what: str) -> np.ndarray:
        """Prefix sums over samples of ``what`` (nnz or fbits) per (timestep, sample) of shard ``i``:
        ``[T, samples + 1]``, kept in a small LRU cache."""
        cache = self._tables[k]
        key = (i, what)
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
        values = self._shard_values(k, i, what)
        prefix = np.zeros((values.shape[0], values.shape[1] + 1), dtype=np.int64)
        np.cumsum(values, axis=1, out=prefix[:, 1:])
        cache[key] = prefix
        self._shard_totals[k][key] = prefix[:, -1].copy()
        while len(cache) > 2 * self._cache_shards:  # nnz and frame-bits tables
            cache.popitem(last=False)
        return prefix

    def _shard_values(self, k: int, i: int, what: str) -> np.ndarray:
        """Non-zeros (``nnz``) or each frame's bits (``fbits``) per (timestep, sample) of shard ``i``,
        int64 ``[T, samples]``."""
        info, enc = self.infos[k], self.encodings[k]
        shard = self.trace.shards[i]
        stored = next(self.trace.iter_shards(info.name, shard.start, shard.stop))[1]
        n = info.n_features
        if info.kind == "spike":
            if what == "nnz":
                return popcount(stored)
            # one timestep at a time bounds the unpacked size
            return np.stack([enc.frame_bits(unpack_spikes(frame, n)) for frame in stored])
        frames = decode(stored, info.logical_dtype).reshape((info.timesteps, shard.samples, n))
        if self.steps[k] != info.timesteps:  # one frame per sample: the same at every recorded step
            differ = np.argwhere((frames != frames[:1]).any(axis=-1))
            if differ.size:
                t, b = (int(v) for v in differ[0])
                raise TraceError(
                    f"{self.trace.path / shard.file}: boundary {info.name!r}: the activation differs between "
                    f"timestep 0 and {t} (sample {shard.start + b}); ANN mode needs one activation per sample: record "
                    "the activation that enters the encoder once per sample (a tap with time_mode='native', or "
                    "dense='input' on the spike tap with a static input)"
                )
            frames = frames[:1]
        if what == "nnz":
            return np.count_nonzero(frames, axis=-1).astype(np.int64)
        return enc.frame_bits(frames)


def check_compatible(trace: Trace, expected: Sequence[dict]) -> None:
    """Check that the trace has each expected boundary with matching ``features`` (element count),
    ``kind`` and ``timesteps`` (and ``src``/``dst`` if given); raises :class:`TraceError` naming the
    boundary and the field."""
    label = str(Path(trace.path) / "manifest.json")
    names = [b.name for b in trace.boundaries]
    for exp in expected:
        name = exp.get("name")
        if name not in names:
            raise TraceError(f"{label}: boundary {name!r} not in the trace (boundaries: {', '.join(names)})")
        b = trace.boundary(name)
        actual = {
            "features": b.n_features,
            "kind": b.kind,
            "timesteps": b.timesteps,
            "src": b.src,
            "dst": list(b.dst),
        }
        for field in ("features", "kind", "timesteps", "src", "dst"):
            if field not in exp:
                continue
            want = list(exp[field]) if field == "dst" else exp[field]
            if want != actual[field]:
                raise TraceError(
                    f"{label}: boundary {name!r}: {field}: the trace has {actual[field]!r}, "
                    f"the workload expects {want!r}"
                )


def match_boundaries(trace: Trace, kinds: Sequence[str], partitions: Sequence[str]) -> list[str]:
    """Trace boundary names for workload boundaries ``b = 0..len(kinds)-1``: boundary b cuts the partition
    named ``partitions[b]`` from ``partitions[b+1]`` and carries ``kinds[b]`` (``spike`` or ``activation``).

    The match is by partition *name*: the one trace boundary of that kind whose ``src`` is
    ``partitions[b]`` and whose ``dst`` holds ``partitions[b+1]``. A trace may hold both views of a cut
    (the dense activation entering the encoder and the spikes leaving it); each mode takes its own. When a
    cut has no such boundary, the error names both sides: the workload's pair and what the trace holds.
    """
    label = str(Path(trace.path) / "manifest.json")
    names: list[str] = []
    listing = ", ".join(f"{x.name} ({x.kind} {x.src}->{','.join(x.dst)})" for x in trace.boundaries)
    for b, kind in enumerate(kinds):
        src, dst = partitions[b], partitions[b + 1]
        cut = [x for x in trace.boundaries if x.src == src and dst in x.dst]
        found = [x.name for x in cut if x.kind == kind]
        if len(found) == 1:
            names.append(found[0])
            continue
        where = f"workload boundary {b} ({src} -> {dst})"
        if len(found) > 1:
            raise TraceError(f"{label}: {where}: {len(found)} {kind} boundaries in the trace cross it "
                             f"({', '.join(found)}); keep one per cut")
        if cut:
            other = cut[0]
            hint = (" (ANN mode replays the dense activation entering the encoder: record it too, e.g. "
                    "dense='input' on the recorder, or run in snn/snap mode)" if kind == "activation" else
                    " (snn/snap modes replay spikes: record the boundary as kind 'spike')")
            raise TraceError(f"{label}: {where}: the trace has no {kind} boundary at this cut, only "
                             f"{other.name} ({other.kind}){hint}")
        reversed_ = [x.name for x in trace.boundaries if x.src == dst and src in x.dst and x.kind == kind]
        why = (f"; the trace has {', '.join(reversed_)} going the other way ({dst} -> {src})" if reversed_ else "")
        raise TraceError(
            f"{label}: {where}: no trace boundary goes {src} -> {dst}{why}. Workload partitions: "
            f"{', '.join(partitions)}; trace partitions: {', '.join(trace.partitions)}; trace boundaries: "
            f"{listing}. Name the workload's partitions as the trace does (partition.names) or record/import the "
            "trace with matching --src/--dst"
        )
    return names


def trace_payload_for(trace: Trace | str | Path, plan) -> TracePayload:
    """The replay payload model for a :class:`snapsim.plan.Plan`: trace boundaries matched to
    ``plan.boundaries`` by partition name and kind (:func:`match_boundaries`; spikes in snn/snap modes,
    dense activations in ann mode), checked for element count and timesteps, with the plan's encodings
    and batch. In ann mode the activation values are sized at the trace's recorded precision
    (``precision_bits``, unless the workload's ``ann_encoding`` fixes its own); an activation recorded per
    timestep must be the same at every step, and its one frame per sample is replayed."""
    tr = trace if isinstance(trace, Trace) else open_trace(trace)
    kinds = ["spike" if bp.spiking else "activation" for bp in plan.boundaries]
    names = match_boundaries(tr, kinds, plan.workload.partition_names(len(plan.partitions)))
    encodings = []
    for name, kind, bp in zip(names, kinds, plan.boundaries):
        info = tr.boundary(name)
        expected = {"name": name, "features": bp.neurons, "kind": kind}
        if kind == "spike" or not info.has_time:
            expected["timesteps"] = bp.timesteps
        check_compatible(tr, [expected])
        enc = bp.encoding
        if kind == "activation":
            enc = plan.workload.boundary_spec(bp.index).ann_encoding.for_values(info.precision_bits)
        encodings.append(enc)
    return TracePayload(tr, names, encodings, batch=plan.batch, frames=[bp.timesteps for bp in plan.boundaries])
