"""Sweep files: the strict model of a design-space sweep, its validation and its deterministic points.

A sweep names a base hardware file, a workload (and optionally a trace) and a set of *axes*. Each axis
is a dotted path into the resolved hardware config (``link.rate_gtps``), into the workload
(``workload.boundary.firing_rate``) or one of the special axes ``mode``, ``seed``, ``fidelity`` and
``trace``. ``combine`` turns the axes into points: ``grid`` (cartesian product, last axis varies fastest),
``zip`` (equal-length lists taken together) or ``random`` (``samples`` draws from
``numpy.random.default_rng(seed)``, axis by axis in file order). Every problem in a sweep file is reported
at once, with file, line and path.

This module checks the sweep file itself; :func:`snapsim.config.load.validate_sweep_file` also checks its
base files and every axis value against the hardware and workload models. Running a sweep (hashing,
resumable execution) lives in :mod:`snapsim.sweep`.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pydantic
from pydantic import Field

from ..errors import ConfigError, Problem
from ..schema import INT64_MAX
from .hardware import Strict
from .problems import locate, problem_at, pydantic_problems
from .yamlio import Origins, load_yaml

__all__ = [
    "MODES",
    "SPECIAL_AXES",
    "MAX_POINTS",
    "SweepFileConfig",
    "RangeAxisConfig",
    "ValuesAxisConfig",
    "Axis",
    "SweepSpec",
    "sweep_spec",
    "load_sweep",
]

MODES = ("ann", "snn", "snap")
SPECIAL_AXES = ("mode", "seed", "fidelity", "trace")  # trace: trace directories, relative to the sweep file
MAX_POINTS = 1_000_000
"""Largest sweep accepted; a bigger grid is almost always a mistake (and would not fit in memory)."""

_AXIS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")


# ---------------------------------------------------------------------------------------------- models


class SweepFileConfig(Strict):
    """The top level of a sweep file (``axes`` entries are checked by :class:`RangeAxisConfig`,
    :class:`ValuesAxisConfig` or as a plain list of values)."""

    kind: Literal["sweep"] = Field(description="File kind")
    name: str = Field(min_length=1, description="Sweep name (the progress bar and the summary show it)")
    description: str = Field("", description="What the sweep explores (free text)")
    hardware: str = Field(description="Hardware file, relative to the sweep file")
    workload: str = Field(description="Workload file, relative to the sweep file")
    trace: str | None = Field(None, description="Trace directory or file, relative to the sweep file")
    mode: Literal["ann", "snn", "snap"] = Field("snap", description="Mode of every point unless mode is an axis")
    seed: int = Field(0, ge=0, description="Base seed: per-point seed unless seed is an axis; random draws")
    fidelity: str = Field("fast", description="Link model fidelity of every point unless fidelity is an axis: fast or reference")
    combine: Literal["grid", "zip", "random"] = Field("grid", description="grid: cartesian product (last axis fastest); zip: equal-length axes taken together; random: samples draws")
    samples: int | None = Field(None, gt=0, description="Number of points for combine: random")
    axes: dict[str, Any] = Field(min_length=1, description="Dotted path -> a list of values, {values: [...]} or {range: [lo, hi], ...} (see below)")


class RangeAxisConfig(Strict):
    """``{range: [lo, hi], scale: linear|log, integer: false}``: a continuous axis (combine: random only)."""

    range: Annotated[tuple[float, float], pydantic.Strict(False)] = Field(description="Lower and upper bound, lo < hi")
    scale: Literal["linear", "log"] = Field("linear", description="linear: uniform draws; log: uniform in log (bounds > 0)")
    integer: bool = Field(False, description="Draw integers in [ceil(lo), floor(hi)]")


class ValuesAxisConfig(Strict):
    """``{values: [...]}``: the same as a plain list of values."""

    values: list[Any] = Field(min_length=1, description="The values, all of one kind (numbers, strings or booleans), none repeated")


# ------------------------------------------------------------------------------------------------ spec


@dataclass(frozen=True)
class Axis:
    """One swept dotted path: a list of ``values`` or (random sweeps only) a ``range``."""

    name: str
    values: tuple[Any, ...] | None = None
    range: tuple[float, float] | None = None
    scale: str = "linear"
    integer: bool = False
    line: int | None = None

    def draw(self, rng: np.random.Generator, n: int) -> list[Any]:
        """``n`` values drawn for a random sweep (a uniform choice for a values axis)."""
        if self.values is not None:
            idx = rng.integers(0, len(self.values), size=n)
            return [self.values[int(i)] for i in idx]
        assert self.range is not None
        lo, hi = self.range
        if self.integer:
            ilo, ihi = math.ceil(lo), math.floor(hi)
            if self.scale == "log":
                u = rng.uniform(math.log(ilo), math.log(ihi + 1), size=n)
                return [int(min(max(math.floor(math.exp(x)), ilo), ihi)) for x in u]
            return [int(x) for x in rng.integers(ilo, ihi, size=n, endpoint=True)]
        if self.scale == "log":
            return [float(math.exp(x)) for x in rng.uniform(math.log(lo), math.log(hi), size=n)]
        return [float(x) for x in rng.uniform(lo, hi, size=n)]


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file. Paths are absolute; ``file`` is the sweep file as given."""

    file: str
    name: str
    hardware: Path
    workload: Path
    trace: Path | None
    axes: tuple[Axis, ...]
    description: str = ""
    mode: str = "snap"
    seed: int = 0
    fidelity: str = "fast"
    combine: str = "grid"
    samples: int | None = None
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def axis_names(self) -> list[str]:
        return [a.name for a in self.axes]

    def size(self) -> int:
        """Number of points, without expanding them."""
        if self.combine == "random":
            return int(self.samples or 0)
        if self.combine == "zip":
            return len(self.axes[0].values or ())
        return math.prod(len(a.values or ()) for a in self.axes)

    def points(self) -> list[dict[str, Any]]:
        """The axis values of every point, in a deterministic order (the row order of the results)."""
        names = self.axis_names
        if self.combine == "grid":
            return [dict(zip(names, combo)) for combo in itertools.product(*(a.values or () for a in self.axes))]
        if self.combine == "zip":
            return [dict(zip(names, combo)) for combo in zip(*(a.values or () for a in self.axes))]
        rng = np.random.default_rng(self.seed)
        n = int(self.samples or 0)
        columns = [a.draw(rng, n) for a in self.axes]
        return [dict(zip(names, combo)) for combo in zip(*columns)]

    def run_points(self) -> list[dict[str, Any]]:
        """Every point with ``mode``, ``seed`` and ``fidelity`` filled in from the file when not swept."""
        fixed = {"mode": self.mode, "seed": self.seed, "fidelity": self.fidelity}
        out = []
        for p in self.points():
            full = dict(p)
            for k, v in fixed.items():
                full.setdefault(k, v)
            out.append(full)
        return out


