# SPDX-License-Identifier: BSD-3-Clause
"""Timing, environment capture and writers shared by the benchmark scripts.

Timing rules (STYLE.md section 6): every implementation of a workload runs in
this one process on the same arrays; one unrecorded warm-up each; then
rounds in which every implementation runs once, the starting implementation
rotating from round to round so that a slow drift of the machine (other
processes, thermal state) spreads over all of them, with a pause before each
call so that no thread pool of the previous one is still spinning
(SETTLE_S); median and min of the recorded rounds. A round budget may cut
the number of rounds, never below ``min_repeats``; the JSON says when it did.
"""

import dataclasses
import glob
import importlib.metadata
import json
import math
import os
import platform
import statistics
import subprocess
import time
import warnings
from collections.abc import Callable
from pathlib import Path

# Pause before each timed call. After its last threaded call, OpenBLAS keeps
# its worker threads spinning for 2**28 clock ticks (~0.1 s) before they
# sleep; the next candidate then shares the cores with them. Measured here:
# a 4000-row fastmlp fit took 40 ms alone, 84 ms right after a NumPy GEMM,
# 42 ms when 0.2 s passed in between. Each candidate is timed as the only
# thing running, as it would be in a user's process.
SETTLE_S = 0.2

# Environment variables that change how many threads the native pools start.
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OMP_WAIT_POLICY",
    "OMP_PROC_BIND",
    "GOMP_SPINCOUNT",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
PACKAGES = (
    "numpy",
    "scipy",
    "scikit-learn",
    "threadpoolctl",
    "torch",
    "matplotlib",
    "psutil",
    "Cython",
)


@dataclasses.dataclass
class Candidate:
    """One implementation of a workload.

    ``run`` does the timed work and returns an object (a fitted model, an
    output array); ``divisor(obj)`` turns the wall time into the reported
    unit (epochs run, calls made); ``quality(obj)`` is computed once, from
    the last recorded run, outside the timed region; ``warmup`` replaces
    ``run`` for the unrecorded first call (a smaller fit that touches the
    same code paths when the real one takes minutes).
    """

    name: str
    run: Callable
    quality: Callable | None = None
    divisor: Callable | None = None
    warmup: Callable | None = None


def _quiet_call(fn):
    # ConvergenceWarning at max_iter is expected: one epoch is the point.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def time_interleaved(candidates, repeats, min_repeats, budget_s=None, log=print):
    """Time candidates in rotating rounds; return one result dict per name.

    Each dict holds ``times`` (seconds per unit, in run order), ``median``,
    ``min``, ``quality`` and ``repeats``. With ``budget_s``, the round count
    is cut after the first round to what fits the budget, never below
    ``min_repeats``.
    """
    for cand in candidates:
        _quiet_call(cand.warmup or cand.run)
    times = {cand.name: [] for cand in candidates}
    last = {}
    n_rounds = repeats
    started = time.perf_counter()
    r = 0
    while r < n_rounds:
        for k in range(len(candidates)):
            cand = candidates[(r + k) % len(candidates)]
            time.sleep(SETTLE_S)
            t0 = time.perf_counter()
            obj = _quiet_call(cand.run)
            elapsed = time.perf_counter() - t0
            units = cand.divisor(obj) if cand.divisor else 1
            times[cand.name].append(elapsed / units)
            last[cand.name] = obj
        if r == 0 and budget_s is not None:
            round_s = time.perf_counter() - started
            fit = max(min_repeats, math.floor(budget_s / max(round_s, 1e-9)))
            n_rounds = min(repeats, fit)
        r += 1
    results = {}
    for cand in candidates:
        ts = times[cand.name]
        quality = cand.quality(last[cand.name]) if cand.quality else {}
        results[cand.name] = {
            "times": ts,
            "median": statistics.median(ts),
            "min": min(ts),
            "repeats": len(ts),
            "repeats_cut_by_budget": len(ts) < repeats,
            "quality": quality,
        }
        log(
            f"    {cand.name:<10} median {format_time(results[cand.name]['median'])}"
            f"  min {format_time(results[cand.name]['min'])}  {quality}"
        )
    return results


