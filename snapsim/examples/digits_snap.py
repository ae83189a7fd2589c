"""Train a SNAP MLP on scikit-learn's 8x8 digits, split over 3 dies, at several boundary-sparsity penalties.

Dies: die0 = fc1 (64 -> 128, ReLU), die1 = fc2 (128 -> 128, ReLU), die2 = fc3 (128 -> 10). Each die
boundary is a trainable spiking layer (``SpikingBoundary``, T = 8 steps, rate coded) so only spikes
cross the links. The loss is cross-entropy + ``penalty`` x (mean boundary firing rate).

For every penalty level k the script writes ``digits_snap_l{k}.snaptrace/`` with, for the test split:

* ``fc1->fc2`` and ``fc2->fc3``: boundary spikes ``[T, B, 128]`` (kind spike), recorded with
  ``snapsim.export.BoundaryRecorder`` on the boundary layers' outputs;
* ``fc1->fc2:dense`` and ``fc2->fc3:dense``: the dense activation entering the same boundary
  (kind activation, F32 stored, 16 wire bits), for ANN-mode replay of the same model;

with ``metrics = {accuracy, penalty, ...}``, and ``workloads/digits_snap.yaml`` describing the model
with the firing rates of the level given by ``--workload-level``.

Run with ``python -m snapsim.examples.digits_snap`` (about a minute on 2 cores; ``make traces`` runs
both examples); by default it rewrites the shipped traces and workload in snapsim's data directory
(:data:`snapsim.resources.WORKLOADS`). Everything is seeded; reruns on the same machine and versions
give identical traces.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..export import BoundaryRecorder, Tap
from .common import example_parser, finish, workload_sources
from .snap_layers import SpikingBoundary, train_snap

TIMESTEPS = 8
HIDDEN = 128
PENALTIES = (0.0, 0.4, 4.0, 40.0)
TEST_SAMPLES = 360
PARTITIONS = ["die0", "die1", "die2"]
WIRE_BITS_DENSE = 16  # a dense (ANN) boundary sends bf16 activations


class DigitsSnap(nn.Module):
    """fc1 | spiking boundary | fc2 | spiking boundary | fc3, one die per fc."""

    def __init__(self, hidden: int = HIDDEN, timesteps: int = TIMESTEPS):
        super().__init__()
        self.fc1 = nn.Linear(64, hidden)
        self.b1 = SpikingBoundary(hidden, timesteps)
        self.fc2 = nn.Linear(hidden, hidden)
        self.b2 = SpikingBoundary(hidden, timesteps)
        self.fc3 = nn.Linear(hidden, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits ``[B, 10]`` and the mean firing rate over both boundaries (a scalar)."""
        s1, d1 = self.b1(torch.relu(self.fc1(x)))
        s2, d2 = self.b2(torch.relu(self.fc2(d1)))
        rate = (s1.mean() + s2.mean()) / 2
        return self.fc3(d2), rate


def load_split(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target, dtype=torch.long)
    order = torch.tensor(np.random.default_rng(seed).permutation(len(y)))
    test, train = order[:TEST_SAMPLES], order[TEST_SAMPLES:]
    return x[train], y[train], x[test], y[test]


def train(penalty: float, data, seed: int, epochs: int) -> DigitsSnap:
    x_train, y_train, _, _ = data
    batch = 64

    def batches(gen: torch.Generator):
        perm = torch.randperm(len(y_train), generator=gen)
        for i in range(0, len(perm), batch):
            idx = perm[i:i + batch]
            yield x_train[idx], y_train[idx]

    return train_snap(DigitsSnap, batches, penalty, seed, epochs, lr=3e-3)


