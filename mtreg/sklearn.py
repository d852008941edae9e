"""scikit-learn style estimators with MuTaR's shapes, fitted by mtreg.

Each estimator is a thin wrapper: it turns its input into per-task arrays, builds a
:class:`mtreg.MultiTaskModel` (``MultiTaskModel.from_arrays``) with the matching penalty and calls
its ``fit`` — so ``est.coef_`` is *exactly* ``mtreg``'s ``res.params`` on the same data.

Inputs (for ``fit``, ``predict``, ``score``):

* MuTaR's layout: ``X`` of shape (n_tasks, n_samples, n_features) or a list of per-task arrays
  (n_samples may differ between tasks), ``y`` of shape (n_tasks, n_samples) or a list;
* a long table: ``X`` (n_rows, n_features), ``y`` (n_rows,) and ``task`` (n_rows,) labels; with
  scikit-learn's metadata routing (``set_config(enable_metadata_routing=True)`` and
  ``est.set_fit_request(task=True).set_score_request(task=True)``) this is what makes
  ``GridSearchCV`` draw its folds *within* tasks;
* a single task: ``X`` (n_samples, n_features), ``y`` (n_samples,) — a plain scikit-learn
  regressor (this is what ``check_estimator`` exercises).

Attributes after ``fit``: ``coef_`` (n_features, n_tasks), ``intercept_`` (n_tasks,),
``tasks_`` (task labels), ``n_iter_``, ``objective_``, ``loss_`` (the solver's trace) and model
specific ones (``coef_shared_``/``coef_specific_`` for the dirty and multilevel models,
``barycenter_`` and ``sigma_`` for MTW).

Objective: DESIGN.md's ``sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2 + penalty``. Unlike
:func:`mtreg.fit`, the estimators default to ``standardize=False``, so that the objective is
MuTaR's on the raw features (MuTaR's ``normalize=False``). Hyperparameters use MuTaR's absolute
levels (``DirtyModel(alpha, beta)`` is ``alpha ||B||_{1,2} + beta ||S||_1``) and are translated to
mtreg's relative ones (``alpha + beta`` and ``l1_ratio = beta / (alpha + beta)``).

Which solution for non-unique problems: with collinear features (MuTaR's README example), block
coordinate descent visits features in order and the first of a set of collinear features absorbs
the signal (later ones then see a zero gradient and stay at 0): mtreg returns the same
coefficients as MuTaR there, and in general a minimiser with the same predictions and objective.
"""
from __future__ import annotations

import inspect

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import penalties as _penalties
from .model import MultiTaskModel

__all__ = ["IndLasso", "IndRewLasso", "GroupLasso", "DirtyModel", "MultiLevelLasso", "MTW", "ReMTW",
           "MultiTaskRegressor"]


def _is_multitask_X(X) -> bool:
    """3-D arrays and lists of 2-D per-task arrays (a list of rows is one task)."""
    if isinstance(X, (list, tuple)):
        return len(X) > 0 and np.ndim(X[0]) == 2
    return getattr(X, "ndim", None) == 3


def _fast_tasks(A, ndim: int):
    """Per-task views of a finite, non-empty float64 ndarray of ``ndim`` dimensions, else None.

    What ``check_array(A[k], dtype=np.float64)`` returns for every task of such an array (the
    same values, no copy), in one finiteness pass instead of one ``check_array`` per task;
    anything else (lists, other dtypes, empty axes, nan/inf) returns None and goes through
    ``check_array`` task by task, with its checks and error messages.
    """
    if type(A) is not np.ndarray or A.ndim != ndim or A.dtype != np.float64 or A.size == 0:
        return None
    if not np.isfinite(A).all():
        return None
    return list(A)


