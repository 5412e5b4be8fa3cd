#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# Build a checked copy of fastmlp and run the kernel tests against it.
#
#   tools/run_checked_tests.sh [--sanitize] [--keep] [-- PYTEST_ARGS...]
#
# The checked build (FASTMLP_DEBUG=1, see setup.py) turns on Cython's
# boundscheck, wraparound, initializedcheck and nonecheck and compiles -O0 -g;
# --sanitize adds FASTMLP_SANITIZE=1: -fsanitize=address,undefined. It is built
# in a temporary copy of the sources, so the in-place build of this checkout
# is never touched, and the tests import that copy (PYTHONPATH; checked below).
#
# Under --sanitize the ASan runtime is preloaded into the (uninstrumented)
# interpreter. Leak detection is off because CPython itself leaks at exit;
# allocator_may_return_null lets a deliberately absurd allocation (the bad-input
# tests ask for terabytes) fail with MemoryError as it does without ASan.
# UBSan stops at the first report. PYTHONMALLOC=malloc routes Python's own
# allocations through ASan too. Child interpreters started by the tests inherit
# all of this.
#
# An error raised inside a `noexcept` kernel function cannot propagate: Cython
# prints it as unraisable and carries on. pytest turns those into
# PytestUnraisableExceptionWarning, made an error here, so a bounds violation
# fails its test instead of scrolling past.
#
# Needs a compiler, Cython>=3.1 and setuptools (the build requirements of
# pyproject.toml). Without arguments after `--`, runs the kernel, engine,
# gradient, property, layout, bad-input, shuffle and dropout tests that exist
# in tests/.

set -euo pipefail

sanitize=0
keep=0
pytest_args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --sanitize) sanitize=1 ;;
        --keep) keep=1 ;;
        --) shift; pytest_args=("$@"); break ;;
        -h|--help) sed -n '3,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

repo="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-python3}"

if ! "$python" -c 'import Cython, setuptools, numpy, scipy' 2>/dev/null; then
    echo "error: building needs Cython>=3.1, setuptools, numpy and scipy:" >&2
    echo "       $python -m pip install 'Cython>=3.1' 'setuptools>=70.1'" >&2
    exit 2
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/fastmlp-checked.XXXXXX")"
if [ "$keep" = 1 ]; then
    echo "keeping $work"
else
    trap 'rm -rf "$work"' EXIT
fi

# Sources only: generated .c files would be reused by cythonize (it tracks
# timestamps, not directives) and .so files are what we are replacing.
mkdir -p "$work/fastmlp" "$work/src_c" "$work/tests"
cp "$repo/setup.py" "$repo/pyproject.toml" "$work/"
cp "$repo"/fastmlp/*.py "$work/fastmlp/"
cp "$repo"/src_c/*.pyx "$repo"/src_c/*.pxd "$repo"/src_c/*.h "$work/src_c/"
cp "$repo"/tests/*.py "$work/tests/"

mode="bounds-checked (FASTMLP_DEBUG=1)"
export FASTMLP_DEBUG=1
# Only the generic copy of the kernels: the AVX2 copy is the same source
# compiled with other flags, and the main test run already uses it on an
# AVX2 machine, so this run is also the one that exercises the generic copy.
export FASTMLP_NO_AVX2=1
if [ "$sanitize" = 1 ]; then
    mode="bounds-checked + ASan/UBSan (FASTMLP_DEBUG=1 FASTMLP_SANITIZE=1)"
    export FASTMLP_SANITIZE=1
fi

echo "== building $mode in $work"
start=$(date +%s)
(cd "$work" && "$python" setup.py build_ext --inplace >build.log 2>&1) || {
    tail -n 60 "$work/build.log" >&2
    echo "error: checked build failed (log above)" >&2
    exit 1
}
echo "   built in $(( $(date +%s) - start )) s"

export PYTHONPATH="$work${PYTHONPATH:+:$PYTHONPATH}"
if [ "$sanitize" = 1 ]; then
    libasan="$(gcc -print-file-name=libasan.so)"
    if [ ! -e "$libasan" ]; then
        echo "error: libasan not found (gcc -print-file-name=libasan.so)" >&2
        exit 2
    fi
    export LD_PRELOAD="$libasan${LD_PRELOAD:+:$LD_PRELOAD}"
    export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:abort_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
    export PYTHONMALLOC=malloc
fi

# The tests must import the checked copy, not this checkout or an install.
imported="$(cd "$work" && "$python" -c 'import fastmlp; print(fastmlp.__file__)')"
case "$imported" in
    "$work"/*) ;;
    *) echo "error: tests would import $imported, not the checked copy" >&2; exit 1 ;;
esac

if [ ${#pytest_args[@]} -eq 0 ]; then
    for name in kernels engine gradients properties layouts bad_input random dropout; do
        if [ -f "$work/tests/test_$name.py" ]; then
            pytest_args+=("tests/test_$name.py")
        fi
    done
fi

echo "== pytest ${pytest_args[*]}"
start=$(date +%s)
status=0
(cd "$work" && "$python" -m pytest -p no:cacheprovider -q \
    -W error::pytest.PytestUnraisableExceptionWarning "${pytest_args[@]}") || status=$?
echo "== $mode: pytest exit status $status after $(( $(date +%s) - start )) s"
exit "$status"
