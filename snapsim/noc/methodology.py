"""The standard open-loop measurement methodology of network-on-chip simulation (BookSim2's, as used for the
shared reference curves), for either level of the interconnect.

One point (an offered load) runs in sample periods of ``sample_period_cycles``:

1. **Warm-up**: ``warmup_periods`` periods, then the statistics are cleared.
2. **Measurement**: only packets created from then on are measured. After each period the cumulative mean
   packet latency and accepted flit rate are compared with the previous period's; when both changed by
   less than ``stopping_threshold`` for ``converged_periods`` periods in a row (or after ``max_samples``
   periods in all) measurement stops.
3. **Drain**: traffic goes on (unmeasured) until every measured packet has arrived.

**Stability**: after every period (and every 1,000 drain cycles) the mean latency of the measured packets
with every packet still in the network or its source queue counted at its age so far is checked against
``latency_threshold_cycles``; above it the point is unstable (the network is past saturation), the run is
abandoned and the accepted rate comes from a throughput run instead (the same warm-up, then periods until
the accepted rate alone converges).

Metrics (cycles, flits per terminal per cycle): packet latency = tail ejected - packet created (source
queueing included); network latency = tail ejected - head injected; accepted rate = flits ejected per
terminal per cycle over the measurement periods (mean, and the lowest terminal).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from .traffic import Traffic

__all__ = ["Methodology", "run_point", "BOOKSIM"]


@dataclass(frozen=True)
class Methodology:
    sample_period_cycles: int = 10_000
    warmup_periods: int = 3
    max_samples: int = 10
    converged_periods: int = 3
    stopping_threshold: float = 0.05
    latency_threshold_cycles: float = 500.0
    drain_check_cycles: int = 1_000
    block_cycles: int = 1_000

    def as_dict(self) -> dict:
        return asdict(self)


#: The methodology of the shared reference curves (noc-reference README, run control).
BOOKSIM = Methodology()


class _Stats:
    def __init__(self) -> None:
        self.plat: list[int] = []
        self.nlat: list[int] = []


def _feed(level, traffic: Traffic, start: int, stop: int, measured: bool, book) -> None:
    """Generate the packets created in ``[start, stop)`` block by block, inject them (tagged ``measured``)
    and run the level to the end of each block."""
    for a, b, cyc, src, dst, size in traffic.blocks(start, stop, book.block):
        level.inject_many(cyc.tolist(), src.tolist(), dst.tolist(), size.tolist(), measured)
        book.out_flits += int(size.sum())
        book.out_created += int(size @ cyc)
        if measured:
            book.measured_out += len(cyc)
        level.run(b)
        book.collect(level)


class _Book:
    """Bookkeeping of one run: outstanding flits (for the stability test) and the measured statistics."""

    def __init__(self, block: int):
        self.block = block
        self.out_flits = 0
        self.out_created = 0
        self.measured_out = 0
        self.stats = _Stats()
        self.all_plat_sum = 0  # every delivered packet since the last clear (warm-up statistics)
        self.all_plat_n = 0
        self.warm = True

    def collect(self, level) -> None:
        st = self.stats
        for created, injected, arrived, flits, tag in level.take_delivered():
            self.out_flits -= flits
            self.out_created -= flits * created
            if tag:
                self.measured_out -= 1
                st.plat.append(arrived - created)
                st.nlat.append(arrived - injected)
            elif self.warm:
                self.all_plat_sum += arrived - created
                self.all_plat_n += 1

    def mean_latency(self) -> float:
        if self.warm:
            return self.all_plat_sum / self.all_plat_n if self.all_plat_n else 0.0
        return float(np.mean(self.stats.plat)) if self.stats.plat else 0.0

    def latency_with_outstanding(self, now: int) -> float:
        """Mean latency with every outstanding flit counted at its age (BookSim's stability test)."""
        if self.warm:
            s, k = self.all_plat_sum, self.all_plat_n
        else:
            s, k = float(np.sum(self.stats.plat)), len(self.stats.plat)
        s += self.out_flits * now - self.out_created
        k += self.out_flits
        return s / k if k else 0.0


def run_point(make_level: Callable[[], object], make_traffic: Callable[[], Traffic], method: Methodology = BOOKSIM,
              measure_latency: bool = True) -> dict:
    """One offered load: warm-up, measurement, drain. Returns the point's metrics (cycles, flits/terminal/cycle)."""
    level = make_level()
    traffic = make_traffic()
    n = level.nodes
    book = _Book(method.block_cycles)
    period = method.sample_period_cycles
    now = 0
    measure_from: int | None = None
    prev_lat, prev_acc = 0.0, 0.0
    converged = 0
    phases = 0
    ejected_at_start = np.zeros(n)
    unstable = False
    while phases < method.max_samples and (measure_from is None or converged < method.converged_periods):
        if measure_from is None and phases % 2 == 0:  # warm-up statistics are cleared every other period
            book.all_plat_sum = book.all_plat_n = 0
            ejected_at_start = np.asarray(level.flits_ejected, dtype=float)
            acc_from = now
        _feed(level, traffic, now, now + period, measure_from is not None, book)
        now += period
        cur_lat = book.mean_latency()
        ej = np.asarray(level.flits_ejected, dtype=float) - ejected_at_start
        cur_acc = float(ej.mean()) / (now - acc_from)
        lat_change = abs(cur_lat - prev_lat) / cur_lat if cur_lat else 0.0
        acc_change = abs(cur_acc - prev_acc) / cur_acc if cur_acc else 0.0
        prev_lat, prev_acc = cur_lat, cur_acc
        if measure_latency and book.latency_with_outstanding(now) > method.latency_threshold_cycles:
            unstable = True
            break
        if measure_from is None:
            if phases + 1 >= method.warmup_periods:
                measure_from = now
                book.warm = False
                ejected_at_start = np.asarray(level.flits_ejected, dtype=float)
                acc_from = now
        else:
            ok = acc_change <= method.stopping_threshold and (not measure_latency or lat_change <= method.stopping_threshold)
            converged = converged + 1 if ok else 0
        phases += 1
    result = {
        "cycles_measured": 0 if measure_from is None else now - measure_from,
        "converged": bool(measure_from is not None and converged >= method.converged_periods),
    }
    if measure_from is not None and not unstable:
        ej = np.asarray(level.flits_ejected, dtype=float) - ejected_at_start
        result["accepted_flits_per_node_cycle"] = float(ej.mean()) / (now - measure_from)
        result["accepted_flits_per_node_cycle_min"] = float(ej.min()) / (now - measure_from)
    if measure_latency and not unstable and measure_from is not None:
        drain_to = now
        while book.measured_out > 0:  # drain: unmeasured traffic goes on
            _feed(level, traffic, now, now + method.drain_check_cycles, False, book)
            now += method.drain_check_cycles
            if book.measured_out > 0 and book.latency_with_outstanding(now) > method.latency_threshold_cycles:
                unstable = True
                break
        result["drain_cycles"] = now - drain_to
    result["stable"] = not unstable
    result["cycles"] = now
    st = book.stats
    if measure_latency and not unstable and st.plat:
        plat = np.asarray(st.plat, dtype=float)
        result.update(
            packet_latency_cycles_mean=float(plat.mean()),
            packet_latency_cycles_p50=float(np.percentile(plat, 50)),
            packet_latency_cycles_p99=float(np.percentile(plat, 99)),
            packet_latency_cycles_max=float(plat.max()),
            network_latency_cycles_mean=float(np.mean(st.nlat)),
            packets_measured=len(plat),
        )
    result.update(level.stats())
    return result
