"""Lasso (element-wise l1) and group lasso (row-wise l1/l2), both with an elastic-net term.

With ``r = l1_ratio`` and optional non-negative feature weights ``w_j`` (0 = unpenalised)::

    lasso:        Omega(W) = r * sum_jk w_j |W_jk|       + (1 - r)/2 * ||W||_F^2
    group_lasso:  Omega(W) = r * sum_j  w_j ||W_j.||_2   + (1 - r)/2 * ||W||_F^2

so that ``alpha * Omega`` is scikit-learn's ``Lasso``/``ElasticNet`` per task, respectively
``MultiTaskLasso``/``MultiTaskElasticNet``, when every task shares X.
"""
from __future__ import annotations

import abc

import numpy as np

from .base import Penalty, check_l1_ratio


class _ElasticNetFamily(Penalty):
    def __init__(self, l1_ratio: float = 1.0, weights=None):
        self.l1_ratio = check_l1_ratio(l1_ratio)
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64)
            if weights.ndim != 1:
                raise ValueError(f"weights must be one value per feature (1-D), got shape {weights.shape}")
            if not np.all(np.isfinite(weights)) or np.any(weights < 0):
                raise ValueError("weights must be finite and non-negative (0 leaves a feature unpenalised)")
        self.weights = weights

    def params(self) -> dict:
        out = {"l1_ratio": self.l1_ratio}
        if self.weights is not None:
            out["weights"] = self.weights
        return out

    def feature_weights(self, p: int) -> np.ndarray:
        """Per-feature weights of the l1 part, shape (p,)."""
        if self.weights is None:
            return np.ones(p)
        if self.weights.shape != (p,):
            raise ValueError(f"weights has {self.weights.shape[0]} entries but the design has {p} features")
        return self.weights

    @abc.abstractmethod
    def _norms(self, W):
        """Row (l21) or entry (l1) norms of W, shape (p,) or (p, K)."""

    def value(self, W: np.ndarray) -> float:
        w = self.feature_weights(W.shape[0])
        norms = self._norms(W)
        norms = norms if norms.ndim == 1 else norms.sum(axis=1)
        return float(self.l1_ratio * (w @ norms) + 0.5 * (1 - self.l1_ratio) * np.sum(W**2))

    def dual_norm(self, G: np.ndarray) -> float:
        """``max_j norm(G_j) / w_j`` over penalised features (inf if an unpenalised one is nonzero)."""
        w = self.feature_weights(G.shape[0])
        norms = self._norms(G)
        norms = norms if norms.ndim == 1 else norms.max(axis=1)
        pen = w > 0
        if np.any(norms[~pen] > 0):
            return np.inf
        return float(np.max(norms[pen] / w[pen], initial=0.0))

    def alpha_max(self, G0: np.ndarray) -> float:
        if self.l1_ratio == 0:
            raise ValueError("alpha_max is infinite for l1_ratio=0 (pure ridge): give alpha, not alpha_frac")
        return self.dual_norm(G0) / self.l1_ratio


class Lasso(_ElasticNetFamily):
    """Independent l1 penalty per task (elastic net when ``l1_ratio < 1``).

    Parameters
    ----------
    l1_ratio : float in [0, 1], default 1
        Mixing of l1 and squared l2 (scikit-learn's convention).
    weights : array-like of shape (p,), optional
        Per-feature l1 weights; 0 leaves a feature unpenalised.
    """

    name = "lasso"
    kernel = "l1"

    def _norms(self, W):
        return np.abs(W)

    def prox(self, W, step):
        t = step * self.l1_ratio * self.feature_weights(W.shape[0])[:, None]
        return np.sign(W) * np.maximum(np.abs(W) - t, 0.0) / (1 + step * (1 - self.l1_ratio))

    def kkt_violation(self, W, G, alpha):
        lam = alpha * self.l1_ratio * self.feature_weights(W.shape[0])[:, None]
        G = G - alpha * (1 - self.l1_ratio) * W
        viol = np.where(W != 0, np.abs(G - lam * np.sign(W)), np.maximum(np.abs(G) - lam, 0.0))
        return viol.max(axis=1)


class GroupLasso(_ElasticNetFamily):
    """l1/l2 penalty over feature rows: a feature is selected for all tasks or none.

    Parameters
    ----------
    l1_ratio : float in [0, 1], default 1
        Mixing of the l1/l2 norm and the squared Frobenius norm (scikit-learn's
        ``MultiTaskElasticNet`` convention).
    weights : array-like of shape (p,), optional
        Per-row weights; 0 leaves a feature unpenalised.
    """

    name = "group_lasso"
    kernel = "l21"

    def _norms(self, W):
        return np.linalg.norm(W, axis=1)

    def generalized_support(self, W):
        return np.repeat(np.any(W != 0, axis=1)[:, None], W.shape[1], axis=1)

    def prox(self, W, step):
        t = step * self.l1_ratio * self.feature_weights(W.shape[0])
        nrm = np.linalg.norm(W, axis=1)
        shrink = np.maximum(1 - t / np.maximum(nrm, 1e-300), 0.0)
        return W * shrink[:, None] / (1 + step * (1 - self.l1_ratio))

    def kkt_violation(self, W, G, alpha):
        lam = alpha * self.l1_ratio * self.feature_weights(W.shape[0])
        G = G - alpha * (1 - self.l1_ratio) * W
        nrm = np.linalg.norm(W, axis=1)
        active = nrm > 0
        viol = np.maximum(np.linalg.norm(G, axis=1) - lam, 0.0)
        unit = W[active] / nrm[active, None]
        viol[active] = np.linalg.norm(G[active] - lam[active, None] * unit, axis=1)
        return viol
