# Independent (elastic-net) lassos, one per task, on a dense stacked per-task design.
#
# With the entry-wise l1 penalty and a per-task design the DESIGN.md objective separates:
#
#     F(W) = sum_k F_k(w_k),  F_k(w) = 1/(2 n_k) ||y_k - X_k w||^2 + sum_j lam1[j] |w_j| + lam2/2 ||w||^2
#
# ``lasso_tasks`` solves each F_k completely inside this kernel, without the GIL: a celer/skglm
# style working-set coordinate descent with its own duality gap and its own stopping rule
# ``gap_k <= eps[k]`` (mtreg/solvers/bcd.py chooses eps so that sum_k eps[k] is the global target).
#
# Per task: an outer loop computes the full gradient g = X_k^T r_k / n_k, the duality gap (dual
# point theta = s r_k / n_k, s the largest rescaling making it feasible; the elastic net written
# as a lasso on augmented data, as scikit-learn's coordinate descent does) and a working set (the
# nonzero coefficients plus the features violating the optimality conditions most, at most as
# many as max(_WS_MIN, 2 x support)); coordinate descent epochs then run on the working set until
# its own gap is below a fraction of the full one (or below half the target when every violator is
# in it), checked every _CHECK epochs, with an Anderson extrapolation of the last iterates kept
# when it lowers F_k.  The residuals ``R`` (stacked, in the precision of ``X``) and ``W`` are
# updated in place; ``X`` is Fortran-ordered, so the column j of task k is contiguous.
from cython cimport floating

