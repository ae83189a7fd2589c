"""``snapsim run``: one workload on one package, in one or all modes."""

from __future__ import annotations

import sys

from ..engine import MODES
from ..errors import ConfigError, Problem, SnapsimError
from ..network import FIDELITIES
from ..results import format_comparison, write_parquet
from ..schema import INT64_MAX


def add_parser(sub) -> None:
    from ..estimate import DEFAULT_LIMITS

    p = sub.add_parser(
        "run",
        help="simulate a workload on a hardware package",
        description="Simulate a stream of inferences of WORKLOAD on the package HW and report latency, "
        "throughput, energy per inference with its breakdown and per-link traffic. Each run's cost (events, "
        "memory, wall time) is estimated first; a run whose estimate passes --max-wall-s or --max-memory-gib "
        "is refused (--dry-run prints the estimate). A run of more than a few seconds shows its progress on "
        "a terminal.",
    )
    p.add_argument("--hw", required=True, metavar="HW.yaml", help="hardware package file (kind: hardware)")
    p.add_argument("--workload", required=True, metavar="W.yaml", help="workload file (kind: workload)")
    p.add_argument("--mode", default="snap", help="ann, snn, snap, a comma list, or all (default: snap)")
    p.add_argument("--seed", type=int, default=0, help="seed of the payload and arrival models, 0 to 2^63-1 (default 0)")
    p.add_argument("--fidelity", choices=FIDELITIES, default="fast", help="link model fidelity (default fast)")
    p.add_argument("--trace", metavar="DIR", help="replay boundary tensors recorded in this trace directory")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a field, e.g. link.rate_gtps=16 or workload.stream.inferences=64 (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the summary (non-finite numbers are "
                   "null, named in a non_finite field)")
    p.add_argument("--out", metavar="FILE.parquet", help="also write one row per mode to a Parquet file (checked "
                   "before the run; written atomically)")
    p.add_argument("--overwrite", action="store_true", help="let --out replace an existing file")
    p.add_argument("--dry-run", action="store_true", help="print each run's cost estimate and exit without running")
    p.add_argument("--max-wall-s", type=float, default=DEFAULT_LIMITS.wall_s, metavar="S",
                   help="refuse a run whose estimated wall time passes S seconds (default %(default)g)")
    p.add_argument("--max-memory-gib", type=float, default=DEFAULT_LIMITS.memory_gib, metavar="G",
                   help="refuse a run whose estimated memory passes G GiB (default %(default)g)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it is off anyway when not on a terminal)")
    p.set_defaults(func=_main)


def parse_modes(text: str) -> list[str]:
    modes = list(MODES) if text == "all" else [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise SnapsimError(f"--mode: unknown mode {', '.join(bad) or text!r}; use ann, snn, snap or all")
    return modes


def parse_sets(items: list[str]) -> tuple[dict, dict]:
    """``--set PATH=VALUE`` items as (hardware, workload) overrides; each VALUE is a YAML value read through
    the input gate (no tags, aliases or documents), so ``--set 'x=['`` is a one-line error."""
    from ..config.yamlio import load_yaml_text

    hw, wl = {}, {}
    for item in items:
        if "=" not in item:
            raise SnapsimError(f"--set {item!r}: expected PATH=VALUE")
        key, raw = item.split("=", 1)
        if not key or any(not part for part in key.split(".")):
            raise SnapsimError(f"--set {item!r}: expected a dotted PATH such as link.rate_gtps")
        try:
            value = load_yaml_text(raw, f"--set {key}")[0] if raw else raw
        except ConfigError as exc:
            message = exc.problems[0].message if exc.problems else str(exc)
            raise SnapsimError(f"--set {item}: {message}") from None
        if key.startswith("workload."):
            wl[key[len("workload."):]] = value
        else:
            hw[key] = value
    return hw, wl


def _as_set(exc: ConfigError) -> ConfigError:
    """Problems of ``--set`` values name the option, not the internal label ``override``."""
    return ConfigError([Problem("--set " + p.path if p.file == "override" else p.file,
                                None if p.file == "override" else p.line,
                                "" if p.file == "override" else p.path, p.message, p.cross_field)
                        for p in exc.problems])


def _limits(args):
    import math

    from ..estimate import Limits

    for flag, value in (("--max-wall-s", args.max_wall_s), ("--max-memory-gib", args.max_memory_gib)):
        if not value > 0:  # NaN too
            raise SnapsimError(f"{flag}: must be a positive number (inf lifts the limit); got {value}")
    return Limits(wall_s=args.max_wall_s if math.isfinite(args.max_wall_s) else math.inf,
                  memory_gib=args.max_memory_gib if math.isfinite(args.max_memory_gib) else math.inf)


def _main(args) -> int:
    from ..results import check_out_path, dumps_strict
    from ..runner import Prepared

    modes = parse_modes(args.mode)
    if not 0 <= args.seed <= INT64_MAX:
        raise SnapsimError(f"--seed: must be an integer from 0 to 2^63-1; got {args.seed}")
    limits = _limits(args)
    hw_over, wl_over = parse_sets(args.set)
    if args.out and not args.dry_run:
        check_out_path(args.out, args.overwrite)
    prep = Prepared.load(args.hw, args.workload, args.trace, limits=limits)
    try:
        if args.dry_run:
            for m in modes:
                est = prep.estimate(mode=m, fidelity=args.fidelity, hw_overrides=hw_over, workload_overrides=wl_over)
                print("\n".join(est.lines(limits)))
                try:
                    est.check(limits)
                    print("  within the limits: snapsim run would start")
                except SnapsimError as exc:
                    print(f"  {exc}")
            return 0
        results = [_run(prep, m, args, hw_over, wl_over) for m in modes]
    except ConfigError as exc:
        raise _as_set(exc) from None
    if args.out:
        write_parquet(results, args.out)
    if args.json:
        if len(results) == 1:
            print(results[0].to_json())
        else:
            print(dumps_strict({r.data["mode"]: r.data for r in results}, indent=2, sort_keys=True))
        return 0
    for r in results:
        print(r.summary())
        print()
    if len(results) > 1:
        print(format_comparison(results))
    if args.out:
        print(f"wrote {args.out}")
    return 0


def _run(prep, mode: str, args, hw_over: dict, wl_over: dict):
    """One mode, with a progress bar on a terminal when the estimate says it takes more than a moment."""
    from ..progress import PROGRESS_AFTER_S, ProgressProbe, progress_enabled

    probe = None
    if not args.no_progress and progress_enabled():
        est = prep.estimate(mode=mode, fidelity=args.fidelity, hw_overrides=hw_over, workload_overrides=wl_over)
        if est.wall_s > PROGRESS_AFTER_S:
            probe = ProgressProbe(est.inferences, f"{mode} ({est.summary()})")
    try:
        return prep.result(mode=mode, seed=args.seed, fidelity=args.fidelity, hw_overrides=hw_over,
                           workload_overrides=wl_over, probe=probe)
    finally:
        if probe is not None:
            probe.close()
            sys.stderr.flush()
