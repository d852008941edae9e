"""Sparse multi-task logistic regression on top of any Gaussian solver (``family="binomial"``).

The objective (DESIGN.md, binomial convention) is, with ``eta_k = b_k + X_k w_k``::

    F(W, b) = sum_k 1/n_k sum_{i in k} [ log(1 + exp(eta_ki)) - y_ki eta_ki ]  +  alpha * Omega(W)

i.e. each task's MEAN logistic loss (minus its mean log-likelihood), per-task unpenalised
intercepts ``b_k``, and the penalty of the Gaussian fit. The design is centred and standardised
exactly as for the Gaussian family (:func:`make_logistic_problem` calls
:func:`~mtreg.solvers.problem.make_problem`, the one place where scaling happens); only the
response is kept as the raw 0/1 labels (``y_mean = 0``), so
:func:`~mtreg.solvers.problem.to_original_scale` maps ``(W, b)`` back unchanged.

Algorithm, lasso / group-lasso family (``kernel`` ``"l1"``/``"l21"``, solver ``bcd``, elastic-net
mixing allowed): a dedicated proximal Newton solver (glmnet, skglm's ``ProxNewton``) whose inner
loops are the Cython kernel :mod:`mtreg._cy._logistic`. A Python outer loop computes the full
gradient, the duality gap (per task for the lasso, whose tasks are independent) and a working set
(the support plus the rows violating the optimality conditions most, at least ``2 x`` the
support); the kernel then runs, on the working set, Newton iterations (IRLS weights, coordinate
descent on the weighted quadratic with the change of the linear predictor kept up to date, the
intercepts as unpenalised coordinates, Anderson extrapolation of the CD iterates every 6 epochs
when it lowers the quadratic model, a backtracking line search on the true objective) until
the working-set optimality violation is ``<= 0.3`` times the full one. :func:`solve_path` carries
``W``, ``b`` and the linear predictor along a grid and seeds each working set with the sequential
strong rule.

Algorithm, every other penalty: an outer loop that reuses the penalty's OWN Gaussian solver (``bcd``, ``spg``,
``sgmtl``, ...) on quadratic models of the logistic loss, so that every penalty whose solver takes
a :class:`~mtreg.solvers.problem.Problem` gets a logistic twin without new code:

* **Proximal Newton / IRLS** (glmnet): with ``p = expit(eta)``, weights ``w = p (1 - p)``
  (floored at ``1e-5`` as glmnet does) and working response ``z = eta + (y - p) / w``, the
  quadratic model of task k is ``1/(2 n_k) sum_i w_i (z_i - eta_i)^2`` -- a Gaussian problem
  with rows scaled by ``sqrt(w_i)`` and the same ``1/n_k``. The intercepts are profiled out by
  *weighted* centring (``x - xbar_w``, ``z - zbar_w`` per task, then ``b_k = zbar_w -
  xbar_w . w_k``). The step is accepted by an Armijo test on the TRUE objective, with
  backtracking for convex penalties.
* **Majorisation-minimisation** (the safe fallback): the logistic curvature is at most 1/4, so
  the same construction with ``w = 1/4`` is a quadratic upper bound of F; minimising it can
  only decrease F, for convex and non-convex penalties alike. It keeps a shared or sparse
  design as it is (uniform weights).

A step that would increase F is never taken. Certificates: for the lasso / group-lasso family
(``kernel`` ``"l1"``/``"l21"``) a duality gap of the logistic problem (the conjugate of the
logistic loss is the negative binary entropy; the dual point ``s (y - p) / n_k`` is scaled into
the feasible set), compared with ``tol * F(0, b0)``; for other convex penalties the outer loop
stops on a relative objective decrease below ``tol`` and the KKT violation
(``penalty.kkt_violation``) is reported when the penalty defines it; non-convex penalties stop
on the objective decrease (documented, as in their Gaussian solvers).

Separable data: the loss is evaluated as ``logaddexp(0, eta) - y eta`` and probabilities with
``expit`` (no overflow), the IRLS weights are floored, and tasks whose fitted linear predictor
separates the two classes are reported (``record.extra["separated"]``).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, fields

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, xlogy
from sklearn.exceptions import ConvergenceWarning

from ._record import SolverRecord
from .problem import Problem, make_problem

__all__ = ["LogisticProblem", "make_logistic_problem", "solve", "solve_path", "alpha_max", "check_penalty",
           "logistic_loss", "check_labels", "path_deviance", "NOT_SUPPORTED"]

#: floor of the IRLS weights p (1 - p) (glmnet's 1e-5): bounds the working response
_W_MIN = 1e-10
#: the majorisation weight: the logistic curvature p (1 - p) never exceeds 1/4
_W_MM = 0.25
#: most outer (Newton / MM) iterations
_MAX_OUTER = 200
#: Armijo constant of the line search
_ARMIJO = 1e-4
#: sparse X with an intercept is densified for Newton steps up to this many entries
_DENSE_MAX = 2e7

#: solver name -> why the logistic outer loop cannot use it (solvers not listed are assumed to
#: take any Problem); penalties can also set ``binomial_unsupported = "reason"``
NOT_SUPPORTED: dict[str, str] = {}


def logistic_loss(y: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """``log(1 + exp(eta)) - y eta``, elementwise, without overflow."""
    return np.logaddexp(0.0, eta) - y * eta


def _neg_entropy(a: np.ndarray) -> np.ndarray:
    """``a log a + (1 - a) log(1 - a)`` on [0, 1] (0 at the ends): the conjugate of the loss."""
    a = np.clip(a, 0.0, 1.0)
    return xlogy(a, a) + xlogy(1.0 - a, 1.0 - a)


# --------------------------------------------------------------------------- the problem
@dataclass
class LogisticProblem(Problem):
    """A :class:`Problem` whose response holds 0/1 labels and whose data fit is logistic.

    ``X`` is centred and standardised as for the Gaussian family; ``y`` holds the raw labels and
    ``y_mean`` is zero. ``datafit``, ``residual`` (``y - p``), ``gradient`` and ``null_fit``
    are those of the mean logistic loss; ``predict`` gives the linear predictor. The intercept
    ``b`` is always a variable of the logistic fit (when ``fit_intercept``).
    """

    family: str = "binomial"

    # derived arrays are cached in the instance dict (the problem's arrays are never mutated)
    @property
    def task_id(self) -> np.ndarray:
        """Task of every stacked observation, shape (N,) (cached)."""
        tid = self.__dict__.get("_task_id")
        if tid is None:
            tid = self.__dict__["_task_id"] = np.repeat(np.arange(self.n_tasks), self.n_samples)
        return tid

    def task_mean(self, v: np.ndarray) -> np.ndarray:
        """Per-task means of a stacked vector, shape (K,)."""
        n = self.__dict__.get("_n_float")
        if n is None:
            n = self.__dict__["_n_float"] = self.n_samples.astype(np.float64)
        return np.add.reduceat(v, self.task_ptr[:-1]) / n

    def residual(self, W, b=None):
        """Generalised residual ``y - expit(eta)``, stacked."""
        return self.y - expit(self.predict(W, b))

    def loss_eta(self, eta: np.ndarray) -> float:
        """``sum_k mean_k(loss)`` at the stacked linear predictor ``eta``."""
        return float(np.sum(self.task_mean(logistic_loss(self.y, eta))))

    def datafit(self, W, b=None) -> float:
        return self.loss_eta(self.predict(W, b))

    def null_fit(self):
        """Objective, intercepts (``logit(ybar_k)``) and gradient at W = 0 (cached; copies)."""
        cached = self.__dict__.get("_null_fit_cache")
        if cached is None:
            cached = self.__dict__["_null_fit_cache"] = self._null_fit()
        return cached[0], cached[1].copy(), cached[2].copy()

    def _null_fit(self):
        K = self.n_tasks
        b0 = np.zeros(K)
        if self.fit_intercept:
            ybar = np.clip(self.task_mean(self.y), 1e-12, 1 - 1e-12)
            b0 = np.log(ybar) - np.log1p(-ybar)
        W0 = np.zeros((self.n_features, K))
        return self.datafit(W0, b0), b0, self.gradient(W0, b0)


def check_labels(y, task_ptr, fit_intercept, tasks=None):
    y = np.asarray(y, dtype=np.float64)
    bad = ~((y == 0) | (y == 1))
    if bad.any():
        vals = np.unique(y[bad])[:5]
        raise ValueError("family='binomial' needs a response coded 0/1 (or booleans, or a "
                         f"two-level categorical); found values {vals.tolist()}")
    if fit_intercept:
        sums = np.add.reduceat(y, task_ptr[:-1])
        n = np.diff(task_ptr)
        one = np.flatnonzero((sums == 0) | (sums == n))
        if one.size:
            k = one[0]
            name = repr(tasks[k]) if tasks is not None else f"number {k}"
            cls = int(sums[k] > 0)
            raise ValueError(
                f"task {name} has only one class (all {n[k]} responses are {cls}): its intercept "
                "would be infinite. Every task needs both classes (in every training fold of a "
                "cross-validation); drop the task or fit without it")
    return y


def make_logistic_problem(X, y, task_ptr, *, shared: bool, fit_intercept: bool = True,
                          standardize: bool = True, tasks=None) -> LogisticProblem:
    """Centre/standardise X as for the Gaussian family and keep the 0/1 labels.

    Parameters
    ----------
    X, y, task_ptr, shared, fit_intercept, standardize
        As :func:`~mtreg.solvers.problem.make_problem`; ``y`` must hold 0/1 values.
    tasks : sequence, optional
        Task labels, only for error messages.

    Returns
    -------
    LogisticProblem
    """
    task_ptr = np.asarray(task_ptr, dtype=np.int64)
    y = check_labels(y, task_ptr, fit_intercept, tasks)
    base = make_problem(X, y, task_ptr, shared=shared, fit_intercept=fit_intercept,
                        standardize=standardize)
    values = {f.name: getattr(base, f.name) for f in fields(Problem)}
    values["y"] = np.ascontiguousarray(y)
    values["y_mean"] = np.zeros(base.n_tasks)
    return LogisticProblem(**values)


# --------------------------------------------------------------------------- penalties
def check_penalty(penalty) -> None:
    """Raise ``ValueError`` if the logistic loss is not available for ``penalty``.

    Unsupported: a penalty whose ``binomial_unsupported`` attribute is a reason (str), a
    solver listed in :data:`NOT_SUPPORTED`, and concomitant fits (``concomitant=True``), whose
    noise level is a Gaussian scale parameter.
    """
    name = getattr(penalty, "name", type(penalty).__name__)
    reason = getattr(penalty, "binomial_unsupported", None)
    if reason is None and getattr(penalty, "concomitant", False) is True:
        reason = ("concomitant=True estimates a noise level sigma_k jointly with W (data fit "
                  "||r_k||^2 / (2 n_k sigma_k) + sigma_k / 2); that is a Gaussian scale "
                  "parameter, which a binomial response does not have. Use concomitant=False")
    if reason is None:
        reason = NOT_SUPPORTED.get(getattr(penalty, "solver", "bcd"))
    if reason:
        raise ValueError(f"family='binomial' is not available for penalty {name!r}: {reason}")


def _gap_levels(penalty, p: int, alpha: float):
    """``(lam1 (p,), lam2, l21)`` when a logistic duality gap exists for ``penalty``, else None."""
    kernel = getattr(penalty, "kernel", None)
    if kernel not in ("l1", "l21") or not hasattr(penalty, "l1_ratio") \
            or not hasattr(penalty, "feature_weights") or not getattr(penalty, "is_convex", True):
        return None
    lam1 = alpha * penalty.l1_ratio * np.asarray(penalty.feature_weights(p), dtype=np.float64)
    lam2 = alpha * (1.0 - penalty.l1_ratio)
    if lam2 == 0 and np.any(lam1 <= 0):
        return None  # unpenalised rows: equality constraints the scaled dual point cannot meet
    return lam1, lam2, kernel == "l21"


def alpha_max(problem: LogisticProblem, penalty) -> float:
    """``penalty.alpha_max(G0)``, ``G0[:, k] = X_k^T (y_k - ybar_k) / n_k`` (intercepts fitted)."""
    return float(penalty.alpha_max(problem.null_fit()[2]))


# --------------------------------------------------------------------------- quadratic models
class _Quadratic:
    """Builds the weighted least-squares :class:`Problem` of one Newton or MM step."""

    def __init__(self, lp: LogisticProblem):
        self.lp = lp
        self.K, self.p = lp.n_tasks, lp.n_features
        self.ptr = lp.task_ptr
        self.n_k = lp.n_samples.astype(np.float64)
        self.tid = lp.task_id
        self.intercept = lp.fit_intercept
        X = lp.X
        self.sparse = sp.issparse(X)
        # Newton needs per-row weights: a stacked design (one block per task, also when shared)
        rows = lp.X.shape[0] * (self.K if lp.shared else 1)
        self.newton_ok = not (self.sparse and self.intercept and rows * self.p > _DENSE_MAX)
        self._mm = None

    def _stacked(self):
        X = self.lp.X
        if self.lp.shared:
            return sp.vstack([X] * self.K, format="csr") if self.sparse else np.vstack([X] * self.K)
        return X

    def _gaussian(self, X, y, shared, inline):
        z = np.zeros(self.K)
        return Problem(X=X, y=np.ascontiguousarray(y), task_ptr=self.ptr, shared=shared,
                       fit_intercept=inline, center_inline=inline,
                       x_mean=np.zeros((self.p, self.K)), x_scale=np.ones(self.p), y_mean=z)

    def newton(self, eta, pr):
        """(gaussian problem, intercept map) of the IRLS model at ``eta``."""
        lp = self.lp
        w = np.maximum(pr * (1.0 - pr), _W_MIN)
        z = eta + (lp.y - pr) / w
        sw = np.sqrt(w)
        X = self._stacked()
        if not self.intercept:
            Xt = sp.csc_matrix(sp.diags(sw) @ X) if self.sparse else np.asfortranarray(X * sw[:, None])
            if self.sparse:
                Xt.sort_indices()
            return self._gaussian(Xt, sw * z, False, False), None
        if self.sparse:
            X = X.toarray()
        W_sum = np.bincount(self.tid, weights=w, minlength=self.K)
        T = sp.csr_matrix((w, (self.tid, np.arange(w.size))), shape=(self.K, w.size))
        xbar = np.asarray(T @ X) / W_sum[:, None]            # (K, p) weighted means
        zbar = np.bincount(self.tid, weights=w * z, minlength=self.K) / W_sum
        Xt = np.asfortranarray((X - xbar[self.tid]) * sw[:, None])
        zt = sw * (z - zbar[self.tid])
        return self._gaussian(Xt, zt, False, False), (xbar, zbar)

    def mm(self, eta, pr):
        """(gaussian problem, intercept map) of the majoriser (w = 1/4) at ``eta``."""
        lp = self.lp
        z = eta + (lp.y - pr) / _W_MM
        h = np.sqrt(_W_MM)
        if self._mm is None:
            X = lp.X * h
            if self.sparse:
                X = sp.csc_matrix(X)
                X.sort_indices()
            else:
                X = np.asfortranarray(X)
            self._mm = X
        inline = self.intercept and self.sparse
        if self.intercept and not self.sparse:  # X is centred per task: profile b by z's mean
            zbar = lp.task_mean(z)
            return (self._gaussian(self._mm, h * (z - zbar[self.tid]), lp.shared, False),
                    (np.zeros((self.K, self.p)), zbar))
        return self._gaussian(self._mm, h * z, lp.shared, inline), ("inline", h)


def _intercepts(qmap, W, rec_b):
    if qmap is None:
        return None
    if isinstance(qmap[0], str):  # inline intercepts of the scaled problem
        return np.asarray(rec_b, dtype=np.float64) / qmap[1]
    xbar, zbar = qmap
    return zbar - np.einsum("kp,pk->k", xbar, W)


# --------------------------------------------------------------------------- the solver
class _Fit:
    """The true objective and its pieces at one point."""

    def __init__(self, lp: LogisticProblem, W, b, omega, alpha, state):
        self.W, self.b, self.omega, self.state = W, b, omega, state
        self.eta = lp.predict(W, b)
        self.loss = lp.loss_eta(self.eta)
        self.F = self.loss + alpha * omega

    def probs(self):
        return expit(self.eta)


def _exact_value(penalty):
    """Whether ``penalty.value(W)`` is Omega itself (no latent variables): the BCD family."""
    return getattr(penalty, "kernel", None) in ("l1", "l21") and getattr(penalty, "is_convex", True)


def _refit_intercepts(lp: LogisticProblem, fit: _Fit, alpha):
    """Exact (safeguarded 1-D Newton) intercepts for the current W; returns a new _Fit."""
    if not lp.fit_intercept:
        return fit
    lin = fit.eta - fit.b[lp.task_id]
    b = fit.b.copy()
    tid = lp.task_id

    def task_loss(b):
        return lp.task_mean(logistic_loss(lp.y, lin + b[tid]))

    cur = task_loss(b)
    for _ in range(60):
        pr = expit(lin + b[tid])
        g = lp.task_mean(lp.y - pr)
        if np.max(np.abs(g)) <= 1e-14:
            break
        h = np.maximum(lp.task_mean(pr * (1 - pr)), 1e-12)
        step = np.clip(g / h, -10.0, 10.0)
        for _ in range(30):
            trial = b + step
            new = task_loss(trial)
            ok = new <= cur + 1e-15 * np.abs(cur)
            if ok.all():
                break
            step = np.where(ok, step, 0.5 * step)
        b, cur = np.where(ok, trial, b), np.where(ok, new, cur)
    return _Fit(lp, fit.W, b, fit.omega, alpha, fit.state)


def _duality_gap(lp: LogisticProblem, fit: _Fit, levels) -> float:
    """Duality gap of the logistic lasso / group lasso (elastic net) at ``fit``."""
    lam1, lam2, l21 = levels
    W = fit.W
    rho = lp.y - fit.probs()
    if lp.fit_intercept:
        rho = rho - lp.task_mean(rho)[lp.task_id]  # the dual constraint of the intercepts
    G = _grad(lp, rho)
    norms = np.linalg.norm(W, axis=1) if l21 else np.abs(W).sum(axis=1)
    primal = fit.loss + lam1 @ norms + 0.5 * lam2 * np.sum(W * W)
    s, conj_k = _dual_scaling(G, lam1, lam2, l21)
    a = lp.y - s[lp.task_id] * rho
    dual = -float(np.sum(lp.task_mean(_neg_entropy(a)))) - float(conj_k.sum())
    return max(primal - dual, 0.0)


def _dual_scaling(G, lam1, lam2, l21):
    """Per-task scaling ``s`` of the dual point and the conjugate of the penalty, per task.

    Without a ridge term the residual is shrunk until ``X^T theta`` is feasible (the l1 rows
    task by task, the l21 rows across tasks); with one, the conjugate of the elastic net is
    ``||ST(G, lam1)||^2 / (2 lam2)`` and no scaling is needed.
    """
    K = G.shape[1]
    if lam2 > 0:
        if l21:
            nrm = np.linalg.norm(G, axis=1)
            ST = G * (np.maximum(nrm - lam1, 0.0) / np.maximum(nrm, 1e-300))[:, None]
        else:
            ST = np.sign(G) * np.maximum(np.abs(G) - lam1[:, None], 0.0)
        return np.ones(K), np.sum(ST * ST, axis=0) / (2 * lam2)
    if l21:
        ratio = np.linalg.norm(G, axis=1) / lam1
        return np.full(K, 1.0 / max(1.0, ratio.max(initial=0.0))), np.zeros(K)
    ratio = np.abs(G) / lam1[:, None]
    return 1.0 / np.maximum(1.0, ratio.max(axis=0, initial=0.0)), np.zeros(K)


def _grad(lp: LogisticProblem, rho: np.ndarray) -> np.ndarray:
    """``X_k^T rho_k / n_k``, shape (p, K)."""
    K = lp.n_tasks
    if lp.shared:
        n = lp.X.shape[0]
        return np.asarray(lp.X.T @ rho.reshape(K, n).T) / n
    G = np.empty((lp.n_features, K))
    for k in range(K):
        sl = slice(lp.task_ptr[k], lp.task_ptr[k + 1])
        G[:, k] = np.asarray(lp.task_X(k).T @ rho[sl]).ravel() / (sl.stop - sl.start)
    return G


def _separated(lp: LogisticProblem, eta: np.ndarray) -> np.ndarray:
    """Per task: does the linear predictor separate the classes (both present)?"""
    starts = lp.task_ptr[:-1]
    pos = lp.y == 1
    lo1 = np.minimum.reduceat(np.where(pos, eta, np.inf), starts)    # smallest eta of a 1
    hi0 = np.maximum.reduceat(np.where(pos, -np.inf, eta), starts)   # largest eta of a 0
    both = np.isfinite(lo1) & np.isfinite(hi0)
    return both & (lo1 > hi0)


def _run_inner(inner, gp, penalty, alpha, tol, max_iter, init):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return inner(gp, penalty, alpha, tol=tol, max_iter=max_iter, coef_init=init)


def _inner_init(rec):
    comps = (rec.extra or {}).get("components")
    if comps is not None and not isinstance(comps, dict):
        return np.stack([np.asarray(c) for c in comps])
    return np.array(rec.coef)


def solve(problem: LogisticProblem, penalty, alpha: float, *, tol: float = 1e-6,
          max_iter: int = 10_000, coef_init=None, intercept_init=None, inner=None,
          method: str = "newton", max_outer: int = _MAX_OUTER) -> SolverRecord:
    """Minimise the multi-task penalised logistic loss with the penalty's Gaussian solver.

    ``F(W, b) = sum_k 1/n_k sum_i [log(1 + exp(eta_ki)) - y_ki eta_ki] + alpha * Omega(W)``,
    ``eta_k = b_k + X_k w_k`` (see the module docstring for the algorithm).

    Parameters
    ----------
    problem : LogisticProblem
        From :func:`make_logistic_problem`.
    penalty : Penalty
        Any penalty whose Gaussian solver takes a :class:`Problem`.
    alpha : float
        Regularisation level, > 0.
    tol : float, default 1e-6
        Target of the certificate: duality gap ``<= tol * F(0, b0)`` (lasso / group-lasso
        family), otherwise a relative decrease of F over one outer iteration ``<= tol``.
    max_iter : int, default 10000
        Iteration budget of each inner (Gaussian) solve.
    coef_init : array-like of shape (p, K), optional
        Warm start (standardised scale).
    intercept_init : array-like of shape (K,), optional
        Warm start of the intercepts.
    inner : callable, optional
        The Gaussian solver ``inner(problem, penalty, alpha, tol=, max_iter=, coef_init=)``;
        by default the one the penalty names.
    method : {"newton", "mm"}
        Proximal Newton (the Cython kernel for the lasso / group-lasso family; Newton steps with
        the Gaussian solver and MM as a fallback otherwise) or MM steps only (with the Gaussian
        solver, for every penalty).
    max_outer : int, default 200
        Most outer iterations.

    Returns
    -------
    SolverRecord
        ``coef`` (p, K), ``intercept`` (K,) (on the centred/standardised scale), ``n_iter``
        (inner iterations in total), ``gap`` (nan without a duality gap), ``gap_tol``,
        ``objective`` (F), ``history`` (F after each outer iteration), ``solver``
        (``"logistic+<inner>"``); ``extra``: ``family``, ``n_outer``, ``newton_steps``,
        ``mm_steps``, ``separated`` (bool per task), ``null_objective``, ``certificate``
        (``"duality gap"``, ``"objective decrease"``), ``kkt`` (max violation, when the penalty
        defines ``kkt_violation``), and the inner record's ``extra`` (components, U, ...).

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        When the certificate is not met within ``max_outer`` iterations.
    """
    if not isinstance(problem, LogisticProblem):
        raise TypeError("the logistic solver needs a LogisticProblem (make_logistic_problem)")
    check_penalty(penalty)
    if method not in ("newton", "mm"):
        raise ValueError(f"method must be 'newton' or 'mm', got {method!r}")
    alpha = float(alpha)
    if not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
    if not (np.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a finite number > 0, got {tol!r}")
    from . import _gaussian_solver, bcd

    if inner is None:
        inner = _gaussian_solver(penalty)
    inner_name = getattr(penalty, "solver", "bcd")
    lp = problem
    p, K = lp.n_features, lp.n_tasks
    if method == "newton" and inner is bcd.solve \
            and _kernel_ok(penalty, _gap_levels(penalty, p, alpha), inner_name):
        state = _start_state(lp, coef_init, intercept_init)
        conv, gap, n_iter, n_outer = _solve_kernel(lp, penalty, alpha, _gap_levels(penalty, p, alpha),
                                                   tol, max_iter, max_outer, state)
        return _record_kernel(lp, penalty, alpha, state, conv, gap, n_iter, n_outer, tol)
    null_obj, b0, _ = lp.null_fit()
    scale = max(null_obj, np.finfo(float).tiny)
    gap_tol = tol * scale
    levels = _gap_levels(penalty, p, alpha)
    exact = _exact_value(penalty)

    if coef_init is None:
        W = np.zeros((p, K))
    else:
        W = np.array(coef_init, dtype=np.float64)
        if W.shape != (p, K):
            raise ValueError(f"coef_init has shape {W.shape}, expected (p, K) = {(p, K)}")
    b = b0.copy() if intercept_init is None else np.array(intercept_init, dtype=np.float64).reshape(K)
    if not lp.fit_intercept:
        b = np.zeros(K)
    try:
        omega = float(penalty.value(W)) if (exact or not W.any()) else float("inf")
    except Exception:  # a penalty with latent variables cannot value W alone
        omega = float("inf")
    fit = _Fit(lp, W, b, omega, alpha, W)
    if coef_init is not None or intercept_init is not None:
        fit = _refit_intercepts(lp, fit, alpha)

    quad = _Quadratic(lp)
    use_newton = method == "newton" and quad.newton_ok
    n_iter = n_newton = n_mm = n_fail = 0
    history = [fit.F]
    gap = float("nan")
    inner_extra: dict = {}
    converged = False
    inner_tol = 1e-3 if levels is not None else tol

    def certify(fit):
        if levels is None:
            return fit, float("nan")
        fit = _refit_intercepts(lp, fit, alpha)
        return fit, _duality_gap(lp, fit, levels)

    if levels is not None:
        fit, gap = certify(fit)
        converged = gap <= gap_tol and np.isfinite(fit.omega)
    for n_outer in range(1, max_outer + 1):  # noqa: B007 - n_outer is reported
        if converged:
            n_outer -= 1
            break
        pr = fit.probs()
        new = None
        if use_newton:
            gp, qmap = quad.newton(fit.eta, pr)
            new, its, rec = _step(lp, gp, qmap, inner, penalty, alpha, inner_tol, max_iter, fit,
                                  exact, pr, newton=True)
            n_iter += its
            if new is not None:
                n_newton += 1
                n_fail = 0
            else:
                n_fail += 1
                use_newton = n_fail < 2
        if new is None:
            gp, qmap = quad.mm(fit.eta, pr)
            new, its, rec = _step(lp, gp, qmap, inner, penalty, alpha, inner_tol, max_iter, fit,
                                  exact, pr, newton=False)
            n_iter += its
            if new is None:  # no decrease found: the point is optimal up to the inner accuracy
                if levels is None or inner_tol <= 0.01 * tol:
                    converged = levels is None
                    break
                inner_tol = max(0.1 * inner_tol, 0.01 * tol)
                continue
            n_mm += 1
        inner_extra = dict(rec.extra or {})
        decrease = fit.F - new.F
        fit = new
        history.append(fit.F)
        if levels is not None:
            fit, gap = certify(fit)
            history[-1] = fit.F
            converged = gap <= gap_tol
            inner_tol = float(np.clip(0.1 * gap / scale, 0.01 * tol, 1e-3))
        else:
            converged = decrease <= tol * max(abs(fit.F), scale)

    if not converged:
        what = (f"duality gap {gap:.3g} > target {gap_tol:.3g}" if levels is not None
                else f"relative objective decrease still above tol={tol:g}")
        warnings.warn(f"logistic fit ({getattr(penalty, 'name', penalty)}, alpha={alpha:.4g}) "
                      f"did not converge in {max_outer} outer iterations: {what}. Increase "
                      "max_iter, loosen tol, or use a larger alpha.", ConvergenceWarning,
                      stacklevel=2)
    extra = {**inner_extra, "family": "binomial", "n_outer": int(n_outer),
             "newton_steps": n_newton, "mm_steps": n_mm, "null_objective": null_obj,
             "separated": _separated(lp, fit.eta),
             "certificate": "duality gap" if levels is not None else "objective decrease"}
    if getattr(penalty, "is_convex", True) and hasattr(penalty, "kkt_violation"):
        try:
            G = _grad(lp, lp.y - fit.probs())
            extra["kkt"] = float(np.max(penalty.kkt_violation(fit.W, G, alpha), initial=0.0))
        except Exception:  # pragma: no cover - a penalty's kkt may need latent variables
            pass
    return SolverRecord(coef=np.array(fit.W), intercept=fit.b.copy(), n_iter=int(n_iter),
                        gap=float(gap), gap_tol=float(gap_tol), converged=bool(converged),
                        objective=float(fit.F), history=np.asarray(history),
                        solver=f"logistic+{inner_name}", extra=extra)


def _expand(lp, penalty, alpha, fit, new, dW, db):
    """Longer steps ``t = 2, 4, ...`` along an accepted Newton direction while F decreases.

    On (nearly) separable tasks the loss has an exponential tail where a Newton step gains a
    constant margin, so doubling the step saves many outer iterations; F only decreases.
    """
    t = 1.0
    while t < 1e3:
        t *= 2.0
        Wt, bt = fit.W + t * dW, fit.b + t * db
        trial = _Fit(lp, Wt, bt, float(penalty.value(Wt)), alpha, Wt)
        if not trial.F < new.F:
            break
        new = trial
    return new


def _step(lp, gp, qmap, inner, penalty, alpha, inner_tol, max_iter, fit, exact, pr, *, newton):
    """One Newton (with backtracking) or MM step; returns (new _Fit or None, iterations, rec)."""
    init = fit.state if fit.state is not None else fit.W
    # no warm start from W = 0: some solvers derive state from coef_init (reweighting)
    rec = _run_inner(inner, gp, penalty, alpha, inner_tol, max_iter,
                     init if np.any(init) else None)
    W1 = np.asarray(rec.coef, dtype=np.float64)
    if not np.all(np.isfinite(W1)):
        return None, rec.n_iter, rec
    b1 = _intercepts(qmap, W1, rec.intercept)
    if b1 is None:
        b1 = np.zeros(lp.n_tasks)
    if exact:
        omega1 = float(penalty.value(W1))
    else:  # Omega at the inner solution, latent variables included: objective - data fit
        inline = gp.center_inline
        omega1 = max((float(rec.objective) - gp.datafit(W1, rec.intercept if inline else None))
                     / alpha, 0.0)
    state1 = _inner_init(rec)
    new = _Fit(lp, W1, b1, omega1, alpha, state1)
    if not np.isfinite(new.F):
        return None, rec.n_iter, rec
    if not newton:
        return (new if new.F <= fit.F else None), rec.n_iter, rec
    # Armijo on the true objective, with the model's predicted decrease
    rho = lp.y - pr
    G = _grad(lp, rho)
    dW, db = W1 - fit.W, b1 - fit.b
    delta = -float(np.sum(G * dW)) + alpha * (omega1 - fit.omega) if np.isfinite(fit.omega) else -np.inf
    if lp.fit_intercept:
        delta -= float(lp.task_mean(rho) @ db)
    if delta >= 0 and np.isfinite(delta):
        return None, rec.n_iter, rec
    if new.F <= fit.F + _ARMIJO * delta:
        if exact and getattr(penalty, "is_convex", True):
            new = _expand(lp, penalty, alpha, fit, new, dW, db)
        return new, rec.n_iter, rec
    if not getattr(penalty, "is_convex", True) or not np.isfinite(fit.omega):
        return None, rec.n_iter, rec
    state0 = fit.state if fit.state is not None else fit.W
    t = 0.5
    for _ in range(20):
        Wt, bt = fit.W + t * dW, fit.b + t * db
        st = state0 + t * (state1 - state0) if np.shape(state0) == np.shape(state1) else Wt
        om = float(penalty.value(Wt)) if exact else (1 - t) * fit.omega + t * omega1  # convexity
        trial = _Fit(lp, Wt, bt, om, alpha, st)
        if trial.F <= fit.F + _ARMIJO * t * delta:
            return trial, rec.n_iter, rec
        t *= 0.5
    return None, rec.n_iter, rec


def path_deviance(design, coefs: np.ndarray, intercepts: np.ndarray, fit_intercept: bool = True):
    """Binomial deviance along a path, for glmnet's %Dev of a binomial :class:`PathResults`.

    Parameters
    ----------
    design : TaskDesign
    coefs : ndarray of shape (p, K, L)
        Coefficients on the original scale at every alpha.
    intercepts : ndarray of shape (K, L)
    fit_intercept : bool
        The null model is intercept-only (else it predicts 1/2).

    Returns
    -------
    deviance : ndarray of shape (K, L)
    null_deviance : ndarray of shape (K,)
        ``dev_ratio = 1 - deviance.sum(0) / null_deviance.sum()`` (tasks weighted by rows, as
        glmnet's binomial deviance) or per task.
    """
    K = design.n_tasks
    dev = np.empty((K, coefs.shape[2]))
    null = np.empty(K)
    for k in range(K):
        sl = slice(design.task_ptr[k], design.task_ptr[k + 1])
        Xk = design.X if design.shared else design.X[sl]
        yk = np.asarray(design.y[sl], dtype=np.float64)
        eta = np.asarray(Xk @ coefs[:, k, :]) + intercepts[k]
        dev[k] = 2.0 * logistic_loss(yk[:, None], eta).sum(axis=0)
        ybar = yk.mean() if fit_intercept else 0.5
        null[k] = -2.0 * float(np.sum(xlogy(yk, ybar) + xlogy(1 - yk, 1 - ybar)))
    return dev, null


# --------------------------------------------------------------------------- the Cython kernel
#: largest number of proximal Newton iterations / CD epochs per kernel call
_MAX_PN = 50
_MAX_CD = 20
#: smallest working set (rows) and its growth (a multiple of the support), as skglm
_WS_MIN = 10
_WS_GROW = 2
#: the working-set subproblem is solved until its optimality violation is <= this fraction of
#: the violation over all rows (skglm's 0.3)
_INNER_FRAC = 0.3
#: outer iterations without a smaller duality gap after which the fit stops (rounding level)
_STALL = 10
#: the CD epochs of one Newton step run until their estimated decrease sum c (dW)^2 is <= this
#: times the square of the Newton tolerance (at most ``_MAX_CD`` epochs: on ill-conditioned,
#: near-interpolating fits more Newton steps with cheaper directions cost less; the stopping rule
#: of the fit, the duality gap, is unchanged)
_CD_FRAC = 10.0
#: Anderson extrapolation of the CD iterates every ``_ANDERSON + 1`` epochs (0: off)
_ANDERSON = 5


def _kkt_rows(W, Gr, lam1, l21):
    """Optimality violation of every row (l21: shape (p, 1)) or entry (l1: (p, K)).

    ``Gr`` is minus the gradient of the smooth part (loss and ridge) at ``W``.
    """
    if l21:
        nrm = np.linalg.norm(W, axis=1)
        on = nrm > 0
        E = Gr - np.where(on, lam1 / np.where(on, nrm, 1.0), 0.0)[:, None] * W
        en = np.linalg.norm(E, axis=1)
        return np.where(on, en, np.maximum(np.linalg.norm(Gr, axis=1) - lam1, 0.0))[:, None]
    L = lam1[:, None]
    return np.where(W != 0, np.abs(Gr - L * np.sign(W)), np.maximum(np.abs(Gr) - L, 0.0))


def _kernel_ok(penalty, levels, inner_name: str) -> bool:
    """Whether the dedicated proximal Newton kernel solves ``penalty`` (lasso / group lasso)."""
    return (levels is not None and inner_name == "bcd"
            and getattr(penalty, "kernel", None) in ("l1", "l21")
            and getattr(penalty, "is_convex", True))


class _KernelDesign:
    """The arrays :mod:`mtreg._cy._logistic` reads (built once per problem, cached on it)."""

    def __init__(self, lp: LogisticProblem):
        K, p = lp.n_tasks, lp.n_features
        self.optr = np.ascontiguousarray(lp.task_ptr, dtype=np.intp)
        self.xoff = (np.zeros(K, dtype=np.intp) if lp.shared
                     else np.ascontiguousarray(self.optr[:-1]))
        dummy_i = np.zeros((1, 1), dtype=np.intp)
        if sp.issparse(lp.X):
            X = sp.csc_matrix(lp.X, dtype=np.float64)
            if not X.has_sorted_indices:
                X = X.sorted_indices()
            indptr = X.indptr.astype(np.intp)
            if lp.shared:
                cstart = np.repeat(indptr[:-1, None], K, axis=1)
                cend = np.repeat(indptr[1:, None], K, axis=1)
            else:
                col = np.repeat(np.arange(p), np.diff(indptr))
                task = np.searchsorted(self.optr, X.indices, side="right") - 1
                counts = np.bincount(col * K + task, minlength=p * K).reshape(p, K)
                ctp = np.zeros((p, K + 1), dtype=np.intp)
                np.cumsum(counts, axis=1, out=ctp[:, 1:])
                ctp += indptr[:-1, None]
                cstart, cend = ctp[:, :-1], ctp[:, 1:]
            data = X.data if X.data.size else np.zeros(1)
            indices = X.indices.astype(np.intp) if X.indices.size else np.zeros(1, dtype=np.intp)
            self.args = (True, np.zeros((1, 1), order="F"), np.ascontiguousarray(data),
                         np.ascontiguousarray(indices), np.ascontiguousarray(cstart),
                         np.ascontiguousarray(cend), self.xoff, self.optr)
        else:
            X = np.asfortranarray(lp.X, dtype=np.float64)
            self.args = (False, X, np.zeros(1), np.zeros(1, dtype=np.intp), dummy_i, dummy_i,
                         self.xoff, self.optr)


def _kernel_design(lp: LogisticProblem) -> _KernelDesign:
    kd = lp.__dict__.get("_kernel_design")
    if kd is None:
        kd = _KernelDesign(lp)
        lp.__dict__["_kernel_design"] = kd
    return kd


def _null_losses(lp: LogisticProblem) -> tuple[np.ndarray, np.ndarray]:
    """Per-task losses at W = 0 with optimal intercepts, and those intercepts (cached)."""
    cached = lp.__dict__.get("_null_losses")
    if cached is None:
        _, b0, _ = lp.null_fit()
        loss = lp.task_mean(logistic_loss(lp.y, b0[lp.task_id]))
        cached = lp.__dict__["_null_losses"] = (loss, b0)
    return cached


def _task_gaps(lp: LogisticProblem, W, loss_k, rho_c, G, levels) -> np.ndarray:
    """Per-task contributions to the duality gap (their sum is the gap; l1: each task's own gap).

    ``rho_c`` is ``y - p`` centred per task (when intercepts are fitted), ``G`` its gradient.
    """
    lam1, lam2, l21 = levels
    if l21:
        norms = np.linalg.norm(W, axis=1)
        # the l21 norm is not separable by task: spread it by the tasks' squared shares
        share = np.divide(W * W, (norms * norms)[:, None], out=np.zeros_like(W),
                          where=norms[:, None] > 0)
        pen_k = (lam1 * norms) @ share
    else:
        pen_k = lam1 @ np.abs(W)
    primal_k = loss_k + pen_k + 0.5 * lam2 * np.sum(W * W, axis=0)
    s, conj_k = _dual_scaling(G, lam1, lam2, l21)
    a = lp.y - s[lp.task_id] * rho_c
    dual_k = -lp.task_mean(_neg_entropy(a)) - conj_k
    return primal_k - dual_k


class _KernelState:
    """W, b and the linear predictor of one run of the kernel solver (reused along a path)."""

    def __init__(self, lp: LogisticProblem, W, b):
        self.W = np.ascontiguousarray(W, dtype=np.float64)
        self.b = np.ascontiguousarray(b, dtype=np.float64)
        if not self.W.any():  # the usual cold start: eta = b, no product with X
            self.eta = (self.b[lp.task_id] if lp.fit_intercept else np.zeros(lp.y.shape[0]))
        else:
            self.eta = lp.predict(self.W, self.b if lp.fit_intercept else None)
        self.eta = np.ascontiguousarray(self.eta, dtype=np.float64)
        self.G = None  # gradient of the last certificate (for the strong rule)
        self.history: list[float] = []  # F at every outer iteration of the current fit


def _solve_kernel(lp: LogisticProblem, penalty, alpha, levels, tol, max_iter, max_outer,
                  state: _KernelState, strong=None):
    """Working-set proximal Newton with the Cython kernel; returns (converged, gap, n_iter, n_outer).

    Every outer iteration computes the full gradient and the duality gap (per task for the
    lasso, whose tasks are independent), and solves the working-set subproblem of every task
    (lasso) or of all tasks together (group lasso) that is not yet certified.
    """
    from .._cy import _logistic

    kd = _kernel_design(lp)
    lam1, lam2, l21 = levels
    K, p = lp.n_tasks, lp.n_features
    null_k, _ = _null_losses(lp)
    target = tol * max(float(null_k.sum()), np.finfo(float).tiny)
    target_k = target * null_k / max(float(null_k.sum()), np.finfo(float).tiny)
    fit_b = bool(lp.fit_intercept)
    all_tasks = np.arange(K, dtype=np.intp)
    unpen = lam1 <= 0
    inv_lam = 1.0 / np.where(unpen, 1.0, lam1)  # scores are violations relative to the level
    tid = lp.task_id
    all_rows = np.arange(p, dtype=np.intp)
    n_iter, gap, converged, n_outer = 0, np.inf, False, 0
    n_newton, best, stalled = 0, np.inf, 0
    state.history = []
    for n_outer in range(1, max_outer + 1):  # noqa: B007 - reported
        W, eta = state.W, state.eta
        rho = lp.y - expit(eta)
        viol_b = np.zeros(K)
        if fit_b:
            mean_rho = lp.task_mean(rho)
            viol_b = np.abs(mean_rho)
            rho = rho - mean_rho[tid]
        if lp.shared:  # one BLAS product with the shared design
            G = _grad(lp, rho)
        else:  # per-task designs: the kernel's gradient, no per-task Python loop
            G = np.empty((p, K))
            _logistic.gradient(*kd.args, rho, all_rows, all_tasks, G)
        state.G = G
        loss_k = lp.task_mean(logistic_loss(lp.y, eta))
        gaps = np.maximum(_task_gaps(lp, W, loss_k, rho, G, levels), 0.0)
        gap = float(gaps.sum())
        state.history.append(float(loss_k.sum()) + alpha * float(penalty.value(W)))
        if gap <= target:
            converged = True
            n_outer -= 1
            break
        if n_iter >= max_iter:
            break
        Gr = G - lam2 * W if lam2 else G
        viol_rows = _kkt_rows(W, Gr, lam1, l21)
        first_strong = strong is not None and n_outer == 1
        # the working sets, one column per block (l21: one block of all tasks; l1: one block per
        # task not yet certified): the support plus the largest relative violations
        if l21:
            blocks = [all_tasks]
            on = (np.any(W != 0, axis=1) | unpen)[:, None]
            score = ((np.linalg.norm(Gr, axis=1) - lam1) * inv_lam)[:, None]
            tols = [float(np.max(viol_rows, initial=0.0))]
        else:
            act = np.flatnonzero(gaps > target_k)
            blocks = [all_tasks[k:k + 1] for k in act]
            on = (W[:, act] != 0) | unpen[:, None]
            score = (np.abs(Gr[:, act]) - lam1[:, None]) * inv_lam[:, None]
            tols = np.max(viol_rows[:, act], axis=0, initial=0.0)
        score[on] = np.inf
        sizes = np.maximum(_WS_MIN, _WS_GROW * np.count_nonzero(on, axis=0))
        if first_strong:
            score[strong] = np.maximum(score[strong], 0.0) + 1e300
            sizes = np.maximum(sizes, np.count_nonzero(on | strong[:, None], axis=0))
        sizes = np.minimum(sizes, p)
        score = np.ascontiguousarray(score.T)
        for i, tasks in enumerate(blocks):
            sc, size = score[i], int(sizes[i])
            cand = np.flatnonzero(sc > 0)
            if cand.size > size:
                cand = np.sort(cand[np.argpartition(-sc[cand], size - 1)[:size]])
            v_b = float(np.max(viol_b[tasks]))
            tol_kkt = _INNER_FRAC * max(float(tols[i]), v_b)
            n_pn, n_ep, _, _ = _logistic.prox_newton(
                *kd.args, lp.y, state.eta, state.W, state.b, tasks, cand, lam1, lam2, l21, fit_b,
                _MAX_PN, _MAX_CD, tol_kkt, _CD_FRAC * tol_kkt * tol_kkt, _ANDERSON)
            n_iter += n_ep
            n_newton += n_pn
        if gap < best:
            best, stalled = gap, 0
        else:
            stalled += 1
            if stalled >= _STALL:  # the gap is at its rounding level: no progress possible
                break
    state.n_newton = n_newton
    return converged, gap, n_iter, n_outer


def _record_kernel(lp, penalty, alpha, state, converged, gap, n_iter, n_outer, tol):
    null_obj = float(_null_losses(lp)[0].sum())
    scale = max(null_obj, np.finfo(float).tiny)
    W, b = state.W.copy(), state.b.copy()
    F = lp.loss_eta(state.eta) + alpha * float(penalty.value(W))
    if not converged:
        warnings.warn(f"logistic fit ({getattr(penalty, 'name', penalty)}, alpha={alpha:.4g}) did "
                      f"not converge: duality gap {gap:.3g} > target {tol * scale:.3g}. Increase "
                      "max_iter, loosen tol, or use a larger alpha.", ConvergenceWarning,
                      stacklevel=3)
    extra = {"family": "binomial", "n_outer": int(n_outer), "newton_steps": 0, "mm_steps": 0,
             "null_objective": null_obj, "separated": _separated(lp, state.eta),
             "certificate": "duality gap", "kernel": "prox_newton"}
    extra["newton_steps"] = int(getattr(state, "n_newton", 0))
    if hasattr(penalty, "kkt_violation") and state.G is not None:
        extra["kkt"] = float(np.max(penalty.kkt_violation(W, state.G, alpha), initial=0.0))
    return SolverRecord(coef=W, intercept=b, n_iter=int(n_iter), gap=float(gap),
                        gap_tol=float(tol * scale), converged=bool(converged), objective=float(F),
                        history=np.array(state.history or [F]), solver="logistic+prox_newton",
                        extra=extra)


def solve_path(problem: LogisticProblem, penalty, alphas, *, tol: float = 1e-6,
               max_iter: int = 10_000, coef_init=None, intercept_init=None) -> list[SolverRecord]:
    """:func:`solve` at every alpha of a decreasing grid, warm-started along it.

    For the lasso / group-lasso family (the proximal Newton kernel) every fit starts from the
    previous one's ``W``, intercepts and linear predictor, and its first working set holds the
    rows kept by the sequential strong rule ``||G_j||_* >= lam1_j (2 alpha_i - alpha_{i-1}) /
    alpha_i`` (Tibshirani et al. 2012; ``G`` the last gradient). The duality gap over all rows
    certifies every fit, so the rule can only cost time, never accuracy. Other penalties are
    fitted by :func:`solve` at every alpha, warm-started with the previous coefficients.

    Parameters
    ----------
    problem : LogisticProblem
    penalty : Penalty
    alphas : sequence of float
        Decreasing penalty levels, > 0.
    tol, max_iter, coef_init, intercept_init
        As :func:`solve`.

    Returns
    -------
    list of SolverRecord
        One per alpha, in the order given.
    """
    alphas = [float(a) for a in alphas]
    if not isinstance(problem, LogisticProblem):
        raise TypeError("the logistic solver needs a LogisticProblem (make_logistic_problem)")
    check_penalty(penalty)
    lp = problem
    p = lp.n_features
    if not all(np.isfinite(a) and a > 0 for a in alphas):
        raise ValueError(f"every alpha must be a finite number > 0, got {alphas!r}")
    levels0 = _gap_levels(penalty, p, alphas[0]) if alphas else None
    if not alphas or not _kernel_ok(penalty, levels0, getattr(penalty, "solver", "bcd")):
        out, W, b = [], coef_init, intercept_init
        for alpha in alphas:
            rec = solve(lp, penalty, alpha, tol=tol, max_iter=max_iter, coef_init=W,
                        intercept_init=b)
            out.append(rec)
            W, b = rec.coef, rec.intercept
        return out
    state = _start_state(lp, coef_init, intercept_init)
    records, prev = [], None
    for alpha in alphas:
        levels = _gap_levels(penalty, p, alpha)
        strong = None
        if prev is not None and state.G is not None:
            lam1, lam2, l21 = levels
            Gr = state.G - lam2 * state.W
            norm = np.linalg.norm(Gr, axis=1) if l21 else np.abs(Gr).max(axis=1)
            strong = norm >= lam1 * (2 * alpha - prev) / alpha
        conv, gap, n_iter, n_outer = _solve_kernel(lp, penalty, alpha, levels, tol, max_iter,
                                                   _MAX_OUTER, state, strong)
        records.append(_record_kernel(lp, penalty, alpha, state, conv, gap, n_iter, n_outer, tol))
        prev = alpha
    return records


def _start_state(lp: LogisticProblem, coef_init, intercept_init) -> _KernelState:
    p, K = lp.n_features, lp.n_tasks
    W = np.zeros((p, K)) if coef_init is None else np.array(coef_init, dtype=np.float64)
    if W.shape != (p, K):
        raise ValueError(f"coef_init has shape {W.shape}, expected (p, K) = {(p, K)}")
    _, b0 = _null_losses(lp)
    if not lp.fit_intercept:
        b = np.zeros(K)
    elif intercept_init is None:
        b = b0.copy()
    else:
        b = np.array(intercept_init, dtype=np.float64).reshape(K)
    return _KernelState(lp, W, b)
