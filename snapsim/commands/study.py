"""``snapsim study NAME``: run a registered study (see ``snapsim/studies/`` and ``docs/study.md``).

Example::

    snapsim study --list
    snapsim study snap --size small --out study_small
    snapsim study snap --size default --out study_out --workers 2
    snapsim study snap --size small --out study_small --scheduler local     # on a Dask LocalCluster

Rerunning a study into the same ``--out`` resumes it: runs already finished there (``runs.parquet``) are
not run again. Exit code 0 when every run succeeded, 1 when some failed, 2 for an unknown study or size
or a bad option.
"""

from __future__ import annotations

import argparse
import os
import sys

from .sweep import ENV_SCHEDULER

__all__ = ["add_parser"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "study",
        help="studies built from many snapsim runs, resumable (e.g. `study snap`; `study --list`)",
        description="Run a registered study and write its tables (CSV), figures (PNG) and summary.md. "
                    "Rerunning into the same --out resumes: finished runs are not run again.",
    )
    p.add_argument("study", nargs="?", metavar="NAME", help="the study to run (see --list), e.g. snap: SNAP vs "
                   "ANN-only and SNN-only (Nardone et al. 2025)")
    p.add_argument("--list", action="store_true", help="list the studies and their sizes, then exit")
    p.add_argument("--size", metavar="SIZE",
                   help="the study's size (default: its default size); snap: small (4 models, 2 links, both "
                        "scenarios, 20-35 s) or default (10 models, 5 links, realistic and paper scenarios, regime "
                        "map, axes, assumption ladder, accuracy references, chiplet count, link thresholds, "
                        "1.5-4 min on 2 cores)")
    p.add_argument("--out", default="study_out", metavar="DIR", help="output directory (default: %(default)s)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="local worker processes (default: the size's, e.g. 1 for snap small; else the CPUs "
                        "available up to 8)")
    p.add_argument("--scheduler", metavar="ADDR",
                   help=f"Dask scheduler tcp://HOST:PORT, or 'local' for a 2-process cluster on this machine "
                        f"(default: ${ENV_SCHEDULER} if set, else local processes)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it is off anyway when not on a terminal)")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from .. import studies
    from ..errors import SnapsimError

    if args.list:
        for name in studies.names():
            study = studies.get(name)
            sizes = ", ".join(f"{s} (default)" if s == study.default_size else s for s in study.sizes)
            print(f"{name}: {study.title}; sizes: {sizes}")
        return 0
    if not args.study:
        raise SnapsimError(f"name a study (one of {', '.join(studies.names())}) or use --list")
    study = studies.get(args.study)
    scheduler = args.scheduler or os.environ.get(ENV_SCHEDULER) or None
    res = studies.run_study(study, args.size, args.out, workers=args.workers, scheduler=scheduler,
                            progress=False if args.no_progress else None,
                            say=lambda m: print(m, file=sys.stderr))
    print(study.console(res))
    return 1 if int((res.runs["status"] != "ok").sum()) else 0