def evaluate(model: DigitsSnap, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    with torch.no_grad():  # the steps of DigitsSnap.forward, keeping the spikes
        s1, d1 = model.b1(torch.relu(model.fc1(x)))
        s2, d2 = model.b2(torch.relu(model.fc2(d1)))
        logits = model.fc3(d2)
    return {
        "accuracy": float((logits.argmax(1) == y).float().mean()),
        "test_loss_nats": float(nn.functional.cross_entropy(logits, y)),
        "firing_rate_fc1_fc2": float(s1.mean()),
        "firing_rate_fc2_fc3": float(s2.mean()),
    }


def record_trace(model: DigitsSnap, x: torch.Tensor, path: Path, metrics: dict[str, float], seed: int,
                 penalty: float) -> None:
    taps = [
        Tap("fc1->fc2", "b1", port="output", kind="spike", time_mode="native", src="die0", dst=("die1",)),
        Tap("fc2->fc3", "b2", port="output", kind="spike", time_mode="native", src="die1", dst=("die2",)),
        Tap("fc1->fc2:dense", "b1", port="input", kind="activation", time_mode="native", src="die0",
            dst=("die1",), precision_bits=WIRE_BITS_DENSE),
        Tap("fc2->fc3:dense", "b2", port="input", kind="activation", time_mode="native", src="die1",
            dst=("die2",), precision_bits=WIRE_BITS_DENSE),
    ]
    with BoundaryRecorder(model, taps, timesteps=TIMESTEPS) as rec:
        with torch.no_grad():
            for i in range(0, len(x), 128):
                model(x[i:i + 128])
    rec.write(
        path, model="digits-snap-mlp", partitions=PARTITIONS, container="safetensors",
        metrics=metrics, overwrite=True,
        sparsity={"penalty_weight": penalty, "penalised": "mean boundary firing rate"},
        metadata={
            "dataset": f"sklearn.datasets.load_digits, test split ({len(x)} samples, permutation seed {seed})",
            "script": "python -m snapsim.examples.digits_snap",
            "penalty": penalty,
            "seed": seed,
            "boundary_neuron": "LIF, rate-coded from the dense activation, learned gain/threshold/decode scale",
            "dense_boundaries": "NAME:dense holds the activation entering boundary NAME (ANN-mode replay)",
        },
    )


def workload_yaml(rates: list[float], level: int, penalty: float, accuracy: float) -> str:
    def lin(n_in: int, n_out: int) -> tuple[int, int]:
        return n_in * n_out, n_in * n_out + n_out

    fc1, fc2, fc3 = lin(64, HIDDEN), lin(HIDDEN, HIDDEN), lin(HIDDEN, 10)
    return f"""# Generated by `python -m snapsim.examples.digits_snap`: the SNAP digits MLP whose traces are
# workloads/traces/digits_snap_l*.snaptrace (one per sparsity penalty). Firing rates are those measured
# on the test split at level {level} (penalty {penalty:g}, accuracy {accuracy:.3f}); see snapsim/examples/README.md.
# One 8x8 digit image = one sample. MACs and parameters from the layer shapes (Linear: in*out MACs, in*out+out weights).
kind: workload
name: digits-snap
description: "SNAP MLP on 8x8 digits (64-{HIDDEN}-{HIDDEN}-10), one Linear per die, spiking boundaries, T={TIMESTEPS}"
domain: vision
unit: image
precision: bf16
input_shape: [64]
stages:
  - {{name: fc1, macs: {fc1[0]}, weight_params: {fc1[1]}, output_shape: [{HIDDEN}]}}
  - {{name: fc2, macs: {fc2[0]}, weight_params: {fc2[1]}, output_shape: [{HIDDEN}]}}
  - {{name: fc3, macs: {fc3[0]}, weight_params: {fc3[1]}, output_shape: [10]}}
partition: {{after: [fc1, fc2]}}
boundary:
  precision: bf16
  timesteps: {TIMESTEPS}
  firing_rate: {sum(rates) / len(rates):.4f}
  encoding: bitmap
boundaries:
  0: {{precision: bf16, timesteps: {TIMESTEPS}, firing_rate: {rates[0]:.4f}, encoding: bitmap}}
  1: {{precision: bf16, timesteps: {TIMESTEPS}, firing_rate: {rates[1]:.4f}, encoding: bitmap}}
snn: {{timesteps: {TIMESTEPS}, firing_rate: {sum(rates) / len(rates):.4f}}}
stream: {{inferences: {TEST_SAMPLES}, batch: 1, injection: closed, max_in_flight: 3}}
{workload_sources("digits_snap", "DigitsSnap", level, f"test split, {TEST_SAMPLES} images")}"""


def main(argv: list[str] | None = None) -> int:
    parser = example_parser("digits_snap", __doc__, PENALTIES, epochs=60)
    args = parser.parse_args(argv)

    data = load_split(args.seed)
    rows = []
    for level, penalty in enumerate(args.penalties):
        start_s = time.perf_counter()
        model = train(penalty, data, args.seed, args.epochs)
        metrics = {"penalty": penalty, **evaluate(model, data[2], data[3])}
        metrics["firing_rate"] = (metrics["firing_rate_fc1_fc2"] + metrics["firing_rate_fc2_fc3"]) / 2
        train_s = time.perf_counter() - start_s  # printed, not stored: traces stay byte-reproducible
        path = args.out_dir / f"digits_snap_l{level}.snaptrace"
        record_trace(model, data[2], path, metrics, args.seed, penalty)
        rows.append(metrics)
        print(f"level {level}: penalty {penalty:g}  accuracy {metrics['accuracy']:.4f}  "
              f"firing rate {metrics['firing_rate_fc1_fc2']:.4f} / {metrics['firing_rate_fc2_fc3']:.4f}  "
              f"({train_s:.1f} s) -> {path}", flush=True)
    return finish(args, rows, lambda r: workload_yaml([r["firing_rate_fc1_fc2"], r["firing_rate_fc2_fc3"]],
                                                      args.workload_level, r["penalty"], r["accuracy"]))


if __name__ == "__main__":
    sys.exit(main())
