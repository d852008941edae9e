"""Regularisation paths: a geometric grid of alphas from ``alpha_max`` down, with warm starts.

``mtreg.path`` fits one model per alpha, each started from the solution at the previous
(larger) alpha, as glmnet does. :class:`PathResults` holds the coefficients at every alpha on
the original scale, prints like glmnet's ``print.glmnet`` (Df, %Dev, alpha) and plots like
``plot.glmnet``.
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
from patsy import EvalEnvironment

from .criteria import CRITERIA, information_criteria
from .model import MultiTaskModel, _check_int, _check_positive_number
from .solvers import bcd, get_solver, logistic, to_original_scale
from .solvers.logistic import LogisticProblem
from .solvers.problem import Problem

__all__ = ["PathResults", "path", "alpha_grid", "fit_path", "select"]


def alpha_grid(alpha_max: float, n_alphas: int = 100, alpha_min_ratio: float | None = None, *,
               n_samples: int | None = None, n_features: int | None = None) -> np.ndarray:
    """A decreasing geometric grid from ``alpha_max`` to ``alpha_min_ratio * alpha_max``.

    Parameters
    ----------
    alpha_max : float
        The largest alpha (all coefficients zero).
    n_alphas : int, default 100
    alpha_min_ratio : float in (0, 1), optional
        glmnet's ``lambda.min.ratio``; by default 1e-4 when every task has more rows than
        features (``n_samples > n_features``), 1e-2 otherwise.
    n_samples, n_features : int, optional
        Used for the default ratio (``n_samples`` = rows of the smallest task).

    Returns
    -------
    ndarray of shape (n_alphas,)
    """
    n_alphas = _check_int("n_alphas", n_alphas)
    if alpha_min_ratio is None:
        alpha_min_ratio = 1e-4 if (n_samples or 0) > (n_features or 0) else 1e-2
    alpha_min_ratio = _check_positive_number("alpha_min_ratio", alpha_min_ratio, allow_zero=False)
    if alpha_min_ratio >= 1:
        raise ValueError(f"alpha_min_ratio must be < 1, got {alpha_min_ratio!r}")
    if not np.isfinite(alpha_max) or alpha_max <= 0:
        raise ValueError(f"alpha_max must be finite and > 0 to build a grid, got {alpha_max!r}; "
                         "pass alphas explicitly")
    if n_alphas == 1:
        return np.array([alpha_max])
    return alpha_max * np.geomspace(1.0, alpha_min_ratio, n_alphas)


def _check_alphas(alphas) -> np.ndarray:
    alphas = np.asarray(alphas, dtype=np.float64).ravel()
    if alphas.size == 0:
        raise ValueError("alphas is empty")
    if not np.all(np.isfinite(alphas)) or np.any(alphas < 0):
        raise ValueError("alphas must be finite and >= 0")
    return np.sort(alphas)[::-1]  # decreasing: warm starts go from sparse to dense


@dataclass
class _RawPath:
    coef: np.ndarray        # (p, K, L) standardised scale
    intercept: np.ndarray   # (K, L) inline intercepts
    n_iter: np.ndarray      # (L,)
    gap: np.ndarray         # (L,)
    converged: np.ndarray   # (L,)


def _raw_from_records(recs) -> _RawPath:
    return _RawPath(np.stack([r.coef for r in recs], axis=2),
                    np.stack([r.intercept for r in recs], axis=1),
                    np.array([r.n_iter for r in recs], dtype=np.int64),
                    np.array([r.gap for r in recs]),
                    np.array([r.converged for r in recs], dtype=bool))


def fit_path(problem, penalty, alphas, *, tol=1e-6, max_iter=10_000, coef_init=None) -> _RawPath:
    """Fit ``problem`` at every alpha (decreasing), each fit warm-started from the previous one."""
    p, K, L = problem.n_features, problem.n_tasks, len(alphas)
    grid = [float(a) for a in alphas]
    if isinstance(problem, LogisticProblem):
        # binomial: W, intercepts and the linear predictor carried along, strong-rule working sets
        return _raw_from_records(logistic.solve_path(problem, penalty, grid, tol=tol,
                                                     max_iter=max_iter, coef_init=coef_init))
    if type(problem) is Problem and getattr(penalty, "solver", "bcd") == "bcd" \
            and getattr(penalty, "kernel", None) in ("l1", "l21"):
        # Gaussian BCD: residuals, last gradient and predicted warm starts carried along
        return _raw_from_records(bcd.solve_path(problem, penalty, grid, tol=tol,
                                                max_iter=max_iter, coef_init=coef_init))
    solve = get_solver(penalty)
    coef = np.zeros((p, K, L))
    intercept = np.zeros((K, L))
    n_iter = np.zeros(L, dtype=np.int64)
    gap = np.zeros(L)
    converged = np.zeros(L, dtype=bool)
    W = coef_init
    for i, alpha in enumerate(alphas):
        rec = solve(problem, penalty, float(alpha), tol=tol, max_iter=max_iter, coef_init=W)
        coef[:, :, i], intercept[:, i] = rec.coef, rec.intercept
        n_iter[i], gap[i], converged[i] = rec.n_iter, rec.gap, rec.converged
        W = rec.coef
    return _RawPath(coef, intercept, n_iter, gap, converged)


class PathResults:
    """Coefficients along a grid of alphas (largest first).

    Attributes
    ----------
    alphas : ndarray of shape (L,)
        Decreasing penalty strengths.
    coefs : ndarray of shape (p, K, L)
        Coefficients (original scale) at every alpha: features x tasks x alphas.
    intercepts : ndarray of shape (K, L)
    nnz : ndarray of shape (L,)
        Nonzero coefficients at every alpha (all tasks).
    df : ndarray of shape (L,)
        Features selected by at least one task.
    dev_ratio : ndarray of shape (L,)
        Fraction of deviance explained, ``1 - sum_k RSS_k/n_k / sum_k TSS_k/n_k`` (glmnet's
        %Dev/100; each task weighted as in the objective).
    r2 : pandas.DataFrame of shape (L, K)
        R² of every task at every alpha (binomial: the fraction of null deviance explained).
    deviance : ndarray of shape (K, L) or None
        Binomial deviance of every task at every alpha (None for Gaussian paths).
    model : MultiTaskModel
    """

    def __init__(self, model: MultiTaskModel, alphas, raw: _RawPath, alpha_max: float):
        self.model = model
        self.alphas = np.asarray(alphas)
        self.alpha_max = alpha_max
        problem = model.problem
        L = len(self.alphas)
        coefs = np.empty_like(raw.coef)
        intercepts = np.empty_like(raw.intercept)
        for i in range(L):
            W, b = to_original_scale(problem, raw.coef[:, :, i], raw.intercept[:, i])
            coefs[:, :, i] = W
            intercepts[:, i] = b if model.fit_intercept else 0.0
        self.coefs = coefs
        self.intercepts = intercepts
        self.n_iter = raw.n_iter
        self.gaps = raw.gap
        self.converged = raw.converged
        self.nnz = (coefs != 0).sum(axis=(0, 1))
        self.df = np.any(coefs != 0, axis=1).sum(axis=0)
        self._fit_stats()

    def _fit_stats(self):
        d = self.model.design
        K, L = d.n_tasks, len(self.alphas)
        self.deviance = None
        if getattr(self.model, "family", "gaussian") == "binomial":
            from .solvers.logistic import path_deviance

            dev, null = path_deviance(d, self.coefs, self.intercepts, self.model.fit_intercept)
            n = d.n_samples[:, None]
            self.deviance = dev
            self.rss = None
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = 1 - dev / null[:, None]
            self.r2 = pd.DataFrame(ratio.T, index=pd.Index(self.alphas, name="alpha"), columns=d.tasks)
            self.dev_ratio = 1 - (dev / n).sum(axis=0) / (null[:, None] / n).sum(axis=0)
            return
        rss = np.empty((K, L))
        tss = np.empty(K)
        for k in range(K):
            sl = slice(d.task_ptr[k], d.task_ptr[k + 1])
            Xk = d.X if d.shared else d.X[sl]
            yk = d.y[sl]
            pred = Xk @ self.coefs[:, k, :] + self.intercepts[k]
            rss[k] = ((yk[:, None] - pred) ** 2).sum(axis=0)
            center = yk.mean() if self.model.fit_intercept else 0.0
            tss[k] = ((yk - center) ** 2).sum()
        n = d.n_samples[:, None]
        self.rss = rss
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = 1 - rss / tss[:, None]
        self.r2 = pd.DataFrame(r2.T, index=pd.Index(self.alphas, name="alpha"), columns=d.tasks)
        self.dev_ratio = 1 - (rss / n).sum(axis=0) / (tss[:, None] / n).sum(axis=0)

    def criteria(self, gamma=0.5) -> pd.DataFrame:
        """AIC, BIC and EBIC at every alpha (see :mod:`mtreg.criteria`; binomial paths use the
        deviance in place of the Gaussian ``sum_k n_k log(RSS_k / n_k)``)."""
        d = self.model.design
        if self.deviance is not None:
            df = self.nnz + (d.n_tasks if self.model.fit_intercept else 0)
            N = float(d.n_samples.sum())
            ic = information_criteria(np.ones((d.n_tasks, len(self.alphas))), d.n_samples, self.nnz,
                                      d.n_features * d.n_tasks, d.n_tasks if self.model.fit_intercept else 0,
                                      gamma=gamma)
            dev = self.deviance.sum(axis=0)
            extra = ic["ebic"] - ic["bic"]
            return pd.DataFrame({"alpha": self.alphas, "df": df, "aic": dev + 2 * df,
                                 "bic": dev + np.log(N) * df, "ebic": dev + np.log(N) * df + extra})
        ic = information_criteria(self.rss, d.n_samples, self.nnz, d.n_features * d.n_tasks,
                                  d.n_tasks if self.model.fit_intercept else 0, gamma=gamma)
        return pd.DataFrame({"alpha": self.alphas, "df": ic["df"], "aic": ic["aic"],
                             "bic": ic["bic"], "ebic": ic["ebic"]})

    # ------------------------------------------------------------------ access
    def _locate(self, alpha):
        """Index pair and weight to interpolate at ``alpha`` (linear in alpha, as glmnet)."""
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
            raise TypeError(f"alpha must be a number, got {alpha!r}")
        a = self.alphas
        hit = np.flatnonzero(np.isclose(a, alpha, rtol=1e-10, atol=0))
        if hit.size:
            return hit[0], hit[0], 0.0
        if not a.min() <= alpha <= a.max():
            raise ValueError(f"alpha={alpha!r} lies outside the path [{a.min():.4g}, {a.max():.4g}]")
        hi = np.flatnonzero(a > alpha)[-1]  # a[hi] > alpha > a[hi + 1]
        lo = hi + 1
        t = (a[hi] - alpha) / (a[hi] - a[lo])
        return hi, lo, t

    def coef(self, alpha) -> pd.DataFrame:
        """Coefficients (features x tasks) at ``alpha``, interpolated between grid points."""
        i, j, t = self._locate(alpha)
        W = (1 - t) * self.coefs[:, :, i] + t * self.coefs[:, :, j]
        d = self.model.design
        return pd.DataFrame(W, index=pd.Index(d.feature_names, name="feature"), columns=d.tasks)

    def intercept(self, alpha) -> pd.Series:
        """Per-task intercepts at ``alpha``."""
        i, j, t = self._locate(alpha)
        return pd.Series((1 - t) * self.intercepts[:, i] + t * self.intercepts[:, j],
                         index=self.model.design.tasks, name="intercept")

    def results(self, alpha):
        """A full :class:`~mtreg.results.MultiTaskResults` at ``alpha`` (refit, warm-started)."""
        return self.model.fit(alpha, tol=self.tol, max_iter=self.max_iter,
                              init=self.coef(alpha).to_numpy())

    def predict(self, newdata=None, alpha=None, task=None):
        """Predictions at ``alpha`` (a number on the path) for new rows, as ``results.predict``."""
        if alpha is None:
            raise TypeError("predict needs alpha=")
        return self.results(alpha).predict(newdata, task=task)

    def to_frame(self) -> pd.DataFrame:
        """glmnet's print: one row per alpha with Df (features selected), nnz, %Dev and alpha."""
        return pd.DataFrame({"Df": self.df, "nnz": self.nnz,
                             "%Dev": np.round(100 * self.dev_ratio, 2), "alpha": self.alphas})

    def __str__(self) -> str:
        d = self.model.design
        head = (f"Regularisation path: {self.model.penalty!r}, {d.n_tasks} tasks, "
                f"{d.n_features} features, {len(self.alphas)} alphas\n")
        return head + self.to_frame().to_string(float_format=lambda v: f"{v:.4g}")

    def __repr__(self) -> str:
        return f"<PathResults: {len(self.alphas)} alphas, {self.model.penalty!r}>"

    def _repr_html_(self) -> str:
        return self.to_frame().to_html(float_format=lambda v: f"{v:.4g}")

    def plot(self, kind="norms", task=None, ax=None, label=False):
        """Coefficient paths against log(alpha), nnz on the top axis (like ``plot.glmnet``).

        Parameters
        ----------
        kind : {"norms", "coef"}
            ``"norms"``: one line per feature, its l2 norm across tasks; ``"coef"``: the
            coefficients of one task (``task=``).
        task : label, optional
            The task to draw with ``kind="coef"``.
        ax : matplotlib Axes, optional
        label : bool
            Write feature names at the end of their lines.

        Returns
        -------
        matplotlib.axes.Axes
        """
        from .plotting import plot_path

        return plot_path(self, kind=kind, task=task, ax=ax, label=label)


