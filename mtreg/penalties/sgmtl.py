"""Sparsity grouped multi-task learning (SG-MTL) and the baselines of its paper.

SG-MTL (Kshirsagar, Yang & Lozano, "Learning task structure via sparsity grouped multitask
learning", eq. (4)-(5)) learns ``n_groups`` = N candidate task groups together with W. With
membership ``U`` (N x K, every column on the probability simplex), ``s_gj = sqrt(sum_t u_gt
W_jt^2)`` and the mtreg data fit (DESIGN.md), the fit minimises over W and U::

    sum_t 1/(2 n_t) ||y_t - b_t - X_t w_t||^2  +  alpha * Omega(W, U),

    Omega(W, U) = sum_g ( sum_j s_gj )^2  +  fusion * sum_{t < t'} ||U[:, t] - U[:, t']||^2.

``alpha`` is the paper's lambda and ``alpha * fusion`` its mu: the fusion term is measured
relative to the grouping term, so the membership found for a given W depends on ``fusion``
alone, not on ``alpha``. The penalty is convex in W for fixed U (the W-step) and non-convex
jointly.

The baselines used in the paper share the same interface:

``STL`` (``"stl"``)
    an independent elastic net per task (``l1_ratio=0.5``), fitted by block coordinate descent;
``AllTasks`` (``"alltasks"``)
    one elastic net shared by every task (``w_t = w`` for all t, per-task intercepts kept);
``ClusMTL`` (``"clusmtl"``)
    k-means of the STL coefficients into ``n_groups`` clusters, then a group lasso (l1/l2 over
    the tasks of each cluster) inside every cluster.

The membership maths (``Omega`` for a given U, its gradient in U, the simplex projection and the
projected-gradient U-step) lives here; the orchestration and the Cython W-step live in
:mod:`mtreg.solvers.sgmtl`.
"""
from __future__ import annotations

import numbers

import numpy as np

from .base import Penalty, check_l1_ratio
from .sparse_norms import GroupLasso, Lasso

__all__ = ["SGMTL", "STL", "AllTasks", "ClusMTL", "project_simplex", "fusion_value",
           "group_norms", "u_step"]


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_nonneg(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def _check_random_state(random_state):
    if random_state is None or isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, bool) or not isinstance(random_state, numbers.Integral):
        raise TypeError(f"random_state must be None, an integer or a numpy Generator, got {random_state!r}")
    if random_state < 0:
        raise ValueError(f"random_state must be >= 0, got {random_state!r}")
    return int(random_state)


# ------------------------------------------------------------------------------ membership maths
def project_simplex(V: np.ndarray) -> np.ndarray:
    """Euclidean projection of every column of ``V`` onto the probability simplex.

    The sorted-threshold algorithm (Held et al. 1974; Duchi et al. 2008; Chen & Ye 2011):
    with ``v`` sorted decreasingly and ``rho`` the largest k with
    ``v_(k) > (sum_{i<=k} v_(i) - 1) / k``, the projection is ``max(v - tau, 0)``,
    ``tau = (sum_{i<=rho} v_(i) - 1) / rho``. O(N log N) per column.

    Parameters
    ----------
    V : ndarray of shape (N, K)

    Returns
    -------
    ndarray of shape (N, K), columns non-negative and summing to one.
    """
    V = np.asarray(V, dtype=np.float64)
    if V.ndim == 1:
        return project_simplex(V[:, None])[:, 0]
    N = V.shape[0]
    srt = -np.sort(-V, axis=0)
    css = np.cumsum(srt, axis=0) - 1.0
    k = np.arange(1, N + 1)[:, None]
    cond = srt - css / k > 0
    rho = N - np.argmax(cond[::-1], axis=0)  # last True (row 0 is always True)
    tau = css[rho - 1, np.arange(V.shape[1])] / rho
    return np.maximum(V - tau, 0.0)


