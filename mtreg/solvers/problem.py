"""The numeric problem a solver sees: centred, standardised, task offsets.

This is the ONE place where the objective is scaled (DESIGN.md):

    F(W, b) = sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2 + alpha * Omega(W)

Centring removes ``b`` (dense X, ``fit_intercept=True``), standardising divides every feature
by one pooled scale ``x_scale[j]`` (glmnet's ``standardize=TRUE``; with a shared X this is
exactly glmnet's scale). Solvers work on ``X_std = (X - x_mean[:, k]) / x_scale`` and return
``W_std``; :func:`to_original_scale` maps back.

Scaling choice for per-task designs: ``x_scale[j]`` is the root of the pooled within-task
variance, ``sqrt(sum_k sum_{i in k} (x_ij - mean_jk)^2 / N)`` (or the root mean square when
there is no intercept), so one feature has one scale across tasks and the group penalty
compares like with like.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class Problem:
    """A multi-task least-squares problem ready for a kernel.

    Attributes
    ----------
    X : ndarray (F-contiguous float64) or scipy.sparse.csc_matrix (float64, sorted indices)
        Per-task designs stacked by task, shape (N, p); or, when ``shared``, the one design of
        shape (n, p) used by every task.
    y : ndarray of shape (sum_k n_k,)
        Responses stacked by task: task k is ``y[task_ptr[k]:task_ptr[k + 1]]``.
    task_ptr : ndarray of int64, shape (K + 1,)
        Offsets of each task in ``y`` (and in the rows of ``X`` when not shared).
    shared : bool
        Every task uses the same ``X`` (then ``n_k == X.shape[0]`` for all k).
    fit_intercept : bool
        Whether per-task intercepts are fitted.
    center_inline : bool
        True when X is sparse and an intercept is fitted: X is not centred and the kernel solves
        the intercepts as unpenalised coordinates (returned in ``SolverRecord.intercept``).
    x_mean : ndarray of shape (p, K)
        Per-task column means subtracted from X (zeros when nothing was subtracted).
    x_scale : ndarray of shape (p,)
        Column scales X was divided by (ones when ``standardize=False``; 1 for constant columns).
    y_mean : ndarray of shape (K,)
        Per-task response means subtracted from y.
    """

    X: np.ndarray | sp.csc_matrix
    y: np.ndarray
    task_ptr: np.ndarray
    shared: bool
    fit_intercept: bool
    center_inline: bool
    x_mean: np.ndarray
    x_scale: np.ndarray
    y_mean: np.ndarray

    @property
    def n_tasks(self) -> int:
        return len(self.task_ptr) - 1

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_samples(self) -> np.ndarray:
        """Rows per task, shape (K,)."""
        return np.diff(self.task_ptr)

    @property
    def sparse(self) -> bool:
        return sp.issparse(self.X)

    def task_X(self, k: int):
        """Design of task k (a view for dense stacked X)."""
        if self.shared:
            return self.X
        return self.X[self.task_ptr[k] : self.task_ptr[k + 1]]

    def task_y(self, k: int) -> np.ndarray:
        return self.y[self.task_ptr[k] : self.task_ptr[k + 1]]

    def predict(self, W: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        """Stacked predictions ``X_k w_k (+ b_k)``, shape (sum_k n_k,)."""
        if self.shared:  # one product with the shared X, not one per task
            P = np.asarray(self.X @ W) + (0.0 if b is None else b)  # (n, K)
            return P.T.ravel()
        out = np.empty_like(self.y)
        for k in range(self.n_tasks):
            sl = slice(self.task_ptr[k], self.task_ptr[k + 1])
            out[sl] = self.task_X(k) @ W[:, k]
            if b is not None:
                out[sl] += b[k]
        return out

    def residual(self, W: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        return self.y - self.predict(W, b)

    def gradient(self, W: np.ndarray, b: np.ndarray | None = None) -> np.ndarray:
        """``G[:, k] = X_k^T r_k / n_k``: minus the gradient of the data fit, shape (p, K)."""
        R = self.residual(W, b)
        if self.shared:
            n = self.X.shape[0]
            return np.asarray(self.X.T @ R.reshape(self.n_tasks, n).T) / n
        G = np.empty((self.n_features, self.n_tasks))
        for k in range(self.n_tasks):
            sl = slice(self.task_ptr[k], self.task_ptr[k + 1])
            G[:, k] = self.task_X(k).T @ R[sl] / (sl.stop - sl.start)
        return G

    def datafit(self, W: np.ndarray, b: np.ndarray | None = None) -> float:
        """``sum_k 1/(2 n_k) ||r_k||^2``."""
        R = self.residual(W, b)
        return float(sum(R[a:z] @ R[a:z] / (2 * (z - a))
                         for a, z in zip(self.task_ptr[:-1], self.task_ptr[1:], strict=True)))

    def null_fit(self) -> tuple[float, np.ndarray, np.ndarray]:
        """Objective, intercepts and gradient at W = 0 (intercepts at their optimum)."""
        b0 = np.zeros(self.n_tasks)
        if self.center_inline:
            b0 = np.array([self.task_y(k).mean() for k in range(self.n_tasks)])
        W0 = np.zeros((self.n_features, self.n_tasks))
        return self.datafit(W0, b0), b0, self.gradient(W0, b0)

    @property
    def null_objective(self) -> float:
        """Objective at W = 0: the yardstick of the relative tolerance."""
        return self.null_fit()[0]


def make_problem(X, y, task_ptr, *, shared: bool, fit_intercept: bool = True,
                 standardize: bool = True) -> Problem:
    """Centre and standardise a stacked multi-task design.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (N, p), or (n, p) when ``shared``
        Raw design (not modified; copied when centred or scaled).
    y : array-like of shape (sum_k n_k,)
        Responses stacked by task.
    task_ptr : array-like of int, shape (K + 1,)
        Task offsets into ``y``.
    shared : bool
        Whether one X serves every task.
    fit_intercept, standardize : bool
        As in :func:`mtreg.fit`.

    Returns
    -------
    Problem
    """
    task_ptr = np.asarray(task_ptr, dtype=np.int64)
    y = np.asarray(y, dtype=np.float64)
    K = len(task_ptr) - 1
    n_k = np.diff(task_ptr)
    p = X.shape[1]
    sparse = sp.issparse(X)
    if sparse:
        X = sp.csc_matrix(X, dtype=np.float64, copy=True)
        X.sort_indices()
    else:
        X = np.array(X, dtype=np.float64, order="F", copy=True)

    # per-task column means and second moments (computed once for a shared X)
    row_slices = [slice(0, X.shape[0])] if shared else \
        [slice(task_ptr[k], task_ptr[k + 1]) for k in range(K)]
    means = np.empty((p, len(row_slices)))
    sq = np.empty((p, len(row_slices)))
    for k, sl in enumerate(row_slices):
        Xk = X[sl]
        means[:, k] = np.asarray(Xk.mean(axis=0)).ravel()
        sq[:, k] = np.asarray(Xk.multiply(Xk).mean(axis=0)).ravel() if sparse else (Xk**2).mean(0)
    if shared:
        means, sq = np.repeat(means, K, axis=1), np.repeat(sq, K, axis=1)
    weights = np.full(K, 1.0 / K) if shared else n_k / n_k.sum()
    if fit_intercept:
        var = np.clip(sq - means**2, 0.0, None) @ weights
    else:
        var = sq @ weights
    x_scale = np.ones(p)
    if standardize:
        x_scale = np.sqrt(var)
        # a column is constant when its spread is rounding noise relative to ITS OWN size (a
        # global threshold would call tiny-scale columns constant next to huge-scale ones)
        size = np.abs(means).max(axis=1, initial=0.0) if means.size else np.zeros(p)
        x_scale[(x_scale == 0) | (x_scale <= 1e-12 * size)] = 1.0

    center_inline = bool(sparse and fit_intercept)
    x_mean = np.zeros((p, K))
    y_mean = np.zeros(K)
    if fit_intercept and not sparse:
        x_mean = means
        for k, sl in enumerate(row_slices):
            X[sl] -= means[:, k]
        y = y.copy()
        for k in range(K):
            sl = slice(task_ptr[k], task_ptr[k + 1])
            y_mean[k] = y[sl].mean()
            y[sl] -= y_mean[k]
    if standardize:
        if sparse:
            X = sp.csc_matrix(X @ sp.diags(1.0 / x_scale))
            X.sort_indices()
        else:
            X /= x_scale
    return Problem(X=X, y=y, task_ptr=task_ptr, shared=shared, fit_intercept=fit_intercept,
                   center_inline=center_inline, x_mean=x_mean, x_scale=x_scale, y_mean=y_mean)


def to_original_scale(problem: Problem, coef: np.ndarray, intercept: np.ndarray):
    """Map a solution of ``problem`` back to the raw design.

    Returns ``(W, b)`` with ``y_k ~ b_k + X_k w_k`` on the user's scale.
    """
    W = coef / problem.x_scale[:, None]
    b = problem.y_mean + intercept - np.einsum("pk,pk->k", problem.x_mean, W)
    return W, b
