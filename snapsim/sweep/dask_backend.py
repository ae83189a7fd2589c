"""Run chunks of points on a Dask ``distributed`` cluster (an optional extra, imported only when used).

``scheduler="tcp://HOST:PORT"`` connects to a running scheduler; ``scheduler="local"`` starts a
``LocalCluster`` of 2 single-threaded worker processes on loopback with the dashboard off. The
evaluation (e.g. the ``Prepared`` workload) is scattered once to every worker; each chunk is one task.
Workers must be able to import snapsim (and the evaluation's module). :class:`DaskBackend` implements
:class:`snapsim.sweep.backends.Backend`.
"""

from __future__ import annotations

import logging
from typing import Any

from ..errors import SnapsimError
from .backends import Chunk, ChunkResult, Evaluate, failed_rows, one_line, run_chunk_with

__all__ = ["DaskBackend", "LOCAL"]

LOCAL = "local"
CONNECT_TIMEOUT_S = 10


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise SnapsimError("--scheduler needs Dask: pip install 'dask[distributed]' "
                           "(or install snapsim with the dask extra)") from None
    return distributed


class DaskBackend:
    """Submits chunks as Dask tasks: a :class:`~snapsim.sweep.backends.Backend` (``slots``, ``submit``, ``wait``,
    ``close``) like the local ones."""

    def __init__(self, evaluate: Evaluate, scheduler: str):
        distributed = _import_distributed()
        self._distributed = distributed
        self.cluster = None
        if scheduler == LOCAL:
            self.cluster = distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.ERROR,
            )
            self.client = distributed.Client(self.cluster)
        else:
            try:
                self.client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError, ValueError) as exc:
                raise SnapsimError(f"cannot connect to the Dask scheduler at {scheduler!r}: {one_line(exc)}") from None
        try:
            threads = sum(self.client.nthreads().values())
            self.slots = max(2, 2 * threads)
            self._evaluate = self.client.scatter(evaluate, broadcast=True, hash=False)
        except BaseException:
            self.close()
            raise
        self._chunks: dict[str, tuple[Any, Chunk]] = {}

    def submit(self, chunk: Chunk) -> Any:
        fut = self.client.submit(run_chunk_with, self._evaluate, chunk, pure=False)
        self._chunks[fut.key] = (fut, chunk)
        return fut

    def wait(self, handles: list[Any]) -> list[tuple[Any, ChunkResult]]:
        done, _ = self._distributed.wait(handles, return_when="FIRST_COMPLETED")
        done_keys = {f.key for f in done}
        out: list[tuple[Any, ChunkResult]] = []
        for fut in handles:
            if fut.key not in done_keys:
                continue
            _, chunk = self._chunks.pop(fut.key)
            try:
                out.append((fut, fut.result()))
            except Exception as exc:  # e.g. KilledWorker: the points of this chunk are lost
                out.append((fut, failed_rows(chunk, f"dask task failed: {one_line(exc)}")))
            fut.release()
        return out

    def close(self) -> None:
        pending = [f for f, _ in self._chunks.values()] if hasattr(self, "_chunks") else []
        try:
            if pending:
                self.client.cancel(pending)
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()