def group_norms(W: np.ndarray, U: np.ndarray) -> np.ndarray:
    """``s_gj = sqrt(sum_t u_gt W_jt^2)``, shape (N, p), for W (p, K) and U (N, K)."""
    return np.sqrt(np.maximum(U @ (W * W).T, 0.0))


def fusion_value(U: np.ndarray) -> float:
    """``sum_{t<t'} ||U[:, t] - U[:, t']||^2 = K ||U||_F^2 - ||U 1||^2`` for U (N, K)."""
    K = U.shape[1]
    return float(K * np.sum(U * U) - np.sum(U.sum(axis=1) ** 2))


def _membership_objective(W2: np.ndarray, U: np.ndarray, fusion: float) -> float:
    """``Omega(W, U)`` from ``W2 = W**2`` (p, K)."""
    T = np.sqrt(np.maximum(U @ W2.T, 0.0)).sum(axis=1)
    out = float(T @ T)
    if fusion:
        out += fusion * fusion_value(U)
    return out


def _membership_gradient(W2: np.ndarray, U: np.ndarray, fusion: float) -> np.ndarray:
    """Gradient of ``Omega`` in U (the paper's appendix C), shape (N, K).

    ``d/du_gt = T_g sum_j W_jt^2 / s_gj`` (+ ``2 fusion (K u_gt - sum_t' u_gt')``). Where
    ``s_gj = 0`` but ``W_jt != 0`` (then ``u_gt = 0``) the derivative is ``+inf``: moving task t
    into a group lacking one of its features costs infinitely much at the margin.
    """
    S = np.sqrt(np.maximum(U @ W2.T, 0.0))  # (N, p)
    T = S.sum(axis=1)
    zero = S == 0
    inv = np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, S))
    G = T[:, None] * (inv @ W2)
    blocked = (zero.astype(np.float64) @ (W2 > 0)) > 0
    G[blocked] = np.inf
    if fusion:
        G += 2.0 * fusion * (U.shape[1] * U - U.sum(axis=1, keepdims=True))
    return G


def vertex_moves(W2: np.ndarray, U: np.ndarray, fusion: float, max_sweeps: int = 10):
    """Move whole tasks between groups while ``Omega`` decreases (W fixed).

    For each task t in turn, column ``U[:, t]`` is replaced by the best vertex ``e_g`` of its
    simplex if that lowers ``Omega(W, U)``. Such jumps cross the infinite slope that keeps a
    task out of a group lacking one of its features, which projected gradient cannot do.
    Monotone; sweeps repeat until no task moves.

    Returns
    -------
    U : ndarray (N, K), value : float, n_moves : int
    """
    U = np.array(U, dtype=np.float64)
    N, K = U.shape
    f = _membership_objective(W2, U, fusion)
    Q = U @ W2.T  # (N, p)
    moves = 0
    for _ in range(max_sweeps):
        moved = False
        for t in range(K):
            Qm = np.maximum(Q - np.outer(U[:, t], W2[:, t]), 0.0)
            base = np.sqrt(Qm).sum(axis=1)
            plus = np.sqrt(Qm + W2[:, t]).sum(axis=1)
            cand = np.sum(base**2) - base**2 + plus**2  # (N,): Omega with t moved to group g
            if fusion:
                rest = U.sum(axis=1) - U[:, t]
                Urest2 = np.sum(U * U) - U[:, t] @ U[:, t]
                # K ||U||^2 - ||U 1||^2 with column t = e_g
                cand = cand + fusion * (K * (Urest2 + 1.0) - (np.sum(rest**2) + 2 * rest + 1.0))
            g = int(np.argmin(cand))
            if cand[g] < f * (1 - 1e-12) and not (U[g, t] == 1.0):
                old = U[:, t].copy()
                U[:, t] = 0.0
                U[g, t] = 1.0
                f_new = _membership_objective(W2, U, fusion)
                if f_new < f:
                    Q += np.outer(U[:, t] - old, W2[:, t])
                    f = f_new
                    moved = True
                    moves += 1
                else:  # rounding: not a decrease after all
                    U[:, t] = old
        if not moved:
            break
    return U, f, moves


