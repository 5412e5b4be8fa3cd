# SPDX-License-Identifier: BSD-3-Clause
"""Build the Cython kernels of fastmlp.

Environment switches (all off by default):

- ``FASTMLP_NO_OPENMP=1``: build without OpenMP (single-threaded kernels).
- ``FASTMLP_DEBUG=1``: Cython bounds/wraparound/initialisation checks on, ``-O0 -g``.
- ``FASTMLP_SANITIZE=1``: with ``FASTMLP_DEBUG``, add ``-fsanitize=address,undefined``
  (run Python with the ASan runtime preloaded; see ``tools/run_sanitized.sh``).
- ``FASTMLP_NATIVE=1``: ``-march=native`` for a local build only (such a binary dies
  with "illegal instruction" on older CPUs, so it is never the default).
"""

import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

EXTENSIONS = ["_openmp_helpers", "_kernels", "_epoch"]


def _flag(name):
    return os.environ.get(name, "0").lower() not in ("", "0", "false", "no")


DEBUG = _flag("FASTMLP_DEBUG")
SANITIZE = _flag("FASTMLP_SANITIZE")


def _openmp_flags(compiler):
    """Return (compile_args, link_args) that enable OpenMP, or None."""
    if _flag("FASTMLP_NO_OPENMP"):
        return None
    if compiler.compiler_type == "msvc":
        candidates = [(["/openmp"], [])]
    elif sys.platform == "darwin":
        candidates = [
            (["-Xpreprocessor", "-fopenmp"], ["-lomp"]),
            (["-fopenmp"], ["-fopenmp"]),
        ]
    else:
        candidates = [(["-fopenmp"], ["-fopenmp"])]
    extra_cflags = os.environ.get("CPPFLAGS", "").split()
    extra_ldflags = os.environ.get("LDFLAGS", "").split()
    source = textwrap.dedent(
        """
        #include <omp.h>
        int main(void) {
            int n = 0;
            #pragma omp parallel reduction(+: n)
            n += 1;
            return n > 0 ? 0 : 1;
        }
        """
    )
    for cflags, ldflags in candidates:
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "probe.c")
            with open(src, "w") as f:
                f.write(source)
            try:
                objects = compiler.compile(
                    [src], output_dir=tmp, extra_postargs=cflags + extra_cflags
                )
                exe = os.path.join(tmp, "probe")
                compiler.link_executable(
                    objects, exe, extra_postargs=ldflags + extra_ldflags
                )
                subprocess.run([exe], check=True, capture_output=True)
            except Exception:
                continue
        return cflags + extra_cflags, ldflags + extra_ldflags
    return None


class BuildExt(build_ext):
    """Pick flags for the compiler that will really be used."""

    def build_extensions(self):
        openmp = _openmp_flags(self.compiler)
        if openmp is None:
            print(
                "\n" + "*" * 72 + "\nWARNING: fastmlp is being built WITHOUT OpenMP: "
                "kernels will run single-threaded.\n" + "*" * 72 + "\n",
                file=sys.stderr,
            )
            cflags, ldflags = [], []
        else:
            cflags, ldflags = openmp
        if self.compiler.compiler_type == "msvc":
            opt = ["/O2"]
        elif DEBUG:
            opt = ["-O0", "-g"]
            if SANITIZE:
                opt += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
                ldflags = ldflags + ["-fsanitize=address,undefined"]
        else:
            # -fno-math-errno lets sqrt vectorise (no errno branch per
            # element); unlike -ffast-math it keeps NaN and inf semantics,
            # which the divergence checks rely on.
            opt = ["-O3", "-fno-math-errno"]
            if _flag("FASTMLP_NATIVE"):
                opt.append("-march=native")
        for ext in self.extensions:
            ext.extra_compile_args = opt + cflags
            ext.extra_link_args = ldflags + (opt if SANITIZE else [])
            ext.define_macros = ext.define_macros + [
                ("NPY_NO_DEPRECATED_API", "NPY_1_9_API_VERSION")
            ]
        super().build_extensions()


directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "nonecheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}

extensions = [
    Extension(f"fastmlp.{name}", [f"src_c/{name}.pyx"], include_dirs=[np.get_include()])
    for name in EXTENSIONS
]

setup(
    ext_modules=cythonize(
        extensions,
        include_path=["src_c"],
        compiler_directives=directives,
        compile_time_env={"FASTMLP_DEBUG": DEBUG},
    ),
    cmdclass={"build_ext": BuildExt},
)
