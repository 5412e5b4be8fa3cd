# SPDX-License-Identifier: BSD-3-Clause
"""Build configuration: OpenMP, threads, show_config."""

import io
import os

import pytest
from threadpoolctl import threadpool_limits

import fastmlp
from fastmlp._openmp_helpers import openmp_enabled
from fastmlp._threads import effective_n_threads


@pytest.mark.skipif(
    os.environ.get("CI", "").lower() != "true",
    reason="only CI promises a compiler with OpenMP; a local build may lack it",
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


@pytest.mark.skipif(not openmp_enabled(), reason="thread limits need OpenMP")
def test_threads_follow_threadpool_limits():
    with threadpool_limits(1, user_api="openmp"):
        assert effective_n_threads() == 1
    assert effective_n_threads() >= 1
