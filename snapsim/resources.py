"""Where the shipped data lives: the one module that knows it.

The hardware presets and packages, the workloads (with the model zoo, the demo sweep and the traces of
the trained examples) are package data inside the installed ``snapsim`` package (``snapsim/data/``),
found through :mod:`importlib.resources`, so a wheel install has them wherever it lands. A checkout
keeps its documented top-level paths: ``hwconfigs`` and ``workloads`` there are symlinks into
``snapsim/data``, so ``hwconfigs/packages/ucie-a-2x2.yaml`` names the same file relative to the
repository root and relative to :data:`DATA`.

- :data:`DATA`: the data directory of the installed package;
- :data:`HWCONFIGS`, :data:`WORKLOADS`: its two parts (``link/``, ``chiplet/``, ``packages/``; the
  workload files, ``zoo/``, ``sweeps/``, ``traces/``);
- :func:`shipped`: one shipped file or directory by its path relative to :data:`DATA`, with a clear
  error when it does not exist.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path, PurePosixPath

from .errors import SnapsimError

__all__ = ["DATA", "HWCONFIGS", "WORKLOADS", "shipped"]

#: The shipped data directory inside the installed package. pip installs packages as directories, so
#: the resource is a real path (``os.fspath`` would fail on a zipped package, which pip never makes).
DATA = Path(os.fspath(files(__package__) / "data"))
HWCONFIGS = DATA / "hwconfigs"
WORKLOADS = DATA / "workloads"


def shipped(relpath: str | os.PathLike) -> Path:
    """The shipped file or directory at ``relpath`` (relative to :data:`DATA`, e.g.
    ``"hwconfigs/packages/ucie-a-2x2.yaml"`` or ``"workloads/traces/digits_snap_l2.snaptrace"``).

    Raises :class:`SnapsimError` for an absolute path, a path leaving the data directory or a missing
    entry, naming what the parent directory does hold."""
    rel = PurePosixPath(Path(relpath).as_posix())
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise SnapsimError(f"{str(relpath)!r}: not a path inside snapsim's shipped data (relative, no '..')")
    path = DATA.joinpath(*rel.parts)
    if not path.exists():
        parent = path.parent
        while not parent.is_dir():
            parent = parent.parent
        there = sorted(p.name for p in parent.iterdir())
        where = parent.relative_to(DATA).as_posix() if parent != DATA else "."
        raise SnapsimError(f"{rel}: no such shipped file (in {DATA}); {where}/ holds: {', '.join(there) or 'nothing'}")
    return path
