"""The router level against the shared BookSim2 reference (tests/data/noc-reference, copied with
provenance), and on meshes and patterns the reference does not cover, against the closed forms.

The runs use the reference's methodology with shorter sample periods (2,000 cycles instead of 10,000) to
keep the suite quick; `snapsim noc` with the default periods gives the full-length figures.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from snapsim.config.load import load_hardware
from snapsim.noc import Methodology, PacketSizes, analytical, curve_point
from snapsim.resources import HWCONFIGS

DATA = Path(__file__).parent / "data" / "noc-reference"
NOC = HWCONFIGS / "noc" / "reference-mesh4.yaml"
QUICK = Methodology(sample_period_cycles=2_000)
SATURATION = 0.78  # README: accepted rate levels off at 0.78 flits/node/cycle (P = 1 and P = 4)


def reference(name: str) -> dict[float, dict]:
    with open(DATA / name, newline="") as fh:
        return {float(r["offered_flit_rate"]): r for r in csv.DictReader(fh)}


def test_reference_saturation_in_data():
    rows = reference("mesh4_p1.csv")
    assert float(rows[1.0]["accepted_flit_rate"]) == pytest.approx(SATURATION, abs=0.005)


@pytest.mark.parametrize("flits,load", [(1, 0.3), (1, 0.6), (1, 0.7), (4, 0.4), (4, 0.64)])
def test_latency_within_10_percent_of_reference(flits, load):
    """Latency within 10% at loads up to 90% of the reference's saturation (0.9 x 0.78 = 0.70)."""
    assert load <= 0.9 * SATURATION + 1e-9
    ref = reference(f"mesh4_p{flits}.csv")[load]
    hw = load_hardware(NOC)
    pt = curve_point(hw, load, sizes=PacketSizes((flits,), (1.0,)), method=QUICK)
    want = float(ref["avg_packet_latency"])
    assert pt["stable"]
    assert pt["packet_latency_cycles_mean"] == pytest.approx(want, rel=0.10)
    assert pt["accepted_flits_per_node_cycle"] == pytest.approx(load, rel=0.03)


def test_saturation_within_5_percent_of_reference():
    hw = load_hardware(NOC)
    pt = curve_point(hw, 0.95, method=Methodology(sample_period_cycles=1_000, max_samples=7))
    assert not pt["stable"]  # past saturation the latency test fails, the throughput run measures
    assert pt["accepted_flits_per_node_cycle"] == pytest.approx(SATURATION, rel=0.05)


def test_8x8_uniform_against_closed_forms():
    """Not tuned on: 8x8. Low-load latency equals the zero-load closed form within queueing noise; the
    saturation throughput stays under the 4/k = 0.5 channel-load bound and, as published for input-queued
    VC routers with separable allocators, within roughly 75-90% of it."""
    hw = load_hardware(NOC, {"topology.rows": 8, "topology.cols": 8})
    ana = analytical(hw)
    assert ana["throughput_bound_flits_per_node_cycle"] == pytest.approx(0.5)
    low = curve_point(hw, 0.02, method=Methodology(sample_period_cycles=500))
    assert low["packet_latency_cycles_mean"] == pytest.approx(ana["zero_load_latency_cycles"], rel=0.02)
    sat = curve_point(hw, 0.6, method=Methodology(sample_period_cycles=500, warmup_periods=2, max_samples=5))
    acc = sat["accepted_flits_per_node_cycle"]
    assert 0.6 * 0.5 <= acc <= 0.5


@pytest.mark.parametrize("pattern", ["transpose", "bitcomp"])
def test_4x4_permutations_against_closed_forms(pattern):
    hw = load_hardware(NOC)
    ana = analytical(hw, pattern=pattern)
    bound = ana["throughput_bound_flits_per_node_cycle"]
    low = curve_point(hw, 0.05, pattern=pattern, method=Methodology(sample_period_cycles=1_000))
    assert low["packet_latency_cycles_mean"] == pytest.approx(ana["zero_load_latency_cycles"], rel=0.03)
    # the bound is the largest load every flow can be offered: past it the network saturates; the flows
    # through the busiest channel (the lowest terminal) get at most the bound, while flows that avoid it
    # (a terminal sending to itself) may get more, so the mean accepted rate is no bound there
    below = curve_point(hw, 0.8 * bound, pattern=pattern, method=Methodology(sample_period_cycles=1_000))
    assert below["stable"]
    over = curve_point(hw, min(1.0, 1.3 * bound), pattern=pattern, method=Methodology(sample_period_cycles=1_000))
    assert not over["stable"]
    assert over["accepted_flits_per_node_cycle_min"] <= bound * 1.01
