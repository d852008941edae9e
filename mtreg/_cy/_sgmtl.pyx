# W-step of SG-MTL: block coordinate descent over feature rows for the convex problem (U fixed)
#
#     min_W  sum_t 1/(2 n_t) ||r_t||^2  +  lam * sum_g ( sum_j s_gj )^2,
#     s_gj = sqrt( sum_t u_gt W_jt^2 ),   r_t = y_t - X_t w_t,
#
# (Kshirsagar, Yang & Lozano, eq. (4) for fixed U; lam = alpha; the scaling is done once, in
# mtreg/solvers/problem.py and mtreg/solvers/sgmtl.py).
#
# Row update.  With every row but j fixed, S_g = sum_{j' != j} s_gj' and the data fit of row j
# is sum_t (a_t/2) w_t^2 - g_t w_t with a_t = ||x_jt||^2 / n_t, g_t = x_jt^T r_t / n_t + a_t w_t.
# Expanding (S_g + s_gj)^2 (the paper's eq. (6)-(7)) the row subproblem is
#
#     min_w  sum_t (A_t/2) w_t^2 - g_t w_t + sum_g c_g || D_g w ||_2,
#     A_t = a_t + 2 lam sum_g u_gt,  c_g = 2 lam S_g,  D_g = diag(sqrt(u_g.)).
#
# The paper updates one entry w_t at a time (soft-thresholding when kappa_gt = 0); entry-wise
# descent can stall at a zero block (g, j) whose tasks only move jointly, so we minimise the row
# subproblem exactly instead.  Its dual is a smooth problem over balls,
#
#     min_{||z_g|| <= c_g}  sum_t (g_t - sum_g v_gt z_gt)^2 / (2 A_t),   v_gt = sqrt(u_gt),
#     w_t = (g_t - sum_g v_gt z_gt) / A_t,
#
# solved by block coordinate descent over the groups; each block is a diagonal trust-region
# problem solved by Newton's method on 1/||z(nu)|| - 1/c_g (concave and increasing, so Newton
# started at nu = 0 increases monotonically to the root; a bracket guards rounding).  When every
# task belongs to one group only (U binary), the blocks are independent and one pass is exact.
# A group whose ball is not binding (||z_g|| < c_g) has D_g w = 0: its tasks are set to 0
# exactly (complementary slackness), which gives exact zeros in W.
#
# An epoch visits the rows listed in ``ws``; the kernel stops after an epoch whose guaranteed
# decrease of the objective, sum_j sum_t (A_t/2) (w_new - w_old)_jt^2, is <= ``eps``.  The kernel
# never prints, never allocates inside the epoch loop and runs without the GIL.
from libc.math cimport fabs, sqrt

import numpy as np

from ._blas cimport _axpy, _dot


cdef inline double _ball_block(const double* h, const double* A, const double* v, Py_ssize_t K,
                               double c, double* z) noexcept nogil:
    """Minimise sum_t (h_t - v_t z_t)^2 / (2 A_t) over ||z|| <= c (z_t = 0 where v_t = 0).

    Writes z and returns nu >= 0, the multiplier of the ball (0 when it is not binding).
    """
    cdef Py_ssize_t t, it
    cdef double n2 = 0.0, nz, s, zt, d, nu = 0.0, lo = 0.0, hi = -1.0, step, nu_new
    for t in range(K):
        if v[t] > 0.0:
            zt = h[t] / v[t]
            n2 += zt * zt
    if n2 <= c * c:
        for t in range(K):
            z[t] = h[t] / v[t] if v[t] > 0.0 else 0.0
        return 0.0
    if c <= 0.0:
        for t in range(K):
            z[t] = 0.0
        return 1.0  # binding (radius 0); the value of nu is not used
    # z_t(nu) = b_t / (d_t + nu), b_t = v_t h_t / A_t, d_t = v_t^2 / A_t
    for it in range(200):
        n2 = 0.0
        s = 0.0
        for t in range(K):
            if v[t] > 0.0:
                d = v[t] * v[t] / A[t] + nu
                zt = (v[t] * h[t] / A[t]) / d
                n2 += zt * zt
                s += zt * zt / d
        nz = sqrt(n2)
        if fabs(nz - c) <= 1e-14 * c or s <= 0.0:
            break
        if nz > c:
            lo = nu
        else:
            hi = nu
        step = n2 * (nz - c) / (c * s)
        nu_new = nu + step
        if nu_new <= lo or (hi >= 0.0 and nu_new >= hi):
            nu_new = 0.5 * (lo + hi) if hi >= 0.0 else 2.0 * lo + 1e-300
        if fabs(nu_new - nu) <= 1e-15 * nu_new:
            nu = nu_new
            break
        nu = nu_new
    for t in range(K):
        if v[t] > 0.0:
            z[t] = (v[t] * h[t] / A[t]) / (v[t] * v[t] / A[t] + nu)
        else:
            z[t] = 0.0
    return nu if nu > 0.0 else 1e-300


