"""The one place validation failures become :class:`~snapsim.errors.Problem` s.

Every input kind (hardware, workload, link, chiplet, sweep file, trace manifest) is validated by a pydantic
model and reports *every* problem at once as ``file:line: dotted.path: message``: :func:`validate_model`
runs the model and turns each pydantic error into a Problem located through the ``origins`` map of the
file (dotted path -> file and line, from :func:`snapsim.config.yamlio.load_yaml`); :func:`problem_at`
locates a Problem found by a check outside the model.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ..errors import ConfigError, Problem
from .yamlio import Origins

__all__ = ["locate", "problem_at", "pydantic_message", "pydantic_problems", "validate_model"]

M = TypeVar("M", bound=BaseModel)


def locate(origins: Origins, path: str, default_file: str) -> tuple[str, int | None]:
    """File and line of ``path``, or of its nearest written ancestor (a missing key: its section)."""
    p = path
    while True:
        if p in origins:
            return origins[p]
        if "." not in p:
            return (default_file, None)
        p = p.rsplit(".", 1)[0]


def problem_at(origins: Origins, file: str, path: str, message: str, cross_field: bool = False) -> Problem:
    """A Problem about ``path``, at the line where that field (or its section) is written."""
    f, line = locate(origins, path, file)
    return Problem(f, line, path, message, cross_field)


def pydantic_message(err: dict) -> str:
    """A pydantic error as a lower-case message that shows the offending scalar (``...; got '16'``)."""
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    kind = err["type"]
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown key (not a field of this section; check the spelling)"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        msg = "Input should be a mapping (a section of named fields)"
    msg = msg[0].lower() + msg[1:]
    if "input" not in err:
        return msg
    value = err["input"]
    if isinstance(value, (dict, list, tuple)):
        if kind.endswith("_type"):  # the wrong kind of value: say which
            return f"{msg}; got a {'mapping' if isinstance(value, dict) else 'list'}"
        return msg
    return f"{msg}; got {value!r}"


def _input_path(data: Any, loc: tuple) -> tuple[list[str], bool]:
    """The part of a pydantic ``loc`` that names places in the input (dotted-path parts), and whether the
    error is about a mapping key. Union members and markers in ``loc`` (a tagged union's tag, ``[key]``,
    a type name) name nothing the user wrote and are dropped."""
    parts: list[str] = []
    node: Any = data
    is_key = False
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if part == "[key]":
            is_key = True
            continue
        if isinstance(node, dict) and part in node:
            parts.append(str(part))
            node = node[part]
        elif isinstance(node, (list, tuple)) and isinstance(part, int) and 0 <= part < len(node):
            parts.append(str(part))
            node = node[part]
        elif last and isinstance(node, dict):
            parts.append(str(part))  # a missing field of this mapping
        elif node is data and not isinstance(data, (dict, list, tuple)):
            parts.append(str(part))  # validated from something other than plain data: keep pydantic's loc
            node = None
        # else: a union member or a scalar's type tag
    return parts, is_key


def pydantic_problems(exc: ValidationError, data: Any, origins: Origins, file: str, prefix: str = "") -> list[Problem]:
    """Every error of ``exc`` (raised validating ``data``) as a Problem located through ``origins``.

    A model validator's message names the field it is about first (``flit_overhead_bytes must be ...``):
    that field becomes the path, so the Problem points at its line. Such problems are ``cross_field``
    (they may depend on values set elsewhere, e.g. by other axes of a sweep)."""
    problems = []
    for err in exc.errors():
        parts, is_key = _input_path(data, err["loc"])
        loc = ".".join(parts)
        path = f"{prefix}.{loc}" if prefix and loc else (prefix or loc)
        message = pydantic_message(err)
        if is_key:
            message = f"invalid key: {message}"
        cross = err["type"] == "value_error"  # raised by a model validator, not a field constraint
        head = message.split(" ", 1)[0].rstrip(":")
        named = f"{path}.{head}" if path else head
        if cross and head and (named in origins or any(k.startswith(named + ".") for k in origins)):
            path = named
            message = message[len(head):].lstrip(": ")
        problems.append(problem_at(origins, file, path, message, cross))
    return problems


def validate_model(model: type[M], data: Any, origins: Origins, file: str, prefix: str = "") -> M:
    """``model.model_validate(data)``, or :class:`ConfigError` listing every problem with file and line."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(pydantic_problems(exc, data, origins, file, prefix)) from None
