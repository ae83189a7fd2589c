"""``snapsim trace``: validate, summarise, convert and import boundary traces.

    snapsim trace validate DIR
    snapsim trace stats DIR [--json] [--precision-bits BITS]
    snapsim trace convert SRC DST --to {npz,safetensors}
    snapsim trace import --out DIR --boundary NAME --src P0 --dst P1 \\
        (--npy FILE.npy --layout T,B,N | --events FILE.csv|.npy --neurons N --timesteps T --samples B)
    snapsim trace import --out DIR --spec boundaries.yaml        # several boundaries in one trace

Quote boundary names that hold shell characters: ``--boundary 'fc1->fc2'`` (an unquoted ``>`` redirects).
"""

from __future__ import annotations

import argparse
import sys

from ..errors import SnapsimError

__all__ = ["add_parser"]


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "trace",
        help="validate, summarise, convert and import boundary traces",
        description="Work with snapsim traces (directories of manifest.json + tensor shards).",
    )
    sub = p.add_subparsers(dest="trace_command", metavar="ACTION")
    sub.required = True

    v = sub.add_parser("validate", help="check the manifest, every shard and the recorded statistics")
    v.add_argument("dir", metavar="DIR")

    s = sub.add_parser("stats", help="firing rates, bits per sample under every encoding, break-even rates")
    s.add_argument("dir", metavar="DIR")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.add_argument("--precision-bits", type=int, default=None, metavar="BITS",
                   help="precision of the dense activation to compare against (default: an activation's own "
                        "recorded precision; for spikes, that of the activation recorded at the same cut, else 16)")

    s.add_argument("--flit-payload-bytes", type=int, default=None, metavar="BYTES",
                   help="also give the flits per sample on a link whose flits carry BYTES of payload (e.g. 254 "
                        "for 256-byte flits with 2 bytes of header/CRC), and each spike encoding packed over all "
                        "timesteps")

    c = sub.add_parser("convert", help="copy a trace to another container, bit for bit")
    c.add_argument("src", metavar="SRC")
    c.add_argument("dst", metavar="DST")
    c.add_argument("--to", required=True, choices=("npz", "safetensors"))
    c.add_argument("--shard-samples", type=int, default=None, metavar="N", help="default: as in SRC")
    c.add_argument("--overwrite", action="store_true", help="replace DST if it exists")

    i = sub.add_parser(
        "import", help="build a trace from arrays or event tables (one boundary, or several with --spec)",
        description="Build a trace from plain arrays (.npy) or spike event tables. One boundary from the options "
        "below, or any number from a YAML spec file (--spec; see docs/design.md, 'Traces'). Quote boundary names "
        "holding shell characters: --boundary 'fc1->fc2'.",
    )
    i.add_argument("--out", required=True, metavar="DIR")
    i.add_argument("--boundary", metavar="NAME", help="boundary name (quote it: 'fc1->fc2')")
    i.add_argument("--src", metavar="PARTITION")
    i.add_argument("--dst", metavar="PARTITION[,PARTITION...]")
    src = i.add_mutually_exclusive_group(required=True)
    src.add_argument("--npy", metavar="FILE.npy", help="array with axes named by --layout")
    src.add_argument("--events", metavar="FILE", help=".csv or .npy table with columns t,b,neuron")
    src.add_argument("--spec", metavar="FILE.yaml",
                     help="every boundary of the trace, each from an array or an event table (kind: trace-import)")
    i.add_argument("--layout", metavar="DIMS", help="axis names of --npy, e.g. T,B,N or B,T,C,H,W")
    i.add_argument("--kind", choices=("spike", "activation"), help="default: spike if --layout has T")
    i.add_argument("--dtype", metavar="DTYPE", help="logical dtype of an activation (e.g. BF16 for uint16 bits)")
    i.add_argument("--neurons", type=int, metavar="N")
    i.add_argument("--timesteps", type=int, metavar="T")
    i.add_argument("--samples", type=int, metavar="B")
    i.add_argument("--model", default="imported", help="model name for the manifest")
    i.add_argument("--container", choices=("safetensors", "npz"), default="safetensors")
    i.add_argument("--shard-samples", type=int, default=4096, metavar="N")
    i.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    i.add_argument("--max-memory-gib", type=float, default=None, metavar="G",
                   help="refuse an import whose estimated memory passes G GiB (default 4)")
    p.set_defaults(func=_main)
    return p


