"""Smoothing proximal gradient (SPG) for the generalized group lasso (Fei et al., ECAI 2023, sec. 5).

Minimises, over the components ``V = (W_1, ..., W_h)`` (each p x K, ``W = sum_l W_l``) and, for
sparse X with an intercept, the per-task intercepts b::

    F(V, b) = sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2 + alpha * Omega(V),
    Omega(V) = sum_g c_g ||(D V)_g||_2

with Omega a :class:`~mtreg.penalties.gengl.GenGL` (DESIGN.md convention; the data are scaled in
:mod:`mtreg.solvers.problem`). Following Chen et al. (Ann. Appl. Stat. 2012):

* Operations that are separable inside a component keep their exact proximal operator: an
  element-wise l1 term ``Op("F", "F")``, one row, column or whole-matrix l2 term and, when that
  term is over rows (or absent), one element-wise task-pair fusion ``Op("F", "F2")`` (per row,
  ``sum_{j<k} |w_j - w_k|`` is a sum of sorted values with increasing weights, whose prox is a
  pool-adjacent-violators pass on the sorted row; soft thresholding and row shrinkage follow,
  each keeping the order, ties and signs the previous map certified).
* The others (column fusions, feature pairs, a second group term) are replaced by their
  Nesterov smoothing
  ``f_mu(V) = max_{||beta_g|| <= 1} sum_g alpha c_g beta_g^T (D V)_g - mu/2 ||beta||^2`` (eq.
  (13)), whose gradient ``D^T (alpha c beta*)`` needs only a projection of each ``beta_g`` onto
  the unit ball (Cython, :mod:`mtreg._cy._spg`; the task-pair fusions of a component share one
  pass over the rows of W).
* The smooth part is minimised by FISTA with the constant step ``1/L``,
  ``L = h * max_k lambda_max(X_k^T X_k / n_k) + ||alpha C D||^2 / mu`` (intercept column added
  to X_k when the intercepts are solved inline), restarted whenever the momentum points uphill
  (O'Donoghue & Candes 2015).

Smoothing parameter (the paper's rule): ``mu = epsilon / |G|`` with ``|G|`` the number of
smoothed groups, so that ``0 <= alpha Omega - f_mu <= epsilon / 2`` (Chen et al., eq. (3.6),
``D = |G| / 2``). mtreg sets ``epsilon = smooth_tol * F(0)`` (``smooth_tol = tol`` by default)
as the floor of a continuation: the fit starts at ``mu = ||alpha C D||^2 / L_data`` (smoothing
curvature about that of the data fit, rounded up to a power of 10 times the floor) and, when
the part of the gap the smoothing itself leaves, ``sum_g alpha c_g ||z_g|| - <beta*_g, z_g>``
(it scales like mu), is at least half the duality gap, divides mu by up to 10, aiming at a
smoothing gap of ``tol F(0) / 4``; each stage is warm-started.

Certificate (a duality gap of the UNSMOOTHED problem). For any ``theta`` (one entry per row) with

    (i)  1^T theta_k = 0 for every task (only when the intercepts are solved inline), and
    (ii) the stacked ``(X^T theta, ..., X^T theta)`` (h copies; ``(X^T theta)_k = X_k^T theta_k``)
         lies in ``alpha K``, ``K = {D^T beta : ||beta_g|| <= c_g}`` (the unit ball of the dual
         norm of Omega),

Fenchel-Young on each task's squared loss and ``<D^T beta, V> <= Omega(V)`` give, for all V,
``F(V, b) >= D(theta) = sum_k <theta_k, y_k> - n_k / 2 ||theta_k||^2``; so
``gap = F(V, b) - D(theta) >= F(V, b) - min F``. The dual point is built in three steps:

1. ``theta = r / n_k`` (the residual at the iterate), projected orthogonally onto the
   complement of ``X(S)`` and of the task indicators (i), where ``S = sum_l ker(D_l)`` is
   the set of W that some V with ``D V = 0`` sums to (for instance the task-constant columns
   ``w 1^T`` under a pure column fusion). This makes ``X^T theta`` orthogonal to every
   ``ker(D_l)``, i.e. in the range of ``D_l^T``: without it the dual function is ``-inf`` (the
   loss conjugate is finite only on the range of ``X^T``).
2. SPG supplies an ``A`` in ``alpha K`` that is, at the smoothed optimum, the optimal dual
   direction: ``A = grad f_mu(V) + P(X^T theta - grad f_mu(V))``, with
   ``grad f_mu = D^T (alpha c beta*)``, ``||beta*_g|| <= 1``, and P the projection onto the dual
   ball of the exactly handled part (Moreau: ``P(T) = T - prox(T)``, the same Cython prox).
   Then ``X^T theta - A = prox(X^T theta - grad f_mu(V))``, which vanishes at the smoothed optimum.
3. The gauge of K is subadditive, so ``gauge(X^T theta) <= alpha + gauge(X^T theta - A)``;
   the second term is bounded by representing the (small) difference with a single operation
   of each component (``e_j`` / identity operators invert exactly; a pair operator of n indices
   represents a zero-sum x by ``beta = (x_j - x_k) / n``), or, when no single operation can,
   by a least-squares ``beta`` over the whole component. With ``t`` the smaller of this bound
   and the same bound applied to ``X^T theta`` directly, ``theta * min(1, alpha / t)``
   satisfies (ii).

At an exact minimiser of the smoothed problem the gap is at most ``|G| mu / 4`` (each smoothed
group contributes ``c||z|| - c^2 ||z||^2 / mu <= mu / 4``), i.e. ``epsilon / 4`` at the final mu,
so the rule below is reachable. Stopping rule: ``gap <= tol * F(0)``, checked every
``check_every`` iterations (the core BCD compares its gap with the same target), with F(0) the
objective at W = 0 (intercepts at their optimum). ``SolverRecord.gap`` is the final gap,
``history`` the gaps at the checks, ``objective`` the unsmoothed F.
"""
from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ._record import SolverRecord
from .problem import Problem

