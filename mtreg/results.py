"""The results of a multi-task fit: coefficients, fitted values, predictions, reports.

A :class:`MultiTaskResults` is thin: it holds the model (design, penalty, options), the
coefficients on the original scale of X, the intercepts and the solver record, and computes
everything else lazily. Numerics stay in arrays; feature and task labels are attached when a
pandas object is returned. Tables are formatted by :mod:`mtreg.report`.
"""
from __future__ import annotations

import importlib
import io
import math
import pickle
import types
import warnings
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.special import expit, gammaln, xlogy

from . import report
from .criteria import information_criteria
from .report import SupportTable

__all__ = ["MultiTaskResults", "SupportTable"]


_MAX_TASK_COLUMNS = report.MAX_TASK_COLUMNS  # (the class defines a method named report)
#: the summary notes perfect separation of a task when alpha / alpha_max is below this
_SEPARATION_ALPHA_FRAC = 1e-2


def _binomial_criteria(deviance, n_obs, nnz, n_candidates, n_intercepts=0, gamma=0.5) -> dict:
    """AIC, BIC and EBIC from the binomial deviance (df as in :mod:`mtreg.criteria`)."""
    df = nnz + n_intercepts
    log_binom = gammaln(n_candidates + 1) - gammaln(nnz + 1) - gammaln(n_candidates - nnz + 1)
    aic = deviance + 2 * df
    bic = deviance + np.log(n_obs) * df
    return {"aic": aic, "bic": bic, "ebic": bic + 2 * gamma * log_binom, "deviance": deviance,
            "df": df}


