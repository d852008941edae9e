# Block coordinate descent epochs for the l1 and l1/l2 (row) penalties with a ridge term.
#
# Every kernel minimises, over the feature rows listed in ``ws`` (and the intercepts when
# ``fit_b``), the DESIGN.md objective
#
#     sum_k 1/(2 n_k) ||r_k||^2 + sum_j lam1[j] ||W[j, :]||_* + lam2/2 ||W||_F^2
#
# with ||.||_* the l2 norm of the row ("l21") or its l1 norm ("l1"), r_k = y_k - b_k - X_k w_k
# kept up to date in place.  The scaling (lam1 = alpha l1_ratio weights, lam2 = alpha (1 -
# l1_ratio), column norms divided by n_k) is done once, in mtreg/solvers/bcd.py.
#
# A kernel runs at most ``max_epochs`` passes over ``ws`` and stops early after a pass whose
# estimated objective decrease, sum_j sum_k (a_jk + lam2)/2 (W_new - W_old)_jk^2, is <= ``eps``.
# It returns the number of passes done.  Kernels never print, never allocate inside the epoch
# loop and run without the GIL; the duality gap is computed on the Python side.
#
# Precision: the design (``X`` or the CSC ``data``) and the residuals (``R``/``r``) are of the
# fused type ``floating`` (float32 or float64, the same for both: ``dtype`` of the problem);
# coefficients, intercepts, curvatures ``a``, levels and gradients ``G`` are always float64.
# Short per-task and sparse inner products are accumulated in float64; the long columns of a
# shared dense design and the full gradients go through BLAS (sdot/sgemv in float32, as
# scikit-learn's cd_fast does).
from cython cimport floating

import numpy as np

from ._blas cimport (_axpy_short, _dot_short, _xaxpy, _xdot, _xgemv_t, _xger, mt_simd_level,
                     mt_simd_set)
from libc.math cimport sqrt

from ._prox cimport _row_norm, _row_update


# ------------------------------------------------------------------------------ row updates
# ----------------------------------------------------------------------- shared design
def epochs_shared_dense(const floating[::1, :] X, floating[::1, :] R, double[:, ::1] W,
                        const double[::1] a, const double[::1] lam1, double lam2,
                        const Py_ssize_t[::1] ws, bint l21, int max_epochs, double eps):
    """Epochs of BCD with one dense design ``X`` (n, p) shared by the K tasks.

    Parameters
    ----------
    X : float32 or float64 array (n, p), F-contiguous
    R : array (n, K) of X's dtype, F-contiguous
        Residuals ``Y - X W``, updated in place.
    W : float64 array (p, K), C-contiguous
        Coefficients, updated in place.
    a : float64 array (p,)
        ``||x_j||^2 / n``.
    lam1 : float64 array (p,)
        l1 (or l1/l2) level of each row.
    lam2 : float
        Ridge level.
    ws : intp array
        Rows to update, in this order.
    l21 : bool
        Row (group) penalty if true, entry-wise l1 otherwise.
    max_epochs : int
    eps : float
        Stop after a pass whose estimated decrease is <= eps.

    Returns
    -------
    int
        Passes done.
    """
    cdef int n = X.shape[0], K = R.shape[1]
    cdef Py_ssize_t n_ws = ws.shape[0], jj, j, k
    cdef int ep = 0
    cdef double inv_n = 1.0 / n, dec, cj, d
    cdef bint moved
    # level-2 BLAS per row when R is small enough for OpenBLAS to run gemv/ger on one thread
    # (its threads cost more than they give on such blocks); level 1 otherwise
    cdef bint level2 = n * K <= 8192
    cdef double[::1] g = np.empty(K), c = np.empty(K), wn = np.empty(K)
    cdef double[::1] g2 = np.empty(K), inv = np.empty(K)  # row-update buffers
    cdef floating[::1] gf, delta  # BLAS operands, in the precision of X and R
    if floating is float:
        gf, delta = np.empty(K, dtype=np.float32), np.empty(K, dtype=np.float32)
    else:
        gf, delta = np.empty(K), np.empty(K)
    with nogil:
        while ep < max_epochs:
            ep += 1
            dec = 0.0
            for jj in range(n_ws):
                j = ws[jj]
                if a[j] == 0.0:  # empty column: the row is 0 at the optimum, r unchanged
                    for k in range(K):
                        W[j, k] = 0.0
                    continue
                # level-1 BLAS per task (as scikit-learn): gemv/ger on an (n, K) block are
                # too small to gain from threads and lose a lot to OpenBLAS's thread start-up
                cj = a[j] + lam2
                if level2:  # g = R^T x_j / n: one gemv instead of K dots
                    _xgemv_t(n, K, <floating> inv_n, &R[0, 0], n, &X[0, j], 1, <floating> 0.0,
                             &gf[0], 1)
                    for k in range(K):
                        g[k] = gf[k] + a[j] * W[j, k]
                        c[k] = cj
                else:
                    for k in range(K):
                        g[k] = _xdot(n, &X[0, j], 1, &R[0, k], 1) * inv_n + a[j] * W[j, k]
                        c[k] = cj
                _row_update(&g[0], &c[0], &wn[0], &g2[0], &inv[0], K, lam1[j], l21, 0.0)
                moved = False
                for k in range(K):
                    d = wn[k] - W[j, k]
                    delta[k] = <floating> -d
                    if d != 0.0:
                        moved = True
                        dec += 0.5 * cj * d * d
                        W[j, k] = wn[k]
                        if not level2:
                            _xaxpy(n, <floating> -d, &X[0, j], 1, &R[0, k], 1)
                if level2 and moved:  # R -= x_j d^T: one ger
                    _xger(n, K, <floating> 1.0, &X[0, j], 1, &delta[0], 1, &R[0, 0], n)
            if dec <= eps:
                break
    return ep


