"""The three designs, one module each: its event flow (how one inference moves through the package's
servers and links, driven by :class:`snapsim.engine.Simulation`) and, beside it, its closed forms
(zero-load latency of an inference and the per-inference busy time of every server), which read the
plan and the payload model, never the engine.

* :mod:`~snapsim.modes.ann`: ANN-only, dense activations cross the links;
* :mod:`~snapsim.modes.snn`: SNN-only, every stage spiking for T timesteps, timesteps pipelined;
* :mod:`~snapsim.modes.snap`: dense compute, a spike encoder/decoder at each die boundary.
"""

from __future__ import annotations

from . import ann, snap, snn
from .bounds import pipeline_bounds

__all__ = ["FLOWS", "pipeline_bounds"]

FLOWS = {"ann": ann.Flow, "snn": snn.Flow, "snap": snap.Flow}
