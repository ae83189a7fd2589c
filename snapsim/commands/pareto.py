"""``snapsim pareto``: the Pareto front of a results table, as a plot and a CSV of the front rows.

Example::

    snapsim pareto results.parquet --x latency_ns_p50 --y energy_pj_per_inf --color mode -o front.png

writes ``front.png`` and ``front.csv`` (every column of the front rows, sorted by x). Only rows with
``status == "ok"`` are used when the table has a ``status`` column. ``--z COL`` adds a third objective:
the CSV then holds the 3-objective front; the plot draws one 2-D front per level of ``COL`` when it
has at most 12 levels, otherwise it highlights the 3-objective front points, coloured by ``COL``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..errors import SnapsimError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

# pandas and snapsim.pareto load when the command runs, not with ``snapsim --help``; the directions
# offered are snapsim.pareto.DIRECTIONS (tests/test_cli_startup.py checks they agree)
DIRECTIONS = ("min", "max")

__all__ = ["add_parser", "read_results", "run_from_demo"]

_MAX_BY_LEVELS = 12
_MAX_AUTO_LABELS = 3
_PLOT_SUFFIXES = (".png", ".pdf", ".svg")
_DPI = (10, 1200)  # a 6.4 x 4.4 in figure at 1200 dpi is 7680 x 5280 pixels
_MAX_WHERE = 20_000  # characters of a --where expression


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "pareto",
        help="Pareto front of a results table: a plot and a CSV of the front rows",
        description=(
            "Compute the Pareto front of a results table (Parquet or CSV, e.g. from `snapsim sweep`), "
            "plot all points with the front highlighted, and write the front rows to a CSV beside the "
            "plot (same stem, .csv). Rows with a `status` other than 'ok' are ignored."
        ),
    )
    p.add_argument("results", help="results table (.parquet or .csv)")
    p.add_argument("--x", default="latency_ns_p50", metavar="COL", help="x objective (default: %(default)s)")
    p.add_argument("--y", default="energy_pj_per_inf", metavar="COL", help="y objective (default: %(default)s)")
    p.add_argument(
        "--z", default=None, metavar="COL",
        help=f"optional third objective; with at most {_MAX_BY_LEVELS} levels, one front is drawn per level",
    )  # fmt: skip
    for axis in ("x", "y", "z"):
        p.add_argument(
            f"--{axis}-dir", choices=DIRECTIONS, default="min",
            help=f"minimise or maximise the {axis} objective (default: %(default)s)",
        )  # fmt: skip
    p.add_argument(
        "--color", default=None, metavar="COL", help="colour points by this column (default: mode, if present)"
    )
    p.add_argument(
        "--label", nargs="+", default=None, metavar="COL",
        help="label front points with these columns (default: the swept parameters, i.e. dotted "
        "column names such as link.rate_gtps, that differ along the front)",
    )  # fmt: skip
    p.add_argument("--no-labels", action="store_true", help="do not label front points")
    p.add_argument("--logx", action="store_true", help="logarithmic x axis")
    p.add_argument("--logy", action="store_true", help="logarithmic y axis")
    p.add_argument(
        "--where", default=None, metavar="EXPR",
        help="keep only rows matching this pandas query, e.g. \"mode != 'ann'\"; "
        "quote dotted names with backticks: \"`link.rate_gtps` >= 16\"",
    )  # fmt: skip
    p.add_argument("--title", default=None, help="plot title")
    p.add_argument("--dpi", type=int, default=200, help=f"resolution of a PNG, {_DPI[0]} to {_DPI[1]} "
                   "(default: %(default)s)")
    p.add_argument("-o", "--output", required=True, metavar="PLOT", help="plot file (.png, .pdf or .svg)")
    p.set_defaults(func=_main)


def run_from_demo(results: str, output: str, extra: Sequence[str] = ()) -> int:
    """Run ``snapsim pareto RESULTS [EXTRA...] -o OUTPUT`` in-process (used by ``snapsim demo``)."""
    parser = argparse.ArgumentParser(prog="snapsim")
    add_parser(parser.add_subparsers(dest="command"))
    return _main(parser.parse_args(["pareto", str(results), *extra, "-o", str(output)]))


def read_results(path: str | Path, notes: list[str] | None = None) -> "pd.DataFrame":
    """Read a results table from Parquet or CSV; SnapsimError naming the file if that fails. A sweep's
    table that is still being written (or whose sweep was killed) is read with its finished parts
    (:func:`snapsim.sweep.store.load_results`); ``notes`` receives a line per part skipped."""
    import pandas as pd

    from ..sweep.store import load_results_with_notes, parts_dir

    path = Path(path)
    if parts_dir(path).is_dir() and path.suffix.lower() in (".parquet", ".pq"):
        df, skipped = load_results_with_notes(path)
        if notes is not None:
            notes.extend(skipped)
        return df
    if not path.is_file():
        raise SnapsimError(f"{path}: no such results file")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".pq", ".csv"):
        raise SnapsimError(f"{path}: unsupported results format {suffix or '(no suffix)'!r}; use .parquet or .csv")
    errors: tuple[type[BaseException], ...] = (OSError, ValueError, ImportError)
    try:
        import pyarrow

        errors += (pyarrow.ArrowException,)
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        pass
    try:
        return pd.read_csv(path) if suffix == ".csv" else pd.read_parquet(path)
    except errors as exc:
        raise SnapsimError(f"{path}: cannot read the results table: {exc}") from None


def _require(df: "pd.DataFrame", path: Path, col: str, flag: str, numeric: bool = False) -> None:
    import pandas as pd

    if col not in df.columns:
        columns = ", ".join(map(str, df.columns))
        raise SnapsimError(f"{path}: no column {col!r} (given to {flag}); the columns are: {columns}")
    if numeric and not (pd.api.types.is_numeric_dtype(df[col]) or pd.api.types.is_bool_dtype(df[col])):
        raise SnapsimError(f"{path}: column {col!r} (given to {flag}) is not numeric (dtype {df[col].dtype})")


def _where(df: "pd.DataFrame", expr: str, path: Path) -> "pd.DataFrame":
    """``df.query(expr)``, every failure one line naming --where."""
    shown = expr if len(expr) <= 80 else expr[:77] + "..."
    if len(expr) > _MAX_WHERE:
        raise SnapsimError(f"--where: the expression has {len(expr):,} characters (at most {_MAX_WHERE:,})")
    import pandas as pd

    try:
        kept = df.query(expr)
    except RecursionError:
        raise SnapsimError(f"--where {shown!r}: too deeply nested for pandas to evaluate; split it or use isin "
                           "(e.g. \"`link.rate_gtps` in [8, 16]\")") from None
    except (SyntaxError, NameError, KeyError, ValueError, TypeError, AttributeError, IndexError,
            OverflowError, ZeroDivisionError, NotImplementedError, MemoryError) as exc:
        raise SnapsimError(f"{path}: --where {shown!r} failed: {type(exc).__name__}: "
                           f"{' '.join(str(exc).split())[:300]}") from None
    if not isinstance(kept, pd.DataFrame):
        raise SnapsimError(f"--where {shown!r}: not a row filter (it must compare columns, e.g. \"mode != 'ann'\")")
    return kept


def _hashable(df: "pd.DataFrame") -> "pd.DataFrame":
    """Cells holding lists, arrays or mappings (list columns of a results table) as their text, so columns
    can be compared, grouped and printed like any other."""
    out = df
    for col in df.columns:
        if df[col].dtype != object:
            continue
        cells = df[col].tolist()
        if any(isinstance(v, (list, tuple, dict, set)) or hasattr(v, "tolist") and getattr(v, "ndim", 0) for v in cells):
            if out is df:
                out = df.copy()
            out[col] = [v if isinstance(v, str) or v is None else str(v.tolist() if hasattr(v, "tolist") else v)
                        for v in cells]
    return out


def _check_title(title: str) -> None:
    """A title matplotlib can draw (math text between $...$ must parse): one line otherwise."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1))
    FigureCanvasAgg(fig)
    fig.text(0, 0, title)
    try:
        fig.canvas.draw()
    except (ValueError, RuntimeError, KeyError, IndexError) as exc:
        msg = " ".join(str(exc).split())
        raise SnapsimError(f"--title {title!r}: matplotlib cannot draw it ({msg[:200]}); escape a literal $ as "
                           "\\$") from None


