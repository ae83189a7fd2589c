"""SNAP: dense compute on every die; at each die boundary a spike encoder turns the activation into
``boundary.timesteps`` spike frames and a decoder rebuilds it (Nardone et al. 2025).

Flow: as ANN-only, but a boundary is an encoder (FIFO server on the source die) that emits one message
per send window of the encoding (one per timestep, or one per ``rate`` window), each sent as soon as its
last frame is encoded; the decoder (FIFO server on the destination die) starts when every message of the
inference has arrived and takes one decode step.

Closed forms: the zero-load latency adds, per boundary, the encoder pipeline, the arrival of the last
message sent at its window's encode time over the idle route, and the decoder time; the encoder and
decoder are busy ``pipeline + T x step`` and ``pipeline + step`` per inference.
"""

from __future__ import annotations

from ..network import Group
from . import ann
from .common import route_arrivals

__all__ = ["Flow", "zero_load_ticks", "server_busy_ticks"]


class Flow(ann.Flow):
    def boundary(self, b: int, i: int, ready: int) -> None:
        """Encoder on the source die emits one message per send window (each sent as soon as encoded);
        the decoder on the destination die finishes one step after the last message arrives."""
        sim = self.sim
        bp = sim.plan.boundaries[b]
        pipe, step = bp.encoder_pipeline_ticks, bp.encoder_step_ticks

        def decoded() -> None:
            end = sim.occupy(bp.dst, "decoder", i, sim.env.now, bp.decoder_ticks)
            self.job(b + 1, i, end)

        group = Group(bp.messages, decoded)
        start = sim.occupy(bp.src, "encoder", i, ready, pipe + bp.timesteps * step) - (pipe + bp.timesteps * step)
        payload = sim.payload
        spikes = 0
        for m, (_first, stop) in enumerate(bp.windows):
            bits = payload.message_bits(b, i, m)
            msg = sim.net.send(bp.src, bp.dst, bits, at=start + pipe + stop * step, group=group)
            if sim.probe.enabled:
                sim.probe.boundary_message(msg.seq, b, i, m, bits)
            spikes += payload.message_spikes(b, i, m)
        sim.counts.add(bp.src, "codec_spikes", spikes)


def zero_load_ticks(plan, payload) -> int:
    t = 0
    for p, part in enumerate(plan.partitions):
        t += part.cost.ticks
        if p < len(plan.boundaries):
            bp = plan.boundaries[p]
            pipe, step = bp.encoder_pipeline_ticks, bp.encoder_step_ticks
            msgs = [(t + pipe + stop * step, payload.message_bits(p, 0, m)) for m, (_a, stop) in enumerate(bp.windows)]
            t = max(route_arrivals(bp, msgs)) + bp.decoder_ticks
    return t


def server_busy_ticks(plan) -> list[int]:
    busy = [part.cost.ticks for part in plan.partitions]
    for bp in plan.boundaries:
        busy.append(bp.encoder_pipeline_ticks + bp.timesteps * bp.encoder_step_ticks)
        busy.append(bp.decoder_ticks)
    return busy