def path(formula, data=None, task=None, *, penalty="group_lasso", n_alphas=100,
         alpha_min_ratio=None, alphas=None, fit_intercept=True, standardize=True,
         family="gaussian", missing="drop", tol=1e-6, max_iter=10_000, dtype="float64",
         **penalty_options):
    """Fit a regularisation path from a formula.

    Parameters
    ----------
    formula, data, task, penalty, fit_intercept, standardize, family, missing, dtype
        As in :func:`mtreg.fit`.
    n_alphas : int, default 100
        Grid size (ignored with ``alphas``).
    alpha_min_ratio : float, optional
        Smallest alpha as a fraction of ``alpha_max`` (glmnet's rule by default: 1e-4 when the
        smallest task has more rows than features, else 1e-2).
    alphas : array-like, optional
        Explicit grid (sorted decreasing).
    tol, max_iter
        Per fit, see :meth:`MultiTaskModel.fit`.
    **penalty_options
        Hyperparameters of the penalty, e.g. ``l1_ratio``.

    Returns
    -------
    PathResults
    """
    model = MultiTaskModel.from_formula(formula, data, task=task, missing=missing,
                                        eval_env=EvalEnvironment.capture(1), penalty=penalty,
                                        fit_intercept=fit_intercept, standardize=standardize,
                                        family=family, dtype=dtype, **penalty_options)
    return path_from_model(model, n_alphas=n_alphas, alpha_min_ratio=alpha_min_ratio,
                           alphas=alphas, tol=tol, max_iter=max_iter)


