"""Exporters: record boundary tensors from any PyTorch trainer into snapsim traces, and NIR interop.

* :class:`BoundaryRecorder` — generic forward / forward-pre hooks on named modules (the core).
* ``snapsim.export.snntorch.SnnTorchRecorder``, ``snapsim.export.spikingjelly.SpikingJellyRecorder``,
  ``snapsim.export.norse.NorseRecorder`` — framework adapters (import the submodule; each imports its
  framework lazily).
* ``snapsim.export.nir_io`` — model structure and partitions from NIR graphs, NIRData <-> traces
  (needs ``nir``, not torch).

The recorder needs torch (the ``torch`` extra); it is imported on first use so that ``nir_io`` works
without it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BoundaryRecorder", "Tap", "default_feature_names", "first_tensor", "logical_dtype_name"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'snapsim.export' has no attribute {name!r}")
    try:
        import torch  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        from snapsim.errors import SnapsimError

        raise SnapsimError("snapsim.export needs torch (CPU build): pip install -c constraints.txt torch==2.13.0"
                           ) from exc
    from . import recorder

    return getattr(recorder, name)
