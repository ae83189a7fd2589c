"""Running a study's plan on the sweep machinery: resumable, on the same backends as ``snapsim sweep``.

:class:`PlanRunner` hands every run of a :class:`~snapsim.studies.plan.Plan` that has no result yet to a
:class:`~snapsim.sweep.runner.PointRunner` writing ``runs.parquet`` in the study's output directory, and
keeps the result rows by run id. Call :meth:`PlanRunner.run` again after registering more runs (a search
that picks its next runs from the previous ones): only the new ones are run, on the backend already open.

A run's identity (its ``point_hash`` in ``runs.parquet``) is computed without simulating, from:

* the content of its hardware file (presets resolved, and a ``*.preset`` override's preset resolved
  too), its workload file and its trace (:func:`snapsim.sweep.spec.base_digest`);
* its mode, seed, fidelity and overrides;
* the source code of snapsim (:func:`code_digest`).

So a rerun into the same directory skips every run already finished by the same code on the same inputs
(a killed study resumes where it stopped, failed runs are retried), and editing a preset, a workload, a
trace or snapsim itself makes the affected runs run again instead of mixing stale results in.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd

from ..sweep.runner import PointRunner, SweepSummary
from ..sweep.spec import SweepSpec, base_digest, point_hash
from .evaluate import RunEvaluator
from .plan import POINT_KEYS, Plan, point

__all__ = ["STORE_NAME", "PlanRunner", "RunIdentity", "code_digest"]

#: The results table of every run of a study, in its output directory.
STORE_NAME = "runs.parquet"
#: Columns of the results table that describe the store, not the run.
_STORE_ONLY = ("point_index", "elapsed_s")
#: Result columns every row keeps, even when empty for all of them.
_ALWAYS = ("point_hash", "status", "error")


@lru_cache(maxsize=1)
def code_digest() -> str:
    """Hash of snapsim's Python source (every ``.py`` file of the installed package, by relative path)."""
    package = Path(os.fspath(files("snapsim")))
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        h.update(str(path.relative_to(package)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


class RunIdentity:
    """``identity(run) -> point_hash`` of a plan run (see the module docstring); file digests cached."""

    def __init__(self) -> None:
        self._files: dict[tuple[str, str, str | None], str] = {}
        self._presets: dict[tuple[str, str], Any] = {}

    def _files_digest(self, hw_file: str, wl_file: str, trace: str | None) -> str:
        key = (hw_file, wl_file, trace)
        if key not in self._files:
            spec = SweepSpec(file=wl_file, name="study", hardware=Path(hw_file), workload=Path(wl_file),
                             trace=None if trace is None else Path(trace), axes=())
            self._files[key] = base_digest(spec)
        return self._files[key]

    def _swapped_presets(self, hw_file: str, hw_overrides: str) -> Any:
        """The hardware with its ``*.preset`` overrides resolved (None without any): a preset named only by an
        override is not part of the hardware file's digest."""
        overrides = json.loads(hw_overrides)
        swaps = {k: v for k, v in overrides.items() if k.endswith(".preset")}
        if not swaps:
            return None
        key = (hw_file, json.dumps(swaps, sort_keys=True))
        if key not in self._presets:
            from ..config.load import resolve_hardware_with_overrides
            from ..config.yamlio import load_yaml

            data, origins = load_yaml(hw_file)
            self._presets[key] = resolve_hardware_with_overrides(data, origins, hw_file, swaps)[0]
        return self._presets[key]

    def __call__(self, run: dict[str, Any]) -> str:
        values = {k: run[k] for k in POINT_KEYS if k not in ("hw_file", "wl_file", "trace")}
        values["presets"] = self._swapped_presets(run["hw_file"], run["hw_overrides"])
        values["code"] = code_digest()
        return point_hash(self._files_digest(run["hw_file"], run["wl_file"], run["trace"]), values)


class PlanRunner:
    """Runs a plan's runs into ``out_dir/runs.parquet``; result rows by run id in :attr:`rows`.

    Use as a context manager (it holds the results table's lock). ``workers``, ``scheduler`` and
    ``progress`` as for :class:`~snapsim.sweep.runner.PointRunner`. :attr:`counts` says how many runs were
    found finished in the table (``resumed``), run ok and failed.
    """

    def __init__(self, out_dir: str | Path, *, name: str, workers: int | None = None, scheduler: str | None = None,
                 progress: bool | None = None):
        self.name = name
        self.points = PointRunner(Path(out_dir) / STORE_NAME, make_evaluate=RunEvaluator, workers=workers,
                                  scheduler=scheduler, progress=progress)
        self.identity = RunIdentity()
        self.rows: dict[str, dict[str, Any]] = {}
        self.counts = {"resumed": 0, "ok": 0, "failed": 0}
        self._hashes: dict[str, str] = {}

    def __enter__(self) -> "PlanRunner":
        self.points.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.points.__exit__(*exc)

    def _hash(self, run: dict[str, Any]) -> str:
        if run["run_id"] not in self._hashes:
            self._hashes[run["run_id"]] = self.identity(run)
        return self._hashes[run["run_id"]]

    def run(self, plan: Plan) -> SweepSummary | None:
        """Run every run of ``plan`` that has no row yet (already finished ones are read from the table)."""
        new = [r for r in plan.runs if r["run_id"] not in self.rows]
        if not new:
            return None
        hashes = [self._hash(r) for r in plan.runs]
        summary = self.points.run([point(r) for r in plan.runs], hashes, name=self.name, column_order=POINT_KEYS)
        self.counts["ok"] += summary.ok
        self.counts["failed"] += summary.failed
        self.counts["resumed"] += len(new) - summary.ok - summary.failed
        table = self.points.table
        wanted = {self._hashes[r["run_id"]] for r in new}
        results = table[table["point_hash"].isin(wanted)].drop(columns=[*_STORE_ONLY, *POINT_KEYS], errors="ignore")
        # metrics none of these runs has (e.g. of other points in the table, or trace metrics of non-trace runs)
        empty = [c for c in results.columns if c not in _ALWAYS and results[c].isna().all()]
        results = results.drop(columns=empty)
        by_hash = {rec["point_hash"]: rec for rec in results.to_dict("records")}
        for r in new:
            self.rows[r["run_id"]] = {**r, **by_hash[self._hashes[r["run_id"]]]}
        return summary

    def runs_table(self, plan: Plan) -> pd.DataFrame:
        """One row per run of ``plan``, in plan order: its labels, its point and its result."""
        return pd.DataFrame([self.rows[r["run_id"]] for r in plan.runs])
