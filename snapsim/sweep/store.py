"""Crash-safe Parquet store for sweep results.

Layout for an output ``OUT.parquet``:

* ``OUT.parquet`` — the consolidated table (one row per point), replaced atomically;
* ``OUT.parquet.parts/part-*.parquet`` — batches of rows appended while a sweep runs, each written to a
  temporary name, flushed and then ``os.replace``-d into place, so a part is either absent or complete.

Killing a writer at any moment (SIGKILL included) therefore loses at most the rows not yet appended and
never leaves a half-written file under a name readers look at. :func:`load_results` reads the
consolidated table plus every part and keeps one row per ``point_hash``: the latest ``ok`` row if there
is one, otherwise the latest error row. :meth:`ResultStore.consolidate` folds the parts into
``OUT.parquet`` (atomic replace first, then the parts are deleted, so a crash in between only leaves
duplicates that readers drop). A writer that holds the lock also keeps what it consolidated and appended in
memory, so :meth:`ResultStore.view` gives the current table without reading or writing a file.
"""

from __future__ import annotations

import errno
import os
import time
import uuid
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import SnapsimError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock, one writer per output is up to the user
    fcntl = None  # type: ignore[assignment]

__all__ = ["ResultStore", "load_results", "parts_dir", "LEAD_COLUMNS", "TAIL_COLUMNS"]

LEAD_COLUMNS = ("point_index", "point_hash", "status")
TAIL_COLUMNS = ("config_hash", "snapsim_version", "elapsed_s", "error")


def parts_dir(out: str | Path) -> Path:
    """Directory holding the appended, not yet consolidated parts of ``out``."""
    out = Path(out)
    return out.with_name(out.name + ".parts")


def _order_columns(df: pd.DataFrame, middle_first: Iterable[str] = ()) -> pd.DataFrame:
    """Lead columns, then ``middle_first``, then the others, then the tail columns. The others come in the
    order of the first row that has a value for them (ties by name), so the order depends on the
    rows, not on which part (worker, chunk) happened to be written first."""
    cols = list(df.columns)
    lead = [c for c in LEAD_COLUMNS if c in cols]
    tail = [c for c in TAIL_COLUMNS if c in cols]
    mid_first = [c for c in middle_first if c in cols and c not in lead and c not in tail]
    rest = [c for c in cols if c not in lead and c not in tail and c not in mid_first]
    if rest and len(df):
        present = df[rest].notna().to_numpy()
        first = np.where(present.any(axis=0), present.argmax(axis=0), len(df))
        order = sorted(range(len(rest)), key=lambda j: (first[j], rest[j]))
        rest = [rest[j] for j in order]
    return df[lead + mid_first + rest + tail]


def _to_table(rows: list[Mapping[str, Any]]) -> pa.Table:
    """Rows as an Arrow table with the union of all rows' columns (``pa.Table.from_pylist`` would take the
    columns of the first row only, dropping the metrics of ok rows that follow a failed one); a column
    mixing kinds (say numbers and text) is stored as text."""
    names = list(dict.fromkeys(k for r in rows for k in r))
    cols = {}
    for name in names:
        values = [r.get(name) for r in rows]
        try:
            cols[name] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            cols[name] = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    return pa.table(cols)


def _frame_to_table(df: pd.DataFrame) -> pa.Table:
    try:
        return pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return _to_table(df.to_dict("records"))


def _write_atomic(table: pa.Table, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        pq.write_table(table, tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_table(path: Path) -> pa.Table:
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise SnapsimError(f"{path}: cannot read results file ({type(exc).__name__}: {exc}); "
                           "choose another --out or move the file away") from None
    if "point_hash" not in table.column_names or "status" not in table.column_names:
        raise SnapsimError(f"{path}: not a snapsim sweep results file (no point_hash/status columns); "
                           "choose another --out")
    return table


def _list_parts(out: Path) -> list[Path]:
    d = parts_dir(out)
    if not d.is_dir():
        return []
    return sorted(p for p in d.iterdir() if p.name.startswith("part-") and p.suffix == ".parquet")


def _concat(tables: list[pa.Table]) -> pd.DataFrame:
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in LEAD_COLUMNS})
    try:
        return pa.concat_tables(tables, promote_options="permissive").to_pandas()
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # a column with different kinds in different parts
        return pd.concat([t.to_pandas() for t in tables], ignore_index=True, sort=False).infer_objects()


def _dedupe(df: pd.DataFrame) -> pd.DataFrame:
    """One row per point_hash: the last ok row if any, else the last row (input is in write order)."""
    if not len(df):
        return df
    df = df.assign(_order=range(len(df)), _ok=df["status"] == "ok")
    df = df.sort_values(["_ok", "_order"], kind="stable").drop_duplicates("point_hash", keep="last")
    df = df.sort_values(["point_index", "point_hash"], kind="stable").drop(columns=["_order", "_ok"])
    return df.reset_index(drop=True)


