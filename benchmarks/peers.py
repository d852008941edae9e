#!/usr/bin/env python
"""peers.py -- side-by-side benchmark of multi-task sparse regression solvers (yardstick for mtreg).

Every peer is mapped onto ONE canonical objective (n = samples per task, W of shape (p, K)):

    P(W) = 1/(2n) sum_k ||y_k - X_k w_k||^2 + pen(W)
      l21  : pen = alpha * sum_j ||W[j, :]||_2                    (MultiTaskLasso / GroupLasso)
      l1   : pen = alpha * sum_jk |W[j, k]|                       (K independent Lassos)
      dirty: W = W1 + W2, pen = alpha ||W1||_21 + beta ||W2||_1   (Dirty model)

"shared" problems have X_k = X (sklearn's MultiTaskLasso setting); "per_task" problems have
one X_k per task (MuTaR setting).  Each peer's scaling and the meaning of its `tol` are noted
next to its adapter.  Every returned W is scored here with P(W) and a Fenchel duality gap, and
compared with the best primal value found (incl. an untimed FISTA polish of the best W), so a
fast-but-inaccurate solver shows up in the `rel subopt` column.

Add a solver: decorate `fn(problem, alpha) -> W` with @peer(name, family, module); it is skipped
(and listed as such) when `module` does not import.  E.g. `python peers.py --only sklearn,mtreg`.
"""
import argparse
import contextlib
import importlib
import importlib.metadata as md
import importlib.util
import os
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from numpy.linalg import norm
from threadpoolctl import threadpool_info, threadpool_limits

MAX_EPOCHS = 100_000  # generous caps: solvers should stop on their tol, not on caps
BLOCKS = {"l21": ("l21",), "l1": ("l1",), "dirty": ("l21", "l1")}  # penalty blocks per family
NORMS = {"l21": lambda W: norm(W, axis=1).sum(), "l1": lambda W: np.abs(W).sum()}
DUALS = {"l21": lambda G: norm(G, axis=1).max(), "l1": lambda G: np.abs(G).max()}
PROX = {"l21": lambda W, t: W * np.maximum(0, 1 - t / np.maximum(norm(W, axis=1, keepdims=True), 1e-300)),
        "l1": lambda W, t: np.sign(W) * np.maximum(np.abs(W) - t, 0)}


# ------------------------------------------------------------------------------ problems
@dataclass
class Problem:
    name: str
    X: np.ndarray                 # shared: (n, p) Fortran-ordered; per_task: (K, n, p)
    Y: np.ndarray                 # (n, K), column k = y_k
    tol: float = 1e-6             # nominal tolerance handed to every solver
    cache: dict = field(default_factory=dict)  # derived layouts (built in the untimed warm-up)
    shared = property(lambda s: s.X.ndim == 2)
    n = property(lambda s: s.Y.shape[0])
    K = property(lambda s: s.Y.shape[1])
    p = property(lambda s: s.X.shape[-1])

    def XW(self, W):   # (n, K) predictions
        return self.X @ W if self.shared else (self.X @ W.T[:, :, None])[:, :, 0].T

    def XtR(self, R):  # (p, K): X_k^T r_k for every task = one "gradient pass"
        return self.X.T @ R if self.shared else (self.X.transpose(0, 2, 1) @ R.T[:, :, None])[:, :, 0].T


def make_shared(name, n, p, K, n_rel, sigma=1.0, seed=0):
    rng = np.random.default_rng(seed)
    X = np.asfortranarray(rng.standard_normal((n, p)))
    W = np.zeros((p, K))
    W[rng.choice(p, n_rel, replace=False)] = rng.standard_normal((n_rel, K))
    return Problem(name, X, X @ W + sigma * rng.standard_normal((n, K)))


def make_per_task(name, K, n, p, n_groups, n_rel, sigma=1.0, seed=0):
    """SG-MTL-like: tasks split into n_groups groups, each group with its own support."""
    rng = np.random.default_rng(seed)
    prob, W = Problem(name, rng.standard_normal((K, n, p)), np.zeros((n, K))), np.zeros((p, K))
    for tasks in np.array_split(np.arange(K), n_groups):
        W[np.ix_(rng.choice(p, n_rel, replace=False), tasks)] = rng.standard_normal((n_rel, len(tasks)))
    prob.Y = prob.XW(W) + sigma * rng.standard_normal((n, K))
    return prob


