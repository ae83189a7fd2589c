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

    The round-trip parser is slow (about 6 ms for a preset), and one preset is read by every hardware file
    naming it, so the result of each (file, text) is kept (the last few hundred) and a copy returned."""
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
