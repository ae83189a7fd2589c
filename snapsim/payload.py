"""Boundary payloads: how many bits (and spikes) each boundary message carries.

A :class:`PayloadModel` answers, for boundary ``b``, inference ``i`` and message ``m`` (the m-th send
window of the boundary's encoding, see :meth:`snapsim.encoding.Encoding.windows`), the message's payload
bits and non-zero count. It is chosen before the simulation is built (:func:`snapsim.runner.simulate`):

* :class:`StatisticalPayload` draws spike counts from a seeded binomial firing-rate model (and, for
  encodings whose size depends on spike positions, the positions themselves);
* a trace replay (:class:`snapsim.trace.replay.TracePayload`) answers from recorded tensors.

Both size messages with the same rule, :meth:`Encoding.window_bits`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .plan import BoundaryPlan

__all__ = ["PayloadModel", "StatisticalPayload"]

#: frames drawn at once when spike positions are needed (bounds memory: chunk x neurons booleans)
_POSITION_CHUNK_BITS = 1 << 22


class PayloadModel(Protocol):
    """What the engine and the bounds ask about boundary messages."""

    def message_bits(self, boundary: int, inference: int, message: int) -> int: ...

    def message_spikes(self, boundary: int, inference: int, message: int) -> int: ...

    def bits_table(self, boundary: int, inferences: int) -> np.ndarray:
        """Payload bits of every message of the first ``inferences`` inferences, ``[inference, message]``."""
        ...

    def spikes_table(self, boundary: int, inferences: int) -> np.ndarray:
        """Non-zeros of every message of the first ``inferences`` inferences, ``[inference, message]``."""
        ...


class StatisticalPayload:
    """Non-zero counts per sample ~ Binomial(neurons, firing_rate), independently per (inference, timestep):
    spikes, or (ann mode) non-zero activation values at the boundary's ``activation_density``. For
    count-only encodings the batch's total is drawn at once (Binomial(neurons x batch, rate), the same
    distribution as the sum of the per-sample draws).

    Draws come from one generator per boundary seeded from ``(seed, boundary)``, filled for all
    inferences at construction, so results never depend on the order the engine asks in. Encodings whose
    size depends on positions (``rle``) get frames of independent Bernoulli(firing_rate) elements from the
    same generator. A dense boundary with no zeros (density 1) carries its fixed size without a draw.
    """

    def __init__(self, boundaries: "tuple[BoundaryPlan, ...]", batch: int, inferences: int, seed: int):
        self._bits: list[np.ndarray] = []
        self._spikes: list[np.ndarray] = []
        for b, bp in enumerate(boundaries):
            enc, n, T = bp.encoding, bp.neurons, bp.timesteps
            if not bp.spiking and bp.firing_rate >= 1.0 and not enc.data_dependent:
                nnz = np.full((T, inferences), n * batch, dtype=np.int64)
                bits = enc.window_bits(n, nnz, samples=batch)
                self._bits.append(np.ascontiguousarray(bits.T))
                self._spikes.append(np.zeros((inferences, bp.messages), dtype=np.int64))
                continue
            rng = np.random.default_rng([seed, b])
            if enc.data_dependent:
                nnz, frame_bits = _draw_frames(rng, enc, n, bp.firing_rate, inferences, T, batch)
            else:
                # a count-only size is affine in the count, so only the batch's total matters: the sum of
                # `batch` independent Binomial(n, p) is Binomial(n * batch, p), one draw per message
                counts = rng.binomial(n * batch, bp.firing_rate, size=(inferences, T))
                nnz, frame_bits = counts.T, None  # [T, inferences]
            bits = enc.window_bits(n, nnz, frame_bits, samples=batch)  # [messages, inferences]
            spikes = np.asarray([nnz[a:z].sum(axis=0) for a, z in bp.windows], dtype=np.int64)
            self._bits.append(np.ascontiguousarray(bits.T))
            self._spikes.append(np.ascontiguousarray(spikes.T))

    def message_bits(self, boundary: int, inference: int, message: int) -> int:
        return int(self._bits[boundary][inference, message])

    def message_spikes(self, boundary: int, inference: int, message: int) -> int:
        return int(self._spikes[boundary][inference, message])

    def bits_table(self, boundary: int, inferences: int) -> np.ndarray:
        return self._bits[boundary][:inferences]

    def spikes_table(self, boundary: int, inferences: int) -> np.ndarray:
        """Spikes of every message of the first ``inferences`` inferences, ``[inference, message]``."""
        return self._spikes[boundary][:inferences]


def _draw_frames(rng: np.random.Generator, enc, n: int, rate: float, inferences: int, T: int, batch: int):
    """Non-zeros and frame bits per (timestep, inference), from Bernoulli(rate) frames drawn in chunks."""
    nnz = np.zeros((T, inferences), dtype=np.int64)
    frame_bits = np.zeros((T, inferences), dtype=np.int64)
    per = max(1, _POSITION_CHUNK_BITS // max(1, n * T * batch))  # inferences per chunk
    for a in range(0, inferences, per):
        z = min(inferences, a + per)
        frames = rng.random((z - a, T, batch, n)) < rate
        nnz[:, a:z] = frames.sum(axis=(2, 3)).T
        frame_bits[:, a:z] = enc.frame_bits(frames).sum(axis=2).T
    return nnz, frame_bits
