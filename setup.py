"""Build the Cython kernels in mtreg/_cy (directives set once, here)."""
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "nonecheck": False,
}
OPENMP_MODULES = {"_lasso_tasks"}  # kernels with a prange over tasks


def openmp_flags() -> list[str]:
    """``-fopenmp`` if the C compiler builds and links an OpenMP program, else [] (the prange
    loops then run serially).  ``MTREG_OPENMP=0`` turns OpenMP off."""
    if os.environ.get("MTREG_OPENMP", "1") == "0" or sys.platform == "win32":
        return []
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp, "omp.c")
        src.write_text("#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n")
        try:
            ok = subprocess.run([*cc, "-fopenmp", str(src), "-o", str(Path(tmp, "omp"))],
                                capture_output=True, timeout=60).returncode == 0
        except (OSError, subprocess.SubprocessError):
            ok = False
    return ["-fopenmp"] if ok else []


OMP = openmp_flags()
extensions = [
    Extension(
        f"mtreg._cy.{path.stem}",
        [str(path)],
        include_dirs=[np.get_include(), "mtreg/_cy"],
        depends=["mtreg/_cy/_simd.h"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=["-O3", *(OMP if path.stem in OPENMP_MODULES else [])],
        extra_link_args=OMP if path.stem in OPENMP_MODULES else [],
    )
    for path in sorted(Path("mtreg/_cy").glob("*.pyx"))
]

setup(ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES))
