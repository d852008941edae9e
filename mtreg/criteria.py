"""Information criteria for penalised multi-task fits (df = number of nonzero coefficients).

With per-task residual variances ``s_k^2 = RSS_k / n_k`` (the Gaussian maximum likelihood), the
deviance is ``sum_k n_k log(RSS_k / n_k)`` up to a constant, and::

    AIC  = deviance + 2 df
    BIC  = deviance + log(N) df
    EBIC = BIC + 2 gamma log binom(p K, df)     (Chen & Chen 2008)

where ``N = sum_k n_k``, ``df`` counts the nonzero coefficients (the degrees of freedom of the
lasso, Zou, Hastie & Tibshirani 2007) plus one intercept per task when intercepts are fitted,
and ``p K`` is the number of candidate coefficients.
"""
from __future__ import annotations

import numpy as np
from scipy.special import gammaln

__all__ = ["information_criteria", "CRITERIA"]

CRITERIA = ("aic", "bic", "ebic")


def information_criteria(rss, n, nnz, n_candidates, n_intercepts=0, gamma=0.5) -> dict:
    """AIC, BIC and EBIC of one fit or of a path.

    Parameters
    ----------
    rss : array-like of shape (K,) or (K, L)
        Residual sum of squares per task (per alpha).
    n : array-like of shape (K,)
        Rows per task.
    nnz : int or array-like of shape (L,)
        Nonzero coefficients.
    n_candidates : int
        Number of candidate coefficients (p K).
    n_intercepts : int
        Intercepts fitted (K or 0).
    gamma : float in [0, 1], default 0.5
        EBIC's extra weight on the size of the model space.

    Returns
    -------
    dict with keys "aic", "bic", "ebic", "deviance", "df"
    """
    rss = np.asarray(rss, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    if rss.ndim == 2:
        n = n[:, None]
    with np.errstate(divide="ignore"):
        dev = (n * np.log(rss / n)).sum(axis=0)
    nnz = np.asarray(nnz, dtype=np.float64)
    df = nnz + n_intercepts
    N = n.sum()
    log_binom = gammaln(n_candidates + 1) - gammaln(nnz + 1) - gammaln(n_candidates - nnz + 1)
    aic = dev + 2 * df
    bic = dev + np.log(N) * df
    return {"aic": aic, "bic": bic, "ebic": bic + 2 * gamma * log_binom, "deviance": dev, "df": df}