def make_ragged(name, K, n_lo, n_hi, p, n_groups, n_rel, sigma=1.0, seed=0):
    """As make_per_task with n_k drawn uniformly in [n_lo, n_hi] (ragged tasks).

    The canonical objective is then sum_k 1/(2 n_k) ||y_k - X_k w_k||^2 + pen(W) (each task's
    loss averaged over its own rows, as in mtreg).  So that every peer and the scoring code see
    it through the one (K, n, p) layout, task k is stored zero-padded to n = max n_k rows and
    scaled by sqrt(n / n_k): 1/(2n) ||s_k (y_k - X_k w_k)||^2 = 1/(2 n_k) ||y_k - X_k w_k||^2 and
    the zero rows add nothing.  The raw ragged tasks are kept in prob.cache["ragged"] (mtreg
    gets those, unpadded and unscaled)."""
    rng = np.random.default_rng(seed)
    n_k = rng.integers(n_lo, n_hi + 1, size=K)
    W = np.zeros((p, K))
    for tasks in np.array_split(np.arange(K), n_groups):
        W[np.ix_(rng.choice(p, n_rel, replace=False), tasks)] = rng.standard_normal((n_rel, len(tasks)))
    Xs = [rng.standard_normal((m, p)) for m in n_k]
    ys = [x @ W[:, k] + sigma * rng.standard_normal(m) for k, (x, m) in enumerate(zip(Xs, n_k, strict=True))]
    n = int(n_k.max())
    X, Y = np.zeros((K, n, p)), np.zeros((n, K))
    for k, (x, y, m) in enumerate(zip(Xs, ys, n_k, strict=True)):
        X[k, :m], Y[:m, k] = x * np.sqrt(n / m), y * np.sqrt(n / m)
    prob = Problem(name, X, Y)
    prob.cache["ragged"] = (Xs, ys)
    return prob


PROBLEMS = {  # key: (generator(seed), [(family, alpha / alpha_max), ...])
    "a": (lambda s: make_shared("a: shared n=200 p=2000 K=20", 200, 2000, 20, 20, seed=s),
          [("l21", 1 / 10), ("l21", 1 / 50)]),
    "b": (lambda s: make_shared("b: shared n=1000 p=10000 K=50", 1000, 10000, 50, 50, seed=s),
          [("l21", 1 / 10), ("l21", 1 / 50)]),
    "c": (lambda s: make_per_task("c: per-task K=30 n_k=50 p=500, 3 task groups", 30, 50, 500, 3, 10, seed=s),
          [("l21", 1 / 10), ("l1", 1 / 10), ("dirty", 1 / 10)]),
    "r": (lambda s: make_ragged("r: per-task ragged K=30 n_k in [20, 80] p=500, 3 task groups", 30, 20, 80,
                                500, 3, 10, seed=s),
          [("l21", 1 / 10), ("l1", 1 / 10)]),
}


# ------------------------------------------------------------------ objective, dual gap
def alpha_max(prob, fam):
    """Smallest alpha (per penalty block) for which W = 0 is optimal."""
    am = [DUALS[b](prob.XtR(prob.Y) / prob.n) for b in BLOCKS[fam]]
    return am[0] if len(am) == 1 else tuple(am)


def score(prob, fam, alpha, W):
    """(primal, dual, nnz rows).  W is (p, K), or (2, p, K) = (W1, W2) for 'dirty'.
    Dual: D(theta) = ||Y||^2/(2n) - n/2 ||theta - Y/n||^2 at theta = s R / n, with s making
    theta feasible (dual norm of X^T theta <= alpha for every penalty block)."""
    n, lams, Z = prob.n, np.atleast_1d(alpha), np.asarray(W).reshape(-1, prob.p, prob.K)
    R = prob.Y - prob.XW(Z.sum(0))
    P = (R ** 2).sum() / (2 * n) + sum(l * NORMS[b](z) for b, l, z in zip(BLOCKS[fam], lams, Z, strict=True))
    G = prob.XtR(R) / n
    s = min([1.0] + [l / max(DUALS[b](G), 1e-300) for b, l in zip(BLOCKS[fam], lams, strict=True)])
    D = ((prob.Y ** 2).sum() - ((prob.Y - s * R) ** 2).sum()) / (2 * n)
    return P, D, int((norm(Z.sum(0), axis=1) > 0).sum())


