# SPDX-License-Identifier: BSD-3-Clause
"""Benchmark fastmlp against its NumPy baseline, scikit-learn and PyTorch CPU.

    python benchmarks/run.py --quick          # a few minutes, small sizes
    python benchmarks/run.py --full           # the published numbers
    python benchmarks/run.py --only large_adam_float32 latency_small

Writes ``<out>/<workload>.json`` (raw timings and environment), ``results.md``
and PNG plots. See benchmarks/README.md for what each column means.
"""

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Benchmark the checkout this script lives in (built in place), not whatever
# fastmlp happens to be installed.
sys.path.insert(0, str(ROOT))

import _plots  # noqa: E402
import _workloads  # noqa: E402
from _harness import environment, machine_line, write_json  # noqa: E402
from _report import main_table, render, targets_table  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results"


def _positive(kind):
    """An argparse type: a number of `kind` above zero, else a usage error."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a{'n integer' if kind is int else ' number'}"
            ) from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{text!r} is not above zero")
        return value

    return parse


def _parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick", action="store_true", help="small sizes, 3 repeats (a few minutes)"
    )
    mode.add_argument(
        "--full", action="store_true", help="full sizes, 5 repeats (the default)"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        choices=sorted(_workloads.WORKLOADS),
        help="run only these workloads: " + ", ".join(_workloads.WORKLOADS),
    )
    parser.add_argument(
        "--out",
        default=str(DEFAULT_OUT),
        help="output folder (default: benchmarks/results)",
    )
    parser.add_argument(
        "--repeats",
        type=_positive(int),
        default=None,
        help="timed repeats per implementation (default 5 full, 3 quick)",
    )
    parser.add_argument(
        "--budget",
        type=_positive(float),
        default=None,
        help="seconds per workload; fewer repeats (never below 3) "
        "when the first round says they would not fit",
    )
    parser.add_argument(
        "--threads",
        nargs="+",
        type=_positive(int),
        metavar="K",
        default=None,
        help="thread counts of the thread_scaling sweep (default 1 .. cpu_count)",
    )
    parser.add_argument(
        "--no-torch",
        action="store_true",
        help="leave PyTorch out even when it is installed",
    )
    parser.add_argument(
        "--note", default="", help="free text for the header of results.md"
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = _parse(argv)
    quick = args.quick
    sizes = _workloads.QUICK if quick else _workloads.FULL
    repeats = args.repeats or (3 if quick else 5)
    use_torch = _workloads.torch is not None and not args.no_torch
    if use_torch:
        # Same thread count as fastmlp's OpenMP loops and the BLAS pools.
        _workloads.torch.set_num_threads(_workloads.effective_n_threads())
    ctx = _workloads.Context(
        sizes=sizes,
        repeats=repeats,
        min_repeats=min(3, repeats) if args.budget else repeats,
        budget_s=args.budget,
        use_torch=use_torch,
        log=lambda msg: print(msg, flush=True),
        thread_counts=args.threads,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    env = environment(ROOT)
    env["torch_used"] = use_torch
    names = args.only or list(_workloads.WORKLOADS)
    started = time.perf_counter()
    results = []
    for name in names:
        print(f"[{time.perf_counter() - started:6.0f} s] {name}", flush=True)
        t0 = time.perf_counter()
        res = _workloads.WORKLOADS[name](ctx)
        res["wall_s"] = time.perf_counter() - t0
        res["loadavg_after"] = list(os.getloadavg())
        res["mode"] = "quick" if quick else "full"
        res["environment"] = env
        write_json(out / f"{name}.json", res)
        results.append(res)
    total = time.perf_counter() - started
    run_info = {
        "command": "python benchmarks/run.py " + shlex.join(argv or sys.argv[1:]),
        "mode": "quick" if quick else "full",
        "repeats": repeats,
        "total_s": total,
        "loadavg_at_end": list(os.getloadavg()),
        "note": args.note,
    }
    (out / "results.md").write_text(render(results, env, run_info))
    by_name = {r["name"]: r for r in results}
    _plots.speedup_bars(results, out / "time_by_workload.png")
    if "thread_scaling" in by_name:
        _plots.thread_scaling(by_name["thread_scaling"], out / "thread_scaling.png")
    if "loss_curves" in by_name:
        _plots.loss_curves(by_name["loss_curves"], out / "loss_curves.png")
    if out.resolve() == DEFAULT_OUT.resolve() and not args.only:
        _update_readme(results, env, run_info)
    print(f"done in {total / 60:.1f} min; wrote {out}", flush=True)


def _update_readme(results, env, run_info):
    """Put the main and targets tables of a complete run in benchmarks/README.md."""
    readme = ROOT / "benchmarks" / "README.md"
    text = readme.read_text()
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    if start not in text or end not in text:
        return
    block = "\n\n".join(
        [
            start,
            f"Run of {env['date_utc']}, `{run_info['command']}`, "
            f"{run_info['total_s'] / 60:.1f} min, on {machine_line(env)}",
            main_table(results),
            "## Targets (fastmlp)",
            targets_table(results),
            "![Speed-up over scikit-learn](results/time_by_workload.png)",
            end,
        ]
    )
    head, rest = text.split(start, 1)
    readme.write_text(head + block + rest.split(end, 1)[1])


if __name__ == "__main__":
    main()
