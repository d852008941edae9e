"""SG-MTL (W-step, U-step, outer loop), its baselines, the cluster report and the simulator."""
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet
from sklearn.metrics import adjusted_rand_score

import mtreg
from mtreg.clusters import cluster_order, cluster_report
from mtreg.penalties.sgmtl import (
    SGMTL,
    fusion_value,
    project_simplex,
    u_step,
    vertex_moves,
)
from mtreg.simulate import sgmtl_groups
from mtreg.solvers import sgmtl as sgmtl_solver
from mtreg.solvers.problem import make_problem


def _random_problem(seed=0, K=6, p=8, sizes=None, shared=False):
    rng = np.random.default_rng(seed)
    sizes = sizes or [30 + 3 * k for k in range(K)]
    if shared:
        n = sizes[0]
        X = rng.standard_normal((n, p))
        W = rng.standard_normal((p, K)) * (rng.random((p, K)) < 0.5)
        y = np.concatenate([X @ W[:, k] + 0.5 * rng.standard_normal(n) for k in range(K)])
        ptr = np.arange(K + 1) * n
    else:
        X = rng.standard_normal((sum(sizes), p))
        ptr = np.concatenate([[0], np.cumsum(sizes)])
        W = rng.standard_normal((p, K)) * (rng.random((p, K)) < 0.5)
        y = np.concatenate([X[ptr[k]:ptr[k + 1]] @ W[:, k] for k in range(K)])
        y += 0.5 * rng.standard_normal(y.size)
    return make_problem(X, y, ptr, shared=shared, fit_intercept=True, standardize=False)


def _objective(problem, W, U, alpha):
    S = np.sqrt(U @ (W * W).T)
    return problem.datafit(W) + alpha * np.sum(S.sum(axis=1) ** 2)


# ------------------------------------------------------------------ simplex projection
def _project_reference(v):
    """Sorted-threshold projection, written as a plain loop."""
    u = np.sort(v)[::-1]
    tau = 0.0
    for k in range(1, len(v) + 1):
        t = (u[:k].sum() - 1.0) / k
        if u[k - 1] - t > 0:
            tau = t
    return np.maximum(v - tau, 0.0)


def test_project_simplex_matches_sorted_threshold_and_qp():
    rng = np.random.default_rng(0)
    for _ in range(30):
        N = int(rng.integers(1, 8))
        V = rng.standard_normal((N, 5)) * rng.uniform(0.1, 5)
        P = project_simplex(V)
        assert np.allclose(P.sum(axis=0), 1.0) and np.all(P >= 0)
        for k in range(V.shape[1]):
            assert np.allclose(P[:, k], _project_reference(V[:, k]), atol=1e-12)
            qp = minimize(lambda u, v=V[:, k]: 0.5 * np.sum((u - v) ** 2), np.full(N, 1.0 / N),
                          jac=lambda u, v=V[:, k]: u - v, method="SLSQP", bounds=[(0, None)] * N,
                          constraints=[{"type": "eq", "fun": lambda u: u.sum() - 1.0,
                                        "jac": lambda u: np.ones_like(u)}],
                          options={"ftol": 1e-14, "maxiter": 500})
            assert np.allclose(P[:, k], qp.x, atol=1e-6)
    # 1-D input and points already on the simplex
    assert np.allclose(project_simplex(np.array([0.2, 0.3, 0.5])), [0.2, 0.3, 0.5])


# ------------------------------------------------------------------ W-step
def _prox_squared_l12(V, mu):
    """prox of mu (sum_j ||V_j||)^2 over the rows of V (exact, sorted threshold)."""
    r = np.sqrt(np.einsum("ij,ij->i", V, V))
    srt = np.sort(r)[::-1]
    k = np.arange(1, len(r) + 1)
    Sk = np.cumsum(srt) / (1 + 2 * mu * k)
    valid = np.flatnonzero(srt > 2 * mu * Sk)
    S = Sk[valid[-1]] if valid.size else 0.0
    rho = np.maximum(r - 2 * mu * S, 0.0)
    scale = np.divide(rho, r, out=np.zeros_like(r), where=r > 0)
    return V * scale[:, None]