def fista(prob, fam, alpha, W0=None, tol=1e-6, max_iter=200_000, max_time=np.inf):
    """Reference solver: FISTA with gradient restart; stops when the duality gap
    <= tol * ||Y||_F^2 / n (the sklearn/celer rule), or at max_iter / max_time."""
    blocks, lams, n, (p, K) = BLOCKS[fam], np.atleast_1d(alpha), prob.n, (prob.p, prob.K)
    L = len(blocks) * max(np.linalg.eigvalsh(x @ x.T if x.shape[0] <= x.shape[1] else x.T @ x)[-1]
                          for x in ([prob.X] if prob.shared else prob.X)) / n  # x2 for (W1, W2)
    Z = np.zeros((len(blocks), p, K)) if W0 is None else np.asarray(W0, float).reshape(-1, p, K).copy()
    V, t, thr, t0 = Z.copy(), 1.0, tol * (prob.Y ** 2).sum() / n, time.perf_counter()
    for it in range(max_iter):
        G = -prob.XtR(prob.Y - prob.XW(V.sum(0))) / n
        Znew = np.stack([PROX[b](v - G / L, l / L) for b, l, v in zip(blocks, lams, V, strict=True)])
        if it % 10 == 0:
            P, D, _ = score(prob, fam, alpha, Znew)
            if P - D <= thr or time.perf_counter() - t0 > max_time:
                break
        if np.vdot(V - Znew, Znew - Z) > 0:  # O'Donoghue & Candes restart
            t = 1.0
        t_new = (1 + np.sqrt(1 + 4 * t * t)) / 2
        V, Z, t = Znew + (t - 1) / t_new * (Znew - Z), Znew, t_new
    return Znew[0] if len(blocks) == 1 else Znew


# ---------------------------------------------------------------------- solver registry
@dataclass
class Solver:
    fn: callable          # fn(prob, alpha) -> W;  paths: fn(prob, alphas) -> [W, ...];  CV: -> estimator
    fam: str              # objective family it solves
    designs: tuple        # "shared" and/or "per_task"
    max_size: float       # skip when K*n*p exceeds this


SOLVERS, PATHS, CVS, SKIPPED = {}, {}, {}, {}


def peer(name, fam, module, designs=("shared", "per_task"), max_size=np.inf, table=SOLVERS):
    def deco(fn):
        try:
            importlib.import_module(module)
            table[name] = Solver(fn, fam, designs, max_size)
        except Exception as e:  # not installed / broken import: skip, but say why
            SKIPPED[name] = f"import {module}: {e!r}"
        return fn
    return deco


def block_design(prob):
    """Per-task problem as ONE sparse block-diagonal regression; group j = feature j of all tasks.
    Its datafit is 1/(2Kn)||y - Xb w||^2 = canonical / K, hence alpha / K for those peers."""
    if "block" not in prob.cache:
        from scipy import sparse
        groups = [list(range(j, prob.K * prob.p, prob.p)) for j in range(prob.p)]
        prob.cache["block"] = (sparse.block_diag(list(prob.X), format="csc"), prob.Y.T.ravel(), groups)
    return prob.cache["block"]


def stacked_X(prob):
    """(K, n, p) Fortran array as mutar wants it (replicated for shared designs)."""
    if "x3" not in prob.cache:
        prob.cache["x3"] = np.asfortranarray(np.broadcast_to(prob.X, (prob.K, prob.n, prob.p)))
    return prob.cache["x3"]


# sklearn (linear_model/_coordinate_descent.py, _cd_fast.pyx): (1/(2n))||Y - XW||_F^2 + alpha||W||_21;
# the Cython solves the unscaled problem (l1_reg = alpha n) and stops when gap <= tol ||Y||_F^2.
@peer("sklearn", "l21", "sklearn", designs=("shared",))
def _(prob, alpha):
    from sklearn.linear_model import MultiTaskLasso
    return MultiTaskLasso(alpha=alpha, fit_intercept=False, tol=prob.tol,
                          max_iter=MAX_EPOCHS).fit(prob.X, prob.Y).coef_.T

