# SPDX-License-Identifier: BSD-3-Clause
"""Build-time OpenMP facts for Python: was OpenMP compiled in, how many threads."""

from _openmp cimport FASTMLP_OPENMP_ENABLED, omp_get_max_threads


def openmp_enabled():
    """Return True when the kernels were compiled with OpenMP."""
    return bool(FASTMLP_OPENMP_ENABLED)


def openmp_max_threads():
    """omp_get_max_threads(): honours OMP_NUM_THREADS and threadpoolctl limits."""
    return omp_get_max_threads()
