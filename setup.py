# SPDX-License-Identifier: BSD-3-Clause
"""Build the Cython kernels of fastmlp.

Environment switches (all off by default):

- ``FASTMLP_NO_OPENMP=1``: build without OpenMP (single-threaded kernels).
- ``FASTMLP_DEBUG=1``: Cython bounds/wraparound/initialisation checks on, ``-O0 -g``.
- ``FASTMLP_SANITIZE=1``: with ``FASTMLP_DEBUG``, add ``-fsanitize=address,undefined``
  (run Python with the ASan runtime preloaded; see ``tools/run_sanitized.sh``).
- ``FASTMLP_NATIVE=1``: ``-march=native`` for a local build only (such a binary dies
  with "illegal instruction" on older CPUs, so it is never the default).
- ``FASTMLP_NO_AVX2=1``: skip the AVX2 + FMA copies of the kernels.

On x86-64 the two kernel modules are built twice: once for any x86-64 CPU and
once (``*_avx2``) with ``-mavx2 -mfma``. ``fastmlp/_compiled.py`` imports the
AVX2 copy only on a CPU that has both, so one wheel is fast on current CPUs and
still runs on old ones.
"""

import os
import platform
import subprocess
import sys
import tempfile
import textwrap

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

EXTENSIONS = ["_openmp_helpers", "_kernels", "_epoch", "_epoch_dropout", "_shuffle"]
# Modules that get an AVX2 + FMA copy, and the flags that build it.
SIMD_VARIANTS = ["_kernels", "_epoch", "_epoch_dropout"]
# _epoch compiled again with the dropout branches of the shared passes on
# (src_c/_dropout.h says why the others compile them out).
WITH_DROPOUT = ("_epoch_dropout", "_epoch_dropout_avx2")
AVX2_FLAGS = {"msvc": ["/arch:AVX2"], "other": ["-mavx2", "-mfma"]}


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


def _avx2_flags(compiler):
    """Flags that build the AVX2 + FMA copies, or None if they cannot be built."""
    if compiler.compiler_type == "msvc":
        return AVX2_FLAGS["msvc"]
    flags = AVX2_FLAGS["other"]
    source = "#include <immintrin.h>\nint main(void) { return 0; }\n"
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe_avx2.c")
        with open(src, "w") as f:
            f.write(source)
        try:
            compiler.compile([src], output_dir=tmp, extra_postargs=flags)
        except Exception:
            return None
    return flags


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
            # Functions start on 64-byte lines, so a change in one function
            # cannot move another's hot loops across cache lines: measured,
            # adding dropout left the backward pass's code unchanged but
            # shifted, and 8 -> 100 -> 1 epochs ran 2-3 % slower; with this
            # flag 1-2 % faster than before dropout (the large network level).
            opt = ["-O3", "-fno-math-errno", "-falign-functions=64"]
            if _flag("FASTMLP_NATIVE"):
                opt.append("-march=native")
        simd = []
        if any(ext.name.endswith("_avx2") for ext in self.extensions):
            simd = _avx2_flags(self.compiler)
            if simd is None:
                print(
                    "WARNING: the compiler cannot build AVX2 code; only the "
                    "generic kernels are built.",
                    file=sys.stderr,
                )
                self.extensions = [
                    e for e in self.extensions if not e.name.endswith("_avx2")
                ]
        for ext in self.extensions:
            ext.extra_compile_args = opt + cflags
            if ext.name.endswith("_avx2"):
                ext.extra_compile_args = ext.extra_compile_args + simd
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

BUILD_AVX2 = platform.machine().lower() in ("x86_64", "amd64") and not _flag(
    "FASTMLP_NO_AVX2"
)
names = EXTENSIONS + ([f"{name}_avx2" for name in SIMD_VARIANTS] if BUILD_AVX2 else [])
extensions = [
    Extension(
        f"fastmlp.{name}",
        [f"src_c/{name}.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("FASTMLP_WITH_DROPOUT", "1")] if name in WITH_DROPOUT else [],
    )
    for name in names
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
