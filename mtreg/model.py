"""The model (data + penalty specification) and the :func:`fit` entry point.

A :class:`MultiTaskModel` holds a :class:`~mtreg.design.TaskDesign` and a penalty; ``fit``
scales the problem (mtreg/solvers/problem.py, the one place where scaling happens), hands it to
a solver and wraps the record in :class:`~mtreg.results.MultiTaskResults`.
"""
from __future__ import annotations

import numbers
import warnings

import numpy as np
from patsy import EvalEnvironment

from . import design as _design
from .penalties import Penalty, get_penalty
from .solvers import make_problem, to_original_scale
from .solvers.problem import check_dtype

__all__ = ["MultiTaskModel", "fit"]

#: response families: the loss of task k is its mean squared error / 2 ("gaussian") or its
#: mean logistic loss ("binomial", responses 0/1, booleans or a two-level categorical)
_FAMILIES = ("gaussian", "binomial")

#: folds of the cross-validation that picks alpha when neither alpha nor alpha_frac is given
DEFAULT_CV_FOLDS = 10

#: smallest ``tol`` a ``dtype="float32"`` fit is asked for: float32 carries ~7 significant
#: digits, so its residuals (and the duality gap computed from them) are not trustworthy below
#: about 1e-6 of the null objective; a smaller ``tol`` is raised to this with a warning
FLOAT32_MIN_TOL = 1e-6


def _float32_penalties() -> list[str]:
    """Registered penalties whose solver has a float32 kernel (block coordinate descent)."""
    from .penalties import REGISTRY

    names = []
    for name in REGISTRY:
        try:
            pen = get_penalty(name)
        except TypeError:  # needs arguments (e.g. gengl's components): judged when given
            continue
        if getattr(pen, "solver", "bcd") == "bcd":
            names.append(name)
    return names


def _check_dtype(dtype, penalty, family):
    """Validate ``dtype``; float32 needs the Gaussian family and a block-coordinate-descent penalty."""
    dt = check_dtype(dtype)
    if dt == np.float32:
        name = getattr(penalty, "name", type(penalty).__name__)
        solver = getattr(penalty, "solver", "bcd")
        if solver != "bcd":
            raise ValueError(
                f"dtype='float32' is not available for penalty {name!r} (solver {solver!r} has "
                f"no float32 kernel); it is available for {', '.join(map(repr, _float32_penalties()))}"
                " (block coordinate descent). Use dtype='float64'")
        if family != "gaussian":
            raise ValueError(f"dtype='float32' is not available for family={family!r} (the "
                             "logistic solver computes in float64); use dtype='float64'")
    return dt.name


def _check_positive_number(name, value, *, allow_zero=True):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return value


def _check_family(family):
    if not isinstance(family, str) or family not in _FAMILIES:
        raise ValueError(f"unknown family {family!r}; available: {', '.join(_FAMILIES)}")
    return family


def _check_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


