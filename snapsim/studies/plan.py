"""A study's plan: the runs it needs, as data.

Building a plan runs nothing and reads no input but shipped data (the SNAP study reads its accuracy
references), so the same study size always gives the same plan (same runs, same run ids, same order). A run is what one ``snapsim run`` would do: a hardware file
and a workload file with dotted overrides, a mode, an optional trace, a seed and a fidelity; the plan
adds what the analysis needs to find it again (``part``, ``model``, ``scenario``, ``link``, ...) and a
run id (``r00000``, in registration order). Registering the same run twice returns the first one's id,
so a run shared by several comparisons is simulated once.

``plan.cases`` are the comparisons the analysis makes (for example one gain row naming an ANN-only, an
SNN-only and a SNAP run by id); their fields are the study's.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

__all__ = ["POINT_KEYS", "Plan", "point"]

#: What a run is, as handed to the runner and stored with its result (overrides as canonical JSON).
POINT_KEYS = ("hw_file", "wl_file", "trace", "mode", "seed", "fidelity", "hw_overrides", "wl_overrides")


def _canonical(overrides: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(overrides or {}), sort_keys=True)


class Plan:
    """The runs of a study (``runs``, each a dict: ``run_id``, the caller's labels, then :data:`POINT_KEYS`)
    and the comparisons between them (``cases``)."""

    def __init__(self, seed: int = 0, fidelity: str = "fast"):
        self.seed = seed
        self.fidelity = fidelity
        self.runs: list[dict[str, Any]] = []
        self.cases: list[dict[str, Any]] = []
        self._ids: dict[str, str] = {}

    def run(self, *, hw_file: Any, wl_file: Any, mode: str, hw_overrides: Mapping[str, Any] | None = None,
            wl_overrides: Mapping[str, Any] | None = None, trace: Any = None, **labels: Any) -> str:
        """Register a run (or find it registered) and return its id. ``labels`` (part, model, ...) are kept
        from the first registration."""
        point = {"hw_file": str(hw_file), "wl_file": str(wl_file), "trace": None if trace is None else str(trace),
                 "mode": mode, "seed": self.seed, "fidelity": self.fidelity,
                 "hw_overrides": _canonical(hw_overrides), "wl_overrides": _canonical(wl_overrides)}
        key = json.dumps(point, sort_keys=True)
        if key not in self._ids:
            run_id = f"r{len(self.runs):05d}"
            self._ids[key] = run_id
            self.runs.append({"run_id": run_id, **labels, **point})
        return self._ids[key]

    def case(self, **fields: Any) -> None:
        """Record a comparison between runs (its fields name them by id)."""
        self.cases.append(fields)


def point(run: Mapping[str, Any]) -> dict[str, Any]:
    """The run point of a plan run: what the runner evaluates and stores (:data:`POINT_KEYS`)."""
    return {k: run[k] for k in POINT_KEYS}
