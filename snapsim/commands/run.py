"""``snapsim run``: one workload on one package, in one or all modes."""

from __future__ import annotations

import sys

from ..errors import ConfigError, Problem, SnapsimError

# Only argparse and the error types at import: ``snapsim --help`` must not load the simulator. The names
# offered below are checked against their definitions (plan.MODES, network.FIDELITIES, runner.ENGINES)
# when the command runs, and by tests/test_cli_startup.py.


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
    p.add_argument("--fidelity", default="fast", metavar="{fast,reference}",
                   help="link model fidelity: fast (one computation per message) or reference (every flit an "
                        "event); they time alike (default fast)")
    p.add_argument("--engine", default="auto", metavar="{auto,stream,event}",
                   help="auto: the stream engine (the whole stream as vectorised recurrences) when no link is "
                        "shared by two flows and no probe is attached, else the event engine; stream: insist "
                        "on it; event: the discrete-event engine. Results are identical; they record which ran "
                        "and why (default auto)")
    p.add_argument("--trace", metavar="DIR", help="replay boundary tensors recorded in this trace directory")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a field, e.g. link.rate_gtps=16 or workload.stream.inferences=64 (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the summary: one object per mode, "
                   "keyed by mode name (non-finite numbers are null, named in a non_finite field)")
    p.add_argument("--out", metavar="FILE.parquet", help="also write one row per mode to a Parquet file (checked "
                   "before the run; written atomically)")
    p.add_argument("--overwrite", action="store_true", help="let --out replace an existing file")
    p.add_argument("--dry-run", action="store_true", help="print each run's cost estimate and exit without running")
    p.add_argument("--max-wall-s", type=float, default=DEFAULT_LIMITS.wall_s, metavar="S",
                   help="refuse a run whose estimated wall time passes S seconds (default %(default)g)")
    p.add_argument("--max-memory-gib", type=float, default=DEFAULT_LIMITS.memory_gib, metavar="G",
                   help="refuse a run whose estimated memory passes G GiB (default %(default)g)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (it is off anyway when not on a terminal)")
    p.add_argument("--timeline", metavar="FILE.perfetto-trace",
                   help="write the run's timeline as a Perfetto trace (open it at ui.perfetto.dev): a track per "
                        "compute server, encoder, decoder and link direction; with several modes, one file per "
                        "mode (FILE.MODE.perfetto-trace). Timestamps are ps shown as ns. Implies --timeseries")
    p.add_argument("--timeline-window", metavar="START_NS:STOP_NS",
                   help="keep only timeline events overlapping this span of simulated time (long runs)")
    p.add_argument("--timeline-max-events", type=int, default=1_000_000, metavar="N",
                   help="cap on timeline events; later ones are counted as dropped (default 1000000)")
    p.add_argument("--timeseries", action="store_true",
                   help="add per-link and per-stage time series (utilisation, queue depth, bits per window) to the "
                        "result (--json; `snapsim plot timeline` draws them)")
    p.add_argument("--timeseries-window-ns", type=float, metavar="NS",
                   help="time-series window (default: about 200 windows over the run's closed-form length)")
    p.set_defaults(func=_main)


def parse_modes(text: str) -> list[str]:
    from ..plan import MODES

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


def _check_choice(flag: str, value: str, choices) -> None:
    if value not in choices:
        raise SnapsimError(f"{flag}: unknown value {value!r}; choose from {', '.join(choices)}")


