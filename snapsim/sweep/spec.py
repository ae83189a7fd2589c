"""Sweep files: a strict YAML model of a design-space sweep and its deterministic expansion into points.

A sweep names a base hardware file, a workload (and optionally a trace) and a set of *axes*. Each axis
is a dotted path into the resolved hardware config (``link.rate_gtps``), into the workload
(``workload.boundary.firing_rate``) or one of the special axes ``mode``, ``seed`` and ``fidelity``.
``combine`` turns the axes into points: ``grid`` (cartesian product, last axis varies fastest), ``zip``
(equal-length lists taken together) or ``random`` (``samples`` draws from ``numpy.random.default_rng(seed)``,
axis by axis in file order). Every problem in a sweep file is reported at once, with file, line and path.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError

from ..errors import ConfigError, Problem
from ..config.yamlio import Origins, load_yaml

__all__ = [
    "MODES",
    "SPECIAL_AXES",
    "MAX_POINTS",
    "Axis",
    "SweepSpec",
    "load_sweep",
    "validate_sweep_file",
    "check_axes",
    "split_point",
    "base_digest",
    "point_hash",
]

MODES = ("ann", "snn", "snap")
SPECIAL_AXES = ("mode", "seed", "fidelity", "trace")  # trace: trace directories, relative to the sweep file
MAX_POINTS = 1_000_000
"""Largest sweep accepted; a bigger grid is almost always a mistake (and would not fit in memory)."""

_AXIS_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")


# ---------------------------------------------------------------------------------------------- models


class _Closed(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _SweepFile(_Closed):
    kind: Literal["sweep"]
    name: StrictStr = Field(min_length=1)
    description: StrictStr = ""
    hardware: StrictStr = Field(description="Hardware file, relative to the sweep file")
    workload: StrictStr = Field(description="Workload file, relative to the sweep file")
    trace: StrictStr | None = Field(None, description="Trace directory or file, relative to the sweep file")
    mode: Literal["ann", "snn", "snap"] = Field("snap", description="Mode of every point unless mode is an axis")
    seed: StrictInt = Field(0, ge=0, description="Base seed: per-point seed unless seed is an axis; random draws")
    fidelity: StrictStr = "fast"
    combine: Literal["grid", "zip", "random"] = "grid"
    samples: StrictInt | None = Field(None, gt=0, description="Number of points for combine: random")
    axes: dict[str, Any] = Field(min_length=1)


class _RangeAxis(_Closed):
    range: tuple[StrictFloat | StrictInt, StrictFloat | StrictInt]
    scale: Literal["linear", "log"] = "linear"
    integer: StrictBool = False


class _ValuesAxis(_Closed):
    values: list[Any] = Field(min_length=1)


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


def split_point(point: dict[str, Any]) -> tuple[str, int, str, dict[str, Any], dict[str, Any]]:
    """``(mode, seed, fidelity, hw_overrides, workload_overrides)`` of a run point.

    Workload override keys lose their ``workload.`` prefix; everything else is a hardware override.
    """
    hw: dict[str, Any] = {}
    wl: dict[str, Any] = {}
    for k, v in point.items():
        if k in SPECIAL_AXES:
            continue
        if k.startswith("workload."):
            wl[k[len("workload.") :]] = v
        else:
            hw[k] = v
    return str(point["mode"]), int(point["seed"]), str(point["fidelity"]), hw, wl


# ---------------------------------------------------------------------------------------------- loading


def _line(origins: Origins, path: str) -> int | None:
    p = path
    while p:
        if p in origins:
            return origins[p][1]
        if "." not in p:
            break
        p = p.rsplit(".", 1)[0]
    return None


def _pydantic_problems(exc: ValidationError, file: str, origins: Origins, prefix: str = "") -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"])
        path = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
        kind = err["type"]
        if kind == "extra_forbidden":
            msg = "unknown key (not a field of a sweep file section; check the spelling)"
        elif kind == "missing":
            msg = "required field is missing"
        else:
            msg = err["msg"]
            msg = msg[len("Value error, ") :] if msg.startswith("Value error, ") else msg
            msg = msg[0].lower() + msg[1:]
            if "input" in err and not isinstance(err["input"], (dict, list)):
                msg += f"; got {err['input']!r}"
        out.append(Problem(file, _line(origins, path), path, msg))
    return out


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


def _check_values(name: str, values: list[Any], file: str, origins: Origins, path: str) -> list[Problem]:
    problems = []
    kinds = set()
    for i, v in enumerate(values):
        k = _scalar_kind(v)
        if k is None:
            problems.append(Problem(file, _line(origins, f"{path}.{i}"), f"{path}.{i}",
                                    f"axis values must be numbers, strings or booleans; got {v!r}"))
        else:
            kinds.add(k)
    if len(kinds) > 1:
        problems.append(Problem(file, _line(origins, path), path,
                                f"axis values must all be of one kind; got {', '.join(sorted(kinds))}"))
    if name == "mode":
        for i, v in enumerate(values):
            if v not in MODES:
                problems.append(Problem(file, _line(origins, f"{path}.{i}"), f"{path}.{i}",
                                        f"mode must be one of {', '.join(MODES)}; got {v!r}"))
    elif name == "seed":
        for i, v in enumerate(values):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                problems.append(Problem(file, _line(origins, f"{path}.{i}"), f"{path}.{i}",
                                        f"seed must be a non-negative integer; got {v!r}"))
    elif name == "fidelity":
        for i, v in enumerate(values):
            if v not in _fidelities():
                problems.append(Problem(file, _line(origins, f"{path}.{i}"), f"{path}.{i}",
                                        f"fidelity must be one of {', '.join(_fidelities())}; got {v!r}"))
    if not problems and len(set(map(repr, values))) != len(values):
        problems.append(Problem(file, _line(origins, path), path, "axis values repeat (each value may appear once)"))
    return problems


_AXIS_FORMS = "an axis is a list of values, {values: [...]} or {range: [lo, hi], scale: linear|log, integer: false}"


def _parse_axis(name: str, raw: Any, combine: str, file: str, origins: Origins) -> tuple[Axis | None, list[Problem]]:
    path = f"axes.{name}"
    line = _line(origins, path)
    if not isinstance(name, str) or not _AXIS_NAME.match(name) or name == "workload":
        return None, [Problem(file, line, path, "axis name must be a dotted path such as link.rate_gtps, "
                                                "workload.boundary.firing_rate, mode, seed or fidelity")]
    if isinstance(raw, list):
        raw_values, vpath = raw, path
        if not raw:
            return None, [Problem(file, line, path, "an axis needs at least one value")]
    elif isinstance(raw, dict) and "range" in raw:
        try:
            ra = _RangeAxis.model_validate(raw)
        except ValidationError as exc:
            return None, _pydantic_problems(exc, file, origins, path)
        lo, hi = float(ra.range[0]), float(ra.range[1])
        problems = []
        if combine != "random":
            problems.append(Problem(file, line, path, f"a range axis needs combine: random (combine: {combine} "
                                                      "takes lists of values)"))
        if not lo < hi:
            problems.append(Problem(file, _line(origins, f"{path}.range"), f"{path}.range",
                                    f"range must be [lo, hi] with lo < hi; got [{lo:g}, {hi:g}]"))
        elif ra.scale == "log" and lo <= 0:
            problems.append(Problem(file, _line(origins, f"{path}.range"), f"{path}.range",
                                    f"a log-scale range must be positive; got [{lo:g}, {hi:g}]"))
        elif ra.integer and math.ceil(lo) > math.floor(hi):
            problems.append(Problem(file, _line(origins, f"{path}.range"), f"{path}.range",
                                    f"an integer range must contain an integer; got [{lo:g}, {hi:g}]"))
        if name == "mode" or name == "fidelity" or (name == "seed" and not ra.integer):
            problems.append(Problem(file, line, path, f"{name} cannot be a continuous range"
                                                      + (" (use integer: true)" if name == "seed" else "")))
        if name == "seed" and lo < 0:
            problems.append(Problem(file, line, path, "seed range must be non-negative"))
        if problems:
            return None, problems
        return Axis(name, range=(lo, hi), scale=ra.scale, integer=ra.integer, line=line), []
    elif isinstance(raw, dict) and "values" in raw:
        try:
            va = _ValuesAxis.model_validate(raw)
        except ValidationError as exc:
            return None, _pydantic_problems(exc, file, origins, path)
        raw_values, vpath = va.values, f"{path}.values"
    else:
        return None, [Problem(file, line, path, f"{_AXIS_FORMS}; got {raw!r}")]
    problems = _check_values(name, raw_values, file, origins, vpath)
    if problems:
        return None, problems
    return Axis(name, values=tuple(raw_values), line=line), []


def _resolve_file(base: Path, value: str, file: str, origins: Origins, key: str, want_dir_ok: bool) -> tuple[Path | None, list[Problem]]:
    p = (base / value).resolve()
    if p.is_file() or (want_dir_ok and p.is_dir()):
        return p, []
    return None, [Problem(file, _line(origins, key), key, f"{'file' if not want_dir_ok else 'path'} not found: {p}")]


def _build_spec(path: str | Path, data: Any, origins: Origins) -> SweepSpec:
    file = str(path)
    if not isinstance(data, dict):
        raise ConfigError([Problem(file, 1, "", "a sweep file must be a mapping with kind: sweep")])
    problems: list[Problem] = []
    try:
        model = _SweepFile.model_validate(data)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(exc, file, origins))
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
        problems.append(Problem(file, _line(origins, "fidelity"), "fidelity",
                                f"must be one of {', '.join(_fidelities())}; got {model.fidelity!r}"))
    if model.combine == "random" and model.samples is None:
        problems.append(Problem(file, _line(origins, "combine"), "samples", "combine: random needs samples: N"))
    if model.combine != "random" and model.samples is not None:
        problems.append(Problem(file, _line(origins, "samples"), "samples",
                                f"samples only applies to combine: random (combine is {model.combine})"))
    if model.combine == "zip" and len(axes) == len(axes_raw):
        lengths = {a.name: len(a.values or ()) for a in axes}
        if len(set(lengths.values())) > 1:
            listing = ", ".join(f"{k} has {v}" for k, v in lengths.items())
            problems.append(Problem(file, _line(origins, "axes"), "axes",
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
        raise ConfigError([Problem(file, _line(origins, "axes"), "axes",
                                   f"the sweep has {spec.size():,} points; at most {MAX_POINTS:,} are supported")])
    return spec


def load_sweep(path: str | Path) -> SweepSpec:
    """Read and validate a sweep file. Raises :class:`ConfigError` listing every problem found."""
    data, origins = load_yaml(path)
    return _build_spec(path, data, origins)


# ------------------------------------------------------------------------------------- deep axis checks


def check_axes(spec: SweepSpec) -> list[Problem]:
    """Check each axis value against the hardware/workload models, one axis at a time.

    Only problems with the swept field itself are reported (unknown path, wrong type, out of range);
    cross-field problems may depend on the other axes and are left to the run of each point.
    """
    from ..config.load import load_hardware, load_workload  # late: keeps spec parsing light

    problems: list[Problem] = []
    for axis in spec.axes:
        if axis.name == "trace":
            for value in axis.values or ():
                if not isinstance(value, str) or not (Path(spec.file).parent / value).exists():
                    problems.append(Problem(str(spec.file), axis.line, "axes.trace", f"value {value!r}: no such trace"))
            continue
        if axis.name in SPECIAL_AXES:
            continue
        is_wl = axis.name.startswith("workload.")
        target = axis.name[len("workload.") :] if is_wl else axis.name
        if axis.values is not None:
            candidates = list(axis.values)
        else:
            assert axis.range is not None
            lo, hi = axis.range
            candidates = [math.ceil(lo), math.floor(hi)] if axis.integer else [lo, hi]
        for value in candidates:
            try:
                if is_wl:
                    load_workload(spec.workload, overrides={target: value})
                else:
                    load_hardware(spec.hardware, overrides={target: value})
            except ConfigError as exc:
                own = [p for p in exc.problems if not p.cross_field and (p.path == target or p.path.startswith(target + "."))]
                for p in own:
                    problems.append(Problem(spec.file, axis.line, f"axes.{axis.name}", f"value {value!r}: {p.message}"))
                if own:
                    break  # one bad value per axis is enough to point at the mistake
    return problems


def validate_sweep_file(path: str | Path) -> SweepSpec:
    """Validate a sweep file for ``snapsim validate``: the file itself, its base files and every axis."""
    spec = load_sweep(path)
    from ..config.load import load_hardware, load_workload

    problems: list[Problem] = []
    for loader, p in ((load_hardware, spec.hardware), (load_workload, spec.workload)):
        try:
            loader(p)
        except ConfigError as exc:
            problems.extend(exc.problems)
    if not problems:
        problems = check_axes(spec)
    if problems:
        raise ConfigError(problems)
    return spec


# ---------------------------------------------------------------------------------------------- hashing


def _file_digest(h: "hashlib._Hash", path: Path) -> None:
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)


def base_digest(spec: SweepSpec) -> str:
    """Hash of what every point shares: the resolved hardware (presets inlined), the workload and the trace.

    Computed from file contents, so editing a base file, a preset it uses or the trace invalidates earlier
    results of the sweep, while moving or renaming files does not.
    """
    from ..config.load import resolve_hardware_dict

    hw_data, hw_origins = load_yaml(spec.hardware)
    hw_data, _ = resolve_hardware_dict(hw_data, hw_origins, str(spec.hardware))
    wl_data, _ = load_yaml(spec.workload)
    h = hashlib.sha256()
    h.update(json.dumps({"hardware": hw_data, "workload": wl_data}, sort_keys=True, default=str).encode())
    traces = [spec.trace] if spec.trace is not None else []
    for axis in spec.axes:  # a trace axis: every listed trace's content counts too
        if axis.name == "trace":
            traces += [Path(spec.file).parent / v for v in axis.values or () if isinstance(v, str)]
    for trace in traces:
        if not trace.exists():
            continue
        files = sorted(p for p in trace.rglob("*") if p.is_file()) if trace.is_dir() else [trace]
        for p in files:
            h.update(str(p.relative_to(trace) if trace.is_dir() else p.name).encode())
            _file_digest(h, p)
    return h.hexdigest()


def point_hash(digest: str, run_point: dict[str, Any]) -> str:
    """Identity of one point of a sweep: base files' digest plus the point's values (mode, seed, fidelity included)."""
    blob = json.dumps({"base": digest, "point": run_point}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:20]
