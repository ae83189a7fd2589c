"""Family 2: hostile traces. A generator damages good traces (two synthetic ones, safetensors and npz, and
a copy of a shipped trace that ``snapsim run`` replays) in every way a file can be damaged or forged, and
each hostile trace goes through ``trace validate``, ``trace stats``, ``trace convert`` and (for the shipped
copy) ``run``.

A hostile trace is either *corrupt* (every command must refuse it: running it, printing its statistics or
converting it would silently use damaged data; a converted copy must not exist afterwards, since convert
would give the damage fresh checksums) or *odd but sound* (an extra metadata key, a symlink inside the
trace...: each command may run or refuse, never crash).
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import math
import os
import random
import shutil
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from harness import Case, Outcome, get_at, paths_in, run_cases, set_at

ROOT = Path(__file__).resolve().parents[2]
HW = str(ROOT / "hwconfigs" / "packages" / "ucie-a-2x2.yaml")
DIGITS = str(ROOT / "workloads" / "digits_snap.yaml")
SHIPPED = ROOT / "snapsim" / "data" / "workloads" / "traces" / "digits_snap_l0.snaptrace"
MANIFEST = "manifest.json"

HOSTILE = [-1, 0, 2**63, 2**64, 1.5, 1e308, "16", "", "x" * 300, True, None, [], {}, [1, 2, 3], {"a": 1}, "../etc",
           "\u0000", -5, 0.5]
@dataclass
class Hostile:
    name: str
    path: Path
    corrupt: str  # "all": every command must refuse it; "validate": validate must; "none"/"any": sound or odd
    base: str  # "shipped" (run replays it) or a synthetic container


def _synthetic(path: Path, container: str) -> Path:
    from snapsim.trace import TraceWriter

    rng = np.random.default_rng(7)
    with TraceWriter(path, model="fuzz", partitions=["die0", "die1"], timesteps=3, container=container,
                     shard_samples=4, overwrite=True) as w:
        w.add_boundary("spk", src="die0", dst=["die1"], kind="spike", features=[12])
        w.add_boundary("act", src="die1", dst=["die0"], kind="activation", features=[5], logical_dtype="BF16")
        w.append("spk", rng.random((3, 8, 12)) < 0.3)
        w.append("act", rng.standard_normal((8, 5)).astype(np.float32))
    return path


def _manifest(p: Path) -> dict:
    return json.loads((p / MANIFEST).read_text())


def _write_manifest(p: Path, m: Any) -> None:
    (p / MANIFEST).write_text(json.dumps(m, indent=1))


def _fix_shard(p: Path, index: int = 0) -> None:
    """Record shard ``index``'s real size and checksum, so only the intended defect remains."""
    m = _manifest(p)
    shard = p / m["shards"][index]["file"]
    data = shard.read_bytes()
    m["shards"][index]["bytes"] = len(data)
    m["shards"][index]["sha256"] = hashlib.sha256(data).hexdigest()
    _write_manifest(p, m)


# ------------------------------------------------------------------------------------------- damage


_STATS = ("nnz", "slots", "firing_rate", "zero_fraction", "min", "max", "nnz_per_timestep")


def judge(path: tuple, value: Any, original: Any, deleted: bool) -> str:
    """How a trace with ``value`` at manifest ``path`` must be treated: ``all`` (every command refuses it),
    ``validate`` (validate refuses it; the others may run: the statistics are only checked by validate) or
    ``none`` (a sound trace: any command may run it)."""
    dotted = ".".join("N" if isinstance(k, int) else str(k) for k in path)
    top = dotted.split(".")[0]
    same_number = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (value, original))
    if not deleted and (type(value) is type(original) or same_number) and value == original:
        return "none"  # the value it had (0 for 0.0 too)
    if top in ("metrics", "sparsity", "metadata", "run"):
        if dotted == top:
            return "none" if deleted or isinstance(value, dict) or (top == "run" and value is None) else "all"
        return "none"
    if dotted == "writer":
        return "none" if deleted or value is None or isinstance(value, str) else "all"
    if dotted in ("model.framework", "model.framework_version"):
        return "none" if deleted or isinstance(value, str) else "all"
    if dotted == "model.name":
        return "none" if isinstance(value, str) and value else "all"
    if dotted == "boundaries.N" and deleted:
        return "none"  # the rest of the trace is still consistent
    if dotted.startswith("boundaries.N.layout.N") and not deleted:
        return "any" if isinstance(value, str) and value not in ("", "T", "B") else "all"
    if dotted == "boundaries.N.spike_value" and not deleted:  # any finite non-zero number is a graded spike
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value != 0 and math.isfinite(value)
        return "any" if ok else "all"
    if dotted == "boundaries.N.name" and not deleted:  # a name is text; what it says is the recorder's business
        return "any" if isinstance(value, str) and value.isprintable() and value.strip() else "all"
    if dotted == "boundaries.N.stats" or (dotted.startswith("boundaries.N.stats.") and deleted):
        return "none" if deleted else ("validate" if isinstance(value, dict) else "all")
    if dotted.startswith("boundaries.N.stats."):
        return "validate"  # a wrong statistic: validate says so; a value of the wrong kind: every command
    return "all"


