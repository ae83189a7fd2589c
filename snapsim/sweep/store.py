"""Crash-safe Parquet store for sweep results.

Layout for an output ``OUT.parquet``:

* ``OUT.parquet`` — the consolidated table (one row per point), replaced atomically;
* ``OUT.parquet.parts/part-*.parquet`` — batches of rows appended while a sweep runs, each written to a
  temporary name, flushed and then ``os.replace``-d into place, so a part is either absent or complete.

Killing a writer at any moment (SIGKILL included) therefore loses at most the rows not yet appended and
never leaves a half-written file under a name readers look at. :func:`load_results` reads the
consolidated table plus every part and keeps one row per ``point_hash``: the latest ``ok`` row if there
is one, otherwise the latest error row; it works on an unfinished (running or killed) sweep.
:meth:`ResultStore.consolidate` folds the parts into ``OUT.parquet`` (atomic replace first, then the parts
are deleted, so a crash in between only leaves duplicates that readers drop). A writer that holds the lock
also keeps what it consolidated and appended in memory, so :meth:`ResultStore.view` gives the current
table without reading or writing a file.

Types: the store's own columns have fixed types (:data:`OWN_TYPES`); every other column keeps one type
across the table and its parts. An integer column stays integer (a part holding whole floats there is cast
back, losslessly); a column mixing integers and fractions is a float column; a part whose column holds
another kind (text where the table has numbers), values that do not fit, or a status other than ok/error
is *refused*: readers skip it, the writer sets it aside as ``*.parquet.rejected`` and its points run
again. Each refusal is one line in :attr:`ResultStore.notes` (printed with the sweep's summary).

Faults: a part or the consolidated table that cannot be written (no space left, no permission, an
immutable file) raises one :class:`~snapsim.errors.SnapsimError` line; every part written before stays,
so a rerun resumes. A results file is created only once it has a row.
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
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..errors import SnapsimError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory lock, one writer per output is up to the user
    fcntl = None  # type: ignore[assignment]

__all__ = ["ResultStore", "load_results", "load_results_with_notes", "parts_dir", "LEAD_COLUMNS", "TAIL_COLUMNS",
           "OWN_TYPES"]

LEAD_COLUMNS = ("point_index", "point_hash", "status")
TAIL_COLUMNS = ("config_hash", "snapsim_version", "elapsed_s", "error")
OWN_TYPES = {
    "point_index": pa.int64(), "point_hash": pa.string(), "status": pa.string(), "config_hash": pa.string(),
    "snapsim_version": pa.string(), "elapsed_s": pa.float64(), "error": pa.string(),
}
"""The store's own columns and their types (every other column is the evaluation's)."""
STATUSES = ("ok", "error")
REJECTED_SUFFIX = ".rejected"


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
        want = OWN_TYPES.get(name)
        try:
            cols[name] = pa.array(values, type=want) if want is not None else pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            cols[name] = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    return pa.table(cols)


def _frame_to_table(df: pd.DataFrame) -> pa.Table:
    try:
        return pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return _to_table(df.to_dict("records"))


def _fault(path: Path, exc: OSError, what: str) -> SnapsimError:
    """An OSError while writing, as one line (no space left, permissions, an immutable file...)."""
    return SnapsimError(f"{path}: cannot write {what} ({exc.strerror or exc})")


def _unlink_quietly(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def _write_atomic(table: pa.Table, path: Path, what: str = "the results table") -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        pq.write_table(table, tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise _fault(path, exc, what) from None
    except BaseException:
        _unlink_quietly(tmp)
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


# ------------------------------------------------------------------------------------------------ types


def _kind(t: pa.DataType) -> str:
    if pa.types.is_null(t):
        return "null"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    return str(t)


def _whole(col: Any) -> bool:
    """Every non-null value of a float column is a whole number that fits a 64-bit integer."""
    vals = np.asarray(pc.drop_null(col).to_numpy(zero_copy_only=False), dtype=np.float64)
    return bool(np.isfinite(vals).all() and (vals == np.floor(vals)).all() and (np.abs(vals) < 2.0**63).all())


_NUMERIC_TYPES = {"int": pa.int64(), "float": pa.float64()}


def _schema(tables: list[pa.Table], main: pa.Table | None) -> dict[str, pa.DataType]:
    """One type per column: the store's own (:data:`OWN_TYPES`); else the main table's (an integer column
    stays integer); else agreed across the parts: integers and whole floats are integer, integers and
    fractions float, and between other kinds the one holding most rows wins."""
    schema = dict(OWN_TYPES)
    seen: dict[str, dict[str, int]] = {}
    first_type: dict[str, dict[str, pa.DataType]] = {}
    for t in tables:
        for name in t.column_names:
            if name in schema:
                continue
            col = t.column(name)
            k = _kind(col.type)
            if k == "null":
                continue
            if k == "float" and _whole(col):
                k = "whole"
            seen.setdefault(name, {})
            seen[name][k] = seen[name].get(k, 0) + t.num_rows
            first_type.setdefault(name, {}).setdefault(k, col.type)
    for name, kinds in seen.items():
        numeric = set(kinds) <= {"int", "whole", "float"}
        if main is not None and name in main.column_names and _kind(main.column(name).type) != "null":
            mk = _kind(main.column(name).type)
            if mk == "float" and _whole(main.column(name)) and "float" not in kinds:
                mk = "int" if "int" in kinds else "float"
            schema[name] = _NUMERIC_TYPES.get(mk, main.column(name).type)
        elif numeric:
            schema[name] = pa.float64() if "float" in kinds or "int" not in kinds else pa.int64()
        else:
            top = max(kinds, key=lambda k: (kinds[k], k))
            if top in ("int", "whole", "float"):
                schema[name] = pa.float64() if "float" in kinds or "int" not in kinds else pa.int64()
            else:
                schema[name] = first_type[name][top]
    return schema


def _conform(table: pa.Table, schema: Mapping[str, pa.DataType]) -> tuple[pa.Table | None, str | None]:
    """``table`` with every column cast to ``schema`` (lossless numeric casts only), or why it cannot be."""
    cols = {}
    for name in table.column_names:
        col = table.column(name)
        want = schema.get(name)
        if want is None or col.type == want:
            cols[name] = col
            continue
        have, need = _kind(col.type), _kind(want)
        if have == "null":
            cols[name] = pa.nulls(len(col), type=want)
            continue
        if (have in ("int", "float") and need in ("int", "float")) or have == need:
            try:
                cols[name] = pc.cast(col, want, safe=True)
                continue
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                return None, f"column {name!r} holds {col.type} values that do not fit its type {want}"
        return None, f"column {name!r} holds {col.type} where the table has {want}"
    for name in LEAD_COLUMNS:
        if name not in cols:
            return None, f"no {name} column"
        if cols[name].null_count:
            return None, f"column {name!r} has empty values"
    bad = set(cols["status"].to_pylist()) - set(STATUSES)
    if bad:
        return None, f"column 'status' holds {sorted(map(str, bad))[:3]} (not ok or error)"
    return pa.table(cols), None


def _concat(tables: list[pa.Table]) -> pd.DataFrame:
    """Tables conformed to one schema (:func:`_merge`), as one DataFrame."""
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in LEAD_COLUMNS})
    try:
        return pa.concat_tables(tables, promote_options="permissive").to_pandas()
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # pragma: no cover - conformed tables always concatenate
        return pd.concat([t.to_pandas() for t in tables], ignore_index=True, sort=False).infer_objects()


def _merge(main: pa.Table | None, parts: list[tuple[Path, pa.Table]]
           ) -> tuple[pd.DataFrame, list[tuple[Path, str]], dict[str, pa.DataType]]:
    """The main table and the parts conformed to one schema, the parts refused with the reason, and the
    schema. A main table that cannot be conformed is an error (it is the user's file: snapsim never sets it
    aside)."""
    schema = _schema(([main] if main is not None else []) + [t for _, t in parts], main)
    out, refused = [], []
    if main is not None:
        conformed, why = _conform(main, schema)
        if conformed is None:
            raise SnapsimError(f"not a snapsim sweep results file ({why}); choose another --out or move it away")
        out.append(conformed)
    for path, t in parts:
        conformed, why = _conform(t, schema)
        if conformed is None:
            refused.append((path, why or "wrong types"))
        else:
            out.append(conformed)
    return _concat(out), refused, schema


def _table_of(df: pd.DataFrame, schema: Mapping[str, pa.DataType]) -> pa.Table:
    """``df`` as Arrow with the schema's types (pandas holds an integer column with gaps as floats)."""
    table = _frame_to_table(df)
    conformed, _why = _conform(table, schema)
    return conformed if conformed is not None else table


