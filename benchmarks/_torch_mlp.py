# SPDX-License-Identifier: BSD-3-Clause
"""PyTorch CPU twin of the benchmarked MLPs (imported only when torch is).

Same architecture, loss, optimizer, batch size, epochs and L2 penalty as
scikit-learn's MLP, written the way a PyTorch user would: parameters held as
(fan_in, fan_out) tensors so scikit-learn's coefs can be copied in, ReLU
hidden layers, a shuffled index per epoch, ``torch.optim`` steps.

Differences that remain, by design: torch draws its own random numbers
(Glorot-uniform init like scikit-learn's, but from torch's generator), and
the L2 term ``0.5 * alpha * ||W||^2 / batch_size`` is applied as the
optimizer's ``weight_decay = alpha / batch_size`` on coefs only (identical
gradient except on a ragged last batch), so the reported epoch loss adds
the penalty once, at the epoch's end.
"""

import numpy as np
import scipy.sparse as sp
import torch

_DTYPES = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}


def _sparse_batch(X, rows):
    sub = X[rows]
    return torch.sparse_csr_tensor(
        torch.from_numpy(sub.indptr.astype(np.int64)),
        torch.from_numpy(sub.indices.astype(np.int64)),
        torch.from_numpy(sub.data),
        size=sub.shape,
    )


class TorchMLP:
    """``task`` is "multiclass", "binary" or "regression"."""

    def __init__(
        self,
        task,
        hidden_layer_sizes,
        solver="adam",
        alpha=1e-4,
        batch_size=200,
        learning_rate_init=1e-3,
        max_iter=1,
        momentum=0.9,
        tol=1e-4,
        max_fun=15000,
        random_state=0,
    ):
        self.task = task
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.momentum = momentum
        self.tol = tol
        self.max_fun = max_fun
        self.random_state = random_state

    # ----------------------------------------------------------------- model

    def _init(self, n_features, n_outputs, dtype):
        gen = torch.Generator().manual_seed(self.random_state)
        units = [n_features, *self.hidden_layer_sizes, n_outputs]
        self.coefs_, self.intercepts_ = [], []
        for fan_in, fan_out in zip(units[:-1], units[1:], strict=True):
            bound = np.sqrt(6.0 / (fan_in + fan_out))
            w = torch.rand(fan_in, fan_out, generator=gen, dtype=dtype) * 2 - 1
            b = torch.rand(fan_out, generator=gen, dtype=dtype) * 2 - 1
            self.coefs_.append((w * bound).requires_grad_())
            self.intercepts_.append((b * bound).requires_grad_())
        self._gen = gen

    def _forward(self, xb):
        a = xb
        last = len(self.coefs_) - 1
        for i, (w, b) in enumerate(zip(self.coefs_, self.intercepts_, strict=True)):
            z = (torch.sparse.mm(a, w) if a.layout != torch.strided else a @ w) + b
            a = torch.relu(z) if i < last else z
        return a

    def _loss(self, out, yb):
        if self.task == "multiclass":
            return torch.nn.functional.cross_entropy(out, yb)
        if self.task == "binary":
            return torch.nn.functional.binary_cross_entropy_with_logits(out, yb)
        return 0.5 * torch.mean((out - yb) ** 2)

    def _penalty(self, n):
        return 0.5 * self.alpha * sum((w * w).sum() for w in self.coefs_) / n

    # ------------------------------------------------------------------- fit

    def _targets(self, y, dtype):
        if self.task == "multiclass":
            self.classes_, codes = np.unique(y, return_inverse=True)
            return torch.from_numpy(codes.astype(np.int64)), len(self.classes_)
        if self.task == "binary":
            self.classes_, codes = np.unique(y, return_inverse=True)
            return torch.from_numpy(codes.reshape(-1, 1)).to(dtype), 1
        return torch.from_numpy(np.asarray(y).reshape(len(y), -1)).to(dtype), 1

    def fit(self, X, y):
        dtype = _DTYPES[np.dtype(X.dtype)]
        Y, n_outputs = self._targets(y, dtype)
        self._init(X.shape[1], n_outputs, dtype)
        if self.solver == "lbfgs":
            return self._fit_lbfgs(X, Y)
        params_w = {"params": self.coefs_, "weight_decay": self.alpha / self.batch_size}
        params_b = {"params": self.intercepts_, "weight_decay": 0.0}
        if self.solver == "adam":
            opt = torch.optim.Adam(
                [params_w, params_b],
                lr=self.learning_rate_init,
                betas=(0.9, 0.999),
                eps=1e-8,
            )
        else:
            opt = torch.optim.SGD(
                [params_w, params_b],
                lr=self.learning_rate_init,
                momentum=self.momentum,
                nesterov=True,
            )
        is_sparse = sp.issparse(X)
        Xt = None if is_sparse else torch.from_numpy(X)
        n = X.shape[0]
        self.loss_curve_ = []
        for _ in range(self.max_iter):
            perm = torch.randperm(n, generator=self._gen)
            total = 0.0
            for start in range(0, n, self.batch_size):
                idx = perm[start : start + self.batch_size]
                xb = _sparse_batch(X, idx.numpy()) if is_sparse else Xt[idx]
                opt.zero_grad(set_to_none=True)
                loss = self._loss(self._forward(xb), Y[idx])
                loss.backward()
                opt.step()
                total += loss.item() * len(idx)
            with torch.no_grad():
                penalty = self._penalty(self.batch_size).item()
            self.loss_curve_.append(total / n + penalty)
        self.n_iter_ = self.max_iter
        return self

    def _fit_lbfgs(self, X, Y):
        Xt = torch.from_numpy(X)
        opt = torch.optim.LBFGS(
            self.coefs_ + self.intercepts_,
            lr=1,
            max_iter=self.max_iter,
            max_eval=self.max_fun,
            tolerance_grad=self.tol,
            tolerance_change=0,
            history_size=10,
            line_search_fn="strong_wolfe",
        )

        def closure():
            opt.zero_grad(set_to_none=True)
            loss = self._loss(self._forward(Xt), Y) + self._penalty(len(Xt))
            loss.backward()
            return loss

        opt.step(closure)  # returns the loss at the *first* evaluation
        with torch.no_grad():
            loss = self._loss(self._forward(Xt), Y) + self._penalty(len(Xt))
        self.loss_ = loss.item()
        state = opt.state[opt._params[0]]
        self.n_iter_ = state.get("n_iter", 0)
        return self

    # ---------------------------------------------------------------- predict

    def set_params_from(self, coefs, intercepts):
        """Copy another implementation's coefs/intercepts in."""
        dtype = _DTYPES[np.dtype(coefs[0].dtype)]
        self.coefs_ = [torch.tensor(np.asarray(c), dtype=dtype) for c in coefs]
        self.intercepts_ = [
            torch.tensor(np.asarray(b), dtype=dtype) for b in intercepts
        ]

    def _output(self, X):
        with torch.no_grad():
            xb = (
                _sparse_batch(X, np.arange(X.shape[0]))
                if sp.issparse(X)
                else torch.from_numpy(X)
            )
            return self._forward(xb)

    def predict_proba(self, X):
        out = self._output(X)
        if self.task == "binary":
            p = torch.sigmoid(out)
            return torch.cat([1 - p, p], dim=1).numpy()
        return torch.softmax(out, dim=1).numpy()

    def predict(self, X):
        out = self._output(X)
        if self.task == "regression":
            return out.numpy().ravel()
        if self.task == "binary":
            return self.classes_[(out[:, 0] > 0).numpy().astype(int)]
        return self.classes_[out.argmax(dim=1).numpy()]
