"""What a run will cost, predicted before it starts: events, memory and wall time, from the configs and the plan.

A run is refused before it starts when its estimate passes a limit (:class:`Limits`: wall time and memory,
each lifted by a command-line option the message names) or when it needs more than snapsim can represent
at all (simulated time beyond the 2^62 ps clock, a message beyond 2^62 bits). ``snapsim run --dry-run``
prints the estimate without running.

Two steps, because the package itself can be the problem (a 1000 x 1000 mesh has 4 million link
directions, each a link model in memory):

* :func:`check_structure` (configs only, before :meth:`snapsim.plan.Plan.build`): chiplets, link
  directions and stages;
* :func:`estimate` (from the plan): server jobs, messages and flits per link hop, the payload model's
  draws, the analytical bounds' flit-by-flit recurrence of the first inference, and from these the
  simulation events, the memory and the wall time.

The costs per item (:data:`COSTS`) were measured on a 2-core machine running the shipped configs; the
counts they multiply (jobs, message and flit hops) are checked against the engine's by
``tests/test_estimate.py``, and ``snapsim bench --suite estimate`` prints the estimated against the measured
wall time of shipped runs. The estimate errs on the high side; a much slower machine may take longer than
it says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import EstimateError
from .units import MAX_TICKS, TICKS_PER_S

if TYPE_CHECKING:  # pragma: no cover
    from .config.hardware import HardwareConfig
    from .config.workload import WorkloadConfig
    from .plan import Plan

__all__ = ["Limits", "DEFAULT_LIMITS", "NO_LIMITS", "Estimate", "COSTS", "check_structure", "estimate",
           "format_bytes", "format_seconds"]

GIB = 1 << 30


@dataclass(frozen=True)
class Limits:
    """The most a run may cost by its estimate: ``wall_s`` seconds of wall time (``--max-wall-s``) and
    ``memory_gib`` GiB of memory (``--max-memory-gib``). ``inf`` lifts a limit."""

    wall_s: float = 600.0
    memory_gib: float = 4.0

    @property
    def memory_bytes(self) -> float:
        return self.memory_gib * GIB


DEFAULT_LIMITS = Limits()
NO_LIMITS = Limits(math.inf, math.inf)

#: Measured costs (seconds, bytes) of the items the estimate counts.
COSTS: dict[str, float] = {
    "start_s": 0.02,
    "link_s": 8e-6,  # building one link direction (package timing + network link model)
    "link_reference_s": 25e-6,  # ... a reference link (a SimPy process and a credit container)
    "link_bytes": 2_500,
    "link_reference_bytes": 6_000,
    "chiplet_bytes": 600,
    "stage_bytes": 400,
    "stage_s": 60e-6,  # one expanded stage: validating the workload, splitting and costing it (per run)
    "window_s": 1e-6,  # one timestep (send window) of one boundary in the plan
    "window_bytes": 160,
    "job_s": 2.5e-6,  # one FIFO server job (compute, encoder, decoder)
    "inference_s": 12e-6,  # injection, completion, its event
    "inference_bytes": 96,  # tick arrays, latencies, injection gaps
    "message_hop_s": 14e-6,  # fast link: one message over one hop (events, bucket, closed form)
    "flit_fast_s": 12e-9,  # fast link: per flit when the flit times are an array
    "credit_block_s": 9e-6,  # fast link: one block of C flits of the credit recurrence
    "flit_reference_s": 14e-6,  # reference link: one flit over one hop (its SimPy events)
    "flit_bytes": 40,  # flit times of a message in flight (fast)
    "flit_reference_bytes": 450,  # per-flit events of a message in flight (reference)
    "message_bytes": 600,
    "draw_s": 180e-9,  # one binomial draw of the statistical payload (numpy: 80-180 ns by n and p)
    "draw_bytes": 24,
    "bernoulli_s": 30e-9,  # one Bernoulli spike of a position-dependent encoding (rle), with its sizing
    "recurrence_flit_s": 1.5e-6,  # analytical bounds: the flit-by-flit recurrence of inference 0
    "recurrence_flit_bytes": 180,
    "table_entry_s": 60e-9,  # analytical bounds and payload: per message of the whole stream
    "table_entry_bytes": 48,
    "events_per_message_hop": 2.0,
    "events_per_flit_reference": 4.0,
    "events_per_inference": 2.0,
    # the stream engine (snapsim/stream.py): numpy recurrences over the whole stream, no events. Measured on the
    # LM packages (2x2, 4x4; ann, snn, snap; 2e4-2e5 inferences): 0.02-0.10 us per server job or message hop
    # and ~1.5 ns per flit hop, set here at about twice that
    "stream_item_s": 0.2e-6,
    "stream_flit_s": 3e-9,
}


def format_bytes(n: float) -> str:
    if not math.isfinite(n):
        return "unbounded"
    for unit, size in (("TiB", 1 << 40), ("GiB", GIB), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,.0f} B"


def format_seconds(s: float) -> str:
    if not math.isfinite(s):
        return "unbounded"
    if s >= 86400 * 365:
        return f"{s / (86400 * 365):,.3g} years"
    if s >= 86400:
        return f"{s / 86400:,.3g} days"
    if s >= 3600:
        return f"{s / 3600:,.3g} h"
    if s >= 60:
        return f"{s / 60:,.3g} min"
    return f"{s:,.3g} s"


def _n(x: float) -> str:
    """A count for a message: exact below a billion, else 3 digits."""
    return f"{int(x):,}" if x < 1e9 else f"{x:.3g}"


@dataclass
class Estimate:
    """The predicted cost of one run (one mode), and what it was computed from."""

    hardware_file: str = ""
    workload_file: str = ""
    mode: str = ""
    fidelity: str = "fast"
    engine: str = "event"  # the engine the run will use (stream: no events; see snapsim.runner.simulate)
    chiplets: int = 0
    links: int = 0  # directed link models built
    stages: int = 0
    partitions: int = 0
    boundaries: int = 0
    inferences: int = 0
    batch: int = 0
    timesteps: int = 1  # most timesteps of any boundary (SNN-only: of every stage)
    jobs: float = 0.0  # FIFO server jobs
    message_hops: float = 0.0  # messages x hops of their routes
    flit_hops: float = 0.0
    events: float = 0.0
    memory_bytes: float = 0.0
    wall_s: float = 0.0
    simulated_s: float = 0.0  # upper bound of the package time simulated
    parts: dict[str, float] = field(default_factory=dict)  # wall seconds by item

    def summary(self) -> str:
        """One line: ``~1.2e+06 events, ~35.0 MiB, ~2.1 s``."""
        return (f"~{_n(self.events)} events, ~{format_bytes(self.memory_bytes)} of memory, "
                f"~{format_seconds(self.wall_s)} of wall time")

    def lines(self, limits: Limits | None = None) -> list[str]:
        """The estimate as printed by ``snapsim run --dry-run``."""
        files = " on ".join(f for f in (self.workload_file, self.hardware_file) if f)
        head = (f"estimate{f' for {files}' if files else ''}: mode {self.mode}, fidelity {self.fidelity}, "
                f"{self.engine} engine")
        out = [head,
               f"  package    {_n(self.chiplets)} chiplets, {_n(self.links)} link directions",
               f"  plan       {self.partitions} partitions, {self.boundaries} boundaries, {_n(self.stages)} stages; "
               f"{_n(self.inferences)} inferences x batch {_n(self.batch)}, up to {_n(self.timesteps)} timesteps",
               f"  work       {_n(self.jobs)} server jobs, {_n(self.message_hops)} message hops, "
               f"{_n(self.flit_hops)} flit hops",
               f"  events     ~{_n(self.events)}",
               f"  memory     ~{format_bytes(self.memory_bytes)}"
               + (f" (limit {limits.memory_gib:g} GiB, --max-memory-gib)" if limits and math.isfinite(limits.memory_gib) else ""),
               f"  wall time  ~{format_seconds(self.wall_s)}"
               + (f" (limit {format_seconds(limits.wall_s)}, --max-wall-s)" if limits and math.isfinite(limits.wall_s) else ""),
               f"  simulated  up to {format_seconds(self.simulated_s)} of package time"]
        return out

    def check(self, limits: Limits | None) -> None:
        """Raise :class:`EstimateError` if the estimate passes ``limits``: one line with the estimate and the
        option that lifts the limit."""
        if limits is None:
            return
        where = self.where()
        if self.memory_bytes > limits.memory_bytes:
            need = max(1, math.ceil(self.memory_bytes / GIB)) if math.isfinite(self.memory_bytes) else None
            lift = f"--max-memory-gib {need}" if need else "a smaller run"
            raise EstimateError(f"{where}refused by its estimate: {self.summary()} ({self._biggest()}); "
                                f"over the memory limit of {limits.memory_gib:g} GiB (raise it with {lift})")
        if self.wall_s > limits.wall_s:
            need = math.ceil(self.wall_s) if math.isfinite(self.wall_s) else None
            lift = f"--max-wall-s {need}" if need else "a smaller run"
            raise EstimateError(f"{where}refused by its estimate: {self.summary()} ({self._biggest()}); "
                                f"over the wall-time limit of {format_seconds(limits.wall_s)} (raise it with {lift})")

    def _biggest(self) -> str:
        if not self.parts:
            return "mostly building the package"
        k = max(self.parts, key=lambda key: self.parts[key])
        return f"mostly {k}"

    def where(self, first: str | None = None) -> str:
        """``FILE: `` naming the input most responsible (``first``: ``hardware`` or ``workload``; by default
        the hardware file when the package itself is the cost, else the workload file), then the mode and the
        other file."""
        package = bool(self.parts) and max(self.parts, key=lambda key: self.parts[key]) == _PACKAGE
        if first is not None:
            package = first == "hardware"
        first, other = (self.hardware_file, self.workload_file) if package else (self.workload_file, self.hardware_file)
        if not first:
            return ""
        context = ", ".join(x for x in (f"mode {self.mode}" if self.mode else "",
                                        f"with {other}" if other else "") if x)
        return f"{first}: {context + ': ' if context else ''}"


# ---------------------------------------------------------------------------------------- structure

_PACKAGE = "building the package"


def _link_directions(topology) -> int:
    """Upper bound of the link directions a topology builds (from the chiplet count and the kind's degree)."""
    n = topology.n_chiplets
    if topology.kind in ("mesh2d", "torus2d"):
        return 4 * n
    if topology.kind == "ring":
        return 2 * n
    if topology.kind == "fully_connected":
        return n * (n - 1)
    return 2 * len(topology.edges or ())


def check_structure(hw: "HardwareConfig", workload: "WorkloadConfig", fidelity: str = "fast",
                    limits: Limits | None = None, hardware_file: str = "", workload_file: str = "") -> Estimate:
    """The cost of building the package and the plan, from the configs alone (before anything is built);
    raises :class:`EstimateError` when it passes ``limits``."""
    c = COSTS
    ref = fidelity == "reference"
    n = hw.topology.n_chiplets
    links = _link_directions(hw.topology)
    stages = sum(s.repeat for s in workload.stages)
    steps = [workload.snn.timesteps, workload.boundary.timesteps, *(b.timesteps for b in workload.boundaries.values())]
    T = max(steps)
    est = Estimate(hardware_file=hardware_file, workload_file=workload_file, fidelity=fidelity, chiplets=n,
                   links=links, stages=stages, timesteps=T)
    cap = workload.partition.capacity  # a capacity split picks its count on the hardware: bound it from above
    parts = min(cap.max_count, stages, n) if cap is not None else workload.n_partitions
    boundaries = max(1, parts - 1)
    est.memory_bytes = (links * c["link_reference_bytes" if ref else "link_bytes"] + n * c["chiplet_bytes"]
                        + stages * c["stage_bytes"] + T * c["window_bytes"] * boundaries)
    est.parts = {_PACKAGE: links * c["link_reference_s" if ref else "link_s"],
                 "the timesteps of each boundary": T * c["window_s"] * boundaries,
                 "the stages": stages * c["stage_s"]}
    est.wall_s = c["start_s"] + sum(est.parts.values())
    est.check(limits)
    return est


# ------------------------------------------------------------------------------------------------- plan


def _mean_message_bits(bp, batch: int) -> dict[float, int]:
    """Mean payload bits of the messages of one inference across boundary ``bp`` (the encoding's own rule;
    a position-dependent encoding is sized from a drawn frame), as ``{bits: how many messages}``."""
    import numpy as np

    enc, n = bp.encoding, bp.neurons
    rate = bp.firing_rate if bp.spiking else 1.0
    lengths: dict[int, int] = {}
    for a, b in bp.windows:
        lengths[b - a] = lengths.get(b - a, 0) + 1
    per_frame = None
    out: dict[float, int] = {}
    for length, count in lengths.items():
        if enc.data_dependent:
            if per_frame is None:
                if n <= 1 << 16:
                    frame = np.random.default_rng(0).random((1, n)) < rate
                    per_frame = float(enc.frame_bits(frame).sum())
                else:  # about one bit per neuron (a run-length code of a sparse frame is less)
                    per_frame = float(n)
            bits = per_frame * length * batch
        else:
            fixed, per = enc.count_terms(n, length)
            bits = float(fixed) * batch + float(per) * n * length * batch * rate
        out[bits] = out.get(bits, 0) + count
    return out


def estimate(plan: "Plan", fidelity: str = "fast", *, trace: Any = None, structure: Estimate | None = None,
             hardware_file: str = "", workload_file: str = "", engine: str = "event") -> Estimate:
    """The predicted cost of simulating ``plan`` (statistical payload, or a replay of ``trace``) on ``engine``
    (``event`` or ``stream``, the one the run will use); raises :class:`EstimateError` only for what snapsim
    cannot represent (simulated time beyond the clock, messages beyond 2^62 bits). Limits are checked by
    :meth:`Estimate.check`."""
    from .d2d.framing import flits_for_bits

    c = COSTS
    ref = fidelity == "reference"
    wl = plan.workload
    s = wl.stream
    N, B, P = plan.inferences, plan.batch, len(plan.partitions)
    base = structure or Estimate()
    est = Estimate(hardware_file=hardware_file or base.hardware_file, workload_file=workload_file or base.workload_file,
                   mode=plan.mode, fidelity=fidelity, engine=engine, chiplets=base.chiplets, links=base.links,
                   stages=base.stages, partitions=P, boundaries=len(plan.boundaries), inferences=N, batch=B)
    parts: dict[str, float] = dict(base.parts)
    memory = base.memory_bytes
    where = est.where()

    # servers: compute per partition (per timestep in snn), encoder and decoder per boundary (snap)
    jobs = N * P * plan.steps + (2 * N * len(plan.boundaries) if plan.mode == "snap" else 0)
    per_inference_ticks = sum(p.cost.ticks for p in plan.partitions) * plan.steps
    timesteps = plan.steps
    message_hops = flit_hops = credit_blocks = array_flits = 0.0
    recurrence_flits = 0.0
    table_entries = 0.0
    draws = bernoulli = 0.0
    in_flight_flits = 0.0
    in_flight = s.max_in_flight if s.injection == "closed" else N
    messages_per_inference = 0
    for bp in plan.boundaries:
        timesteps = max(timesteps, bp.timesteps)
        bits = _mean_message_bits(bp, B)  # {bits: messages per inference}
        biggest = max(bits, default=0.0)
        if biggest > MAX_TICKS:
            raise EstimateError(f"{where}boundary {bp.index} carries messages of ~{biggest:.3g} bits (neurons "
                                f"{_n(bp.neurons)} x batch {_n(B)} x {bp.timesteps} timesteps): more than the 2^62 "
                                f"bits snapsim counts; check the stage output_shape, stream.batch and timesteps")
        m = sum(bits.values())
        messages_per_inference += m
        table_entries += N * m
        if bp.spiking:
            draws += N * bp.timesteps * B
            if bp.encoding.data_dependent:
                bernoulli += N * bp.timesteps * B * bp.neurons
                memory += max(1 << 22, bp.timesteps * B * bp.neurons) * 9
            else:
                memory += N * bp.timesteps * B * c["draw_bytes"]
        if plan.mode == "snap":
            per_inference_ticks += bp.encoder_pipeline_ticks + bp.timesteps * bp.encoder_step_ticks + bp.decoder_ticks
        for hop in bp.hops:
            tm = hop.timing
            flits = {flits_for_bits(math.ceil(x), tm.payload_bits_per_flit): k for x, k in bits.items()}
            f_sum = float(sum(f * k for f, k in flits.items()))
            message_hops += N * m
            flit_hops += N * f_sum
            recurrence_flits += f_sum
            if tm.credits_bind:
                credit_blocks += N * sum(math.ceil(f / tm.credits) * k for f, k in flits.items())
                array_flits += N * f_sum
            in_flight_flits = max(in_flight_flits, max(flits, default=0))
            per_flit = max(tm.t_flit, tm.credit_rtt / tm.credits)
            per_inference_ticks += f_sum * per_flit + m * (tm.latency + hop.transit_after + tm.wake)
    est.jobs, est.message_hops, est.flit_hops, est.timesteps = jobs, message_hops, flit_hops, timesteps

    if engine == "stream":  # numpy recurrences over the whole stream: no events
        parts["the stream recurrences"] = (jobs + message_hops + N) * c["stream_item_s"] + flit_hops * c["stream_flit_s"]
    else:
        parts["server jobs"] = jobs * c["job_s"]
        parts["inferences"] = N * c["inference_s"]
        parts["messages"] = message_hops * c["message_hop_s"]
        if ref:
            parts["flits (reference link model)"] = flit_hops * c["flit_reference_s"]
        else:
            parts["flits"] = array_flits * c["flit_fast_s"] + credit_blocks * c["credit_block_s"]
    parts["the statistical payload"] = (draws * c["draw_s"] + bernoulli * c["bernoulli_s"]) if trace is None else 0.0
    parts["the analytical bounds"] = recurrence_flits * c["recurrence_flit_s"] + table_entries * c["table_entry_s"]
    est.parts = parts
    est.wall_s = c["start_s"] + sum(parts.values())
    est.events = 0.0 if engine == "stream" else (message_hops * c["events_per_message_hop"] + N * c["events_per_inference"]
                                                 + (flit_hops * c["events_per_flit_reference"] if ref else 0.0))

    # memory: what lives through the run (tables, arrays, link models) plus the largest messages in flight
    memory += N * c["inference_bytes"] + table_entries * c["table_entry_bytes"]
    memory += recurrence_flits * c["recurrence_flit_bytes"]
    flit_bytes = c["flit_reference_bytes"] if ref else c["flit_bytes"]
    memory += min(in_flight, N) * messages_per_inference * (c["message_bytes"] + in_flight_flits * flit_bytes)
    est.memory_bytes = memory

    # simulated time: at worst every inference waits for all the work of the ones before it
    gap = (s.interval_ns or 0.0) * 1000.0 if s.injection != "closed" else 0.0
    ticks = N * (per_inference_ticks + gap)
    est.simulated_s = ticks / TICKS_PER_S
    if not ticks <= MAX_TICKS:
        raise EstimateError(f"{where}the run could simulate up to {format_seconds(est.simulated_s)} of package time "
                            f"({_n(N)} inferences of up to {format_seconds(per_inference_ticks / TICKS_PER_S)} each): "
                            f"beyond snapsim's clock of 2^62 ps (about 53 days); run fewer inferences "
                            f"(workload.stream.inferences) or check the clocks, rates and sizes")
    return est
