"""The ``snapsim`` command line.

Sub-commands live in their own modules; each exposes ``add_parser(subparsers)`` which registers the
sub-command and sets ``func`` (``func(args) -> int``) as its default. User errors
(:class:`snapsim.errors.SnapsimError`) print one readable message and exit 2, with no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__
from .errors import ConfigError, SnapsimError, one_line

# Modules that register sub-commands, in the order they appear in --help.
COMMAND_MODULES = (
    "snapsim.commands.run",
    "snapsim.commands.validate",
    "snapsim.commands.bench",
    "snapsim.commands.noc",
    "snapsim.commands.trace",
    "snapsim.commands.sweep",
    "snapsim.commands.pareto",
    "snapsim.commands.plot",
    "snapsim.commands.study",
    "snapsim.commands.zoo",
    "snapsim.commands.demo",
)


class _Parser(argparse.ArgumentParser):
    """A usage error is one line (``snapsim run: error: ...``) and exit code 2, like every other refusal."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="snapsim",
        description="Simulate chiplet packages with die-to-die links: ANN-only, SNN-only and SNAP designs.",
    )
    parser.add_argument("--version", action="version", version=f"snapsim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that command is not part of this build
                continue
            raise
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SnapsimError as exc:
        text = str(exc) if isinstance(exc, ConfigError) else one_line(str(exc))  # one line per problem
        print(f"snapsim {args.command}: error: {text}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # output piped into e.g. `head`: not an error of ours
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at interpreter exit
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        print(f"snapsim {args.command}: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # the file system refused (a missing directory, no space, no permission): one line
        where = ": ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None) or "a file"
        print(one_line(f"snapsim {args.command}: error: {where}: {exc.strerror or exc}"), file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
