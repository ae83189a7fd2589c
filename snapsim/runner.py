"""Programmatic entry points: run one configuration, or prepare a hardware/workload/trace once and
run many points against it (sweeps).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from .config.hardware import HardwareConfig
from .config.load import _expect_kind, _validate, apply_overrides, resolve_hardware_dict, resolve_hardware_with_overrides
from .config.workload import WorkloadConfig
from .config.yamlio import load_yaml
from .engine import Simulation
from .results import RunResult

__all__ = ["Prepared", "simulate"]


def _trace_payload(trace, sim: Simulation):
    """Build the replay payload model for ``sim`` from a trace (directory or opened) checked against the workload."""
    from .trace.replay import trace_payload_for

    return trace_payload_for(trace, sim)


def simulate(
    hw: HardwareConfig,
    workload: WorkloadConfig,
    mode: str,
    seed: int = 0,
    fidelity: str = "fast",
    trace: str | None = None,
    trace_cache=None,
) -> RunResult:
    """One run. ``trace_cache(sim)``, if given, returns the replay payload instead of opening ``trace``."""
    sim = Simulation(hw, workload, mode, seed=seed, fidelity=fidelity)
    if trace is None:
        return sim.run()
    payload = trace_cache(sim, trace) if callable(trace_cache) else _trace_payload(trace, sim)
    sim.payload = payload
    result = sim.run()
    # the trace's identity and task metrics (accuracy, loss, sparsity penalty) go with the result
    manifest = payload.trace.manifest
    result.data["trace"] = str(trace)
    result.data["trace_metrics"] = {k: v for k, v in sorted((manifest.get("metrics") or {}).items())
                                    if isinstance(v, (int, float))}
    return result


class Prepared:
    """Hardware and workload files read, presets resolved and the trace opened once; picklable."""

    def __init__(self, hardware: str, workload: str, trace: str | None = None):
        self.hardware_file = str(hardware)
        self.workload_file = str(workload)
        self.trace = None if trace is None else str(trace)
        hw_data, hw_origins = load_yaml(hardware)
        _expect_kind(hw_data, hw_origins, self.hardware_file, "hardware")
        self._hw_raw = (hw_data, hw_origins)
        self._hw = resolve_hardware_dict(hw_data, hw_origins, self.hardware_file)
        wl_data, wl_origins = load_yaml(workload)
        _expect_kind(wl_data, wl_origins, self.workload_file, "workload")
        self._wl = (wl_data, wl_origins)
        # validate the base configs now, so a broken base fails once, not at every point
        self.hardware()
        self.workload()
        if self.trace is not None and not Path(self.trace).exists():
            from .errors import TraceError

            raise TraceError(f"{self.trace}: trace directory not found")

    @classmethod
    def load(cls, hardware: str, workload: str, trace: str | None = None) -> "Prepared":
        return cls(hardware, workload, trace)

    def hardware(self, overrides: Mapping[str, Any] | None = None) -> HardwareConfig:
        if overrides and any(k.endswith(".preset") for k in overrides):  # a preset swap re-resolves
            data, origins = resolve_hardware_with_overrides(*self._hw_raw, self.hardware_file, overrides)
            return _validate(HardwareConfig, data, origins, self.hardware_file)
        data, origins = self._hw
        origins = dict(origins)
        if overrides:
            data = apply_overrides(data, origins, overrides, "override")
        return _validate(HardwareConfig, data, origins, self.hardware_file)

    def workload(self, overrides: Mapping[str, Any] | None = None) -> WorkloadConfig:
        data, origins = self._wl
        origins = dict(origins)
        if overrides:
            overrides = {k[len("workload."):] if k.startswith("workload.") else k: v for k, v in overrides.items()}
            data = apply_overrides(data, origins, overrides, "override")
        return _validate(WorkloadConfig, data, origins, self.workload_file)

    def result(
        self,
        *,
        mode: str,
        seed: int = 0,
        fidelity: str = "fast",
        hw_overrides: Mapping[str, Any] | None = None,
        workload_overrides: Mapping[str, Any] | None = None,
        trace: str | None = None,
    ) -> RunResult:
        trace = trace if trace is not None else self.trace
        return simulate(
            self.hardware(hw_overrides), self.workload(workload_overrides), mode, seed, fidelity, trace,
            trace_cache=self._cached_trace_payload,
        )

    def _cached_trace_payload(self, sim: Simulation, trace: str):
        """Each trace is opened once per process, and its replay tables are built once per distinct
        (boundary kinds and sizes, encodings, batch), not once per sweep point."""
        from .trace import open_trace

        cache = self.__dict__.setdefault("_trace_cache", {})
        if ("open", trace) not in cache:
            cache[("open", trace)] = open_trace(trace)
        key = (trace, tuple((bp.neurons, bp.spiking, bp.timesteps, bp.encoding) for bp in sim.boundaries), sim.batch)
        if key not in cache:
            cache[key] = _trace_payload(cache[("open", trace)], sim)
        return cache[key]

    trace_payload = _cached_trace_payload  # public: ``simulate(..., trace_cache=prepared.trace_payload)``

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_trace_cache", None)  # open file handles and tables stay in their process
        return state

    def run(self, *, mode: str, seed: int = 0, fidelity: str = "fast", hw_overrides=None, workload_overrides=None,
            trace: str | None = None) -> dict:
        """One point as a flat row of scalar metrics (see :meth:`RunResult.flat`); ``trace`` replaces the
        prepared trace for this point."""
        return self.result(
            mode=mode, seed=seed, fidelity=fidelity, hw_overrides=hw_overrides, workload_overrides=workload_overrides,
            trace=trace,
        ).flat()
