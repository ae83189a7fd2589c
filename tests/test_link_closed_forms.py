"""The link model against closed forms: serialization, zero-load latency, saturation bandwidth, credit
limits, multi-hop latency and M/D/1 queueing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from snapsim.testing import hardware, run_messages
from snapsim.analytical import md1_mean_wait_ticks, message_zero_load_ticks, saturation_payload_gbps
from snapsim.d2d.timing import LinkTiming

FIDS = ["fast", "reference"]


def two_chiplets(**link):
    return hardware({"kind": "mesh2d", "rows": 1, "cols": 2}, **link)


def test_flit_timing_from_config():
    hw = two_chiplets(lanes=64, rate_gtps=32.0, flit_bytes=256, flit_overhead_bytes=16, phy_latency_ns=2.0)
    tm = LinkTiming.from_config(hw.link)
    assert tm.t_flit == 1000  # 256 B over 64 lanes = 32 UI at 31.25 ps
    assert tm.latency == 2000
    assert tm.flits(240 * 8) == 1 and tm.flits(240 * 8 + 1) == 2 and tm.flits(0) == 1
    hw = two_chiplets(lanes=16, rate_gtps=16.0, flit_bytes=68, flit_overhead_bytes=4)
    tm = LinkTiming.from_config(hw.link)
    assert tm.t_flit == math.ceil(math.ceil(68 * 8 / 16) * 1000 / 16)  # 34 UI x 62.5 ps = 2125


@pytest.mark.parametrize("fid", FIDS)
@pytest.mark.parametrize("bits", [1, 480, 481, 60 * 8 * 37, 100_000])
def test_one_message_is_phy_latency_plus_serialization(fid, bits):
    hw = two_chiplets(flit_bytes=64, flit_overhead_bytes=4, phy_latency_ns=3.5)
    tm = LinkTiming.from_config(hw.link)
    n = max(1, math.ceil(math.ceil(bits / 8) / 60))
    done, _ = run_messages(hw, fid, [(1234, 0, 1, bits)])
    assert done[0] - 1234 == tm.latency + n * tm.t_flit
    assert done[0] - 1234 == message_zero_load_ticks([tm], [], bits)


@pytest.mark.parametrize("fid", FIDS)
def test_saturating_stream_reaches_bandwidth_times_framing(fid):
    hw = two_chiplets(lanes=32, rate_gtps=32.0, flit_bytes=256, flit_overhead_bytes=16, rx_buffer_flits=64)
    tm = LinkTiming.from_config(hw.link)
    bits = 240 * 8 * 10  # exactly 10 full flits
    msgs = [(0, 0, 1, bits)] * 300  # everything offered at once: the link never idles
    done, net = run_messages(hw, fid, msgs)
    payload = 300 * bits
    gbps = payload / (max(done) - tm.latency) * 1000
    raw = hw.link.lanes * hw.link.rate_gtps
    assert gbps == pytest.approx(raw * 240 / 256, rel=1e-9)
    assert gbps == pytest.approx(saturation_payload_gbps(tm), rel=1e-9)
    link = net.links[(0, 1)]
    assert link.payload_bits == payload and link.wire_bits == 3000 * 256 * 8


@pytest.mark.parametrize("fid", FIDS)
def test_credit_limited_stream(fid):
    # long PHY latency, tiny buffer: credits bind and cap throughput at C flits per round trip
    hw = two_chiplets(lanes=16, rate_gtps=32.0, flit_bytes=64, flit_overhead_bytes=0, phy_latency_ns=40.0, rx_buffer_flits=4)
    tm = LinkTiming.from_config(hw.link)
    assert tm.credits_bind
    n = 1000
    done, _ = run_messages(hw, fid, [(0, 0, 1, 64 * 8 * n)])
    assert done[0] == message_zero_load_ticks([tm], [], 64 * 8 * n)
    assert done[0] == n * tm.t_flit + tm.latency + ((n - 1) // 4) * (tm.credit_rtt - 4 * tm.t_flit)
    gbps = 64 * 8 * n / done[0] * 1000
    assert gbps == pytest.approx(saturation_payload_gbps(tm), rel=0.02)
    assert gbps < 0.2 * 16 * 32


@pytest.mark.parametrize("fid", FIDS)
def test_multi_hop_adds_per_hop_latency_exactly(fid):
    hw = hardware({"kind": "mesh2d", "rows": 1, "cols": 4}, transit_hops=3, hop_latency_ns=0.5)
    tm = LinkTiming.from_config(hw.link)
    transit = 1500
    for n_flits in (1, 7, 50):
        bits = n_flits * 60 * 8
        lat = [run_messages(hw, fid, [(0, 0, d, bits)])[0][0] for d in (1, 2, 3)]
        hop = tm.t_flit + tm.latency + transit
        assert lat[1] - lat[0] == hop and lat[2] - lat[1] == hop
        assert lat[2] == message_zero_load_ticks([tm] * 3, [transit] * 2, bits)


def test_poisson_arrivals_match_md1_mean_wait():
    hw = two_chiplets()
    tm = LinkTiming.from_config(hw.link)
    n_flits = 8
    service = n_flits * tm.t_flit
    rho = 0.7
    rng = np.random.default_rng(7)
    gaps = rng.exponential(service / rho, size=60_000)
    t = np.cumsum(np.rint(gaps).astype(np.int64))
    done, _ = run_messages(hw, "fast", [(int(x), 0, 1, n_flits * 60 * 8) for x in t])
    wait = np.asarray(done) - t - tm.latency - service
    assert wait.min() >= 0
    expected = md1_mean_wait_ticks(service, rho / service)
    assert wait.mean() == pytest.approx(expected, rel=0.05)


# ------------------------------------------------------------------------------------- link power states

POWER = dict(sleep_after_idle_ns=50.0, wake_latency_ns=8.0, sleep_power_mw=0.5)


@pytest.mark.parametrize("fid", FIDS)
def test_a_sleeping_link_adds_its_wake_latency_once(fid):
    """Asleep from tick 0: the first message pays wake + PHY + serialization; a message within
    sleep_after of the link going idle pays nothing extra; one after it pays the wake again."""
    hw = two_chiplets(flit_bytes=64, flit_overhead_bytes=4, phy_latency_ns=3.5, **POWER)
    tm = LinkTiming.from_config(hw.link)
    assert (tm.sleep_after, tm.wake) == (50_000, 8_000)
    n = 5
    bits = n * 60 * 8
    alone = tm.wake + tm.latency + n * tm.t_flit
    assert message_zero_load_ticks([tm], [], bits) == alone
    free = 1000 + tm.wake + n * tm.t_flit  # lanes free after the first message
    near, far = free + tm.sleep_after, free + tm.sleep_after + 1  # last awake tick, first asleep tick
    done, net = run_messages(hw, fid, [(1000, 0, 1, bits), (near, 0, 1, bits), (far + 10**6, 0, 1, bits)])
    assert done[0] - 1000 == alone
    assert done[1] - near == alone - tm.wake
    assert done[2] - (far + 10**6) == alone
    power = net.links[(0, 1)].server.power
    assert power.wakes == 2
    free2 = near + n * tm.t_flit
    assert power.asleep_ticks == 1000 + (far + 10**6 - (free2 + tm.sleep_after))


@pytest.mark.parametrize("fid", FIDS)
def test_multi_hop_wake_closed_form(fid):
    """Every hop of an idle route wakes as the head arrives: latency = sum(t + L) + transits +
    max_j (wake_0 + ... + wake_j + (n - 1) t_j)."""
    hw = hardware({"kind": "mesh2d", "rows": 1, "cols": 4}, transit_hops=3, hop_latency_ns=0.5, **POWER)
    tm = LinkTiming.from_config(hw.link)
    for n_flits in (1, 7, 50):
        lat = run_messages(hw, fid, [(0, 0, 3, n_flits * 60 * 8)])[0][0]
        assert lat == 3 * (tm.t_flit + tm.latency) + 2 * 1500 + 3 * tm.wake + (n_flits - 1) * tm.t_flit
        assert lat == message_zero_load_ticks([tm] * 3, [1500] * 2, n_flits * 60 * 8)


def test_power_states_config_is_checked():
    from snapsim.config.hardware import LinkConfig

    from snapsim.testing import link_config as link_cfg

    with pytest.raises(ValueError, match="wake_latency_ns is set but sleep_after_idle_ns is not"):
        LinkConfig.model_validate(link_cfg(wake_latency_ns=3.0))
    assert LinkTiming.from_config(LinkConfig.model_validate(link_cfg())).sleep_after is None
