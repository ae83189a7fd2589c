"""Train a SNAP character-level language model on Python standard-library source, split over 2 dies,
at several boundary-sparsity penalties.

Text: a fixed list of standard-library modules (``CORPUS_FILES``) read from
``sysconfig.get_paths()["stdlib"]`` of the running Python, mapped to 96 symbols (newline + printable
ASCII; anything else becomes a space). Every 10th block of 4096 characters is test text. The corpus depends on the
Python version; its SHA-256 is written into every trace.

Model (one sample = predicting one character from the 32 before it):
die0 = ``embed`` (96 x 16) + ``fc1`` (512 -> 256, ReLU); a trainable spiking boundary
(``SpikingBoundary``, T = 4); die1 = ``fc2`` (256 -> 256, ReLU) + ``fc3`` (256 -> 96 logits).
Loss = cross-entropy + ``penalty`` x (mean boundary firing rate), the penalty ramped up over the
first half of training.

For every penalty level k the script writes ``charlm_snap_l{k}.snaptrace/`` for ``TRACE_SAMPLES``
test positions: ``fc1->fc2`` (spikes ``[T, B, 256]``) and ``fc1->fc2:dense`` (the activation entering
the boundary, for ANN-mode replay), with ``metrics = {loss_bits_per_char, accuracy, penalty, ...}``;
and ``workloads/charlm_snap.yaml`` with the firing rate of ``--workload-level``.

Run with ``python -m snapsim.examples.charlm_snap`` (about five minutes on 2 cores; ``make traces``
runs both examples); by default it rewrites the shipped traces and workload in snapsim's data
directory (:data:`snapsim.resources.WORKLOADS`). Everything is seeded.
"""

from __future__ import annotations

import hashlib
import math
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..export import BoundaryRecorder, Tap
from .common import example_parser, finish, workload_sources
from .snap_layers import SpikingBoundary, train_snap

CORPUS_FILES = (
    "argparse.py", "difflib.py", "textwrap.py", "calendar.py", "pprint.py", "heapq.py", "typing.py",
    "inspect.py", "dataclasses.py", "enum.py", "functools.py", "collections/__init__.py", "subprocess.py",
    "tarfile.py", "ast.py", "pathlib.py", "shutil.py", "random.py", "logging/__init__.py", "configparser.py",
)
BLOCK_CHARS = 4096
TEST_EVERY = 10  # every 10th block of BLOCK_CHARS characters is test text
VOCAB = "\n" + "".join(chr(c) for c in range(32, 127))
CONTEXT_CHARS = 32
EMBED_DIM = 16
HIDDEN = 256
TIMESTEPS = 4
PENALTIES = (0.0, 0.4, 4.0, 40.0)
TRACE_SAMPLES = 512
WIRE_BITS_DENSE = 16