__all__ = ["solve", "task_clusters", "duality_gap"]

#: kind codes of the separable group term handled by the exact prox
_PROX_KIND = {("F", "C"): 1, ("C", "F"): 2, ("C", "C"): 3}
#: operations whose smoothing goes through the fused task-pair kernel
_FUSION = {("C", "F2"): 0, ("F", "F2"): 1}


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
        self.n_row = self.n_k[self.row_task]
        self.inv_n_row = 1.0 / self.n_row
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

    def xt(self, theta):
        """``(X_k^T theta_k)_k``, shape (p, K)."""
        if self.shared:
            return np.asarray(self.X.T @ theta.reshape(self.K, self.n).T)
        return (self.XbdT @ theta).reshape(self.K, self.p).T

    def grad(self, R):
        """Minus the gradient of the data fit at residual R: ``(X_k^T r_k / n_k)_k``, (p, K)."""
        return self.xt(R * self.inv_n_row)

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
    """Split the operations into exact-prox ones (per component) and smoothed ones.

    Exact: the element-wise l1 term, one group term (rows, columns or the whole component) and,
    when the group term is absent or over rows, one element-wise pair fusion ``Op("F", "F2")``
    (then the component's prox is separable over rows). Everything else is smoothed.
    """
    h = penalty.n_components
    t_elem = np.zeros(h)
    t_group = np.zeros(h)
    t_fuse = np.zeros(h)
    kind = np.zeros(h, dtype=np.intc)
    smoothed = []
    rest = []
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
            rest.append(i)
    for i in rest:
        l, op = penalty.flat_ops()[i]
        if op.kind == ("F", "F2") and kind[l] in (0, 1) and t_fuse[l] == 0 and K > 1:
            t_fuse[l] = penalty.op_coef(l, op)
        else:
            smoothed.append(i)
    return t_elem, t_group, kind, t_fuse, tuple(smoothed)


