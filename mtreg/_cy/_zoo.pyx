# Kernels of the MuTaR model zoo: the dirty model's (B, S) row updates, the coordinate descent
# of multi-task Wasserstein (MTW) and log-domain unbalanced Sinkhorn iterations.
#
# Layout shared by the regression kernels: ``X`` (rows, p) F-contiguous, task k uses the rows
# ``x_off[k] : x_off[k] + n_k`` of X (x_off = task_ptr[:-1] for stacked designs, zeros for a
# shared design) and the residual slice ``r[task_ptr[k] : task_ptr[k + 1]]``; ``a[j, k]`` is
# ``||x_jk||^2 / n_k``.  The objective scaling (1/(2 n_k), the penalty levels) is done on the
# Python side (mtreg/solvers/zoo.py); kernels never print, never allocate inside the epoch loop,
# run without the GIL and return the number of passes done.
from libc.math cimport exp, log, sqrt, INFINITY
from scipy.linalg cimport cython_blas

import numpy as np

from ._blas cimport _axpy, _dot
from ._prox cimport _soft


# ------------------------------------------------------------------------------ dirty model
def wlasso_epochs(const double[::1, :] X, const Py_ssize_t[::1] x_off,
                  const Py_ssize_t[::1] task_ptr, double[::1] r, double[:, ::1] W,
                  const double[:, ::1] a, const double[:, ::1] lam, const Py_ssize_t[::1] ent_j,
                  const Py_ssize_t[::1] ent_k, int max_epochs, double eps):
    """Coordinate descent epochs of the lasso with per-entry levels over the entries ``ent``.

    Minimises ``sum_k 1/(2 n_k) ||r_k||^2 + sum_jk lam[j, k] |W_jk|`` with
    ``r_k = y_k - X_k w_k`` over the entries ``(ent_j[e], ent_k[e])`` (the others fixed): exact
    soft-thresholding steps, the residual moved after each (the adaptive lasso's weighted fits).

    Returns
    -------
    int
        Passes done (stops after a pass whose decrease estimate ``sum a_jk/2 dW^2`` is
        <= ``eps``).
    """
    cdef Py_ssize_t n_ent = ent_j.shape[0], e, j, k, s
    cdef int nk, ep = 0
    cdef double dec, g, z, wn, d, ajk, thr
    cdef double[::1] inv_n = 1.0 / np.maximum(np.diff(task_ptr), 1).astype(np.float64)
    with nogil:
        while ep < max_epochs:
            ep += 1
            dec = 0.0
            for e in range(n_ent):
                j = ent_j[e]
                k = ent_k[e]
                ajk = a[j, k]
                if ajk == 0.0:
                    W[j, k] = 0.0
                    continue
                s = task_ptr[k]
                nk = <int> (task_ptr[k + 1] - s)
                g = _dot(nk, &X[x_off[k], j], 1, &r[s], 1) * inv_n[k]
                z = W[j, k] + g / ajk
                thr = lam[j, k] / ajk
                if z > thr:
                    wn = z - thr
                elif z < -thr:
                    wn = z + thr
                else:
                    wn = 0.0
                d = wn - W[j, k]
                if d != 0.0:
                    W[j, k] = wn
                    _axpy(nk, -d, &X[x_off[k], j], 1, &r[s], 1)
                    dec += 0.5 * ajk * d * d
            if dec <= eps:
                break
    return ep


# ------------------------------------------------------------------------------ MTW
cdef inline double _log_root(double a, double b, double km) noexcept nogil:
    """Non-negative root of ``a t^2 + b t - km = 0`` (``km >= 0``), cancellation-free."""
    cdef double disc
    if km <= 0.0:
        return -b / a if b < 0.0 else 0.0
    disc = sqrt(b * b + 4.0 * a * km)
    if b >= 0.0:
        return 2.0 * km / (b + disc)
    return (disc - b) / (2.0 * a)


