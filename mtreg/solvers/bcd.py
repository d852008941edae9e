"""Block coordinate descent for the lasso and group-lasso families, certified by a duality gap.

The objective (DESIGN.md; the problem is already centred and standardised by
:func:`~mtreg.solvers.problem.make_problem`) is::

    F(W, b) = sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2 + alpha * Omega(W)

with ``alpha * Omega(W) = sum_j lam1_j ||W_j.||_* + lam2/2 ||W||_F^2``, where
``lam1_j = alpha * l1_ratio * w_j`` (``w`` the penalty's feature weights, 0 = unpenalised),
``lam2 = alpha * (1 - l1_ratio)`` and ``||.||_*`` the l2 norm of a row (``kernel == "l21"``)
or its l1 norm (``kernel == "l1"``).  This module is the one place where the penalty is turned
into these kernel levels; the Cython kernels in :mod:`mtreg._cy._bcd` only see ``lam1, lam2``.

Algorithm (celer/glmnet style): an outer loop computes the full gradient, the duality gap and
a working set (support, unpenalised rows, and the rows that violate the optimality conditions
most, at most as many as the support; from ``W = 0``, where noise makes nearly every row a
violator, at least the rows whose score stands out of the bulk, ``> 1.5`` times the median
score); the kernel runs BCD epochs on the working set until its estimated objective decrease
per epoch falls below a fraction of the current gap.  With the entry-wise l1 penalty on a dense
per-task design, only the nonzero and violating entries of the working-set rows are updated.
The fit stops when ``gap <= tol * F(0, b0)`` (``F(0, b0)`` = ``problem.null_objective``).

With the entry-wise l1 penalty on a dense per-task design (every feature penalised, no inline
intercepts) the objective separates into K independent (elastic-net) lassos: :func:`solve` and
:func:`solve_path` then solve each task to completion in one Cython kernel
(:mod:`mtreg._cy._lasso_tasks`; working sets, coordinate descent, Anderson extrapolation, a gap
per task), stopping task k at ``gap_k <= tol * F_k(0)`` so that the global gap, the sum of the
tasks' gaps, meets ``gap <= tol * F(0)`` (see :meth:`_Fit.run_tasks`); the tasks are shared among
OpenMP threads on large designs (:func:`_task_threads`).  With the row penalty on a dense
per-task design (every row penalised), each working set's loop of epochs, Anderson steps and
working-set gaps runs in one Cython call (:func:`mtreg._cy._bcd.inner_stacked_dense`).

The duality gap uses, for each task, the dual point ``theta_k = s_k r_k / n_k`` of the
elastic net written as a lasso on augmented data (as scikit-learn's coordinate descent does),
with ``s_k`` the largest rescaling making ``theta`` feasible (one ``s`` for all tasks with the
row penalty, one per task with the entry-wise penalty).  Unpenalised rows and inline intercepts
carry equality constraints; they are met exactly by minimising over that block (a small
least-squares solve) before each gap, or, for many unpenalised rows with ``lam2 > 0``, by the
ridge conjugate ``||G_j||^2 / (2 lam2)``.
"""
from __future__ import annotations

import warnings
import weakref

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from .._cy import _bcd, _lasso_tasks
from ..penalties.base import Penalty
from ._record import SolverRecord
from .problem import Problem

__all__ = ["alpha_max", "solve", "solve_path"]

_KERNELS = ("l1", "l21")
_WS_MIN = 10  # smallest number of violating rows added to a working set
_USTEP_MAX = 64  # unpenalised rows solved exactly before a gap check (beyond: ridge conjugate)
_INNER_FRAC = 1e-2  # a working set is solved until its own gap is <= this fraction of the full gap
_INNER_SAFETY = 0.5  # ... and, when it likely is the last one, to this fraction of the target
_WS_GROW = 1.0  # later working sets add up to this many violators per support row
_WS_FIRST = 1.5  # first working set from W = 0: the rows whose score exceeds this many medians
_WS_FIRST_MAX = 256  # ... at most this many
_ENTRY_WS = True  # l1 on dense per-task designs: entry-wise working sets inside the rows
_ENTRY_THR = 1.0  # ... holding the nonzero entries and those with |G_jk| > this x lam1_j
_INT32_MAX = 2**31 - 1
_COL_CHUNK = 4096  # columns per block when a sparse design's column norms are computed


