# SPDX-License-Identifier: BSD-3-Clause
"""Where each coef and intercept lives in the one flat parameter buffer.

The order is scikit-learn's pack order: every coef matrix (row-major) in
layer order, then every intercept. Gradients and optimizer state share it, so
an optimizer step is one loop and L-BFGS's vector is the buffer itself.
"""

import numpy as np


def layer_units_of(coefs, intercepts):
    """The layer widths (input first) of hand-set weight lists, checked.

    Users, and scikit-learn's own tests, assign `coefs_` and `intercepts_`;
    lists that do not chain into one network are refused here, naming the
    array at fault, before a buffer is packed from them.
    """
    if len(coefs) == 0 or len(coefs) != len(intercepts):
        raise ValueError(
            f"coefs_ has {len(coefs)} entries and intercepts_ {len(intercepts)}: a "
            "network needs a coef matrix and an intercept vector per layer, and "
            "at least one layer."
        )
    for i, coef in enumerate(coefs):
        _check_real_array(coef, f"coefs_[{i}]", ndim=2)
        if i > 0 and coef.shape[0] != coefs[i - 1].shape[1]:
            raise ValueError(
                f"coefs_[{i}] has shape {coef.shape}, but coefs_[{i - 1}] has shape "
                f"{coefs[i - 1].shape}: a layer's inputs are the previous layer's "
                f"{coefs[i - 1].shape[1]} outputs."
            )
    for i, (coef, intercept) in enumerate(zip(coefs, intercepts, strict=True)):
        _check_real_array(intercept, f"intercepts_[{i}]", ndim=1)
        if intercept.shape != (coef.shape[1],):
            raise ValueError(
                f"intercepts_[{i}] has shape {intercept.shape}, but coefs_[{i}] has "
                f"shape {coef.shape}: it needs shape ({coef.shape[1]},)."
            )
    return [coefs[0].shape[0]] + [coef.shape[1] for coef in coefs]


def _check_real_array(array, name, ndim):
    dtype = getattr(array, "dtype", None)
    if np.ndim(array) != ndim or dtype is None or dtype.kind not in "biuf":
        raise ValueError(
            f"{name} must be a {ndim}-D array of real numbers, got "
            f"{type(array).__name__} of shape {np.shape(array)}"
            + (f" and dtype {dtype}." if dtype is not None else ".")
        )


class Layout:
    """Offsets of a network with the given layer widths (input first)."""

    def __init__(self, layer_units):
        self.layer_units = [int(u) for u in layer_units]
        units = self.layer_units
        self.n_layers = len(units) - 1
        coef_sizes = [units[i] * units[i + 1] for i in range(self.n_layers)]
        self.coef_off = np.concatenate(([0], np.cumsum(coef_sizes)[:-1])).astype(
            np.intp
        )
        self.n_coef = int(sum(coef_sizes))
        self.intercept_off = (
            self.n_coef + np.concatenate(([0], np.cumsum(units[1:])[:-1]))
        ).astype(np.intp)
        self.n_params = self.n_coef + int(sum(units[1:]))
        self.units = np.asarray(units, dtype=np.intp)

    def views(self, params):
        """Lists of coef (2-D) and intercept (1-D) views into `params`."""
        units = self.layer_units
        coefs, intercepts = [], []
        for i in range(self.n_layers):
            start = self.coef_off[i]
            coefs.append(
                params[start : start + units[i] * units[i + 1]].reshape(
                    units[i], units[i + 1]
                )
            )
            start = self.intercept_off[i]
            intercepts.append(params[start : start + units[i + 1]])
        return coefs, intercepts

    def pack(self, coefs, intercepts, dtype):
        """A new flat buffer holding copies of the given arrays."""
        return self.fill(np.empty(self.n_params, dtype=dtype), coefs, intercepts)

    def fill(self, params, coefs, intercepts):
        """Copy the given arrays into the flat buffer `params`; return it."""
        coef_views, intercept_views = self.views(params)
        for view, coef in zip(coef_views, coefs, strict=True):
            view[...] = np.asarray(coef).reshape(view.shape)
        for view, intercept in zip(intercept_views, intercepts, strict=True):
            view[...] = np.asarray(intercept).reshape(view.shape)
        return params

    def activation_offsets(self, n_rows):
        """Offsets of each layer's block in an (n_rows-row) workspace, and its size.

        Index 0 is unused (the input is not stored there).
        """
        sizes = [0] + [n_rows * u for u in self.layer_units[1:]]
        offsets = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.intp)
        return offsets, int(sum(sizes))
