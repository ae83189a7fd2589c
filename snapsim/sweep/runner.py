"""Run points resumably: evaluate every point that has no ``ok`` row yet, append results crash-safely,
consolidate at the end.

Two layers:

* :class:`PointRunner` runs any explicit list of *run points*, each with a stable identity (its
  ``point_hash``, computed by the caller without simulating: typically a hash of the base files' content
  plus the point's values). Points that already have an ``ok`` row in the results table are skipped;
  points whose earlier attempt failed are run again; a point that raises gets an ``error`` row and the
  run goes on. One runner keeps its results table locked and its backend open across :meth:`~PointRunner.run`
  calls, so a caller that decides its next points from the previous ones (a study's searches) pays for
  worker start-up once.
* :func:`run_sweep` expands a sweep file (:class:`~snapsim.sweep.spec.SweepSpec`) into run points (the
  axis values plus ``mode``, ``seed`` and ``fidelity``) identified by
  :func:`~snapsim.sweep.spec.point_hash` and runs them with a :class:`PointRunner`.

The evaluation is injectable: ``evaluate(point) -> dict`` receives a run point and returns flat scalar
metrics. It must be picklable (a top-level function or an instance of a top-level class) because it is
shipped once to every worker. For sweeps it is by default a :class:`PreparedEvaluator`, which loads the
hardware, workload and trace once (``Prepared.load``) and runs each point with overrides.

Backends (:mod:`snapsim.sweep.backends`): ``workers=1`` runs inline; more workers use a process pool;
``scheduler=`` uses Dask (:mod:`snapsim.sweep.dask_backend`). Points travel in chunks sized to take about
:data:`CHUNK_TARGET_S` each, so a kill loses at most the chunks in flight while per-chunk overhead stays
small.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..errors import ConfigError, SnapsimError
from ..progress import progress_enabled
from .backends import Backend, Chunk, Evaluate, InlineBackend, LostChunk, ProcessBackend, failed_rows
from .spec import SweepSpec, base_digest, check_axes, point_hash, split_point
from .store import ResultStore

__all__ = [
    "CHUNK_TARGET_S",
    "Evaluate",
    "PointRunner",
    "PreparedEvaluator",
    "SweepSummary",
    "default_workers",
    "open_backend",
    "progress_enabled",
    "run_sweep",
    "estimate_sweep",
]

CHUNK_TARGET_S = 0.5
"""Aim for chunks of about this much compute: bounds the work lost on a kill and the per-chunk overhead."""
MAX_CHUNK = 256
CONSOLIDATE_EVERY = 64
"""Fold the appended parts into the main table after this many parts."""


# ----------------------------------------------------------------------------------------- evaluation


class PreparedEvaluator:
    """The real evaluation: one ``snapsim.runner.Prepared`` (workload and trace analysed once) run per point.

    ``engine`` is passed to every run (``auto``: the stream engine where it applies, see
    :func:`snapsim.runner.simulate`). Points evaluated in one worker share the prepared object's run cache:
    payload models, and stream solutions between points that differ only in what the solution does not
    read (energy costs, say), so those points cost only their accounting."""

    def __init__(self, prepared: Any, engine: str = "auto"):
        self.prepared = prepared
        self.engine = engine

    @classmethod
    def from_spec(cls, spec: SweepSpec, limits: Any = "default") -> "PreparedEvaluator":
        """The evaluation of ``spec``'s points; each point is refused (an error row naming the estimate and
        the option that lifts the limit) when its cost estimate passes ``limits`` (default:
        :data:`snapsim.estimate.DEFAULT_LIMITS`; None: no limit)."""
        try:
            from ..runner import Prepared
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("snapsim"):
                raise SnapsimError("the simulator core (snapsim.runner) is not part of this build") from None
            raise
        problems = check_axes(spec)
        if problems:
            raise ConfigError(problems)
        trace = str(spec.trace) if spec.trace is not None else None
        if limits == "default":
            from ..estimate import DEFAULT_LIMITS

            limits = DEFAULT_LIMITS
        ev = cls(Prepared.load(str(spec.hardware), str(spec.workload), trace, limits=limits))
        ev.base_dir = str(Path(spec.file).parent)
        return ev

    def __call__(self, point: dict[str, Any]) -> Mapping[str, Any]:
        mode, seed, fidelity, hw, wl = split_point(point)
        trace = point.get("trace")
        if trace is not None:  # a trace axis value, relative to the sweep file
            trace = str(Path(getattr(self, "base_dir", ".")) / trace)
        return self.prepared.run(mode=mode, seed=seed, fidelity=fidelity, hw_overrides=hw, workload_overrides=wl,
                                 trace=trace, engine=getattr(self, "engine", "auto"))


# ------------------------------------------------------------------------------------------- chunking


class _Chunker:
    """Hands out chunks of pending points, sized from the measured time per point.

    Points of a lost chunk come back through :meth:`requeue` and are handed out one at a time, each
    alone in flight, so a point that kills its worker again is known to be the culprit.
    """

    def __init__(self, items: list, slots: int, target_s: float = CHUNK_TARGET_S):
        self.items = items
        self.pos = 0
        self.slots = max(1, slots)
        self.target_s = target_s
        self.retries: list = []
        self._time = 0.0
        self._n = 0

    def has_more(self) -> bool:
        return bool(self.retries) or self.pos < len(self.items)

    def has_retry(self) -> bool:
        return bool(self.retries)

    def requeue(self, items: list) -> None:
        self.retries.extend(items)

    def observe(self, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            t = r.get("elapsed_s")
            if isinstance(t, float) and t == t:
                self._time += t
                self._n += 1

    def next(self) -> list:
        if self.retries:
            return [self.retries.pop(0)]
        remaining = len(self.items) - self.pos
        if self._n == 0:
            size = 1
        else:
            per_point = max(self._time / self._n, 1e-6)
            size = int(self.target_s / per_point)
        size = max(1, min(size, MAX_CHUNK, math.ceil(remaining / self.slots)))
        chunk = self.items[self.pos : self.pos + size]
        self.pos += size
        return chunk


def _drive(backend: Backend, todo: Chunk, on_rows: Callable[[list[dict[str, Any]]], None]) -> None:
    """Keep ``backend.slots`` chunks in flight until every point of ``todo`` has a row.

    A point lost with its worker is retried once, alone; if it is lost again it gets an error row.
    """
    chunker = _Chunker(todo, backend.slots)
    retried: set[int] = set()
    pending: list = []
    solo = False  # a retry is in flight: nothing else may run beside it
    while chunker.has_more() or pending:
        while chunker.has_more() and len(pending) < backend.slots and not solo:
            if chunker.has_retry():
                if pending:
                    break
                solo = True
            pending.append(backend.submit(chunker.next()))
        finished = backend.wait(pending)
        gone = {id(h) for h, _ in finished}
        pending = [h for h in pending if id(h) not in gone]
        solo = solo and bool(pending)
        for _handle, result in finished:
            if isinstance(result, LostChunk):
                again = [item for item in result.chunk if item[0] in retried]
                first = [item for item in result.chunk if item[0] not in retried]
                retried.update(item[0] for item in first)
                chunker.requeue(first)
                rows = failed_rows(again, result.message)
            else:
                rows = result
            chunker.observe(rows)
            on_rows(rows)


# ------------------------------------------------------------------------------------------- progress


def default_workers() -> int:
    """CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------------------------- driver