def u_step(W: np.ndarray, U: np.ndarray, fusion: float = 0.0, *, max_iter: int = 50,
           tol: float = 1e-10, step: float | None = None):
    """Decrease ``Omega(W, U)`` over U (columns on the simplex) by projected gradient.

    Each iteration takes ``U+ = P(U - s grad)`` (``P`` = :func:`project_simplex` per column) and
    backtracks (halving ``s``) until the sufficient-decrease condition
    ``Omega(U+) <= Omega(U) - 1e-4 / s ||U+ - U||^2`` holds; the next iteration starts from
    ``2 s``. The iterates are monotone. Entries with an infinite derivative stay at 0.

    Parameters
    ----------
    W : ndarray of shape (p, K)
    U : ndarray of shape (N, K), columns on the simplex
    fusion : float
    max_iter : int
        Projected-gradient iterations.
    tol : float
        Stop when an iteration decreases ``Omega`` by less than ``tol * Omega``.
    step : float, optional
        Initial step (default ``1 / max |finite gradient|``).

    Returns
    -------
    U : ndarray (N, K), value : float, step : float
    """
    W2 = np.asarray(W, dtype=np.float64) ** 2
    U = np.array(U, dtype=np.float64)
    f = _membership_objective(W2, U, fusion)
    if U.shape[0] == 1:
        return U, f, step if step is not None else 1.0
    for _ in range(max_iter):
        G = _membership_gradient(W2, U, fusion)
        finite = np.isfinite(G)
        if step is None:
            gmax = np.max(np.abs(G[finite]), initial=0.0)
            step = 1.0 / gmax if gmax > 0 else 1.0
        moved = False
        for _ls in range(60):
            Vn = np.where(finite, U - step * np.where(finite, G, 0.0), 0.0)
            # entries with infinite slope: push below the threshold so they project to 0
            low = np.where(finite, Vn, np.inf).min(axis=0) - 2.0
            Vn = np.where(finite, Vn, low)
            Un = project_simplex(Vn)
            dU = Un - U
            d2 = float(np.sum(dU * dU))
            if d2 == 0.0:
                break
            fn = _membership_objective(W2, Un, fusion)
            if fn <= f - 1e-4 / step * d2:
                moved = True
                break
            step *= 0.5
        if not moved:
            break
        decrease = f - fn
        U, f = Un, fn
        step *= 2.0
        if decrease <= tol * max(abs(f), 1e-300):
            break
    return U, f, step


