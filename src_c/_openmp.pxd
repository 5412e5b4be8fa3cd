# SPDX-License-Identifier: BSD-3-Clause
# OpenMP runtime calls that compile with or without OpenMP. Cython guards its
# own prange pragmas with #ifdef _OPENMP; the stand-ins below do the same for
# the few runtime functions we call, so a build without OpenMP is still correct,
# just single-threaded.

cdef extern from *:
    """
    /* Each module uses only some of these; clang's -Wall warns about an
       unused static function in the module's own source, gcc does not. */
    #if defined(__GNUC__)
    #define FASTMLP_MAYBE_UNUSED __attribute__((unused))
    #else
    #define FASTMLP_MAYBE_UNUSED
    #endif
    #ifdef _OPENMP
    #include <omp.h>
    #define FASTMLP_OPENMP_ENABLED 1
    #else
    #define FASTMLP_OPENMP_ENABLED 0
    static FASTMLP_MAYBE_UNUSED int omp_get_max_threads(void) { return 1; }
    static FASTMLP_MAYBE_UNUSED int omp_get_thread_num(void) { return 0; }
    static FASTMLP_MAYBE_UNUSED int omp_get_num_threads(void) { return 1; }
    #endif
    /* An orphaned barrier: it binds to the parallel region the caller runs
       in, which Cython's `parallel()` block opens but has no statement for.
       Every thread of the team must reach it the same number of times. */
    static inline FASTMLP_MAYBE_UNUSED void fastmlp_team_barrier(void) {
    #ifdef _OPENMP
    #pragma omp barrier
    #endif
    }
    """
    bint FASTMLP_OPENMP_ENABLED
    int omp_get_max_threads() noexcept nogil
    int omp_get_thread_num() noexcept nogil
    int omp_get_num_threads() noexcept nogil
    void fastmlp_team_barrier() noexcept nogil
