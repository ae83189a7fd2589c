"""``snapsim plot``: figures of saved results.

    snapsim plot timeline RESULT.json [--mode MODE] [-o FIG.png]

``RESULT.json`` is what ``snapsim run ... --timeseries --json`` (or ``--timeline``) prints: one object
per mode, keyed by mode name. The figure shows, against simulated time, each link direction's utilisation,
queue depth and wire bits per window, and each FIFO server's utilisation and queue depth.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import SnapsimError

__all__ = ["add_parser"]

_SUFFIXES = (".png", ".pdf", ".svg")


def add_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "plot",
        help="figures of saved results (timeline: per-link and per-stage time series)",
        description="Draw figures of saved run results.",
    )
    sub = p.add_subparsers(dest="plot_command", metavar="FIGURE")
    sub.required = True
    t = sub.add_parser(
        "timeline",
        help="link and server utilisation, queue depth and bits per window over simulated time",
        description="Plot the time series of a run result: `snapsim run ... --timeseries --json > run.json`, "
        "then `snapsim plot timeline run.json -o run.png`.",
    )
    t.add_argument("result", metavar="RESULT.json", help="output of `snapsim run ... --timeseries --json`")
    t.add_argument("--mode", help="which mode's result (default: the only one, else snap, then the first)")
    t.add_argument("-o", "--out", metavar="FIG.png", help="figure file (.png, .pdf or .svg; default RESULT.MODE.png)")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from ..timeseries import plot_timeseries

    path = Path(args.result)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SnapsimError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SnapsimError(f"{path}: not a JSON result of `snapsim run --json` ({exc})") from None
    if not isinstance(data, dict) or not data or not all(isinstance(v, dict) for v in data.values()):
        raise SnapsimError(f"{path}: expected the JSON of `snapsim run --json` (one object per mode, keyed by mode)")
    mode = args.mode or (next(iter(data)) if len(data) == 1 else "snap" if "snap" in data else next(iter(data)))
    if mode not in data:
        raise SnapsimError(f"{path}: no result for mode {mode!r} (modes: {', '.join(data)})")
    result = data[mode]
    ts = result.get("timeseries")
    if not isinstance(ts, dict):
        raise SnapsimError(f"{path}: mode {mode!r} has no time series; run it with --timeseries (or --timeline)")
    out = Path(args.out) if args.out else path.with_name(f"{path.stem}.{mode}.png")
    if out.suffix not in _SUFFIXES:
        raise SnapsimError(f"-o {out}: the figure must be {', '.join(_SUFFIXES)}")
    title = f"{result.get('workload', '')} on {result.get('hardware', '')}, mode {mode}"
    plot_timeseries(ts, out, title)
    print(f"wrote {out}")
    return 0