def _fista_disjoint(problem, labels, alpha, n_iter=6000):
    """Slow reference: FISTA with the exact prox, for U binary (labels) or N = 1."""
    K, p = problem.n_tasks, problem.n_features
    Xs = [problem.task_X(k) for k in range(K)]
    H = np.stack([Xk.T @ Xk / Xk.shape[0] for Xk in Xs])  # (K, p, p)
    c = np.stack([Xs[k].T @ problem.task_y(k) / Xs[k].shape[0] for k in range(K)], axis=1)
    step = 1.0 / max(np.linalg.eigvalsh(Hk)[-1] for Hk in H)
    W = np.zeros((p, K))
    Z, tk = W.copy(), 1.0
    for _ in range(n_iter):
        G = c - np.einsum("kij,jk->ik", H, Z)  # minus the gradient of the data fit
        V = Z + step * G
        Wn = np.empty_like(V)
        for g in np.unique(labels):
            cols = labels == g
            Wn[:, cols] = _prox_squared_l12(V[:, cols], step * alpha)
        tn = (1 + np.sqrt(1 + 4 * tk * tk)) / 2
        Z = Wn + (tk - 1) / tn * (Wn - W)
        W, tk = Wn, tn
    return W


@pytest.mark.parametrize("n_groups", [1, 3])
def test_w_step_matches_fista_reference(n_groups):
    problem = _random_problem(seed=n_groups, K=6, p=7)
    labels = np.arange(6) % n_groups
    U = np.zeros((n_groups, 6))
    U[labels, np.arange(6)] = 1.0
    alpha = 0.03
    W, f, _ = sgmtl_solver.solve_w(problem, U, alpha, tol=1e-14)
    W_ref = _fista_disjoint(problem, labels, alpha)
    f_ref = _objective(problem, W_ref, U, alpha)
    assert f == pytest.approx(_objective(problem, W, U, alpha), rel=1e-12)
    assert abs(f - f_ref) <= 1e-6 * f_ref
    assert np.abs(W - W_ref).max() < 1e-4
    # exact zeros where the reference has them
    assert np.all(W[np.abs(W_ref) == 0] == 0)


def test_n_groups_1_is_squared_group_lasso():
    """N = 1: Omega = (sum_j ||W_j||)^2; the fit equals the W-step with U = 1."""
    problem = _random_problem(seed=5, K=4, p=6, shared=True)
    alpha = 0.05
    rec = sgmtl_solver.solve(problem, SGMTL(n_groups=1, n_init=1), alpha, tol=1e-12)
    W, f, _ = sgmtl_solver.solve_w(problem, np.ones((1, 4)), alpha, tol=1e-14)
    assert np.allclose(rec.coef, W, atol=1e-7)
    assert rec.objective == pytest.approx(f, rel=1e-8)
    W_ref = _fista_disjoint(problem, np.zeros(4, dtype=int), alpha)
    assert f == pytest.approx(_objective(problem, W_ref, np.ones((1, 4)), alpha), rel=1e-6)


def test_w_step_soft_membership_matches_smoothed_reference():
    """Soft (overlapping) U: compare with L-BFGS on a smoothed objective (continuation)."""
    problem = _random_problem(seed=3, K=5, p=6)
    rng = np.random.default_rng(1)
    U = rng.dirichlet(np.ones(3), size=5).T
    alpha = 0.02
    W, f, _ = sgmtl_solver.solve_w(problem, U, alpha, tol=1e-14)
    p, K = W.shape

    def fun(x, eps):
        Wx = x.reshape(p, K)
        S = np.sqrt(U @ (Wx * Wx).T + eps**2)  # (N, p)
        T = S.sum(axis=1)
        grad_pen = 2 * Wx * ((T[:, None] / S).T @ U)  # d/dW sum_g T_g^2
        return (problem.datafit(Wx) + alpha * np.sum(T**2),
                (-problem.gradient(Wx) + alpha * grad_pen).ravel())

    x = np.zeros(p * K)
    for eps in [1e-2, 1e-4, 1e-6, 1e-8, 1e-10]:
        x = minimize(fun, x, args=(eps,), jac=True, method="L-BFGS-B",
                     options={"ftol": 1e-16, "gtol": 1e-12, "maxiter": 20000}).x
    f_ref = _objective(problem, x.reshape(p, K), U, alpha)
    assert f <= f_ref * (1 + 1e-6)
    assert abs(f - f_ref) <= 1e-6 * f_ref


