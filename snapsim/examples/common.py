"""What both training examples share: their command line (where the traces and the workload file go,
the penalty levels, epochs, seed), how their workload file names its sources, and how a run ends."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Callable

from ..resources import WORKLOADS

__all__ = ["example_parser", "workload_sources", "finish"]


def example_parser(name: str, doc: str, penalties: tuple[float, ...], epochs: int) -> argparse.ArgumentParser:
    """The parser of ``python -m snapsim.examples.NAME`` (described by the first paragraph of ``doc``): by
    default it rewrites the shipped traces ``workloads/traces/NAME_l{k}.snaptrace`` and the workload
    ``workloads/NAME.yaml`` in the package data."""
    description = " ".join(doc.split("\n\n")[0].split())
    parser = argparse.ArgumentParser(prog=f"python -m snapsim.examples.{name}", description=description)
    parser.add_argument("--out-dir", type=Path, default=WORKLOADS / "traces",
                        help="where the traces go (default: the shipped traces, %(default)s)")
    parser.add_argument("--workload", type=Path, default=WORKLOADS / f"{name}.yaml",
                        help="workload file to write (default: the shipped one, %(default)s)")
    parser.add_argument("--workload-level", type=int, default=2,
                        help="penalty level whose firing rates the workload file takes (default 2)")
    parser.add_argument("--penalties", type=float, nargs="+", default=list(penalties),
                        help="sparsity penalty of each level (default %(default)s)")
    parser.add_argument("--epochs", type=int, default=epochs, help="training epochs per level (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the run (default 0)")
    return parser


def workload_sources(name: str, model_class: str, level: int, traced: str) -> str:
    """The ``sources:`` block of example ``name``'s workload file: the layer shapes of ``model_class``, and
    the trace of penalty ``level`` whose firing rates it takes (recorded on ``traced``)."""
    trace = f"workloads/traces/{name}_l{level}.snaptrace"
    return ("sources:\n"
            f'  stages: "layer shapes of snapsim/examples/{name}.py ({model_class})"\n'
            f'  boundary.firing_rate: "measured: {trace} ({traced})"\n'
            '  snn.firing_rate: "assumption (L): the measured boundary rate reused for every stage in SNN-only mode"\n'
            f'  trace: "{trace}"\n')


def finish(args: argparse.Namespace, rows: list[dict], workload_text: Callable[[dict], str]) -> int:
    """End a run: write the workload file from the metrics row of ``--workload-level`` (when that level
    ran), print every row as JSON, and return the exit code."""
    if 0 <= args.workload_level < len(rows):
        args.workload.write_text(workload_text(rows[args.workload_level]))
    print(json.dumps(rows, indent=1))
    return 0