def epochs_shared_sparse(const floating[::1] data, const Py_ssize_t[::1] indices,
                         const Py_ssize_t[::1] indptr, floating[:, ::1] R, double[:, ::1] W,
                         double[::1] b, const double[::1] a, const double[::1] lam1, double lam2,
                         const Py_ssize_t[::1] ws, bint l21, bint fit_b, int max_epochs,
                         double eps):
    """Epochs of BCD with one sparse CSC design shared by the K tasks.

    As :func:`epochs_shared_dense`, with ``X`` given by its CSC arrays (sorted indices),
    ``R`` (n, K) C-contiguous, and, when ``fit_b``, the unpenalised intercepts ``b`` (K,)
    updated exactly (``b_k += mean(r_k)``) after every pass.
    """
    cdef Py_ssize_t n = R.shape[0], K = R.shape[1]
    cdef Py_ssize_t n_ws = ws.shape[0], jj, j, k, i, ii
    cdef int ep = 0
    cdef double inv_n = 1.0 / n, dec, cj, d, x
    cdef bint moved
    cdef double[::1] g = np.empty(K), c = np.empty(K), wn = np.empty(K), delta = np.empty(K)
    cdef double[::1] g2 = np.empty(K), inv = np.empty(K)  # row-update buffers
    with nogil:
        while ep < max_epochs:
            ep += 1
            dec = 0.0
            for jj in range(n_ws):
                j = ws[jj]
                if a[j] == 0.0:
                    for k in range(K):
                        W[j, k] = 0.0
                    continue
                cj = a[j] + lam2
                for k in range(K):
                    g[k] = 0.0
                    c[k] = cj
                for ii in range(indptr[j], indptr[j + 1]):
                    i = indices[ii]
                    x = data[ii] * inv_n
                    for k in range(K):
                        g[k] += x * R[i, k]
                for k in range(K):
                    g[k] += a[j] * W[j, k]
                _row_update(&g[0], &c[0], &wn[0], &g2[0], &inv[0], K, lam1[j], l21, 0.0)
                moved = False
                for k in range(K):
                    d = wn[k] - W[j, k]
                    delta[k] = d
                    if d != 0.0:
                        moved = True
                        dec += 0.5 * cj * d * d
                        W[j, k] = wn[k]
                if moved:
                    for ii in range(indptr[j], indptr[j + 1]):
                        i = indices[ii]
                        x = data[ii]
                        for k in range(K):
                            R[i, k] -= x * delta[k]
            if fit_b:
                for k in range(K):
                    g[k] = 0.0
                for i in range(n):
                    for k in range(K):
                        g[k] += R[i, k]
                for k in range(K):
                    g[k] *= inv_n
                    b[k] += g[k]
                    dec += 0.5 * g[k] * g[k]
                for i in range(n):
                    for k in range(K):
                        R[i, k] -= g[k]
            if dec <= eps:
                break
    return ep


