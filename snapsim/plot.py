"""Paper-ready Pareto plots of result tables (matplotlib, Agg canvas: no display needed).

The plot draws every point faded, highlights the front points and joins them with the attainment
step line, colours points by a column (e.g. ``mode``: ann / snn / snap), labels front points with the
parameters that tell them apart, and derives axis labels with units from unit-suffixed column names
(``latency_ns_p50`` -> "latency p50 [ns]"). The front itself comes from :mod:`snapsim.pareto`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import ScalarFormatter

from .errors import SnapsimError
from .pareto import DIRECTIONS, pareto_front

__all__ = ["axis_label", "plot_pareto", "MODE_COLORS"]

# Unit-suffix tokens of column names and how they print.
_UNITS = {
    "ps": "ps", "ns": "ns", "us": "µs", "ms": "ms", "s": "s",
    "fj": "fJ", "pj": "pJ", "nj": "nJ", "uj": "µJ", "mj": "mJ", "j": "J",
    "uw": "µW", "mw": "mW", "w": "W",
    "hz": "Hz", "khz": "kHz", "mhz": "MHz", "ghz": "GHz",
    "gtps": "GT/s", "mbps": "Mb/s", "gbps": "Gb/s", "tbps": "Tb/s",
    "bit": "bit", "bits": "bit", "byte": "B", "bytes": "B", "kib": "KiB", "mib": "MiB", "gib": "GiB",
    "um": "µm", "mm": "mm", "um2": "µm²", "mm2": "mm²",
    "pct": "%", "percent": "%", "cycles": "cycles", "ticks": "ticks",
}  # fmt: skip
# Countable things that may precede ``_per_<time>`` ("throughput_inf_per_s" -> "[inf/s]").
_COUNTS = {"inf": "inf", "spikes": "spikes", "flits": "flits", "ops": "ops", "msgs": "msgs", "macs": "MACs"}
# Abbreviations spelled out in labels.
_WORDS = {"inf": "inference", "n": "number of", "util": "utilization", "d2d": "D2D", "acc": "accuracy"}

#: Fixed colours for the design modes, so every figure uses the same ones.
MODE_COLORS = {"ann": "#1f77b4", "snn": "#ff7f0e", "snap": "#2ca02c"}
_MAX_CATEGORIES = 12
_LINESTYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "h", "*", "p")


def axis_label(column: str) -> str:
    """Human axis label with unit from a unit-suffixed column name.

    ``latency_ns_p50`` -> "latency p50 [ns]", ``energy_pj_per_inf`` -> "energy per inference [pJ]",
    ``link.rate_gtps`` -> "link rate [GT/s]", ``spikes_per_s`` -> "spikes [1/s]". Names without a
    known unit token are returned with underscores as spaces.
    """
    parts = str(column).split(".")
    context = [w for p in parts[:-1] for w in p.split("_") if w]
    tokens = [t for t in parts[-1].split("_") if t]
    words = [_WORDS.get(t, t) for t in context]
    pos = next(
        (i for i, t in enumerate(tokens) if t.lower() in _UNITS and (i > 0 or context or len(tokens) == 1)),
        None,
    )
    if pos is None:
        return " ".join(words + [_WORDS.get(t, t) for t in tokens]) or str(column)
    unit = _UNITS[tokens[pos].lower()]
    head = tokens[:pos]
    if head and head[-1] == "per":  # "<name>_per_s": a rate
        head = head[:-1]
        if len(head) > 1 and head[-1] in _COUNTS:
            unit = f"{_COUNTS[head[-1]]}/{unit}"
            head = head[:-1]
        else:
            unit = f"1/{unit}"
    words += [_WORDS.get(t, t) for t in head]
    rest = tokens[pos + 1 :]
    while len(rest) >= 2 and rest[0] == "per":
        if rest[1].lower() in _UNITS:
            unit = f"{unit}/{_UNITS[rest[1].lower()]}"
        else:
            words += ["per", _WORDS.get(rest[1], rest[1])]
        rest = rest[2:]
    words += rest
    return f"{' '.join(words)} [{unit}]"


def _format_value(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        return "nan" if np.isnan(value) else f"{float(value):.4g}"
    return str(value)


def _sort_levels(values: Sequence[Any]) -> list[Any]:
    """Distinct non-NaN values in a deterministic order (numeric or string order)."""
    uniq = pd.unique(pd.Series(values).dropna())
    try:
        return sorted(uniq)
    except TypeError:
        return sorted(uniq, key=str)


def _numeric(df: pd.DataFrame, col: str) -> np.ndarray:
    _check_column(df, col, "axis")
    series = df[col]
    if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
        raise SnapsimError(f"column {col!r} is not numeric (dtype {series.dtype}) and cannot be an axis")
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def _category_colors(levels: list[Any]) -> dict[Any, Any]:
    if levels and all(isinstance(v, str) and v in MODE_COLORS for v in levels):
        return {v: MODE_COLORS[v] for v in levels}
    cmap = colormaps["tab10" if len(levels) <= 10 else "tab20"]
    return {v: cmap(i % cmap.N) for i, v in enumerate(levels)}


def _point_labels(df: pd.DataFrame, label: str | Sequence[str] | None) -> list[str] | None:
    if label is None:
        return None
    cols = [label] if isinstance(label, str) else list(label)
    for c in cols:
        _check_column(df, c, "label")
    if len(cols) == 1:
        return [f"{cols[0]}={_format_value(v)}" for v in df[cols[0]].tolist()]
    rows = zip(*(df[c].tolist() for c in cols))
    return [", ".join(f"{c}={_format_value(v)}" for c, v in zip(cols, row)) for row in rows]


def _pick_evenly(n: int, limit: int) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max(limit, 2))).astype(int))


def _place_labels(ax: Axes, items: list[tuple[float, float, str]], fontsize: float = 7.0) -> None:
    """Annotate points greedily, trying four offsets each and skipping labels that would overlap."""
    if not items:
        return
    fig = ax.figure
    fig.draw_without_rendering()  # run the layout so data -> pixel transforms are final
    px_per_pt = fig.dpi / 72.0
    char_w, text_h, gap = 0.55 * fontsize * px_per_pt, 1.2 * fontsize * px_per_pt, 4 * px_per_pt
    frame = ax.get_window_extent()
    r = 4 * px_per_pt  # keep labels off the labelled markers themselves
    anchors = ax.transData.transform([(x, y) for x, y, _ in items])
    placed = [(px - r, py - r, px + r, py + r) for px, py in anchors]
    for (x, y, text), (px, py) in zip(items, anchors):
        w = char_w * len(text)
        for dx, dy in ((gap, gap), (gap, -gap - text_h), (-gap - w, gap), (-gap - w, -gap - text_h)):
            box = (px + dx, py + dy, px + dx + w, py + dy + text_h)
            inside = frame.x0 <= box[0] and box[2] <= frame.x1 and frame.y0 <= box[1] and box[3] <= frame.y1
            clash = any(b[0] < box[2] and box[0] < b[2] and b[1] < box[3] and box[1] < b[3] for b in placed)
            if inside and not clash:
                placed.append(box)
                ax.annotate(
                    text, (x, y), xytext=(dx / px_per_pt, dy / px_per_pt), textcoords="offset points",
                    fontsize=fontsize, color="0.15", zorder=5, ha="left", va="bottom",
                )  # fmt: skip
                break


def _point_colors(
    df: pd.DataFrame, color: str | None, fig: Figure, ax: Axes
) -> tuple[np.ndarray, dict[Any, Any] | None, list[Line2D]]:
    """RGBA per row, the category -> colour map (None if continuous or uncoloured), legend handles."""
    grey = to_rgba("0.45")
    if color is None:
        return np.tile(grey, (len(df), 1)), None, []
    cvals = df[color]
    levels = _sort_levels(cvals.tolist())
    numeric = pd.api.types.is_numeric_dtype(cvals) and not pd.api.types.is_bool_dtype(cvals)
    if numeric and len(levels) > _MAX_CATEGORIES:
        cnum = cvals.to_numpy(dtype=np.float64, na_value=np.nan)
        norm = Normalize(np.nanmin(cnum), np.nanmax(cnum))
        rgba = colormaps["viridis"](norm(cnum))
        rgba[np.isnan(cnum)] = grey
        fig.colorbar(ScalarMappable(norm=norm, cmap=colormaps["viridis"]), ax=ax, label=axis_label(color))
        return rgba, None, []
    cats = _category_colors(levels)
    rgba = np.array([grey if pd.isna(v) else to_rgba(cats[v]) for v in cvals.tolist()]).reshape(len(df), 4)
    handles = [
        Line2D([], [], ls="", marker="o", ms=6, color=cats[lvl], label=f"{color}={_format_value(lvl)}")
        for lvl in levels
    ]
    return rgba, cats, handles


def _check_column(df: pd.DataFrame, col: str, what: str) -> None:
    if col not in df.columns:
        raise SnapsimError(f"unknown {what} column {col!r}; the table has: {', '.join(map(str, df.columns))}")


def plot_pareto(
    df: pd.DataFrame,
    x: str,
    y: str,
    *,
    color: str | None = None,
    label: str | Sequence[str] | None = None,
    logx: bool = False,
    logy: bool = False,
    directions: Sequence[str] = ("min", "min"),
    by: str | None = None,
    title: str | None = None,
    ax: Axes | None = None,
    highlight: pd.Index | Sequence[Any] | None = None,
    max_labels: int = 20,
) -> Figure:
    """Scatter ``y`` against ``x`` with the Pareto front highlighted; returns the Figure.

    ``directions`` are those of ``x`` and ``y``. ``color`` colours points by a column (categorical
    legend up to 12 levels, else a colour bar). ``label`` names the column(s) printed next to front
    points (at most ``max_labels`` per front, evenly spread, skipping any that would overlap). With
    ``by``, one front is drawn per (non-NaN) level of that column. ``highlight`` (index labels)
    replaces the computed 2-D front(s), e.g. by a front in more objectives; those points are drawn
    unconnected, since a staircase would be meaningless. ``ax`` draws into existing axes; otherwise a
    new Agg-backed figure is made (no display, no pyplot state).
    """
    directions = tuple(directions)
    if len(directions) != 2 or any(d not in DIRECTIONS for d in directions):
        raise SnapsimError(f"directions must be two of 'min'/'max' (for x and y); got {directions!r}")
    xv = _numeric(df, x)
    yv = _numeric(df, y)
    for col, vals in ((x, xv), (y, yv)):
        finite = vals[np.isfinite(vals)]
        with np.errstate(over="ignore", invalid="ignore"):
            span = float(finite.max() - finite.min()) if finite.size else 0.0
        if not np.isfinite(span):
            raise SnapsimError(f"column {col!r} spans [{finite.min():.3g}, {finite.max():.3g}]: wider than a plot axis "
                               "can show; drop the extreme rows (--where) or use a log axis")
    for flag, col, vals in ((logx, x, xv), (logy, y, yv)):
        n_bad = int((vals[~np.isnan(vals)] <= 0).sum()) if flag else 0
        if n_bad:
            raise SnapsimError(f"a log axis needs positive values, but column {col!r} has {n_bad} rows <= 0")
    if color is not None:
        _check_column(df, color, "color")
    if by is not None:
        _check_column(df, by, "'by'")
    labels = _point_labels(df, label)
    if not (~np.isnan(xv) & ~np.isnan(yv)).any():
        raise SnapsimError(f"nothing to plot: no row has numeric values in both {x!r} and {y!r}")

    if ax is None:
        fig = Figure(figsize=(6.4, 4.4), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
    else:
        fig = ax.figure  # type: ignore[assignment]

    # all points, faded
    rgba, cats, legend_handles = _point_colors(df, color, fig, ax)
    ax.scatter(xv, yv, s=14, c=rgba, alpha=0.25, linewidths=0, zorder=2, rasterized=len(df) > 5000)
    legend_handles.append(
        Line2D([], [], ls="", marker="o", ms=5, color="0.45", alpha=0.35, label=f"all points ({len(df)})")
    )

    # the front(s): (level, row positions, connect with a step line)
    pos = np.arange(len(df))
    objectives = {x: directions[0], y: directions[1]}
    groups: list[tuple[Any, np.ndarray, bool]] = []
    if highlight is not None:
        groups.append((None, pos[df.index.isin(highlight)], False))
    elif by is None:
        front = pareto_front(df.reset_index(drop=True), objectives)
        groups.append((None, front.index.to_numpy(), True))
    else:
        for lvl in _sort_levels(df[by].tolist()):
            rows = pos[(df[by] == lvl).to_numpy(dtype=bool, na_value=False)]
            front = pareto_front(df.iloc[rows].reset_index(drop=True), objectives)
            groups.append((lvl, rows[front.index.to_numpy()], True))

    to_label: list[int] = []
    where = "post" if directions[0] == "min" else "pre"  # the attainment staircase
    for i, (lvl, rows, connect) in enumerate(groups):
        if rows.size == 0:
            continue
        order = rows[np.lexsort((yv[rows], xv[rows]))]
        if lvl is None:
            line_color, ls, marker, name = "black", "-", "o", "Pareto front"
        else:
            line_color = cats[lvl] if cats is not None and by == color else colormaps["Dark2"](i % 8)
            ls, marker = _LINESTYLES[i % len(_LINESTYLES)], _MARKERS[i % len(_MARKERS)]
            name = f"front, {by}={_format_value(lvl)}"
        if connect:
            ax.step(xv[order], yv[order], where=where, color=line_color, lw=1.4, ls=ls, zorder=3)
        ax.scatter(
            xv[order], yv[order], s=40, c=rgba[order], marker=marker,
            edgecolors=[line_color], linewidths=1.0, zorder=4,
        )  # fmt: skip
        legend_handles.append(
            Line2D([], [], color=line_color, ls=ls if connect else "", lw=1.4, marker=marker, ms=6,
                   mfc="white", mec=line_color, label=f"{name} ({rows.size})")
        )  # fmt: skip
        if labels is not None:
            to_label.extend(order[_pick_evenly(order.size, max_labels)].tolist())

    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):
        fmt = axis.get_major_formatter()
        if isinstance(fmt, ScalarFormatter):  # 7x10^5 rather than 700000
            fmt.set_powerlimits((-3, 4))
            fmt.set_useMathText(True)
    ax.set_xlabel(axis_label(x), fontsize=11)
    ax.set_ylabel(axis_label(y), fontsize=11)
    ax.tick_params(labelsize=9)
    ax.grid(True, which="major", alpha=0.35)
    if logx or logy:
        ax.grid(True, which="minor", alpha=0.12)
    if title:
        ax.set_title(title, fontsize=11)
    ax.legend(handles=legend_handles, fontsize=8, framealpha=0.9, loc="best")
    if labels is not None:
        _place_labels(ax, [(xv[r], yv[r], labels[r]) for r in to_label])
    return fig
