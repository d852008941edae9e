"""Simulations built for the MuTaR model zoo, in MuTaR's shapes.

Every function returns a :class:`ZooData` with ``X`` (n_tasks, n_samples, n_features), ``y``
(n_tasks, n_samples), the true ``coef`` (n_features, n_tasks), a test set drawn the same way and
the structure the simulation plants (``extra``). :meth:`ZooData.to_frame` gives the long table
for :func:`mtreg.fit`; :func:`support_f1` and :func:`estimation_error` score a fit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["ZooData", "simulate_dirty", "simulate_shifted_supports", "simulate_shared_support",
           "support_f1", "estimation_error"]


@dataclass
class ZooData:
    """Simulated multi-task data.

    Attributes
    ----------
    X, y : ndarray (K, n, p), (K, n)
        Training data.
    X_test, y_test : ndarray (K, n_test, p), (K, n_test)
    coef : ndarray (p, K)
        True coefficients (intercepts are 0).
    noise : ndarray (K,)
        Noise standard deviation of every task.
    extra : dict
        Planted structure (e.g. ``shared``/``specific`` parts, the ``shift`` of every task).
    """

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    coef: np.ndarray
    noise: np.ndarray
    extra: dict = field(default_factory=dict)

    def to_frame(self, test: bool = False) -> pd.DataFrame:
        """Long table with columns ``x0 .. x{p-1}``, ``y`` and ``task`` (for :func:`mtreg.fit`)."""
        X, y = (self.X_test, self.y_test) if test else (self.X, self.y)
        K, n, p = X.shape
        df = pd.DataFrame(X.reshape(K * n, p), columns=[f"x{j}" for j in range(p)])
        df["y"] = y.reshape(-1)
        df["task"] = np.repeat(np.arange(K), n)
        return df

    @property
    def formula(self) -> str:
        return "y ~ " + " + ".join(f"x{j}" for j in range(self.X.shape[2]))


def _draw(coef, n, n_test, snr, rho, rng):
    p, K = coef.shape
    cov = rho ** np.abs(np.subtract.outer(np.arange(p), np.arange(p)))
    L = np.linalg.cholesky(cov)
    X = rng.standard_normal((K, n + n_test, p)) @ L.T
    signal = np.einsum("knp,pk->kn", X, coef)
    noise = signal[:, :n].std(axis=1) / snr
    noise[noise == 0] = 1.0
    y = signal + noise[:, None] * rng.standard_normal((K, n + n_test))
    return X[:, :n], y[:, :n], X[:, n:], y[:, n:], noise


def _amplitudes(shape, rng):
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(1.0, 2.0, size=shape)


def simulate_shared_support(n_tasks=10, n_samples=50, n_features=100, n_relevant=5, snr=2.0,
                            rho=0.0, n_test=100, random_state=None) -> ZooData:
    """Every task uses the same ``n_relevant`` features (the group lasso's structure)."""
    rng = np.random.default_rng(random_state)
    coef = np.zeros((n_features, n_tasks))
    rows = rng.choice(n_features, n_relevant, replace=False)
    coef[rows] = _amplitudes((n_relevant, n_tasks), rng)
    X, y, Xt, yt, noise = _draw(coef, n_samples, n_test, snr, rho, rng)
    return ZooData(X, y, Xt, yt, coef, noise, {"rows": np.sort(rows)})


def simulate_dirty(n_tasks=10, n_samples=50, n_features=100, n_shared=4, n_specific=2, snr=2.0,
                   rho=0.0, n_test=100, random_state=None) -> ZooData:
    """Shared rows (used by every task) plus a few task-specific entries (the dirty model's).

    ``extra["shared"]`` and ``extra["specific"]`` are the two parts (p, K) of ``coef``.
    """
    rng = np.random.default_rng(random_state)
    B = np.zeros((n_features, n_tasks))
    S = np.zeros((n_features, n_tasks))
    rows = rng.choice(n_features, n_shared, replace=False)
    B[rows] = _amplitudes((n_shared, n_tasks), rng)
    others = np.setdiff1d(np.arange(n_features), rows)
    for k in range(n_tasks):
        js = rng.choice(others, n_specific, replace=False)
        S[js, k] = _amplitudes(n_specific, rng)
    coef = B + S
    X, y, Xt, yt, noise = _draw(coef, n_samples, n_test, snr, rho, rng)
    return ZooData(X, y, Xt, yt, coef, noise, {"shared": B, "specific": S})


def simulate_shifted_supports(n_tasks=10, n_samples=50, n_features=100, n_sources=3,
                              max_shift=2, snr=2.0, rho=0.0, n_test=100, positive=True,
                              random_state=None) -> ZooData:
    """Sources on a 1-D grid whose position moves by up to ``max_shift`` features across tasks.

    Each of ``n_sources`` sources sits at a center ``c`` (well inside the grid); in task k it is
    at ``c + s_k``, ``s_k`` drawn uniformly in ``{-max_shift, ..., max_shift}``: supports overlap
    only partially, but are close in the geometry of the grid (MTW's structure, as the MEG/EEG
    sources of Janati et al. 2019). ``extra["centers"]``, ``extra["shifts"]`` (n_sources, K);
    ``extra["coords"]`` the grid.
    """
    rng = np.random.default_rng(random_state)
    margin = max_shift + 1
    spacing = (n_features - 2 * margin) // max(n_sources, 1)
    centers = margin + spacing // 2 + spacing * np.arange(n_sources)
    shifts = rng.integers(-max_shift, max_shift + 1, size=(n_sources, n_tasks))
    coef = np.zeros((n_features, n_tasks))
    for s, c in enumerate(centers):
        amp = rng.uniform(1.0, 2.0, size=n_tasks)
        if not positive:
            amp *= rng.choice([-1.0, 1.0])
        coef[c + shifts[s], np.arange(n_tasks)] = amp
    X, y, Xt, yt, noise = _draw(coef, n_samples, n_test, snr, rho, rng)
    return ZooData(X, y, Xt, yt, coef, noise, {"centers": centers, "shifts": shifts,
                                               "coords": np.arange(n_features, dtype=float)})


def support_f1(coef, true_coef) -> float:
    """F1 score of the estimated support (entries != 0) against the true one."""
    s = np.asarray(coef) != 0
    t = np.asarray(true_coef) != 0
    tp = int((s & t).sum())
    denom = int(s.sum() + t.sum())
    return 2.0 * tp / denom if denom else 1.0


def estimation_error(coef, true_coef) -> float:
    """Relative Frobenius error ``||W - W*|| / ||W*||``."""
    return float(np.linalg.norm(np.asarray(coef) - true_coef) / np.linalg.norm(true_coef))
