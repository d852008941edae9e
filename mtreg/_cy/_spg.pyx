# Kernels of the smoothing proximal gradient solver for GenGL (mtreg/solvers/spg.py).
#
# Nesterov smoothing (Chen, Lin, Kim, Carbonell & Xing, Ann. Appl. Stat. 2012): with the rows of
# z = D v grouped (group g = rows group_ptr[g]:group_ptr[g + 1]) and weights c_g >= 0,
#
#     Omega(v)  = sum_g c_g ||z_g||_2 = max_{||beta_g|| <= 1} sum_g c_g beta_g^T z_g
#     f_mu(v)   = max_{||beta_g|| <= 1} sum_g (c_g beta_g^T z_g - mu/2 ||beta_g||^2)
#     grad f_mu = D^T (c * beta*),  beta*_g = S(c_g z_g / mu),
#
# S the projection onto the unit l2 ball. ``smooth_grad`` does this for one operation of one
# component without forming D (the sparse D of mtreg.penalties.gengl serves Omega and tests): the
# partitions are given as groups of members (plus index, minus index or -1), so the group
# (g1, g2) is the vector of entries W[f+, t+] - W[f+, t-] - W[f-, t+] + W[f-, t-] over its members;
# D^T (c beta*) is accumulated straight into the gradient. One pass, no temporary.
#
# ``prox_components`` is the exact proximal operator of the operations that are separable
# within a component: an element-wise l1 term (t_elem) composed with one group l2 term (t_group)
# over rows (kind 1), columns (kind 2) or the whole component (kind 3). The prox of
# t1 ||.||_1 + t2 ||.||_2 on one group is the group shrinkage of the soft-thresholded group.
#
# Kernels never print, never allocate and run without the GIL; the scaling (c_g = alpha * gamma
# * weight / phi^(decay l), thresholds divided by the Lipschitz constant) is done in spg.py.
from libc.math cimport fabs, fmax, fmin, sqrt
from libc.stdlib cimport free, malloc, qsort

from ._prox cimport _soft


cdef struct _ValIdx:
    double v
    Py_ssize_t i


cdef int _cmp_val(const void* a, const void* b) noexcept nogil:
    cdef double x = (<const _ValIdx*>a).v, y = (<const _ValIdx*>b).v
    return (x > y) - (x < y)


cdef void _prox_pairwise(double* x, Py_ssize_t K, double lam, _ValIdx* srt, double* bsum,
                         Py_ssize_t* bcnt) noexcept nogil:
    """In place: prox of ``lam sum_{j<k} |x_j - x_k|`` on x (K,).

    With x sorted increasingly the penalty is ``lam sum_r (2r - K + 1) x_(r)`` (r = 0..K-1, a
    sum of sorted values with increasing weights) and the prox keeps the order of its input:
    it is the isotonic (non-decreasing) regression of ``v_(r) - lam (2r - K + 1)``, computed by
    pool-adjacent-violators, then unsorted.
    """
    cdef Py_ssize_t r, b, nb = 0, c
    cdef double m
    for r in range(K):
        srt[r].v = x[r]
        srt[r].i = r
    qsort(srt, K, sizeof(_ValIdx), _cmp_val)
    for r in range(K):
        bsum[nb] = srt[r].v - lam * (2 * r - K + 1)
        bcnt[nb] = 1
        nb += 1
        while nb > 1 and bsum[nb - 2] * bcnt[nb - 1] > bsum[nb - 1] * bcnt[nb - 2]:
            bsum[nb - 2] += bsum[nb - 1]
            bcnt[nb - 2] += bcnt[nb - 1]
            nb -= 1
    r = 0
    for b in range(nb):
        m = bsum[b] / bcnt[b]
        for c in range(bcnt[b]):
            x[srt[r].i] = m
            r += 1


