"""Frame packing (``encoding.pack``): several timesteps' frames in one message, so sparse encodings show
on the wire; the rule is the encoding's (windows, delimiters), the framing stays the one flit rule, and
the closed forms see the same messages as the engine."""

from __future__ import annotations

import numpy as np
import pytest

from snapsim.config.load import load_hardware, load_workload
from snapsim.encoding import parse_encoding
from snapsim.resources import HWCONFIGS, WORKLOADS
from snapsim.runner import simulate


def test_windows_group_unit_windows():
    assert parse_encoding({"kind": "aer", "pack": 3}).windows(8) == ((0, 3), (3, 6), (6, 8))
    assert parse_encoding({"kind": "rate", "window_steps": 2, "pack": 2}).windows(8) == ((0, 4), (4, 8))
    assert parse_encoding("bitmap").windows(3) == ((0, 1), (1, 2), (2, 3))  # pack 1: one message per step
    assert str(parse_encoding({"kind": "aer", "pack": 4})) == "aer(pack=4)"


def test_packed_sizes_add_a_length_per_frame_where_frames_do_not_delimit_themselves():
    n = 100  # ceil(log2 101) = 7 bits: address and per-frame count
    nnz = np.array([3, 0, 5, 2])
    aer = parse_encoding({"kind": "aer", "pack": 4})
    assert aer.window_bits(n, nnz, samples=2).tolist() == [10 * 7 + 4 * 2 * 7]
    stamped = parse_encoding({"kind": "aer", "pack": 4, "timestamp_bits": 2})
    assert stamped.window_bits(n, nnz).tolist() == [10 * 9]  # timestamps delimit the frames
    for kind in ("bitmap", "csr", "zvc", "dense"):  # fixed size, row length or mask: no delimiter
        e1, e4 = parse_encoding(kind), parse_encoding({"kind": kind, "pack": 4})
        assert e4.window_bits(n, nnz).tolist() == [int(e1.window_bits(n, nnz).sum())]
    rle = parse_encoding({"kind": "rle", "count_bits": 3, "pack": 2})
    frames = np.random.default_rng(0).random((4, 1, n)) < 0.1
    fb = rle.frame_bits(frames)
    assert rle.window_bits(n, frames.sum(-1), fb).tolist() == [[fb[0:2].sum() + 14], [fb[2:4].sum() + 14]]


def _digits(encoding, mode="snap", inferences=24):
    hw = load_hardware(HWCONFIGS / "packages" / "ucie-a-2x2.yaml", {"link.flit_bytes": 64})
    wl = load_workload(WORKLOADS / "digits_snap.yaml",
                       {"stream.inferences": inferences, "boundary.encoding": encoding, "boundaries": {}})
    return simulate(hw, wl, mode, seed=1)


def test_packing_shows_sparse_encodings_on_the_wire():
    """Defect 8: unpacked, every 128-neuron frame takes one 64-byte flit whatever its encoding; packed
    over T = 8 steps, aer's few spikes fit one flit while the bitmap needs three."""
    runs = {(k, p): _digits({"kind": k, "pack": p}) for k in ("aer", "bitmap") for p in (1, 8)}
    wire = {key: r.data["d2d_bits_per_inf"] for key, r in runs.items()}
    payload = {key: r.data["d2d_payload_bits_per_inf"] for key, r in runs.items()}
    assert wire[("aer", 1)] == wire[("bitmap", 1)] == 2 * 8 * 512  # 2 boundaries x 8 frames x one flit
    assert payload[("aer", 1)] < payload[("bitmap", 1)] / 10
    assert wire[("aer", 8)] == 2 * 512 and wire[("bitmap", 8)] == 2 * 3 * 512
    assert all(r.data["links"][0]["messages"] == 24 for (k, p), r in runs.items() if p == 8)


@pytest.mark.parametrize("mode", ["snap", "snn"])
@pytest.mark.parametrize("pack", [1, 3, 8])
def test_closed_forms_hold_with_packing(mode, pack):
    r = _digits({"kind": "aer", "pack": pack}, mode)
    assert r.latencies_ns[0] == pytest.approx(r.data["analytical"]["zero_load_latency_ns"])
    assert r.data["throughput_inf_per_s"] <= r.data["analytical"]["throughput_bound_inf_per_s"] * (1 + 1e-12)


def test_packing_costs_latency_in_snn_mode():
    """The next die cannot start timestep 0 before the message holding it arrives: packing 8 steps delays
    it by 7 timestep computes at zero load."""
    zl = {p: _digits({"kind": "aer", "pack": p}, "snn").data["analytical"]["zero_load_latency_ns"] for p in (1, 8)}
    assert zl[8] > zl[1]


def test_replay_and_statistical_models_agree_on_packed_sizes(tmp_path):
    from snapsim.trace import TraceWriter
    from snapsim.trace.replay import TracePayload

    rng = np.random.default_rng(4)
    spikes = rng.random((8, 5, 40)) < 0.1
    with TraceWriter(tmp_path / "t", model="m", partitions=["a", "b"], timesteps=8) as w:
        w.add_boundary("s", src="a", dst=["b"], kind="spike", features=[40])
        w.append("s", spikes)
    enc = parse_encoding({"kind": "rle", "count_bits": 2, "pack": 3})
    payload = TracePayload(tmp_path / "t", ["s"], [enc], batch=2)
    for i in range(4):
        idx = (2 * i + np.arange(2)) % 5
        want = [int(enc.frame_bits(spikes[a:z, idx]).sum()) + (z - a) * 2 * 6 for a, z in enc.windows(8)]
        assert payload.inference_bits(0, i).tolist() == want


def test_summary_points_at_the_framing():
    """Defect 8: when messages are mostly flit padding the summary says so and gives the exact --set
    that packs frames; once packed, it says nothing."""
    text = _digits("aer").summary()
    assert "of their flits" in text and "--set 'workload.boundary.encoding={kind: aer, pack: 8}'" in text
    assert "of their flits" not in _digits({"kind": "aer", "pack": 8}).summary()
    assert "of their flits" not in _digits("bitmap", "ann").summary()
