"""``snapsim run``: one workload on one package, in one or all modes."""

from __future__ import annotations

import json

from ..errors import SnapsimError

# Only argparse and the error type at import: ``snapsim --help`` must not load the simulator. The names
# offered below are checked against their definitions (plan.MODES, network.FIDELITIES, runner.ENGINES)
# when the command runs, and by tests/test_cli_startup.py.


def add_parser(sub) -> None:
    p = sub.add_parser(
        "run",
        help="simulate a workload on a hardware package",
        description="Simulate a stream of inferences of WORKLOAD on the package HW and report latency, "
        "throughput, energy per inference with its breakdown and per-link traffic.",
    )
    p.add_argument("--hw", required=True, metavar="HW.yaml", help="hardware package file (kind: hardware)")
    p.add_argument("--workload", required=True, metavar="W.yaml", help="workload file (kind: workload)")
    p.add_argument("--mode", default="snap", help="ann, snn, snap, a comma list, or all (default: snap)")
    p.add_argument("--seed", type=int, default=0, help="seed of the payload and arrival models (default 0)")
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
                   "keyed by mode name")
    p.add_argument("--out", metavar="FILE.parquet", help="also write one row per mode to a Parquet file")
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
    from ruamel.yaml import YAML

    hw, wl = {}, {}
    for item in items:
        if "=" not in item:
            raise SnapsimError(f"--set {item!r}: expected PATH=VALUE")
        key, raw = item.split("=", 1)
        value = YAML(typ="safe").load(raw) if raw else raw
        if key.startswith("workload."):
            wl[key[len("workload."):]] = value
        else:
            hw[key] = value
    return hw, wl


def _check_choice(flag: str, value: str, choices) -> None:
    if value not in choices:
        raise SnapsimError(f"{flag}: unknown value {value!r}; choose from {', '.join(choices)}")


def _main(args) -> int:
    from ..network import FIDELITIES
    from ..results import format_comparison, write_parquet
    from ..runner import ENGINES, Prepared

    _check_choice("--fidelity", args.fidelity, FIDELITIES)
    _check_choice("--engine", args.engine, ENGINES)
    modes = parse_modes(args.mode)
    hw_over, wl_over = parse_sets(args.set)
    probes = _probes(args, modes)
    prep = Prepared.load(args.hw, args.workload, args.trace)
    results = [
        prep.result(mode=m, seed=args.seed, fidelity=args.fidelity, hw_overrides=hw_over, workload_overrides=wl_over,
                    probe=probes(m), engine=args.engine)
        for m in modes
    ]
    if args.out:
        write_parquet(results, args.out)
    if args.json:  # keyed by mode, for one mode as for several
        print(json.dumps({r.data["mode"]: r.data for r in results}, indent=2, sort_keys=True))
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
