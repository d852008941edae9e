"""The MuTaR model zoo: adaptive (reweighted) lasso and group lasso, dirty model, multilevel lasso,
multi-task Wasserstein (MTW) and its reweighted variant (ReMTW).

Every penalty follows the DESIGN.md convention: the fit minimises over W (p x K) and per-task
intercepts b::

    F(W, b) = sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2 + alpha * Omega(W)

and extra hyperparameters are *relative* to ``alpha`` (as ``l1_ratio`` is in the elastic net),
so that ``alpha_max``, paths and cross-validation scale the whole penalty. The translation from
MuTaR's absolute levels is given in each class (and done by :mod:`mtreg.sklearn`).

==========================  ==============================================================
name                        alpha * Omega(W)
==========================  ==============================================================
``adaptive_lasso``          alpha sum_jk |W_jk|^q           (or alpha sum_jk log(|W_jk| + eps))
``adaptive_group_lasso``    alpha sum_j ||W_j.||_2^q        (or alpha sum_j log(||W_j.|| + eps))
``dirty``                   alpha min_{B + S = W} (1 - r) ||B||_{1,2} + r ||S||_1
``multilevel``              alpha sum_j sqrt(||W_j.||_1) = min_{W = diag(c) V, c >= 0}
                            alpha/2 (||c||_1 + ||V||_1)
``mtw``                     alpha [(1 - r) sum_k (OT(W+_k, q+) + OT(W-_k, q-)) + r ||W||_1],
                            minimised over the barycenters q+, q-
``remtw``                   as ``mtw`` with ``sum_jk sqrt(W+_jk) + sqrt(W-_jk)`` instead of the l1
==========================  ==============================================================

The solvers live in :mod:`mtreg.solvers.zoo` (Cython kernels in :mod:`mtreg._cy._zoo`).
"""
from __future__ import annotations

import abc
import numbers

import numpy as np

from .base import Penalty

__all__ = ["AdaptiveLasso", "AdaptiveGroupLasso", "Dirty", "MultiLevel", "MTW", "ReMTW",
           "dirty_support", "ground_metric", "uot_value"]

_SURROGATES = ("lq", "log")


def _check_real(name, value, *, low=None, high=None, low_open=False, high_open=False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    bad = not np.isfinite(value)
    if low is not None:
        bad |= value <= low if low_open else value < low
    if high is not None:
        bad |= value >= high if high_open else value > high
    if bad:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high}"
        raise ValueError(f"{name} must be a finite number {' and '.join(s for s in (lo, hi) if s)}, "
                         f"got {value!r}")
    return value


