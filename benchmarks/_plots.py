# SPDX-License-Identifier: BSD-3-Clause
"""PNG plots of a run: speed-up per workload, thread scaling, loss curves.

Small figures at 100 dpi keep each file well under 200 KB.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

COLORS = {
    "fastmlp": "#d62728",
    "baseline": "#7f7f7f",
    "sklearn": "#1f77b4",
    "torch": "#ff7f0e",
}
DPI = 100


def speedup_bars(results, path):
    """Bar chart: speed-up over scikit-learn per workload and implementation."""
    timed = [r for r in results if r.get("rows") and r["rows"][0].get("median")]
    impls = [
        i
        for i in COLORS
        if i != "sklearn"
        and any(row["implementation"] == i for r in timed for row in r["rows"])
    ]
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / max(len(impls), 1)
    x = np.arange(len(timed))
    for j, impl in enumerate(impls):
        vals = [
            next(
                (
                    row["ratio_to_sklearn"]
                    for row in r["rows"]
                    if row["implementation"] == impl
                ),
                np.nan,
            )
            or np.nan
            for r in timed
        ]
        ax.bar(
            x + (j - (len(impls) - 1) / 2) * width,
            vals,
            width,
            label=impl,
            color=COLORS[impl],
        )
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_yscale("log")
    ax.set_xticks(x, [r["name"] for r in timed], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("speed-up over scikit-learn (log; >1 is faster)")
    ax.set_title("Median time of scikit-learn / median time of implementation")
    ax.legend(fontsize=8)
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def thread_scaling(result, path):
    sweep = result["sweep"]
    threads = [s["threads"] for s in sweep]
    impls = [row["implementation"] for row in sweep[0]["rows"]]
    fig, (ax_t, ax_s) = plt.subplots(1, 2, figsize=(9, 3.6))
    for impl in impls:
        t = [
            next(r["median"] for r in s["rows"] if r["implementation"] == impl)
            for s in sweep
        ]
        ax_t.plot(threads, t, "o-", label=impl, color=COLORS.get(impl))
        ax_s.plot(
            threads, [t[0] / v for v in t], "o-", label=impl, color=COLORS.get(impl)
        )
    ax_s.plot(threads, threads, ":", color="black", lw=0.8, label="linear")
    ax_t.set_xlabel("threads")
    ax_t.set_ylabel("seconds per epoch")
    ax_t.set_yscale("log")
    ax_s.set_xlabel("threads")
    ax_s.set_ylabel("speed-up over 1 thread")
    for ax in (ax_t, ax_s):
        ax.set_xticks(threads)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Large adam float32 epoch under threadpool_limits(k)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def loss_curves(result, path):
    fig, ax = plt.subplots(figsize=(6, 3.6))
    styles = {"sklearn": ("-", 6), "baseline": ("--", 3.5), "fastmlp": (":", 2)}
    # Widest line first, so the narrower ones stay visible on top of it.
    order = sorted(result["curves"], key=lambda i: -styles.get(i, ("-", 1))[1])
    for impl in order:
        curve = result["curves"][impl]
        ls, lw = styles.get(impl, ("-", 1))
        ax.plot(
            range(1, len(curve) + 1),
            curve,
            ls,
            lw=lw,
            label=impl,
            color=COLORS.get(impl),
            alpha=0.8,
        )
    ax.set_xlabel("epoch")
    ax.set_xticks(range(1, len(curve) + 1))
    ax.set_ylabel("training loss (loss_curve_)")
    ax.set_title(result["description"], fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
