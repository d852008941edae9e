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
# Sparse designs: ``indices``/``indptr`` are int32 or int64 (fused ``index_t``, one type per call).
# Precision: the design (``X`` or the CSC ``data``) and the residuals (``R``/``r``) are of the
# fused type ``floating`` (float32 or float64, the same for both: ``dtype`` of the problem);
# coefficients, intercepts, curvatures ``a``, levels and gradients ``G`` are always float64.
# Short per-task and sparse inner products are accumulated in float64; the long columns of a
# shared dense design and the full gradients go through BLAS (sdot/sgemv in float32, as
# scikit-learn's cd_fast does).
from cython cimport floating

# Row indices and column pointers of a CSC design, as scipy stores them (int32 below 2**31
# nonzeros, int64 above): taken as they are, so that a sparse design is never copied to intp.
ctypedef fused index_t:
    int
    long long

import numpy as np

from ._accel cimport _AA_MAX, _aa_coefficients
from ._blas cimport (_axpy_short, _dot_short, _xaxpy, _xdot, _xgemv_t, _xger, mt_seg_axpy,
                     mt_seg_dot, mt_simd_level, mt_simd_set)
from libc.math cimport INFINITY, NAN, fabs, sqrt

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


def epochs_shared_sparse(const floating[::1] data, const index_t[::1] indices,
                         const index_t[::1] indptr, floating[:, ::1] R, double[:, ::1] W,
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
    cdef Py_ssize_t K = task_ptr.shape[0] - 1, k
    cdef int ep = 0
    cdef bint masked = active is not None and not l21
    # work buffers in one allocation: g, c, wn, g2, inv (row update) and inv_n = 1 / n_k
    cdef double[:, ::1] buf = np.empty((6, K))
    for k in range(K):
        buf[5, k] = 1.0 / max(task_ptr[k + 1] - task_ptr[k], 1)
    with nogil:
        while ep < max_epochs:
            ep += 1
            if _epoch_stacked_dense(X, task_ptr, r, W, a, lam1, lam2, ws, l21, masked, active,
                                    buf) <= eps:
                break
    return ep


cdef double _epoch_stacked_dense(const floating[::1, :] X, const Py_ssize_t[::1] task_ptr,
                                 floating[::1] r, double[:, ::1] W, const double[:, ::1] a,
                                 const double[::1] lam1, double lam2, const Py_ssize_t[::1] ws,
                                 bint l21, bint masked, const unsigned char[:, ::1] active,
                                 double[:, ::1] buf) noexcept nogil:
    """One pass of :func:`epochs_stacked_dense` over ``ws``; returns its estimated decrease.
    ``buf`` (6, K): row-update buffers and, in its last row, ``1 / n_k``."""
    cdef Py_ssize_t K = task_ptr.shape[0] - 1, n_ws = ws.shape[0], jj, j, k, s
    cdef int nk
    cdef double dec = 0.0, d
    cdef double* g = &buf[0, 0]
    cdef double* c = &buf[1, 0]
    cdef double* wn = &buf[2, 0]
    cdef double* mv = &buf[3, 0]  # minus the moves, once the row update is done with it
    cdef double* inv_n = &buf[5, 0]
    # float64, every entry: one segmented call per column for all tasks (a zero column of a
    # task gives g = 0 and a no-op update by itself)
    cdef bint seg = floating is double and not masked and K > 0
    for jj in range(n_ws):
        j = ws[jj]
        if seg:
            mt_seg_dot(<const double*> &X[0, j], <const double*> &r[0], &task_ptr[0], K, g)
            for k in range(K):
                c[k] = a[j, k] + lam2
                g[k] = g[k] * inv_n[k] + a[j, k] * W[j, k]
        else:
            for k in range(K):
                s = task_ptr[k]
                nk = <int> (task_ptr[k + 1] - s)
                c[k] = a[j, k] + lam2
                if a[j, k] == 0.0 or (masked and not active[j, k]):
                    g[k] = 0.0
                else:
                    g[k] = _dot_short(nk, &X[s, j], &r[s]) * inv_n[k] + a[j, k] * W[j, k]
        _row_update(g, c, wn, mv, &buf[4, 0], K, lam1[j], l21, _row_norm(&W[j, 0], K))
        for k in range(K):
            d = wn[k] - W[j, k]
            mv[k] = -d
            if d != 0.0:
                dec += 0.5 * c[k] * d * d
                W[j, k] = wn[k]
                if not seg and a[j, k] != 0.0:
                    s = task_ptr[k]
                    _axpy_short(task_ptr[k + 1] - s, -d, &X[s, j], &r[s])
        if seg:
            mt_seg_axpy(<const double*> &X[0, j], <double*> &r[0], &task_ptr[0], K, mv)
    return dec


cdef double _objective_stacked(const floating[::1] r, const Py_ssize_t[::1] task_ptr,
                               const double* inv_n, const double* w, const double[::1] lam1,
                               double lam2, const Py_ssize_t[::1] ws, bint l21) noexcept nogil:
    """Objective of the problem restricted to the rows ``ws``, whose coefficients are
    ``w[jj * K + k]`` (the rows of W[ws] in order), for the residuals ``r``."""
    cdef Py_ssize_t K = task_ptr.shape[0] - 1, jj, k, s
    cdef double val = 0.0, nrm, ww = 0.0, v
    for k in range(K):
        s = task_ptr[k]
        if task_ptr[k + 1] > s:
            val += 0.5 * _dot_short(task_ptr[k + 1] - s, &r[s], &r[s]) * inv_n[k]
    for jj in range(ws.shape[0]):
        nrm = 0.0
        for k in range(K):
            v = w[jj * K + k]
            ww += v * v
            nrm += v * v if l21 else fabs(v)
        val += lam1[ws[jj]] * (sqrt(nrm) if l21 else nrm)
    return val + 0.5 * lam2 * ww


cdef double _gap_stacked(const floating[::1, :] X, const Py_ssize_t[::1] task_ptr,
                         const floating[::1] r, const double[::1] y, const double[:, ::1] W,
                         const double[::1] lam1, double lam2, const Py_ssize_t[::1] ws, bint l21,
                         const double* inv_n, double* scale, double* primal, double* G,
                         double* score) noexcept nogil:
    """Duality gap of the problem restricted to the rows ``ws`` (which hold every nonzero row
    of W; all penalised, no intercepts), as ``check(ws)`` of mtreg/solvers/bcd.py: dual point
    ``theta_k = s_k r_k / n_k`` with ``s`` the largest scaling (one for all tasks with l21, one
    per task with l1) making it feasible on ``ws``.  ``scale`` (K,) is scratch.  Unless NULL,
    ``G[jj * K + k]`` receives ``x_jk^T r_k / n_k`` and ``score[jj]`` the row's violation of the
    optimality conditions, ``||G_j - lam2 W_j||_* / lam1_j`` (dual norm: l2 or max)."""
    cdef Py_ssize_t K = task_ptr.shape[0] - 1, jj, j, k, s, nk, i
    cdef double h, nrm, mx = 1.0, rr, yr, ww, quad, pr = 0.0, du = 0.0, yv
    for k in range(K):
        scale[k] = 1.0
    for jj in range(ws.shape[0]):
        j = ws[jj]
        nrm = 0.0
        for k in range(K):
            s = task_ptr[k]
            nk = task_ptr[k + 1] - s
            h = _dot_short(nk, &X[s, j], &r[s]) * inv_n[k] if nk > 0 else 0.0
            if G != NULL:
                G[jj * K + k] = h
            h -= lam2 * W[j, k]
            if l21:
                nrm += h * h
            else:
                nrm = max(nrm, fabs(h))
                if fabs(h) / lam1[j] > scale[k]:
                    scale[k] = fabs(h) / lam1[j]  # the largest violation of task k, >= 1
                pr += lam1[j] * fabs(W[j, k])
        if score != NULL:
            score[jj] = (sqrt(nrm) if l21 else nrm) / lam1[j]
        if l21:
            h = sqrt(nrm) / lam1[j]
            if h > mx:
                mx = h
            nrm = 0.0
            for k in range(K):
                nrm += W[j, k] * W[j, k]
            pr += lam1[j] * sqrt(nrm)
    for k in range(K):
        s = task_ptr[k]
        nk = task_ptr[k + 1] - s
        rr = 0.0
        yr = 0.0
        for i in range(s, s + nk):
            yv = r[i]
            rr += yv * yv
            yr += y[i] * yv
        rr *= inv_n[k]
        yr *= inv_n[k]
        ww = 0.0
        for jj in range(ws.shape[0]):
            ww += W[ws[jj], k] * W[ws[jj], k]
        quad = 0.5 * rr + 0.5 * lam2 * ww
        pr += quad
        h = 1.0 / (mx if l21 else scale[k])
        du += h * yr - h * h * quad
    primal[0] = pr
    return max(pr - du, 0.0)


def gap_stacked_dense(const floating[::1, :] X, const Py_ssize_t[::1] task_ptr,
                      const floating[::1] r, const double[::1] y, const double[:, ::1] W,
                      const double[::1] lam1, double lam2, const Py_ssize_t[::1] ws, bint l21,
                      double[:, ::1] G, double[::1] score):
    """Duality gap and primal value of the problem restricted to the rows ``ws`` (all rows: the
    certificate of the whole problem) of a per-task dense design, every row penalised, no
    intercepts; as ``check()`` in mtreg/solvers/bcd.py, in one sweep over the columns.

    Parameters
    ----------
    X, task_ptr, r, y, W, lam1, lam2, ws, l21
        As in :func:`inner_stacked_dense`.
    G : float64 array (len(ws), K), C-contiguous
        Set to ``x_jk^T r_k / n_k`` for ``j = ws[jj]``.
    score : float64 array (len(ws),)
        Set to ``||G_j - lam2 W_j||_* / lam1_j`` (l2 norm for l21, max for l1).

    Returns
    -------
    (float, float)
        The gap and the primal value.
    """
    cdef Py_ssize_t K = task_ptr.shape[0] - 1, k
    cdef double[:, ::1] buf = np.empty((2, max(K, 1)))
    cdef double gap, primal = 0.0
    for k in range(K):
        buf[0, k] = 1.0 / max(task_ptr[k + 1] - task_ptr[k], 1)
    if G.shape[0] != ws.shape[0] or G.shape[1] != K or score.shape[0] != ws.shape[0]:
        raise ValueError("G must be (len(ws), K) and score (len(ws),)")
    with nogil:
        gap = _gap_stacked(X, task_ptr, r, y, W, lam1, lam2, ws, l21, &buf[0, 0], &buf[1, 0],
                           &primal, &G[0, 0] if G.shape[0] > 0 else NULL,
                           &score[0] if score.shape[0] > 0 else NULL)
    return gap, primal


def inner_stacked_dense(const floating[::1, :] X, const Py_ssize_t[::1] task_ptr,
                        floating[::1] r, const double[::1] y, double[:, ::1] W,
                        const double[:, ::1] a, const double[::1] lam1, double lam2,
                        const Py_ssize_t[::1] ws, bint l21, double eps_in, int max_epochs,
                        int check_every, bint early, double res_max, double[::1] out):
    """Solve the problem restricted to the rows ``ws`` of a per-task dense design.

    The loop of ``inner`` in mtreg/solvers/bcd.py, without the GIL: BCD epochs over ``ws``
    (as :func:`epochs_stacked_dense`), the iterate ``W[ws]`` and the residuals stored after every
    epoch; after ``check_every`` epochs an Anderson extrapolation of the stored iterates
    (:func:`mtreg._cy._accel._aa_coefficients`; the residuals are the same combination of the
    stored ones when the weights sum to at most ``res_max`` in absolute value, otherwise
    recomputed from the move) replaces ``(W[ws], r)`` if it lowers the restricted objective;
    then the duality gap of the restricted problem is computed (also after epochs 1 and 2 when
    ``early``, and after the last epoch).  Stops once that gap is ``<= eps_in`` or after
    ``max_epochs`` epochs.

    Every row of ``ws`` must be penalised (``lam1 > 0``) and the intercepts not solved inline
    (centred data); with l1 every entry of the rows is updated.

    Parameters
    ----------
    X, task_ptr, r, W, a, lam1, lam2, ws, l21
        As in :func:`epochs_stacked_dense`.
    y : float64 array (N,)
        Stacked responses (for the dual objective).
    eps_in : float
    max_epochs : int
    check_every : int
        Epochs between extrapolations (and gap checks), at most 8.
    early : bool
    res_max : float
    out : float64 array (2,)
        Set to (gap, primal value) of the last check (inf, nan if none was made).

    Returns
    -------
    int
        Epochs done.
    """
    cdef Py_ssize_t K = task_ptr.shape[0] - 1, N = r.shape[0], n_ws = ws.shape[0]
    cdef Py_ssize_t m = n_ws * K, jj, j, k, i, s, t, L = check_every
    cdef int done = 0, nh
    cdef double gap = INFINITY, primal = NAN, f_old, f_new, cabs, v
    cdef bint full
    if check_every < 1 or check_every > _AA_MAX:
        raise ValueError(f"check_every must be in 1..{_AA_MAX}, got {check_every}")
    cdef double[:, ::1] buf = np.empty((7, K))  # row update (5), 1 / n_k, gap scales
    for k in range(K):
        buf[5, k] = 1.0 / max(task_ptr[k + 1] - task_ptr[k], 1)
    cdef double[:, ::1] hist = np.empty((L + 1, max(m, 1)))
    dtype = np.float32 if floating is float else np.float64
    cdef floating[:, ::1] rhist = np.empty((L + 1, max(N, 1)), dtype=dtype)
    # the extrapolated W[ws] goes to hist[0] (the oldest iterate is no longer needed once
    # the coefficients are known; hist[0] is reset from W after every full check)
    cdef double[::1] wacc = hist[0]
    cdef floating[::1] racc = np.empty(max(N, 1), dtype=dtype)
    cdef double cw[_AA_MAX]
    cdef const double* inv_n = &buf[5, 0]
    cdef const unsigned char[:, ::1] no_active = None
    with nogil:
        for jj in range(n_ws):
            for k in range(K):
                hist[0, jj * K + k] = W[ws[jj], k]
        nh = 1
        while done < max_epochs:
            _epoch_stacked_dense(X, task_ptr, r, W, a, lam1, lam2, ws, l21, False, no_active,
                                 buf)
            done += 1
            for jj in range(n_ws):
                for k in range(K):
                    hist[nh, jj * K + k] = W[ws[jj], k]
            for i in range(N):
                rhist[nh, i] = r[i]
            nh += 1
            full = nh == L + 1
            if not (full or done >= max_epochs or (early and (done == 1 or done == 2))):
                continue
            if full and _aa_coefficients(&hist[0, 0], L, m, cw):
                cabs = 0.0
                for t in range(m):
                    v = 0.0
                    for i in range(L):
                        v += cw[i] * hist[i + 1, t]
                    wacc[t] = v
                for i in range(L):
                    cabs += fabs(cw[i])
                if cabs <= res_max:  # the residual is affine in W: same combination
                    for t in range(N):
                        v = 0.0
                        for i in range(L):
                            v += cw[i] * rhist[i + 1, t]
                        racc[t] = <floating> v
                else:  # large weights (cancellation): from the move
                    for t in range(N):
                        racc[t] = r[t]
                    for jj in range(n_ws):
                        j = ws[jj]
                        for k in range(K):
                            v = wacc[jj * K + k] - W[j, k]
                            s = task_ptr[k]
                            if v != 0.0 and a[j, k] != 0.0:
                                _axpy_short(task_ptr[k + 1] - s, -v, &X[s, j], &racc[s])
                f_new = _objective_stacked(racc, task_ptr, inv_n, &wacc[0], lam1, lam2, ws, l21)
                f_old = _objective_stacked(r, task_ptr, inv_n, &hist[L, 0], lam1, lam2, ws, l21)
                if f_new < f_old:
                    for t in range(N):
                        r[t] = racc[t]
                    for jj in range(n_ws):
                        for k in range(K):
                            W[ws[jj], k] = wacc[jj * K + k]
            gap = _gap_stacked(X, task_ptr, r, y, W, lam1, lam2, ws, l21, inv_n, &buf[6, 0],
                               &primal, NULL, NULL)
            if gap <= eps_in:
                break
            if full:
                for jj in range(n_ws):
                    for k in range(K):
                        hist[0, jj * K + k] = W[ws[jj], k]
                nh = 1
    out[0] = gap
    out[1] = primal
    return done


def epochs_stacked_sparse(const floating[::1] data, const index_t[::1] indices,
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


def gradient_shared_sparse(const floating[::1] data, const index_t[::1] indices,
                           const index_t[::1] indptr, const floating[:, ::1] R,
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


def gradient_stacked_sparse(const floating[::1] data, const index_t[::1] indices,
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


def residual_shared_sparse(const floating[::1] data, const index_t[::1] indices,
                           const index_t[::1] indptr, const Py_ssize_t[::1] ws,
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


def residual_stacked_sparse(const floating[::1] data, const index_t[::1] indices,
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
