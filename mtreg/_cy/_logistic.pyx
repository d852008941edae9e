# Proximal Newton iterations of the sparse multi-task logistic regression (l1 and l1/l2 rows).
#
# The kernels minimise, over the feature rows listed in ``ws`` (all other rows fixed) and the
# intercepts of the tasks listed in ``tasks`` (when ``fit_b``), the binomial objective of
# DESIGN.md restricted to those tasks:
#
#     sum_k 1/n_k sum_{i in k} [log(1 + exp(eta_i)) - y_i eta_i]
#         + sum_j lam1[j] ||W[j, tasks]||_* + lam2/2 ||W[:, tasks]||_F^2,   eta_k = b_k + X_k w_k
#
# with ||.||_* the l2 norm of a row ("l21", ``tasks`` must then hold every task) or its l1 norm
# ("l1", any subset of tasks: the tasks are independent). The scaling (lam1 = alpha l1_ratio
# weights, lam2 = alpha (1 - l1_ratio)) is done once, in mtreg/solvers/logistic.py.
#
# One proximal Newton iteration (glmnet, skglm's ProxNewton): the IRLS weights
# w_i = max(p_i (1 - p_i), W_MIN) and residuals r_i = y_i - p_i at the current eta, the
# curvatures a_jk = sum_i w_i x_ij^2 / n_k of the working-set columns, then coordinate descent
# epochs on the quadratic model until their estimated decrease sum c (dW)^2 is <= ``tol_cd``
# (the model's change of eta, u = X dW + db, and q = r - w u kept up to date; every
# ``anderson + 1`` epochs the Anderson extrapolation of the last iterates replaces the current one
# when it lowers the model -- Bertrand & Massias 2021, as in skglm), then a
# backtracking (Armijo) line search on the TRUE objective along the direction (a predicted
# decrease below the rounding level of the objective is taken without a search), and the update
# of W, b and eta in place.  The iterations stop when the optimality (KKT) violation on the
# working set and the intercepts is <= ``tol_kkt`` (skglm's criterion), when the line search
# finds no decrease, or after ``max_pn`` iterations.  The duality gap of the full problem is
# computed on the Python side.
#
# Design access: the observations (y, eta) are stacked by task, task k's at
# [optr[k], optr[k + 1]).  A dense design is a Fortran array whose row xoff[k] + i holds
# observation optr[k] + i; a sparse one is CSC (data, indices) with the entries of column j in
# task k at [cstart[j, k], cend[j, k]) and observation index indices[e] - xoff[k] + optr[k].  A
# shared design is therefore the same X with xoff = 0 for every task.
#
# Kernels never print, allocate (one calloc'd block) only before their loops and run without
# the GIL.
from libc.math cimport exp, fabs, log1p, sqrt
from libc.stdlib cimport calloc, free

import numpy as np

from ._accel cimport _aa_coefficients
from ._prox cimport _row_update

cdef double W_MIN = 1e-10     # floor of the IRLS weights
cdef double ARMIJO = 1e-4     # sufficient-decrease constant of the line search
cdef int MAX_HALVINGS = 40
cdef double ROUNDING = 1e-11  # relative size of a decrease too small to test


cdef struct Design:
    bint sparse
    const double* X
    Py_ssize_t ldx
    const double* data
    const Py_ssize_t* indices
    const Py_ssize_t* cstart
    const Py_ssize_t* cend
    const Py_ssize_t* xoff
    const Py_ssize_t* optr
    Py_ssize_t K


cdef inline double _loss1(double y, double e) noexcept nogil:
    """log(1 + exp(e)) - y e without overflow."""
    if e > 0.0:
        return e + log1p(exp(-e)) - y * e
    return log1p(exp(e)) - y * e


cdef inline double _expit(double e) noexcept nogil:
    cdef double z
    if e >= 0.0:
        z = exp(-e)
        return 1.0 / (1.0 + z)
    z = exp(e)
    return z / (1.0 + z)


cdef inline double _cdot(const Design* d, Py_ssize_t j, Py_ssize_t k,
                         const double* v) noexcept nogil:
    """sum_i x_ij v[obs i] over task k."""
    cdef Py_ssize_t i, e, n, sh
    cdef double s0 = 0.0, s1 = 0.0
    cdef const double* x
    cdef const double* vv
    if d.sparse:
        sh = d.optr[k] - d.xoff[k]
        for e in range(d.cstart[j * d.K + k], d.cend[j * d.K + k]):
            s0 += d.data[e] * v[d.indices[e] + sh]
        return s0
    n = d.optr[k + 1] - d.optr[k]
    x = d.X + j * d.ldx + d.xoff[k]
    vv = v + d.optr[k]
    for i in range(0, n - 1, 2):
        s0 += x[i] * vv[i]
        s1 += x[i + 1] * vv[i + 1]
    if n % 2:
        s0 += x[n - 1] * vv[n - 1]
    return s0 + s1


