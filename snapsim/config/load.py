"""Load configs in three steps: strict YAML, preset resolution with overrides, then validation that
reports every problem at once with its file, line and dotted path.

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
from pathlib import Path
from typing import Any, Mapping

from pydantic import BaseModel, ValidationError

from ..errors import ConfigError, Problem
from ..resources import HWCONFIGS
from .hardware import ChipletConfig, HardwareConfig, LinkConfig
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
    "load_workload_dict",
    "validate_file",
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


# ---------------------------------------------------------------------------------------------- errors


def _origin(origins: Origins, path: str, default_file: str) -> tuple[str, int | None]:
    p = path
    while True:
        if p in origins:
            return origins[p]
        if "." not in p:
            return (default_file, None)
        p = p.rsplit(".", 1)[0]


def _format_pydantic(err: dict) -> str:
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    kind = err["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown key (not a field of this section; check the spelling)"
    if "input" in err and kind not in ("model_type",) and not isinstance(err["input"], (dict, list)):
        return f"{msg[0].lower()}{msg[1:]}; got {err['input']!r}"
    return msg[0].lower() + msg[1:]


def _validate(model: type[BaseModel], data: Any, origins: Origins, file: str, prefix: str = ""):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"])
            path = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
            message = _format_pydantic(err)
            cross = err["type"] == "value_error"  # raised by a model validator, not a field constraint
            # a cross-field check names the field it is about first: point at that field's line
            head = message.split(" ", 1)[0].rstrip(":")
            named = f"{path}.{head}" if path else head
            if head and (named in origins or any(k.startswith(named + ".") for k in origins)):
                path = named
                message = message[len(head):].lstrip(": ")
            f, line = _origin(origins, path, file)
            problems.append(Problem(f, line, path, message, cross_field=cross))
        raise ConfigError(problems) from None


# --------------------------------------------------------------------------------------------- presets


def _find_preset(name: str, group: str, base_file: str) -> Path | None:
    base = Path(base_file).parent
    if name.endswith((".yaml", ".yml")) or "/" in name:
        p = (base / name).resolve()
        return p if p.is_file() else None
    for d in (base / group, base.parent / group, base, SHIPPED_HWCONFIGS / group):
        p = d / f"{name}.yaml"
        if p.is_file():
            return p
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
    new_origins = {k: v for k, v in origins.items() if not any(
        k == p or k.startswith(p + ".") for p in ("chiplet", "chiplets", "link", "links"))}

    def resolve(value, group, path):
        val, org = _resolve_preset(value, group, path, origins, file, problems)
        new_origins.update(org)
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


def load_hardware(path: str | Path, overrides: Mapping[str, Any] | None = None) -> HardwareConfig:
    data, origins, file = _read(path)
    _expect_kind(data, origins, file, "hardware")
    data, origins = resolve_hardware_with_overrides(data, origins, file, overrides)
    return _validate(HardwareConfig, data, origins, file)


def load_workload_dict(data: Any, origins: Origins, file: str) -> WorkloadConfig:
    return _validate(WorkloadConfig, data, origins, file)


def load_workload(path: str | Path, overrides: Mapping[str, Any] | None = None) -> WorkloadConfig:
    data, origins, file = _read(path)
    _expect_kind(data, origins, file, "workload")
    if overrides:
        data = apply_overrides(data, origins, overrides, "override")
    return _validate(WorkloadConfig, data, origins, file)


def load_link(path: str | Path) -> LinkConfig:
    data, origins, file = _read(path)
    _expect_kind(data, origins, file, "link")
    return _validate(LinkConfig, data, origins, file)


def load_chiplet(path: str | Path) -> ChipletConfig:
    data, origins, file = _read(path)
    _expect_kind(data, origins, file, "chiplet")
    return _validate(ChipletConfig, data, origins, file)


def _expect_kind(data: Any, origins: Origins, file: str, kind: str) -> None:
    if not isinstance(data, dict):
        raise ConfigError([Problem(file, 1, "", f"a {kind} file must be a mapping with kind: {kind}")])
    got = data.get("kind")
    if got != kind:
        line = origins.get("kind", (file, 1))[1]
        raise ConfigError([Problem(file, line, "kind", f"expected kind: {kind}; got {got!r}")])


def validate_file(path: str | Path) -> str:
    """Validate any snapsim YAML file by its ``kind``; returns the kind. Raises ConfigError."""
    data, origins, file = _read(path)
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == "sweep":
        from ..sweep.spec import validate_sweep_file  # sweep support is a separate module

        validate_sweep_file(path)
        return kind
    if kind not in _MODELS:
        line = origins.get("kind", (file, 1))[1]
        raise ConfigError([Problem(file, line, "kind", f"must be one of hardware, workload, link, chiplet, sweep; got {kind!r}")])
    if kind == "hardware":
        data, origins = resolve_hardware_dict(data, origins, file)
    _validate(_MODELS[kind], data, origins, file)
    return kind


def config_hash(*models: BaseModel, extra: Mapping[str, Any] | None = None) -> str:
    """Stable hash of resolved configs plus run parameters (mode, seed, ...)."""
    payload = [m.model_dump(mode="json") for m in models]
    payload.append(dict(sorted((extra or {}).items())))
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
