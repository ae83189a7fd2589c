"""Trace format: bit-exact round trips in both containers, determinism, and the writer's checks."""

from __future__ import annotations

import json

import numpy as np
import pytest

from snapsim.errors import TraceError
from snapsim.trace import TraceWriter, open_trace
from snapsim.trace.bitpack import pack_spikes, padding_clean, popcount, popcount_lut, unpack_spikes
from snapsim.trace.dtypes import FP8_E4M3_TABLE, FP8_E5M2_TABLE, bf16_bits_from_float32
from snapsim.trace.importers import convert

T, N_SAMPLES, SHARD = 4, 10, 3


def _data(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    f32 = rng.standard_normal((N_SAMPLES, 6)).astype(np.float32)
    f32[f32 < 0] = 0  # ReLU-like zeros
    return {
        "spk": rng.random((T, N_SAMPLES, 3, 5)) < 0.3,  # 15 features: one padding bit per... 1 byte + 7 bits
        "f32": f32,
        "f16": rng.standard_normal((N_SAMPLES, 2, 3)).astype(np.float16),
        "bf16": bf16_bits_from_float32(rng.standard_normal((N_SAMPLES, 5)).astype(np.float32)),
        "i8": rng.integers(-128, 128, (N_SAMPLES, 7), dtype=np.int8),
        "u8": rng.integers(0, 256, (N_SAMPLES, 4), dtype=np.uint8),
        "tf16": rng.standard_normal((T, N_SAMPLES, 3)).astype(np.float16),  # activation with a time axis
    }


BOUNDARIES = {
    "spk": dict(kind="spike", features=[3, 5], layout=["T", "B", "C", "W"]),
    "f32": dict(kind="activation", features=[6], logical_dtype="F32"),
    "f16": dict(kind="activation", features=[2, 3], logical_dtype="F16"),
    "bf16": dict(kind="activation", features=[5], logical_dtype="BF16"),
    "i8": dict(kind="activation", features=[7], logical_dtype="I8", precision_bits=4),
    "u8": dict(kind="activation", features=[4], logical_dtype="U8"),
    "tf16": dict(kind="activation", features=[3], logical_dtype="F16", layout=["T", "B", "N"]),
}


def write_trace(path, data, container="safetensors", chunks=(4, 1, 5), **kw):
    """Append in uneven, interleaved chunks so shards flush mid-append."""
    with TraceWriter(path, model="unit", framework="numpy", framework_version=np.__version__,
                     partitions=["die0", "die1", "die2"], timesteps=T, container=container,
                     shard_samples=SHARD, metrics={"accuracy": 0.5}, sparsity={"penalty_weight": 1e-3},
                     **kw) as w:
        for name, spec in BOUNDARIES.items():
            w.add_boundary(name, src="die0", dst=["die1", "die2"] if name == "spk" else ["die1"], **spec)
        pos = 0
        for size in chunks:
            for name, arr in data.items():
                has_t = BOUNDARIES[name].get("layout", ["B"])[0] == "T" or name == "spk"
                w.append(name, arr[:, pos:pos + size] if has_t else arr[pos:pos + size])
            pos += size
    return path


@pytest.fixture(params=["safetensors", "npz"])
def container(request):
    return request.param


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view({2: np.uint16, 4: np.uint32, 1: np.uint8}[a.dtype.itemsize])


def test_round_trip_bit_identical(tmp_path, container):
    data = _data()
    tr = open_trace(write_trace(tmp_path / "t.snaptrace", data, container))
    assert tr.n_samples == N_SAMPLES and tr.container == container
    assert [(s.start, s.stop) for s in tr.shards] == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert all(s.file.endswith("." + container) for s in tr.shards)
    spk = tr.read("spk")
    assert spk.dtype == np.bool_ and spk.shape == (T, N_SAMPLES, 3, 5)
    assert (spk == data["spk"]).all()
    for name in ("f32", "f16", "i8", "u8", "tf16"):
        got = tr.read(name)
        assert got.dtype == data[name].dtype and got.shape == data[name].shape
        assert (_bits(got) == _bits(data[name])).all(), name
    assert (tr.read_stored("bf16") == data["bf16"]).all()  # bf16 bit patterns
    bf = tr.read("bf16")
    assert bf.dtype == np.float32
    assert (bf.view(np.uint32) == data["bf16"].astype(np.uint32) << 16).all()
    # ranges crossing shard boundaries
    assert (tr.read("spk", 2, 8) == data["spk"][:, 2:8]).all()
    assert (tr.read("f32", 5, 10) == data["f32"][5:10]).all()
    assert tr.read("u8", 4, 4).shape == (0, 4)
    # manifest contents
    b = tr.boundary("spk")
    assert b.dst == ("die1", "die2") and b.layout == ("T", "B", "C", "W") and b.n_features == 15
    assert b.stats["nnz"] == int(data["spk"].sum())
    assert b.stats["nnz_per_timestep"] == data["spk"].sum(axis=(1, 2, 3)).tolist()
    assert b.stats["firing_rate"] == pytest.approx(data["spk"].mean())
    assert tr.boundary("f32").stats["zero_fraction"] == pytest.approx((data["f32"] == 0).mean())
    assert tr.boundary("i8").precision_bits == 4 and tr.boundary("u8").precision_bits == 8
    assert tr.manifest["metrics"] == {"accuracy": 0.5}
    assert tr.manifest["sparsity"] == {"penalty_weight": 1e-3}
    tr.validate()


def test_iter_batches_streams_in_order(tmp_path, container):
    data = _data(1)
    tr = open_trace(write_trace(tmp_path / "t.snaptrace", data, container))
    batches = list(tr.iter_batches("spk", batch_samples=4))
    assert [b.shape[1] for b in batches] == [4, 4, 2]
    assert (np.concatenate(batches, axis=1) == data["spk"]).all()
    f16 = list(tr.iter_batches("f16", batch_samples=20))
    assert len(f16) == 1 and (f16[0] == data["f16"]).all()
    with pytest.raises(TraceError):
        next(tr.iter_batches("f16", batch_samples=0))


def test_convert_both_ways_is_bit_exact(tmp_path, container):
    data = _data(2)
    src = write_trace(tmp_path / "a.snaptrace", data, container)
    other = "npz" if container == "safetensors" else "safetensors"
    mid = convert(src, tmp_path / "b.snaptrace", other)
    back = convert(mid, tmp_path / "c.snaptrace", container)
    a, b, c = open_trace(src), open_trace(mid), open_trace(back)
    assert b.container == other
    for name in BOUNDARIES:
        assert (a.read_stored(name) == b.read_stored(name)).all()
        assert a.boundary(name).stats == b.boundary(name).stats
    # converting back reproduces the original files byte for byte
    for s in a.shards:
        assert (src / s.file).read_bytes() == (back / s.file).read_bytes()
    assert (src / "manifest.json").read_text() == (back / "manifest.json").read_text()
    with pytest.raises(TraceError, match="destination is the source"):
        convert(src, src, other, overwrite=True)


def test_output_is_deterministic(tmp_path):
    data = _data(3)
    a = write_trace(tmp_path / "a", data)
    b = write_trace(tmp_path / "b", data, chunks=(10,))  # different append chunking, same bytes
    for f in sorted(p.name for p in a.iterdir()):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def test_bitpack_layout_and_popcount():
    x = np.zeros((1, 1, 10), dtype=bool)
    x[0, 0, [0, 9]] = True
    packed = pack_spikes(x)
    assert packed.tolist() == [[[0b00000001, 0b00000010]]]  # little bit order: bit i of byte j = 8j + i
    assert (unpack_spikes(packed, 10) == x).all()
    assert padding_clean(packed, 10)
    assert not padding_clean(packed | np.uint8(0x80), 10)
    rng = np.random.default_rng(0)
    for nbytes in (3, 8, 16):
        p = rng.integers(0, 256, (4, 5, nbytes), dtype=np.uint8)
        expected = np.unpackbits(p, axis=-1).sum(axis=-1)
        assert (popcount(p) == expected).all()
        assert (popcount_lut(p) == expected).all()


def test_bf16_rounds_to_nearest_even():
    x = np.array([1.0, -2.5, 1.00390625, 1.01171875, 3.0e38, 1e-40], dtype=np.float32)
    bits = bf16_bits_from_float32(x)
    # 1.00390625 is exactly half-way between bf16 1.0 and 1.0078125: ties go to the even pattern
    assert bits.tolist()[:4] == [0x3F80, 0xC020, 0x3F80, 0x3F82]
    back = (bits.astype(np.uint32) << 16).view(np.float32)
    assert back[4] == pytest.approx(3.0e38, rel=1e-2)


def test_fp8_tables():
    assert FP8_E4M3_TABLE[0x38] == 1.0 and FP8_E4M3_TABLE[0x7E] == 448.0 and np.isnan(FP8_E4M3_TABLE[0x7F])
    assert FP8_E4M3_TABLE[0x01] == 2.0**-9
    assert FP8_E5M2_TABLE[0x3C] == 1.0 and FP8_E5M2_TABLE[0x7B] == 57344.0 and np.isinf(FP8_E5M2_TABLE[0x7C])


def test_fp8_activation_round_trip(tmp_path):
    codes = np.arange(0, 0x7F, dtype=np.uint8).reshape(1, -1)  # finite positive E4M3 codes
    with TraceWriter(tmp_path / "f8", model="m", partitions=["a", "b"], timesteps=1) as w:
        w.add_boundary("x", src="a", dst=["b"], kind="activation", features=[codes.shape[1]], logical_dtype="F8_E4M3")
        w.append("x", codes)
    tr = open_trace(tmp_path / "f8")
    assert (tr.read_stored("x") == codes).all()
    assert (tr.read("x") == FP8_E4M3_TABLE[codes]).all()
    assert tr.boundary("x").precision_bits == 8


# --------------------------------------------------------------------------------- writer checks


def _writer(tmp_path, **kw):
    w = TraceWriter(tmp_path / "w.snaptrace", model="m", partitions=["p0", "p1"], timesteps=2, **kw)
    w.add_boundary("fc1->fc2", src="p0", dst=["p1"], kind="spike", features=[4])
    w.add_boundary("act", src="p1", dst=["p0"], kind="activation", features=[3], logical_dtype="F16")
    return w


def test_writer_rejects_non_binary_spikes(tmp_path):
    w = _writer(tmp_path)
    spikes = np.zeros((2, 1, 4), dtype=np.float32)
    spikes[1, 0, 2] = 0.5
    with pytest.raises(TraceError) as info:
        w.append("fc1->fc2", spikes)
    msg = str(info.value)
    assert "w.snaptrace" in msg and "boundary 'fc1->fc2'" in msg and "non-binary" in msg and "[1, 0, 2]" in msg


def test_writer_rejects_nan_and_inf_activations(tmp_path):
    w = _writer(tmp_path)
    for bad in (np.nan, np.inf):
        x = np.zeros((2, 3), dtype=np.float32)
        x[1, 1] = bad
        with pytest.raises(TraceError, match=r"boundary 'act': activation has 1 NaN/Inf"):
            w.append("act", x)


def test_writer_checks_shapes_and_names(tmp_path):
    w = _writer(tmp_path)
    with pytest.raises(TraceError, match=r"boundary 'fc1->fc2': append: got shape \[3, 1, 4\], expected \[2, 'B', 4\]"):
        w.append("fc1->fc2", np.zeros((3, 1, 4), dtype=bool))
    with pytest.raises(TraceError, match="boundary 'nope': unknown boundary"):
        w.append("nope", np.zeros((2, 1, 4)))
    with pytest.raises(TraceError, match="integers"):
        w.add_boundary("late", src="p0", dst=["p1"], kind="activation", features=[1], logical_dtype="I8")
        w.append("late", np.zeros((1, 1), dtype=np.float32))
    w.append("fc1->fc2", np.zeros((2, 1, 4), dtype=bool))
    with pytest.raises(TraceError, match="before the first append"):
        w.add_boundary("later", src="p0", dst=["p1"], kind="spike", features=[2])
    with pytest.raises(TraceError, match=r"different sample counts \('fc1->fc2': 1, 'act': 0, 'late': 0\)"):
        w.close()


@pytest.mark.parametrize(
    "kw, fragment",
    [
        (dict(kind="spike", features=[4], src="p0", dst=["p9"]), "unknown partition 'p9'"),
        (dict(kind="spike", features=[4], src="p0", dst=["p0"]), "other than src"),
        (dict(kind="spike", features=[4], src="p0", dst=["p1"], layout=["B", "T", "N"]), "time-major"),
        (dict(kind="spike", features=[4], src="p0", dst=["p1"], layout=["T", "B"]), "feature dimensions"),
        (dict(kind="activation", features=[4], src="p0", dst=["p1"], logical_dtype="F128"), "unknown dtype 'F128'"),
        (dict(kind="spike", features=[4], src="p0", dst=["p1"], logical_dtype="F32"), "BOOL"),
        (dict(kind="spikes", features=[4], src="p0", dst=["p1"]), "kind: boundary 'b0': input should be 'spike' or"),
        (dict(kind="spike", features=[0], src="p0", dst=["p1"]), "features.0: boundary 'b0': input should be greater"),
    ],
)
def test_add_boundary_errors(tmp_path, kw, fragment):
    w = TraceWriter(tmp_path / "w", model="m", partitions=["p0", "p1"], timesteps=2)
    with pytest.raises(TraceError) as info:
        w.add_boundary("b0", **kw)
    assert fragment in str(info.value) and "boundary 'b0'" in str(info.value)


def test_writer_refuses_non_empty_dir_and_bad_metrics(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("hi")
    with pytest.raises(TraceError, match="not empty"):
        TraceWriter(tmp_path / "x", model="m", partitions=["a"], timesteps=1)
    with pytest.raises(TraceError, match="metrics must be JSON-serialisable"):
        TraceWriter(tmp_path / "y", model="m", partitions=["a"], timesteps=1, metrics={"loss": float("nan")})


def test_exception_inside_with_leaves_no_partial_trace(tmp_path):
    path = tmp_path / "t"
    with pytest.raises(RuntimeError):
        with TraceWriter(path, model="m", partitions=["a", "b"], timesteps=1, shard_samples=1) as w:
            w.add_boundary("x", src="a", dst=["b"], kind="activation", features=[2])
            w.append("x", np.ones((3, 2), dtype=np.float32))  # writes 3 shards
            raise RuntimeError("trainer crashed")
    assert not path.exists()


def test_graded_spike_value(tmp_path):
    with TraceWriter(tmp_path / "g", model="m", partitions=["a", "b"], timesteps=2) as w:
        w.add_boundary("s", src="a", dst=["b"], kind="spike", features=[3], spike_value=0.5)
        w.append("s", np.array([[[0, 0.5, 0.5]], [[0.5, 0, 0]]], dtype=np.float32))
        with pytest.raises(TraceError, match="spikes must be 0 or 0.5"):
            w.append("s", np.ones((2, 1, 3), dtype=np.float32))
    tr = open_trace(tmp_path / "g")
    assert tr.boundary("s").spike_value == 0.5
    assert tr.read("s")[:, 0].tolist() == [[False, True, True], [True, False, False]]
    manifest = json.loads((tmp_path / "g" / "manifest.json").read_text())
    assert manifest["boundaries"][0]["packing"] == {"axis": "features", "bitorder": "little"}


def test_append_accepts_torch_tensors(tmp_path):
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    spikes = torch.rand((2, 3, 9), generator=g) < 0.4
    x = torch.randn((3, 5), generator=g)
    with TraceWriter(tmp_path / "t", model="m", partitions=["a", "b"], timesteps=2) as w:
        w.add_boundary("s", src="a", dst=["b"], kind="spike", features=[9])
        w.add_boundary("bf", src="b", dst=["a"], kind="activation", features=[5], logical_dtype="BF16")
        w.add_boundary("h", src="b", dst=["a"], kind="activation", features=[5], logical_dtype="F16")
        w.append("s", spikes.float().requires_grad_())  # detached on the way
        w.append("bf", x.to(torch.bfloat16))
        w.append("h", x.half())
    tr = open_trace(tmp_path / "t")
    assert (tr.read("s") == spikes.numpy()).all()
    assert (tr.read_stored("bf") == x.to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)).all()
    assert (tr.read("bf") == x.to(torch.bfloat16).float().numpy()).all()
    # numpy's round-to-nearest-even bf16 conversion agrees with torch's
    assert (bf16_bits_from_float32(x.numpy()) == tr.read_stored("bf")).all()
    assert (tr.read("h") == x.half().numpy()).all()
