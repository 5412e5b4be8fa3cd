# SPDX-License-Identifier: BSD-3-Clause
"""Where each coef and intercept lives in the one flat parameter buffer.

The order is scikit-learn's pack order: every coef matrix (row-major) in
layer order, then every intercept. Gradients and optimizer state share it, so
an optimizer step is one loop and L-BFGS's vector is the buffer itself.
"""

import numpy as np


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
        params = np.empty(self.n_params, dtype=dtype)
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
