"""The cycle-level router (snapsim.chiplet.router): zero-load latency against its closed form for every
pipeline configuration, agreement with the ideal level where the router cannot block, the channel-load
bound, deadlock freedom of the routings, and the allocators."""

from __future__ import annotations

import itertools

import pytest

from snapsim.chiplet.router import Packet, RouterFabric, _islip, _separable, zero_load_cycles
from snapsim.config.load import load_hardware
from snapsim.noc.bounds import pair_weights, throughput_bound
from snapsim.noc.levels import IdealLevel, RouterLevel
from snapsim.package import Package
from snapsim.resources import HWCONFIGS

NOC = HWCONFIGS / "noc" / "reference-mesh4.yaml"


def noc_hw(**over):
    return load_hardware(NOC, over)


def single(hw, src, dst, flits, created=0):
    fab = RouterFabric.from_package(Package(hw))
    p = Packet(0, src, dst, flits, created)
    fab.run(created)
    fab.inject(p)
    fab.run_until_idle(10_000)
    return fab, p


def test_inject_many_stops_at_a_packet_from_the_past_and_keeps_the_earlier_ones():
    """A packet created before the fabric's cycle is refused; those before it in the block are queued and
    counted, so the fabric still delivers them and then is idle."""
    fab = RouterFabric.from_package(Package(noc_hw()))
    fab.run(10)
    ok = [Packet(0, 0, 5, 2, 10), Packet(1, 3, 12, 1, 11)]
    with pytest.raises(ValueError, match="before the fabric's cycle 10"):
        fab.inject_all(ok + [Packet(2, 1, 2, 1, 9), Packet(3, 2, 3, 1, 12)])
    assert fab.pending == 3
    fab.run_until_idle(10_000)
    assert fab.idle and sorted(p.id for p in fab.delivered) == [0, 1]


PIPELINES = [
    dict(R=r, V=v, S=s, T=t, spec=sp)
    for r, v, s, t, sp in itertools.product((0, 1, 2), (1, 2), (1, 2), (1, 2), (False, True))
]


@pytest.mark.parametrize("pipe", PIPELINES, ids=lambda p: "R{R}V{V}S{S}T{T}{x}".format(x="spec" if p["spec"] else "", **p))
def test_zero_load_exact_every_pipeline(pipe):
    hw = noc_hw(**{"topology.rows": 3, "topology.cols": 3, "chiplet.router.routing_delay_cycles": pipe["R"],
                   "chiplet.router.vc_alloc_delay_cycles": pipe["V"], "chiplet.router.sw_alloc_delay_cycles": pipe["S"],
                   "chiplet.router.switch_traversal_delay_cycles": pipe["T"], "chiplet.router.speculative": pipe["spec"]})
    for s, d in itertools.product(range(9), range(9)):
        for flits in (1, 3):
            fab, p = single(hw, s, d, flits, created=5)
            assert p.arrived - p.created == zero_load_cycles(fab.cfg, fab.path_channels(s, d), flits), (s, d, flits)


@pytest.mark.parametrize("over", [
    {},
    {"link.phy_latency_ns": 3.0, "link.rate_gtps": 0.5},  # 2-cycle flits, 3-cycle wire
    {"chiplet.router.injection_cycles_per_flit": 2, "chiplet.router.terminal_latency_cycles": 1,
     "chiplet.router.nic_delay_cycles": 3},
    {"topology.kind": "torus2d"},
    {"topology.routing": "yx"},
    {"topology.routing": "west_first"},
    {"topology.routing": "odd_even"},
], ids=["reference", "slow-link", "terminal", "torus", "yx", "west-first", "odd-even"])
def test_zero_load_exact_channels_and_routings(over):
    hw = noc_hw(**over)
    for s, d in itertools.product(range(16), range(16)):
        fab, p = single(hw, s, d, 4)
        assert p.arrived - p.created == zero_load_cycles(fab.cfg, fab.path_channels(s, d), 4), (s, d)


