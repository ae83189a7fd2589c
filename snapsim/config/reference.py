"""Reference pages of every input file kind, generated from the config models themselves.

``python -m snapsim.config.reference docs/reference`` (or ``make docs``) writes one Markdown page per kind
(hardware, workload with its encodings, sweep, trace manifest): every field with its type, default,
constraints and description, read from the pydantic models that validate the files, so the pages cannot
drift from the code (``tests/test_reference_docs.py`` checks the committed pages equal the generated ones).
"""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from ..encoding import REGISTRY, Encoding
from .hardware import HardwareConfig
from .sweep import RangeAxisConfig, SweepFileConfig, ValuesAxisConfig
from .workload import WorkloadConfig

__all__ = ["PAGES", "TOP", "render", "write_pages"]


def _manifest_model():
    from ..trace.manifest import ManifestConfig  # the trace package is heavier; only this page needs it

    return ManifestConfig


_CONSTRAINTS = (
    (annotated_types.Gt, "gt", "> {}"), (annotated_types.Ge, "ge", ">= {}"),
    (annotated_types.Lt, "lt", "< {}"), (annotated_types.Le, "le", "<= {}"),
    (annotated_types.MinLen, "min_length", "at least {} items"), (annotated_types.MaxLen, "max_length", "at most {} items"),
)


def _constraints(metadata: list) -> list[str]:
    out = []
    for m in metadata:
        for cls, attr, fmt in _CONSTRAINTS:
            if isinstance(m, cls):
                out.append(fmt.format(getattr(m, attr)))
        if type(m).__name__ == "_PydanticGeneralMetadata" and getattr(m, "pattern", None):
            out.append(f"matches `{m.pattern}`")
    return out


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


def _type_name(t: Any) -> str:
    """A short, readable name of a field type."""
    origin = typing.get_origin(t)
    args = typing.get_args(t)
    if origin is typing.Annotated:
        base, *meta = args
        extra = _constraints(meta)
        name = _type_name(base)
        return f"{name} ({', '.join(extra)})" if extra else name
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        if members and all(isinstance(a, type) and issubclass(a, Encoding) for a in members) or _is_encoding_union(t):
            return "encoding (a kind name or a mapping, see *Encodings*)"
        name = " or ".join(_type_name(a) for a in members)
        return f"{name} or null" if type(None) in args else name
    if origin in (list, tuple):
        inner = ", ".join(_type_name(a) for a in args if a is not Ellipsis)
        return f"list of {inner}" if origin is list else f"[{inner}]"
    if origin is dict:
        k, v = args
        return f"mapping {_type_name(k)} -> {_type_name(v)}"
    if _is_model(t):
        return f"section `{t.__name__}`"
    if t is Any:
        return "any"
    return getattr(t, "__name__", str(t))


def _is_encoding_union(t: Any) -> bool:
    try:
        return any(isinstance(a, type) and issubclass(a, Encoding) for a in _flatten(t))
    except TypeError:
        return False


def _flatten(t: Any) -> list:
    out = []
    for a in typing.get_args(t):
        out.extend(_flatten(a) if typing.get_args(a) else [a])
    return out


def _default(f: FieldInfo) -> str:
    if f.default_factory is not None:
        try:
            value = f.default_factory()
        except TypeError:
            return "(computed)"
        if isinstance(value, Encoding):
            return f"`{value}`"
        return "(empty)" if value in ({}, [], ()) else "(section defaults)"
    if f.default is PydanticUndefined:
        return "**required**"
    if f.default is None:
        return "none"
    if f.default == "":
        return '`""`'
    return f"`{f.default}`"


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _nested(t: Any) -> list[type[BaseModel]]:
    """Models a field type refers to (sections to document below it)."""
    if _is_model(t):
        return [t]
    if _is_encoding_union(t):
        return []
    out: list[type[BaseModel]] = []
    for a in typing.get_args(t):
        out.extend(_nested(a))
    return out


def _table(model: type[BaseModel], path: str, seen: set, sections: list[str]) -> list[str]:
    doc = (model.__doc__ or "").strip()
    lines = [f"### `{path}` ({model.__name__})" if path else f"### Top level ({model.__name__})", ""]
    if doc and not doc.startswith(("Usage docs", "A base class")):
        lines += [" ".join(doc.split()), ""]
    lines += ["| field | type | default | description |", "|---|---|---|---|"]
    later: list[tuple[type[BaseModel], str]] = []
    for name, f in model.model_fields.items():
        key = f.alias or name
        t = f.annotation
        desc = f.description or ""
        extra = _constraints(f.metadata)
        tname = _type_name(t) + (f" ({', '.join(extra)})" if extra else "")
        lines.append(f"| `{key}` | {_cell(tname)} | {_cell(_default(f))} | {_cell(desc)} |")
        for sub in _nested(t):
            if sub not in seen:
                seen.add(sub)
                origin = typing.get_origin(t)
                sub_path = f"{path}.{key}" if path else key
                if origin is list or (origin in (typing.Union, types.UnionType) and "list" in str(t)):
                    sub_path += "[]"
                elif origin is dict:
                    sub_path += ".<key>"
                later.append((sub, sub_path))
    lines.append("")
    sections.extend(lines)
    for sub, sub_path in later:
        _table(sub, sub_path, seen, sections)
    return sections