# celer (homotopy.py mtl_path, multitask_fast.pyx): same objective, stops when gap <= tol ||Y||_F^2 / n.
# celer.MultiTaskLasso.fit is broken on sklearn >= 1.6 (no self._validate_data): call mtl_path.
@peer("celer", "l21", "celer.homotopy", designs=("shared",))
def _(prob, alpha):
    from celer.homotopy import mtl_path
    return mtl_path(prob.X, prob.Y, alphas=[alpha], tol=prob.tol, max_iter=1000,
                    max_epochs=MAX_EPOCHS)[1][:, :, 0].T

# skglm (estimators.py MultiTaskLasso, datafits/multi_task.py, solvers/multitask_bcd.py): same
# objective; stops when max_j dist(-grad_j, alpha d||W_j||) <= tol (absolute KKT violation, no gap).
@peer("skglm", "l21", "skglm", designs=("shared",))
def _(prob, alpha):
    from skglm import MultiTaskLasso
    return MultiTaskLasso(alpha=alpha, fit_intercept=False, tol=prob.tol, max_iter=1000,
                          max_epochs=MAX_EPOCHS).fit(prob.X, prob.Y).coef_.T

# Per-task designs via the block-diagonal design: objective = canonical / K, so alpha / K; skglm's
# absolute KKT tol is divided by K too; celer's tol is relative to ||y||^2 / (Kn), hence unchanged.
@peer("skglm-block GroupLasso", "l21", "skglm", designs=("per_task",))
def _(prob, alpha):
    from skglm import GroupLasso
    Xb, y, groups = block_design(prob)
    return GroupLasso(groups=groups, alpha=alpha / prob.K, fit_intercept=False, tol=prob.tol / prob.K,
                      max_iter=1000, max_epochs=MAX_EPOCHS).fit(Xb, y).coef_.reshape(prob.K, prob.p).T

@peer("celer-block grouplasso", "l21", "celer", designs=("per_task",))
def _(prob, alpha):
    from celer import celer_path
    Xb, y, groups = block_design(prob)
    return celer_path(Xb, y, "grouplasso", groups=groups, alphas=[alpha / prob.K], tol=prob.tol,
                      max_iter=1000, max_epochs=MAX_EPOCHS)[1][:, 0].reshape(prob.K, prob.p).T

@peer("skglm-block Lasso", "l1", "skglm", designs=("per_task",))
def _(prob, alpha):
    from skglm import Lasso
    Xb, y, _ = block_design(prob)
    return Lasso(alpha=alpha / prob.K, fit_intercept=False, tol=prob.tol / prob.K, max_iter=1000,
                 max_epochs=MAX_EPOCHS).fit(Xb, y).coef_.reshape(prob.K, prob.p).T

# mutar (estimators.py, solvers.py _solver_dirty): 1/(2n) sum_k ||y_k - X_k w_k||^2 + alpha||W1||_21
# + beta||W2||_1, numba BCD on the unscaled problem (alpha n, beta n).  GroupLasso = DirtyModel with
# beta = 10 alpha; stops when max|dW| / max|W| < tol (no gap).  IndLasso = sklearn Lasso per task.
MUTAR_MAX = 1e9  # K*n*p: mutar replicates a shared X to (K, n, p) and has no screening/working set
# MuTaR takes no ragged input (X must be one (K, n, p) array): on the ragged problem "r" it runs on the
# zero-padded, rescaled (K, max n_k, p) equivalent (same objective, ~n_max / mean n_k more rows).

def _mutar(est, prob):
    return est(fit_intercept=False, tol=prob.tol, max_iter=MAX_EPOCHS).fit(stacked_X(prob), prob.Y.T)

@peer("mutar GroupLasso", "l21", "mutar", max_size=MUTAR_MAX)
def _(prob, alpha):
    from mutar import GroupLasso
    return _mutar(lambda **kw: GroupLasso(alpha=alpha, **kw), prob).coef_

@peer("mutar IndLasso", "l1", "mutar", max_size=MUTAR_MAX)
def _(prob, alpha):
    from mutar import IndLasso  # one alpha per task: a scalar fails in solver_lasso's reshape
    return _mutar(lambda **kw: IndLasso(alpha=np.full(prob.K, alpha), **kw), prob).coef_

@peer("mutar DirtyModel", "dirty", "mutar", max_size=MUTAR_MAX)
def _(prob, alpha):
    from mutar import DirtyModel
    m = _mutar(lambda **kw: DirtyModel(alpha=alpha[0], beta=alpha[1], **kw), prob)
    return np.stack([m.coef_shared_, m.coef_specific_])