def _manifest_mutations(m: dict, r: random.Random, budget: int) -> list[tuple[str, Callable[[Path], None], str]]:
    """(name, damage, how it must be treated) for hostile values at ``budget`` manifest fields, and deletions."""
    out = []
    leaves = paths_in(m, max_items=3)
    for path in r.sample(leaves, min(budget, len(leaves))):
        dotted = ".".join(map(str, path))
        original = get_at(m, path)
        if r.random() < 0.2:
            def delete(p: Path, path=path) -> None:
                mm = _manifest(p)
                set_at(mm, path, None, delete=True)
                _write_manifest(p, mm)
            out.append((f"manifest {dotted} deleted", delete, judge(path, None, original, True)))
            continue
        value = r.choice(HOSTILE)

        def damage(p: Path, path=path, value=value) -> None:
            mm = _manifest(p)
            set_at(mm, path, value)
            _write_manifest(p, mm)
        out.append((f"manifest {dotted} = {value!r:.30}", damage, judge(path, value, original, False)))
    return out


def _raw_manifest(text_fn: Callable[[str], bytes | str]) -> Callable[[Path], None]:
    def damage(p: Path) -> None:
        data = text_fn((p / MANIFEST).read_text())
        (p / MANIFEST).write_bytes(data.encode() if isinstance(data, str) else data)
    return damage


def _shard_path(p: Path) -> Path:
    return p / _manifest(p)["shards"][0]["file"]


def _flip(p: Path) -> None:
    s = _shard_path(p)
    data = bytearray(s.read_bytes())
    data[len(data) - 3] ^= 0x40
    s.write_bytes(bytes(data))


def _truncate(p: Path) -> None:
    s = _shard_path(p)
    s.write_bytes(s.read_bytes()[:-7])


def _append(p: Path) -> None:
    s = _shard_path(p)
    s.write_bytes(s.read_bytes() + b"\0" * 16)


def _resign(fn: Callable[[Path], None]) -> Callable[[Path], None]:
    """Apply ``fn`` to the shard, then record its new size and checksum (a consistent forgery)."""
    def damage(p: Path) -> None:
        fn(p)
        _fix_shard(p)
    return damage


def _st_header(mutate: Callable[[dict], Any]) -> Callable[[Path], None]:
    def damage(p: Path) -> None:
        s = _shard_path(p)
        raw = s.read_bytes()
        (n,) = struct.unpack("<Q", raw[:8])
        h = mutate(json.loads(raw[8 : 8 + n]))
        text = h if isinstance(h, bytes) else json.dumps(h).encode()
        s.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n :])
        _fix_shard(p)
    return damage


def _st_length(value: int) -> Callable[[Path], None]:
    def damage(p: Path) -> None:
        s = _shard_path(p)
        raw = s.read_bytes()
        s.write_bytes(struct.pack("<Q", value) + raw[8:])
        _fix_shard(p)
    return damage


def _tensors(h: dict) -> list[str]:
    return [k for k in h if k != "__metadata__"]


def _each(h: dict, fn) -> dict:
    for k in _tensors(h):
        fn(h[k])
    return h