# --------------------------------------------------------------------------- data layout
class _Design:
    """The arrays a kernel needs for the design of one :class:`Problem`.

    Built from ``problem.X`` and ``problem.task_ptr`` only (never from ``y``), so that it can be
    cached per problem (:func:`_design_of`) and reused by every fit along a path.
    """

    def __init__(self, problem: Problem):
        self.shared = problem.shared
        self.sparse = problem.sparse
        self.fit_b = problem.center_inline
        self.K = problem.n_tasks
        self.p = problem.n_features
        self.task_ptr = np.ascontiguousarray(problem.task_ptr, dtype=np.intp)
        self.n_k = np.diff(self.task_ptr).astype(np.float64)
        self.n_k1 = np.maximum(self.n_k, 1.0)
        self.all_rows = np.arange(self.p, dtype=np.intp)
        X = problem.X
        # the kernels run in the precision of the problem's X (float32 or float64; see
        # make_problem's dtype): X and the residuals are of that type, everything else float64
        self.dtype = np.dtype(np.float32 if X.dtype == np.float32 else np.float64)
        if self.sparse:
            X = sp.csc_matrix(X)
            if not X.has_sorted_indices:
                X = X.sorted_indices()
            self.data = np.ascontiguousarray(X.data, dtype=self.dtype)
            # the kernels take scipy's int32 (or int64) indices as they are: no intp copy
            itype = X.indices.dtype if X.indices.dtype == X.indptr.dtype else np.intp
            itype = itype if itype in (np.int32, np.int64) else np.intp
            self.indices = np.ascontiguousarray(X.indices, dtype=itype)
            self.indptr = np.ascontiguousarray(X.indptr, dtype=itype)
            X2 = None if self.shared else X.multiply(X).tocsc()
        else:
            X = np.asfortranarray(X, dtype=self.dtype)  # no copy: make_problem made it so
            X2 = None
        self.X = X
        self.n = X.shape[0]
        # bytes of the design (bounds the solver's dense temporaries, see newton)
        self.nbytes = (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes if self.sparse
                       else X.nbytes)
        if self.shared:
            if self.sparse:  # column sums of data^2, by blocks of columns: small temporaries
                colsq = np.zeros(self.p)
                for a0 in range(0, self.p, _COL_CHUNK):
                    z0 = min(a0 + _COL_CHUNK, self.p)
                    nz = a0 + np.flatnonzero(np.diff(self.indptr[a0:z0 + 1]))
                    if nz.size:
                        sq = np.square(self.data[self.indptr[a0]:self.indptr[z0]],
                                       dtype=np.float64)
                        colsq[nz] = np.add.reduceat(sq, self.indptr[nz] - self.indptr[a0])
            else:
                colsq = np.einsum("ij,ij->j", X, X, dtype=np.float64)
            self.a = np.ascontiguousarray(colsq / self.n)
        else:
            self.task_id = np.repeat(np.arange(self.K), np.diff(self.task_ptr))
            T = sp.csr_matrix((np.ones(X.shape[0]), (self.task_id, np.arange(X.shape[0]))),
                              shape=(self.K, X.shape[0]))
            if self.sparse:
                colsq = np.asarray((T @ X2).todense(), dtype=np.float64)  # (K, p)
            else:  # task by task: no temporary of the size of X
                colsq = np.array([np.einsum("ij,ij->j", X[a:z], X[a:z], dtype=np.float64)
                                  for a, z in zip(self.task_ptr[:-1], self.task_ptr[1:],
                                                  strict=True)]).reshape(self.K, self.p)
            self.a = np.ascontiguousarray(colsq.T / self.n_k1)
            if self.sparse:
                self.col_task_ptr = self._col_task_ptr()

    def _col_task_ptr(self) -> np.ndarray:
        """(p, K + 1): entries of column j in task k are ``data[ctp[j, k]:ctp[j, k + 1]]``."""
        p, K = self.p, self.K
        col = np.repeat(np.arange(p), np.diff(self.indptr))
        task = np.searchsorted(self.task_ptr, self.indices, side="right") - 1
        counts = np.bincount(col * K + task, minlength=p * K).reshape(p, K)
        ctp = np.zeros((p, K + 1), dtype=np.intp)
        np.cumsum(counts, axis=1, out=ctp[:, 1:])
        ctp += self.indptr[:-1, None]
        return ctp

    # responses and residuals: (n, K) for a shared design (F order if dense, C if sparse),
    # (N,) stacked for per-task designs
    def y_like_R(self, y: np.ndarray) -> np.ndarray:
        if not self.shared:
            return y
        Y = y.reshape(self.K, self.n).T  # (n, K) F-ordered view
        return Y if not self.sparse else np.ascontiguousarray(Y)

    def residual(self, Y: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``Y - X W - b`` in the layout of ``Y`` (a new array)."""
        R = np.array(Y, dtype=self.dtype, order="F" if (self.shared and not self.sparse) else "C",
                     copy=True)
        rows = np.flatnonzero(np.any(W != 0, axis=1)).astype(np.intp)
        if rows.size:
            self.move(R, rows, np.ascontiguousarray(W[rows]))
        if self.fit_b:
            self.shift(R, b)
        return R

    def shift(self, R: np.ndarray, db: np.ndarray) -> None:
        """``r_k -= db_k`` (intercept moves)."""
        if self.shared:
            R -= db
        else:
            R -= np.repeat(db, np.diff(self.task_ptr))

    def move(self, R: np.ndarray, rows: np.ndarray, D: np.ndarray) -> None:
        """``r_k -= X_k[:, rows] D[:, k]`` in place."""
        if self.shared and not self.sparse:
            _bcd.residual_shared_dense(self.X, rows, D, R)
        elif self.shared:
            _bcd.residual_shared_sparse(self.data, self.indices, self.indptr, rows, D, R)
        elif not self.sparse:
            _bcd.residual_stacked_dense(self.X, self.task_ptr, rows, D, R)
        else:
            _bcd.residual_stacked_sparse(self.data, self.indices, self.col_task_ptr, rows, D, R)

    def gradient(self, R: np.ndarray, rows: np.ndarray | None = None, active=None) -> np.ndarray:
        """``G[jj, k] = x_jk^T r_k / n_k`` for ``j = rows[jj]`` (all rows by default); with
        ``active`` (dense per-task design and ``rows`` only), 0 for the inactive entries."""
        if self.shared and not self.sparse and rows is None:  # one gemm (BLAS-3)
            G = np.asarray(self.X.T @ R, dtype=np.float64)
            G *= 1.0 / self.n
            return G
        G = np.empty((self.p if rows is None else rows.size, self.K))
        if self.shared and not self.sparse:
            _bcd.gradient_shared_dense(self.X, R, rows, G)
        elif self.shared:
            _bcd.gradient_shared_sparse(self.data, self.indices, self.indptr, R,
                                        self.all_rows if rows is None else rows, G)
        elif self.sparse:
            _bcd.gradient_stacked_sparse(self.data, self.indices, self.col_task_ptr,
                                         self.task_ptr, R, rows, G)
        else:
            _bcd.gradient_stacked_dense(self.X, self.task_ptr, R, rows, G,
                                        None if rows is None else active)
        return G

    def gram(self, rows: np.ndarray) -> np.ndarray:
        """``X_k[:, rows]^T X_k[:, rows] / n_k``: shape (1, m, m) if shared, else (K, m, m)."""
        XS = self.X[:, rows]
        if self.sparse:
            XS = XS.toarray()
        if self.shared:
            return (XS.T @ XS / self.n)[None]
        return np.stack([XS[a:z].T @ XS[a:z] / max(z - a, 1)
                         for a, z in zip(self.task_ptr[:-1], self.task_ptr[1:], strict=True)])

    def task_dots(self, R: np.ndarray, Z: np.ndarray) -> np.ndarray:
        """Per-task ``z_k^T r_k``, shape (K,); ``Z`` laid out as ``R``."""
        if self.shared:
            return np.einsum("ik,ik->k", Z, R, dtype=np.float64)
        return np.bincount(self.task_id, weights=Z * R, minlength=self.K)

    def epochs(self, R, W, b, lam1, lam2, ws, l21, max_epochs, eps, active=None) -> int:
        """``max_epochs`` passes over the rows ``ws``; ``active`` (uint8 (p, K), l1 on a dense
        per-task design only): the entries to update, the others being 0 and left at 0."""
        max_epochs = int(min(max_epochs, _INT32_MAX))
        if self.shared and not self.sparse:
            return _bcd.epochs_shared_dense(self.X, R, W, self.a, lam1, lam2, ws, l21,
                                            max_epochs, eps)
        if self.shared:
            return _bcd.epochs_shared_sparse(self.data, self.indices, self.indptr, R, W, b,
                                             self.a, lam1, lam2, ws, l21, self.fit_b,
                                             max_epochs, eps)
        if not self.sparse:
            return _bcd.epochs_stacked_dense(self.X, self.task_ptr, R, W, self.a, lam1, lam2,
                                             ws, l21, max_epochs, eps, active)
        return _bcd.epochs_stacked_sparse(self.data, self.indices, self.col_task_ptr,
                                          self.task_ptr, R, W, b, self.a, lam1, lam2, ws, l21,
                                          self.fit_b, max_epochs, eps)


# One cached _Design per live Problem (keyed by id, checked by identity of X and task_ptr, dropped
# when the problem is garbage-collected): paths, CV folds and repeated fits on one problem do
# not rebuild the layout.  Only X-derived arrays are cached; everything from y is recomputed.
_DESIGNS: dict[int, tuple[object, object, _Design]] = {}


def _design_of(problem: Problem) -> _Design:
    key = id(problem)
    hit = _DESIGNS.get(key)
    if hit is not None and hit[0] is problem.X and hit[1] is problem.task_ptr:
        return hit[2]
    design = _Design(problem)
    try:
        weakref.finalize(problem, _DESIGNS.pop, key, None)
    except TypeError:  # not weak-referenceable: do not cache
        return design
    _DESIGNS[key] = (problem.X, problem.task_ptr, design)
    return design


class _BlockStep:
    """Exact minimisation over the unpenalised block: intercepts (inline) and rows ``U``.

    For task k with ``B_k = [1, X_k[:, U]]`` (the column of ones only when intercepts are
    solved inline) it solves ``(B_k^T B_k / n_k + diag(0, lam2 I)) d = B_k^T r_k / n_k -
    (0, lam2 W_U)`` and moves ``r_k -= B_k d``.  Afterwards the dual constraints of the block
    hold exactly, which the duality gap needs.
    """

    def __init__(self, design: _Design, U: np.ndarray, lam2: float):
        self.design, self.U, self.off = design, U, int(design.fit_b)
        self.ridge = np.r_[np.zeros(self.off), np.full(len(U), lam2)]
        X = design.X
        blocks = []
        rows = [slice(0, X.shape[0])] if design.shared else [
            slice(design.task_ptr[k], design.task_ptr[k + 1]) for k in range(design.K)]
        for sl in rows:
            XU = X[:, U][sl]  # columns first: no row-sliced copy of the whole design
            XU = XU.toarray() if sp.issparse(XU) else np.asarray(XU)
            B = np.hstack([np.ones((XU.shape[0], self.off)), XU])
            n = max(B.shape[0], 1)
            M = B.T @ B / n + np.diag(self.ridge)
            blocks.append((sl, B, np.linalg.pinv(M, hermitian=True), n))
        self.blocks = blocks

    def __call__(self, R, W, b):
        off, U = self.off, self.U
        if self.design.shared:
            _, B, Minv, n = self.blocks[0]
            rhs = B.T @ R / n
            rhs[off:] -= self.ridge[off:, None] * W[U]
            d = Minv @ rhs
            R -= B @ d
            W[U] += d[off:]
            if off:
                b += d[0]
            return
        for k, (sl, B, Minv, n) in enumerate(self.blocks):
            rhs = B.T @ R[sl] / n
            rhs[off:] -= self.ridge[off:] * W[U, k]
            d = Minv @ rhs
            R[sl] -= B @ d
            W[U, k] += d[off:]
            if off:
                b[k] += d[0]


# --------------------------------------------------------------------------- public API
def _check_penalty(penalty) -> None:
    kernel = getattr(penalty, "kernel", None)
    missing = [a for a in ("l1_ratio", "feature_weights") if not hasattr(penalty, a)]
    if kernel not in _KERNELS or missing:
        what = (f"kernel={kernel!r} (needs one of {', '.join(map(repr, _KERNELS))})"
                if kernel not in _KERNELS else f"no {', '.join(missing)}")
        raise ValueError(f"the block coordinate descent solver cannot solve penalty "
                         f"{getattr(penalty, 'name', type(penalty).__name__)!r} ({penalty!r}): "
                         f"it has {what}")


def _null(design: _Design, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Intercepts at W = 0 and the residual there."""
    b0 = np.zeros(design.K)
    if design.fit_b:
        b0 = np.add.reduceat(y, design.task_ptr[:-1]) / design.n_k1 if y.size else b0
        b0[design.n_k == 0] = 0.0
    return b0, design.residual(design.y_like_R(y), np.zeros((design.p, design.K)), b0)


def alpha_max(problem: Problem, penalty: Penalty) -> float:
    """Smallest ``alpha`` for which ``W = 0`` is optimal.

    Parameters
    ----------
    problem : Problem
    penalty : Penalty
        Any penalty defining ``alpha_max(G0)``.

    Returns
    -------
    float
        ``penalty.alpha_max(G0)`` with ``G0[:, k] = X_k^T (y_k - b0_k) / n_k`` the gradient at
        ``W = 0`` (intercepts at their optimum), as ``problem.null_fit()[2]``.
    """
    design = _design_of(problem)
    _, R0 = _null(design, np.asarray(problem.y, dtype=np.float64))
    return float(penalty.alpha_max(design.gradient(R0)))


def check_common(alpha, tol, max_iter) -> tuple[float, float, int]:
    """Validate the options every solver takes; returns ``(alpha, tol, max_iter)``."""
    alpha = float(alpha)
    if not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha must be a finite number > 0, got {alpha!r}")
    if not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be a finite number >= 0, got {tol!r}")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    return alpha, float(tol), int(max_iter)


def _check_options(penalty, alpha, tol, max_iter) -> tuple[float, int]:
    _check_penalty(penalty)
    alpha, _, max_iter = check_common(alpha, tol, max_iter)
    return alpha, max_iter


def solve(problem: Problem, penalty: Penalty, alpha: float, *, tol: float = 1e-6,
          max_iter: int = 10_000, coef_init=None, intercept_init=None) -> SolverRecord:
    """Minimise ``F(W, b)`` by block coordinate descent over feature rows.

    ``F(W, b) = sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2 + alpha * Omega(W)``, with
    ``Omega`` the penalty's (lasso or group lasso, elastic-net term included); ``b`` is a
    variable only when ``problem.center_inline`` (otherwise the data are centred and b = 0).

    Parameters
    ----------
    problem : Problem
        Shared or per-task, dense or sparse design (see :func:`make_problem`).
    penalty : Penalty
        A penalty with ``kernel`` ``"l1"`` (entry-wise) or ``"l21"`` (row-wise), e.g.
        :class:`~mtreg.penalties.Lasso` or :class:`~mtreg.penalties.GroupLasso`.
    alpha : float
        Regularisation level, > 0.
    tol : float, default 1e-6
        Stop when the duality gap is ``<= tol * problem.null_objective``.
    max_iter : int, default 10_000
        Maximum number of epochs (passes of the kernel over its working set of rows; per task
        for the independent lassos of an l1 fit on a dense per-task design).
    coef_init : array-like of shape (p, K), optional
        Warm start.
    intercept_init : array-like of shape (K,), optional
        Warm start of the inline intercepts (only when ``problem.center_inline``).

    Returns
    -------
    SolverRecord
        ``coef`` (p, K), ``intercept`` (K,), epochs, final gap and the gap after each check
        (``history``; the final gap only for the independent lassos).

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        When the gap target is not reached within ``max_iter`` epochs.
    """
    alpha, max_iter = _check_options(penalty, alpha, tol, max_iter)
    fit = _Fit(problem, penalty)
    fit.start(coef_init, intercept_init)
    if fit.separable(alpha):
        return fit.run_tasks(alpha, tol, max_iter)
    return fit.run(alpha, tol, max_iter)


def solve_path(problem: Problem, penalty: Penalty, alphas, *, tol: float = 1e-6,
               max_iter: int = 10_000, coef_init=None, intercept_init=None) -> list[SolverRecord]:
    """:func:`solve` at every alpha of a decreasing grid, warm-started along it.

    Besides the coefficients, every fit hands the next one its residuals and its last gradient
    (so a grid point whose warm start is already optimal costs no gradient at all).  From the
    third grid point on, the warm start is a predictor step: ``W`` extrapolated linearly in
    alpha from the last two solutions on the current support (kept only if it lowers the
    objective at the new alpha); its first working set is then the support plus the rows that
    violate the optimality conditions according to the previous gradient, and no gradient is
    computed before that working set is solved.  Otherwise (first points, rejected predictions)
    the first working set also holds the rows kept by the sequential strong rule
    ``||G_j|| >= 2 alpha_i - alpha_{i-1}`` (Tibshirani et al. 2012).  The duality gap over all
    rows, as in :func:`solve`, certifies every fit, so none of this can cost accuracy.

    Returns
    -------
    list of SolverRecord
        One per alpha, in the order given.
    """
    alphas = [float(a) for a in alphas]
    for a in alphas:
        _check_options(penalty, a, tol, max_iter)
    fit = _Fit(problem, penalty)
    fit.start(coef_init, intercept_init)
    records, prev = [], None
    for alpha in alphas:
        records.append(fit.run_tasks(alpha, tol, int(max_iter)) if fit.separable(alpha) else
                       fit.run(alpha, tol, int(max_iter), prev_alpha=prev))
        prev = alpha
    return records


_AA_REG = 1e-10  # Tikhonov regularisation of Anderson's least squares, relative to trace
_AA_CHUNK = 1 << 15  # columns of the stored iterates per block when forming their Gram matrix
_WS_GEMM = 32  # working sets of at least this many rows (shared dense X) get their gradient by gemm
_AA_RES_MAX = 1e3  # extrapolated residuals from stored residuals when sum |weights| <= this
_NEWTON_MAX = 2000  # Newton polishing of a support of at most this many coefficients (rows x K)
_NEWTON_AFTER = 100  # ... once a working set has taken this many epochs
_NEWTON_MEM_FRAC = 0.5  # ... and a dense Hessian of at most this fraction of the design's bytes
_NEWTON_MEM_FLOOR = 4 * 2**20  # ... or of this many bytes (small designs)
_CHECK_EVERY = 5  # epochs between Anderson extrapolations and inner gap checks (as skglm)
_EARLY_CHECKS = (1, 2)  # ... plus inner gap checks after these epochs of a working set
_ACCELERATE = True  # Anderson extrapolation and Newton polishing (off: plain BCD, for tests)
_TASKS = True  # l1 on a dense per-task design: one lasso per task (off: the joint path, for tests)
_TASK_THREADS = None  # threads for the independent lassos: None = automatic (_task_threads)
_PARALLEL_MIN_WORK = 200_000  # ... threads only for designs of at least this many entries
_FAST_INNER = True  # l21 on a dense per-task design: inner() in Cython (off: its Python loop, for tests)
_FAST_CHECK = True  # ... and check() in Cython too (off: numpy, for tests and benchmarks)


def _task_threads(K: int, size: int) -> int:
    """OpenMP threads for the K independent lassos of a per-task design of ``size`` entries.

    ``_TASK_THREADS`` if set; otherwise the OpenMP limit in force (``OMP_NUM_THREADS``,
    ``threadpoolctl.threadpool_limits(..., user_api="openmp")``; joblib's workers are limited
    to their share of the cores), used only when there are at least two tasks per thread and
    the design has at least ``_PARALLEL_MIN_WORK`` entries (below that a fit takes well under a
    millisecond and threads cost more than they give).  The result does not depend on it.
    """
    if _TASK_THREADS is not None:
        return max(1, int(_TASK_THREADS))
    t = _lasso_tasks.openmp_threads()
    return t if t > 1 and K >= 2 * t and size >= _PARALLEL_MIN_WORK else 1


class _Fit:
    """State of one BCD run (design, W, b, R, last gradient), reusable along a path."""

    def __init__(self, problem: Problem, penalty: Penalty):
        design = _design_of(problem)
        self.design, self.penalty = design, penalty
        self.p, self.K = design.p, design.K
        self.l21 = penalty.kernel == "l21"
        self.y = np.ascontiguousarray(problem.y, dtype=np.float64)
        self.Y = design.y_like_R(self.y)
        self.b0, self.R0 = _null(design, self.y)
        self.null_objective = 0.5 * float(np.sum(design.task_dots(self.R0, self.R0)
                                                 / design.n_k1))
        self.weights = np.asarray(penalty.feature_weights(self.p), dtype=np.float64)
        self.G = None  # gradient at the current (W, b) when known

    def start(self, coef_init, intercept_init) -> None:
        design, p, K = self.design, self.p, self.K
        if coef_init is None:
            W = np.zeros((p, K))
        else:
            W = np.array(coef_init, dtype=np.float64, order="C", copy=True)
            if W.shape != (p, K):
                raise ValueError(f"coef_init has shape {W.shape}, expected (p, K) = {(p, K)}")
        if intercept_init is None:
            b = self.b0.copy()
        else:
            b = np.array(intercept_init, dtype=np.float64).reshape(-1).copy()
            if b.shape != (K,):
                raise ValueError(f"intercept_init has shape {b.shape}, expected (K,) = ({K},)")
            if not design.fit_b and np.any(b != 0):
                raise ValueError("intercept_init is only used when the problem solves "
                                 "intercepts inline (sparse X with fit_intercept=True); here the "
                                 "data are centred and the intercepts are 0")
        if not design.fit_b:
            b = np.zeros(K)
        self.W, self.b = W, b
        if coef_init is None and intercept_init is None:
            self.R = self.R0.copy(order="K")
        else:
            self.R = design.residual(self.Y, W, b)
        self.G = None
        self._sols = []  # (alpha, W) of the last two fits, for the predictor step on paths

    # ------------------------------------------------------------------ independent lassos
    def separable(self, alpha: float) -> bool:
        """Whether :meth:`run_tasks` applies: l1 penalty with every feature penalised, dense
        per-task design, no inline intercepts (and ``_ACCELERATE`` on: the plain reference of
        the tests is the joint path)."""
        design = self.design
        return bool(_TASKS and _ACCELERATE and not self.l21 and not design.shared and not design.sparse
                    and not design.fit_b and self.p > 0
                    and np.all(alpha * self.penalty.l1_ratio * self.weights > 0))

    def run_tasks(self, alpha: float, tol: float, max_iter: int) -> SolverRecord:
        """Solve the K independent (elastic-net) lassos of an l1 fit on a per-task design.

        With the entry-wise penalty and per-task designs, ``F(W) = sum_k F_k(w_k)`` with
        ``F_k(w) = 1/(2 n_k) ||y_k - X_k w||^2 + sum_j lam1_j |w_j| + lam2/2 ||w||^2``, and the
        duality gap of the joint path (one dual scaling per task) is the sum of the tasks' gaps.
        Each task is solved to completion in :func:`mtreg._cy._lasso_tasks.lasso_tasks`
        (working-set coordinate descent with Anderson extrapolation, without the GIL) until its
        own gap is ``<= tol * F_k(0)``, with ``F_k(0) = 1/(2 n_k) ||y_k||^2`` the task's share of
        the null objective.  Since ``sum_k F_k(0) = F(0)`` (``problem.null_objective``), the
        global gap ``sum_k gap_k`` then meets the criterion of :meth:`run`,
        ``gap <= tol * F(0)``.  ``n_iter`` is the largest number of epochs of a task (each task
        gets at most ``max_iter``); ``history`` holds the final global gap.
        """
        design, K = self.design, self.K
        lam1 = np.ascontiguousarray(alpha * self.penalty.l1_ratio * self.weights)
        lam2 = alpha * (1.0 - self.penalty.l1_ratio)
        null_k = design.task_dots(self.R0, self.R0) / (2.0 * design.n_k1)
        eps = np.ascontiguousarray(tol * null_k)
        out = np.zeros((K, 3))
        epochs = np.zeros(K, dtype=np.intp)
        _lasso_tasks.lasso_tasks(design.X, design.task_ptr, self.R, self.y, self.W, design.a,
                                 lam1, float(lam2), eps, int(min(max_iter, _INT32_MAX)), out,
                                 epochs, _task_threads(K, design.X.size))
        gap, primal = float(out[:, 0].sum()), float(out[:, 1].sum())
        gap_tol = tol * self.null_objective
        self.G = None
        self._sols = (self._sols + [(alpha, self.W.copy())])[-2:]
        converged = bool(gap <= gap_tol)
        if not converged:
            warnings.warn(
                f"coordinate descent per task ({getattr(self.penalty, 'name', self.penalty)}, "
                f"alpha={alpha:.4g}) did not converge in {int(epochs.max())} epochs: duality gap "
                f"{gap:.3g} > target {gap_tol:.3g} (tol={tol:g} x null objective "
                f"{self.null_objective:.3g}). Increase max_iter, loosen tol, or use a larger "
                "alpha.", ConvergenceWarning, stacklevel=3)
        return SolverRecord(coef=np.array(self.W), intercept=np.zeros(K),
                            n_iter=int(epochs.max()), gap=gap, gap_tol=float(gap_tol),
                            converged=converged, objective=primal, history=np.array([gap]),
                            solver="bcd")

    # ------------------------------------------------------------------ one fit
    def run(self, alpha: float, tol: float, max_iter: int, prev_alpha=None) -> SolverRecord:
        design, penalty, p, K, l21 = self.design, self.penalty, self.p, self.K, self.l21
        W, b = self.W, self.b
        lam1 = np.ascontiguousarray(alpha * penalty.l1_ratio * self.weights)
        lam2 = alpha * (1.0 - penalty.l1_ratio)
        gap_tol = tol * self.null_objective
        n_k = design.n_k1

        pen = lam1 > 0
        U = np.flatnonzero(~pen)
        use_block = U.size > 0 and (lam2 == 0 or U.size <= _USTEP_MAX)
        conj_mask = np.zeros(p, dtype=bool)
        if U.size > 0 and not use_block:
            conj_mask[U] = True  # many unpenalised rows with a ridge: use its conjugate
        block = (_BlockStep(design, U, lam2) if (use_block or (design.fit_b and U.size == 0))
                 else None)

        # inner() and check() in one kernel call each where nothing in them needs Python:
        # per-task dense design, every row penalised (no block step), l21 (l1: run_tasks)
        fast_inner = (_ACCELERATE and _FAST_INNER and l21 and not design.shared
                      and not design.sparse and block is None and U.size == 0)

        def check(rows=None, G=None, active=None):
            """Block step, then (gap, primal, violation score per row, gradient) over ``rows``.

            ``rows=None``: the duality gap of the full problem (the certificate); otherwise the
            gap of the problem restricted to ``rows`` (which hold every nonzero row of W), and
            with ``active`` (l1) to the entries ``active[rows]`` (which hold every nonzero entry).
            """
            if fast_inner and _FAST_CHECK and G is None:
                rws = design.all_rows if rows is None else rows
                G, score = np.empty((rws.size, K)), np.empty(rws.size)
                gap, primal = _bcd.gap_stacked_dense(design.X, design.task_ptr, self.R, self.Y,
                                                     W, lam1, lam2, rws, l21, G, score)
                return gap, primal, score, G
            if block is not None:
                block(self.R, W, b)
                G = None
            R = self.R
            if G is None:
                G = design.gradient(R, rows, None if l21 else active)
            Wr, lam1r, penr, conjr = ((W, lam1, pen, conj_mask) if rows is None else
                                      (W[rows], lam1[rows], pen[rows], conj_mask[rows]))
            H = G - lam2 * Wr if lam2 else G
            if active is not None and rows is not None and not l21:
                H = np.where(active[rows].astype(bool), H, 0.0)
            dn = np.sqrt(np.einsum("jk,jk->j", H, H)) if l21 else np.abs(H).max(axis=1)
            score = np.zeros(len(dn))
            score[penr] = dn[penr] / lam1r[penr]
            if l21:
                s = np.full(K, 1.0 / max(1.0, score.max(initial=0.0)))
            else:
                ratio = np.abs(H[penr]) / lam1r[penr, None]
                s = 1.0 / np.maximum(1.0, ratio.max(axis=0, initial=0.0))
            rr = design.task_dots(R, R) / n_k
            yr = design.task_dots(R, self.Y) / n_k
            norms = np.sqrt(np.einsum("jk,jk->j", Wr, Wr)) if l21 else np.abs(Wr).sum(axis=1)
            quad = 0.5 * rr
            primal = 0.5 * rr.sum() + lam1r @ norms
            if lam2:
                ww = np.einsum("jk,jk->k", Wr, Wr)
                primal += 0.5 * lam2 * ww.sum()
                if conjr.any():
                    Wc, Gc = Wr[conjr], G[conjr]
                    quad += (0.5 * lam2 * (ww - np.einsum("jk,jk->k", Wc, Wc))
                             + np.einsum("jk,jk->k", Gc, Gc) / (2 * lam2))
                else:
                    quad += 0.5 * lam2 * ww
            dual = float(s @ yr - (s * s) @ quad)
            return max(primal - dual, 0.0), primal, score, G

        def objective(R, Wr, lam1r):
            norms = np.sqrt(np.einsum("jk,jk->j", Wr, Wr)) if l21 else np.abs(Wr).sum(axis=1)
            val = 0.5 * float(np.sum(design.task_dots(R, R) / n_k)) + lam1r @ norms
            return val + 0.5 * lam2 * float(np.sum(Wr * Wr)) if lam2 else val

        def extrapolate(ws, hist, rhist):
            """Anderson extrapolation of the last iterates on ``ws`` (kept if it lowers F).

            The residual is affine in (W, b), so the extrapolated residual is the same
            combination of the stored residuals ``rhist`` (O(n K) per iterate instead of a
            residual update over the whole working set); a combination with large weights
            (cancellation) recomputes it from the move instead."""
            # C = D D^T for the differences D of the stored iterates, a chunk of columns at a
            # time: no (L, m) stack of the iterates nor of their differences (large K x |ws|)
            L, m = len(hist) - 1, hist[0].size
            C = np.zeros((L, L))
            for a in range(0, m, _AA_CHUNK):
                Dc = np.stack([hist[i + 1][a:a + _AA_CHUNK] - hist[i][a:a + _AA_CHUNK]
                               for i in range(L)])
                C += Dc @ Dc.T
            C.flat[::len(C) + 1] += _AA_REG * np.trace(C)  # regularised (Scieur et al. 2016)
            try:
                z = np.linalg.solve(C, np.ones(len(C)))
            except np.linalg.LinAlgError:
                return
            if not np.all(np.isfinite(z)) or z.sum() == 0:
                return
            c = z / z.sum()
            z_acc = c[0] * hist[1]
            for ci, zi in zip(c[1:], hist[2:], strict=True):
                z_acc += ci * zi
            W_acc = z_acc[:ws.size * K].reshape(ws.size, K)
            if not np.all(np.isfinite(z_acc)):
                return
            b_acc = z_acc[ws.size * K:] if design.fit_b else None
            if np.abs(c).sum() <= _AA_RES_MAX:
                R_acc = rhist[1] * c[0]
                for ci, Ri in zip(c[1:], rhist[2:], strict=True):
                    R_acc += ci * Ri
            else:
                R_acc = self.R.copy(order="K")
                design.move(R_acc, ws, np.ascontiguousarray(W_acc - W[ws]))
                if design.fit_b:
                    design.shift(R_acc, b_acc - b)
            lam1w = lam1[ws]
            if objective(R_acc, W_acc, lam1w) < objective(self.R, W[ws], lam1w):
                self.R[...] = R_acc
                W[ws] = W_acc
                if design.fit_b:
                    b[:] = b_acc

        def newton(ws):
            """One damped Newton step on the rows of ``ws`` that are nonzero (where F is smooth).

            For ill-conditioned designs (nearly collinear features) where coordinate descent
            crawls along a flat valley; used on small supports only (dense Hessian).
            """
            S = ws[np.any(W[ws] != 0, axis=1)]
            m = S.size
            if m == 0 or m * K > _NEWTON_MAX or 8.0 * (m * K) ** 2 > max(
                    _NEWTON_MEM_FRAC * design.nbytes, _NEWTON_MEM_FLOOR):
                return
            WS = W[S]
            G = design.gradient(self.R, S)
            A = design.gram(S)
            H = np.zeros((m, K, m, K))
            for k in range(K):
                H[:, k, :, k] = A[0 if design.shared else k]
            grad = lam2 * WS - G
            if l21:
                nrm = np.sqrt(np.einsum("jk,jk->j", WS, WS))
                Uv = WS / nrm[:, None]
                grad += lam1[S, None] * Uv
                for i in range(m):
                    H[i, :, i, :] += (lam1[S[i]] / nrm[i]) * (np.eye(K) - np.outer(Uv[i], Uv[i]))
                mask = np.ones(m * K, dtype=bool)
            else:
                grad += lam1[S, None] * np.sign(WS)
                mask = (WS != 0).ravel()  # zero entries stay zero: only the signed ones move
            H = H.reshape(m * K, m * K)[np.ix_(mask, mask)]
            H.flat[::len(H) + 1] += lam2 + 1e-12 * np.trace(H) / max(len(H), 1)
            try:
                d_m = np.linalg.solve(H, -grad.ravel()[mask])
            except np.linalg.LinAlgError:
                return
            d = np.zeros(m * K)
            d[mask] = d_m
            d = d.reshape(m, K)
            lam1S = lam1[S]
            f0 = objective(self.R, WS, lam1S)
            t = 1.0
            for _ in range(20):
                W_new = WS + t * d
                if not l21:  # no sign change in a Newton step: clip at zero
                    W_new[np.sign(W_new) != np.sign(WS)] = 0.0
                R_new = self.R.copy(order="K")
                design.move(R_new, S, np.ascontiguousarray(W_new - WS))
                if objective(R_new, W_new, lam1S) < f0:
                    self.R[...] = R_new
                    W[S] = W_new
                    return
                t *= 0.5

        def snapshot(ws):
            z = W[ws].ravel()
            return np.concatenate([z, b]) if design.fit_b else z.copy()

        def inner(ws, eps_in, budget, early, active=None):
            """Epochs on ``ws`` with extrapolation, until its gap is <= eps_in (or budget).

            ``early``: also check after the epochs in ``_EARLY_CHECKS`` (warm starts on a path,
            which often need one or two epochs)."""
            done = 0
            if fast_inner:  # the loop below, in Cython (per-task dense, penalised rows only)
                out = np.empty(2)
                done = _bcd.inner_stacked_dense(
                    design.X, design.task_ptr, self.R, self.Y, W, design.a, lam1, lam2, ws, l21,
                    eps_in, int(min(budget, _NEWTON_AFTER)), _CHECK_EVERY, early, _AA_RES_MAX,
                    out)
                if out[0] <= eps_in or done >= budget:
                    return done
            hist, rhist = [snapshot(ws)], [None]
            # shared dense X: the working set's columns copied once, its gradients are one gemm
            Xws = (np.asfortranarray(design.X[:, ws]) if design.shared and not design.sparse
                   and ws.size >= _WS_GEMM else None)
            while done < budget:
                done += design.epochs(self.R, W, b, lam1, lam2, ws, l21, 1, 0.0, active)
                hist.append(snapshot(ws))
                rhist.append(self.R.copy(order="K") if _ACCELERATE else None)
                full = len(hist) == _CHECK_EVERY + 1
                if full or done >= budget or (early and done in _EARLY_CHECKS):
                    if full and _ACCELERATE:
                        extrapolate(ws, hist, rhist)
                        if done >= _NEWTON_AFTER:  # coordinate descent is crawling
                            newton(ws)
                    Gws = None
                    if Xws is not None and block is None:
                        Gws = np.asarray(Xws.T @ self.R, dtype=np.float64)
                        Gws *= 1.0 / design.n
                    if check(ws, Gws, active)[0] <= eps_in:
                        break
                    if full:
                        hist, rhist = [snapshot(ws)], [None]
            return done

        def predict():
            """Predictor step along a path: ``W(alpha)`` extrapolated linearly from the last two
            solutions, on the rows nonzero in the last one; kept only if it lowers F."""
            (a0, W0), (a1, _) = self._sols
            if block is not None or not (a0 > a1 == prev_alpha > alpha):
                return False
            S = np.flatnonzero(np.any(W != 0, axis=1))
            if S.size == 0:
                return False
            W_new = W[S] + (a1 - alpha) / (a0 - a1) * (W[S] - W0[S])
            if not l21:  # no sign changes: clip at zero
                W_new[np.sign(W_new) != np.sign(W[S])] = 0.0
            R_new = self.R.copy(order="K")
            design.move(R_new, S, np.ascontiguousarray(W_new - W[S]))
            lam1S = lam1[S]
            if objective(R_new, W_new, lam1S) >= objective(self.R, W[S], lam1S):
                return False
            self.R = R_new
            W[S] = W_new
            return True

        G0 = self.G if (self.G is not None and block is None) else None
        if (_ACCELERATE and G0 is not None and prev_alpha is not None and len(self._sols) == 2
                and predict()):
            # the predicted W is not certified yet: no full gradient now; the first working set
            # comes from the previous gradient (the sequential strong rule's own input), and the
            # first full gradient is the certificate after that working set is solved
            H = G0 - lam2 * W if lam2 else G0
            dn = np.sqrt(np.einsum("jk,jk->j", H, H)) if l21 else np.abs(H).max(axis=1)
            score = np.zeros(p)
            score[pen] = dn[pen] / lam1[pen]
            gap, primal, G, history = np.inf, np.nan, None, []
            predicted = True
        else:
            predicted = False
            gap, primal, score, G = check(None, G0)
            history = [gap]
        n_iter = 0
        first = True
        while gap > gap_tol and n_iter < max_iter:
            support = np.any(W != 0, axis=1)
            cand = np.flatnonzero(pen & ~support & (score > 1.0))
            n_supp = int(support.sum())
            n_add = max(_WS_MIN, int(_WS_GROW * n_supp))
            if n_supp == 0 and _WS_FIRST and cand.size > _WS_MIN:
                # from W = 0 every row may violate (noise): the rows standing out of the bulk
                n_add = max(n_add, min(_WS_FIRST_MAX, int(np.count_nonzero(
                    score[cand] > _WS_FIRST * np.median(score[cand])))))
            # every violator fits in: the working set is likely final, solve it to the target
            frac = 0.0 if cand.size <= n_add else _INNER_FRAC
            if cand.size > n_add:
                cand = cand[np.argpartition(-score[cand], n_add - 1)[:n_add]]
            keep = support | ~pen
            keep[cand] = True
            if first and prev_alpha is not None and prev_alpha > alpha and not predicted:
                keep |= pen & (score >= 2.0 - prev_alpha / alpha)  # sequential strong rule
            ws = np.flatnonzero(keep).astype(np.intp)
            eps_in = _INNER_SAFETY * gap_tol
            if np.isfinite(gap):
                eps_in = max(eps_in, frac * gap)
            active = None
            if _ENTRY_WS and not l21 and G is not None and not design.shared and not design.sparse:
                # l1 on per-task designs: the entries of ws to update are the nonzero ones and
                # those violating the optimality conditions at the last full gradient
                Hw = G[ws] - lam2 * W[ws] if lam2 else G[ws]
                active = np.zeros((p, K), dtype=np.uint8)
                active[ws] = ((W[ws] != 0) | (np.abs(Hw) > _ENTRY_THR * lam1[ws, None])
                              | (lam1[ws, None] == 0))
            G = score = None  # the working set is chosen: free them before the next check
            n_iter += inner(ws, eps_in, max_iter - n_iter, first and prev_alpha is not None,
                            active)
            first = False
            gap, primal, score, G = check()
            history.append(gap)
        self.G = G
        self._sols = (self._sols + [(alpha, W.copy())])[-2:]

        converged = bool(gap <= gap_tol)
        if not converged:
            warnings.warn(
                f"block coordinate descent ({getattr(penalty, 'name', penalty)}, "
                f"alpha={alpha:.4g}) did not converge in {n_iter} epochs: duality gap {gap:.3g} "
                f"> target {gap_tol:.3g} (tol={tol:g} x null objective {self.null_objective:.3g})."
                " Increase max_iter, loosen tol, or use a larger alpha.", ConvergenceWarning,
                stacklevel=3)
        return SolverRecord(coef=np.array(W), intercept=b.copy() if design.fit_b else np.zeros(K),
                            n_iter=n_iter, gap=float(gap), gap_tol=float(gap_tol),
                            converged=converged, objective=float(primal),
                            history=np.asarray(history), solver="bcd")
