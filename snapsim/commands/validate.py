"""``snapsim validate``: check hardware, workload, link, chiplet and sweep files."""

from __future__ import annotations

import sys

from ..errors import ConfigError


def add_parser(sub) -> None:
    p = sub.add_parser(
        "validate",
        help="check config files (hardware, workload, link, chiplet, sweep)",
        description="Validate each FILE by its `kind`; print every problem with file:line: field. Exit 0 if all "
        "files are valid, 2 otherwise.",
    )
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=_main)


def _main(args) -> int:
    from ..config.load import validate_file

    bad = 0
    for f in args.files:
        try:
            kind = validate_file(f)
        except ConfigError as exc:
            bad += 1
            print(str(exc), file=sys.stderr)
            continue
        print(f"{f}: ok ({kind})")
    if bad:
        print(f"snapsim validate: {bad} of {len(args.files)} file(s) invalid", file=sys.stderr)
        return 2
    return 0
