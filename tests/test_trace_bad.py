"""A malformed-trace corpus built programmatically: every defect gives one clear TraceError that names
the file and, where there is one, the boundary."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile

import numpy as np
import pytest

from snapsim.errors import TraceError
from snapsim.trace import TraceWriter, open_trace
from snapsim.trace.store import ShardReader, write_shard

SPK, ACT = "enc.l3->dec.l0", "proj"


@pytest.fixture(params=["safetensors", "npz"])
def good(request, tmp_path_factory):
    """A valid 2-shard trace with one spike and one F32 activation boundary."""
    path = tmp_path_factory.mktemp("bad_traces") / f"good-{request.param}.snaptrace"
    rng = np.random.default_rng(0)
    with TraceWriter(path, model="m", partitions=["die0", "die1"], timesteps=3, container=request.param,
                     shard_samples=4) as w:
        w.add_boundary(SPK, src="die0", dst=["die1"], kind="spike", features=[12])
        w.add_boundary(ACT, src="die1", dst=["die0"], kind="activation", features=[5], logical_dtype="F32")
        w.append(SPK, rng.random((3, 8, 12)) < 0.4)
        w.append(ACT, rng.standard_normal((8, 5)).astype(np.float32))
    return path


def _copy(good, tmp_path):
    dst = tmp_path / good.name
    shutil.copytree(good, dst)
    return dst


def _manifest(path):
    return json.loads((path / "manifest.json").read_text())


def _save_manifest(path, m):
    (path / "manifest.json").write_text(json.dumps(m, indent=2))


def _rewrite_shard(path, index, mutate):
    """Rewrite shard ``index`` with ``mutate(tensors)`` applied and fix its size/sha in the manifest,
    so only the intended defect remains."""
    m = _manifest(path)
    entry = m["shards"][index]
    reader = ShardReader(path / entry["file"], m["container"])
    tensors = {name: reader.read_all(name) for name in reader.tensors}
    mutate(tensors)
    nbytes, sha = write_shard(path / entry["file"], m["container"], tensors, reader.header)
    entry["bytes"], entry["sha256"] = nbytes, sha
    _save_manifest(path, m)
    return path / entry["file"]


def _expect(path, *fragments, validate=False):
    with pytest.raises(TraceError) as info:
        tr = open_trace(path)
        if validate:
            tr.validate()
    msg = str(info.value)
    for f in fragments:
        assert f in msg, f"{f!r} not in {msg!r}"
    assert "\n" not in msg and "Traceback" not in msg
    return msg


def test_good_trace_is_valid(good):
    open_trace(good).validate()


def test_truncated_shard(good, tmp_path):
    path = _copy(good, tmp_path)
    shard = next(path.glob("tensors-00001.*"))
    data = shard.read_bytes()
    shard.write_bytes(data[: len(data) - 7])
    _expect(path, str(shard), "truncated shard")
    # same defect with the manifest size "fixed": the container header catches it
    m = _manifest(path)
    m["shards"][1]["bytes"] = len(data) - 7
    _save_manifest(path, m)
    _expect(path, str(shard), "truncated")


def test_shape_disagrees_with_manifest(good, tmp_path):
    path = _copy(good, tmp_path)
    m = _manifest(path)
    m["boundaries"][1]["features"] = [6]
    _save_manifest(path, m)
    _expect(path, "tensors-00000", f"boundary '{ACT}'", "has shape [4, 5] but the manifest implies [4, 6]")


def test_packed_spike_shape_disagrees(good, tmp_path):
    path = _copy(good, tmp_path)
    _rewrite_shard(path, 0, lambda t: t.update({f"{SPK}/spikes": np.zeros((3, 4, 3), dtype=np.uint8)}))
    _expect(path, "tensors-00000", f"boundary '{SPK}'", "[3, 4, 3]", "[3, 4, 2]")


def test_non_binary_spike_data(good, tmp_path):
    path = _copy(good, tmp_path)

    def set_padding(t):
        t[f"{SPK}/spikes"] = t[f"{SPK}/spikes"].copy()
        t[f"{SPK}/spikes"][1, 2, 1] |= 0x40  # feature 14 of 12: a padding bit

    shard = _rewrite_shard(path, 1, set_padding)
    open_trace(path)  # headers are fine
    _expect(path, str(shard), f"boundary '{SPK}'", "non-binary", validate=True)


def test_nan_and_inf_in_activation(good, tmp_path):
    path = _copy(good, tmp_path)

    def poison(t):
        t[f"{ACT}/values"] = t[f"{ACT}/values"].copy()
        t[f"{ACT}/values"][2, 3] = np.nan
        t[f"{ACT}/values"][0, 0] = np.inf

    shard = _rewrite_shard(path, 1, poison)
    tr = open_trace(path)
    tr.read(SPK)  # other boundaries still read
    with pytest.raises(TraceError) as info:
        tr.read(ACT)
    assert str(shard) in str(info.value) and f"boundary '{ACT}'" in str(info.value)
    assert "2 NaN/Inf" in str(info.value)
    _expect(path, str(shard), f"boundary '{ACT}'", "NaN/Inf", validate=True)


@pytest.mark.parametrize("version", ["2.0", "0.1", 1.0, None])
def test_unknown_schema_version(good, tmp_path, version):
    path = _copy(good, tmp_path)
    m = _manifest(path)
    m["version"] = version
    _save_manifest(path, m)
    _expect(path, str(path / "manifest.json"), "unknown schema version", repr(version))


def test_wrong_schema_name(good, tmp_path):
    path = _copy(good, tmp_path)
    m = _manifest(path)
    m["schema"] = "other.trace"
    _save_manifest(path, m)
    _expect(path, "manifest.json", "schema: expected 'snapsim.trace'")


def test_missing_tensor(good, tmp_path):
    path = _copy(good, tmp_path)
    shard = _rewrite_shard(path, 0, lambda t: t.pop(f"{ACT}/values"))
    _expect(path, str(shard), f"boundary '{ACT}'", f"missing tensor '{ACT}/values'")


def test_missing_shard_file(good, tmp_path):
    path = _copy(good, tmp_path)
    shard = next(path.glob("tensors-00001.*"))
    shard.unlink()
    _expect(path, str(shard), "missing")


def test_npz_that_would_need_pickle(tmp_path):
    path = tmp_path / "p.snaptrace"
    with TraceWriter(path, model="m", partitions=["a", "b"], timesteps=1, container="npz") as w:
        w.add_boundary("x", src="a", dst=["b"], kind="activation", features=[2], logical_dtype="F32")
        w.append("x", np.ones((2, 2), dtype=np.float32))
    shard = path / "tensors-00000.npz"
    # replace the tensor with an object array (np.save pickles it) inside an otherwise valid npz
    src = zipfile.ZipFile(shard)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for info in src.infolist():
            if info.filename == "x/values.npy":
                member = io.BytesIO()
                np.save(member, np.array([[{"evil": 1}, 2]], dtype=object), allow_pickle=True)
                out.writestr(info.filename, member.getvalue())
            else:
                out.writestr(info, src.read(info))
    src.close()
    shard.write_bytes(buf.getvalue())
    m = _manifest(path)
    m["shards"][0]["bytes"] = len(buf.getvalue())
    m["shards"][0]["sha256"] = hashlib.sha256(buf.getvalue()).hexdigest()
    _save_manifest(path, m)
    _expect(path, str(shard), "tensor 'x/values'", "pickle")


def test_unknown_logical_dtype(good, tmp_path):
    path = _copy(good, tmp_path)
    m = _manifest(path)
    m["boundaries"][1]["logical_dtype"] = "F128"
    _save_manifest(path, m)
    _expect(path, "manifest.json", f"boundary '{ACT}'", "logical_dtype", "unknown dtype 'F128'")


def test_stored_dtype_differs_from_manifest(good, tmp_path):
    path = _copy(good, tmp_path)
    shard = _rewrite_shard(path, 0, lambda t: t.update({f"{ACT}/values": t[f"{ACT}/values"].astype(np.float64)}))
    _expect(path, str(shard), f"boundary '{ACT}'", "stored as F64 but the manifest says F32")


def test_unknown_partition_and_duplicate_boundary(good, tmp_path):
    path = _copy(good, tmp_path)
    m = _manifest(path)
    m["boundaries"][0]["dst"] = ["die7"]
    _save_manifest(path, m)
    _expect(path, "manifest.json", f"boundary '{SPK}'", "unknown partition 'die7'")
    m["boundaries"][0]["dst"] = ["die1"]
    m["boundaries"][1]["name"] = SPK
    _save_manifest(path, m)
    _expect(path, "manifest.json", "names and tensor names must be unique")


def test_missing_field_and_bad_json(good, tmp_path):
    path = _copy(good, tmp_path)
    m = _manifest(path)
    del m["boundaries"][0]["layout"]
    _save_manifest(path, m)
    _expect(path, "manifest.json", f"boundary '{SPK}'", "layout", "required field is missing")
    (path / "manifest.json").write_text("{not json")
    _expect(path, "manifest.json", "not valid JSON")
    (path / "manifest.json").unlink()
    _expect(path, "manifest.json", "missing")


def test_batch_first_layout_is_refused(good, tmp_path):
    path = _copy(good, tmp_path)
    m = _manifest(path)
    m["boundaries"][0]["layout"] = ["B", "T", "N"]
    _save_manifest(path, m)
    _expect(path, f"boundary '{SPK}'", "time-major")


def test_swapped_shards(good, tmp_path):
    path = _copy(good, tmp_path)
    m = _manifest(path)
    m["shards"][0]["file"], m["shards"][1]["file"] = m["shards"][1]["file"], m["shards"][0]["file"]
    m["shards"][0]["bytes"], m["shards"][1]["bytes"] = m["shards"][1]["bytes"], m["shards"][0]["bytes"]
    _save_manifest(path, m)
    _expect(path, "tensors-00001", "shard header says shard 1")


def test_shard_gap_in_manifest(good, tmp_path):
    path = _copy(good, tmp_path)
    m = _manifest(path)
    m["shards"][1]["samples"] = [5, 8]
    _save_manifest(path, m)
    _expect(path, "manifest.json", "shards.1.samples", "contiguously from 4")


def test_modified_shard_fails_checksum(good, tmp_path):
    path = _copy(good, tmp_path)
    shard = next(path.glob("tensors-00000.*"))
    m = _manifest(path)
    sha = m["shards"][0]["sha256"]
    _rewrite_shard(path, 0, lambda t: t.update({f"{ACT}/values": t[f"{ACT}/values"] + np.float32(1)}))
    m2 = _manifest(path)
    m2["shards"][0]["sha256"] = sha  # only the content changed
    _save_manifest(path, m2)
    open_trace(path)
    _expect(path, str(shard), "sha256 differs", validate=True)


def test_stats_that_disagree_with_data(good, tmp_path):
    path = _copy(good, tmp_path)
    m = _manifest(path)
    m["boundaries"][0]["stats"]["nnz"] += 1
    _save_manifest(path, m)
    _expect(path, "manifest.json", f"boundary '{SPK}'", "disagree with the data", validate=True)


def test_not_a_shard_file(good, tmp_path):
    path = _copy(good, tmp_path)
    shard = next(path.glob("tensors-00000.*"))
    size = shard.stat().st_size
    shard.write_bytes(b"\xff" * size)
    _expect(path, str(shard))