def prox_components(double[:, :, ::1] V, const double[::1] t_elem, const double[::1] t_group,
                    const int[::1] kind, const double[::1] t_fuse):
    """In place: ``V[l] <- prox of t_fuse[l] F + t_elem[l] ||.||_1 + t_group[l] ||.||_{group kind[l]}``.

    ``F(W) = sum_i sum_{j<k} |W[i, j] - W[i, k]|`` is the element-wise task-pair fusion
    (``Op("F", "F2")``); it is only combined with row groups (kind 0 or 1), so the whole prox
    is separable over rows. The prox of the sum is the composition pair-fusion prox, then soft
    thresholding, then group shrinkage: each later map keeps the order, ties and signs of its
    input (and zeroes whole rows), so the subgradients certified by the earlier maps remain valid.

    Parameters
    ----------
    V : (h, p, K) components.
    t_elem : (h,) l1 thresholds.
    t_group : (h,) group thresholds.
    kind : (h,) 0 none, 1 rows (features), 2 columns (tasks), 3 the whole component.
    t_fuse : (h,) element-wise pair-fusion thresholds (components of kind 0 or 1 only).
    """
    cdef Py_ssize_t h = V.shape[0], p = V.shape[1], K = V.shape[2]
    cdef Py_ssize_t l, j, k
    cdef double t1, t2, nrm, s
    cdef _ValIdx* srt = <_ValIdx*>malloc(K * sizeof(_ValIdx))
    cdef double* bsum = <double*>malloc(K * sizeof(double))
    cdef Py_ssize_t* bcnt = <Py_ssize_t*>malloc(K * sizeof(Py_ssize_t))
    if srt == NULL or bsum == NULL or bcnt == NULL:
        free(srt)
        free(bsum)
        free(bcnt)
        raise MemoryError()
    with nogil:
        for l in range(h):
            t1 = t_elem[l]
            t2 = t_group[l]
            if t_fuse[l] > 0 and K > 1:
                for j in range(p):
                    _prox_pairwise(&V[l, j, 0], K, t_fuse[l], srt, bsum, bcnt)
            if t1 > 0:
                for j in range(p):
                    for k in range(K):
                        V[l, j, k] = _soft(V[l, j, k], t1)
            if t2 <= 0 or kind[l] == 0:
                continue
            if kind[l] == 1:
                for j in range(p):
                    nrm = 0.0
                    for k in range(K):
                        nrm += V[l, j, k] * V[l, j, k]
                    nrm = sqrt(nrm)
                    s = 1.0 - t2 / nrm if nrm > t2 else 0.0
                    for k in range(K):
                        V[l, j, k] *= s
            elif kind[l] == 2:
                for k in range(K):
                    nrm = 0.0
                    for j in range(p):
                        nrm += V[l, j, k] * V[l, j, k]
                    nrm = sqrt(nrm)
                    s = 1.0 - t2 / nrm if nrm > t2 else 0.0
                    for j in range(p):
                        V[l, j, k] *= s
            else:
                nrm = 0.0
                for j in range(p):
                    for k in range(K):
                        nrm += V[l, j, k] * V[l, j, k]
                nrm = sqrt(nrm)
                s = 1.0 - t2 / nrm if nrm > t2 else 0.0
                for j in range(p):
                    for k in range(K):
                        V[l, j, k] *= s
    free(srt)
    free(bsum)
    free(bcnt)


cdef inline double _entry(const double* W, Py_ssize_t K, long long fp, long long fm, long long tp,
                          long long tm) noexcept nogil:
    """W[fp, tp] - W[fp, tm] - W[fm, tp] + W[fm, tm] (terms with a -1 index dropped); W (p, K)."""
    cdef double v = W[fp * K + tp]
    if tm >= 0:
        v -= W[fp * K + tm]
    if fm >= 0:
        v -= W[fm * K + tp]
        if tm >= 0:
            v += W[fm * K + tm]
    return v


cdef inline void _scatter(double* G, Py_ssize_t K, double v, long long fp, long long fm, long long tp,
                          long long tm) noexcept nogil:
    """The adjoint of ``_entry``: G += v at the same four places with the same signs."""
    G[fp * K + tp] += v
    if tm >= 0:
        G[fp * K + tm] -= v
    if fm >= 0:
        G[fm * K + tp] -= v
        if tm >= 0:
            G[fm * K + tm] += v


def smooth_grad(const double[:, ::1] W, double[:, ::1] G,
                const long long[::1] fptr, const long long[::1] fplus, const long long[::1] fminus,
                const long long[::1] tptr, const long long[::1] tplus, const long long[::1] tminus,
                double c, double mu):
    """``G += D_o^T (c beta*)`` for one operation o on one component W (p, K); ``(f_mu, Omega)``.

    Parameters
    ----------
    W : (p, K) the component.
    G : (p, K) accumulates the gradient of the smoothed term.
    fptr, fplus, fminus : feature partition: group i has members fptr[i]:fptr[i + 1], member m
        the row combination ``W[fplus[m]] - W[fminus[m]]`` (``fminus[m] = -1``: none).
    tptr, tplus, tminus : the same over tasks (columns).
    c : weight of the operation (alpha included), mu : smoothing parameter.
    """
    cdef Py_ssize_t g1, g2, a1, a2
    cdef Py_ssize_t n1 = fptr.shape[0] - 1, n2 = tptr.shape[0] - 1
    cdef double v, nrm, s, fmu = 0.0, omega = 0.0
    cdef Py_ssize_t K = W.shape[1]
    cdef const double* Wp = &W[0, 0]
    cdef double* Gp = &G[0, 0]
    with nogil:
        for g1 in range(n1):
            for g2 in range(n2):
                nrm = 0.0
                for a1 in range(fptr[g1], fptr[g1 + 1]):
                    for a2 in range(tptr[g2], tptr[g2 + 1]):
                        v = _entry(Wp, K, fplus[a1], fminus[a1], tplus[a2], tminus[a2])
                        nrm += v * v
                nrm = sqrt(nrm)
                omega += c * nrm
                if c * nrm > mu:
                    fmu += c * nrm - 0.5 * mu
                    s = c / nrm
                else:
                    fmu += c * c * nrm * nrm / (2.0 * mu)
                    s = c * c / mu
                if s * nrm == 0.0:
                    continue
                for a1 in range(fptr[g1], fptr[g1 + 1]):
                    for a2 in range(tptr[g2], tptr[g2 + 1]):
                        v = s * _entry(Wp, K, fplus[a1], fminus[a1], tplus[a2], tminus[a2])
                        _scatter(Gp, K, v, fplus[a1], fminus[a1], tplus[a2], tminus[a2])
    return fmu, omega


