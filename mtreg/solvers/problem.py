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
    X : ndarray (F-contiguous) or scipy.sparse.csc_matrix (sorted indices), float64 or float32
        Per-task designs stacked by task, shape (N, p); or, when ``shared``, the one design of
        shape (n, p) used by every task. Its dtype is the precision the solver computes in
        (``make_problem(..., dtype=...)``).
    y : ndarray of float64, shape (sum_k n_k,)
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

    @property
    def dtype(self) -> np.dtype:
        """Precision of ``X`` (float64 or float32): the precision the kernels compute in."""
        return self.X.dtype

    def _like_X(self, A: np.ndarray) -> np.ndarray:
        """A small operand in X's precision, so that products never upcast (copy) X itself."""
        return np.asarray(A, dtype=self.X.dtype)

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
            P = np.asarray(self.X @ self._like_X(W), dtype=np.float64)  # (n, K)
            P += 0.0 if b is None else b
            return P.T.ravel()
        out = np.empty_like(self.y)
        for k in range(self.n_tasks):
            sl = slice(self.task_ptr[k], self.task_ptr[k + 1])
            out[sl] = self.task_X(k) @ self._like_X(W[:, k])
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
            return np.asarray(self.X.T @ self._like_X(R.reshape(self.n_tasks, n).T),
                              dtype=np.float64) / n
        G = np.empty((self.n_features, self.n_tasks))
        for k in range(self.n_tasks):
            sl = slice(self.task_ptr[k], self.task_ptr[k + 1])
            G[:, k] = self.task_X(k).T @ self._like_X(R[sl]) / (sl.stop - sl.start)
        return G

    def datafit(self, W: np.ndarray, b: np.ndarray | None = None) -> float:
        """``sum_k 1/(2 n_k) ||r_k||^2``."""
        R = self.residual(W, b)
        return float(sum(R[a:z] @ R[a:z] / (2 * (z - a))
                         for a, z in zip(self.task_ptr[:-1], self.task_ptr[1:], strict=True)))

    def null_fit(self) -> tuple[float, np.ndarray, np.ndarray]:
        """Objective, intercepts and gradient at W = 0 (intercepts at their optimum)."""
        f0, b0 = self._null()
        return f0, b0, self.gradient(np.zeros((self.n_features, self.n_tasks)), b0)

    def _null(self) -> tuple[float, np.ndarray]:
        """``(F(0, b0), b0)``, computed once per problem (while ``X``, ``y`` and ``task_ptr``
        are the same objects): every solver's tolerance is relative to it.  ``b0`` is a copy."""
        key = (id(self.X), id(self.y), id(self.task_ptr))
        cached = self.__dict__.get("_null_cache")
        if cached is None or cached[0] != key:
            b0 = np.zeros(self.n_tasks)
            if self.center_inline:
                b0 = np.array([self.task_y(k).mean() for k in range(self.n_tasks)])
            W0 = np.zeros((self.n_features, self.n_tasks))
            cached = (key, self.datafit(W0, b0), b0)
            self.__dict__["_null_cache"] = cached
        return cached[1], cached[2].copy()

    @property
    def null_objective(self) -> float:
        """Objective at W = 0: the yardstick of the relative tolerance."""
        return self._null()[0]


