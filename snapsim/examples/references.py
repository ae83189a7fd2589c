"""Train the accuracy references of the two SNAP examples: the same networks with dense boundaries (the
ANN-only design) and with every layer spiking (the SNN-only design) at several timestep counts.

The SNAP study (``snapsim study snap``, part ``accuracy``) puts these beside the SNAP sparsity levels of
``digits_snap`` and ``charlm_snap``: the accuracy the ANN-only design gets with dense boundaries, and the
accuracy an SNN-only network of the same shape reaches at the timesteps the comparison assumes.

* ``digits`` (scikit-learn 8x8 digits, the split of ``digits_snap``): ``ann`` = fc1 (64 -> 128, ReLU) ->
  fc2 (128 -> 128, ReLU) -> fc3 (-> 10); ``snn`` at each T of ``DIGITS_TIMESTEPS`` = the same three
  linears with leaky integrate-and-fire neurons after fc1 and fc2, the input encoded into spikes by a LIF
  encoder (learned gain), the logits the mean of fc3 over the T steps; trained through time with the
  fast-sigmoid surrogate gradient of ``snap_layers.SpikeFn``.
* ``charlm`` (the corpus and split of ``charlm_snap``): ``ann`` = embed -> fc1 (ReLU) -> fc2 (ReLU) -> fc3;
  ``snn`` at each T of ``CHARLM_TIMESTEPS`` likewise spiking.

Writes ``workloads/references.json`` (accuracy and test loss of each, with the settings) in the package data
by default. Run with ``python -m snapsim.examples.references`` (about five minutes on 2 cores; ``make
traces`` runs it with the other examples). Everything is seeded.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
from torch import nn

from ..resources import WORKLOADS
from . import charlm_snap, digits_snap
from .snap_layers import SpikeFn, train_snap

DIGITS_TIMESTEPS = (2, 4, 8, 16, 32)
CHARLM_TIMESTEPS = (4,)
BETA = 0.9  # membrane leak per step, as SpikingBoundary's
SLOPE = 5.0
THRESHOLD = 1.0


class LIF(nn.Module):
    """Leaky integrate-and-fire neurons over ``T`` steps: ``v <- beta v + I_t``, a spike when ``v >= 1``,
    reset by subtraction. ``forward(currents [T, B, N]) -> spikes [T, B, N]``."""

    def forward(self, currents: torch.Tensor) -> torch.Tensor:
        v = torch.zeros_like(currents[0])
        out = []
        for i in currents:
            v = BETA * v + i
            s = SpikeFn.apply(v - THRESHOLD, SLOPE)
            v = v - s * THRESHOLD
            out.append(s)
        return torch.stack(out)


class SpikingMLP(nn.Module):
    """``linears`` with LIF neurons after every one but the last; the input LIF-encoded (learned gain per input);
    logits = the last linear's mean over ``T`` steps. Returns ``(logits, mean firing rate)``."""

    def __init__(self, sizes: list[int], timesteps: int, front: nn.Module | None = None):
        super().__init__()
        self.front = front or nn.Identity()
        self.T = timesteps
        self.log_gain = nn.Parameter(torch.zeros(sizes[0]))
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.lif = LIF()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = self.front(x)
        s = self.lif((a * self.log_gain.exp()).unsqueeze(0).expand(self.T, *a.shape))
        rates = [s.mean()]
        for lin in self.linears[:-1]:
            s = self.lif(lin(s))
            rates.append(s.mean())
        return self.linears[-1](s).mean(0), torch.stack(rates).mean()


class DenseMLP(nn.Module):
    """The same linears with ReLU and no spikes (dense boundaries). Returns ``(logits, 0)``."""

    def __init__(self, sizes: list[int], front: nn.Module | None = None):
        super().__init__()
        self.front = front or nn.Identity()
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.front(x)
        for lin in self.linears[:-1]:
            h = torch.relu(lin(h))
        return self.linears[-1](h), torch.zeros(())


