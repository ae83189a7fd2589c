"""What a study is, and how any study runs.

A study (:class:`Study`) has named sizes and four steps, each in its own place:

* ``plan(config)``: the runs it needs, as a :class:`~snapsim.studies.plan.Plan` (pure, deterministic);
* ``search(config, plan, runner)``: optional runs chosen from earlier results (bisections and the like),
  registered on the same plan and run in batches by the same runner; returns its tables;
* ``analyse(config, plan, runs)``: tables computed from the runs (pure);
* ``conclude(config, tables)``: tables computed from all the others (optional; e.g. the claims a report makes);
* a report: every table as ``<name>.csv``, ``figures(result)`` (PNGs under the output directory) and
  ``summary(result)`` (the text of ``summary.md``).

:func:`run_study` runs those steps with a :class:`~snapsim.studies.execute.PlanRunner`, i.e. on the sweep
machinery: resumable (rerunning a killed study skips the runs already in ``runs.parquet``), inline, on
local worker processes or on a Dask cluster.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from ..errors import SnapsimError
from ..sweep.runner import default_workers
from .execute import STORE_NAME, PlanRunner
from .plan import Plan
from .report import write_tables

__all__ = ["Study", "StudyResult", "run_study"]

#: worker processes a study uses at most when the caller gives none
MAX_DEFAULT_WORKERS = 8


@dataclass
class StudyResult:
    """A finished study: its tables (also readable as attributes: ``result.gains``), the files it wrote,
    the summary text and how it ran."""

    study: str
    size: str
    config: Any
    out_dir: Path
    plan: Plan
    tables: dict[str, pd.DataFrame]
    where: str
    counts: dict[str, int]
    elapsed_s: float = 0.0
    summary: str = ""
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def runs(self) -> pd.DataFrame:
        return self.tables["runs"]

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(f"{type(self).__name__} has no attribute or table {name!r}")


class Study:
    """Base of the registered studies; subclasses set the class attributes and the four steps."""

    name: str = ""
    title: str = ""  # one line, for ``snapsim study --list``
    sizes: Mapping[str, Any] = {}
    default_size: str = "default"

    def config(self, size: Any) -> tuple[str, Any]:
        """``(size name, size config)`` for a size name or a size config object (then named ``custom``)."""
        if isinstance(size, str):
            if size not in self.sizes:
                raise SnapsimError(f"study {self.name}: unknown size {size!r}; sizes: {', '.join(self.sizes)}")
            return size, self.sizes[size]
        return "custom", size

    def workers(self, config: Any) -> int:
        """Worker processes when the caller gives none: the config's ``workers`` if set, else the CPUs
        available, at most :data:`MAX_DEFAULT_WORKERS`."""
        return getattr(config, "workers", None) or min(default_workers(), MAX_DEFAULT_WORKERS)

    def plan(self, config: Any) -> Plan:
        """The runs the study needs: pure (no file read, nothing run), the same plan for the same config."""
        raise NotImplementedError

    def search(self, config: Any, plan: Plan, runner: PlanRunner) -> dict[str, pd.DataFrame]:
        """Runs chosen from earlier results: register them on ``plan``, run them with ``runner.run(plan)``
        (read ``runner.rows``), repeat; returns the search's tables. None by default."""
        return {}

    def analyse(self, config: Any, plan: Plan, runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """Tables from ``runs`` (one row per run of the plan, in plan order); a ``runs`` entry replaces the
        runs table as written (e.g. with its columns ordered)."""
        raise NotImplementedError

    def conclude(self, config: Any, tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
        """Tables built from every other table (the analysis's and the search's), e.g. the report's claims with
        the runs behind each. None by default."""
        return {}

    def figures(self, result: StudyResult) -> dict[str, Path]:
        """Write the figures under ``result.out_dir``; their paths by name."""
        return {}

    def summary(self, result: StudyResult) -> str:
        """The text of ``summary.md``."""
        raise NotImplementedError

    def console(self, result: StudyResult) -> str:
        """What ``snapsim study NAME`` prints after the run."""
        return f"study {self.name} ({result.size}): {len(result.runs)} runs in {result.elapsed_s:.1f} s"


def run_study(study: Study, size: Any = None, out_dir: str | os.PathLike = "study_out", *,
              workers: int | None = None, scheduler: str | None = None, progress: bool | None = None,
              say: Callable[[str], None] | None = None) -> StudyResult:
    """Plan, run (resumably, into ``out_dir/runs.parquet``), search, analyse and report ``study``; the
    elapsed time covers everything but writing ``summary.md``.

    ``size``: a size name (default: the study's default size) or a size config object. ``workers``: local
    worker processes (default: the size's, else the CPUs available up to 8; 1 runs inline); ``scheduler``:
    a Dask scheduler address or ``local`` (overrides ``workers``). ``say``: progress messages.
    """
    size_name, config = study.config(study.default_size if size is None else size)
    if workers is None:
        workers = study.workers(config)
    where = f"Dask scheduler {scheduler}" if scheduler else f"{workers} worker(s)"
    say = say or (lambda _msg: None)
    out = Path(out_dir)
    t0 = time.perf_counter()
    plan = study.plan(config)
    runner = PlanRunner(out, name=f"study {study.name}", workers=workers, scheduler=scheduler, progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    say(f"study {study.name} ({size_name}): {len(plan.runs)} runs planned (its searches may add more), "
        f"{len(plan.cases)} cases, on {where}")
    with runner:
        runner.run(plan)
        searched = study.search(config, plan, runner)
        runs = runner.runs_table(plan)
    counts = runner.counts
    say(f"{counts['resumed']} runs found finished in {out / STORE_NAME}, {counts['ok']} run ok, "
        f"{counts['failed']} failed")
    tables = {"runs": runs, **study.analyse(config, plan, runs), **searched}
    tables.update(study.conclude(config, tables))
    result = StudyResult(study.name, size_name, config, out, plan, tables, where, counts)
    result.files = write_tables(out, tables)
    result.files.update(study.figures(result))
    result.elapsed_s = time.perf_counter() - t0
    result.summary = study.summary(result)
    result.files["summary"] = out / "summary.md"
    result.files["summary"].write_text(result.summary)
    return result
