"""Design-space sweeps: a YAML sweep file expanded into points, run locally or on Dask, resumable.

``load_sweep(path)`` reads a sweep file, ``run_sweep(spec, out)`` runs its missing points into a Parquet
table and ``load_results(out)`` reads that table (also while a sweep is still running).
"""

from .runner import PreparedEvaluator, SweepSummary, run_sweep
from .spec import Axis, SweepSpec, load_sweep, validate_sweep_file
from .store import load_results

__all__ = [
    "Axis",
    "PreparedEvaluator",
    "SweepSpec",
    "SweepSummary",
    "load_results",
    "load_sweep",
    "run_sweep",
    "validate_sweep_file",
]