cdef inline double _cwsq(const Design* d, Py_ssize_t j, Py_ssize_t k,
                         const double* w) noexcept nogil:
    """sum_i w[obs i] x_ij^2 over task k."""
    cdef Py_ssize_t i, e, n, sh
    cdef double s = 0.0, xv
    cdef const double* x
    cdef const double* ww
    if d.sparse:
        sh = d.optr[k] - d.xoff[k]
        for e in range(d.cstart[j * d.K + k], d.cend[j * d.K + k]):
            s += d.data[e] * d.data[e] * w[d.indices[e] + sh]
        return s
    n = d.optr[k + 1] - d.optr[k]
    x = d.X + j * d.ldx + d.xoff[k]
    ww = w + d.optr[k]
    for i in range(n):
        xv = x[i]
        s += xv * xv * ww[i]
    return s


cdef inline void _cupdate(const Design* d, Py_ssize_t j, Py_ssize_t k, double delta,
                          const double* w, double* u, double* q) noexcept nogil:
    """u += delta x_j and q -= delta w x_j over task k."""
    cdef Py_ssize_t i, e, n, sh, o
    cdef double t
    cdef const double* x
    if d.sparse:
        sh = d.optr[k] - d.xoff[k]
        for e in range(d.cstart[j * d.K + k], d.cend[j * d.K + k]):
            o = d.indices[e] + sh
            t = delta * d.data[e]
            u[o] += t
            q[o] -= t * w[o]
        return
    n = d.optr[k + 1] - d.optr[k]
    x = d.X + j * d.ldx + d.xoff[k]
    o = d.optr[k]
    for i in range(n):
        t = delta * x[i]
        u[o + i] += t
        q[o + i] -= t * w[o + i]


cdef inline double _row_pen(const double* v, Py_ssize_t nt, double lam1, double lam2,
                            bint l21) noexcept nogil:
    cdef Py_ssize_t t
    cdef double s = 0.0, s2 = 0.0
    for t in range(nt):
        s2 += v[t] * v[t]
        if not l21:
            s += fabs(v[t])
    if l21:
        s = sqrt(s2)
    return lam1 * s + 0.5 * lam2 * s2


cdef inline double _row_violation(const double* g, const double* v, Py_ssize_t nt, double lam1,
                                  double lam2, bint l21) noexcept nogil:
    """Distance of the gradient ``g - lam2 v`` (minus that of the loss) to lam1 d||v||_*."""
    cdef Py_ssize_t t
    cdef double nv = 0.0, ng = 0.0, s = 0.0, m = 0.0, e
    if l21:
        for t in range(nt):
            nv += v[t] * v[t]
        nv = sqrt(nv)
        for t in range(nt):
            e = g[t] - lam2 * v[t]
            if nv > 0.0:
                e -= lam1 * v[t] / nv
            s += e * e
        s = sqrt(s)
        if nv > 0.0:
            return s
        return s - lam1 if s > lam1 else 0.0
    for t in range(nt):
        e = g[t] - lam2 * v[t]
        if v[t] > 0.0:
            e = fabs(e - lam1)
        elif v[t] < 0.0:
            e = fabs(e + lam1)
        else:
            e = fabs(e) - lam1 if fabs(e) > lam1 else 0.0
        if e > m:
            m = e
    return m


cdef inline double _row_pen_diff(const double* v, const double* w, Py_ssize_t nt, double lam1,
                                 double lam2, bint l21) noexcept nogil:
    """``pen(v) - pen(w)`` of one row, computed from differences (accurate for v close to w)."""
    cdef Py_ssize_t t
    cdef double s = 0.0, nv = 0.0, nw = 0.0
    for t in range(nt):
        s += 0.5 * lam2 * (v[t] - w[t]) * (v[t] + w[t])
        if l21:
            nv += v[t] * v[t]
            nw += w[t] * w[t]
        else:
            s += lam1 * (fabs(v[t]) - fabs(w[t]))
    if l21:
        s += lam1 * (nv - nw) / (sqrt(nv) + sqrt(nw)) if nv + nw > 0.0 else 0.0
    return s


