"""SG-MTL solver: alternating minimisation over the task-group membership U and W.

Minimises, on the centred and standardised :class:`~mtreg.solvers.problem.Problem` (the scaling
lives there), over W (p x K) and U (N x K, columns on the probability simplex)::

    F(W, U) = sum_t 1/(2 n_t) ||y_t - X_t w_t||^2 + alpha * Omega(W, U),
    Omega(W, U) = sum_g (sum_j sqrt(sum_t u_gt W_jt^2))^2 + fusion * sum_{t<t'} ||U_t - U_t'||^2

(:class:`mtreg.penalties.SGMTL`). One outer iteration is

1. U-step: projected gradient on the per-task simplices with a backtracking line search
   (:func:`mtreg.penalties.sgmtl.u_step`), monotone;
2. W-step: the convex problem in W for fixed U, solved by exact block coordinate descent over
   feature rows in Cython (:mod:`mtreg._cy._sgmtl`), with a working set of the non-zero rows
   and a full sweep to confirm; it stops when an epoch's guaranteed decrease is at most
   ``1e-2 * tol * F(0)``.

The outer loop stops when an iteration decreases F by at most ``tol * F`` (relative), and the
objective is recorded after every outer iteration; it cannot increase (each step is a descent,
and a W-step that rounding made worse is rejected). Restarts (``penalty.n_init``): the first
from k-means of the supports of single-task fits, the others from random memberships; all start
W from the single-task fits, and the restart with the lowest objective is kept. With
``penalty.polish`` the kept restart is then improved by a monotone local search over hard task
moves with W refitted (:func:`_polish`).

Single-task fits: the same penalty with one group per task (U = I_K), i.e.
``sum_t 1/(2 n_t) ||y_t - X_t w_t||^2 + alpha sum_t ||w_t||_1^2``, solved by the same kernel
(consistent in scale with the SG-MTL fit, no dependence on another solver).
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from .._cy import _sgmtl
from ..penalties.base import require
from ..penalties.sgmtl import _membership_objective, u_step, vertex_moves
from ._record import SolverRecord
from .problem import Problem

__all__ = ["solve", "solve_w", "alpha_max"]


class _DenseTasks:
    """Dense, centred view of a Problem for the W-step kernel.

    Attributes
    ----------
    X : (n_rows, p) F-contiguous; task t uses rows ``x_off[t]:x_off[t] + n_t``
    y : (sum_t n_t,) centred responses, stacked by ``r_ptr``
    colsq : (p, K) ``||x_jt||^2 / n_t``
    """

    def __init__(self, problem: Problem):
        K = problem.n_tasks
        ptr = np.asarray(problem.task_ptr, dtype=np.int64)
        self.r_ptr = ptr
        self.n = np.diff(ptr).astype(np.float64)
        self.K, self.p = K, problem.n_features
        X = problem.X
        y = np.array(problem.y, dtype=np.float64)
        self.x_off = np.zeros(K, dtype=np.int64) if problem.shared else ptr[:-1].copy()
        self.x_bar = None  # (p, K) means removed here (sparse input with inline centring)
        self.y_bar = None
        if sp.issparse(X):  # the W-step kernel is dense; centre here what the Problem left raw
            X = np.asfortranarray(X.toarray())
            if problem.center_inline:
                self.x_bar = np.empty((self.p, K))
                self.y_bar = np.empty(K)
                if problem.shared:
                    self.x_bar[:] = X.mean(axis=0)[:, None]
                    X -= self.x_bar[:, 0]
                for t in range(K):
                    sl = slice(ptr[t], ptr[t + 1])
                    if not problem.shared:
                        self.x_bar[:, t] = X[sl].mean(axis=0)
                        X[sl] -= self.x_bar[:, t]
                    self.y_bar[t] = y[sl].mean()
                    y[sl] -= self.y_bar[t]
        self.X = np.asfortranarray(X, dtype=np.float64)
        self.y = y
        self.colsq = np.empty((self.p, K), order="F")
        for t in range(K):
            Xt = self.task_X(t)
            self.colsq[:, t] = np.einsum("ij,ij->j", Xt, Xt) / self.n[t]

    def task_X(self, t: int) -> np.ndarray:
        return self.X[self.x_off[t] : self.x_off[t] + int(self.n[t])]

    def residual(self, W: np.ndarray) -> np.ndarray:
        R = self.y.copy()
        for t in range(self.K):
            R[self.r_ptr[t] : self.r_ptr[t + 1]] -= self.task_X(t) @ W[:, t]
        return R

    def datafit(self, R: np.ndarray) -> float:
        return float(np.sum(np.add.reduceat(R * R, self.r_ptr[:-1]) / (2 * self.n)))

    def intercept(self, W: np.ndarray) -> np.ndarray:
        """Intercepts of the centring done here (zeros when the Problem was already centred)."""
        if self.x_bar is None:
            return np.zeros(self.K)
        return self.y_bar - np.einsum("pk,pk->k", self.x_bar, W)


class _WStep:
    """The convex W-subproblem for a fixed U, with its residual kept in sync."""

    def __init__(self, data: _DenseTasks, alpha: float, n_groups: int):
        self.d = data
        self.alpha = float(alpha)
        self.Z = np.zeros((data.p, n_groups, data.K))  # dual warm starts of the row problems
        self.all_rows = np.arange(data.p, dtype=np.intc)

    def run(self, W: np.ndarray, R: np.ndarray, U: np.ndarray, eps: float, max_epochs: int):
        """Minimise over W in place (W F-contiguous (p, K), R its residual); returns
        ``(epochs, converged)``."""
        d = self.d
        V = np.ascontiguousarray(np.sqrt(np.maximum(U, 0.0)))
        disjoint = bool(np.all((U > 0).sum(axis=0) <= 1))
        total, dec = 0, np.inf
        while total < max_epochs:
            e, dec = _sgmtl.w_epochs(d.X, R, W, V, d.colsq, d.x_off, d.r_ptr, self.alpha, self.Z,
                                     self.all_rows, disjoint, 1, eps)
            total += e
            if dec <= eps or total >= max_epochs:
                break
            ws = np.flatnonzero(np.any(W != 0, axis=1)).astype(np.intc)
            if 0 < ws.size < d.p:
                e, dec = _sgmtl.w_epochs(d.X, R, W, V, d.colsq, d.x_off, d.r_ptr, self.alpha,
                                         self.Z, ws, disjoint, max_epochs - total, eps)
                total += e
        return total, dec <= eps


def _objective(data, R, W, U, alpha, fusion) -> float:
    return data.datafit(R) + alpha * _membership_objective(W * W, U, fusion)


def check_n_groups(n_groups: int, n_tasks: int) -> None:
    """Refuse more candidate groups than tasks (a group could never hold a task of its own)."""
    if n_groups > n_tasks:
        raise ValueError(f"n_groups={n_groups} is larger than the number of tasks ({n_tasks}); "
                         f"use n_groups <= {n_tasks}")


def _check(problem, penalty, alpha):
    require(penalty, "sgmtl", "n_groups", "fusion", "n_init", "max_outer")
    check_n_groups(penalty.n_groups, problem.n_tasks)
    alpha = float(alpha)
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")
    return alpha


def solve_w(problem: Problem, U: np.ndarray, alpha: float, *, tol: float = 1e-10,
            max_iter: int = 100_000, coef_init=None):
    """Solve the convex W-step of SG-MTL for a fixed membership U.

    Minimises ``sum_t 1/(2 n_t) ||y_t - X_t w_t||^2 + alpha sum_g (sum_j s_gj)^2`` over W.

    Parameters
    ----------
    problem : Problem
    U : ndarray of shape (N, K), non-negative (columns normally on the simplex)
    alpha : float
    tol : float
        Stop after an epoch whose guaranteed decrease is at most ``tol * F(0)``.
    max_iter : int
        Maximum epochs.
    coef_init : ndarray of shape (p, K), optional

    Returns
    -------
    W : ndarray (p, K), objective : float, epochs : int
    """
    data = _DenseTasks(problem)
    U = np.asarray(U, dtype=np.float64)
    if U.ndim != 2 or U.shape[1] != data.K:
        raise ValueError(f"U must have shape (n_groups, n_tasks) = (*, {data.K}), got {U.shape}")
    W = np.zeros((data.p, data.K), order="F") if coef_init is None else np.array(coef_init, order="F",
                                                                                 dtype=np.float64)
    R = data.residual(W)
    step = _WStep(data, alpha, U.shape[0])
    f0 = data.datafit(data.y)
    epochs, _ = step.run(W, R, U, tol * f0, max_iter)
    return W, _objective(data, R, W, U, alpha, 0.0), epochs


def alpha_max(problem: Problem, penalty) -> float:
    """SG-MTL's reference scale for alpha (see :meth:`mtreg.penalties.SGMTL.alpha_max`)."""
    return penalty.alpha_max(problem.null_fit()[2])


