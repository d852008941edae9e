"""K-fold cross-validation along a regularisation path, with glmnet's conventions.

Folds are drawn *within each task*, so every task has rows in every training set (and, when it
has at least ``n_folds`` rows, in every test fold). Every fold refits the whole path on its
training rows (centring and standardising on those rows only, as glmnet does) and scores the
held-out rows. With fold errors ``e_f`` and test-fold sizes ``w_f``::

    cvm  = sum_f w_f e_f / sum_f w_f
    cvsd = sqrt( sum_f w_f (e_f - cvm)^2 / sum_f w_f / (F - 1) )

(``cv.glmnet`` with ``grouped=TRUE``). ``e_f`` is the average over tasks of each task's error
on its held-out rows, so each task weighs the same, as in the objective. ``alpha_1se`` is the
largest alpha whose ``cvm`` is within one ``cvsd`` of the best.

Folds (and grid values) run in parallel through joblib; the same code runs on a Dask cluster
inside ``with joblib.parallel_backend("dask"):``. Results do not depend on ``n_jobs``.
"""
from __future__ import annotations

import inspect
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from joblib import Parallel, delayed
from patsy import EvalEnvironment
from scipy.special import expit

from .model import MultiTaskModel, _check_int, _check_positive_number
from .path import PathResults, _check_alphas, _model_alphas, _path_results, alpha_grid, fit_path
from .solvers import make_problem, to_original_scale

__all__ = ["CVResults", "CVGridResults", "cv", "cv_model", "make_folds", "SCORINGS"]


# ---------------------------------------------------------------------------- scoring
def _mse(y, pred):
    return ((y[:, None] - pred) ** 2).mean(axis=0)


def _mae(y, pred):
    return np.abs(y[:, None] - pred).mean(axis=0)


def _r2(y, pred):
    sst = ((y - y.mean()) ** 2).sum()
    sse = ((y[:, None] - pred) ** 2).sum(axis=0)
    return 1 - sse / sst if sst > 0 else np.full(pred.shape[1], np.nan)


def _explained_variance(y, pred):
    var = y.var()
    resid = y[:, None] - pred
    return 1 - resid.var(axis=0) / var if var > 0 else np.full(pred.shape[1], np.nan)


# binomial scorings take the linear predictor (n, L) of the held-out rows (cv.glmnet's
# type.measure): mean deviance per row, AUC, average precision, misclassification rate
def _deviance(y, eta):
    return 2.0 * (np.logaddexp(0.0, eta) - y[:, None] * eta).mean(axis=0)


def _per_column(metric, y, eta):
    if y.min() == y.max():  # one class in the held-out rows: undefined
        return np.full(eta.shape[1], np.nan)
    return np.array([metric(y, eta[:, i]) for i in range(eta.shape[1])])


def _auc(y, eta):
    from sklearn.metrics import roc_auc_score

    return _per_column(roc_auc_score, y, eta)


def _auc_pr(y, eta):
    from sklearn.metrics import average_precision_score

    return _per_column(average_precision_score, y, eta)


def _misclassification(y, eta):
    return ((eta > 0) != (y[:, None] == 1)).mean(axis=0)


#: name -> (function(y_test, pred (n, L)) -> (L,), greater_is_better). Gaussian scorings see
#: the predictions; binomial ones the linear predictor ("mse"/"mae" of a binomial fit score
#: the probabilities, as cv.glmnet does).
SCORINGS = {
    "mse": (_mse, False),
    "mae": (_mae, False),
    "nmse": (_mse, False),  # divided by the task's response variance, see _score_fold
    "r2": (_r2, True),
    "explained_variance": (_explained_variance, True),
    "deviance": (_deviance, False),
    "auc": (_auc, True),
    "auc_pr": (_auc_pr, True),
    "misclassification": (_misclassification, False),
}

#: scorings available for each family; the first one is the default
FAMILY_SCORINGS = {
    "gaussian": ("mse", "mae", "nmse", "r2", "explained_variance"),
    "binomial": ("deviance", "auc", "auc_pr", "misclassification", "mse", "mae"),
}
_BINOMIAL_LINK = ("deviance", "auc", "auc_pr", "misclassification")


def _check_scoring(scoring, family="gaussian"):
    allowed = FAMILY_SCORINGS[family]
    if scoring is None:
        return allowed[0]
    if scoring not in allowed:
        raise ValueError(f"unknown scoring {scoring!r} for family={family!r}; available: "
                         f"{', '.join(allowed)}")
    return scoring


