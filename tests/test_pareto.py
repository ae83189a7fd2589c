"""Pareto fronts: pareto_mask against a brute-force reference on adversarial data, and pareto_front."""

from __future__ import annotations

import itertools
from unittest import mock

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snapsim import pareto
from snapsim.errors import SnapsimError
from snapsim.pareto import pareto_front, pareto_mask

# ------------------------------------------------------------------------------------ references


def dominates(p, q, directions) -> bool:
    """Definition, written out: p no worse everywhere and strictly better somewhere; NaN never compares."""
    if any(np.isnan(p)) or any(np.isnan(q)):
        return False
    no_worse = all((a <= b) if d == "min" else (a >= b) for a, b, d in zip(p, q, directions))
    better = any((a < b) if d == "min" else (a > b) for a, b, d in zip(p, q, directions))
    return no_worse and better


def reference_mask(values, directions) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return np.array(
        [
            not np.isnan(q).any() and not any(dominates(p, q, directions) for p in values)
            for q in values
        ],
        dtype=bool,
    )


# ------------------------------------------------------------------------------------ strategies

# Few distinct values force ties and duplicates; NaN and infinities are mixed in.
_COARSE = st.sampled_from([0.0, 1.0, 2.0, 3.0, -1.0, np.inf, -np.inf, np.nan])
_FINE = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.integers(-3, 3).map(float),
)


@st.composite
def problems(draw, min_k=1, max_k=4, max_n=40):
    k = draw(st.integers(min_k, max_k))
    n = draw(st.integers(0, max_n))
    elem = draw(st.sampled_from([_COARSE, _FINE, st.integers(0, 2).map(float)]))
    rows = draw(st.lists(st.lists(elem, min_size=k, max_size=k), min_size=n, max_size=n))
    # duplicate some rows exactly
    if rows and draw(st.booleans()):
        for i in draw(st.lists(st.integers(0, len(rows) - 1), max_size=5)):
            rows.append(list(rows[i]))
    values = np.array(rows, dtype=float).reshape(len(rows), k)
    directions = draw(st.lists(st.sampled_from(["min", "max"]), min_size=k, max_size=k))
    return values, directions


def dominance_matrix(values, directions) -> np.ndarray:
    """dom[p, q]: row p dominates row q (NaN rows neither dominate nor are dominated)."""
    sign = np.array([1.0 if d == "min" else -1.0 for d in directions])
    v = np.asarray(values, dtype=float) * sign
    nan = np.isnan(v).any(axis=1)
    le = (v[:, None, :] <= v[None, :, :]).all(axis=2)
    lt = (v[:, None, :] < v[None, :, :]).any(axis=2)
    return le & lt & ~nan[:, None] & ~nan[None, :]


def numpy_reference_mask(values, directions) -> np.ndarray:
    """All-pairs reference by broadcasting (checked against the definition above)."""
    nan = np.isnan(np.asarray(values, dtype=float)).any(axis=1)
    return ~dominance_matrix(values, directions).any(axis=0) & ~nan


def check_front_properties(values, directions, mask):
    dom = dominance_matrix(values, directions)
    nan_rows = np.isnan(values).any(axis=1)
    assert not mask[nan_rows].any(), "a NaN row is on the front"
    assert not dom[:, mask].any(), "a front point is dominated"
    off = ~mask & ~nan_rows
    assert dom[np.ix_(mask, off)].any(axis=0).all(), "a point off the front is not dominated by a front point"
    for q in np.flatnonzero(mask):  # every exact duplicate of a front point is on the front too
        assert mask[(values == values[q]).all(axis=1)].all()


# ------------------------------------------------------------------------------------ pareto_mask


@settings(max_examples=200, deadline=None)
@given(problems())
def test_mask_matches_brute_force(problem):
    values, directions = problem
    mask = pareto_mask(values, directions)
    assert mask.dtype == bool and mask.shape == (len(values),)
    np.testing.assert_array_equal(mask, numpy_reference_mask(values, directions))
    check_front_properties(values, directions, mask)


@settings(max_examples=100, deadline=None)
@given(problems(min_k=2, max_k=3, max_n=30), st.randoms(use_true_random=False))
def test_mask_is_independent_of_row_order(problem, rnd):
    values, directions = problem
    perm = list(range(len(values)))
    rnd.shuffle(perm)
    perm = np.array(perm, dtype=int)
    np.testing.assert_array_equal(pareto_mask(values[perm], directions), pareto_mask(values, directions)[perm])