for _fam in BLOCKS:  # the plain numpy reference, timed like a peer on per-task designs
    SOLVERS[f"numpy FISTA ({_fam})"] = Solver(lambda prob, a, f=_fam: fista(prob, f, a, tol=prob.tol),
                                              _fam, ("per_task",), np.inf)

# mtreg (mtreg/solvers/bcd.py, mtreg/_cy/_bcd.pyx): sum_k 1/(2 n_k)||y_k - X_k w_k||^2 + alpha Omega(W)
# = the canonical objective with fit_intercept=False, standardize=False; BCD on working sets, stops
# when the duality gap <= tol * ||Y||_F^2 / (2n) (half sklearn's tol ||Y||^2 on its n-scaled problem).
# The mtreg Problem (a copy of X, like the block designs above) is built once, in the untimed warm-up.
def mtreg_problem(prob):
    if "mtreg" not in prob.cache:
        from mtreg.solvers.problem import make_problem
        if "ragged" in prob.cache:  # the raw ragged tasks (mtreg averages each task's loss over its rows)
            Xs, ys = prob.cache["ragged"]
            X, y, ptr = np.vstack(Xs), np.concatenate(ys), np.r_[0, np.cumsum([len(v) for v in ys])]
        else:
            X = prob.X if prob.shared else prob.X.reshape(prob.K * prob.n, prob.p)
            y, ptr = prob.Y.T.ravel(), np.arange(prob.K + 1) * prob.n
        prob.cache["mtreg"] = make_problem(X, y, ptr, shared=prob.shared, fit_intercept=False,
                                           standardize=False)
    return prob.cache["mtreg"]

def _mtreg(prob, alpha, penalty, coef_init=None):
    from mtreg.solvers import bcd
    return bcd.solve(mtreg_problem(prob), penalty, alpha, tol=prob.tol, max_iter=MAX_EPOCHS,
                     coef_init=coef_init).coef

@peer("mtreg GroupLasso", "l21", "mtreg.solvers.bcd")
def _(prob, alpha):
    from mtreg.penalties import GroupLasso
    return _mtreg(prob, alpha, GroupLasso())

@peer("mtreg Lasso", "l1", "mtreg.solvers.bcd")
def _(prob, alpha):
    from mtreg.penalties import Lasso
    return _mtreg(prob, alpha, Lasso())


# ------------------------------------- regularisation paths (decreasing alphas, warm starts)
def _split(c):  # (K, p, n_alphas) coefficient stack -> list of (p, K)
    return [c[:, :, i].T for i in range(c.shape[2])]

@peer("sklearn lasso_path", "l21", "sklearn", designs=("shared",), table=PATHS)
def _(prob, alphas):  # a 2-D Y makes lasso_path use the multi-task CD
    from sklearn.linear_model import lasso_path
    return _split(lasso_path(prob.X, prob.Y, alphas=alphas, tol=prob.tol, max_iter=MAX_EPOCHS)[1])

@peer("celer mtl_path", "l21", "celer.homotopy", designs=("shared",), table=PATHS)
def _(prob, alphas):
    from celer.homotopy import mtl_path
    return _split(mtl_path(prob.X, prob.Y, alphas=alphas, tol=prob.tol, max_iter=1000,
                           max_epochs=MAX_EPOCHS)[1])

@peer("skglm MultiTaskLasso.path", "l21", "skglm", designs=("shared",), table=PATHS)
def _(prob, alphas):
    from skglm import MultiTaskLasso
    return _split(MultiTaskLasso(fit_intercept=False, tol=prob.tol, max_iter=1000,
                                 max_epochs=MAX_EPOCHS).path(prob.X, prob.Y, alphas)[1])

@peer("mutar solver_dirty (manual warm start)", "l21", "mutar", max_size=MUTAR_MAX, table=PATHS)
def _(prob, alphas):  # GroupLasso(warm_start=True) cannot refit (UnboundLocalError in mutar 0.0.1)
    from mutar.solvers import solver_dirty
    X3, y, out = stacked_X(prob), np.ascontiguousarray(prob.Y.T), []
    c1, c2 = np.zeros((prob.p, prob.K), order="F"), np.zeros((prob.p, prob.K), order="F")
    for a in alphas:
        c1, c2, _, _ = solver_dirty(X3, y, c1, c2, a, 10 * a, MAX_EPOCHS, prob.tol, False)
        out.append(c1 + c2)
    return out

