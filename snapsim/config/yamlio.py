"""The input gate: every YAML and JSON file snapsim reads passes here first.

``load_yaml(path)`` returns plain Python data (dicts, lists, str, int, float, bool, None) plus a map from
dotted path (``link.rate_gtps``, ``stages.3.macs``) to the 1-based line where that key (or list item) was
written. ``load_yaml_text`` does the same for text already read (JSON is YAML 1.2: a trace manifest's
lines come from here); ``load_json_text`` parses JSON (fast, exact numbers) under the same rules.

What the gate refuses, each with ``file:line: path: message`` and never a traceback:

* **Bytes that are not UTF-8 text**: a byte-order mark of UTF-16 or UTF-32, NUL bytes (binary data),
  and invalid UTF-8 are named with their line and column (a UTF-8 byte-order mark is allowed).
* **Size**: files larger than :data:`MAX_BYTES` (256 KiB; snapsim's largest shipped file is a few KiB),
  more than :data:`MAX_NODES` values, and nesting deeper than :data:`MAX_DEPTH` levels. Loading is
  linear in the size of the file (one pass over the parser's events, no recursion).
* **Aliases and merge keys are refused** (``*name``, ``<<:``), not bounded: a config is short and its
  presets are the way to reuse values, and a refused alias cannot be an alias bomb. An anchor (``&name``)
  alone is harmless and ignored.
* **Tags** (``!!python/object``, ``!!binary``, ``!custom``, ``!!str``...): refused; values are the plain
  YAML 1.2 core schema (null, bool, int, float, str; a date is read as text). Keys must be scalars, and
  every key may appear once.
"""

from __future__ import annotations

import codecs
import copy
import json
import os
import stat
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import VersionedResolver

from ..errors import ConfigError, Problem

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_JSON_BYTES",
    "KEEP_PARSED",
    "Origins",
    "load_yaml",
    "load_yaml_text",
    "load_json_text",
    "read_text",
    "decode_text",
]

Origins = dict[str, tuple[str, int]]
"""dotted path -> (file, line)"""

MAX_BYTES = 256 << 10
"""Largest YAML file read (256 KiB: the largest shipped file is under 8 KiB; the pure-Python YAML parser
takes up to ~30 us a byte on dense flow lists, so this bounds a load to a few seconds)."""
MAX_JSON_BYTES = 64 << 20
"""Largest JSON file read (64 MiB: a trace manifest lists every shard)."""
MAX_DEPTH = 64
"""Deepest nesting of mappings and lists."""
MAX_NODES = 50_000
"""Most values (scalars, mappings and lists) in one YAML file."""

_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"), (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"), (codecs.BOM_UTF16_BE, "UTF-16"),
)


def _refuse(file: str, line: int | None, message: str, path: str = "") -> ConfigError:
    return ConfigError([Problem(file, line, path, message)])


