"""snnTorch adapter: record spiking-neuron outputs of an snnTorch network as boundary spikes.

snnTorch networks are stepped in a Python loop over time, one ``[B, ...]`` call per timestep, so taps
default to ``time_mode="stack"``. Neurons return ``spk`` (``init_hidden=True``) or a tuple
``(spk, mem, ...)`` (``init_hidden=False`` or ``output=True``); the default selector takes element 0.
``LeakyParallel`` runs whole sequences ``[T, B, N]`` and is tapped in native mode.

Spikes are ``spk * graded_spikes_factor``; the factor is written as the boundary's ``spike_value`` and
the stored tensor holds presence only.

``snntorch.utils.reset`` resets the hidden state of *every* snnTorch neuron in the process (it walks a
class-level instance list), not only those of this network; :meth:`SnnTorchRecorder.record_batch`
calls it before each batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from snapsim.errors import SnapsimError

from .recorder import BoundaryRecorder, Tap

__all__ = ["SnnTorchRecorder", "spiking_modules", "spike_value_of"]


def _snn() -> Any:
    try:
        import snntorch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SnapsimError("the snnTorch adapter needs snntorch: pip install -c constraints.txt snntorch") from exc
    return snntorch


def _native_types() -> tuple[type, ...]:
    snn = _snn()
    return tuple(t for t in (getattr(snn, "LeakyParallel", None),) if t is not None)


def spiking_modules(net: torch.nn.Module) -> dict[str, torch.nn.Module]:
    """Every snnTorch spiking neuron of ``net`` (``SpikingNeuron`` subclasses and ``LeakyParallel``), by path."""
    snn = _snn()
    kinds = (snn.SpikingNeuron, *_native_types())
    return {name: m for name, m in net.named_modules() if isinstance(m, kinds)}


def spike_value_of(module: torch.nn.Module) -> float:
    """The value one spike of ``module`` carries: its scalar ``graded_spikes_factor`` (1.0 when absent)."""
    factor = getattr(module, "graded_spikes_factor", None)
    if factor is None:
        return 1.0
    t = torch.as_tensor(factor).detach()
    if t.numel() != 1:
        raise SnapsimError(f"{type(module).__name__} has a per-neuron graded_spikes_factor (shape {list(t.shape)}); "
                           "record that boundary with kind='activation'")
    return float(t.reshape(()))


class SnnTorchRecorder(BoundaryRecorder):
    """A :class:`BoundaryRecorder` that knows snnTorch.

    ``taps``: ``None`` records every spiking neuron (boundary name = module path); otherwise a mapping
    ``{boundary_name: module_path}`` or a sequence of paths, as for :class:`BoundaryRecorder`. Output taps
    on snnTorch neurons get their ``graded_spikes_factor`` as ``spike_value`` and native time mode for
    ``LeakyParallel``.
    """

    framework = "snntorch"

    def __init__(
        self,
        net: torch.nn.Module,
        taps: Mapping[str, str | torch.nn.Module | Tap] | Sequence[str] | None = None,
        *,
        port: str = "output",
        timesteps: int | None = None,
        **defaults: Any,
    ):
        neurons = spiking_modules(net)
        if taps is None:
            if not neurons:
                raise SnapsimError("the network has no snnTorch spiking neurons; name the modules to tap")
            taps = list(neurons)
        super().__init__(net, (), port=port, timesteps=timesteps, **defaults)  # type: ignore[arg-type]
        native = _native_types()

        def options_for(path: str) -> dict[str, Any]:
            module = self._resolve(path)
            options: dict[str, Any] = {}
            if port == "output" and path in neurons:
                options["spike_value"] = spike_value_of(module)
                if isinstance(module, native):
                    options["time_mode"] = "native"
            return options

        self._add_framework_taps(taps, options_for)

    def framework_version(self) -> str:
        return str(_snn().__version__)

    def reset_state(self) -> None:
        """``snntorch.utils.reset(net)``: zero (and detach) hidden state of ``init_hidden`` neurons."""
        from snntorch import utils

        utils.reset(self.model)