def _npz_members(edit: Callable[[str, bytes], tuple[str, bytes] | None], compress: int = zipfile.ZIP_STORED,
                 extra: dict | None = None) -> Callable[[Path], None]:
    def damage(p: Path) -> None:
        s = _shard_path(p)
        src = zipfile.ZipFile(s)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression=compress) as out:
            for info in src.infolist():
                got = edit(info.filename, src.read(info))
                if got is not None:
                    out.writestr(got[0], got[1])
            for name, data in (extra or {}).items():
                out.writestr(name, data)
        src.close()
        s.write_bytes(buf.getvalue())
        _fix_shard(p)
    return damage


def _npy(arr: np.ndarray, pickle: bool = False) -> bytes:
    b = io.BytesIO()
    np.save(b, arr, allow_pickle=pickle)
    return b.getvalue()


def _rewrite_spikes(p: Path, change: Callable[[dict, np.ndarray], None]) -> None:
    """``change(boundary, packed)`` edits the first spike boundary's packed frames in shard 0 in place; the
    shard is written again with its size and checksum recorded (statistics are left as they were)."""
    from snapsim.trace.store import ShardReader, write_shard

    m = _manifest(p)
    entry = m["shards"][0]
    reader = ShardReader(p / entry["file"], m["container"])
    tensors = {name: reader.read_all(name).copy() for name in reader.tensors}
    spk = next(b for b in m["boundaries"] if b["kind"] == "spike")
    change(spk, tensors[spk["tensor"]])
    nbytes, sha = write_shard(p / entry["file"], m["container"], tensors, reader.header)
    entry["bytes"], entry["sha256"] = nbytes, sha
    _write_manifest(p, m)


def _set_padding(p: Path) -> None:
    def change(spk: dict, packed: np.ndarray) -> None:
        if not spk["features"][0] % 8:
            raise ValueError("no padding bits: the features fill whole bytes")
        packed[..., -1] |= np.uint8(0x80)

    _rewrite_spikes(p, change)


def _data_changed_consistently(p: Path) -> None:
    """Data changed, size and checksum re-recorded, statistics not: only validate can tell."""
    def change(spk: dict, packed: np.ndarray) -> None:
        packed[0, 0, 0] ^= np.uint8(1)

    _rewrite_spikes(p, change)


def _symlink_out(what: str) -> Callable[[Path], None]:
    def damage(p: Path) -> None:
        target = _shard_path(p) if what == "shard" else p / MANIFEST
        outside = p.parent / f"{p.name}-outside-{what}"
        outside.mkdir(exist_ok=True)
        shutil.move(target, outside / target.name)
        target.symlink_to(outside / target.name)
    return damage


def _symlink_in(p: Path) -> None:
    s = _shard_path(p)
    real = s.with_name("real-" + s.name)
    shutil.move(s, real)
    s.symlink_to(real.name)


def _replace_shard(kind: str) -> Callable[[Path], None]:
    def damage(p: Path) -> None:
        s = _shard_path(p)
        s.unlink()
        if kind == "fifo":
            os.mkfifo(s)
        elif kind == "dir":
            s.mkdir()
        elif kind == "devzero":
            s.symlink_to("/dev/zero")
        elif kind == "missing":
            pass
    return damage


