"""Probes: what the engine and network report while a run goes on, for timelines and time series.

The engine and network call a probe's hooks only when ``probe.enabled`` is true, so the default
:class:`NullProbe` costs one attribute test per call site. A probe receives integer ticks and never
changes the run. :class:`RecordingProbe` keeps every event in lists (tests, small runs).
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Probe", "NullProbe", "RecordingProbe"]


class Probe(Protocol):
    enabled: bool

    def server_job(self, server: str, inference: int, start: int, end: int) -> None:
        """A FIFO server (``c<chiplet>.compute|encoder|decoder``) served a job of ``inference`` in [start, end)."""

    def link_message(self, link: str, seq: int, first_start: int, last_end: int, flits: int,
                     payload_bits: int) -> None:
        """A link direction sent message ``seq``: first flit started at ``first_start``, last flit
        finished serializing at ``last_end``."""

    def inference(self, inference: int, inject: int, done: int) -> None:
        """An inference entered the package at ``inject`` and left it at ``done``."""


class NullProbe:
    """Records nothing (the default)."""

    enabled = False

    def server_job(self, server, inference, start, end):  # pragma: no cover - never called when disabled
        pass

    def link_message(self, link, seq, first_start, last_end, flits, payload_bits):  # pragma: no cover
        pass

    def inference(self, inference, inject, done):  # pragma: no cover
        pass


class RecordingProbe:
    """Keeps every event as a tuple in a list per hook."""

    enabled = True

    def __init__(self) -> None:
        self.server_jobs: list[tuple[str, int, int, int]] = []
        self.link_messages: list[tuple[str, int, int, int, int, int]] = []
        self.inferences: list[tuple[int, int, int]] = []

    def server_job(self, server, inference, start, end):
        self.server_jobs.append((server, inference, start, end))

    def link_message(self, link, seq, first_start, last_end, flits, payload_bits):
        self.link_messages.append((link, seq, first_start, last_end, flits, payload_bits))

    def inference(self, inference, inject, done):
        self.inferences.append((inference, inject, done))