# ---------------------------------------------------------------------------- folds
def make_folds(design, n_folds=10, random_state=None, by_class=False) -> np.ndarray:
    """Fold labels (0 .. n_folds-1) drawn within each task.

    Returns an array over the stacked rows of ``design`` (for a shared design: over the rows of
    its single X, since every task uses the same rows). Each task's rows are shuffled and dealt
    to the folds in turn, so fold sizes within a task differ by at most one. With
    ``by_class=True`` (binary responses, per-task designs) the rows of each class of each task
    are dealt separately, so every fold keeps both classes of a task whenever it can.
    """
    if by_class and not design.shared:
        return _folds_by_class(design, n_folds, random_state)
    n_folds = _check_int("n_folds", n_folds, minimum=2)
    rng = np.random.default_rng(random_state)
    if design.shared:
        n = design.X.shape[0]
        if n < n_folds:
            raise ValueError(f"n_folds={n_folds} is larger than the number of rows ({n})")
        fold = np.empty(n, dtype=np.int64)
        fold[rng.permutation(n)] = np.arange(n) % n_folds
        return fold
    fold = np.empty(design.task_ptr[-1], dtype=np.int64)
    for a, z in zip(design.task_ptr[:-1], design.task_ptr[1:], strict=True):
        n_k = z - a
        fold[a + rng.permutation(n_k)] = (np.arange(n_k) + rng.integers(n_folds)) % n_folds
    return fold


def _folds_by_class(design, n_folds, random_state) -> np.ndarray:
    n_folds = _check_int("n_folds", n_folds, minimum=2)
    rng = np.random.default_rng(random_state)
    fold = np.empty(design.task_ptr[-1], dtype=np.int64)
    y = np.asarray(design.y)
    for a, z in zip(design.task_ptr[:-1], design.task_ptr[1:], strict=True):
        start = rng.integers(n_folds)
        for cls in (0.0, 1.0):
            rows = a + np.flatnonzero(y[a:z] == cls)
            fold[rows[rng.permutation(rows.size)]] = (np.arange(rows.size) + start) % n_folds
            start += rows.size
    return fold


def _foldid_from_user(design, foldid) -> np.ndarray:
    """Map a per-input-row foldid to the stacked rows, relabelled 0 .. F-1."""
    foldid = np.asarray(foldid)
    if foldid.ndim != 1 or len(foldid) != design.n_input_rows:
        raise ValueError(f"foldid must have one entry per row of the data ({design.n_input_rows}), "
                         f"got shape {foldid.shape}")
    rows = design.row_index if not design.shared else design.row_index[: design.X.shape[0]]
    used = foldid[rows]
    if pd.isna(used).any():
        raise ValueError("foldid has missing values for rows used in the fit")
    labels, codes = np.unique(used, return_inverse=True)
    if len(labels) < 2:
        raise ValueError(f"foldid must define at least 2 folds, got {len(labels)}")
    return codes.astype(np.int64)


# ---------------------------------------------------------------------------- one fold
def _split_design(design, train):
    """Raw (X, y, task_ptr) of the rows where ``train`` is True (stacked-row mask)."""
    K = design.n_tasks
    if design.shared:
        n = design.X.shape[0]
        X = design.X[train]
        y = design.y.reshape(K, n)[:, train].ravel()
        ptr = np.arange(K + 1, dtype=np.int64) * int(train.sum())
        return X, y, ptr
    X = design.X[train] if not sp.issparse(design.X) else sp.csr_matrix(design.X)[train]
    counts = np.add.reduceat(train.astype(np.int64), design.task_ptr[:-1]) if len(train) else 0
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return X, design.y[train], ptr


def _check_fold_rows(design, foldid, n_folds):
    for f in range(n_folds):
        train = foldid != f
        if design.shared:
            n_train = np.full(design.n_tasks, int(train.sum()))
        else:
            n_train = np.add.reduceat(train.astype(np.int64), design.task_ptr[:-1])
        bad = np.flatnonzero(n_train < 2)
        if bad.size:
            k = bad[0]
            raise ValueError(f"fold {f} leaves task {design.tasks.tolist()[k]!r} with {n_train[k]} training "
                             "row(s); every task needs at least 2 training rows in every fold")


