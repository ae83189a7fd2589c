"""The fast (message-aggregate) link model equals the reference (flit-per-event) model to the tick,
and both equal the plain-Python flit recurrence, on randomized cases."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from snapsim.testing import hardware, run_messages
from snapsim.analytical import message_recurrence
from snapsim.d2d.timing import LinkTiming

link_params = st.fixed_dictionaries(
    {
        "lanes": st.sampled_from([1, 4, 8, 16, 64]),
        "rate_gtps": st.sampled_from([2.0, 6.4, 16.0, 32.0, 56.0]),
        "flit_bytes": st.sampled_from([16, 64, 68, 256]),
        "phy_latency_ns": st.sampled_from([0.0, 0.5, 2.0, 20.0, 80.0]),
        "rx_buffer_flits": st.integers(1, 40),
    }
)
# link power states: none (always on), or asleep after an idle time with a wake latency
power_params = st.one_of(
    st.just({}),
    st.fixed_dictionaries({"sleep_after_idle_ns": st.sampled_from([0.0, 3.0, 40.0, 500.0]),
                           "wake_latency_ns": st.sampled_from([0.0, 0.5, 7.0, 120.0]),
                           "sleep_power_mw": st.just(1.0)}),
)

messages = st.lists(
    st.tuples(st.integers(0, 200_000), st.integers(0, 3), st.integers(0, 3), st.integers(0, 20_000)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(link_params, messages, st.sampled_from(["mesh2d", "ring"]), st.integers(0, 4), power_params)
def test_fast_equals_reference_on_random_traffic(params, msgs, topo, transit, power):
    params = dict(params, flit_overhead_bytes=min(4, params["flit_bytes"] - 1), **power)
    topology = {"kind": "mesh2d", "rows": 2, "cols": 2} if topo == "mesh2d" else {"kind": "ring", "chiplets": 4}
    hw = hardware(topology, transit_hops=transit, **params)
    msgs = [(t, s, d if d != s else (s + 1) % 4, b) for t, s, d, b in msgs]
    fast, net_f = run_messages(hw, "fast", msgs)
    ref, net_r = run_messages(hw, "reference", msgs)
    assert fast == ref
    for key, lf in net_f.links.items():
        lr = net_r.links[key]
        assert (lf.flits, lf.busy_ticks, lf.wire_bits, lf.payload_bits) == (lr.flits, lr.busy_ticks, lr.wire_bits, lr.payload_bits)
        pf, pr = lf.server.power, lr.server.power
        assert (pf.last_free, pf.asleep_total(10**15), pf.wakes) == (pr.last_free, pr.asleep_total(10**15), pr.wakes)


@settings(max_examples=60, deadline=None)
@given(link_params, st.lists(st.tuples(st.integers(0, 50_000), st.integers(0, 30_000)), min_size=1, max_size=20),
       st.integers(1, 3), st.integers(0, 4), power_params)
def test_single_flow_equals_plain_recurrence(params, msgs, hops, transit_hops, power):
    params = dict(params, flit_overhead_bytes=min(4, params["flit_bytes"] - 1), **power)
    hw = hardware({"kind": "mesh2d", "rows": 1, "cols": 4}, transit_hops=transit_hops, hop_latency_ns=0.5, **params)
    tm = LinkTiming.from_config(hw.link)
    msgs = sorted(msgs)
    done, _ = run_messages(hw, "fast", [(t, 0, hops, b) for t, b in msgs])
    expect = message_recurrence([tm] * hops, [transit_hops * 500] * (hops - 1), msgs)
    assert done == expect


@settings(max_examples=40, deadline=None)
@given(link_params, messages)
def test_every_message_arrives_once_and_bits_are_conserved(params, msgs):
    params = dict(params, flit_overhead_bytes=min(4, params["flit_bytes"] - 1))
    hw = hardware({"kind": "fully_connected", "chiplets": 4}, **params)
    msgs = [(t, s, d if d != s else (s + 1) % 4, b) for t, s, d, b in msgs]
    for fid in ("fast", "reference"):
        done, net = run_messages(hw, fid, msgs)
        assert all(d >= t for d, (t, *_r) in zip(done, msgs))
        sent = sum(b for _t, _s, _d, b in msgs)
        assert sum(l.payload_bits for l in net.links.values()) == sent  # one hop each on a full graph
        assert sum(l.messages for l in net.links.values()) == len(msgs)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 100_000), st.integers(0, 2), st.integers(0, 20_000)), min_size=1, max_size=15))
def test_reframing_across_links_with_other_flit_sizes(msgs):
    from snapsim.config.hardware import HardwareConfig

    from snapsim.testing import link_config as link_cfg

    base = hardware({"kind": "mesh2d", "rows": 1, "cols": 3}, transit_hops=2)
    wide = link_cfg(name="wide", flit_bytes=256, flit_overhead_bytes=16, lanes=32)
    hw = HardwareConfig.model_validate({**base.model_dump(), "links": [{"between": [1, 2], "link": wide}]})
    traffic = [(t, s, 2 if s != 2 else 0, b) for t, s, b in msgs]
    fast, net = run_messages(hw, "fast", traffic)
    ref, _ = run_messages(hw, "reference", traffic)
    assert fast == ref
    assert net.links[(1, 2)].timing.flit_bits == 256 * 8 and net.links[(0, 1)].timing.flit_bits == 64 * 8
    for (t, s, d, b), done in zip(traffic, fast):
        assert done > t