# ------------------------------------------------------------------------------ SG-MTL
class SGMTL(Penalty):
    """Sparsity grouped multi-task penalty: task groups learned jointly with a shared support.

    Minimises over W (p x K) and U (N x K, columns on the probability simplex)::

        sum_t 1/(2 n_t) ||y_t - b_t - X_t w_t||^2
            + alpha * [ sum_g (sum_j sqrt(sum_t u_gt W_jt^2))^2
                        + fusion * sum_{t<t'} ||U[:, t] - U[:, t']||^2 ]

    (paper's eq. (4), eq. (5) when ``fusion > 0``, with lambda = alpha and mu = alpha * fusion).
    Tasks in one group pay the squared l1/l2 norm of their joint rows, so they are pushed to a
    common support; the square over groups keeps several groups active.

    Parameters
    ----------
    n_groups : int >= 1, default 3
        Number N of candidate groups (some may end up empty).
    fusion : float >= 0, default 0
        Weight of the fusion term relative to the grouping term (0: plain SG-MTL).
    n_init : int >= 1, default 10
        Restarts: the first from k-means of the single-task supports, the others from random
        memberships (Dirichlet(1) columns); the lowest objective is kept.
    random_state : int, numpy Generator or None
        Seeds the k-means and the random restarts (fits are reproducible given an int).
    max_outer : int, default 100
        Maximum alternating (U-step, W-step) iterations per restart.
    u_iter : int, default 50
        Projected-gradient iterations per U-step.
    polish : bool, default True
        After the alternating iterations, a local search over hard task moves (move task t to
        group g, refit W warm, keep the move if the objective drops) on the kept restart. For
        each task the two groups where its single-task coefficients would cost the least
        penalty are tried, each with a 20-epoch probe of the W-step (a move is kept only if the
        probe already lowers the objective); see :func:`mtreg.solvers.sgmtl._polish`.

    Notes
    -----
    ``alpha_max``: the penalty is a square, so its subdifferential at W = 0 is {0} and W = 0 is
    never a solution unless every ``X_t^T y_t`` vanishes; like the loss it is homogeneous of
    degree 2, which makes ``alpha`` a dimensionless ridge-like strength (its curvature ``2 alpha``
    compares with the unit curvature of standardised features). There is no ``alpha_max`` and
    :meth:`alpha_max` raises ``ValueError``: give ``alpha`` explicitly (typical values 1e-3 to 1,
    chosen by cross-validation).

    ``value(W)`` minimises ``Omega(W, U)`` over U by a deterministic local search (U-steps from
    a uniform and from a support-based start) and so is an upper bound on ``min_U Omega``; use
    :meth:`value_with` for a given U, or the fit's ``record.objective``.
    """

    name = "sgmtl"
    solver = "sgmtl"
    kernel = None
    is_convex = False

    def __init__(self, n_groups: int = 3, fusion: float = 0.0, n_init: int = 10,
                 random_state=None, max_outer: int = 100, u_iter: int = 50, polish: bool = True):
        self.n_groups = _check_int("n_groups", n_groups, 1)
        self.fusion = _check_nonneg("fusion", fusion)
        self.n_init = _check_int("n_init", n_init, 1)
        self.random_state = _check_random_state(random_state)
        self.max_outer = _check_int("max_outer", max_outer, 1)
        self.u_iter = _check_int("u_iter", u_iter, 1)
        if not isinstance(polish, (bool, np.bool_)):
            raise TypeError(f"polish must be True or False, got {polish!r}")
        self.polish = bool(polish)

    def params(self) -> dict:
        return {"n_groups": self.n_groups, "fusion": self.fusion, "n_init": self.n_init,
                "random_state": self.random_state, "max_outer": self.max_outer,
                "u_iter": self.u_iter, "polish": self.polish}

    def value_with(self, W: np.ndarray, U: np.ndarray) -> float:
        """``Omega(W, U)`` for W (p, K) and U (N, K)."""
        W = np.asarray(W, dtype=np.float64)
        U = np.asarray(U, dtype=np.float64)
        if U.ndim != 2 or U.shape[1] != W.shape[1]:
            raise ValueError(f"U must have shape (n_groups, n_tasks) = (*, {W.shape[1]}), got {U.shape}")
        return _membership_objective(W * W, U, self.fusion)

    def value(self, W: np.ndarray) -> float:
        """An upper bound on ``min_U Omega(W, U)``, from a deterministic local search."""
        W = np.asarray(W, dtype=np.float64)
        N, K = self.n_groups, W.shape[1]
        starts = [np.full((N, K), 1.0 / N)]
        if N > 1:  # tasks with equal supports start together, distinct supports spread out
            _, codes = np.unique(W != 0, axis=1, return_inverse=True)
            U0 = np.full((N, K), 0.5 / N)
            U0[np.asarray(codes).ravel() % N, np.arange(K)] += 0.5
            starts.append(U0)
        return min(u_step(W, U0, self.fusion, max_iter=200)[1] for U0 in starts)

    def membership_gradient(self, W: np.ndarray, U: np.ndarray) -> np.ndarray:
        """Gradient of ``Omega(W, U)`` in U, shape (N, K) (``+inf`` where it is infinite)."""
        return _membership_gradient(np.asarray(W, dtype=np.float64) ** 2, np.asarray(U, float),
                                    self.fusion)

    def alpha_max(self, G0: np.ndarray) -> float:
        """A reference scale for alpha (SG-MTL has no true ``alpha_max``).

        The penalty is squared, so W = 0 is never optimal unless ``X^T y = 0``. With one group,
        the solution at ``alpha`` is the group lasso's at ``lambda = 2 alpha S(W)``, where
        ``S(W) = sum_j ||W_j.||``; taking W at its one-step least-squares size ``G0`` (exact for
        orthonormal standardised designs) gives the reference

            alpha_ref = max_j ||G0_j.|| / (2 sum_j ||G0_j.||),

        the alpha whose equivalent group-lasso lambda is the group lasso's ``alpha_max``. Fits
        near ``alpha_ref`` are very sparse; grids (``mtreg.path``, ``mtreg.cv``, the default
        cross-validated ``mtreg.fit``) and ``alpha_frac`` are relative to it.
        """
        norms = np.linalg.norm(np.asarray(G0, dtype=np.float64), axis=1)
        total = norms.sum()
        if total == 0:
            raise ValueError("X^T y = 0 in every task: no scale for alpha; give alpha explicitly")
        return float(norms.max() / (2.0 * total))