def _main(args: argparse.Namespace) -> int:
    from ..trace import open_trace

    action = args.trace_command
    if action == "validate":
        tr = open_trace(args.dir)
        tr.validate()
        print(
            f"{tr.path}: ok: {len(tr.boundaries)} boundaries, {tr.n_samples} samples, "
            f"{len(tr.shards)} {tr.container} shards, schema {tr.manifest['version']}"
        )
        return 0
    if action == "stats":
        return _stats(args)
    if action == "convert":
        from ..trace.importers import convert

        _check_out(args.dst, args.overwrite)
        out = convert(args.src, args.dst, args.to, shard_samples=args.shard_samples, overwrite=args.overwrite)
        print(f"{out}: written ({args.to})")
        return 0
    return _import(args)


def _stats(args: argparse.Namespace) -> int:
    from ..trace import open_trace
    from ..trace.stats import report_encodings

    if args.precision_bits is not None and not 1 <= args.precision_bits <= 64:
        raise SnapsimError(f"--precision-bits must be in [1, 64]; got {args.precision_bits}")
    if args.flit_payload_bytes is not None and args.flit_payload_bytes < 1:
        raise SnapsimError(f"--flit-payload-bytes must be >= 1; got {args.flit_payload_bytes}")
    tr = open_trace(args.dir)
    rows = report_encodings(tr, args.precision_bits, args.flit_payload_bytes)
    m = tr.manifest
    if args.json:
        out = {
            "trace": str(tr.path),
            "model": m["model"],
            "samples": tr.n_samples,
            "timesteps": tr.timesteps,
            "metrics": m.get("metrics", {}),
            "sparsity": m.get("sparsity", {}),
            "precision_bits": args.precision_bits,
            "boundaries": rows,
        }
        from ..results import dumps_strict

        print(dumps_strict(out, indent=2))
        return 0
    model = m["model"]
    fw = " ".join(x for x in (model.get("framework"), model.get("framework_version")) if x)
    print(f"{tr.path}: {model['name']}" + (f" ({fw})" if fw else "")
          + f", {tr.n_samples} samples, T={tr.timesteps}, {len(tr.shards)} {tr.container} shards")
    for key in ("metrics", "sparsity"):
        if m.get(key):
            print(f"{key}: " + ", ".join(f"{k}={v}" for k, v in m[key].items()))
    print("(rates and bits below are computed from the data)")
    for r in rows:
        print()
        rate = (f"firing rate {r['firing_rate']:.4f}" if r["kind"] == "spike"
                else f"zero fraction {r['zero_fraction']:.4f}")
        print(f"boundary {r['boundary']}: {r['kind']} {r['src']} -> {', '.join(r['dst'])}, "
              f"{r['features']} features x {r['timesteps']} timesteps, {r['logical_dtype']}, {rate}")
        if "manifest_stats" in r:
            print(f"  warning: the manifest records {r['manifest_stats']}, the data has nnz={r['nnz']}, "
                  f"slots={r['slots']} (stale statistics; `snapsim trace validate` checks the trace)")
        bits_ref = r["reference_precision_bits"]
        ref = r["features"] * bits_ref  # one dense activation per sample
        print(f"  compared with a dense {bits_ref}-bit activation: {r['reference']}")
        flits = r.get("flits_per_sample")
        print(f"  {'encoding':<36} {'bits/sample':>14} {'vs dense activation':>20}"
              + (f" {'flits/sample':>13}" if flits else ""))
        for name, bits in sorted(r["bits_per_sample"].items(), key=lambda kv: kv[1]):
            extra = f" {flits[name]:>13.2f}" if flits and name in flits else ""
            print(f"  {name:<36} {bits:>14.1f} {bits / ref:>19.3f}x{extra}")
        if r["kind"] == "spike":
            be = r["breakeven_vs_dense"]
            print(f"  break-even vs a dense {bits_ref}-bit activation (spikes over T={r['timesteps']}):"
                  + "".join(f" {k} p={_rate(v)}" for k, v in be.items() if k != "bitmap")
                  + f"; bitmap {'wins' if r['timesteps'] < bits_ref else 'loses'} at every rate")
            print(f"  break-even bitmap vs aer: p={_rate(r['breakeven_bitmap_vs_aer'])}"
                  " (aer is smaller below it)")
    return 0