# ----------------------------------------------------------------------------------------------- reading


def _list_parts(out: Path) -> list[Path]:
    d = parts_dir(out)
    if not d.is_dir():
        return []
    try:
        return sorted(p for p in d.iterdir() if p.name.startswith("part-") and p.suffix == ".parquet")
    except OSError as exc:
        raise SnapsimError(f"{d}: cannot list the parts ({exc.strerror})") from None


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


def _load(out: Path) -> tuple[pd.DataFrame, list[Path], list[tuple[Path, str]], dict[str, pa.DataType]]:
    """(table, the parts read, the parts refused and why, the column types)."""
    for _attempt in range(5):
        parts = _list_parts(out)
        read: list[tuple[Path, pa.Table]] = []
        refused: list[tuple[Path, str]] = []
        try:
            for p in parts:
                try:
                    read.append((p, _read_table(p)))
                except SnapsimError as exc:  # an unreadable part is refused like a wrong-typed one
                    refused.append((p, str(exc).split(": ", 1)[-1]))
        except FileNotFoundError:
            continue  # a writer consolidated meanwhile: its table now holds those rows
        main = _read_table(out) if out.exists() else None
        try:
            df, wrong, schema = _merge(main, read)
        except SnapsimError as exc:
            raise SnapsimError(f"{out}: {exc}") from None
        return _dedupe(df), [p for p, _ in read], refused + wrong, schema
    raise SnapsimError(f"{out}: results keep changing while being read; try again")