class MultiTaskResults:
    """Results of fitting a :class:`~mtreg.model.MultiTaskModel`.

    The model minimised (shared/DESIGN.md)::

        F(W, b) = sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2  +  alpha * Omega(W)

    or, for ``family="binomial"``, each task's mean logistic loss
    ``1/n_k sum_i [log(1 + exp(eta_ki)) - y_ki eta_ki]`` with ``eta_k = b_k + X_k w_k``; then
    :attr:`fittedvalues` are probabilities, :meth:`predict` takes ``type="response" | "link" |
    "class"``, and the per-task table reports deviance, null deviance, AUC, AUC-PR and
    accuracy.

    Parameters
    ----------
    model : MultiTaskModel
        The fitted model; provides ``design`` (a :class:`~mtreg.design.TaskDesign`),
        ``penalty``, ``fit_intercept``, ``standardize``, ``family``, ``tol``, ``max_iter``.
    coef : ndarray of shape (p, K)
        Coefficients W on the original scale of X (features x tasks).
    intercept : ndarray of shape (K,)
        Per-task intercepts b on the original scale.
    record : SolverRecord
        What the solver reported (iterations, duality gap, convergence, objective).
    alpha : float
        Regularisation strength used.
    alpha_max : float, optional
        Smallest alpha for which W = 0 is optimal (None if unknown, e.g. non-convex fits).

    Attributes
    ----------
    model, record, alpha, alpha_max
        As given.
    """

    _STATE = ("model", "_coef", "_intercept", "record", "alpha", "alpha_max", "alpha_selection")

    def __init__(self, model, coef, intercept, record, *, alpha, alpha_max=None,
                 alpha_selection=None):
        design = model.design
        p, K = design.n_features, design.n_tasks
        coef = np.array(coef, dtype=np.float64)
        if coef.shape != (p, K):
            raise ValueError(f"coef must have shape (n_features, n_tasks) = ({p}, {K}), "
                             f"got {coef.shape}")
        intercept = np.array(intercept, dtype=np.float64).reshape(-1)
        if intercept.shape != (K,):
            raise ValueError(f"intercept must have one value per task ({K}), "
                             f"got shape {intercept.shape}")
        self.model = model
        self._coef = coef
        self._intercept = intercept
        self.record = record
        self.alpha = float(alpha)
        self.alpha_max = None if alpha_max is None else float(alpha_max)
        #: how alpha was chosen (e.g. "10-fold CV, 1-SE rule"); None when given by the user
        self.alpha_selection = alpha_selection

    # ------------------------------------------------------------------ basic attributes
    @property
    def design(self):
        """The :class:`~mtreg.design.TaskDesign` the model was fitted on."""
        return self.model.design

    @property
    def penalty(self):
        """The penalty object (``.name``, ``.params()``)."""
        return self.model.penalty

    @property
    def alpha_frac(self) -> float:
        """``alpha / alpha_max`` (nan when ``alpha_max`` is unknown or zero)."""
        if self.alpha_max is None or not np.isfinite(self.alpha_max) or self.alpha_max <= 0:
            return float("nan")
        return self.alpha / self.alpha_max

    @property
    def converged(self) -> bool:
        """Whether the solver met its stopping certificate."""
        return bool(self.record.converged)

    @property
    def n_iter(self) -> int:
        """Solver epochs performed."""
        return int(self.record.n_iter)

    @property
    def gap(self) -> float:
        """Final duality gap (objective units of the standardised problem; nan if non-convex)."""
        return float(self.record.gap)

    @property
    def tasks(self) -> pd.Index:
        """Task labels, in task order."""
        return self.design.tasks

    @property
    def feature_names(self) -> list[str]:
        return list(self.design.feature_names)

    # ------------------------------------------------------------------ coefficients
    @cached_property
    def params(self) -> pd.DataFrame:
        """Coefficients, features x tasks, on the original scale of X."""
        return pd.DataFrame(self._coef, index=pd.Index(self.feature_names, name="feature"),
                            columns=self._task_index())

    @cached_property
    def intercepts(self) -> pd.Series:
        """Per-task intercepts (zeros when ``fit_intercept=False``)."""
        return pd.Series(self._intercept, index=self._task_index(), name="intercept")

    @cached_property
    def nnz(self) -> pd.Series:
        """Number of nonzero coefficients per task."""
        return pd.Series(np.count_nonzero(self._coef, axis=0), index=self._task_index(),
                         name="nnz")

    @property
    def df_model(self) -> pd.Series:
        """Degrees of freedom per task: the number of nonzero coefficients.

        For the lasso this is an unbiased estimate of the degrees of freedom
        (Zou, Hastie & Tibshirani 2007); the intercept is not counted (as in statsmodels).
        """
        return self.nnz.rename("df_model")

    @cached_property
    def components(self) -> dict:
        """Additive components of W (models with ``W = W_1 + ... + W_h``), original scale.

        A dict ``name -> DataFrame`` (features x tasks) whose values sum to :attr:`params`; empty
        for models without components. Dirty models name them ``"shared"`` and ``"specific"``;
        GenGL components are ``"component 1"``, ``"component 2"``, ...
        """
        comps = self.record.extra.get("components") if self.record.extra else None
        if comps is None:
            return {}
        if not isinstance(comps, dict):
            comps = {f"component {i + 1}": c for i, c in enumerate(comps)}
        scale = self.model.problem.x_scale[:, None]
        index = pd.Index(self.feature_names, name="feature")
        return {name: pd.DataFrame(np.asarray(c) / scale, index=index, columns=self._task_index())
                for name, c in comps.items()}

    def _component_table(self) -> pd.DataFrame:
        rows = {name: {"nonzero entries": int((c.to_numpy() != 0).sum()),
                       "nonzero rows": int((c.to_numpy() != 0).any(axis=1).sum()),
                       "tasks using": int((c.to_numpy() != 0).any(axis=0).sum())}
                for name, c in self.components.items()}
        return pd.DataFrame.from_dict(rows, orient="index")

    def to_frame(self) -> pd.DataFrame:
        """All coefficients in long format: columns ``feature, task, coef`` (p * K rows)."""
        p, K = self._coef.shape
        tasks = self._task_index()
        return pd.DataFrame({
            "feature": np.repeat(np.asarray(self.feature_names, dtype=object), K),
            "task": np.tile(tasks.to_numpy(), p),
            "coef": self._coef.reshape(-1),
        })

    def support(self) -> SupportTable:
        """Which features each task selected (``coef != 0``), with counts.

        Returns
        -------
        SupportTable
            ``.table`` (features x tasks, bool), ``.n_tasks`` (per feature), ``.n_features``
            (per task), ``.to_frame()``, ``as_latex()``, ``as_csv()``. For dirty models
            ``.kind`` tells shared rows from task-specific entries.
        """
        comps = self.components
        if "shared" in comps and "specific" in comps:
            from .penalties.zoo import dirty_support

            kind = dirty_support(comps["shared"], comps["specific"])
            return SupportTable(self.params, kind=pd.DataFrame(np.asarray(kind), index=self.params.index,
                                                               columns=self.params.columns))
        return SupportTable(self.params)

    # ------------------------------------------------------------------ fitted values
    @cached_property
    def _stacked_fitted(self) -> np.ndarray:
        """``X_k w_k + b_k`` stacked like ``design.y``, shape (sum_k n_k,)."""
        d = self.design
        W, b = self._coef, self._intercept
        if d.shared:
            F = np.asarray(d.X @ W) + b  # (n, K)
            return np.ascontiguousarray(F.T).reshape(-1)
        out = np.empty(d.y.shape[0])
        ptr = d.task_ptr
        for k in range(d.n_tasks):
            sl = slice(ptr[k], ptr[k + 1])
            out[sl] = np.asarray(d.X[sl] @ W[:, k]).reshape(-1) + b[k]
        return out

    def _to_input_rows(self, stacked: np.ndarray):
        """Place stacked values on the input rows (NaN where a row was dropped)."""
        d = self.design
        rows = np.asarray(d.row_index, dtype=np.int64)
        if d.shared:
            n = rows.shape[0]
            out = np.full((d.n_input_rows, d.n_tasks), np.nan)
            out[rows] = stacked.reshape(d.n_tasks, n).T
            return pd.DataFrame(out, index=d.data_index, columns=self._task_index())
        out = np.full(d.n_input_rows, np.nan)
        out[rows] = stacked
        return pd.Series(out, index=d.data_index)

    @property
    def family(self) -> str:
        """Response family of the model: ``"gaussian"`` or ``"binomial"``."""
        return getattr(self.model, "family", "gaussian")

    @cached_property
    def _stacked_mean(self) -> np.ndarray:
        """Fitted means stacked like ``design.y``: the linear predictor, or its ``expit``."""
        if self.family == "binomial":
            return expit(self._stacked_fitted)
        return self._stacked_fitted

    @cached_property
    def fittedvalues(self):
        """Fitted values on the input rows (NaN for dropped rows).

        ``X_k w_k + b_k`` (Gaussian), or the fitted probabilities ``expit(X_k w_k + b_k)`` of the
        second response level (binomial). A Series aligned with the input table (long form:
        each row with its own task), or a DataFrame rows x tasks for a shared design (wide
        form).
        """
        return self._to_input_rows(self._stacked_mean)

    @cached_property
    def resid(self):
        """Response residuals ``y - fittedvalues``, aligned like :attr:`fittedvalues`."""
        return self._to_input_rows(np.asarray(self.design.y, dtype=float) - self._stacked_mean)

    # ------------------------------------------------------------------ per-task statistics
    @cached_property
    def _task_stats(self) -> dict:
        d = self.design
        n_k = np.asarray(d.n_samples, dtype=np.int64)
        K = d.n_tasks
        tid = np.repeat(np.arange(K), n_k)
        y = np.asarray(d.y, dtype=float)
        r = y - self._stacked_fitted
        with np.errstate(invalid="ignore", divide="ignore"):
            ybar = np.bincount(tid, weights=y, minlength=K) / n_k
            tss = np.bincount(tid, weights=(y - ybar[tid]) ** 2, minlength=K)
            rss = np.bincount(tid, weights=r**2, minlength=K)
            r2 = np.where(tss > 0, 1.0 - rss / np.where(tss > 0, tss, 1.0), np.nan)
            rmse = np.sqrt(rss / n_k)
        return {"n": n_k, "rss": rss, "tss": tss, "R2": r2, "RMSE": rmse}

    @property
    def rsquared(self) -> pd.Series:
        """Per-task R^2 = 1 - RSS_k / TSS_k (TSS about the task mean; nan if TSS_k = 0)."""
        return pd.Series(self._task_stats["R2"], index=self._task_index(), name="R2")

    @property
    def rmse(self) -> pd.Series:
        """Per-task root mean squared error sqrt(RSS_k / n_k)."""
        return pd.Series(self._task_stats["RMSE"], index=self._task_index(), name="RMSE")

    @property
    def ssr(self) -> pd.Series:
        """Per-task residual sum of squares."""
        return pd.Series(self._task_stats["rss"], index=self._task_index(), name="ssr")

    @cached_property
    def _criteria(self) -> dict:
        d = self.design
        if self.family == "binomial":
            return _binomial_criteria(float(self._binomial_stats["deviance"].sum()),
                                      int(np.sum(d.n_samples)), int(self.nnz.sum()),
                                      d.n_features * d.n_tasks,
                                      d.n_tasks if self.model.fit_intercept else 0)
        return information_criteria(self.ssr.to_numpy(), d.n_samples, int(self.nnz.sum()),
                                    d.n_features * d.n_tasks,
                                    d.n_tasks if self.model.fit_intercept else 0)

    # ------------------------------------------------------------------ binomial statistics
    @cached_property
    def _binomial_stats(self) -> dict:
        """Per-task deviance, null deviance, AUC, AUC-PR and accuracy (binomial fits)."""
        if self.family != "binomial":
            raise AttributeError("deviance, AUC, AUC-PR and accuracy are statistics of "
                                 "family='binomial' fits")
        from sklearn.metrics import average_precision_score, roc_auc_score

        d = self.design
        y = np.asarray(d.y, dtype=float)
        eta = self._stacked_fitted
        K = d.n_tasks
        out = {k: np.full(K, np.nan) for k in ("deviance", "null_deviance", "auc", "auc_pr",
                                                "accuracy")}
        for k in range(K):
            sl = slice(d.task_ptr[k], d.task_ptr[k + 1])
            yk, ek = y[sl], eta[sl]
            out["deviance"][k] = 2.0 * float(np.sum(np.logaddexp(0.0, ek) - yk * ek))
            if self.model.fit_intercept:
                ybar = yk.mean()
                out["null_deviance"][k] = -2.0 * float(np.sum(xlogy(yk, ybar)
                                                              + xlogy(1 - yk, 1 - ybar)))
            else:  # the null model predicts 1/2
                out["null_deviance"][k] = 2.0 * len(yk) * np.log(2.0)
            out["accuracy"][k] = float(np.mean((ek > 0) == (yk == 1)))
            if 0 < yk.sum() < len(yk):
                out["auc"][k] = roc_auc_score(yk, ek)
                out["auc_pr"][k] = average_precision_score(yk, ek)
        return out

    def _binomial_series(self, key: str, name: str) -> pd.Series:
        return pd.Series(self._binomial_stats[key], index=self._task_index(), name=name)

    @property
    def deviance(self) -> pd.Series:
        """Per-task deviance ``-2 log L_k`` (binomial: ``2 sum_i loss_i``; statsmodels' Logit
        deviance is ``-2 llf``)."""
        return self._binomial_series("deviance", "deviance")

    @property
    def null_deviance(self) -> pd.Series:
        """Per-task deviance of the intercept-only model (probability 1/2 without intercepts)."""
        return self._binomial_series("null_deviance", "null_deviance")

    @property
    def dev_ratio(self) -> pd.Series:
        """Per-task fraction of (null) deviance explained, ``1 - deviance / null_deviance``."""
        st = self._binomial_stats
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = 1.0 - st["deviance"] / st["null_deviance"]
        return pd.Series(ratio, index=self._task_index(), name="dev_ratio")

    @property
    def auc(self) -> pd.Series:
        """Per-task area under the ROC curve of the fitted probabilities (in-sample)."""
        return self._binomial_series("auc", "AUC")

    @property
    def auc_pr(self) -> pd.Series:
        """Per-task area under the precision-recall curve (average precision, in-sample)."""
        return self._binomial_series("auc_pr", "AUC-PR")

    @property
    def accuracy(self) -> pd.Series:
        """Per-task fraction of rows whose class (probability > 1/2) is the observed one."""
        return self._binomial_series("accuracy", "accuracy")

    @property
    def levels(self) -> dict:
        """Level order of each binary response: name -> ``(level coded 0, level coded 1)``."""
        if self.family != "binomial":
            return {}
        known = dict((self.design.extra or {}).get("levels") or {})
        levels = {name: tuple(known.get(name, ("0", "1"))) for name in self.design.response_names}
        levels.update({name: tuple(lv) for name, lv in known.items() if name not in levels})
        return levels

    @property
    def separated(self) -> pd.Series:
        """Binomial fits: whether the fitted linear predictor separates the classes, per task."""
        sep = (self.record.extra or {}).get("separated")
        if sep is None:
            sep = np.zeros(self.design.n_tasks, dtype=bool)
        return pd.Series(np.asarray(sep, dtype=bool), index=self._task_index(), name="separated")

    @property
    def aic(self) -> float:
        """Akaike's criterion with df = nonzero coefficients (+ intercepts); see mtreg.criteria."""
        return float(self._criteria["aic"])

    @property
    def bic(self) -> float:
        """Schwarz's criterion with df = nonzero coefficients (+ intercepts)."""
        return float(self._criteria["bic"])

    @property
    def ebic(self) -> float:
        """Extended BIC (Chen & Chen 2008, gamma = 0.5)."""
        return float(self._criteria["ebic"])

    # ------------------------------------------------------------------ task clusters and plots
    def _membership(self):
        extra = self.record.extra or {}
        if "U" not in extra:
            raise ValueError(f"penalty {self.penalty.name!r} learns no task clusters "
                             "(models that do: sgmtl, clusmtl, GenGL fusions)")
        return np.asarray(extra["U"])

    def clusters(self, truth=None, max_features=6):
        """The task-cluster report (models that learn task groups: sgmtl, clusmtl, GenGL fusions).

        Parameters
        ----------
        truth : array-like or Series of labels by task, optional
            True grouping: adds the adjusted Rand index and a confusion table.
        max_features : int, default 6
            Features listed per cluster.

        Returns
        -------
        mtreg.clusters.ClusterReport
        """
        from .clusters import cluster_report

        return cluster_report(self.params, self._membership(), truth=truth, max_features=max_features)

    def plot_clusters(self, ax=None):
        """The membership matrix U (groups x tasks) as an image. Returns the Axes."""
        from .plotting import plot_clusters

        return plot_clusters(self._membership(), tasks=self.params.columns, ax=ax)

    def plot_coef(self, ax=None):
        """Heat map of the coefficients (features x tasks), tasks ordered by cluster if any."""
        from .plotting import plot_coef

        U = (self.record.extra or {}).get("U")
        if U is None:
            return plot_coef(self.params, ax=ax)
        from .clusters import cluster_order

        U = np.asarray(U)
        return plot_coef(self.params, order=cluster_order(U), ax=ax, clusters=U.argmax(0))

    def plot_support(self, ax=None):
        """The support (features x tasks) as a black-and-white image, with counts. Returns the Axes."""
        from .plotting import plot_support

        return plot_support(self.support(), ax=ax)

    def plot_residuals(self, tasks=None, ncols=4):
        """Residuals against fitted values, one panel per task. Returns the Figure."""
        from .plotting import plot_residuals

        return plot_residuals(self, tasks=tasks, ncols=ncols)

    def report(self, path, cv=None):
        """Write a self-contained HTML report (summary, tables, clusters, CV curve, heat map).

        Parameters
        ----------
        path : str or path-like
            The HTML file to write.
        cv : CVResults, optional
            A cross-validation to draw (defaults to ``self.cv`` when alpha was chosen by CV).
        """
        from .html_report import write_report

        return write_report(self, path, cv=cv)

    def refit(self, method="split", **options):
        """Post-selection estimates on the selected support (see :func:`mtreg.inference.refit`).

        ``method="split"`` (sample splitting), ``"multisplit"`` (Meinshausen, Meier & Bühlmann
        2009) or ``"relaxed"`` (no valid inference). Returns a ``RefitResults``.
        """
        if self.family != "gaussian":
            raise ValueError(f"post-selection refits use OLS p-values and are defined for the "
                             f"Gaussian family only, not family={self.family!r}; use mtreg.stability "
                             "for selection frequencies of a logistic model")
        from .inference import refit

        return refit(self, method, **options)

    def task_table(self) -> pd.DataFrame:
        """Per-task statistics.

        Returns
        -------
        DataFrame indexed by task, columns
            ``n`` (rows used), ``dropped`` (rows dropped for missing values), ``R2``,
            ``RMSE``, ``nnz`` (nonzero coefficients), ``intercept``. Binomial fits report
            ``deviance``, ``null_deviance``, ``AUC``, ``AUC_PR`` (average precision) and
            ``accuracy`` (in-sample) instead of ``R2`` and ``RMSE``.
        """
        st = self._task_stats
        tasks = self._task_index()
        if self.family == "binomial":
            bs = self._binomial_stats
            return pd.DataFrame({
                "n": st["n"],
                "dropped": self._dropped_per_task(),
                "deviance": bs["deviance"],
                "null_deviance": bs["null_deviance"],
                "AUC": bs["auc"],
                "AUC_PR": bs["auc_pr"],
                "accuracy": bs["accuracy"],
                "nnz": self.nnz.to_numpy(),
                "intercept": self._intercept,
            }, index=tasks)
        return pd.DataFrame({
            "n": st["n"],
            "dropped": self._dropped_per_task(),
            "R2": st["R2"],
            "RMSE": st["RMSE"],
            "nnz": self.nnz.to_numpy(),
            "intercept": self._intercept,
        }, index=tasks)

    def _dropped_per_task(self) -> np.ndarray:
        dropped = getattr(self.design, "dropped", None)
        if dropped is None:
            return np.zeros(self.design.n_tasks, dtype=np.int64)
        dropped = pd.Series(dropped)
        if dropped.index.equals(self.design.tasks):
            vals = dropped.to_numpy()
        else:
            vals = dropped.reindex(self.design.tasks).fillna(0).to_numpy()
        return vals.astype(np.int64)

    def _n_dropped_rows(self) -> int:
        """Input rows not used by the fit (each used input row appears once in row_index)."""
        d = self.design
        return int(d.n_input_rows - np.unique(np.asarray(d.row_index)).shape[0])

    # ------------------------------------------------------------------ prediction
    def predict(self, newdata=None, task=None, type=None):  # noqa: A002 - glmnet's name
        """Predictions for new rows (or the fitted rows).

        Parameters
        ----------
        newdata : DataFrame, ndarray or scipy.sparse matrix, optional
            None: the fitted values. A DataFrame for a formula design: X is rebuilt with
            ``design.transform`` (long form: each row is predicted with the coefficients of
            the task named in its task column). An array of shape (n, p) for an array-built
            design.
        task : label or array-like of labels, optional
            Long form: the task of every row when ``newdata`` has no task column (one label
            for all rows, or one per row). Arrays and wide form: predict for this task only
            (one label), for the task of each row (n labels), or for every task (None).
        type : {"response", "link", "class"}, optional
            As glmnet's ``predict(type=)``. ``"link"``: the linear predictor
            ``X_k w_k + b_k``; ``"response"`` (the default): the mean, i.e. the linear predictor
            (Gaussian) or the probability ``expit(X_k w_k + b_k)`` of the second response
            level (binomial); ``"class"`` (binomial only): the class whose probability
            exceeds 1/2, coded like the response (0/1 for numeric and boolean responses, the
            level label for a categorical response; NaN for rows dropped from the fit).

        Returns
        -------
        Series or DataFrame
            A Series (one prediction per row, indexed like ``newdata``) when each row has one
            task; a DataFrame rows x tasks when predicting for every task.
        """
        kind = self._check_type(type)
        return self._apply_type(self._predict_link(newdata, task), kind)

    def _check_type(self, type):  # noqa: A002
        if type is None:
            return "response"
        kinds = ("response", "link", "class") if self.family == "binomial" else ("response", "link")
        if type not in kinds:
            raise ValueError(f"type must be one of {', '.join(map(repr, kinds))} for family="
                             f"{self.family!r}, got {type!r}")
        return type

    def _apply_type(self, link, kind):
        if kind == "link" or self.family != "binomial":
            return link
        prob = link.apply(expit) if isinstance(link, pd.DataFrame) else expit(link)
        if kind == "response":
            return prob
        levels = self.levels
        if isinstance(prob, pd.DataFrame):  # one column per task; wide form: per response
            return pd.DataFrame({c: self._classes(prob[c], levels.get(str(c)))
                                 for c in prob.columns}, index=prob.index)[prob.columns]
        name = self.design.response_names[0] if len(self.design.response_names) == 1 else None
        return pd.Series(self._classes(prob, levels.get(name)), index=prob.index, name=prob.name)

    @staticmethod
    def _classes(prob: pd.Series, levels) -> np.ndarray:
        """Class coded like the response: 0/1 floats, or the level labels (NaN kept)."""
        p = prob.to_numpy(dtype=float)
        hit = p > 0.5
        if levels is None or tuple(levels) in (("0", "1"), ("False", "True")):
            return np.where(np.isnan(p), np.nan, hit.astype(float))
        out = np.where(hit, levels[1], levels[0]).astype(object)
        out[np.isnan(p)] = np.nan
        return out

    def _predict_link(self, newdata, task):
        """The linear predictor ``X_k w_k + b_k`` (see :meth:`predict`)."""
        if newdata is None:
            if task is not None:
                raise TypeError("task= is only used together with newdata; the fitted values "
                                "are attribute fittedvalues")
            return self._to_input_rows(self._stacked_fitted)
        d = self.design
        is_frame = isinstance(newdata, pd.DataFrame)
        index = newdata.index if is_frame else None
        if is_frame and (d.formula is not None or d.design_info is not None):
            X_new, codes = self._transform(newdata, task)
            if codes is not None:
                codes = np.asarray(codes)
                return pd.Series(self._predict_rows(X_new, codes), index=index)
        else:
            X_new = self._check_array(newdata)
        if index is None:
            index = pd.RangeIndex(X_new.shape[0])
        if task is None:
            return pd.DataFrame(self._predict_all(X_new), index=index,
                                columns=self._task_index())
        if np.ndim(task) == 0:
            code = self._task_code(task)
            out = self._predict_rows(X_new, np.full(X_new.shape[0], code))
            return pd.Series(out, index=index, name=self.design.tasks[code])
        codes = self._task_codes(task, X_new.shape[0])
        return pd.Series(self._predict_rows(X_new, codes), index=index)

    def _transform(self, newdata: pd.DataFrame, task):
        d = self.design
        if not hasattr(d, "transform"):
            raise TypeError(f"{type(d).__name__} has no transform(); it cannot rebuild X for "
                            "new data")
        col = d.task_column
        if col is not None and task is not None:
            if col in newdata.columns:
                raise ValueError(f"newdata has a task column {col!r} and task= was given too; "
                                 "give the tasks one way")
            newdata = newdata.assign(**{col: task})
        X_new, codes = d.transform(newdata)
        if X_new.shape[0] != len(newdata):
            raise ValueError(f"design.transform returned {X_new.shape[0]} rows for "
                             f"{len(newdata)} rows of newdata; predictions must align with "
                             "newdata")
        if codes is not None:
            codes = np.asarray(codes)
            if np.any(codes < 0) or np.any(codes >= d.n_tasks):
                raise ValueError("newdata has rows of tasks unknown to the model")
        return X_new, codes

    def _check_array(self, X):
        p = self.design.n_features
        if sp.issparse(X):
            X = sp.csr_matrix(X, dtype=np.float64)
        else:
            X = np.asarray(X, dtype=np.float64)
            if X.ndim == 1 and X.shape[0] == p:
                X = X.reshape(1, -1)
        if X.ndim != 2 or X.shape[1] != p:
            raise ValueError(f"newdata must have shape (n, {p}) (one column per feature), "
                             f"got {X.shape}")
        return X

    def _task_code(self, label) -> int:
        try:
            code = self.design.tasks.get_loc(label)
        except KeyError:
            raise KeyError(f"unknown task {label!r}; tasks are "
                           f"{report.short_list(self.design.tasks)}") from None
        if not isinstance(code, (int, np.integer)):
            raise KeyError(f"task label {label!r} is not unique")
        return int(code)

    def _task_codes(self, labels, n: int) -> np.ndarray:
        labels = np.asarray(labels)
        if labels.shape != (n,):
            raise ValueError(f"task must be one label or one label per row ({n}), "
                             f"got shape {labels.shape}")
        codes = self.design.tasks.get_indexer(labels)
        if np.any(codes < 0):
            unknown = pd.unique(labels[codes < 0])
            raise KeyError(f"unknown task(s) {report.short_list(unknown)}; tasks are "
                           f"{report.short_list(self.design.tasks)}")
        return codes

    def _predict_all(self, X) -> np.ndarray:
        return np.asarray(X @ self._coef) + self._intercept

    def _predict_rows(self, X, codes: np.ndarray) -> np.ndarray:
        if sp.issparse(X):
            X = sp.csr_matrix(X)
        out = np.empty(X.shape[0])
        for k in np.unique(codes):
            rows = np.flatnonzero(codes == k)
            out[rows] = np.asarray(X[rows] @ self._coef[:, k]).reshape(-1) + self._intercept[k]
        return out

    # ------------------------------------------------------------------ reports
    def _task_index(self) -> pd.Index:
        d = self.design
        tasks = pd.Index(d.tasks)
        return tasks.rename(d.task_column or tasks.name or "task")

    def _header(self) -> list[tuple[str, str]]:
        m, d, rec = self.model, self.design, self.record
        pen = self.penalty
        pairs = report.header_pairs(
            response_names=list(d.response_names),
            task_column=d.task_column,
            penalty_name=getattr(pen, "name", type(pen).__name__),
            penalty_params=pen.params() if hasattr(pen, "params") else {},
            family=getattr(m, "family", "gaussian"),
            alpha=self.alpha,
            alpha_frac=self.alpha_frac,
            n_tasks=d.n_tasks,
            n_features=d.n_features,
            n_rows=int(np.sum(d.n_samples)),
            n_dropped=self._n_dropped_rows(),
            fit_intercept=getattr(m, "fit_intercept", True),
            standardize=getattr(m, "standardize", True),
            solver=getattr(rec, "solver", ""),
            converged=rec.converged,
            n_iter=rec.n_iter,
            gap=rec.gap,
            gap_tol=rec.gap_tol,
            objective=rec.objective,
            is_convex=getattr(pen, "is_convex", True),
            levels=self._level_text() if self.family == "binomial" else None,
        )
        if self.alpha_selection:
            at = [label for label, _ in pairs].index("Alpha / alpha_max:") + 1
            pairs.insert(at, ("Alpha chosen by:", str(self.alpha_selection)))
        return pairs

    def _level_text(self) -> str:
        """``"no < yes"`` (one binary response), or ``"y1: 0 < 1; y2: no < yes"``."""
        levels = self.levels
        texts = {name: f"{lv[0]} < {lv[1]}" for name, lv in levels.items()}
        if len(set(texts.values())) <= 1:
            return next(iter(texts.values()), "0 < 1")
        return "; ".join(f"{name}: {t}" for name, t in texts.items())

    def _binomial_notes(self) -> list[str]:
        rec = self.record
        extra = rec.extra or {}
        notes = [f"Binomial family: each task's mean logistic loss; probabilities are those of "
                 f"the second level ({self._level_text()}). Deviance, AUC, AUC-PR (average "
                 "precision) and accuracy are in-sample."]
        sep = np.asarray(extra.get("separated", []), dtype=bool)
        frac = self.alpha_frac
        if sep.any() and (np.isnan(frac) or frac < _SEPARATION_ALPHA_FRAC):
            tasks = [str(t) for t in np.asarray(self._task_index())[sep]]
            notes.append(f"Note: the fitted linear predictor perfectly separates the classes of "
                         f"task(s) {report.short_list(tasks)} at this small alpha: without the "
                         "penalty their coefficients would be infinite (they grow without bound "
                         "as alpha -> 0).")
        if "kkt" in extra and not np.isfinite(rec.gap):
            notes.append(f"Stopping rule: {extra.get('certificate', 'objective decrease')}; "
                         f"largest KKT violation {report.fmt_float(extra['kkt'], '%.3g')}.")
        return notes

    def _notes(self) -> list[str]:
        notes = [report.NO_SE_NOTE,
                 f"Coefficients on the original scale of X; '{report.ZERO}' marks a coefficient "
                 "that is exactly zero."]
        n_dropped = self._n_dropped_rows()
        if n_dropped:
            notes.append(f"{n_dropped} row(s) with missing values were dropped (per task: "
                         "column 'dropped').")
        if self.family == "binomial":
            notes.extend(self._binomial_notes())
        if not self.converged:
            rec = self.record
            notes.append(f"Warning: the solver did not converge in {rec.n_iter} iterations "
                         f"(duality gap {report.fmt_float(rec.gap, '%.3g')} > target "
                         f"{report.fmt_float(rec.gap_tol, '%.3g')}); increase max_iter or tol.")
        return notes

    def summary(self, max_columns: int = _MAX_TASK_COLUMNS):
        """A statsmodels-style summary.

        Parameters
        ----------
        max_columns : int, default 12
            Most task columns per block of the coefficient table; more tasks are split into
            several blocks.

        Returns
        -------
        statsmodels.iolib.summary2.Summary
            With ``as_text()``, ``as_html()``, ``as_latex()`` and ``_repr_html_``.
        """
        name = getattr(self.penalty, "name", type(self.penalty).__name__)
        kind = "logistic regression" if self.family == "binomial" else "regression"
        title = f"Multi-task {report.penalty_label(name)} {kind} results"
        return report.build_summary(
            title, self._header(), self.task_table(), self._coef, self.feature_names,
            list(self._task_index()), notes=self._notes(), max_cols=max_columns,
            extra_tables=self._extra_tables())

    def _extra_tables(self) -> list:
        tables = []
        if self.components:
            tables.append(("component", self._component_table()))
        if "U" in (self.record.extra or {}):
            table = self.clusters().clusters
            tables.append(("cluster", table.drop(columns=[c for c in ("tasks",) if c in table])))
        return tables

    def to_latex(self, label: str = "") -> str:
        """The summary as a LaTeX ``table``."""
        return self.summary().as_latex(label=label)

    def __repr__(self) -> str:
        name = getattr(self.penalty, "name", type(self.penalty).__name__)
        frac = "" if math.isnan(self.alpha_frac) else f" ({self.alpha_frac:.3g} alpha_max)"
        status = "converged" if self.converged else "NOT converged"
        return (f"<MultiTaskResults: {name}, {self.design.n_tasks} tasks x "
                f"{self.design.n_features} features, alpha={self.alpha:.4g}{frac}, "
                f"{int(self.nnz.sum())} nonzeros, {status}>")

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    # ------------------------------------------------------------------ pickling
    def __getstate__(self) -> dict:
        # cached values are dropped (recomputed lazily); patsy objects inside the design are
        # packed by dumps_with_patsy, since patsy refuses to pickle them
        state = {k: self.__dict__[k] for k in self._STATE}
        return {"payload": dumps_with_patsy(state)}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(pickle.loads(state["payload"]))


