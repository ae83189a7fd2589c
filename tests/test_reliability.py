"""Link-layer reliability (snapsim.d2d.reliability): CRC failures, go-back-N replay, both fidelities alike,
seeded per link, retransmitted bits in results and energy."""

from __future__ import annotations

import math

import pytest
import simpy

from snapsim.analytical import message_zero_load_ticks
from snapsim.config.load import load_workload
from snapsim.d2d.reliability import ErrorProcess, flit_error_rate
from snapsim.engine import Simulation
from snapsim.network import Network
from snapsim.resources import WORKLOADS
from snapsim.testing import MessageSource, hardware


def hw(**link):
    return hardware({"kind": "mesh2d", "rows": 1, "cols": 3}, transit_hops=2, **link)


def test_flit_error_rate():
    assert flit_error_rate(0.0, 2048) == 0.0
    assert flit_error_rate(1e-15, 2048) == pytest.approx(2048e-15, rel=1e-9)
    assert flit_error_rate(0.5, 2) == pytest.approx(0.75)


def test_error_process_counts_attempts_alike():
    a, b = ErrorProcess(0.01, 7, "c0->c1"), ErrorProcess(0.01, 7, "c0->c1")
    fails_a = [a.attempt() for _ in range(5000)]
    fails_b = []
    for _ in range(50):  # in blocks, as the fast link does
        if b.clean(100):
            fails_b += [False] * 100
        else:
            fails_b += [b.attempt() for _ in range(100)]
    assert fails_a == fails_b and a.failures == sum(fails_a) > 0
    assert ErrorProcess(0.01, 8, "c0->c1").countdown != ErrorProcess(0.01, 7, "c0->c1").countdown or \
        ErrorProcess(0.01, 8, "c0->c1").rng.random() != ErrorProcess(0.01, 7, "c0->c1").rng.random()
    # the count-down is geometric with mean 1/p
    e = ErrorProcess(0.05, 1, "x")
    draws = [e._draw() for _ in range(20_000)]
    assert sum(draws) / len(draws) == pytest.approx(20, rel=0.03) and min(draws) == 1


@pytest.mark.parametrize("fidelity", ["fast", "reference"])
def test_one_failed_flit_costs_the_replay_round_trip(fidelity):
    h = hw(bit_error_rate=1e-12, retry="go_back_n", rx_buffer_flits=8)
    env = simpy.Environment()
    net = Network(env, h, fidelity)
    link = net.links[(0, 1)]
    link.server.errors.countdown = 3  # the third attempt fails its CRC
    bits = 10 * 60 * 8  # 10 flits
    src = MessageSource(net, [(0, 0, 1, bits)])
    env.run()
    tm = link.timing
    base = message_zero_load_ticks([tm], [], bits)
    assert src.sink.arrivals[0] == base + tm.replay_penalty
    wasted = min(10 - 2 - 1, (tm.replay_penalty - tm.t_flit) // tm.t_flit)
    assert link.retry_bits == (1 + wasted) * tm.flit_bits and link.errors.failures == 1


def test_without_retry_failures_are_delivered_corrupt():
    h = hw(bit_error_rate=1e-4)
    env = simpy.Environment()
    net = Network(env, h, "fast")
    MessageSource(net, [(t * 100_000, 0, 2, 64 * 1024 * 8) for t in range(20)])
    env.run()
    err = net.links[(0, 1)].errors
    assert err.corrupt_flits == err.failures > 0 and net.links[(0, 1)].retry_bits == 0


@pytest.mark.parametrize("rx", [4, 64])  # credit-limited and not
def test_fast_equals_reference_with_errors(rx):
    h = hw(bit_error_rate=2e-5, retry="go_back_n", rx_buffer_flits=rx)
    msgs = [(t * 2_000, s, d, (1 + (t * 7) % 40) * 512) for t in range(60) for s, d in ((0, 2), (1, 2), (2, 0))]
    out = {}
    for fid in ("fast", "reference"):
        env = simpy.Environment()
        net = Network(env, h, fid, seed=3)
        src = MessageSource(net, msgs)
        env.run()
        out[fid] = (src.sink.arrivals, [(l.flits, l.busy_ticks, l.retry_bits) for l in net.links.values()])
    assert out["fast"] == out["reference"]
    assert sum(r for _f, _b, r in out["fast"][1]) > 0


def test_retries_show_in_results_and_energy():
    h = hw(bit_error_rate=1e-6, retry="go_back_n")
    wl = load_workload(WORKLOADS / "lm_32x4096.yaml", {"stream.inferences": 16, "stream.batch": 2,
                                                     "partition.count": 2})
    clean_hw = hw()
    r = Simulation.build(h, wl, "ann", seed=1).run()
    c = Simulation.build(clean_hw, wl, "ann", seed=1).run()
    retx = r["d2d_retransmitted_bits_per_inf"]
    assert retx > 0 and c["d2d_retransmitted_bits_per_inf"] == 0
    assert sum(l["flit_errors"] for l in r["links"]) > 0
    pj = h.link.energy_pj_per_bit
    assert r["energy_breakdown_pj"]["d2d_dynamic"] - c["energy_breakdown_pj"]["d2d_dynamic"] == pytest.approx(
        retx * pj, rel=1e-9)
    assert r["latency_ns_max"] >= c["latency_ns_max"]
    again = Simulation.build(h, wl, "ann", seed=1).run()
    assert again.data["links"] == r.data["links"]


@pytest.mark.parametrize("ber", [1e-300, 5e-324])
def test_subnormal_error_rates_never_fail_and_never_overflow(ber):
    """A bit error rate so small that a flit's failure probability is subnormal made the geometric draw
    infinite (OverflowError: cannot convert float infinity to integer; found by the fuzz suite)."""
    p = flit_error_rate(ber, 2048)
    proc = ErrorProcess(p, seed=0, name="a->b")
    assert proc.countdown == 1 << 62
    assert proc.failures_in(10**6) == 0
