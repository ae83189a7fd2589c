"""SpikingJelly adapter (``spikingjelly.activation_based``): record neuron outputs as boundary spikes.

A module's ``step_mode`` decides how it is tapped: single-step (``"s"``) modules are called once per
timestep with ``[B, ...]`` and are stacked (``time_mode="stack"``); multi-step (``"m"``) modules take
and return ``[T, B, ...]`` (``time_mode="native"``). Neuron state is cleared with
``functional.reset_net`` before every batch (:meth:`SpikingJellyRecorder.record_batch`). After
swapping modules of a network, call ``functional.invalidate_reset_cache(net)``: ``reset_net`` caches
its module list.

The adapter uses plain hooks, not ``spikingjelly.activation_based.monitor`` (whose import pulls in
tensorboard).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from snapsim.errors import SnapsimError

from .recorder import BoundaryRecorder, Tap, package_version

__all__ = ["SpikingJellyRecorder", "spiking_modules", "step_mode_of"]


def _sj() -> Any:
    try:
        import spikingjelly
        from spikingjelly.activation_based import base, functional
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SnapsimError("the SpikingJelly adapter needs spikingjelly (pip install -c constraints.txt --no-deps "
                           "spikingjelly && pip install -c constraints.txt loguru)") from exc
    return spikingjelly, base, functional


def spiking_modules(net: torch.nn.Module) -> dict[str, torch.nn.Module]:
    """Every SpikingJelly spiking neuron of ``net`` by path: step modules defined in
    ``spikingjelly.activation_based.neuron``, except the non-spiking (membrane-output) nodes."""
    _, base, _ = _sj()
    found = {}
    for name, m in net.named_modules():
        cls = type(m)
        if not isinstance(m, base.StepModule):
            continue
        if not cls.__module__.startswith("spikingjelly.activation_based.neuron"):
            continue
        if any(c.__name__.startswith("NonSpiking") for c in cls.__mro__):
            continue
        found[name] = m
    return found


def step_mode_of(module: torch.nn.Module) -> str | None:
    """``"s"``, ``"m"``, or ``None`` for modules that are not SpikingJelly step modules."""
    mode = getattr(module, "step_mode", None)
    return mode if mode in ("s", "m") else None


class SpikingJellyRecorder(BoundaryRecorder):
    """A :class:`BoundaryRecorder` that knows SpikingJelly step modes and ``reset_net``.

    ``taps``: ``None`` records every spiking neuron (boundary name = module path); otherwise a mapping
    ``{boundary_name: module_path}`` or a sequence of paths. Each tap's ``time_mode`` follows the tapped
    module's ``step_mode`` (``"s"`` -> stack, ``"m"`` -> native); modules without one use ``time_mode``.
    """

    framework = "spikingjelly"

    def __init__(
        self,
        net: torch.nn.Module,
        taps: Mapping[str, str | torch.nn.Module | Tap] | Sequence[str] | None = None,
        *,
        port: str = "output",
        time_mode: str | None = None,
        timesteps: int | None = None,
        **defaults: Any,
    ):
        neurons = spiking_modules(net)
        if taps is None:
            if not neurons:
                raise SnapsimError("the network has no SpikingJelly spiking neurons; name the modules to tap")
            taps = list(neurons)
        modes = {step_mode_of(m) for m in neurons.values()} - {None}
        fallback = time_mode or ("native" if modes == {"m"} else "stack")
        super().__init__(net, (), port=port, time_mode=fallback, timesteps=timesteps, **defaults)  # type: ignore[arg-type]
        def options_for(path: str) -> dict:
            mode = step_mode_of(self._resolve(path))
            return {"time_mode": {"s": "stack", "m": "native"}[mode]} if mode and time_mode is None else {}

        self._add_framework_taps(taps, options_for)

    def framework_version(self) -> str:
        return package_version(_sj()[0], "spikingjelly")

    def reset_state(self) -> None:
        """``functional.reset_net(net)``: membrane potentials back to their reset values."""
        _, _, functional = _sj()
        functional.reset_net(self.model)
