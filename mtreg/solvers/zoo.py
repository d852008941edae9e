"""Solvers of the MuTaR model zoo (:mod:`mtreg.penalties.zoo`).

All minimise the DESIGN.md objective on the centred, standardised
:class:`~mtreg.solvers.problem.Problem` (the one place where the objective is scaled)::

    F(W, b) = sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2 + alpha * Omega(W)

==================  ==========================================================================
``adaptive``        reweighted lasso / group lasso: ``n_reweightings`` weighted fits, warm-started,
                    each to a duality gap (l1: Cython coordinate descent on the entries that can
                    move, :func:`mtreg._cy._zoo.wlasso_epochs`; group: :mod:`mtreg.solvers.bcd`);
                    objective trace (majorisation-minimisation).
``dirty``           block coordinate descent over rows on (B, S), Cython
                    (:func:`mtreg._cy._zoo.dirty_epochs_exact`: exact row-block steps), working sets,
                    Anderson extrapolation, duality-gap certificate.
``multilevel``      alternating lassos on (c, V), each by :mod:`mtreg.solvers.bcd` with its gap
                    certificate, plus exact rebalancing; objective trace.
``mtw``             block coordinate descent of Janati et al. (2019): log-domain unbalanced
                    Sinkhorn barycenters (Cython), then exact coordinate steps on W+, W- (Cython);
                    concomitant noise levels in closed form; objective trace; ReMTW reweights.
==================  ==========================================================================

Non-convex (and MTW) fits stop when one outer iteration decreases F by at most
``tol * F(0)`` (``F(0)`` = ``problem.null_objective``, the yardstick of the convex gaps) and record
the objective after every outer iteration in ``SolverRecord.history``.

The Cython kernels of ``dirty`` and ``mtw`` work on dense arrays: a sparse design is densified
(and, with an intercept, centred per task here, the intercepts being recovered at the end).
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from .._cy import _zoo
from ..penalties.sparse_norms import GroupLasso, Lasso
from . import bcd
from ._record import SolverRecord
from .problem import Problem

__all__ = ["solve_adaptive", "solve_dirty", "solve_multilevel", "solve_mtw"]

_WS_MIN = 10


# ============================================================================ helpers
_check_common = bcd.check_common


def _coef0(coef_init, p, K):
    if coef_init is None:
        return np.zeros((p, K))
    W = np.array(coef_init, dtype=np.float64, order="C", copy=True)
    if W.shape != (p, K):
        raise ValueError(f"coef_init has shape {W.shape}, expected (p, K) = {(p, K)}")
    return W


class _Dense:
    """A dense, centred view of a :class:`Problem` for the zoo kernels.

    Attributes
    ----------
    X : ndarray (rows, p), F-contiguous; task k uses rows ``x_off[k]:x_off[k] + n_k``
    y : ndarray (N,) centred responses stacked by ``ptr``
    a : ndarray (p, K) ``||x_jk||^2 / n_k``
    xbar, ybar : per-task means removed here (only for sparse problems with inline intercepts)
    """

    def __init__(self, problem: Problem):
        self.problem = problem
        self.K, self.p = problem.n_tasks, problem.n_features
        self.ptr = np.ascontiguousarray(problem.task_ptr, dtype=np.intp)
        self.n = np.maximum(np.diff(self.ptr), 1).astype(np.float64)
        self.shared = problem.shared
        X = problem.X.toarray() if sp.issparse(problem.X) else problem.X
        X = np.array(X, dtype=np.float64, order="F", copy=problem.center_inline)
        y = np.array(problem.y, dtype=np.float64, copy=True)
        self.xbar = np.zeros((self.p, self.K))
        self.ybar = np.zeros(self.K)
        self.inline = bool(problem.center_inline)
        if self.inline:  # centre here; intercepts recovered by :meth:`intercept`
            for k in range(self.K):
                sl = slice(self.ptr[k], self.ptr[k + 1])
                self.ybar[k] = y[sl].mean() if sl.stop > sl.start else 0.0
                y[sl] -= self.ybar[k]
            if self.shared:
                m = X.mean(axis=0)
                X -= m
                self.xbar[:] = m[:, None]
            else:
                for k in range(self.K):
                    sl = slice(self.ptr[k], self.ptr[k + 1])
                    m = X[sl].mean(axis=0) if sl.stop > sl.start else np.zeros(self.p)
                    X[sl] -= m
                    self.xbar[:, k] = m
        self.X, self.y = X, y
        self.x_off = (np.zeros(self.K, dtype=np.intp) if self.shared
                      else np.ascontiguousarray(self.ptr[:-1]))
        self.task_id = np.repeat(np.arange(self.K), np.diff(self.ptr))
        # per-task designs of equal sizes: a C-ordered (K, n, p) copy for batched gradients
        sizes = np.diff(self.ptr)
        self._X3 = None
        if not self.shared and self.K > 1 and sizes.size and np.all(sizes == sizes[0]) \
                and sizes[0] > 0:
            self._X3 = np.ascontiguousarray(X.reshape(self.K, int(sizes[0]), self.p))
        if self.shared:
            self.a = np.ascontiguousarray(np.repeat((X**2).sum(0)[:, None] / self.n[0], self.K, 1))
        else:
            self.a = np.ascontiguousarray((np.add.reduceat(X**2, self.ptr[:-1], axis=0)
                                           / self.n[:, None]).T) if X.shape[0] else \
                np.zeros((self.p, self.K))

    def predict(self, W):
        if self.shared:
            return (self.X @ W).T.ravel()
        if self._X3 is not None:  # (K, n, p) @ (K, p, 1)
            return (self._X3 @ np.ascontiguousarray(W.T)[:, :, None]).ravel()
        return np.einsum("ij,ij->i", self.X, W.T[self.task_id])

    def residual(self, W):
        return self.y - self.predict(W)

    def gradient(self, r):
        if self.shared:
            return self.X.T @ r.reshape(self.K, -1).T / self.n[0]
        if self._X3 is not None:  # equal task sizes: one batched product (K, 1, n) @ (K, n, p)
            return (r.reshape(self.K, 1, -1) @ self._X3)[:, 0, :].T / self.n[:, None].T
        G = np.empty((self.p, self.K))
        for k in range(self.K):  # one gemv per task, no (N, p) temporary
            sl = slice(self.ptr[k], self.ptr[k + 1])
            G[:, k] = self.X[sl].T @ r[sl] / self.n[k]
        return G

    def task_dots(self, u, v):
        return np.bincount(self.task_id, weights=u * v, minlength=self.K)

    def datafit(self, r):
        return 0.5 * float(np.sum(self.task_dots(r, r) / self.n))

    def intercept(self, W):
        """Inline intercepts of the original (uncentred) sparse problem."""
        if not self.inline:
            return np.zeros(self.K)
        return self.ybar - np.einsum("pk,pk->k", self.xbar, W)

    def as_problem(self, X=None, cols=None) -> Problem:
        """A centred dense :class:`Problem` over the same tasks (optionally a column subset)."""
        X = self.X if X is None else X
        if cols is not None:
            X = np.asfortranarray(X[:, cols])
        p = X.shape[1]
        shared = self.shared and X.shape[0] != self.y.shape[0]  # a stacked X is per task
        return Problem(X=X, y=self.y, task_ptr=self.ptr.astype(np.int64), shared=shared,
                       fit_intercept=False, center_inline=False, x_mean=np.zeros((p, self.K)),
                       x_scale=np.ones(p), y_mean=np.zeros(self.K))


def _warn(name, alpha, n_outer, what):
    warnings.warn(f"{name} (alpha={alpha:.4g}) did not converge in {n_outer} outer iterations: "
                  f"{what}. Increase max_iter / n_reweightings or loosen tol.",
                  ConvergenceWarning, stacklevel=3)


# ============================================================================ adaptive
def _weighted_lasso(D: _Dense, W, r, lam, gap_tol, max_epochs):
    """Lasso with per-entry levels ``lam`` (p, K), in place on (W, r), certified by a gap.

    Minimises ``sum_k 1/(2 n_k) ||r_k||^2 + sum_jk lam_jk |W_jk|``. Outer loop: full gradient,
    duality gap (the tasks are independent: dual point ``theta_k = s_k r_k / n_k``, the largest
    ``s_k <= 1`` with ``|x_jk^T theta_k| <= lam_jk`` for all j) and a working set of entries
    (per task, the non-zero ones plus the ``max(10, |support|)`` worst violators of the dual
    constraints); Cython epochs (:func:`mtreg._cy._zoo.wlasso_epochs`) on it until their decrease
    estimate falls below ``min(0.01 gap, 0.01 previous)``, and below ``1e-3 gap_tol`` for a warm
    start (a reweighting: the working set is the support). Stops when ``gap <= gap_tol``.
    Returns (epochs, gap).
    """
    p = D.p
    n_ep, eps_in = 0, np.inf
    # warm start (a reweighting): the working set is the support, its epochs are cheap next to a
    # full gradient, so they run to a decrease estimate well below the target gap; cold: loose
    warm_eps = 1e-3 * gap_tol if W.any() else np.inf
    while True:
        G = D.gradient(r)
        score = np.abs(G) / lam
        s = 1.0 / np.maximum(1.0, score.max(axis=0, initial=0.0))  # tasks are independent
        rr = D.task_dots(r, r) / D.n
        yr = D.task_dots(r, D.y) / D.n
        primal = 0.5 * rr.sum() + float((lam * np.abs(W)).sum())
        gap = max(primal - float((s * yr - 0.5 * s * s * rr).sum()), 0.0)
        if gap <= gap_tol or n_ep >= max_epochs:
            return n_ep, gap
        # working set, task by task: the support plus the max(10, |support|) worst violators
        nz = (W != 0).T  # (K, p): entries ordered task by task
        sc = np.where(nz, 0.0, score.T)
        n_add = np.maximum(_WS_MIN, nz.sum(axis=1))
        kth = np.sort(sc, axis=1)[np.arange(D.K), np.maximum(p - n_add, 0)]
        act = nz | ((sc > 1.0) & (sc >= kth[:, None]))
        ent = np.flatnonzero(act.ravel())
        eps_in = min(0.01 * gap, 0.01 * eps_in, warm_eps)
        n_ep += _zoo.wlasso_epochs(D.X, D.x_off, D.ptr, r, W, D.a, lam,
                                   np.ascontiguousarray(ent % p), np.ascontiguousarray(ent // p),
                                   int(min(max_epochs - n_ep, np.iinfo(np.int32).max)), eps_in)


def solve_adaptive(problem: Problem, penalty, alpha: float, *, tol: float = 1e-6,
                   max_iter: int = 10_000, coef_init=None, intercept_init=None) -> SolverRecord:
    """Iteratively reweighted lasso / group lasso (majorisation-minimisation).

    Minimises ``F(W, b) = sum_k 1/(2 n_k) ||r_k||^2 + alpha * sum f(|W_jk|)`` (adaptive lasso) or
    ``alpha * sum_j f(||W_j.||)`` (adaptive group lasso) with the concave surrogate ``f`` of the
    penalty (:class:`~mtreg.penalties.zoo.AdaptiveLasso`). Fit t (t = 1, ..., n_reweightings)
    is a weighted lasso / group lasso with the weights :meth:`penalty.reweight` of fit t - 1 (unit
    weights for t = 1), solved to a duality gap ``<= tol * F(0)`` warm-started from fit t - 1:
    the group lasso by :func:`mtreg.solvers.bcd.solve`, the lasso with per-entry levels
    ``alpha w_jk`` by Cython coordinate descent on working sets of entries
    (:func:`mtreg._cy._zoo.wlasso_epochs`; per task, the support plus the worst violators of the
    dual constraints; tasks are independent, so the dual point is scaled task by task). With the
    l_q surrogate the weight of a zero entry is ``q / eps`` (5e9): a reweighted fit works on the
    support of the previous one, and costs a few epochs of a few hundred entries plus two or
    three full gradients for its gap.

    Parameters
    ----------
    problem : Problem
    penalty : AdaptiveLasso or AdaptiveGroupLasso
    alpha : float
    tol : float, default 1e-6
        Gap of every weighted fit, and outer rule: stop when a reweighting decreases F by at most
        ``tol * F(0)`` and changes no entry of W by more than ``0.1 sqrt(tol) max|W|`` (MuTaR's
        rule is the second one, at 1e-4).
    max_iter : int
        Epochs of each weighted fit.
    coef_init, intercept_init : optional
        Warm start of the first fit. Its weights are still unit weights unless ``coef_init`` is
        given, in which case the first weights are computed from it (a warm-started reweighting
        continues where it stopped).

    Returns
    -------
    SolverRecord
        ``history`` is F after every fit; ``extra["weights"]`` the last weights.
    """
    alpha, tol, max_iter = _check_common(alpha, tol, max_iter)
    p, K = problem.n_features, problem.n_tasks
    group = penalty.name == "adaptive_group_lasso"
    W = _coef0(coef_init, p, K)
    b = np.zeros(K) if intercept_init is None else np.asarray(intercept_init, dtype=float).copy()
    F0 = problem.null_objective
    weights = penalty.reweight(W) if coef_init is not None else (
        np.ones(p) if group else np.ones((p, K)))
    history, n_iter, converged = [], 0, False
    dense, last = None, None
    for _ in range(penalty.n_reweightings):
        if group:
            rec = bcd.solve(problem, GroupLasso(weights=weights), alpha, tol=tol,
                            max_iter=max_iter, coef_init=W,
                            intercept_init=b if problem.center_inline else None)
            W, b, n_iter = rec.coef, rec.intercept, n_iter + rec.n_iter
        else:  # per-entry weights: Cython coordinate descent on working sets of entries
            if dense is None:
                dense = _Dense(problem)
                W = np.ascontiguousarray(W, dtype=np.float64)
                r = dense.residual(W)  # kept up to date in place by the next fits
            n_ep, _ = _weighted_lasso(dense, W, r, np.ascontiguousarray(alpha * weights),
                                      tol * F0, max_iter)
            b = dense.intercept(W)
            n_iter += n_ep
        if dense is not None:
            F = dense.datafit(r) + alpha * penalty.value(W)
        else:
            F = problem.datafit(W, b if problem.center_inline else None) + alpha * penalty.value(W)
        history.append(F)
        weights = penalty.reweight(W)
        # MM decreases F by small steps for a long time before an entry reaches 0 and F drops
        # again: stop on a small decrease AND a small change of W (relative, 0.1 sqrt(tol))
        change = np.abs(W - last).max(initial=0.0) if last is not None else np.inf
        if len(history) > 1 and history[-2] - F <= tol * F0 and \
                change <= 0.1 * np.sqrt(tol) * max(np.abs(W).max(initial=0.0), 1e-300):
            converged = True
            break
        last = W.copy()
    if not converged and penalty.n_reweightings > 1:
        _warn(penalty.name, alpha, len(history),
              f"the last reweighting decreased the objective by {history[-2] - history[-1]:.3g} "
              f"> {tol * F0:.3g}")
    return SolverRecord(coef=W, intercept=b if problem.center_inline else np.zeros(K),
                        n_iter=n_iter, gap=np.nan, gap_tol=tol * F0,
                        converged=converged or penalty.n_reweightings == 1,
                        objective=float(history[-1]), history=np.asarray(history),
                        solver="adaptive", extra={"weights": weights})


# ============================================================================ dirty
def _dirty_check(D: _Dense, r, B, S, lam_b, lam_s):
    """(gap, primal, violation score per row) of the dirty model at (B, S)."""
    G = D.gradient(r)
    row = np.linalg.norm(G, axis=1)
    score = np.maximum(row / lam_b, np.abs(G).max(axis=1) / lam_s)
    s = 1.0 / max(1.0, score.max(initial=0.0))
    rr = D.task_dots(r, r) / D.n
    yr = D.task_dots(r, D.y) / D.n
    primal = 0.5 * rr.sum() + lam_b * np.linalg.norm(B, axis=1).sum() + lam_s * np.abs(S).sum()
    dual = s * yr.sum() - 0.5 * s * s * rr.sum()
    return max(primal - dual, 0.0), primal, score


_DIRTY_AA = 5  # epochs between Anderson extrapolations of the dirty model's inner loop (0: off)


def _dirty_objective(D: _Dense, r, Bw, Sw, lam_b, lam_s):
    """Data fit plus the penalty of the rows ``Bw``, ``Sw`` (the other rows are fixed)."""
    return (D.datafit(r) + lam_b * np.sqrt(np.einsum("jk,jk->j", Bw, Bw)).sum()
            + lam_s * np.abs(Sw).sum())


def _dirty_extrapolate(D: _Dense, r, B, S, ws, hist, rhist, lam_b, lam_s):
    """Anderson extrapolation (Scieur et al. 2016, as :mod:`mtreg.solvers.bcd`) of the last
    iterates ``hist`` of ``(B[ws], S[ws])``; kept if it lowers the objective.

    The residual is affine in B + S, so the extrapolated residual is the same combination of
    the stored residuals ``rhist``.
    """
    L = len(hist) - 1
    Dm = np.stack([hist[i + 1] - hist[i] for i in range(L)])
    C = Dm @ Dm.T
    C.flat[::L + 1] += 1e-10 * np.trace(C)
    try:
        z = np.linalg.solve(C, np.ones(L))
    except np.linalg.LinAlgError:
        return
    if not np.all(np.isfinite(z)) or z.sum() == 0:
        return
    c = z / z.sum()
    x = sum(ci * xi for ci, xi in zip(c, hist[1:], strict=True))
    r_acc = sum(ci * ri for ci, ri in zip(c, rhist[1:], strict=True))
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(r_acc))):
        return
    m = ws.size * B.shape[1]
    Bw, Sw = x[:m].reshape(ws.size, -1), x[m:].reshape(ws.size, -1)
    if _dirty_objective(D, r_acc, Bw, Sw, lam_b, lam_s) < \
            _dirty_objective(D, r, B[ws], S[ws], lam_b, lam_s):
        B[ws], S[ws] = Bw, Sw
        r[...] = r_acc


def _dirty_inner(D: _Dense, r, B, S, lam_b, lam_s, ws, max_epochs: int, eps: float) -> int:
    """Epochs of :func:`mtreg._cy._zoo.dirty_epochs_exact` on ``ws``, extrapolated.

    Every ``_DIRTY_AA`` epochs, an Anderson extrapolation of the last iterates (kept if it
    lowers the objective). Stops after an epoch whose decrease estimate
    ``sum a_jk/2 (dB^2 + dS^2)`` is ``<= eps`` (the kernel's rule) or ``max_epochs`` epochs.
    Returns the number of epochs.
    """
    if _DIRTY_AA <= 0:
        return _zoo.dirty_epochs_exact(D.X, D.x_off, D.ptr, r, B, S, D.a, lam_b, lam_s, ws,
                                       max_epochs, eps)
    a2 = np.tile(D.a[ws].ravel(), 2)

    def state():
        return np.concatenate([B[ws].ravel(), S[ws].ravel()])

    hist, rhist = [state()], [r.copy()]
    ep = 0
    while ep < max_epochs:
        ep += _zoo.dirty_epochs_exact(D.X, D.x_off, D.ptr, r, B, S, D.a, lam_b, lam_s, ws, 1,
                                      -1.0)
        x = state()
        d = x - hist[-1]
        if 0.5 * float(a2 @ (d * d)) <= eps:
            break
        hist.append(x)
        rhist.append(r.copy())
        if len(hist) == _DIRTY_AA + 1:
            _dirty_extrapolate(D, r, B, S, ws, hist, rhist, lam_b, lam_s)
            hist, rhist = [state()], [r.copy()]
    return ep


def solve_dirty(problem: Problem, penalty, alpha: float, *, tol: float = 1e-6,
                max_iter: int = 10_000, coef_init=None, intercept_init=None) -> SolverRecord:
    """Dirty model by block coordinate descent over rows, certified by a duality gap.

    Minimises ``sum_k 1/(2 n_k) ||y_k - X_k (B_k + S_k)||^2 + lam_b ||B||_{1,2} + lam_s ||S||_1``
    with ``lam_b = alpha (1 - l1_ratio)``, ``lam_s = alpha l1_ratio``
    (:class:`~mtreg.penalties.zoo.Dirty`). Outer loop (as :mod:`mtreg.solvers.bcd`): gradient, gap
    and working set (rows in the support plus the worst violators of the dual constraints); the
    Cython kernel (:func:`mtreg._cy._zoo.dirty_epochs_exact`: each row block ``(B_j, S_j)``
    minimised exactly) runs epochs on the working set, with an Anderson extrapolation of the
    iterates every ``_DIRTY_AA`` (5) epochs, until its estimated decrease falls below a
    fraction of the gap. Dual point: ``theta_k = s r_k / n_k`` with the largest ``s <= 1`` making
    ``||X^T theta_j||_2 <= lam_b`` and ``|X_k^T theta_k|_j <= lam_s`` hold. Stops when
    ``gap <= tol * F(0)``.

    Parameters
    ----------
    problem, penalty, alpha, tol, max_iter
        As in :func:`mtreg.solvers.bcd.solve`.
    coef_init : array-like (p, K), optional
        Warm start; it is put in the shared part (B = W, S = 0), the solver moves it.
    intercept_init : ignored
        Intercepts are recomputed from the centred data.

    Returns
    -------
    SolverRecord
        ``extra["components"] = {"shared": B, "specific": S}`` (standardised scale).
    """
    alpha, tol, max_iter = _check_common(alpha, tol, max_iter)
    D = _Dense(problem)
    p, K = D.p, D.K
    lb, ls = penalty.levels
    lam_b, lam_s = alpha * lb, alpha * ls
    B = _coef0(coef_init, p, K)
    S = np.zeros((p, K))
    r = D.residual(B + S)
    F0 = D.datafit(D.y)
    gap_tol = tol * F0
    gap, primal, score = _dirty_check(D, r, B, S, lam_b, lam_s)
    history = [gap]
    n_iter, eps_in, last_ws = 0, np.inf, None
    while gap > gap_tol and n_iter < max_iter:
        support = np.any(B != 0, axis=1) | np.any(S != 0, axis=1)
        cand = np.flatnonzero(~support & (score > 1.0))
        n_add = max(_WS_MIN, int(support.sum()))
        if cand.size > n_add:
            cand = cand[np.argpartition(-score[cand], n_add - 1)[:n_add]]
        keep = support.copy()
        keep[cand] = True
        ws = np.flatnonzero(keep).astype(np.intp)
        if last_ws is not None and np.isin(ws, last_ws).all():
            # no new row in the working set: solve it well below the target gap (its epochs
            # cost little next to the outer checks that 0.3 decreases would need)
            eps_in = min(0.01 * gap, 0.01 * eps_in, 1e-3 * gap_tol)
        else:
            eps_in = min(0.01 * gap, 0.3 * eps_in)
        last_ws = ws
        n_iter += _dirty_inner(D, r, B, S, lam_b, lam_s, ws,
                               int(min(max_iter - n_iter, np.iinfo(np.int32).max)), eps_in)
        gap, primal, score = _dirty_check(D, r, B, S, lam_b, lam_s)
        history.append(gap)
    converged = bool(gap <= gap_tol)
    if not converged:
        warnings.warn(f"dirty model (alpha={alpha:.4g}) did not converge in {n_iter} epochs: duality "
                      f"gap {gap:.3g} > target {gap_tol:.3g}. Increase max_iter or loosen tol.",
                      ConvergenceWarning, stacklevel=2)
    W = B + S
    return SolverRecord(coef=W, intercept=D.intercept(W), n_iter=n_iter, gap=float(gap),
                        gap_tol=float(gap_tol), converged=converged, objective=float(primal),
                        history=np.asarray(history), solver="dirty",
                        extra={"components": {"shared": B, "specific": S}})


# ============================================================================ multilevel
def _rebalance(W):
    """``c_j = sqrt(||W_j||_1)``, ``V = W / c`` (0 rows: c = 0, V = 0)."""
    c = np.sqrt(np.abs(W).sum(axis=1))
    V = np.zeros_like(W)
    nz = c > 0
    V[nz] = W[nz] / c[nz, None]
    return c, V


def solve_multilevel(problem: Problem, penalty, alpha: float, *, tol: float = 1e-6,
                     max_iter: int = 10_000, coef_init=None, intercept_init=None,
                     max_outer: int = 200) -> SolverRecord:
    """Multilevel lasso by alternating lassos (Lozano & Swirszcz 2012).

    Minimises ``sum_k 1/(2 n_k) ||y_k - X_k (c * V_k)||^2 + alpha/2 (||c||_1 + ||V||_1)``, i.e.
    ``F(W) = datafit(W) + alpha sum_j sqrt(||W_j.||_1)``. One outer iteration:

    1. V-step: for fixed c, the lasso in ``W = diag(c) V`` with per-feature weights ``1 / c_j``
       at level alpha/2 (rows with c_j = 0 stay 0);
    2. rebalancing ``c_j = sqrt(||W_j||_1)``, ``V_j = W_j / c_j`` (exact in the scale of each row);
    3. c-step: for fixed V, the lasso in c at level alpha/2 on the stacked design with rows
       ``sqrt(N / n_k) X_k diag(V_k)`` (so its 1/(2N) data fit is the objective's), then
       rebalancing again (signs of c are absorbed by V).

    Each lasso is solved by :func:`mtreg.solvers.bcd.solve` (gap ``<= tol * F(0)``), warm-started.
    The objective is recorded after every outer iteration; the fit stops when it decreases by at
    most ``tol * F(0)``.

    Parameters
    ----------
    coef_init : array-like (p, K), optional
        Warm start: ``c_j = sqrt(||W_j||_1)`` on its non-zero rows and 1 (the cold start) on its
        zero rows, so that a warm start (a path, a refit) can still add features.
    max_outer : int, default 200
        Outer iterations.

    Returns
    -------
    SolverRecord
        ``extra["c"]`` (p,) and ``extra["V"]`` (p, K) with ``coef = c[:, None] * V``.
    """
    alpha, tol, max_iter = _check_common(alpha, tol, max_iter)
    D = _Dense(problem)
    p, K = D.p, D.K
    lam = alpha / 2.0
    W = _coef0(coef_init, p, K)
    c = np.ones(p)
    if coef_init is not None:
        cw, _ = _rebalance(W)
        c = np.where(cw > 0, cw, 1.0)
    F0 = D.datafit(D.y)
    history, n_iter, converged = [], 0, False
    N = D.y.shape[0]
    row_scale = np.sqrt(N / D.n)[D.task_id]
    y_c = D.y * row_scale
    for _ in range(max_outer):
        # V-step (in W), rows with c = 0 excluded
        act = np.flatnonzero(c > 0)
        W_new = np.zeros((p, K))
        if act.size:
            sub = D.as_problem(cols=act)
            rec = bcd.solve(sub, Lasso(weights=1.0 / c[act]), lam, tol=tol, max_iter=max_iter,
                            coef_init=W[act])
            W_new[act] = rec.coef
            n_iter += rec.n_iter
        W = W_new
        c, V = _rebalance(W)
        # c-step
        act = np.flatnonzero(c > 0)
        if act.size:
            if D.shared:
                Z = np.concatenate([D.X[:, act] * V[act, k] for k in range(K)], axis=0)
            else:
                Z = D.X[:, act] * V[act].T[D.task_id]
            Z = np.asfortranarray(Z * row_scale[:, None])
            sub = Problem(X=Z, y=y_c, task_ptr=np.array([0, N], dtype=np.int64), shared=False,
                          fit_intercept=False, center_inline=False, x_mean=np.zeros((act.size, 1)),
                          x_scale=np.ones(act.size), y_mean=np.zeros(1))
            rec = bcd.solve(sub, Lasso(), lam, tol=tol, max_iter=max_iter,
                            coef_init=c[act, None])
            n_iter += rec.n_iter
            c_new = np.zeros(p)
            c_new[act] = rec.coef[:, 0]
            W = c_new[:, None] * V
            c, V = _rebalance(W)
        F = D.datafit(D.residual(W)) + alpha * penalty.value(W)
        history.append(F)
        if len(history) > 1 and history[-2] - F <= tol * F0:
            converged = True
            break
        if not W.any():
            converged = True
            break
    if not converged:
        _warn("multilevel lasso", alpha, len(history),
              f"the last iteration decreased the objective by {history[-2] - history[-1]:.3g}")
    return SolverRecord(coef=W, intercept=D.intercept(W), n_iter=n_iter, gap=np.nan,
                        gap_tol=tol * F0, converged=converged, objective=float(history[-1]),
                        history=np.asarray(history), solver="multilevel",
                        extra={"c": c, "V": V})


# ============================================================================ MTW
class _OT:
    """Warm-started unbalanced Sinkhorn barycenters of the positive and negative parts.

    ``update(Tp, Tm)`` runs the log-domain iterations of
    :func:`mtreg._cy._zoo.sinkhorn_barycenter_blas` (kernel products through BLAS, exact
    log-sum-exp where they would underflow) on both parts and stores their row marginals
    ``mp``, ``mm`` (p, K), barycenters ``qp``, ``qm`` and returns the summed OT value. The dual
    potentials are kept between calls (warm start across the outer iterations of the solver).
    """

    def __init__(self, M, epsilon, gamma, max_iter, tol):
        self.M = np.ascontiguousarray(M, dtype=np.float64)
        self.eps, self.gamma, self.max_iter, self.tol = float(epsilon), float(gamma), max_iter, tol
        self.Kmat = _zoo.gibbs_kernel(self.M, self.eps)
        self.state = {}
        self.lkv_valid = {}
        self.n_sinkhorn = 0

    def _one(self, key, A):
        p, K = A.shape
        if key not in self.state:
            self.state[key] = tuple(np.zeros((p, K)) for _ in range(2)) + (np.zeros(p),) + tuple(
                np.empty((p, K)) for _ in range(3))
        lu, lv, logq, lKv, lKu, E = self.state[key]
        if not A.any():
            return 0.0, np.zeros((p, K)), np.zeros(p)
        with np.errstate(divide="ignore"):
            logA = np.ascontiguousarray(np.log(A))
        # entries whose scaling collapsed (-inf) are restarted from 0
        bad = ~np.isfinite(lv)
        valid = self.lkv_valid.get(key, False) and not bad.any()
        lv[bad] = 0.0
        logq[~np.isfinite(logq)] = 0.0
        self.n_sinkhorn += _zoo.sinkhorn_barycenter_blas(self.Kmat, self.M, logA, lu, lv, logq,
                                                         lKv, lKu, E, self.eps, self.gamma,
                                                         self.max_iter, self.tol, False, valid)
        self.lkv_valid[key] = True
        with np.errstate(invalid="ignore"):
            row = np.exp(lu + lKv)
            col = np.exp(lv + lKu)
        row[~np.isfinite(row)] = 0.0
        col[~np.isfinite(col)] = 0.0
        q = np.exp(logq)
        mass = row.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ent = (np.where(row > 0, row * lu, 0.0).sum() + np.where(col > 0, col * lv, 0.0).sum()
                   - mass.sum())
            kl_a = np.where(row > 0, row * (np.log(np.where(row > 0, row, 1.0))
                                            - np.where(A > 0, logA, 0.0)), 0.0).sum() \
                - row.sum() + A.sum()
            kl_q = np.where(col > 0, col * (np.log(np.where(col > 0, col, 1.0))
                                            - np.log(np.where(q > 0, q, 1.0))[:, None]), 0.0).sum() \
                - col.sum() + K * q.sum()
        value = self.eps * ent + self.gamma * (kl_a + kl_q)
        return float(value), row, q

    def get_lv(self):
        """Second potentials of both parts, stacked (2p, K), -inf clipped to -700 (or None)."""
        if "+" not in self.state or "-" not in self.state:
            return None
        lv = np.concatenate([self.state["+"][1], self.state["-"][1]])
        return np.maximum(lv, -700.0)

    def set_lv(self, lv):
        """Set the second potentials of both parts (stacked as :meth:`get_lv`)."""
        p = lv.shape[0] // 2
        self.state["+"][1][:] = lv[:p]
        self.state["-"][1][:] = lv[p:]
        self.lkv_valid["+"] = self.lkv_valid["-"] = False

    def update(self, Tp, Tm) -> float:
        vp, self.mp, self.qp = self._one("+", Tp)
        vm, self.mm, self.qm = self._one("-", Tm)
        return vp + vm


_ANDERSON = 5  # memory of the Anderson extrapolation of MTW's outer iterations (0: off)


_MTW_EPOCHS = 1000  # coordinate descent epochs of the theta-step per outer iteration (at most)
_REMTW_TOL0 = 1e-4  # inner rule of ReMTW's first reweighting (relative to F(0))
# ReMTW after its first fit: the potentials are warm-started from a converged fit and move little,
# so 2 Sinkhorn iterations per outer step (at most max_iter_ot) are enough; the early (loose) fits
# stop on a window of 2 outer iterations (the last fit keeps tol and _MTW_WINDOW). At the harness
# shape: 736 Sinkhorn iterations instead of 1172, same objective to 1e-8 relative.
_REMTW_OT_LATER = 2
_REMTW_WINDOW = 2
_MTW_WINDOW = 5  # MTW stops when F decreased by at most tol * F(0) over this many outer steps


def _parts_of(x, Tp1, Tm1):
    """W+, W- from an extrapolated state, kept >= 0.1 times the plain step's (positivity)."""
    p = Tp1.shape[0]
    return np.maximum(x[:p], 0.1 * Tp1), np.maximum(x[p:], 0.1 * Tm1)


def _state(Tp, Tm, ot):
    """The Anderson state of an outer iteration: (W+, W-, Sinkhorn potentials lv+-).

    W+- enter linearly, not in log: the log of the many negligible entries (far from the
    supports) moves by large amounts that do not matter and would dominate the least squares.
    """
    lv = ot.get_lv()
    if lv is None:
        return None
    return np.concatenate([Tp, Tm, lv])


def _anderson(xs, gs, x1):
    """Anderson (type II) extrapolation of the fixed-point iteration ``x -> x + g(x)``.

    ``xs``, ``gs``: the last iterates and their steps (oldest first), ``x1 = xs[-1] + gs[-1]``.
    Returns the extrapolated point, or None if the least-squares system is degenerate.
    """
    dG = np.stack([(b - a).ravel() for a, b in zip(gs[:-1], gs[1:], strict=True)], axis=1)
    dX = np.stack([(b - a).ravel() for a, b in zip(xs[:-1], xs[1:], strict=True)], axis=1)
    coef, *_ = np.linalg.lstsq(dG, gs[-1].ravel(), rcond=1e-10)
    if not np.all(np.isfinite(coef)):
        return None
    x = x1.ravel() - (dX + dG) @ coef
    return np.minimum(x, 700.0).reshape(x1.shape)


def solve_mtw(problem: Problem, penalty, alpha: float, *, tol: float = 1e-6,
              max_iter: int = 10_000, coef_init=None, intercept_init=None,
              max_outer: int = 500) -> SolverRecord:
    """Multi-task Wasserstein (and its reweighted variant) by block coordinate descent.

    Minimises (:class:`~mtreg.penalties.zoo.MTW`) over W+, W- >= 0, the transport plans and the
    barycenters, with ``kappa = alpha (1 - l1_ratio) gamma`` and l1 levels
    ``lam = alpha l1_ratio * weights``. One outer iteration:

    1. barycenter step: ``max_iter_ot`` log-domain unbalanced Sinkhorn iterations (Cython,
       kernel products through BLAS), warm-started across outer iterations; gives the row
       marginals ``m+-_k = P+-_k 1`` of the plans, and the OT value;
    2. theta-step: exact coordinate descent on W+, W- for fixed plans (Cython
       :func:`mtreg._cy._zoo.mtw_epochs`): the only theta-dependent OT part is
       ``gamma KL(m_k | theta_k)``;
    3. with ``concomitant``: ``sigma_k = max(||r_k|| / sqrt(n_k), sigma_min_k)``.

    The objective after step 1 is recorded (``history``: every outer objective). Stopping rule:
    the objective decreased by at most ``tol * F(0)`` over the last 5 outer iterations (one
    small step is not enough: extrapolated iterations stall and then jump again). The outer
    iterations are a slowly contracting fixed-point map (the plans pull W+- towards the
    barycenters by a factor ``eps / (gamma + eps)`` per step): they are accelerated by Anderson
    extrapolation (memory 5) of the whole state ``(W+, W-, lv+, lv-)`` (the parts linearly, with
    the Sinkhorn potentials lv: extrapolating W alone left the potentials lagging, and the logs of
    the negligible entries dominated the least squares; 44 outer iterations instead of 305 at the
    harness shape), safeguarded (an extrapolated point whose objective is higher than the last
    one is dropped for the plain step, and the memory restarted; extrapolated parts are kept
    >= 0.1 times the plain step's).

    ReMTW repeats this for up to ``n_reweightings`` l1 weightings ``0.5 / (sqrt(W+-_jk) + 1e-10)``
    (MuTaR's), each warm-started (``extra["reweighting_objective"]``: the ReMTW objective after
    each; ``extra["outer_per_reweighting"]``). Adaptive inner rule: the first fit stops at
    ``max(tol, 1e-4)``, each next one at ``max(tol, min(1e-4, 0.1 d / F(0)))`` with ``d`` the
    decrease of the last reweighting (over a window of 2 outer iterations instead of 5), and the
    last allowed one at ``tol``; after the first fit, each outer step does at most 2 Sinkhorn
    iterations (the potentials are warm-started from a converged fit); the reweightings stop
    when one decreases the objective by at most ``tol * F(0)`` after a fit solved at ``tol``.

    Initialisation (MuTaR's): W+ = W- = 1 / p on every entry (entropic OT can only move mass
    where theta > 0), or the parts of ``coef_init`` plus ``1e-3 / p``. Entropic OT never gives
    exact zeros: after the fit, entries of W+- below ``penalty.threshold * max|W|`` are set to 0.

    Returns
    -------
    SolverRecord
        ``extra``: ``barycenter`` (q+ - q-), ``sigma`` (K,) noise levels (ones unless
        concomitant), ``n_sinkhorn`` iterations.
    """
    alpha, tol, max_iter = _check_common(alpha, tol, max_iter)
    D = _Dense(problem)
    p, K = D.p, D.K
    r_l1 = penalty.l1_ratio
    eps, gamma = penalty.eps_(p), penalty.gamma_
    kappa = alpha * (1.0 - r_l1) * gamma
    ot = _OT(penalty.metric(p), eps, gamma, penalty.max_iter_ot, penalty.tol_ot)
    if coef_init is None:
        Tp = np.full((p, K), 1.0 / p)
        Tm = Tp.copy()
    else:
        W0 = _coef0(coef_init, p, K)
        Tp = np.ascontiguousarray(np.maximum(W0, 0.0) + 1e-3 / p)
        Tm = np.ascontiguousarray(np.maximum(-W0, 0.0) + 1e-3 / p)
    if kappa == 0:  # no OT term: the lasso, started from 0
        Tp[:], Tm[:] = np.maximum(Tp - Tm, 0.0), np.maximum(Tm - Tp, 0.0)
    r = D.residual(Tp - Tm)
    y_scale = np.sqrt(D.task_dots(D.y, D.y) / D.n)
    sig_min = penalty.sigma_min_ * np.where(y_scale > 0, y_scale, 1.0)
    sigma = np.ones(K)

    def datafit(r):
        rr = D.task_dots(r, r) / D.n
        if penalty.concomitant:
            return float(np.sum(0.5 * rr / sigma + 0.5 * sigma))
        return 0.5 * float(rr.sum())

    def update_sigma(r):
        if penalty.concomitant:
            sigma[:] = np.maximum(np.sqrt(D.task_dots(r, r) / D.n), sig_min)

    update_sigma(r)
    F0 = datafit(D.y)
    # the kernel products are small (p x p x K): BLAS threads only add synchronisation (and
    # thrash on a loaded machine), so the solver runs them on one thread
    with threadpool_limits(limits=1, user_api="blas"):
        return _mtw_loop(D, penalty, alpha, tol, max_iter, max_outer, ot, Tp, Tm, r, sigma,
                         F0, kappa, r_l1, datafit, update_sigma)


def _mtw_loop(D, penalty, alpha, tol, max_iter, max_outer, ot, Tp, Tm, r, sigma, F0,
              kappa, r_l1, datafit, update_sigma):
    """The outer loops of :func:`solve_mtw` (reweightings, then BCD steps)."""
    p, K = D.p, D.K
    wp = np.ones((p, K))
    wm = np.ones((p, K))
    history, trace, n_iter, converged_all, steps = [], [], 0, True, []
    zero = np.zeros((p, K))
    # MTW: tol; ReMTW: looser for the first reweightings (see solve_mtw)
    tol_in = max(tol, _REMTW_TOL0) if penalty.reweighted else tol
    for _rw in range(penalty.n_reweightings):
        lam_p = np.ascontiguousarray(alpha * r_l1 * wp)
        lam_m = np.ascontiguousarray(alpha * r_l1 * wm)
        prev, converged = np.inf, False
        xs, gs, base, n_steps = [], [], None, 0
        accel = kappa > 0 and _ANDERSON > 0
        tol_fit = tol if _rw == penalty.n_reweightings - 1 else tol_in  # the last fit: tight
        if _rw == 1:
            ot.max_iter = min(ot.max_iter, _REMTW_OT_LATER)
        for _ in range(max_outer):
            x_start = _state(Tp, Tm, ot) if accel else None
            ot_val = ot.update(Tp, Tm) if kappa > 0 else 0.0
            l1 = float((lam_p * Tp).sum() + (lam_m * Tm).sum())
            F = datafit(r) + alpha * (1.0 - r_l1) * ot_val + l1
            if base is not None and F > prev:  # the extrapolation failed: back to the plain step
                Tp[:], Tm[:], r[:], sigma[:] = base[:4]
                ot.set_lv(base[4])
                xs, gs = [], []
                x_start = _state(Tp, Tm, ot)
                ot_val = ot.update(Tp, Tm)
                l1 = float((lam_p * Tp).sum() + (lam_m * Tm).sum())
                F = datafit(r) + alpha * (1.0 - r_l1) * ot_val + l1
            base = None
            trace.append(F)
            n_steps += 1
            # stop on a small decrease over the last _MTW_WINDOW outer iterations (one small step
            # is not convergence: the extrapolated iterations stall and jump again; a partial
            # Sinkhorn update may also raise F slightly)
            win = _MTW_WINDOW if tol_fit <= tol else _REMTW_WINDOW
            if n_steps > win and 0.0 <= trace[-win - 1] - F <= tol_fit * F0:
                converged = True
                break
            prev = F
            mp = ot.mp if kappa > 0 else zero
            mm = ot.mm if kappa > 0 else zero
            n_iter += _zoo.mtw_epochs(D.X, D.x_off, D.ptr, r, Tp, Tm, D.a, sigma, lam_p, lam_m,
                                      kappa, np.ascontiguousarray(mp), np.ascontiguousarray(mm),
                                      int(min(max_iter, _MTW_EPOCHS)), 1e-2 * tol * F0)
            update_sigma(r)
            if accel and x_start is not None:
                x1 = _state(Tp, Tm, ot)
                xs.append(x_start)
                gs.append(x1 - x_start)
                xs, gs = xs[-_ANDERSON - 1:], gs[-_ANDERSON - 1:]
                if len(gs) > 1:
                    x_acc = _anderson(xs, gs, x1)
                    if x_acc is not None:
                        base = (Tp.copy(), Tm.copy(), r.copy(), sigma.copy(), x1[2 * p:].copy())
                        Tp[:], Tm[:] = _parts_of(x_acc[:2 * p], base[0], base[1])
                        Tp[base[0] == 0.0] = 0.0
                        Tm[base[1] == 0.0] = 0.0
                        ot.set_lv(x_acc[2 * p:])
                        r[:] = D.residual(Tp - Tm)
                        update_sigma(r)
        converged_all &= converged
        steps.append(n_steps)
        pen_l1 = penalty.l1_term(Tp, Tm)
        history.append(datafit(r) + alpha * ((1.0 - r_l1) * ot_val + r_l1 * pen_l1))
        if not penalty.reweighted:
            break
        if len(history) > 1:
            dec = history[-2] - history[-1]
            if dec <= tol * F0 and tol_fit <= tol:
                break
            # adaptive inner rule: a tenth of the last reweighting's decrease (never below tol)
            tol_in = max(tol, min(_REMTW_TOL0, 0.1 * max(dec, 0.0) / F0))
        wp = 0.5 / (np.sqrt(Tp) + 1e-10)
        wm = 0.5 / (np.sqrt(Tm) + 1e-10)
    if not converged_all:
        _warn(penalty.name, alpha, max_outer, "the objective was still decreasing")
    top = max(np.abs(Tp).max(initial=0.0), np.abs(Tm).max(initial=0.0))
    Tp[Tp <= penalty.threshold * top] = 0.0
    Tm[Tm <= penalty.threshold * top] = 0.0
    W = Tp - Tm
    bary = (ot.qp - ot.qm) if kappa > 0 else np.zeros(p)
    return SolverRecord(coef=W, intercept=D.intercept(W), n_iter=n_iter, gap=np.nan,
                        gap_tol=tol * F0, converged=bool(converged_all),
                        objective=float(history[-1]), history=np.asarray(trace), solver="mtw",
                        extra={"reweighting_objective": np.asarray(history), "barycenter": bary,
                               "outer_per_reweighting": np.asarray(steps),
                               "sigma": sigma.copy(), "n_sinkhorn": ot.n_sinkhorn,
                               "positive": Tp, "negative": Tm})
