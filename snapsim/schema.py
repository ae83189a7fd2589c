"""The base of every typed input model (hardware, workload, encodings, sweep files, trace manifests).

A leaf module (it imports nothing from snapsim), so any module may define a config model without
importing the config package.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

__all__ = ["Strict", "INT64_MAX", "int64_overflow"]

INT64_MAX = 2**63 - 1
"""The largest integer an input may hold: results are tables of 64-bit columns (Parquet, numpy)."""


def int64_overflow(value: Any) -> int | None:
    """The first integer in ``value`` (a scalar, or nested lists, tuples and dict keys and values) that does
    not fit a signed 64-bit integer, or None."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, bool):
            continue
        if isinstance(v, int):
            if not -INT64_MAX - 1 <= v <= INT64_MAX:
                return v
        elif isinstance(v, (list, tuple)):
            stack.extend(v)
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
    return None


@lru_cache(maxsize=None)
def _free_form(model: type, name: str) -> bool:
    """True for a field typed ``Any`` (alone or inside a container)."""
    field = model.model_fields.get(name)
    return field is not None and "Any" in str(field.annotation)


class Strict(BaseModel):
    """Base for every config model: frozen, no unknown keys, no coercion of scalars (``"16"`` is not 16,
    ``true`` is not 1, ``16`` is not ``"16"``; an int is a valid float), finite numbers only (``.inf`` and
    ``.nan`` are refused) and integers that fit 64 bits (a results column can hold them)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, validate_default=True, allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _fits_int64(cls, value: Any, info: ValidationInfo) -> Any:
        kind = type(value)  # every field of every model passes here: the common cases return at once
        if kind is int:
            if -INT64_MAX - 1 <= value <= INT64_MAX:
                return value
        elif kind is not list and kind is not tuple and kind is not dict:
            return value  # a float (finite: allow_inf_nan), text, None, a bool, a nested model (checked itself)
        if _free_form(cls, info.field_name or ""):
            return value  # a free-form field: whoever reads it checks its values (e.g. sweep axes)
        big = int64_overflow(value)
        if big is not None:
            if big is value:  # pydantic's message adds "; got VALUE"
                raise PydanticCustomError("int64", "must fit a 64-bit integer (at most {limit})", {"limit": INT64_MAX})
            raise PydanticCustomError("int64", "{value} does not fit a 64-bit integer (at most {limit})",
                                      {"value": big, "limit": INT64_MAX})
        return value
