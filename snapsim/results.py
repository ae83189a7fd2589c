"""Run results: the JSON record, a flat row for tables, and the human summary."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .energy import ENERGY_PARTS
from .errors import SnapsimError

__all__ = ["RunResult", "format_comparison", "write_parquet", "strict_json", "dumps_strict", "check_out_path",
           "write_atomic"]

NON_FINITE_KEY = "non_finite"
"""Where strict JSON says which numbers were not finite (each is null in place)."""


def strict_json(obj: Any) -> tuple[Any, dict[str, str]]:
    """``obj`` with every non-finite float replaced by None, and ``{dotted path: "inf"|"-inf"|"nan"}`` of
    what was replaced (JSON has no NaN or Infinity)."""
    reasons: dict[str, str] = {}

    def walk(v: Any, path: str) -> Any:
        if isinstance(v, float) or isinstance(v, np.floating):
            f = float(v)
            if math.isfinite(f):
                return f
            reasons[path] = "nan" if f != f else ("inf" if f > 0 else "-inf")
            return None
        if isinstance(v, dict):
            return {k: walk(x, f"{path}.{k}" if path else str(k)) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [walk(x, f"{path}.{i}" if path else str(i)) for i, x in enumerate(v)]
        if isinstance(v, np.integer):
            return int(v)
        return v

    return walk(obj, ""), reasons


def dumps_strict(obj: Any, **kw: Any) -> str:
    """Strict JSON of ``obj``: non-finite numbers are null, and a mapping gains a ``non_finite`` field
    naming each of them with its reason (``{"energy_pj_per_inf": "inf"}``)."""
    clean, reasons = strict_json(obj)
    if reasons and isinstance(clean, dict):
        clean[NON_FINITE_KEY] = reasons
    return json.dumps(clean, allow_nan=False, **kw)

_SCALARS = (
    "mode",
    "fidelity",
    "engine",
    "hardware",
    "workload",
    "inferences",
    "batch",
    "partitions",
    "latency_ns_p50",
    "latency_ns_p99",
    "latency_ns_mean",
    "latency_ns_min",
    "latency_ns_max",
    "latency_ns_zero_load",
    "makespan_ns",
    "throughput_inf_per_s",
    "energy_pj_per_inf",
    "energy_pj_per_sample",
    "d2d_bits_per_inf",
    "d2d_payload_bits_per_inf",
    "d2d_retransmitted_bits_per_inf",
    "seed",
    "snapsim_version",
    "config_hash",
)


class RunResult:
    def __init__(self, data: dict, latencies_ns: np.ndarray):
        self.data = data
        self.latencies_ns = latencies_ns

    def __getitem__(self, key: str):
        return self.data[key]

    def to_json(self, full: bool = True) -> str:
        d = self.data if full else {k: v for k, v in self.data.items() if k not in ("config", "counts")}
        return dumps_strict(d, indent=2, sort_keys=True)

    def flat(self) -> dict:
        """One row: scalar metrics, energy parts per inference, analytical bounds."""
        row = {k: self.data[k] for k in _SCALARS}
        for part in ENERGY_PARTS:
            row[f"energy_{part}_pj_per_inf"] = self.data["energy_breakdown_pj"][part]
        for k, v in self.data["analytical"].items():
            row[f"analytical_{k}"] = v
        row["max_link_utilization"] = max((l["utilization"] for l in self.data["links"]), default=0.0)
        for k, v in self.data.get("trace_metrics", {}).items():
            row[f"trace_{k}"] = v
        return row


    def summary(self) -> str:
        d = self.data
        lines = [
            f"snapsim {d['snapsim_version']}  mode={d['mode']}  fidelity={d['fidelity']}  seed={d['seed']}",
            f"hardware {d['hardware']}  workload {d['workload']}  ({d['inferences']} inferences x batch {d['batch']}, "
            f"{d['partitions']} partitions on chiplets {d['chiplets_used']})",
            f"latency per inference  p50 {_ns(d['latency_ns_p50'])}  p99 {_ns(d['latency_ns_p99'])}  "
            f"zero-load {_ns(d['latency_ns_zero_load'])} (first inference; closed form "
            f"{_ns(d['analytical']['zero_load_latency_ns'])})",
            f"throughput             {d['throughput_inf_per_s']:,.0f} inf/s  "
            f"(bound {d['analytical']['throughput_bound_inf_per_s']:,.0f})",
            f"energy per inference   {_pj(d['energy_pj_per_inf'])}  ({_pj(d['energy_pj_per_sample'])} per sample, "
            f"batch {d['batch']})",
        ]
        total = d["energy_pj_per_inf"] or 1.0
        for part in ENERGY_PARTS:
            v = d["energy_breakdown_pj"][part]
            lines.append(f"  {part:<12} {_pj(v):>12}  {100 * v / total:5.1f}%")
        lines.append(f"D2D bits per inference {d['d2d_bits_per_inf']:,.0f} (payload {d['d2d_payload_bits_per_inf']:,.0f})")
        hint = _framing_hint(d)
        if hint:
            lines.append(hint)
        if d["links"]:
            sleeps = any(l.get("wakes", 0) for l in d["links"])  # power states on: show time asleep too
            extra = f" {'asleep':>7} {'wakes':>7}" if sleeps else ""
            lines.append(f"  {'link':<10} {'preset':<22} {'messages':>9} {'bits':>14} {'util':>7}{extra}")
            for l in d["links"]:
                extra = f" {100 * l['asleep_ns'] / d['makespan_ns']:6.2f}% {l['wakes']:>7}" if sleeps else ""
                lines.append(
                    f"  {l['name']:<10} {l['preset']:<22} {l['messages']:>9} {l['bits']:>14,} "
                    f"{100 * l['utilization']:6.2f}%{extra}"
                )
        return "\n".join(lines)


def check_out_path(path: str | Path, overwrite: bool = False, flag: str = "--out") -> Path:
    """Check before any work that ``path`` can be written: its directory exists and takes a new file, and
    it is not an existing file unless ``overwrite``. Raises SnapsimError naming ``flag``."""
    path = Path(path)
    if path.is_dir():
        raise SnapsimError(f"{flag} {path}: is a directory; give a file name")
    if path.exists() and not path.is_file():
        raise SnapsimError(f"{flag} {path}: not a regular file (a device, FIFO or socket); give a file name")
    if path.exists() and not overwrite:
        raise SnapsimError(f"{flag} {path}: the file exists (pass --overwrite to replace it)")
    parent = path.parent
    if not parent.is_dir():
        raise SnapsimError(f"{flag} {path}: directory {parent} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=parent, prefix=f".{path.name}.", suffix=".probe"):
            pass
    except OSError as exc:
        raise SnapsimError(f"{flag} {path}: cannot write in {parent}: {exc.strerror or exc}") from None
    return path


def write_atomic(path: str | Path, write) -> None:
    """``write(tmp_path)`` into a temporary file beside ``path``, flushed, then renamed over it: a reader
    sees the old file or the whole new one, never a part. OSError becomes a one-line SnapsimError."""
    path = Path(path)
    if os.path.lexists(path) and (path.is_symlink() or not path.is_file()):  # never rename over /dev/null
        raise SnapsimError(f"{path}: not a regular file (a device, FIFO, socket or symbolic link); give a file name")
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise SnapsimError(f"{path}: cannot write: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise SnapsimError(f"{path}: cannot write: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
def _framing_hint(d: dict) -> str | None:
    """Point at the framing when spike messages mostly fill their flits with padding: each message takes
    whole flits (:mod:`snapsim.d2d.framing`), so the wire hides the encoding's sparsity unless several
    timesteps' frames share a message (``encoding.pack``)."""
    wire, payload = d["d2d_bits_per_inf"], d["d2d_payload_bits_per_inf"]
    if d["mode"] == "ann" or not wire or payload / wire >= 0.5:
        return None
    wl = d.get("config", {}).get("workload", {})
    spec = wl.get("boundary", {})
    T = (wl.get("snn", {}) if d["mode"] == "snn" else spec).get("timesteps", 1)
    if spec.get("encoding", {}).get("pack", 1) >= T:
        return None
    k = max(2, min(T, int(wire / max(payload, 1))))
    try:
        from .encoding import parse_encoding

        enc = {**parse_encoding(spec["encoding"]).to_dict(), "pack": k}
    except Exception:  # noqa: BLE001 - a hint must never break the summary
        return None
    flow = "{" + ", ".join(f"{key}: {value}" for key, value in enc.items()) + "}"
    return (f"  messages fill {100 * payload / wire:.1f}% of their flits (each message takes whole flits): "
            f"--set 'workload.boundary.encoding={flow}' packs {k} timesteps' frames per message "
            f"(fewer flits; the first frame waits {k - 1} steps)")


