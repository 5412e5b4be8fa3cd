# SPDX-License-Identifier: BSD-3-Clause
"""Where the time of a fastmlp epoch goes, per fit and per thread, from perf.

    python benchmarks/profile_epoch.py [--workload large_adam_float32] [--fits 6]

Runs fits of a benchmark workload (one epoch of the large network, ten of
the regression ones) in a child process while `perf record` samples it
(software clock, so it works inside a VM), then sorts every sample into a
category by the function it landed in: BLAS arithmetic, BLAS packing,
OpenMP waits, fastmlp's own passes, row copies, Python. It prints, for
every fit, the CPU milliseconds of each category (all threads together, so
a two-thread epoch shows up to twice its wall time), then each thread's
shares over all fits (a serial section shows as one thread working while
the other waits in OpenMP), and with --symbols the functions behind each
category.

The fits are timed in the child and the samples split between them by
their CLOCK_MONOTONIC timestamps, so a fit that ran slowly can be compared
with one that did not. A diagnostic script, not a benchmark: sampling
costs a few per cent, and the numbers are for reading proportions.
Needs Linux `perf` (Debian: linux-perf).
"""

import argparse
import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # this checkout's fastmlp, as run.py does

from _harness import markdown_table  # noqa: E402

WORKLOADS = (
    "large_adam_float32",
    "large_sgd_float32",
    "large_adam_float64",
    "reg_adam_100",
    "reg_adam_100x100",
)
# perf script's default line: comm tid time: period event: ip sym+off (dso)
SAMPLE = re.compile(
    r"^\s*\S+\s+(\d+)\s+(\d+\.\d+):.*?:\s+[0-9a-f]+\s+(\S+)\s+\((\S+)\)"
)


def category(symbol, dso):
    """The part of an epoch a sample belongs to, from where it landed."""
    if "openblas" in dso:
        return "BLAS arithmetic" if "_kernel_" in symbol else "BLAS packing, scaling"
    if "libgomp" in dso:
        return "OpenMP waits, team start"
    if "memmove" in symbol or "memcpy" in symbol:
        return "memcpy (batch row gather)"
    if "memset" in symbol:
        return "memset"
    if "libm.so" in dso:
        return "libm (exp, log)"
    if "/fastmlp/" in dso:
        if "optimizer" in symbol:
            return "optimizer step"
        if "loss" in symbol:
            return "output layer + loss"
        return "other fastmlp passes"
    if "libpython" in dso or "/lib-dynload/" in dso or "numpy" in dso:
        return "Python, NumPy"
    if dso.startswith("[kernel"):
        return "operating system"
    return "other"


def child(workload, n_fits):
    """Fit in this process; report each fit's CLOCK_MONOTONIC interval."""
    import numpy as np
    from _workloads import (
        FULL,
        Context,
        _estimator,
        _train_params,
        large_data,
        regression_data,
    )

    warnings.simplefilter("ignore")
    ctx = Context(FULL, 1, 1, None, False)
    # The data and hyper-parameters of run.py's workload of that name.
    if workload.startswith("large_"):
        _, solver, dtype = workload.split("_")
        X, y, _, _ = large_data(ctx, np.dtype(dtype))
        task, params = "multiclass", _train_params((256,), solver, 1)
    else:
        X, y, _, _ = regression_data(ctx)
        hidden = (100, 100) if workload.endswith("100x100") else (100,)
        task, params = "regression", _train_params(hidden, "adam", FULL.reg_epochs)
    _estimator("fastmlp", task, **params).fit(X[:2000], y[:2000])  # unsampled
    print("ready", flush=True)
    sys.stdin.readline()  # the parent has attached perf
    for _ in range(n_fits):
        time.sleep(0.2)  # no thread pool of the previous fit still spinning
        start = time.monotonic()
        _estimator("fastmlp", task, **params).fit(X, y)
        print(json.dumps([start, time.monotonic()]), flush=True)
    print("done", flush=True)