def _renumber(df: pd.DataFrame, index_by_hash: Mapping[str, int] | None) -> pd.DataFrame:
    """``point_index`` from ``index_by_hash`` for the points it lists (others keep theirs), rows by index."""
    if index_by_hash is None or not len(df):
        return df
    df = df.copy()
    df["point_index"] = [index_by_hash.get(h, i) for h, i in zip(df["point_hash"], df["point_index"])]
    return df.sort_values(["point_index", "point_hash"], kind="stable").reset_index(drop=True)


def _load(out: Path) -> tuple[pd.DataFrame, list[Path]]:
    for _attempt in range(5):
        parts = _list_parts(out)
        try:
            tables = [_read_table(p) for p in parts]
        except FileNotFoundError:
            continue  # a writer consolidated meanwhile: its table now holds those rows
        base = [_read_table(out)] if out.exists() else []
        return _dedupe(_concat(base + tables)), parts
    raise SnapsimError(f"{out}: results keep changing while being read; try again")


def load_results(out: str | Path) -> pd.DataFrame:
    """All results of a sweep output (consolidated table plus parts), one row per point, by point_index."""
    out = Path(out)
    if not out.exists() and not parts_dir(out).is_dir():
        raise SnapsimError(f"{out}: no such results file")
    return _load(out)[0]


class ResultStore:
    """Writer side of a results file. Holds an exclusive lock so two sweeps never write the same output.

    Use as a context manager; :meth:`append` adds rows (one atomic part per call), :meth:`consolidate`
    folds everything into the main file.
    """

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.parts = parts_dir(self.out)
        self._fd: int | None = None
        self._seq = 0
        self.since_consolidation = 0
        self._tag = f"{time.time_ns():020d}-{os.getpid()}"
        # in memory: the table as last consolidated, and the parts appended since (see view())
        self._base: pa.Table | None = None
        self._appended: list[pa.Table] = []

    def __enter__(self) -> "ResultStore":
        if self.out.is_dir():
            raise SnapsimError(f"{self.out}: is a directory; --out must name a file")
        if not self.out.parent.is_dir():
            raise SnapsimError(f"{self.out}: directory {self.out.parent} does not exist")
        try:
            self.parts.mkdir(exist_ok=True)
        except OSError as exc:
            raise SnapsimError(f"{self.out}: cannot create {self.parts}: {exc.strerror}") from None
        if fcntl is not None:
            fd = os.open(self.parts, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise SnapsimError(f"{self.out}: another sweep is writing to this file right now") from None
                raise
            self._fd = fd
        for tmp in self.parts.glob(".*.tmp"):  # left by a killed writer; never read
            tmp.unlink(missing_ok=True)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def load(self) -> pd.DataFrame:
        """Current contents (as :func:`load_results`), or an empty table."""
        return _load(self.out)[0]

    def append(self, rows: list[Mapping[str, Any]]) -> Path | None:
        """Write ``rows`` as one new part, atomically. Returns the part's path."""
        if not rows:
            return None
        self._seq += 1
        path = self.parts / f"part-{self._tag}-{self._seq:06d}.parquet"
        table = _to_table(rows)
        _write_atomic(table, path)
        self._appended.append(table)
        self.since_consolidation += 1
        return path

    def consolidate(self, index_by_hash: Mapping[str, int] | None = None,
                    column_order: Iterable[str] = ()) -> pd.DataFrame:
        """Fold parts into the main file (atomically) and delete them. Returns the table.

        ``index_by_hash`` renumbers ``point_index`` for points of the current sweep (useful when a
        sweep file was edited between runs); rows of other points are kept as they are.
        """
        df, parts = _load(self.out)
        df = _order_columns(_renumber(df, index_by_hash), column_order)
        table = _frame_to_table(df)
        if parts or index_by_hash is not None or not self.out.exists():
            _write_atomic(table, self.out)
        for p in parts:
            p.unlink(missing_ok=True)
        self.since_consolidation = 0
        self._base, self._appended = table, []
        return df

    def view(self, index_by_hash: Mapping[str, int] | None = None, column_order: Iterable[str] = ()) -> pd.DataFrame:
        """The table :meth:`consolidate` would return now, from memory: no file is read or written. Only
        after a :meth:`consolidate` of this writer (it then knows every row: it holds the lock)."""
        if self._base is None:
            raise RuntimeError("ResultStore.view before the first consolidate")
        return _order_columns(_renumber(_dedupe(_concat([self._base, *self._appended])), index_by_hash), column_order)

    def remove_parts_dir(self) -> None:
        """Remove the (empty) parts directory after a complete consolidation."""
        try:
            self.parts.rmdir()
        except OSError:
            pass  # not empty (another writer's leftovers) or already gone
