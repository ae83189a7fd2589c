"""Run chunks of points on a Dask ``distributed`` cluster (an optional extra, imported only when used).

``scheduler="tcp://HOST:PORT"`` connects to a running scheduler; ``scheduler="local"`` starts a
``LocalCluster`` of 2 single-threaded worker processes on loopback with the dashboard off. Before the Dask
client connects, :func:`probe_scheduler` checks within :data:`PROBE_TIMEOUT_S` that something listens
at a ``tcp://`` address and greets like a Dask server (its handshake comes first, framed by an 8-byte
length), so a refused port or another service (a web server, an SSH daemon) is a one-line error at once
instead of a 10 s retry loop or a garbage frame length read as a huge allocation. The
evaluation (e.g. the ``Prepared`` workload) is scattered once to every worker; each chunk is one task.
Workers must be able to import snapsim (and the evaluation's module). :class:`DaskBackend` implements
:class:`snapsim.sweep.backends.Backend`.
"""

from __future__ import annotations

import logging
import socket
import struct
from typing import Any
from urllib.parse import urlsplit

from ..errors import SnapsimError
from .backends import Chunk, ChunkResult, Evaluate, failed_rows, one_line, run_chunk_with

__all__ = ["DaskBackend", "LOCAL", "probe_scheduler"]

LOCAL = "local"
CONNECT_TIMEOUT_S = 10
PROBE_TIMEOUT_S = 3.0
_MAX_HANDSHAKE_BYTES = 1 << 20  # a Dask handshake is a few hundred bytes


def probe_scheduler(address: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Raise SnapsimError unless a Dask server answers at ``tcp://HOST:PORT`` (other protocols are left to
    Dask). A Dask server writes its handshake as soon as a connection opens: an 8-byte little-endian length
    of a small message."""
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp":
        return
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or port is None:
        raise SnapsimError(f"--scheduler {address!r}: expected tcp://HOST:PORT (or 'local')")
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            head = b""
            while len(head) < 8:
                chunk = sock.recv(8 - len(head))
                if not chunk:
                    break
                head += chunk
    except socket.timeout:
        raise SnapsimError(f"--scheduler {address}: no Dask scheduler answers there (connected, but nothing "
                           f"arrived within {timeout:g} s: another kind of service?)") from None
    except OSError as exc:
        raise SnapsimError(f"--scheduler {address}: cannot connect ({exc.strerror or exc}); is the scheduler "
                           "running?") from None
    if len(head) < 8:
        raise SnapsimError(f"--scheduler {address}: the service closed the connection without a Dask handshake")
    (n,) = struct.unpack("<Q", head)
    if not 0 < n <= _MAX_HANDSHAKE_BYTES:
        raise SnapsimError(f"--scheduler {address}: not a Dask scheduler (its first bytes {head!r} are no Dask "
                           "handshake)")


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
            probe_scheduler(scheduler)
            try:
                self.client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT_S)
            except Exception as exc:  # also MemoryError from a garbage frame length
                raise SnapsimError(f"--scheduler {scheduler}: cannot connect to the Dask scheduler: "
                                   f"{one_line(exc)}") from None
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
