"""Where the studies find the shipped hardware presets, workloads and traces (inside the package,
:mod:`snapsim.resources`)."""

from __future__ import annotations

from pathlib import Path

from ..resources import HWCONFIGS, WORKLOADS

__all__ = ["HWCONFIGS", "WORKLOADS", "package", "relative", "trace", "workload", "zoo"]



def package(name: str) -> Path:
    """A shipped package (``hwconfigs/packages/NAME.yaml``)."""
    return HWCONFIGS / "packages" / f"{name}.yaml"


def zoo(model: str, partitions: int) -> Path:
    """A zoo workload: ``model`` split over ``partitions`` pipeline partitions."""
    return WORKLOADS / "zoo" / f"{model}_p{partitions}.yaml"


def workload(name: str) -> Path:
    """A shipped workload (``workloads/NAME.yaml``)."""
    return WORKLOADS / f"{name}.yaml"


def trace(name: str) -> Path:
    """A shipped trace directory (``workloads/traces/NAME.snaptrace``)."""
    return WORKLOADS / "traces" / f"{name}.snaptrace"


def relative(path: str | Path) -> str:
    """A shipped file named as in the repository (``workloads/zoo/X.yaml``, ``hwconfigs/packages/Y.yaml``);
    any other path as given."""
    path = Path(path)
    for root in (WORKLOADS, HWCONFIGS):
        try:
            return f"{root.name}/{path.relative_to(root).as_posix()}"
        except ValueError:
            continue
    return str(path)