def _main(args) -> int:
    from ..network import FIDELITIES
    from ..results import check_out_path, dumps_strict, format_comparison, write_parquet
    from ..runner import ENGINES, Prepared
    from ..schema import INT64_MAX

    _check_choice("--fidelity", args.fidelity, FIDELITIES)
    _check_choice("--engine", args.engine, ENGINES)
    modes = parse_modes(args.mode)
    if not 0 <= args.seed <= INT64_MAX:
        raise SnapsimError(f"--seed: must be an integer from 0 to 2^63-1; got {args.seed}")
    limits = _limits(args)
    hw_over, wl_over = parse_sets(args.set)
    if args.out and not args.dry_run:
        check_out_path(args.out, args.overwrite)
    probes = _probes(args, modes)
    prep = Prepared.load(args.hw, args.workload, args.trace, limits=limits)
    try:
        if args.dry_run:
            for m in modes:
                est = prep.estimate(mode=m, fidelity=args.fidelity, hw_overrides=hw_over, workload_overrides=wl_over,
                                    engine=args.engine, probe=probes(m))
                print("\n".join(est.lines(limits)))
                try:
                    est.check(limits)
                    print("  within the limits: snapsim run would start")
                except SnapsimError as exc:
                    print(f"  {exc}")
            return 0
        results = [_run(prep, m, args, hw_over, wl_over, probes(m)) for m in modes]
    except ConfigError as exc:
        raise _as_set(exc) from None
    if args.out:
        write_parquet(results, args.out)
    if args.json:  # keyed by mode, for one mode as for several
        print(dumps_strict({r.data["mode"]: r.data for r in results}, indent=2, sort_keys=True))
        return 0
    for r in results:
        print(r.summary())
        for line in _probe_notes(r.data):
            print(line)
        print()
    if len(results) > 1:
        print(format_comparison(results))
    if args.out:
        print(f"wrote {args.out}")
    return 0


def _run(prep, mode: str, args, hw_over: dict, wl_over: dict, probe):
    """One mode, with a progress bar on a terminal when the estimate says it takes more than a moment (the
    bar is optional: it never keeps a run from the stream engine, which then finishes without moving it)."""
    from ..progress import PROGRESS_AFTER_S, ProgressProbe, progress_enabled

    progress = None
    if not args.no_progress and progress_enabled():
        est = prep.estimate(mode=mode, fidelity=args.fidelity, hw_overrides=hw_over, workload_overrides=wl_over,
                            engine=args.engine, probe=probe)
        if est.wall_s > PROGRESS_AFTER_S:
            progress = ProgressProbe(est.inferences, f"{mode} ({est.summary()})")
    if progress is not None and probe is not None:
        from ..probe import TeeProbe

        probe = TeeProbe(progress, probe)
    try:
        return prep.result(mode=mode, seed=args.seed, fidelity=args.fidelity, hw_overrides=hw_over,
                           workload_overrides=wl_over, probe=progress if probe is None else probe, engine=args.engine)
    finally:
        if progress is not None:
            progress.close()
            sys.stderr.flush()


def _probes(args, modes: list[str]):
    """The probe of each mode's run (None: the engine's no-op default) from the timeline/time-series flags."""
    if not (args.timeline or args.timeseries or args.timeseries_window_ns is not None):
        for flag, given in (("--timeline-window", args.timeline_window),):
            if given:
                raise SnapsimError(f"{flag} needs --timeline FILE")
        return lambda mode: None
    from ..probe import TeeProbe
    from ..timeline import TimelineProbe, parse_window, timeline_path
    from ..timeseries import TimeSeriesProbe

    window = None
    if args.timeline_window:
        if not args.timeline:
            raise SnapsimError("--timeline-window needs --timeline FILE")
        try:
            window = parse_window(args.timeline_window)
        except ValueError as exc:
            raise SnapsimError(f"--timeline-window: {exc}") from None
    if args.timeline_max_events < 1:
        raise SnapsimError(f"--timeline-max-events must be >= 1; got {args.timeline_max_events}")
    if args.timeseries_window_ns is not None and not args.timeseries_window_ns > 0:
        raise SnapsimError(f"--timeseries-window-ns must be > 0; got {args.timeseries_window_ns}")

    def make(mode: str):
        series = TimeSeriesProbe(args.timeseries_window_ns)
        if not args.timeline:
            return series
        path = timeline_path(args.timeline, mode, len(modes) > 1)
        return TeeProbe(TimelineProbe(path, window, args.timeline_max_events), series)

    return make


def _probe_notes(d: dict) -> list[str]:
    lines = []
    tl = d.get("timeline")
    if tl:
        dropped = f", {tl['dropped_events']:,} dropped over --timeline-max-events" if tl["dropped_events"] else ""
        lines.append(f"timeline: wrote {tl['path']} ({tl['events']:,} events{dropped}; {tl['time']})")
    ts = d.get("timeseries")
    if ts:
        lines.append(f"time series: {ts['bins']} windows of {ts['window_ns']:,.3f} ns per link and server "
                     "(in --json; snapsim plot timeline draws them)")
    return lines