def mtw_epochs(const double[::1, :] X, const Py_ssize_t[::1] x_off,
               const Py_ssize_t[::1] task_ptr, double[::1] r, double[:, ::1] Tp,
               double[:, ::1] Tm, const double[:, ::1] a, const double[::1] sigma,
               const double[:, ::1] lam_p, const double[:, ::1] lam_m, double kappa,
               const double[:, ::1] mp, const double[:, ::1] mm, int max_epochs, double eps):
    """Coordinate descent on the positive and negative parts of W = Tp - Tm (MTW's theta-step).

    For fixed transport plans with row marginals ``mp``, ``mm`` (p, K), minimises over
    ``Tp, Tm >= 0``::

        sum_k ||r_k||^2 / (2 n_k sigma_k) + sum_jk lam_p[j,k] Tp_jk + lam_m[j,k] Tm_jk
            + kappa * sum_jk (Tp_jk - mp_jk log Tp_jk) + (Tm_jk - mm_jk log Tm_jk)

    (``kappa = alpha_ot * gamma``: the part of ``gamma KL(P 1 | theta)`` that depends on theta).
    Each coordinate solves ``a t^2 + (kappa + lam - h) t - kappa m = 0`` exactly.

    Returns
    -------
    int
        Passes done.
    """
    cdef Py_ssize_t K = task_ptr.shape[0] - 1, p = Tp.shape[0], j, k, s
    cdef int nk, ep = 0
    cdef double dec, g, h, ak, tn, d, inv
    cdef double[::1] inv_n = 1.0 / np.maximum(np.diff(task_ptr), 1).astype(np.float64)
    with nogil:
        while ep < max_epochs:
            ep += 1
            dec = 0.0
            for j in range(p):
                for k in range(K):
                    if a[j, k] == 0.0:
                        Tp[j, k] = 0.0
                        Tm[j, k] = 0.0
                        continue
                    s = task_ptr[k]
                    nk = <int> (task_ptr[k + 1] - s)
                    inv = 1.0 / sigma[k]
                    ak = a[j, k] * inv
                    g = _dot(nk, &X[x_off[k], j], 1, &r[s], 1) * inv_n[k] * inv
                    # positive part: w = Tp - Tm, d/dTp datafit = -g
                    h = g + ak * Tp[j, k]
                    tn = _log_root(ak, kappa + lam_p[j, k] - h, kappa * mp[j, k])
                    d = tn - Tp[j, k]
                    if d != 0.0:
                        Tp[j, k] = tn
                        dec += 0.5 * ak * d * d
                        _axpy(nk, -d, &X[x_off[k], j], 1, &r[s], 1)
                        g -= ak * d
                    # negative part
                    h = -g + ak * Tm[j, k]
                    tn = _log_root(ak, kappa + lam_m[j, k] - h, kappa * mm[j, k])
                    d = tn - Tm[j, k]
                    if d != 0.0:
                        Tm[j, k] = tn
                        dec += 0.5 * ak * d * d
                        _axpy(nk, d, &X[x_off[k], j], 1, &r[s], 1)
            if dec <= eps:
                break
    return ep


# ------------------------------------------------------------------------------ Sinkhorn
cdef inline double _lse_row(const double* v, Py_ssize_t n, Py_ssize_t stride) noexcept nogil:
    cdef Py_ssize_t i
    cdef double m = -INFINITY, acc = 0.0
    for i in range(n):
        if v[i * stride] > m:
            m = v[i * stride]
    if m == -INFINITY:
        return -INFINITY
    for i in range(n):
        acc += exp(v[i * stride] - m)
    return m + log(acc)


cdef inline double _lse_plus(const double* M, const double* v, Py_ssize_t n,
                             Py_ssize_t m_stride, Py_ssize_t v_stride,
                             double inv_eps) noexcept nogil:
    """log sum_j exp(-M_j / eps + v_j)."""
    cdef Py_ssize_t j
    cdef double mx = -INFINITY, acc = 0.0, t
    for j in range(n):
        t = v[j * v_stride] - M[j * m_stride] * inv_eps
        if t > mx:
            mx = t
    if mx == -INFINITY:
        return -INFINITY
    for j in range(n):
        t = v[j * v_stride] - M[j * m_stride] * inv_eps
        acc += exp(t - mx)
    return mx + log(acc)