# ------------------------------------------------------------------- per-task designs
def epochs_stacked_dense(const floating[::1, :] X, const Py_ssize_t[::1] task_ptr, floating[::1] r,
                         double[:, ::1] W, const double[:, ::1] a, const double[::1] lam1,
                         double lam2, const Py_ssize_t[::1] ws, bint l21, int max_epochs,
                         double eps, const unsigned char[:, ::1] active=None):
    """Epochs of BCD with per-task dense designs stacked by task.

    Parameters
    ----------
    X : float32 or float64 array (N, p), F-contiguous
        Rows ``task_ptr[k]:task_ptr[k + 1]`` are the design of task k.
    task_ptr : intp array (K + 1,)
    r : array (N,) of X's dtype
        Stacked residuals, updated in place.
    W : float64 array (p, K), C-contiguous
    a : float64 array (p, K), C-contiguous
        ``||x_jk||^2 / n_k``.
    lam1, lam2, ws, l21, max_epochs, eps
        As in :func:`epochs_shared_dense`.
    active : uint8 array (p, K), C-contiguous, optional
        Entry-wise working set of the l1 penalty: only the entries ``(j, k)`` with
        ``active[j, k]`` are updated (the others must be 0 in ``W`` and stay 0); their inner
        products are not computed.  None: every entry of the rows ``ws``.  Not used by l21.

    Returns
    -------
    int
        Passes done.
    """
    cdef Py_ssize_t K = task_ptr.shape[0] - 1, n_ws = ws.shape[0], jj, j, k, s
    cdef int nk, ep = 0
    cdef bint masked = active is not None and not l21
    cdef double dec, d
    # work buffers in one allocation: g, c, wn, g2, inv (row update) and inv_n = 1 / n_k
    cdef double[:, ::1] buf = np.empty((6, K))
    cdef double[::1] g = buf[0], c = buf[1], wn = buf[2], g2 = buf[3], inv = buf[4]
    cdef double[::1] inv_n = buf[5]
    for k in range(K):
        inv_n[k] = 1.0 / max(task_ptr[k + 1] - task_ptr[k], 1)
    with nogil:
        while ep < max_epochs:
            ep += 1
            dec = 0.0
            for jj in range(n_ws):
                j = ws[jj]
                for k in range(K):
                    s = task_ptr[k]
                    nk = <int> (task_ptr[k + 1] - s)
                    c[k] = a[j, k] + lam2
                    if a[j, k] == 0.0 or (masked and not active[j, k]):
                        g[k] = 0.0
                    else:
                        g[k] = _dot_short(nk, &X[s, j], &r[s]) * inv_n[k] + a[j, k] * W[j, k]
                _row_update(&g[0], &c[0], &wn[0], &g2[0], &inv[0], K, lam1[j], l21,
                                  _row_norm(&W[j, 0], K))
                for k in range(K):
                    d = wn[k] - W[j, k]
                    if d != 0.0:
                        s = task_ptr[k]
                        dec += 0.5 * c[k] * d * d
                        W[j, k] = wn[k]
                        if a[j, k] != 0.0:
                            _axpy_short(task_ptr[k + 1] - s, -d, &X[s, j], &r[s])
            if dec <= eps:
                break
    return ep


