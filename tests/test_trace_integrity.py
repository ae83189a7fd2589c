"""Trace integrity on every read path (issue 14: hostile traces): checksums checked by run, stats, convert
and validate; convert never launders a modified shard; symlinks out of the trace, compressed npz members,
malformed safetensors headers and hostile manifest values are refused in one line; stats report what the
data says."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from snapsim.cli import main
from snapsim.trace import TraceWriter

ROOT = Path(__file__).resolve().parents[1]
HW = str(ROOT / "hwconfigs" / "packages" / "ucie-a-2x2.yaml")
DIGITS = str(ROOT / "workloads" / "digits_snap.yaml")
SHIPPED = ROOT / "workloads" / "traces" / "digits_snap_l0.snaptrace"


def commands(trace: Path, tmp: Path) -> dict[str, list[str]]:
    return {
        "validate": ["trace", "validate", str(trace)],
        "stats": ["trace", "stats", str(trace)],
        "convert": ["trace", "convert", str(trace), str(tmp / "converted"), "--to", "npz"],
        "run": ["run", "--hw", HW, "--workload", DIGITS, "--trace", str(trace), "--set", "workload.stream.inferences=4"],
    }


def refused_everywhere(trace: Path, tmp: Path, capsys, fragment: str) -> None:
    for name, argv in commands(trace, tmp).items():
        rc = main(argv)
        err = capsys.readouterr().err
        assert rc == 2, (name, err)
        assert "Traceback" not in err
        assert fragment in err, (name, err)
        assert len(err.strip().splitlines()) == 1, (name, err)
    assert not (tmp / "converted").exists()


@pytest.fixture
def digits(tmp_path) -> Path:
    dst = tmp_path / "t.snaptrace"
    shutil.copytree(SHIPPED, dst)
    return dst


def test_modified_shard_is_refused_by_every_command_and_never_laundered(digits, tmp_path, capsys):
    shard = digits / "tensors-00000.safetensors"
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF  # same size: only the checksum can tell
    shard.write_bytes(bytes(data))
    refused_everywhere(digits, tmp_path, capsys, f"{shard}: sha256 differs from the manifest")


def test_checksum_is_verified_once_per_file_state(digits, monkeypatch):
    from snapsim.trace import open_trace
    from snapsim.trace import store

    calls = []
    real = store.file_sha256
    monkeypatch.setattr(store, "file_sha256", lambda p: calls.append(p) or real(p))
    tr = open_trace(digits)
    name = tr.boundaries[0].name
    tr.read(name, 0, 4)
    tr.read(name, 4, 8)
    open_trace(digits).read(name, 0, 2)
    assert len(calls) == 1  # cached by path, size, inode and times
    os.utime(digits / "tensors-00000.safetensors", ns=(1, 1))  # a new file state: checked again
    open_trace(digits).read(name, 0, 2)
    assert len(calls) == 2


def test_symlinked_shard_or_manifest_leaving_the_trace_is_refused(digits, tmp_path, capsys):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shard = digits / "tensors-00000.safetensors"
    shutil.move(shard, outside / shard.name)
    shard.symlink_to(outside / shard.name)
    refused_everywhere(digits, tmp_path, capsys, "the shard is a symbolic link to")
    shard.unlink()
    shutil.move(outside / shard.name, shard)
    manifest = digits / "manifest.json"
    shutil.move(manifest, outside / "manifest.json")
    manifest.symlink_to(outside / "manifest.json")
    refused_everywhere(digits, tmp_path, capsys, "the manifest is a symbolic link to")


def _npz_trace(tmp_path: Path, compress: bool) -> Path:
    path = tmp_path / "z.snaptrace"
    with TraceWriter(path, model="m", partitions=["a", "b"], timesteps=2, container="npz") as w:
        w.add_boundary("x", src="a", dst=["b"], kind="activation", features=[4], logical_dtype="F32")
        w.append("x", np.zeros((8, 4), dtype=np.float32))
    if compress:
        _rewrite_npz(path, lambda name, data: data, zipfile.ZIP_DEFLATED)
    return path


def _rewrite_npz(path: Path, edit, compression: int = zipfile.ZIP_STORED) -> None:
    """Rewrite the npz shard of ``path`` with ``edit(member name, bytes)`` applied to each member, and record
    its new size and checksum (so only the intended defect remains)."""
    shard = path / "tensors-00000.npz"
    with zipfile.ZipFile(shard) as src:
        members = [(info.filename, src.read(info)) for info in src.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as out:
        for name, data in members:
            out.writestr(name, edit(name, data))
    shard.write_bytes(buf.getvalue())
    _fix_manifest(path, shard)


def _fix_manifest(path: Path, shard: Path) -> None:
    m = json.loads((path / "manifest.json").read_text())
    m["shards"][0]["bytes"] = shard.stat().st_size
    m["shards"][0]["sha256"] = hashlib.sha256(shard.read_bytes()).hexdigest()
    (path / "manifest.json").write_text(json.dumps(m))


def test_compressed_npz_members_are_refused(tmp_path, capsys):
    """A 1.9 MB npz whose deflated member expanded to 2 GB cost 6 GB and 19 s in every command."""
    path = _npz_trace(tmp_path, compress=True)
    assert main(["trace", "validate", str(path)]) == 2
    assert "is compressed; snapsim reads npz shards stored uncompressed" in capsys.readouterr().err


def test_npz_member_larger_than_its_header_declares(tmp_path, capsys):
    path = _npz_trace(tmp_path, compress=False)
    _rewrite_npz(path, lambda name, data: data + (b"\0" * 64 if name == "x/values.npy" else b""))
    assert main(["trace", "validate", str(path)]) == 2
    assert "but its .npy header declares" in capsys.readouterr().err


def _safetensors_with_header(digits: Path, mutate) -> None:
    shard = digits / "tensors-00000.safetensors"
    raw = shard.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    header = mutate(header)
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    shard.write_bytes(struct.pack("<Q", len(text)) + text + raw[8 + n :])
    _fix_manifest(digits, shard)


HEADERS = {
    "non-dict __metadata__": (lambda h: {**h, "__metadata__": ["x"]}, "__metadata__ must be a JSON object of strings"),
    "string shape": (lambda h: {k: ({**v, "shape": ["8", "360", "16"]} if k != "__metadata__" else v)
                                for k, v in h.items()}, "shape must be a list of non-negative integers"),
    "string offsets": (lambda h: {k: ({**v, "data_offsets": ["0", "9"]} if k != "__metadata__" else v)
                                  for k, v in h.items()}, "data_offsets must be [begin, end] integers"),
    "bigint shape": (lambda h: {k: ({**v, "shape": [2**70, 2**70]} if k != "__metadata__" else v)
                                for k, v in h.items()}, "data bytes do not match shape"),
    "deep nesting": (lambda h: ("{" + '"a":' * 0 + '"__metadata__": {}, "t": ' + "[" * 5000 + "]" * 5000 + "}").encode(),
                     "nested more than"),
    "overlapping tensors": (lambda h: _overlap(h), "overlaps the tensor before it"),
}


def _overlap(h: dict) -> dict:
    names = [k for k in h if k != "__metadata__"]
    a, b = sorted(names, key=lambda k: h[k]["data_offsets"][0])[:2]
    size = h[b]["data_offsets"][1] - h[b]["data_offsets"][0]
    h[b]["data_offsets"] = [h[a]["data_offsets"][0], h[a]["data_offsets"][0] + size]
    return h


@pytest.mark.parametrize("name", sorted(HEADERS))
def test_hostile_safetensors_headers_are_one_line(digits, tmp_path, capsys, name):
    mutate, fragment = HEADERS[name]
    _safetensors_with_header(digits, mutate)
    refused_everywhere(digits, tmp_path, capsys, fragment)


def test_garbage_npy_header_is_one_line(tmp_path, capsys):
    path = _npz_trace(tmp_path, compress=False)
    garbage = b"{'descr': <built-in>, 'shape': ('8', 4)}"
    _rewrite_npz(path, lambda name, data: data[:10] + garbage.ljust(len(data) - 10) if name == "x/values.npy" else data)
    assert main(["trace", "stats", str(path)]) == 2
    err = capsys.readouterr().err
    assert "unreadable .npy header" in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["-5", "1e308", "NaN", "1e400"])
def test_manifest_statistics_out_of_range_are_refused_not_echoed(digits, tmp_path, capsys, value):
    text = (digits / "manifest.json").read_text()
    m = json.loads(text)
    m["boundaries"][0]["stats"]["firing_rate"] = 0.5
    text = json.dumps(m, indent=2).replace('"firing_rate": 0.5', f'"firing_rate": {value}', 1)
    (digits / "manifest.json").write_text(text)
    assert main(["trace", "stats", str(digits)]) == 2
    err = capsys.readouterr().err
    assert "manifest.json" in err and "firing_rate" in err or "not a JSON number" in err, err
    assert "Traceback" not in err


def test_stats_report_the_data_not_the_manifest(digits, capsys):
    """A plausible but false recorded firing rate (in range) is not what stats prints."""
    assert main(["trace", "stats", str(digits), "--json"]) == 0
    true_rate = json.loads(capsys.readouterr().out)["boundaries"][0]["firing_rate"]
    m = json.loads((digits / "manifest.json").read_text())
    m["boundaries"][0]["stats"]["firing_rate"] = 0.987654
    (digits / "manifest.json").write_text(json.dumps(m))
    assert main(["trace", "stats", str(digits), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["boundaries"][0]["firing_rate"] == true_rate != 0.987654


def test_deeply_nested_manifest_is_one_line(digits, capsys):
    m = json.loads((digits / "manifest.json").read_text())
    text = json.dumps(m)[:-1] + ', "metadata2": ' + "[" * 100_000 + "]" * 100_000 + "}"
    (digits / "manifest.json").write_text(text)
    assert main(["trace", "validate", str(digits)]) == 2
    err = capsys.readouterr().err
    assert "manifest.json:1: JSON nested more than" in err and "Traceback" not in err


def test_shard_without_checksum_is_refused(digits, capsys):
    m = json.loads((digits / "manifest.json").read_text())
    del m["shards"][0]["sha256"]
    (digits / "manifest.json").write_text(json.dumps(m, indent=1))
    assert main(["trace", "validate", str(digits)]) == 2
    assert "shards.0.sha256: required field is missing" in capsys.readouterr().err


def test_huge_event_import_is_refused_by_its_estimate(tmp_path, capsys):
    """A 1e8-neuron event import needed 93 GiB; it is refused before reading the events."""
    ev = tmp_path / "ev.csv"
    ev.write_text("t,b,neuron\n0,0,1\n")
    rc = main(["trace", "import", "--out", str(tmp_path / "o"), "--boundary", "b", "--src", "a", "--dst", "c",
               "--events", str(ev), "--neurons", "100000000", "--timesteps", "8", "--samples", "1000"])
    err = capsys.readouterr().err
    assert rc == 2 and "refused by its estimate" in err and "--max-memory-gib" in err
    assert not (tmp_path / "o").exists()


def test_import_of_too_many_shards_is_refused_at_once(tmp_path, capsys):
    """10^12 samples in shards of 4096 would write 2.4e8 files (a hang)."""
    ev = tmp_path / "ev.csv"
    ev.write_text("t,b,neuron\n0,0,1\n")
    rc = main(["trace", "import", "--out", str(tmp_path / "o"), "--boundary", "b", "--src", "a", "--dst", "c",
               "--events", str(ev), "--neurons", "10", "--timesteps", "2", "--samples", "1000000000000"])
    err = capsys.readouterr().err
    assert rc == 2 and "shard files (at most 100,000; raise --shard-samples)" in err


def test_spike_padding_is_checked_on_every_read(tmp_path, capsys):
    """A re-signed shard with padding bits set would count them as spikes in run and stats."""
    from snapsim.trace.store import ShardReader, write_shard

    path = tmp_path / "p.snaptrace"
    with TraceWriter(path, model="m", partitions=["a", "b"], timesteps=2) as w:
        w.add_boundary("s", src="a", dst=["b"], kind="spike", features=[12])
        w.append("s", np.zeros((2, 4, 12), dtype=bool))
    m = json.loads((path / "manifest.json").read_text())
    shard = path / m["shards"][0]["file"]
    reader = ShardReader(shard, "safetensors")
    tensors = {n: reader.read_all(n).copy() for n in reader.tensors}
    tensors["s/spikes"][..., -1] |= np.uint8(0x80)
    m["shards"][0]["bytes"], m["shards"][0]["sha256"] = write_shard(shard, "safetensors", tensors, reader.header)
    (path / "manifest.json").write_text(json.dumps(m))
    for argv in (["trace", "stats", str(path)], ["trace", "convert", str(path), str(tmp_path / "c"), "--to", "npz"]):
        assert main(argv) == 2
        assert "padding bits beyond feature 12 are set" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()


def test_validate_checks_every_recorded_statistic(digits, capsys):
    m = json.loads((digits / "manifest.json").read_text())
    m["boundaries"][0]["stats"]["firing_rate"] = 0.5
    (digits / "manifest.json").write_text(json.dumps(m))
    assert main(["trace", "validate", str(digits)]) == 2
    assert "stats.firing_rate 0.5 disagrees with the data" in capsys.readouterr().err


def test_a_writer_that_cannot_close_leaves_nothing(tmp_path, capsys):
    """convert of a manifest with no boundaries failed at close and left a half-made trace behind; such a
    manifest is refused now, and a writer whose close fails removes what it wrote."""
    from snapsim.errors import TraceError

    with pytest.raises(TraceError, match="no boundaries were declared"):
        with TraceWriter(tmp_path / "w", model="m", partitions=["a"], timesteps=1):
            pass
    assert not (tmp_path / "w").exists()
    path = _npz_trace(tmp_path, compress=False)
    m = json.loads((path / "manifest.json").read_text())
    m["boundaries"] = []
    (path / "manifest.json").write_text(json.dumps(m, indent=1))
    assert main(["trace", "convert", str(path), str(tmp_path / "c"), "--to", "npz"]) == 2
    assert "boundaries: list should have at least 1 item" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