def path_from_model(model: MultiTaskModel, *, n_alphas=100, alpha_min_ratio=None, alphas=None,
                    tol=1e-6, max_iter=10_000) -> PathResults:
    """The path of an existing :class:`MultiTaskModel` (see :func:`path`)."""
    tol = _check_positive_number("tol", tol, allow_zero=False)
    max_iter = _check_int("max_iter", max_iter)
    alphas, amax = _model_alphas(model, n_alphas, alpha_min_ratio, alphas)
    raw = fit_path(model.problem, model.penalty, alphas, tol=tol, max_iter=max_iter)
    return _path_results(model, alphas, raw, amax, tol, max_iter)


def _model_alphas(model: MultiTaskModel, n_alphas, alpha_min_ratio, alphas):
    """``(alphas, alpha_max)`` of a model's path: the given grid (sorted) or glmnet's default."""
    try:
        amax = model.alpha_max()
    except ValueError:
        amax = np.inf
    if alphas is None:
        d = model.design
        alphas = alpha_grid(amax, n_alphas, alpha_min_ratio, n_samples=int(d.n_samples.min()),
                            n_features=d.n_features)
    else:
        alphas = _check_alphas(alphas)
    return alphas, amax


def _path_results(model, alphas, raw: _RawPath, amax, tol, max_iter) -> PathResults:
    """:class:`PathResults` of a raw path fitted by :func:`fit_path` (here or in a worker)."""
    res = PathResults(model, alphas, raw, amax)
    res.tol, res.max_iter = tol, max_iter
    return res


def select(path: PathResults, criterion="bic", gamma=0.5):
    """Pick the alpha of a path that minimises an information criterion (as grpreg's select).

    Parameters
    ----------
    path : PathResults
    criterion : {"aic", "bic", "ebic"}
    gamma : float, default 0.5
        EBIC's weight on the model-space size.

    Returns
    -------
    MultiTaskResults
        The fit at the selected alpha; its ``selection`` attribute holds the criterion table.
    """
    if criterion not in CRITERIA:
        raise ValueError(f"unknown criterion {criterion!r}; available: {', '.join(CRITERIA)}")
    table = path.criteria(gamma=gamma)
    best = int(np.argmin(table[criterion].to_numpy()))
    res = path.results(float(path.alphas[best]))
    res.selection = {"criterion": criterion, "alpha": float(path.alphas[best]), "table": table}
    return res
