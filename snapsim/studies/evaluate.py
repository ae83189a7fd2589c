"""Evaluating one study run: the run's configs resolved, simulated, and described in one flat row.

:class:`RunEvaluator` is the evaluation the sweep runner ships to its workers (it is picklable; its caches
stay in the process that fills them). Beside ``RunResult.flat()`` a row records what the analysis and the
report read about the run's resolved configs: the workload's ``domain``, the link's lanes, bandwidth,
energy per bit and idle power, the chiplet preset and its SRAM, the model's parameters, MACs and
precision, and the boundary firing rate, timesteps and encoding of the mode (for a replayed trace the
measured firing rate of its spike boundaries).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..partition import needed

__all__ = ["RunEvaluator"]


class RunEvaluator:
    """``evaluate(point) -> row`` for a study run point (:data:`snapsim.studies.plan.POINT_KEYS`).

    Each (hardware file, workload file) pair is prepared once per process (``Prepared.load``), and each
    resolved hardware (file, overrides) is built once: a ``link.preset`` override re-reads the preset
    files on every resolution, which costs more than a run.
    """

    def __init__(self) -> None:
        self._prepared: dict[tuple[str, str], Any] = {}
        self._hardware: dict[tuple[str, str], Any] = {}

    def __getstate__(self) -> dict:
        return {}  # caches (open traces, resolved configs) stay in the process that built them

    def __setstate__(self, state: dict) -> None:
        self.__init__()

    def _prepare(self, hw_file: str, wl_file: str):
        from ..runner import Prepared

        key = (hw_file, wl_file)
        if key not in self._prepared:
            self._prepared[key] = Prepared.load(hw_file, wl_file)
        return self._prepared[key]

    def _resolved_hardware(self, prepared, hw_file: str, hw_overrides: str):
        key = (hw_file, hw_overrides)
        if key not in self._hardware:
            self._hardware[key] = prepared.hardware(json.loads(hw_overrides))
        return self._hardware[key]

    def __call__(self, point: dict[str, Any]) -> dict[str, Any]:
        from ..runner import simulate

        p = self._prepare(point["hw_file"], point["wl_file"])
        hw = self._resolved_hardware(p, point["hw_file"], point["hw_overrides"])
        wl = p.workload(json.loads(point["wl_overrides"]))
        mode, trace = point["mode"], point["trace"]
        row: dict[str, Any] = {"domain": wl.domain}
        row["link_lanes"] = hw.link.lanes
        row["link_rate_gtps"] = hw.link.rate_gtps
        row["link_bits_per_transfer"] = hw.link.bits_per_transfer
        row["link_gbps"] = hw.link.raw_gbps
        row["link_energy_pj_per_bit"] = hw.link.energy_pj_per_bit
        row["link_idle_power_mw"] = hw.link.idle_power_mw
        row["chiplet_preset"] = hw.chiplet.name
        row["sram_capacity_mib"] = hw.chiplet.sram.capacity_mib
        row["params"] = float(sum(s.weight_params * s.repeat for s in wl.stages))
        row["macs_per_sample"] = float(sum(s.macs * s.repeat for s in wl.stages))
        row["precision"] = wl.precision
        row["load"] = wl.stream.max_in_flight
        row["tensor_parallel"] = wl.partition.tensor_parallel
        row["sparse_efficiency"] = hw.chiplet.spiking.sparse_efficiency
        row["weight_fetch"], row["weight_reuse_steps"] = wl.snn.weight_fetch, wl.snn.weight_reuse_steps
        row["partitions_needed"] = needed(wl, hw) if wl.partition.capacity is not None else np.nan
        if mode == "snap":
            row["firing_rate"], row["timesteps"] = wl.boundary.firing_rate, wl.boundary.timesteps
            row["encoding"] = str(wl.boundary.encoding)
        elif mode == "snn":
            row["firing_rate"], row["timesteps"] = wl.snn.firing_rate, wl.snn.timesteps
            row["encoding"] = str(wl.boundary.encoding)
        else:
            row["firing_rate"], row["timesteps"], row["encoding"] = np.nan, np.nan, "dense"
        if trace:  # the measured rate of the replayed trace, not the workload's nominal one
            manifest = json.loads((Path(trace) / "manifest.json").read_text())
            spikes = [b["stats"] for b in manifest["boundaries"] if b["kind"] == "spike"]
            row["firing_rate"] = sum(b["nnz"] for b in spikes) / sum(b["slots"] for b in spikes)
        res = simulate(hw, wl, mode, point["seed"], point["fidelity"], trace, trace_cache=p.trace_payload)
        flat = res.flat()
        flat.pop("mode", None)
        row.update(flat)
        row["dies_used"] = len(res.data["chiplets_used"])
        if mode == "ann":
            row["latency_floor_ns"] = latency_floor_ns(hw, wl)
        return row


class _OneFlit:
    """A payload whose every message is one bit (one flit): the least any design can send per message."""

    def message_bits(self, boundary: int, inference: int, message: int) -> int:
        return 1


def latency_floor_ns(hw, wl) -> float:
    """The ANN design's zero-load latency with every boundary message shrunk to one flit: compute plus one
    flit's route latency per boundary, the least latency any design that sends at least one message per
    boundary can have on this hardware (SNAP's latency gain over ANN-only is at most zero-load / this)."""
    from ..modes import ann
    from ..plan import Plan
    from ..units import ticks_to_ns

    return ticks_to_ns(ann.zero_load_ticks(Plan.build(hw, wl, "ann"), _OneFlit()))
