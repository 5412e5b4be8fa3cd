# SPDX-License-Identifier: BSD-3-Clause
"""What this build of fastmlp runs on: dependencies, OpenMP, threads, BLAS."""

import platform
import sys
from importlib.metadata import PackageNotFoundError, version

from ._compiled import KIND
from ._openmp_helpers import openmp_enabled
from ._threads import effective_n_threads

# The distributions show_config names, by their package (not module) names.
_DEPENDENCIES = ("numpy", "scipy", "scikit-learn", "threadpoolctl")


def show_config(file=None):
    """Print the dependency versions, how fastmlp was built and its native libraries.

    Parameters
    ----------
    file : file-like, default=None
        Where to print; standard output when None.
    """
    from threadpoolctl import threadpool_info

    import fastmlp

    out = file if file is not None else sys.stdout
    print(
        f"fastmlp {fastmlp.__version__} on Python {platform.python_version()}", file=out
    )
    # Bug reports need these: results and speed depend on them (the tests'
    # oracle features on scikit-learn's, the kernel choice on NumPy's).
    print(", ".join(f"{name} {_version_of(name)}" for name in _DEPENDENCIES), file=out)
    if openmp_enabled():
        print(f"OpenMP: enabled, {effective_n_threads()} threads", file=out)
    else:
        print(
            "OpenMP: NOT enabled (built without OpenMP): kernels run single-threaded",
            file=out,
        )
    simd = {"avx2": "AVX2 + FMA", "generic": "generic x86-64 / portable"}[KIND]
    print(f"Kernels: {simd} build", file=out)
    for pool in threadpool_info():
        print(
            f"{pool['user_api']}: {pool['internal_api']} "
            f"{pool.get('version')} ({pool['num_threads']} threads) "
            f"{pool['filepath']}",
            file=out,
        )


def _version_of(distribution):
    try:
        return version(distribution)
    except PackageNotFoundError:  # pragma: no cover - importable, not installed
        return "(no package metadata)"