def read_text(path: str | Path, max_bytes: int = MAX_BYTES, what: str = "file") -> str:
    """The text of ``path``: a regular file of at most ``max_bytes``, decoded by :func:`decode_text`.
    Raises :class:`ConfigError` naming the file (and the line of a bad byte)."""
    file = str(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise _refuse(file, None, "file not found") from None
    except OSError as exc:
        raise _refuse(file, None, f"cannot read {what}: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise _refuse(file, None, f"is a directory, not a {what}")
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(file, None, f"not a regular file (a device, FIFO or socket); snapsim reads {what}s only")
    if st.st_size > max_bytes:
        raise _refuse(file, None, f"{what} is {st.st_size:,} bytes; snapsim reads at most {max_bytes:,} "
                                  f"(a config is a few KiB: is this the right file?)")
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as exc:
        raise _refuse(file, None, f"cannot read {what}: {exc.strerror}") from None
    if len(data) > max_bytes:  # grew since stat
        raise _refuse(file, None, f"{what} is larger than {max_bytes:,} bytes")
    return decode_text(data, file)


def decode_text(data: bytes, file: str) -> str:
    """``data`` as text: UTF-8 (a UTF-8 byte-order mark is dropped). UTF-16/32, binary data (NUL bytes) and
    invalid UTF-8 are refused naming the line and column of the first bad byte."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise _refuse(file, 1, f"{name} text (byte-order mark {bom.hex(' ')}); save the file as UTF-8")
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    nul = data.find(b"\0")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        pos = exc.start if nul < 0 else min(nul, exc.start)
        line, col = _line_col(data, pos)
        if pos == nul:
            raise _refuse(file, line, f"binary data (a NUL byte) at column {col}; snapsim reads UTF-8 text") from None
        raise _refuse(file, line, f"not UTF-8 text (byte 0x{data[pos]:02x}) at column {col}; save the file as "
                                  "UTF-8 text") from None
    if nul >= 0:
        line, col = _line_col(data, nul)
        raise _refuse(file, line, f"binary data (a NUL byte) at column {col}; snapsim reads UTF-8 text")
    return text


def _line_col(data: bytes, pos: int) -> tuple[int, int]:
    line_start = data.rfind(b"\n", 0, pos) + 1
    return data.count(b"\n", 0, pos) + 1, pos - line_start + 1


def load_yaml(path: str | Path) -> tuple[Any, Origins]:
    """Read one YAML file through the gate. Raises :class:`ConfigError` naming the file and line."""
    file = str(path)
    return load_yaml_text(read_text(path), file)


# ------------------------------------------------------------------------------------------------ YAML

_RESOLVER = VersionedResolver(version=(1, 2))
_INT, _FLOAT, _BOOL, _NULL = (f"tag:yaml.org,2002:{t}" for t in ("int", "float", "bool", "null"))


def _scalar(ev: ScalarEvent) -> Any:
    """A plain scalar by the YAML 1.2 core schema (quoted scalars are text)."""
    value = ev.value
    if ev.style:  # quoted, literal or folded: text
        return value
    tag = str(_RESOLVER.resolve(ScalarNode, value, (True, False)))
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return value.lower() == "true"
    if tag == _INT:
        v = value.replace("_", "")
        sign = -1 if v.startswith("-") else 1
        v = v.lstrip("+-")
        for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
            if v[:2].lower() == prefix:
                return sign * int(v[2:], base)
        return sign * int(v)
    if tag == _FLOAT:
        v = value.replace("_", "").lower()
        if v.lstrip("+-") == ".inf":
            return float("-inf") if v.startswith("-") else float("inf")
        if v.lstrip("+-") == ".nan":
            return float("nan")
        return float(v)
    return value  # text (timestamps too: the core schema has none)


class _Frame:
    __slots__ = ("kind", "value", "path", "key", "key_line", "index", "line")

    def __init__(self, kind: str, value: Any, path: str, line: int):
        self.kind, self.value, self.path, self.line = kind, value, path, line
        self.key: Any = _NO_KEY
        self.key_line = 0
        self.index = 0


_NO_KEY = object()


_PARSED: OrderedDict[tuple[str, str], tuple[Any, Origins]] = OrderedDict()
#: Parsed texts kept per process (0: parse every time); presets are read by every hardware file naming them.
KEEP_PARSED = 256


def load_yaml_text(text: str, file: str) -> tuple[Any, Origins]:
    """Parse ``text`` (read from ``file``) through the gate; raises :class:`ConfigError` naming the file and
    line. One pass over the parser's events with an explicit stack: linear time, no recursion. One preset is
    read by every hardware file naming it, so the result of each (file, text) is kept (the last few hundred)
    and a copy returned."""
    if len(text) > MAX_BYTES * 4:  # text given directly (a --set value, a manifest's lines): same bound
        raise _refuse(file, None, f"text of {len(text):,} characters is too large to read as YAML")
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
    """Read with libyaml's parser when ruamel.yaml has its C extension (the same events, about 15x faster);
    a text it cannot take is read again by the pure-Python parser, which words every problem, so a
    message never depends on which parser is installed (tests/test_input_gate.py checks they agree)."""
    if _C_PARSER and c_parser_may_read(text):
        try:
            return _parse_events(text, file, pure=False)
        except Exception:  # noqa: BLE001 - the pure parser reads it again and reports what it finds
            pass
    return _parse_events(text, file, pure=True)


def c_parser_may_read(text: str) -> bool:
    """libyaml reads YAML 1.1, where NEL, LS and PS (U+0085, U+2028, U+2029) break lines; in YAML 1.2 they
    are text. A text holding one goes to the pure parser, so its lines never depend on the parser."""
    return not any(ch in text for ch in "\x85\u2028\u2029")


def _has_c_parser() -> bool:
    try:
        return not YAML(typ="safe", pure=False).Parser.__module__.startswith("ruamel.yaml.parser")
    except Exception:  # noqa: BLE001 - no C extension, or a build that cannot load it
        return False


_C_PARSER = _has_c_parser()


def _parse_events(text: str, file: str, pure: bool) -> tuple[Any, Origins]:
    """One pass over the parser's events with an explicit stack: linear time, no recursion."""
    origins: Origins = {}
    stack: list[_Frame] = []
    root: Any = None
    documents = 0
    nodes = 0

    def where(ev) -> int:
        return ev.start_mark.line + 1 if ev.start_mark is not None else 1

    def place(value: Any, line: int) -> None:
        """Attach ``value`` (its first line ``line``) to the open container, or make it the root."""
        nonlocal root
        if not stack:
            root = value
            return
        top = stack[-1]
        if top.kind == "seq":
            path = f"{top.path}.{top.index}" if top.path else str(top.index)
            top.value.append(value)
            origins[path] = (file, line)
            top.index += 1
            return
        if top.key is _NO_KEY:  # a mapping key
            if isinstance(value, (dict, list)):
                raise _refuse(file, line, "a mapping key must be a plain value (text or a number), "
                                          "not a mapping or list", top.path)
            if value in top.value:
                path = f"{top.path}.{value}" if top.path else str(value)
                raise _refuse(file, line, "duplicate key (each key may appear once)", path)
            top.key, top.key_line = value, line
            return
        key = top.key
        path = f"{top.path}.{key}" if top.path else str(key)
        top.value[key] = value
        origins[path] = (file, top.key_line)
        top.key = _NO_KEY

    def child_path(line: int) -> str:
        if not stack:
            return ""
        top = stack[-1]
        if top.kind == "seq":
            return f"{top.path}.{top.index}" if top.path else str(top.index)
        if top.key is _NO_KEY:
            raise _refuse(file, line, "a mapping key must be a plain value (text or a number), not a mapping "
                                      "or list", top.path)
        return f"{top.path}.{top.key}" if top.path else str(top.key)

    yaml = YAML(typ="safe", pure=pure)
    try:
        for ev in yaml.parse(text):
            if isinstance(ev, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _refuse(file, where(ev), "a second YAML document (---): a snapsim file holds one")
                continue
            if isinstance(ev, AliasEvent):
                raise _refuse(file, where(ev), f"alias *{ev.anchor}: aliases are not supported in snapsim files "
                                               "(write the value out, or use a preset)", _current(stack))
            if isinstance(ev, (ScalarEvent, MappingStartEvent, SequenceStartEvent)):
                nodes += 1
                if nodes > MAX_NODES:
                    raise _refuse(file, where(ev), f"more than {MAX_NODES:,} values: too large for a snapsim file")
                tag = getattr(ev, "tag", None)
                if tag is not None and not (isinstance(ev, ScalarEvent) and str(tag) == "!"):
                    raise _refuse(file, where(ev), f"tag {str(tag)!r}: tags are not supported in snapsim files "
                                                   "(plain values only)", _current(stack))
            if isinstance(ev, ScalarEvent):
                value = _scalar(ev)
                if value == "<<" and not ev.style and stack and stack[-1].kind == "map" and stack[-1].key is _NO_KEY:
                    raise _refuse(file, where(ev), "merge key <<: merge keys are not supported in snapsim files "
                                                   "(write the keys out, or use a preset)", stack[-1].path)
                place(value, where(ev))
            elif isinstance(ev, (MappingStartEvent, SequenceStartEvent)):
                if len(stack) >= MAX_DEPTH:
                    raise _refuse(file, where(ev), f"nested more than {MAX_DEPTH} levels deep", _current(stack))
                line = where(ev)
                path = child_path(line)
                stack.append(_Frame("map" if isinstance(ev, MappingStartEvent) else "seq",
                                    {} if isinstance(ev, MappingStartEvent) else [], path, line))
            elif isinstance(ev, (MappingEndEvent, SequenceEndEvent)):
                frame = stack.pop()
                place(frame.value, frame.line)
            elif isinstance(ev, StreamEndEvent):
                break
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or exc.context or "invalid YAML"
        raise _refuse(file, line, f"invalid YAML: {what}") from None
    except YAMLError as exc:  # the reader's errors (a control character) carry a position, not a mark
        pos = getattr(exc, "position", None)
        line = text[:pos].count("\n") + 1 if isinstance(pos, int) else None
        raise _refuse(file, line, f"invalid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:  # pragma: no cover - the parser is not recursive; kept as a last guard
        raise _refuse(file, None, f"nested more than {MAX_DEPTH} levels deep") from None
    return root, origins


def _current(stack: list[_Frame]) -> str:
    if not stack:
        return ""
    top = stack[-1]
    if top.kind == "map" and top.key is not _NO_KEY:
        return f"{top.path}.{top.key}" if top.path else str(top.key)
    return top.path


# ------------------------------------------------------------------------------------------------ JSON


class _Refused(Exception):
    """JSON that the json module accepts but snapsim may not hold: ``(key, token, message)``."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(key, json.dumps(key), "duplicate key (each key may appear once)")
            seen.add(key)
    return out


def _no_constant(name: str) -> Any:
    raise _Refused("", name, f"not valid JSON: {name} is not a JSON number (values must be finite)")


def _depth_ok(data: Any, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > limit:
                return False
            children = node.values() if isinstance(node, dict) else node
            stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return True


def load_json_text(text: str, file: str, what: str = "JSON") -> Any:
    """Parse JSON ``text`` from ``file`` strictly: duplicate keys, NaN/Infinity and nesting deeper than
    :data:`MAX_DEPTH` are refused with the line. Raises :class:`ConfigError`."""
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise _refuse(file, exc.lineno, f"not valid {what} ({exc.msg}, column {exc.colno})") from None
    except RecursionError:
        data = None
        ok = False
    except _Refused as exc:
        key, token, message = exc.args
        if key:
            try:
                load_yaml_text(text, file)  # names the line of the duplicate key
            except ConfigError as yaml_exc:
                if any("duplicate key" in pr.message for pr in yaml_exc.problems):
                    raise ConfigError(yaml_exc.problems) from None
        line = text[: text.find(token)].count("\n") + 1 if token in text else None
        raise _refuse(file, line, message, key) from None
    else:
        ok = _depth_ok(data, MAX_DEPTH)
    if not ok:
        raise _refuse(file, _deep_line(text), f"{what} nested more than {MAX_DEPTH} levels deep")
    return data


def _deep_line(text: str) -> int | None:
    """Line where the nesting (brackets outside strings) first passes :data:`MAX_DEPTH`."""
    depth, line, in_str, esc = 0, 1, False, False
    for ch in text:
        if ch == "\n":
            line += 1
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif ch in "]}":
            depth -= 1
    return None