cdef double _barycenter_and_v(const double[:, ::1] lKu, double[::1] logq, double[:, ::1] lv,
                              double[::1] tmp, double fi, double lw, bint fixed_q) noexcept nogil:
    """The barycenter and second-potential half of a scaling iteration, in place.

    ``logq = 1/(1 - fi) LSE_k(lw + (1 - fi) lKu_k)`` (unless ``fixed_q``), then
    ``lv_k = fi (logq - lKu_k)``; returns the largest change of ``lv`` (``inf`` when an entry
    moves to or from ``-inf``).
    """
    cdef Py_ssize_t p = lKu.shape[0], K = lKu.shape[1], j, k
    cdef double err = 0.0, t
    if not fixed_q:
        for j in range(p):
            for k in range(K):
                tmp[k] = lw + (1.0 - fi) * lKu[j, k]
            logq[j] = _lse_row(&tmp[0], K, 1) / (1.0 - fi)
    for j in range(p):
        for k in range(K):
            if logq[j] == -INFINITY or lKu[j, k] == -INFINITY:
                t = -INFINITY
            else:
                t = fi * (logq[j] - lKu[j, k])
            if t != lv[j, k]:
                if t == -INFINITY or lv[j, k] == -INFINITY:
                    err = INFINITY
                elif abs(t - lv[j, k]) > err:
                    err = abs(t - lv[j, k])
            lv[j, k] = t
    return err


def log_sinkhorn_barycenter(const double[:, ::1] M, const double[:, ::1] logA,
                            double[:, ::1] lu, double[:, ::1] lv, double[::1] logq,
                            double eps, double gamma, int max_iter, double tol, bint fixed_q):
    """Log-domain scaling iterations of the unbalanced entropic OT barycenter (Chizat et al. 2018).

    For histograms ``A[:, k]`` (log given in ``logA``, ``-inf`` for zeros), with Gibbs kernel
    ``exp(-M / eps)`` and KL marginal penalties of weight ``gamma`` on both sides, the plans are
    ``P_k = diag(exp(lu_k)) exp(-M/eps) diag(exp(lv_k))`` and the iterations are::

        lu_k = fi (logA_k - LSE_j(-M/eps + lv_k))
        lKu_k = LSE_i(-M/eps + lu_k)
        logq = 1/(1 - fi) LSE_k(log(1/K) + (1 - fi) lKu_k)     (skipped when fixed_q)
        lv_k = fi (logq - lKu_k)

    with ``fi = gamma / (gamma + eps)``.  With ``fixed_q`` and K = 1 this is the plain unbalanced
    Sinkhorn between ``A`` and ``exp(logq)``.  ``lu``, ``lv`` (p, K) and ``logq`` (p,) are warm
    starts, updated in place.

    Returns
    -------
    int
        Iterations done; stops when the largest change of ``lv`` (in log) is <= ``tol``.
    """
    cdef Py_ssize_t p = M.shape[0], K = logA.shape[1], i, j, k
    cdef int it = 0
    cdef double fi = gamma / (gamma + eps), inv_eps = 1.0 / eps, err, t, lw = -log(<double> K)
    cdef double[:, ::1] lKu = np.empty((p, K))
    cdef double[::1] tmp = np.empty(K)
    with nogil:
        while it < max_iter:
            it += 1
            for k in range(K):
                for i in range(p):
                    if logA[i, k] == -INFINITY:
                        lu[i, k] = -INFINITY
                    else:
                        lu[i, k] = fi * (logA[i, k] - _lse_plus(&M[i, 0], &lv[0, k], p, 1, K,
                                                                inv_eps))
            for k in range(K):
                for j in range(p):
                    lKu[j, k] = _lse_plus(&M[0, j], &lu[0, k], p, p, K, inv_eps)
            err = _barycenter_and_v(lKu, logq, lv, tmp, fi, lw, fixed_q)
            if err <= tol:
                break
    return it


def log_marginals(const double[:, ::1] M, const double[:, ::1] lu, const double[:, ::1] lv,
                  double eps, double[:, ::1] row, double[:, ::1] col):
    """Row and column marginals of ``P_k = diag(e^lu_k) e^(-M/eps) diag(e^lv_k)``, in place."""
    cdef Py_ssize_t p = M.shape[0], K = lu.shape[1], i, j, k
    cdef double inv_eps = 1.0 / eps, t
    with nogil:
        for k in range(K):
            for i in range(p):
                if lu[i, k] == -INFINITY:
                    row[i, k] = 0.0
                else:
                    t = lu[i, k] + _lse_plus(&M[i, 0], &lv[0, k], p, 1, K, inv_eps)
                    row[i, k] = exp(t)
            for j in range(p):
                if lv[j, k] == -INFINITY:
                    col[j, k] = 0.0
                else:
                    t = lv[j, k] + _lse_plus(&M[0, j], &lu[0, k], p, p, K, inv_eps)
                    col[j, k] = exp(t)


