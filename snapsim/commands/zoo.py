"""``snapsim zoo``: list the model zoo and write any split of a model as a workload file."""

from __future__ import annotations

import sys

from ..errors import SnapsimError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "zoo",
        help="list the model zoo (RWKV-4, ResNet, VGG, ViT) or write a model split over N chiplets",
        description="The model zoo: published architectures whose stages (MACs, parameters, output shapes) are "
        "computed from their layer shapes (snapsim/zoo.py). --list shows the models; MODEL --parts N writes "
        "the workload of MODEL split over N chiplets (MAC-balanced cuts, stated in the file's comments) to "
        "-o FILE or stdout; --all writes every shipped split (_p2, _p4, _p8, _p16 of every model) into "
        "--out-dir, byte for byte the files shipped in workloads/zoo/.",
        epilog="examples: snapsim zoo --list; snapsim zoo rwkv-1.5b --parts 6 -o rwkv-1.5b_p6.yaml; "
        "snapsim zoo --all --out-dir zoo/",
    )
    p.add_argument("model", nargs="?", metavar="MODEL", help="a zoo model name (see --list)")
    p.add_argument("--parts", type=int, metavar="N", help="number of chiplets to split MODEL over")
    p.add_argument("-o", "--out", metavar="FILE.yaml", help="write the workload here (default: stdout)")
    p.add_argument("--list", action="store_true", help="list the models, their stages and possible splits")
    p.add_argument("--all", action="store_true", help="write every shipped split of every model into --out-dir")
    p.add_argument("--out-dir", metavar="DIR", help="directory for --all")
    p.set_defaults(func=_main)


def _main(args) -> int:
    from .. import zoo

    picked = [name for name, on in (("MODEL", args.model is not None), ("--list", args.list), ("--all", args.all)) if on]
    if len(picked) != 1:
        raise SnapsimError("give exactly one of MODEL (with --parts N), --list or --all"
                           + (f"; got {' and '.join(picked)}" if picked else ""))
    if args.list:
        _reject("--list", parts=args.parts, out=args.out, out_dir=args.out_dir)
        print(_listing(zoo))
        return 0
    if args.all:
        _reject("--all", parts=args.parts, out=args.out)
        if args.out_dir is None:
            raise SnapsimError("--all needs --out-dir DIR (the shipped files are snapsim/data/workloads/zoo/)")
        paths = zoo.generate(args.out_dir)
        print(f"wrote {len(paths)} files to {args.out_dir}")
        return 0
    _reject("MODEL", out_dir=args.out_dir)
    m = zoo.model(args.model)
    if args.parts is None:
        raise SnapsimError(f"{m.name}: give --parts N (1 to {zoo.max_parts(m)})")
    if args.out is None:
        sys.stdout.write(zoo.emit(m.name, args.parts))
    else:
        path = zoo.write(m.name, args.parts, args.out)
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _reject(mode: str, **given) -> None:
    """Options that do not go with ``mode``: one clear error instead of silently ignoring them."""
    flags = {"parts": "--parts", "out": "-o/--out", "out_dir": "--out-dir"}
    extra = [flags[k] for k, v in given.items() if v is not None]
    if extra:
        raise SnapsimError(f"{', '.join(extra)} cannot be used with {mode}")


def _listing(zoo) -> str:
    rows = [("model", "domain", "MACs/sample", "params", "stages", "splits", "shipped")]
    for m in zoo.models():
        st, gran = zoo.stages(m, max(zoo.PARTITIONS))
        rows.append((m.name, m.domain, f"{sum(s.macs for s in st):,}", f"{sum(s.params for s in st):,}",
                     f"{len(st)} ({gran})", f"1-{zoo.max_parts(m)}", ",".join(f"_p{p}" for p in zoo.PARTITIONS)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {2, 3}
    lines = ["  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in rows]
    return "\n".join(lines)
