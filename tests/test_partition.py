"""The partitioner (snapsim/partition.py): MAC-balanced cuts, the capacity rule (the fewest dies whose SRAM
holds the weights, MACs balanced among such splits; weights balanced and the rest streamed when capped),
and capacity splits planned on a hardware."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snapsim.chiplet import Memory
from snapsim.config import load_hardware, load_workload
from snapsim.engine import Simulation
from snapsim.errors import SnapsimError
from snapsim.partition import balanced_cuts, capacity_cuts, needed, partitions_needed, split, split_at
from snapsim.plan import Plan
from snapsim.resources import HWCONFIGS, WORKLOADS


def _splits(n: int, parts: int):
    for cuts in itertools.combinations(range(1, n), parts - 1):
        yield list(cuts)


def _sums(costs, cuts):
    return [sum(g) for g in split_at(costs, cuts)]


@pytest.mark.parametrize("costs,parts", [([3, 1, 4, 1, 5, 9, 2, 6], 3), ([5, 5, 5, 5], 2), ([1, 2, 3, 4, 5], 5),
                                         ([10, 1, 1, 1, 1, 10], 4)])
def test_balanced_cuts_minimise_the_largest_part(costs, parts):
    best = min(max(_sums(costs, c)) for c in _splits(len(costs), parts))
    cuts = balanced_cuts(costs, parts)
    assert len(cuts) == parts - 1 and max(_sums(costs, cuts)) == pytest.approx(best)


def test_capacity_cuts_use_the_fewest_parts_that_fit_and_balance_macs_among_them():
    weights = [4, 4, 4, 4, 4, 4]
    macs = [1, 1, 1, 1, 1, 10]
    assert partitions_needed(weights, 8) == 3
    cuts = capacity_cuts(weights, macs, 8, max_parts=16)
    assert len(cuts) == 2 and all(w <= 8 for w in _sums(weights, cuts))
    # among the 3-part splits that fit, the largest MAC sum is the smallest possible
    fitting = [c for c in _splits(6, 3) if all(w <= 8 for w in _sums(weights, c))]
    assert max(_sums(macs, cuts)) == min(max(_sums(macs, c)) for c in fitting)


def test_capacity_cuts_capped_balance_the_weights():
    weights = [8, 1, 1, 1, 1, 8]
    assert partitions_needed(weights, 4) == 3  # 8 alone (over the capacity), 1+1+1+1, 8 alone
    cuts = capacity_cuts(weights, [1] * 6, 4, max_parts=2)
    assert len(cuts) == 1 and _sums(weights, cuts) == [10, 10]  # the excess streams, split evenly
    assert capacity_cuts(weights, [1] * 6, 100, max_parts=4) == []  # fits on one die


def test_a_capacity_workload_takes_the_dies_its_weights_need():
    hw = load_hardware(HWCONFIGS / "packages" / "xsr-serdes-4x4.yaml")
    sram = Memory(hw.chiplet).sram_bits
    for model, dies in (("resnet18", 1), ("vgg16", 3), ("vit-b16", 2), ("rwkv-0.17b", 6)):
        wl = load_workload(WORKLOADS / "zoo" / f"{model}_p16.yaml", {"partition": {"capacity": {"max_count": 16}}})
        parts = split(wl, hw)
        assert len(parts) == needed(wl, hw) == dies, model
        bits = 16 if wl.precision == "bf16" else 8
        # every partition fits, but a single stage larger than a die (VGG-16's fc6: 103M weights) on its own
        assert all(sum(s.weight_params for s in p) * bits <= sram or len(p) == 1 for p in parts), model
        plan = Plan.build(hw, wl, "ann")
        assert len(plan.partitions) == dies and len(plan.boundaries) == dies - 1
    big = load_workload(WORKLOADS / "zoo" / "rwkv-1.5b_p16.yaml", {"partition": {"capacity": {"max_count": 16}}})
    assert needed(big, hw) > 16 and len(split(big, hw)) == 16  # capped: the rest streams from HBM
    half = load_workload(WORKLOADS / "zoo" / "vit-b16_p16.yaml",
                         {"partition": {"capacity": {"max_count": 16, "sram_fraction": 0.5}}})
    assert len(split(half, hw)) == 4


def test_a_capacity_workload_needs_the_hardware_for_its_count():
    wl = load_workload(WORKLOADS / "zoo" / "resnet18_p16.yaml", {"partition": {"capacity": {"max_count": 4}}})
    with pytest.raises(SnapsimError, match="picks the partition count from the hardware"):
        wl.n_partitions
    hw = load_hardware(HWCONFIGS / "packages" / "xsr-serdes-4x4.yaml")
    r = Simulation.build(hw, wl, "snap").run()
    assert r.data["partitions"] == 1 and r.data["d2d_bits_per_inf"] == 0  # one die: no boundary at all
    bad = load_workload(WORKLOADS / "zoo" / "resnet18_p16.yaml",
                        {"partition": {"capacity": {"max_count": 4}}, "boundaries": {"3": {"firing_rate": 0.2}}})
    with pytest.raises(SnapsimError, match="boundaries: index 3 is not a boundary"):
        Plan.build(hw, bad, "snap")


def test_exactly_one_partition_rule(tmp_path):
    from snapsim.config.workload import PartitionSpec

    with pytest.raises(ValueError, match="exactly one of count, after or capacity"):
        PartitionSpec.model_validate({"count": 2, "capacity": {"max_count": 4}})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.integers(0, 50), st.floats(0, 50, allow_nan=False)), min_size=1, max_size=40),
       st.floats(0, 200, allow_nan=False))
def test_the_one_limit_greedy_takes_the_general_greedys_cuts(costs, limit):
    """The greedy split runs one limit (what the bisection of balanced_cuts calls) on a plain running sum:
    the same cuts as the general loop (here given the same limit twice), zero costs and single items over
    the limit included."""
    from snapsim.partition import _greedy

    assert _greedy([(costs, limit)], len(costs)) == _greedy([(costs, limit), (costs, limit)], len(costs))