# ------------------------------------------------------------------------------ Sinkhorn (BLAS)
# Kernel products in the log domain through BLAS: log(Kmat e^{lx}) column by column is
# s_k + log(Kmat exp(lx_k - s_k)) with s_k = max_j lx_jk; entries of Kmat = exp(-M / eps) and of
# exp(lx - s) below _TINY are zeroed (no denormal inputs), and an entry of the product below
# _SMALL (where the dropped terms could matter) is recomputed by an exact log-sum-exp over M.
# Every dropped term (a zeroed factor, or a product of two factors >= _TINY that underflows) is
# < _TINY while a kept product is >= _SMALL, so the relative error of a kept entry is below
# p * _TINY / _SMALL (< 1e-14 for p < 1e6).
cdef double _TINY = 1e-300
cdef double _SMALL = 1e-280


def gibbs_kernel(const double[:, ::1] M, double eps):
    """``exp(-M / eps)`` with entries below 1e-300 set to 0 (the BLAS Sinkhorn's kernel)."""
    Kmat = np.exp(-np.asarray(M) / eps)
    Kmat[Kmat < _TINY] = 0.0
    return np.ascontiguousarray(Kmat)


cdef void _log_kprod(const double[:, ::1] Kmat, const double[:, ::1] M, double inv_eps,
                     const double[:, ::1] lx, double[:, ::1] out, double[:, ::1] E,
                     double[::1] shift, bint trans) noexcept nogil:
    """``out[:, k] = log(Kmat @ exp(lx[:, k]))`` (``Kmat.T`` if trans), stabilised (see above)."""
    cdef Py_ssize_t p = Kmat.shape[0], K = lx.shape[1], i, j, k
    cdef int ip = <int> p, iK = <int> K
    cdef double one = 1.0, zero = 0.0, t, m
    cdef char tn = b'N', tt = b'T'
    for k in range(K):
        m = -INFINITY
        for j in range(p):
            if lx[j, k] > m:
                m = lx[j, k]
        shift[k] = m
    for j in range(p):
        for k in range(K):
            if shift[k] == -INFINITY:
                E[j, k] = 0.0
            else:
                t = exp(lx[j, k] - shift[k])
                E[j, k] = t if t >= _TINY else 0.0
    # C-ordered (p, K) arrays are column-major (K, p): out^T = E^T Kmat^T (or E^T Kmat)
    cython_blas.dgemm(&tn, &tt if trans else &tn, &iK, &ip, &ip, &one, &E[0, 0], &iK,
                      <double*> &Kmat[0, 0], &ip, &zero, &out[0, 0], &iK)
    for i in range(p):
        for k in range(K):
            if shift[k] == -INFINITY:
                out[i, k] = -INFINITY
            elif out[i, k] >= _SMALL:
                out[i, k] = shift[k] + log(out[i, k])
            elif trans:
                out[i, k] = _lse_plus(&M[0, i], &lx[0, k], p, p, K, inv_eps)
            else:
                out[i, k] = _lse_plus(&M[i, 0], &lx[0, k], p, 1, K, inv_eps)