@settings(max_examples=100, deadline=None)
@given(problems(min_k=3, max_k=4, max_n=60))
def test_nd_block_filter_with_tiny_blocks(problem):
    """Tiny block and budget sizes drive the recursion, chunking and front-eviction paths."""
    values, directions = problem
    with mock.patch.object(pareto, "_MIN_BLOCK_POINTS", 3), mock.patch.object(pareto, "_BUDGET_ELEMENTS", 8):
        mask = pareto_mask(values, directions)
    np.testing.assert_array_equal(mask, numpy_reference_mask(values, directions))


@settings(max_examples=100, deadline=None)
@given(problems(max_n=15))
def test_references_agree_with_the_definition(problem):
    values, directions = problem
    expected = reference_mask(values, directions)
    np.testing.assert_array_equal(numpy_reference_mask(values, directions), expected)
    np.testing.assert_array_equal(pareto_mask(values, directions), expected)


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("kind", ["uniform", "grid", "plane"])
def test_mask_large_inputs(k, kind):
    """Past one block (>1024 points): random, heavily tied, and all-on-the-front data."""
    rng = np.random.default_rng(k * 10 + len(kind))
    n = 1500
    if kind == "uniform":
        v = rng.random((n, k))
    elif kind == "grid":
        v = rng.integers(0, 6, size=(n, k)).astype(float)
    else:  # every point on the hyperplane sum == 1: nothing dominates anything
        v = rng.random((n, k))
        v[:, -1] = 1.0 - v[:, :-1].sum(axis=1)
    v[rng.random(n) < 0.01, 0] = np.nan
    d = ["min"] * (k - 1) + ["max" if kind == "grid" else "min"]
    mask = pareto_mask(v, d)
    np.testing.assert_array_equal(mask, numpy_reference_mask(v, d))
    if kind == "plane":
        assert mask.sum() == (~np.isnan(v).any(axis=1)).sum()


def test_mask_handles_known_small_cases():
    v = np.array(
        [
            [1.0, 5.0],  # front
            [1.0, 5.0],  # duplicate of a front point: kept
            [2.0, 3.0],  # front
            [2.0, 4.0],  # dominated by (2, 3): same x, worse y
            [3.0, 3.0],  # dominated by (2, 3): worse x, same y
            [np.nan, 0.0],  # NaN: never on the front, dominates nothing
            [4.0, 1.0],  # front
            [0.5, np.inf],  # front: best x, although worst y
        ]
    )
    assert pareto_mask(v, ["min", "min"]).tolist() == [True, True, True, False, False, False, True, True]
    # maximising y turns the order around: (0.5, inf) dominates everything with x >= 0.5
    assert pareto_mask(v, ["min", "max"]).tolist() == [False, False, False, False, False, False, False, True]
    assert pareto_mask(np.empty((0, 2)), ["min", "min"]).tolist() == []
    assert pareto_mask(np.full((3, 2), np.nan), ["min", "max"]).tolist() == [False] * 3
    assert pareto_mask([[2], [1], [1], [3]], ["min"]).tolist() == [False, True, True, False]
    assert pareto_mask([[2], [1], [1], [3]], ["max"]).tolist() == [False, False, False, True]


def test_mask_accepts_integer_arrays():
    v = np.array([[1, 9], [2, 2], [3, 1], [3, 3]], dtype=np.int64)
    assert pareto_mask(v, ("min", "min")).tolist() == [True, True, True, False]


@pytest.mark.parametrize(
    ("values", "directions", "match"),
    [
        (np.zeros((3, 2)), ["min"], "2 objectives"),
        (np.zeros((3, 2)), ["min", "minimize"], "'minimize'"),
        (np.zeros((3, 2)), "mm", "sequence"),
        (np.zeros(3), ["min"], "2-D"),
        (np.zeros((3, 0)), [], "at least one"),
        ([["a", "b"]], ["min", "min"], "numeric"),
    ],
)
def test_mask_rejects_bad_arguments(values, directions, match):
    with pytest.raises(SnapsimError, match=match):
        pareto_mask(values, directions)


