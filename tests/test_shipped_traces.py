"""The traces shipped in workloads/traces: each opens and validates, carries its training metrics, shows the
sparsity trade-off (firing rate falls as the penalty grows), matches its workload file, and stays small."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from snapsim.config import load_workload
from snapsim.resources import WORKLOADS, shipped
from snapsim.trace import open_trace

TRACES = WORKLOADS / "traces"
FAMILIES = {
    # family: (workload file, number of penalty levels, spike boundaries in partition order)
    "digits_snap": ("digits_snap.yaml", 4, ["fc1->fc2", "fc2->fc3"]),
    "charlm_snap": ("charlm_snap.yaml", 4, ["fc1->fc2"]),
}
MAX_TRACE_BYTES = 3 * 2**20
MAX_TOTAL_BYTES = 20 * 2**20


def _levels(family: str) -> list[Path]:
    paths = sorted(TRACES.glob(f"{family}_l*.snaptrace"), key=lambda p: int(re.search(r"_l(\d+)\.", p.name)[1]))
    return paths


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _spike_rate(trace) -> float:
    """Mean firing rate over the spike boundaries, recomputed from the data."""
    rates = [trace.read(b.name).mean() for b in trace.boundaries if b.kind == "spike"]
    return float(np.mean(rates))


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_traces_open_validate_and_show_the_tradeoff(family):
    workload_file, n_levels, spike_names = FAMILIES[family]
    paths = _levels(family)
    assert [p.name for p in paths] == [f"{family}_l{k}.snaptrace" for k in range(n_levels)]
    penalties, rates, quality = [], [], []
    for path in paths:
        tr = open_trace(path)
        tr.validate()
        assert 100 <= tr.n_samples <= 4096
        metrics = tr.manifest["metrics"]
        assert "accuracy" in metrics or any(k.startswith("loss") for k in metrics), metrics
        spikes = [b for b in tr.boundaries if b.kind == "spike"]
        assert [b.name for b in spikes] == spike_names
        # every spike boundary has its dense (ANN-mode) twin on the same cut
        dense = {b.name: b for b in tr.boundaries if b.kind == "activation"}
        for b in spikes:
            twin = dense[f"{b.name}:dense"]
            assert (twin.src, twin.dst, twin.features) == (b.src, b.dst, b.features)
            assert twin.precision_bits == 16
        rate = _spike_rate(tr)
        recorded = np.mean([b.stats["firing_rate"] for b in spikes])
        assert math.isclose(rate, recorded, rel_tol=1e-6)
        penalties.append(metrics["penalty"])
        rates.append(rate)
        quality.append(metrics["accuracy"])
        if "loss_bits_per_char" in metrics:
            assert 0.5 < metrics["loss_bits_per_char"] < math.log2(96)  # better than uniform over the vocab
        assert _size(path) <= MAX_TRACE_BYTES
    assert penalties == sorted(penalties) and len(set(penalties)) == len(penalties)
    assert all(a > b for a, b in zip(rates, rates[1:])), f"firing rates do not fall with the penalty: {rates}"
    assert 0 < rates[-1] and rates[0] < 0.6
    assert rates[0] / rates[-1] > 10  # the penalty buys a real reduction in boundary traffic
    if family == "digits_snap":
        assert all(0.9 <= q <= 1.0 for q in quality), quality  # ten classes: chance is 0.1
    else:
        assert all(0.3 <= q <= 0.9 for q in quality), quality  # next-character top-1 accuracy


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_workload_file_matches_the_traces(family):
    workload_file, _, spike_names = FAMILIES[family]
    wl = load_workload(WORKLOADS / workload_file)
    assert wl.n_partitions == len(spike_names) + 1
    level = int(re.search(r"_l(\d+)\.snaptrace", wl.sources["trace"])[1])
    tr = open_trace(shipped(wl.sources["trace"]))  # "workloads/traces/...": relative to the data
    assert tr.timesteps == wl.boundary.timesteps
    spikes = [b for b in tr.boundaries if b.kind == "spike"]
    parts = wl.partitions()
    for i, b in enumerate(spikes):
        spec = wl.boundary_spec(i)
        assert spec.timesteps == tr.timesteps
        assert math.isclose(spec.firing_rate, b.stats["firing_rate"], abs_tol=5e-5)
        # the stage ending partition i produces what crosses boundary i
        assert math.prod(parts[i][-1].output_shape) == math.prod(b.features)
        assert (b.src, b.dst) == (f"die{i}", (f"die{i + 1}",))
    assert tr.n_samples == wl.stream.inferences
    assert f"_l{level}." in str(tr.path)


def test_total_shipped_size():
    total = sum(_size(p) for p in TRACES.glob("*.snaptrace"))
    assert 0 < total <= MAX_TOTAL_BYTES