@dataclass
class SweepSummary:
    """What a sweep did. ``exit_code`` is 1 when any point failed."""

    name: str
    out: Path
    total: int
    skipped: int
    ok: int
    failed: int
    wall_s: float
    rows: int
    other_rows: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # parts of the results set aside (wrong types)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def format(self) -> str:
        lines = [
            f"sweep {self.name}: {self.total} points: {self.skipped} skipped (already done), "
            f"{self.ok} ok, {self.failed} failed",
            f"results: {self.out} ({self.rows} rows"
            + (f", {self.other_rows} of them from points not in this sweep" if self.other_rows else "") + ")",
            f"wall time: {self.wall_s:.1f} s",
        ]
        for note in self.notes:
            lines.append(f"warning: {note}")
        if self.failed:
            for idx, msg in self.errors[:5]:
                lines.append(f"  point {idx}: {msg}")
            if self.failed > 5:
                lines.append(f"  ... and {self.failed - 5} more (see the error column)")
            lines.append("rerun the same command to retry the failed points (finished points are skipped)")
        return "\n".join(lines)


def open_backend(evaluate: Evaluate, workers: int, scheduler: str | None = None) -> Backend:
    """The backend for ``workers`` local processes (1: inline) or a Dask ``scheduler`` (``tcp://HOST:PORT``
    or ``local``; overrides ``workers``). The caller closes it."""
    if scheduler:
        from .dask_backend import DaskBackend

        return DaskBackend(evaluate, scheduler)
    if workers == 1:
        return InlineBackend(evaluate)
    return ProcessBackend(evaluate, workers)


