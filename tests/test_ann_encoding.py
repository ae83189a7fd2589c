"""ANN-mode boundary encoding (``workload.boundary.ann_encoding``, ``activation_density``): the plan, the
statistical payload and the closed forms use it; dense at the workload precision stays the default."""

from __future__ import annotations

import numpy as np
import pytest

from snapsim.config.load import load_hardware, load_workload
from snapsim.errors import ConfigError
from snapsim.payload import StatisticalPayload
from snapsim.plan import Plan
from snapsim.resources import HWCONFIGS, WORKLOADS
from snapsim.runner import simulate

HW = HWCONFIGS / "packages" / "ucie-a-2x2.yaml"
LM = WORKLOADS / "lm_32x4096.yaml"


def _plan(**over):
    return Plan.build(load_hardware(HW), load_workload(LM, {"stream.inferences": 400, **over}), "ann")


def test_default_is_dense_at_the_workload_precision():
    bp = _plan().boundaries[0]
    assert bp.encoding.kind == "dense" and bp.encoding.precision_bits == 16 and bp.firing_rate == 1.0


@pytest.mark.parametrize("kind", ["zvc", "csr"])
def test_statistical_payload_uses_the_activation_density(kind):
    plan = _plan(**{"boundary.ann_encoding": kind, "boundary.activation_density": 0.25})
    bp = plan.boundaries[0]
    n = bp.neurons * plan.batch
    payload = StatisticalPayload(plan.boundaries, plan.batch, plan.inferences, seed=1)
    bits = payload.bits_table(0, plan.inferences)[:, 0]
    fixed, per = bp.encoding.count_terms(bp.neurons)
    assert per == (16 if kind == "zvc" else 12 + 16)  # value bits (and csr's column index) per non-zero
    nnz = (bits - fixed * plan.batch) / per
    assert np.all(nnz == np.round(nnz)) and 0 < nnz.min() and nnz.max() < n
    assert nnz.mean() == pytest.approx(0.25 * n, rel=0.01)  # Binomial(n, 0.25) per sample
    dense = StatisticalPayload(_plan().boundaries, plan.batch, plan.inferences, seed=1).bits_table(0, 1)[0, 0]
    assert bits.mean() < dense / 2


def test_sparse_ann_baseline_runs_with_its_closed_forms():
    hw = load_hardware(HW)
    wl = load_workload(LM, {"stream.inferences": 16, "boundary.ann_encoding": "zvc",
                            "boundary.activation_density": 0.5})
    r = simulate(hw, wl, "ann", seed=2)
    dense = simulate(hw, load_workload(LM, {"stream.inferences": 16}), "ann", seed=2)
    assert r.data["d2d_payload_bits_per_inf"] < 0.6 * dense.data["d2d_payload_bits_per_inf"]
    # the first inference enters an empty package: its latency is the zero-load closed form
    assert r.latencies_ns[0] == pytest.approx(r.data["analytical"]["zero_load_latency_ns"])
    assert r.data["throughput_inf_per_s"] <= r.data["analytical"]["throughput_bound_inf_per_s"] * (1 + 1e-12)


def test_an_encoding_without_values_is_refused(tmp_path):
    f = tmp_path / "w.yaml"
    f.write_text(LM.read_text() + "\n")
    with pytest.raises(ConfigError, match=r"boundary.ann_encoding: bitmap carries no values"):
        load_workload(f, {"boundary.ann_encoding": "bitmap"})
