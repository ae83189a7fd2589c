"""Shard files: write and read safetensors or npz shards, checking headers without loading data.

safetensors shards are read through ``safetensors.safe_open`` (mmap, per-tensor slices); the header
is also parsed here first so a truncated or inconsistent file gets a clear message. npz shards are
plain (uncompressed) zip members read with ``allow_pickle=False``; object arrays are refused.
Each shard carries a small JSON header: safetensors ``__metadata__["snapsim.shard"]``, npz member
``__shard__`` (uint8 JSON bytes).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..dtypes import DTYPES, STORAGE_NAMES
from ..errors import TraceError

__all__ = ["write_shard", "ShardReader", "SHARD_HEADER_KEY", "NPZ_HEADER_MEMBER", "file_sha256"]

SHARD_HEADER_KEY = "snapsim.shard"
NPZ_HEADER_MEMBER = "__shard__"
# The dtypes a shard may hold: the storage dtypes of the one dtype table (snapsim.dtypes).
_ST_DTYPES = set(STORAGE_NAMES)
_NUMPY_TO_ST = {DTYPES[n].numpy: n for n in STORAGE_NAMES}
_ST_ITEMSIZE = {n: DTYPES[n].numpy.itemsize for n in STORAGE_NAMES}


def write_shard(path: Path, container: str, tensors: dict[str, np.ndarray], header: dict[str, Any]) -> tuple[int, str]:
    """Write one shard atomically (temp file + rename); returns (size in bytes, sha256 hex)."""
    header_json = json.dumps(header, sort_keys=True, separators=(",", ":"))
    if container == "safetensors":
        from safetensors.numpy import save

        data = save({k: np.ascontiguousarray(v) for k, v in tensors.items()}, metadata={SHARD_HEADER_KEY: header_json})
    else:
        buf = io.BytesIO()
        arrays = dict(tensors)
        arrays[NPZ_HEADER_MEMBER] = np.frombuffer(header_json.encode(), dtype=np.uint8)
        np.savez(buf, **arrays)
        data = buf.getvalue()
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    return len(data), hashlib.sha256(data).hexdigest()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class ShardReader:
    """Header-checked access to one shard: tensor names, dtypes and shapes, and sample-range reads."""

    def __init__(self, path: Path, container: str, expected_bytes: int | None = None):
        self.path = Path(path)
        self.container = container
        self.label = str(self.path)
        if not self.path.is_file():
            raise TraceError(f"{self.label}: shard file is missing")
        size = self.path.stat().st_size
        if expected_bytes is not None and size != expected_bytes:
            raise TraceError(
                f"{self.label}: shard is {size} bytes but the manifest records {expected_bytes} "
                f"({'truncated' if size < expected_bytes else 'modified'} shard)"
            )
        self.size = size
        self.tensors: dict[str, tuple[str, tuple[int, ...]]] = {}
        self.header: dict[str, Any] = {}
        if container == "safetensors":
            self._scan_safetensors()
        else:
            self._scan_npz()

    def _bad(self, msg: str) -> TraceError:
        return TraceError(f"{self.label}: {msg}")

    def _scan_safetensors(self) -> None:
        with open(self.path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise self._bad("truncated shard (shorter than the 8-byte safetensors header length)")
            (n,) = struct.unpack("<Q", head)
            if n > self.size - 8:
                raise self._bad(
                    f"truncated shard or not a safetensors file (header claims {n} bytes, {self.size - 8} follow)"
                )
            raw = f.read(n)
        try:
            hdr = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self._bad(f"not a safetensors file (bad JSON header: {exc})") from None
        if not isinstance(hdr, dict):
            raise self._bad("not a safetensors file (header is not a JSON object)")
        data_size = self.size - 8 - n
        meta = hdr.pop("__metadata__", None) or {}
        end_max = 0
        for name, info in hdr.items():
            try:
                dtype, shape, (a, b) = info["dtype"], tuple(info["shape"]), info["data_offsets"]
            except (KeyError, TypeError, ValueError):
                raise self._bad(f"tensor {name!r}: malformed safetensors header entry") from None
            if dtype not in _ST_DTYPES:
                raise self._bad(f"tensor {name!r}: unknown dtype {dtype!r}")
            expected = _ST_ITEMSIZE[dtype] * int(np.prod(shape, dtype=np.int64))
            if b - a != expected:
                raise self._bad(f"tensor {name!r}: {b - a} data bytes do not match shape {list(shape)} of {dtype}")
            if b > data_size:
                raise self._bad(f"truncated shard (tensor {name!r} ends at byte {b}, data has {data_size})")
            end_max = max(end_max, b)
            self.tensors[name] = (dtype, shape)
        if end_max != data_size:
            raise self._bad(f"{data_size - end_max} trailing bytes not covered by any tensor")
        text = meta.get(SHARD_HEADER_KEY)
        self.header = self._parse_header(text)

    def _scan_npz(self) -> None:
        try:
            with zipfile.ZipFile(self.path) as zf:
                for info in zf.infolist():
                    if not info.filename.endswith(".npy"):
                        raise self._bad(f"unexpected member {info.filename!r} (not an .npy array)")
                    name = info.filename[:-4]
                    with zf.open(info) as fp:
                        version = np.lib.format.read_magic(fp)
                        if version == (1, 0):
                            shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
                        elif version == (2, 0):
                            shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
                        else:
                            raise self._bad(f"tensor {name!r}: unsupported .npy format {version}")
                    if dtype.hasobject:
                        raise self._bad(
                            f"tensor {name!r}: object array would need pickle to load "
                            "(refused: snapsim never unpickles; store plain numeric arrays)"
                        )
                    st = None if dtype.byteorder == ">" else _NUMPY_TO_ST.get(dtype)
                    if st is None:
                        raise self._bad(f"tensor {name!r}: unknown dtype {dtype.str!r}")
                    self.tensors[name] = (st, tuple(shape))
        except zipfile.BadZipFile as exc:
            raise self._bad(f"truncated or corrupt npz shard ({exc})") from None
        except (EOFError, ValueError, OSError) as exc:
            raise self._bad(f"truncated or corrupt npz shard ({exc})") from None
        if NPZ_HEADER_MEMBER in self.tensors:
            raw = self.read_all(NPZ_HEADER_MEMBER)
            del self.tensors[NPZ_HEADER_MEMBER]
            self.header = self._parse_header(raw.tobytes().decode("utf-8", errors="replace"))
        else:
            self.header = self._parse_header(None)

    def _parse_header(self, text: str | None) -> dict[str, Any]:
        if text is None:
            raise self._bad("no snapsim shard header (not written by a snapsim TraceWriter?)")
        try:
            hdr = json.loads(text)
        except json.JSONDecodeError:
            raise self._bad("unreadable snapsim shard header") from None
        if not isinstance(hdr, dict):
            raise self._bad("unreadable snapsim shard header")
        return hdr

    def read_all(self, name: str) -> np.ndarray:
        """The whole stored tensor ``name``."""
        return self.read(name, None, None, 0)

    def read(self, name: str, start: int | None, stop: int | None, axis: int) -> np.ndarray:
        """Stored tensor ``name`` sliced ``[start:stop]`` along ``axis`` (the sample axis)."""
        try:
            if self.container == "safetensors":
                from safetensors import safe_open

                with safe_open(str(self.path), framework="numpy") as f:
                    if start is None and stop is None:
                        return f.get_tensor(name)
                    sl = f.get_slice(name)
                    index = (slice(None),) * axis + (slice(start, stop),)
                    return sl[index]
            with zipfile.ZipFile(self.path) as zf, zf.open(name + ".npy") as fp:
                arr = np.lib.format.read_array(fp, allow_pickle=False)
        except TraceError:
            raise
        except Exception as exc:  # the libraries raise assorted types on corrupt data
            raise self._bad(f"tensor {name!r}: cannot read ({type(exc).__name__}: {exc})") from None
        if start is None and stop is None:
            return arr
        index = (slice(None),) * axis + (slice(start, stop),)
        return arr[index]
