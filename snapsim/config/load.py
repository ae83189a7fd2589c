"""Load configs in three steps: strict YAML, preset resolution with overrides, then validation that
reports every problem at once with its file, line and dotted path (:mod:`snapsim.config.problems`).

Presets compose: in a hardware file, ``link: ucie-advanced-32g`` names a link preset, and
``link: {preset: ucie-advanced-32g, rate_gtps: 16}`` uses it with overrides. The same holds for
``chiplet``, each entry of ``chiplets`` and each ``links[i].link``. A preset name is looked up in
``link/`` (or ``chiplet/``) beside the file, one level up, and in the shipped presets
(:data:`snapsim.resources.HWCONFIGS`, inside the installed package); a value
ending in ``.yaml`` is a path relative to the file.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from pathlib import Path
from typing import Any, Mapping

from pydantic import BaseModel

from ..errors import ConfigError, Problem
from ..resources import HWCONFIGS
from ..topology import Topology
from .hardware import ChipletConfig, HardwareConfig, LinkConfig
from .problems import problem_at, validate_model
from .sweep import SPECIAL_AXES, SweepSpec, load_sweep
from .workload import WorkloadConfig
from .yamlio import Origins, load_yaml

__all__ = [
    "SHIPPED_HWCONFIGS",
    "load_yaml",
    "load_hardware",
    "load_workload",
    "load_link",
    "load_chiplet",
    "resolve_hardware_dict",
    "resolve_hardware_with_overrides",
    "validate_hardware",
    "load_workload_dict",
    "expect_kind",
    "validate_model",
    "validate_file",
    "validate_sweep_file",
    "check_axes",
    "config_hash",
    "apply_overrides",
]

#: The shipped presets (an alias of :data:`snapsim.resources.HWCONFIGS`, kept for existing imports).
SHIPPED_HWCONFIGS = HWCONFIGS

_MODELS: dict[str, type[BaseModel]] = {
    "hardware": HardwareConfig,
    "workload": WorkloadConfig,
    "link": LinkConfig,
    "chiplet": ChipletConfig,
}


# --------------------------------------------------------------------------------------------- presets


def _find_preset(name: str, group: str, base_file: str) -> Path | None:
    try:
        base = Path(base_file).parent
        if name.endswith((".yaml", ".yml")) or "/" in name:
            p = (base / name).resolve()
            return p if p.is_file() else None
        for d in (base / group, base.parent / group, base, SHIPPED_HWCONFIGS / group):
            p = d / f"{name}.yaml"
            if p.is_file():
                return p
    except (OSError, ValueError):  # a name the file system cannot hold (NUL byte, too long, a loop)
        return None
    return None


def _deep_merge(base: dict, over: dict, base_origins: Origins, over_origins: Origins, prefix: str) -> None:
    for k, v in over.items():
        path = f"{prefix}.{k}"
        if isinstance(v, dict) and isinstance(base.get(k), dict):
            _deep_merge(base[k], v, base_origins, over_origins, path)
        else:
            base[k] = v
            for op in [q for q in base_origins if q == path or q.startswith(path + ".")]:
                del base_origins[op]
            for op, val in over_origins.items():
                if op == path or op.startswith(path + "."):
                    base_origins[op] = val


def _resolve_preset(value: Any, group: str, path: str, origins: Origins, file: str, problems: list[Problem],
                    seen: tuple[str, ...] = ()) -> tuple[Any, Origins]:
    """Replace a preset reference at ``path`` by the preset's data merged with the overrides."""
    if isinstance(value, str):
        value_map: dict = {"preset": value}
        local = {f"{path}.preset": origins.get(path, (file, None))}
    elif isinstance(value, dict):
        value_map = value
        local = {k: v for k, v in origins.items() if k == path or k.startswith(path + ".")}
    else:
        return value, {k: v for k, v in origins.items() if k == path or k.startswith(path + ".")}
    if "preset" not in value_map:
        return value_map, local
    name = value_map["preset"]
    pf, pl = origins.get(f"{path}.preset", origins.get(path, (file, None)))
    if not isinstance(name, str):
        problems.append(Problem(pf, pl, f"{path}.preset", f"must be a preset name; got {name!r}"))
        return None, local
    preset_path = _find_preset(name, group, pf)
    if preset_path is None:
        avail = sorted(p.stem for p in (SHIPPED_HWCONFIGS / group).glob("*.yaml"))
        problems.append(Problem(pf, pl, f"{path}.preset", f"unknown {group} preset {name!r}; shipped: {', '.join(avail)}"))
        return None, local
    key = str(preset_path)
    if key in seen:
        problems.append(Problem(pf, pl, f"{path}.preset", f"preset cycle through {preset_path.name}"))
        return None, local
    try:
        pdata, porigins = load_yaml(preset_path)
    except ConfigError as exc:
        problems.extend(exc.problems)
        return None, local
    if not isinstance(pdata, dict):
        problems.append(Problem(key, 1, "", "a preset file must be a mapping"))
        return None, local
    if pdata.get("kind", group) != group:
        problems.append(Problem(pf, pl, f"{path}.preset", f"{preset_path.name} is a {pdata.get('kind')} file, not a {group}"))
        return None, local
    pdata = dict(pdata)
    pdata.setdefault("kind", group)
    # Presets may themselves build on another preset.
    p_prefixed = {f"{path}.{k}": v for k, v in porigins.items()}
    if "preset" in pdata:
        pdata, p_prefixed = _resolve_preset(pdata, group, path, p_prefixed, key, problems, seen + (key,))
        if pdata is None:
            return None, local
    overrides = {k: v for k, v in value_map.items() if k != "preset"}
    merged = copy.deepcopy(pdata)
    merged_origins = dict(p_prefixed)
    _deep_merge(merged, overrides, merged_origins, local, path)
    return merged, merged_origins


