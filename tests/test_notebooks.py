"""Execute every notebook in notebooks/ at its small size; a cell that raises fails the test.

Each notebook runs in a fresh ``python3`` kernel started from this interpreter (so it uses this
environment's ipykernel and packages), with the notebook's own directory as working directory, as
Jupyter would. The kernel sees ``SNAPSIM_NOTEBOOK_SMALL=1`` and the repository on ``PYTHONPATH``, so the
notebooks also run from a checkout where snapsim is not installed, and ``TMPDIR`` pointing at the
test's temporary directory, so the files the notebooks write are cleaned up with it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 300
# optional dependencies (extras) a notebook imports; the notebook is skipped when one is missing
REQUIRES = {"02_traces_from_any_trainer.ipynb": ("torch", "snntorch", "spikingjelly")}

# Appended to every notebook: fails the run if the kernel is not this test's interpreter.
_CHECK_KERNEL = (
    "import sys as _sys\n"
    "assert _sys.executable == {exe!r} or _sys.prefix == {prefix!r}, (_sys.executable, {exe!r})"
)


def test_notebooks_found():
    assert NOTEBOOKS, "no notebooks in notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    for module in REQUIRES.get(path.name, ()):
        pytest.importorskip(module)
    nb = nbformat.read(path, as_version=4)
    # committed without outputs: executed outputs must never be checked in
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, f"{path.name}: stored outputs"
    nb.cells.append(nbformat.v4.new_code_cell(_CHECK_KERNEL.format(exe=sys.executable, prefix=sys.prefix)))

    monkeypatch.setenv("SNAPSIM_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # as in Jupyter (conftest sets Agg)
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # quiet debugpy warning on frozen modules
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebooks' tempfile.mkdtemp() dirs end up here

    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:  # message holds the cell source and traceback
        pytest.fail(f"{path.name}: a cell failed:\n{exc}", pytrace=False)