class MultiTaskModel:
    """A multi-task regression model: a task design plus a penalty.

    Parameters
    ----------
    endog : array-like of shape (N,) or (n, K)
        Responses. 1-D with ``task`` labels: one long table of tasks (per-task designs);
        2-D (n, K) without ``task``: K tasks sharing ``exog``.
    exog : array-like, DataFrame or scipy.sparse matrix of shape (N, p) or (n, p)
        Features (no constant column: per-task intercepts are fitted with ``fit_intercept``).
    task : array-like of shape (N,), optional
        Task label of every row of a 1-D ``endog``.
    penalty : str or Penalty, default "group_lasso"
        A name from :data:`mtreg.penalties.REGISTRY` or a penalty object.
    fit_intercept : bool, default True
        Fit an unpenalised intercept per task.
    standardize : bool, default True
        Scale features to unit (pooled within-task) variance before solving, as glmnet does;
        coefficients are always reported on the original scale.
    family : {"gaussian", "binomial"}
        Response distribution: the loss of each task is its mean squared error / 2
        (``"gaussian"``) or its mean logistic loss (``"binomial"``: responses 0/1, booleans or
        a two-level categorical; see :mod:`mtreg.solvers.logistic`).
    missing : {"drop", "raise"}
        Rows with missing values are dropped and counted per task, or raise an error.
    feature_names, response_names : list of str, optional
        Labels for array input.
    dtype : {"float64", "float32"}, default "float64"
        Precision the solver computes in. Inputs of either precision are accepted (float32
        arrays and DataFrames with only float32 columns are stored as float32, without a float64
        copy). ``"float32"`` halves the memory of the standardised copy of X the solver works
        on and runs the block coordinate descent kernels in single precision; it is available
        for the penalties solved by block coordinate descent (``"lasso"``, ``"group_lasso"``,
        ``"stl"``, elastic nets via ``l1_ratio``) with ``family="gaussian"``, and raises a
        ``ValueError`` naming those otherwise. Results are float64 either way; float32 fits
        agree with float64 fits to about 1e-5 relative, and their ``tol`` is at least
        :data:`FLOAT32_MIN_TOL` (1e-6; a smaller one is raised with a warning).
    **penalty_options
        Hyperparameters of a named penalty, e.g. ``l1_ratio``.

    See Also
    --------
    MultiTaskModel.from_formula, MultiTaskModel.from_arrays, fit
    """

    def __init__(self, endog, exog, task=None, *, penalty="group_lasso", fit_intercept=True,
                 standardize=True, family="gaussian", missing="drop", feature_names=None,
                 response_names=None, dtype="float64", **penalty_options):
        _check_family(family)
        check_dtype(dtype)
        design = _design.from_endog_exog(endog, exog, task, feature_names=feature_names,
                                         response_names=response_names, missing=missing,
                                         binary=family == "binomial")
        self._init(design, penalty, penalty_options, fit_intercept=fit_intercept,
                   standardize=standardize, family=family, missing=missing, dtype=dtype)

    def _init(self, design, penalty, penalty_options, *, fit_intercept, standardize, family,
              missing, dtype="float64"):
        if not isinstance(fit_intercept, (bool, np.bool_)):
            raise TypeError(f"fit_intercept must be True or False, got {fit_intercept!r}")
        if not isinstance(standardize, (bool, np.bool_)):
            raise TypeError(f"standardize must be True or False, got {standardize!r}")
        _check_family(family)
        self.design = design
        self.penalty: Penalty = get_penalty(penalty, **penalty_options)
        if family == "binomial":
            from .solvers.logistic import check_labels, check_penalty

            check_penalty(self.penalty)
            check_labels(design.y, design.task_ptr, bool(fit_intercept), design.tasks)
        self.fit_intercept = bool(fit_intercept)
        self.standardize = bool(standardize)
        self.family = family
        self.missing = missing
        self.dtype = _check_dtype(dtype, self.penalty, family)
        self._problem = None

    @classmethod
    def _from_design(cls, design, **kwargs):
        self = cls.__new__(cls)
        penalty = kwargs.pop("penalty", "group_lasso")
        options = {k: kwargs.pop(k) for k in list(kwargs)
                   if k not in ("fit_intercept", "standardize", "family", "missing", "dtype")}
        kwargs.setdefault("fit_intercept", True)
        kwargs.setdefault("standardize", True)
        kwargs.setdefault("family", "gaussian")
        kwargs.setdefault("missing", "drop")
        self._init(design, penalty, options, **kwargs)
        return self

    @classmethod
    def from_formula(cls, formula, data, task=None, *, missing="drop", eval_env=0, **kwargs):
        """Build a model from a patsy formula over a DataFrame.

        Parameters
        ----------
        formula : str
            ``"y ~ x1 + C(g)"`` with a ``task`` column (long table, one design per task), or
            ``"y1 + y2 ~ x1 + x2"`` without ``task`` (wide table: each response is a task and
            all tasks share one design).
        data : pandas.DataFrame
        task : str, optional
            Name of the task column of a long table.
        missing : {"drop", "raise"}
        eval_env : int or patsy.EvalEnvironment, default 0
            Where names in the formula that are not columns are looked up: 0 is the caller.
        **kwargs
            ``penalty``, ``fit_intercept``, ``standardize``, ``family``, ``dtype`` (see
            :class:`MultiTaskModel`) and penalty options.
        """
        if not isinstance(eval_env, EvalEnvironment):
            eval_env = EvalEnvironment.capture(eval_env + 1)
        family = kwargs.get("family", "gaussian")
        _check_family(family)
        design = _design.from_formula(formula, data, task=task, missing=missing, eval_env=eval_env,
                                      binary=family == "binomial")
        return cls._from_design(design, missing=missing, **kwargs)

    @classmethod
    def from_arrays(cls, X_list, y_list, *, feature_names=None, task_names=None, **kwargs):
        """Build a model from per-task arrays ``[(X_1, y_1), ...]`` given as two lists.

        Parameters
        ----------
        X_list : list of array-like or scipy.sparse matrices, each (n_k, p)
        y_list : list of array-like, each (n_k,)
        feature_names, task_names : list of str, optional
        **kwargs
            ``penalty``, ``fit_intercept``, ``standardize``, ``family``, ``dtype`` (see
            :class:`MultiTaskModel`) and penalty options.
        """
        family = kwargs.get("family", "gaussian")
        _check_family(family)
        design = _design.from_arrays(X_list, y_list, feature_names=feature_names,
                                     task_names=task_names, binary=family == "binomial")
        return cls._from_design(design, **kwargs)

    # ------------------------------------------------------------------ numerics
    @property
    def problem(self):
        """The centred, standardised numeric problem (built once, cached; X in ``dtype``)."""
        if self._problem is None:
            d = self.design
            if self.family == "binomial":  # the same scaling; the 0/1 labels are kept as they are
                from .solvers.logistic import make_logistic_problem

                self._problem = make_logistic_problem(d.X, d.y, d.task_ptr, shared=d.shared,
                                                      fit_intercept=self.fit_intercept,
                                                      standardize=self.standardize, tasks=d.tasks)
            else:
                self._problem = make_problem(d.X, d.y, d.task_ptr, shared=d.shared,
                                             fit_intercept=self.fit_intercept,
                                             standardize=self.standardize,
                                             dtype=getattr(self, "dtype", "float64"))
        return self._problem

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_problem"] = None  # rebuilt on demand; do not pickle scaled copies of the data
        state.pop("_alpha_max_cache", None)  # holds the problem
        return state

    def alpha_max(self) -> float:
        """Smallest alpha for which every coefficient is zero.

        ``penalty.alpha_max(G0)`` with ``G0[:, k] = X_k^T (y_k - ybar_k) / n_k`` (both families:
        for ``"binomial"`` this is the gradient of the mean logistic loss at W = 0 with the
        intercepts at their optimum).
        """
        # once per (problem, penalty settings): every alpha_frac fit and path asks for it
        problem, key = self.problem, repr(self.penalty)
        cached = self.__dict__.get("_alpha_max_cache")
        if cached is None or cached[0] is not problem or cached[1] != key:
            cached = (problem, key, float(self.penalty.alpha_max(problem.null_fit()[2])))
            self.__dict__["_alpha_max_cache"] = cached
        return cached[2]

    def fit(self, alpha=None, *, alpha_frac=None, tol=1e-6, max_iter=10_000, init=None):
        """Fit the model.

        Minimises, over W (p x K) and per-task intercepts b::

            sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2 + alpha * Omega(W)

        or, for ``family="binomial"``, with ``eta_k = b_k + X_k w_k``::

            sum_k 1/n_k sum_i [log(1 + exp(eta_ki)) - y_ki eta_ki] + alpha * Omega(W)

        Parameters
        ----------
        alpha : float, optional
            Penalty strength. Give ``alpha`` or ``alpha_frac``, not both. With neither, alpha is
            chosen by 10-fold cross-validation (folds within tasks, ``random_state=0``; 100 alphas,
            20 for non-convex penalties) with glmnet's 1-SE rule, and the summary says so
            (``results.cv`` keeps the CV).
        alpha_frac : float in (0, 1], optional
            ``alpha`` as a fraction of :meth:`alpha_max`.
        tol : float, default 1e-6
            Stop when the duality gap is below ``tol`` times the objective at W = 0. With
            ``dtype="float32"`` (see :class:`MultiTaskModel`) a ``tol`` below
            :data:`FLOAT32_MIN_TOL` (1e-6) cannot be certified and is raised to it, with a
            ``UserWarning``.
        max_iter : int, default 10000
            Maximum number of epochs (passes over the features); for ``"binomial"``, of each
            inner (weighted least-squares) solve.
        init : MultiTaskResults or array-like of shape (p, K), optional
            Warm start: coefficients (original scale) to start from.

        Returns
        -------
        MultiTaskResults
            Coefficients, intercepts and the duality gap are float64 whatever ``dtype``.
        """
        from .results import MultiTaskResults
        from .solvers import get_solver

        tol = _check_positive_number("tol", tol, allow_zero=False)
        if getattr(self, "dtype", "float64") == "float32" and tol < FLOAT32_MIN_TOL:
            warnings.warn(f"tol={tol:g} is below what a float32 fit can certify; using "
                          f"tol={FLOAT32_MIN_TOL:g} (use dtype='float64' for a tighter tol)",
                          UserWarning, stacklevel=2)
            tol = FLOAT32_MIN_TOL
        max_iter = _check_int("max_iter", max_iter)
        coef_init = self._coef_init(init)
        if alpha is None and alpha_frac is None:
            from .cv import cv_model

            if not np.isfinite(self._alpha_max_or_inf()):
                raise ValueError(
                    f"fit() without alpha cross-validates a grid below alpha_max, and penalty "
                    f"{getattr(self.penalty, 'name', self.penalty)!r} has no finite alpha_max "
                    "(W = 0 is optimal for no alpha): give alpha, or cross-validate a grid of "
                    "your own with mtreg.cv(..., alphas=[...])")

            # non-convex models refit every restart at every alpha: a coarser grid keeps it usable
            n_alphas = 100 if getattr(self.penalty, "is_convex", True) else 20
            cvres = cv_model(self, n_folds=DEFAULT_CV_FOLDS, n_alphas=n_alphas, tol=tol,
                             max_iter=max_iter)
            res = cvres.results("1se")
            res.alpha_selection = f"{DEFAULT_CV_FOLDS}-fold CV, 1-SE rule (mtreg.cv)"
            return res
        alpha, amax = self._resolve_alpha(alpha, alpha_frac)
        problem = self.problem
        solve = get_solver(self.penalty)
        record = solve(problem, self.penalty, alpha, tol=tol, max_iter=max_iter,
                       coef_init=coef_init)
        coef, intercept = to_original_scale(problem, record.coef, record.intercept)
        if not self.fit_intercept:
            intercept = np.zeros_like(intercept)
        self.tol, self.max_iter = tol, max_iter
        return MultiTaskResults(self, coef, intercept, record, alpha=alpha, alpha_max=amax)

    def _resolve_alpha(self, alpha, alpha_frac):
        if alpha is not None and alpha_frac is not None:
            raise ValueError("give alpha or alpha_frac, not both")
        amax = None
        if alpha is None:
            frac = _check_positive_number("alpha_frac", alpha_frac, allow_zero=False)
            amax = self.alpha_max()
            if amax == 0:
                raise ValueError("alpha_max is 0 (the responses are constant within every task): "
                                 "give alpha instead of alpha_frac")
            if not np.isfinite(amax):
                raise ValueError(
                    f"alpha_frac needs a finite alpha_max, and penalty "
                    f"{getattr(self.penalty, 'name', self.penalty)!r} has none (W = 0 is optimal "
                    "for no alpha: it only fuses tasks, or has an unpenalised part): give alpha "
                    "instead of alpha_frac, or cross-validate a grid of your own with "
                    "mtreg.cv(..., alphas=[...])")
            return frac * amax, amax
        alpha = _check_positive_number("alpha", alpha)
        return alpha, self._alpha_max_or_inf()

    def _alpha_max_or_inf(self) -> float:
        try:
            return self.alpha_max()
        except ValueError:  # e.g. pure ridge: alpha_max is infinite
            return np.inf

    def _coef_init(self, init):
        if init is None:
            return None
        from .results import MultiTaskResults

        if isinstance(init, MultiTaskResults):
            init = init.params.to_numpy()
        W = np.asarray(init, dtype=np.float64)
        shape = (self.design.n_features, self.design.n_tasks)
        if W.shape != shape:
            raise ValueError(f"init has shape {W.shape}; expected (n_features, n_tasks) = {shape}")
        if not np.all(np.isfinite(W)):
            raise ValueError("init contains NaN or inf")
        return W * self.problem.x_scale[:, None]

    def __repr__(self) -> str:
        d = self.design
        return (f"MultiTaskModel({d.response_names[0] if len(d.response_names) == 1 else 'Y'}, "
                f"{d.n_tasks} tasks, {d.n_features} features, penalty={self.penalty!r})")


