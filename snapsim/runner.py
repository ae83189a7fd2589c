"""Programmatic entry points: run one configuration, or prepare a hardware/workload/trace once and
run many points against it (sweeps).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any, Mapping

from .config.hardware import HardwareConfig
from .config.load import (
    apply_overrides,
    expect_kind,
    resolve_hardware_dict,
    resolve_hardware_with_overrides,
    validate_hardware,
    validate_model,
)
from .config.workload import WorkloadConfig
from .config.yamlio import load_yaml
from . import stream
from .engine import Simulation
from .errors import ConfigError, EstimateError, SnapsimError, TraceError
from .estimate import DEFAULT_LIMITS, Estimate, Limits, check_structure, estimate
from .payload import PayloadModel, StatisticalPayload
from .plan import Plan
from .results import RunResult

__all__ = ["Prepared", "RunCache", "simulate", "payload_for", "plan_and_estimate", "ENGINES"]


class _Lru(OrderedDict):
    """A mapping that keeps its ``size`` most recently used entries."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def get(self, key, default=None):
        if key in self:
            self.move_to_end(key)
            return self[key]
        return default

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


class RunCache:
    """What many runs in one process share (a sweep's points, a study): statistical payload models by
    what they are drawn from (points that differ only in the hardware share one model and its tables),
    and stream solutions by :func:`snapsim.stream.solve_key` (points that differ only in what the
    solution does not read, such as energy costs, share it; only the accounting is redone). Least
    recently used entries are dropped first."""

    def __init__(self, payloads: int = 16, solutions: int = 32):
        self.payloads = _Lru(payloads)
        self.solutions = _Lru(solutions)

    def statistical_payload(self, plan: Plan, seed: int) -> StatisticalPayload:
        key = (seed, plan.batch, plan.inferences,
               tuple((bp.neurons, bp.spiking, bp.timesteps, bp.firing_rate, bp.encoding, bp.windows)
                     for bp in plan.boundaries))
        model = self.payloads.get(key)
        if model is None:
            model = self.payloads[key] = StatisticalPayload(plan.boundaries, plan.batch, plan.inferences, seed)
        return model


def payload_for(plan: Plan, seed: int, trace=None, trace_cache=None, cache: RunCache | None = None) -> PayloadModel:
    """The payload model of a run, chosen before the simulation is built: the statistical model (shared
    through ``cache`` if given), or a replay of ``trace`` (a directory or an opened trace;
    ``trace_cache(plan, trace)``, if given, returns the replay model instead of building it)."""
    if trace is None:
        if cache is not None:
            return cache.statistical_payload(plan, seed)
        return StatisticalPayload(plan.boundaries, plan.batch, plan.inferences, seed)
    if callable(trace_cache):
        return trace_cache(plan, trace)
    from .trace.replay import trace_payload_for

    return trace_payload_for(trace, plan)


def plan_and_estimate(hw: HardwareConfig, workload: WorkloadConfig, mode: str, fidelity: str = "fast",
                      trace=None, limits: Limits | None = None, files: tuple[str, str] = ("", ""),
                      engine: str = "auto", probe=None) -> tuple[Plan, Estimate]:
    """The plan of a run and its cost estimate (:mod:`snapsim.estimate`) on the engine the run will use
    (``engine`` and ``probe`` as for :func:`simulate`), checked against ``limits`` before anything large is
    built; raises :class:`~snapsim.errors.EstimateError` naming ``files`` (hardware, workload) when the run
    is refused."""
    structure = check_structure(hw, workload, fidelity, limits, *files)
    try:
        plan = Plan.build(hw, workload, mode)
    except (ConfigError, TraceError):
        raise
    except SnapsimError as exc:  # a derived time beyond the clock, a mapping or precision mismatch: say which run
        structure.mode = mode
        where = structure.where("hardware")  # clocks, rates and the mapping are the package's
        raise (EstimateError if isinstance(exc, EstimateError) else SnapsimError)(f"{where}{exc}") from None
    streams = engine != "event" and stream.unsupported(plan, fidelity, probe) is None
    est = estimate(plan, fidelity, trace=trace, structure=structure, engine="stream" if streams else "event")
    worst = max((t.flit_error_rate for t in plan.package.timing.values()), default=0.0)  # no links: one die
    if streams and est.flit_hops * worst >= FAILURES_EXPECTED:
        # a flit that fails its CRC hands the run to the event engine (snapsim.stream.FlitFailure): count it so
        est = estimate(plan, fidelity, trace=trace, structure=structure, engine="event")
    est.check(limits)
    return plan, est


FAILURES_EXPECTED = 0.01
"""Expected flit failures in a run (flit hops x the worst link's flit error rate) from which its estimate
assumes the event engine: the stream engine gives a run with a failing flit to it. Below, a run has a ~1%
chance of taking the slower engine than estimated (UCIe's BER 1e-15 makes 1e6 LM inferences expect 5e-5)."""


ENGINES = ("auto", "stream", "event")