def epochs_stacked_sparse(const floating[::1] data, const Py_ssize_t[::1] indices,
                          const Py_ssize_t[:, ::1] col_task_ptr, const Py_ssize_t[::1] task_ptr,
                          floating[::1] r, double[:, ::1] W, double[::1] b, const double[:, ::1] a,
                          const double[::1] lam1, double lam2, const Py_ssize_t[::1] ws, bint l21,
                          bint fit_b, int max_epochs, double eps):
    """Epochs of BCD with per-task sparse designs stacked by task (one CSC matrix).

    As :func:`epochs_stacked_dense`, with the CSC arrays of the stacked X and
    ``col_task_ptr`` (p, K + 1): the entries of column j in the rows of task k are
    ``data[col_task_ptr[j, k]:col_task_ptr[j, k + 1]]``.  When ``fit_b`` the unpenalised
    intercepts ``b`` (K,) are updated exactly after every pass.
    """
    cdef Py_ssize_t K = task_ptr.shape[0] - 1, n_ws = ws.shape[0], jj, j, k, i, ii
    cdef int ep = 0
    cdef double dec, d, acc
    # work buffers in one allocation: g, c, wn, g2, inv (row update) and inv_n = 1 / n_k
    cdef double[:, ::1] buf = np.empty((6, K))
    cdef double[::1] g = buf[0], c = buf[1], wn = buf[2], g2 = buf[3], inv = buf[4]
    cdef double[::1] inv_n = buf[5]
    for k in range(K):
        inv_n[k] = 1.0 / max(task_ptr[k + 1] - task_ptr[k], 1)
    with nogil:
        while ep < max_epochs:
            ep += 1
            dec = 0.0
            for jj in range(n_ws):
                j = ws[jj]
                for k in range(K):
                    c[k] = a[j, k] + lam2
                    acc = 0.0
                    for ii in range(col_task_ptr[j, k], col_task_ptr[j, k + 1]):
                        acc += data[ii] * r[indices[ii]]
                    g[k] = acc * inv_n[k] + a[j, k] * W[j, k]
                _row_update(&g[0], &c[0], &wn[0], &g2[0], &inv[0], K, lam1[j], l21,
                                  _row_norm(&W[j, 0], K))
                for k in range(K):
                    d = wn[k] - W[j, k]
                    if d != 0.0:
                        dec += 0.5 * c[k] * d * d
                        W[j, k] = wn[k]
                        for ii in range(col_task_ptr[j, k], col_task_ptr[j, k + 1]):
                            r[indices[ii]] -= d * data[ii]
            if fit_b:
                for k in range(K):
                    acc = 0.0
                    for i in range(task_ptr[k], task_ptr[k + 1]):
                        acc += r[i]
                    acc *= inv_n[k]
                    b[k] += acc
                    dec += 0.5 * acc * acc
                    for i in range(task_ptr[k], task_ptr[k + 1]):
                        r[i] -= acc
            if dec <= eps:
                break
    return ep


# ------------------------------------------------------------- gradients (gap, working set)
# Every gradient kernel writes ``G[jj, k] = x_jk^T r_k / n_k`` for the rows ``j = ws[jj]`` it is
# given (all rows for a full gradient, the working set for the inner gap checks); the full
# gradient of a shared dense design is one numpy gemm on the Python side.
def gradient_shared_dense(const floating[::1, :] X, const floating[::1, :] R,
                          const Py_ssize_t[::1] ws, double[:, ::1] G):
    """``G[jj] = x_j^T R / n`` for ``j = ws[jj]``, one dense design shared by the K tasks."""
    cdef int n = X.shape[0], K = R.shape[1]
    cdef Py_ssize_t n_ws = ws.shape[0], jj, j, k
    cdef double inv_n = 1.0 / n
    with nogil:
        for jj in range(n_ws):
            j = ws[jj]
            for k in range(K):
                G[jj, k] = _xdot(n, &X[0, j], 1, &R[0, k], 1) * inv_n


def gradient_shared_sparse(const floating[::1] data, const Py_ssize_t[::1] indices,
                           const Py_ssize_t[::1] indptr, const floating[:, ::1] R,
                           const Py_ssize_t[::1] ws, double[:, ::1] G):
    """As :func:`gradient_shared_dense` for a CSC design, ``R`` (n, K) C-contiguous."""
    cdef Py_ssize_t n = R.shape[0], K = R.shape[1], n_ws = ws.shape[0], jj, j, k, ii, i
    cdef double inv_n = 1.0 / n, x
    with nogil:
        for jj in range(n_ws):
            j = ws[jj]
            for k in range(K):
                G[jj, k] = 0.0
            for ii in range(indptr[j], indptr[j + 1]):
                i = indices[ii]
                x = data[ii] * inv_n
                for k in range(K):
                    G[jj, k] += x * R[i, k]


