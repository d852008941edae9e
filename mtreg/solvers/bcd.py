"""Block coordinate descent for the lasso and group-lasso families, certified by a duality gap.

The objective (DESIGN.md; the problem is already centred and standardised by
:func:`~mtreg.solvers.problem.make_problem`) is::

    F(W, b) = sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2 + alpha * Omega(W)

with ``alpha * Omega(W) = sum_j lam1_j ||W_j.||_* + lam2/2 ||W||_F^2``, where
``lam1_j = alpha * l1_ratio * w_j`` (``w`` the penalty's feature weights, 0 = unpenalised),
``lam2 = alpha * (1 - l1_ratio)`` and ``||.||_*`` the l2 norm of a row (``kernel == "l21"``)
or its l1 norm (``kernel == "l1"``).  This module is the one place where the penalty is turned
into these kernel levels; the Cython kernels in :mod:`mtreg._cy._bcd` only see ``lam1, lam2``.

Algorithm (celer/glmnet style): an outer loop computes the full gradient, the duality gap and
a working set (support, unpenalised rows, and the rows that violate the optimality conditions
most, at most as many as the support); the kernel runs BCD epochs on the working set until its
estimated objective decrease per epoch falls below a fraction of the current gap.  The fit stops
when ``gap <= tol * F(0, b0)`` (``F(0, b0)`` = ``problem.null_objective``).

The duality gap uses, for each task, the dual point ``theta_k = s_k r_k / n_k`` of the
elastic net written as a lasso on augmented data (as scikit-learn's coordinate descent does),
with ``s_k`` the largest rescaling making ``theta`` feasible (one ``s`` for all tasks with the
row penalty, one per task with the entry-wise penalty).  Unpenalised rows and inline intercepts
carry equality constraints; they are met exactly by minimising over that block (a small
least-squares solve) before each gap, or, for many unpenalised rows with ``lam2 > 0``, by the
ridge conjugate ``||G_j||^2 / (2 lam2)``.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from .._cy import _bcd
from ..penalties.base import Penalty
from ._record import SolverRecord
from .problem import Problem

__all__ = ["alpha_max", "solve"]

_KERNELS = ("l1", "l21")
_WS_MIN = 10  # smallest number of violating rows added to a working set
_GEMM_MIN = 1e8  # n p K above which the shared dense gradient uses numpy's gemm
_USTEP_MAX = 64  # unpenalised rows solved exactly before a gap check (beyond: ridge conjugate)


# --------------------------------------------------------------------------- data layout
class _Design:
    """The arrays a kernel needs for one :class:`Problem`, prepared once per solve."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.shared = problem.shared
        self.sparse = problem.sparse
        self.fit_b = problem.center_inline
        self.K = problem.n_tasks
        self.p = problem.n_features
        self.task_ptr = np.ascontiguousarray(problem.task_ptr, dtype=np.intp)
        self.n_k = np.diff(self.task_ptr).astype(np.float64)
        X = problem.X
        if self.sparse:
            X = sp.csc_matrix(X)
            if not X.has_sorted_indices:
                X = X.sorted_indices()
            self.data = np.ascontiguousarray(X.data, dtype=np.float64)
            self.indices = np.ascontiguousarray(X.indices, dtype=np.intp)
            self.indptr = np.ascontiguousarray(X.indptr, dtype=np.intp)
            X2 = X.multiply(X).tocsc()
        else:
            X = np.asfortranarray(X, dtype=np.float64)
            X2 = None if self.shared else X * X
        self.X = X
        if self.shared:
            n = X.shape[0]
            colsq = (np.asarray(X2.sum(axis=0)).ravel() if self.sparse
                     else np.einsum("ij,ij->j", X, X))
            self.a = np.ascontiguousarray(colsq / n)
            self.Y = problem.y.reshape(self.K, n).T  # (n, K), column k = y_k
        else:
            self.task_id = np.repeat(np.arange(self.K), np.diff(self.task_ptr))
            T = sp.csr_matrix((np.ones(X.shape[0]), (self.task_id, np.arange(X.shape[0]))),
                              shape=(self.K, X.shape[0]))
            colsq = np.asarray((T @ X2).todense() if self.sparse else T @ X2)  # (K, p)
            self.a = np.ascontiguousarray(colsq.T / np.maximum(self.n_k, 1.0))
            if self.sparse:
                self.col_task_ptr = self._col_task_ptr()

    def _col_task_ptr(self) -> np.ndarray:
        """(p, K + 1): entries of column j in task k are ``data[ctp[j, k]:ctp[j, k + 1]]``."""
        p, K = self.p, self.K
        col = np.repeat(np.arange(p), np.diff(self.indptr))
        task = np.searchsorted(self.task_ptr, self.indices, side="right") - 1
        counts = np.bincount(col * K + task, minlength=p * K).reshape(p, K)
        ctp = np.zeros((p, K + 1), dtype=np.intp)
        np.cumsum(counts, axis=1, out=ctp[:, 1:])
        ctp += self.indptr[:-1, None]
        return ctp

    # residuals: (n, K) for a shared design (F order if dense, C if sparse), (N,) stacked
    def residual(self, W: np.ndarray, b: np.ndarray) -> np.ndarray:
        if self.shared and not self.sparse:  # O(n nnz(W)), no BLAS threads
            R = np.asfortranarray(self.Y, dtype=np.float64).copy(order="F")
            _bcd.residual_shared_dense(self.X, np.ascontiguousarray(W), R)
            return R
        if self.shared:
            R = self.Y - self.X @ W if W.any() else self.Y.copy()
            if self.fit_b:
                R -= b
            return np.ascontiguousarray(R)
        if not W.any():
            r = self.problem.y.copy()
            if self.fit_b:
                r -= np.repeat(b, np.diff(self.task_ptr))
            return r
        return self.problem.residual(W, b if self.fit_b else None)

    def gradient(self, R: np.ndarray) -> np.ndarray:
        """``G[:, k] = X_k^T r_k / n_k``, shape (p, K)."""
        if self.shared and not self.sparse:
            if self.X.size * self.K >= _GEMM_MIN:  # large: BLAS-3 (threads pay off)
                return self.X.T @ R / self.n_k[0]
            G = np.empty((self.p, self.K))
            _bcd.gradient_shared_dense(self.X, R, G)
            return G
        if self.shared:
            return np.asarray(self.X.T @ R) / self.n_k[0]
        G = np.empty((self.p, self.K))
        if self.sparse:
            _bcd.gradient_stacked_sparse(self.data, self.indices, self.col_task_ptr,
                                         self.task_ptr, R, G)
        else:
            _bcd.gradient_stacked_dense(self.X, self.task_ptr, R, G)
        return G

    def task_dots(self, R: np.ndarray, Z: np.ndarray) -> np.ndarray:
        """Per-task ``z_k^T r_k``, shape (K,); ``Z`` laid out as ``R``."""
        if self.shared:
            return np.einsum("ik,ik->k", Z, R)
        return np.bincount(self.task_id, weights=Z * R, minlength=self.K)

    @property
    def y_like_R(self) -> np.ndarray:
        return self.Y if self.shared else self.problem.y

    def epochs(self, R, W, b, lam1, lam2, ws, l21, max_epochs, eps) -> int:
        max_epochs = int(min(max_epochs, np.iinfo(np.int32).max))
        if self.shared and not self.sparse:
            return _bcd.epochs_shared_dense(self.X, R, W, self.a, lam1, lam2, ws, l21,
                                            max_epochs, eps)
        if self.shared:
            return _bcd.epochs_shared_sparse(self.data, self.indices, self.indptr, R, W, b,
                                             self.a, lam1, lam2, ws, l21, self.fit_b,
                                             max_epochs, eps)
        if not self.sparse:
            return _bcd.epochs_stacked_dense(self.X, self.task_ptr, R, W, self.a, lam1, lam2,
                                             ws, l21, max_epochs, eps)
        return _bcd.epochs_stacked_sparse(self.data, self.indices, self.col_task_ptr,
                                          self.task_ptr, R, W, b, self.a, lam1, lam2, ws, l21,
                                          self.fit_b, max_epochs, eps)


