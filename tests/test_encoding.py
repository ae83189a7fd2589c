"""Exact wire sizes of every encoding, break-even rates and encoding-spec parsing."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pydantic import ValidationError

from snapsim.encoding import (
    COUNT_ONLY_KINDS,
    KINDS,
    REGISTRY,
    Aer,
    EncodingError,
    breakeven_firing_rate,
    parse_encoding,
)
from snapsim.errors import SnapsimError


def Encoding(kind, **fields):  # noqa: N802 - reads like the constructor it stands for
    return parse_encoding({"kind": kind, **fields})


def message_bits(enc, n, k, timesteps=1):
    return enc.message_bits(n, k, timesteps)


def cost_terms(enc, n, timesteps=1):
    return enc.count_terms(n, timesteps)

# one frame of 10 neurons with spikes at 0, 3 and 9
FRAME = np.zeros(10, dtype=bool)
FRAME[[0, 3, 9]] = True


# ------------------------------------------------------------------------------------- hand counts


@pytest.mark.parametrize(
    "enc, n, k, timesteps, bits",
    [
        (Encoding("dense", precision_bits=8), 10, 3, 1, 80),
        (Encoding("dense", precision_bits=8), 10, 0, 3, 240),
        (Encoding("zvc", precision_bits=8), 10, 3, 1, 10 + 3 * 8),
        (Encoding("zvc", precision_bits=8, value_bits=4), 10, 3, 2, 20 + 3 * 4),
        (Encoding("bitmap"), 10, 3, 1, 10),
        (Encoding("bitmap"), 10, 7, 4, 40),
        (Encoding("aer"), 10, 3, 1, 3 * 4),  # ceil(log2 10) = 4 address bits
        (Encoding("aer"), 1024, 5, 1, 5 * 10),
        (Encoding("aer"), 1025, 5, 1, 5 * 11),
        (Encoding("aer"), 1, 1, 1, 1),  # a single neuron still needs one bit per event
        (Encoding("aer", timestamp_bits=3), 10, 3, 1, 3 * 7),
        (Encoding("aer", address_bits=6), 10, 3, 1, 18),
        (Encoding("aer", multicast_destinations=3), 10, 3, 1, 3 * (4 + 3)),  # 3-bit destination mask
        (Encoding("aer", value_bits=8), 10, 2, 1, 2 * 12),
        (Encoding("csr"), 10, 3, 1, 4 + 3 * 4),  # row length ceil(log2 11) = 4, index 4
        (Encoding("csr"), 10, 3, 2, 2 * 4 + 3 * 4),
        (Encoding("csr", index_bits=5, count_bits=6, value_bits=2), 10, 3, 1, 6 + 3 * 7),
        (Encoding("rate", window_steps=4), 10, 5, 8, 2 * 10 * 3),  # ceil(log2 5) = 3 count bits
        (Encoding("rate", window_steps=4), 10, 5, 6, 2 * 10 * 3),  # partial last window
        (Encoding("rate"), 10, 5, 3, 3 * 10 * 1),
        (Encoding("rate", window_steps=7, count_bits=2), 10, 5, 7, 10 * 2),
    ],
)
def test_message_bits_hand_counts(enc, n, k, timesteps, bits):
    assert message_bits(enc, n, k, timesteps) == bits
    assert isinstance(message_bits(enc, n, k, timesteps), int)


@pytest.mark.parametrize(
    "enc, bits",
    [
        (Encoding("dense", precision_bits=4), 40),
        (Encoding("zvc", precision_bits=4), 10 + 12),
        (Encoding("bitmap"), 10),
        (Encoding("aer"), 12),
        (Encoding("csr"), 16),
        (Encoding("rate", window_steps=3), 10 * 2),
        # rle r=2 (escape 3): gaps 0, 2, 5 -> tokens 1 + 1 + (1 escape + 1) = 4
        (Encoding("rle", count_bits=2), 8),
        # r=1 (escape 1): gaps 0, 2, 5 -> 1 + 3 + 6 tokens; trailing zeros never sent
        (Encoding("rle", count_bits=1), 10),
        # default r = ceil(log2 11) = 4 never escapes: one token per spike
        (Encoding("rle"), 12),
        (Encoding("rle", count_bits=2, value_bits=3), 8 + 9),
    ],
)
def test_message_bits_from_frames_hand_counts(enc, bits):
    frames = np.stack([FRAME, np.zeros(10, dtype=bool)])
    out = enc.frame_bits(frames)
    assert out.dtype == np.int64 and out.shape == (2,)
    assert out[0] == bits
    # an empty frame: only the fixed part
    assert out[1] == cost_terms(enc, 10, 1)[0] if enc.kind != "rle" else out[1] == 0


def test_frames_numeric_values_count_nonzeros():
    frames = np.array([[0.0, 1.5, 0.0, -2.0], [0.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    out = Encoding("zvc", precision_bits=16).frame_bits(frames)
    assert out.tolist() == [4 + 2 * 16, 4]
    out = Encoding("dense", precision_bits=16).frame_bits(frames[None])
    assert out.shape == (1, 2) and out.tolist() == [[64, 64]]


def test_rle_needs_positions():
    with pytest.raises(SnapsimError, match="positions"):
        message_bits(Encoding("rle"), 10, 3)
    with pytest.raises(SnapsimError, match="positions"):
        cost_terms(Encoding("rle"), 10)


def _rle_reference(frame: np.ndarray, r: int) -> list[int]:
    """Token stream of one frame, written as a plain loop."""
    escape = (1 << r) - 1
    tokens, run = [], 0
    for bit in frame:
        if bit:
            tokens.append(run)
            run = 0
        else:
            run += 1
            if run == escape:
                tokens.append(escape)
                run = 0
    # drop escapes after the last spike: trailing zeros are not sent
    while tokens and tokens[-1] == escape:
        tokens.pop()
    return tokens


def _rle_decode(tokens: list[int], r: int, n: int) -> np.ndarray:
    escape = (1 << r) - 1
    out, pos = np.zeros(n, dtype=bool), 0
    for tok in tokens:
        pos += tok
        if tok != escape:
            out[pos] = True
            pos += 1
    return out


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 70),
    r=st.integers(1, 7),
    p=st.floats(0, 1),
    seed=st.integers(0, 2**32 - 1),
)
def test_rle_matches_reference_codec(n, r, p, seed):
    frames = np.random.default_rng(seed).random((6, n)) < p
    fast = Encoding("rle", count_bits=r).frame_bits(frames)
    for frame, bits in zip(frames, fast):
        tokens = _rle_reference(frame, r)
        assert all(0 <= t < (1 << r) for t in tokens)
        assert (_rle_decode(tokens, r, n) == frame).all()  # the stream is decodable
        assert bits == len(tokens) * r


@pytest.mark.parametrize("kind", COUNT_ONLY_KINDS)
def test_counts_and_frames_agree(kind):
    rng = np.random.default_rng(3)
    frames = rng.random((5, 7, 33)) < 0.2
    enc = Encoding(kind)
    from_frames = enc.frame_bits(frames)
    from_counts = message_bits(enc, 33, frames.sum(axis=-1))
    assert from_frames.shape == (5, 7)
    assert (from_frames == from_counts).all()
    # a message over T frames equals the sum of its per-frame messages
    t_total = message_bits(enc, 33, int(frames[:, 0].sum()), timesteps=5)
    assert t_total == from_frames[:, 0].sum()


def test_mean_count_gives_mean_size():
    enc = Encoding("aer", timestamp_bits=2)
    counts = np.array([1, 2, 6])
    assert message_bits(enc, 64, counts.mean()) == pytest.approx(message_bits(enc, 64, counts).mean())
    with pytest.raises(ValueError):
        message_bits(enc, 64, 65)
    with pytest.raises(ValueError):
        message_bits(enc, 64, np.array([-1, 2]))


def test_send_windows():
    """rate sends one message per window (the last one may be shorter); every other kind one per step."""
    assert Encoding("rate", window_steps=3).windows(8) == ((0, 3), (3, 6), (6, 8))
    assert Encoding("rate", window_steps=4).windows(4) == ((0, 4),)
    for kind in KINDS:
        if kind != "rate":
            assert Encoding(kind).windows(3) == ((0, 1), (1, 2), (2, 3))


def test_window_bits_one_message_per_window():
    """Per-message sizes from per-step counts: a rate window is one message of n x count_bits; count-only
    kinds are fixed x samples + per_spike x spikes; rle needs the frames' bits."""
    nnz = np.array([[3, 0], [1, 2], [0, 0], [5, 1]])  # [T=4, 2 inferences], summed over 2 samples
    rate = Encoding("rate", window_steps=4)
    assert rate.window_bits(10, nnz, samples=2).tolist() == [[2 * 10 * 3, 2 * 10 * 3]]
    aer = Encoding("aer")
    assert aer.window_bits(10, nnz, samples=2).tolist() == (4 * nnz).tolist()
    bitmap = Encoding("bitmap")
    assert bitmap.window_bits(10, nnz, samples=2).tolist() == [[20, 20]] * 4
    rle = Encoding("rle", count_bits=2)
    with pytest.raises(SnapsimError, match="positions"):
        rle.window_bits(10, nnz, samples=2)
    fb = np.arange(8).reshape(4, 2)
    assert rle.window_bits(10, nnz, fb, samples=2).tolist() == fb.tolist()