@peer("mtreg fit_path", "l21", "mtreg.path", table=PATHS)
def _(prob, alphas):  # warm starts + predictor step + residual/gradient hand-over
    from mtreg.path import fit_path
    from mtreg.penalties import GroupLasso
    raw = fit_path(mtreg_problem(prob), GroupLasso(), alphas, tol=prob.tol, max_iter=MAX_EPOCHS)
    return [raw.coef[:, :, i] for i in range(len(alphas))]



# ------------------------------------------------ 5-fold cross-validation over the same alphas
@peer("sklearn MultiTaskLassoCV", "l21", "sklearn", designs=("shared",), table=CVS)
def _(prob, alphas):
    from sklearn.linear_model import MultiTaskLassoCV
    return MultiTaskLassoCV(alphas=alphas, cv=5, fit_intercept=False, tol=prob.tol,
                            max_iter=MAX_EPOCHS).fit(prob.X, prob.Y)

@peer("celer MultiTaskLassoCV", "l21", "celer", designs=("shared",), table=CVS)
def _(prob, alphas):
    from celer import MultiTaskLassoCV
    return MultiTaskLassoCV(alphas=alphas, cv=5, fit_intercept=False, tol=prob.tol).fit(prob.X, prob.Y)


# mtreg.cv_model on scikit-learn's folds (KFold(5), no shuffle): every fold refits the path with
# fit_path; the folds run in MTREG_CV_JOBS joblib workers (default 2 = the cores of the reference
# machine; each worker single-threaded BLAS).  Unlike MultiTaskLassoCV it also fits the full-data
# path (not one refit at the chosen alpha).
@peer("mtreg cv_model", "l21", "mtreg.cv", designs=("shared",), table=CVS)
def _(prob, alphas):
    from types import SimpleNamespace

    from mtreg import design as mdesign
    from mtreg.cv import cv_model
    from mtreg.model import MultiTaskModel
    model = MultiTaskModel._from_design(mdesign.from_endog_exog(prob.Y, prob.X), penalty="group_lasso",
                                        fit_intercept=False, standardize=False)
    foldid = np.concatenate([np.full(len(c), f) for f, c in enumerate(np.array_split(np.arange(prob.n), 5))])
    res = cv_model(model, foldid=foldid, alphas=alphas, tol=prob.tol, max_iter=MAX_EPOCHS,
                   n_jobs=int(os.environ.get("MTREG_CV_JOBS", "2")))
    return SimpleNamespace(alpha_=res.alpha_min)


