"""Studies: many snapsim runs planned, run on the sweep machinery, analysed and reported.

The registry maps a study's name to the module that defines it (imported on first use, so listing the
studies stays cheap); ``snapsim study NAME`` and :func:`run` look studies up here. A study module exposes
``STUDY``, an instance of :class:`~snapsim.studies.base.Study`. :func:`register` adds a study defined
elsewhere (:func:`unregister` forgets it).

    from snapsim import studies
    result = studies.run("snap", "small", "study_small")     # a StudyResult
    result.gains                                              # its tables, as DataFrames
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from ..errors import SnapsimError
from .base import Study, StudyResult, run_study

__all__ = ["Study", "StudyResult", "get", "names", "register", "run", "run_study", "unregister"]

_MODULES: dict[str, str] = {
    "snap": "snapsim.studies.snap",
}
_LOADED: dict[str, Study] = {}


def names() -> list[str]:
    """The registered studies, sorted."""
    return sorted(set(_MODULES) | set(_LOADED))


def register(study: Study) -> None:
    """Make ``study`` available by its name (replacing a study of that name)."""
    if not study.name:
        raise ValueError("a study needs a name")
    _LOADED[study.name] = study


def unregister(name: str) -> None:
    """Forget a study added by :func:`register` (the shipped studies stay)."""
    if name in _MODULES:
        raise ValueError(f"{name!r} is a shipped study")
    _LOADED.pop(name, None)


def get(name: str) -> Study:
    """The study registered as ``name``; a :class:`~snapsim.errors.SnapsimError` naming the known ones otherwise."""
    if name not in _LOADED:
        if name not in _MODULES:
            raise SnapsimError(f"unknown study {name!r}; studies: {', '.join(names())} (snapsim study --list)")
        _LOADED[name] = importlib.import_module(_MODULES[name]).STUDY
    return _LOADED[name]


def run(name: str, size: Any = None, out_dir: str | os.PathLike = "study_out", **kwargs: Any) -> StudyResult:
    """Run the study registered as ``name`` (see :func:`~snapsim.studies.base.run_study` for the options)."""
    return run_study(get(name), size, out_dir, **kwargs)
