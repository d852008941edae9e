"""GenGL penalties (mtreg/penalties/gengl.py) and the SPG solver (mtreg/solvers/spg.py)."""
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import mtreg
from mtreg import penalties
from mtreg.penalties.gengl import (
    RMTFL,
    SSMTL,
    GenGL,
    GenGLGroupLasso,
    GroupFused,
    MeTaG,
    Op,
    partition_operator,
)
from mtreg.simulate_gengl import gengl_scenarios
from mtreg.solvers import spg
from mtreg.solvers.problem import make_problem


# ------------------------------------------------------------------ direct formulas
def _l21(W):
    return np.linalg.norm(W, axis=1).sum()


def _colfuse(W):
    K = W.shape[1]
    return sum(np.linalg.norm(W[:, j] - W[:, k]) for j in range(K) for k in range(j + 1, K))


def _elemfuse(W):
    K = W.shape[1]
    return sum(np.abs(W[:, j] - W[:, k]).sum() for j in range(K) for k in range(j + 1, K))


RNG = np.random.default_rng(0)
P, K = 7, 5


def test_group_lasso_preset_equals_core():
    W = RNG.normal(size=(P, K))
    pen = GenGLGroupLasso(gamma=1.7)
    assert pen.value(W) == pytest.approx(1.7 * penalties.GroupLasso().value(W), rel=1e-12)
    assert pen.solver == "bcd" and pen.kernel == "l21"
    np.testing.assert_allclose(pen.feature_weights(P), 1.7)


def test_metag_preset():
    Ws = RNG.normal(size=(3, P, K))
    pen = MeTaG(n_components=3, gamma=0.8, phi=5.0)
    direct = sum(0.8 / 5.0 ** (l + 1) * _colfuse(Ws[l]) for l in range(3))
    assert pen.value(Ws) == pytest.approx(direct, rel=1e-12)
    assert pen.solver == "spg"


def test_rmtfl_preset():
    Ws = RNG.normal(size=(2, P, K))
    pen = RMTFL(rows=0.3, cols=2.0)
    direct = 0.3 * _l21(Ws[0]) + 2.0 * _l21(Ws[1].T)
    assert pen.value(Ws) == pytest.approx(direct, rel=1e-12)


def test_ssmtl_preset():
    Ws = RNG.normal(size=(2, P, K))
    g1, g2, phi = 0.7, 1.3, 2.0
    pen = SSMTL(gamma1=g1, gamma2=g2, phi=phi)
    direct = sum(g1 / phi ** l * _colfuse(Ws[l - 1]) + g2 * phi ** l * _l21(Ws[l - 1])
                 + g1 * phi ** l * _elemfuse(Ws[l - 1]) + g2 / phi ** l * np.abs(Ws[l - 1]).sum()
                 for l in (1, 2))
    assert pen.value(Ws) == pytest.approx(direct, rel=1e-12)
    assert pen.value_direct(Ws) == pytest.approx(direct, rel=1e-12)


def test_group_fused_preset():
    W = RNG.normal(size=(P, K))
    pen = GroupFused(sparsity=0.4, gamma=2.0)
    assert pen.value(W) == pytest.approx(2.0 * (_colfuse(W) + 0.4 * _l21(W)), rel=1e-12)


@pytest.mark.parametrize("f", ["C", "F", "F2"])
@pytest.mark.parametrize("t", ["C", "F", "F2"])
def test_operator_value_matches_partitions(f, t):
    """Omega from the sparse operator equals the sum over partition members (eq. 7)."""
    W = RNG.normal(size=(P, K))
    pen = GenGL([[Op(f, t, weight=1.5, decay=0)]])
    M1, _ = partition_operator(f, P)
    M2, _ = partition_operator(t, K)
    groups1 = [M1.toarray()] if f == "C" else list(M1.toarray()[:, None, :])
    groups2 = [M2.toarray()] if t == "C" else list(M2.toarray()[:, None, :])
    direct = sum(np.linalg.norm(a @ W @ b.T) for a in groups1 for b in groups2)
    assert pen.value(W) == pytest.approx(1.5 * direct, rel=1e-12)
    assert pen.value_direct(W) == pytest.approx(1.5 * direct, rel=1e-12)


