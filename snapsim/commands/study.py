"""``snapsim study snap``: the SNAP reproduction study (see ``snapsim/study.py`` and ``docs/study.md``).

Example::

    snapsim study snap --size small --out study_small
    snapsim study snap --size default --out study_out --workers 2
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["add_parser"]


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "study",
        help="reproduction studies built from many snapsim runs (e.g. `study snap`)",
        description="Run a reproduction study and write its tables (CSV), figures (PNG) and summary.md.",
    )
    p.add_argument("study", choices=["snap"], help="snap: SNAP vs ANN-only and SNN-only (Nardone et al. 2025)")
    p.add_argument("--size", choices=["small", "default"], default="default",
                   help="small: 3 models, 2 links (~15 s); default: 10 models, 5 links, regime map, "
                        "chiplet count, link thresholds (~1 min on 2 cores)")
    p.add_argument("--out", default="study_out", metavar="DIR", help="output directory (default: %(default)s)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes (default: 1 for small, the CPU count up to 8 otherwise)")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from ..errors import SnapsimError
    from ..study import md_table, run_study

    if args.workers is not None and args.workers < 1:
        raise SnapsimError("--workers must be at least 1")
    res = run_study(args.size, args.out, workers=args.workers, progress=lambda m: print(m, file=sys.stderr))
    g = res.gains[res.gains["part"] == "size"]
    print(f"SNAP study ({res.size}): {len(res.runs)} runs in {res.elapsed_s:.1f} s\n")
    print("Gains (ratio other/SNAP; > 1 means SNAP is better), model/link grid:")
    print(md_table(g[["scenario", "link", "model", "energy_gain_vs_ann", "energy_gain_vs_snn",
                      "latency_gain_vs_ann", "latency_gain_vs_snn", "ann_d2d_energy_share"]]))
    print("\nRegime map:")
    print(md_table(res.regime))
    if len(res.chiplets):
        print("\nChiplet count (gain over ANN-only and ANN link/DRAM energy shares per partition count):")
        print(md_table(res.chiplets[[c for c in res.chiplets.columns if c.startswith(
            ("scenario", "link", "model", "energy_gain_vs_ann", "latency_gain_vs_ann", "ann_"))]]))
    if len(res.targets):
        print("\nWhere SNAP reaches the paper's figures (threshold per model; inf/nan = never):")
        print(md_table(res.targets[["model", "search", "link_power", "metric", "target", "threshold",
                                    "threshold_unit", "limit", "reached"]]))
    print("\nAccuracy front (3 objectives: energy, latency, accuracy):")
    print(md_table(res.accuracy_front[["task", "level", "link", "encoding", "trace_accuracy", "d2d_bits_per_inf",
                                       "energy_pj_per_inf", "latency_ns_p50"]]))
    failed = int((res.runs["status"] != "ok").sum())
    print(f"\nfailed runs: {failed}")
    print("outputs:")
    for name, path in res.files.items():
        print(f"  {name:<24} {path}")
    return 1 if failed else 0