from libc.math cimport fabs, sqrt
from libc.stdlib cimport qsort
from cython.parallel cimport prange, threadid

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int mt_omp_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int mt_omp_max_threads(void) { return 1; }
    #endif
    """
    int mt_omp_max_threads() nogil

from ._accel cimport _aa_coefficients
from ._blas cimport _axpy_short as _axpy, _dot_short as _dot, _xgemv_t, mt_simd_level


cdef enum:
    _WS_MIN = 10  # smallest working set
    _CHECK = 5  # epochs between working-set gap checks and Anderson extrapolations
    _AA = 5  # iterates combined by Anderson extrapolation (_AA - 1 differences)

cdef double _INNER_FRAC = 0.3  # a working set is solved until its gap <= this x the full gap
cdef double _INNER_SAFETY = 0.5  # ... or, when it holds every violator, this x the target


cdef struct _Key:
    double score
    Py_ssize_t idx


cdef int _by_score_desc(const void* a, const void* b) noexcept nogil:
    cdef double sa = (<const _Key*> a).score, sb = (<const _Key*> b).score
    if sa > sb:
        return -1
    if sa < sb:
        return 1
    return 0


cdef int _by_index(const void* a, const void* b) noexcept nogil:
    cdef Py_ssize_t ia = (<const Py_ssize_t*> a)[0], ib = (<const Py_ssize_t*> b)[0]
    return (ia > ib) - (ia < ib)


cdef inline double _dot_y(Py_ssize_t n, const double* y, const floating* r) noexcept nogil:
    cdef Py_ssize_t i
    cdef double s = 0.0
    for i in range(n):
        s += y[i] * r[i]
    return s


cdef void _full_gradient(Py_ssize_t n, Py_ssize_t p, double nk, const floating* X, Py_ssize_t ldx,
                         const floating* r, double* g, floating* gf) noexcept nogil:
    """g = X_k^T r / n_k over all p features: one BLAS gemv (``gf``: float32 scratch)."""
    cdef Py_ssize_t j
    if floating is double:
        _xgemv_t(<int> n, <int> p, 1.0 / nk, X, <int> ldx, r, 1, 0.0, g, 1)
    else:
        _xgemv_t(<int> n, <int> p, <float> 1.0, X, <int> ldx, r, 1, <float> 0.0, gf, 1)
        for j in range(p):
            g[j] = gf[j] / nk


cdef double _gap(Py_ssize_t n, double nk, const floating* r, const double* y,
                 const double* w, Py_ssize_t K, const double* g, const double* lam1,
                 double lam2, const Py_ssize_t* S, Py_ssize_t m, double* primal) noexcept nogil:
    """Gap of F_k restricted to the features S[:m] (which hold every nonzero of w), given
    g[j] = x_j^T r / n_k on them; the primal value goes to ``primal``."""
    cdef Py_ssize_t t, j
    cdef double rr = _dot(n, r, r) / nk, yr = _dot_y(n, y, r) / nk
    cdef double l1 = 0.0, ww = 0.0, mx = 1.0, h, wj, s, quad
    for t in range(m):
        j = S[t]
        wj = w[j * K]
        l1 += lam1[j] * fabs(wj)
        ww += wj * wj
        h = fabs(g[j] - lam2 * wj) / lam1[j]
        if h > mx:
            mx = h
    s = 1.0 / mx
    quad = 0.5 * rr + 0.5 * lam2 * ww
    primal[0] = quad + l1
    return max(primal[0] - (s * yr - s * s * quad), 0.0)


cdef double _objective(Py_ssize_t n, double nk, const floating* r, const double* w, Py_ssize_t K,
                       const double* lam1, double lam2, const Py_ssize_t* S,
                       Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t t, j
    cdef double val = 0.5 * _dot(n, r, r) / nk, wj
    for t in range(m):
        j = S[t]
        wj = w[j * K]
        val += lam1[j] * fabs(wj) + 0.5 * lam2 * wj * wj
    return val


cdef void _anderson(Py_ssize_t n, double nk, const floating* X, Py_ssize_t ldx, floating* r,
                    floating* r_acc, double* w, Py_ssize_t K, const double* lam1, double lam2,
                    const Py_ssize_t* S, Py_ssize_t m, const double* hist,
                    double* w_acc) noexcept nogil:
    """Anderson extrapolation of the _AA iterates ``hist`` (rows of length m) on S[:m]; the
    extrapolated point replaces (w, r) if it lowers F_k."""
    cdef Py_ssize_t L = _AA - 1, i, t, j
    cdef double cw[_AA - 1]
    cdef double c, f
    if not _aa_coefficients(hist, L, m, cw):
        return
    for t in range(m):
        c = 0.0
        for i in range(L):
            c += cw[i] * hist[(i + 1) * m + t]
        w_acc[t] = c
    # residual of the extrapolated point: r_acc = r - X_S (w_acc - w_S)
    for i in range(n):
        r_acc[i] = r[i]
    for t in range(m):
        j = S[t]
        c = w_acc[t] - w[j * K]
        if c != 0.0:
            _axpy(n, -c, X + j * ldx, r_acc)
    f = _objective(n, nk, r, w, K, lam1, lam2, S, m)
    c = 0.5 * _dot(n, r_acc, r_acc) / nk
    for t in range(m):
        c += lam1[S[t]] * fabs(w_acc[t]) + 0.5 * lam2 * w_acc[t] * w_acc[t]
    if c < f:
        for i in range(n):
            r[i] = r_acc[i]
        for t in range(m):
            w[S[t] * K] = w_acc[t]


cdef Py_ssize_t _solve_task(Py_ssize_t n, const floating* X, Py_ssize_t ldx, floating* r,
                            const double* y, double* w, Py_ssize_t K, const double* a,
                            Py_ssize_t p, const double* lam1, double lam2, double eps,
                            Py_ssize_t max_epochs, double* g, _Key* keys, Py_ssize_t* ws,
                            Py_ssize_t* allj, double* hist, double* w_acc, floating* r_acc,
                            floating* gf, double* out) noexcept nogil:
    """One task's lasso; ``w`` = &W[0, k] (stride K), ``a`` = &A[0, k] (stride K), ``X`` =
    &X[row0, 0] (leading dimension ldx).  out = (gap, primal, outer iterations); returns epochs."""
    cdef double nk = <double> n if n > 0 else 1.0
    cdef double gap, gap_in, primal, eps_in, score, old, new, z, aj
    cdef Py_ssize_t j, t, m, nc, nnz, size, epochs = 0, outer = 0, ep, h
    cdef const floating* xj
    for j in range(p):
        allj[j] = j
    while True:
        _full_gradient(n, p, nk, X, ldx, r, g, gf)
        gap = _gap(n, nk, r, y, w, K, g, lam1, lam2, allj, p, &primal)
        if gap <= eps or epochs >= max_epochs:
            break
        outer += 1
        # working set: the support first (score +inf), then the violators by decreasing score
        nc = 0
        nnz = 0
        for j in range(p):
            if w[j * K] != 0.0:
                keys[nc].score = 1e300
                keys[nc].idx = j
                nc += 1
                nnz += 1
            else:
                score = fabs(g[j]) / lam1[j]
                if score > 1.0:
                    keys[nc].score = score
                    keys[nc].idx = j
                    nc += 1
        size = max(<Py_ssize_t> _WS_MIN, 2 * nnz)
        if nc > size:
            qsort(keys, nc, sizeof(_Key), _by_score_desc)
            m = size
            eps_in = max(_INNER_FRAC * gap, _INNER_SAFETY * eps)
        else:
            m = nc
            eps_in = _INNER_SAFETY * eps
        for t in range(m):
            ws[t] = keys[t].idx
        qsort(ws, m, sizeof(Py_ssize_t), _by_index)
        h = 0
        for ep in range(max_epochs - epochs):
            for t in range(m):
                j = ws[t]
                aj = a[j * K]
                if aj == 0.0:
                    continue
                xj = X + j * ldx
                old = w[j * K]
                z = aj * old + _dot(n, xj, r) / nk
                if z > lam1[j]:
                    new = (z - lam1[j]) / (aj + lam2)
                elif z < -lam1[j]:
                    new = (z + lam1[j]) / (aj + lam2)
                else:
                    new = 0.0
                if new != old:
                    _axpy(n, old - new, xj, r)
                    w[j * K] = new
            epochs += 1
            for t in range(m):
                hist[h * m + t] = w[ws[t] * K]
            h += 1
            if h == _AA:
                _anderson(n, nk, X, ldx, r, r_acc, w, K, lam1, lam2, ws, m, hist, w_acc)
                h = 0
            if (ep + 1) % _CHECK == 0 or epochs >= max_epochs:
                for t in range(m):
                    j = ws[t]
                    g[j] = _dot(n, X + j * ldx, r) / nk
                gap_in = _gap(n, nk, r, y, w, K, g, lam1, lam2, ws, m, &primal)
                if gap_in <= eps_in:
                    break
    out[0] = gap
    out[1] = primal
    out[2] = outer
    return epochs


def lasso_tasks(const floating[::1, :] X, const Py_ssize_t[::1] task_ptr, floating[::1] R,
                const double[::1] y, double[:, ::1] W, const double[:, ::1] A,
                const double[::1] lam1, double lam2, const double[::1] eps, Py_ssize_t max_epochs,
                double[:, ::1] out, Py_ssize_t[::1] epochs, int n_threads=1):
    """Solve the K lassos in place (``W`` (p, K), stacked residuals ``R = y - X W``).

    ``A[j, k] = ||x_jk||^2 / n_k``; ``lam1`` (p,) > 0; ``eps`` (K,) the per-task gap targets;
    at most ``max_epochs`` epochs per task.  Fills ``out[k] = (gap_k, F_k, outer iterations)``
    and ``epochs[k]``.  ``n_threads > 1``: the tasks are shared among that many OpenMP threads
    (``prange``, dynamic schedule; each thread has its own work buffers).  Every task runs the
    same arithmetic whichever thread solves it, so the result does not depend on
    ``n_threads`` (bit for bit); without OpenMP support in the build the loop runs serially.
    """
    cdef Py_ssize_t K = W.shape[1], p = W.shape[0], k, a0, n, ldx = X.shape[0], j
    cdef Py_ssize_t nmax = 0, pp = max(p, 1), tid
    for k in range(K):
        nmax = max(nmax, task_ptr[k + 1] - task_ptr[k])
    import numpy as np
    cdef int T = max(1, min(n_threads, K))
    dtype = np.asarray(R).dtype
    cdef double[:, ::1] g = np.zeros((T, pp))
    keys_arr = np.zeros((T, pp), dtype=np.dtype([("score", np.float64), ("idx", np.intp)],
                                                align=True))
    cdef _Key* keys = <_Key*> <size_t> keys_arr.ctypes.data
    cdef Py_ssize_t[:, ::1] ws = np.zeros((T, pp), dtype=np.intp)
    cdef Py_ssize_t[:, ::1] allj = np.zeros((T, pp), dtype=np.intp)
    cdef double[:, ::1] hist = np.zeros((T, _AA * pp))
    cdef double[:, ::1] w_acc = np.zeros((T, pp))
    cdef floating[:, ::1] r_acc = np.zeros((T, max(nmax, 1)), dtype=dtype)
    cdef floating[:, ::1] gf = np.zeros((T, pp), dtype=dtype)
    mt_simd_level()  # resolve the short-vector loops here, not in the threads
    for k in prange(K, nogil=True, num_threads=T, schedule="dynamic"):
        tid = threadid()
        a0 = task_ptr[k]
        n = task_ptr[k + 1] - a0
        if n == 0:  # no data: the penalty alone, minimised at 0
            for j in range(p):
                W[j, k] = 0.0
            out[k, 0] = 0.0
            out[k, 1] = 0.0
            out[k, 2] = 0.0
            epochs[k] = 0
        else:
            epochs[k] = _solve_task(n, &X[a0, 0], ldx, &R[a0], &y[a0], &W[0, k], K, &A[0, k], p,
                                    &lam1[0], lam2, eps[k], max_epochs, &g[tid, 0],
                                    keys + tid * pp, &ws[tid, 0], &allj[tid, 0], &hist[tid, 0],
                                    &w_acc[tid, 0], &r_acc[tid, 0], &gf[tid, 0], &out[k, 0])


def openmp_threads():
    """Threads an OpenMP region would use now (1 when the build has no OpenMP)."""
    return mt_omp_max_threads()