# ------------------------------------------------------------------------------------- break-even


def _cost(enc, n, p, timesteps=1):
    return message_bits(enc, n, p * n * timesteps, timesteps)


@pytest.mark.parametrize("n", [64, 1000, 1024, 4097])
def test_bitmap_and_aer_cross_at_one_over_address_bits(n):
    bitmap, aer = Encoding("bitmap"), Encoding("aer")
    p = breakeven_firing_rate(bitmap, aer, n)
    assert p == pytest.approx(1 / math.ceil(math.log2(n)))
    eps = 1e-3
    assert _cost(aer, n, p - eps) < _cost(bitmap, n, p - eps)  # sparse: aer smaller
    assert _cost(aer, n, p + eps) > _cost(bitmap, n, p + eps)  # dense: bitmap smaller
    assert _cost(aer, n, p) == pytest.approx(_cost(bitmap, n, p))


def test_dense_activation_vs_spikes_over_timesteps():
    n, T, P = 1024, 8, 16
    dense, aer = Encoding("dense", precision_bits=4), Encoding("aer")
    p = breakeven_firing_rate(dense, aer, n, P, timesteps_a=1, timesteps_b=T)
    assert p == pytest.approx(P / (T * 10))
    dense16 = Encoding("dense", precision_bits=P)
    for q, sign in ((p - 1e-3, -1), (p + 1e-3, 1)):
        diff = _cost(aer, n, q, T) - _cost(dense16, n, q, 1)
        assert np.sign(diff) == sign
    csr = Encoding("csr")
    pc = breakeven_firing_rate(dense16, csr, n, timesteps_b=T)
    assert _cost(csr, n, pc, T) == pytest.approx(_cost(dense16, n, pc, 1))


