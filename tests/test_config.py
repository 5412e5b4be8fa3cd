# SPDX-License-Identifier: BSD-3-Clause
"""Build configuration: OpenMP, threads, kernel build, show_config."""

import importlib.util
import io
import os
import subprocess
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import fastmlp
from fastmlp import _compiled
from fastmlp._codes import ACTIVATION_CODES, LOSS_CODES
from fastmlp._openmp_helpers import openmp_enabled
from fastmlp._threads import effective_n_threads


def _ci_promises_openmp():
    # CI's compiler has OpenMP, but one CI stage builds without it on purpose
    # (FASTMLP_NO_OPENMP=1, set for its tests too); a local build may lack it.
    on_ci = os.environ.get("CI", "").lower() == "true"
    serial_on_purpose = os.environ.get("FASTMLP_NO_OPENMP", "0").lower() not in (
        "",
        "0",
        "false",
        "no",
    )
    return on_ci and not serial_on_purpose


@pytest.mark.skipif(
    not _ci_promises_openmp(),
    reason="only CI's default build promises OpenMP; a local build may lack it",
)
def test_ci_build_has_openmp():
    assert openmp_enabled()


def test_show_config_reports_openmp_and_blas():
    out = io.StringIO()
    fastmlp.show_config(file=out)
    text = out.getvalue()
    assert f"fastmlp {fastmlp.__version__}" in text
    expected = "OpenMP: enabled" if openmp_enabled() else "OpenMP: NOT enabled"
    assert expected in text
    assert "blas:" in text


def test_show_config_reports_dependency_versions():
    import scipy
    import sklearn
    import threadpoolctl

    out = io.StringIO()
    fastmlp.show_config(file=out)
    versions = out.getvalue().splitlines()[1]
    for name, module in [
        ("numpy", np),
        ("scipy", scipy),
        ("scikit-learn", sklearn),
        ("threadpoolctl", threadpoolctl),
    ]:
        assert f"{name} {module.__version__}" in versions


@pytest.mark.skipif(not openmp_enabled(), reason="thread limits need OpenMP")
def test_threads_follow_threadpool_limits():
    with threadpool_limits(1, user_api="openmp"):
        assert effective_n_threads() == 1
    assert effective_n_threads() >= 1


# ------------------------------------------------------ generic / AVX2 kernels


def _kernels_kind(env_value):
    """The kernel build a fresh interpreter picks under FASTMLP_KERNELS."""
    env = dict(os.environ)
    env.pop("FASTMLP_KERNELS", None)
    if env_value is not None:
        env["FASTMLP_KERNELS"] = env_value
    return subprocess.run(
        [sys.executable, "-c", "from fastmlp import _compiled; print(_compiled.KIND)"],
        env=env,
        capture_output=True,
        text=True,
    )


def _avx2_built():
    return importlib.util.find_spec("fastmlp._kernels_avx2") is not None


def test_auto_picks_avx2_exactly_when_built_and_supported():
    done = _kernels_kind(None)
    assert done.returncode == 0, done.stderr
    expected = "avx2" if _avx2_built() and _compiled._cpu_has_avx2_fma() else "generic"
    assert done.stdout.strip() == expected


def _proc_cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            return next(line for line in f if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return None


@pytest.mark.skipif(_proc_cpu_flags() is None, reason="needs Linux's /proc/cpuinfo")
def test_cpu_features_agree_with_the_kernel():
    # An oracle independent of NumPy: the flags the Linux kernel reports.
    flags = _proc_cpu_flags()
    assert _compiled._cpu_has_avx2_fma() == ("avx2" in flags and "fma" in flags)


@pytest.mark.filterwarnings("ignore:numpy.core:DeprecationWarning")
def test_cpu_features_are_found_where_numpy_1_25_keeps_them(monkeypatch):
    # NumPy < 1.26 has no numpy._core: the features are under numpy.core,
    # where NumPy 2 still forwards them. Missing them silently ran the
    # generic kernels on AVX2 machines.
    expected = _compiled._numpy_cpu_features()
    assert expected  # NumPy's table of the CPU features it dispatches on
    monkeypatch.setitem(sys.modules, "numpy._core._multiarray_umath", None)
    assert _compiled._numpy_cpu_features() == expected


def test_generic_kernels_can_be_forced():
    done = _kernels_kind("generic")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "generic"


def test_unknown_kernel_choice_is_an_error_naming_it():
    done = _kernels_kind("sse9")
    assert done.returncode != 0
    assert "FASTMLP_KERNELS='sse9'" in done.stderr


def test_show_config_names_the_kernel_build():
    out = io.StringIO()
    fastmlp.show_config(file=out)
    expected = "AVX2 + FMA" if _compiled.KIND == "avx2" else "generic"
    assert f"Kernels: {expected}" in out.getvalue()


@pytest.mark.skipif(
    not (_avx2_built() and _compiled._cpu_has_avx2_fma()),
    reason="needs the AVX2 kernels and a CPU that runs them",
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_avx2_and_generic_kernels_agree(dtype):
    # Both copies are one source; FMA contraction and wider vectors may only
    # change round-off. Shapes cover the narrow loops (8 features, 1 output),
    # the GEMM path (40 units) and more rows than one cache chunk.
    import fastmlp._kernels as generic
    import fastmlp._kernels_avx2 as avx2
    from fastmlp._layout import Layout

    rng = np.random.RandomState(0)
    units = [8, 40, 19, 1]
    layout = Layout(units)
    n = 700
    X = rng.randn(n, 8).astype(dtype)
    Y = rng.randn(n, 1).astype(dtype)
    params = (0.3 * rng.randn(layout.n_params)).astype(dtype)
    chunk_rows = 64
    act_off, act_size = layout.activation_offsets(chunk_rows)
    results = []
    for module in (generic, avx2):
        grads = np.empty(layout.n_params, dtype)
        value = module.loss_and_grad(
            params, grads, X, np.empty(0, dtype), np.empty(0, np.intp),
            np.empty(0, np.intp), Y, np.empty(0, dtype), 0, n, chunk_rows,
            np.empty(2 * act_size, dtype), np.empty(2 * act_size, dtype),
            np.empty(3 * layout.n_params, dtype), np.empty(2 * chunk_rows),
            np.empty(2 * (max(units) + 1)), layout.units, layout.coef_off,
            layout.intercept_off, act_off, ACTIVATION_CODES["tanh"],
            ACTIVATION_CODES["identity"],
            LOSS_CODES["squared_error", "identity"], 1e-3, 2,
        )  # fmt: skip
        results.append((value, grads))
    rtol = 1e-4 if dtype == np.float32 else 1e-12
    assert results[0][0] == pytest.approx(results[1][0], rel=rtol)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=rtol, atol=rtol)