def write_parquet(results: list["RunResult"], path: str | Path) -> None:
    """One row per result (its flat metrics) plus the resolved configs as JSON, written atomically."""
    import pandas as pd

    df = pd.DataFrame([r.flat() for r in results])
    df["config_json"] = [json.dumps(r.data["config"], sort_keys=True) for r in results]
    write_atomic(path, lambda tmp: df.to_parquet(tmp, index=False))


def _ns(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:,.3f} ms"
    if x >= 1e3:
        return f"{x / 1e3:,.3f} us"
    return f"{x:,.1f} ns"


def _pj(x: float) -> str:
    if x >= 1e6:
        return f"{x / 1e6:,.3f} uJ"
    if x >= 1e3:
        return f"{x / 1e3:,.3f} nJ"
    return f"{x:,.2f} pJ"


def format_comparison(results: list[RunResult]) -> str:
    """Side-by-side table of several modes of one workload, with SNAP's gains over the others."""
    head = f"{'mode':<6} {'latency p50':>14} {'latency p99':>14} {'throughput/s':>14} {'energy/inf':>14} {'D2D bits/inf':>14}"
    lines = [head]
    for r in results:
        d = r.data
        lines.append(
            f"{d['mode']:<6} {_ns(d['latency_ns_p50']):>14} {_ns(d['latency_ns_p99']):>14} "
            f"{d['throughput_inf_per_s']:>14,.0f} {_pj(d['energy_pj_per_inf']):>14} {d['d2d_bits_per_inf']:>14,.0f}"
        )
    by = {r.data["mode"]: r.data for r in results}
    if "snap" in by:
        s = by["snap"]
        for other in ("ann", "snn"):
            if other in by:
                o = by[other]
                lines.append(
                    f"snap vs {other}: energy {o['energy_pj_per_inf'] / s['energy_pj_per_inf']:.2f}x lower, "
                    f"latency {o['latency_ns_p50'] / s['latency_ns_p50']:.2f}x lower, "
                    f"D2D bits {o['d2d_bits_per_inf'] / max(s['d2d_bits_per_inf'], 1):.2f}x fewer"
                )
    return "\n".join(lines)
