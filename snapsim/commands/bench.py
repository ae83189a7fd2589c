"""``snapsim bench``: performance figures, each with a baseline measured in the same run."""

from __future__ import annotations

import importlib

SUITES = ("link", "sweep", "startup", "trace", "pareto", "router", "estimate")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="run the benchmarks (simulation speed, sweeps, start-up, traces, Pareto, router level, estimate)",
        description="Run benchmark suites. Each prints its figure and a baseline from the same run. "
        "The link suite runs the same cases in the reference and fast fidelities and checks identical timing.",
    )
    p.add_argument("--suite", default="link", help=f"one of {', '.join(SUITES)}, a comma list, or all (default link)")
    p.add_argument("--quick", action="store_true", help="smaller cases (seconds instead of tens of seconds)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_main)


def _main(args) -> int:
    from ..errors import SnapsimError

    names = list(SUITES) if args.suite == "all" else [s.strip() for s in args.suite.split(",")]
    bad = [n for n in names if n not in SUITES]
    if bad:
        raise SnapsimError(f"--suite: unknown suite {', '.join(bad)}; choose from {', '.join(SUITES)} or all")
    out = {}
    for name in names:
        try:
            module = importlib.import_module(f"snapsim.benchmarks.{name}")
        except ModuleNotFoundError:
            out[name] = {"error": "suite not available in this build"}
            continue
        out[name] = module.run(quick=args.quick)
    if args.json:
        flat = dict(out["link"]) if names == ["link"] else out
        from ..results import dumps_strict

        print(dumps_strict(flat, indent=2, sort_keys=True, default=float))
        return 0
    for name, res in out.items():
        print(f"== {name}")
        _print(res, "  ")
    return 0


def _print(obj, indent: str) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, (dict, list)):
                print(f"{indent}{k}:")
                _print(v, indent + "  ")
            else:
                print(f"{indent}{k}: {_fmt(v)}")
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, dict):
                head = item.get("case")
                if head:
                    print(f"{indent}- {head}")
                _print({k: v for k, v in item.items() if k != "case"}, indent + "    ")
            else:
                print(f"{indent}- {_fmt(item)}")


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1e4 else f"{v:,.0f}"
    return str(v)