@dataclass(frozen=True)
class _Arrays:
    """The numeric part of a TaskDesign: what a worker needs (no patsy objects to pickle)."""

    X: object
    y: np.ndarray
    task_ptr: np.ndarray
    shared: bool

    @classmethod
    def of(cls, design):
        return cls(design.X, design.y, design.task_ptr, design.shared)

    @property
    def n_tasks(self):
        return len(self.task_ptr) - 1

    @property
    def n_features(self):
        return self.X.shape[1]


def _fold_errors(design, foldid, f, penalty, alphas, fit_intercept, standardize, tol, max_iter,
                 scoring, task_var, family="gaussian", dtype="float64"):
    """Per-task error (K, L) and test counts (K,) of fold f."""
    train = foldid != f
    X, y, ptr = _split_design(design, train)
    if family == "binomial":
        from .solvers.logistic import make_logistic_problem

        problem = make_logistic_problem(X, y, ptr, shared=design.shared,
                                        fit_intercept=fit_intercept, standardize=standardize)
    else:
        problem = make_problem(X, y, ptr, shared=design.shared, fit_intercept=fit_intercept,
                               standardize=standardize, dtype=dtype)
    raw = fit_path(problem, penalty, alphas, tol=tol, max_iter=max_iter)
    K, L = design.n_tasks, len(alphas)
    errors = np.full((K, L), np.nan)
    counts = np.zeros(K, dtype=np.int64)
    score, _ = SCORINGS[scoring]
    test = ~train
    # the whole path on the original scale once (not once per task)
    W_all = np.empty((design.n_features, K, L))
    b_all = np.zeros((K, L))
    for i in range(L):
        W_all[:, :, i], bi = to_original_scale(problem, raw.coef[:, :, i], raw.intercept[:, i])
        if fit_intercept:
            b_all[:, i] = bi
    if design.shared:
        Xt = design.X[test]
        n = design.X.shape[0]
    for k in range(K):
        if design.shared:
            yt = design.y[k * n:(k + 1) * n][test]
        else:
            rows = np.flatnonzero(test[design.task_ptr[k]:design.task_ptr[k + 1]]) + design.task_ptr[k]
            Xt, yt = design.X[rows], design.y[rows]
        counts[k] = len(yt)
        if counts[k] == 0:
            continue
        pred = np.asarray(Xt @ W_all[:, k, :]) + b_all[k]
        if family == "binomial" and scoring not in _BINOMIAL_LINK:
            pred = expit(pred)  # mse / mae of the probabilities
        errors[k] = score(yt, pred)
        if scoring == "nmse":
            errors[k] /= task_var[k]
    return errors, counts


# ---------------------------------------------------------------------------- results
def _one_se(alphas, cvm, cvsd, greater_is_better):
    if greater_is_better:
        i = int(np.nanargmax(cvm))
        ok = cvm >= cvm[i] - cvsd[i]
    else:
        i = int(np.nanargmin(cvm))
        ok = cvm <= cvm[i] + cvsd[i]
    j = int(np.flatnonzero(ok)[0])  # alphas decrease: the first within 1 SE is the largest alpha
    return i, j