# ------------------------------------------------------------------ U-step
def test_u_step_monotone_and_gradient():
    rng = np.random.default_rng(2)
    W = rng.standard_normal((6, 5)) * (rng.random((6, 5)) < 0.6)
    pen = SGMTL(n_groups=3, fusion=0.1)
    U = rng.dirichlet(np.ones(3), size=5).T
    # gradient against finite differences (interior point, all s_gj > 0 ...)
    Wd = rng.standard_normal((6, 5))
    G = pen.membership_gradient(Wd, U)
    E = np.zeros_like(U)
    E[1, 2] = 1e-6
    fd = (pen.value_with(Wd, U + E) - pen.value_with(Wd, U - E)) / 2e-6
    assert G[1, 2] == pytest.approx(fd, rel=1e-5)
    f0 = pen.value_with(W, U)
    U1, f1, _ = u_step(W, U, 0.1, max_iter=30)
    assert f1 <= f0 and f1 == pytest.approx(pen.value_with(W, U1))
    assert np.allclose(U1.sum(axis=0), 1.0) and np.all(U1 >= 0)
    U2, f2, _ = vertex_moves(W * W, U1, 0.1)
    assert f2 <= f1 and np.allclose(U2.sum(axis=0), 1.0)


def test_fusion_value():
    U = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]])
    brute = sum(np.sum((U[:, a] - U[:, b]) ** 2) for a in range(3) for b in range(a + 1, 3))
    assert fusion_value(U) == pytest.approx(brute)


# ------------------------------------------------------------------ the full fit
@pytest.fixture(scope="module")
def small_groups():
    return sgmtl_groups("set1", seed=1, n_tasks=12, n_samples=40)


def _formula(coef):
    return "y ~ " + " + ".join(coef.index)


@pytest.mark.parametrize("fusion", [0.0, 0.05])
def test_objective_never_increases(small_groups, fusion):
    data, coef, _ = small_groups
    res = mtreg.fit(_formula(coef), task="task", data=data, penalty="sgmtl", alpha=0.01,
                    n_groups=4, fusion=fusion, n_init=3, random_state=0, polish=False)
    trace = res.record.extra["objective_trace"]
    assert len(trace) >= 2
    assert np.all(np.diff(trace) <= 0)
    assert res.record.objective == pytest.approx(trace[-1])
    U = res.record.extra["U"]
    assert U.shape == (4, 12) and np.allclose(U.sum(axis=0), 1.0)
    assert len(res.record.extra["n_init_objectives"]) == 3
    assert res.record.objective == pytest.approx(min(res.record.extra["n_init_objectives"]))


def test_fixed_seed_reproducible(small_groups):
    data, coef, _ = small_groups
    fits = [mtreg.fit(_formula(coef), task="task", data=data, penalty="sgmtl", alpha=0.01,
                      n_groups=3, n_init=4, random_state=7) for _ in range(2)]
    assert np.array_equal(fits[0].params.to_numpy(), fits[1].params.to_numpy())
    assert np.array_equal(fits[0].record.extra["U"], fits[1].record.extra["U"])


def test_known_groups_recovered(small_groups):
    data, coef, groups = small_groups
    res = mtreg.fit(_formula(coef), task="task", data=data, penalty="sgmtl", alpha=0.01,
                    n_groups=3, n_init=5, random_state=0)
    assert res.converged
    labels = res.record.extra["labels"]
    assert adjusted_rand_score(groups.loc[res.params.columns], labels) == 1.0
    rep = cluster_report(res.params, res.record.extra["U"], truth=groups)
    assert rep.ari == 1.0 and rep.n_active == 3
    assert np.all(np.diag(rep.confusion.to_numpy()[:, np.argmax(rep.confusion.to_numpy(), 1)]) == 4)