def sinkhorn_barycenter_blas(const double[:, ::1] Kmat, const double[:, ::1] M,
                             const double[:, ::1] logA, double[:, ::1] lu, double[:, ::1] lv,
                             double[::1] logq, double[:, ::1] lKv, double[:, ::1] lKu,
                             double[:, ::1] E, double eps, double gamma, int max_iter,
                             double tol, bint fixed_q, bint lkv_valid=False):
    """The iterations of :func:`log_sinkhorn_barycenter` with kernel products through BLAS.

    Same potentials and updates (log domain, warm-started in place), but every
    ``LSE_j(-M_ij / eps + lx_j)`` is computed as a stabilised matrix product with
    ``Kmat = gibbs_kernel(M, eps)`` (one ``dgemm`` per half-iteration instead of p^2 K
    exponentials), falling back to the exact log-sum-exp for entries that would underflow.

    Parameters
    ----------
    Kmat, M : (p, p)
        Gibbs kernel and ground metric.
    logA : (p, K)
        Log of the histograms (``-inf`` for zeros).
    lu, lv : (p, K), logq : (p,)
        Potentials and log-barycenter, updated in place.
    lKv, lKu, E : (p, K)
        Work arrays. On return ``lKv = log(Kmat e^lv)`` and ``lKu = log(Kmat^T e^lu)`` for the
        final potentials, so the row and column marginals of the plans are ``exp(lu + lKv)`` and
        ``exp(lv + lKu)``.
    eps, gamma, max_iter, tol, fixed_q
        As in :func:`log_sinkhorn_barycenter`.
    lkv_valid : bool, default False
        ``lKv`` already holds ``log(Kmat e^lv)`` for the given ``lv`` (as left by the previous
        call): the first kernel product is skipped (a warm start saves one of the three products
        of a single iteration).

    Returns
    -------
    int
        Iterations done; stops when the largest change of ``lv`` is <= ``tol``.
    """
    cdef Py_ssize_t p = M.shape[0], K = logA.shape[1], i, j, k
    cdef int it = 0
    cdef double fi = gamma / (gamma + eps), inv_eps = 1.0 / eps, err, t, lw = -log(<double> K)
    cdef double[::1] tmp = np.empty(K), shift = np.empty(K)
    with nogil:
        while it < max_iter:
            it += 1
            if it > 1 or not lkv_valid:
                _log_kprod(Kmat, M, inv_eps, lv, lKv, E, shift, False)
            for i in range(p):
                for k in range(K):
                    if logA[i, k] == -INFINITY or lKv[i, k] == -INFINITY:
                        lu[i, k] = -INFINITY
                    else:
                        lu[i, k] = fi * (logA[i, k] - lKv[i, k])
            _log_kprod(Kmat, M, inv_eps, lu, lKu, E, shift, True)
            err = _barycenter_and_v(lKu, logq, lv, tmp, fi, lw, fixed_q)
            if err <= tol:
                break
        _log_kprod(Kmat, M, inv_eps, lv, lKv, E, shift, False)
    return it


# ------------------------------------------------------------------------------ dirty model, exact
cdef double _dirty_mu(const double* z, const double* c, Py_ssize_t K, double lam_b,
                      double lam_s, double mu) noexcept nogil:
    """Root ``mu > 0`` of ``sum_k min(c_k mu |z_k| / (c_k + mu), lam_s)^2 = lam_b^2``.

    The left side increases in ``mu``; safeguarded Newton (bisection inside the bracket, doubling
    while no upper end is known) from the guess ``mu``.  The caller guarantees a root exists
    (``sum_k min(c_k |z_k|, lam_s)^2 > lam_b^2``).
    """
    cdef double lo = 0.0, hi = INFINITY, f, df, u, t, q, mn, lb2 = lam_b * lam_b
    cdef Py_ssize_t k
    cdef int it
    for it in range(200):
        f = 0.0
        df = 0.0
        for k in range(K):
            u = c[k] * abs(z[k])
            if u == 0.0:
                continue
            q = c[k] + mu
            t = u * mu / q
            if t >= lam_s:
                f += lam_s * lam_s
            else:
                f += t * t
                df += 2.0 * t * u * c[k] / (q * q)
        if f > lb2:
            hi = mu
        else:
            lo = mu
        if abs(f - lb2) <= 1e-15 * lb2:
            break
        mn = mu - (f - lb2) / df if df > 0.0 else -1.0
        if not (mn > lo and mn < hi):
            mn = 0.5 * (lo + hi) if hi < INFINITY else 2.0 * mu
        if mn == mu or (hi < INFINITY and hi - lo <= 1e-15 * hi):
            break
        mu = mn
    return mu


cdef void _dirty_block(const double* z, const double* c, Py_ssize_t K, double lam_b, double lam_s,
                       double mu0, double* b, double* s) noexcept nogil:
    """Exact minimiser over (b, s) of ``sum_k c_k/2 (z_k - b_k - s_k)^2 + lam_b ||b|| +
    lam_s ||s||_1`` (entries with ``c_k = 0`` are set to 0).

    With s minimised out, b solves ``clip(c_k (z_k - b_k), +-lam_s) = mu b_k``,
    ``mu = lam_b / ||b||``: ``b_k = sign(z_k) min(c_k |z_k| / (c_k + mu), lam_s / mu)``, ``mu`` the
    root of :func:`_dirty_mu` (b = 0 when ``||min(c |z|, lam_s)|| <= lam_b``); then
    ``s_k = soft(z_k - b_k, lam_s / c_k)``.  ``mu0`` is the starting guess of the root.
    """
    cdef Py_ssize_t k
    cdef double nrm2 = 0.0, u, mu, v
    for k in range(K):
        if c[k] > 0.0:
            u = min(c[k] * abs(z[k]), lam_s)
            nrm2 += u * u
    if nrm2 <= lam_b * lam_b:
        for k in range(K):
            b[k] = 0.0
            s[k] = _soft(c[k] * z[k], lam_s) / c[k] if c[k] > 0.0 else 0.0
        return
    mu = _dirty_mu(z, c, K, lam_b, lam_s, mu0)
    for k in range(K):
        if c[k] > 0.0:
            v = min(c[k] * abs(z[k]) / (c[k] + mu), lam_s / mu)
            b[k] = v if z[k] >= 0.0 else -v
            s[k] = _soft(c[k] * (z[k] - b[k]), lam_s) / c[k]
        else:
            b[k] = 0.0
            s[k] = 0.0