def fit(formula, data=None, task=None, *, penalty="group_lasso", alpha=None, alpha_frac=None,
        fit_intercept=True, standardize=True, family="gaussian", missing="drop", tol=1e-6,
        max_iter=10_000, init=None, dtype="float64", **penalty_options):
    """Fit a sparse multi-task regression from a formula.

    Minimises ``sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2 + alpha * Omega(W)`` over the
    coefficients W (features x tasks) and per-task intercepts b (``family="binomial"``: each
    task's mean logistic loss instead of its halved mean squared error).

    Parameters
    ----------
    formula : str
        patsy formula. With ``task``: ``"y ~ x1 + x2 + C(g)"`` over a long table, one
        regression per task (tasks may have different numbers of rows). Without ``task``:
        ``"y1 + y2 ~ x1 + x2"``, each response a task, all sharing one design.
    data : pandas.DataFrame
    task : str, optional
        Name of the task column.
    penalty : str or Penalty, default "group_lasso"
        ``"lasso"`` (independent l1 per task) or ``"group_lasso"`` (l1/l2 over feature rows),
        or a :class:`mtreg.penalties.Penalty` object.
    alpha, alpha_frac : float, optional
        Penalty strength, absolute or as a fraction of ``alpha_max``. With neither, alpha is
        chosen by 10-fold cross-validation with the 1-SE rule (see :func:`mtreg.cv`).
    fit_intercept : bool, default True
        Per-task unpenalised intercepts.
    standardize : bool, default True
        glmnet's standardisation; coefficients are reported on the original scale.
    family : {"gaussian", "binomial"}
        ``"binomial"``: sparse multi-task logistic regression (each task's mean logistic loss;
        responses 0/1, booleans or a two-level categorical whose level order is reported).
    missing : {"drop", "raise"}
        Drop rows with missing values (counted per task in the summary) or raise.
    tol, max_iter, init
        See :meth:`MultiTaskModel.fit`.
    dtype : {"float64", "float32"}, default "float64"
        Precision of the solver (see :class:`MultiTaskModel`): ``"float32"`` for the
        penalties solved by block coordinate descent halves the memory of the solver's copy
        of X; results are float64 either way and ``tol`` is at least 1e-6.
    **penalty_options
        Hyperparameters of the named penalty, e.g. ``l1_ratio=0.5`` for the elastic net.

    Returns
    -------
    MultiTaskResults

    Examples
    --------
    >>> import mtreg
    >>> ds = mtreg.datasets.load_parkinsons()
    >>> res = mtreg.fit(ds.formula, task="subject", data=ds.data, penalty="group_lasso")
    >>> print(res.summary())  # doctest: +SKIP
    """
    model = MultiTaskModel.from_formula(formula, data, task=task, missing=missing,
                                        eval_env=EvalEnvironment.capture(1),
                                        penalty=penalty, fit_intercept=fit_intercept,
                                        standardize=standardize, family=family,
                                        dtype=dtype, **penalty_options)
    return model.fit(alpha, alpha_frac=alpha_frac, tol=tol, max_iter=max_iter, init=init)