@pytest.mark.parametrize("f,t,n_groups,size,nnz_row", [
    ("F", "C", P, K, 1), ("F", "F", P * K, 1, 1), ("C", "F", K, P, 1), ("C", "C", 1, P * K, 1),
    ("C", "F2", K * (K - 1) // 2, P, 2), ("F", "F2", P * K * (K - 1) // 2, 1, 2),
    ("F2", "C", P * (P - 1) // 2, K, 2), ("F2", "F2", P * (P - 1) // 2 * K * (K - 1) // 2, 1, 4),
])
def test_operator_shapes_and_sparsity(f, t, n_groups, size, nnz_row):
    pen = GenGL([[Op(f, t)], [Op("F", "F")]])
    D, ptr, coef, opidx = pen.operator(P, K, select=(0,))
    assert sp.issparse(D)
    assert D.shape == (n_groups * size, 2 * P * K)
    assert ptr.size == n_groups + 1 and np.all(np.diff(ptr) == size)
    assert np.all(np.diff(D.indptr) == nnz_row)
    assert D[:, P * K:].nnz == 0  # acts on the first component only
    np.testing.assert_allclose(coef, 1 / 2.0)  # gamma / phi^1


def test_validation():
    with pytest.raises(ValueError, match="features"):
        Op("X", "C")
    with pytest.raises(ValueError, match="shape"):
        SSMTL().value(np.zeros((P, K)))
    with pytest.raises(ValueError, match="n_components"):
        MeTaG(n_components=0)


def test_alpha_max():
    G = RNG.normal(size=(P, K))
    assert GenGLGroupLasso().alpha_max(G) == pytest.approx(np.linalg.norm(G, axis=1).max())
    assert RMTFL(cols=2.0).alpha_max(G) == pytest.approx(
        max(np.linalg.norm(G, axis=1).max(), np.linalg.norm(G, axis=0).max() / 2))
    assert MeTaG().alpha_max(G) == np.inf


def test_fusion_only_penalty_needs_alpha():
    """MeTaG has no finite alpha_max (it only fuses tasks): alpha_frac and the default CV grid
    are refused with a message naming the penalty and the way out; an explicit alpha fits."""
    rng = np.random.default_rng(3)
    model = mtreg.MultiTaskModel.from_arrays([rng.normal(size=(20, 5)) for _ in range(4)],
                                             [rng.normal(size=20) for _ in range(4)],
                                             penalty="metag")
    with pytest.raises(ValueError, match="alpha_frac needs a finite alpha_max.*'metag'"):
        model.fit(alpha_frac=0.1)
    with pytest.raises(ValueError, match="'metag' has no finite alpha_max.*alphas="):
        model.fit()
    res = model.fit(alpha=0.1)
    assert res.converged and res.alpha_max == np.inf


# ------------------------------------------------------------------ solver
_ADMM_CACHE = {}


def _admm(problem, penalty, alpha, n_iter=6000, rho=1.0):
    """Slow numpy reference: ADMM on z = D v with the dense operator (small problems only).

    Cached per (penalty, alpha, data): several tests compare with the same optimum.
    """
    key = (type(penalty).__name__, repr(penalty.params()), alpha, problem.y.tobytes(),
           np.asarray(problem.task_X(0)).tobytes(), n_iter, rho)
    if key not in _ADMM_CACHE:
        _ADMM_CACHE[key] = _admm_run(problem, penalty, alpha, n_iter, rho)
    return _ADMM_CACHE[key]


def _admm_run(problem, penalty, alpha, n_iter, rho):
    p, K, h = problem.n_features, problem.n_tasks, penalty.n_components
    D, ptr, coef, _ = penalty.operator(p, K)
    D = D.toarray()
    n = p * K * h
    H = np.zeros((n, n))
    q = np.zeros(n)
    for k in range(K):
        Xk, yk = np.asarray(problem.task_X(k)), problem.task_y(k)
        idx = [l * p * K + np.arange(p) * K + k for l in range(h)]
        for a in range(h):
            q[idx[a]] += Xk.T @ yk / len(yk)
            for b in range(h):
                H[np.ix_(idx[a], idx[b])] += Xk.T @ Xk / len(yk)
    M = np.linalg.pinv(H + rho * D.T @ D)
    z = np.zeros(D.shape[0])
    u = np.zeros_like(z)
    w = np.repeat(alpha * coef / rho, np.diff(ptr))
    for _ in range(n_iter):
        v = M @ (q + rho * D.T @ (z - u))
        a = D @ v + u
        nr = np.repeat(np.sqrt(np.add.reduceat(a * a, ptr[:-1])), np.diff(ptr))
        z = a * np.maximum(1 - w / np.maximum(nr, 1e-300), 0)
        u = a - z
    V = v.reshape(h, p, K)
    return problem.datafit(V.sum(0)) + alpha * penalty.value(V)


@pytest.fixture(scope="module")
def small_problem():
    rng = np.random.default_rng(1)
    p, K, n = 6, 5, 9
    X = rng.normal(size=(K * n, p))
    W = rng.normal(size=(p, K))
    W[3:] = 0
    W[:, 3:] = W[:, [0]]
    y = np.einsum("knp,pk->kn", X.reshape(K, n, p), W).ravel() + 0.1 * rng.normal(size=K * n)
    return X, y, np.arange(K + 1) * n


@pytest.mark.parametrize("penalty,alpha", [
    (SSMTL(), 0.05), (MeTaG(), 0.05), (RMTFL(), 0.1), (GroupFused(sparsity=0.5), 0.05),
    (GenGL([[Op("F", "C"), Op("C", "F")], [Op("F2", "F2"), Op("C", "C")]]), 0.05),
])
def test_spg_matches_admm_reference(small_problem, penalty, alpha):
    prob = make_problem(*small_problem, shared=False)
    ref = _admm(prob, penalty, alpha)
    rec = spg.solve(prob, penalty, alpha, tol=1e-6, max_iter=50_000)
    assert rec.converged and rec.gap <= rec.gap_tol == pytest.approx(1e-6 * prob.null_objective)
    assert rec.objective == pytest.approx(ref, rel=1e-4)
    # the certificate: F(V) - F* <= gap, and the dual objective is a lower bound on F*
    assert rec.objective - ref <= rec.gap + 1e-12
    assert rec.extra["dual_objective"] <= ref + 1e-12
    assert rec.history[-1] == rec.gap
    Ws = np.stack(rec.extra["components"])
    assert rec.objective == pytest.approx(prob.datafit(Ws.sum(0)) + alpha * penalty.value(Ws), rel=1e-12)
    np.testing.assert_allclose(rec.coef, Ws.sum(0))
    assert rec.extra["U"].shape[1] == prob.n_tasks and np.all(rec.extra["U"].sum(0) == 1)


def test_spg_gl_preset_equals_bcd_group_lasso():
    from mtreg.solvers import bcd

    data, _ = gengl_scenarios("gl", n_samples=30, seed=2)
    X = data.filter(like="x").to_numpy()
    prob = make_problem(X, data.y.to_numpy(), np.arange(11) * 30, shared=False)
    ref = bcd.solve(prob, penalties.GroupLasso(), 0.1, tol=1e-12, max_iter=100_000)
    rec = spg.solve(prob, GenGLGroupLasso(), 0.1, tol=1e-11, max_iter=100_000)
    assert rec.objective == pytest.approx(ref.objective, rel=1e-5)
    np.testing.assert_allclose(rec.coef, ref.coef, atol=1e-5 * np.abs(ref.coef).max())


def test_spg_shared_and_sparse_designs(small_problem):
    """Shared X, and sparse X whose intercepts are solved inline, reach the dense optimum."""
    X, y, ptr = small_problem
    pen, alpha = SSMTL(), 0.05
    dense = spg.solve(make_problem(X, y, ptr, shared=False), pen, alpha, tol=1e-6, max_iter=50_000)
    sparse = spg.solve(make_problem(sp.csc_matrix(X), y, ptr, shared=False), pen, alpha, tol=1e-6,
                       max_iter=50_000)
    assert dense.converged and sparse.converged
    # both objectives are within their own gap of the same optimum
    assert abs(sparse.objective - dense.objective) <= sparse.gap + dense.gap
    assert sparse.objective == pytest.approx(dense.objective, rel=1e-5)
    assert np.any(sparse.intercept != 0)
    n = ptr[1]
    Y = y.reshape(-1, n)  # tasks sharing the first task's X
    shared = make_problem(X[:n], Y.ravel(), ptr, shared=True)
    stacked = make_problem(np.tile(X[:n], (len(ptr) - 1, 1)), Y.ravel(), ptr, shared=False)
    a = spg.solve(shared, pen, alpha, tol=1e-6, max_iter=50_000)
    b = spg.solve(stacked, pen, alpha, tol=1e-6, max_iter=50_000)
    assert a.converged and b.converged
    assert abs(a.objective - b.objective) <= a.gap + b.gap


def test_spg_warm_start_and_errors(small_problem):
    prob = make_problem(*small_problem, shared=False)
    rec = spg.solve(prob, SSMTL(), 0.05, tol=1e-6, max_iter=50_000)
    warm = spg.solve(prob, SSMTL(), 0.05, tol=1e-6, max_iter=50_000,
                     coef_init=np.stack(rec.extra["components"]))
    assert warm.n_iter < rec.n_iter
    with pytest.raises(TypeError, match="GenGL"):
        spg.solve(prob, penalties.GroupLasso(), 0.1)
    with pytest.raises(ValueError, match="coef_init"):
        spg.solve(prob, SSMTL(), 0.1, coef_init=np.zeros(3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(Warning, match="max_iter"):
            spg.solve(prob, SSMTL(), 0.05, tol=1e-12, max_iter=20)
    with pytest.raises(ValueError, match="check_every"):
        spg.solve(prob, SSMTL(), 0.05, check_every=0)


def test_spg_sum_warm_start_reuses_last_components(small_problem):
    """A path passes only the sum W: the last fit's components are reused when the sum matches."""
    prob = make_problem(*small_problem, shared=False)
    pen = SSMTL()
    first = spg.solve(prob, pen, 0.1, tol=1e-6, max_iter=50_000)
    comps = np.stack(first.extra["components"])
    assert not np.allclose(comps[0], comps[1])  # not the equal split
    np.testing.assert_array_equal(spg._split_warm_start(pen, first.coef, 2), comps)
    # any other sum (or another penalty object) is split equally
    other = first.coef + 1e-9
    np.testing.assert_allclose(spg._split_warm_start(pen, other, 2), np.stack([other / 2] * 2))
    np.testing.assert_allclose(spg._split_warm_start(SSMTL(), first.coef, 2),
                               np.stack([first.coef / 2] * 2))
    # the next point of the path reaches the slow reference optimum from the reused split
    ref = _admm(prob, pen, 0.05)
    nxt = spg.solve(prob, pen, 0.05, tol=1e-6, max_iter=50_000, coef_init=first.coef)
    assert nxt.converged and nxt.objective == pytest.approx(ref, rel=1e-4)
    assert nxt.objective - ref <= nxt.gap + 1e-12


def test_task_clusters():
    W = np.array([[1.0, 1.0, 2.0, 1.0], [0.0, 0.0, 1.0, 1e-6]])
    U = spg.task_clusters(W)
    np.testing.assert_array_equal(U, [[1, 1, 0, 1], [0, 0, 1, 0]])


def test_fit_through_registry():
    data, W = gengl_scenarios("metag", n_samples=20, seed=3)
    data = data[data.task.isin([f"t{t:02d}" for t in (1, 2, 17, 18, 25, 26)])]
    formula = "y ~ " + " + ".join(f"x{j}" for j in range(1, 101))
    res = mtreg.fit(formula, task="task", data=data, penalty="ssmtl", alpha=0.05, tol=1e-5)
    assert res.record.solver == "spg"
    assert len(res.record.extra["components"]) == 2
    res = mtreg.fit(formula, task="task", data=data, penalty="gengl_group_lasso", alpha=0.05)
    assert res.record.solver == "bcd"


def test_scenarios():
    for name, (p, m) in {"gl": (80, 10), "metag": (100, 32), "rmtfl": (200, 30)}.items():
        data, W = gengl_scenarios(name, seed=0)
        assert W.shape == (p, m) and data.shape == (50 * m, p + 2)
        assert np.allclose(np.sum(W.attrs["components"], axis=0), W.to_numpy())
    _, W = gengl_scenarios("metag", seed=0)
    W1, W2 = W.attrs["components"]
    assert (np.abs(W1).sum(1) > 0).sum() == 10 and np.all(W2[:, :16] == 0)
    assert np.all(W2[:, 16:24] == W2[:, [16]])
    _, W = gengl_scenarios("rmtfl", seed=0)
    assert np.all(W.attrs["components"][1][:, :20] == 0)
    with pytest.raises(ValueError, match="scenario"):
        gengl_scenarios("nope")


def test_results_expose_components_that_sum_to_params():
    import mtreg

    df, _ = gengl_scenarios("metag", n_samples=25, seed=1)
    df = df[df.task.isin(df.task.unique()[:6])]
    res = mtreg.fit("y ~ " + " + ".join(f"x{j}" for j in range(1, 16)), task="task", data=df,
                    penalty="metag", alpha=0.1, tol=1e-4)
    comps = res.components
    assert list(comps) == ["component 1", "component 2"]
    np.testing.assert_allclose(sum(c.to_numpy() for c in comps.values()), res.params.to_numpy(),
                               atol=1e-10)
    text = res.summary().as_text()
    assert "component 2" in text and "nonzero rows" in text


# ------------------------------------------------------------------ certificate
def _dense_objective(prob, penalty, alpha, Ws):
    """F(V) in numpy from the direct formula (no operator)."""
    return prob.datafit(Ws.sum(0)) + alpha * penalty.value_direct(Ws)


@pytest.mark.parametrize("penalty,alpha", [
    (SSMTL(), 0.05), (MeTaG(), 0.05), (RMTFL(), 0.1), (GroupFused(), 0.05),
    (GenGL([[Op("F2", "C"), Op("C", "F2")]]), 0.05),
])
def test_gap_bounds_suboptimality_at_any_point(small_problem, penalty, alpha):
    """At arbitrary (non-optimal) points the certificate is an upper bound on F(V) - F*.

    F* comes from the long ADMM run (F_ref >= F*, so F(V) - F_ref <= F(V) - F* <= gap), and the
    dual objective must lie below F_ref. Fusion-only penalties exercise the projection of the
    dual point (their kernel holds the task-constant matrices); ``[F2-C, C-F2]`` the
    least-squares representation.
    """
    prob = make_problem(*small_problem, shared=False)
    ref = _admm(prob, penalty, alpha)
    rng = np.random.default_rng(5)
    h, p, K = penalty.n_components, prob.n_features, prob.n_tasks
    rec = spg.solve(prob, penalty, alpha, tol=1e-5, max_iter=50_000)
    Vopt = np.stack(rec.extra["components"])
    for V in [np.zeros((h, p, K)), rng.normal(size=(h, p, K)), Vopt + 1e-3 * rng.normal(size=Vopt.shape),
              Vopt]:
        gap, dual = spg.duality_gap(prob, penalty, alpha, V)
        F = _dense_objective(prob, penalty, alpha, V)
        assert np.isfinite(gap) and gap >= F - ref - 1e-10
        assert dual <= ref + 1e-10
        assert gap == pytest.approx(F - dual, rel=1e-9, abs=1e-12)
    # at the solver's iterate, with its smoothing parameter, the certificate is tight
    gap, _ = spg.duality_gap(prob, penalty, alpha, Vopt, mu=rec.extra["mu"])
    assert gap <= 1.5 * rec.gap_tol


def test_gap_with_inline_intercepts(small_problem):
    """Sparse X with an intercept: the dual point is also centred within every task."""
    X, y, ptr = small_problem
    y = y + np.repeat(np.arange(len(ptr) - 1), np.diff(ptr))  # task offsets
    prob = make_problem(sp.csc_matrix(X), y, ptr, shared=False)
    assert prob.center_inline
    pen, alpha = MeTaG(), 0.05
    rec = spg.solve(prob, pen, alpha, tol=1e-6, max_iter=50_000)
    # the same optimum: the dense problem, centred beforehand, solved by ADMM
    ref = _admm(make_problem(X, y, ptr, shared=False), pen, alpha)
    assert rec.converged
    assert rec.objective - ref <= rec.gap + 1e-12
    assert rec.extra["dual_objective"] <= ref + 1e-12
    assert rec.objective == pytest.approx(ref, rel=1e-5)
    Ws = np.stack(rec.extra["components"])
    F = prob.datafit(Ws.sum(0), rec.intercept) + alpha * pen.value_direct(Ws)
    assert rec.objective == pytest.approx(F, rel=1e-12)


def test_kernel_basis_and_dual_norm():
    p, K = 4, 5
    # MeTaG: every component is null on task-constant matrices w 1^T
    B = spg._kernel_basis(MeTaG(), p, K)
    assert B.shape[1:] == (p, K)
    np.testing.assert_allclose(B - B[:, :, :1], 0, atol=1e-12)
    assert np.linalg.matrix_rank(B.reshape(len(B), -1)) == p
    assert spg._kernel_basis(SSMTL(), p, K).shape[0] == 0
    # [F2-C, C-F2]: only the constant matrix is null
    B = spg._kernel_basis(GenGL([[Op("F2", "C"), Op("C", "F2")]]), p, K)
    assert np.linalg.matrix_rank(B.reshape(len(B), -1)) == 1
    # dual norm bound: exact for one selection operation; a representation for pairs
    G = RNG.normal(size=(p, K))
    pen = GenGL([[Op("F", "C", weight=2.0, decay=0)]])
    assert pen.dual_norm_components(G[None]) == pytest.approx(np.linalg.norm(G, axis=1).max() / 2)
    Gz = G - G.mean(axis=1, keepdims=True)  # zero row sums: in the range of the column fusion
    pen = GenGL([[Op("C", "F2", decay=0)]])
    t = pen.dual_norm_components(Gz[None])
    D, ptr, coef, _ = pen.operator(p, K)
    j, k = np.triu_indices(K, 1)
    beta = ((Gz[:, j] - Gz[:, k]) / K).T.ravel()  # group (j, k) = rows of pair q, p entries
    np.testing.assert_allclose(D.T @ beta, Gz.ravel(), atol=1e-12)
    assert t == pytest.approx(np.sqrt(np.add.reduceat(beta**2, ptr[:-1])).max())
    assert pen.dual_norm_components(G[None]) == np.inf  # outside the range
    # outside every single operation's range, inside the component's: least squares
    pen = GenGL([[Op("F2", "C", decay=0), Op("C", "F2", decay=0)]])
    Gt = G - G.mean()
    assert np.isfinite(pen.dual_norm_components(Gt[None]))
    assert pen.dual_norm_components(G[None]) == np.inf


def test_exact_row_prox_with_pair_fusion():
    """prox of t_f sum_{j<k}|w_j - w_k| + t_1 ||w||_1 + t_2 ||w||_2 per row, against scipy."""
    from mtreg._cy._spg import prox_components
    from scipy.optimize import minimize
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(3)
    K = 5
    j, k = np.triu_indices(K, 1)
    for t_f, t_1, t_2 in [(0.1, 0.0, 0.0), (0.1, 0.05, 0.2), (0.4, 0.02, 0.05), (0.05, 0.3, 0.0)]:
        v = rng.normal(size=(1, 2, K))
        x = v.copy()
        prox_components(x, np.array([t_1]), np.array([t_2]), np.array([1], dtype=np.intc),
                        np.array([t_f]))

        def obj(z, v=v, t_f=t_f, t_1=t_1, t_2=t_2):
            z = z.reshape(2, K)
            return (0.5 * ((z - v[0]) ** 2).sum() + t_f * np.abs(z[:, j] - z[:, k]).sum()
                    + t_1 * np.abs(z).sum() + t_2 * np.linalg.norm(z, axis=1).sum())

        ref = min(minimize(obj, x0, method="Powell", options={"xtol": 1e-12, "ftol": 1e-15,
                                                                "maxiter": 200_000}).fun
                  for x0 in (v[0].ravel(), np.zeros(2 * K)))
        assert obj(x[0].ravel()) <= ref + 1e-10
        if t_1 == t_2 == 0:  # the pair fusion alone: isotonic regression of the shifted sorted row
            for row in range(2):
                order = np.argsort(v[0, row])
                z = v[0, row, order] - t_f * (2 * np.arange(K) - K + 1)
                want = np.empty(K)
                want[order] = IsotonicRegression().fit_transform(np.arange(K), z)
                np.testing.assert_allclose(x[0, row], want, atol=1e-12)


def test_metag_levels_collapse_to_the_weakest(small_problem):
    # every MeTaG component carries the same norm (column fusion), so by the triangle inequality
    # inf_{W_1 + W_2 = W} c_1 f(W_1) + c_2 f(W_2) = min(c_1, c_2) f(W): the h = 2 fit at
    # (alpha, phi) is the one-level fit with weight alpha / phi^2, i.e. MeTaG(h=1) at alpha / phi
    prob = make_problem(*small_problem, shared=False)
    two = spg.solve(prob, MeTaG(n_components=2, phi=5.0), 0.5, tol=1e-7, max_iter=20_000)
    one = spg.solve(prob, MeTaG(n_components=1, phi=5.0), 0.1, tol=1e-7, max_iter=20_000)
    assert two.converged and one.converged
    assert two.objective == pytest.approx(one.objective, rel=1e-5)
    np.testing.assert_allclose(two.coef, one.coef, atol=1e-3)
    # and the value of the h = 2 penalty at the split (W, 0) exceeds the optimum's: the weaker
    # level takes all of W
    W = one.coef
    assert MeTaG(n_components=2, phi=5.0).value(np.stack([np.zeros_like(W), W])) == pytest.approx(
        MeTaG(n_components=1, phi=5.0).value(W[None]) / 5.0, rel=1e-12)


def test_rmtfl_recovers_its_scenario_up_to_the_identifiable_floor():
    # rMTFL scenario (p = 200, m = 30, 50 rows per task): the outlier tasks' columns are dense,
    # so only their projection on the row space of X_t is identified. Floor: an oracle knowing
    # the shared rows and the outlier tasks (least squares on the rows for the regular tasks,
    # the posterior mean under the true prior for the outliers).
    data, Wt = gengl_scenarios("rmtfl", seed=0)
    W0 = Wt.to_numpy()
    p, m = W0.shape
    rows = np.flatnonzero(np.abs(Wt.attrs["components"][0]).sum(1))
    feats = [f"x{j}" for j in range(1, p + 1)]
    X = data[feats].to_numpy().reshape(m, 50, p)
    y = data["y"].to_numpy().reshape(m, 50)
    floor = np.zeros((p, m))
    d = np.ones(p)
    d[rows] = 4.0
    for t in range(m):
        if t < m - 10:
            floor[rows, t] = np.linalg.lstsq(X[t][:, rows], y[t], rcond=None)[0]
        else:
            floor[:, t] = d * (X[t].T @ np.linalg.solve((X[t] * d) @ X[t].T + 0.01 * np.eye(50), y[t]))
    rel = lambda W: np.linalg.norm(W - W0) / np.linalg.norm(W0)  # noqa: E731
    assert 0.68 < rel(floor) < 0.70
    formula = "y ~ " + " + ".join(feats)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mtreg.fit(formula, data=data, task="task", penalty=RMTFL(cols=3.0), alpha=0.1,
                        tol=1e-4, max_iter=3000)
    W = res.params.to_numpy()
    Q = res.components["component 2"].to_numpy()
    q = np.linalg.norm(Q, axis=0)
    out = q > 1e-6 * q.max()
    assert out[m - 10:].all() and out[: m - 10].sum() <= 1  # the 10 outlier tasks found
    assert rel(W) < rel(floor) + 0.01
    reg = slice(0, m - 10)
    assert np.linalg.norm(W[:, reg] - W0[:, reg]) / np.linalg.norm(W0[:, reg]) < 0.15
