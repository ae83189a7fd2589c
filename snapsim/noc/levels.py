"""The two levels of the interconnect, behind one interface for synthetic traffic.

* :class:`RouterLevel`: the cycle-level router fabric (:class:`snapsim.chiplet.router.RouterFabric`).
* :class:`IdealLevel`: snapsim's ideal network (:class:`snapsim.network.Network` with its ideal
  output-queued switch), on the same hardware: every router chiplet gets a terminal joined by an
  injection/ejection link of the router's port bandwidth, and each router crossing takes the router's
  zero-load pipeline depth. No allocation, no virtual channels, no head-of-line blocking: contention only
  on links.

Both take packets with ``inject(src, dst, flits, created)`` (cycles; ``inject_many`` for a block of them), advance with ``run(until)`` and
report delivered packets as ``(created, injected, arrived, flits, tag)`` tuples and ejected flits per
terminal. Where the router cannot block (enough VCs and buffers, no conflicts) they agree to the cycle.
"""

from __future__ import annotations

from typing import Sequence

import simpy

from ..chiplet.router import Packet, RouterFabric, router_pipeline_cycles
from ..config.hardware import HardwareConfig
from ..d2d.timing import LinkTiming
from ..errors import SnapsimError
from ..package import Package
from ..units import cycles_to_ticks

__all__ = ["LEVELS", "RouterLevel", "IdealLevel", "TerminalPackage", "make_level"]


def _router_cfg(hw: HardwareConfig):
    cfg = hw.chiplet_config(0).router
    if cfg is None:
        raise SnapsimError(f"hardware {hw.name!r}: the noc command needs chiplet.router (a router config); "
                           "see hwconfigs/noc/reference-mesh4.yaml")
    return cfg


class RouterLevel:
    """The router level: a :class:`RouterFabric` of the package's chiplets."""

    name = "router"

    def __init__(self, hw: HardwareConfig):
        _router_cfg(hw)
        self.package = Package(hw)
        self.fabric = RouterFabric.from_package(self.package)
        self.nodes = self.package.n
        self._id = 0

    @property
    def flits_ejected(self) -> list[int]:
        return self.fabric.flits_ejected

    @property
    def now(self) -> int:
        return self.fabric.now

    def inject(self, src: int, dst: int, flits: int, created: int, tag=None) -> None:
        self.fabric.inject(Packet(self._id, src, dst, flits, created, tag))
        self._id += 1

    def inject_many(self, created: Sequence[int], src: Sequence[int], dst: Sequence[int], flits: Sequence[int],
                    tag=None) -> None:
        """:meth:`inject` packet ``k`` = ``(src[k], dst[k], flits[k], created[k], tag)`` for every ``k``, in order."""
        pid = self._id
        pkts = [Packet(pid + k, s, d, z, t, tag) for k, (t, s, d, z) in enumerate(zip(created, src, dst, flits))]
        self._id += len(pkts)
        self.fabric.inject_all(pkts)

    def run(self, until: int) -> None:
        self.fabric.run(until)

    def take_delivered(self) -> list[tuple]:
        out = [(p.created, p.injected, p.arrived, p.size, p.tag) for p in self.fabric.delivered]
        self.fabric.delivered.clear()
        return out

    def zero_load_cycles(self, src: int, dst: int, flits: int) -> int:
        from ..chiplet.router import zero_load_cycles

        return zero_load_cycles(self.fabric.cfg, self.fabric.path_channels(src, dst), flits)

    def stats(self) -> dict:
        return {"router_flit_hops": self.fabric.traversals}