cdef Design _design(bint sparse, const double[::1, :] X, const double[::1] data,
                    const Py_ssize_t[::1] indices, const Py_ssize_t[:, ::1] cstart,
                    const Py_ssize_t[:, ::1] cend, const Py_ssize_t[::1] xoff,
                    const Py_ssize_t[::1] optr):
    cdef Design d
    d.sparse = sparse
    d.X = &X[0, 0]
    d.ldx = X.shape[0]
    d.data = &data[0]
    d.indices = &indices[0]
    d.cstart = &cstart[0, 0]
    d.cend = &cend[0, 0]
    d.xoff = &xoff[0]
    d.optr = &optr[0]
    d.K = optr.shape[0] - 1
    return d


def gradient(bint sparse, const double[::1, :] X, const double[::1] data,
             const Py_ssize_t[::1] indices, const Py_ssize_t[:, ::1] cstart,
             const Py_ssize_t[:, ::1] cend, const Py_ssize_t[::1] xoff,
             const Py_ssize_t[::1] optr, const double[::1] rho, const Py_ssize_t[::1] rows,
             const Py_ssize_t[::1] tasks, double[:, ::1] G):
    """``G[j, k] = x_jk . rho_k / n_k`` for the listed rows and tasks (other entries untouched)."""
    cdef Design d = _design(sparse, X, data, indices, cstart, cend, xoff, optr)
    cdef Py_ssize_t jj, t, j, k
    with nogil:
        for jj in range(rows.shape[0]):
            j = rows[jj]
            for t in range(tasks.shape[0]):
                k = tasks[t]
                G[j, k] = _cdot(&d, j, k, &rho[0]) / (optr[k + 1] - optr[k])