def _rate(x: float | None) -> str:
    return "never" if x is None else f"{x:.4f}"


def _check_out(out: str, overwrite: bool) -> None:
    """Refuse to replace a non-empty output directory without ``--overwrite`` (said in the CLI's words)."""
    from pathlib import Path

    p = Path(out)
    if p.exists() and not overwrite and (not p.is_dir() or any(p.iterdir())):
        what = "directory is not empty" if p.is_dir() else "exists and is not a directory"
        raise SnapsimError(f"{p}: {what} (pass --overwrite to replace it)")


def _import(args: argparse.Namespace) -> int:
    from ..trace.importers import import_array, import_events, import_spec

    from ..estimate import DEFAULT_LIMITS

    _check_out(args.out, args.overwrite)
    limit = DEFAULT_LIMITS.memory_gib if args.max_memory_gib is None else args.max_memory_gib
    if not limit > 0:
        raise SnapsimError(f"--max-memory-gib: must be a positive number; got {limit}")
    if args.spec:
        given = [f"--{n.replace('_', '-')}" for n in ("boundary", "src", "dst", "layout", "kind", "dtype", "neurons",
                                                      "timesteps", "samples")
                 if getattr(args, n) is not None]
        if given:
            raise SnapsimError(f"{', '.join(given)}: not with --spec (the spec file names every boundary)")
        out = import_spec(args.spec, args.out, overwrite=args.overwrite, max_memory_gib=limit)
        print(f"{out}: written")
        return 0
    missing = [f"--{n}" for n in ("boundary", "src", "dst") if getattr(args, n) is None]
    if missing:
        raise SnapsimError(f"--npy and --events need {', '.join(missing)} (or give every boundary in --spec FILE)")
    dst = [d.strip() for d in args.dst.split(",") if d.strip()]
    common = dict(boundary=args.boundary, src=args.src, dst=dst, model=args.model, container=args.container,
                  shard_samples=args.shard_samples, overwrite=args.overwrite, max_memory_gib=limit)
    if args.shard_samples < 1:
        raise SnapsimError(f"--shard-samples must be >= 1; got {args.shard_samples}")
    if args.npy:
        if not args.layout:
            raise SnapsimError("--npy needs --layout (axis names such as T,B,N)")
        unused = [f"--{n}" for n in ("neurons", "timesteps", "samples") if getattr(args, n) is not None]
        if unused:
            raise SnapsimError(f"{', '.join(unused)} apply to --events only (the .npy shape gives them)")
        out = import_array(args.out, args.npy, layout=args.layout, kind=args.kind, logical_dtype=args.dtype, **common)
    else:
        missing = [f"--{n}" for n in ("neurons", "timesteps", "samples") if getattr(args, n) is None]
        if missing:
            raise SnapsimError(f"--events needs {', '.join(missing)}")
        if args.layout or args.dtype or args.kind == "activation":
            raise SnapsimError("--layout, --dtype and --kind activation apply to --npy only (events are spikes)")
        out = import_events(args.out, args.events, neurons=args.neurons, timesteps=args.timesteps,
                            samples=args.samples, **common)
    print(f"{out}: written")
    return 0
