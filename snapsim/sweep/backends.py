"""Where run points are evaluated: the :class:`Backend` protocol, the chunk evaluation every backend runs,
and the two local backends (inline and a process pool). The Dask backend (:mod:`snapsim.sweep.dask_backend`)
implements the same protocol from the pieces of this module.

A *chunk* is a list of ``(index, point_hash, run_point)``; a backend evaluates each point of a chunk with
:func:`evaluate_point` and hands back one result row per point. A backend never decides which points run:
the driver (:mod:`snapsim.sweep.runner`) keeps ``slots`` chunks in flight, records the rows and resubmits
the points of a :class:`LostChunk` (a chunk whose worker process died).
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import multiprocessing.connection
import os
import pickle
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Protocol, Union, runtime_checkable

from .. import __version__
from ..errors import SnapsimError

__all__ = [
    "Backend",
    "Chunk",
    "ChunkResult",
    "Evaluate",
    "InlineBackend",
    "LostChunk",
    "ProcessBackend",
    "evaluate_point",
    "failed_rows",
    "one_line",
    "run_chunk_with",
    "watch_parent",
]

Evaluate = Callable[[dict[str, Any]], Mapping[str, Any]]
"""``evaluate(run_point) -> flat metrics``; picklable when it runs outside this process."""
Chunk = list[tuple[int, str, dict[str, Any]]]
"""Points as ``(index, point_hash, run_point)``."""


@dataclass
class LostChunk:
    """A chunk whose worker process died before returning (the driver retries its points one by one)."""

    chunk: Chunk
    message: str


ChunkResult = Union[list[dict[str, Any]], LostChunk]


@runtime_checkable
class Backend(Protocol):
    """What the driver needs from a place that evaluates chunks.

    ``slots``: how many chunks the driver keeps in flight. ``submit(chunk)`` starts one and returns a
    handle. ``wait(handles)`` blocks until at least one of them is finished and returns ``(handle,
    rows or LostChunk)`` for every finished one, in submission order. ``close()`` releases workers and
    cancels what is still running.
    """

    slots: int

    def submit(self, chunk: Chunk) -> Any: ...

    def wait(self, handles: list[Any]) -> list[tuple[Any, ChunkResult]]: ...

    def close(self) -> None: ...


# ----------------------------------------------------------------------------------------- evaluation


def one_line(exc: BaseException) -> str:
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
        row["error"] = one_line(exc)
    row["elapsed_s"] = time.perf_counter() - t0
    return row


def run_chunk_with(evaluate: Evaluate, chunk: Chunk) -> list[dict[str, Any]]:
    """Evaluate a chunk of ``(index, point_hash, run_point)``; what every backend runs."""
    return [evaluate_point(evaluate, i, h, p) for i, h, p in chunk]


def failed_rows(chunk: Chunk, message: str) -> list[dict[str, Any]]:
    """Error rows for a whole chunk that could not be evaluated (its worker or task was lost)."""
    rows = []
    for i, h, p in chunk:
        row: dict[str, Any] = {"point_index": i, "point_hash": h, "status": "error", **p}
        row.update(config_hash=None, snapsim_version=__version__, elapsed_s=float("nan"), error=message)
        rows.append(row)
    return rows


# ------------------------------------------------------------------------------------------- inline


class InlineBackend:
    """Runs chunks in this process, one at a time (``workers=1``)."""

    slots = 1

    def __init__(self, evaluate: Evaluate):
        self.evaluate = evaluate
        self._queue: dict[int, Chunk] = {}
        self._next = 0

    def submit(self, chunk: Chunk) -> int:
        self._next += 1
        self._queue[self._next] = chunk
        return self._next

    def wait(self, handles: list[Any]) -> list[tuple[Any, ChunkResult]]:
        key = handles[0]
        return [(key, run_chunk_with(self.evaluate, self._queue.pop(key)))]

    def close(self) -> None:
        self._queue.clear()


# ------------------------------------------------------------------------------------- process pool


_WORKER_EVALUATE: Evaluate | None = None


def watch_parent() -> bool:
    """In a worker process: exit as soon as the process that started the pool dies (even by SIGKILL), so no
    worker outlives its sweep. A daemon thread waits on ``multiprocessing.parent_process().sentinel``, which
    every start method provides (the pipe or handle the parent holds: forkserver, spawn and fork alike; a
    forkserver then exits by itself once its workers are gone, and the resource tracker after it). Returns
    False when there is no parent to watch (not a multiprocessing child)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return False
    sentinel = parent.sentinel

    def watch() -> None:
        try:
            multiprocessing.connection.wait([sentinel])
        except OSError:
            pass
        os._exit(1)  # the parent is gone: nobody will read what this worker computes

    threading.Thread(target=watch, name="snapsim-parent-watch", daemon=True).start()
    return True


def _init_worker(evaluate: Evaluate) -> None:
    global _WORKER_EVALUATE
    watch_parent()
    _WORKER_EVALUATE = evaluate


def _ping() -> bool:
    return _WORKER_EVALUATE is not None


def _run_chunk_in_worker(chunk: Chunk) -> list[dict[str, Any]]:
    assert _WORKER_EVALUATE is not None, "worker not initialised"
    return run_chunk_with(_WORKER_EVALUATE, chunk)


class ProcessBackend:
    """A ``ProcessPoolExecutor`` (forkserver, or spawn where forkserver is unavailable); the evaluation is
    sent once per worker through its initializer, so per-process caches it keeps survive across chunks.

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
        self._chunks: dict[cf.Future, tuple[Chunk, cf.ProcessPoolExecutor]] = {}

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        pool = cf.ProcessPoolExecutor(max_workers=self.workers, mp_context=self._ctx,
                                      initializer=_init_worker, initargs=(self.evaluate,))
        try:
            pool.submit(_ping).result()  # a worker that cannot even start would otherwise fail every point
        except BrokenProcessPool:
            pool.shutdown(wait=False, cancel_futures=True)
            raise SnapsimError(
                "sweep worker processes exit before running any point: the evaluation must be importable "
                "in a fresh interpreter, and a script that runs a sweep or a study needs an "
                "`if __name__ == \"__main__\":` guard"
            ) from None
        return pool

    def _replace_pool(self, broken: cf.ProcessPoolExecutor) -> None:
        if broken is self._pool:
            broken.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()

    def submit(self, chunk: Chunk) -> cf.Future:
        try:
            fut = self._pool.submit(_run_chunk_in_worker, chunk)
        except BrokenProcessPool:  # broke since the last wait; its chunks fail on their own
            self._replace_pool(self._pool)
            fut = self._pool.submit(_run_chunk_in_worker, chunk)
        self._chunks[fut] = (chunk, self._pool)
        return fut

    def wait(self, handles: list[Any]) -> list[tuple[Any, ChunkResult]]:
        done, _ = cf.wait(handles, return_when=cf.FIRST_COMPLETED)
        out: list[tuple[Any, ChunkResult]] = []
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
                out.append((fut, failed_rows(chunk, f"chunk failed: {one_line(exc)}")))
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