class PointRunner:
    """Runs explicit lists of run points into one results table (Parquet), resumably.

    Use as a context manager: it holds the table's lock from ``__enter__`` to ``__exit__``, and on a clean
    exit folds the rows it appended into the main file. Each :meth:`run` evaluates the points that have no
    ``ok`` row in the table and returns a :class:`SweepSummary`; :attr:`table` is then the current table
    (one row per point, also rows of points not in this list, e.g. of an edited sweep file). The evaluation and its backend are made on
    the first point that needs evaluating (``evaluate``, or ``make_evaluate()``, e.g. a
    :class:`PreparedEvaluator` that loads files) and kept until the runner closes.

    ``workers``: local processes (default: CPUs available; 1 runs inline). ``scheduler``: a Dask scheduler
    address ``tcp://HOST:PORT`` or ``local`` (a 2-process ``LocalCluster`` on loopback); overrides
    ``workers``. ``progress``: show a tqdm bar (default: only on an interactive terminal, see
    :func:`progress_enabled`).
    """

    def __init__(self, out_path: str | Path, *, evaluate: Evaluate | None = None,
                 make_evaluate: Callable[[], Evaluate] | None = None, workers: int | None = None,
                 scheduler: str | None = None, progress: bool | None = None):
        if (evaluate is None) == (make_evaluate is None):
            raise TypeError("give exactly one of evaluate and make_evaluate")
        if workers is not None and workers < 1:
            raise SnapsimError(f"--workers must be at least 1; got {workers}")
        self.out = Path(out_path)
        self._evaluate = evaluate
        self._make_evaluate = make_evaluate
        self.workers = default_workers() if workers is None else workers
        self.scheduler = scheduler or None
        self.progress = progress
        self.table: Any = None
        self._store: ResultStore | None = None
        self._last_order: tuple[dict[str, int], list[str]] = ({}, [])
        self._backend: Backend | None = None

    def __enter__(self) -> "PointRunner":
        self._store = ResultStore(self.out).__enter__()
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        try:
            if self._backend is not None:
                self._backend.close()
                self._backend = None
            if exc_type is None and self._store is not None:
                if self.table is not None:  # fold this runner's parts into the main file, then tidy up
                    try:
                        self._store.consolidate(*self._last_order)
                    except SnapsimError as err:  # e.g. an immutable results file: the parts stay
                        raise SnapsimError(f"{err}; the finished points are kept in {self._store.parts} "
                                           "(rerun the same command to fold them in)") from None
            if self._store is not None:
                self._store.remove_parts_dir()  # only if empty: what a failed run wrote stays for the rerun
        finally:
            if self._store is not None:
                self._store.__exit__(exc_type, *exc)
                self._store = None

    def _backend_for_run(self) -> Backend:
        if self._backend is None:
            if self._evaluate is None:
                assert self._make_evaluate is not None
                self._evaluate = self._make_evaluate()
            self._backend = open_backend(self._evaluate, self.workers, self.scheduler)
        return self._backend

    def run(self, points: Sequence[dict[str, Any]], hashes: Sequence[str], *, name: str = "points",
            column_order: Sequence[str] = ()) -> SweepSummary:
        """Evaluate every point of ``points`` (identified by ``hashes``, same order) without an ``ok`` row.

        A hash listed twice is run once (the first point keeps it). ``point_index`` in the table is the
        position in this list; ``column_order`` puts those columns right after the lead columns."""
        if self._store is None:
            raise RuntimeError("PointRunner.run outside its `with` block")
        if len(points) != len(hashes):
            raise ValueError(f"{len(points)} points but {len(hashes)} hashes")
        t0 = time.perf_counter()
        store = self._store
        points, hashes = list(points), list(hashes)
        if len(set(hashes)) != len(hashes):  # e.g. a random sweep drawing the same integer point twice
            seen: set[str] = set()
            keep = [i for i, h in enumerate(hashes) if not (h in seen or seen.add(h))]
            points = [points[i] for i in keep]
            hashes = [hashes[i] for i in keep]
        index_by_hash = {h: i for i, h in enumerate(hashes)}
        column_order = list(column_order)

        # the first run reads (and tidies) the table on disk; later ones know it: this runner holds the lock
        existing = store.consolidate(index_by_hash, column_order) if self.table is None else self.table
        done = set(existing.loc[existing["status"] == "ok", "point_hash"]) if len(existing) else set()
        todo = [(i, h, p) for i, (h, p) in enumerate(zip(hashes, points)) if h not in done]
        skipped = len(hashes) - len(todo)

        ok = failed = 0
        errors: list[tuple[int, str]] = []
        if todo:
            backend = self._backend_for_run()
            show = progress_enabled() if self.progress is None else self.progress
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc=name, unit="pt", disable=not show, dynamic_ncols=True)

            def record(rows: list[dict[str, Any]]) -> None:
                nonlocal ok, failed
                if not rows:
                    return
                try:
                    store.append(rows)
                    if store.since_consolidation >= CONSOLIDATE_EVERY:  # keeps readers and the final step quick
                        store.consolidate(index_by_hash, column_order)
                except SnapsimError as err:  # no space left, no permission: stop, keep what is written
                    raise SnapsimError(f"{err}; {skipped + ok + failed} of {len(hashes)} points are done and kept "
                                       f"(rerun the same command to resume)") from None
                for r in rows:
                    if r["status"] == "ok":
                        ok += 1
                    else:
                        failed += 1
                        errors.append((int(r["point_index"]), str(r["error"])))
                bar.update(len(rows))
                if failed:
                    bar.set_postfix(failed=failed)

            try:
                _drive(backend, todo, record)
            finally:
                bar.close()

        final = store.view(index_by_hash, column_order)
        self.table = final
        self._last_order = (index_by_hash, column_order)
        other = int((~final["point_hash"].isin(index_by_hash)).sum()) if len(final) else 0
        errors.sort()
        notes, store.notes = list(store.notes), []
        return SweepSummary(name, self.out, len(hashes), skipped, ok, failed, time.perf_counter() - t0,
                            len(final), other, errors, notes)