def _kmeans_start(W0: np.ndarray, N: int, seed: int, n_init: int = 10) -> np.ndarray:
    """Membership from k-means of the single-task supports, blended half-way to uniform."""
    from sklearn.cluster import KMeans

    K = W0.shape[1]
    supports = (W0 != 0).T.astype(np.float64)
    k = min(N, K)
    U = np.zeros((N, K))
    if k == 1 or np.unique(supports, axis=0).shape[0] < k:
        _, codes = np.unique(supports, axis=0, return_inverse=True)
        labels = np.asarray(codes).ravel() % N
    else:
        labels = KMeans(n_clusters=k, n_init=n_init, random_state=seed).fit_predict(supports)
    U[labels, np.arange(K)] = 1.0
    return 0.5 * U + 0.5 / N


def _polish(data, W, U, alpha, fusion, F, eps, max_iter, W0, max_sweeps: int = 5,
            n_candidates: int = 2, probe: int = 20):
    """Local search over hard moves: move task t to group g, refit W (warm), keep if F drops.

    Unlike the U-step's vertex moves (W fixed), W is re-optimised for each candidate, so a task
    can leave a group whose support it has adopted. Monotone; at most ``max_sweeps`` sweeps.

    Candidates: for each task, the ``n_candidates`` groups where its single-task coefficients
    ``W0[:, t]`` would cost the least penalty (column t of W replaced by ``W0[:, t]``, task t
    moved to the group; of several groups empty of every task only the first is tried, they are
    equivalent). Each candidate W-step first runs ``probe`` epochs; if the objective is then
    below F the move is kept and the W-step run to convergence (the W-step is monotone, so the
    decrease only grows), otherwise the move is rejected.
    """
    N, K = U.shape
    R = data.residual(W)
    wstep = _WStep(data, alpha, N)
    moves = epochs = 0
    for _ in range(max_sweeps):
        moved = False
        for t in range(K):
            g0 = int(np.argmax(U[:, t]))
            others = np.delete(U, t, axis=1).sum(axis=1)
            empty = np.flatnonzero(others == 0)
            Wt = W.copy()
            Wt[:, t] = W0[:, t]
            costs = []
            for g in range(N):
                if (g == g0 and U[g, t] == 1.0) or (g in empty and g != empty[0]):
                    continue
                Uc = U.copy()
                Uc[:, t] = 0.0
                Uc[g, t] = 1.0
                costs.append((_membership_objective(Wt * Wt, Uc, fusion), g))
            for _, g in sorted(costs)[:n_candidates]:
                Uc = U.copy()
                Uc[:, t] = 0.0
                Uc[g, t] = 1.0
                Wc, Rc = W.copy(order="F"), R.copy()
                e, conv = wstep.run(Wc, Rc, Uc, eps, min(probe, max_iter))
                epochs += e
                Fc = _objective(data, Rc, Wc, Uc, alpha, fusion)
                if Fc < F * (1 - 1e-9):
                    if not conv:
                        e, _ = wstep.run(Wc, Rc, Uc, eps, max_iter)
                        epochs += e
                        Fc = _objective(data, Rc, Wc, Uc, alpha, fusion)
                    F, W, R, U = Fc, Wc, Rc, Uc
                    moved = True
                    moves += 1
                    break
        if not moved:
            break
    return F, W, U, moves, epochs


