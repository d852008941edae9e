# Anderson extrapolation (Scieur, d'Aspremont & Bach 2016; as in celer and skglm), shared by the
# Cython inner solvers: the coefficients of the extrapolated point from stored iterates.
cdef enum:
    _AA_MAX = 8  # at most this many differences of iterates


cdef inline bint _aa_coefficients(const double* hist, Py_ssize_t L, Py_ssize_t m,
                                  double* c) noexcept nogil:
    """Weights ``c[0..L-1]`` (summing to 1) of the iterates ``hist[1..L]`` (rows of length
    ``m``, ``hist[0]`` the oldest): ``c = z / sum(z)`` with ``(D D^T + 1e-10 tr I) z = 1`` and
    ``D`` the L differences of consecutive iterates.  False (c unusable) when the differences
    vanish, ``L > _AA_MAX``, or the system is degenerate."""
    cdef double C[_AA_MAX][_AA_MAX]
    cdef double z[_AA_MAX]
    cdef double v, tr = 0.0, piv, f, s
    cdef Py_ssize_t i, l, t
    if L < 1 or L > _AA_MAX:
        return False
    for i in range(L):
        for l in range(i, L):
            v = 0.0
            for t in range(m):
                v += ((hist[(i + 1) * m + t] - hist[i * m + t])
                      * (hist[(l + 1) * m + t] - hist[l * m + t]))
            C[i][l] = v
            C[l][i] = v
        tr += C[i][i]
        z[i] = 1.0
    if not tr > 0.0:
        return False
    for i in range(L):
        C[i][i] += 1e-10 * tr
    # Gaussian elimination (symmetric positive definite after the regularisation)
    for i in range(L):
        piv = C[i][i]
        if not piv > 0.0:
            return False
        for l in range(i + 1, L):
            f = C[l][i] / piv
            for t in range(i, L):
                C[l][t] -= f * C[i][t]
            z[l] -= f * z[i]
    for i in range(L - 1, -1, -1):
        s = z[i]
        for t in range(i + 1, L):
            s -= C[i][t] * z[t]
        z[i] = s / C[i][i]
    s = 0.0
    for i in range(L):
        s += z[i]
    if s == 0.0 or s != s:
        return False
    for i in range(L):
        c[i] = z[i] / s
        if c[i] != c[i] or c[i] - c[i] != 0.0:  # nan or inf
            return False
    return True