class CVResults:
    """Cross-validated path, with ``cv.glmnet``'s fields.

    Attributes
    ----------
    alphas : ndarray of shape (L,)
    cvm, cvsd, cvup, cvlo : ndarray of shape (L,)
        Mean CV error, its standard error, ``cvm + cvsd`` and ``cvm - cvsd``.
    nzero : ndarray of shape (L,)
        Features selected (by at least one task) in the full fit at every alpha.
    alpha_min, alpha_1se : float
        The alpha with the best ``cvm``, and the largest alpha within one standard error of it.
    foldid : pandas.Series
        Fold of every input row (NaN for rows dropped for missing values).
    full_fit : PathResults
        The path on all the data.
    cv_task : pandas.DataFrame of shape (L, K)
        CV error of every task at every alpha.
    fold_errors : ndarray of shape (F, L)
        Error of every fold at every alpha.
    scoring : str
    """

    def __init__(self, full_fit: PathResults, fold_task_errors, fold_task_counts, foldid_rows,
                 scoring):
        design = full_fit.model.design
        self.full_fit = full_fit
        self.alphas = full_fit.alphas
        self.scoring = scoring
        self.greater_is_better = SCORINGS[scoring][1]
        E = np.stack(fold_task_errors)                 # (F, K, L)
        C = np.stack(fold_task_counts).astype(float)   # (F, K)
        with np.errstate(invalid="ignore"):
            fold_err = np.nanmean(E, axis=1)           # (F, L): tasks weigh equally
        w = C.sum(axis=1)                              # test rows per fold
        F = len(w)
        self.fold_errors = fold_err
        self.cvm = (w[:, None] * fold_err).sum(axis=0) / w.sum()
        self.cvsd = np.sqrt((w[:, None] * (fold_err - self.cvm) ** 2).sum(axis=0) / w.sum() / (F - 1))
        self.cvup = self.cvm + self.cvsd
        self.cvlo = self.cvm - self.cvsd
        self.nzero = full_fit.df
        Cw = np.where(np.isnan(E), 0.0, C[:, :, None])
        task_err = (np.nan_to_num(E) * Cw).sum(axis=0) / Cw.sum(axis=0)  # (K, L)
        self.cv_task = pd.DataFrame(task_err.T, index=pd.Index(self.alphas, name="alpha"),
                                    columns=design.tasks)
        i_min, i_1se = _one_se(self.alphas, self.cvm, self.cvsd, self.greater_is_better)
        self.index_min, self.index_1se = i_min, i_1se
        self.alpha_min = float(self.alphas[i_min])
        self.alpha_1se = float(self.alphas[i_1se])
        fold_input = np.full(design.n_input_rows, np.nan)
        rows = design.row_index if not design.shared else design.row_index[: design.X.shape[0]]
        fold_input[rows] = foldid_rows
        self.foldid = pd.Series(fold_input, index=design.data_index, name="fold")
        self.n_folds = F

    def _alpha(self, alpha):
        if alpha is None or alpha == "1se":
            return self.alpha_1se
        if alpha == "min":
            return self.alpha_min
        if isinstance(alpha, numbers.Real) and not isinstance(alpha, bool):
            return float(alpha)
        raise ValueError(f"alpha must be '1se', 'min' or a number, got {alpha!r}")

    def coef(self, alpha="1se") -> pd.DataFrame:
        """Coefficients of the full fit at ``alpha`` (``"1se"`` by default, or ``"min"``)."""
        return self.full_fit.coef(self._alpha(alpha))

    def results(self, alpha="1se"):
        """The full-data fit at ``alpha`` as :class:`~mtreg.results.MultiTaskResults`."""
        res = self.full_fit.results(self._alpha(alpha))
        res.cv = self
        return res

    def predict(self, newdata=None, alpha="1se", task=None):
        """Predictions of the full fit at ``alpha`` (``"1se"`` by default)."""
        return self.results(alpha).predict(newdata, task=task)

    def to_frame(self) -> pd.DataFrame:
        """One row per alpha: alpha, cvm, cvsd, cvup, cvlo, nzero."""
        return pd.DataFrame({"alpha": self.alphas, "cvm": self.cvm, "cvsd": self.cvsd,
                             "cvup": self.cvup, "cvlo": self.cvlo, "nzero": self.nzero})

    def __str__(self) -> str:
        t = self.to_frame().iloc[[self.index_min, self.index_1se]]
        t.index = ["min", "1se"]
        return (f"{self.n_folds}-fold cross-validation ({self.scoring}) of "
                f"{self.full_fit.model.penalty!r} over {len(self.alphas)} alphas\n"
                + t.to_string(float_format=lambda v: f"{v:.4g}"))

    def __repr__(self) -> str:
        return f"<CVResults: alpha_min={self.alpha_min:.4g}, alpha_1se={self.alpha_1se:.4g}>"

    def _repr_html_(self) -> str:
        return "<pre>" + str(self) + "</pre>"

    def plot(self, ax=None):
        """cvm with error bars against log(alpha), nzero on top, lines at alpha_min/alpha_1se."""
        from .plotting import plot_cv

        return plot_cv(self, ax=ax)