def test_breakeven_without_crossing():
    assert breakeven_firing_rate(Encoding("bitmap"), Encoding("dense", precision_bits=4), 32) == math.inf
    assert math.isnan(breakeven_firing_rate(Encoding("bitmap"), Encoding("dense", precision_bits=1), 32))
    with pytest.raises(SnapsimError):
        breakeven_firing_rate(Encoding("rle"), Encoding("aer"), 32)


# ----------------------------------------------------------------------------------------- parsing


def test_parse_names_and_mappings():
    assert parse_encoding("aer", "b") == Encoding("aer")
    enc = parse_encoding({"kind": "aer", "timestamp_bits": 4, "multicast_destinations": 2}, "b")
    assert enc == Encoding("aer", timestamp_bits=4, multicast_destinations=2)
    assert parse_encoding(enc, "b") is enc
    for kind, cls in REGISTRY.items():
        fields = {f: 3 for f in ("count_bits", "timestamp_bits") if f in cls.model_fields}
        e = Encoding(kind, **fields)
        assert parse_encoding(e.to_dict(), "x") == e
        assert str(parse_encoding(kind)) == kind


@pytest.mark.parametrize(
    "obj, fragment",
    [
        ("aerr", "kind 'aerr' is not an encoding kind"),
        ({"timestamp_bits": 3}, "kind is missing"),
        ({"kind": "aer", "adress_bits": 3}, "wl.yaml: boundaries.0.encoding: adress_bits: unknown field"),
        ({"kind": "aer", "timestamp_bits": -1}, "timestamp_bits: Input should be greater than or equal to 0; got -1"),
        ({"kind": "aer", "timestamp_bits": "4"}, "timestamp_bits: Input should be a valid integer; got '4'"),
        ({"kind": "dense", "precision_bits": True}, "precision_bits: Input should be a valid integer"),
        ({"kind": "rate", "window_steps": 0}, "window_steps: Input should be greater than or equal to 1"),
        ({"kind": 3}, "kind 3 is not an encoding kind"),
        (3.5, "must be an encoding kind name or a mapping"),
        ({"kind": "aer", "window_steps": 4}, "window_steps: unknown field of this encoding kind"),
    ],
)
def test_parse_errors_name_the_path(obj, fragment):
    with pytest.raises(EncodingError) as info:
        parse_encoding(obj, "wl.yaml: boundaries.0.encoding")
    msg = str(info.value)
    assert msg.startswith("wl.yaml: boundaries.0.encoding")
    assert fragment in msg
    assert isinstance(info.value, SnapsimError)


def test_direct_construction_is_checked():
    with pytest.raises(ValidationError, match="multicast_destinations"):
        Aer(multicast_destinations=0)
    with pytest.raises(SnapsimError, match="multicast_destinations"):
        Encoding("aer", multicast_destinations=0)
