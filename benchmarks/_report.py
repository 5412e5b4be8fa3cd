# SPDX-License-Identifier: BSD-3-Clause
"""results.md: one table for the whole run, then floor, targets, threads, memory."""

from _harness import format_time, machine_line, markdown_table
from _workloads import FLOOR_TARGETS, MANY_CORE_TARGETS, MANY_CORES, TARGETS


def _ratio(value):
    return "—" if value is None else f"{value:.2f}×"


def _ratio_range(row):
    rounds = row.get("ratio_to_sklearn_rounds")
    if not rounds or row["implementation"] == "sklearn":
        return "—"
    return f"{min(rounds):.2f}–{max(rounds):.2f}×"


def _rounds_at(row, target):
    rounds = row.get("ratio_to_sklearn_rounds")
    if not rounds:
        return "—"
    return f"{sum(r >= target for r in rounds)} of {len(rounds)}"


def _floor_rounds_at(row, target):
    rounds = row.get("over_gemm_floor_rounds")
    if not rounds:
        return "—"
    return f"{sum(r <= target for r in rounds)} of {len(rounds)}"


def _floor_round_range(row):
    rounds = row.get("over_gemm_floor_rounds")
    if not rounds:
        return ""
    return f"; per round {min(rounds):.2f}–{max(rounds):.2f}×"


def _quality(q):
    return (
        ", ".join(
            f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in q.items()
        )
        or "—"
    )


def _fastmlp_row(result):
    return next(
        (r for r in result.get("rows", []) if r["implementation"] == "fastmlp"), None
    )


def main_table(results):
    rows = []
    for res in results:
        if not res.get("rows") or "median" not in res["rows"][0]:
            continue
        for r in res["rows"]:
            rows.append(
                [
                    res["name"],
                    r["implementation"],
                    format_time(r["median"]),
                    format_time(r["min"]),
                    _ratio(r.get("ratio_to_sklearn")),
                    _ratio(r.get("ratio_to_sklearn_min")),
                    _ratio_range(r),
                    _quality(r.get("quality", {})),
                ]
            )
    return markdown_table(
        [
            "workload",
            "implementation",
            "median",
            "min",
            "vs scikit-learn",
            "vs scikit-learn (min)",
            "per round",
            "quality",
        ],
        rows,
    )


def floor_lines(results):
    lines = []
    for res in results:
        f = res.get("floor")
        fm = _fastmlp_row(res)
        if not f or not fm:
            continue
        others = ", ".join(
            f"{r['implementation']} {r['over_gemm_floor']:.2f}×"
            for r in res["rows"]
            if r["implementation"] != "fastmlp"
        )
        limit_gflops = f["cores"] * f["peak_gflops_per_core"]
        floor = format_time(f["gemm_floor_median_s"])
        size = f["peak_matrix_size"]
        per = res["unit"].split("/")[1]
        lines.append(
            f"- **{res['name']}**: GEMM-only floor {floor}"
            f" ({f['floor_gflops']:.1f} GFLOP/s); fastmlp / floor = "
            f"**{fm['over_gemm_floor']:.2f}×** (min / min: "
            f"{fm['over_gemm_floor_min']:.2f}×{_floor_round_range(fm)}; "
            f"others: {others}). The bare products alone are "
            f"{f['sklearn_over_floor']:.2f}× faster than scikit-learn. "
            f"{f['gflop']:.3g} GFLOP per {per}; FLOP limit at {f['cores']} "
            f"core(s) × {f['peak_gflops_per_core']:.1f} GFLOP/s (measured {size}³ "
            f"GEMM on one core; all threads: {f['peak_gflops_all_threads']:.1f}) = "
            f"{format_time(f['flop_limit_s'])}; fastmlp achieves "
            f"{fm['achieved_gflops']:.1f} GFLOP/s "
            f"({fm['achieved_gflops'] / limit_gflops:.0%} of the limit)."
        )
    return "\n".join(lines)


