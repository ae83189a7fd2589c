"""``snapsim demo``: the main job on the shipped defaults (what ``make demo`` runs)."""

from __future__ import annotations

from pathlib import Path

from ..resources import shipped

#: What the demo runs, by path inside the shipped data (:mod:`snapsim.resources`).
PACKAGE = "hwconfigs/packages/ucie-a-2x2.yaml"
WORKLOADS = ("workloads/lm_32x4096.yaml", "workloads/resnet18_imagenet.yaml")
SWEEP = "workloads/sweeps/demo.yaml"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="run the shipped defaults: ANN-only vs SNN-only vs SNAP, and a sweep with its Pareto front",
        description="Run the language and vision workloads on the default 2x2 UCIe-A package in all three "
        "modes and print the comparison, then run the shipped demo sweep and draw its energy/latency "
        "Pareto front.",
    )
    p.add_argument("--out-dir", default="out", help="where the sweep results and plot go (default out/)")
    p.set_defaults(func=_main)


def _main(args) -> int:
    from ..results import format_comparison
    from ..runner import Prepared
    from . import pareto as pareto_cmd
    from . import sweep as sweep_cmd

    hw = shipped(PACKAGE)
    for wl in WORKLOADS:
        prep = Prepared.load(str(hw), str(shipped(wl)))
        results = [prep.result(mode=m, seed=0) for m in ("ann", "snn", "snap")]
        print(f"== {results[0]['workload']} on {results[0]['hardware']}")
        print(results[-1].summary())
        print()
        print(format_comparison(results))
        print()
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rc = sweep_cmd.run_from_demo(str(shipped(SWEEP)), str(out / "demo_sweep.parquet"))
    pareto_cmd.run_from_demo(str(out / "demo_sweep.parquet"), str(out / "demo_front.png"), ("--logx", "--logy"))
    return rc
