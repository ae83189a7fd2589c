"""Test harness for snapsim and for code built on it: config builders, and a message source and sink
that drive a package network directly (like PyMTL3's test sources and sinks).

    from snapsim.testing import hardware, workload, run_messages
    hw = hardware({"kind": "mesh2d", "rows": 1, "cols": 4}, transit_hops=2, flit_bytes=64)
    done, net = run_messages(hw, "fast", [(0, 0, 3, 4096), (10, 1, 3, 800)])

:class:`MessageSource` injects ``(tick, src, dst, payload_bits)`` messages at their ticks (after an
``initial_delay`` and at least ``interval_ticks`` apart, to test back-pressure and idle gaps);
:class:`MessageSink` records each delivery and checks, when asked, that every message arrived once, in
order per flow and no earlier than its zero-load latency over awake links.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import simpy

from .analytical import message_zero_load_ticks
from .config.hardware import HardwareConfig
from .config.load import load_chiplet
from .config.workload import WorkloadConfig
from .network import Message, Network
from .resources import HWCONFIGS

__all__ = ["link_config", "hardware", "workload", "MessageSource", "MessageSink", "run_messages"]

_CHIPLET = "simba-like-16nm"


def link_config(**fields: Any) -> dict:
    """A link config mapping: a 16-lane 16 GT/s link with 64 B flits, and ``fields`` replacing any value."""
    base = dict(
        name="test-link", lanes=16, rate_gtps=16.0, energy_pj_per_bit=0.5, phy_latency_ns=2.0, flit_bytes=64,
        flit_overhead_bytes=4, rx_buffer_flits=64, idle_power_mw=10.0,
    )
    base.update(fields)
    return base


def hardware(topology: dict, transit_hops: int = 0, hop_latency_ns: float = 0.5, chiplet: str = _CHIPLET,
             **link: Any) -> HardwareConfig:
    """A package of shipped ``chiplet`` presets on ``topology`` with one :func:`link_config` link
    (``link`` fields replace its values) and the given die-crossing ``transit_hops x hop_latency_ns``."""
    chip = load_chiplet(HWCONFIGS / "chiplet" / f"{chiplet}.yaml").model_dump()
    chip["noc"]["transit_hops"] = transit_hops
    chip["noc"]["hop_latency_ns"] = hop_latency_ns
    return HardwareConfig.model_validate(
        {"kind": "hardware", "name": "test", "chiplet": chip, "link": link_config(**link), "topology": topology}
    )


def workload(parts: int = 2, neurons: int = 64, *, encoding: Any = "bitmap", timesteps: int = 4,
             firing_rate: float = 0.2, inferences: int = 6, batch: int = 1, macs: float = 1000.0,
             **stream: Any) -> WorkloadConfig:
    """A chain of ``parts`` equal stages of ``neurons`` outputs, one per partition."""
    stages = [{"name": f"s{k}", "macs": macs, "weight_params": 100.0, "output_shape": [neurons]} for k in range(parts)]
    return WorkloadConfig.model_validate({
        "kind": "workload", "name": "test", "input_shape": [neurons], "stages": stages,
        "partition": {"count": parts},
        "boundary": {"timesteps": timesteps, "firing_rate": firing_rate, "encoding": encoding},
        "snn": {"timesteps": timesteps, "firing_rate": firing_rate},
        "stream": {"inferences": inferences, "batch": batch, "max_in_flight": 2, **stream},
    })


class MessageSink:
    """Records deliveries: ``arrivals[i]`` is the tick message ``i`` of the source was delivered."""

    def __init__(self, n: int):
        self.arrivals: list[int | None] = [None] * n
        self.order: list[int] = []

    def receive(self, index: int, message: Message) -> None:
        if self.arrivals[index] is not None:
            raise AssertionError(f"message {index} delivered twice")
        self.arrivals[index] = message.done_tick
        self.order.append(index)

    def check(self, net: Network, messages: Sequence[tuple[int, int, int, int]]) -> None:
        """Every message arrived once, messages of one flow in send order, none before its zero-load latency."""
        missing = [i for i, t in enumerate(self.arrivals) if t is None]
        if missing:
            raise AssertionError(f"messages never delivered: {missing[:10]}")
        sent = sorted(range(len(messages)), key=lambda i: (messages[i][0], i))  # the source's send order
        rank = {i: r for r, i in enumerate(sent)}
        last: dict[tuple[int, int], int] = {}
        for i in self.order:
            flow = messages[i][1:3]
            if last.get(flow, -1) > rank[i]:
                raise AssertionError(f"flow {flow}: message {i} overtook one sent before it")
            last[flow] = rank[i]
        for i in range(len(messages)):
            tick, src, dst, bits = messages[i]
            path = net.route(src, dst)
            # awake links: a message may find a power-managed link already awake
            timings = [replace(net.links[(a, b)].timing, sleep_after=None) for a, b in zip(path[:-1], path[1:])]
            transit = [net.switch.delay(c) for c in path[1:-1]]
            floor = tick + message_zero_load_ticks(timings, transit, bits)
            if self.arrivals[i] < floor:
                raise AssertionError(f"message {i} arrived at {self.arrivals[i]}, before its zero-load bound {floor}")


class MessageSource:
    """Injects ``(tick, src, dst, payload_bits)`` messages: each at ``max(tick, initial_delay, previous +
    interval_ticks)``, in order of tick (ties in list order), each delivery reported to the sink."""

    def __init__(self, net: Network, messages: Sequence[tuple[int, int, int, int]], sink: MessageSink | None = None,
                 initial_delay: int = 0, interval_ticks: int = 0):
        self.net = net
        self.messages = list(messages)
        self.sink = sink or MessageSink(len(self.messages))
        self.initial_delay = initial_delay
        self.interval_ticks = interval_ticks
        self.sent: list[Message | None] = [None] * len(self.messages)
        net.env.process(self._run())

    def _run(self):
        env = self.net.env
        order = sorted(range(len(self.messages)), key=lambda i: (self.messages[i][0], i))
        next_free = self.initial_delay
        for i in order:
            t, s, d, bits = self.messages[i]
            at = max(t, next_free)
            if at > env.now:
                yield env.timeout(at - env.now)
            self.sent[i] = self.net.send(s, d, bits, on_done=lambda m, i=i: self.sink.receive(i, m))
            next_free = env.now + self.interval_ticks


def run_messages(hw: HardwareConfig, fidelity: str, messages: Sequence[tuple[int, int, int, int]], *,
                 check: bool = True, **network: Any) -> tuple[list[int], Network]:
    """Send ``(tick, src, dst, payload_bits)`` messages over ``hw``'s network until all are delivered;
    returns the delivery ticks in input order and the network (``network`` keywords are its injected parts)."""
    env = simpy.Environment()
    net = Network(env, hw, fidelity, **network)
    source = MessageSource(net, messages)
    env.run()
    if check:
        source.sink.check(net, messages)
    return [int(t) for t in source.sink.arrivals], net