def record(workload, n_fits, frequency, perf_data):
    """Run the child under perf; return the fits' (start, end) intervals."""
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", workload, "--fits", str(n_fits)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError("the child process did not start")
    perf = subprocess.Popen(
        [
            "perf",
            "record",
            "-q",
            "-e",
            "cpu-clock",
            "-F",
            str(frequency),
            "-k",
            "CLOCK_MONOTONIC",
            "-p",
            str(proc.pid),
            "-o",
            perf_data,
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.0)  # perf needs a moment to attach to every thread
    if perf.poll() is not None:  # e.g. perf_event_paranoid forbids it
        proc.kill()
        sys.exit(f"perf record failed: {perf.stderr.read().strip()}")
    proc.stdin.write("go\n")
    proc.stdin.flush()
    fits = []
    for line in proc.stdout:
        if line.strip() == "done":
            break
        fits.append(json.loads(line))
    perf.send_signal(signal.SIGINT)
    perf.wait()
    proc.wait()
    return fits


def samples(perf_data):
    """(thread id, seconds, category, symbol) of every sample perf recorded."""
    text = subprocess.run(
        ["perf", "script", "-i", perf_data], capture_output=True, text=True
    ).stdout
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if match:
            tid, seconds, symbol, dso = match.groups()
            symbol = re.sub(r"\+0x[0-9a-f]+$", "", symbol)
            yield tid, float(seconds), category(symbol, dso), symbol


def report(workload, fits, rows, frequency, n_symbols):
    ms_per_sample = 1e3 / frequency
    by_fit = [collections.Counter() for _ in fits]
    by_thread = collections.defaultdict(collections.Counter)
    by_symbol = collections.defaultdict(collections.Counter)
    for tid, seconds, cat, symbol in rows:
        for i, (start, end) in enumerate(fits):
            if start <= seconds <= end:
                by_fit[i][cat] += 1
                by_thread[tid][cat] += 1
                by_symbol[cat][symbol] += 1
    categories = sorted(
        {c for counts in by_fit for c in counts},
        key=lambda c: -sum(counts[c] for counts in by_fit),
    )
    print(f"## {workload}: CPU ms per category, every thread together\n")
    wall = [f"**{1e3 * (end - start):.0f}**" for start, end in fits]
    table = [["**wall time of the fit**", *wall]]
    table += [
        [cat, *(f"{counts[cat] * ms_per_sample:.0f}" for counts in by_fit)]
        for cat in categories
    ]
    header = ["category", *(f"fit {i + 1}" for i in range(len(fits)))]
    print(markdown_table(header, table))

    print(f"\n## {workload}: each thread's share of its samples, all fits\n")
    totals = {t: sum(counts.values()) for t, counts in by_thread.items()}
    threads = sorted(totals, key=totals.get, reverse=True)
    table = [
        [cat, *(f"{100 * by_thread[t][cat] / totals[t]:.1f} %" for t in threads)]
        for cat in categories
    ]
    print(markdown_table(["category", *(f"thread {t}" for t in threads)], table))

    if n_symbols:
        print(f"\n## {workload}: the functions behind each category, all fits\n")
        for cat in categories:
            total = sum(by_symbol[cat].values())
            top = by_symbol[cat].most_common(n_symbols)
            shares = ", ".join(f"`{s}` {100 * n / total:.0f} %" for s, n in top)
            print(f"- {cat}: {shares}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=WORKLOADS, default=WORKLOADS[0])
    parser.add_argument("--fits", type=int, default=6)
    parser.add_argument("--frequency", type=int, default=2000, help="samples/s")
    parser.add_argument(
        "--symbols",
        type=int,
        default=0,
        metavar="N",
        help="list the N main functions of each category",
    )
    parser.add_argument("--child", metavar="WORKLOAD", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.fits)
        return
    if shutil.which("perf") is None:
        sys.exit("perf is not installed (Debian: apt-get install linux-perf)")
    with tempfile.TemporaryDirectory() as tmp:
        perf_data = os.path.join(tmp, "perf.data")
        fits = record(args.workload, args.fits, args.frequency, perf_data)
        rows = list(samples(perf_data))
        report(args.workload, fits, rows, args.frequency, args.symbols)


if __name__ == "__main__":
    main()