def limit_lines(results):
    """The FLOP limit of the workloads that carry one but no GEMM floor."""
    lines = []
    for res in results:
        lim = res.get("limit")
        fm = _fastmlp_row(res)
        if not lim or not fm or res.get("floor"):
            continue
        lower = ""
        if "lbfgs" in res["name"]:
            lower = " (lower bound: one pass per iteration)"
        lines.append(
            f"- **{res['name']}**: {lim['gflop']:.3g} GFLOP per "
            f"{res['unit'].split('/')[1]}; FLOP limit at {lim['cores']} core(s) × "
            f"{lim['peak_gflops_per_core']:.1f} GFLOP/s (measured "
            f"{lim['peak_matrix_size']}³ GEMM on one core) = "
            f"{format_time(lim['flop_limit_s'])}{lower}; fastmlp takes "
            f"{fm['median'] / lim['flop_limit_s']:.1f}× that. At the limit an "
            f"implementation would be {lim['best_ratio_to_sklearn']:.1f}× faster "
            "than scikit-learn, and no faster."
        )
    return "\n".join(lines)


def targets_table(results):
    by_name = {r["name"]: r for r in results}
    rows = []
    for name, target in TARGETS.items():
        fm = _fastmlp_row(by_name.get(name, {}))
        if fm is None:
            continue
        got = fm.get("ratio_to_sklearn")
        limit = by_name[name].get("limit")
        floor = by_name[name].get("floor")
        rows.append(
            [
                name,
                f"≥ {target:g}× vs scikit-learn",
                _ratio(got),
                _ratio(fm.get("ratio_to_sklearn_min")),
                _rounds_at(fm, target),
                _ratio(floor and floor["sklearn_over_floor"]),
                _ratio(limit and limit["best_ratio_to_sklearn"]),
                "yes" if got and got >= target else "**no**",
            ]
        )
    for name, target in FLOOR_TARGETS.items():
        fm = _fastmlp_row(by_name.get(name, {}))
        if fm is None or "over_gemm_floor" not in fm:
            continue
        got = fm["over_gemm_floor"]
        rows.append(
            [
                name,
                f"≤ {target:g}× GEMM-only floor",
                f"{got:.2f}×",
                f"{fm['over_gemm_floor_min']:.2f}×",
                _floor_rounds_at(fm, target),
                "—",
                "—",
                "yes" if got <= target else "**no**",
            ]
        )
    rows += _many_core_rows(by_name.get("thread_scaling"))
    header = [
        "workload",
        "target",
        "fastmlp (medians)",
        "fastmlp (mins)",
        "rounds at the target",
        "bare products",
        "at the FLOP limit",
        "met",
    ]
    return markdown_table(header, rows)


def _speedup_over(step, other):
    """fastmlp's (median, min) speed-up over `other` at one thread count."""
    by_impl = {r["implementation"]: r for r in step["rows"]}
    fm, them = by_impl.get("fastmlp"), by_impl.get(other)
    if not fm or not them or not fm["median"] or not fm["min"]:
        return None, None
    return them["median"] / fm["median"], them["min"] / fm["min"]


def _many_core_rows(res):
    """The many-core targets, judged at the sweep's highest thread count."""
    if not res or not res["sweep"]:
        return []
    top = max(res["sweep"], key=lambda s: s["threads"])
    if top["threads"] < MANY_CORES:
        return []
    rows = []
    for other, target in MANY_CORE_TARGETS.items():
        median, best = _speedup_over(top, other)
        if median is None:
            continue
        rows.append(
            [
                f"large_adam_float32 on {top['threads']} threads",
                f"≥ {target:g}× vs {other}",
                _ratio(median),
                _ratio(best),
                "—",
                "—",
                "—",
                "yes" if median >= target else "**no**",
            ]
        )
    return rows


def thread_table(res):
    impls = [r["implementation"] for r in res["sweep"][0]["rows"]]
    others = [i for i in ("sklearn", "torch") if i in impls and "fastmlp" in impls]
    rows = [
        [
            s["threads"],
            *(format_time(r["median"]) for r in s["rows"]),
            *(_ratio(_speedup_over(s, other)[0]) for other in others),
        ]
        for s in res["sweep"]
    ]
    return markdown_table(
        ["threads", *impls, *(f"fastmlp vs {other}" for other in others)], rows
    )


