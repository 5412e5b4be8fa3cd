#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# The many-core check of the speed issue, in one call: build fastmlp in place
# with the machine's own Python, run the threading tests on its real cores,
# then time the large float32 epoch and the thread-scaling sweep against
# scikit-learn and PyTorch.
#
# Written for the lent machine of the `device` tool (16 cores, no network, a
# python3 that already holds NumPy, SciPy, scikit-learn, Cython, PyTorch and
# matplotlib), where a session has a few minutes in all. From the
# repository root, through the tool's `run`:
#
#     bash benchmarks/device_scaling.sh
#
# Everything lands in $OUT (the tool brings that folder back), or in
# benchmarks/results-device when $OUT is unset: build.log, tests.log, run.log,
# results.md, the two workloads' JSON and the two plots (8 files, as many as
# the tool brings back). Runs anywhere else too, for a dry run: on 2 cores
# it sweeps 1 and 2 threads.
set -euo pipefail

python=${PYTHON:-python3}
out=${OUT:-benchmarks/results-device}
mkdir -p "$out"
cores=$(nproc)

# Powers of two up to the core count, then the core count itself.
threads=""
k=1
while [ "$k" -lt "$cores" ]; do
    threads="$threads $k"
    k=$((k * 2))
done
threads="$threads $cores"

echo "building with $($python --version 2>&1) on $cores cores"
"$python" setup.py build_ext --inplace -j "$cores" >"$out/build.log" 2>&1 ||
    { tail -40 "$out/build.log"; exit 1; }

# The split-product and thread tests, now on as many real cores as threads.
# Not timed: a failure here means the timings below are of a wrong result.
"$python" -m pytest -q -p no:cacheprovider tests/test_engine.py \
    tests/test_kernels.py -k "thread or grid or split" >"$out/tests.log" 2>&1 ||
    { tail -40 "$out/tests.log"; exit 1; }
tail -1 "$out/tests.log"

PYTHONUNBUFFERED=1 "$python" benchmarks/run.py --full --repeats 3 \
    --only large_adam_float32 thread_scaling --threads $threads \
    --out "$out" --note "many-core check on $cores cores (benchmarks/device_scaling.sh)" \
    2>&1 | tee "$out/run.log"

# The targets (the many-core ones judged at the highest count) and the sweep.
sed -n '/^## Targets/,/^Workload descriptions/{/^Workload descriptions/!p}' \
    "$out/results.md"