def _n_groups(op, p, K) -> int:
    def one(part, n):
        return {"C": 1, "F": n, "F2": n * (n - 1) // 2}[part]
    return one(op.features, p) * one(op.tasks, K)


def _smooth_norm2(penalty, smoothed, p, K) -> float:
    """Bound on ``||C D||^2`` of the smoothed operator (block diagonal over components)."""
    from ..penalties.gengl import _op_norm2

    flat = penalty.flat_ops()
    per = np.zeros(penalty.n_components)
    for i in smoothed:
        l, op = flat[i]
        per[l] += penalty.op_coef(l, op) ** 2 * _op_norm2(op, p, K)
    return float(per.max(initial=0.0))


def _kernel_basis(penalty, p, K) -> np.ndarray:
    """A spanning set, shape (d, p, K), of ``S = sum_l ker(D_l)``: the W that null components sum to.

    A component whose active operations include one with no pair partition has ``ker = {0}``.
    Otherwise every operation's kernel lies in ``span{e_j 1^T, 1 e_k^T}`` (task-constant and
    feature-constant matrices), and the component's kernel is computed inside that span of
    dimension p + K. A component with no active operation is unpenalised (``ker`` = everything).
    """
    cache = getattr(penalty, "_cache", None)
    key = ("kernel_basis", p, K)
    if cache is not None and key in cache:
        return cache[key]
    out = _kernel_basis_compute(penalty, p, K)
    if cache is not None:
        cache[key] = out
    return out


def _kernel_basis_compute(penalty, p, K) -> np.ndarray:
    active = [[] for _ in range(penalty.n_components)]
    for i, (l, op) in enumerate(penalty.flat_ops()):
        if penalty.op_coef(l, op) > 0 and _n_groups(op, p, K) > 0:
            active[l].append(i)
    B0 = np.concatenate([np.repeat(np.eye(p)[:, :, None], K, axis=2),      # e_j 1^T
                         np.repeat(np.eye(K)[:, None, :], p, axis=1)])     # 1 e_k^T
    B0 = B0.reshape(p + K, p * K)
    out = []
    flat = penalty.flat_ops()
    for l, ops in enumerate(active):
        if not ops:
            return np.eye(p * K).reshape(p * K, p, K)
        if any("F2" not in flat[i][1].kind for i in ops):
            continue
        D = penalty.operator(p, K, select=tuple(ops))[0][:, l * p * K:(l + 1) * p * K]
        DtD = (D.T @ D).tocsr()  # sparse pK x pK: cheaper than the dense (rows x (p + K)) D B0
        s, U = np.linalg.eigh(B0 @ np.asarray(DtD @ B0.T))
        null = U[:, s <= 1e-10 * max(s.max(initial=0.0), 1.0)]
        if null.size:
            out.append((B0.T @ null).T)
    if not out:
        return np.zeros((0, p, K))
    return np.concatenate(out).reshape(-1, p, K)


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


class _Certificate:
    """Duality gap of the unsmoothed problem (see the module docstring, steps 1-3).

    ``prox`` = ``(t_elem, t_group, kind, t_fuse)``: the exactly handled part of ``alpha Omega``
    per component (thresholds with alpha included), as in :func:`mtreg._cy._spg.prox_components`.
    """

    def __init__(self, data: _Data, penalty, alpha: float, prox):
        self.data, self.penalty, self.alpha = data, penalty, alpha
        self.prox = prox
        p, K = data.p, data.K
        cols = [data.predict(Bi, np.zeros(K)) for Bi in _kernel_basis(penalty, p, K)]
        if data.fit_b:
            cols += list(np.eye(K)[data.row_task].T)
        self.Q = None
        if cols:
            U, s, _ = np.linalg.svd(np.column_stack(cols), full_matrices=False)
            if s.size and s.max() > 0:
                self.Q = U[:, s > 1e-10 * s.max()]

    def dual_point(self, R):
        """``theta = r / n_k`` projected onto the complement of X(S) (and of the task indicators)."""
        theta = R * self.data.inv_n_row
        if self.Q is not None:
            theta -= self.Q @ (self.Q.T @ theta)
        return theta

    def gap(self, primal: float, R, Gs=None) -> tuple[float, float]:
        """``(gap, D(theta))`` at the iterate whose residual is R.

        ``Gs`` (h, p, K): the gradient ``D_s^T (alpha c beta*)`` of the smoothed part at the
        iterate (None: nothing smoothed). The direction is ``A = Gs + P(T)``, ``T = X^T theta - Gs``
        and P the projection onto the dual ball of the exactly handled part (Moreau:
        ``P(T) = T - prox(T)``), so ``X^T theta - A = prox(T)``.
        """
        from .._cy._spg import prox_components

        theta = self.dual_point(R)
        G = self.data.xt(theta)
        pen, alpha = self.penalty, self.alpha
        h = pen.n_components
        atol = 1e-10 * np.abs(G).max(initial=0.0)
        t = pen.dual_norm_components(np.broadcast_to(G, (h,) + G.shape), atol=atol)
        T = np.repeat(G[None], h, axis=0)
        if Gs is not None:
            T -= Gs
            atol += 1e-10 * np.abs(Gs).max(initial=0.0)
        prox_components(T, *self.prox)  # T <- X^T theta - A
        t = min(t, alpha + pen.dual_norm_components(T, atol=atol))
        if not np.isfinite(t):
            return np.inf, -np.inf
        if t > alpha:
            theta *= alpha / t
        dual = float(theta @ self.data.y - 0.5 * np.dot(self.data.n_row * theta, theta))
        return primal - dual, dual


def solve(problem: Problem, penalty, alpha: float, *, tol: float = 1e-6, max_iter: int = 10_000,
          coef_init=None, intercept_init=None, smooth_tol: float | None = None, check_every: int = 10,
          cluster_rtol: float = 1e-3) -> SolverRecord:
    """Fit a GenGL penalty by smoothing proximal gradient, stopping on a duality gap.

    Minimises ``F(V, b) = sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2 + alpha * Omega(W_1, ..., W_h)``
    over the components, ``W = sum_l W_l``, until the duality gap of this (unsmoothed) problem is
    ``<= tol * F(0)``; see the module docstring for the method, the smoothing parameter and the
    construction of the dual point.

    Parameters
    ----------
    problem : Problem
        Shared or per-task, dense or sparse design.
    penalty : GenGL
        Any :class:`~mtreg.penalties.gengl.GenGL` (presets included).
    alpha : float
        Regularisation level, > 0.
    tol : float, default 1e-6
        Target duality gap relative to F(0) (the objective at W = 0), as in the core BCD.
    max_iter : int, default 10000
        Maximum FISTA iterations over all continuation stages.
    coef_init : array-like of shape (p, K) or (h, p, K), optional
        Warm start: the components, or their sum (then the components of the last fit of this
        penalty when that fit returned exactly this sum, as along a path; else split equally).
    intercept_init : array-like of shape (K,), optional
        Warm start of the inline intercepts (sparse X with an intercept only).
    smooth_tol : float, optional
        ``epsilon / F(0)`` of the final smoothing parameter ``mu = epsilon / |G|`` (default
        ``tol``): the smoothing alone then leaves a gap of at most ``epsilon / 4``.
    check_every : int, default 10
        Iterations between duality-gap checks.
    cluster_rtol : float, default 1e-3
        Relative tolerance under which two task columns count as fused (``extra["U"]``).

    Returns
    -------
    SolverRecord
        ``coef`` = W (p, K), ``intercept`` (K,), ``objective`` the unsmoothed F, ``gap`` the final
        duality gap (objective units), ``gap_tol = tol * F(0)``, ``history`` the gaps at the
        checks, ``extra``: ``components`` (list of h arrays (p, K), standardised scale), ``U``
        (n_clusters x K one-hot membership of fused task columns), ``dual_objective``,
        ``objective_history``, ``mu``, ``n_smoothed_groups``, ``lipschitz``, ``epsilon``,
        ``certificate``.

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        When the gap is still above ``tol * F(0)`` after ``max_iter`` iterations.
    """
    from sklearn.exceptions import ConvergenceWarning

    from .._cy._spg import fusion_grad, prox_components, smooth_grad

    if not hasattr(penalty, "flat_ops") or not hasattr(penalty, "op_coef") \
            or not hasattr(penalty, "dual_norm_components"):
        raise TypeError("solver 'spg' needs a GenGL penalty (flat_ops, op_coef, dual_norm_components); "
                        f"got {penalty!r}")
    alpha = float(alpha)
    if not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a finite number > 0, got {tol!r}")
    smooth_tol = tol if smooth_tol is None else smooth_tol
    if not (np.isfinite(smooth_tol) and smooth_tol > 0):
        raise ValueError(f"smooth_tol must be a finite number > 0, got {smooth_tol!r}")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    if int(check_every) != check_every or check_every < 1:
        raise ValueError(f"check_every must be a positive integer, got {check_every!r}")
    max_iter, check_every = int(max_iter), int(check_every)

    data = _Data(problem)
    p, K, h = data.p, data.K, penalty.n_components
    t_elem, t_group, kind, t_fuse, smoothed = _plan(penalty, p, K)
    flat = penalty.flat_ops()
    # smoothed operations: the task-pair fusions of a component share one kernel pass
    # (fused[l] = alpha * (column-fusion weight, element-fusion weight)); the rest go one by one
    fused = np.zeros((h, 2))
    generic = []
    n_groups = 0
    for i in smoothed:
        l, op = flat[i]
        ng = _n_groups(op, p, K)
        if ng == 0:
            continue
        n_groups += ng
        c = alpha * penalty.op_coef(l, op)
        slot = _FUSION.get(op.kind)
        if slot is not None and fused[l, slot] == 0:
            fused[l, slot] = c
        else:
            generic.append((l, c, _members(op.features, p), _members(op.tasks, K)))
    fused_l = [l for l in range(h) if fused[l].any()]
    pj, pk = np.triu_indices(K, 1)
    pair_buf = np.zeros(max(K * (K - 1) // 2, 1))

    # W = 0 (intercepts at their optimum): the yardstick of the tolerances
    b0 = np.zeros(K)
    if data.fit_b:
        b0 = np.add.reduceat(data.y, data.ptr[:-1]) / data.n_k
    null_obj = data.datafit(data.y - (b0[data.row_task] if data.fit_b else 0.0))
    scale = max(null_obj, np.finfo(float).tiny)
    gap_tol = tol * scale
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
            V = _split_warm_start(penalty, V0, h)
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

    cert = _Certificate(data, penalty, alpha, (alpha * t_elem, alpha * t_group, kind, alpha * t_fuse))
    Gs = np.zeros((h, p, K))

    def smooth_part(V, mu, values=True):
        """``(f_mu, alpha * Omega_smoothed)`` at V; ``Gs`` receives the gradient of f_mu."""
        Gs.fill(0.0)
        fmu = omega = 0.0
        for l in fused_l:
            a, o = fusion_grad(V[l], Gs[l], fused[l, 0], fused[l, 1], mu, pair_buf, values)
            fmu += a
            omega += o
        for l, c, (fptr, fplus, fminus), (tptr, tplus, tminus) in generic:
            a, o = smooth_grad(V[l], Gs[l], fptr, fplus, fminus, tptr, tplus, tminus, c, mu)
            fmu += a
            omega += o
        return fmu, omega

    def prox_value(V):
        """alpha * (exactly handled part of Omega)."""
        val = alpha * float(t_elem @ np.abs(V).sum(axis=(1, 2)))
        for l in np.flatnonzero(t_fuse):
            val += alpha * t_fuse[l] * float(np.abs(V[l][:, pj] - V[l][:, pk]).sum())
        for l in range(h):
            if kind[l] == 1:
                val += alpha * t_group[l] * np.linalg.norm(V[l], axis=1).sum()
            elif kind[l] == 2:
                val += alpha * t_group[l] * np.linalg.norm(V[l], axis=0).sum()
            elif kind[l] == 3:
                val += alpha * t_group[l] * np.linalg.norm(V[l])
        return val

    def forward_backward(Y, yb, step, mu):
        """One proximal gradient step from (Y, yb)."""
        R = data.y - data.predict(Y.sum(axis=0), yb)
        Vn = Y + step * data.grad(R)[None]
        if n_groups:
            smooth_part(Y, mu, False)
            Vn -= step * Gs
        prox_components(Vn, step * alpha * t_elem, step * alpha * t_group, kind, step * alpha * t_fuse)
        bn = yb + step * data.grad_b(R) if data.fit_b else yb
        return Vn, bn

    def check(V, b, mu):
        """Unsmoothed and smoothed objectives, smoothing error, gap, dual objective at (V, b)."""
        R = data.y - data.predict(V.sum(axis=0), b)
        fmu, omega = smooth_part(V, mu) if n_groups else (0.0, 0.0)
        base = data.datafit(R) + prox_value(V)
        gap, dual = cert.gap(base + omega, R, Gs if n_groups else None)
        # the part of the gap the smoothing itself leaves: sum_g alpha c_g ||z_g|| - <beta_g, z_g>
        smooth_gap = omega - float(np.vdot(Gs, V)) if n_groups else 0.0
        return base + omega, base + fmu, smooth_gap, gap, dual

    # continuation: from a coarse mu (smoothing Lipschitz ~ data Lipschitz) down to mu_final
    if n_groups and cd2 > 0:
        mu = max(mu_final, cd2 / max(L_data, 1e-12))
        mu = max(mu_final, mu_final * 10.0 ** np.ceil(np.log10(mu / mu_final)))
    else:
        mu = mu_final = 1.0

    history, obj_history = [], []
    n_iter = 0
    converged = False
    last_checked = -1
    gap = dual = np.inf
    while True:
        last_stage = mu <= mu_final * (1 + 1e-12)
        L = L_data + (cd2 / mu if n_groups else 0.0)
        step = 1.0 / L
        Y, yb = V.copy(), b.copy()
        t = 1.0
        while n_iter < max_iter:
            n_iter += 1
            Vn, bn = forward_backward(Y, yb, step, mu)
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
            if n_iter % check_every:
                continue
            f_unsm, _, smooth_gap, gap, dual = check(V, b, mu)
            last_checked = n_iter
            history.append(gap)
            obj_history.append(f_unsm)
            if gap <= gap_tol:
                converged = True
                break
            if not last_stage and smooth_gap >= 0.5 * gap:
                break
        if converged or n_iter >= max_iter:
            break
        # the smoothing gap scales like mu: aim at smooth_gap ~ gap_tol / 4, at most 10x per stage
        mu = max(mu / 10.0, min(mu, mu * 0.25 * gap_tol / max(smooth_gap, 1e-300)), mu_final)

    if last_checked != n_iter:  # the certificate of the returned iterate
        f_unsm, _, _, gap, dual = check(V, b, mu)
        history.append(gap)
        obj_history.append(f_unsm)
        converged = bool(gap <= gap_tol)
    if not converged:
        warnings.warn(f"spg: duality gap {gap:.3g} > target {gap_tol:.3g} (tol={tol:g} x F(0) "
                      f"{scale:.3g}) after max_iter={max_iter} iterations (mu={mu:.3g}); increase "
                      "max_iter or tol", ConvergenceWarning, stacklevel=2)
    W = V.sum(axis=0)
    if h > 1 and isinstance(getattr(penalty, "_cache", None), dict):
        penalty._cache["last_components", p, K] = (W.copy(), V.copy())
    return SolverRecord(coef=W, intercept=b if data.fit_b else np.zeros(K), n_iter=n_iter,
                        gap=float(gap), gap_tol=float(gap_tol), converged=converged,
                        objective=float(f_unsm), history=np.asarray(history), solver="spg",
                        extra={"components": [V[l].copy() for l in range(h)],
                               "U": task_clusters(W, cluster_rtol), "mu": mu,
                               "dual_objective": float(dual),
                               "objective_history": np.asarray(obj_history),
                               "n_smoothed_groups": int(n_groups), "lipschitz": L,
                               "epsilon": epsilon,
                               "certificate": "duality gap of the unsmoothed problem"})


def _split_warm_start(penalty, W0: np.ndarray, h: int) -> np.ndarray:
    """Components (h, p, K) to start from when only their sum ``W0`` is given.

    When ``W0`` is exactly the sum returned by the last fit of this penalty with the same shape
    (a regularisation path passes the previous ``coef``), that fit's components are reused:
    their split between the components is what the next alpha needs, and restarting from an
    equal split costs up to 10x more iterations (SSMTL_m on the MeTaG scenario, alpha 1e-2 to
    1e-3: 2930 iterations from an equal split, 220 from the previous components). Any other
    ``W0`` is split equally. The start point never changes the solution, only the path to it.
    """
    cache = getattr(penalty, "_cache", None)
    if h > 1 and isinstance(cache, dict):
        last = cache.get(("last_components",) + W0.shape)
        if last is not None and np.array_equal(last[0], W0):
            return last[1].copy()
    return np.repeat(W0[None] / h, h, axis=0)


def duality_gap(problem: Problem, penalty, alpha: float, coef, intercept=None, mu: float | None = None):
    """Duality gap of the unsmoothed GenGL problem at the components ``coef`` (h, p, K).

    The certificate of :func:`solve` (module docstring) evaluated at any point, with the smoothed
    dual variables taken at ``mu`` (default: ``1e-8 * F(0) / |G|``).

    Parameters
    ----------
    problem : Problem
    penalty : GenGL
    alpha : float
    coef : array-like of shape (h, p, K), or (p, K) when h = 1
    intercept : array-like of shape (K,), optional
        Inline intercepts (sparse X with an intercept).
    mu : float, optional

    Returns
    -------
    (gap, dual) : tuple of float
        ``gap = F(V, b) - D(theta) >= F(V, b) - min F``, and ``D(theta)`` (a lower bound on min F).
    """
    from .._cy._spg import fusion_grad, smooth_grad

    data = _Data(problem)
    p, K, h = data.p, data.K, penalty.n_components
    V = np.ascontiguousarray(np.asarray(coef, dtype=np.float64).reshape(h, p, K))
    b = np.zeros(K) if intercept is None else np.asarray(intercept, dtype=np.float64)
    R = data.y - data.predict(V.sum(axis=0), b)
    primal = data.datafit(R) + alpha * penalty.value(V)
    t_elem, t_group, kind, t_fuse, smoothed = _plan(penalty, p, K)
    flat = penalty.flat_ops()
    groups = sum(_n_groups(flat[i][1], p, K) for i in smoothed)
    if mu is None:
        mu = 1e-8 * max(problem.null_objective, np.finfo(float).tiny) / max(groups, 1)
    Gs = np.zeros((h, p, K))
    for i in smoothed:
        l, op = flat[i]
        if _n_groups(op, p, K) == 0:
            continue
        c = alpha * penalty.op_coef(l, op)
        if op.kind in _FUSION:
            cc = (c, 0.0) if op.kind == ("C", "F2") else (0.0, c)
            fusion_grad(V[l], Gs[l], cc[0], cc[1], mu, np.zeros(max(K * (K - 1) // 2, 1)))
        else:
            smooth_grad(V[l], Gs[l], *_members(op.features, p), *_members(op.tasks, K), c, mu)
    cert = _Certificate(data, penalty, alpha, (alpha * t_elem, alpha * t_group, kind, alpha * t_fuse))
    return cert.gap(primal, R, Gs if smoothed else None)