def split_blocks(ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Train and test text: block i of BLOCK_CHARS characters is test when i % TEST_EVERY == TEST_EVERY - 1,
    so both splits sample every source file."""
    blocks = list(torch.split(ids, BLOCK_CHARS))
    test = [b for i, b in enumerate(blocks) if i % TEST_EVERY == TEST_EVERY - 1]
    train = [b for i, b in enumerate(blocks) if i % TEST_EVERY != TEST_EVERY - 1]
    return torch.cat(train), torch.cat(test)


def load_corpus() -> tuple[torch.Tensor, str]:
    """The corpus as symbol ids, and its SHA-256 (hex)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    text = "".join((stdlib / name).read_text(encoding="utf-8") for name in CORPUS_FILES)
    index = {c: i for i, c in enumerate(VOCAB)}
    space = index[" "]
    ids = np.fromiter((index.get(c, space) for c in text), dtype=np.int64, count=len(text))
    return torch.from_numpy(ids), hashlib.sha256(text.encode("utf-8")).hexdigest()


class CharSnap(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(len(VOCAB), EMBED_DIM)
        self.fc1 = nn.Linear(CONTEXT_CHARS * EMBED_DIM, HIDDEN)
        self.b1 = SpikingBoundary(HIDDEN, TIMESTEPS)
        self.fc2 = nn.Linear(HIDDEN, HIDDEN)
        self.fc3 = nn.Linear(HIDDEN, len(VOCAB))

    def forward(self, ctx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``ctx`` ``[B, CONTEXT_CHARS]`` ids -> logits ``[B, vocab]`` and the boundary firing rate."""
        h = torch.relu(self.fc1(self.embed(ctx).flatten(1)))
        spikes, decoded = self.b1(h)
        return self.fc3(torch.relu(self.fc2(decoded))), spikes.mean()


def windows(ids: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Contexts ``ids[p - CONTEXT_CHARS : p]`` and targets ``ids[p]`` for each position p."""
    offsets = torch.arange(-CONTEXT_CHARS, 0)
    return ids[positions[:, None] + offsets], ids[positions]


def train(penalty: float, train_ids: torch.Tensor, seed: int, epochs: int, samples_per_epoch: int) -> CharSnap:
    batch = 256

    def batches(gen: torch.Generator):
        positions = torch.randint(CONTEXT_CHARS, len(train_ids), (samples_per_epoch,), generator=gen)
        for i in range(0, samples_per_epoch, batch):
            yield windows(train_ids, positions[i:i + batch])

    return train_snap(CharSnap, batches, penalty, seed, epochs, lr=2e-3)


def evaluate(model: CharSnap, test_ids: torch.Tensor) -> dict[str, float]:
    positions = torch.arange(CONTEXT_CHARS, len(test_ids))
    loss_nats = correct = spikes = 0.0
    with torch.no_grad():
        for i in range(0, len(positions), 2048):
            ctx, target = windows(test_ids, positions[i:i + 2048])
            logits, rate = model(ctx)
            loss_nats += float(nn.functional.cross_entropy(logits, target, reduction="sum"))
            correct += float((logits.argmax(1) == target).sum())
            spikes += float(rate) * len(target)
    n = len(positions)
    return {
        "loss_bits_per_char": loss_nats / n / math.log(2),
        "accuracy": correct / n,
        "firing_rate": spikes / n,
        "test_chars": n,
    }


def trace_positions(test_ids: torch.Tensor) -> torch.Tensor:
    """TRACE_SAMPLES evenly spaced test positions (deterministic)."""
    return torch.linspace(CONTEXT_CHARS, len(test_ids) - 1, TRACE_SAMPLES).round().long()


def record_trace(model: CharSnap, test_ids: torch.Tensor, path: Path, metrics: dict[str, float],
                 meta: dict) -> float:
    """Write the trace; returns the boundary firing rate over the traced positions."""
    taps = [
        Tap("fc1->fc2", "b1", port="output", kind="spike", time_mode="native", src="die0", dst=("die1",)),
        Tap("fc1->fc2:dense", "b1", port="input", kind="activation", time_mode="native", src="die0",
            dst=("die1",), precision_bits=WIRE_BITS_DENSE),
    ]
    ctx, _ = windows(test_ids, trace_positions(test_ids))
    with BoundaryRecorder(model, taps, timesteps=TIMESTEPS) as rec:
        with torch.no_grad():
            for i in range(0, len(ctx), 256):
                model(ctx[i:i + 256])
    rec.write(path, model="charlm-snap-mlp", partitions=["die0", "die1"], container="safetensors",
              metrics=metrics, metadata=meta, sparsity={"penalty_weight": metrics["penalty"],
                                                         "penalised": "mean boundary firing rate"},
              overwrite=True)
    return float(rec["fc1->fc2"].float().mean())


def workload_yaml(rate: float, level: int, metrics: dict[str, float]) -> str:
    emb = len(VOCAB) * EMBED_DIM
    fc1 = (CONTEXT_CHARS * EMBED_DIM * HIDDEN, CONTEXT_CHARS * EMBED_DIM * HIDDEN + HIDDEN)
    fc2 = (HIDDEN * HIDDEN, HIDDEN * HIDDEN + HIDDEN)
    fc3 = (HIDDEN * len(VOCAB), HIDDEN * len(VOCAB) + len(VOCAB))
    return f"""# Generated by `python -m snapsim.examples.charlm_snap`: the SNAP character-level LM whose traces are
# workloads/traces/charlm_snap_l*.snaptrace (one per sparsity penalty). The firing rate is the one measured
# on the test split at level {level} (penalty {metrics['penalty']:g}, {metrics['loss_bits_per_char']:.3f} bits/char);
# see snapsim/examples/README.md. One predicted character = one sample (a {CONTEXT_CHARS}-character context).
# MACs and parameters from the layer shapes (Linear: in*out MACs, in*out+out weights; the embedding is a lookup).
kind: workload
name: charlm-snap
description: "SNAP char-LM: embed {len(VOCAB)}x{EMBED_DIM} over {CONTEXT_CHARS} chars, MLP {CONTEXT_CHARS * EMBED_DIM}-{HIDDEN}-{HIDDEN}-{len(VOCAB)}, 2 dies, spiking boundary T={TIMESTEPS}"
domain: language
unit: token
precision: bf16
input_shape: [{CONTEXT_CHARS}]
stages:
  - {{name: embed, macs: 0, weight_params: {emb}, output_shape: [{CONTEXT_CHARS * EMBED_DIM}]}}
  - {{name: fc1, macs: {fc1[0]}, weight_params: {fc1[1]}, output_shape: [{HIDDEN}]}}
  - {{name: fc2, macs: {fc2[0]}, weight_params: {fc2[1]}, output_shape: [{HIDDEN}]}}
  - {{name: fc3, macs: {fc3[0]}, weight_params: {fc3[1]}, output_shape: [{len(VOCAB)}]}}
partition: {{after: [fc1]}}
boundary:
  precision: bf16
  timesteps: {TIMESTEPS}
  firing_rate: {rate:.4f}
  encoding: bitmap
snn: {{timesteps: {TIMESTEPS}, firing_rate: {rate:.4f}}}
stream: {{inferences: {TRACE_SAMPLES}, batch: 1, injection: closed, max_in_flight: 2}}
{workload_sources("charlm_snap", "CharSnap", level, f"{TRACE_SAMPLES} test positions")}"""


def main(argv: list[str] | None = None) -> int:
    parser = example_parser("charlm_snap", __doc__, PENALTIES, epochs=16)
    parser.add_argument("--samples-per-epoch", type=int, default=65536,
                        help="training windows drawn per epoch (default %(default)s)")
    args = parser.parse_args(argv)

    ids, sha = load_corpus()
    train_ids, test_ids = split_blocks(ids)
    rows = []
    for level, penalty in enumerate(args.penalties):
        start_s = time.perf_counter()
        model = train(penalty, train_ids, args.seed, args.epochs, args.samples_per_epoch)
        metrics = {"penalty": penalty, **evaluate(model, test_ids)}
        train_s = time.perf_counter() - start_s  # printed, not stored: traces stay byte-reproducible
        path = args.out_dir / f"charlm_snap_l{level}.snaptrace"
        meta = {
            "dataset": f"Python {sys.version.split()[0]} stdlib sources {', '.join(CORPUS_FILES)}; "
                       f"every {TEST_EVERY}th block of {BLOCK_CHARS} chars = test; "
                       f"{TRACE_SAMPLES} evenly spaced test positions traced",
            "corpus_sha256": sha, "corpus_chars": len(ids),
            "script": "python -m snapsim.examples.charlm_snap", "seed": args.seed, "epochs": args.epochs,
            "samples_per_epoch": args.samples_per_epoch,
            "dense_boundaries": "NAME:dense holds the activation entering boundary NAME (ANN-mode replay)",
        }
        metrics["trace_firing_rate"] = record_trace(model, test_ids, path, metrics, meta)
        rows.append(metrics)
        print(f"level {level}: penalty {penalty:g}  {metrics['loss_bits_per_char']:.3f} bits/char  "
              f"accuracy {metrics['accuracy']:.4f}  firing rate {metrics['firing_rate']:.4f}  "
              f"({train_s:.1f} s) -> {path}", flush=True)
    return finish(args, rows, lambda r: workload_yaml(r["trace_firing_rate"], args.workload_level, r))


if __name__ == "__main__":
    sys.exit(main())
