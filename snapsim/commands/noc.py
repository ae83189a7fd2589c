"""``snapsim noc``: latency against offered load and accepted throughput of a network under synthetic
traffic, at the router level (or the ideal level), with the closed forms beside."""

from __future__ import annotations

import json
import math


def add_parser(sub) -> None:
    p = sub.add_parser(
        "noc",
        help="latency/throughput curve of a network under synthetic traffic (router or ideal level)",
        description="Drive the package's network with synthetic traffic and measure, per offered load, the mean "
        "packet and network latency and the accepted throughput with the standard methodology (warm-up, "
        "measurement until stable, drain; unstable past saturation). The closed forms are printed beside: "
        "zero-load latency, the channel-load throughput bound and an M/D/1 estimate. Every chiplet needs a "
        "router config (chiplet.router); see hwconfigs/noc/reference-mesh4.yaml.",
    )
    p.add_argument("--hw", required=True, metavar="HW.yaml", help="hardware file (kind: hardware) with chiplet.router")
    p.add_argument("--set", action="append", default=[], metavar="PATH=VALUE",
                   help="override a field, e.g. topology.rows=8 (repeatable)")
    p.add_argument("--traffic", default="uniform", help="uniform, transpose, bitcomp, bitrev, shuffle, tornado, "
                   "neighbor or hotspot (default uniform)")
    p.add_argument("--rates", default=None, metavar="R1,R2,...|START:STOP:STEP",
                   help="offered loads in flits per terminal per cycle (default 0.1:0.9:0.1; not with --injection trace)")
    p.add_argument("--packet-flits", default="1", metavar="N|N:P,M:Q",
                   help="packet size in flits, or a distribution SIZE:PROB,... (default 1)")
    p.add_argument("--injection", default="bernoulli", help="bernoulli, onoff or trace (default bernoulli)")
    p.add_argument("--burst-cycles", type=float, default=8.0, help="onoff: mean burst length in cycles (default 8)")
    p.add_argument("--trace", metavar="FILE", help="trace injection: rows 'cycle src dst flits'")
    p.add_argument("--hotspots", default="0", metavar="N,M", help="hotspot terminals (default 0)")
    p.add_argument("--hotspot-fraction", type=float, default=0.1, help="share of packets to the hotspots (default 0.1)")
    p.add_argument("--level", default="router", help="router, ideal, or both (default router)")
    p.add_argument("--seed", type=int, default=0, help="traffic seed (default 0)")
    p.add_argument("--sample-period", type=int, default=10_000, metavar="CYCLES",
                   help="methodology sample period (default 10000, as BookSim's reference runs)")
    p.add_argument("--json", action="store_true", help='print {"points": [...], "analytical": {...}}')
    p.add_argument("-o", "--output", metavar="CURVE.png", help="plot latency and accepted rate against offered load")
    p.set_defaults(func=_main)


def parse_rates(text: str) -> list[float]:
    from ..errors import SnapsimError

    try:
        if ":" in text:
            parts = [float(x) for x in text.split(":")]
            if len(parts) != 3 or parts[2] <= 0 or parts[1] < parts[0]:
                raise ValueError
            a, b, step = parts
            n = int(math.floor((b - a) / step + 1e-9)) + 1
            rates = [round(a + k * step, 12) for k in range(n)]
        else:
            rates = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SnapsimError(f"--rates {text!r}: expected R1,R2,... or START:STOP:STEP (flits per terminal per cycle)")
    if not rates or any(not 0 < r <= 1 for r in rates):
        raise SnapsimError(f"--rates {text!r}: every rate must be in (0, 1] flits per terminal per cycle")
    return rates