def prox_newton(bint sparse, const double[::1, :] X, const double[::1] data,
                const Py_ssize_t[::1] indices, const Py_ssize_t[:, ::1] cstart,
                const Py_ssize_t[:, ::1] cend, const Py_ssize_t[::1] xoff,
                const Py_ssize_t[::1] optr, const double[::1] y, double[::1] eta,
                double[:, ::1] W, double[::1] b, const Py_ssize_t[::1] tasks,
                const Py_ssize_t[::1] ws, const double[::1] lam1, double lam2, bint l21,
                bint fit_b, int max_pn, int max_cd, double tol_kkt, double tol_cd,
                int anderson=0):
    """Proximal Newton iterations on the rows ``ws`` and the tasks ``tasks`` (see the header).

    ``W`` (p, K), ``b`` (K,) and ``eta`` (stacked linear predictor) are updated in place.
    ``anderson`` > 0: every ``anderson + 1`` CD epochs, the Anderson extrapolation of the last
    ``anderson + 1`` iterates (Bertrand & Massias 2021, as skglm's solvers) replaces the current
    one when it lowers the quadratic model; 0 turns it off.

    Returns
    -------
    (n_pn, n_epochs, violation, failed)
        Newton iterations and CD epochs done, the optimality violation on the working set at
        the start of the last iteration (``<= tol_kkt`` when the kernel stopped on it), whether
        the last line search failed to find a decrease (the point is then optimal up to
        rounding on the working set).
    """
    cdef Design d = _design(sparse, X, data, indices, cstart, cend, xoff, optr)
    cdef Py_ssize_t nt = tasks.shape[0], nws = ws.shape[0], N = y.shape[0]
    cdef Py_ssize_t K = optr.shape[0] - 1
    # work arrays: one zeroed block (no per-array Python objects: the call is cheap)
    cdef Py_ssize_t M = max(anderson, 0), m_acc = max(nws, 1) * nt + nt, n_hist = 0, a
    cdef Py_ssize_t nw1 = max(nws, 1), NA = N if M > 0 else 0, HA = (M + 1) * m_acc if M > 0 else 0
    cdef double* block = <double*> calloc(3 * N + 3 * nw1 * nt + 10 * nt + HA + M + 3 * NA,
                                          sizeof(double))
    if block == NULL:
        raise MemoryError()
    cdef double* wgt = block
    cdef double* q = wgt + N
    cdef double* u = q + N
    cdef double* A = u + N
    cdef double* V = A + nw1 * nt       # candidate rows (W + dW), row-major (nws, nt)
    cdef double* Ve = V + nw1 * nt      # Anderson: extrapolated rows
    cdef double* ab = Ve + nw1 * nt
    cdef double* db = ab + nt
    cdef double* g = db + nt
    cdef double* c = g + nt
    cdef double* vnew = c + nt
    cdef double* vt = vnew + nt
    cdef double* vold = vt + nt
    cdef double* dbe = vold + nt
    cdef double* g2 = dbe + nt          # row-update buffers
    cdef double* rinv = g2 + nt
    # Anderson acceleration: iterates (V, db) of the last M + 1 epochs, the extrapolated point
    cdef double* hist = rinv + nt
    cdef double* zc = hist + HA
    cdef double* res = zc + M
    cdef double* ue = res + NA
    cdef double* qe = ue + NA
    cdef double q_cur, q_ext
    cdef Py_ssize_t it, ep, jj, j, t, k, i, h, lo, hi
    cdef double pr, nk, loss0, loss_t, pen0, pen1, pen_t, delta, step, dec, diff, nu0, s
    cdef double h_t, viol = 0.0
    cdef int n_pn = 0, n_ep = 0
    cdef bint failed = False, ok, tiny

    with nogil:
        for it in range(max_pn):
            # IRLS weights, residuals and the loss at the current point
            loss0 = 0.0
            for t in range(nt):
                k = tasks[t]
                lo, hi = optr[k], optr[k + 1]
                nk = hi - lo
                s = 0.0
                h_t = 0.0
                for i in range(lo, hi):
                    pr = _expit(eta[i])
                    wgt[i] = pr * (1.0 - pr)
                    if wgt[i] < W_MIN:
                        wgt[i] = W_MIN
                    q[i] = y[i] - pr
                    if M > 0:
                        res[i] = q[i]
                    u[i] = 0.0
                    s += _loss1(y[i], eta[i])
                    h_t += wgt[i]
                loss0 += s / nk
                ab[t] = h_t / nk
                db[t] = 0.0
            # optimality (KKT) violation on the working set and the intercepts
            viol = 0.0
            if fit_b:
                for t in range(nt):
                    k = tasks[t]
                    s = 0.0
                    for i in range(optr[k], optr[k + 1]):
                        s += q[i]
                    s = fabs(s) / (optr[k + 1] - optr[k])
                    if s > viol:
                        viol = s
            pen0 = 0.0
            for jj in range(nws):
                j = ws[jj]
                for t in range(nt):
                    k = tasks[t]
                    nk = optr[k + 1] - optr[k]
                    A[jj * nt + t] = _cwsq(&d, j, k, &wgt[0]) / nk
                    g[t] = _cdot(&d, j, k, &q[0]) / nk
                    V[jj * nt + t] = W[j, k]
                    vold[t] = W[j, k]
                s = _row_violation(&g[0], &vold[0], nt, lam1[j], lam2, l21)
                if s > viol:
                    viol = s
                pen0 += _row_pen(&vold[0], nt, lam1[j], lam2, l21)
            if viol <= tol_kkt:
                break
            # coordinate descent on the quadratic model
            n_hist = 0
            for ep in range(max_cd):
                n_ep += 1
                dec = 0.0
                if fit_b:
                    for t in range(nt):
                        k = tasks[t]
                        lo, hi = optr[k], optr[k + 1]
                        s = 0.0
                        for i in range(lo, hi):
                            s += q[i]
                        diff = s / (hi - lo) / ab[t]
                        db[t] += diff
                        dec += ab[t] * diff * diff
                        for i in range(lo, hi):
                            u[i] += diff
                            q[i] -= diff * wgt[i]
                for jj in range(nws):
                    j = ws[jj]
                    nu0 = 0.0
                    for t in range(nt):
                        k = tasks[t]
                        h_t = _cdot(&d, j, k, &q[0]) / (optr[k + 1] - optr[k])
                        g[t] = A[jj * nt + t] * V[jj * nt + t] + h_t
                        c[t] = A[jj * nt + t] + lam2
                        nu0 += V[jj * nt + t] * V[jj * nt + t]
                    _row_update(&g[0], &c[0], &vnew[0], g2, rinv, nt, lam1[j], l21, sqrt(nu0))
                    for t in range(nt):
                        diff = vnew[t] - V[jj * nt + t]
                        if diff != 0.0:
                            k = tasks[t]
                            _cupdate(&d, j, k, diff, &wgt[0], &u[0], &q[0])
                            V[jj * nt + t] = vnew[t]
                            dec += c[t] * diff * diff
                if M > 0 and dec > tol_cd:
                    for jj in range(nws):
                        for t in range(nt):
                            hist[n_hist * m_acc + jj * nt + t] = V[jj * nt + t]
                    for t in range(nt):
                        hist[n_hist * m_acc + nws * nt + t] = db[t]
                    n_hist += 1
                    if n_hist == M + 1:
                        n_hist = 0
                        if _aa_coefficients(&hist[0], M, nws * nt + nt, &zc[0]):
                            for jj in range(nws):
                                for t in range(nt):
                                    s = 0.0
                                    for a in range(M):
                                        s += zc[a] * hist[(a + 1) * m_acc + jj * nt + t]
                                    Ve[jj * nt + t] = s
                            for t in range(nt):
                                s = 0.0
                                for a in range(M):
                                    s += zc[a] * hist[(a + 1) * m_acc + nws * nt + t]
                                dbe[t] = s if fit_b else 0.0
                            # the model at the extrapolated point: u_e = X (Ve - W) + db_e
                            for t in range(nt):
                                k = tasks[t]
                                for i in range(optr[k], optr[k + 1]):
                                    ue[i] = dbe[t]
                                    qe[i] = res[i] - wgt[i] * dbe[t]
                            for jj in range(nws):
                                j = ws[jj]
                                for t in range(nt):
                                    diff = Ve[jj * nt + t] - W[j, tasks[t]]
                                    if diff != 0.0:
                                        _cupdate(&d, j, tasks[t], diff, &wgt[0], &ue[0], &qe[0])
                            q_cur = 0.0
                            q_ext = 0.0
                            for t in range(nt):
                                k = tasks[t]
                                lo, hi = optr[k], optr[k + 1]
                                s = 0.0
                                h_t = 0.0
                                for i in range(lo, hi):
                                    s += (0.5 * wgt[i] * u[i] - res[i]) * u[i]
                                    h_t += (0.5 * wgt[i] * ue[i] - res[i]) * ue[i]
                                q_cur += s / (hi - lo)
                                q_ext += h_t / (hi - lo)
                            for jj in range(nws):
                                j = ws[jj]
                                q_cur += _row_pen(&V[jj * nt], nt, lam1[j], lam2, l21)
                                q_ext += _row_pen(&Ve[jj * nt], nt, lam1[j], lam2, l21)
                            if q_ext < q_cur:
                                for jj in range(nws):
                                    for t in range(nt):
                                        V[jj * nt + t] = Ve[jj * nt + t]
                                for t in range(nt):
                                    db[t] = dbe[t]
                                    k = tasks[t]
                                    for i in range(optr[k], optr[k + 1]):
                                        u[i] = ue[i]
                                        q[i] = qe[i]
                if dec <= tol_cd:
                    break
            # predicted decrease of the objective along the direction
            delta = 0.0
            for t in range(nt):
                k = tasks[t]
                lo, hi = optr[k], optr[k + 1]
                s = 0.0
                for i in range(lo, hi):
                    # q = r - w u: r.u = q.u + w u.u
                    s += (q[i] + wgt[i] * u[i]) * u[i]
                delta -= s / (hi - lo)
            pen1 = 0.0
            s = 0.0
            for jj in range(nws):
                j = ws[jj]
                for t in range(nt):
                    vold[t] = W[j, tasks[t]]
                pen1 += _row_pen(&V[jj * nt], nt, lam1[j], lam2, l21)
                s += _row_pen_diff(&V[jj * nt], &vold[0], nt, lam1[j], lam2, l21)
            delta += s
            n_pn += 1
            # a predicted change below the rounding level of the objective cannot be tested by
            # a line search (nor trusted in sign): the full step is then taken
            tiny = fabs(delta) <= ROUNDING * (fabs(loss0) + pen0)
            if delta == 0.0 or (delta > 0.0 and not tiny):
                failed = delta > 0.0
                break
            # backtracking line search on the true objective
            step = 1.0
            ok = tiny
            for h in range(0 if ok else MAX_HALVINGS):
                loss_t = 0.0
                for t in range(nt):
                    k = tasks[t]
                    lo, hi = optr[k], optr[k + 1]
                    s = 0.0
                    for i in range(lo, hi):
                        s += _loss1(y[i], eta[i] + step * u[i])
                    loss_t += s / (hi - lo)
                if step == 1.0:
                    pen_t = pen1
                else:
                    pen_t = 0.0
                    for jj in range(nws):
                        j = ws[jj]
                        for t in range(nt):
                            k = tasks[t]
                            vt[t] = W[j, k] + step * (V[jj * nt + t] - W[j, k])
                        pen_t += _row_pen(&vt[0], nt, lam1[j], lam2, l21)
                if loss_t + pen_t <= loss0 + pen0 + ARMIJO * step * delta:
                    ok = True
                    break
                step *= 0.5
            if not ok:
                failed = True
                break
            for jj in range(nws):
                j = ws[jj]
                for t in range(nt):
                    k = tasks[t]
                    W[j, k] += step * (V[jj * nt + t] - W[j, k])
            for t in range(nt):
                k = tasks[t]
                if fit_b:
                    b[k] += step * db[t]
                for i in range(optr[k], optr[k + 1]):
                    eta[i] += step * u[i]
    free(block)
    return n_pn, n_ep, viol, failed