def _check_int(name, value, minimum=1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


# ============================================================================ adaptive
class _Reweighted(Penalty):
    """Shared maths of the reweighted l1 and l1/l2 penalties."""

    solver = "adaptive"
    is_convex = False

    def __init__(self, surrogate: str = "lq", q: float = 0.5, eps: float | None = None,
                 n_reweightings: int = 10):
        if surrogate not in _SURROGATES:
            raise ValueError(f"surrogate must be one of {_SURROGATES}, got {surrogate!r}")
        self.surrogate = surrogate
        self.q = _check_real("q", q, low=0.0, high=1.0, low_open=True, high_open=True)
        if eps is None:
            eps = 1e-10 if surrogate == "lq" else 1e-2
        self.eps = _check_real("eps", eps, low=0.0, low_open=True)
        self.n_reweightings = _check_int("n_reweightings", n_reweightings)

    def params(self) -> dict:
        out = {"surrogate": self.surrogate}
        if self.surrogate == "lq":
            out["q"] = self.q
        out.update(eps=self.eps, n_reweightings=self.n_reweightings)
        return out

    @abc.abstractmethod
    def _magnitudes(self, W):
        """|W_jk| (lasso) or ||W_j.|| (group)."""

    def surrogate_value(self, t: np.ndarray) -> np.ndarray:
        """The concave surrogate applied to magnitudes ``t``: ``t^q`` or ``log(t + eps) - log(eps)``.

        The log version is shifted by ``log(eps)`` so that it is 0 at 0 (it does not change the
        minimiser).
        """
        if self.surrogate == "lq":
            return t**self.q
        return np.log1p(t / self.eps)

    def reweight(self, W: np.ndarray) -> np.ndarray:
        """Weights of the next weighted fit, from the current W (majorisation of the surrogate).

        ``q / (t^(1 - q) + eps)`` for ``lq`` (MuTaR's ``1 / (2 sqrt|w| + 1e-10)`` at q = 0.5 up to
        where eps enters) and ``1 / (t + eps)`` for ``log``, with ``t`` the magnitudes. Shape (p, K)
        for the lasso, (p,) for the group lasso.
        """
        t = self._magnitudes(W)
        if self.surrogate == "lq":
            return self.q / (t ** (1.0 - self.q) + self.eps)
        return 1.0 / (t + self.eps)

    def value(self, W: np.ndarray) -> float:
        return float(np.sum(self.surrogate_value(self._magnitudes(np.asarray(W, dtype=float)))))

    def alpha_max(self, G0: np.ndarray) -> float:
        """alpha above which the first (unit-weight) fit, hence every reweighting, is W = 0."""
        t = self._magnitudes(G0)
        return float(np.max(t, initial=0.0))


class AdaptiveLasso(_Reweighted):
    """Independent adaptive (iteratively reweighted) lasso per task (MuTaR's ``IndRewLasso``).

    Objective (DESIGN.md convention; Candès, Wakin & Boyd 2008)::

        sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2 + alpha * sum_jk f(|W_jk|),
        f(t) = t^q  (surrogate="lq", default q = 0.5)   or   log(1 + t / eps)  (surrogate="log")

    minimised by majorisation-minimisation: ``n_reweightings`` weighted lassos, the first with
    unit weights (a plain lasso at level alpha), each next one with per-entry weights
    :meth:`reweight` of the previous solution and warm-started from it.

    Parameters
    ----------
    surrogate : {"lq", "log"}, default "lq"
    q : float in (0, 1), default 0.5
        Exponent of the lq surrogate (MuTaR: 0.5).
    eps : float, optional
        Smoothing of the weights: ``q / (t^(1-q) + eps)`` (default 1e-10, as MuTaR) or
        ``1 / (t + eps)`` (default 1e-2, on the solver's standardised scale).
    n_reweightings : int, default 10
        Number of weighted fits (MuTaR's ``max_iter_reweighting``), the first one unweighted.

    Notes
    -----
    Per-entry weights are solved as one weighted lasso per task (tasks are independent), each by
    the certified block coordinate descent of :mod:`mtreg.solvers.bcd` with per-feature weights.
    Non-convex: the fit reports the objective after every reweighting and stops when it decreases
    by at most ``tol * F(0)``.
    """

    name = "adaptive_lasso"

    def _magnitudes(self, W):
        return np.abs(W)


class AdaptiveGroupLasso(_Reweighted):
    """Adaptive (iteratively reweighted) group lasso over feature rows.

    Objective::

        sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2 + alpha * sum_j f(||W_j.||_2)

    with ``f`` as in :class:`AdaptiveLasso`; each reweighting is a group lasso with per-row weights
    solved by :mod:`mtreg.solvers.bcd`, warm-started from the previous one.

    Parameters
    ----------
    surrogate, q, eps, n_reweightings
        As in :class:`AdaptiveLasso`.
    """

    name = "adaptive_group_lasso"

    def _magnitudes(self, W):
        return np.linalg.norm(W, axis=1)

    def generalized_support(self, W):
        return np.repeat(np.any(W != 0, axis=1)[:, None], W.shape[1], axis=1)


# ============================================================================ dirty
class Dirty(Penalty):
    """Dirty model (Jalali, Ravikumar, Sanghavi & Ruan, NeurIPS 2010): W = B + S.

    Objective (DESIGN.md convention)::

        sum_k 1/(2 n_k) ||y_k - b_k - X_k (B_k + S_k)||^2
            + alpha * ((1 - l1_ratio) ||B||_{1,2} + l1_ratio ||S||_1)

    minimised over the *shared* part B (row-sparse: a feature used by all tasks) and the
    *specific* part S (entry-sparse). MuTaR's ``DirtyModel(alpha=a, beta=b)`` (``a ||B||_{1,2} +
    b ||S||_1``) is ``alpha = a + b``, ``l1_ratio = b / (a + b)``.

    With ``rho = l1_ratio / (1 - l1_ratio)``: for ``rho >= 1`` the model is the group lasso at
    level ``alpha (1 - l1_ratio)`` (S = 0 is optimal), for ``rho <= 1 / sqrt(K)`` it is the
    independent lasso at level ``alpha l1_ratio`` (B = 0 is optimal); in between, both parts are
    used.

    Parameters
    ----------
    l1_ratio : float in (0, 1), default 0.4
        Share of the entry-wise (specific) l1 term.

    Notes
    -----
    Convex. Solved by block coordinate descent over feature rows (each row an exact group step on
    B_j then a soft-thresholding of S_j, Cython), stopped on the duality gap
    ``<= tol * F(0)``. The dual norm of the penalty (an infimal convolution) is
    ``max(max_j ||G_j.||_2 / (1 - r), max_jk |G_jk| / r)``. The solver's record carries
    ``extra["components"] = {"shared": B, "specific": S}``.
    """

    name = "dirty"
    solver = "dirty"
    is_convex = True

    def __init__(self, l1_ratio: float = 0.4):
        self.l1_ratio = _check_real("l1_ratio", l1_ratio, low=0.0, high=1.0, low_open=True,
                                    high_open=True)

    def params(self) -> dict:
        return {"l1_ratio": self.l1_ratio}

    @property
    def levels(self) -> tuple[float, float]:
        """``(1 - l1_ratio, l1_ratio)``: the weights of ||B||_{1,2} and ||S||_1 in Omega."""
        return 1.0 - self.l1_ratio, self.l1_ratio

    def value_components(self, B: np.ndarray, S: np.ndarray) -> float:
        """``(1 - r) ||B||_{1,2} + r ||S||_1``."""
        lb, ls = self.levels
        return float(lb * np.linalg.norm(B, axis=1).sum() + ls * np.abs(S).sum())

    def split(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The decomposition ``W = B + S`` minimising ``value_components`` (row by row).

        For a row w and levels (lb, ls) the optimal S is the soft-thresholding of w whose
        residual B = w - S has the form ``clip(w, -tau, tau)``; tau solves a 1-D convex problem
        (the row cost is ``lb ||clip(w, tau)|| + ls ||w - clip(w, tau)||_1``), found by a bracketed
        golden-section search on [0, max|w|].
        """
        W = np.asarray(W, dtype=float)
        lb, ls = self.levels
        B = np.zeros_like(W)
        for j in range(W.shape[0]):
            w = W[j]
            top = np.abs(w).max(initial=0.0)
            if top == 0:
                continue

            def cost(tau, w=w):
                b = np.clip(w, -tau, tau)
                return lb * np.linalg.norm(b) + ls * np.abs(w - b).sum()

            lo, hi = 0.0, top
            g = (np.sqrt(5) - 1) / 2
            for _ in range(80):
                m1, m2 = hi - g * (hi - lo), lo + g * (hi - lo)
                if cost(m1) <= cost(m2):
                    hi = m2
                else:
                    lo = m1
            tau = 0.5 * (lo + hi)
            cands = [0.0, tau, top]
            tau = min(cands, key=cost)
            B[j] = np.clip(w, -tau, tau)
        return B, W - B

    def value(self, W: np.ndarray) -> float:
        """``Omega(W) = min_{B + S = W} (1 - r) ||B||_{1,2} + r ||S||_1`` (see :meth:`split`)."""
        return self.value_components(*self.split(W))

    def dual_norm(self, G: np.ndarray) -> float:
        lb, ls = self.levels
        return float(max(np.linalg.norm(G, axis=1).max(initial=0.0) / lb,
                         np.abs(G).max(initial=0.0) / ls))

    def alpha_max(self, G0: np.ndarray) -> float:
        return self.dual_norm(G0)

    def generalized_support(self, W):
        return W != 0


def dirty_support(shared: np.ndarray, specific: np.ndarray, tol: float = 0.0) -> np.ndarray:
    """Label every (feature, task) entry of a dirty fit.

    Parameters
    ----------
    shared, specific : array-like of shape (p, K)
        The components B and S (``res.components["shared"]``, ``res.components["specific"]``;
        DataFrames are accepted and keep their labels).
    tol : float, default 0
        Entries with ``|value| <= tol`` count as zero.

    Returns
    -------
    ndarray of str or DataFrame, shape (p, K)
        ``"shared"`` (the row is in B's support and S_jk = 0), ``"shared+specific"`` (both),
        ``"specific"`` (only S_jk != 0) or ``""``.
    """
    import pandas as pd

    labels = None
    if isinstance(shared, pd.DataFrame):
        labels = (shared.index, shared.columns)
    B = np.asarray(shared, dtype=float)
    S = np.asarray(specific, dtype=float)
    row_b = np.repeat((np.abs(B) > tol).any(axis=1)[:, None], B.shape[1], axis=1)
    s = np.abs(S) > tol
    out = np.full(B.shape, "", dtype=object)
    out[row_b & ~s] = "shared"
    out[row_b & s] = "shared+specific"
    out[~row_b & s] = "specific"
    if labels is not None:
        return pd.DataFrame(out, index=labels[0], columns=labels[1])
    return out


# ============================================================================ multilevel
class MultiLevel(Penalty):
    """Multilevel lasso (Lozano & Swirszcz, ICML 2012): W_jk = c_j V_jk, c >= 0.

    Objective (DESIGN.md convention)::

        sum_k 1/(2 n_k) ||y_k - b_k - X_k (c * V_k)||^2 + alpha/2 (||c||_1 + ||V||_1)

    over c (p,) >= 0 and V (p, K). Minimising over the scale split of each row gives the
    equivalent penalty on W (MuTaR's ``MultiLevelLasso``: Lozano & Swirszcz's lambda_1, lambda_2 with
    ``2 sqrt(lambda_1 lambda_2) = alpha``)::

        alpha * Omega(W) = alpha * sum_j sqrt(||W_j.||_1).

    Non-convex (an l_{1/2} norm of the row l1 norms): a feature is selected jointly (c_j > 0) and
    then task by task (V_jk != 0).

    Notes
    -----
    Solved by alternating lassos (:func:`mtreg.solvers.zoo.solve_multilevel`): V-step (weighted
    lasso in W with weights 1/c_j), c-step (a lasso in c on the design ``X_k diag(V_k)``), and an
    exact rebalancing ``c_j = sqrt(||W_j||_1)``; each step is solved with a duality-gap certificate
    and none increases the objective, which is recorded. W = 0 is a local minimiser for every
    alpha (infinite slope of sqrt at 0); :meth:`alpha_max` is the level above which the solver
    started from c = 1 stays at W = 0.
    """

    name = "multilevel"
    solver = "multilevel"
    is_convex = False

    def params(self) -> dict:
        return {}

    def value(self, W: np.ndarray) -> float:
        return float(np.sqrt(np.abs(np.asarray(W, dtype=float)).sum(axis=1)).sum())

    def alpha_max(self, G0: np.ndarray) -> float:
        """``2 max |G0|``: the first V-step (c = 1, level alpha/2) returns 0 above it."""
        return 2.0 * float(np.abs(G0).max(initial=0.0))

    def generalized_support(self, W):
        return W != 0


# ============================================================================ MTW
def ground_metric(coords=None, p: int | None = None, *, power: float = 2.0,
                  normalize: bool = True) -> np.ndarray:
    """Ground metric between features from their coordinates (default: positions 0..p-1).

    Parameters
    ----------
    coords : array-like of shape (p,) or (p, d), optional
        Feature coordinates (a 1-D order, a 2-D grid of pixels, ...).
    p : int, optional
        Number of features when ``coords`` is None (a 1-D grid).
    power : float, default 2
        ``M_ij = ||x_i - x_j||^power`` (MuTaR: squared distance).
    normalize : bool, default True
        Divide by the largest entry (MuTaR's ``normed=True``), so that M lies in [0, 1].

    Returns
    -------
    ndarray of shape (p, p)
    """
    if coords is None:
        if p is None:
            raise ValueError("give coords or p")
        coords = np.arange(p, dtype=float)
    coords = np.asarray(coords, dtype=float)
    if coords.ndim == 1:
        coords = coords[:, None]
    D = np.sqrt(((coords[:, None, :] - coords[None, :, :]) ** 2).sum(-1)) ** power
    if normalize and D.max() > 0:
        D = D / D.max()
    return D


def _kl(x, y) -> float:
    """Generalised KL divergence ``sum x log(x / y) - x + y`` (0 log 0 = 0)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    pos = x > 0
    if np.any(pos & (y <= 0)):
        return np.inf
    return float(np.sum(x[pos] * np.log(x[pos] / y[pos])) - x.sum() + y.sum())


def uot_value(P: np.ndarray, M: np.ndarray, a: np.ndarray, b: np.ndarray, epsilon: float,
              gamma: float) -> float:
    """Primal value of a plan: ``<P, M> + eps sum(P log P - P) + gamma (KL(P1|a) + KL(P^T1|b))``.

    This is the unbalanced entropic OT cost used by :class:`MTW` (entropy relative to the
    Lebesgue measure, Gibbs kernel ``exp(-M / eps)``, as in Janati et al. 2019).
    """
    pos = P > 0
    ent = float(np.sum(P[pos] * np.log(P[pos])) - P.sum())
    return float(np.sum(P * M) + epsilon * ent + gamma * (_kl(P.sum(1), a) + _kl(P.sum(0), b)))


class MTW(Penalty):
    """Multi-task Wasserstein penalty (Janati, Cuturi & Gramfort, AISTATS 2019).

    With W = W+ - W- (W+, W- >= 0) and barycenters q+, q- (p,) of the positive and negative
    parts, the fit minimises (DESIGN.md convention)::

        sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2
            + alpha * [(1 - l1_ratio) sum_k (OT(W+_k, q+) + OT(W-_k, q-))
                       + l1_ratio sum_k (||W+_k||_1 + ||W-_k||_1)]

    where ``OT(a, q) = min_P <P, M> + epsilon sum(P log P - P) + gamma KL(P 1 | a) +
    gamma KL(P^T 1 | q)`` is unbalanced entropic optimal transport over the ground metric M of the
    features (:func:`uot_value`). MuTaR's ``MTW(alpha=a, beta=b)`` (``a`` on OT, ``b`` on l1) is
    ``alpha = a + b``, ``l1_ratio = b / (a + b)``; ``l1_ratio = 1`` is the independent lasso.

    With ``concomitant=True`` the data fit of task k becomes
    ``||y_k - b_k - X_k w_k||^2 / (2 n_k sigma_k) + sigma_k / 2`` and the noise levels sigma_k
    (> ``sigma_min``) are estimated jointly (closed form ``sigma_k = ||r_k|| / sqrt(n_k)``); a
    noisier task then gets a proportionally stronger penalty (MuTaR accepts the flag but does not
    use it in MTW).

    Parameters
    ----------
    l1_ratio : float in (0, 1], default 0.5
        Share of the l1 term.
    M : array-like of shape (p, p), optional
        Ground metric. Default: :func:`ground_metric` of ``coords``.
    coords : array-like of shape (p,) or (p, d), optional
        Feature coordinates for the default metric (default: the order of the features on a
        1-D grid, squared distance, normalised to [0, 1], as MuTaR).
    epsilon : float, optional
        Entropy weight (default ``5 / p``, as MuTaR).
    gamma : float, optional
        Marginal relaxation (default 1).
    concomitant : bool, default False
    sigma_min : float, optional
        Floor of sigma_k as a fraction of the task's ``||y_k|| / sqrt(n_k)`` (default 1e-2).
    max_iter_ot : int, default 3
        Sinkhorn iterations per outer iteration (at most; fewer when the potentials move by less
        than ``tol_ot``). The dual potentials are warm-started across outer iterations, so a few
        suffice (MuTaR runs up to 20). One per step was enough at ``epsilon = 5 / p`` but stalled
        at small epsilon (the Sinkhorn contraction ``gamma / (gamma + epsilon)`` is then close to
        1): on K=8, n=20, p=100, epsilon=1e-3 one iteration per step had not converged after 500
        steps, three converge in about 150; at the harness shape (K=30, n=50, p=500,
        epsilon=5/p) three take 34 steps against 44, in the same time.
    tol_ot : float, default 1e-6
        Sinkhorn stopping rule (largest change of the log-scalings).
    n_reweightings : int, default 1
        MTW fits (1 for MTW; ReMTW reweights).
    threshold : float in [0, 1), default 1e-2
        Entropic OT never gives exact zeros (the entropy keeps a small mass on every feature near
        the barycenter): after the fit, entries of W+ and W- below ``threshold * max |W|`` are set
        to 0 (MuTaR reports them as they are; its ``ot_threshold`` plays a similar role inside the
        Sinkhorn iterations).

    Notes
    -----
    Jointly convex in (W+, W-, plans, barycenters), but not positively homogeneous (entropy) and
    without a duality gap here: ``is_convex`` is False, and the fit is certified by its objective
    trace (block coordinate descent: Sinkhorn barycenter step, then exact coordinate steps on
    W+, W- for fixed plans; both decrease the objective). ``alpha_max`` is the level above which
    W = 0 is a fixed point of these steps, ``max |G0| / (l1_ratio + (1 - l1_ratio) gamma)``.
    """

    name = "mtw"
    solver = "mtw"
    is_convex = False
    reweighted = False

    def __init__(self, l1_ratio: float = 0.5, M=None, coords=None, epsilon: float | None = None,
                 gamma: float | None = None, concomitant: bool = False,
                 sigma_min: float | None = None, max_iter_ot: int = 3, tol_ot: float = 1e-6,
                 n_reweightings: int = 1, threshold: float = 1e-2):
        self.threshold = _check_real("threshold", threshold, low=0.0, high=1.0, high_open=True)
        self.l1_ratio = _check_real("l1_ratio", l1_ratio, low=0.0, high=1.0, low_open=True)
        self.M = None if M is None else np.asarray(M, dtype=float)
        if self.M is not None and (self.M.ndim != 2 or self.M.shape[0] != self.M.shape[1]
                                   or np.any(self.M < 0) or not np.all(np.isfinite(self.M))):
            raise ValueError("M must be a square matrix of finite non-negative costs")
        self.coords = None if coords is None else np.asarray(coords, dtype=float)
        self.epsilon = None if epsilon is None else _check_real("epsilon", epsilon, low=0.0,
                                                                low_open=True)
        self.gamma = None if gamma is None else _check_real("gamma", gamma, low=0.0, low_open=True)
        if not isinstance(concomitant, (bool, np.bool_)):
            raise TypeError(f"concomitant must be True or False, got {concomitant!r}")
        self.concomitant = bool(concomitant)
        self.sigma_min = None if sigma_min is None else _check_real("sigma_min", sigma_min, low=0.0,
                                                                    low_open=True)
        self.max_iter_ot = _check_int("max_iter_ot", max_iter_ot)
        self.tol_ot = _check_real("tol_ot", tol_ot, low=0.0, low_open=True)
        self.n_reweightings = _check_int("n_reweightings", n_reweightings)

    def params(self) -> dict:
        out = {"l1_ratio": self.l1_ratio}
        for k in ("M", "coords", "epsilon", "gamma", "sigma_min"):
            if getattr(self, k) is not None:
                out[k] = getattr(self, k)
        if self.concomitant:
            out["concomitant"] = True
        if self.max_iter_ot != 3:
            out["max_iter_ot"] = self.max_iter_ot
        if self.tol_ot != 1e-6:
            out["tol_ot"] = self.tol_ot
        if self.threshold != 1e-2:
            out["threshold"] = self.threshold
        if self.n_reweightings != (100 if self.reweighted else 1):
            out["n_reweightings"] = self.n_reweightings
        return out

    # ------------------------------------------------------------------ resolved settings
    def metric(self, p: int) -> np.ndarray:
        """The ground metric for p features."""
        M = self.M if self.M is not None else ground_metric(self.coords, p)
        if M.shape != (p, p):
            raise ValueError(f"the ground metric is {M.shape[0]} x {M.shape[1]} but the design "
                             f"has {p} features")
        return np.ascontiguousarray(M)

    def eps_(self, p: int) -> float:
        return self.epsilon if self.epsilon is not None else 5.0 / p

    @property
    def gamma_(self) -> float:
        return self.gamma if self.gamma is not None else 1.0

    @property
    def sigma_min_(self) -> float:
        return self.sigma_min if self.sigma_min is not None else 1e-2

    def l1_term(self, Tp, Tm, weights_p=None, weights_m=None) -> float:
        """``sum (w+ Tp + w- Tm)`` (l1) or ``sum sqrt(Tp) + sqrt(Tm)`` (reweighted variant)."""
        if self.reweighted:
            return float(np.sqrt(Tp).sum() + np.sqrt(Tm).sum())
        return float(Tp.sum() + Tm.sum())

    # ------------------------------------------------------------------ Penalty API
    def value(self, W: np.ndarray) -> float:
        """``Omega(W)`` with W+ = max(W, 0), W- = max(-W, 0), barycenters optimised (Sinkhorn)."""
        from ..solvers.zoo import _OT

        W = np.asarray(W, dtype=float)
        p = W.shape[0]
        Tp, Tm = np.maximum(W, 0.0), np.maximum(-W, 0.0)
        ot = _OT(self.metric(p), self.eps_(p), self.gamma_, max(self.max_iter_ot, 1000), 1e-9)
        ot_val = ot.update(Tp, Tm)
        r = self.l1_ratio
        return float((1 - r) * ot_val + r * self.l1_term(Tp, Tm))

    def alpha_max(self, G0: np.ndarray) -> float:
        r = self.l1_ratio
        return float(np.abs(G0).max(initial=0.0) / (r + (1 - r) * self.gamma_))


class ReMTW(MTW):
    """Reweighted multi-task Wasserstein: :class:`MTW` with ``l_0.5`` instead of l1.

    Objective::

        sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2
            + alpha * [(1 - l1_ratio) sum_k (OT(W+_k, q+) + OT(W-_k, q-))
                       + l1_ratio sum_jk (sqrt(W+_jk) + sqrt(W-_jk))]

    minimised by up to ``n_reweightings`` MTW fits, the first with unit l1 weights, the next
    with weights ``0.5 / (sqrt(W+-_jk) + 1e-10)`` (MuTaR's), each warm-started; non-convex, the
    objective after every reweighting is recorded, and the reweightings stop when one decreases it
    by at most ``tol * F(0)`` (usually after 10 to 20 fits).

    Parameters
    ----------
    l1_ratio, M, coords, epsilon, gamma, concomitant, sigma_min, max_iter_ot, tol_ot, threshold
        As in :class:`MTW`.
    n_reweightings : int, default 100
        Largest number of MTW fits (MuTaR's ``max_iter_reweighting``). Stopping at a fixed 10 (the
        default before) left the objective 0.4% above MuTaR's on its benchmark problem.
    """

    name = "remtw"
    reweighted = True

    def __init__(self, l1_ratio: float = 0.5, M=None, coords=None, epsilon: float | None = None,
                 gamma: float | None = None, concomitant: bool = False,
                 sigma_min: float | None = None, max_iter_ot: int = 3, tol_ot: float = 1e-6,
                 n_reweightings: int = 100, threshold: float = 1e-2):
        super().__init__(l1_ratio=l1_ratio, M=M, coords=coords, epsilon=epsilon, gamma=gamma,
                         concomitant=concomitant, sigma_min=sigma_min, max_iter_ot=max_iter_ot,
                         tol_ot=tol_ot, n_reweightings=n_reweightings, threshold=threshold)