def test_reference_zero_load_formula():
    """The shared reference's T0 = 2 + 5 H + (P - 1), H = routers crossed."""
    hw = noc_hw()
    topo = Package(hw).topology
    for s, d in itertools.product(range(16), range(16)):
        H = len(topo.route(s, d))
        for flits in (1, 4):
            _fab, p = single(hw, s, d, flits)
            assert p.arrived - p.created == 2 + 5 * H + flits - 1


def test_table_routing_on_an_edge_list():
    hw = noc_hw(**{"topology": {"kind": "edges", "chiplets": 5, "edges": [[0, 1], [1, 2], [2, 3], [1, 4], [4, 3]]}})
    for s, d in itertools.product(range(5), range(5)):
        fab, p = single(hw, s, d, 2)
        assert p.arrived - p.created == zero_load_cycles(fab.cfg, fab.path_channels(s, d), 2)


def _run_level(level, packets, until=100_000):
    by_time = sorted(range(len(packets)), key=lambda i: packets[i][3])
    for i in by_time:
        src, dst, flits, t = packets[i]
        level.inject(src, dst, flits, t, i)
    level.run(until)
    return {tag: (created, injected, arrived) for created, injected, arrived, _f, tag in level.take_delivered()}


def test_ideal_and_router_agree_where_the_router_cannot_block():
    """Single packets on every pair, and conflict-free streams (each flow owns its links and ports): the
    two levels agree to the cycle, packet by packet, injection included."""
    hw = noc_hw()
    packets = [(s, d, 4, 10 * k) for k, (s, d) in enumerate(itertools.product(range(16), range(16)))]
    assert _run_level(RouterLevel(hw), packets) == _run_level(IdealLevel(hw), packets)
    # streams: (x, y) -> (x + 1, y) for x < 3, 30 packets each of 4 and 1 flits, one every 8 cycles (a packet
    # is through a router before the next arrives: back-to-back packets of one flow take different VCs and
    # interleave flit by flit at the router, which the ideal switch does not model)
    flows = [(y * 4 + x, y * 4 + x + 1) for y in range(4) for x in range(3)]
    packets = [(s, d, 4 if k % 3 else 1, 8 * k) for k in range(30) for s, d in flows]
    r = _run_level(RouterLevel(hw), packets)
    i = _run_level(IdealLevel(hw), packets)
    assert len(r) == len(packets) and r == i


def test_router_blocks_where_the_ideal_switch_does_not():
    """Two flows into one output: the ideal switch serves whole messages in arrival order, the router
    interleaves flits of both VCs; both deliver everything, neither beats its zero-load latency."""
    hw = noc_hw()
    packets = [(1, 2, 8, 0), (3, 2, 8, 0)]  # from the west and the east into router 2, same cycles
    r = _run_level(RouterLevel(hw), packets)
    i = _run_level(IdealLevel(hw), packets)
    lvl = RouterLevel(hw)
    for tag, (s, d, f, t) in enumerate(packets):
        assert r[tag][2] - t >= lvl.zero_load_cycles(s, d, f)
    assert r != i


def _mixed_run(hw, rate: float, seed: int, until: int, setup) -> list:
    """Uniform traffic of 1- and 4-flit packets for 3,000 cycles on a 3x3 router level (``setup(fabric)``
    first), run to cycle ``until``; every delivery, by tag."""
    from snapsim.noc.traffic import PacketSizes, Traffic

    lvl = RouterLevel(hw)
    setup(lvl.fabric)
    tr = Traffic("uniform", 9, rate, PacketSizes((1, 4), (0.5, 0.5)), rows=3, cols=3, seed=seed)
    for a, b, cyc, src, dst, size in tr.blocks(0, 3000, 500):
        for t, s, d, z in zip(cyc.tolist(), src.tolist(), dst.tolist(), size.tolist()):
            lvl.inject(s, d, z, t, (t, s))
        lvl.run(b)
    lvl.run(until)
    return sorted(lvl.take_delivered(), key=lambda x: x[4])


def test_fast_paths_equal_the_general_allocators():
    """The shortcuts for uncontended requests give the same run as the general allocator, flit for flit."""
    hw = noc_hw(**{"topology.rows": 3, "topology.cols": 3})

    def run(general):
        return _mixed_run(hw, 0.15, 3, 5000, lambda fab: setattr(fab, "general", general))

    fast, general = run(False), run(True)
    assert len(fast) > 1000 and fast == general


