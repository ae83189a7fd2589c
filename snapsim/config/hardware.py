"""Hardware configuration models: D2D links, chiplets, package topology.

Every numeric field carries its unit in its name. Models are frozen and closed (unknown keys are
errors) and strict for scalars: a string is never read as a number (``rate_gtps: "16"`` is an error), a
bool is never a number (``lanes: true``), a number is never a name; an integer is a valid float.
Presets in ``hwconfigs/`` fill these models; every value there names its source in the ``sources``
mapping of the preset.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pydantic
from pydantic import (
    BeforeValidator,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    model_validator,
)

from ..dtypes import PRECISION_BITS
from ..schema import Strict

__all__ = [
    "Strict",
    "IntPair",
    "IntKey",
    "Precision",
    "PRECISION_BITS",
    "LinkConfig",
    "ComputeConfig",
    "SpikingConfig",
    "SramConfig",
    "DramConfig",
    "NocConfig",
    "RouterConfig",
    "CodecConfig",
    "ChipletConfig",
    "TopologyConfig",
    "ROUTINGS",
    "EdgeLinkConfig",
    "HardwareConfig",
]


IntPair = Annotated[tuple[int, int], pydantic.Strict(False)]
"""Two integers written as a list (``between: [0, 1]``): strict mode alone would demand a Python tuple;
the integers themselves stay strict."""


def _decimal_key(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else value


IntKey = Annotated[int, BeforeValidator(_decimal_key)]
"""An integer mapping key; ``"2"`` is read as 2 because a dotted override (``--set boundaries.2.precision=fp8``)
can only name a key as text."""

Precision = Literal[tuple(PRECISION_BITS)]  # type: ignore[valid-type]  # the names of snapsim.dtypes
"""A workload precision name; its bits are ``PRECISION_BITS[name]`` (from :mod:`snapsim.dtypes`)."""


class LinkConfig(Strict):
    """One direction of a die-to-die link (a PHY module/slice/port and its link layer)."""

    kind: Literal["link"] = Field("link", description="File kind of a link preset file")
    name: str = Field(description="Preset name")
    standard: str = Field("", description="What the preset models (free text)")
    lanes: PositiveInt = Field(description="Data lanes per direction")
    rate_gtps: PositiveFloat = Field(description="Symbol rate per lane, GT/s")
    bits_per_transfer: int = Field(1, ge=1, le=4, description="Bits per symbol: 1 NRZ, 2 PAM4")
    energy_pj_per_bit: NonNegativeFloat = Field(description="Dynamic energy per bit on the wire, framing included")
    phy_latency_ns: NonNegativeFloat = Field(
        description="TX+RX adapter/PHY pipeline, FEC and flight latency, excluding serialization"
    )
    flit_bytes: PositiveInt = Field(description="Flit size on the wire, overhead included")
    flit_overhead_bytes: int = Field(ge=0, description="Header/CRC bytes per flit")
    rx_buffer_flits: PositiveInt = Field(description="Receive buffer size = link-level credits")
    credit_latency_ns: NonNegativeFloat | None = Field(
        None, description="Latency of a credit return from RX to TX; default phy_latency_ns"
    )
    idle_power_fraction: float | None = Field(
        None, ge=0, le=1,
        description="Static power of one direction while the link idles, as a fraction of its active power "
        "(energy_pj_per_bit x raw bandwidth); used unless idle_power_mw is given",
    )
    idle_power_mw: NonNegativeFloat | None = Field(
        None,
        description="Static power of one direction while the link idles; default: idle_power_fraction x "
        "active power, so it follows the rate, lane count and pJ/bit",
    )
    sleep_after_idle_ns: NonNegativeFloat | None = Field(
        None,
        description="Link power state: after this long idle the direction enters its low-power state "
        "(clock-gated idle, L1-like); default none: always on",
    )
    sleep_power_mw: NonNegativeFloat = Field(0.0, description="Power of one direction in its low-power state")
    wake_latency_ns: NonNegativeFloat = Field(
        0.0, description="Exit latency: a head flit arriving at a sleeping link waits this long before it can start"
    )
    bit_error_rate: float = Field(
        0.0, ge=0, lt=1,
        description="Bit error rate the link layer's CRC sees (after FEC, if the standard uses one); 0: error free",
    )
    retry: Literal["none", "go_back_n"] = Field(
        "none",
        description="Link-layer retry: go-back-N replays from a flit that failed its CRC once the NAK is back "
        "(the flits sent meanwhile are discarded and sent again); none: a failed flit is delivered corrupt",
    )
    fec_latency_ns: NonNegativeFloat = Field(
        0.0, description="FEC encode+decode latency, added to phy_latency_ns on every flit (0 without FEC)")
    sources: dict[str, str] = Field(default_factory=dict, description="Field name -> citation")
    _idle_power_derived: bool = PrivateAttr(False)

    @model_validator(mode="after")
    def _check(self) -> "LinkConfig":
        if self.flit_overhead_bytes >= self.flit_bytes:
            raise ValueError(
                f"flit_overhead_bytes must be smaller than flit_bytes ({self.flit_bytes}); got {self.flit_overhead_bytes}"
            )
        if self.sleep_after_idle_ns is None:
            for f in ("sleep_power_mw", "wake_latency_ns"):
                if getattr(self, f):
                    raise ValueError(f"{f} is set but sleep_after_idle_ns is not: the link never sleeps")
        if self.idle_power_mw is None:
            if self.idle_power_fraction is None:
                raise ValueError("idle_power_fraction (or an explicit idle_power_mw) is required")
            # derived, so a change of rate, lanes or pJ/bit moves it: stored as the resolved value
            object.__setattr__(self, "idle_power_mw", self.idle_power_fraction * self.active_power_mw)
            self._idle_power_derived = True
        return self

    @property
    def active_power_mw(self) -> float:
        """Power of one direction while it sends back to back: pJ/bit x Gbit/s = mW."""
        return self.energy_pj_per_bit * self.raw_gbps

    @property
    def idle_power_source(self) -> str:
        """Where ``idle_power_mw`` comes from: ``explicit``, or the rule it was derived by."""
        if not self._idle_power_derived:
            return "explicit"
        return f"idle_power_fraction {self.idle_power_fraction:g} x active {self.active_power_mw:.6g} mW"

    @property
    def payload_bytes_per_flit(self) -> int:
        return self.flit_bytes - self.flit_overhead_bytes

    @property
    def raw_gbps(self) -> float:
        """Raw bandwidth of one direction in Gbit/s."""
        return self.lanes * self.rate_gtps * self.bits_per_transfer


class ComputeConfig(Strict):
    """Dense ANN compute: a MAC array."""

    mac_units: PositiveInt = Field(description="MACs per clock cycle at the reference precision")
    clock_ghz: PositiveFloat = Field(description="Clock of the MAC array, spiking units and codec (GHz)")
    energy_pj_per_mac: dict[Precision, NonNegativeFloat] = Field(description="Energy per MAC by operand precision")
    macs_per_cycle_scale: dict[Precision, PositiveFloat] = Field(
        default_factory=dict,
        description="Throughput multiplier per precision (e.g. int4 packs 2 per int8 unit); default 1",
    )
    utilization: float = Field(1.0, gt=0, le=1, description="Achieved fraction of peak MAC throughput")


class SpikingConfig(Strict):
    """Spiking units: synaptic accumulates and neuron (membrane) updates."""

    ac_units: PositiveInt = Field(description="Synaptic accumulates per cycle (peak, on dense input)")
    neuron_units: PositiveInt = Field(description="Neuron updates per cycle")
    energy_pj_per_ac: dict[Precision, NonNegativeFloat] = Field(
        description="Energy of one synaptic accumulate (a weight added into a membrane: an add, no multiply) by "
        "the workload precision, as energy_pj_per_mac is by operand precision",
    )
    energy_pj_per_neuron_update: NonNegativeFloat = Field(
        description="Energy of one neuron (membrane) update: the arithmetic of a LIF step (leak, add, compare, "
        "reset); the membrane state access is charged as SRAM traffic (membrane_state_bits) unless that is 0",
    )
    membrane_state_bits: int = Field(
        16, ge=0,
        description="Membrane-state bits per neuron read and written in SRAM at every neuron update (SNN-only "
        "neurons and the spike codec's neurons): the one place state access is charged; 0 when "
        "energy_pj_per_neuron_update already includes it",
    )
    sparse_efficiency: float = Field(
        1.0, gt=0, le=1,
        description="Achieved fraction of the accumulate units' peak rate on event (sparse) input: load imbalance "
        "and event scheduling of a sparse dataflow; accumulate time = accumulates / (ac_units x sparse_efficiency)",
    )


class SramConfig(Strict):
    capacity_mib: PositiveFloat = Field(
        description="On-die SRAM capacity; a partition's weights stay resident up to it, the rest stream from DRAM"
    )
    bandwidth_gbytes_per_s: PositiveFloat = Field(description="SRAM bandwidth (reads and writes together)")
    read_energy_pj_per_bit: NonNegativeFloat = Field(
        description="Energy per bit read from SRAM, for an array of energy_reference_kib (when given)"
    )
    write_energy_pj_per_bit: NonNegativeFloat = Field(
        description="Energy per bit written to SRAM, for an array of energy_reference_kib (when given)"
    )
    arrays: PositiveInt = Field(
        1, description="Equal SRAM arrays (banks or macros) the capacity is split into, each read by the compute "
        "next to it; array size = capacity_mib / arrays"
    )
    energy_reference_kib: PositiveFloat | None = Field(
        None,
        description="Array size the per-bit energies are quoted for; when given, the per-bit energies scale as "
        "(array size / energy_reference_kib) ** energy_size_exponent (longer word and bit lines, wider "
        "decoders); default none: the per-bit energies hold at any size",
    )
    energy_size_exponent: NonNegativeFloat = Field(
        0.5, description="Exponent of the per-bit SRAM energy in the array size (see energy_reference_kib)"
    )


class DramConfig(Strict):
    """Off-die or stacked memory that holds weights which do not fit in SRAM."""

    capacity_gib: PositiveFloat = Field(description="DRAM (or stacked memory) capacity")
    bandwidth_gbytes_per_s: PositiveFloat = Field(description="DRAM bandwidth available to one chiplet")
    energy_pj_per_bit: NonNegativeFloat = Field(description="Energy per bit moved from DRAM, interface included")


class NocConfig(Strict):
    """On-die network: moves activations between SRAM, compute and the die edge."""

    hop_latency_ns: NonNegativeFloat = Field(description="Latency of one on-die network hop")
    energy_pj_per_bit_per_hop: NonNegativeFloat = Field(description="Energy of moving one bit over one on-die hop")
    avg_hops: NonNegativeFloat = Field(description="Mean hops for an on-die activation transfer")
    transit_hops: int = Field(ge=0, description="Hops to cross the die between two D2D ports (forwarding)")


class RouterConfig(Strict):
    """A chiplet's cycle-level router (:mod:`snapsim.chiplet.router`): an input-queued virtual-channel
    router between its terminal (injection/ejection) port and its D2D (or on-die) ports.

    The pipeline is routing (RC), VC allocation (VA), switch allocation (SA) and switch traversal (ST),
    each a whole number of cycles; a flit leaving ST starts on the channel the next cycle. Buffers are
    private per input VC; credits return per VC. Every field has its unit in its name."""

    clock_ghz: PositiveFloat = Field(description="Router clock; link times are rounded up to whole cycles of it")
    vcs_per_port: PositiveInt = Field(description="Virtual channels per input port (a torus needs an even count: dateline classes)")
    buffer_flits_per_vc: PositiveInt = Field(description="Input buffer depth of each VC (flits)")
    routing_delay_cycles: int = Field(ge=0, description="RC stage; 0 = lookahead routing (computed one hop ahead)")
    vc_alloc_delay_cycles: PositiveInt = Field(description="VA stage")
    sw_alloc_delay_cycles: PositiveInt = Field(description="SA stage")
    switch_traversal_delay_cycles: PositiveInt = Field(description="ST stage (crossbar)")
    speculative: bool = Field(False, description="VA and SA in parallel for head flits (speculative SA loses to "
                              "non-speculative requests and is wasted when VA fails)")
    vc_allocator: Literal["islip", "round_robin"] = Field(
        "islip", description="iSLIP, or a separable input-first allocator of round-robin arbiters")
    sw_allocator: Literal["islip", "round_robin"] = Field(
        "islip", description="iSLIP, or a separable input-first allocator of round-robin arbiters")
    allocator_iterations: PositiveInt = Field(1, description="iSLIP iterations (pointers move in the first only)")
    flow_control: Literal["wormhole", "virtual_cut_through"] = Field(
        "wormhole",
        description="wormhole: a head takes a free output VC whatever its room; virtual cut-through: only if the "
        "downstream buffer has room for the whole packet (so a packet never stalls across routers)",
    )
    vc_reallocation: Literal["tail_sent", "empty"] = Field(
        "tail_sent",
        description="When an output VC is free for the next packet: once the previous tail has left (a new packet "
        "may queue behind it downstream), or only once the downstream buffer is empty (atomic)",
    )
    credit_delay_cycles: int = Field(0, ge=0, description="Extra cycles before a returned credit can be used")
    injection_cycles_per_flit: PositiveInt = Field(1, description="Injection port bandwidth: cycles per flit")
    ejection_cycles_per_flit: PositiveInt = Field(1, description="Ejection port bandwidth: cycles per flit")
    terminal_latency_cycles: int = Field(
        0, ge=0, description="Injection/ejection channel latency after the flit's transfer (and of its credit wire)")
    nic_delay_cycles: PositiveInt = Field(
        1, description="Network interface output stage: a flit created in cycle t is written to the injection "
        "channel in cycle t + nic_delay_cycles - 1")
    sources: dict[str, str] = Field(default_factory=dict, description="Field name -> citation")

    @property
    def pipeline_cycles(self) -> int:
        """Cycles a head flit spends in one router at zero load (RC + VA + SA + ST; VA and SA overlap when
        speculative)."""
        alloc = max(self.vc_alloc_delay_cycles, self.sw_alloc_delay_cycles) if self.speculative else (
            self.vc_alloc_delay_cycles + self.sw_alloc_delay_cycles)
        return self.routing_delay_cycles + alloc + self.switch_traversal_delay_cycles


class CodecConfig(Strict):
    """Spike encoder (before a D2D link) and decoder (after it) at a die boundary, and the SNN-only design's
    input encoder and output decoder. The encoder is one LIF neuron per encoded neuron, the decoder one
    spike-count accumulator: each keeps spiking.membrane_state_bits of state in SRAM, read and written per
    neuron-step, as the spiking neurons do."""

    neurons_per_cycle: PositiveInt = Field(description="Neuron-steps encoded or decoded per cycle")
    pipeline_cycles: int = Field(ge=0, description="Fixed pipeline latency per timestep")
    encode_energy_pj_per_neuron_step: NonNegativeFloat | None = Field(
        None,
        description="Energy to encode one neuron for one timestep (activation -> spikes), state access excluded; "
        "default: spiking.energy_pj_per_neuron_update (the encoder is a LIF neuron)",
    )
    decode_energy_pj_per_neuron_step: NonNegativeFloat = Field(
        description="Energy to decode one neuron for one timestep (a spike-count increment), state access excluded"
    )
    energy_pj_per_spike: NonNegativeFloat = Field(description="Per emitted spike (event formatting)")


class ChipletConfig(Strict):
    kind: Literal["chiplet"] = Field("chiplet", description="File kind of a chiplet preset file")
    name: str = Field(description="Preset name")
    description: str = Field("", description="What the preset models (free text)")
    compute: ComputeConfig = Field(description="The MAC array (dense work)")
    spiking: SpikingConfig = Field(description="The spiking units (SNN-only work)")
    sram: SramConfig = Field(description="On-die SRAM")
    dram: DramConfig | None = Field(None, description="Memory for weights that do not fit in SRAM; none: every partition's weights must fit")
    noc: NocConfig = Field(description="The on-die network")
    codec: CodecConfig = Field(description="The spike encoder/decoder at die boundaries (SNAP) and at the network input/output (SNN)")
    router: RouterConfig | None = Field(
        None, description="Cycle-level router of the chiplet (the router level of the network); none: the ideal switch")
    sources: dict[str, str] = Field(default_factory=dict, description="Field path -> citation, for every value the preset sets")


ROUTINGS = ("xy", "yx", "west_first", "odd_even", "table")
"""Routing algorithms (:mod:`snapsim.topology`): dimension-order X-then-Y or Y-then-X (meshes and tori, with
dateline VC classes on tori), minimal adaptive west-first or odd-even (meshes), or a routing table of
shortest paths (any graph)."""


class TopologyConfig(Strict):
    kind: Literal["mesh2d", "torus2d", "ring", "fully_connected", "edges"] = Field(description="mesh2d and torus2d route dimension-order (X then Y); ring the shorter way; others breadth-first")
    rows: PositiveInt | None = Field(None, description="Rows of a mesh2d or torus2d")
    cols: PositiveInt | None = Field(None, description="Columns of a mesh2d or torus2d")
    chiplets: PositiveInt | None = Field(None, description="Number of chiplets (ring, fully_connected, edges; optional for meshes and tori)")
    edges: list[IntPair] | None = Field(None, description="The links of an edges topology, as chiplet id pairs (both directions)")
    routing: Literal[ROUTINGS] | None = Field(  # type: ignore[valid-type]
        None,
        description="Routing algorithm; default: xy on meshes and tori, the shorter way on rings, a shortest-path "
        "table otherwise",
    )

    @model_validator(mode="after")
    def _check(self) -> "TopologyConfig":
        if self.routing in ("xy", "yx") and self.kind not in ("mesh2d", "torus2d"):
            raise ValueError(f"routing {self.routing} needs a mesh2d or torus2d topology; got {self.kind}")
        if self.routing in ("west_first", "odd_even") and self.kind != "mesh2d":
            raise ValueError(f"routing {self.routing} is a turn model for mesh2d; got {self.kind}")
        if self.kind in ("mesh2d", "torus2d"):
            if self.rows is None or self.cols is None:
                raise ValueError(f"topology kind {self.kind} needs rows and cols")
            if self.chiplets is not None and self.chiplets != self.rows * self.cols:
                raise ValueError("chiplets must equal rows * cols (or be omitted)")
        else:
            if self.chiplets is None:
                raise ValueError(f"topology kind {self.kind} needs chiplets")
        if self.kind == "edges":
            if not self.edges:
                raise ValueError("topology kind edges needs a non-empty edges list")
            for a, b in self.edges:
                if not (0 <= a < self.chiplets and 0 <= b < self.chiplets) or a == b:
                    raise ValueError(f"edge ({a}, {b}) must join two different chiplets in [0, {self.chiplets})")
        elif self.edges is not None:
            raise ValueError("edges is only allowed with kind: edges")
        return self

    @property
    def n_chiplets(self) -> int:
        if self.kind in ("mesh2d", "torus2d"):
            return int(self.rows) * int(self.cols)
        return int(self.chiplets)


class EdgeLinkConfig(Strict):
    """A link that replaces the default on specific edges (both directions)."""

    between: IntPair = Field(description="The two chiplets the link joins")
    link: LinkConfig = Field(description="The link preset (or preset with overrides) on this edge")


class HardwareConfig(Strict):
    kind: Literal["hardware"] = Field("hardware", description="File kind")
    name: str = Field(description="Package name")
    description: str = Field("", description="What the package models (free text)")
    chiplet: ChipletConfig = Field(description="The chiplet preset of every die (or a preset with overrides)")
    chiplets: dict[IntKey, ChipletConfig] = Field(
        default_factory=dict, description="Per-chiplet replacements of the default chiplet (heterogeneous packages)"
    )
    link: LinkConfig = Field(description="The default D2D link preset of every edge (or a preset with overrides)")
    links: list[EdgeLinkConfig] = Field(default_factory=list, description="Edges whose link replaces the default")
    topology: TopologyConfig = Field(description="How the chiplets are connected")
    mapping: list[int] | None = Field(None, description="Chiplet id of each workload partition; default 0, 1, 2, ...")
    sources: dict[str, str] = Field(default_factory=dict, description="Field path -> citation for values the package file sets")

    @model_validator(mode="after")
    def _check(self) -> "HardwareConfig":
        n = self.topology.n_chiplets
        for cid in self.chiplets:
            if not 0 <= cid < n:
                raise ValueError(f"chiplets: id {cid} is outside the package (0..{n - 1})")
        if self.mapping is not None:
            if len(set(self.mapping)) != len(self.mapping):
                raise ValueError("mapping: a chiplet may host only one partition")
            for cid in self.mapping:
                if not 0 <= cid < n:
                    raise ValueError(f"mapping: chiplet {cid} is outside the package (0..{n - 1})")
        for i, edge in enumerate(self.links):  # adjacency in the topology: snapsim.config.load.validate_hardware
            a, b = edge.between
            if a == b or not (0 <= a < n and 0 <= b < n):
                raise ValueError(f"links.{i}.between must join two different chiplets of the package (0..{n - 1}); "
                                 f"got [{a}, {b}]")
        return self

    def chiplet_config(self, cid: int) -> ChipletConfig:
        return self.chiplets.get(cid, self.chiplet)