def gradient_stacked_dense(const floating[::1, :] X, const Py_ssize_t[::1] task_ptr,
                           const floating[::1] r, const Py_ssize_t[::1] ws, double[:, ::1] G,
                           const unsigned char[:, ::1] active=None):
    """``G[jj, k] = x_jk^T r_k / n_k`` (``j = ws[jj]``), per-task dense designs stacked by task.

    ``ws = None`` gives the full gradient, one level-2 BLAS call (``X_k^T r_k``) per task.
    ``active`` (uint8 (p, K), with ``ws`` only): entries with ``active[j, k] == 0`` are set to 0
    instead of computed (the entry-wise working set of :func:`epochs_stacked_dense`).
    """
    cdef bint masked = active is not None
    cdef Py_ssize_t K = task_ptr.shape[0] - 1, p = X.shape[1], j, jj, k, s
    cdef Py_ssize_t n_ws = p if ws is None else ws.shape[0]
    cdef int nk, N = X.shape[0]
    cdef floating[::1] gk  # X_k^T r_k in the precision of X
    if floating is float:
        gk = np.empty(p if ws is None else 0, dtype=np.float32)
    else:
        gk = np.empty(p if ws is None else 0)
    with nogil:
        if ws is None:
            for k in range(K):
                s = task_ptr[k]
                nk = <int> (task_ptr[k + 1] - s)
                if nk == 0 or p == 0:
                    for jj in range(n_ws):
                        G[jj, k] = 0.0
                else:
                    _xgemv_t(nk, <int> p, <floating> (1.0 / nk), &X[s, 0], N, &r[s], 1,
                             <floating> 0.0, &gk[0], 1)
                    for jj in range(n_ws):
                        G[jj, k] = gk[jj]
        else:  # column by column: X[:, j] of all tasks is contiguous
            for jj in range(n_ws):
                j = ws[jj]
                for k in range(K):
                    s = task_ptr[k]
                    nk = <int> (task_ptr[k + 1] - s)
                    if nk == 0 or (masked and not active[j, k]):
                        G[jj, k] = 0.0
                    else:
                        G[jj, k] = _dot_short(nk, &X[s, j], &r[s]) / nk


def gradient_stacked_sparse(const floating[::1] data, const Py_ssize_t[::1] indices,
                            const Py_ssize_t[:, ::1] col_task_ptr,
                            const Py_ssize_t[::1] task_ptr, const floating[::1] r,
                            const Py_ssize_t[::1] ws, double[:, ::1] G):
    """As :func:`gradient_stacked_dense` for one stacked CSC matrix (``ws = None``: all rows)."""
    cdef Py_ssize_t K = task_ptr.shape[0] - 1, p = col_task_ptr.shape[0], j, jj, k, ii, nk
    cdef Py_ssize_t n_ws = p if ws is None else ws.shape[0]
    cdef double acc
    with nogil:
        for jj in range(n_ws):
            j = jj if ws is None else ws[jj]
            for k in range(K):
                nk = task_ptr[k + 1] - task_ptr[k]
                acc = 0.0
                for ii in range(col_task_ptr[j, k], col_task_ptr[j, k + 1]):
                    acc += data[ii] * r[indices[ii]]
                G[jj, k] = acc / nk if nk > 0 else 0.0


# ------------------------------------------------------------ residual updates (extrapolation)
# ``R -= X_ws D`` for a move ``D`` (n_ws, K) of the rows ``ws``: used after an extrapolated step.
def residual_shared_dense(const floating[::1, :] X, const Py_ssize_t[::1] ws,
                          const double[:, ::1] D, floating[::1, :] R):
    """``R -= X[:, ws] D`` (n, K) for one dense design, touching only the nonzero entries of D."""
    cdef int n = X.shape[0]
    cdef Py_ssize_t n_ws = ws.shape[0], K = D.shape[1], jj, k
    with nogil:
        for jj in range(n_ws):
            for k in range(K):
                if D[jj, k] != 0.0:
                    _xaxpy(n, <floating> -D[jj, k], &X[0, ws[jj]], 1, &R[0, k], 1)


