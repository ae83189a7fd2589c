"""Run a sweep: evaluate every missing point, append results crash-safely, consolidate at the end.

The evaluation is injectable: ``evaluate(point) -> dict`` receives a *run point* (the axis values plus
``mode``, ``seed`` and ``fidelity``) and returns flat scalar metrics. It must be picklable (a top-level
function or an instance of a top-level class) because it is shipped once to every worker. By default it
is a :class:`PreparedEvaluator`, which loads the hardware, workload and trace once (``Prepared.load``)
and runs each point with overrides.

Resume: a point is identified by :func:`~snapsim.sweep.spec.point_hash` (base files' content + the
point's values), computed without simulating. Points that already have an ``ok`` row are skipped;
points whose earlier attempt failed are run again. A point that raises gets an ``error`` row and the
sweep goes on.

Backends: ``workers=1`` runs inline; more workers use a ``ProcessPoolExecutor`` (forkserver, or spawn
where forkserver is unavailable); ``scheduler=`` uses Dask (see :mod:`snapsim.sweep.dask_backend`).
Points travel in chunks sized to take about :data:`CHUNK_TARGET_S` each, so a kill loses little work
while per-chunk overhead stays small.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import multiprocessing
import os
import pickle
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from .. import __version__
from ..errors import ConfigError, SnapsimError
from .spec import SweepSpec, base_digest, check_axes, point_hash, split_point
from .store import ResultStore

__all__ = [
    "CHUNK_TARGET_S",
    "Evaluate",
    "PreparedEvaluator",
    "SweepSummary",
    "default_workers",
    "progress_enabled",
    "run_sweep",
]

Evaluate = Callable[[dict[str, Any]], Mapping[str, Any]]

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
    def from_spec(cls, spec: SweepSpec) -> "PreparedEvaluator":
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
        ev = cls(Prepared.load(str(spec.hardware), str(spec.workload), trace))
        ev.base_dir = str(Path(spec.file).parent)
        return ev

    def __call__(self, point: dict[str, Any]) -> Mapping[str, Any]:
        mode, seed, fidelity, hw, wl = split_point(point)
        trace = point.get("trace")
        if trace is not None:  # a trace axis value, relative to the sweep file
            trace = str(Path(getattr(self, "base_dir", ".")) / trace)
        return self.prepared.run(mode=mode, seed=seed, fidelity=fidelity, hw_overrides=hw, workload_overrides=wl,
                                 trace=trace, engine=getattr(self, "engine", "auto"))


def _one_line(exc: BaseException) -> str:
    """An exception as one line: a user error's own message, otherwise ``Type: message``."""
    text = str(exc) if isinstance(exc, SnapsimError) else f"{type(exc).__name__}: {exc}"
    return " | ".join(line.strip() for line in text.splitlines() if line.strip()) or type(exc).__name__