def test_results_cluster_report_summary_and_plots(small_groups):
    import matplotlib

    matplotlib.use("Agg")
    data, coef, groups = small_groups
    res = mtreg.fit(_formula(coef), task="task", data=data, penalty="sgmtl", alpha=0.01,
                    n_groups=3, n_init=5, random_state=0)
    rep = res.clusters(truth=groups)
    assert rep.ari == 1.0
    assert "Adjusted Rand" in rep.as_text() or "ARI" in rep.as_text()
    text = res.summary().as_text()
    assert "cluster" in text
    ax = res.plot_clusters()
    np.testing.assert_allclose(np.asarray(ax.get_images()[0].get_array()).shape,
                               res.record.extra["U"].shape)
    ax2 = res.plot_coef()
    assert len(ax2.get_images()) == 1


def test_alpha_reference_scale_and_warning(small_groups):
    data, coef, _ = small_groups
    G0 = np.array([[3.0, 4.0], [0.0, 1.0], [0.0, 0.0]])
    assert SGMTL().alpha_max(G0) == pytest.approx(5.0 / (2 * 6.0))
    with pytest.raises(ValueError, match="give alpha explicitly"):
        SGMTL().alpha_max(np.zeros((3, 2)))
    # alpha_frac is relative to the reference scale
    res = mtreg.fit(_formula(coef), task="task", data=data, penalty="sgmtl", n_groups=3, n_init=2,
                    alpha_frac=0.05, random_state=0)
    assert res.alpha == pytest.approx(0.05 * res.alpha_max)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        mtreg.fit(_formula(coef), task="task", data=data, penalty="sgmtl", alpha=0.01,
                  n_groups=3, n_init=1, max_outer=1, random_state=0, polish=False)


def test_penalty_validation_and_value():
    with pytest.raises(ValueError, match="n_groups"):
        SGMTL(n_groups=0)
    with pytest.raises(ValueError, match="fusion"):
        SGMTL(fusion=-1)
    pen = SGMTL(n_groups=2)
    W = np.zeros((4, 3))
    W[:2, :2] = 1.0
    W[2:, 2] = 1.0
    # tasks 0, 1 share a support, task 2 has another: the best U separates them
    U = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert pen.value_with(W, U) == pytest.approx((2 * np.sqrt(2)) ** 2 + 2.0**2)
    assert pen.value(W) == pytest.approx(pen.value_with(W, U))


# ------------------------------------------------------------------ baselines
@pytest.fixture(scope="module")
def baseline_data():
    return sgmtl_groups("set1", seed=2, n_tasks=6, n_samples=30, n_groups=2)


def test_stl_equals_per_task_elastic_net(baseline_data):
    data, coef, _ = baseline_data
    res = mtreg.fit(_formula(coef), task="task", data=data, penalty="stl", alpha=0.05,
                    standardize=False, tol=1e-12, max_iter=100_000)
    for task, d in data.groupby("task"):
        en = ElasticNet(alpha=0.05, l1_ratio=0.5, tol=1e-14, max_iter=100_000).fit(d[coef.index], d.y)
        assert np.allclose(res.params[task], en.coef_, atol=1e-7)
        assert res.intercepts[task] == pytest.approx(en.intercept_, abs=1e-7)


def test_alltasks_equals_pooled_elastic_net(baseline_data):
    data, coef, _ = baseline_data
    res = mtreg.fit(_formula(coef), task="task", data=data, penalty="alltasks", alpha=0.05,
                    standardize=False, tol=1e-12, max_iter=100_000)
    cols = list(coef.index)
    Xc = data[cols] - data.groupby("task")[cols].transform("mean")
    yc = data.y - data.groupby("task").y.transform("mean")
    en = ElasticNet(alpha=0.05, l1_ratio=0.5, fit_intercept=False, tol=1e-14,
                    max_iter=100_000).fit(Xc, yc)
    assert np.allclose(res.params.to_numpy(), en.coef_[:, None], atol=1e-7)
    means = data.groupby("task")[cols + ["y"]].mean()
    assert np.allclose(res.intercepts, means.y - means[cols] @ en.coef_, atol=1e-7)
    # alpha_max: w = 0 from there on, not below
    model = mtreg.MultiTaskModel.from_formula(_formula(coef), data, task="task", penalty="alltasks",
                                              standardize=False)
    amax = model.alpha_max()
    assert np.all(model.fit(amax, tol=1e-10).params.to_numpy() == 0)
    assert np.any(model.fit(0.95 * amax, tol=1e-10).params.to_numpy() != 0)