def residual_shared_sparse(const floating[::1] data, const Py_ssize_t[::1] indices,
                           const Py_ssize_t[::1] indptr, const Py_ssize_t[::1] ws,
                           const double[:, ::1] D, floating[:, ::1] R):
    """``R -= X[:, ws] D`` for a CSC design, ``R`` (n, K) C-contiguous."""
    cdef Py_ssize_t n_ws = ws.shape[0], K = D.shape[1], jj, j, k, ii, i
    cdef double x
    with nogil:
        for jj in range(n_ws):
            j = ws[jj]
            for ii in range(indptr[j], indptr[j + 1]):
                i = indices[ii]
                x = data[ii]
                for k in range(K):
                    R[i, k] -= x * D[jj, k]


def residual_stacked_dense(const floating[::1, :] X, const Py_ssize_t[::1] task_ptr,
                           const Py_ssize_t[::1] ws, const double[:, ::1] D, floating[::1] r):
    """``r_k -= X_k[:, ws] D[:, k]`` for per-task dense designs stacked by task."""
    cdef Py_ssize_t K = task_ptr.shape[0] - 1, n_ws = ws.shape[0], jj, k, s
    with nogil:
        for jj in range(n_ws):
            for k in range(K):
                if D[jj, k] != 0.0:
                    s = task_ptr[k]
                    _axpy_short(task_ptr[k + 1] - s, -D[jj, k], &X[s, ws[jj]], &r[s])


def residual_stacked_sparse(const floating[::1] data, const Py_ssize_t[::1] indices,
                            const Py_ssize_t[:, ::1] col_task_ptr, const Py_ssize_t[::1] ws,
                            const double[:, ::1] D, floating[::1] r):
    """``r_k -= X_k[:, ws] D[:, k]`` for one stacked CSC matrix."""
    cdef Py_ssize_t K = col_task_ptr.shape[1] - 1, n_ws = ws.shape[0], jj, j, k, ii
    with nogil:
        for jj in range(n_ws):
            j = ws[jj]
            for k in range(K):
                if D[jj, k] != 0.0:
                    for ii in range(col_task_ptr[j, k], col_task_ptr[j, k + 1]):
                        r[indices[ii]] -= D[jj, k] * data[ii]


# ----------------------------------------------------------------------------- for the tests
def row_update_tasks(const double[::1] g, const double[::1] c, double lam1, bint l21, double nu0):
    """The row update of the per-task kernels, callable from Python (tests).

    Parameters
    ----------
    g, c : float64 arrays (K,)
        Linear terms and curvatures (``c_k > 0``) of ``sum_k (c_k/2) w_k^2 - g_k w_k``.
    lam1 : float
        Level of the l1 (``l21=False``) or row l2 (``l21=True``) norm.
    l21 : bool
    nu0 : float
        Warm start of the row norm (the kernels pass the row's current norm).

    Returns
    -------
    ndarray (K,)
        The exact minimiser of ``sum_k (c_k/2) w_k^2 - g_k w_k + lam1 ||w||_*``.
    """
    cdef Py_ssize_t K = g.shape[0]
    cdef double[:, ::1] buf = np.empty((3, max(K, 1)))
    out = np.zeros(K)
    cdef double[::1] w = out
    if K:
        _row_update(&g[0], &c[0], &w[0], &buf[0, 0], &buf[1, 0], K, lam1, l21, nu0)
    return out


def simd_level():
    """The instruction set of the per-task float64 dot/axpy loops (``mtreg/_cy/_simd.h``):
    ``"avx2+fma"`` or ``"generic"`` (baseline; also forced by ``MTREG_SIMD=generic``)."""
    return "avx2+fma" if mt_simd_level() == 1 else "generic"


def short_dot_axpy(const double[::1] x, double[::1] y, double a, int level):
    """``(x^T y, y + a x)`` by the short-vector loops at ``level`` (1: AVX2+FMA if available,
    0: baseline), for the tests; the level in use before the call is restored afterwards."""
    cdef int before = mt_simd_level()
    cdef int used = mt_simd_set(level)
    cdef double d = _dot_short(x.shape[0], &x[0], &y[0])
    _axpy_short(x.shape[0], a, &x[0], &y[0])
    mt_simd_set(before)
    return d, used