# ------------------------------------------------------------------------------ baselines
class STL(Lasso):
    """Single-task learning: an independent elastic net per task (the SG-MTL paper's STL).

    Same objective as :class:`~mtreg.penalties.Lasso` with ``l1_ratio=0.5`` by default::

        sum_t 1/(2 n_t) ||y_t - b_t - X_t w_t||^2
            + alpha * sum_t [ l1_ratio ||w_t||_1 + (1 - l1_ratio)/2 ||w_t||^2 ]

    which is scikit-learn's ``ElasticNet(alpha, l1_ratio)`` fitted on each task separately.
    """

    name = "stl"

    def __init__(self, l1_ratio: float = 0.5, weights=None):
        super().__init__(l1_ratio=l1_ratio, weights=weights)


class AllTasks(Lasso):
    """One elastic net shared by every task (the SG-MTL paper's AllTasks baseline).

    Every task gets the same coefficients ``w`` (per-task intercepts are kept)::

        sum_t 1/(2 n_t) ||y_t - b_t - X_t w||^2 + alpha * K * [ l1_ratio ||w||_1
                                                               + (1 - l1_ratio)/2 ||w||^2 ]

    i.e. ``Omega(W) = sum_t EN(w_t)`` (as for :class:`STL`) restricted to equal columns. With
    equal task sizes this is scikit-learn's ``ElasticNet(alpha, l1_ratio)`` on the pooled,
    per-task centred data; otherwise rows of task t are weighted by ``1 / n_t`` (the mtreg
    convention), i.e. ``sample_weight`` proportional to ``1 / n_t``.
    """

    name = "alltasks"
    solver = "pooled"
    kernel = None

    def __init__(self, l1_ratio: float = 0.5, weights=None):
        super().__init__(l1_ratio=l1_ratio, weights=weights)

    def alpha_max(self, G0: np.ndarray) -> float:
        """``max_j |mean_t G0_jt| / (w_j l1_ratio)``: the smallest alpha giving w = 0."""
        if self.l1_ratio == 0:
            raise ValueError("alpha_max is infinite for l1_ratio=0 (pure ridge): give alpha, not alpha_frac")
        return self.dual_norm(G0.mean(axis=1, keepdims=True)) / self.l1_ratio

    def kkt_violation(self, W, G, alpha):
        """KKT violation of the pooled problem per feature (``W`` with equal columns)."""
        K = W.shape[1]
        lam = alpha * self.l1_ratio * self.feature_weights(W.shape[0])
        w = W[:, 0]
        g = G.mean(axis=1) - alpha * (1 - self.l1_ratio) * w
        return np.where(w != 0, np.abs(g - lam * np.sign(w)), np.maximum(np.abs(g) - lam, 0.0)) * K