def make_problem(X, y, task_ptr, *, shared: bool, fit_intercept: bool = True,
                 standardize: bool = True, dtype="float64") -> Problem:
    """Centre and standardise a stacked multi-task design.

    Memory: X is copied exactly once, into the precision ``dtype`` and column-major order, and
    centred and scaled in place in that copy; the statistics are accumulated in float64 task by
    task, without temporaries of the size of X. The input is never modified.

    Parameters
    ----------
    X : ndarray or scipy.sparse matrix of shape (N, p), or (n, p) when ``shared``
        Raw design (float32, float64, integer or boolean; not modified).
    y : array-like of shape (sum_k n_k,)
        Responses stacked by task (kept in float64 whatever ``dtype``).
    task_ptr : array-like of int, shape (K + 1,)
        Task offsets into ``y``.
    shared : bool
        Whether one X serves every task.
    fit_intercept, standardize : bool
        As in :func:`mtreg.fit`.
    dtype : {"float64", "float32"}, default "float64"
        Precision of the centred, standardised X the solver works on (see :func:`check_dtype`).

    Returns
    -------
    Problem
    """
    dtype = check_dtype(dtype)
    task_ptr = np.asarray(task_ptr, dtype=np.int64)
    y = np.asarray(y, dtype=np.float64)
    K = len(task_ptr) - 1
    n_k = np.diff(task_ptr)
    p = X.shape[1]
    sparse = sp.issparse(X)
    if dtype == np.float32 and X.dtype != np.float32:
        _check_float32_range(X)
    # the ONE copy of X (also the dtype conversion and the column-major layout)
    if sparse:
        X = sp.csc_matrix(X, dtype=dtype, copy=True)
        X.sort_indices()
    else:
        X = np.array(X, dtype=dtype, order="F", copy=True)

    # per-task column means and (centred) second moments, in float64 (once for a shared X)
    row_slices = [slice(0, X.shape[0])] if shared else \
        [slice(task_ptr[k], task_ptr[k + 1]) for k in range(K)]
    center = fit_intercept and not sparse
    means = np.zeros((p, len(row_slices)))
    sq = np.zeros((p, len(row_slices)))
    if sparse:
        ind = sp.csr_matrix((np.ones(X.shape[0]), (np.zeros(X.shape[0], dtype=np.int64)
                                                   if shared else np.repeat(np.arange(K), n_k),
                                                   np.arange(X.shape[0]))),
                            shape=(len(row_slices), X.shape[0]))
        # X^T ind^T (p, S): X.T is a CSR view of the CSC X, so no converted copy of X is made;
        # the squares share X's index arrays (one temporary of the size of X.data, float64)
        X2 = sp.csc_matrix((np.square(X.data, dtype=np.float64), X.indices, X.indptr),
                           shape=X.shape)
        counts = np.maximum([sl.stop - sl.start for sl in row_slices], 1)[None, :]
        means = np.asarray((X.T @ ind.T).todense(), dtype=np.float64) / counts
        sq = np.asarray((X2.T @ ind.T).todense(), dtype=np.float64) / counts
        del X2
    else:
        for k, sl in enumerate(row_slices):
            Xk = X[sl]  # a view
            nk = sl.stop - sl.start
            if nk == 0:
                continue
            means[:, k] = Xk.mean(axis=0, dtype=np.float64)
            if center:  # centre in place, then the second moment is the variance
                Xk -= means[:, k].astype(dtype)
            sq[:, k] = np.einsum("ij,ij->j", Xk, Xk, dtype=np.float64) / nk
    if shared:
        means, sq = np.repeat(means, K, axis=1), np.repeat(sq, K, axis=1)
    weights = np.full(K, 1.0 / K) if shared else n_k / n_k.sum()
    if fit_intercept and sparse:  # not centred: the variance from the raw moments
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
    if center:
        x_mean = means
        y = y.copy()
        for k in range(K):
            sl = slice(task_ptr[k], task_ptr[k + 1])
            y_mean[k] = y[sl].mean() if sl.stop > sl.start else 0.0
            y[sl] -= y_mean[k]
    if standardize:
        if sparse:  # scale the stored values: same structure, no new matrix, small temporaries
            inv = (1.0 / x_scale).astype(dtype)
            nnz_col = np.diff(X.indptr)
            for a in range(0, p, _SCALE_CHUNK):
                z = min(a + _SCALE_CHUNK, p)
                X.data[X.indptr[a]:X.indptr[z]] *= np.repeat(inv[a:z], nnz_col[a:z])
        else:
            X /= x_scale.astype(dtype)
    return Problem(X=X, y=y, task_ptr=task_ptr, shared=shared, fit_intercept=fit_intercept,
                   center_inline=center_inline, x_mean=x_mean, x_scale=x_scale, y_mean=y_mean)


#: columns of a sparse X scaled per block (bounds the temporary of per-entry scales)
_SCALE_CHUNK = 4096

#: magnitudes a float32 design may hold: float32 overflows above ~3.4e38 and loses precision
#: below ~1.2e-38 (its centred, scaled copy is made from the raw values)
_FLOAT32_RANGE = (1e-30, 1e30)


def _check_float32_range(X) -> None:
    """Refuse a design whose columns a float32 copy would overflow or flush to zero."""
    if sp.issparse(X):
        X = sp.csc_matrix(X)
        big = np.asarray(abs(X).max(axis=0).todense(), dtype=np.float64).ravel()
    else:
        big = np.maximum(np.abs(X.max(axis=0, initial=0.0)), np.abs(X.min(axis=0, initial=0.0)))
    lo, hi = _FLOAT32_RANGE
    bad = np.flatnonzero((big > hi) | ((big > 0) & (big < lo)))
    if bad.size:
        j = int(bad[0])
        raise ValueError(
            f"dtype='float32' cannot hold column {j} of X (largest |value| {big[j]:.3g}; "
            f"{bad.size} column(s) outside [{lo:g}, {hi:g}]): use dtype='float64'")


#: the precisions a problem can be solved in (``dtype`` of make_problem, fit, MultiTaskModel)
DTYPES = ("float64", "float32")


def check_dtype(dtype) -> np.dtype:
    """Validate a computing precision: ``"float64"`` / ``"float32"`` (or the numpy types).

    Returns
    -------
    numpy.dtype
        ``float64`` or ``float32``.

    Raises
    ------
    ValueError
        For anything else (float16, integers, complex, unknown names).
    """
    dt = None
    if dtype is not None and not isinstance(dtype, (bool, int)):  # np.dtype(None) is float64
        try:
            dt = np.dtype(dtype)
        except TypeError:
            pass
    if dt is None or dt.name not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(map(repr, DTYPES))}, got {dtype!r}")
    return dt


def to_original_scale(problem: Problem, coef: np.ndarray, intercept: np.ndarray):
    """Map a solution of ``problem`` back to the raw design.

    Returns ``(W, b)`` with ``y_k ~ b_k + X_k w_k`` on the user's scale.
    """
    W = coef / problem.x_scale[:, None]
    b = problem.y_mean + intercept - np.einsum("pk,pk->k", problem.x_mean, W)
    return W, b
