"""Boundary payloads: how many bits one boundary message carries.

The engine asks a :class:`PayloadModel` for ``message_payload_bits(boundary, inference, timestep)``.
:class:`StatisticalPayload` draws spike counts from a seeded binomial firing-rate model; a trace
replay (:mod:`snapsim.trace.replay`) answers the same question from recorded tensors, so a real trace
is a drop-in replacement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .encoding import Encoding, message_bits

__all__ = ["PayloadModel", "BoundaryPayload", "StatisticalPayload"]


class PayloadModel(Protocol):
    def message_payload_bits(self, boundary: int, inference: int, timestep: int) -> int: ...


@dataclass(frozen=True)
class BoundaryPayload:
    """What one boundary carries in the current mode."""

    neurons: int  # per sample
    spiking: bool
    timesteps: int  # 1 for dense
    firing_rate: float  # spikes per neuron per timestep (spiking only)
    encoding: Encoding  # wire encoding (dense at a precision, or a spike encoding)


class StatisticalPayload:
    """Spike counts per sample ~ Binomial(neurons, firing_rate), independently per (inference, timestep).

    Draws come from one generator per boundary seeded from ``(seed, boundary)``, filled for all
    inferences at construction, so results never depend on the order the engine asks in.
    """

    def __init__(self, boundaries: list[BoundaryPayload], batch: int, inferences: int, seed: int):
        self.boundaries = boundaries
        self.batch = batch
        self._bits: list[np.ndarray] = []
        self.spikes: list[np.ndarray] = []
        for b, bp in enumerate(boundaries):
            if not bp.spiking:
                bits = int(message_bits(bp.encoding, bp.neurons, bp.neurons, 1)) * batch
                self._bits.append(np.full((inferences, 1), bits, dtype=np.int64))
                self.spikes.append(np.zeros((inferences, 1), dtype=np.int64))
                continue
            rng = np.random.default_rng([seed, b])
            counts = rng.binomial(bp.neurons, bp.firing_rate, size=(inferences, bp.timesteps, batch))
            per_sample = np.asarray(message_bits(bp.encoding, bp.neurons, counts, 1), dtype=np.int64)
            self._bits.append(per_sample.sum(axis=2))
            self.spikes.append(counts.sum(axis=2))

    def message_payload_bits(self, boundary: int, inference: int, timestep: int) -> int:
        return int(self._bits[boundary][inference, timestep])

    def bits_table(self, boundary: int) -> np.ndarray:
        """Payload bits of every message of a boundary, ``[inference, timestep]``."""
        return self._bits[boundary]

    def message_spikes(self, boundary: int, inference: int, timestep: int) -> int:
        return int(self.spikes[boundary][inference, timestep])
