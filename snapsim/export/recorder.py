"""Record what crosses partition boundaries of any PyTorch model, through module hooks.

A :class:`BoundaryRecorder` taps named modules of a ``torch.nn.Module``: either the *output* of the
module that ends a partition (``register_forward_hook``) or the *input* of the module that starts the
next one (``register_forward_pre_hook``). Hooks detach and copy to the CPU and always return ``None``,
so the model computes exactly what it computes without the recorder.

Time handling, per tap:

* ``time_mode="stack"``: the module is called once per timestep with ``[B, *features]`` (snnTorch
  loops, SpikingJelly single-step, Norse ``*Cell``); calls are stacked to ``[T, B, *features]`` when
  ``timesteps`` calls have arrived, or at :meth:`BoundaryRecorder.end_batch`. This holds for
  activations too (e.g. a membrane potential per step: layout ``[T, B, ...]``).
* ``time_mode="native"``: every call already carries ``[T, B, *features]`` (SpikingJelly multi-step,
  Norse ``LIF``) or, for ``kind="activation"``, ``[B, *features]`` (ANNs).

Batches accumulate along ``B``. Spike taps store presence (``torch.bool``): a value other than 0 and
the tap's ``spike_value`` raises :class:`~snapsim.errors.TraceError` rather than being rounded away.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from snapsim.dtypes import UnknownDtype, from_torch
from snapsim.errors import SnapsimError, TraceError

__all__ = [
    "BoundaryRecorder",
    "Tap",
    "first_tensor",
    "default_feature_names",
    "logical_dtype_name",
]

Kind = Literal["spike", "activation"]
Port = Literal["output", "input"]
TimeMode = Literal["stack", "native"]
Selector = Callable[[Any], Any]
_WHOLE = object()  # record_batch: forward() runs its own time loop

def logical_dtype_name(dtype: torch.dtype) -> tuple[str, int]:
    """The logical dtype name and bit width of a torch dtype (``torch.float16 -> ("F16", 16)``), from the one
    dtype table (:mod:`snapsim.dtypes`); a dtype a trace cannot hold raises :class:`TraceError`."""
    try:
        d = from_torch(dtype)
    except UnknownDtype as exc:
        raise TraceError(str(exc)) from None
    return d.name, d.bits


def first_tensor(value: Any) -> Any:
    """Default selector: the value itself, or element 0 of a tuple/list (``(spk, mem)``, ``(spikes, state)``,
    a pre-hook's ``args``)."""
    if isinstance(value, (tuple, list)):
        if not value:
            raise TraceError("the tapped module produced an empty tuple; give a selector")
        return value[0]
    return value


def default_feature_names(rank: int) -> list[str]:
    """Dimension names for the per-sample feature axes: ``N`` (vector), ``S, C`` (sequence), ``C, H, W``."""
    names = {0: [], 1: ["N"], 2: ["S", "C"], 3: ["C", "H", "W"], 4: ["C", "D", "H", "W"]}
    return list(names.get(rank, [f"F{i}" for i in range(rank)]))


def package_version(module: Any, distribution: str) -> str:
    """A framework's version: its ``__version__``, else the installed distribution's metadata."""
    version = getattr(module, "__version__", None)
    if version is None:
        from importlib.metadata import version as dist_version

        version = dist_version(distribution)
    return str(version)


@dataclass
class Tap:
    """One recorded boundary.

    ``module`` is the dotted path of the tapped module inside the model (``""`` is the model itself).
    ``src``/``dst`` name the partitions the boundary joins; when every tap leaves them empty the
    recorder chains ``die0 -> die1 -> ...`` in registration order.
    """

    name: str
    module: str
    port: Port = "output"
    kind: Kind = "spike"
    time_mode: TimeMode = "stack"
    selector: Selector = first_tensor
    src: str | None = None
    dst: tuple[str, ...] = ()
    spike_value: float = 1.0
    """Value a spike carries (snnTorch ``graded_spikes_factor``); stored tensors hold presence only."""
    precision_bits: int | None = None
    """Wire bits per element; default 1 for spikes, the dtype's width for activations."""
    feature_names: tuple[str, ...] | None = None
    dense: Port | None = None
    """Spike taps: also record the dense activation at this port of the same module (``"input"``: what
    enters the encoder) as boundary ``NAME:dense`` (kind activation, same partitions), so one trace replays
    in ann, snn and snap modes. Stacked per step, it is written ``[B, ...]`` when equal at every step."""
    dense_precision_bits: int | None = None
    """Wire bits per element of the dense view (default: its dtype's width)."""
    view_of: str | None = None
    """Set on the dense view of a spike tap: the spike boundary it belongs to."""
    # recorded data
    _steps: list[torch.Tensor] = field(default_factory=list, init=False, repr=False)
    _chunks: list[torch.Tensor] = field(default_factory=list, init=False, repr=False)
    _features: tuple[int, ...] | None = field(default=None, init=False, repr=False)
    _timesteps: int | None = field(default=None, init=False, repr=False)
    _dtype: torch.dtype | None = field(default=None, init=False, repr=False)
    _calls: int = field(default=0, init=False, repr=False)  # hook calls (whole-sequence forward detection)

    def __post_init__(self) -> None:
        if self.port not in ("output", "input"):
            raise SnapsimError(f"tap {self.name!r}: port must be 'output' or 'input', not {self.port!r}")
        if self.kind not in ("spike", "activation"):
            raise SnapsimError(f"tap {self.name!r}: kind must be 'spike' or 'activation', not {self.kind!r}")
        if self.time_mode not in ("stack", "native"):
            raise SnapsimError(f"tap {self.name!r}: time_mode must be 'stack' or 'native', not {self.time_mode!r}")
        if not math.isfinite(self.spike_value) or self.spike_value == 0:
            raise SnapsimError(f"tap {self.name!r}: spike_value must be finite and non-zero, not {self.spike_value}")
        if isinstance(self.dst, str):
            self.dst = (self.dst,)
        self.dst = tuple(self.dst)
        if self.dense is not None and (self.kind != "spike" or self.dense not in ("output", "input")):
            raise SnapsimError(f"tap {self.name!r}: dense= is for spike taps and names a port ('input' or 'output')")

    def dense_view(self) -> "Tap":
        """The tap recording this spike tap's dense view (see ``dense``)."""
        return Tap(name=f"{self.name}:dense", module=self.module, port=self.dense or "input", kind="activation",
                   time_mode=self.time_mode, src=self.src, dst=self.dst, precision_bits=self.dense_precision_bits,
                   view_of=self.name)

    # -- recorded data -------------------------------------------------------------------------------

    @property
    def has_time(self) -> bool:
        """Spikes are always ``[T, B, ...]``; activations when stacked per step or when they are the dense
        view of a spike tap (it has the spikes' time axis); other activations are ``[B, ...]``."""
        return self.kind == "spike" or self.time_mode == "stack" or self.view_of is not None

    @property
    def n_samples(self) -> int:
        axis = 1 if self.has_time else 0
        return sum(int(c.shape[axis]) for c in self._chunks)

    @property
    def features(self) -> tuple[int, ...] | None:
        return self._features

    @property
    def timesteps(self) -> int | None:
        return self._timesteps

    @property
    def pending_steps(self) -> int:
        return len(self._steps)

    def tensor(self) -> torch.Tensor:
        """All recorded samples: ``[T, B, *features]`` bool for spikes, ``[B, *features]`` for activations
        (``[T, B, *features]`` when stacked per step)."""
        if self._steps:
            raise TraceError(f"boundary {self.name!r} has {len(self._steps)} timesteps not yet closed into a batch; "
                             "call end_batch() first")
        if not self._chunks:
            raise TraceError(f"boundary {self.name!r} recorded nothing: was module {self.module!r} called?")
        return torch.cat(self._chunks, dim=1 if self.has_time else 0)

    def written(self) -> tuple[torch.Tensor, bool]:
        """What :meth:`BoundaryRecorder.write` stores and whether it keeps the T axis: the recorded tensor,
        except that a dense view stacked per step whose steps are all equal is stored once, ``[B, ...]``."""
        x = self.tensor()
        if self.view_of is not None and self.has_time and bool((x == x[:1]).all()):
            return x[0], False
        return x, self.has_time

    def layout(self, has_time: bool | None = None) -> list[str]:
        assert self._features is not None
        names = list(self.feature_names) if self.feature_names is not None else default_feature_names(
            len(self._features))
        if len(names) != len(self._features):
            raise SnapsimError(f"tap {self.name!r}: feature_names {names} do not match the feature shape "
                               f"{list(self._features)}")
        has_time = self.has_time if has_time is None else has_time
        return (["T", "B"] if has_time else ["B"]) + names

    def logical_dtype(self) -> tuple[str, int]:
        if self.kind == "spike":
            return "BOOL", 1
        assert self._dtype is not None
        return logical_dtype_name(self._dtype)

    def clear(self) -> None:
        self._steps.clear()
        self._chunks.clear()
        self._features = None
        self._timesteps = None
        self._dtype = None

    def _snapshot(self) -> tuple:
        return (len(self._steps), len(self._chunks), self._features, self._timesteps, self._dtype)

    def _restore(self, snap: tuple) -> None:
        """Drop whatever was captured since :meth:`_snapshot` (a forward call that turned out to be wrong)."""
        steps, chunks, self._features, self._timesteps, self._dtype = snap
        del self._steps[steps:]
        del self._chunks[chunks:]

    # -- called from hooks ---------------------------------------------------------------------------

    def _capture(self, value: Any, timesteps: int | None) -> None:
        self._calls += 1
        x = self.selector(value)
        if not isinstance(x, torch.Tensor):
            raise TraceError(f"boundary {self.name!r}: the selector returned {type(x).__name__}, not a tensor "
                             f"(module {self.module!r}, port {self.port}); pass selector=...")
        x = x.detach()
        if self.kind == "spike":
            x = self._to_presence(x)
        else:
            x = x.to("cpu", copy=True)
        if self.time_mode == "stack":
            if self._steps and self._steps[0].shape != x.shape:
                raise TraceError(f"boundary {self.name!r}: timestep {len(self._steps)} has shape {list(x.shape)}, "
                                 f"earlier steps of this batch {list(self._steps[0].shape)}; did a batch end "
                                 "without end_batch()?")
            self._steps.append(x)
            if timesteps is not None and len(self._steps) == timesteps:
                self._close_batch()
        else:
            self._add_chunk(x)

    def _to_presence(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype == torch.bool:
            return x.to("cpu", copy=True)
        nonzero = x != 0
        bad = nonzero & (x != self.spike_value)
        if bool(bad.any()):
            vals = torch.unique(x[bad])[:5].tolist()
            raise TraceError(f"boundary {self.name!r} (module {self.module!r}) is recorded as spikes but carries "
                             f"values other than 0 and spike_value={self.spike_value}: e.g. {vals}; record it "
                             "with kind='activation' or set spike_value")
        return nonzero.to("cpu")

    def _close_batch(self) -> None:
        if not self._steps:
            return
        stacked = torch.stack(self._steps, dim=0)
        self._steps.clear()
        self._add_chunk(stacked)

    def _add_chunk(self, x: torch.Tensor) -> None:
        if self.has_time:
            if x.dim() < 2:
                raise TraceError(f"boundary {self.name!r}: need at least [T, B], got shape {list(x.shape)}")
            t, features = int(x.shape[0]), tuple(int(s) for s in x.shape[2:])
            if not features:
                raise TraceError(
                    f"boundary {self.name!r}: a batch of shape {list(x.shape)} has no feature axis after [T, B] "
                    "(each call of the tapped module must see [B, *features]; a forward() that runs its own time "
                    "loop over [T, B, ...] input is recorded with record_batch(x, stepwise=False))")
            if self._timesteps is not None and t != self._timesteps:
                raise TraceError(f"boundary {self.name!r}: a batch has {t} timesteps, earlier ones {self._timesteps}")
            self._timesteps = t
        else:
            if x.dim() < 1:
                raise TraceError(f"boundary {self.name!r}: activations need at least [B], got a scalar")
            features = tuple(int(s) for s in x.shape[1:])
        if self.kind == "activation":
            if self._dtype is not None and x.dtype != self._dtype:
                raise TraceError(f"boundary {self.name!r}: dtype changed from {self._dtype} to {x.dtype}")
            self._dtype = x.dtype
        if self._features is not None and features != self._features:
            raise TraceError(f"boundary {self.name!r}: per-sample shape changed from {list(self._features)} to "
                             f"{list(features)}")
        self._features = features
        self._chunks.append(x)


class BoundaryRecorder:
    """Hooks that record boundary tensors of a model, across timesteps and batches.

    ``taps`` maps a boundary name to a module path (or the module object) or to a :class:`Tap`;
    a sequence of module paths uses each path as the boundary name. ``port``, ``kind``,
    ``time_mode``, ``selector`` and ``spike_value`` are the defaults for taps given as paths.
    ``timesteps`` (optional) closes a batch of a stack-mode tap after that many calls, and checks
    native spike taps carry exactly that many steps. ``dense="input"`` also records, for every spike
    tap given as a path, the dense activation entering the tapped module (the encoder's input) as boundary
    ``NAME:dense`` at the same cut (:attr:`Tap.dense`): such a trace replays in ann, snn and snap modes.

    Use it as a context manager (hooks are removed on exit; recorded data stays)::

        with BoundaryRecorder(net, {"fc1->fc2": "lif1"}, timesteps=8) as rec:
            for x in batches:
                for t in range(8):
                    net(x[t])
        rec.write("out.snaptrace", model="net", framework="snntorch", partitions=["die0", "die1"])
    """

    framework = "torch"
    """Name written to the trace manifest by :meth:`write` unless given."""

    def __init__(
        self,
        model: torch.nn.Module,
        taps: Mapping[str, str | torch.nn.Module | Tap] | Sequence[str] | Iterable[Tap] = (),
        *,
        port: Port = "output",
        kind: Kind = "spike",
        time_mode: TimeMode = "stack",
        selector: Selector = first_tensor,
        spike_value: float = 1.0,
        timesteps: int | None = None,
        dense: Port | None = None,
    ):
        if not isinstance(model, torch.nn.Module):
            raise SnapsimError(f"BoundaryRecorder needs a torch.nn.Module, got {type(model).__name__}")
        if timesteps is not None and (not isinstance(timesteps, int) or timesteps < 1):
            raise SnapsimError(f"timesteps must be a positive integer, not {timesteps!r}")
        self.model = model
        self.timesteps = timesteps
        self.enabled = True
        self._stepwise: bool | None = None  # record_batch's decision (None: not yet made)
        self._defaults = dict(port=port, kind=kind, time_mode=time_mode, selector=selector, spike_value=spike_value)
        if dense is not None:
            self._defaults["dense"] = dense
        self._taps: dict[str, Tap] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []
        self._paths = {m: n for n, m in model.named_modules()}
        if isinstance(taps, Mapping):
            for name, target in taps.items():
                if isinstance(target, Tap):
                    if target.name != name:
                        raise SnapsimError(f"tap mapping key {name!r} differs from Tap.name {target.name!r}")
                    self.add_tap(target)
                else:
                    self.add_tap(name, target)
        else:
            for item in taps:
                if isinstance(item, Tap):
                    self.add_tap(item)
                else:
                    self.add_tap(str(item), str(item))

    # -- taps ----------------------------------------------------------------------------------------

    def add_tap(self, name: str | Tap, module: str | torch.nn.Module | None = None, **options: Any) -> Tap:
        """Add a tap (``add_tap("fc1->fc2", "lif1", port="output")`` or ``add_tap(Tap(...))``) and hook it."""
        if isinstance(name, Tap):
            if module is not None or options:
                raise SnapsimError("add_tap(Tap) takes no further arguments")
            tap = name
        else:
            if module is None:
                raise SnapsimError(f"tap {name!r}: give the module (a path or the module object)")
            path = self._module_path(module)
            tap = Tap(name=name, module=path, **{**self._defaults, **options})
        views = [tap] + ([tap.dense_view()] if tap.dense is not None else [])
        for t in views:
            if t.name in self._taps:
                raise SnapsimError(f"boundary {t.name!r} is tapped twice")
        target = self._resolve(tap.module)
        for t in views:
            self._taps[t.name] = t
            if t.port == "output":
                handle = target.register_forward_hook(self._make_output_hook(t))
            else:
                handle = target.register_forward_pre_hook(self._make_input_hook(t))
            self._handles.append(handle)
        return tap

    def route(self, name: str, src: str, dst: str | Sequence[str]) -> None:
        """Set the partitions boundary ``name`` joins (``src`` -> ``dst``, one or several)."""
        tap = self._taps.get(name)
        if tap is None:
            raise SnapsimError(f"no boundary named {name!r}; recorded: {', '.join(self._taps) or 'none'}")
        for t in self._taps.values():
            if t is tap or t.view_of == name:
                t.src, t.dst = src, (dst,) if isinstance(dst, str) else tuple(dst)

    @property
    def taps(self) -> dict[str, Tap]:
        return dict(self._taps)

    def __getitem__(self, name: str) -> torch.Tensor:
        return self.tensor(name)

    def tensor(self, name: str) -> torch.Tensor:
        """Recorded data of one boundary (see :meth:`Tap.tensor`)."""
        try:
            return self._taps[name].tensor()
        except KeyError:
            raise SnapsimError(f"no boundary named {name!r}; recorded: {', '.join(self._taps) or 'none'}") from None

    def _module_path(self, module: str | torch.nn.Module) -> str:
        if isinstance(module, torch.nn.Module):
            if module not in self._paths:
                raise SnapsimError(f"module {type(module).__name__} is not part of the recorded model")
            return self._paths[module]
        return str(module)

    def _resolve(self, path: str) -> torch.nn.Module:
        try:
            return self.model.get_submodule(path)
        except AttributeError:
            names = [n for n in self._paths.values() if n]
            hint = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
            raise SnapsimError(f"the model has no module {path!r}; modules: {hint}") from None

    def _make_output_hook(self, tap: Tap) -> Callable[..., None]:
        def hook(module: torch.nn.Module, args: Any, output: Any) -> None:
            if self.enabled:
                tap._capture(output, self.timesteps)
            return None

        return hook

    def _make_input_hook(self, tap: Tap) -> Callable[..., None]:
        def hook(module: torch.nn.Module, args: Any) -> None:
            if self.enabled:
                tap._capture(args, self.timesteps)
            return None

        return hook

    # -- batches -------------------------------------------------------------------------------------

    def _add_framework_taps(self, taps, options_for) -> None:
        """Add taps given as ``{name: module or path or Tap}`` or a sequence of paths; for a path tap,
        ``options_for(path)`` gives the framework's per-module tap options (time mode, spike value)."""
        items = taps.items() if isinstance(taps, Mapping) else ((str(p), str(p)) for p in taps)
        for name, target in items:
            if isinstance(target, Tap):
                self.add_tap(target)
                continue
            path = self._module_path(target)
            self.add_tap(name, path, **options_for(path))

    def framework_version(self) -> str:
        """Version string of the framework that ran the model."""
        return torch.__version__

    def reset_state(self) -> None:
        """Reset the model's neuron state before a batch; plain torch models keep none."""

    def record_batch(
        self,
        inputs: torch.Tensor,
        *,
        forward: Callable[[torch.Tensor], Any] | None = None,
        stepwise: bool | None = None,
    ) -> Any:
        """Run one batch through the model under ``torch.no_grad`` with recording on, and close the batch.

        ``inputs`` is ``[T, B, ...]``. ``stepwise=True`` calls ``forward(inputs[t])`` once per timestep (a
        model stepped by its caller); ``stepwise=False`` calls ``forward(inputs)`` once (a model whose
        ``forward()`` runs its own time loop, as in the snnTorch tutorials, or a multi-step model). Neuron
        state is reset first (:meth:`reset_state`). Returns the model output: per-step outputs stacked along
        a new dim 0 when they are tensors, else their list; the whole call's output when not stepwise.

        ``stepwise=None`` (the default) decides once per recorder: whole-sequence when no tap is in stack
        mode; otherwise the first call ``forward(inputs[0])`` is watched, and if a stack-mode tap fires more
        than once during that single call, ``forward()`` has its own time loop: what that call captured is
        dropped, the state is reset and the batch is run whole (``forward(inputs)``), with a warning naming
        the flag that skips the check. Later batches use the same choice.
        """
        fn = forward if forward is not None else self.model
        auto = stepwise is None
        if auto:
            stepwise = self._stepwise if self._stepwise is not None else any(
                t.time_mode == "stack" for t in self._taps.values())
        self.reset_state()
        with torch.no_grad():
            if not stepwise:
                result: Any = fn(inputs)
            else:
                outs = []
                for t in range(int(inputs.shape[0])):
                    if t == 0 and auto and self._stepwise is None:
                        first = self._first_step(fn, inputs)
                        if first is _WHOLE:
                            self.reset_state()
                            result = fn(inputs)
                            break
                        outs.append(first)
                    else:
                        outs.append(fn(inputs[t]))
                else:
                    result = torch.stack(outs) if all(isinstance(o, torch.Tensor) for o in outs) else outs
        self.end_batch()
        return result

    def _first_step(self, fn: Callable[[torch.Tensor], Any], inputs: torch.Tensor) -> Any:
        """``fn(inputs[0])`` watched: returns its output, or ``_WHOLE`` (and records that choice) when a
        stack-mode tap fired more than once in that one call (``forward()`` loops over time itself)."""
        stack = [t for t in self._taps.values() if t.time_mode == "stack"]
        snaps = {t.name: t._snapshot() for t in stack}
        for t in stack:
            t._calls = 0
        error: BaseException | None = None
        try:
            out = fn(inputs[0])
        except Exception as exc:  # a whole-sequence forward given one timestep often fails part-way
            error, out = exc, None
        fired = {t.name: t._calls for t in stack}
        looped = {name: n for name, n in fired.items() if n > 1}
        if looped:
            for t in stack:
                t._restore(snaps[t.name])
            name, n = next(iter(looped.items()))
            warnings.warn(
                f"record_batch: tap {name!r} fired {n} times during the single call forward(inputs[0]): the model's "
                "forward() runs its own time loop, so each batch is recorded whole, forward(inputs) on [T, B, ...] "
                "(pass record_batch(x, stepwise=False) to say so and skip this check)",
                stacklevel=3,
            )
            self._stepwise = False
            return _WHOLE
        if error is not None:
            note = ("snapsim: record_batch called forward(inputs[t]) once per timestep (stepwise); if this model's "
                    "forward() loops over time itself, pass record_batch(x, stepwise=False)")
            if hasattr(error, "add_note"):
                error.add_note(note)
            raise error
        self._stepwise = True
        return out

    def end_batch(self) -> None:
        """Close the current batch: stack every stack-mode tap's timesteps to ``[T, B, ...]``."""
        for tap in self._taps.values():
            tap._close_batch()

    @property
    def n_samples(self) -> int:
        """Samples recorded (all taps must agree; raises TraceError otherwise)."""
        counts = {name: tap.n_samples for name, tap in self._taps.items()}
        if not counts:
            return 0
        if len(set(counts.values())) != 1:
            raise TraceError("boundaries recorded different sample counts: "
                             + ", ".join(f"{n}={c}" for n, c in counts.items()))
        return next(iter(counts.values()))

    def clear(self) -> None:
        """Drop every recorded tensor; hooks stay attached."""
        for tap in self._taps.values():
            tap.clear()

    # -- lifetime ------------------------------------------------------------------------------------

    def remove(self) -> None:
        """Remove all hooks (recorded data stays). Idempotent."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    close = remove

    def __enter__(self) -> "BoundaryRecorder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    # -- output --------------------------------------------------------------------------------------

    def _routes(self, partitions: Sequence[str] | None) -> tuple[list[str], dict[str, tuple[str, tuple[str, ...]]]]:
        """Partitions and each boundary's (src, dst); a dense view shares its spike tap's."""
        parts, routes = self._primary_routes(partitions)
        for t in self._taps.values():
            if t.view_of is not None:
                routes[t.name] = routes[t.view_of]
        return parts, routes

    def _primary_routes(self, partitions):
        taps = [t for t in self._taps.values() if t.view_of is None]
        given = [t for t in taps if t.src is not None or t.dst]
        if given and len(given) != len(taps):
            missing = [t.name for t in taps if t not in given]
            raise SnapsimError(f"give src and dst for every tap or for none; missing on: {', '.join(missing)}")
        if not given:
            parts = list(partitions) if partitions is not None else [f"die{i}" for i in range(len(taps) + 1)]
            if len(parts) != len(taps) + 1:
                raise SnapsimError(f"{len(taps)} boundaries chained in order need {len(taps) + 1} partitions, "
                                   f"got {len(parts)}; or give src/dst on each tap")
            return parts, {t.name: (parts[i], (parts[i + 1],)) for i, t in enumerate(taps)}
        routes: dict[str, tuple[str, tuple[str, ...]]] = {}
        seen: list[str] = []
        for t in taps:
            if t.src is None or not t.dst:
                raise SnapsimError(f"tap {t.name!r} needs both src and dst")
            routes[t.name] = (t.src, t.dst)
            for p in (t.src, *t.dst):
                if p not in seen:
                    seen.append(p)
        parts = list(partitions) if partitions is not None else seen
        unknown = [p for p in seen if p not in parts]
        if unknown:
            raise SnapsimError(f"taps name partitions {unknown} that are not in partitions={parts}")
        return parts, routes

    def trace_timesteps(self) -> int | None:
        """The common T of all spike taps (None when only activations were recorded)."""
        ts = {t.name: t.timesteps for t in self._taps.values() if t.kind == "spike"}
        values = {v for v in ts.values() if v is not None}
        if len(values) > 1:
            raise TraceError("spike boundaries recorded different timesteps: "
                             + ", ".join(f"{n}={v}" for n, v in ts.items()))
        return values.pop() if values else None

    def boundary_specs(self) -> list[dict[str, Any]]:
        """Per boundary: the keyword arguments for ``TraceWriter.add_boundary`` (without src/dst)."""
        specs = []
        for tap in self._taps.values():
            _, has_time = tap.written()  # raises when nothing or an unclosed batch was recorded
            dtype_name, bits = tap.logical_dtype()
            specs.append(dict(
                name=tap.name, kind=tap.kind, layout=tap.layout(has_time), features=list(tap.features or ()),
                logical_dtype=dtype_name,
                precision_bits=tap.precision_bits if tap.precision_bits is not None else bits,
                timesteps=tap.timesteps if has_time else 1,
                spike_value=tap.spike_value, tap={"module": tap.module, "port": tap.port},
            ))
        return specs

    def to_writer(self, writer: Any, partitions: Sequence[str] | None = None) -> None:
        """Declare every boundary on an open ``snapsim.trace.TraceWriter`` and append all recorded samples."""
        _, routes = self._routes(partitions)
        self.n_samples  # noqa: B018 - raises if taps disagree
        for spec in self.boundary_specs():
            src, dst = routes[spec["name"]]
            spec.pop("tap")
            if spec["kind"] == "activation":
                spec.pop("spike_value")
            writer.add_boundary(spec.pop("name"), src=src, dst=list(dst), **spec)
        for name, tap in self._taps.items():
            writer.append(name, tap.written()[0])

    def write(
        self,
        path: str | Path,
        *,
        model: str,
        framework: str | None = None,
        framework_version: str | None = None,
        partitions: Sequence[str] | None = None,
        container: str = "safetensors",
        metadata: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        run: Mapping[str, Any] | None = None,
        **writer_options: Any,
    ) -> Path:
        """Write everything recorded as a trace directory and return its path.

        ``framework`` defaults to this recorder's framework and its installed version. The taps (module
        path and port of each boundary) go into ``run["taps"]``; ``writer_options`` (``sparsity``,
        ``shard_samples``, ``overwrite``) are passed to ``TraceWriter``.
        """
        from snapsim.trace import TraceWriter

        parts, _ = self._routes(partitions)
        if framework is None:
            framework = self.framework
            if framework_version is None:
                framework_version = self.framework_version()
        if framework_version is None:
            raise SnapsimError(f"give framework_version for framework {framework!r}")
        run_info = {
            "exporter": f"snapsim.export.{type(self).__name__}",
            "torch": torch.__version__,
            "taps": {t.name: {"module": t.module, "port": t.port} for t in self._taps.values()},
            **(run or {}),
        }
        with TraceWriter(path, model=model, framework=framework, framework_version=framework_version,
                         partitions=parts, timesteps=self.trace_timesteps() or 1, container=container,
                         metadata=dict(metadata or {}), metrics=dict(metrics or {}), run=run_info,
                         **writer_options) as writer:
            self.to_writer(writer, parts)
        return Path(path)