class TerminalPackage(Package):
    """The package with a terminal per chiplet: terminal ``t`` is node ``n + t``, joined to chiplet ``t``
    by an injection link (``injection_cycles_per_flit``) and an ejection link (``ejection_cycles_per_flit``,
    both ``terminal_latency_cycles`` late); a chiplet crossing takes the router's pipeline depth. Routes
    run terminal, the topology's route, terminal."""

    def __init__(self, hw: HardwareConfig):
        super().__init__(hw)
        cfg = _router_cfg(hw)
        cyc = cycles_to_ticks(1, cfg.clock_ghz)
        n = self.routers = self.n
        any_link = next(iter(self.timing.values()))
        credits = cfg.vcs_per_port * cfg.buffer_flits_per_vc
        lat = cfg.terminal_latency_cycles * cyc
        for t in range(n):
            for edge, per_flit in (((n + t, t), cfg.injection_cycles_per_flit), ((t, n + t), cfg.ejection_cycles_per_flit)):
                self.timing[edge] = LinkTiming(per_flit * cyc, lat, lat, credits, any_link.flit_bits,
                                               any_link.payload_bits_per_flit)
                self.link_config[edge] = hw.link
        depth = router_pipeline_cycles(cfg) * cyc
        self.transit_ticks = {c: (depth if c < n else 0) for c in range(2 * n)}
        self.n = 2 * n

    def route(self, src: int, dst: int) -> list[int]:
        n = self.routers
        if src >= n and dst >= n:
            return [src] + self.topology.route(src - n, dst - n) + [dst]
        return super().route(src, dst)


class _StartProbe:
    """Keeps the first serialization start of each message on an injection link."""

    enabled = True

    def __init__(self, names: set[str]):
        self.names = names
        self.first: dict[int, int] = {}

    def link_message(self, link, seq, first_start, last_end, flits, payload_bits):
        if link in self.names:
            self.first[seq] = first_start

    def server_job(self, *a):  # pragma: no cover - the network never calls it
        pass

    def inference(self, *a):  # pragma: no cover
        pass


class IdealLevel:
    """The ideal level: :class:`snapsim.network.Network` (links + ideal switch) on a :class:`TerminalPackage`."""

    name = "ideal"

    def __init__(self, hw: HardwareConfig):
        from ..network import Network

        cfg = _router_cfg(hw)
        self.cyc = cycles_to_ticks(1, cfg.clock_ghz)
        self.nic = cfg.nic_delay_cycles
        self.package = TerminalPackage(hw)
        n = self.nodes = self.package.routers
        self.env = simpy.Environment()
        self.probe = _StartProbe({self.package.link_name((n + t, t)) for t in range(n)})
        self.net = Network(self.env, self.package, "fast", probe=self.probe)
        self.flits_ejected = [0] * n
        self._done: list[tuple] = []
        self._flit_bits = next(iter(self.package.timing.values())).payload_bits_per_flit

    @property
    def now(self) -> int:
        return int(self.env.now // self.cyc)

    def inject_many(self, created: Sequence[int], src: Sequence[int], dst: Sequence[int], flits: Sequence[int],
                    tag=None) -> None:
        for t, s, d, z in zip(created, src, dst, flits):
            self.inject(s, d, z, t, tag)

    def inject(self, src: int, dst: int, flits: int, created: int, tag=None) -> None:
        n = self.nodes
        info = (created, flits, tag, dst)

        def done(msg, info=info):
            created, flits, tag, dst = info
            arrived = msg.done_tick // self.cyc
            start = self.probe.first.pop(msg.seq)
            self.flits_ejected[dst] += flits
            self._done.append((created, start // self.cyc - 1, arrived, flits, tag))

        self.net.send(n + src, n + dst, flits * self._flit_bits, at=(created + self.nic) * self.cyc, on_done=done)

    def run(self, until: int) -> None:
        self.env.run(until=until * self.cyc)

    def take_delivered(self) -> list[tuple]:
        out, self._done = self._done, []
        return out

    def stats(self) -> dict:
        return {}


LEVELS = {"router": RouterLevel, "ideal": IdealLevel}


def make_level(name: str, hw: HardwareConfig):
    try:
        return LEVELS[name](hw)
    except KeyError:
        raise SnapsimError(f"--level: unknown level {name!r}; choose from {', '.join(LEVELS)}")
