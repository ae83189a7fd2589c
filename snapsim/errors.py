"""User-facing errors.

Every error a user can cause (bad YAML, a malformed trace, an impossible parameter) is raised as a
:class:`SnapsimError`. The CLI prints ``str(error)`` without a traceback and exits with code 2.
A :class:`ConfigError` carries *all* problems found in one pass, each naming its file, line and the
dotted path of the field.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SnapsimError", "ConfigError", "Problem", "TraceError", "ManifestError", "EstimateError", "one_line"]


class SnapsimError(Exception):
    """An error caused by user input; printed without traceback, exit code 2."""

    exit_code = 2


def one_line(text: str) -> str:
    """``text`` on one line: line breaks and other control characters (which a hostile key or value may
    hold) are shown as escapes, so every problem stays one line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii") for ch in text)


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file."""

    file: str
    line: int | None
    path: str
    message: str
    cross_field: bool = False  # a check across several fields (it may depend on values swept elsewhere)

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" {self.path}:" if self.path else ""
        return one_line(f"{where}:{field} {self.message}")


class ConfigError(SnapsimError):
    """One or more problems in configuration files, all reported at once."""

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda p: (p.file, p.line or 0, p.path))
        super().__init__("\n".join(str(p) for p in self.problems))


class TraceError(SnapsimError):
    """A trace directory that cannot be read or disagrees with its manifest or workload."""


class ManifestError(ConfigError, TraceError):
    """Problems in a trace manifest (or in a boundary declared for one), all reported at once, each with
    file, line and dotted path like any config problem; it is also a :class:`TraceError`."""


class EstimateError(SnapsimError):
    """A run refused before it starts: its cost estimate passes a limit (the message gives the estimate
    and the option that lifts the limit), or it needs more than snapsim can represent (simulated time
    beyond the 2^62 ps clock, a message of more than 2^62 bits)."""