@pytest.mark.parametrize("over", [
    {"topology.kind": "torus2d", "chiplet.router.vcs_per_port": 2, "chiplet.router.buffer_flits_per_vc": 2},
    {"topology.routing": "odd_even", "chiplet.router.vcs_per_port": 1, "chiplet.router.buffer_flits_per_vc": 2},
    {"topology.routing": "west_first", "chiplet.router.vcs_per_port": 1, "chiplet.router.buffer_flits_per_vc": 2},
    {"chiplet.router.flow_control": "virtual_cut_through", "chiplet.router.vc_reallocation": "empty"},
], ids=["torus-dateline", "odd-even", "west-first", "vct-atomic"])
def test_no_deadlock_under_overload(over):
    """Far past saturation with few VCs and short buffers, every packet still arrives (dateline classes on
    the torus, turn models on the mesh)."""
    from snapsim.noc.traffic import PacketSizes, Traffic

    hw = noc_hw(**over)
    lvl = RouterLevel(hw)
    tr = Traffic("uniform", 16, 0.5, PacketSizes((2,), (1.0,)), rows=4, cols=4, seed=1)
    n = 0
    for a, b, cyc, src, dst, size in tr.blocks(0, 600, 200):
        for t, s, d, z in zip(cyc.tolist(), src.tolist(), dst.tolist(), size.tolist()):
            lvl.inject(s, d, z, t)
            n += 1
        lvl.run(b)
    lvl.fabric.run_until_idle(200_000)
    assert lvl.fabric.idle and len(lvl.take_delivered()) == n


def test_torus_needs_even_vcs():
    from snapsim.errors import SnapsimError

    with pytest.raises(SnapsimError, match="even vcs_per_port"):
        RouterLevel(noc_hw(**{"topology.kind": "torus2d", "chiplet.router.vcs_per_port": 3}))


def test_channel_load_bound_of_a_mesh():
    """Uniform traffic on a k x k mesh (self included): 4/k; the bound reads the routes."""
    for k in (4, 8):
        lvl = RouterLevel(noc_hw(**{"topology.rows": k, "topology.cols": k}))
        bound, why = throughput_bound(lvl.fabric, pair_weights("uniform", k * k, k, k))
        assert bound == pytest.approx(4 / k) and why == "channel load"


def test_islip_one_iteration_textbook_case():
    """Two inputs both requesting outputs 0 and 1, pointers at 0: both outputs grant input 0, which accepts
    output 0; input 1 gets nothing in one iteration, and does in two."""
    g, a = [0, 0], [0, 0]
    assert _islip({0: [0, 1], 1: [0, 1]}, g, a, 2, 2, 1, 0, 0) == {0: 0}
    assert g == [1, 0] and a == [1, 0]
    g, a = [0, 0], [0, 0]
    assert _islip({0: [0, 1], 1: [0, 1]}, g, a, 2, 2, 2, 0, 0) == {0: 0, 1: 1}
    # next cycle (pointers moved): output 0 grants input 1, output 1 input 0: a full match
    assert _islip({0: [0, 1], 1: [0, 1]}, g, a, 2, 2, 1, 0, 0) == {0: 1, 1: 0}


def test_separable_round_robin():
    i, o = [0, 0], [0, 0]
    # both inputs pick output 0 first; output 0 grants input 0; pointers move past the winners
    assert _separable({0: [0, 1], 1: [0, 1]}, o, i, 2, 2, 0, 0) == {0: 0}
    assert i == [1, 0] and o == [1, 0]


def _islip_textbook(reqs, gptr, aptr, n_in, n_out, iters, ibase, obase):
    """iSLIP as defined: each iteration, every unmatched output grants the first unmatched requester at or
    after its pointer, then every input accepts the first granting output at or after its pointer; pointers
    move past accepted grants of the first iteration."""
    def first_from(items, start):
        later = [x for x in sorted(items) if x >= start]
        return later[0] if later else min(items)

    inmatch, outmatch = {}, {}
    outputs = sorted({o for v in reqs.values() for o in v})
    for it in range(iters):
        grants = {}
        for o in outputs:
            if o in outmatch:
                continue
            ins = [i for i in sorted(reqs) if o in reqs[i] and i not in inmatch]
            if ins:
                grants.setdefault(first_from(ins, gptr[o]), []).append(o)
        if not grants:
            break
        for i in sorted(grants):
            o = first_from(grants[i], aptr[i])
            inmatch[i], outmatch[o] = o, i
            if it == 0:
                gptr[o] = ibase + (i - ibase + 1) % n_in
                aptr[i] = obase + (o - obase + 1) % n_out
    return inmatch


