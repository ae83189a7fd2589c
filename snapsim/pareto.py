"""Pareto fronts of result tables: pure functions over numpy arrays and pandas DataFrames.

A point ``p`` *dominates* ``q`` when ``p`` is no worse than ``q`` in every objective and strictly better
in at least one. The front is the set of non-dominated points, with two conventions:

* exact duplicates of a front point are all on the front (neither dominates the other), so every
  design that reaches a front value is reported, not an arbitrary one of them;
* a row with NaN in any objective is never on the front and never dominates another row
  (a failed or unmeasured run is not a trade-off). ``+inf``/``-inf`` are ordinary, comparable values.

Two objectives use an ``O(n log n)`` sort-and-sweep (1e6 points in a fraction of a second). Three or
more objectives visit the points in order of their objective sum and filter blocks of points against
the front found so far with vectorised comparisons: ``O(n * f * k)`` for a front of ``f`` points, fast
whenever the front is a small part of the data, as it is for sweeps; ``O(n^2)`` when nearly every
point is on the front.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import SnapsimError

__all__ = ["DIRECTIONS", "pareto_mask", "pareto_front"]

#: Accepted optimisation directions.
DIRECTIONS = ("min", "max")

# Upper bound on the number of pairwise comparisons materialised at once, and the smallest block.
_BUDGET_ELEMENTS = 1 << 22
_MIN_BLOCK_POINTS = 1024


def _check_directions(directions: Sequence[str], n_objectives: int) -> np.ndarray:
    """Return +1 (min) / -1 (max) per objective, or raise a readable SnapsimError."""
    if isinstance(directions, str):
        raise SnapsimError(
            f"directions must be a sequence of 'min'/'max', one per objective; got the string {directions!r}"
        )
    directions = list(directions)
    if len(directions) != n_objectives:
        raise SnapsimError(
            f"directions has {len(directions)} entries but values has {n_objectives} objectives (columns)"
        )
    bad = [d for d in directions if d not in DIRECTIONS]
    if bad:
        raise SnapsimError(f"direction must be 'min' or 'max'; got {bad[0]!r}")
    return np.array([1.0 if d == "min" else -1.0 for d in directions])


def pareto_mask(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``values``.

    ``values`` is ``(n_points, n_objectives)``; ``directions`` holds ``"min"`` or ``"max"`` per column.
    Duplicates of a front point are all True; rows containing NaN are always False.
    """
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SnapsimError(f"objective values must be numeric: {exc}") from None
    if arr.ndim != 2:
        raise SnapsimError(f"values must be a 2-D array (points x objectives); got shape {arr.shape}")
    n, k = arr.shape
    if k == 0:
        raise SnapsimError("at least one objective is needed")
    sign = _check_directions(directions, k)
    mask = np.zeros(n, dtype=bool)
    if n == 0:
        return mask
    valid = ~np.isnan(arr).any(axis=1)
    if valid.all():
        idx = slice(None)
        v = arr * sign  # everything minimised from here on
    else:
        idx = np.flatnonzero(valid)
        if idx.size == 0:
            return mask
        v = arr[idx] * sign
    if k == 1:
        mask[idx] = v[:, 0] == v[:, 0].min()
    elif k == 2:
        mask[idx] = _front_2d(v)
    else:
        mask[idx] = _front_nd(v)
    return mask


def _front_2d(v: np.ndarray) -> np.ndarray:
    """Non-dominated mask for minimisation in two objectives, by one sort on the first objective.

    Group the points by equal x in increasing x. A point ``q`` is on the front iff its y equals the
    smallest y of its group (else a point with the same x and a smaller y dominates it) and that
    smallest y is strictly below the smallest y of every group with a smaller x (else a point of such
    a group dominates it).
    """
    x = np.ascontiguousarray(v[:, 0])
    y = np.ascontiguousarray(v[:, 1])
    n = x.size
    order = np.argsort(x)
    xs = x[order]
    ys = y[order]
    is_start = np.empty(n, dtype=bool)
    is_start[0] = True
    np.not_equal(xs[1:], xs[:-1], out=is_start[1:])
    starts = np.flatnonzero(is_start)
    counts = np.diff(starts, append=n)
    group_min = np.minimum.reduceat(ys, starts)
    best_before = np.empty(starts.size)
    best_before[0] = np.inf
    best_before[1:] = np.minimum.accumulate(group_min)[:-1]
    group_ok = group_min < best_before
    group_ok[0] = True  # no point has a smaller x than the first group, even when its y is +inf
    on_front = np.repeat(group_ok, counts)
    cand = np.flatnonzero(on_front)
    on_front[cand] = ys[cand] == np.repeat(group_min, counts)[cand]
    mask = np.empty(n, dtype=bool)
    mask[order] = on_front
    return mask


