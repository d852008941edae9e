"""Smoothing proximal gradient (SPG) for the generalized group lasso (Fei et al., ECAI 2023, sec. 5).

Minimises, over the components ``V = (W_1, ..., W_h)`` (each p x K, ``W = sum_l W_l``) and, for
sparse X with an intercept, the per-task intercepts b::

    F(V, b) = sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2 + alpha * Omega(W_1, ..., W_h)

with Omega a :class:`~mtreg.penalties.gengl.GenGL` (DESIGN.md convention; the data are scaled in
:mod:`mtreg.solvers.problem`). Following Chen et al. (Ann. Appl. Stat. 2012):

* Operations that are separable inside a component (an element-wise l1 term ``Op("F", "F")``
  and one row, column or whole-matrix l2 term) keep their exact proximal operator.
* The others (fusions, and a second group term) are replaced by their Nesterov smoothing
  ``f_mu(V) = max_{||beta_g|| <= 1} sum_g alpha c_g beta_g^T (D V)_g - mu/2 ||beta||^2`` (eq.
  (13)), whose gradient ``D^T (alpha c beta*)`` needs only a projection of each ``beta_g`` onto
  the unit ball (Cython, :mod:`mtreg._cy._spg`).
* The smooth part is minimised by FISTA with the constant step ``1/L``,
  ``L = h * max_k lambda_max(X_k^T X_k / n_k) + ||alpha C D||^2 / mu`` (intercept column added
  to X_k when the intercepts are solved inline), restarted whenever the momentum points uphill
  (O'Donoghue & Candes 2015).

Smoothing parameter (the paper's choice): ``mu = epsilon / |G|`` with ``|G|`` the number of
smoothed groups, so that ``0 <= Omega - f_mu / alpha <= epsilon / 2`` (Chen et al., eq. (3.6),
``D = |G| / 2``). mtreg sets ``epsilon = smooth_tol * F(0)``, and reaches that mu by continuation
(mu divided by 10 per stage from a mu at which the smoothing is coarse), each stage warm-started.

Stopping rule (stated, as in the paper; there is no duality gap for general operators): a stage
ends when the relative decrease of its smoothed objective over ``check_every`` iterations is
``<= tol``; the fit has converged when the last stage (``mu = epsilon / |G|``) ends that way.
``SolverRecord.objective`` and ``history`` report the UNSMOOTHED objective F (checked every
``check_every`` iterations); ``gap`` is ``nan``.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ._record import SolverRecord
from .problem import Problem

__all__ = ["solve", "task_clusters"]

#: kind codes of the separable group term handled by the exact prox
_PROX_KIND = {("F", "C"): 1, ("C", "F"): 2, ("C", "C"): 3}


class _Data:
    """Data-fit of a :class:`Problem` with no Python loop over tasks in the hot path.

    Per-task designs are laid out as one block-diagonal sparse matrix (N x pK, column
    ``k * p + j``); a shared design is used as is.
    """

    def __init__(self, problem: Problem):
        self.problem = problem
        self.p, self.K = problem.n_features, problem.n_tasks
        self.n_k = problem.n_samples.astype(np.float64)
        self.ptr = problem.task_ptr
        self.y = problem.y
        self.shared = problem.shared
        self.fit_b = bool(problem.center_inline)
        self.row_task = np.repeat(np.arange(self.K), problem.n_samples)
        self.inv_n_row = 1.0 / self.n_k[self.row_task]
        if self.shared:
            self.X = problem.X
            self.n = problem.X.shape[0]
        else:
            blocks = [sp.csr_matrix(problem.task_X(k)) for k in range(self.K)]
            self.Xbd = sp.block_diag(blocks, format="csr")
            self.XbdT = self.Xbd.T.tocsr()

    def predict(self, W, b):
        if self.shared:
            out = np.asarray(self.X @ W).T.ravel()
        else:
            out = self.Xbd @ W.T.ravel()
        if self.fit_b:
            out += b[self.row_task]
        return out

    def grad(self, R):
        """Minus the gradient of the data fit at residual R: ``(X_k^T r_k / n_k)_k``, (p, K)."""
        if self.shared:
            return np.asarray(self.X.T @ R.reshape(self.K, self.n).T) / self.n
        return (self.XbdT @ (R * self.inv_n_row)).reshape(self.K, self.p).T

    def grad_b(self, R):
        return np.add.reduceat(R, self.ptr[:-1]) / self.n_k

    def datafit(self, R):
        return 0.5 * float(np.sum(np.add.reduceat(R * R, self.ptr[:-1]) / self.n_k))

    def lipschitz(self) -> float:
        """``max_k lambda_max([X_k, 1]^T [X_k, 1]) / n_k`` (intercept column only when inline)."""
        best = 0.0
        tasks = [0] if self.shared else range(self.K)
        for k in tasks:
            Xk = self.problem.task_X(k)
            Xk = Xk.toarray() if sp.issparse(Xk) else np.asarray(Xk)
            if self.fit_b:
                Xk = np.column_stack([Xk, np.ones(Xk.shape[0])])
            G = Xk.T @ Xk if Xk.shape[0] >= Xk.shape[1] else Xk @ Xk.T
            best = max(best, float(np.linalg.eigvalsh(G)[-1]) / Xk.shape[0])
        return best


def _members(partition: str, n: int):
    """Groups of a partition of range(n) as members ``(plus, minus)``: see ``_spg.smooth_grad``."""
    if partition == "C":
        return (np.array([0, n], dtype=np.int64), np.arange(n, dtype=np.int64),
                np.full(n, -1, dtype=np.int64))
    if partition == "F":
        return (np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int64),
                np.full(n, -1, dtype=np.int64))
    j, k = np.triu_indices(n, 1)
    return np.arange(j.size + 1, dtype=np.int64), j.astype(np.int64), k.astype(np.int64)


def _plan(penalty, p, K):
    """Split the operations into exact-prox ones (per component) and smoothed ones."""
    h = penalty.n_components
    t_elem = np.zeros(h)
    t_group = np.zeros(h)
    kind = np.zeros(h, dtype=np.intc)
    smoothed = []
    for i, (l, op) in enumerate(penalty.flat_ops()):
        c = penalty.op_coef(l, op)
        if c == 0:
            continue
        if op.kind == ("F", "F"):
            t_elem[l] += c
        elif op.kind in _PROX_KIND and kind[l] in (0, _PROX_KIND[op.kind]):
            kind[l] = _PROX_KIND[op.kind]
            t_group[l] += c
        else:
            smoothed.append(i)
    return t_elem, t_group, kind, tuple(smoothed)


def _smooth_norm2(penalty, smoothed, p, K) -> float:
    """Bound on ``||C D||^2`` of the smoothed operator (block diagonal over components)."""
    from ..penalties.gengl import _op_norm2

    flat = penalty.flat_ops()
    per = np.zeros(penalty.n_components)
    for i in smoothed:
        l, op = flat[i]
        per[l] += penalty.op_coef(l, op) ** 2 * _op_norm2(op, p, K)
    return float(per.max(initial=0.0))


def task_clusters(W: np.ndarray, rtol: float = 1e-3) -> np.ndarray:
    """One-hot membership (n_clusters x K) of tasks whose columns of W coincide.

    Tasks j and k are linked when ``||W[:, j] - W[:, k]|| <= rtol * max_k ||W[:, k]||``; the
    clusters are the connected components of that graph, numbered by their first task.
    """
    W = np.asarray(W)
    K = W.shape[1]
    scale = float(np.linalg.norm(W, axis=0).max(initial=0.0))
    diff = np.linalg.norm(W[:, :, None] - W[:, None, :], axis=0)
    adj = sp.csr_matrix(diff <= rtol * scale if scale > 0 else np.ones((K, K), dtype=bool))
    _, labels = connected_components(adj, directed=False)
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(first)
    relabel = np.empty_like(order)
    relabel[order] = np.arange(order.size)
    U = np.zeros((order.size, K))
    U[relabel[labels], np.arange(K)] = 1.0
    return U


def solve(problem: Problem, penalty, alpha: float, *, tol: float = 1e-6, max_iter: int = 10_000,
          coef_init=None, intercept_init=None, smooth_tol: float = 1e-5, check_every: int = 10,
          cluster_rtol: float = 1e-3) -> SolverRecord:
    """Fit a GenGL penalty by smoothing proximal gradient.

    ``F(V, b) = sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2 + alpha * Omega(W_1, ..., W_h)``,
    ``W = sum_l W_l``; see the module docstring for the method and the stopping rule.

    Parameters
    ----------
    problem : Problem
        Shared or per-task, dense or sparse design.
    penalty : GenGL
        Any :class:`~mtreg.penalties.gengl.GenGL` (presets included).
    alpha : float
        Regularisation level, > 0.
    tol : float, default 1e-6
        Relative decrease of the (smoothed) objective over ``check_every`` iterations below
        which a continuation stage stops.
    max_iter : int, default 10000
        Maximum FISTA iterations over all stages.
    coef_init : array-like of shape (p, K) or (h, p, K), optional
        Warm start: the components, or their sum (then split equally among the components).
    intercept_init : array-like of shape (K,), optional
        Warm start of the inline intercepts (sparse X with an intercept only).
    smooth_tol : float, default 1e-5
        ``epsilon / F(0)``: the final ``mu = smooth_tol * F(0) / |G|`` bounds the smoothing
        error of the objective by ``smooth_tol * F(0) / 2``.
    check_every : int, default 10
        Iterations between objective checks.
    cluster_rtol : float, default 1e-3
        Relative tolerance under which two task columns count as fused (``extra["U"]``).

    Returns
    -------
    SolverRecord
        ``coef`` = W (p, K), ``intercept`` (K,), ``objective`` the unsmoothed F, ``history`` its
        trace, ``extra``: ``components`` (list of h arrays (p, K), standardised scale), ``U``
        (n_clusters x K one-hot membership of fused task columns), ``mu``, ``n_smoothed_groups``,
        ``lipschitz``, ``epsilon``.

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        When the last stage has not met ``tol`` within ``max_iter`` iterations.
    """
    from sklearn.exceptions import ConvergenceWarning

    from .._cy._spg import prox_components, smooth_grad

    if not hasattr(penalty, "flat_ops") or not hasattr(penalty, "op_coef"):
        raise TypeError(f"solver 'spg' needs a GenGL penalty (flat_ops, op_coef); got {penalty!r}")
    alpha = float(alpha)
    if not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a finite number > 0, got {tol!r}")
    if not (np.isfinite(smooth_tol) and smooth_tol > 0):
        raise ValueError(f"smooth_tol must be a finite number > 0, got {smooth_tol!r}")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    max_iter = int(max_iter)

    data = _Data(problem)
    p, K, h = data.p, data.K, penalty.n_components
    t_elem, t_group, kind, smoothed = _plan(penalty, p, K)
    flat = penalty.flat_ops()
    # one smoothed operation: (component, alpha * weight, feature groups, task groups)
    sm_ops = [(flat[i][0], alpha * penalty.op_coef(*flat[i]),
               _members(flat[i][1].features, p), _members(flat[i][1].tasks, K)) for i in smoothed]
    n_groups = sum((f[0].size - 1) * (t[0].size - 1) for _, _, f, t in sm_ops)

    # W = 0 (intercepts at their optimum): the yardstick of the tolerances
    b0 = np.zeros(K)
    if data.fit_b:
        b0 = np.add.reduceat(data.y, data.ptr[:-1]) / data.n_k
    null_obj = data.datafit(data.y - (b0[data.row_task] if data.fit_b else 0.0))
    scale = max(null_obj, np.finfo(float).tiny)
    epsilon = smooth_tol * scale
    mu_final = epsilon / max(n_groups, 1)
    cd2 = alpha**2 * _smooth_norm2(penalty, smoothed, p, K)
    L_data = h * data.lipschitz()

    # components and intercepts
    if coef_init is None:
        V = np.zeros((h, p, K))
    else:
        V0 = np.asarray(coef_init, dtype=np.float64)
        if V0.shape == (p, K):
            V = np.repeat(V0[None] / h, h, axis=0)
        elif V0.shape == (h, p, K):
            V = V0.copy()
        else:
            raise ValueError(f"coef_init has shape {V0.shape}; expected (p, K) = {(p, K)} or "
                             f"(h, p, K) = {(h, p, K)}")
    V = np.ascontiguousarray(V)
    b = b0.copy()
    if intercept_init is not None:
        if not data.fit_b:
            raise ValueError("intercept_init is only used when the problem solves intercepts inline "
                             "(sparse X with fit_intercept=True)")
        b = np.array(intercept_init, dtype=np.float64).reshape(K)

    Gs = np.zeros((h, p, K))

    def smooth_part(V, mu):
        """``(f_mu, alpha * Omega_smoothed)`` at V; ``Gs`` receives the gradient of f_mu."""
        Gs.fill(0.0)
        fmu = omega = 0.0
        for l, c, (fptr, fplus, fminus), (tptr, tplus, tminus) in sm_ops:
            a, b = smooth_grad(V[l], Gs[l], fptr, fplus, fminus, tptr, tplus, tminus, c, mu)
            fmu += a
            omega += b
        return fmu, omega

    def prox_value(V):
        """alpha * (exactly handled part of Omega)."""
        val = alpha * float(t_elem @ np.abs(V).sum(axis=(1, 2)))
        for l in range(h):
            if kind[l] == 1:
                val += alpha * t_group[l] * np.linalg.norm(V[l], axis=1).sum()
            elif kind[l] == 2:
                val += alpha * t_group[l] * np.linalg.norm(V[l], axis=0).sum()
            elif kind[l] == 3:
                val += alpha * t_group[l] * np.linalg.norm(V[l])
        return val

    def objectives(V, b, mu):
        R = data.y - data.predict(V.sum(axis=0), b)
        fmu, omega = smooth_part(V, mu)
        base = data.datafit(R) + prox_value(V)
        return base + omega, base + fmu

    # continuation: from a coarse mu (smoothing Lipschitz ~ data Lipschitz) down to mu_final
    if n_groups and cd2 > 0:
        mu = max(mu_final, min(cd2 / max(L_data, 1e-12), 1e3 * mu_final))
        mu = max(mu_final, mu_final * 10.0 ** np.ceil(np.log10(mu / mu_final)))
    else:
        mu = mu_final = 1.0

    history = []
    n_iter = 0
    converged = False
    while True:
        last_stage = mu <= mu_final * (1 + 1e-12)
        L = L_data + (cd2 / mu if n_groups else 0.0)
        step = 1.0 / L
        te, tg = step * alpha * t_elem, step * alpha * t_group
        Y, yb = V.copy(), b.copy()
        t = 1.0
        f_prev = objectives(V, b, mu)[1]
        stage_done = False
        while n_iter < max_iter:
            n_iter += 1
            R = data.y - data.predict(Y.sum(axis=0), yb)
            G = data.grad(R)
            Vn = Y + step * G[None]
            if n_groups:
                smooth_part(Y, mu)
                Vn -= step * Gs
            prox_components(Vn, te, tg, kind)
            bn = yb + step * data.grad_b(R) if data.fit_b else b
            # gradient-based adaptive restart
            if np.vdot(Y - Vn, Vn - V) + (np.dot(yb - bn, bn - b) if data.fit_b else 0.0) > 0:
                t = 1.0
                Y, yb = Vn.copy(), bn.copy()
            else:
                t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
                beta = (t - 1) / t_new
                Y = Vn + beta * (Vn - V)
                yb = bn + beta * (bn - b) if data.fit_b else bn
                t = t_new
            V, b = Vn, bn
            if n_iter % check_every == 0:
                f_unsm, f_sm = objectives(V, b, mu)
                history.append(f_unsm)
                if abs(f_prev - f_sm) <= tol * max(abs(f_sm), scale):
                    stage_done = True
                    break
                f_prev = f_sm
        if last_stage and stage_done:
            converged = True
        if last_stage or n_iter >= max_iter:
            break
        mu = max(mu / 10.0, mu_final)

    f_unsm, _ = objectives(V, b, mu_final)
    if not converged:
        warnings.warn(f"spg: the relative objective decrease did not reach tol={tol:g} within "
                      f"max_iter={max_iter} iterations (mu={mu:.3g}, final mu={mu_final:.3g}); "
                      "increase max_iter or tol", ConvergenceWarning, stacklevel=2)
    W = V.sum(axis=0)
    return SolverRecord(coef=W, intercept=b if data.fit_b else np.zeros(K), n_iter=n_iter,
                        gap=float("nan"), gap_tol=tol * scale, converged=converged,
                        objective=float(f_unsm), history=np.asarray(history), solver="spg",
                        extra={"components": [V[l].copy() for l in range(h)],
                               "U": task_clusters(W, cluster_rtol), "mu": mu,
                               "n_smoothed_groups": int(n_groups), "lipschitz": L,
                               "epsilon": epsilon})