def run_sweep(
    spec: SweepSpec,
    out_path: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    evaluate: Evaluate | None = None,
    progress: bool | None = None,
    limits: Any = "default",
) -> SweepSummary:
    """Run the missing points of ``spec`` into ``out_path`` (Parquet) and return a summary.

    ``workers``, ``scheduler`` and ``progress`` as for :class:`PointRunner`. ``evaluate``: the point
    evaluation (default: :class:`PreparedEvaluator` of the spec with ``limits``, made only if a point needs
    running).
    """
    run_points = spec.run_points()
    digest = base_digest(spec)
    hashes = [point_hash(digest, p) for p in run_points]
    column_order = list(spec.axis_names) + [c for c in ("mode", "seed", "fidelity") if c not in spec.axis_names]
    source = ({"evaluate": evaluate} if evaluate is not None
              else {"make_evaluate": lambda: PreparedEvaluator.from_spec(spec, limits)})
    with PointRunner(out_path, workers=workers, scheduler=scheduler, progress=progress, **source) as runner:
        return runner.run(run_points, hashes, name=spec.name, column_order=column_order)


def estimate_sweep(spec: SweepSpec, limits: Any = None, max_points: int = 200) -> list[str]:
    """The cost of a sweep from the estimates of its points (all of them, or ``max_points`` spread evenly
    over them), as lines to print: total wall time, the largest point, and how many points pass ``limits``."""
    from ..errors import SnapsimError as _Err
    from ..estimate import format_bytes, format_seconds
    from ..runner import Prepared

    problems = check_axes(spec)
    if problems:
        raise ConfigError(problems)
    prep = Prepared.load(str(spec.hardware), str(spec.workload), str(spec.trace) if spec.trace else None, limits=None)
    points = spec.run_points()
    step = max(1, len(points) // max_points)
    sample = points[::step]
    walls, mems, over, refused = [], [], 0, []
    for p in sample:
        mode, _seed, fidelity, hw, wl = split_point(p)
        try:
            est = prep.estimate(mode=mode, fidelity=fidelity, hw_overrides=hw, workload_overrides=wl)
        except _Err as exc:
            refused.append(str(exc))
            continue
        walls.append(est.wall_s)
        mems.append(est.memory_bytes)
        try:
            est.check(limits)
        except _Err:
            over += 1
    scale = len(points) / max(1, len(sample))
    lines = [f"sweep {spec.name}: {len(points):,} points"
             + (f" ({len(sample):,} estimated, spread evenly)" if step > 1 else "")]
    if walls:
        lines.append(f"  wall time  ~{format_seconds(sum(walls) * scale)} of work in all (largest point "
                     f"~{format_seconds(max(walls))}); divide by the workers")
        lines.append(f"  memory     ~{format_bytes(max(mems))} for the largest point, per worker")
    if over:
        lines.append(f"  {over} of the estimated points pass the limits and would fail (raise --max-wall-s or "
                     "--max-memory-gib)")
    for msg in refused[:3]:
        lines.append(f"  refused: {msg}")
    return lines