def memory_table(res):
    rows = [
        [
            r["scenario"],
            r["implementation"],
            f"{r['peak_mb']:.0f}",
            f"{r['rss_before_mb']:.0f}",
            f"{r['increase_mb']:.0f}",
            _ratio(r.get("ratio_to_sklearn")),
        ]
        for r in res["rows"]
    ]
    return markdown_table(
        [
            "scenario",
            "implementation",
            "peak RSS (MB)",
            "before the call (MB)",
            "added by the call (MB)",
            "scikit-learn's addition / this one",
        ],
        rows,
    )


def render(results, env, run_info):
    by_name = {r["name"]: r for r in results}
    out = [
        "# fastmlp benchmark results",
        "",
        f"Run: `{run_info['command']}` ({run_info['mode']} mode, "
        f"{run_info['repeats']} timed repeats after one warm-up, implementations "
        f"interleaved; total {run_info['total_s'] / 60:.1f} min), {env['date_utc']}.",
        "",
        f"Machine: {machine_line(env)}",
        "",
        f"Load average at start {env['loadavg_at_start'][0]:.2f}, at end "
        f"{run_info['loadavg_at_end'][0]:.2f} (1-min). " + (run_info.get("note") or ""),
        "",
        "Times are per epoch (training), per call (predict) or per fit (L-BFGS); "
        "`vs scikit-learn` is scikit-learn's median time / this median (>1 is "
        "faster); `per round` is the range of scikit-learn's time / this one "
        "within each round, where both ran back to back. Quality: final "
        "training loss (`loss_curve_[-1]`, `loss_` for L-BFGS) and held-out "
        "accuracy or R²; for predictions, the largest "
        "difference from scikit-learn's output with identical weights.",
        "",
        main_table(results),
    ]
    for res in results:
        if res.get("rows") and "median" in res["rows"][0]:
            cut = [
                r["implementation"]
                for r in res["rows"]
                if r.get("repeats_cut_by_budget")
            ]
            if cut:
                out += [
                    "",
                    f"{res['name']}: repeats cut by the time budget to "
                    f"{res['rows'][0]['repeats']}.",
                ]
    floors = "\n".join(x for x in (floor_lines(results), limit_lines(results)) if x)
    if floors:
        out += [
            "",
            "## Distance to the hardware",
            "",
            "The FLOP limit is the time the workload's multiply-adds take at the "
            "measured GEMM peak of every core; `at the FLOP limit` in the targets "
            "table is scikit-learn's median over it, the largest speed-up this "
            "machine allows. The GEMM-only floor runs the same matrix products "
            "and nothing else, through NumPy's BLAS, one call per product, "
            "timed in the same rounds; `bare products` in the targets table is "
            "scikit-learn's median over the floor's, the speed-up of an "
            "implementation that spent no time outside those calls.",
            "",
            floors,
        ]
    targets = targets_table(results)
    if targets.count("\n") > 1:
        out += ["", "## Targets (fastmlp)", "", targets]
    if "thread_scaling" in by_name:
        out += [
            "",
            "## Thread scaling",
            "",
            by_name["thread_scaling"]["description"],
            "",
            thread_table(by_name["thread_scaling"]),
        ]
    if "peak_memory" in by_name:
        out += [
            "",
            "## Peak memory",
            "",
            by_name["peak_memory"]["description"],
            "",
            memory_table(by_name["peak_memory"]),
        ]
    if "loss_curves" in by_name:
        d = by_name["loss_curves"]["max_abs_diff_vs_sklearn"]
        out += [
            "",
            "## Loss curves",
            "",
            by_name["loss_curves"]["description"]
            + ": largest per-epoch difference from scikit-learn's loss: "
            + ", ".join(f"{k} {v:.2g}" for k, v in d.items())
            + ".",
        ]
    out += ["", "Workload descriptions:", ""]
    out += [f"- `{r['name']}`: {r['description']}" for r in results]
    return "\n".join(out) + "\n"
