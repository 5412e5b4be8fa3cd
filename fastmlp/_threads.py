# SPDX-License-Identifier: BSD-3-Clause
"""How many OpenMP threads a fit or predict call uses.

Read once per call from omp_get_max_threads(), so OMP_NUM_THREADS and
threadpoolctl's `threadpool_limits(user_api="openmp")` are honoured; without
OMP_NUM_THREADS, also capped by the CPUs this process may use (cgroups and
affinity included), as scikit-learn's own OpenMP code does.
"""

import os

from joblib import cpu_count

from ._openmp_helpers import openmp_max_threads


def effective_n_threads():
    n_threads = openmp_max_threads()
    if os.environ.get("OMP_NUM_THREADS") is None:
        n_threads = min(n_threads, cpu_count())
    return max(1, n_threads)