def _dominated_by(front: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """For each row of ``pts``: is it dominated (minimisation) by some row of ``front``?"""
    out = np.zeros(len(pts), dtype=bool)
    if len(front) == 0 or len(pts) == 0:
        return out
    k = pts.shape[1]
    p_cols = [np.ascontiguousarray(pts[:, j])[None, :] for j in range(k)]
    step = max(1, _BUDGET_ELEMENTS // len(pts))
    for s in range(0, len(front), step):
        f = front[s : s + step]
        le = f[:, 0, None] <= p_cols[0]
        lt = f[:, 0, None] < p_cols[0]
        for j in range(1, k):
            le &= f[:, j, None] <= p_cols[j]
            lt |= f[:, j, None] < p_cols[j]
        le &= lt
        out |= le.any(axis=0)
    return out


def _front_nd(v: np.ndarray) -> np.ndarray:
    """Non-dominated mask for minimisation in k >= 3 objectives (sort + block-wise filter).

    Points are visited in order of their objective sum, so likely front points come first and
    dominate most of the rest. Correctness does not depend on that order.
    """
    n = len(v)
    with np.errstate(invalid="ignore", over="ignore"):  # inf + -inf or overflow: only the order changes
        order = np.argsort(v.sum(axis=1), kind="stable")
    kept = _filter_front(v[order])
    mask = np.zeros(n, dtype=bool)
    mask[order[kept]] = True
    return mask


def _filter_front(s: np.ndarray) -> np.ndarray:
    """Indices of the non-dominated rows of ``s`` (minimisation, no NaN), in increasing order.

    Keeps the exact front of the rows seen so far. Each block is filtered against that front, then
    against itself (recursively when many survive), and finally evicts the front rows it dominates.
    Blocks grow with the rows processed and shrink as the front grows, bounding memory.
    """
    n, k = s.shape
    front_idx = np.empty(0, dtype=np.intp)
    front = s[:0]
    start = 0
    while start < n:
        block_len = min(max(_MIN_BLOCK_POINTS, start), _BUDGET_ELEMENTS // max(len(front), 1))
        block_len = max(block_len, _MIN_BLOCK_POINTS)
        stop = min(start + block_len, n)
        block = s[start:stop]
        alive = np.flatnonzero(~_dominated_by(front, block))
        if alive.size > _MIN_BLOCK_POINTS:
            alive = alive[_filter_front(block[alive])]
        else:
            cand = block[alive]
            alive = alive[~_dominated_by(cand, cand)]
        if alive.size:
            new = block[alive]
            stay = ~_dominated_by(new, front)
            front_idx = np.concatenate([front_idx[stay], start + alive])
            front = np.concatenate([front[stay], new])
        start = stop
    return np.sort(front_idx)


def _check_columns(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    for col in columns:
        if col not in df.columns:
            avail = ", ".join(map(str, df.columns))
            raise SnapsimError(f"unknown {what} column {col!r}; the table has: {avail}")


def _objective_values(df: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    cols = []
    for col in columns:
        series = df[col]
        if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
            cols.append(series.to_numpy(dtype=np.float64, na_value=np.nan))
        else:
            raise SnapsimError(f"objective column {col!r} is not numeric (dtype {series.dtype})")
    return np.column_stack(cols) if cols else np.empty((len(df), 0))


def pareto_front(df: pd.DataFrame, objectives: Mapping[str, str], by: str | None = None) -> pd.DataFrame:
    """Rows of ``df`` on the Pareto front of ``objectives`` (column -> ``"min"``/``"max"``).

    The original index and row order are kept. With ``by``, one front is computed per level of that
    column (NaN is a level of its own), e.g. one latency/energy front per design mode.
    """
    if not isinstance(objectives, Mapping) or not objectives:
        raise SnapsimError("objectives must be a non-empty mapping of column name to 'min' or 'max'")
    columns = list(objectives)
    _check_columns(df, columns, "objective")
    for col, d in objectives.items():
        if d not in DIRECTIONS:
            raise SnapsimError(f"direction of objective {col!r} must be 'min' or 'max'; got {d!r}")
    if by is not None:
        _check_columns(df, [by], "'by'")
    values = _objective_values(df, columns)
    directions = [objectives[c] for c in columns]
    if by is None:
        mask = pareto_mask(values, directions)
    else:
        codes, _ = pd.factorize(df[by], use_na_sentinel=False)
        mask = np.zeros(len(df), dtype=bool)
        for code in np.unique(codes):
            rows = np.flatnonzero(codes == code)
            mask[rows] = pareto_mask(values[rows], directions)
    return df.iloc[np.flatnonzero(mask)]