cdef void _row_solve(const double* g, const double* A, const double* V, const double* c,
                     double* Z, double* q, double* h, double* zb, int* binding, double* w,
                     Py_ssize_t K, Py_ssize_t N, bint disjoint, int max_pass) noexcept nogil:
    """Exact minimiser of the row subproblem (see the header), written to ``w``.

    ``V`` (N, K) C-contiguous is sqrt(U).  ``Z`` (N, K) C-contiguous holds the dual variables of
    the row: warm start on entry, solution on exit.
    ``q``, ``h``, ``zb`` are length-K workspaces, ``binding`` a length-N workspace.
    """
    cdef Py_ssize_t g_, t, it
    cdef double nrm, dz, maxdz, gmax = 0.0
    for t in range(K):
        q[t] = 0.0
        if fabs(g[t]) > gmax:
            gmax = fabs(g[t])
    # warm start, shrunk into the (possibly smaller) balls
    for g_ in range(N):
        nrm = 0.0
        for t in range(K):
            if V[g_ * K + t] <= 0.0:
                Z[g_ * K + t] = 0.0
            nrm += Z[g_ * K + t] * Z[g_ * K + t]
        nrm = sqrt(nrm)
        if nrm > c[g_]:
            for t in range(K):
                Z[g_ * K + t] = Z[g_ * K + t] * c[g_] / nrm if nrm > 0.0 else 0.0
        for t in range(K):
            q[t] += V[g_ * K + t] * Z[g_ * K + t]
    for it in range(max_pass):
        maxdz = 0.0
        for g_ in range(N):
            for t in range(K):
                h[t] = g[t] - q[t] + V[g_ * K + t] * Z[g_ * K + t]
            binding[g_] = _ball_block(h, A, &V[g_ * K], K, c[g_], zb) > 0.0
            for t in range(K):
                dz = zb[t] - Z[g_ * K + t]
                if dz != 0.0:
                    q[t] += V[g_ * K + t] * dz
                    Z[g_ * K + t] = zb[t]
                    if fabs(dz) > maxdz:
                        maxdz = fabs(dz)
        if disjoint or maxdz <= 1e-13 * gmax:
            break
    for t in range(K):
        w[t] = (g[t] - q[t]) / A[t] if A[t] > 0.0 else 0.0
    for g_ in range(N):
        if not binding[g_]:
            for t in range(K):
                if V[g_ * K + t] > 0.0:
                    w[t] = 0.0


