"""Builds snapsim's compiled modules (snapsim/native.py lists them) with Cython; all other metadata is in
setup.cfg. Each is optional: without Cython or a C compiler the package installs and runs its Python source.
"""

import importlib.util
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("snapsim_native_build", ROOT / "snapsim" / "native.py")
native = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(native)


def source_of(name: str) -> Path:
    return ROOT.joinpath(*name.split(".")).with_suffix(".py")


class BuildExt(build_ext):
    """build_ext that records, beside each extension it built, the digest of the sources it compiled."""

    def run(self):
        super().run()
        for ext in self.extensions:
            out = Path(self.get_ext_fullpath(ext.name))
            if out.exists():
                native.digest_path(out).write_text(native.source_digest(source_of(ext.name)) + "\n")


def extensions():
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("snapsim: Cython is not installed; the compiled modules are not built (Python source runs)")
        return []
    exts = [Extension(name, [str(source_of(name).relative_to(ROOT))], optional=True)
            for name in native.COMPILED_MODULES]
    # annotation_typing off: the .py annotations document Python types, the C types are the .pxd's; no hints
    # about untyped code (the paths left untyped are cold)
    directives = {"language_level": 3, "annotation_typing": False, "show_performance_hints": False}
    return cythonize(exts, compiler_directives=directives, quiet=True)


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