class CVGridResults:
    """Cross-validation over alpha and a second hyperparameter.

    Attributes
    ----------
    param : str
        Name of the second hyperparameter.
    values : list
        Its values.
    alphas : ndarray of shape (L,)
        The common alpha grid.
    cvm, cvsd : pandas.DataFrame of shape (len(values), L)
        The CV surface and its standard errors.
    best : dict
        ``{"alpha": ..., param: ...}`` with the best ``cvm``.
    one_se : dict
        The pair with the largest alpha whose ``cvm`` is within one ``cvsd`` of the best
        (ties broken by the lower ``cvm``).
    by_value : dict
        ``value -> CVResults``.
    """

    def __init__(self, param, values, by_value: dict):
        self.param, self.values, self.by_value = param, list(values), by_value
        first = by_value[self.values[0]]
        self.alphas = first.alphas
        self.scoring = first.scoring
        idx = pd.Index(self.values, name=param)
        cols = pd.Index(self.alphas, name="alpha")
        self.cvm = pd.DataFrame([by_value[v].cvm for v in self.values], index=idx, columns=cols)
        self.cvsd = pd.DataFrame([by_value[v].cvsd for v in self.values], index=idx, columns=cols)
        M, S = self.cvm.to_numpy(), self.cvsd.to_numpy()
        gib = first.greater_is_better
        flat = np.nanargmax(M) if gib else np.nanargmin(M)
        r, c = np.unravel_index(flat, M.shape)
        self.best = {"alpha": float(self.alphas[c]), param: self.values[r]}
        ok = M >= M[r, c] - S[r, c] if gib else M <= M[r, c] + S[r, c]
        col = int(np.flatnonzero(ok.any(axis=0))[0])
        rows = np.flatnonzero(ok[:, col])
        row = rows[np.argmax(M[rows, col])] if gib else rows[np.argmin(M[rows, col])]
        self.one_se = {"alpha": float(self.alphas[col]), param: self.values[row]}

    def __str__(self) -> str:
        return (f"cross-validation ({self.scoring}) over alpha and {self.param}\n"
                f"  best:  {self.best}\n  1-SE:  {self.one_se}")

    def __repr__(self) -> str:
        return f"<CVGridResults over alpha x {self.param}: best {self.best}>"

    def plot(self, ax=None):
        """Heat map of the CV surface (values x log alpha), best and 1-SE pairs marked."""
        from .plotting import plot_cv_grid

        return plot_cv_grid(self, ax=ax)


# ---------------------------------------------------------------------------- entry points
def cv_model(model: MultiTaskModel, *, n_folds=10, foldid=None, alphas=None, n_alphas=100,
             alpha_min_ratio=None, scoring=None, n_jobs=None, random_state=0, tol=1e-6,
             max_iter=10_000, _folds=None) -> CVResults:
    """Cross-validate an existing :class:`MultiTaskModel` (see :func:`cv`)."""
    family = getattr(model, "family", "gaussian")
    scoring = _check_scoring(scoring, family)
    tol = _check_positive_number("tol", tol, allow_zero=False)
    max_iter = _check_int("max_iter", max_iter)
    design = model.design
    if _folds is not None:
        fold_rows = _folds
    elif foldid is not None:
        fold_rows = _foldid_from_user(design, foldid)
    else:
        fold_rows = make_folds(design, n_folds, random_state, by_class=family == "binomial")
    F = int(fold_rows.max()) + 1
    _check_fold_rows(design, fold_rows, F)
    alphas, amax = _model_alphas(model, n_alphas, alpha_min_ratio, alphas)
    task_var = np.array([design.y[a:z].var() for a, z in
                         zip(design.task_ptr[:-1], design.task_ptr[1:], strict=True)])
    arrays = _Arrays.of(design)
    # the full-data path is one more job next to the folds (largest first), so that with
    # n_jobs workers the F + 1 paths share the cores instead of the full path running alone
    jobs = [delayed(fit_path)(model.problem, model.penalty, alphas, tol=tol, max_iter=max_iter)]
    jobs += [delayed(_fold_errors)(arrays, fold_rows, f, model.penalty, alphas,
                                   model.fit_intercept, model.standardize, tol, max_iter, scoring,
                                   task_var, family, getattr(model, "dtype", "float64"))
             for f in range(F)]
    raw, *out = Parallel(n_jobs=n_jobs)(jobs)
    full = _path_results(model, alphas, raw, amax, tol, max_iter)
    errors, counts = zip(*out, strict=True)
    return CVResults(full, errors, counts, fold_rows, scoring)


