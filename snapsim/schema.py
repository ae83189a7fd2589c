"""The base of every typed input model (hardware, workload, encodings, sweep files, trace manifests).

A leaf module (it imports nothing from snapsim), so any module may define a config model without
importing the config package.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Strict"]


class Strict(BaseModel):
    """Base for every config model: frozen, no unknown keys, no coercion of scalars (``"16"`` is not 16,
    ``true`` is not 1, ``16`` is not ``"16"``; an int is a valid float)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, validate_default=True)