def w_epochs(const double[::1, :] X, double[::1] R, double[::1, :] W, const double[:, ::1] V,
             const double[::1, :] colsq, const long[::1] x_off, const long[::1] r_ptr,
             double lam, double[:, :, ::1] Z, const int[::1] ws, bint disjoint, int max_epochs,
             double eps, int max_pass=500):
    """Run block coordinate descent epochs over the rows ``ws`` of ``W`` (in place).

    Parameters
    ----------
    X : (n_rows, p) F-contiguous
        Centred, standardised design; task t uses rows ``x_off[t] : x_off[t] + n_t``.
    R : (sum_t n_t,)
        Residuals ``y - X W`` stacked by task (``r_ptr``), updated in place.
    W : (p, K) F-contiguous
        Coefficients, updated in place.
    V : (N, K) C-contiguous
        ``sqrt(U)``.
    colsq : (p, K)
        ``a_jt = ||x_jt||^2 / n_t``.
    lam : float
        Penalty strength (alpha).
    Z : (p, N, K)
        Dual variables of every row (warm starts), updated in place.
    ws : (n_ws,) int32
        Rows to visit.
    disjoint : bool
        Every task has at most one positive u_gt (one dual pass is exact).
    max_epochs : int
    eps : float
        Stop after an epoch whose guaranteed objective decrease is <= eps.
    max_pass : int
        Cap on dual passes per row (soft U).

    Returns
    -------
    (epochs, last_decrease)
    """
    cdef Py_ssize_t p = W.shape[0], K = W.shape[1], N = V.shape[0]
    cdef Py_ssize_t n_ws = ws.shape[0], e, ii, j, t, g_, n_t
    cdef double dec = 0.0, d, sn, sq
    cdef int epochs = 0
    cdef double[::1] g = np.empty(K)
    cdef double[::1] A = np.empty(K)
    cdef double[::1] wnew = np.empty(K)
    cdef double[::1] q = np.empty(K)
    cdef double[::1] h = np.empty(K)
    cdef double[::1] zb = np.empty(K)
    cdef double[::1] c = np.empty(N)
    cdef double[::1] usum = np.zeros(K)
    cdef int[::1] binding = np.empty(N, dtype=np.intc)
    cdef double[::1, :] S = np.empty((N, p), order="F")   # s_gj
    cdef double[::1] T = np.empty(N)                      # sum_j s_gj
    if K == 0 or N == 0:
        return 0, 0.0
    with nogil:
        for t in range(K):
            for g_ in range(N):
                usum[t] += V[g_, t] * V[g_, t]
        for e in range(max_epochs):
            # s_gj and T_g afresh each epoch (no drift from the running updates)
            for g_ in range(N):
                T[g_] = 0.0
            for j in range(p):
                for g_ in range(N):
                    sq = 0.0
                    for t in range(K):
                        sq += V[g_, t] * V[g_, t] * W[j, t] * W[j, t]
                    S[g_, j] = sqrt(sq)
                    T[g_] += S[g_, j]
            dec = 0.0
            for ii in range(n_ws):
                j = ws[ii]
                for t in range(K):
                    n_t = r_ptr[t + 1] - r_ptr[t]
                    g[t] = (_dot(<int> n_t, &X[x_off[t], j], 1, &R[r_ptr[t]], 1) / n_t
                            + colsq[j, t] * W[j, t])
                    A[t] = colsq[j, t] + 2.0 * lam * usum[t]
                for g_ in range(N):
                    c[g_] = 2.0 * lam * (T[g_] - S[g_, j])
                    if c[g_] < 0.0:
                        c[g_] = 0.0
                _row_solve(&g[0], &A[0], &V[0, 0], &c[0], &Z[j, 0, 0], &q[0], &h[0], &zb[0], &binding[0],
                           &wnew[0], K, N, disjoint, max_pass)
                for t in range(K):
                    d = wnew[t] - W[j, t]
                    if d != 0.0:
                        n_t = r_ptr[t + 1] - r_ptr[t]
                        _axpy(<int> n_t, -d, &X[x_off[t], j], 1, &R[r_ptr[t]], 1)
                        W[j, t] = wnew[t]
                        dec += 0.5 * A[t] * d * d
                for g_ in range(N):
                    sq = 0.0
                    for t in range(K):
                        sq += V[g_, t] * V[g_, t] * W[j, t] * W[j, t]
                    sn = sqrt(sq)
                    T[g_] += sn - S[g_, j]
                    S[g_, j] = sn
            epochs += 1
            if dec <= eps:
                break
    return epochs, dec

