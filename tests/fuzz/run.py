"""snapsim's fuzz and fault suite: mutated configs, hostile traces, resource abuse and sweep faults.

    python tests/fuzz/run.py                 # the bounded run the test suite does (tests/test_fuzz.py)
    python tests/fuzz/run.py --size long     # make fuzz: ten times the configs and traces, a random seed
    python tests/fuzz/run.py --family traces --seed 3 --keep /tmp/fuzz   # one family, keep its files

Every case is a real ``snapsim`` command run in a forked child with a memory limit and a deadline
(``harness.py``). The suite prints, per family, how many cases ran and how they ended, and exits 1 unless
the issue's bar is met: at least 600 mutated configs, 150 hostile traces, 30 resource-abuse values and
10 sweep faults, with 0 tracebacks, 0 hangs past the deadline, 0 orphaned processes, 0 silently changed
results, and every refusal one line with file (and line where there is one) and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))  # sweep_helpers: the fake evaluation of the sweep faults

from harness import BAD_KINDS, Outcome, run_cases  # noqa: E402

THRESHOLDS = {"configs": 600, "traces": 150, "abuse": 30, "faults": 10}
SIZES = {
    # traces: rounds of the hostile-trace generator (the first ~190 traces, then ~60 a round); faults: rounds of
    # the kills (each after one more finished part)
    "ci": {"configs": 640, "traces": 1, "faults": 1},
    "long": {"configs": 6400, "traces": 10, "faults": 3},
}
TITLES = {"configs": "mutated configs", "traces": "hostile traces", "abuse": "resource-abuse values",
          "faults": "sweep faults"}
KINDS = ("ok", "refused", "failed", "traceback", "hang", "crash", "orphan", "changed", "accepted", "bad_refusal")


def _preload() -> None:
    """Import what the commands import, once, so each forked case starts in milliseconds."""
    import matplotlib

    matplotlib.use("Agg")
    import snapsim.cli
    import snapsim.commands.pareto  # noqa: F401
    import snapsim.plot  # noqa: F401
    import snapsim.runner  # noqa: F401
    import snapsim.sweep  # noqa: F401
    import snapsim.sweep.backends  # noqa: F401
    import snapsim.trace  # noqa: F401
    import snapsim.trace.importers  # noqa: F401
    import snapsim.trace.replay  # noqa: F401

    snapsim.cli.build_parser()


def _vm_mb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) // 1024
    return 0


def figures(name: str, outcomes: list[Outcome], unit: int | None = None) -> dict:
    counts = Counter(o.kind for o in outcomes)
    refusals = [o for o in outcomes if o.rc == 2]
    return {
        "family": name,
        "cases": unit if unit is not None else len(outcomes),
        "commands": len(outcomes),
        **{k: counts.get(k, 0) for k in KINDS},
        "refusals": len(refusals),
        "refusals_clean": sum(1 for o in refusals if o.kind == "refused"),
        "refusals_with_line": sum(1 for o in refusals if _has_line(o)),
        "bad": [o.short() for o in outcomes if o.kind in BAD_KINDS],
        "seconds": round(sum(o.elapsed_s for o in outcomes), 1),
    }


def _has_line(o: Outcome) -> bool:
    import re

    first = [ln for ln in o.stderr.splitlines() if ln.strip()][:1]
    return bool(first) and re.search(r"^(?:snapsim [a-z ]+: error: )?[^:]+:\d+: ", first[0]) is not None


def print_table(rows: list[dict], header: str) -> None:
    print(header)
    cols = ["cases", "commands", "ok", "refused", "failed", "traceback", "hang", "crash", "orphan", "changed",
            "accepted", "bad_refusal"]
    print(f"  {'family':<22}" + "".join(f"{c:>{max(9, len(c)) + 2}}" for c in cols))
    for r in rows:
        print(f"  {TITLES[r['family']]:<22}" + "".join(f"{r[c]:>{max(9, len(c)) + 2}}" for c in cols))
    for r in rows:
        n = r["refusals"]
        print(f"  {TITLES[r['family']]}: {n} refusals with exit 2, {r['refusals_clean']} of them one line per problem "
              f"naming the file, {r['refusals_with_line']} with a line number; {r['seconds']} s of case time")
    for r in rows:
        for line in r["bad"][:20]:
            print(f"  BAD {line}")
        if len(r["bad"]) > 20:
            print(f"  BAD ... and {len(r['bad']) - 20} more")


def verdict(rows: list[dict], families: list[str]) -> list[str]:
    problems = []
    for r in rows:
        if r["cases"] < THRESHOLDS[r["family"]]:
            problems.append(f"{TITLES[r['family']]}: {r['cases']} cases, fewer than {THRESHOLDS[r['family']]}")
        bad = {k: r[k] for k in BAD_KINDS if r.get(k)}
        if bad:
            problems.append(f"{TITLES[r['family']]}: " + ", ".join(f"{v} {k}" for k, v in bad.items()))
    missing = [f for f in families if f not in {r['family'] for r in rows}]
    problems += [f"{TITLES[f]}: did not run" for f in missing]
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", choices=sorted(SIZES), default="ci")
    p.add_argument("--seed", type=int, default=None, help="default: 0 for ci, random for long (printed)")
    p.add_argument("--family", action="append", choices=sorted(THRESHOLDS), help="run only these (repeatable)")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    p.add_argument("--keep", metavar="DIR", help="work in DIR and keep its files (mutants, traces, outputs)")
    args = p.parse_args(argv)
    seed = args.seed if args.seed is not None else (0 if args.size == "ci" else random.SystemRandom().randrange(2**31))
    families = args.family or list(THRESHOLDS)
    size = SIZES[args.size]
    os.environ["CI"] = "1"  # no progress bars in the cases
    os.environ.setdefault("MPLBACKEND", "Agg")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    t0 = time.perf_counter()
    _preload()
    mem_mb = _vm_mb() + 2048  # each case may grow by 2 GiB of address space beyond the warm interpreter
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="snapsim-fuzz-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"snapsim fuzz: size {args.size}, seed {seed}, {args.jobs} jobs, families {', '.join(families)}; "
          f"cases limited to {mem_mb} MiB of address space; work in {work}", flush=True)
    rows = []
    try:
        for fam in families:
            t = time.perf_counter()
            if fam == "configs":
                import fam_configs

                outcomes, unit = fam_configs.run(size["configs"], seed, work / "configs", args.jobs, mem_mb)
            elif fam == "traces":
                import fam_traces

                outcomes, unit = fam_traces.run(size["traces"], seed, work / "traces", args.jobs, mem_mb)
            elif fam == "abuse":
                import fam_abuse

                outcomes, unit = fam_abuse.run(work / "abuse", args.jobs, mem_mb)
            else:
                import fam_faults

                outcomes, unit = fam_faults.run(work / "faults", mem_mb, size["faults"])
            row = figures(fam, outcomes, unit)
            if args.keep:  # every case and how it ended, for a look at what the suite did
                with open(work / f"{fam}.jsonl", "w") as f:
                    for o in outcomes:
                        f.write(json.dumps({"case": o.case, "kind": o.kind, "rc": o.rc, "s": round(o.elapsed_s, 3),
                                            "detail": o.detail, "stderr": o.stderr[-400:]}) + "\n")
            row["wall_s"] = round(time.perf_counter() - t, 1)
            rows.append(row)
            print(f"  {TITLES[fam]}: {unit} cases, {len(outcomes)} commands in {row['wall_s']} s", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print_table(rows, f"snapsim fuzz figures (size {args.size}, seed {seed}, {time.perf_counter() - t0:.0f} s):")
    problems = verdict(rows, families)
    if args.json:
        Path(args.json).write_text(json.dumps({"size": args.size, "seed": seed, "rows": rows, "problems": problems},
                                              indent=1))
    if problems:
        print("FAIL: " + "; ".join(problems))
        return 1
    print("PASS: " + ", ".join(f"{r['cases']} {TITLES[r['family']]}" for r in rows)
          + ": 0 tracebacks, 0 hangs, 0 orphans, 0 silently changed results, every refusal one line with its file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