class _BlockStep:
    """Exact minimisation over the unpenalised block: intercepts (inline) and rows ``U``.

    For task k with ``B_k = [1, X_k[:, U]]`` (the column of ones only when intercepts are
    solved inline) it solves ``(B_k^T B_k / n_k + diag(0, lam2 I)) d = B_k^T r_k / n_k -
    (0, lam2 W_U)`` and moves ``r_k -= B_k d``.  Afterwards the dual constraints of the block
    hold exactly, which the duality gap needs.
    """

    def __init__(self, design: _Design, U: np.ndarray, lam2: float):
        self.design, self.U, self.off = design, U, int(design.fit_b)
        self.ridge = np.r_[np.zeros(self.off), np.full(len(U), lam2)]
        X = design.X
        blocks = []
        rows = [slice(0, X.shape[0])] if design.shared else [
            slice(design.task_ptr[k], design.task_ptr[k + 1]) for k in range(design.K)]
        for sl in rows:
            XU = X[sl][:, U]
            XU = XU.toarray() if sp.issparse(XU) else np.asarray(XU)
            B = np.hstack([np.ones((XU.shape[0], self.off)), XU])
            n = max(B.shape[0], 1)
            M = B.T @ B / n + np.diag(self.ridge)
            blocks.append((sl, B, np.linalg.pinv(M, hermitian=True), n))
        self.blocks = blocks

    def __call__(self, R, W, b):
        off, U = self.off, self.U
        if self.design.shared:
            _, B, Minv, n = self.blocks[0]
            rhs = B.T @ R / n
            rhs[off:] -= self.ridge[off:, None] * W[U]
            d = Minv @ rhs
            R -= B @ d
            W[U] += d[off:]
            if off:
                b += d[0]
            return
        for k, (sl, B, Minv, n) in enumerate(self.blocks):
            rhs = B.T @ R[sl] / n
            rhs[off:] -= self.ridge[off:] * W[U, k]
            d = Minv @ rhs
            R[sl] -= B @ d
            W[U, k] += d[off:]
            if off:
                b[k] += d[0]