# ============================================================================ patsy pickling
# patsy (<= 1.0) refuses to pickle DesignInfo and everything it holds (patsy issue #26), yet
# predict(newdata) needs the DesignInfo: categorical levels, contrasts and the memorised
# state of stateful transforms (center, standardize, bs, cr, ...). dumps_with_patsy pickles
# them by their attributes instead, which restores them exactly. Each factor's evaluation
# environment (the caller's namespaces, captured by patsy) is trimmed to the names the
# factor's code uses; modules are stored by name and patsy's formula builtins by their name.

def _patsy_builtins() -> dict:
    try:
        from patsy.eval import _builtins_dict
    except ImportError:  # pragma: no cover - patsy internals moved
        return {}
    return dict(_builtins_dict)


def _patsy_builtin(name: str):
    """Unpickle a patsy formula builtin (``C``, ``center``, ``bs``, ...) by name."""
    return _patsy_builtins()[name]


def _patsy_new(cls):
    """Create an empty patsy object; pickle then restores its ``__dict__``."""
    return cls.__new__(cls)


def _patsy_env(namespace: dict, flags: int):
    """Rebuild a patsy ``EvalEnvironment`` from a trimmed namespace."""
    from patsy import EvalEnvironment

    return EvalEnvironment([namespace], flags)


