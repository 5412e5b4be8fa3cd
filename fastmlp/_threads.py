# SPDX-License-Identifier: BSD-3-Clause
"""How many OpenMP threads a fit or predict call uses.

Read once per call from omp_get_max_threads(), so OMP_NUM_THREADS and
threadpoolctl's `threadpool_limits(user_api="openmp")` are honoured; without
OMP_NUM_THREADS, also capped by the CPUs this process may use (cgroups and
affinity included), as scikit-learn's own OpenMP code does.
"""

import os
import threading
from contextlib import contextmanager

from joblib import cpu_count

from ._openmp_helpers import openmp_max_threads

# Reading the cgroup quota takes ~100 us (file reads): once per process.
_CPU_COUNT = cpu_count()


def effective_n_threads():
    n_threads = openmp_max_threads()
    if os.environ.get("OMP_NUM_THREADS") is None:
        n_threads = min(n_threads, _CPU_COUNT)
    return max(1, n_threads)


_lock = threading.Lock()
_controller = None
_n_inside = 0
_limit = None


@contextmanager
def blas_single_threaded():
    """Context in which BLAS computes on the calling thread only.

    The kernels split each product across OpenMP threads themselves and must
    never call a multithreaded BLAS from inside those threads (see
    src_c/_network.pxd). BLAS thread counts are process-wide, so concurrent
    fits and predictions share one limit: the first to enter sets it, the
    last to leave restores what was there before. One controller is built
    lazily and reused: entering its limit costs microseconds, building one
    a millisecond.
    """
    global _controller, _n_inside, _limit
    with _lock:
        if _controller is None:
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        if _n_inside == 0:
            _limit = _controller.limit(limits=1, user_api="blas")
        _n_inside += 1
    try:
        yield
    finally:
        with _lock:
            _n_inside -= 1
            if _n_inside == 0:
                _limit.restore_original_limits()
                _limit = None