def _scalar(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:  # numpy scalar
        return v.item()
    return json.dumps(v, sort_keys=True, default=str)


def evaluate_point(evaluate: Evaluate, index: int, phash: str, run_point: dict[str, Any]) -> dict[str, Any]:
    """One result row: the point's values, its metrics (or error), status and timing. Never raises for
    an exception of the evaluation (``Exception``); interrupts propagate."""
    row: dict[str, Any] = {"point_index": index, "point_hash": phash, "status": "ok"}
    row.update(run_point)
    t0 = time.perf_counter()
    try:
        result = evaluate(dict(run_point))
        if not isinstance(result, Mapping):
            raise TypeError(f"the evaluation returned {type(result).__name__}, not a mapping of metrics")
        for k, v in result.items():
            if k not in row:
                row[k] = _scalar(v)
        row.setdefault("config_hash", None)
        row.setdefault("snapsim_version", __version__)
        row["error"] = None
    except Exception as exc:  # a failing point is recorded, not fatal
        row["status"] = "error"
        row["config_hash"] = None
        row["snapsim_version"] = __version__
        row["error"] = _one_line(exc)
    row["elapsed_s"] = time.perf_counter() - t0
    return row


def run_chunk_with(evaluate: Evaluate, chunk: list[tuple[int, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Evaluate a chunk of ``(index, point_hash, run_point)``; used by every backend."""
    return [evaluate_point(evaluate, i, h, p) for i, h, p in chunk]


_WORKER_EVALUATE: Evaluate | None = None


def _init_worker(evaluate: Evaluate) -> None:
    global _WORKER_EVALUATE
    _WORKER_EVALUATE = evaluate


def _ping() -> bool:
    return _WORKER_EVALUATE is not None


def _run_chunk_in_worker(chunk: list[tuple[int, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    assert _WORKER_EVALUATE is not None, "worker not initialised"
    return run_chunk_with(_WORKER_EVALUATE, chunk)


def failed_rows(chunk: list[tuple[int, str, dict[str, Any]]], message: str) -> list[dict[str, Any]]:
    """Error rows for a whole chunk whose worker was lost."""
    rows = []
    for i, h, p in chunk:
        row: dict[str, Any] = {"point_index": i, "point_hash": h, "status": "error", **p}
        row.update(config_hash=None, snapsim_version=__version__, elapsed_s=float("nan"), error=message)
        rows.append(row)
    return rows


@dataclass
class LostChunk:
    """A chunk whose worker process died before returning (the driver retries its points one by one)."""

    chunk: list
    message: str


# ------------------------------------------------------------------------------------------- backends


class _InlineBackend:
    """Runs chunks in this process, one at a time (``workers=1``)."""

    slots = 1

    def __init__(self, evaluate: Evaluate):
        self.evaluate = evaluate
        self._queue: dict[int, list] = {}
        self._next = 0

    def submit(self, chunk: list) -> int:
        self._next += 1
        self._queue[self._next] = chunk
        return self._next

    def wait(self, handles: list) -> list[tuple[Any, list[dict[str, Any]]]]:
        key = handles[0]
        return [(key, run_chunk_with(self.evaluate, self._queue.pop(key)))]

    def close(self) -> None:
        self._queue.clear()


class _ProcessBackend:
    """A ``ProcessPoolExecutor``; the evaluation is sent once per worker through its initializer.

    When a worker dies (segfault, OOM kill) the pool breaks and every chunk in it is lost
    (:class:`LostChunk`); a fresh pool takes the following chunks.
    """

    def __init__(self, evaluate: Evaluate, workers: int):
        try:
            pickle.dumps(evaluate)
        except Exception as exc:
            raise TypeError(f"the evaluation must be picklable to run in worker processes: {exc}") from None
        self.evaluate = evaluate
        self.workers = workers
        self.slots = 2 * workers
        methods = multiprocessing.get_all_start_methods()
        self._ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
        if self._ctx.get_start_method() == "forkserver":
            self._ctx.set_forkserver_preload([__name__])  # workers fork with snapsim already imported
        self._pool = self._new_pool()
        self._chunks: dict[cf.Future, tuple[list, cf.ProcessPoolExecutor]] = {}

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        pool = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=self._ctx,
                                      initializer=_init_worker, initargs=(self.evaluate,))
        try:
            pool.submit(_ping).result()  # a worker that cannot even start would otherwise fail every point
        except BrokenProcessPool:
            pool.shutdown(wait=False, cancel_futures=True)
            raise SnapsimError(
                "sweep worker processes exit before running any point: the evaluation must be importable "
                "in a fresh interpreter, and a script that calls run_sweep needs an "
                "`if __name__ == \"__main__\":` guard"
            ) from None
        return pool

    def _replace_pool(self, broken: cf.ProcessPoolExecutor) -> None:
        if broken is self._pool:
            broken.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()

    def submit(self, chunk: list) -> cf.Future:
        try:
            fut = self._pool.submit(_run_chunk_in_worker, chunk)
        except BrokenProcessPool:  # broke since the last wait; its chunks fail on their own
            self._replace_pool(self._pool)
            fut = self._pool.submit(_run_chunk_in_worker, chunk)
        self._chunks[fut] = (chunk, self._pool)
        return fut

    def wait(self, handles: list) -> list[tuple[Any, list[dict[str, Any]] | LostChunk]]:
        done, _ = cf.wait(handles, return_when=cf.FIRST_COMPLETED)
        out = []
        for fut in handles:  # submission order: deterministic part contents
            if fut not in done:
                continue
            chunk, pool = self._chunks.pop(fut)
            try:
                out.append((fut, fut.result()))
            except BrokenProcessPool as exc:
                out.append((fut, LostChunk(chunk, f"worker process died ({exc})")))
                self._replace_pool(pool)
            except Exception as exc:  # e.g. a result that cannot be pickled
                out.append((fut, failed_rows(chunk, f"chunk failed: {_one_line(exc)}")))
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


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


def _drive(backend: Any, todo: list, on_rows: Callable[[list[dict[str, Any]]], None]) -> None:
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


def progress_enabled(environ: Mapping[str, str] | None = None, streams: tuple = ()) -> bool:
    """A progress bar only on an interactive terminal: both stdout and stderr TTYs and no ``CI`` set."""
    environ = os.environ if environ is None else environ
    streams = streams or (sys.stdout, sys.stderr)
    if environ.get("CI"):
        return False
    return all(getattr(s, "isatty", lambda: False)() for s in streams)


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
        if self.failed:
            for idx, msg in self.errors[:5]:
                lines.append(f"  point {idx}: {msg}")
            if self.failed > 5:
                lines.append(f"  ... and {self.failed - 5} more (see the error column)")
            lines.append("rerun the same command to retry the failed points (finished points are skipped)")
        return "\n".join(lines)


def run_sweep(
    spec: SweepSpec,
    out_path: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    evaluate: Evaluate | None = None,
    progress: bool | None = None,
) -> SweepSummary:
    """Run the missing points of ``spec`` into ``out_path`` (Parquet) and return a summary.

    ``workers``: local processes (default: CPUs available; 1 runs inline). ``scheduler``: a Dask scheduler
    address ``tcp://HOST:PORT`` or ``local`` (a 2-process ``LocalCluster`` on loopback); overrides
    ``workers``. ``evaluate``: the point evaluation (default: :class:`PreparedEvaluator` of the spec).
    ``progress``: show a tqdm bar (default: only on an interactive terminal, see :func:`progress_enabled`).
    """
    t0 = time.perf_counter()
    out = Path(out_path)
    if workers is not None and workers < 1:
        raise SnapsimError(f"--workers must be at least 1; got {workers}")
    run_points = spec.run_points()
    digest = base_digest(spec)
    hashes = [point_hash(digest, p) for p in run_points]
    if len(set(hashes)) != len(hashes):  # e.g. a random sweep drawing the same integer point twice
        seen: set[str] = set()
        keep = [i for i, h in enumerate(hashes) if not (h in seen or seen.add(h))]
        run_points = [run_points[i] for i in keep]
        hashes = [hashes[i] for i in keep]
    index_by_hash = {h: i for i, h in enumerate(hashes)}
    column_order = list(spec.axis_names) + [c for c in ("mode", "seed", "fidelity") if c not in spec.axis_names]

    with ResultStore(out) as store:
        existing = store.consolidate(index_by_hash, column_order)
        done = set(existing.loc[existing["status"] == "ok", "point_hash"]) if len(existing) else set()
        todo = [(i, h, p) for i, (h, p) in enumerate(zip(hashes, run_points)) if h not in done]
        skipped = len(hashes) - len(todo)

        ok = failed = 0
        errors: list[tuple[int, str]] = []
        if todo:
            if evaluate is None:
                evaluate = PreparedEvaluator.from_spec(spec)
            n_workers = default_workers() if workers is None else workers
            backend = _make_backend(evaluate, n_workers, scheduler)
            show = progress_enabled() if progress is None else progress
            from tqdm import tqdm

            bar = tqdm(total=len(todo), desc=spec.name, unit="pt", disable=not show, dynamic_ncols=True)

            def record(rows: list[dict[str, Any]]) -> None:
                nonlocal ok, failed
                if not rows:
                    return
                store.append(rows)
                if store.since_consolidation >= CONSOLIDATE_EVERY:  # keeps readers and the final step quick
                    store.consolidate(index_by_hash, column_order)
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
                backend.close()

        final = store.consolidate(index_by_hash, column_order)
        store.remove_parts_dir()
    other = int((~final["point_hash"].isin(index_by_hash)).sum()) if len(final) else 0
    errors.sort()
    return SweepSummary(spec.name, out, len(hashes), skipped, ok, failed, time.perf_counter() - t0,
                        len(final), other, errors)


def _make_backend(evaluate: Evaluate, workers: int, scheduler: str | None):
    if scheduler:
        from .dask_backend import DaskBackend

        return DaskBackend(evaluate, scheduler)
    if workers == 1:
        return _InlineBackend(evaluate)
    return _ProcessBackend(evaluate, workers)
