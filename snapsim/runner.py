"""Programmatic entry points: run one configuration, or prepare a hardware/workload/trace once and
run many points against it (sweeps).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from .config.hardware import HardwareConfig
from .config.load import (
    apply_overrides,
    expect_kind,
    resolve_hardware_dict,
    resolve_hardware_with_overrides,
    validate_model,
)
from .config.workload import WorkloadConfig
from .config.yamlio import load_yaml
from .engine import Simulation
from .payload import PayloadModel, StatisticalPayload
from .plan import Plan
from .results import RunResult

__all__ = ["Prepared", "simulate", "payload_for"]


def payload_for(plan: Plan, seed: int, trace=None, trace_cache=None) -> PayloadModel:
    """The payload model of a run, chosen before the simulation is built: the statistical model, or a
    replay of ``trace`` (a directory or an opened trace; ``trace_cache(plan, trace)``, if given, returns
    the replay model instead of building it)."""
    if trace is None:
        return StatisticalPayload(plan.boundaries, plan.batch, plan.inferences, seed)
    if callable(trace_cache):
        return trace_cache(plan, trace)
    from .trace.replay import trace_payload_for

    return trace_payload_for(trace, plan)


def simulate(
    hw: HardwareConfig,
    workload: WorkloadConfig,
    mode: str,
    seed: int = 0,
    fidelity: str = "fast",
    trace: str | None = None,
    trace_cache=None,
    probe=None,
) -> RunResult:
    """One run: plan, payload model (statistical, or a replay of ``trace``), simulation."""
    plan = Plan.build(hw, workload, mode)
    payload = payload_for(plan, seed, trace, trace_cache)
    result = Simulation(plan, payload, seed=seed, fidelity=fidelity, probe=probe).run()
    if trace is not None:
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
        expect_kind(hw_data, hw_origins, self.hardware_file, "hardware")
        self._hw_raw = (hw_data, hw_origins)
        self._hw = resolve_hardware_dict(hw_data, hw_origins, self.hardware_file)
        wl_data, wl_origins = load_yaml(workload)
        expect_kind(wl_data, wl_origins, self.workload_file, "workload")
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
            return validate_model(HardwareConfig, data, origins, self.hardware_file)
        data, origins = self._hw
        origins = dict(origins)
        if overrides:
            data = apply_overrides(data, origins, overrides, "override")
        return validate_model(HardwareConfig, data, origins, self.hardware_file)

    def workload(self, overrides: Mapping[str, Any] | None = None) -> WorkloadConfig:
        data, origins = self._wl
        origins = dict(origins)
        if overrides:
            overrides = {k[len("workload."):] if k.startswith("workload.") else k: v for k, v in overrides.items()}
            data = apply_overrides(data, origins, overrides, "override")
        return validate_model(WorkloadConfig, data, origins, self.workload_file)

    def result(
        self,
        *,
        mode: str,
        seed: int = 0,
        fidelity: str = "fast",
        hw_overrides: Mapping[str, Any] | None = None,
        workload_overrides: Mapping[str, Any] | None = None,
        trace: str | None = None,
        probe=None,
    ) -> RunResult:
        trace = trace if trace is not None else self.trace
        return simulate(
            self.hardware(hw_overrides), self.workload(workload_overrides), mode, seed, fidelity, trace,
            trace_cache=self.trace_payload, probe=probe,
        )

    def trace_payload(self, plan: Plan, trace: str):
        """The replay payload model of ``plan`` from ``trace``: each trace is opened once per process, and
        its replay tables are built once per distinct (boundary kinds and sizes, encodings, batch), not
        once per sweep point."""
        from .trace import open_trace
        from .trace.replay import trace_payload_for

        cache = self.__dict__.setdefault("_trace_cache", {})
        if ("open", trace) not in cache:
            cache[("open", trace)] = open_trace(trace)
        key = (trace, tuple((bp.neurons, bp.spiking, bp.timesteps, bp.encoding) for bp in plan.boundaries),
               plan.batch, tuple(plan.workload.partition_names()),
               tuple(plan.workload.boundary_spec(bp.index).ann_encoding for bp in plan.boundaries))
        if key not in cache:
            cache[key] = trace_payload_for(cache[("open", trace)], plan)
        return cache[key]


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
