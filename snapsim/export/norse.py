"""Norse adapter: record ``(spikes, state)`` outputs of Norse modules as boundary spikes.

Time-lifted modules (``norse.torch.LIF``, subclasses of ``SNN``/``SNNRecurrent``) take and return
``[T, B, ...]`` and are tapped natively; ``*Cell`` modules (``SNNCell``/``SNNRecurrentCell``) are called
once per timestep and are stacked. Both return ``(spikes, state)``; the default selector takes the
spikes. ``SequentialState`` networks need nothing special: hooks sit on the neuron modules inside.

Norse keeps no hidden state in modules (state is passed in and returned), so there is nothing to reset
between batches; a per-step loop over a cell network threads the state
(:meth:`NorseRecorder.record_batch`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from snapsim.errors import SnapsimError

from .recorder import BoundaryRecorder, Tap, first_tensor, package_version

__all__ = ["NorseRecorder", "spiking_modules"]


def _norse() -> tuple[Any, tuple[type, ...], tuple[type, ...]]:
    try:
        import norse
        from norse.torch.module.snn import SNN, SNNCell, SNNRecurrent, SNNRecurrentCell
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SnapsimError("the Norse adapter needs norse (pip install -c constraints.txt --no-deps norse nirtorch)"
                           ) from exc
    return norse, (SNN, SNNRecurrent), (SNNCell, SNNRecurrentCell)


def spiking_modules(net: torch.nn.Module) -> dict[str, tuple[torch.nn.Module, str]]:
    """Every Norse neuron module of ``net`` by path, with its time mode (``"native"`` or ``"stack"``)."""
    _, lifted, cells = _norse()
    found = {}
    for name, m in net.named_modules():
        if isinstance(m, lifted):
            found[name] = (m, "native")
        elif isinstance(m, cells):
            found[name] = (m, "stack")
    return found


class NorseRecorder(BoundaryRecorder):
    """A :class:`BoundaryRecorder` that knows Norse modules.

    ``taps``: ``None`` records every Norse neuron module (boundary name = module path); otherwise a
    mapping ``{boundary_name: module_path}`` or a sequence of paths. Output taps on Norse neurons get
    ``time_mode`` from the module type.
    """

    framework = "norse"

    def __init__(
        self,
        net: torch.nn.Module,
        taps: Mapping[str, str | torch.nn.Module | Tap] | Sequence[str] | None = None,
        *,
        port: str = "output",
        time_mode: str = "native",
        timesteps: int | None = None,
        **defaults: Any,
    ):
        neurons = spiking_modules(net)
        if taps is None:
            if not neurons:
                raise SnapsimError("the network has no Norse neuron modules; name the modules to tap")
            taps = list(neurons)
        super().__init__(net, (), port=port, time_mode=time_mode, timesteps=timesteps,  # type: ignore[arg-type]
                         **defaults)
        self._add_framework_taps(
            taps, lambda path: {"time_mode": neurons[path][1]} if port == "output" and path in neurons else {}
        )

    def framework_version(self) -> str:
        return package_version(_norse()[0], "norse")

    def record_batch(
        self,
        inputs: torch.Tensor,
        *,
        forward: Callable[..., Any] | None = None,
        stepwise: bool | None = None,
    ) -> Any:
        """Run one batch with recording on and close it.

        Whole-sequence (``stepwise=False``, the default when no tap is in stack mode): ``forward(inputs)``
        on ``[T, B, ...]``. Per step: ``out, state = forward(inputs[t], state)`` starting from
        ``state=None``; the per-step outputs (element 0 of each) are stacked and returned.
        """
        if stepwise is None:
            stepwise = any(t.time_mode == "stack" for t in self._taps.values())
        if not stepwise:
            return super().record_batch(inputs, forward=forward, stepwise=False)
        fn = forward if forward is not None else self.model
        outs = []
        state = None
        with torch.no_grad():
            for t in range(int(inputs.shape[0])):
                result = fn(inputs[t], state)
                if not (isinstance(result, tuple) and len(result) == 2):
                    raise SnapsimError("a per-step Norse forward must return (output, state)")
                out, state = result
                outs.append(first_tensor(out))
        self.end_batch()
        return torch.stack(outs)
