# SPDX-License-Identifier: BSD-3-Clause
"""Dask inputs as fastmlp.dask trains on them: aligned lists of row blocks.

X must be a Dask array, blocked along rows only (column blocks are joined);
y and sample_weight may be Dask arrays (rechunked to X's row blocks) or
NumPy arrays (cut at them).
"""

import math

import dask.array as da
import numpy as np


def aligned_row_blocks(X, y, sample_weight):
    """X checked, and [(X block, y part, weight part or None)] per row block."""
    X = row_blocked_matrix(X)
    y_parts = cut_like(X, y, "y")
    if sample_weight is None:
        weight_parts = [None] * len(y_parts)
    else:
        weight_parts = cut_like(X, sample_weight, "sample_weight")
    blocks = [(X.blocks[k], y_parts[k], weight_parts[k]) for k in range(len(y_parts))]
    return X, blocks


def row_blocked_matrix(X):
    if not isinstance(X, da.Array):
        hint = (
            "Convert a Dask DataFrame with X.to_dask_array(lengths=True)."
            if hasattr(X, "to_dask_array")
            else "For data in memory, call the estimator's own fit or predict."
        )
        raise TypeError(f"X must be a dask.array.Array, got {type(X).__name__}. {hint}")
    if X.ndim != 2:
        raise ValueError(
            f"X must be 2-D (n_samples, n_features), got {X.ndim} dimension(s)."
        )
    if X.numblocks[1] > 1:
        X = X.rechunk({1: -1})
    return X


def cut_like(X, values, name):
    """`values` as one part per row block of X (Dask arrays or NumPy slices)."""
    row_chunks = X.chunks[0]
    known = not any(math.isnan(size) for size in row_chunks)
    if isinstance(values, da.Array):
        if values.ndim not in (1, 2):
            raise ValueError(f"{name} must be 1-D or 2-D, got {values.ndim}-D.")
        if known and not any(math.isnan(size) for size in values.chunks[0]):
            if values.shape[0] != X.shape[0]:
                raise ValueError(
                    f"X has {X.shape[0]} rows but {name} has {values.shape[0]}."
                )
            values = values.rechunk(
                {0: row_chunks, **({1: -1} if values.ndim == 2 else {})}
            )
        elif values.numblocks[0] != len(row_chunks):
            raise ValueError(
                f"X and {name} have unknown block sizes and different numbers "
                f"of row blocks ({len(row_chunks)} and {values.numblocks[0]}); "
                "call compute_chunk_sizes() on them first."
            )
        return [values.blocks[k] for k in range(len(row_chunks))]
    if not known:
        raise ValueError(
            f"X's row block sizes are unknown, so the NumPy {name} cannot be cut "
            "to match them: call X.compute_chunk_sizes() first, or pass a Dask "
            f"{name} with the same row blocks."
        )
    values = np.asarray(values)
    if values.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D or 2-D, got {values.ndim}-D.")
    if values.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but {name} has {values.shape[0]}.")
    edges = np.cumsum((0, *row_chunks))
    return [values[edges[k] : edges[k + 1]] for k in range(len(row_chunks))]


def all_classes(y):
    if not isinstance(y, da.Array):
        y = np.asarray(y)
    if y.ndim == 2:  # multilabel indicator: partial_fit reads the columns
        return np.arange(y.shape[1])
    if isinstance(y, da.Array):
        return da.unique(y).compute()
    return np.unique(y)
