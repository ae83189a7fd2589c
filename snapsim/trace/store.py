"""Shard files: write and read safetensors or npz shards, checking headers without loading data.

safetensors shards are read through ``safetensors.safe_open`` (mmap, per-tensor slices); the header
is also parsed here first, every field type-checked (a JSON object of string metadata, tensors with a
known dtype, a list of non-negative integer dimensions and contiguous ``[begin, end)`` offsets covering
the data exactly), so a truncated, inconsistent or hostile file gets a one-line message. npz shards are
zip members stored **uncompressed** (``np.savez``, not ``savez_compressed``: a deflated member could
expand to any size) whose ``.npy`` header matches the member's size exactly, read with
``allow_pickle=False``; object arrays are refused. Each shard carries a small JSON header: safetensors
``__metadata__["snapsim.shard"]``, npz member ``__shard__`` (uint8 JSON bytes).

:func:`verify_sha256` checks a shard against its manifest checksum, once per process for each file state
(path, size, inode, modification and change times).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ..dtypes import DTYPES, STORAGE_NAMES
from ..errors import ConfigError, TraceError

__all__ = ["write_shard", "ShardReader", "SHARD_HEADER_KEY", "NPZ_HEADER_MEMBER", "file_sha256", "verify_sha256"]

SHARD_HEADER_KEY = "snapsim.shard"
NPZ_HEADER_MEMBER = "__shard__"
# The dtypes a shard may hold: the storage dtypes of the one dtype table (snapsim.dtypes).
_ST_DTYPES = set(STORAGE_NAMES)
_NUMPY_TO_ST = {DTYPES[n].numpy: n for n in STORAGE_NAMES}
_ST_ITEMSIZE = {n: DTYPES[n].numpy.itemsize for n in STORAGE_NAMES}
MAX_HEADER_BYTES = 16 << 20
"""Largest safetensors JSON header or npz ``__shard__`` member read (a shard's header is a few KiB)."""
MAX_MEMBERS = 4096
"""Most tensors (npz members) in one shard."""


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


_VERIFIED: set[tuple] = set()


def verify_sha256(path: Path, expected: str | None, label: str | None = None, cached: bool = True) -> None:
    """Raise TraceError unless the file at ``path`` has sha256 ``expected``. A file state already verified
    in this process (same real path, size, inode, modification and change times) is not read again unless
    ``cached`` is false."""
    if expected is None:
        raise TraceError(f"{label or path}: the manifest records no sha256 for this shard (refused: its content "
                         "cannot be checked)")
    try:
        st = os.stat(path)
        key = (os.path.realpath(path), st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns, expected)
    except OSError as exc:
        raise TraceError(f"{label or path}: cannot read shard: {exc.strerror}") from None
    if cached and key in _VERIFIED:
        return
    try:
        actual = file_sha256(path)
    except OSError as exc:
        raise TraceError(f"{label or path}: cannot read shard: {exc.strerror}") from None
    if actual != expected:
        raise TraceError(f"{label or path}: sha256 differs from the manifest (modified or corrupted shard; "
                         "refused: re-export the trace)")
    _VERIFIED.add(key)


def _int_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)


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
            if n > MAX_HEADER_BYTES:
                raise self._bad(f"safetensors header of {n:,} bytes (at most {MAX_HEADER_BYTES:,} are read)")
            raw = f.read(n)
        hdr = self._json(raw, "safetensors header")
        if not isinstance(hdr, dict):
            raise self._bad("not a safetensors file (header is not a JSON object)")
        data_size = self.size - 8 - n
        meta = hdr.pop("__metadata__", None)
        if meta is None:
            meta = {}
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise self._bad("safetensors __metadata__ must be a JSON object of strings")
        if len(hdr) > MAX_MEMBERS:
            raise self._bad(f"{len(hdr)} tensors in one shard (at most {MAX_MEMBERS})")
        spans = []
        for name, info in hdr.items():
            if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
                raise self._bad(f"tensor {name!r}: malformed safetensors header entry (needs exactly dtype, shape "
                                "and data_offsets)")
            dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
            if not isinstance(dtype, str) or dtype not in _ST_DTYPES:
                raise self._bad(f"tensor {name!r}: unknown dtype {dtype!r}")
            if not _int_list(shape):
                raise self._bad(f"tensor {name!r}: shape must be a list of non-negative integers; got {shape!r}")
            if not _int_list(offsets) or len(offsets) != 2 or offsets[0] > offsets[1]:
                raise self._bad(f"tensor {name!r}: data_offsets must be [begin, end] integers with begin <= end; "
                                f"got {offsets!r}")
            a, b = offsets
            expected = _ST_ITEMSIZE[dtype] * math.prod(shape)  # Python integers: no overflow
            if b - a != expected:
                raise self._bad(f"tensor {name!r}: {b - a} data bytes do not match shape {list(shape)} of {dtype}")
            if b > data_size:
                raise self._bad(f"truncated shard (tensor {name!r} ends at byte {b}, data has {data_size})")
            spans.append((a, b, name))
            self.tensors[name] = (dtype, tuple(shape))
        pos = 0
        for a, b, name in sorted(spans):
            if a != pos:
                what = "overlaps the tensor before it" if a < pos else f"leaves {a - pos} bytes uncovered before it"
                raise self._bad(f"tensor {name!r}: data_offsets [{a}, {b}] {what}")
            pos = b
        if pos != data_size:
            raise self._bad(f"{data_size - pos} trailing bytes not covered by any tensor")
        text = meta.get(SHARD_HEADER_KEY)
        self.header = self._parse_header(text)

    def _json(self, raw: bytes, what: str) -> Any:
        """JSON through the input gate (UTF-8, depth, duplicate keys, finite numbers), as TraceError."""
        from ..config.yamlio import decode_text, load_json_text

        try:
            return load_json_text(decode_text(raw, self.label), self.label, what=what)
        except ConfigError as exc:
            raise self._bad(f"not a safetensors file or a corrupt header ({exc.problems[0].message})" if exc.problems
                            else f"corrupt {what}") from None

    def _scan_npz(self) -> None:
        try:
            with zipfile.ZipFile(self.path) as zf:
                infos = zf.infolist()
                if len(infos) > MAX_MEMBERS:
                    raise self._bad(f"{len(infos)} members in one shard (at most {MAX_MEMBERS})")
                for info in infos:
                    if not info.filename.endswith(".npy"):
                        raise self._bad(f"unexpected member {info.filename!r} (not an .npy array)")
                    name = info.filename[:-4]
                    if info.compress_type != zipfile.ZIP_STORED:
                        raise self._bad(f"tensor {name!r} is compressed; snapsim reads npz shards stored "
                                        "uncompressed (np.savez, not np.savez_compressed)")
                    with zf.open(info) as fp:
                        shape, dtype = self._npy_header(fp, name)
                        header_len = fp.tell()
                    if dtype.hasobject:
                        raise self._bad(
                            f"tensor {name!r}: object array would need pickle to load "
                            "(refused: snapsim never unpickles; store plain numeric arrays)"
                        )
                    st = None if dtype.byteorder == ">" else _NUMPY_TO_ST.get(dtype)
                    if st is None:
                        raise self._bad(f"tensor {name!r}: unknown dtype {dtype.str!r}")
                    want = header_len + math.prod(shape) * dtype.itemsize
                    if info.file_size != want:
                        raise self._bad(f"tensor {name!r}: member of {info.file_size:,} bytes, but its .npy header "
                                        f"declares {want:,} (shape {list(shape)} of {dtype.str})")
                    if name == NPZ_HEADER_MEMBER and info.file_size > MAX_HEADER_BYTES:
                        raise self._bad(f"shard header member of {info.file_size:,} bytes")
                    self.tensors[name] = (st, tuple(shape))
        except TraceError:
            raise
        except zipfile.BadZipFile as exc:
            raise self._bad(f"truncated or corrupt npz shard ({exc})") from None
        except (EOFError, ValueError, OSError, RuntimeError, NotImplementedError, OverflowError) as exc:
            raise self._bad(f"truncated or corrupt npz shard ({type(exc).__name__}: {exc})") from None
        if NPZ_HEADER_MEMBER in self.tensors:
            raw = self.read_all(NPZ_HEADER_MEMBER)
            del self.tensors[NPZ_HEADER_MEMBER]
            self.header = self._parse_header(raw.tobytes().decode("utf-8", errors="replace"))
        else:
            self.header = self._parse_header(None)

    def _npy_header(self, fp, name: str) -> tuple[tuple[int, ...], np.dtype]:
        """Shape and dtype from an ``.npy`` header; any garbage is a TraceError."""
        try:
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
            else:
                raise self._bad(f"tensor {name!r}: unsupported .npy format {version}")
        except TraceError:
            raise
        except Exception as exc:  # numpy raises ValueError, SyntaxError, TypeError... on a garbage header
            raise self._bad(f"tensor {name!r}: unreadable .npy header ({type(exc).__name__})") from None
        if not (isinstance(shape, tuple) and all(isinstance(d, int) and d >= 0 for d in shape)):
            raise self._bad(f"tensor {name!r}: .npy shape must be non-negative integers; got {shape!r}")
        return shape, dtype

    def _parse_header(self, text: str | None) -> dict[str, Any]:
        if text is None:
            raise self._bad("no snapsim shard header (not written by a snapsim TraceWriter?)")
        from ..config.yamlio import load_json_text

        try:
            hdr = load_json_text(text, self.label, what="shard header")
        except ConfigError:
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