def simulate(
    hw: HardwareConfig,
    workload: WorkloadConfig,
    mode: str,
    seed: int = 0,
    fidelity: str = "fast",
    trace: str | None = None,
    trace_cache=None,
    probe=None,
    engine: str = "auto",
    cache: RunCache | None = None,
    limits: Limits | None = None,
    files: tuple[str, str] = ("", ""),
) -> RunResult:
    """One run: plan, cost estimate (refused when it passes ``limits``; never when the run needs more than
    snapsim can represent), payload model (statistical, or a replay of ``trace``), simulation.

    ``engine``: ``auto`` (default) runs the stream engine (:mod:`snapsim.stream`, vectorised over the
    whole stream) when it applies and the event engine (:class:`snapsim.engine.Simulation`) otherwise;
    ``stream`` insists on the stream engine (an error says why it does not apply); ``event`` runs the
    event engine. Both give identical results; the result records which ran and why (``engine``,
    ``engine_reason``). ``cache``: a :class:`RunCache` shared with other runs in this process.
    """
    if engine not in ENGINES:
        raise SnapsimError(f"engine must be one of {', '.join(ENGINES)}; got {engine!r}")
    plan, _est = plan_and_estimate(hw, workload, mode, fidelity, trace, limits, files, engine, probe)
    payload = payload_for(plan, seed, trace, trace_cache, cache)
    why = stream.unsupported(plan, fidelity, probe) if engine != "event" else "requested (engine=event)"
    result = None
    if why is None:
        try:
            result = stream.run(plan, payload, seed=seed, fidelity=fidelity,
                                reason="requested (engine=stream)" if engine == "stream" else
                                "no link is shared by two flows: the stream is a feed-forward network of FIFO servers",
                                cache=None if cache is None else cache.solutions)
        except stream.FlitFailure as exc:
            why = str(exc)
    if result is None:
        if engine == "stream":
            raise SnapsimError(f"the stream engine does not apply to this run: {why}")
        sim = Simulation(plan, payload, seed=seed, fidelity=fidelity, probe=probe)
        sim.engine_reason = why
        result = sim.run()
    if trace is not None:
        # the trace's identity and task metrics (accuracy, loss, sparsity penalty) go with the result
        manifest = payload.trace.manifest
        result.data["trace"] = str(trace)
        result.data["trace_metrics"] = {k: v for k, v in sorted((manifest.get("metrics") or {}).items())
                                        if isinstance(v, (int, float))}
    return result


class Prepared:
    """Hardware and workload files read, presets resolved and the trace opened once; picklable."""

    def __init__(self, hardware: str, workload: str, trace: str | None = None, limits: Limits | None = DEFAULT_LIMITS):
        self.hardware_file = str(hardware)
        self.workload_file = str(workload)
        self.trace = None if trace is None else str(trace)
        self.limits = limits  # every run is refused when its estimate passes these (None: no limit)
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
    def load(cls, hardware: str, workload: str, trace: str | None = None,
             limits: Limits | None = DEFAULT_LIMITS) -> "Prepared":
        return cls(hardware, workload, trace, limits)

    def hardware(self, overrides: Mapping[str, Any] | None = None) -> HardwareConfig:
        if overrides and any(k.endswith(".preset") for k in overrides):  # a preset swap re-resolves
            data, origins = resolve_hardware_with_overrides(*self._hw_raw, self.hardware_file, overrides)
            return validate_hardware(data, origins, self.hardware_file)
        data, origins = self._hw
        origins = dict(origins)
        if overrides:
            data = apply_overrides(data, origins, overrides, "override")
        return validate_hardware(data, origins, self.hardware_file)

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
        engine: str = "auto",
    ) -> RunResult:
        trace = trace if trace is not None else self.trace
        return simulate(
            self.hardware(hw_overrides), self.workload(workload_overrides), mode, seed, fidelity, trace,
            trace_cache=self.trace_payload, probe=probe, engine=engine, cache=self.run_cache,
            limits=getattr(self, "limits", DEFAULT_LIMITS), files=(self.hardware_file, self.workload_file),
        )

    def estimate(self, *, mode: str, fidelity: str = "fast", hw_overrides: Mapping[str, Any] | None = None,
                 workload_overrides: Mapping[str, Any] | None = None, trace: str | None = None,
                 engine: str = "auto", probe=None) -> Estimate:
        """The cost estimate of one run (:mod:`snapsim.estimate`) without running it; raises
        :class:`~snapsim.errors.EstimateError` only for what snapsim cannot represent at all."""
        trace = trace if trace is not None else self.trace
        _plan, est = plan_and_estimate(self.hardware(hw_overrides), self.workload(workload_overrides), mode,
                                       fidelity, trace, None, (self.hardware_file, self.workload_file), engine, probe)
        return est

    @property
    def run_cache(self) -> RunCache:
        """Payload models and stream solutions shared by this object's runs in this process."""
        cache = self.__dict__.get("_run_cache")
        if cache is None:
            cache = self.__dict__["_run_cache"] = RunCache()
        return cache

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
        state.pop("_run_cache", None)
        return state

    def run(self, *, mode: str, seed: int = 0, fidelity: str = "fast", hw_overrides=None, workload_overrides=None,
            trace: str | None = None, engine: str = "auto") -> dict:
        """One point as a flat row of scalar metrics (see :meth:`RunResult.flat`); ``trace`` replaces the
        prepared trace for this point."""
        return self.result(
            mode=mode, seed=seed, fidelity=fidelity, hw_overrides=hw_overrides, workload_overrides=workload_overrides,
            trace=trace, engine=engine,
        ).flat()