def resolve_hardware_dict(data: Any, origins: Origins, file: str) -> tuple[Any, Origins]:
    """Inline every preset reference of a hardware mapping. Problems are collected and raised together."""
    if not isinstance(data, dict):
        raise ConfigError([Problem(file, 1, "", "a hardware file must be a mapping")])
    problems: list[Problem] = []
    out = dict(data)
    # a section's own key keeps its line (a problem about the whole section points there); what is inside
    # a preset reference comes from the preset
    new_origins = {k: v for k, v in origins.items() if not any(
        k.startswith(p + ".") for p in ("chiplet", "chiplets", "link", "links"))}

    def resolve(value, group, path):
        val, org = _resolve_preset(value, group, path, origins, file, problems)
        new_origins.update(org)
        if path in origins:
            new_origins.setdefault(path, origins[path])
        return val

    if "chiplet" in out:
        out["chiplet"] = resolve(out["chiplet"], "chiplet", "chiplet")
    if isinstance(out.get("chiplets"), dict):
        out["chiplets"] = {k: resolve(v, "chiplet", f"chiplets.{k}") for k, v in out["chiplets"].items()}
    elif "chiplets" in out:
        new_origins.update({k: v for k, v in origins.items() if k.startswith("chiplets")})
    if "link" in out:
        out["link"] = resolve(out["link"], "link", "link")
    if isinstance(out.get("links"), list):
        items = []
        for i, item in enumerate(out["links"]):
            new_origins[f"links.{i}"] = origins.get(f"links.{i}", (file, None))
            if isinstance(item, dict) and "link" in item:
                item = dict(item)
                for k, v in origins.items():
                    if k.startswith(f"links.{i}.") and not k.startswith(f"links.{i}.link"):
                        new_origins[k] = v
                item["link"] = resolve(item["link"], "link", f"links.{i}.link")
            else:
                new_origins.update({k: v for k, v in origins.items() if k.startswith(f"links.{i}.")})
            items.append(item)
        out["links"] = items
    elif "links" in out:
        new_origins.update({k: v for k, v in origins.items() if k.startswith("links")})
    if problems:
        raise ConfigError(problems)
    return out, new_origins