# --------------------------------------------------------------------------- public API
def _check_penalty(penalty) -> None:
    kernel = getattr(penalty, "kernel", None)
    missing = [a for a in ("l1_ratio", "feature_weights") if not hasattr(penalty, a)]
    if kernel not in _KERNELS or missing:
        what = (f"kernel={kernel!r} (needs one of {', '.join(map(repr, _KERNELS))})"
                if kernel not in _KERNELS else f"no {', '.join(missing)}")
        raise ValueError(f"the block coordinate descent solver cannot solve penalty "
                         f"{getattr(penalty, 'name', type(penalty).__name__)!r} ({penalty!r}): "
                         f"it has {what}")


def _null(design: _Design) -> tuple[np.ndarray, np.ndarray]:
    """Intercepts at W = 0 and the residual there."""
    b0 = np.zeros(design.K)
    if design.fit_b:
        b0 = np.bincount(np.repeat(np.arange(design.K), np.diff(design.task_ptr)),
                         weights=design.problem.y, minlength=design.K) / np.maximum(design.n_k, 1)
    return b0, design.residual(np.zeros((design.p, design.K)), b0)


def alpha_max(problem: Problem, penalty: Penalty) -> float:
    """Smallest ``alpha`` for which ``W = 0`` is optimal.

    Parameters
    ----------
    problem : Problem
    penalty : Penalty
        Any penalty defining ``alpha_max(G0)``.

    Returns
    -------
    float
        ``penalty.alpha_max(G0)`` with ``G0[:, k] = X_k^T (y_k - b0_k) / n_k`` the gradient at
        ``W = 0`` (intercepts at their optimum), as ``problem.null_fit()[2]``.
    """
    design = _Design(problem)
    _, R0 = _null(design)
    return float(penalty.alpha_max(design.gradient(R0)))


