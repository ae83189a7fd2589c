"""snapsim's compiled modules: which modules are compiled, and which copy of each a process runs.

A module listed in :data:`COMPILED_MODULES` is ordinary Python (its one source, ``NAME.py``) that setup.py
also compiles with Cython into an extension module beside it, with the C types of ``NAME.pxd`` (types only:
every rule stays in the ``.py``). Python imports the extension in preference to the source. The compiled
copy is used only when it was built from the source beside it: setup.py records the digest of the sources
it compiled next to the extension (:func:`digest_path`), and :func:`select`, called by the module's package
before anything imports it, runs the Python source instead when the digests differ (a source edited since
the build: ``make build`` compiles it again), when no extension was built (no C compiler), or when
``SNAPSIM_PURE_PYTHON=1`` asks for it (debuggers, coverage, and the tests that check both copies agree).

This module imports nothing from snapsim: setup.py loads it by path, before snapsim is installed.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import os
import shutil
import sys
import sysconfig
import warnings
from pathlib import Path
from types import ModuleType

__all__ = ["COMPILED_MODULES", "PURE_ENV", "source_files", "source_digest", "digest_path", "is_compiled",
           "select", "select_in", "implementation",
           "can_build_extensions", "pure_requested"]

# modules setup.py compiles (the hot loop of the router level; issue 10's speed target)
COMPILED_MODULES = ("snapsim.chiplet.router",)
PURE_ENV = "SNAPSIM_PURE_PYTHON"


def source_files(py: Path) -> list[Path]:
    """The files a compiled module is built from: its source and, if present, its type declarations."""
    pxd = py.with_suffix(".pxd")
    return [py, pxd] if pxd.exists() else [py]


def source_digest(py: Path) -> str:
    """SHA-256 over the module's source files (names and bytes), as recorded at build time."""
    h = hashlib.sha256()
    for f in source_files(py):
        h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


def digest_path(extension: Path) -> Path:
    """Where the digest of the sources an extension was built from is kept: beside it."""
    return extension.with_name(extension.name + ".sha256")


def is_compiled(file: str) -> bool:
    """Whether a module's ``__file__`` is an extension module (compiled) rather than Python source."""
    return file.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def can_build_extensions() -> bool:
    """Whether this Python could compile the modules: Cython importable and the C compiler it was built with
    on the PATH (what setup.py needs; without them the modules are installed as Python only)."""
    cc = (sysconfig.get_config_var("CC") or "").split()
    return importlib.util.find_spec("Cython") is not None and bool(cc) and shutil.which(cc[0]) is not None


def pure_requested() -> bool:
    """Whether this process is asked to run the Python source of every compiled module (``SNAPSIM_PURE_PYTHON``
    set to anything but empty or ``0``)."""
    return os.environ.get(PURE_ENV, "").strip() not in ("", "0")


def select_in(package: str) -> None:
    """:func:`select` for each compiled module of ``package`` (its ``__init__`` calls this first)."""
    for name in COMPILED_MODULES:
        if name.rpartition(".")[0] == package:
            select(name)


def select(name: str) -> None:
    """Decide which copy of the compiled module ``name`` this process runs (call before it is imported)."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None or not is_compiled(spec.origin):
        return  # no extension: Python imports the source
    ext = Path(spec.origin)
    py = ext.parent / (name.rpartition(".")[2] + ".py")
    if not py.exists():
        return  # an installation without the source: the extension is all there is
    recorded = digest_path(ext)
    stale = not recorded.exists() or recorded.read_text().strip() != source_digest(py)
    if not stale and not pure_requested():
        return
    if stale:
        warnings.warn(f"{ext.name} was not built from the {py.name} beside it: running the Python source "
                      f"(slower); `make build` compiles it again", RuntimeWarning, stacklevel=3)
    source_spec = importlib.util.spec_from_file_location(name, py)
    module = importlib.util.module_from_spec(source_spec)
    sys.modules[name] = module
    try:
        source_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise


def implementation(module: ModuleType) -> str:
    """``"compiled"`` or ``"python"``: the copy of ``module`` this process runs."""
    return "compiled" if is_compiled(getattr(module, "__file__", "") or "") else "python"