class Embed(nn.Module):
    """charlm's front: the context's embeddings, flattened."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(len(charlm_snap.VOCAB), charlm_snap.EMBED_DIM)

    def forward(self, ctx: torch.Tensor) -> torch.Tensor:
        return self.embed(ctx).flatten(1)


def _digits(args, out: dict) -> None:
    data = digits_snap.load_split(args.seed)
    x_train, y_train, x_test, y_test = data
    sizes = [64, digits_snap.HIDDEN, digits_snap.HIDDEN, 10]

    def batches(gen: torch.Generator):
        perm = torch.randperm(len(y_train), generator=gen)
        for i in range(0, len(perm), 64):
            idx = perm[i:i + 64]
            yield x_train[idx], y_train[idx]

    def evaluate(model) -> dict:
        with torch.no_grad():
            logits, rate = model(x_test)
        return {"accuracy": float((logits.argmax(1) == y_test).float().mean()),
                "test_loss_nats": float(nn.functional.cross_entropy(logits, y_test)), "firing_rate": float(rate)}

    epochs = args.digits_epochs
    out["digits"] = {"dataset": f"sklearn.datasets.load_digits, the digits_snap split (permutation seed {args.seed}, "
                                f"{digits_snap.TEST_SAMPLES} test images)", "epochs": epochs, "snn": {}}
    for design, T in [("ann", None), *(("snn", t) for t in args.digits_timesteps)]:
        t0 = time.perf_counter()
        make = (lambda: DenseMLP(sizes)) if T is None else (lambda T=T: SpikingMLP(sizes, T))
        metrics = evaluate(train_snap(make, batches, 0.0, args.seed, epochs, lr=3e-3))
        _store(out["digits"], design, T, metrics, "digits", time.perf_counter() - t0)


def _charlm(args, out: dict) -> None:
    ids, sha = charlm_snap.load_corpus()
    train_ids, test_ids = charlm_snap.split_blocks(ids)
    ctx_dim = charlm_snap.CONTEXT_CHARS * charlm_snap.EMBED_DIM
    sizes = [ctx_dim, charlm_snap.HIDDEN, charlm_snap.HIDDEN, len(charlm_snap.VOCAB)]
    n = args.charlm_samples_per_epoch

    def batches(gen: torch.Generator):
        positions = torch.randint(charlm_snap.CONTEXT_CHARS, len(train_ids), (n,), generator=gen)
        for i in range(0, n, 256):
            yield charlm_snap.windows(train_ids, positions[i:i + 256])

    def evaluate(model) -> dict:
        positions = torch.arange(charlm_snap.CONTEXT_CHARS, len(test_ids))
        loss = correct = spikes = 0.0
        with torch.no_grad():
            for i in range(0, len(positions), 2048):
                ctx, target = charlm_snap.windows(test_ids, positions[i:i + 2048])
                logits, rate = model(ctx)
                loss += float(nn.functional.cross_entropy(logits, target, reduction="sum"))
                correct += float((logits.argmax(1) == target).sum())
                spikes += float(rate) * len(target)
        k = len(positions)
        return {"accuracy": correct / k, "loss_bits_per_char": loss / k / math.log(2), "firing_rate": spikes / k}

    epochs = args.charlm_epochs
    out["charlm"] = {"dataset": f"the charlm_snap corpus and split (sha256 {sha})", "epochs": epochs,
                     "samples_per_epoch": n, "snn": {}}
    for design, T in [("ann", None), *(("snn", t) for t in args.charlm_timesteps)]:
        t0 = time.perf_counter()
        make = (lambda: DenseMLP(sizes, Embed())) if T is None else (lambda T=T: SpikingMLP(sizes, T, Embed()))
        metrics = evaluate(train_snap(make, batches, 0.0, args.seed, epochs, lr=2e-3))
        _store(out["charlm"], design, T, metrics, "charlm", time.perf_counter() - t0)


def _store(task: dict, design: str, T: int | None, metrics: dict, name: str, seconds: float) -> None:
    if design == "ann":
        task["ann"] = metrics
    else:
        task["snn"][str(T)] = metrics
    what = "ANN (dense boundaries)" if T is None else f"SNN-only T={T}"
    print(f"{name} {what}: accuracy {metrics['accuracy']:.4f} ({seconds:.1f} s)", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m snapsim.examples.references",
                                     description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--out", type=Path, default=WORKLOADS / "references.json",
                        help="file to write (default: the shipped one, %(default)s)")
    parser.add_argument("--digits-epochs", type=int, default=60, help="digits training epochs (default %(default)s)")
    parser.add_argument("--digits-timesteps", type=int, nargs="+", default=list(DIGITS_TIMESTEPS),
                        help="SNN-only timesteps of the digits references (default %(default)s)")
    parser.add_argument("--charlm-epochs", type=int, default=16, help="charlm training epochs (default %(default)s)")
    parser.add_argument("--charlm-samples-per-epoch", type=int, default=65536,
                        help="charlm training windows per epoch (default %(default)s)")
    parser.add_argument("--charlm-timesteps", type=int, nargs="+", default=list(CHARLM_TIMESTEPS),
                        help="SNN-only timesteps of the charlm references (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    out = {"schema": "snapsim.references", "version": 1, "script": "python -m snapsim.examples.references",
           "seed": args.seed, "neuron": f"LIF, leak {BETA}, threshold {THRESHOLD}, reset by subtraction, "
                                         f"fast-sigmoid surrogate (slope {SLOPE})"}
    _digits(args, out)
    _charlm(args, out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(f"-> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
