"""Solvers of the SG-MTL paper's baselines: ``pooled`` (AllTasks) and ``clusmtl`` (ClusMTL).

Both reduce to the block coordinate descent solver (:mod:`mtreg.solvers.bcd`) on derived
problems and return a :class:`SolverRecord` on the scale of the Problem they were given.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..penalties.base import require
from ..penalties.sparse_norms import Lasso
from ._record import SolverRecord
from .problem import Problem
from .sgmtl import _DenseTasks, check_n_groups

__all__ = ["solve_pooled", "solve_clusmtl", "subproblem"]


def subproblem(problem: Problem, tasks) -> Problem:
    """The Problem restricted to the tasks ``tasks`` (indices, in the order given)."""
    tasks = np.asarray(tasks, dtype=np.int64)
    ptr = problem.task_ptr
    rows = np.concatenate([np.arange(ptr[t], ptr[t + 1]) for t in tasks])
    sizes = ptr[tasks + 1] - ptr[tasks]
    new_ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    if problem.shared:
        X = problem.X
    elif problem.sparse:
        X = sp.csc_matrix(problem.X[rows])
        X.sort_indices()
    else:
        X = np.asfortranarray(problem.X[rows])
    return Problem(X=X, y=problem.y[rows], task_ptr=new_ptr, shared=problem.shared,
                   fit_intercept=problem.fit_intercept, center_inline=problem.center_inline,
                   x_mean=problem.x_mean[:, tasks], x_scale=problem.x_scale,
                   y_mean=problem.y_mean[tasks])


def solve_pooled(problem: Problem, penalty, alpha: float, *, tol: float = 1e-6,
                 max_iter: int = 10_000, coef_init=None, intercept_init=None) -> SolverRecord:
    """One elastic net shared by all tasks (:class:`mtreg.penalties.AllTasks`).

    Minimises ``sum_t 1/(2 n_t) ||y_t - X_t w||^2 + alpha K EN(w)`` over one w (per-task
    intercepts profiled out by per-task centring). Dividing by K, this is a single elastic net
    ``1/(2 n) ||y~ - X~ w||^2 + alpha EN(w)`` on the stacked centred tasks with the rows of task
    t scaled by ``sqrt(n / (K n_t))`` (``n = sum_t n_t``), solved by :mod:`mtreg.solvers.bcd`
    with its duality-gap certificate (the gap is reported in the units of the K-task objective).

    Returns
    -------
    SolverRecord with ``coef`` of shape (p, K), all columns equal.
    """
    from . import bcd

    require(penalty, "pooled", "l1_ratio")
    data = _DenseTasks(problem)  # dense, centred (also for sparse input with inline centring)
    K, p = data.K, data.p
    n_tot = float(data.n.sum())
    scale = np.repeat(np.sqrt(n_tot / (K * data.n)), data.n.astype(np.int64))
    Xs = np.empty((int(n_tot), p), order="F")
    for t in range(K):
        sl = slice(data.r_ptr[t], data.r_ptr[t + 1])
        Xs[sl] = data.task_X(t)
    Xs *= scale[:, None]
    pooled = Problem(X=Xs, y=data.y * scale, task_ptr=np.array([0, int(n_tot)], dtype=np.int64),
                     shared=False, fit_intercept=False, center_inline=False,
                     x_mean=np.zeros((p, 1)), x_scale=np.ones(p), y_mean=np.zeros(1))
    init = None if coef_init is None else np.asarray(coef_init, dtype=np.float64).mean(axis=1,
                                                                                      keepdims=True)
    en = Lasso(l1_ratio=penalty.l1_ratio, weights=penalty.weights)
    rec = bcd.solve(pooled, en, alpha, tol=tol, max_iter=max_iter, coef_init=init)
    W = np.repeat(rec.coef[:, :1], K, axis=1)
    R = data.residual(W)
    objective = data.datafit(R) + alpha * penalty.value(W)
    return SolverRecord(coef=W, intercept=data.intercept(W), n_iter=rec.n_iter, gap=K * rec.gap,
                        gap_tol=K * rec.gap_tol, converged=rec.converged, objective=objective,
                        history=K * np.asarray(rec.history), solver="pooled")


def solve_clusmtl(problem: Problem, penalty, alpha: float, *, tol: float = 1e-6,
                  max_iter: int = 10_000, coef_init=None, intercept_init=None) -> SolverRecord:
    """ClusMTL (:class:`mtreg.penalties.ClusMTL`): STL, k-means of the tasks, group lasso per cluster.

    1. ``W_stl``: independent elastic nets (``penalty.stl_penalty()``, strength
       ``penalty.stl_alpha`` or ``alpha``) by :mod:`mtreg.solvers.bcd`;
    2. ``labels = penalty.cluster(W_stl)``: k-means of the columns (standardised scale);
    3. for each cluster, the group lasso ``penalty.group_penalty()`` at ``alpha`` on the
       sub-problem of its tasks.

    Returns
    -------
    SolverRecord
        ``extra``: ``U`` (n_groups x K one-hot membership), ``labels`` (K,), ``stl_coef`` (p, K).
        ``gap`` and ``objective`` add up over clusters; converged if every cluster fit is.
    """
    from . import bcd

    require(penalty, "clusmtl", "cluster", "stl_penalty", "group_penalty")
    K, p = problem.n_tasks, problem.n_features
    check_n_groups(penalty.n_groups, K)
    stl_alpha = alpha if penalty.stl_alpha is None else penalty.stl_alpha
    stl = bcd.solve(problem, penalty.stl_penalty(), stl_alpha, tol=tol, max_iter=max_iter)
    labels = penalty.cluster(stl.coef)
    W = np.zeros((p, K))
    b = np.zeros(K)
    gap = objective = 0.0
    gap_tol = 0.0
    n_iter = 0
    converged = True
    gl = penalty.group_penalty()
    for c in np.unique(labels):
        tasks = np.flatnonzero(labels == c)
        sub = subproblem(problem, tasks)
        init = None if coef_init is None else np.asarray(coef_init)[:, tasks]
        rec = bcd.solve(sub, gl, alpha, tol=tol, max_iter=max_iter, coef_init=init)
        W[:, tasks] = rec.coef
        b[tasks] = rec.intercept
        gap += rec.gap
        gap_tol += rec.gap_tol
        objective += rec.objective
        n_iter += rec.n_iter
        converged &= bool(rec.converged)
    U = np.zeros((penalty.n_groups, K))
    U[labels, np.arange(K)] = 1.0
    return SolverRecord(coef=W, intercept=b, n_iter=n_iter, gap=gap, gap_tol=gap_tol,
                        converged=converged, objective=objective, solver="clusmtl",
                        extra={"U": U, "labels": labels, "stl_coef": stl.coef})
