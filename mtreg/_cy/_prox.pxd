# Proximal steps shared by mtreg's kernels (inline, nogil, float64): the scalar soft-threshold
# and the exact minimiser of a row subproblem with task-wise curvatures (lasso or group lasso).
from libc.math cimport sqrt


cdef inline double _soft(double x, double t) noexcept nogil:
    if x > t:
        return x - t
    if x < -t:
        return x + t
    return 0.0


cdef inline double _psi(const double* g, const double* c, Py_ssize_t K, double lam1, double nu,
                        double* dpsi) noexcept nogil:
    """``psi(nu) = sum_k g_k^2 / (c_k nu + lam1)^2 - 1`` and its derivative."""
    cdef Py_ssize_t k
    cdef double psi = -1.0, dp = 0.0, d, t
    for k in range(K):
        d = c[k] * nu + lam1
        t = g[k] * g[k] / (d * d)
        psi += t
        dp -= 2.0 * t * c[k] / d
    dpsi[0] = dp
    return psi


cdef inline void _row_update(const double* g, const double* c, double* w, Py_ssize_t K,
                             double lam1, bint l21, double nu0) noexcept nogil:
    """Exact minimiser of sum_k (c_k/2) w_k^2 - g_k w_k + lam1 ||w||_*, written to ``w``.

    ``c_k = a_k + lam2`` is the curvature of task k.  For l21 the minimiser is
    ``w_k = g_k nu / (c_k nu + lam1)`` where ``nu = ||w||`` is the root of
    ``psi(nu) = sum_k g_k^2 / (c_k nu + lam1)^2 - 1`` (convex, decreasing), bracketed by
    ``(||g|| - lam1) / max_k c_k`` and ``(||g|| - lam1) / min_k c_k`` (equal, hence exact at once,
    in the shared-design case).  Newton's method started left of the root increases
    monotonically to it; ``nu0`` (the row's current norm, a warm start) is used when it lies
    in the bracket: from its right, one Newton step lands left of the root (psi is convex).
    """
    cdef Py_ssize_t k, it
    cdef double ng = 0.0, cmax = 0.0, cmin, nu, nu_hi, psi, dpsi = 0.0, step
    if not l21:
        for k in range(K):
            w[k] = _soft(g[k], lam1) / c[k] if c[k] > 0.0 else 0.0
        return
    cmin = c[0]
    for k in range(K):
        ng += g[k] * g[k]
        if c[k] > cmax:
            cmax = c[k]
        if c[k] < cmin:
            cmin = c[k]
    ng = sqrt(ng)
    if ng <= lam1 or cmax <= 0.0:
        for k in range(K):
            w[k] = 0.0
        return
    if lam1 == 0.0:
        for k in range(K):
            w[k] = g[k] / c[k] if c[k] > 0.0 else 0.0
        return
    nu = (ng - lam1) / cmax
    if cmin < cmax:
        nu_hi = (ng - lam1) / cmin if cmin > 0.0 else nu0 + 1.0
        if nu < nu0 < nu_hi:
            psi = _psi(g, c, K, lam1, nu0, &dpsi)
            if psi >= 0.0:
                nu = nu0
            elif dpsi < 0.0:
                step = nu0 - psi / dpsi
                if step > nu:
                    nu = step
        for it in range(100):
            psi = _psi(g, c, K, lam1, nu, &dpsi)
            if psi <= 1e-15 or dpsi >= 0.0:
                break
            step = -psi / dpsi
            nu += step
            if step <= 1e-15 * nu:
                break
    for k in range(K):
        w[k] = g[k] * nu / (c[k] * nu + lam1)


cdef inline double _row_norm(const double* w, Py_ssize_t K) noexcept nogil:
    cdef Py_ssize_t k
    cdef double s = 0.0
    for k in range(K):
        s += w[k] * w[k]
    return sqrt(s)
