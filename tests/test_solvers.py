"""Block coordinate descent (mtreg.solvers.bcd) against references.

References: scikit-learn's MultiTaskLasso / MultiTaskElasticNet and Lasso / ElasticNet per task
on shared designs (their objective is exactly ours when every task has n rows and
standardize=False); a slow-but-obvious numpy FISTA, kept below, on per-task designs.
"""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet, Lasso, MultiTaskElasticNet, MultiTaskLasso

from mtreg.penalties import GroupLasso, Penalty
from mtreg.penalties import Lasso as LassoPenalty
from mtreg.solvers import bcd
from mtreg.solvers.problem import make_problem, to_original_scale

PENALTIES = {"l21": GroupLasso, "l1": LassoPenalty}


# ------------------------------------------------------------------------------- data
def shared_data(sparse, n=40, p=30, K=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    if sparse:
        X[rng.random((n, p)) < 0.7] = 0.0
        X[:, :3] += 1.0 * (X[:, :3] != 0)  # uncentred columns: the inline intercept matters
    W = np.zeros((p, K))
    W[:5] = rng.standard_normal((5, K))
    Y = X @ W + 0.5 * rng.standard_normal((n, K)) + rng.standard_normal(K)
    return (sp.csc_matrix(X) if sparse else X), Y


def per_task_data(sparse, n_k=(25, 12, 40), p=20, seed=1, shift=True):
    rng = np.random.default_rng(seed)
    K = len(n_k)
    Xs = [rng.standard_normal((n, p)) for n in n_k]
    if sparse:
        for X in Xs:
            X[rng.random(X.shape) < 0.6] = 0.0
    W = np.zeros((p, K))
    W[:4] = rng.standard_normal((4, K))
    ys = [X @ w + 0.5 * rng.standard_normal(len(X)) + (2.0 * k if shift else 0.0)
          for k, (X, w) in enumerate(zip(Xs, W.T, strict=True))]
    X = np.vstack(Xs)
    return (sp.csc_matrix(X) if sparse else X), np.concatenate(ys), np.r_[0, np.cumsum(n_k)]


def shared_problem(X, Y, fit_intercept):
    n, K = Y.shape
    return make_problem(X, Y.T.ravel(), np.arange(K + 1) * n, shared=True,
                        fit_intercept=fit_intercept, standardize=False)


def objective(problem, penalty, alpha, W, b):
    b = b if problem.center_inline else None
    return problem.datafit(W, b) + alpha * penalty.value(W)


# ------------------------------------------------ reference: numpy FISTA (slow but obvious)
def fista(problem, penalty, alpha, n_iter=20_000):
    """Accelerated proximal gradient with gradient restart, on a dense copy of the problem.

    The intercepts (only when ``problem.center_inline``) are extra unpenalised variables.
    """
    X = problem.X.toarray() if sp.issparse(problem.X) else np.asarray(problem.X)
    K, p = problem.n_tasks, problem.n_features
    n_k = problem.n_samples
    if problem.shared:
        X = np.vstack([X] * K)
    task = np.repeat(np.arange(K), n_k)
    onehot = np.eye(K)[task]
    inv_n = 1.0 / n_k[task]
    y = problem.y
    fit_b = problem.center_inline
    L = max(np.linalg.eigvalsh(X[task == k].T @ X[task == k] / n_k[k])[-1] + (1.0 if fit_b else 0.0)
            for k in range(K)) * (2.0 if fit_b else 1.0)
    lam2 = alpha * (1 - penalty.l1_ratio)
    L += lam2
    # smooth part: data fit + ridge term; prox of the l1 part only
    l1_only = type(penalty)(l1_ratio=1.0, weights=penalty.weights)
    lam1 = alpha * penalty.l1_ratio

    def grad(W, b):
        r = y - np.einsum("ip,ip->i", X, W.T[task]) - b[task]
        rw = r * inv_n
        return -(X * rw[:, None]).T @ onehot + lam2 * W, -(rw @ onehot)

    def prox(W):
        return l1_only.prox(W, lam1 / L) if lam1 > 0 else W

    W = np.zeros((p, K))
    b = np.zeros(K)
    VW, Vb, t = W.copy(), b.copy(), 1.0
    for _ in range(n_iter):
        gW, gb = grad(VW, Vb)
        Wn = prox(VW - gW / L)
        bn = Vb - gb / L if fit_b else b
        if np.vdot(VW - Wn, Wn - W) + np.vdot(Vb - bn, bn - b) > 0:
            t = 1.0
        tn = (1 + np.sqrt(1 + 4 * t * t)) / 2
        VW, Vb = Wn + (t - 1) / tn * (Wn - W), bn + (t - 1) / tn * (bn - b)
        step = max(np.abs(Wn - W).max(), np.abs(bn - b).max(initial=0.0))
        W, b, t = Wn, bn, tn
        if step < 1e-13:
            break
    return W, b


# ----------------------------------------------------------------- shared vs scikit-learn
def sklearn_fit(X, Y, kernel, alpha, l1_ratio, fit_intercept):
    X = X.toarray() if sp.issparse(X) else X
    kw = dict(alpha=alpha, fit_intercept=fit_intercept, tol=1e-12, max_iter=200_000)
    if kernel == "l21":
        m = (MultiTaskLasso(**kw) if l1_ratio == 1 else
             MultiTaskElasticNet(l1_ratio=l1_ratio, **kw)).fit(X, Y)
        return m.coef_.T, np.atleast_1d(m.intercept_)
    coefs, icpts = [], []
    for y in Y.T:
        m = (Lasso(**kw) if l1_ratio == 1 else ElasticNet(l1_ratio=l1_ratio, **kw)).fit(X, y)
        coefs.append(m.coef_)
        icpts.append(m.intercept_)
    return np.array(coefs).T, np.array(icpts)


@pytest.mark.parametrize("kernel", ["l21", "l1"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("fit_intercept", [False, True], ids=["no_icpt", "icpt"])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_shared_matches_sklearn(kernel, sparse, fit_intercept, l1_ratio):
    X, Y = shared_data(sparse)
    problem = shared_problem(X, Y, fit_intercept)
    assert problem.center_inline == (sparse and fit_intercept)
    penalty = PENALTIES[kernel](l1_ratio=l1_ratio)
    amax = bcd.alpha_max(problem, penalty)
    assert amax == pytest.approx(penalty.alpha_max(problem.null_fit()[2]), rel=1e-12)
    for frac in (0.5, 0.1, 0.02):
        alpha = frac * amax
        rec = bcd.solve(problem, penalty, alpha, tol=1e-10)
        assert rec.converged and rec.gap <= rec.gap_tol
        W_ref, b_ref = sklearn_fit(X, Y, kernel, alpha, l1_ratio, fit_intercept)
        W, b = to_original_scale(problem, rec.coef, rec.intercept)
        f_ref = objective(problem, penalty, alpha, W_ref, b_ref)
        f = objective(problem, penalty, alpha, rec.coef, rec.intercept)
        assert rec.objective == pytest.approx(f, rel=1e-12)
        assert f == pytest.approx(f_ref, rel=1e-6)
        assert f <= f_ref * (1 + 1e-9)
        np.testing.assert_allclose(W, W_ref, atol=1e-5, rtol=0)
        if fit_intercept:
            np.testing.assert_allclose(b, b_ref, atol=1e-5, rtol=0)
        if problem.center_inline:  # intercepts solved inside the kernel
            np.testing.assert_allclose(rec.intercept, b_ref, atol=1e-5, rtol=0)
        else:
            np.testing.assert_array_equal(rec.intercept, 0.0)


# ---------------------------------------------------------------- per-task vs numpy FISTA
@pytest.mark.parametrize("kernel", ["l21", "l1"])
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("fit_intercept", [False, True], ids=["no_icpt", "icpt"])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_per_task_matches_fista(kernel, sparse, fit_intercept, l1_ratio):
    X, y, ptr = per_task_data(sparse)
    problem = make_problem(X, y, ptr, shared=False, fit_intercept=fit_intercept,
                           standardize=True)
    penalty = PENALTIES[kernel](l1_ratio=l1_ratio)
    alpha = 0.1 * bcd.alpha_max(problem, penalty)
    rec = bcd.solve(problem, penalty, alpha, tol=1e-10)
    assert rec.converged
    W_ref, b_ref = fista(problem, penalty, alpha)
    f_ref = objective(problem, penalty, alpha, W_ref, b_ref)
    f = objective(problem, penalty, alpha, rec.coef, rec.intercept)
    assert f == pytest.approx(f_ref, rel=1e-6)
    assert f <= f_ref * (1 + 1e-9)
    G = problem.gradient(rec.coef, rec.intercept if problem.center_inline else None)
    assert penalty.kkt_violation(rec.coef, G, alpha).max() <= 1e-5 * alpha
    if problem.center_inline:  # the intercepts are optimal: residuals have mean 0 per task
        R = problem.residual(rec.coef, rec.intercept)
        assert max(abs(R[ptr[k]:ptr[k + 1]].mean()) for k in range(len(ptr) - 1)) < 1e-8


@pytest.mark.parametrize("kernel", ["l21", "l1"])
@pytest.mark.parametrize("n_free", [2, 70])
def test_unpenalised_features(kernel, n_free):
    """Rows with weight 0 are free: exact block step (few) or ridge conjugate (many)."""
    X, y, ptr = per_task_data(False, n_k=(60, 45, 80), p=90, seed=3)
    problem = make_problem(X, y, ptr, shared=False, fit_intercept=True, standardize=True)
    weights = np.ones(90)
    weights[:n_free] = 0.0
    l1_ratio = 1.0 if n_free == 2 else 0.7
    penalty = PENALTIES[kernel](l1_ratio=l1_ratio, weights=weights)
    alpha = 0.5 * PENALTIES[kernel](l1_ratio=l1_ratio).alpha_max(problem.null_fit()[2])
    rec = bcd.solve(problem, penalty, alpha, tol=1e-10)
    assert rec.converged
    assert np.all(rec.coef[:n_free] != 0)
    G = problem.gradient(rec.coef)
    assert penalty.kkt_violation(rec.coef, G, alpha).max() <= 1e-5 * alpha
    W_ref, b_ref = fista(problem, penalty, alpha)
    f_ref = objective(problem, penalty, alpha, W_ref, b_ref)
    assert rec.objective == pytest.approx(f_ref, rel=1e-6)


# ---------------------------------------------------------------------- behaviour
@pytest.mark.parametrize("kernel", ["l21", "l1"])
@pytest.mark.parametrize("case", ["shared-dense", "shared-sparse-icpt", "per_task-dense",
                                  "per_task-sparse-icpt"])
def test_alpha_max(kernel, case):
    shared, sparse = case.startswith("shared"), "sparse" in case
    if shared:
        X, Y = shared_data(sparse)
        problem = shared_problem(X, Y, fit_intercept=sparse)
    else:
        X, y, ptr = per_task_data(sparse)
        problem = make_problem(X, y, ptr, shared=False, fit_intercept=sparse)
    penalty = PENALTIES[kernel]()
    amax = bcd.alpha_max(problem, penalty)
    assert amax == pytest.approx(penalty.alpha_max(problem.null_fit()[2]), rel=1e-12)
    for alpha in (amax, 2 * amax):
        rec = bcd.solve(problem, penalty, alpha)
        assert rec.converged and not rec.coef.any()
        np.testing.assert_allclose(rec.intercept, problem.null_fit()[1], atol=1e-12)
    rec = bcd.solve(problem, penalty, 0.99 * amax, tol=1e-10)
    assert rec.converged and rec.coef.any()


def test_convergence_warning_and_warm_start():
    X, y, ptr = per_task_data(False)
    problem = make_problem(X, y, ptr, shared=False)
    penalty = GroupLasso()
    alpha = 0.05 * bcd.alpha_max(problem, penalty)
    with pytest.warns(ConvergenceWarning, match="duality gap .* target .* max_iter"):
        rec = bcd.solve(problem, penalty, alpha, max_iter=1)
    assert not rec.converged and rec.n_iter == 1 and rec.gap > rec.gap_tol
    rec = bcd.solve(problem, penalty, alpha, tol=1e-10)
    assert rec.converged and rec.n_iter > 2
    assert rec.history[-1] == rec.gap <= rec.gap_tol
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warm = bcd.solve(problem, penalty, alpha, tol=1e-10, coef_init=rec.coef)
    assert warm.converged and warm.n_iter <= 2
    np.testing.assert_allclose(warm.coef, rec.coef, atol=1e-8)


def test_warm_start_inline_intercept():
    X, Y = shared_data(True)
    problem = shared_problem(X, Y, fit_intercept=True)
    penalty = LassoPenalty(l1_ratio=0.5)
    alpha = 0.1 * bcd.alpha_max(problem, penalty)
    rec = bcd.solve(problem, penalty, alpha, tol=1e-10)
    warm = bcd.solve(problem, penalty, alpha, tol=1e-10, coef_init=rec.coef,
                     intercept_init=rec.intercept)
    assert warm.converged and warm.n_iter <= 2


def test_refuses_other_penalties():
    X, Y = shared_data(False)
    problem = shared_problem(X, Y, fit_intercept=False)

    class Smooth(Penalty):
        name = "smooth"

        def value(self, W):
            return 0.5 * float(np.sum(W**2))

    with pytest.raises(ValueError, match="'smooth'.*kernel=None"):
        bcd.solve(problem, Smooth(), 1.0)
    with pytest.raises(ValueError, match="alpha"):
        bcd.solve(problem, GroupLasso(), -1.0)
    with pytest.raises(ValueError, match="coef_init"):
        bcd.solve(problem, GroupLasso(), 1.0, coef_init=np.zeros((2, 2)))


# ------------------------------------------- acceleration, paths, ill-conditioned designs
def test_extrapolation_keeps_the_certificate(monkeypatch):
    """Anderson extrapolation and Newton polishing only accept steps that lower F; the final
    duality gap (recomputed here from scratch) still certifies the fit, and the solution equals
    plain BCD's (extrapolation switched off) to the certified accuracy."""
    X, y, ptr = per_task_data(False, n_k=(30, 25, 40), p=60, seed=5)
    problem = make_problem(X, y, ptr, shared=False)
    penalty = GroupLasso()
    alpha = 0.05 * bcd.alpha_max(problem, penalty)
    rec = bcd.solve(problem, penalty, alpha, tol=1e-10)
    monkeypatch.setattr(bcd, "_ACCELERATE", False)  # plain BCD: no extrapolation, no Newton
    plain = bcd.solve(problem, penalty, alpha, tol=1e-10, max_iter=200_000)
    assert rec.converged and plain.converged
    f = objective(problem, penalty, alpha, rec.coef, rec.intercept)
    assert rec.objective == pytest.approx(f, rel=1e-12)
    assert f == pytest.approx(plain.objective, rel=1e-8)
    G = problem.gradient(rec.coef)
    assert penalty.kkt_violation(rec.coef, G, alpha).max() <= 1e-4 * alpha


@pytest.mark.parametrize("kernel", ["l21", "l1"])
@pytest.mark.parametrize("case", ["shared-dense", "per_task-dense", "per_task-sparse-icpt"])
def test_solve_path_matches_independent_fits(kernel, case):
    """Warm starts, residual hand-over and strong-rule working sets never drop a feature that
    enters: every point of the path equals a cold, unscreened fit at that alpha."""
    if case == "shared-dense":
        X, Y = shared_data(False, n=50, p=80, K=4)
        problem = shared_problem(X, Y, fit_intercept=True)
    else:
        X, y, ptr = per_task_data("sparse" in case, p=60)
        problem = make_problem(X, y, ptr, shared=False, fit_intercept=True)
    penalty = PENALTIES[kernel]()
    alphas = bcd.alpha_max(problem, penalty) * np.geomspace(1, 0.01, 12)
    recs = bcd.solve_path(problem, penalty, alphas, tol=1e-10)
    for alpha, rec in zip(alphas, recs, strict=True):
        cold = bcd.solve(problem, penalty, alpha, tol=1e-10)
        assert rec.converged
        assert rec.objective == pytest.approx(cold.objective, rel=1e-8)
        np.testing.assert_array_equal(np.any(rec.coef != 0, axis=1), np.any(cold.coef != 0, axis=1))


@pytest.mark.parametrize("kernel", ["l21", "l1"])
@pytest.mark.parametrize("case", ["shared-dense", "shared-sparse-icpt", "per_task-sparse-icpt"])
def test_path_state_stays_exact(kernel, case):
    """The path's predictor step, Anderson's residual combinations and the gemm gradients of
    large working sets keep the carried residual equal to Y - X W - b (recomputed from scratch)
    at every alpha, and every point matches a cold fit with the accelerations switched off."""
    if case.startswith("shared"):
        X, Y = shared_data("sparse" in case, n=60, p=100, K=3, seed=3)
        problem = shared_problem(X, Y, fit_intercept="icpt" in case)
    else:
        X, y, ptr = per_task_data(True, p=60)
        problem = make_problem(X, y, ptr, shared=False, fit_intercept=True)
    penalty = PENALTIES[kernel]()
    alphas = bcd.alpha_max(problem, penalty) * np.geomspace(1, 0.02, 16)
    fit = bcd._Fit(problem, penalty)
    fit.start(None, None)
    prev, recs = None, []
    for alpha in alphas:
        recs.append(fit.run(alpha, 1e-10, 100_000, prev_alpha=prev))
        prev = alpha
        exact = fit.design.residual(fit.Y, fit.W, fit.b)
        np.testing.assert_allclose(fit.R, exact, rtol=0, atol=1e-10 * np.abs(exact).max())
    assert max(np.count_nonzero(np.any(r.coef != 0, axis=1)) for r in recs) >= bcd._WS_GEMM
    for i in (5, 15):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(bcd, "_ACCELERATE", False)
            plain = bcd.solve(problem, penalty, alphas[i], tol=1e-10, max_iter=500_000)
        assert recs[i].converged and plain.converged
        f = objective(problem, penalty, alphas[i], recs[i].coef, recs[i].intercept)
        assert f == pytest.approx(plain.objective, rel=1e-8)


def test_fit_path_uses_fast_path_and_matches_solve():
    from mtreg.path import fit_path

    X, y, ptr = per_task_data(False, p=40)
    problem = make_problem(X, y, ptr, shared=False)
    penalty = GroupLasso()
    alphas = bcd.alpha_max(problem, penalty) * np.geomspace(1, 0.05, 8)
    raw = fit_path(problem, penalty, alphas, tol=1e-10)
    assert raw.converged.all()
    for i, alpha in enumerate(alphas):
        rec = bcd.solve(problem, penalty, alpha, tol=1e-10)
        f = objective(problem, penalty, alpha, raw.coef[:, :, i], raw.intercept[:, i])
        assert f == pytest.approx(rec.objective, rel=1e-8)


def test_ill_conditioned_parkinsons_converges():
    """Nearly duplicated voice features (corr > 0.99999): plain BCD stalled at 4x the gap
    target after 10,000 epochs; Newton polishing of the support certifies it quickly."""
    import mtreg

    ds = mtreg.datasets.load_parkinsons()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        res = mtreg.fit(ds.formula, task="subject", data=ds.data, alpha_frac=0.05)
    assert res.converged and res.gap <= res.record.gap_tol
    assert res.n_iter < 2000


# ------------------------------------------------------- issue 7: fast paths vs plain / numpy
def _row_reference(g, c, lam1):
    """Exact minimiser of sum_k (c_k/2) w_k^2 - g_k w_k + lam1 ||w||_2 by bisection on the
    secular equation sum_k g_k^2 / (c_k nu + lam1)^2 = 1 (numpy, 200 halvings)."""
    if np.linalg.norm(g) <= lam1:
        return np.zeros_like(g)
    lo, hi = 0.0, (np.linalg.norm(g) - lam1) / c.min()
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if np.sum(g ** 2 / (c * mid + lam1) ** 2) > 1 else (lo, mid)
    nu = 0.5 * (lo + hi)
    return g * nu / (c * nu + lam1)


@pytest.mark.parametrize("K", [1, 2, 7, 30])
@pytest.mark.parametrize("warm", ["cold", "left", "right", "outside"])
def test_row_update_tasks_is_exact(K, warm):
    """The per-task row update (Moré-Sorensen Newton on the secular equation, vectorised
    divisions) returns the exact minimiser, from any warm start, for the l21 and l1 rows."""
    from mtreg._cy import _bcd
    rng = np.random.default_rng(K)
    for _ in range(20):
        g = 3.0 * rng.standard_normal(K)
        c = rng.uniform(0.05, 3.0, K)
        lam1 = 0.3 * np.linalg.norm(g) * rng.uniform(0.1, 1.5)
        ref = _row_reference(g, c, lam1)
        nu = np.linalg.norm(ref)
        nu0 = {"cold": 0.0, "left": 0.5 * nu, "right": 1.5 * nu, "outside": 1e6}[warm]
        w = _bcd.row_update_tasks(g, c, lam1, True, nu0)
        assert np.allclose(w, ref, rtol=1e-10, atol=1e-12 * np.abs(g).max())
        f, f_ref = (0.5 * c @ v ** 2 - g @ v + lam1 * np.linalg.norm(v) for v in (w, ref))
        assert f <= f_ref + 1e-13 * abs(f_ref) + 1e-300
        w1 = _bcd.row_update_tasks(g, c, lam1, False, nu0)  # l1: soft-thresholding
        assert np.allclose(w1, np.sign(g) * np.maximum(np.abs(g) - lam1, 0) / c, rtol=1e-14)


@pytest.mark.parametrize("kernel", ["l21", "l1"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_per_task_blas_columns_match_numpy_reference(kernel, dtype):
    """Per-task float64 columns go through the dispatched loops of ``_simd.h`` (with a remainder
    loop below multiples of 4), float32 through the unrolled loops: tasks of 5..60 rows exercise
    every remainder in one problem; the fit equals the numpy FISTA reference to 1e-8 (relative
    objective)."""
    X, y, ptr = per_task_data(False, n_k=(5, 15, 16, 17, 33, 60), p=25, seed=11)
    problem = make_problem(X, y, ptr, shared=False, fit_intercept=True, standardize=True,
                           dtype=dtype)
    ref_problem = make_problem(X, y, ptr, shared=False, fit_intercept=True, standardize=True)
    penalty = PENALTIES[kernel]()
    alpha = 0.1 * bcd.alpha_max(ref_problem, penalty)
    rec = bcd.solve(problem, penalty, alpha, tol=1e-10 if dtype == "float64" else 1e-6)
    assert rec.converged
    W_ref, b_ref = fista(ref_problem, penalty, alpha, n_iter=50_000)
    f_ref = objective(ref_problem, penalty, alpha, W_ref, b_ref)
    f = objective(ref_problem, penalty, alpha, rec.coef, rec.intercept)
    assert f == pytest.approx(f_ref, rel=1e-8 if dtype == "float64" else 1e-5)


@pytest.mark.parametrize("level", [0, 1])
def test_short_dot_axpy_levels_match_numpy(level):
    """Both builds of the short-vector loops (baseline and AVX2+FMA, where the processor has it)
    equal numpy's dot / axpy for every length 1..67 (every remainder of the 4-way unrolling)."""
    from mtreg._cy import _bcd

    rng = np.random.default_rng(level)
    for n in range(1, 68):
        x, y = rng.standard_normal(n), rng.standard_normal(n)
        y0 = y.copy()
        d, used = _bcd.short_dot_axpy(x, y, -0.7, level)
        assert used in (0, level)
        assert d == pytest.approx(float(x @ y0), rel=1e-13, abs=1e-13 * n)
        np.testing.assert_allclose(y, y0 - 0.7 * x, rtol=1e-15, atol=1e-15)
    assert _bcd.simd_level() in ("avx2+fma", "generic")


@pytest.mark.parametrize("kernel", ["l21", "l1"])
@pytest.mark.parametrize("case", ["shared-dense", "per_task-dense", "shared-sparse-icpt"])
def test_first_working_set_sizing_matches_plain(kernel, case, monkeypatch):
    """The first working set from W = 0 holds the rows whose score stands out of the bulk
    (``_WS_FIRST`` medians): same solution as the plain doubling from 10 rows (1e-8)."""
    if case.startswith("shared"):
        X, Y = shared_data(case.endswith("icpt"), n=60, p=200, K=4, seed=3)
        problem = shared_problem(X, Y, case.endswith("icpt"))
    else:
        X, y, ptr = per_task_data(False, n_k=(20, 30, 25, 18), p=150, seed=3)
        problem = make_problem(X, y, ptr, shared=False, standardize=False)
    penalty = PENALTIES[kernel]()
    alpha = 0.1 * bcd.alpha_max(problem, penalty)
    fast = bcd.solve(problem, penalty, alpha, tol=1e-10)
    monkeypatch.setattr(bcd, "_WS_FIRST", 0)
    plain = bcd.solve(problem, penalty, alpha, tol=1e-10)
    assert fast.converged and plain.converged
    f = objective(problem, penalty, alpha, fast.coef, fast.intercept)
    f_plain = objective(problem, penalty, alpha, plain.coef, plain.intercept)
    assert f == pytest.approx(f_plain, rel=1e-8)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("free", [False, True], ids=["all_penalised", "free_rows"])
def test_entrywise_working_set_matches_plain(l1_ratio, free, monkeypatch):
    """l1 on a dense per-task design updates, inside the working-set rows, only the nonzero
    and violating entries (and computes only their inner products): same solution as the
    row-wise working sets (1e-8, relative objective) and as the numpy FISTA reference."""
    X, y, ptr = per_task_data(False, n_k=(20, 35, 12, 28), p=80, seed=9)
    problem = make_problem(X, y, ptr, shared=False, fit_intercept=True, standardize=True)
    weights = np.r_[np.zeros(2), np.ones(78)] if free else None
    penalty = LassoPenalty(l1_ratio=l1_ratio, weights=weights)
    alpha = 0.05 * bcd.alpha_max(problem, LassoPenalty(l1_ratio=l1_ratio))
    fast = bcd.solve(problem, penalty, alpha, tol=1e-10)
    monkeypatch.setattr(bcd, "_ENTRY_WS", False)
    plain = bcd.solve(problem, penalty, alpha, tol=1e-10)
    assert fast.converged and plain.converged
    f = objective(problem, penalty, alpha, fast.coef, fast.intercept)
    assert f == pytest.approx(objective(problem, penalty, alpha, plain.coef, plain.intercept),
                              rel=1e-8)
    W_ref, b_ref = fista(problem, penalty, alpha, n_iter=50_000)
    assert f == pytest.approx(objective(problem, penalty, alpha, W_ref, b_ref), rel=1e-7)
    G = problem.gradient(fast.coef)
    assert penalty.kkt_violation(fast.coef, G, alpha).max() <= 1e-5 * alpha


# ------------------------------------------- l1 on per-task designs: one lasso per task
def global_gap_numpy(problem, penalty, alpha, W):
    """Duality gap of the whole l1 problem with one dual scaling per task (numpy, from W)."""
    X, y, ptr = np.asarray(problem.X, dtype=np.float64), problem.y, problem.task_ptr
    lam1 = alpha * penalty.l1_ratio * penalty.feature_weights(W.shape[0])
    lam2 = alpha * (1 - penalty.l1_ratio)
    gap = 0.0
    for k in range(problem.n_tasks):
        Xk, yk, n = X[ptr[k]:ptr[k + 1]], y[ptr[k]:ptr[k + 1]], ptr[k + 1] - ptr[k]
        r = yk - Xk @ W[:, k]
        H = Xk.T @ r / n - lam2 * W[:, k]
        s = 1.0 / max(1.0, np.max(np.abs(H) / lam1))
        quad = 0.5 * r @ r / n + 0.5 * lam2 * W[:, k] @ W[:, k]
        gap += quad + lam1 @ np.abs(W[:, k]) - (s * (yk @ r) / n - s * s * quad)
    return gap


@pytest.mark.parametrize("fit_intercept", [False, True], ids=["no_icpt", "icpt"])
@pytest.mark.parametrize("l1_ratio,weighted", [(1.0, False), (1.0, True), (0.6, False)],
                         ids=["lasso", "weighted", "enet"])
def test_independent_lassos_match_joint_and_sklearn(fit_intercept, l1_ratio, weighted,
                                                    monkeypatch):
    """l1 on a dense per-task design is solved as one lasso per task (``run_tasks``): same
    objective as the joint working-set path and as scikit-learn's Lasso/ElasticNet per task
    (weights by rescaling the columns), to 1e-8 relative; its gap is the global one (numpy) and
    meets ``gap <= tol * F(0)``."""
    n_k = (25, 12, 40, 31, 18)
    X, y, ptr = per_task_data(False, n_k=n_k, p=60, seed=4)
    problem = make_problem(X, y, ptr, shared=False, fit_intercept=fit_intercept,
                           standardize=False)
    weights = np.random.default_rng(2).uniform(0.5, 2.0, 60) if weighted else None
    penalty = LassoPenalty(l1_ratio=l1_ratio, weights=weights)
    alpha = 0.08 * bcd.alpha_max(problem, penalty)
    fit = bcd._Fit(problem, penalty)
    assert fit.separable(alpha)
    fast = bcd.solve(problem, penalty, alpha, tol=1e-10)
    assert fast.converged and fast.gap <= fast.gap_tol == pytest.approx(
        1e-10 * problem.null_objective)
    assert fast.gap == pytest.approx(global_gap_numpy(problem, penalty, alpha, fast.coef),
                                     rel=1e-6, abs=1e-12 * problem.null_objective)
    f = objective(problem, penalty, alpha, fast.coef, fast.intercept)
    assert fast.objective == pytest.approx(f, rel=1e-10)
    monkeypatch.setattr(bcd, "_TASKS", False)
    joint = bcd.solve(problem, penalty, alpha, tol=1e-10)
    assert f == pytest.approx(objective(problem, penalty, alpha, joint.coef, joint.intercept),
                              rel=1e-8)
    # scikit-learn, task by task, on the raw data (standardize=False: the same objective)
    w = np.ones(60) if weights is None else weights
    W_ref = np.zeros((60, len(n_k)))
    for k in range(len(n_k)):
        sl = slice(ptr[k], ptr[k + 1])
        kw = dict(alpha=alpha, fit_intercept=fit_intercept, tol=1e-14, max_iter=200_000)
        m = (Lasso(**kw) if l1_ratio == 1 else ElasticNet(l1_ratio=l1_ratio, **kw))
        W_ref[:, k] = m.fit(X[sl] / w, y[sl]).coef_ / w
    f_ref = objective(problem, penalty, alpha, W_ref, np.zeros(len(n_k)))
    assert f == pytest.approx(f_ref, rel=1e-8)
    assert f <= f_ref * (1 + 1e-10)


def test_independent_lassos_warm_start_float32_and_warning():
    """Warm starts give the cold-start solution; float32 designs take the same path (objective
    to float32 accuracy); too few epochs warn and report the true (global) gap."""
    X, y, ptr = per_task_data(False, n_k=(30, 22, 45), p=50, seed=6)
    problem = make_problem(X, y, ptr, shared=False, fit_intercept=True)
    penalty = LassoPenalty()
    amax = bcd.alpha_max(problem, penalty)
    cold = bcd.solve(problem, penalty, 0.05 * amax, tol=1e-10)
    start = bcd.solve(problem, penalty, 0.1 * amax, tol=1e-10)
    warm = bcd.solve(problem, penalty, 0.05 * amax, tol=1e-10, coef_init=start.coef)
    f_cold = objective(problem, penalty, 0.05 * amax, cold.coef, cold.intercept)
    assert objective(problem, penalty, 0.05 * amax, warm.coef, warm.intercept) == pytest.approx(
        f_cold, rel=1e-8)
    assert warm.converged
    p32 = make_problem(X, y, ptr, shared=False, fit_intercept=True, dtype="float32")
    assert bcd._Fit(p32, penalty).separable(0.05 * amax)
    r32 = bcd.solve(p32, penalty, 0.05 * amax, tol=1e-6)
    assert r32.converged
    assert objective(problem, penalty, 0.05 * amax, r32.coef, r32.intercept) == pytest.approx(
        f_cold, rel=1e-5)
    with pytest.warns(ConvergenceWarning, match="per task"):
        short = bcd.solve(problem, penalty, 0.01 * amax, tol=1e-14, max_iter=1)
    assert not short.converged and short.n_iter == 1
    assert short.gap == pytest.approx(global_gap_numpy(problem, penalty, 0.01 * amax, short.coef),
                                      rel=1e-6)


def test_independent_lassos_on_a_path_match_joint(monkeypatch):
    """solve_path takes the per-task lassos too (warm-started from the previous alpha): every
    grid point has the objective of a cold joint-path fit (1e-8 relative) and a certified gap;
    a feature with weight 0 sends the fit back to the joint path, with the same solution."""
    X, y, ptr = per_task_data(False, n_k=(30, 16, 42, 25), p=40, seed=11)
    problem = make_problem(X, y, ptr, shared=False, fit_intercept=True)
    penalty = LassoPenalty(l1_ratio=0.8)
    alphas = bcd.alpha_max(problem, penalty) * np.geomspace(1, 0.01, 7)
    recs = bcd.solve_path(problem, penalty, alphas, tol=1e-10)
    free = LassoPenalty(l1_ratio=0.8, weights=np.r_[0.0, np.ones(39)])
    assert not bcd._Fit(problem, free).separable(alphas[0])
    monkeypatch.setattr(bcd, "_TASKS", False)
    for alpha, rec in zip(alphas, recs, strict=True):
        assert rec.converged and rec.gap <= rec.gap_tol
        joint = bcd.solve(problem, penalty, alpha, tol=1e-10)
        f = objective(problem, penalty, alpha, rec.coef, rec.intercept)
        assert f == pytest.approx(objective(problem, penalty, alpha, joint.coef, joint.intercept),
                                  rel=1e-8)
        assert rec.gap == pytest.approx(global_gap_numpy(problem, penalty, alpha, rec.coef),
                                        rel=1e-6, abs=1e-12 * problem.null_objective)


@pytest.mark.parametrize("l1_ratio", [1.0, 0.6])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cython_inner_loop_matches_python_loop(l1_ratio, dtype, monkeypatch):
    """The group lasso on a per-task dense design runs each working set's loop (epochs,
    Anderson extrapolation, working-set gap) and each certificate in one Cython call; the
    Python code they replace (``_FAST_INNER`` / ``_FAST_CHECK = False``) reaches the same
    objective (1e-8 relative in float64), every fit is certified, and with every acceleration
    off (plain BCD) the objective is the same too."""
    X, y, ptr = per_task_data(False, n_k=(30, 7, 42, 25, 50), p=60, seed=5)
    problem = make_problem(X, y, ptr, shared=False, fit_intercept=True, standardize=True,
                           dtype=dtype)
    ref = make_problem(X, y, ptr, shared=False, fit_intercept=True, standardize=True)
    penalty = GroupLasso(l1_ratio=l1_ratio)
    tol = 1e-10 if dtype == "float64" else 1e-6
    rel = 1e-8 if dtype == "float64" else 1e-5
    fits, calls = {}, []
    kernel = bcd._bcd.inner_stacked_dense

    def counted(*args):
        calls.append(1)
        return kernel(*args)

    for mode in ("cython", "cython-inner", "python", "plain"):
        with monkeypatch.context() as mp:
            mp.setattr(bcd._bcd, "inner_stacked_dense", counted)
            mp.setattr(bcd, "_FAST_INNER", mode.startswith("cython"))
            mp.setattr(bcd, "_FAST_CHECK", mode == "cython")
            mp.setattr(bcd, "_ACCELERATE", mode != "plain")
            alphas = bcd.alpha_max(ref, penalty) * np.array([0.3, 0.05])
            fits[mode] = [bcd.solve(problem, penalty, a, tol=tol, max_iter=100_000) for a in alphas]
        assert (len(calls) > 0) == mode.startswith("cython")  # the kernel runs in cython modes only
        calls.clear()
    for k, alpha in enumerate(alphas):
        f = {m: objective(ref, penalty, alpha, r[k].coef, r[k].intercept) for m, r in fits.items()}
        assert all(r[k].converged and r[k].gap <= r[k].gap_tol for r in fits.values())
        assert f["cython"] == pytest.approx(f["python"], rel=rel)
        assert f["cython"] == pytest.approx(f["plain"], rel=rel)
        assert f["cython"] == pytest.approx(f["cython-inner"], rel=rel)


def test_cython_inner_gap_is_the_working_set_gap():
    """``inner_stacked_dense`` reports the duality gap of the problem restricted to its rows:
    with every row in the working set that is the full problem's gap, equal to a numpy
    computation (dual point s r_k / n_k, s the largest feasible scaling), for l21 and l1."""
    from mtreg._cy import _bcd

    X, y, ptr = per_task_data(False, n_k=(20, 13, 31), p=15, seed=2)
    problem = make_problem(X, y, ptr, shared=False, fit_intercept=False, standardize=False)
    K, p = problem.n_tasks, problem.n_features
    n_k = np.diff(problem.task_ptr).astype(float)
    Xd = np.asfortranarray(problem.X)
    a = np.ascontiguousarray(np.array([np.sum(Xd[s:e] ** 2, axis=0) / (e - s)
                                       for s, e in zip(ptr[:-1], ptr[1:], strict=True)]).T)
    for l21, lam1, lam2 in ((True, 0.05, 0.0), (True, 0.05, 0.02), (False, 0.03, 0.01)):
        W = np.zeros((p, K))
        r = problem.y.copy()
        out = np.empty(2)
        ws = np.arange(p, dtype=np.intp)
        done = _bcd.inner_stacked_dense(Xd, problem.task_ptr.astype(np.intp), r, problem.y, W, a,
                                        np.full(p, lam1), lam2, ws, l21, 0.0, 7, 5, False, 1e3,
                                        out)
        assert done == 7
        R = np.concatenate([problem.y[s:e] - Xd[s:e] @ W[:, k]
                            for k, (s, e) in enumerate(zip(ptr[:-1], ptr[1:], strict=True))])
        np.testing.assert_allclose(r, R, rtol=1e-10, atol=1e-12)
        G = np.array([Xd[s:e].T @ R[s:e] / (e - s)
                      for s, e in zip(ptr[:-1], ptr[1:], strict=True)]).T - lam2 * W
        if l21:
            scale = np.full(K, 1.0 / max(1.0, np.linalg.norm(G, axis=1).max() / lam1))
            pen = lam1 * np.linalg.norm(W, axis=1).sum()
        else:
            scale = 1.0 / np.maximum(1.0, np.abs(G).max(axis=0) / lam1)
            pen = lam1 * np.abs(W).sum()
        rr = np.array([R[s:e] @ R[s:e] for s, e in zip(ptr[:-1], ptr[1:], strict=True)]) / n_k
        yr = np.array([R[s:e] @ problem.y[s:e]
                       for s, e in zip(ptr[:-1], ptr[1:], strict=True)]) / n_k
        quad = 0.5 * rr + 0.5 * lam2 * np.sum(W ** 2, axis=0)
        primal = quad.sum() + pen
        gap = primal - (scale @ yr - scale ** 2 @ quad)
        assert out[1] == pytest.approx(primal, rel=1e-12)
        assert out[0] == pytest.approx(gap, rel=1e-9, abs=1e-14)
        # the certificate of bcd's outer loop: the same gap, plus the gradient and row scores
        Gk, score = np.empty((p, K)), np.empty(p)
        gap2, primal2 = _bcd.gap_stacked_dense(Xd, problem.task_ptr.astype(np.intp), r, problem.y,
                                               W, np.full(p, lam1), lam2, ws, l21, Gk, score)
        assert (gap2, primal2) == (out[0], out[1])
        np.testing.assert_allclose(Gk, G + lam2 * W, rtol=1e-10, atol=1e-14)
        H = G if l21 else np.abs(G)
        dn = np.linalg.norm(H, axis=1) if l21 else H.max(axis=1)
        np.testing.assert_allclose(score, dn / lam1, rtol=1e-10, atol=1e-14)


def test_independent_lassos_threads_give_identical_results(monkeypatch):
    """The per-task lassos shared among OpenMP threads (prange over tasks, dynamic schedule)
    return bit-for-bit the coefficients, gaps and epochs of the serial loop; the automatic
    choice keeps small designs serial."""
    from mtreg._cy import _lasso_tasks

    X, y, ptr = per_task_data(False, n_k=(30, 7, 42, 25, 50, 18, 33), p=80, seed=9)
    problem = make_problem(X, y, ptr, shared=False, fit_intercept=True, standardize=True)
    penalty = LassoPenalty(l1_ratio=0.9)
    alpha = 0.05 * bcd.alpha_max(problem, penalty)
    recs = {}
    for threads in (1, 2, 3):
        monkeypatch.setattr(bcd, "_TASK_THREADS", threads)
        recs[threads] = bcd.solve(problem, penalty, alpha, tol=1e-10)
    for threads in (2, 3):
        np.testing.assert_array_equal(recs[threads].coef, recs[1].coef)
        assert recs[threads].gap == recs[1].gap and recs[threads].n_iter == recs[1].n_iter
    assert recs[1].converged
    assert _lasso_tasks.openmp_threads() >= 1
    assert bcd._task_threads(problem.n_tasks, 100) == 3  # the switch wins
    monkeypatch.setattr(bcd, "_TASK_THREADS", None)
    assert bcd._task_threads(problem.n_tasks, 100) == 1  # too small for threads


@pytest.mark.parametrize("shared", [True, False], ids=["shared", "per_task"])
def test_sparse_int64_indices_match_int32(shared):
    """The sparse kernels take scipy's index arrays as they are: a CSC design with int64
    ``indices``/``indptr`` gives the fit of the same design with int32 ones (and neither is
    copied to intp when the two index arrays share a type)."""
    if shared:
        X, Y = shared_data(True, seed=3)
        y, ptr = Y.T.ravel(), np.arange(Y.shape[1] + 1) * Y.shape[0]
    else:
        X, y, ptr = per_task_data(True, seed=3)
    import dataclasses

    p32 = make_problem(sp.csc_matrix(X), y, ptr, shared=shared, fit_intercept=True,
                       standardize=False)
    X64 = p32.X.copy()  # scipy keeps int32 where it can: set int64 index arrays by hand
    X64.indices, X64.indptr = X64.indices.astype(np.int64), X64.indptr.astype(np.int64)
    p64 = dataclasses.replace(p32, X=X64)
    fits = []
    for problem, itype in ((p32, np.int32), (p64, np.int64)):
        design = bcd._design_of(problem)
        assert design.indices.dtype == design.indptr.dtype == itype
        penalty = GroupLasso()
        fits.append(bcd.solve(problem, penalty, 0.1 * bcd.alpha_max(problem, penalty), tol=1e-10))
    np.testing.assert_allclose(fits[1].coef, fits[0].coef, rtol=1e-12, atol=1e-14)
    assert fits[0].converged and fits[1].converged