# ------------------------------------------------------------------------------------ pareto_front


def _table(rng, n=60):
    return pd.DataFrame(
        {
            "latency_ns_p50": rng.integers(1, 8, n).astype(float),
            "energy_pj_per_inf": rng.integers(1, 8, n).astype(float),
            "accuracy_pct": rng.choice([90.0, 95.0, np.nan], n),
            "mode": rng.choice(["ann", "snn", "snap"], n),
        },
        index=[f"run{i}" for i in range(n)],
    )


def test_front_keeps_index_and_order():
    df = _table(np.random.default_rng(0))
    objectives = {"latency_ns_p50": "min", "energy_pj_per_inf": "min"}
    front = pareto_front(df, objectives)
    expected = reference_mask(df[list(objectives)].to_numpy(), ["min", "min"])
    assert list(front.index) == list(df.index[expected])
    pd.testing.assert_frame_equal(front, df[expected])


def test_front_three_objectives_with_max_and_nan():
    df = _table(np.random.default_rng(1))
    objectives = {"latency_ns_p50": "min", "energy_pj_per_inf": "min", "accuracy_pct": "max"}
    front = pareto_front(df, objectives)
    expected = reference_mask(df[list(objectives)].to_numpy(), ["min", "min", "max"])
    assert list(front.index) == list(df.index[expected])
    assert front["accuracy_pct"].notna().all()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(["mode", "accuracy_pct"]))
def test_front_by_is_a_front_per_level(seed, by):
    df = _table(np.random.default_rng(seed), n=40)
    objectives = {"latency_ns_p50": "min", "energy_pj_per_inf": "max"}
    front = pareto_front(df, objectives, by=by)
    expected = set()
    for _, group in df.groupby(by, dropna=False):
        m = reference_mask(group[list(objectives)].to_numpy(), ["min", "max"])
        expected |= set(group.index[m])
    assert set(front.index) == expected
    assert list(front.index) == [i for i in df.index if i in expected]  # original order


def test_front_by_differs_from_global_front():
    df = pd.DataFrame(
        {"x": [1.0, 2.0, 3.0, 4.0], "y": [1.0, 2.0, 0.5, 3.0], "mode": ["ann", "snn", "ann", "snn"]}
    )
    assert list(pareto_front(df, {"x": "min", "y": "min"}).index) == [0, 2]
    assert list(pareto_front(df, {"x": "min", "y": "min"}, by="mode").index) == [0, 1, 2]


def test_front_with_duplicate_index_labels():
    df = pd.DataFrame({"x": [1.0, 0.0, 2.0], "y": [1.0, 3.0, 0.0]}, index=["a", "a", "b"])
    front = pareto_front(df, {"x": "min", "y": "min"})
    assert len(front) == 3 and list(front.index) == ["a", "a", "b"]


@pytest.mark.parametrize(
    ("objectives", "by", "match"),
    [
        ({"latency_ns": "min", "energy_pj_per_inf": "min"}, None, "'latency_ns'"),
        ({"latency_ns_p50": "min", "energy_pj_per_inf": "lowest"}, None, "'lowest'"),
        ({"latency_ns_p50": "min", "mode": "min"}, None, "'mode' is not numeric"),
        ({"latency_ns_p50": "min", "energy_pj_per_inf": "min"}, "level", "'level'"),
        ({}, None, "non-empty"),
    ],
)
def test_front_rejects_bad_arguments(objectives, by, match):
    df = _table(np.random.default_rng(2), n=5)
    with pytest.raises(SnapsimError, match=match):
        pareto_front(df, objectives, by=by)


def test_pareto_benchmark_quick_agrees_and_reports():
    from snapsim.benchmarks import pareto as bench

    rng = np.random.default_rng(5)
    v = rng.integers(0, 4, size=(300, 3)).astype(float)
    for d in itertools.product(["min", "max"], repeat=3):
        np.testing.assert_array_equal(bench.brute_force_mask(v, list(d)), numpy_reference_mask(v, list(d)))
    res = bench.run(quick=True)
    for key in ("pareto_points", "pareto_seconds", "pareto_points_per_s", "baseline_method", "baseline_points_per_s"):
        assert key in res
    assert res["pareto_points"] == 100_000 and res["pareto_seconds"] > 0
