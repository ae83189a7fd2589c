"""Strict YAML reading: duplicate keys are errors, and every key keeps its line number.

``load_yaml(path)`` returns plain Python data plus a map from dotted path (``link.rate_gtps``,
``stages.3.macs``) to the 1-based line where that key (or list item) was written. ``load_yaml_text``
does the same for text already read (JSON is YAML 1.2: a trace manifest's lines come from here).
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from ..errors import ConfigError, Problem

__all__ = ["load_yaml", "load_yaml_text", "Origins", "KEEP_PARSED"]

# dotted path -> (file, line)
Origins = dict[str, tuple[str, int]]


def _plain(node: Any, file: str, prefix: str, origins: Origins) -> Any:
    if isinstance(node, CommentedMap):
        out = {}
        for key in node:
            path = f"{prefix}.{key}" if prefix else str(key)
            line, _col = node.lc.key(key)
            origins[path] = (file, line + 1)
            out[key] = _plain(node[key], file, path, origins)
        return out
    if isinstance(node, CommentedSeq):
        out_list = []
        for i, item in enumerate(node):
            path = f"{prefix}.{i}" if prefix else str(i)
            line, _col = node.lc.item(i)
            origins[path] = (file, line + 1)
            out_list.append(_plain(item, file, path, origins))
        return out_list
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def load_yaml(path: str | Path) -> tuple[Any, Origins]:
    """Read one YAML file strictly. Raises :class:`ConfigError` naming the file and line."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem(file, None, "", "file not found")]) from None
    except OSError as exc:
        raise ConfigError([Problem(file, None, "", f"cannot read file: {exc.strerror}")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(file, None, "", f"not UTF-8 text (byte {exc.start})")]) from None
    return load_yaml_text(text, file)


_PARSED: OrderedDict[tuple[str, str], tuple[Any, Origins]] = OrderedDict()
#: Parsed texts kept per process (0: parse every time); presets are read by every hardware file naming them.
KEEP_PARSED = 256


def load_yaml_text(text: str, file: str) -> tuple[Any, Origins]:
    """Parse ``text`` (read from ``file``) strictly; raises :class:`ConfigError` naming the file and line.

    Plain files are read by ruamel.yaml's C parser when it is installed (about 15x faster than its
    round-trip parser, same data and lines); anything else, and every error, by the round-trip parser.
    One preset is read by every hardware file naming it, so the result of each (file, text) is kept (the
    last few hundred) and a copy returned."""
    key = (file, text)
    hit = _PARSED.get(key)
    if hit is None:
        hit = _parse(text, file)
        _PARSED[key] = hit
        while len(_PARSED) > KEEP_PARSED:
            _PARSED.popitem(last=False)
    else:
        _PARSED.move_to_end(key)
    return copy.deepcopy(hit[0]), dict(hit[1])


def _parse(text: str, file: str) -> tuple[Any, Origins]:
    fast = _parse_fast(text, file)
    return fast if fast is not None else _parse_round_trip(text, file)


_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("str", "int", "float", "bool", "null")}


class _Unusual(Exception):
    """Something the fast reader leaves to the round-trip reader (aliases, merge keys, other tags,
    complex or duplicate keys, errors): it decides, and words any problem."""


def _parse_fast(text: str, file: str) -> tuple[Any, Origins] | None:
    """The same data and lines as :func:`_parse_round_trip`, read by ruamel.yaml's C parser (libyaml,
    with ruamel's YAML 1.2 resolver: same tags) when it is installed; ``None`` for anything but plain
    mappings, sequences and str/int/float/bool/null scalars, or on any error."""
    try:
        yaml = YAML(typ="safe", pure=False)
        if yaml.Parser.__module__.startswith("ruamel.yaml.parser"):  # no C parser here
            return None
        node = yaml.compose(text)
        if node is None:
            return None
        origins: Origins = {}
        data = _walk(node, yaml.constructor, file, "", origins, set())
        return data, origins
    except Exception:  # noqa: BLE001 - the round-trip reader reads it again and reports what it finds
        return None


def _walk(node: Any, constructor: Any, file: str, prefix: str, origins: Origins, seen: set) -> Any:
    if id(node) in seen or getattr(node, "anchor", None):
        raise _Unusual
    seen.add(id(node))
    if isinstance(node, MappingNode):
        if node.tag != _TAG + "map":
            raise _Unusual
        out: dict = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag not in _SCALAR_TAGS:
                raise _Unusual
            key = constructor.construct_object(key_node)
            if key in out or any(type(k) is not type(key) and k == key for k in out):
                raise _Unusual
            path = f"{prefix}.{key}" if prefix else str(key)
            origins[path] = (file, key_node.start_mark.line + 1)
            out[key] = _walk(value_node, constructor, file, path, origins, seen)
        return out
    if isinstance(node, SequenceNode):
        if node.tag != _TAG + "seq":
            raise _Unusual
        items = []
        for i, item in enumerate(node.value):
            path = f"{prefix}.{i}" if prefix else str(i)
            origins[path] = (file, item.start_mark.line + 1)
            items.append(_walk(item, constructor, file, path, origins, seen))
        return items
    if isinstance(node, ScalarNode) and node.tag in _SCALAR_TAGS:
        return constructor.construct_object(node)
    raise _Unusual


def _parse_round_trip(text: str, file: str) -> tuple[Any, Origins]:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        node = yaml.load(text)
    except DuplicateKeyError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        key = ""
        if exc.problem and "duplicate key" in exc.problem:
            key = exc.problem.split('"')[1] if '"' in exc.problem else ""
        raise ConfigError([Problem(file, line, key, "duplicate key (each key may appear once)")]) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or exc.context or "invalid YAML"
        raise ConfigError([Problem(file, line, "", f"invalid YAML: {what}")]) from None
    except YAMLError as exc:
        raise ConfigError([Problem(file, None, "", f"invalid YAML: {exc}")]) from None
    origins: Origins = {}
    data = _plain(node, file, "", origins)
    return data, origins
