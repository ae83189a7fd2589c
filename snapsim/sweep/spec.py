"""What a sweep run needs beyond its validated file: a run point split into overrides, and the hashes that
identify points across runs (resume).

The sweep file itself (model, validation, expansion into points) is configuration and lives in
:mod:`snapsim.config.sweep`; its deep check against the hardware and workload models is
:func:`snapsim.config.load.validate_sweep_file`. Both are re-exported here for the sweep machinery.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..config.load import check_axes, resolve_hardware_dict, validate_sweep_file
from ..config.sweep import MAX_POINTS, MODES, SPECIAL_AXES, Axis, SweepSpec, load_sweep
from ..config.yamlio import load_yaml

__all__ = [
    "MODES",
    "SPECIAL_AXES",
    "MAX_POINTS",
    "Axis",
    "SweepSpec",
    "load_sweep",
    "validate_sweep_file",
    "check_axes",
    "split_point",
    "base_digest",
    "point_hash",
]


def split_point(point: dict[str, Any]) -> tuple[str, int, str, dict[str, Any], dict[str, Any]]:
    """``(mode, seed, fidelity, hw_overrides, workload_overrides)`` of a run point.

    Workload override keys lose their ``workload.`` prefix; everything else is a hardware override.
    """
    hw: dict[str, Any] = {}
    wl: dict[str, Any] = {}
    for k, v in point.items():
        if k in SPECIAL_AXES:
            continue
        if k.startswith("workload."):
            wl[k[len("workload.") :]] = v
        else:
            hw[k] = v
    return str(point["mode"]), int(point["seed"]), str(point["fidelity"]), hw, wl


# ---------------------------------------------------------------------------------------------- hashing


def _file_digest(h: "hashlib._Hash", path: Path) -> None:
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)


def base_digest(spec: SweepSpec) -> str:
    """Hash of what every point shares: the resolved hardware (presets inlined), the workload and the trace.

    Computed from file contents, so editing a base file, a preset it uses or the trace invalidates earlier
    results of the sweep, while moving or renaming files does not.
    """
    hw_data, hw_origins = load_yaml(spec.hardware)
    hw_data, _ = resolve_hardware_dict(hw_data, hw_origins, str(spec.hardware))
    wl_data, _ = load_yaml(spec.workload)
    h = hashlib.sha256()
    h.update(json.dumps({"hardware": hw_data, "workload": wl_data}, sort_keys=True, default=str).encode())
    traces = [spec.trace] if spec.trace is not None else []
    for axis in spec.axes:  # a trace axis: every listed trace's content counts too
        if axis.name == "trace":
            traces += [Path(spec.file).parent / v for v in axis.values or () if isinstance(v, str)]
    for trace in traces:
        if not trace.exists():
            continue
        files = sorted(p for p in trace.rglob("*") if p.is_file()) if trace.is_dir() else [trace]
        for p in files:
            h.update(str(p.relative_to(trace) if trace.is_dir() else p.name).encode())
            _file_digest(h, p)
    return h.hexdigest()


def point_hash(digest: str, run_point: dict[str, Any]) -> str:
    """Identity of one point of a sweep: base files' digest plus the point's values (mode, seed, fidelity included)."""
    blob = json.dumps({"base": digest, "point": run_point}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:20]