def rotating_rounds(timers, rounds):
    """Seconds of each round, per name, of ``timers`` ({name: () -> seconds}).

    For the side scripts that report per-round ratios: each round calls
    every timer once, the first one rotating from round to round, so a
    round's ratios compare calls made moments apart on this noisy machine.
    """
    names = list(timers)
    seconds = {name: [] for name in names}
    for r in range(rounds):
        start = r % len(names)
        for name in names[start:] + names[:start]:
            seconds[name].append(timers[name]())
    return seconds


def ratio_quartiles(numerators, denominators):
    """Lower quartile, median and upper quartile of the per-round ratios."""
    ratios = [a / b for a, b in zip(numerators, denominators, strict=True)]
    if len(ratios) == 1:
        return ratios * 3
    low, mid, high = statistics.quantiles(ratios, n=4, method="inclusive")
    return low, mid, high


def median_time(fn, repeats):
    """Median and min wall time of ``fn()`` after one warm-up call."""
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts)


def format_time(seconds):
    if seconds is None or not math.isfinite(seconds):
        return "—"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} µs"


# --------------------------------------------------------------- environment


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return platform.processor() or "unknown", []
    model, flags = "unknown", []
    for line in info.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and model == "unknown":
            model = value.strip()
        elif key == "flags" and not flags:
            wanted = {"avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile"}
            flags = sorted(wanted & set(value.split()))
    return model, flags


def _versions():
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _git(root, *args):
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def environment(root):
    """What the numbers were measured on; call after every library is imported."""
    from threadpoolctl import threadpool_info

    import fastmlp
    from fastmlp._openmp_helpers import openmp_enabled

    fastmlp_dir = os.path.dirname(fastmlp.__file__)
    model, flags = _cpu_model()
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    try:
        import psutil

        mem_gb = round(psutil.virtual_memory().total / 2**30, 1)
        physical = psutil.cpu_count(logical=False)
    except ImportError:
        mem_gb = physical = None
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return {
        "cpu_model": model,
        "cpu_flags": flags,
        "cpu_count": os.cpu_count(),
        "cpu_count_physical": physical,
        "cpus_usable": affinity,
        "memory_gb": mem_gb,
        "platform": platform.platform(),
        "loadavg_at_start": list(os.getloadavg()),
        "thread_env": {k: os.environ.get(k) for k in THREAD_ENV_VARS},
        "threadpool_info": threadpool_info(),
        "versions": _versions(),
        "fastmlp_version": fastmlp.__version__,
        "fastmlp_path": fastmlp_dir,
        "openmp_enabled": openmp_enabled(),
        # Other checkouts rebuild in place: say which build was loaded.
        "extension_mtimes_utc": {
            os.path.basename(path): time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(os.path.getmtime(path))
            )
            for path in sorted(glob.glob(os.path.join(fastmlp_dir, "*.so")))
        },
        "git_commit": _git(root, "rev-parse", "HEAD"),
        "git_dirty": bool(status) if status is not None else None,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def machine_line(env):
    pools = ", ".join(
        f"{os.path.basename(p['filepath'])} ({p['internal_api']} "
        f"{p.get('version') or ''}, {p['num_threads']} threads)".replace(" ,", ",")
        for p in env["threadpool_info"]
    )
    v = env["versions"]
    torch = v["torch"] if env.get("torch_used", True) else "not used"
    commit = (env["git_commit"] or "?")[:10] + (" (dirty)" if env["git_dirty"] else "")
    return (
        f"{env['cpu_model']} ({', '.join(env['cpu_flags'])}), "
        f"{env['cpu_count']} logical CPUs ({env['cpus_usable']} usable), "
        f"{env['memory_gb']} GB RAM, {env['platform']}. "
        f"Python {v['python']}, NumPy {v['numpy']}, SciPy {v['scipy']}, "
        f"scikit-learn {v['scikit-learn']}, PyTorch {torch}; "
        f"fastmlp {env['fastmlp_version']} at commit {commit}, "
        f"OpenMP {'on' if env['openmp_enabled'] else 'OFF'}. "
        f"Thread pools: {pools}. Thread variables set: "
        + (", ".join(f"{k}={x}" for k, x in env["thread_env"].items() if x) or "none")
        + "."
    )


# ------------------------------------------------------------------- writers


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if hasattr(obj, "item") and getattr(obj, "ndim", 1) == 0:
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def write_json(path, payload):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump(_jsonable(payload), f, indent=1, sort_keys=False)
        f.write("\n")


def markdown_table(header, rows):
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