def test_clusmtl_clusters_equal_kmeans_on_stl(baseline_data):
    data, coef, _ = baseline_data
    res = mtreg.fit(_formula(coef), task="task", data=data, penalty="clusmtl", alpha=0.05,
                    n_groups=2, random_state=3, standardize=False, tol=1e-12, max_iter=100_000)
    stl = np.column_stack([
        ElasticNet(alpha=0.05, l1_ratio=0.5, tol=1e-14, max_iter=100_000).fit(d[coef.index], d.y).coef_
        for _, d in data.groupby("task")])
    km = KMeans(n_clusters=2, n_init=10, random_state=3).fit_predict(stl.T)
    assert np.array_equal(res.record.extra["labels"], km)
    # within each cluster: the group lasso of that cluster alone
    for c in np.unique(km):
        tasks = res.params.columns[km == c]
        sub = data[data.task.isin(tasks)]
        gl = mtreg.fit(_formula(coef), task="task", data=sub, penalty="group_lasso", alpha=0.05,
                       standardize=False, tol=1e-12, max_iter=100_000)
        assert np.allclose(res.params[tasks].to_numpy(), gl.params.to_numpy(), atol=1e-7)


# ------------------------------------------------------------------ report and plots
def test_cluster_report_rendering():
    params = pd.DataFrame([[1.0, 0.8, 0.0, 0.0], [0.0, 0.0, 2.0, -1.0], [0.5, 0.0, 0.0, 0.0]],
                          index=["a", "b", "c"], columns=["t1", "t2", "t3", "t4"])
    U = np.array([[0.9, 1.0, 0.0, 0.3], [0.1, 0.0, 1.0, 0.7], [0.0, 0.0, 0.0, 0.0]])
    truth = pd.Series([0, 0, 1, 0], index=["t1", "t2", "t3", "t4"])
    rep = cluster_report(params, U, truth=truth)
    assert rep.n_active == 2
    assert list(rep.labels) == [1, 1, 2, 2]
    assert np.allclose(rep.assignments["probability"], [0.9, 1.0, 1.0, 0.7])
    assert rep.ari == pytest.approx(adjusted_rand_score([0, 0, 1, 0], [1, 1, 2, 2]))
    assert rep.confusion.loc[0, "G1"] == 2 and rep.confusion.loc[0, "G2"] == 1
    assert rep.clusters.loc["G1", "support"] == 2
    assert rep.cluster_features["G1"].to_dict() == pytest.approx({"a": 0.9, "c": 0.25})
    text = str(rep)
    assert "Adjusted Rand index" in text and "Active clusters" in text and "G2" in text
    assert "<table" in rep._repr_html_()
    assert "\\begin{" in rep.as_latex()
    assert "ARI" in repr(rep)
    assert list(cluster_order(U)) == [1, 0, 2, 3]
    with pytest.raises(ValueError, match="shape"):
        cluster_report(params, U[:, :3])


def test_plots():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    from mtreg.plotting import plot_clusters, plot_coef

    U = np.array([[1.0, 0.2, 0.0], [0.0, 0.8, 1.0]])
    ax = plot_clusters(U, tasks=["a", "b", "c"])
    assert ax.images[0].get_array().shape == (2, 3)
    params = pd.DataFrame(np.arange(6.0).reshape(2, 3), columns=["a", "b", "c"])
    ax = plot_coef(params, order=["c", "a", "b"], clusters=[0, 0, 1])
    assert np.array_equal(ax.images[0].get_array(), params[["c", "a", "b"]].to_numpy())
    import matplotlib.pyplot as plt

    plt.close("all")