def _common(kind: str) -> list[tuple[str, Callable[[Path], None], bool]]:
    """Damage that applies to any container."""
    out = [
        ("shard byte flipped", _flip, True),
        ("shard truncated", _truncate, True),
        ("bytes appended to a shard", _append, True),
        ("shard truncated, size and sha re-recorded", _resign(_truncate), True),
        ("spike padding bits set, sha re-recorded", _set_padding, True),
        ("data changed, sha re-recorded, stats not", _data_changed_consistently, False),
        ("shard is a symlink out of the trace", _symlink_out("shard"), True),
        ("manifest is a symlink out of the trace", _symlink_out("manifest"), True),
        ("shard is a symlink inside the trace", _symlink_in, False),
        ("shard is a FIFO", _replace_shard("fifo"), True),
        ("shard is a directory", _replace_shard("dir"), True),
        ("shard is a symlink to /dev/zero", _replace_shard("devzero"), True),
        ("shard missing", _replace_shard("missing"), True),
        ("manifest not UTF-8", _raw_manifest(lambda t: t.encode("latin-1", "replace") + b"\xe9\xff"), True),
        ("manifest UTF-16", _raw_manifest(lambda t: t.encode("utf-16")), True),
        ("manifest binary", _raw_manifest(lambda t: os.urandom(300)), True),
        ("manifest truncated", _raw_manifest(lambda t: t[: len(t) // 2]), True),
        ("manifest empty", _raw_manifest(lambda t: ""), True),
        ("manifest a JSON list", _raw_manifest(lambda t: "[" + t + "]"), True),
        ("manifest with NaN", _raw_manifest(lambda t: t.replace('"samples": ', '"samples": NaN, "x": ', 1)), True),
        ("manifest with Infinity", _raw_manifest(lambda t: t.replace('"samples": ', '"samples": Infinity, "x": ', 1)), True),
        ("manifest with 1e400", _raw_manifest(lambda t: t.replace('"shard_samples": ', '"shard_samples": 1e400, "y": ', 1)), True),
        ("manifest duplicate key", _raw_manifest(lambda t: t.replace('"samples":', '"samples": 1, "samples":', 1)), True),
        ("manifest nested 100000 deep", _raw_manifest(lambda t: t.rstrip()[:-1] + ', "deep": ' + "[" * 100_000
                                                      + "]" * 100_000 + "}"), True),
        ("manifest 1000-deep metadata", _raw_manifest(lambda t: t.rstrip()[:-1] + ', "metadata2": ' + '{"a":' * 1000
                                                      + "1" + "}" * 1000 + "}"), True),
        ("manifest with a BOM", _raw_manifest(lambda t: b"\xef\xbb\xbf" + t.encode()), False),
        ("manifest NUL byte", _raw_manifest(lambda t: t.replace("{", "{\0", 1)), True),
        ("manifest newer minor version", _raw_manifest(lambda t: t.replace('"version": "1.0"', '"version": "1.9"')), False),
        ("manifest version 2.0", _raw_manifest(lambda t: t.replace('"version": "1.0"', '"version": "2.0"')), True),
        ("shard file ../escape", _manifest_edit(lambda m: m["shards"][0].update(file="../" + m["shards"][0]["file"])), True),
        ("shard file absolute", _manifest_edit(lambda m: m["shards"][0].update(file="/etc/passwd")), True),
        ("shard bytes 2^63-1", _manifest_edit(lambda m: m["shards"][0].update(bytes=2**63 - 1)), True),
        ("shard sha of another file", _manifest_edit(lambda m: m["shards"][0].update(sha256="0" * 64)), True),
        ("shard samples reversed", _manifest_edit(lambda m: m["shards"][0].update(samples=m["shards"][0]["samples"][::-1])), True),
        ("boundary features 2^40", _manifest_edit(lambda m: m["boundaries"][0].update(features=[2**40])), True),
        ("boundary timesteps 1e9", _manifest_edit(lambda m: m["boundaries"][0].update(timesteps=10**9)), True),
        ("stats firing rate 0.5 (false)", _manifest_edit(lambda m: m["boundaries"][0]["stats"].update(firing_rate=0.5)), False),
        ("stats firing rate -5", _manifest_edit(lambda m: m["boundaries"][0]["stats"].update(firing_rate=-5)), True),
        ("stats firing rate 1e308", _manifest_edit(lambda m: m["boundaries"][0]["stats"].update(firing_rate=1e308)), True),
        ("stats nnz wrong", _manifest_edit(lambda m: m["boundaries"][0]["stats"].update(nnz=m["boundaries"][0]["stats"]["nnz"] + 1)), False),
        ("extra unknown top-level key", _manifest_edit(lambda m: m.update(colour="red")), True),
        ("metrics of every kind", _manifest_edit(lambda m: m.update(metrics={"a": [1, {"b": None}], "c": "x", "d": 1e300})), False),
    ]
    if kind == "safetensors":
        out += [
            ("st __metadata__ a list", _st_header(lambda h: {**h, "__metadata__": ["x"]}), True),
            ("st __metadata__ numbers", _st_header(lambda h: {**h, "__metadata__": {"snapsim.shard": 3}}), True),
            ("st no __metadata__", _st_header(lambda h: {k: v for k, v in h.items() if k != "__metadata__"}), True),
            ("st shard header not JSON", _st_header(lambda h: {**h, "__metadata__": {"snapsim.shard": "{nope"}}), True),
            ("st shard header nested", _st_header(lambda h: {**h, "__metadata__": {"snapsim.shard": "[" * 50_000 + "]" * 50_000}}), True),
            ("st shapes as strings", _st_header(lambda h: _each(h, lambda t: t.update(shape=[str(d) for d in t["shape"]]))), True),
            ("st bigint shapes", _st_header(lambda h: _each(h, lambda t: t.update(shape=[2**70, 2**70]))), True),
            ("st negative shape", _st_header(lambda h: _each(h, lambda t: t.update(shape=[-1] + t["shape"][1:]))), True),
            ("st offsets as strings", _st_header(lambda h: _each(h, lambda t: t.update(data_offsets=[str(x) for x in t["data_offsets"]]))), True),
            ("st offsets reversed", _st_header(lambda h: _each(h, lambda t: t.update(data_offsets=t["data_offsets"][::-1]))), True),
            ("st offsets bigint", _st_header(lambda h: _each(h, lambda t: t.update(data_offsets=[0, 2**70]))), True),
            ("st unknown dtype", _st_header(lambda h: _each(h, lambda t: t.update(dtype="F128"))), True),
            ("st dtype a list", _st_header(lambda h: _each(h, lambda t: t.update(dtype=["U8"]))), True),
            ("st entry a string", _st_header(lambda h: {k: ("x" if k != "__metadata__" else v) for k, v in h.items()}), True),
            ("st extra entry field", _st_header(lambda h: _each(h, lambda t: t.update(extra=1))), True),
            ("st overlapping tensors", _st_header(_overlap), True),
            ("st header nested 10000 deep", _st_header(lambda h: b'{"a": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"), True),
            ("st header a list", _st_header(lambda h: [h]), True),
            ("st header not UTF-8", _st_header(lambda h: json.dumps(h).encode() + b"\xff"), True),
            ("st header duplicate key", _st_header(lambda h: json.dumps(h).replace("{", '{"__metadata__": {}, ', 1).encode()), True),
            ("st header length 2^64-1", _st_length(2**64 - 1), True),
            ("st header length 0", _st_length(0), True),
        ]
    else:
        out += [
            ("npz deflated members", _npz_members(lambda n, d: (n, d), compress=zipfile.ZIP_DEFLATED), True),
            ("npz garbage .npy header", _npz_members(lambda n, d: (n, d[:10] + b"{'descr': ??}".ljust(len(d) - 10)
                                                                if n != "__shard__.npy" else d)), True),
            ("npz .npy magic 9.9", _npz_members(lambda n, d: (n, b"\x93NUMPY\x09\x09" + d[8:]) if n != "__shard__.npy" else (n, d)), True),
            ("npz object array", _npz_members(lambda n, d: (n, _npy(np.array([{"a": 1}, 2], dtype=object), True))
                                              if n != "__shard__.npy" else (n, d)), True),
            ("npz bigint shape", _npz_members(lambda n, d: (n, d.replace(b"'shape': (", b"'shape': (99999999999999999999, ", 1))), True),
            ("npz member longer than its header", _npz_members(lambda n, d: (n, d + b"\0" * 64)), True),
            ("npz member shorter than its header", _npz_members(lambda n, d: (n, d[:-4]) if n != "__shard__.npy" else (n, d)), True),
            ("npz extra non-npy member", _npz_members(lambda n, d: (n, d), extra={"readme.txt": b"hi"}), True),
            ("npz no shard header", _npz_members(lambda n, d: None if n == "__shard__.npy" else (n, d)), True),
            ("npz shard header garbage", _npz_members(lambda n, d: (n, _npy(np.frombuffer(b"\xff{", dtype=np.uint8)))
                                                      if n == "__shard__.npy" else (n, d)), True),
            ("npz big-endian tensor", _npz_members(lambda n, d: (n, d.replace(b"'<u2'", b"'>u2'"))), True),
            ("npz missing tensor", _npz_members(lambda n, d: None if n.startswith("act") else (n, d)), True),
            ("npz not a zip", _resign(lambda p: _shard_path(p).write_bytes(b"PK\x03\x04 not a zip at all")), True),
        ]
    return out


def _overlap(h: dict) -> dict:
    names = sorted(_tensors(h), key=lambda k: h[k]["data_offsets"][0])
    if len(names) >= 2:
        a, b = names[:2]
        size = h[b]["data_offsets"][1] - h[b]["data_offsets"][0]
        h[b]["data_offsets"] = [h[a]["data_offsets"][0], h[a]["data_offsets"][0] + size]
    return h


def _manifest_edit(fn: Callable[[dict], None]) -> Callable[[Path], None]:
    def damage(p: Path) -> None:
        m = _manifest(p)
        fn(m)
        _write_manifest(p, m)
    return damage


SHIPPED_DAMAGE = ("shard byte flipped", "shard truncated", "bytes appended to a shard",
                  "data changed, sha re-recorded, stats not", "shard is a symlink out of the trace",
                  "manifest is a symlink out of the trace", "shard is a symlink inside the trace",
                  "shard is a symlink to /dev/zero", "manifest with NaN", "shard sha of another file",
                  "stats firing rate 0.5 (false)", "stats firing rate -5", "metrics of every kind",
                  "st bigint shapes", "st header length 2^64-1", "st overlapping tensors")
"""What the shipped copy (the one ``run`` replays) gets of the container damage."""


def generate(work: Path, rounds: int, seed: int, per_round: int = 20) -> list[Hostile]:
    """The hostile traces: the container damage once, and ``per_round`` hostile manifest fields per base in
    each of ``rounds`` rounds."""
    bases = {
        "safetensors": _synthetic(work / "base-safetensors", "safetensors"),
        "npz": _synthetic(work / "base-npz", "npz"),
        "shipped": SHIPPED,
    }
    out: list[Hostile] = []
    n = 0
    for rnd in range(rounds):
        r = random.Random(seed * 1000 + rnd)
        for base_name, base in bases.items():
            container = "safetensors" if base_name == "shipped" else base_name
            muts = []
            if rnd == 0:
                muts = [(name, fn, "all" if corrupt is True else ("validate" if "stats" in name or "data changed" in name
                                                                   else "none"))
                        for name, fn, corrupt in _common(container)
                        if base_name != "shipped" or name in SHIPPED_DAMAGE]
            muts += _manifest_mutations(_manifest(base), r, per_round)
            for name, damage, level in muts:
                p = work / f"t{n:05d}.snaptrace"
                n += 1
                shutil.copytree(base, p, symlinks=True)
                try:
                    damage(p)
                except Exception as exc:  # a damage that does not apply to this base: skip it
                    shutil.rmtree(p, ignore_errors=True)
                    print(f"    (skipped {base_name}: {name}: {type(exc).__name__}: {exc})")
                    continue
                out.append(Hostile(f"{base_name}: {name}", p, level, base_name))
    return out


def _not_echoed(o: Outcome) -> None:
    """stats must print the firing rate counted from the data, not the false 0.5 the manifest records."""
    if o.kind == "ok" and json.loads(o.stdout)["boundaries"][0].get("firing_rate") == 0.5:
        o.kind, o.detail = "changed", "stats echoed the manifest's false firing rate"


def _no_copy(dst: Path) -> Callable[[Outcome], None]:
    def check(o: Outcome) -> None:
        if o.kind == "refused" and dst.exists():
            o.kind, o.detail = "changed", f"convert refused but left {dst} behind"
    return check


def run(rounds: int, seed: int, work: Path, jobs: int, mem_mb: int) -> tuple[list[Outcome], int]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    traces = generate(work, rounds, seed)
    cases = []
    for t in traces:
        files = (str(t.path), str(t.path / MANIFEST))
        dst = t.path.with_name(t.path.name + "-converted")
        cmds = [
            ("validate", ["trace", "validate", str(t.path)], None),
            ("stats", ["trace", "stats", str(t.path), "--json"], _not_echoed if "(false)" in t.name else None),
            ("convert", ["trace", "convert", str(t.path), str(dst), "--to", "npz"], _no_copy(dst)),
        ]
        if t.base == "shipped":
            cmds.append(("run", ["run", "--hw", HW, "--workload", DIGITS, "--trace", str(t.path), "--mode", "snap",
                                 "--set", "workload.stream.inferences=4", "--max-wall-s", "5"], None))
        for cmd, argv, check in cmds:
            must = t.corrupt == "all" or (t.corrupt == "validate" and cmd == "validate")
            cases.append(Case(f"{cmd} {t.name}", argv, files=files + ((HW, DIGITS) if cmd == "run" else ()),
                              timeout_s=60, mem_mb=mem_mb, expect=("refused",) if must else None, check=check))
    return run_cases(cases, jobs=jobs, workdir=work / "w"), len(traces)