class ClusMTL(Penalty):
    """Clustered multi-task lasso (the SG-MTL paper's ClusMTL baseline).

    Two stages: (1) single-task elastic nets (:class:`STL`, ``stl_l1_ratio``, strength
    ``stl_alpha``, default ``alpha``); (2) k-means (scikit-learn, ``n_init`` starts,
    ``random_state``) of the task coefficient vectors (on the standardised scale) into
    ``n_groups`` clusters, then, inside each cluster C, a group lasso::

        sum_{t in C} 1/(2 n_t) ||y_t - b_t - X_t w_t||^2
            + alpha * [ l1_ratio sum_j ||W_{j, C}||_2 + (1 - l1_ratio)/2 ||W_C||_F^2 ]

    ``Omega(W)`` is the sum over clusters; :meth:`value_with` takes the cluster labels, and
    :meth:`value` clusters the columns of ``W`` itself by k-means (documented convenience).

    Parameters
    ----------
    n_groups : int, default 3
    l1_ratio : float, default 1
        Mixing of the within-cluster group lasso.
    stl_l1_ratio : float, default 0.5
    stl_alpha : float, optional
        Strength of the first-stage elastic nets (default: the fit's alpha).
    n_init : int, default 10
        k-means restarts.
    random_state : int or None
    """

    name = "clusmtl"
    solver = "clusmtl"
    kernel = None
    is_convex = False

    def __init__(self, n_groups: int = 3, l1_ratio: float = 1.0, stl_l1_ratio: float = 0.5,
                 stl_alpha: float | None = None, n_init: int = 10, random_state=None):
        self.n_groups = _check_int("n_groups", n_groups, 1)
        self.l1_ratio = check_l1_ratio(l1_ratio)
        self.stl_l1_ratio = check_l1_ratio(stl_l1_ratio)
        self.stl_alpha = None if stl_alpha is None else _check_nonneg("stl_alpha", stl_alpha)
        self.n_init = _check_int("n_init", n_init, 1)
        self.random_state = _check_random_state(random_state)

    def params(self) -> dict:
        return {"n_groups": self.n_groups, "l1_ratio": self.l1_ratio,
                "stl_l1_ratio": self.stl_l1_ratio, "stl_alpha": self.stl_alpha,
                "n_init": self.n_init, "random_state": self.random_state}

    def stl_penalty(self) -> STL:
        return STL(l1_ratio=self.stl_l1_ratio)

    def group_penalty(self) -> GroupLasso:
        return GroupLasso(l1_ratio=self.l1_ratio)

    def cluster(self, coef: np.ndarray) -> np.ndarray:
        """k-means labels (K,) of the task coefficient vectors (columns of ``coef``, (p, K))."""
        from sklearn.cluster import KMeans

        K = coef.shape[1]
        k = min(self.n_groups, K)
        if k == 1:
            return np.zeros(K, dtype=np.int64)
        km = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.random_state)
        return km.fit_predict(np.asarray(coef, dtype=np.float64).T).astype(np.int64)

    def value_with(self, W: np.ndarray, labels) -> float:
        """``sum_C GroupLasso(W[:, C])`` for cluster labels (K,)."""
        labels = np.asarray(labels)
        gl = self.group_penalty()
        return float(sum(gl.value(W[:, labels == c]) for c in np.unique(labels)))

    def value(self, W: np.ndarray) -> float:
        return self.value_with(W, self.cluster(W))

    def alpha_max(self, G0: np.ndarray) -> float:
        """``max_j ||G0_j||_2 / l1_ratio``: W = 0 for every clustering from this alpha on."""
        if self.l1_ratio == 0:
            raise ValueError("alpha_max is infinite for l1_ratio=0 (pure ridge): give alpha, not alpha_frac")
        return float(np.max(np.linalg.norm(G0, axis=1), initial=0.0)) / self.l1_ratio