# ------------------------------------------------------------------ simulator
def test_simulator_settings():
    data, coef, groups = sgmtl_groups("set1", seed=0)
    assert data.shape == (30 * 15, 2 + 21) and coef.shape == (21, 30)
    assert groups.value_counts().tolist() == [10, 10, 10]
    supp = coef.to_numpy() != 0
    assert supp[:7, :10].all() and not supp[7:, :10].any()  # block diagonal
    data, coef, groups = sgmtl_groups("set2", seed=0)
    assert data.shape == (30 * 100, 152) and groups.nunique() == 5
    S = [set(np.flatnonzero(coef.iloc[:, t].to_numpy())) for t in range(0, 30, 6)]
    assert all(len(s) == 30 for s in S)
    assert all(len(S[g] & S[g + 1]) == 9 for g in range(4))  # 30% overlap
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = sgmtl_groups("set2", seed=0)
    assert again.data.equals(data)
    with pytest.raises(ValueError, match="setting"):
        sgmtl_groups("set3")


# ------------------------------------------------------------------ polish and relaxed refit
def _hard(labels, N):
    U = np.zeros((N, len(labels)))
    U[labels, np.arange(len(labels))] = 1.0
    return U


def test_polish_moves_a_misassigned_task_and_is_monotone(small_groups):
    data, coef, groups = small_groups
    model = mtreg.MultiTaskModel.from_formula(_formula(coef), data, task="task", penalty="sgmtl",
                                              n_groups=3)
    problem, alpha = model.problem, 0.01
    d = sgmtl_solver._DenseTasks(problem)
    truth = groups.loc[model.design.tasks].to_numpy()
    wrong = truth.copy()
    wrong[0] = (truth[0] + 1) % 3  # task 0 in a wrong group
    U = _hard(wrong, 3)
    W, F, _ = sgmtl_solver.solve_w(problem, U, alpha, tol=1e-12)
    W = np.asfortranarray(W)
    W0, _, _ = sgmtl_solver.solve_w(problem, np.eye(len(truth)), alpha, tol=1e-12)
    eps = 1e-12 * d.datafit(d.y)
    F2, W2, U2, moves, _ = sgmtl_solver._polish(d, W, U, alpha, 0.0, F, eps, 100_000, W0)
    assert moves >= 1 and F2 < F
    assert adjusted_rand_score(truth, np.argmax(U2, axis=0)) == 1.0
    # the returned objective is the objective of the returned (W, U)
    assert F2 == pytest.approx(_objective(problem, W2, U2, alpha), rel=1e-10)
    # and the polished W is the W-step optimum for the polished U
    _, F_ref, _ = sgmtl_solver.solve_w(problem, U2, alpha, tol=1e-14)
    assert F2 == pytest.approx(F_ref, rel=1e-6)


def test_moves_to_different_empty_groups_are_equivalent():
    """The polish tries one empty group only: moving a task to either gives the same optimum."""
    problem = _random_problem(seed=4, K=6, p=7)
    labels = np.array([0, 0, 0, 1, 1, 1])
    fits = []
    for g in (2, 3):
        lab = labels.copy()
        lab[0] = g
        fits.append(sgmtl_solver.solve_w(problem, _hard(lab, 4), 0.03, tol=1e-14))
    assert fits[0][1] == pytest.approx(fits[1][1], rel=1e-10)
    assert np.allclose(fits[0][0], fits[1][0], atol=1e-8)


def test_relaxed_refit_of_sgmtl_is_ols_on_each_task_support(small_groups):
    data, coef, _ = small_groups
    res = mtreg.fit(_formula(coef), task="task", data=data, penalty="sgmtl", alpha=0.05,
                    n_groups=3, n_init=2, random_state=0)
    rr = res.refit(method="relaxed")
    assert not rr.valid_inference
    for task, d in data.groupby("task"):
        cols = res.params.index[res.params[task] != 0]
        assert 0 < len(cols) < len(d) - 1
        X = np.column_stack([np.ones(len(d)), d[cols].to_numpy()])
        beta = np.linalg.lstsq(X, d.y.to_numpy(), rcond=None)[0]
        assert np.allclose(rr.params.loc[cols, task], beta[1:], atol=1e-8)
        assert rr.intercepts[task] == pytest.approx(beta[0], abs=1e-8)
        assert np.all(rr.params.loc[~res.params.index.isin(cols), task] == 0)
