# Proximal steps shared by mtreg's kernels (inline, nogil, float64): the scalar soft-threshold
# and the exact minimiser of a row subproblem with task-wise curvatures (lasso or group lasso).
from libc.math cimport sqrt


cdef inline double _soft(double x, double t) noexcept nogil:
    if x > t:
        return x - t
    if x < -t:
        return x + t
    return 0.0


cdef inline double _sq_tasks(const double* g2, const double* c, double* inv, Py_ssize_t K,
                             double lam1, double nu, double* dsq) noexcept nogil:
    """``S(nu) = sum_k g_k^2 / (c_k nu + lam1)^2`` and its derivative (``g2 = g^2``).

    One division per task, in a loop of its own (vectorised), then the two sums."""
    cdef Py_ssize_t k
    cdef double sq = 0.0, dp = 0.0, t
    for k in range(K):
        inv[k] = 1.0 / (c[k] * nu + lam1)
    for k in range(K):
        t = g2[k] * inv[k] * inv[k]
        sq += t
        dp -= t * c[k] * inv[k]
    dsq[0] = 2.0 * dp
    return sq


cdef inline double _ms_step(double sq, double dsq) noexcept nogil:
    """Newton step for ``phi(nu) = S(nu)^(-1/2) - 1`` (Moré & Sorensen's form of the secular
    equation): ``-phi / phi' = 2 S (1 - sqrt(S)) / S'``."""
    return 2.0 * sq * (1.0 - sqrt(sq)) / dsq


cdef inline void _row_update(const double* g, const double* c, double* w, double* g2,
                             double* inv, Py_ssize_t K, double lam1, bint l21,
                             double nu0) noexcept nogil:
    """Exact minimiser of ``sum_k (c_k/2) w_k^2 - g_k w_k + lam1 ||w||_*``, written to ``w``.

    ``c_k = a_k + lam2`` is the curvature of task k; ``g2`` and ``inv`` are work buffers of
    length K.  For l1 each entry is soft-thresholded; for l21,
    ``w_k = g_k nu / (c_k nu + lam1)`` with ``nu = ||w||`` the root of ``S(nu) = 1``, ``S(nu) =
    sum_k g_k^2 / (c_k nu + lam1)^2``.  Newton's method runs on ``phi(nu) = S(nu)^(-1/2) - 1``
    (Moré & Sorensen 1983) instead of ``S - 1``: ``phi`` is increasing and concave, so Newton
    steps from either side of the root land left of it and then increase monotonically to it,
    and it is nearly linear (exactly linear when all ``c_k`` are equal), so from the warm start
    ``nu0`` (the row's current norm) one step usually suffices: the iteration stops once a step
    is below ``1e-8 nu`` (quadratic convergence: the error left is ~``1e-16 nu``).  The ``K``
    divisions of each evaluation run in one vectorisable loop (buffers ``g2``, ``inv``).
    """
    cdef Py_ssize_t k, it
    cdef double ng = 0.0, cmax = 0.0, cmin, nu, nu_hi, sq, dsq = 0.0, step
    if not l21:
        for k in range(K):
            w[k] = _soft(g[k], lam1) / c[k] if c[k] > 0.0 else 0.0
        return
    if lam1 == 0.0 or K == 0:
        for k in range(K):
            w[k] = g[k] / c[k] if c[k] > 0.0 else 0.0
        return
    cmin = c[0]
    for k in range(K):
        g2[k] = g[k] * g[k]
        ng += g2[k]
        if c[k] > cmax:
            cmax = c[k]
        if c[k] < cmin:
            cmin = c[k]
    ng = sqrt(ng)
    if ng <= lam1 or cmax <= 0.0:
        for k in range(K):
            w[k] = 0.0
        return
    nu = (ng - lam1) / cmax  # S(nu) >= 1: left of the root
    if cmin < cmax:
        nu_hi = (ng - lam1) / cmin if cmin > 0.0 else nu0 + 1.0
        if nu < nu0 < nu_hi:  # warm start; a step from the right of the root lands left of it
            sq = _sq_tasks(g2, c, inv, K, lam1, nu0, &dsq)
            if sq == 1.0:
                nu = nu0
            elif dsq < 0.0:
                step = nu0 + _ms_step(sq, dsq)
                if step > nu:
                    nu = step
        for it in range(100):
            sq = _sq_tasks(g2, c, inv, K, lam1, nu, &dsq)
            if sq - 1.0 <= 1e-15 or dsq >= 0.0:
                break
            step = _ms_step(sq, dsq)
            nu += step
            if step <= 1e-8 * nu:
                break
    for k in range(K):
        inv[k] = nu / (c[k] * nu + lam1)
    for k in range(K):
        w[k] = g[k] * inv[k]


cdef inline double _row_norm(const double* w, Py_ssize_t K) noexcept nogil:
    cdef Py_ssize_t k
    cdef double s = 0.0
    for k in range(K):
        s += w[k] * w[k]
    return sqrt(s)