# ------------------------------------------------------------------------------------------- overrides


def apply_overrides(data: dict, origins: Origins, overrides: Mapping[str, Any], label: str) -> dict:
    """Set dotted-path values in a resolved config mapping (used by sweeps and ``--set``)."""
    data = copy.deepcopy(data)
    problems = []
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        node = data
        ok = True
        for i, part in enumerate(parts[:-1]):
            key: Any = int(part) if isinstance(node, list) and part.lstrip("-").isdigit() else part
            if isinstance(node, dict) and isinstance(key, str) and key not in node and key.isdigit() and int(key) in node:
                key = int(key)
            try:
                nxt = node[key]
            except (KeyError, IndexError, TypeError):
                if isinstance(node, dict):
                    nxt = node.setdefault(key, {})
                else:
                    problems.append(Problem(label, None, dotted, f"no such path ({'.'.join(parts[: i + 1])} does not exist)"))
                    ok = False
                    break
            if not isinstance(nxt, (dict, list)):
                problems.append(Problem(label, None, dotted, f"{'.'.join(parts[: i + 1])} is a value, not a section"))
                ok = False
                break
            node = nxt
        if not ok:
            continue
        last: Any = parts[-1]
        if isinstance(node, list):
            if not last.isdigit() or int(last) >= len(node):
                problems.append(Problem(label, None, dotted, "list index out of range"))
                continue
            last = int(last)
        node[last] = value
        origins[dotted] = (label, None)
    if problems:
        raise ConfigError(problems)
    return data


# ---------------------------------------------------------------------------------------------- public


def _read(path: str | Path) -> tuple[Any, Origins, str]:
    data, origins = load_yaml(path)
    return data, origins, str(path)


def resolve_hardware_with_overrides(
    data: dict, origins: Origins, file: str, overrides: Mapping[str, Any] | None
) -> tuple[dict, Origins]:
    """Resolve presets, then apply dotted overrides. An override ``SECTION.preset: NAME`` (``link.preset``,
    ``chiplet.preset``, ``chiplets.2.preset``, ``links.0.link.preset``) swaps that section for the named
    preset before the other overrides apply, so sweeps can range over presets."""
    overrides = dict(overrides or {})
    swaps = {k[: -len(".preset")]: overrides.pop(k) for k in list(overrides) if k.endswith(".preset")}
    if swaps:
        data = copy.deepcopy(data)
        origins = dict(origins)
        for section, name in swaps.items():
            node, parts = data, section.split(".")
            for part in parts[:-1]:
                key: Any = int(part) if isinstance(node, list) else (int(part) if part.isdigit() and int(part) in node else part)
                node = node.setdefault(key, {}) if isinstance(node, dict) else node[key]
            node[parts[-1]] = name
            for k in [k for k in origins if k == section or k.startswith(section + ".")]:
                del origins[k]
            origins[section] = origins[f"{section}.preset"] = ("override", None)
    data, origins = resolve_hardware_dict(data, origins, file)
    if overrides:
        data = apply_overrides(data, origins, overrides, "override")
    return data, origins


#: Packages larger than this are not checked for links: entries between non-neighbours (building their
#: topology to check would itself be the cost; the run's estimate refuses packages that large anyway).
LINK_CHECK_MAX_CHIPLETS = 100_000


