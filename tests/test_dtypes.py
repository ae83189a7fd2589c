"""One dtype table (snapsim.dtypes): every dtype the recorder can produce round-trips record -> write ->
read -> stats, and a dtype that cannot be stored is refused in one place with a clear message."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from snapsim import dtypes  # noqa: E402
from snapsim.config.hardware import PRECISION_BITS  # noqa: E402
from snapsim.errors import TraceError  # noqa: E402
from snapsim.export import BoundaryRecorder, logical_dtype_name  # noqa: E402
from snapsim.trace import TraceWriter, open_trace  # noqa: E402
from snapsim.trace.importers import import_array  # noqa: E402
from snapsim.trace.stats import report_encodings  # noqa: E402


def _record(tensors: list, tmp_path, name: str = "t"):
    """Record ``tensors`` (one batch each) at the output of an identity module and write the trace."""
    net = torch.nn.Sequential(torch.nn.Identity())
    with BoundaryRecorder(net, {"x": "0"}, kind="activation", time_mode="native") as rec:
        for t in tensors:
            net(t)
    return rec, open_trace(rec.write(tmp_path / f"{name}.snaptrace", model=name, partitions=["p0", "p1"]))


def test_recorded_int64_tensor_round_trips(tmp_path):
    """Defect 5: the recorder mapped int64 to I64, which the writer did not know."""
    x = torch.tensor([[0, -3, 2**40], [7, 0, -(2**62)]], dtype=torch.int64)
    rec, tr = _record([x], tmp_path, "i64")
    b = tr.boundary("x")
    assert (b.logical_dtype, b.storage_dtype, b.precision_bits) == ("I64", "I64", 64)
    back = tr.read("x")
    assert back.dtype == np.int64 and np.array_equal(back, x.numpy())
    assert b.stats["nnz"] == 4 and b.stats["min"] == -(2**62) and b.stats["max"] == 2**40
    tr.validate()
    (row,) = report_encodings(tr, precision_bits=b.precision_bits)
    assert row["zero_fraction"] == pytest.approx(2 / 6)
    assert row["bits_per_sample"]["dense(64b)"] == 3 * 64


def _sample(torch_dtype) -> "torch.Tensor":
    g = torch.Generator().manual_seed(0)
    x = torch.randn(5, 3, generator=g) * 4
    x[x.abs() < 1] = 0
    if torch_dtype.is_floating_point:
        return x.to(torch_dtype)
    lo = 0 if torch_dtype in (torch.uint8, torch.uint16, torch.uint32, torch.uint64) else -8
    return x.clamp(min=lo).to(torch.int32).to(torch_dtype)


RECORDABLE = [d for d in dtypes.DTYPES.values() if d.torch is not None and d.name != "BOOL"]


@pytest.mark.parametrize("d", RECORDABLE, ids=lambda d: d.name)
def test_every_recordable_dtype_round_trips(tmp_path, d):
    torch_dtype = getattr(torch, d.torch)
    x = _sample(torch_dtype)
    assert logical_dtype_name(torch_dtype) == (d.name, d.bits)
    _, tr = _record([x, x[:2]], tmp_path, d.name)
    b = tr.boundary("x")
    assert (b.logical_dtype, b.storage_dtype, b.precision_bits) == (d.name, d.storage, d.bits)
    stored = tr.read_stored("x")
    assert stored.dtype == d.numpy
    want = torch.cat([x, x[:2]])
    # stored bytes are the tensor's own bytes (bf16 and fp8 as their bit patterns)
    assert np.array_equal(stored.view(np.uint8), want.view(torch.uint8).numpy())
    nonzero = int(torch.count_nonzero(want.to(torch.float64)))
    assert b.stats["nnz"] == nonzero and b.stats["slots"] == want.numel()
    tr.validate()
    report_encodings(tr, precision_bits=b.precision_bits)


def test_unsupported_torch_dtype_is_refused_with_the_supported_list():
    with pytest.raises(TraceError) as info:
        logical_dtype_name(torch.complex64)
    msg = str(info.value)
    assert "torch.complex64" in msg and "torch.int64" in msg and "torch.bfloat16" in msg


@pytest.mark.parametrize("container", ["safetensors", "npz"])
def test_writer_and_both_containers_know_every_dtype_of_the_table(tmp_path, container):
    for d in dtypes.DTYPES.values():
        if d.name == "BOOL":
            continue
        path = tmp_path / f"{d.name}.snaptrace"
        with TraceWriter(path, model="m", partitions=["a", "b"], timesteps=1, container=container) as w:
            w.add_boundary("x", src="a", dst=["b"], kind="activation", features=[2], logical_dtype=d.name)
            w.append_stored("x", np.arange(6, dtype=d.numpy).reshape(3, 2))
        tr = open_trace(path)
        b = tr.boundary("x")
        assert (b.storage_dtype, b.precision_bits) == (d.storage, d.bits)
        assert np.array_equal(tr.read_stored("x"), np.arange(6, dtype=d.numpy).reshape(3, 2))
        tr.validate()


def test_importer_names_numpy_dtypes_from_the_table(tmp_path):
    out = import_array(tmp_path / "i64", np.array([[1, 0, -5]], dtype=np.int64), boundary="x", src="a",
                       dst=["b"], layout="B,N")
    assert open_trace(out).boundary("x").logical_dtype == "I64"
    with pytest.raises(TraceError, match="unknown dtype bool for an activation"):
        import_array(tmp_path / "b", np.zeros((1, 3), dtype=bool), boundary="x", src="a", dst=["b"],
                     layout="B,N", kind="activation")


def test_unknown_dtype_is_refused_by_the_writer(tmp_path):
    with pytest.raises(TraceError) as info:
        with TraceWriter(tmp_path / "t", model="m", partitions=["a", "b"], timesteps=1) as w:
            w.add_boundary("x", src="a", dst=["b"], kind="activation", features=[2], logical_dtype="C64")
    assert "unknown dtype 'C64'" in str(info.value) and "I64" in str(info.value)


def test_integer_range_comes_from_the_logical_bits(tmp_path):
    with pytest.raises(TraceError) as info:
        with TraceWriter(tmp_path / "t", model="m", partitions=["a", "b"], timesteps=1) as w:
            w.add_boundary("x", src="a", dst=["b"], kind="activation", features=[2], logical_dtype="I4")
            w.append("x", np.array([[1, 8]], dtype=np.int8))
    assert "outside the I4 range [-8, 7]" in str(info.value)


def test_workload_precisions_come_from_the_table():
    assert PRECISION_BITS == {"fp32": 32, "fp16": 16, "bf16": 16, "fp8": 8, "int8": 8, "int4": 4}
    for name, bits in PRECISION_BITS.items():
        assert dtypes.PRECISIONS[name].bits == bits
