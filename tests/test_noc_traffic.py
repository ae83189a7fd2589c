"""Synthetic traffic (snapsim.noc.traffic): patterns, injection processes, packet sizes, traces."""

from __future__ import annotations

import numpy as np
import pytest

from snapsim.errors import SnapsimError
from snapsim.noc.traffic import PacketSizes, Traffic, destinations, parse_sizes, read_trace

RNG = np.random.default_rng(0)
SRC = np.arange(16)


def dst(pattern, rows=4, cols=4, n=16):
    return destinations(pattern, SRC[:n], n, rows, cols, RNG).tolist()


def test_permutations():
    assert dst("bitcomp") == [15 - s for s in range(16)]
    assert dst("bitrev")[1] == 8 and dst("bitrev")[3] == 12
    assert dst("shuffle")[8] == 1 and dst("shuffle")[3] == 6
    tr = dst("transpose")
    assert tr[1] == 4 and tr[7] == 13 and tr[5] == 5  # (x=1,y=0) -> (x=0,y=1)
    assert dst("neighbor")[0] == 5 and dst("neighbor")[15] == 0
    assert dst("tornado")[0] == 5  # ceil(4/2) - 1 = 1 in each dimension
    for p in ("bitcomp", "bitrev", "shuffle", "transpose", "neighbor", "tornado"):
        assert sorted(dst(p)) == list(range(16)), p


def test_uniform_includes_self_and_hotspot_share():
    d = destinations("uniform", np.zeros(160_000, dtype=np.int64), 16, 4, 4, np.random.default_rng(1))
    assert np.bincount(d, minlength=16).min() > 9_000  # every terminal, the source included
    h = destinations("hotspot", np.zeros(100_000, dtype=np.int64), 16, 4, 4, np.random.default_rng(2), (3,), 0.2)
    assert (h == 3).mean() == pytest.approx(0.2 + 0.8 / 16, abs=0.01)


@pytest.mark.parametrize("pattern,rows,cols,n,msg", [
    ("transpose", 2, 4, 8, "square"), ("bitrev", None, None, 12, "power-of-two"), ("tornado", None, None, 16, "mesh2d"),
])
def test_pattern_needs(pattern, rows, cols, n, msg):
    with pytest.raises(SnapsimError, match=msg):
        destinations(pattern, SRC[:2], n, rows, cols, RNG)


def _rate(tr, cycles=20_000):
    counts = np.zeros(cycles)
    total = 0
    for a, b, cyc, src, dst_, size in tr.blocks(0, cycles, 1000):
        total += len(cyc)
        np.add.at(counts, cyc, 1)
    return total / (cycles * tr.nodes), counts


def test_bernoulli_and_onoff_mean_rates():
    b, cb = _rate(Traffic("uniform", 16, 0.2, rows=4, cols=4, seed=3))
    o, co = _rate(Traffic("uniform", 16, 0.2, PacketSizes((2,), (1.0,)), "onoff", 4, 4, seed=3, burst_cycles=16))
    assert b == pytest.approx(0.2, rel=0.03) and o == pytest.approx(0.2, rel=0.1)
    win = lambda c: c.reshape(-1, 100).sum(1).var()  # noqa: E731
    assert win(co) > 2 * win(cb)  # bursts: far more variance than Bernoulli at the same mean


def test_same_seed_same_packets():
    def pk(seed):
        return [np.concatenate(x) for x in zip(*[blk[2:] for blk in Traffic("uniform", 16, 0.3, seed=seed,
                                                                              rows=4, cols=4).blocks(0, 3000, 500)])]
    a, b, c = pk(1), pk(1), pk(2)
    assert all((x == y).all() for x, y in zip(a, b)) and not all(len(x) == len(y) and (x == y).all() for x, y in zip(a, c))


def test_sizes():
    assert parse_sizes("4").mean == 4
    s = parse_sizes("1:0.75,5:0.25")
    assert s.mean == pytest.approx(2.0)
    assert s.draw(np.random.default_rng(0), 40_000).mean() == pytest.approx(2.0, rel=0.02)
    for bad in ("0", "x", "1:0.5,2:0.4", "1:0.5:3"):
        with pytest.raises(SnapsimError):
            parse_sizes(bad)


def test_trace(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("# c s d f\n5 1 2 3\n0,0,1,1\n")
    rows = read_trace(p)
    assert rows.tolist() == [[0, 0, 1, 1], [5, 1, 2, 3]]
    tr = Traffic("uniform", 4, 0.0, process="trace", trace=rows)
    got = [blk[2:] for blk in tr.blocks(0, 10, 3)]
    assert [c.tolist() for c, *_ in got] == [[0], [5], [], []]
    p.write_text("1 2 3\n")
    with pytest.raises(SnapsimError, match=":1:"):
        read_trace(p)