def validate_hardware(data: Any, origins: Origins, file: str) -> HardwareConfig:
    """A resolved hardware mapping validated by the model, then the rules that need the topology: each
    ``links:`` entry must name an edge of the topology (its link replaces that edge's), once."""
    hw = validate_model(HardwareConfig, data, origins, file)
    if not hw.links or hw.topology.n_chiplets > LINK_CHECK_MAX_CHIPLETS:
        return hw
    adj = Topology(hw.topology).adj
    problems, seen = [], {}
    for i, edge in enumerate(hw.links):
        a, b = edge.between
        key = (min(a, b), max(a, b))
        if b not in adj[a]:
            problems.append(problem_at(origins, file, f"links.{i}.between",
                                       f"chiplets {a} and {b} are not neighbours in the {hw.topology.kind} topology "
                                       "(a links: entry replaces the link of an existing edge)"))
        elif key in seen:
            problems.append(problem_at(origins, file, f"links.{i}.between",
                                       f"edge [{a}, {b}] is already given by links.{seen[key]} (each edge once)"))
        seen.setdefault(key, i)
    if problems:
        raise ConfigError(problems)
    return hw


def load_hardware(path: str | Path, overrides: Mapping[str, Any] | None = None) -> HardwareConfig:
    data, origins, file = _read(path)
    expect_kind(data, origins, file, "hardware")
    data, origins = resolve_hardware_with_overrides(data, origins, file, overrides)
    return validate_hardware(data, origins, file)


def load_workload_dict(data: Any, origins: Origins, file: str) -> WorkloadConfig:
    return validate_model(WorkloadConfig, data, origins, file)


def load_workload(path: str | Path, overrides: Mapping[str, Any] | None = None) -> WorkloadConfig:
    data, origins, file = _read(path)
    expect_kind(data, origins, file, "workload")
    if overrides:
        data = apply_overrides(data, origins, overrides, "override")
    return validate_model(WorkloadConfig, data, origins, file)


def load_link(path: str | Path) -> LinkConfig:
    data, origins, file = _read(path)
    expect_kind(data, origins, file, "link")
    return validate_model(LinkConfig, data, origins, file)


def load_chiplet(path: str | Path) -> ChipletConfig:
    data, origins, file = _read(path)
    expect_kind(data, origins, file, "chiplet")
    return validate_model(ChipletConfig, data, origins, file)


def expect_kind(data: Any, origins: Origins, file: str, kind: str) -> None:
    """Raise :class:`ConfigError` unless ``data`` is a mapping with ``kind: KIND``."""
    if not isinstance(data, dict):
        raise ConfigError([Problem(file, 1, "", f"a {kind} file must be a mapping with kind: {kind}")])
    got = data.get("kind")
    if got != kind:
        line = origins.get("kind", (file, 1))[1]
        raise ConfigError([Problem(file, line, "kind", f"expected kind: {kind}; got {got!r}")])


def validate_file(path: str | Path) -> str:
    """Validate any snapsim YAML file by its ``kind``; returns the kind. Raises ConfigError."""
    data, origins, file = _read(path)
    raw_kind = data.get("kind") if isinstance(data, dict) else None
    kind = raw_kind if isinstance(raw_kind, str) else None  # a list or mapping is no kind (and unhashable)
    if kind == "sweep":
        validate_sweep_file(path)
        return kind
    if kind not in _MODELS:
        line = origins.get("kind", (file, 1))[1]
        raise ConfigError([Problem(file, line, "kind", f"must be one of hardware, workload, link, chiplet, sweep; got {raw_kind!r}")])
    if kind == "hardware":
        data, origins = resolve_hardware_dict(data, origins, file)
        validate_hardware(data, origins, file)
    else:
        validate_model(_MODELS[kind], data, origins, file)
    return kind


# ----------------------------------------------------------------------------------------------- sweeps


def check_axes(spec: SweepSpec) -> list[Problem]:
    """Check each axis value of a sweep against the hardware/workload models, one axis at a time.

    Only problems with the swept field itself are reported (unknown path, wrong type, out of range);
    cross-field problems may depend on the other axes and are left to the run of each point.
    """
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
        target = axis.name[len("workload."):] if is_wl else axis.name
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


def config_hash(*models: BaseModel, extra: Mapping[str, Any] | None = None) -> str:
    """Stable hash of resolved configs plus run parameters (mode, seed, ...)."""
    payload = [m.model_dump(mode="json") for m in models]
    payload.append(dict(sorted((extra or {}).items())))
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
