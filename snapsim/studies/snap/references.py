"""The accuracy references of the trained examples (``workloads/references.json``, written by ``python -m
snapsim.examples.references``): the digits and charlm networks with dense boundaries (ANN-only) and with every
layer spiking (SNN-only) at several timestep counts."""

from __future__ import annotations

import json
from pathlib import Path

from ...resources import WORKLOADS

__all__ = ["REFERENCES_FILE", "load_references", "reference_snn"]

REFERENCES_FILE = WORKLOADS / "references.json"


def load_references(path: str | Path | None = None) -> dict:
    """The references file as a mapping (task -> {'ann': metrics, 'snn': {T: metrics}, ...})."""
    return json.loads(Path(path or REFERENCES_FILE).read_text(encoding="utf-8"))


def reference_snn(task: str, path: str | Path | None = None) -> list[tuple[int, float]]:
    """(timesteps, measured mean firing rate) of every SNN-only reference of ``task``, by timesteps."""
    snn = load_references(path).get(task, {}).get("snn", {})
    return sorted((int(T), float(m["firing_rate"])) for T, m in snn.items())
