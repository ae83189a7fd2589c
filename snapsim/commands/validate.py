"""``snapsim validate``: check hardware, workload, link, chiplet and sweep files, and traces (a trace
directory or its ``manifest.json``: the manifest, every shard and the recorded statistics)."""

from __future__ import annotations

import sys

from pathlib import Path

from ..errors import SnapsimError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "validate",
        help="check config files (hardware, workload, link, chiplet, sweep) and traces",
        description="Validate each FILE by its `kind` (a trace directory or its manifest.json: the manifest, every "
        "shard and the recorded statistics); print every problem with file:line: field. Exit 0 if all files are "
        "valid, 2 otherwise.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=_main)


def _trace_dir(path: Path) -> Path | None:
    if path.is_dir() and (path / "manifest.json").is_file():
        return path
    if path.name == "manifest.json" and path.is_file():
        return path.parent
    return None


def _validate(f: str) -> str:
    trace = _trace_dir(Path(f))
    if trace is None:
        from ..config.load import validate_file

        return validate_file(f)
    from ..trace import open_trace  # only a trace needs the trace reader

    open_trace(trace).validate()
    return "trace"


def _main(args) -> int:
    bad = 0
    for f in args.files:
        try:
            kind = _validate(f)
        except SnapsimError as exc:
            bad += 1
            print(str(exc), file=sys.stderr)
            continue
        print(f"{f}: ok ({kind})")
    if bad:
        print(f"snapsim validate: {bad} of {len(args.files)} file(s) invalid", file=sys.stderr)
        return 2
    return 0
