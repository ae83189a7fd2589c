"""SNAP building blocks in plain PyTorch: a trainable spiking layer for die boundaries.

``SpikingBoundary`` turns a dense activation ``a`` ``[B, N]`` into a spike train ``[T, B, N]``: a
constant input current ``I = gain * a`` drives leaky integrate-and-fire neurons for ``T`` steps
(``v <- beta * v + I``; a spike when ``v >= threshold``; reset by subtraction). Gain, threshold and
the receiving side's decode scale are learned per neuron; the step function has a fast-sigmoid
surrogate gradient. The receiving die sees only the spikes; it counts them per neuron and rescales
(``decoded = count / T * decode_scale``), so a Linear layer after it costs one dense MAC pass.

Penalising the mean firing rate (``firing_rate`` returned with the spikes) trades accuracy for
fewer boundary bits; ``train_snap`` is the training loop both examples use.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator

import torch
from torch import nn

__all__ = ["SpikeFn", "SpikingBoundary", "set_deterministic", "train_snap"]


def set_deterministic(seed: int, threads: int = 1) -> None:
    """Seed torch and pin the thread count so reruns give identical numbers on the same machine.

    Denormals are flushed to zero: a strong sparsity penalty drives gains towards zero, and denormal
    arithmetic made training ten times slower.
    """
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    torch.set_flush_denormal(True)


class SpikeFn(torch.autograd.Function):
    """Heaviside step forward; fast-sigmoid derivative ``1 / (1 + slope*|x|)^2`` backward."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, slope: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.slope = slope
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad / (1.0 + ctx.slope * x.abs()) ** 2, None


class SpikingBoundary(nn.Module):
    """A die-boundary LIF layer of ``n_neurons`` run for ``timesteps`` steps.

    ``forward(a)`` returns ``(spikes [T, B, N], decoded [B, N])``. ``beta`` is the membrane leak per
    step (1.0 = integrate-and-fire); ``slope`` sets the surrogate gradient's width.
    """

    def __init__(self, n_neurons: int, timesteps: int, beta: float = 0.9, slope: float = 5.0,
                 init_threshold: float = 1.0):
        super().__init__()
        if timesteps < 1:
            raise ValueError("timesteps must be >= 1")
        self.n_neurons = n_neurons
        self.timesteps = timesteps
        self.beta = beta
        self.slope = slope
        self.log_gain = nn.Parameter(torch.zeros(n_neurons))
        # softplus^-1(init_threshold) so that the initial threshold is init_threshold
        raw = math.log(math.expm1(init_threshold))
        self.raw_threshold = nn.Parameter(torch.full((n_neurons,), raw))
        self.log_decode_scale = nn.Parameter(torch.full((n_neurons,), math.log(init_threshold)))

    @property
    def threshold(self) -> torch.Tensor:
        return nn.functional.softplus(self.raw_threshold) + 1e-3

    def forward(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        current = a * self.log_gain.exp()
        threshold = self.threshold
        v = torch.zeros_like(current)
        spikes = []
        for _ in range(self.timesteps):
            v = self.beta * v + current
            s = SpikeFn.apply(v - threshold, self.slope)
            v = v - s * threshold
            spikes.append(s)
        spk = torch.stack(spikes)
        decoded = spk.mean(dim=0) * self.log_decode_scale.exp()
        return spk, decoded


def train_snap(make_model: Callable[[], nn.Module], batches: Callable[[torch.Generator], Iterator[tuple]],
               penalty: float, seed: int, epochs: int, lr: float) -> nn.Module:
    """Train a SNAP model (``model(x)`` returns logits and the mean boundary firing rate) with Adam and a
    cosine learning-rate schedule on cross-entropy + ``weight`` x firing rate; ``batches(gen)`` yields one
    epoch's ``(x, target)`` batches drawn with ``gen``. Seeded: the same arguments give the same model.

    ``weight`` ramps up linearly to ``penalty`` over the first half of training: a full penalty from the
    start silences the boundaries before the classifier has learned anything, and they never recover.
    """
    set_deterministic(seed)
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    gen = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        model.train()
        weight = penalty * min(1.0, epoch / (epochs / 2))
        for x, target in batches(gen):
            logits, rate = model(x)
            loss = nn.functional.cross_entropy(logits, target) + weight * rate
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
    return model.eval()