def load_results_with_notes(out: str | Path) -> tuple[pd.DataFrame, list[str]]:
    """:func:`load_results`, and one line per part it skipped (unreadable, or of the wrong types)."""
    out = Path(out)
    if not out.exists() and not parts_dir(out).is_dir():
        raise SnapsimError(f"{out}: no such results file")
    df, _parts, refused, _schema_ = _load(out)
    return df, [f"{p}: part skipped ({why})" for p, why in refused]


def load_results(out: str | Path) -> pd.DataFrame:
    """All results of a sweep output (consolidated table plus parts), one row per point, by point_index.
    Works on an unfinished (running or killed) sweep; parts that cannot be read are skipped."""
    return load_results_with_notes(out)[0]


# ----------------------------------------------------------------------------------------------- writing


class ResultStore:
    """Writer side of a results file. Holds an exclusive lock so two sweeps never write the same output.

    Use as a context manager; :meth:`append` adds rows (one atomic part per call), :meth:`consolidate`
    folds everything into the main file. :attr:`notes` collects one line per part set aside.
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
        self.notes: list[str] = []
        self.appended_rows = 0

    def __enter__(self) -> "ResultStore":
        if self.out.is_dir():
            raise SnapsimError(f"{self.out}: is a directory; --out must name a file")
        if not self.out.parent.is_dir():
            raise SnapsimError(f"{self.out}: directory {self.out.parent} does not exist")
        if self.parts.exists() and not self.parts.is_dir():
            raise SnapsimError(f"{self.out}: {self.parts} is not a directory (the parts go there); move it away")
        try:
            self.parts.mkdir(exist_ok=True)
        except OSError as exc:
            raise SnapsimError(f"{self.out}: cannot create {self.parts}: {exc.strerror}") from None
        if fcntl is not None:
            try:
                fd = os.open(self.parts, os.O_RDONLY)
            except OSError as exc:
                raise SnapsimError(f"{self.out}: cannot open {self.parts}: {exc.strerror}") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                os.close(fd)
                if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise SnapsimError(f"{self.out}: another sweep is writing to this file right now") from None
                raise SnapsimError(f"{self.out}: cannot lock {self.parts}: {exc.strerror}") from None
            self._fd = fd
        try:
            for tmp in self.parts.glob(".*.tmp"):  # left by a killed writer; never read
                _unlink_quietly(tmp)
        except OSError:
            pass
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def load(self) -> pd.DataFrame:
        """Current contents (as :func:`load_results`), or an empty table."""
        return _load(self.out)[0]

    def append(self, rows: list[Mapping[str, Any]]) -> Path | None:
        """Write ``rows`` as one new part, atomically. Returns the part's path. A write that fails (no space,
        no permission) raises one SnapsimError line; the parts written before stay."""
        if not rows:
            return None
        self._seq += 1
        path = self.parts / f"part-{self._tag}-{self._seq:06d}.parquet"
        table = _to_table(rows)
        _write_atomic(table, path, "a part of the results")
        self._appended.append(table)
        self.since_consolidation += 1
        self.appended_rows += len(rows)
        return path

    def _set_aside(self, refused: list[tuple[Path, str]]) -> None:
        for path, why in refused:
            target = path.with_name(path.name + REJECTED_SUFFIX)
            try:
                os.replace(path, target)
                where = f"set aside as {target.name}"
            except OSError as exc:
                where = f"left in place ({exc.strerror})"
            self.notes.append(f"{path}: part refused ({why}); {where}, its points run again")

    def consolidate(self, index_by_hash: Mapping[str, int] | None = None,
                    column_order: Iterable[str] = ()) -> pd.DataFrame:
        """Fold parts into the main file (atomically) and delete them. Returns the table.

        ``index_by_hash`` renumbers ``point_index`` for points of the current sweep (useful when a
        sweep file was edited between runs); rows of other points are kept as they are. Parts of the wrong
        types are set aside (:attr:`notes`). No file is written while the table is empty.
        """
        df, parts, refused, schema = _load(self.out)
        self._set_aside(refused)
        before = list(zip(df["point_hash"], df["point_index"])) if len(df) else []
        df = _order_columns(_renumber(df, index_by_hash), column_order)
        renumbered = before != (list(zip(df["point_hash"], df["point_index"])) if len(df) else [])
        table = _table_of(df, schema)
        if len(df) and (parts or refused or renumbered or not self.out.exists()):
            _write_atomic(table, self.out)
        for p in parts:
            _unlink_quietly(p)
        self.since_consolidation = 0
        self._base, self._appended = table, []
        return df

    def view(self, index_by_hash: Mapping[str, int] | None = None, column_order: Iterable[str] = ()) -> pd.DataFrame:
        """The table :meth:`consolidate` would return now, from memory: no file is read or written. Only
        after a :meth:`consolidate` of this writer (it then knows every row: it holds the lock)."""
        if self._base is None:
            raise RuntimeError("ResultStore.view before the first consolidate")
        tables = [self._base, *self._appended]
        df, _refused, _types = _merge(None, [(Path(f"#{i}"), t) for i, t in enumerate(tables)])
        return _order_columns(_renumber(_dedupe(df), index_by_hash), column_order)

    def remove_parts_dir(self) -> None:
        """Remove the (empty) parts directory after a complete consolidation."""
        try:
            self.parts.rmdir()
        except OSError:
            pass  # not empty (another writer's leftovers) or already gone