def _main(args) -> int:
    from .. import __version__
    from ..config.load import load_hardware
    from ..errors import SnapsimError
    from ..noc import BOOKSIM, LEVELS, analytical, curve_point, parse_sizes, read_trace
    from ..noc.methodology import Methodology
    from .run import parse_sets

    from ..noc import PATTERNS, PROCESSES

    if args.traffic not in PATTERNS:
        raise SnapsimError(f"--traffic {args.traffic!r}: choose from {', '.join(PATTERNS)}")
    if args.injection not in PROCESSES:
        raise SnapsimError(f"--injection {args.injection!r}: choose from {', '.join(PROCESSES)}")
    levels = list(LEVELS) if args.level == "both" else [args.level]
    if any(lv not in LEVELS for lv in levels):
        raise SnapsimError(f"--level {args.level!r}: choose router, ideal or both")
    if args.sample_period < 100:
        raise SnapsimError(f"--sample-period {args.sample_period}: must be at least 100 cycles")
    sizes = parse_sizes(args.packet_flits)
    hw_over, wl_over = parse_sets(args.set)
    if wl_over:
        raise SnapsimError(f"--set workload.{next(iter(wl_over))}: the noc command has no workload")
    hw = load_hardware(args.hw, hw_over)
    try:
        hotspots = tuple(int(x) for x in args.hotspots.split(","))
    except ValueError:
        raise SnapsimError(f"--hotspots {args.hotspots!r}: expected terminal ids N,M,...")
    n = hw.topology.n_chiplets
    if any(not 0 <= h < n for h in hotspots):
        raise SnapsimError(f"--hotspots {args.hotspots!r}: terminals are 0..{n - 1}")
    trace = None
    if args.injection == "trace":
        if not args.trace:
            raise SnapsimError("--injection trace needs --trace FILE")
        trace = read_trace(args.trace)
        rates = [0.0]
    else:
        if args.trace:
            raise SnapsimError("--trace is only used with --injection trace")
        rates = parse_rates(args.rates or "0.1:0.9:0.1")
    method = Methodology(sample_period_cycles=args.sample_period) if args.sample_period != BOOKSIM.sample_period_cycles \
        else BOOKSIM
    kw = dict(pattern=args.traffic, sizes=sizes, process=args.injection, seed=args.seed, method=method, trace=trace)
    if args.injection == "onoff":
        kw["burst_cycles"] = args.burst_cycles
    if args.traffic == "hotspot":
        kw.update(hotspots=hotspots, hotspot_fraction=args.hotspot_fraction)
    ana = analytical(hw, pattern=args.traffic if args.injection != "trace" else "uniform", sizes=sizes,
                     hotspots=hotspots, hotspot_fraction=args.hotspot_fraction)
    points = []
    for lv in levels:
        for rate in rates:
            pt = curve_point(hw, rate, level=lv, **kw)
            pt["level"] = lv
            est = ana["estimate"](pt["offered_flits_per_node_cycle"])
            pt["analytical_zero_load_latency_cycles"] = ana["zero_load_latency_cycles"]
            pt["analytical_md1_latency_cycles"] = est if math.isfinite(est) else None
            points.append(pt)
    summary = {
        "hardware": hw.name,
        "terminals": n,
        "topology": hw.topology.model_dump(mode="json"),
        "traffic": args.traffic,
        "injection": args.injection,
        "packet_flits": args.packet_flits,
        "seed": args.seed,
        "methodology": method.as_dict(),
        "snapsim_version": __version__,
        "analytical": {k: v for k, v in ana.items() if k not in ("estimate", "snapsim_version")},
        "points": points,
    }
    if args.output:
        _plot(summary, ana, args.output)
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
        return 0
    a = summary["analytical"]
    print(f"snapsim {__version__}  noc  hardware {hw.name}  {n} terminals  traffic {args.traffic} "
          f"({args.injection})  packets {args.packet_flits} flit(s)  seed {args.seed}")
    print(f"zero-load latency {a['zero_load_latency_cycles']:.2f} cycles;  throughput bound "
          f"{a['throughput_bound_flits_per_node_cycle']:.3f} flits/terminal/cycle ({a['throughput_bound_from']})")
    print(f"{'level':<7} {'offered':>8} {'accepted':>9} {'pkt lat':>9} {'net lat':>9} {'p99':>7} {'M/D/1 est':>10}  stable")
    for pt in points:
        print(f"{pt['level']:<7} {pt['offered_flits_per_node_cycle']:8.3f} {_f(pt['accepted_flits_per_node_cycle'], 9, 3)} "
              f"{_f(pt['packet_latency_cycles_mean'], 9, 2)} {_f(pt['network_latency_cycles_mean'], 9, 2)} "
              f"{_f(pt.get('packet_latency_cycles_p99'), 7, 0)} {_f(pt['analytical_md1_latency_cycles'], 10, 2)}  "
              f"{'yes' if pt['stable'] else 'no (saturated)'}")
    if args.output:
        print(f"wrote {args.output}")
    return 0


def _f(v, width: int, digits: int) -> str:
    return f"{'-':>{width}}" if v is None else f"{v:{width}.{digits}f}"


def _plot(summary: dict, ana: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
    a = summary["analytical"]
    bound = a["throughput_bound_flits_per_node_cycle"]
    for lv, marker in (("router", "o"), ("ideal", "s")):
        pts = [p for p in summary["points"] if p["level"] == lv]
        if not pts:
            continue
        stable = [p for p in pts if p["stable"] and p["packet_latency_cycles_mean"] is not None]
        ax1.plot([p["offered_flits_per_node_cycle"] for p in stable], [p["packet_latency_cycles_mean"] for p in stable],
                 marker + "-", label=f"{lv} level: packet latency")
        ax2.plot([p["offered_flits_per_node_cycle"] for p in pts], [p["accepted_flits_per_node_cycle"] for p in pts],
                 marker + "-", label=f"{lv} level")
    hi = max([p["offered_flits_per_node_cycle"] for p in summary["points"]] + [0.05])
    fine = np.linspace(0.005, min(hi, bound * 0.999), 100)
    est = [ana["estimate"](x) for x in fine]
    ax1.plot(fine, est, ":", color="0.3", label="zero-load + M/D/1 per channel (estimate)")
    ax1.axhline(a["zero_load_latency_cycles"], color="0.5", ls="--", lw=1, label="zero-load latency (exact)")
    ax1.axvline(bound, color="C3", ls="-.", lw=1, label=f"throughput bound ({a['throughput_bound_from']})")
    zl = a["zero_load_latency_cycles"]
    ax1.set_ylim(0, max(4 * zl, 1))
    ax1.set_xlabel("offered load [flits/terminal/cycle]")
    ax1.set_ylabel("mean packet latency [cycles]")
    ax1.set_title(f"{summary['hardware']}: {summary['traffic']} traffic")
    xs = np.linspace(0, hi, 50)
    ax2.plot(xs, np.minimum(xs, bound), "--", color="C3", label="min(offered, bound)")
    ax2.set_xlabel("offered load [flits/terminal/cycle]")
    ax2.set_ylabel("accepted [flits/terminal/cycle]")
    ax2.set_title("accepted throughput")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left")
    fig.savefig(path, dpi=120)
    plt.close(fig)