def solve(problem: Problem, penalty, alpha: float, *, tol: float = 1e-6, max_iter: int = 10_000,
          coef_init=None, intercept_init=None) -> SolverRecord:
    """Fit SG-MTL (see the module docstring for the objective and the algorithm).

    Parameters
    ----------
    problem : Problem
    penalty : mtreg.penalties.SGMTL
    alpha : float
        lambda of the paper.
    tol : float
        Outer stopping rule: relative objective decrease over one (U, W) iteration.
    max_iter : int
        Maximum epochs of each W-step.
    coef_init : ndarray of shape (p, K), optional
        Starting W (standardised scale) instead of the single-task fits.
    intercept_init : ignored (intercepts are profiled out by centring).

    Returns
    -------
    SolverRecord
        ``extra`` holds ``U`` (N x K, before any rounding), ``labels`` (argmax of U),
        ``objective_trace`` (objective after each outer iteration of the kept restart, starting
        with the objective at the start), ``n_init_objectives`` (final objective of each
        restart), ``best_init`` and ``n_epochs`` (W-step epochs of the kept restart).
    """
    alpha = _check(problem, penalty, alpha)
    data = _DenseTasks(problem)
    K, p, N = data.K, data.p, penalty.n_groups
    fusion = penalty.fusion
    rng = np.random.default_rng(penalty.random_state)
    f_null = data.datafit(data.y)
    eps = 1e-2 * tol * max(f_null, 1e-300)

    # single-task starting point (one group per task) unless given
    if coef_init is not None:
        W0 = np.array(coef_init, dtype=np.float64, order="F")
    else:
        W0 = np.zeros((p, K), order="F")
        R0 = data.residual(W0)
        _WStep(data, alpha, K).run(W0, R0, np.eye(K), eps, max_iter)

    starts = []
    for r in range(penalty.n_init):
        if r == 0:
            starts.append(_kmeans_start(W0, N, int(rng.integers(2**31 - 1))))
        else:
            starts.append(rng.dirichlet(np.ones(N), size=K).T.copy())

    best = None
    finals = []
    for r, U in enumerate(starts):
        W = W0.copy(order="F")
        R = data.residual(W)
        wstep = _WStep(data, alpha, N)
        F = _objective(data, R, W, U, alpha, fusion)
        trace = [F]
        converged, epochs, ustep = False, 0, None
        for _ in range(penalty.max_outer):
            U, _, ustep = u_step(W, U, fusion, max_iter=penalty.u_iter, tol=1e-2 * tol, step=ustep)
            if N > 1:
                U = vertex_moves(W * W, U, fusion)[0]
            W_prev, R_prev = W.copy(order="F"), R.copy()
            e, _ = wstep.run(W, R, U, eps, max_iter)
            epochs += e
            F_new = _objective(data, R, W, U, alpha, fusion)
            F_u = _objective(data, R_prev, W_prev, U, alpha, fusion)
            if F_new > F_u:  # rounding made the W-step worse: keep the previous W
                W, R, F_new = W_prev, R_prev, F_u
            trace.append(F_new)
            if F - F_new <= tol * max(abs(F_new), 1e-300):
                F = F_new
                converged = True
                break
            F = F_new
        finals.append(F)
        if best is None or F < best[0]:
            best = (F, W, U, trace, converged, epochs, r)

    F, W, U, trace, converged, epochs, r_best = best
    n_moves = 0
    if penalty.polish and N > 1:
        F, W, U, n_moves, e = _polish(data, W, U, alpha, fusion, F, eps, max_iter, W0)
        epochs += e
        if n_moves:
            trace = trace + [F]
    if not converged:
        warnings.warn(f"SG-MTL did not converge in max_outer={penalty.max_outer} outer iterations "
                      f"(relative decrease above tol={tol:g}); increase max_outer or tol",
                      ConvergenceWarning, stacklevel=3)
    return SolverRecord(
        coef=np.asarray(W), intercept=data.intercept(W), n_iter=len(trace) - 1, gap=np.nan,
        gap_tol=tol, converged=converged, objective=float(F), history=np.asarray(trace),
        solver="sgmtl",
        extra={"U": U, "labels": np.argmax(U, axis=0), "objective_trace": np.asarray(trace),
               "n_init_objectives": np.asarray(finals), "best_init": r_best, "n_epochs": epochs,
               "n_polish_moves": n_moves,
               "W_init": np.asarray(W0)})