def fusion_grad(const double[:, ::1] W, double[:, ::1] G, double c_col, double c_elem, double mu,
                double[::1] pair_sq, bint values=True):
    """Both task-pair fusions of one component, reading the rows of W (p, K) contiguously.

    ``G += D^T (beta*)`` of the smoothed column fusion ``c_col sum_{j<k} ||W[:, j] - W[:, k]||``
    (``Op("C", "F2")``) and element-wise fusion ``c_elem sum_i sum_{j<k} |W[i, j] - W[i, k]|``
    (``Op("F", "F2")``): the same sums as :func:`smooth_grad` on these operations. For a scalar
    group the projected dual is a clip, ``c beta* = clip(c^2 d / mu, -c, c)``, and
    ``f_mu = c beta* d - mu / 2 beta*^2``: no branch and no division in the inner loop.
    ``pair_sq`` (K (K - 1) / 2,) is scratch space. ``values=False`` skips the element-wise
    values (then only the column-fusion part of the returned values is filled).

    Returns
    -------
    (f_mu, Omega) : the smoothed and the exact value of the two terms (weights included).
    """
    cdef Py_ssize_t p = W.shape[0], K = W.shape[1]
    cdef Py_ssize_t i, j, k, q, q0
    cdef double d, s, wj, gj, nrm, fmu = 0.0, omega = 0.0, acc = 0.0, asum = 0.0
    cdef double a = c_elem * c_elem / mu if mu > 0 else 0.0
    cdef double half_mu_c2 = 0.5 * mu / (c_elem * c_elem) if c_elem > 0 else 0.0
    cdef const double* r
    cdef double* g
    with nogil:
        if c_elem > 0:
            for i in range(p):
                r = &W[i, 0]
                g = &G[i, 0]
                for j in range(K):
                    wj = r[j]
                    gj = 0.0
                    if values:
                        for k in range(j + 1, K):
                            d = wj - r[k]
                            s = fmax(-c_elem, fmin(c_elem, a * d))
                            gj += s
                            g[k] -= s
                            acc += s * d - half_mu_c2 * s * s
                            asum += fabs(d)
                    else:
                        for k in range(j + 1, K):
                            s = fmax(-c_elem, fmin(c_elem, a * (wj - r[k])))
                            gj += s
                            g[k] -= s
                    g[j] += gj
            fmu += acc
            omega += c_elem * asum
        if c_col > 0:
            for q in range(pair_sq.shape[0]):
                pair_sq[q] = 0.0
            for i in range(p):
                r = &W[i, 0]
                q0 = 0
                for j in range(K):
                    wj = r[j]
                    for k in range(j + 1, K):
                        d = wj - r[k]
                        pair_sq[q0 + k - j - 1] += d * d
                    q0 += K - j - 1
            for q in range(pair_sq.shape[0]):
                nrm = sqrt(pair_sq[q])
                omega += c_col * nrm
                if c_col * nrm > mu:
                    fmu += c_col * nrm - 0.5 * mu
                    pair_sq[q] = c_col / nrm
                else:
                    fmu += c_col * c_col * nrm * nrm / (2.0 * mu)
                    pair_sq[q] = c_col * c_col / mu
            for i in range(p):
                r = &W[i, 0]
                g = &G[i, 0]
                q0 = 0
                for j in range(K):
                    wj = r[j]
                    gj = 0.0
                    for k in range(j + 1, K):
                        s = pair_sq[q0 + k - j - 1] * (wj - r[k])
                        gj += s
                        g[k] -= s
                    g[j] += gj
                    q0 += K - j - 1
    return fmu, omega