def _auto_labels(front: "pd.DataFrame", exclude: set[str]) -> list[str]:
    """Swept parameters (dotted column names) whose value differs along the front."""
    cols = [c for c in front.columns if isinstance(c, str) and "." in c and c not in exclude]
    return [c for c in cols if front[c].nunique(dropna=False) > 1][:_MAX_AUTO_LABELS]


def _main(args: argparse.Namespace) -> int:
    from ..pareto import pareto_front
    from ..plot import plot_pareto  # matplotlib only when this command runs

    path = Path(args.results)
    out = Path(args.output)
    if out.suffix.lower() not in _PLOT_SUFFIXES:
        raise SnapsimError(f"{out}: the plot file must end in {', '.join(_PLOT_SUFFIXES)}")
    if not _DPI[0] <= args.dpi <= _DPI[1]:
        raise SnapsimError(f"--dpi: must be from {_DPI[0]} to {_DPI[1]}; got {args.dpi}")
    if args.title:
        _check_title(args.title)
    csv_path = out.with_suffix(".csv")
    skipped: list[str] = []
    df = _hashable(read_results(path, skipped))
    for note in skipped:
        print(f"warning: {note}", file=sys.stderr)
    n_rows = len(df)

    _require(df, path, args.x, "--x", numeric=True)
    _require(df, path, args.y, "--y", numeric=True)
    if args.z is not None:
        _require(df, path, args.z, "--z", numeric=True)
    if args.color is not None:
        _require(df, path, args.color, "--color")
    for col in args.label or ():
        _require(df, path, col, "--label")

    notes = []
    if "status" in df.columns:
        ok = (df["status"] == "ok").to_numpy(dtype=bool, na_value=False)
        if (~ok).any():
            notes.append(f"{int((~ok).sum())} with status != 'ok'")
        df = df[ok]
    if args.where:
        kept = _where(df, args.where, path)
        if len(kept) != len(df):
            notes.append(f"{len(df) - len(kept)} by --where")
        df = kept
    df = df.reset_index(drop=True)
    if df.empty:
        raise SnapsimError(f"{path}: no rows left to compare ({n_rows} rows; dropped {', '.join(notes) or 'none'})")

    objectives = {args.x: args.x_dir, args.y: args.y_dir}
    if args.z is not None:
        if args.z in objectives:
            raise SnapsimError(f"--z {args.z!r} is already the x or y objective")
        objectives[args.z] = args.z_dir
    elif args.x == args.y:
        raise SnapsimError(f"--x and --y are both {args.x!r}")
    front = pareto_front(df, objectives)

    color = args.color if args.color is not None else ("mode" if "mode" in df.columns else None)
    by = highlight = None
    if args.z is not None:
        n_levels = df[args.z].nunique(dropna=True)
        if n_levels <= _MAX_BY_LEVELS:
            by = args.z
        else:
            highlight = front.index
            if args.color is None:
                color = args.z
    if args.no_labels:
        label = None
    elif args.label:
        label = args.label
    else:
        label = _auto_labels(front, {args.x, args.y, args.z, color}) or None

    fig = plot_pareto(
        df, args.x, args.y, color=color, label=label, logx=args.logx, logy=args.logy,
        directions=(args.x_dir, args.y_dir), by=by, title=args.title, highlight=highlight,
    )  # fmt: skip
    from ..results import write_atomic

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SnapsimError(f"-o {out}: cannot create {out.parent}: {exc.strerror or exc}") from None
    try:
        write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=args.dpi, format=out.suffix.lower()[1:]))
    except (ValueError, RuntimeError, OverflowError, MemoryError) as exc:  # e.g. math text in a column name
        msg = " ".join(str(exc).split())
        raise SnapsimError(f"-o {out}: matplotlib cannot draw the plot ({type(exc).__name__}: {msg[:200]})") from None
    write_atomic(csv_path, lambda tmp: front.sort_values([args.x, args.y], kind="stable").to_csv(tmp, index=False))

    dropped = f" (dropped {', '.join(notes)})" if notes else ""
    objs = ", ".join(f"{c} ({d})" for c, d in objectives.items())
    print(f"{len(df)} points from {path}{dropped}")
    n_missing = int(df[list(objectives)].isna().any(axis=1).sum())
    if n_missing:
        print(f"{n_missing} of them lack a value in {', '.join(objectives)} and cannot be on the front")
    print(f"{len(front)} on the Pareto front of {objs}" + (f"; one front per {by} level drawn" if by else ""))
    print(f"wrote {out} and {csv_path}")
    return 0
