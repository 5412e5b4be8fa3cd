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

# GNU OpenMP keeps its worker threads for the next parallel region, and they
# do not survive fork(): a forked child that opens a region on several
# threads waits for them forever (libgomp has no at-fork handler). So once
# this process may have started workers, its forked children run on one
# thread. multiprocessing forks by default on Linux before Python 3.14.
_may_have_workers = False
_forked_after_workers = False


def effective_n_threads():
    global _may_have_workers
    if _forked_after_workers:
        return 1
    n_threads = openmp_max_threads()
    if os.environ.get("OMP_NUM_THREADS") is None:
        n_threads = min(n_threads, _CPU_COUNT)
    n_threads = max(1, n_threads)
    if n_threads > 1:
        _may_have_workers = True
    return n_threads


_lock = threading.Lock()
_controllers = None  # {"blas": ..., "openmp": ...}, built on first use
_n_inside = 0
_limit = None


def _after_fork_in_child():
    # Only the forking thread lives on, so a lock that another thread held
    # would never be released. (The counts stay: the forking thread may be
    # inside blas_single_threaded itself, and will leave it.)
    global _forked_after_workers, _lock
    _forked_after_workers = _forked_after_workers or _may_have_workers
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


@contextmanager
def blas_single_threaded():
    """Context in which BLAS computes on the calling thread only.

    The kernels split each product across OpenMP threads themselves and must
    never call a multithreaded BLAS from inside those threads (see
    src_c/_network.pxd). BLAS thread counts are process-wide, so concurrent
    fits and predictions share one limit: the first to enter sets it, the
    last to leave restores what was there before.
    """
    global _n_inside, _limit
    with _lock:
        controller = _threadpool_controller("blas")
        if _n_inside == 0:
            _limit = _as_blas_controller(lambda: controller.limit(limits=1))
        _n_inside += 1
    try:
        yield
    finally:
        with _lock:
            _n_inside -= 1
            if _n_inside == 0:
                _as_blas_controller(_limit.restore_original_limits)
                _limit = None


@contextmanager
def one_thread_per_task():
    """Context in which this thread's kernels and BLAS calls use one thread.

    For Dask tasks, which run one per core: a kernel splitting its rows
    across every core from each of them oversubscribed the cores. Measured
    on 2 cores, predict_proba of 60000 x 784 float32 rows in 6 Dask blocks
    on 2 threads took 1.6 times as long as one predict_proba in memory,
    and 1.28-1.38 times with this. OpenMP's thread count is per thread, so
    the limit holds for this thread only; BLAS's is process-wide and shared
    as in blas_single_threaded.
    """
    with _lock:
        controller = _threadpool_controller("openmp")
    openmp_limit = controller.limit(limits=1)
    try:
        with blas_single_threaded():
            yield
    finally:
        openmp_limit.restore_original_limits()


def _as_blas_controller(change):
    """Call `change` (which sets BLAS thread counts) with the right to do so.

    From threadpoolctl 3.8 on, one Python thread at a time may change
    OpenBLAS's process-wide thread count: the first thread to set it keeps
    that right until it leaves a `with threadpool_limits` block, and what
    other threads set is silently dropped. The cap above is entered by the
    first call and restored by the last, often from two different threads,
    and no `with` block spans it. Holding the right after the main thread's
    first fit left BLAS uncapped under the kernels in every other thread,
    and made users' own limits there do nothing. So take the right for the
    change and give it back at once: another thread's limit, if one was in
    force, is overridden while fastmlp runs, as on earlier versions, and its
    owner takes the right back when it restores its limit.
    """
    from threadpoolctl import OpenBLASController

    release = getattr(OpenBLASController, "clear_controlling_thread", None)
    if release is None:  # threadpoolctl < 3.8: any thread may change it
        return change()
    release(force=True)
    try:
        return change()
    finally:
        release()


def _threadpool_controller(user_api):
    """A ThreadpoolController of `user_api`'s libraries only (under _lock).

    Only those: a limit restores every library its controller holds to
    what it found, so a BLAS limit on a controller of every library would
    also reset the restoring thread's OpenMP count to the entering
    thread's, and an OpenMP limit would put back a BLAS count that another
    call had capped since. Built once, on first use: entering a limit costs
    microseconds, building a controller a millisecond.
    """
    global _controllers
    if _controllers is None:
        from threadpoolctl import ThreadpoolController

        every_library = ThreadpoolController()
        _controllers = {
            api: every_library.select(user_api=api) for api in ("blas", "openmp")
        }
    return _controllers[user_api]