# ---------------------------------------------------------------------------- timing
def timed(fn, repeats, budget):
    """1 warm-up + `repeats` timed runs (at least 1; fewer when the warm-up says they would take
    more than `budget` s).  Returns (output of the warm-up, times, ConvergenceWarning raised?)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        out = fn()
        t_warm = time.perf_counter() - t0
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(max(1, min(repeats, int(budget // max(t_warm, 1e-9))))):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return out, np.array(times), any("converge" in str(w.message).lower() for w in caught)


MODES = {"1 thread": lambda: threadpool_limits(limits=1), "default threads": contextlib.nullcontext}


def time_modes(fn, args):
    """`timed` under each BLAS threading mode -> (output of the first mode, {mode: stats})."""
    outs, stats = [], {}
    for mode, ctx in MODES.items():
        with ctx():
            o, t, w = timed(fn, args.repeats, args.budget)
        outs.append(o)
        stats[mode] = (np.median(t), t.min(), t.max(), len(t), w)
    return outs[0], stats


fmt_t = lambda s: f"{s[0]:.3g} [{s[1]:.3g}, {s[2]:.3g}] (n={s[3]})"  # noqa: E731


# ---------------------------------------------------------------------------- runner
def selected(name, sol, prob, fam, args):
    """None: not applicable / not asked for; 'run'; or the reason it is skipped."""
    if (args.only and not any(tok in name for tok in args.only)) or sol.fam != fam \
            or ("shared" if prob.shared else "per_task") not in sol.designs:
        return None
    if prob.K * prob.n * prob.p > sol.max_size:
        return f"skipped: K*n*p = {prob.K * prob.n * prob.p:.2g} > max_size {sol.max_size:.2g}"
    return "run"


def run_all(table, prob, fam, arg, args, post):
    """Time every applicable solver of `table` on (prob, arg); post(output) -> what is kept."""
    res, notes = {}, []
    for name, sol in table.items():
        sel = selected(name, sol, prob, fam, args)
        if sel != "run":
            notes += [f"- {name}: {sel}"] if sel else []
            continue
        print(f"  [{prob.name[0]}] {fam} {name} ...", flush=True)
        try:
            o, stats = time_modes(lambda sol=sol: sol.fn(prob, arg), args)
            res[name] = (stats, post(o))
        except Exception as e:  # a peer that crashes is reported, not fatal
            notes.append(f"- {name}: FAILED {type(e).__name__}: {str(e)[:200]}")
    return res, notes


def write_table(out, res, notes, headers, cells):
    if res:
        out("| solver | 1 thread: median [min, max] s | default threads: median [min, max] s | "
            + " | ".join(headers) + " |\n|" + "---|" * (3 + len(headers)))
    for name, (stats, kept) in sorted(res.items(), key=lambda kv: kv[1][0]["1 thread"][0]):
        cw = " (ConvergenceWarning)" if any(s[4] for s in stats.values()) else ""
        out(f"| {name}{cw} | {fmt_t(stats['1 thread'])} | {fmt_t(stats['default threads'])} | "
            + " | ".join(cells(stats, kept)) + " |")
    if notes:
        out("\n" + "\n".join(notes))


def bench_problem(prob, tasks, args, out):
    tgrad = {}
    for mode, ctx in MODES.items():  # the "physical limit": one full X^T R with numpy BLAS
        with ctx():
            tgrad[mode] = np.median(timed(lambda: prob.XtR(prob.Y), 20, 5)[1])
    out(f"\n## Problem {prob.name}\n\nOne gradient pass X^T R ({2 * prob.n * prob.p * prob.K / 1e6:.0f} "
        f"Mflop): {tgrad['1 thread'] * 1e3:.3g} ms (1 thread), {tgrad['default threads'] * 1e3:.3g} ms "
        "(default threads).")
    if "ragged" in prob.cache:  # the same pass over the unpadded tasks, for reference
        Xs, ys = prob.cache["ragged"]
        with threadpool_limits(limits=1):
            t_raw = np.median(timed(lambda: [x.T @ y for x, y in zip(Xs, ys, strict=True)], 20, 5)[1])
        out(f"Ragged tasks (sum n_k = {sum(len(y) for y in ys)}, padded to {prob.K} x {prob.n}): "
            f"'grad passes' use the padded X^T R above; one pass over the unpadded tasks (a loop of "
            f"X_k^T r_k) takes {t_raw * 1e3:.3g} ms (1 thread).")
    for fam, frac in tasks:
        am = alpha_max(prob, fam)
        alpha = tuple(frac * a for a in am) if fam == "dirty" else frac * am
        out(f"\n### {fam}, alpha = alpha_max/{1 / frac:.0f} = {np.round(alpha, 6)}\n")
        res, notes = run_all(SOLVERS, prob, fam, alpha, args,
                             lambda W, fam=fam, alpha=alpha: (score(prob, fam, alpha, W), W))
        if not res:
            out("\n".join(notes) or "(no solver selected)")
            continue
        best = min(res.values(), key=lambda r: r[1][0][0])[1][1]  # untimed FISTA polish of the best W
        scores = [r[1][0] for r in res.values()] + [score(prob, fam, alpha, fista(
            prob, fam, alpha, W0=best, tol=1e-13, max_time=args.polish_time))]
        Pmin, Dmax = min(s[0] for s in scores), max(s[1] for s in scores)
        write_table(out, res, notes, ["grad passes (1 thr)", "rel subopt", "rel gap", "nnz rows"],
                    lambda st, k, Pmin=Pmin: [f"{st['1 thread'][0] / tgrad['1 thread']:.0f}",
                                              f"{(k[0][0] - Pmin) / Pmin:.1e}",
                                              f"{(k[0][0] - k[0][1]) / Pmin:.1e}", str(k[0][2])])
        out(f"\nReference: best primal {Pmin:.12g}; certified (best primal - best dual) / best primal "
            f"= {(Pmin - Dmax) / Pmin:.1e}.")


def bench_path(prob, args, out, n_alphas=20):
    am = alpha_max(prob, "l21")
    alphas = am * np.geomspace(1, 1e-2, n_alphas)
    out(f"\n### Path on problem {prob.name[0]}: {n_alphas} alphas, geometric alpha_max .. alpha_max/100\n")
    res, notes = run_all(PATHS, prob, "l21", alphas, args,
                         lambda Ws: np.array([score(prob, "l21", a, W)[:2]
                                              for a, W in zip(alphas, Ws, strict=True)]))
    Pmin = np.min([r[1][:, 0] for r in res.values()], axis=0) if res else 0  # best primal per alpha
    write_table(out, res, notes, ["max rel subopt over path", "max rel gap over path"],
                lambda st, PD: [f"{((PD[:, 0] - Pmin) / Pmin).max():.1e}",
                                f"{((PD[:, 0] - PD[:, 1]) / Pmin).max():.1e}"])
    out(f"\n### 5-fold CV on problem {prob.name[0]} (same {n_alphas} alphas, then refit at the chosen one)\n")
    res, notes = run_all(CVS, prob, "l21", alphas, args, lambda m: m.alpha_)
    write_table(out, res, notes, ["chosen alpha"], lambda st, a: [f"alpha_max/{am / a:.3g}"])


def environment(args):
    pk = [(p, p) for p in ("numpy", "scipy", "pandas", "celer", "skglm", "mutar", "numba", "threadpoolctl",
                           "Cython")] + [("scikit-learn", "sklearn"), ("pot", "ot")]
    ver = ", ".join(f"{p} {md.version(p) if importlib.util.find_spec(m) else 'not installed'}" for p, m in pk)
    cpu = [l.strip() for l in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
           if l.startswith(("Model name", "Model:", "CPU(s):", "L2 cache", "L3 cache"))]
    blas = "; ".join(f"{i.get('internal_api')} {i.get('version')} arch={i.get('architecture')} threads="
                     f"{i.get('num_threads')} ({os.path.basename(i.get('filepath', ''))})"
                     for i in threadpool_info())
    env = ", ".join(f"{k}={os.environ.get(k, '(unset)')}" for k in (
        "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
        "MKL_NUM_THREADS"))
    return (f"# Peer benchmark: multi-task sparse regression solvers\n\nCommand: `python peers.py "
            f"{' '.join(sys.argv[1:])}`  \nCPU (lscpu): {'; '.join(' '.join(c.split()) for c in cpu)}  \n"
            f"Versions: {ver}  \nBLAS (threadpoolctl): "
            f"{blas}  \nEnv: {env}  \nNominal tol = {args.tol} for every solver (each with its own "
            f"meaning, see peers.py); 1 warm-up + up to {args.repeats} timed repeats (fewer if they would "
            f"exceed {args.budget:.0f} s; n = repeats), time.perf_counter.  'grad passes' = median 1-thread "
            "time / median 1-thread time of one X^T R.  'rel subopt' = (P - P_best) / P_best; 'rel gap' = "
            "duality gap of the returned W (computed here) / P_best.")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", type=lambda s: s.split(","), help="comma-separated substrings of solver names")
    ap.add_argument("--problems", default="a,b,c")
    ap.add_argument("--path-problems", default="a", help="problems for the path + CV timings ('' = none)")
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--budget", type=float, default=120.0, help="max seconds of repeats per solver and mode")
    ap.add_argument("--polish-time", type=float, default=60.0, help="seconds for the FISTA reference polish")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "peers_results.md"))
    args = ap.parse_args()
    lines = [environment(args)] + (["\nNot importable: " + "; ".join(f"{k}: {v}" for k, v in SKIPPED.items())]
                                   if SKIPPED else [])

    def out(s):  # print, and rewrite the results file after every line (partial results survive)
        print(s, flush=True)
        lines.append(s)
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")

    for key in args.problems.split(","):
        make, tasks = PROBLEMS[key]
        prob = make(args.seed)
        prob.tol = args.tol
        bench_problem(prob, tasks, args, out)
        if key in args.path_problems.split(","):
            bench_path(prob, args, out)


if __name__ == "__main__":
    main()
