# SPDX-License-Identifier: BSD-3-Clause
"""The compiled kernel modules this process uses: generic or AVX2 + FMA.

On x86-64 the kernels are built twice (see setup.py). The AVX2 copy is
imported only when the CPU (and the OS, which must save the wider registers)
supports AVX2 and FMA: importing it elsewhere would die with an illegal
instruction. ``FASTMLP_KERNELS=generic`` forces the generic copy, e.g. to
test it on a machine that has AVX2; ``FASTMLP_KERNELS=avx2`` insists on the
AVX2 copy and fails loudly where it cannot run.
"""

import importlib
import os

_CHOICES = ("auto", "generic", "avx2")


def _cpu_has_avx2_fma():
    # NumPy's dispatcher has already asked the CPU (CPUID plus the OS's XSAVE
    # support); reuse its answer rather than probing again.
    features = _numpy_cpu_features()
    return bool(features.get("AVX2")) and bool(features.get("FMA3"))


def _numpy_cpu_features():
    # NumPy 2 renamed numpy.core to numpy._core; fastmlp supports both.
    for module in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
        try:
            return importlib.import_module(module).__cpu_features__
        except (ImportError, AttributeError):
            continue
    return {}  # pragma: no cover - private NumPy name moved again


def _load(name, use_avx2):
    if use_avx2:
        try:
            return importlib.import_module(f"fastmlp.{name}_avx2"), "avx2"
        except ImportError:
            pass  # built without the AVX2 copies (non-x86 or FASTMLP_NO_AVX2)
    return importlib.import_module(f"fastmlp.{name}"), "generic"


def _select():
    choice = os.environ.get("FASTMLP_KERNELS", "auto").strip().lower() or "auto"
    if choice not in _CHOICES:
        raise ImportError(
            f"FASTMLP_KERNELS={choice!r} is not one of {', '.join(_CHOICES)}."
        )
    has_avx2 = _cpu_has_avx2_fma()
    if choice == "avx2" and not has_avx2:
        raise ImportError("FASTMLP_KERNELS=avx2 but this CPU lacks AVX2 or FMA.")
    use_avx2 = choice == "avx2" or (choice == "auto" and has_avx2)
    names = ("_epoch", "_epoch_dropout", "_kernels")
    modules, kinds = zip(*(_load(name, use_avx2) for name in names), strict=True)
    if choice == "avx2" and "generic" in kinds:
        raise ImportError("FASTMLP_KERNELS=avx2 but the AVX2 kernels were not built.")
    if len(set(kinds)) > 1:  # pragma: no cover - a half-built tree
        modules, kinds = zip(*(_load(name, False) for name in names), strict=True)
    return (*modules, kinds[0])


# epoch_dropout: the same epochs, with the dropout branches compiled in.
epoch, epoch_dropout, kernels, KIND = _select()