def dirty_epochs_exact(const double[::1, :] X, const Py_ssize_t[::1] x_off,
                       const Py_ssize_t[::1] task_ptr, double[::1] r, double[:, ::1] B,
                       double[:, ::1] S, const double[:, ::1] a, double lam_b, double lam_s,
                       const Py_ssize_t[::1] ws, int max_epochs, double eps):
    """Block coordinate descent epochs of the dirty model with exact row-block steps.

    Minimises ``sum_k 1/(2 n_k) ||r_k||^2 + lam_b sum_j ||B_j.||_2 + lam_s sum_jk |S_jk|`` with
    ``r_k = y_k - X_k (b_k + s_k)`` over the rows ``ws``. Each row block ``(B_j, S_j)`` is
    minimised exactly (:func:`_dirty_block`: with S minimised out, one monotone scalar equation in
    ``mu = lam_b / ||B_j||``, safeguarded Newton), and ``r`` is moved once per row.

    Returns
    -------
    int
        Passes done (stops after a pass whose decrease estimate
        ``sum a_jk/2 (dB^2 + dS^2)`` is <= ``eps``).
    """
    cdef Py_ssize_t K = task_ptr.shape[0] - 1, n_ws = ws.shape[0], jj, j, k, s
    cdef int nk, ep = 0
    cdef double dec, d, db, ds, nb, mu0
    cdef double[::1] c = np.empty(K), bn = np.empty(K), z = np.empty(K), sv = np.empty(K)
    cdef double[::1] inv_n = 1.0 / np.maximum(np.diff(task_ptr), 1).astype(np.float64)
    with nogil:
        while ep < max_epochs:
            ep += 1
            dec = 0.0
            for jj in range(n_ws):
                j = ws[jj]
                nb = 0.0
                d = 0.0
                for k in range(K):
                    s = task_ptr[k]
                    nk = <int> (task_ptr[k + 1] - s)
                    c[k] = a[j, k]
                    if c[k] == 0.0:
                        z[k] = 0.0
                    else:
                        z[k] = (_dot(nk, &X[x_off[k], j], 1, &r[s], 1) * inv_n[k] / c[k]
                                + B[j, k] + S[j, k])
                    nb += B[j, k] * B[j, k]
                    d += z[k] * z[k]
                # root guess: lam_b / ||b|| of the current row (else of the target)
                mu0 = lam_b / sqrt(nb) if nb > 0.0 else (lam_b / sqrt(d) if d > 0.0 else 1.0)
                _dirty_block(&z[0], &c[0], K, lam_b, lam_s, mu0, &bn[0], &sv[0])
                for k in range(K):
                    if c[k] == 0.0:
                        B[j, k] = 0.0
                        S[j, k] = 0.0
                        continue
                    db = bn[k] - B[j, k]
                    ds = sv[k] - S[j, k]
                    d = db + ds
                    B[j, k] = bn[k]
                    S[j, k] = sv[k]
                    dec += 0.5 * c[k] * (db * db + ds * ds)
                    if d != 0.0:
                        s = task_ptr[k]
                        _axpy(<int> (task_ptr[k + 1] - s), -d, &X[x_off[k], j], 1, &r[s], 1)
            if dec <= eps:
                break
    return ep


def dirty_block(const double[::1] z, const double[::1] c, double lam_b, double lam_s,
                double mu0=1.0):
    """Python access to :func:`_dirty_block` (tests): ``(b, s)`` of shape (K,)."""
    cdef Py_ssize_t K = z.shape[0]
    cdef double[::1] b = np.empty(K), s = np.empty(K)
    _dirty_block(&z[0], &c[0], K, lam_b, lam_s, mu0, &b[0], &s[0])
    return np.asarray(b), np.asarray(s)