def cv(formula, data=None, task=None, *, penalty="group_lasso", n_folds=10, foldid=None,
       alphas=None, n_alphas=100, alpha_min_ratio=None, grid=None, scoring=None, n_jobs=None,
       random_state=0, fit_intercept=True, standardize=True, family="gaussian", missing="drop",
       tol=1e-6, max_iter=10_000, dtype="float64", **penalty_options):
    """K-fold cross-validation of a regularisation path, as ``cv.glmnet``.

    Parameters
    ----------
    formula, data, task, penalty, fit_intercept, standardize, family, missing, dtype
        As in :func:`mtreg.fit` (with ``dtype="float32"`` the folds' paths run in float32 too).
    n_folds : int, default 10
        Folds drawn within each task (ignored with ``foldid``).
    foldid : array-like of shape (n_rows,), optional
        Fold label of every row of ``data`` (any labels), to compare models on identical folds.
    alphas, n_alphas, alpha_min_ratio
        The alpha grid, as in :func:`mtreg.path`.
    grid : dict, optional
        ``{"alpha": alphas_or_None, "<param>": [values]}``: cross-validate over alpha and one
        other penalty hyperparameter (e.g. ``l1_ratio``); returns :class:`CVGridResults`.
    scoring : str, optional
        Error per task on the held-out rows (cv.glmnet's ``type.measure``). Gaussian:
        ``"mse"`` (default), ``"mae"``, ``"nmse"`` (the MSE divided by the variance of the
        task's response), ``"r2"``, ``"explained_variance"``. Binomial: ``"deviance"``
        (default; mean binomial deviance per held-out row), ``"auc"``, ``"auc_pr"`` (average
        precision), ``"misclassification"``, or ``"mse"``/``"mae"`` of the probabilities.
        Folds of a binomial fit are dealt by class within each task (per-task designs).
    n_jobs : int, optional
        Folds run in parallel through joblib (``-1``: all cores). Results do not depend on it.
    random_state : int, default 0
        Seed of the fold assignment.
    tol, max_iter
        Per fit.
    **penalty_options
        Hyperparameters of the penalty.

    Returns
    -------
    CVResults or CVGridResults
    """
    model = MultiTaskModel.from_formula(formula, data, task=task, missing=missing,
                                        eval_env=EvalEnvironment.capture(1), penalty=penalty,
                                        fit_intercept=fit_intercept, standardize=standardize,
                                        family=family, dtype=dtype, **penalty_options)
    common = {"n_folds": n_folds, "foldid": foldid, "scoring": scoring, "n_jobs": n_jobs,
              "random_state": random_state, "tol": tol, "max_iter": max_iter}
    if grid is None:
        return cv_model(model, alphas=alphas, n_alphas=n_alphas, alpha_min_ratio=alpha_min_ratio,
                        **common)
    return _cv_grid(model, grid, n_alphas=n_alphas, alpha_min_ratio=alpha_min_ratio, **common)


def _cv_grid(model, grid, *, n_alphas, alpha_min_ratio, **common):
    if not isinstance(grid, dict):
        raise TypeError(f"grid must be a dict like {{'alpha': None, 'l1_ratio': [...]}}, got {grid!r}")
    others = [k for k in grid if k != "alpha"]
    if len(others) != 1:
        raise ValueError(f"grid must name exactly one hyperparameter besides alpha, got {others}")
    param = others[0]
    values = list(grid[param])
    if not values:
        raise ValueError(f"grid[{param!r}] is empty")
    params = model.penalty.params()
    accepted = inspect.signature(type(model.penalty)).parameters
    if param not in accepted:
        raise ValueError(f"penalty {model.penalty.name!r} has no hyperparameter {param!r}; "
                         f"it has {', '.join(accepted) or 'none'}")
    models = {}
    for v in values:
        m = MultiTaskModel._from_design(model.design, penalty=type(model.penalty)(**{**params, param: v}),
                                        fit_intercept=model.fit_intercept,
                                        standardize=model.standardize, family=model.family)
        m._problem = model.problem  # the same scaled data for every value
        models[v] = m
    alphas = grid.get("alpha")
    if alphas is None:
        amax = max(m.alpha_max() for m in models.values())
        d = model.design
        alphas = alpha_grid(amax, n_alphas, alpha_min_ratio, n_samples=int(d.n_samples.min()),
                            n_features=d.n_features)
    alphas = _check_alphas(alphas)
    design = model.design
    if common["foldid"] is not None:
        folds = _foldid_from_user(design, common["foldid"])
    else:
        folds = make_folds(design, common["n_folds"], common["random_state"],
                           by_class=getattr(model, "family", "gaussian") == "binomial")
    by_value = {v: cv_model(m, alphas=alphas, _folds=folds, **common) for v, m in models.items()}
    return CVGridResults(param, values, by_value)