# ---------------------------------------------------------------------------------------------- loading


def _fidelities() -> tuple[str, ...]:
    from ..network import FIDELITIES  # the simulator's own list

    return tuple(FIDELITIES)


def _scalar_kind(v: Any) -> str | None:
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    return None


def _unstorable(v: Any) -> str | None:
    """Why a number cannot be a value of a results column (a 64-bit integer or a finite float), or None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int) and not -INT64_MAX - 1 <= v <= INT64_MAX:
        return f"{v} does not fit a 64-bit integer (at most {INT64_MAX})"
    if isinstance(v, float) and not math.isfinite(v):
        return f"{v} is not a finite number"
    return None


def _check_values(name: str, values: list[Any], file: str, origins: Origins, path: str) -> list[Problem]:
    problems = []
    kinds = set()
    for i, v in enumerate(values):
        k = _scalar_kind(v)
        if k is None:
            problems.append(problem_at(origins, file, f"{path}.{i}",
                                       f"axis values must be numbers, strings or booleans; got {v!r}"))
        elif _unstorable(v):
            problems.append(problem_at(origins, file, f"{path}.{i}", f"axis value {_unstorable(v)}"))
        else:
            kinds.add(k)
    if len(kinds) > 1:
        problems.append(problem_at(origins, file, path,
                                   f"axis values must all be of one kind; got {', '.join(sorted(kinds))}"))
    if name == "mode":
        for i, v in enumerate(values):
            if v not in MODES:
                problems.append(problem_at(origins, file, f"{path}.{i}",
                                           f"mode must be one of {', '.join(MODES)}; got {v!r}"))
    elif name == "seed":
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                problems.append(problem_at(origins, file, f"{path}.{i}",
                                           f"seed must be a non-negative integer; got {v!r}"))
    elif name == "fidelity":
        for i, v in enumerate(values):
            if v not in _fidelities():
                problems.append(problem_at(origins, file, f"{path}.{i}",
                                           f"fidelity must be one of {', '.join(_fidelities())}; got {v!r}"))
    if not problems and len(set(map(repr, values))) != len(values):
        problems.append(problem_at(origins, file, path, "axis values repeat (each value may appear once)"))
    return problems


_AXIS_FORMS = "an axis is a list of values, {values: [...]} or {range: [lo, hi], scale: linear|log, integer: false}"


def _parse_range(name: str, raw: dict, combine: str, file: str, origins: Origins) -> tuple[Axis | None, list[Problem]]:
    path = f"axes.{name}"
    line = locate(origins, path, file)[1]
    try:
        ra = RangeAxisConfig.model_validate(raw)
    except pydantic.ValidationError as exc:
        return None, pydantic_problems(exc, raw, origins, file, path)
    lo, hi = ra.range
    problems = []
    if combine != "random":
        problems.append(Problem(file, line, path, f"a range axis needs combine: random (combine: {combine} "
                                                  "takes lists of values)"))
    rpath = f"{path}.range"
    if not lo < hi:
        problems.append(problem_at(origins, file, rpath, f"range must be [lo, hi] with lo < hi; got [{lo:g}, {hi:g}]"))
    elif ra.scale == "log" and lo <= 0:
        problems.append(problem_at(origins, file, rpath, f"a log-scale range must be positive; got [{lo:g}, {hi:g}]"))
    elif ra.integer and not (-INT64_MAX - 1 <= math.ceil(lo) and math.floor(hi) <= INT64_MAX):
        problems.append(problem_at(origins, file, rpath, f"an integer range must fit 64-bit integers; got "
                                                         f"[{lo:g}, {hi:g}]"))
    elif ra.integer and math.ceil(lo) > math.floor(hi):
        problems.append(problem_at(origins, file, rpath,
                                   f"an integer range must contain an integer; got [{lo:g}, {hi:g}]"))
    if name == "mode" or name == "fidelity" or (name == "seed" and not ra.integer):
        problems.append(Problem(file, line, path, f"{name} cannot be a continuous range"
                                                  + (" (use integer: true)" if name == "seed" else "")))
    if name == "seed" and lo < 0:
        problems.append(Problem(file, line, path, "seed range must be non-negative"))
    if problems:
        return None, problems
    return Axis(name, range=(lo, hi), scale=ra.scale, integer=ra.integer, line=line), []


def _parse_axis(name: str, raw: Any, combine: str, file: str, origins: Origins) -> tuple[Axis | None, list[Problem]]:
    path = f"axes.{name}"
    line = locate(origins, path, file)[1]
    if not isinstance(name, str) or not _AXIS_NAME.match(name) or name == "workload":
        return None, [Problem(file, line, path, "axis name must be a dotted path such as link.rate_gtps, "
                                                "workload.boundary.firing_rate, mode, seed or fidelity")]
    if isinstance(raw, list):
        raw_values, vpath = raw, path
        if not raw:
            return None, [Problem(file, line, path, "an axis needs at least one value")]
    elif isinstance(raw, dict) and "range" in raw:
        return _parse_range(name, raw, combine, file, origins)
    elif isinstance(raw, dict) and "values" in raw:
        try:
            va = ValuesAxisConfig.model_validate(raw)
        except pydantic.ValidationError as exc:
            return None, pydantic_problems(exc, raw, origins, file, path)
        raw_values, vpath = va.values, f"{path}.values"
    else:
        return None, [Problem(file, line, path, f"{_AXIS_FORMS}; got {raw!r}")]
    problems = _check_values(name, raw_values, file, origins, vpath)
    if problems:
        return None, problems
    return Axis(name, values=tuple(raw_values), line=line), []


def _resolve_file(base: Path, value: str, file: str, origins: Origins, key: str,
                  want_dir_ok: bool) -> tuple[Path | None, list[Problem]]:
    p = (base / value).resolve()
    if p.is_file() or (want_dir_ok and p.is_dir()):
        return p, []
    return None, [problem_at(origins, file, key, f"{'file' if not want_dir_ok else 'path'} not found: {p}")]


def sweep_spec(path: str | Path, data: Any, origins: Origins) -> SweepSpec:
    """Validate the mapping read from sweep file ``path``; raises :class:`ConfigError` listing every problem."""
    file = str(path)
    if not isinstance(data, dict):
        raise ConfigError([Problem(file, 1, "", "a sweep file must be a mapping with kind: sweep")])
    problems: list[Problem] = []
    try:
        model = SweepFileConfig.model_validate(data)
    except pydantic.ValidationError as exc:
        problems.extend(pydantic_problems(exc, data, origins, file))
        model = None
    # Axes are checked even when the top level has problems, so one pass reports everything.
    axes_raw = data.get("axes") if isinstance(data.get("axes"), dict) else {}
    combine = data.get("combine", "grid") if data.get("combine") in ("grid", "zip", "random") else "grid"
    axes: list[Axis] = []
    for name, raw in axes_raw.items():
        axis, probs = _parse_axis(name, raw, combine, file, origins)
        problems.extend(probs)
        if axis is not None:
            axes.append(axis)
    if model is None:
        raise ConfigError(problems)

    base = Path(path).resolve().parent
    hw, probs = _resolve_file(base, model.hardware, file, origins, "hardware", False)
    problems.extend(probs)
    wl, probs = _resolve_file(base, model.workload, file, origins, "workload", False)
    problems.extend(probs)
    trace = None
    if model.trace is not None:
        trace, probs = _resolve_file(base, model.trace, file, origins, "trace", True)
        problems.extend(probs)

    if model.fidelity not in _fidelities():
        problems.append(problem_at(origins, file, "fidelity",
                                   f"must be one of {', '.join(_fidelities())}; got {model.fidelity!r}"))
    if model.combine == "random" and model.samples is None:
        problems.append(Problem(file, locate(origins, "combine", file)[1], "samples",
                                "combine: random needs samples: N"))
    if model.combine != "random" and model.samples is not None:
        problems.append(problem_at(origins, file, "samples",
                                   f"samples only applies to combine: random (combine is {model.combine})"))
    if model.combine == "zip" and len(axes) == len(axes_raw):
        lengths = {a.name: len(a.values or ()) for a in axes}
        if len(set(lengths.values())) > 1:
            listing = ", ".join(f"{k} has {v}" for k, v in lengths.items())
            problems.append(problem_at(origins, file, "axes",
                                       f"combine: zip needs axes of equal length; {listing} values"))
    if problems:
        raise ConfigError(problems)

    assert hw is not None and wl is not None
    spec = SweepSpec(
        file=file, name=model.name, description=model.description, hardware=hw, workload=wl, trace=trace,
        axes=tuple(axes), mode=model.mode, seed=model.seed, fidelity=model.fidelity, combine=model.combine,
        samples=model.samples, lines={k: v[1] for k, v in origins.items()},
    )
    if spec.size() > MAX_POINTS:
        raise ConfigError([problem_at(origins, file, "axes",
                                      f"the sweep has {spec.size():,} points; at most {MAX_POINTS:,} are supported")])
    return spec


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file. Raises :class:`ConfigError` listing every problem found."""
    data, origins = load_yaml(path)
    return sweep_spec(path, data, origins)