def _encodings() -> list[str]:
    lines = ["## Encodings", "",
             "A boundary's `encoding` is a kind name (`encoding: aer`) or a mapping with `kind` and that kind's "
             "fields (`encoding: {kind: rle, count_bits: 5}`); a field of another kind is an error. Sizes, send "
             "windows and defaults are defined in `snapsim/encoding.py` (module docstring).", ""]
    for kind, cls in REGISTRY.items():
        lines += [f"### `{kind}`", "", " ".join((cls.__doc__ or "").split()), ""]
        fields = [(n, f) for n, f in cls.model_fields.items() if n != "kind"]
        if not fields:
            lines += ["No fields.", ""]
            continue
        lines += ["| field | type | default | description |", "|---|---|---|---|"]
        for n, f in fields:
            tname = _type_name(f.annotation)
            extra = _constraints(f.metadata)
            if extra:
                tname += f" ({', '.join(extra)})"
            lines.append(f"| `{n}` | {_cell(tname)} | {_cell(_default(f))} | {_cell(f.description or '')} |")
        lines.append("")
    return lines


_INTROS = {
    "hardware": "A hardware file (`kind: hardware`) describes a package: a chiplet preset, a D2D link preset, a "
                "topology and the mapping of workload partitions to chiplets. `chiplet`, `link`, each entry of "
                "`chiplets` and each `links[].link` may name a preset (`link: ucie-advanced-32g`) or a preset "
                "with overrides (`link: {preset: ucie-advanced-32g, rate_gtps: 16}`); presets live in "
                "`hwconfigs/link/` and `hwconfigs/chiplet/` and cite a source for every value. Link and chiplet "
                "files (`kind: link`, `kind: chiplet`) have the fields of those sections.",
    "workload": "A workload file (`kind: workload`) is a network as ordered stages, its partition onto chiplets, "
                "what crosses each partition boundary in each mode, and the stream of inferences.",
    "sweep": "A sweep file (`kind: sweep`) names base hardware and workload files and axes over dotted paths "
             "(`link.rate_gtps`, `workload.boundary.firing_rate`, or `mode`, `seed`, `fidelity`, `trace`), "
             "combined as a grid, zipped, or sampled at random.",
    "trace-manifest": "A trace is a directory holding `manifest.json` and tensor shards; the manifest "
                      "(schema `snapsim.trace` 1.x) is checked by this model plus the rules across fields in "
                      "`snapsim/trace/manifest.py` (layouts, dtypes, partitions, shard ranges).",
}


def _sweep_axes() -> list[str]:
    out: list[str] = []
    for model, name in ((ValuesAxisConfig, "axes.<path> (values)"), (RangeAxisConfig, "axes.<path> (range, random sweeps)")):
        _table(model, name, {model}, out)
    out.insert(0, "An axis is a list of values, `{values: [...]}`, or `{range: [lo, hi], scale: linear|log, "
               "integer: false}` (random sweeps only).\n")
    return out


PAGES = ("hardware", "workload", "sweep", "trace-manifest")
#: the model at the top of each page
TOP = {"hardware": lambda: HardwareConfig, "workload": lambda: WorkloadConfig, "sweep": lambda: SweepFileConfig,
       "trace-manifest": _manifest_model}


def render(page: str) -> str:
    """The Markdown reference page of one input kind."""
    if page not in PAGES:
        raise ValueError(f"unknown page {page!r}; pages: {', '.join(PAGES)}")
    model = TOP[page]()
    lines = [f"# Reference: {page.replace('-', ' ')} files", "",
             "<!-- generated by `python -m snapsim.config.reference docs/reference` from the config models; "
             "do not edit by hand -->", "", _INTROS[page], ""]
    _table(model, "", {model}, lines)
    if page == "workload":
        lines += _encodings()
    if page == "sweep":
        lines += _sweep_axes()
    return "\n".join(lines).rstrip() + "\n"


def write_pages(out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for page in PAGES:
        p = out / f"{page}.md"
        p.write_text(render(page), encoding="utf-8")
        paths.append(p)
    return paths


if __name__ == "__main__":  # pragma: no cover - exercised through make docs
    for p in write_pages(sys.argv[1] if len(sys.argv) > 1 else "docs/reference"):
        print(f"wrote {p}")