def _separable_textbook(reqs, optr, iptr, n_in, n_out, ibase, obase):
    picked = {}
    for i in sorted(reqs):
        later = [o for o in reqs[i] if o >= iptr[i]]
        picked.setdefault(min(later) if later else min(reqs[i]), []).append(i)
    match = {}
    for o in sorted(picked):
        later = [i for i in picked[o] if i >= optr[o]]
        i = min(later) if later else min(picked[o])
        match[i] = o
        iptr[i] = obase + (o - obase + 1) % n_out
        optr[o] = ibase + (i - ibase + 1) % n_in
    return match


@pytest.mark.parametrize("seed", range(4))
def test_allocators_match_their_definitions(seed):
    """_islip (grants worked out lazily, during the inputs' accept scans) and _separable give the matching,
    its order and the pointer moves of the textbook algorithms, on random requests, pointers, index ranges
    (a router's ports or VCs start anywhere) and iteration counts; uniform and one-output requests (the
    shortcuts) included."""
    import random

    rng = random.Random(seed)
    for _ in range(3000):
        n_in, n_out = rng.randint(1, 7), rng.randint(1, 7)
        ib, ob = rng.randint(0, 30), rng.randint(0, 30)
        ins = rng.sample(range(ib, ib + n_in), rng.randint(1, n_in))
        shape = rng.random()
        if shape < 0.25:
            same = sorted(rng.sample(range(ob, ob + n_out), rng.randint(1, n_out)))
            reqs = {i: list(same) for i in ins}
        elif shape < 0.5:
            reqs = {i: [rng.randrange(ob, ob + n_out)] for i in ins}
        else:
            reqs = {i: sorted(rng.sample(range(ob, ob + n_out), rng.randint(1, n_out))) for i in ins}
        g = [0] * ob + [rng.randrange(ib, ib + n_in) for _ in range(n_out)]
        a = [0] * ib + [rng.randrange(ob, ob + n_out) for _ in range(n_in)]
        iters = rng.randint(1, 3)
        g1, a1, g2, a2 = list(g), list(a), list(g), list(a)
        got = _islip(reqs, g1, a1, n_in, n_out, iters, ib, ob)
        want = _islip_textbook(reqs, g2, a2, n_in, n_out, iters, ib, ob)
        assert list(got.items()) == list(want.items()) and g1 == g2 and a1 == a2, (reqs, g, a, iters)
        g1, a1, g2, a2 = list(g), list(a), list(g), list(a)
        got = _separable(reqs, g1, a1, n_in, n_out, ib, ob)
        want = _separable_textbook(reqs, g2, a2, n_in, n_out, ib, ob)
        assert list(got.items()) == list(want.items()) and g1 == g2 and a1 == a2, (reqs, g, a)


@pytest.mark.parametrize("realloc", ["tail_sent", "empty"])
def test_the_usual_switch_allocation_equals_the_general_one(realloc):
    """_sa_plain (1-cycle SA, no speculation, no channel waits) is a shortcut of _sa and _send for the usual
    case (both hand a sent flit to _sent): with it turned off the same traffic must give the same run."""
    hw = noc_hw(**{"topology.rows": 3, "topology.cols": 3, "chiplet.router.vc_reallocation": realloc,
                   "chiplet.router.vcs_per_port": 2, "chiplet.router.buffer_flits_per_vc": 3})

    def run(plain):
        def setup(fab):
            assert fab.sa_plain
            fab.sa_plain = plain
        return _mixed_run(hw, 0.3, 5, 8000, setup)

    plain, general = run(True), run(False)
    assert len(plain) > 1500 and plain == general