class MultiTaskRegressor(RegressorMixin, BaseEstimator):
    """Base class: input handling, fitting through :class:`mtreg.MultiTaskModel`, prediction.

    Subclasses define ``_penalty_and_alpha()`` returning ``(penalty, alpha)`` in mtreg's
    convention.
    """

    # ------------------------------------------------------------------ to override
    def _penalty_and_alpha(self):  # pragma: no cover - every estimator class defines it
        raise TypeError(f"{type(self).__name__} is a base class: use IndLasso, GroupLasso, ...")

    def _post_fit(self, res):
        """Model-specific attributes from the results (override)."""

    # ------------------------------------------------------------------ input handling
    def _split(self, X, y=None, task=None, *, reset: bool):
        """Per-task lists ``(X_list, y_list, layout, info)``; layout in mutar/long/single."""
        if task is not None:
            X = validate_data(self, X, reset=reset) if y is None else \
                validate_data(self, X, y, reset=reset, y_numeric=True)[0]
            if y is not None:
                y = np.asarray(y, dtype=float).reshape(-1)
            task = np.asarray(task).reshape(-1)
            if task.shape[0] != X.shape[0]:
                raise ValueError(f"task has {task.shape[0]} labels but X has {X.shape[0]} rows")
            labels = np.unique(task) if reset else np.asarray(self.tasks_)
            rows = []
            for lab in (labels if reset else np.unique(task)):
                if not reset and lab not in set(labels.tolist()):
                    raise ValueError(f"task {lab!r} was not seen in fit; known tasks: "
                                     f"{labels.tolist()}")
                rows.append((lab, np.flatnonzero(task == lab)))
            X_list = [X[r] for _, r in rows]
            y_list = None if y is None else [y[r] for _, r in rows]
            return X_list, y_list, "long", {"rows": rows, "n": X.shape[0]}
        if _is_multitask_X(X):
            X_list = _fast_tasks(X, 3)
            if X_list is None:
                X_list = [check_array(x, dtype=np.float64) for x in X]
            if not X_list:
                raise ValueError("X is empty: at least one task is needed")
            p = X_list[0].shape[1]
            if any(x.shape[1] != p for x in X_list):
                raise ValueError("every task must have the same number of features")
            if reset:
                self.n_features_in_ = p
            elif p != self.n_features_in_:
                raise ValueError(f"X has {p} features, but {type(self).__name__} is expecting "
                                 f"{self.n_features_in_} features as input")
            y_list = None
            if y is not None:
                y_list = _fast_tasks(y, 2)
                if y_list is None:
                    y_list = [check_array(np.asarray(v, dtype=float).reshape(1, -1),
                                          ensure_2d=True)[0] for v in y]
                if len(y_list) != len(X_list) or any(len(v) != x.shape[0]
                                                     for v, x in zip(y_list, X_list, strict=False)):
                    raise ValueError("Data shape not understood: X must be (n_tasks, n_samples, "
                                     "n_features) or a list of (n_k, n_features) arrays and y "
                                     "(n_tasks, n_samples) or a list of (n_k,) arrays")
            ragged = isinstance(X, (list, tuple)) and len({x.shape[0] for x in X_list}) > 1
            return X_list, y_list, "mutar", {"ragged": ragged, "list": isinstance(X, (list, tuple))}
        if y is None:
            X = validate_data(self, X, reset=reset)
            return [X], None, "single", {}
        X, y = validate_data(self, X, y, reset=reset, y_numeric=True,
                             ensure_min_samples=2 if reset else 1)
        if y.ndim != 1:
            raise ValueError("y must be 1-D for a single task; for several tasks give X as "
                             "(n_tasks, n_samples, n_features) and y as (n_tasks, n_samples)")
        return [X], [np.asarray(y, dtype=float)], "single", {}

    # ------------------------------------------------------------------ API
    def fit(self, X, y, task=None):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_tasks, n_samples, n_features), list of (n_k, n_features)
            arrays, or (n_rows, n_features) with ``task`` (long table) or without (one task)
        y : array-like of shape (n_tasks, n_samples), list of (n_k,) arrays, or (n_rows,)
        task : array-like of shape (n_rows,), optional
            Task label of every row of a long table.

        Returns
        -------
        self
        """
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        X_list, y_list, layout, info = self._split(X, y, task, reset=True)
        if layout == "long":
            tasks = [lab for lab, _ in info["rows"]]
        else:
            tasks = list(range(len(X_list)))
        penalty, alpha = self._penalty_and_alpha()
        model = MultiTaskModel.from_arrays(X_list, y_list, penalty=penalty,
                                           fit_intercept=self.fit_intercept,
                                           standardize=self.standardize)
        init = None
        if getattr(self, "warm_start", False) and hasattr(self, "coef_") and \
                self.coef_.shape == (X_list[0].shape[1], len(X_list)):
            init = self.coef_
        res = model.fit(alpha, tol=self.tol, max_iter=self.max_iter, init=init)
        self.coef_ = res.params.to_numpy()
        self.intercept_ = res.intercepts.to_numpy()
        self.tasks_ = np.asarray(tasks)
        self.n_tasks_ = len(X_list)
        self.n_iter_ = int(res.record.n_iter)
        self.objective_ = float(res.record.objective)
        self.loss_ = np.asarray(res.record.history)
        self.converged_ = bool(res.record.converged)
        self._post_fit(res)
        return self

    def predict(self, X, task=None):
        """Predict every task.

        Returns
        -------
        ndarray of shape (n_tasks, n_samples) (3-D X), list of arrays (list X), or (n_rows,)
        (long table with ``task``, in the rows' order; one task)
        """
        check_is_fitted(self, "coef_")
        X_list, _, layout, info = self._split(X, None, task, reset=False)
        if layout == "single":
            if self.n_tasks_ != 1:
                raise ValueError(f"the model has {self.n_tasks_} tasks: give X as (n_tasks, "
                                 "n_samples, n_features), a list, or rows with task labels")
            return X_list[0] @ self.coef_[:, 0] + self.intercept_[0]
        if layout == "long":
            out = np.empty(info["n"])
            index = {lab: i for i, lab in enumerate(self.tasks_.tolist())}
            for (lab, rows), Xk in zip(info["rows"], X_list, strict=True):
                k = index[lab]
                out[rows] = Xk @ self.coef_[:, k] + self.intercept_[k]
            return out
        if len(X_list) != self.n_tasks_:
            raise ValueError(f"X has {len(X_list)} tasks but the model was fitted on "
                             f"{self.n_tasks_}")
        preds = [Xk @ self.coef_[:, k] + self.intercept_[k] for k, Xk in enumerate(X_list)]
        if info["list"]:
            return preds
        return np.array(preds)

    def score_tasks(self, X, y, task=None):
        """R^2 of every task, shape (n_tasks,) (tasks present in a long table, in label order)."""
        check_is_fitted(self, "coef_")
        X_list, y_list, layout, info = self._split(X, y, task, reset=False)
        if layout == "long":
            index = {lab: i for i, lab in enumerate(self.tasks_.tolist())}
            ks = [index[lab] for lab, _ in info["rows"]]
        elif layout == "single":
            ks = [0]
        else:
            ks = list(range(len(X_list)))
        return np.array([r2_score(yk, Xk @ self.coef_[:, k] + self.intercept_[k])
                         for k, Xk, yk in zip(ks, X_list, y_list, strict=True)])

    def score(self, X, y, task=None, sample_weight=None):
        """Mean R^2 across tasks (MuTaR returns the per-task vector: see :meth:`score_tasks`)."""
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported")
        return float(np.mean(self.score_tasks(X, y, task)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


def _common_doc(extra=""):
    return f"""
    Parameters
    ----------{extra}
    fit_intercept : bool, default True
        Per-task unpenalised intercepts.
    standardize : bool, default False
        Scale the features before solving (mtreg's default is True; False gives MuTaR's
        objective on the raw features).
    tol : float, default 1e-6
        mtreg's tolerance (duality gap, or objective decrease for non-convex models, relative to
        the objective at W = 0).
    max_iter : int, default 10000
    warm_start : bool, default False
        Start from the previous ``coef_`` (same shapes).
