"""How a workload's stages split into contiguous partitions, one per die (or per tensor-parallel group).

Three ways (``partition:`` in a workload file):

* ``count: P``: P partitions balancing MACs (the largest partition's MACs minimised), :func:`balanced_cuts`;
* ``after: [...]``: the stage names that end each partition;
* ``capacity: {max_count, sram_fraction}``: the die count a model needs, from the dies' SRAM
  (:func:`capacity_cuts`): the fewest partitions whose weights each fit in ``sram_fraction`` of a die's
  SRAM (times the tensor-parallel degree), MACs balanced among such splits; when that is more than
  ``max_count`` (or than the stages or the dies available), the weights are balanced over the partitions
  there are and what does not fit streams from DRAM (:mod:`snapsim.chiplet.memory`). So model size
  drives the die count, and with it the number of die boundaries.

The cut algorithms are pure functions of lists; :func:`split` applies a workload's rule on a hardware.
"""

from __future__ import annotations

from typing import Any, Sequence

__all__ = ["balanced_cuts", "capacity_cuts", "needed", "partitions_needed", "split", "split_at"]


def split_at(items: Sequence[Any], cuts: Sequence[int]) -> list[list[Any]]:
    """``items`` cut before each index of ``cuts`` (increasing)."""
    bounds = [0, *cuts, len(items)]
    return [list(items[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _greedy(limits: Sequence[tuple[Sequence[float], float]], n: int) -> list[int]:
    """Cuts of a left-to-right greedy split: a partition grows while every ``(costs, limit)`` sum stays within
    its limit (a single item over a limit gets a partition of its own; items of zero cost join the partition
    before them). For additive costs this gives the fewest partitions that respect every limit. One limit
    (what :func:`balanced_cuts` bisects on, ~40 calls a plan) runs the same steps on a plain running sum."""
    cuts: list[int] = []
    if len(limits) == 1:
        ((costs, limit),) = limits
        total = 0.0
        for i in range(n):
            if total + costs[i] > limit and total > 0:
                cuts.append(i)
                total = 0.0
            total += costs[i]
        return cuts
    acc = [0.0] * len(limits)
    for i in range(n):
        over = any(acc[j] + costs[i] > limit for j, (costs, limit) in enumerate(limits))
        if over and any(a > 0 for a in acc):
            cuts.append(i)
            acc = [0.0] * len(limits)
        for j, (costs, _limit) in enumerate(limits):
            acc[j] += costs[i]
    return cuts


def _min_limit(costs: Sequence[float], fits) -> float:
    """The smallest limit in [max(costs), sum(costs)] for which ``fits(limit)`` holds (bisection)."""
    lo, hi = max(costs), sum(costs)
    if fits(lo):
        return lo
    for _ in range(100):
        mid = (lo + hi) / 2
        if fits(mid):
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-9 * max(hi, 1.0):
            break
    return hi


def balanced_cuts(costs: Sequence[float], parts: int) -> list[int]:
    """Cut positions splitting ``costs`` into ``parts`` contiguous non-empty groups minimising the largest sum.

    Binary search on the bottleneck with a greedy feasibility check; deterministic.
    """
    n = len(costs)
    if parts <= 1:
        return []
    limit = _min_limit(costs, lambda m: len(_greedy([(costs, m)], n)) <= parts - 1)
    cut_set = set(_greedy([(costs, limit)], n))
    # Make exactly parts-1 non-empty groups: split the latest groups further if greedy used fewer cuts.
    i = n - 1
    while len(cut_set) < parts - 1 and i > 0:
        if i not in cut_set:
            cut_set.add(i)
        i -= 1
    return sorted(cut_set)


def partitions_needed(weight_bits: Sequence[float], capacity_bits: float) -> int:
    """The fewest contiguous partitions whose weights each fit in ``capacity_bits`` (a stage larger than the
    capacity alone counts one partition)."""
    return len(_greedy([(weight_bits, capacity_bits)], len(weight_bits))) + 1 if len(weight_bits) else 0


def capacity_cuts(weight_bits: Sequence[float], macs: Sequence[float], capacity_bits: float,
                  max_parts: int) -> list[int]:
    """Cuts of the capacity rule: the fewest partitions that fit, MACs balanced among such splits; if more
    than ``max_parts`` are needed, ``max_parts`` partitions balancing the weights (the excess streams)."""
    n = len(weight_bits)
    needed = partitions_needed(weight_bits, capacity_bits)
    parts = max(1, min(needed, max_parts, n))
    if parts < needed:
        return balanced_cuts(weight_bits, parts)
    if parts == 1:
        return []
    macs = [float(m) for m in macs]
    if sum(macs) <= 0:
        return _greedy([(weight_bits, capacity_bits)], n)
    limit = _min_limit(macs, lambda m: len(_greedy([(weight_bits, capacity_bits), (macs, m)], n)) <= parts - 1)
    return _greedy([(weight_bits, capacity_bits), (macs, limit)], n)


def _capacity_bits(workload: Any, hw: Any, parts: int | None = None) -> float:
    """SRAM bits one partition may fill with weights: the smallest of the mapped dies' SRAM (the first
    ``parts`` partitions' dies; default all) x sram_fraction, times the dies a partition spans
    (tensor-parallel degree)."""
    from .chiplet.memory import Memory

    spec = workload.partition
    k = spec.tensor_parallel
    mapping = list(hw.mapping) if hw.mapping is not None else list(range(hw.topology.n_chiplets))
    dies = mapping[: parts * k] if parts else mapping
    return min(Memory(hw.chiplet_config(c)).sram_bits for c in dies) * spec.capacity.sram_fraction * k


def split(workload: Any, hw: Any) -> list[list[Any]]:
    """The stages of each partition of ``workload`` on ``hw`` (:class:`~snapsim.config.workload.Stage` lists)."""
    spec = workload.partition
    if spec.capacity is None:
        return workload.partitions()
    from .dtypes import PRECISION_BITS

    stages = workload.expanded_stages()
    mapping = hw.mapping if hw.mapping is not None else range(hw.topology.n_chiplets)
    max_parts = max(1, min(spec.capacity.max_count, len(stages), len(mapping) // spec.tensor_parallel))
    cap = _capacity_bits(workload, hw, max_parts)
    wbits = [s.weight_params * PRECISION_BITS[workload.precision] for s in stages]
    cuts = capacity_cuts(wbits, [s.macs for s in stages], cap, max_parts)
    return split_at(stages, cuts)


def needed(workload: Any, hw: Any) -> int:
    """Partitions a ``capacity`` workload's weights need to fit on ``hw``'s dies, whatever its ``max_count``."""
    from .dtypes import PRECISION_BITS

    stages = workload.expanded_stages()
    cap = _capacity_bits(workload, hw)
    return partitions_needed([s.weight_params * PRECISION_BITS[workload.precision] for s in stages], cap)
