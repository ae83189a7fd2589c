"""Every shipped hardware package runs every shipped workload in every mode."""

from __future__ import annotations

import pytest

from snapsim.config import load_hardware, load_workload
from snapsim.engine import MODES, Simulation
from snapsim.resources import HWCONFIGS, WORKLOADS as SHIPPED_WORKLOADS

PACKAGES = sorted((HWCONFIGS / "packages").glob("*.yaml"))
WORKLOADS = sorted(SHIPPED_WORKLOADS.glob("*.yaml"))


def test_there_is_something_to_run():
    assert len(PACKAGES) >= 1 and len(WORKLOADS) >= 2


@pytest.mark.parametrize("pkg", PACKAGES, ids=lambda p: p.stem)
@pytest.mark.parametrize("wl", WORKLOADS, ids=lambda p: p.stem)
def test_package_runs_workload_in_every_mode(pkg, wl):
    hw = load_hardware(pkg)
    workload = load_workload(wl, {"stream.inferences": 3})
    chiplets = len(hw.mapping or range(hw.topology.n_chiplets))
    if workload.n_partitions > chiplets:
        # a package smaller than the workload's partition count runs it re-partitioned onto all its chiplets
        workload = load_workload(wl, {"stream.inferences": 3, "partition": {"count": chiplets}, "boundaries": {}})
        assert workload.n_partitions == chiplets
    for mode in MODES:
        d = Simulation.build(hw, workload, mode, seed=0).run().data
        assert d["latency_ns_p50"] > 0 and d["energy_pj_per_inf"] > 0
        assert d["latency_ns_min"] >= d["analytical"]["zero_load_latency_ns"] - 1e-9