"""


class IndLasso(MultiTaskRegressor):
    __doc__ = ("Independent lasso per task: ``alpha ||W||_1`` (mtreg penalty ``lasso``)."
               + _common_doc("\n    alpha : float, default 1"))

    def __init__(self, alpha=1.0, fit_intercept=True, standardize=False, tol=1e-6,
                 max_iter=10_000, warm_start=False):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def _penalty_and_alpha(self):
        return _penalties.Lasso(), self.alpha


class GroupLasso(IndLasso):
    __doc__ = ("Group lasso: ``alpha ||W||_{1,2}`` (mtreg penalty ``group_lasso``)."
               + _common_doc("\n    alpha : float, default 0.1"))

    def __init__(self, alpha=0.1, fit_intercept=True, standardize=False, tol=1e-6,
                 max_iter=10_000, warm_start=False):
        super().__init__(alpha=alpha, fit_intercept=fit_intercept, standardize=standardize,
                         tol=tol, max_iter=max_iter, warm_start=warm_start)

    def _penalty_and_alpha(self):
        return _penalties.GroupLasso(), self.alpha


class IndRewLasso(MultiTaskRegressor):
    __doc__ = ("Independent reweighted lasso: ``alpha sum |W_jk|^q`` (mtreg ``adaptive_lasso``)."
               + _common_doc("""
    alpha : float, default 1
    n_reweightings : int, default 10
        Weighted fits (MuTaR's ``max_iter_reweighting``).
    surrogate : {"lq", "log"}, default "lq"
    q : float, default 0.5
    eps : float, optional"""))

    def __init__(self, alpha=1.0, n_reweightings=10, surrogate="lq", q=0.5, eps=None,
                 fit_intercept=True, standardize=False, tol=1e-6, max_iter=10_000,
                 warm_start=False):
        self.alpha = alpha
        self.n_reweightings = n_reweightings
        self.surrogate = surrogate
        self.q = q
        self.eps = eps
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def _penalty_and_alpha(self):
        return _penalties.AdaptiveLasso(surrogate=self.surrogate, q=self.q, eps=self.eps,
                                        n_reweightings=self.n_reweightings), self.alpha


class DirtyModel(MultiTaskRegressor):
    __doc__ = ("Dirty model: ``alpha ||B||_{1,2} + beta ||S||_1``, W = B + S (mtreg ``dirty`` with "
               "alpha + beta and ``l1_ratio = beta / (alpha + beta)``)."
               + _common_doc("\n    alpha, beta : float, default 1"))

    def __init__(self, alpha=1.0, beta=1.0, fit_intercept=True, standardize=False, tol=1e-6,
                 max_iter=10_000, warm_start=False):
        self.alpha = alpha
        self.beta = beta
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def _penalty_and_alpha(self):
        a, b = float(self.alpha), float(self.beta)
        if a <= 0 or b <= 0:
            raise ValueError(f"alpha and beta must be > 0, got alpha={a!r}, beta={b!r}")
        return _penalties.Dirty(l1_ratio=b / (a + b)), a + b

    def _post_fit(self, res):
        comps = res.components
        self.coef_shared_ = comps["shared"].to_numpy()
        self.coef_specific_ = comps["specific"].to_numpy()


class MultiLevelLasso(MultiTaskRegressor):
    __doc__ = ("Multilevel lasso: ``alpha sum_j sqrt(||W_j||_1)`` = product form W = c V "
               "(mtreg ``multilevel``)." + _common_doc("\n    alpha : float, default 1"))

    def __init__(self, alpha=1.0, fit_intercept=True, standardize=False, tol=1e-6,
                 max_iter=10_000, warm_start=False):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def _penalty_and_alpha(self):
        return _penalties.MultiLevel(), self.alpha

    def _post_fit(self, res):
        scale = res.model.problem.x_scale
        c = np.asarray(res.record.extra["c"])
        self.coef_shared_ = c
        self.coef_specific_ = np.asarray(res.record.extra["V"]) / scale[:, None]


class MTW(MultiTaskRegressor):
    __doc__ = ("Multi-task Wasserstein: ``alpha OT + beta ||W||_1`` (mtreg ``mtw`` with alpha + "
               "beta and ``l1_ratio = beta / (alpha + beta)``)." + _common_doc("""
    alpha : float, default 0.1
        Weight of the OT term.
    beta : float, default 0.1
        Weight of the l1 term.
    M : array-like (n_features, n_features), optional
    coords : array-like, optional
        Feature coordinates for the default ground metric.
    epsilon, gamma : float, optional
    concomitant : bool, default False"""))

    _penalty_cls = "MTW"

    def __init__(self, alpha=0.1, beta=0.1, M=None, coords=None, epsilon=None, gamma=None,
                 concomitant=False, fit_intercept=True, standardize=False, tol=1e-6,
                 max_iter=10_000, warm_start=False):
        self.alpha = alpha
        self.beta = beta
        self.M = M
        self.coords = coords
        self.epsilon = epsilon
        self.gamma = gamma
        self.concomitant = concomitant
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start

    def _penalty_and_alpha(self):
        a, b = float(self.alpha), float(self.beta)
        if a < 0 or b <= 0:
            raise ValueError(f"need alpha >= 0 and beta > 0, got alpha={a!r}, beta={b!r}")
        cls = getattr(_penalties, self._penalty_cls)
        return cls(l1_ratio=b / (a + b), M=self.M, coords=self.coords, epsilon=self.epsilon,
                   gamma=self.gamma, concomitant=self.concomitant), a + b

    def _post_fit(self, res):
        self.barycenter_ = np.asarray(res.record.extra.get("barycenter"))
        self.sigma_ = np.asarray(res.record.extra.get("sigma"))


class ReMTW(MTW):
    __doc__ = ("Reweighted MTW: ``alpha OT + beta sum sqrt|W+-|`` (mtreg ``remtw``)."
               + MTW.__doc__.split("``.", 1)[-1])
    _penalty_cls = "ReMTW"


def _registry_estimator(name: str, cls_name: str):
    """A generic estimator for a registered penalty: ``alpha`` plus the penalty's own parameters."""
    pen_cls = _penalties.REGISTRY[name]
    pen_params = [p for p in inspect.signature(pen_cls).parameters.values()
                  if p.kind is p.POSITIONAL_OR_KEYWORD]
    common = [("fit_intercept", True), ("standardize", False), ("tol", 1e-6),
              ("max_iter", 10_000), ("warm_start", False)]
    params = ([inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
               inspect.Parameter("alpha", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=1.0)]
              + [inspect.Parameter(p.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=p.default)
                 for p in pen_params]
              + [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=d)
                 for n, d in common])
    names = [p.name for p in params[1:]]

    def __init__(self, *args, **kwargs):
        bound = inspect.signature(__init__).bind(self, *args, **kwargs)
        bound.apply_defaults()
        for n in names:
            setattr(self, n, bound.arguments[n])

    __init__.__signature__ = inspect.Signature(params)

    def _penalty_and_alpha(self):
        return pen_cls(**{p.name: getattr(self, p.name) for p in pen_params}), self.alpha

    doc = (f"Estimator of the registered penalty ``{name}`` (:class:`mtreg.penalties."
           f"{pen_cls.__name__}`): ``alpha * Omega(W)``." + _common_doc())
    return type(cls_name, (MultiTaskRegressor,), {"__init__": __init__, "__doc__": doc,
                                                  "_penalty_and_alpha": _penalty_and_alpha,
                                                  "__module__": __name__})


#: registry name -> estimator class name, created when the penalty is registered at import time
_OPTIONAL = {"sgmtl": "SGMTL"}
for _name, _cls_name in _OPTIONAL.items():
    if _name in _penalties.REGISTRY:
        globals()[_cls_name] = _registry_estimator(_name, _cls_name)
        __all__.append(_cls_name)