def solve(problem: Problem, penalty: Penalty, alpha: float, *, tol: float = 1e-6,
          max_iter: int = 10_000, coef_init=None, intercept_init=None) -> SolverRecord:
    """Minimise ``F(W, b)`` by block coordinate descent over feature rows.

    ``F(W, b) = sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2 + alpha * Omega(W)``, with
    ``Omega`` the penalty's (lasso or group lasso, elastic-net term included); ``b`` is a
    variable only when ``problem.center_inline`` (otherwise the data are centred and b = 0).

    Parameters
    ----------
    problem : Problem
        Shared or per-task, dense or sparse design (see :func:`make_problem`).
    penalty : Penalty
        A penalty with ``kernel`` ``"l1"`` (entry-wise) or ``"l21"`` (row-wise), e.g.
        :class:`~mtreg.penalties.Lasso` or :class:`~mtreg.penalties.GroupLasso`.
    alpha : float
        Regularisation level, > 0.
    tol : float, default 1e-6
        Stop when the duality gap is ``<= tol * problem.null_objective``.
    max_iter : int, default 10_000
        Maximum number of epochs (passes of the kernel over its working set of rows).
    coef_init : array-like of shape (p, K), optional
        Warm start.
    intercept_init : array-like of shape (K,), optional
        Warm start of the inline intercepts (only when ``problem.center_inline``).

    Returns
    -------
    SolverRecord
        ``coef`` (p, K), ``intercept`` (K,), epochs, final gap and the gap after each check
        (``history``).

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        When the gap target is not reached within ``max_iter`` epochs.
    """
    _check_penalty(penalty)
    alpha = float(alpha)
    if not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    max_iter = int(max_iter)

    design = _Design(problem)
    p, K = design.p, design.K
    l21 = penalty.kernel == "l21"
    lam1 = np.ascontiguousarray(alpha * penalty.l1_ratio * penalty.feature_weights(p),
                                dtype=np.float64)
    lam2 = alpha * (1.0 - penalty.l1_ratio)

    b0, R0 = _null(design)
    null_objective = 0.5 * float(np.sum(design.task_dots(R0, R0) / np.maximum(design.n_k, 1)))
    gap_tol = tol * null_objective

    if coef_init is None:
        W = np.zeros((p, K))
    else:
        W = np.array(coef_init, dtype=np.float64, order="C", copy=True)
        if W.shape != (p, K):
            raise ValueError(f"coef_init has shape {W.shape}, expected (p, K) = {(p, K)}")
    if intercept_init is None:
        b = b0.copy()
    else:
        b = np.array(intercept_init, dtype=np.float64).reshape(-1).copy()
        if b.shape != (K,):
            raise ValueError(f"intercept_init has shape {b.shape}, expected (K,) = ({K},)")
        if not design.fit_b and np.any(b != 0):
            raise ValueError("intercept_init is only used when the problem solves intercepts "
                             "inline (sparse X with fit_intercept=True); here the data are "
                             "centred and the intercepts are 0")
    if not design.fit_b:
        b = np.zeros(K)
    R = R0 if coef_init is None and intercept_init is None else design.residual(W, b)

    pen = lam1 > 0
    U = np.flatnonzero(~pen)
    use_block = U.size > 0 and (lam2 == 0 or U.size <= _USTEP_MAX)
    conj = U if (U.size > 0 and not use_block) else np.empty(0, dtype=np.intp)
    not_conj = np.ones(p, dtype=bool)
    not_conj[conj] = False
    block = _BlockStep(design, U, lam2) if (use_block or (design.fit_b and U.size == 0)) else None
    n_k = np.maximum(design.n_k, 1)
    Yr = design.y_like_R

    def check(R):
        """Block step, then (gap, primal, violation score per row)."""
        if block is not None:
            block(R, W, b)
        G = design.gradient(R)
        H = G - lam2 * W
        dn = np.linalg.norm(H, axis=1) if l21 else np.abs(H).max(axis=1)
        score = np.zeros(p)
        score[pen] = dn[pen] / lam1[pen]
        if l21:
            s = np.full(K, 1.0 / max(1.0, score.max(initial=0.0)))
        else:
            ratio = np.abs(H[pen]) / lam1[pen, None]
            s = 1.0 / np.maximum(1.0, ratio.max(axis=0, initial=0.0))
        rr = design.task_dots(R, R) / n_k
        yr = design.task_dots(R, Yr) / n_k
        norms = np.linalg.norm(W, axis=1) if l21 else np.abs(W).sum(axis=1)
        primal = 0.5 * rr.sum() + lam1 @ norms + 0.5 * lam2 * np.sum(W * W)
        quad = 0.5 * rr + 0.5 * lam2 * np.einsum("jk,jk->k", W[not_conj], W[not_conj])
        if conj.size:
            quad += np.einsum("jk,jk->k", G[conj], G[conj]) / (2 * lam2)
        dual = float(s @ yr - (s * s) @ quad)
        return max(primal - dual, 0.0), primal, score

    gap, primal, score = check(R)
    history = [gap]
    n_iter = 0
    eps_in = np.inf
    while gap > gap_tol and n_iter < max_iter:
        support = np.any(W != 0, axis=1)
        cand = np.flatnonzero(pen & ~support & (score > 1.0))
        n_add = max(_WS_MIN, int(support.sum()))
        if cand.size > n_add:
            cand = cand[np.argpartition(-score[cand], n_add - 1)[:n_add]]
        keep = support | ~pen
        keep[cand] = True
        ws = np.flatnonzero(keep).astype(np.intp)
        # inner accuracy: a small fraction of the current gap, and at least 0.3x tighter than
        # in the previous round, so that rounds cannot stall on an optimistic decrease estimate
        eps_in = min(0.01 * gap, 0.3 * eps_in)
        n_iter += design.epochs(R, W, b, lam1, lam2, ws, l21, max_iter - n_iter, eps_in)
        gap, primal, score = check(R)
        history.append(gap)

    converged = bool(gap <= gap_tol)
    if not converged:
        warnings.warn(
            f"block coordinate descent ({getattr(penalty, 'name', penalty)}, alpha={alpha:.4g}) "
            f"did not converge in {n_iter} epochs: duality gap {gap:.3g} > target {gap_tol:.3g} "
            f"(tol={tol:g} x null objective {null_objective:.3g}). Increase max_iter, loosen tol, "
            "or use a larger alpha.", ConvergenceWarning, stacklevel=2)
    return SolverRecord(coef=np.array(W), intercept=b.copy() if design.fit_b else np.zeros(K),
                        n_iter=n_iter, gap=float(gap), gap_tol=float(gap_tol),
                        converged=converged, objective=float(primal),
                        history=np.asarray(history), solver="bcd")