def _code_names(*codes) -> set[str]:
    from patsy.eval import ast_names

    names: set[str] = set()
    for code in codes:
        if not isinstance(code, str):
            continue
        try:
            names.update(ast_names(code))
        except Exception:  # patsy refuses some syntax (lambdas); keep what we have
            continue
    return names


class _PatsyPickler(pickle.Pickler):
    """A pickler that also handles patsy objects, modules and trimmed eval environments."""

    def __init__(self, file, protocol=pickle.HIGHEST_PROTOCOL):
        super().__init__(file, protocol=protocol)
        self._builtin_names = {id(v): k for k, v in _patsy_builtins().items()}

    def reducer_override(self, obj):
        if isinstance(obj, types.ModuleType):
            return importlib.import_module, (obj.__name__,)
        name = self._builtin_names.get(id(obj))
        if name is not None:
            return _patsy_builtin, (name,)
        if isinstance(obj, (type, types.FunctionType, types.BuiltinFunctionType,
                            types.MethodType)):
            return NotImplemented
        cls = type(obj)
        if not (getattr(cls, "__module__", "") or "").startswith("patsy"):
            return NotImplemented
        if cls.__name__ == "EvalEnvironment":
            return _patsy_env, (self._trim_namespace(obj, None), obj.flags)
        if not hasattr(obj, "__dict__"):
            return NotImplemented
        state = dict(obj.__dict__)
        if cls.__name__ == "FactorInfo" and isinstance(state.get("state"), dict):
            fstate = dict(state["state"])
            env = fstate.get("eval_env")
            if env is not None and type(env).__name__ == "EvalEnvironment":
                factor = state.get("factor")
                names = _code_names(getattr(factor, "code", None), fstate.get("eval_code"),
                                    *dict(fstate.get("memorize_code") or {}).values())
                fstate["eval_env"] = _EnvReduce(self._trim_namespace(env, names), env.flags)
            state["state"] = fstate
        return _patsy_new, (cls,), state

    def _trim_namespace(self, env, names: set[str] | None) -> dict:
        """The values of ``names`` as patsy would look them up (first namespace wins)."""
        out: dict = {}
        for ns in reversed(list(getattr(env, "_namespaces", []))):
            keys = ns.keys() if names is None else [n for n in names if n in ns]
            for key in keys:
                out[key] = ns[key]
        kept = {}
        for key, value in out.items():
            try:
                buf = io.BytesIO()
                _PatsyPickler(buf).dump(value)
            except Exception as exc:
                if names is not None:
                    warnings.warn(
                        f"the formula refers to {key!r} ({type(value).__name__}), which cannot "
                        f"be pickled ({exc}); predict(newdata) after unpickling will fail if "
                        "it needs it. Define it at module level.", stacklevel=4)
                continue
            kept[key] = value
        return kept


class _EnvReduce:
    """Placeholder pickled as a patsy ``EvalEnvironment`` over a trimmed namespace."""

    def __init__(self, namespace: dict, flags: int):
        self.namespace = namespace
        self.flags = flags

    def __reduce__(self):
        return _patsy_env, (self.namespace, self.flags)


def dumps_with_patsy(obj) -> bytes:
    """Pickle ``obj`` (e.g. a model or design) even when it holds patsy objects.

    Use :func:`pickle.loads` to restore; the patsy ``DesignInfo`` and its stateful transforms
    come back with their memorised state, so ``design.transform(newdata)`` rebuilds X exactly.

    Parameters
    ----------
    obj : object

    Returns
    -------
    bytes
    """
    buf = io.BytesIO()
    _PatsyPickler(buf).dump(obj)
    return buf.getvalue()

