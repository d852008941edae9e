"""family="binomial": sparse multi-task logistic regression (issue 10).

References: scikit-learn's LogisticRegression (saga) for the lasso / elastic net per task, a slow
numpy proximal-gradient solver (below) for the group lasso on a shared design, statsmodels'
Logit for the unpenalised deviance.
"""
import importlib.util
import inspect
import pathlib
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
from scipy.special import expit, logit

import mtreg
from mtreg.penalties import REGISTRY, GroupLasso, Lasso
from mtreg.solvers.logistic import logistic_loss, make_logistic_problem, solve


# ----------------------------------------------------------------------------- data
def _tasks(seed=0, K=3, n=80, p=8, shared=False, separable=False):
    rng = np.random.default_rng(seed)
    W = np.zeros((p, K))
    W[:3] = rng.standard_normal((3, K)) * 1.5
    Xs = [rng.standard_normal((n, p))] * K if shared else [rng.standard_normal((n, p)) for _ in range(K)]
    ys = []
    for k, X in enumerate(Xs):
        eta = X @ W[:, k] + 0.3
        ys.append((eta > 0).astype(float) if separable else
                  (rng.random(n) < expit(eta)).astype(float))
    return Xs, ys


def _frame(seed=0, K=3, n=60, p=5, labels=None):
    Xs, ys = _tasks(seed, K, n, p)
    parts = []
    for k, (X, y) in enumerate(zip(Xs, ys, strict=True)):
        d = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
        d["y"] = y if labels is None else np.where(y == 1, labels[1], labels[0])
        d["task"] = f"t{k}"
        parts.append(d)
    return pd.concat(parts, ignore_index=True)


def _objective(X, y, w, b, alpha, l1_ratio=1.0):
    eta = X @ w + b
    pen = l1_ratio * np.abs(w).sum() + 0.5 * (1 - l1_ratio) * w @ w
    return logistic_loss(y, eta).mean() + alpha * pen


def _sk_logistic(alpha, n, l1_ratio):
    """scikit-learn's l1 / elastic-net logistic regression with C = 1 / (n alpha)."""
    options = dict(C=1.0 / (n * alpha), solver="saga", tol=1e-12, max_iter=200_000)
    major, minor = (int(v) for v in sklearn.__version__.split(".")[:2])
    if (major, minor) >= (1, 8):  # `penalty` is deprecated there: l1_ratio alone selects it
        return sklearn.linear_model.LogisticRegression(l1_ratio=l1_ratio, **options)
    penalty = "l1" if l1_ratio == 1 else "elasticnet"
    extra = {} if l1_ratio == 1 else {"l1_ratio": l1_ratio}
    return sklearn.linear_model.LogisticRegression(penalty=penalty, **extra, **options)


# ----------------------------------------------------------------------------- references
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_lasso_and_elastic_net_match_sklearn_saga(l1_ratio):
    import sklearn.linear_model  # noqa: F401

    Xs, ys = _tasks(0, K=3, n=80, p=8)
    alpha = 0.03
    model = mtreg.MultiTaskModel.from_arrays(Xs, ys, penalty="lasso", l1_ratio=l1_ratio,
                                             family="binomial", standardize=False)
    res = model.fit(alpha, tol=1e-10)
    assert res.converged and res.record.gap <= res.record.gap_tol
    for k, (X, y) in enumerate(zip(Xs, ys, strict=True)):
        sk = _sk_logistic(alpha, len(y), l1_ratio).fit(X, y)
        ours = _objective(X, y, res.params.iloc[:, k].to_numpy(), res.intercepts.iloc[k], alpha,
                          l1_ratio)
        ref = _objective(X, y, sk.coef_[0], sk.intercept_[0], alpha, l1_ratio)
        assert abs(ours - ref) <= 1e-5 * abs(ref)
        np.testing.assert_allclose(res.params.iloc[:, k], sk.coef_[0], atol=1e-4)


@pytest.mark.parametrize("layout", ["per-task dense", "per-task sparse", "shared dense",
                                    "shared sparse"])
def test_prox_newton_kernel_matches_liblinear(layout):
    """The Cython proximal Newton kernel (l1, no intercept) vs liblinear's l1 logistic regression."""
    from sklearn.linear_model import LogisticRegression

    shared, sparse = layout.startswith("shared"), layout.endswith("sparse")
    Xs, ys = _tasks(7, K=3, n=90, p=30, shared=shared)
    if sparse:  # a sparse design with ~30% nonzeros (same values for mtreg and liblinear)
        mask = np.random.default_rng(1).random(Xs[0].shape) < 0.3
        Xs = [X * mask for X in Xs] if shared else [X * (np.random.default_rng(k).random(X.shape) < 0.3)
                                                     for k, X in enumerate(Xs)]
    alpha = 0.02
    if shared:
        X = sp.csc_matrix(Xs[0]) if sparse else Xs[0]
        lp = make_logistic_problem(X, np.concatenate(ys), np.arange(4) * 90, shared=True,
                                   fit_intercept=False, standardize=False)
    else:
        X = np.vstack(Xs)
        lp = make_logistic_problem(sp.csc_matrix(X) if sparse else X, np.concatenate(ys),
                                   np.arange(4) * 90, shared=False, fit_intercept=False,
                                   standardize=False)
    rec = solve(lp, Lasso(), alpha, tol=1e-10)
    assert rec.converged and rec.solver == "logistic+prox_newton" and rec.gap <= rec.gap_tol
    for k, (Xk, y) in enumerate(zip(Xs, ys, strict=True)):
        ll = LogisticRegression(penalty="l1", C=1 / (len(y) * alpha), solver="liblinear",
                                fit_intercept=False, tol=1e-12, max_iter=100_000)
        with warnings.catch_warnings():  # penalty= is deprecated in sklearn 1.8 (same fit)
            warnings.simplefilter("ignore", FutureWarning)
            warnings.filterwarnings("ignore", message="Inconsistent values", category=UserWarning)
            ll.fit(sp.csr_matrix(Xk) if sparse else Xk, y)
        ours = _objective(Xk, y, rec.coef[:, k], 0.0, alpha)
        ref = _objective(Xk, y, ll.coef_[0], 0.0, alpha)
        assert ours <= ref * (1 + 1e-9)  # liblinear stops short, never lower than the optimum
        assert abs(ours - ref) <= 1e-6 * abs(ref)
        np.testing.assert_allclose(rec.coef[:, k], ll.coef_[0], atol=1e-4)


def _kkt_violation(X, Y, W, alpha, l21):
    """Largest violation of the optimality conditions of sum_k mean loss + alpha Omega(W) (numpy).

    No intercepts; ``G = X^T (Y - expit(X W)) / n`` must equal ``alpha`` times a subgradient.
    """
    G = np.asarray(X.T @ (Y - expit(np.asarray(X @ W)))) / X.shape[0]
    if l21:
        nrm = np.linalg.norm(W, axis=1)
        on = nrm > 0
        E = G[on] - alpha * W[on] / nrm[on, None]
        off = np.maximum(np.linalg.norm(G[~on], axis=1) - alpha, 0.0)
        return max(np.linalg.norm(E, axis=1).max(initial=0.0), off.max(initial=0.0))
    on = W != 0
    return max(np.abs(G[on] - alpha * np.sign(W[on])).max(initial=0.0),
               np.maximum(np.abs(G[~on]) - alpha, 0.0).max(initial=0.0))


@pytest.mark.parametrize("penalty", [Lasso(), GroupLasso()])
def test_kernel_on_a_near_interpolating_sparse_design_with_and_without_anderson(penalty, monkeypatch):
    """The hardest problem of benchmarks/bench_binomial.py (shared sparse design, alpha_max / 50,
    nearly as many nonzeros per task as rows) at reduced size: the kernel with Anderson-accelerated
    CD epochs and without reach the same certified optimum, which satisfies the optimality
    conditions computed in numpy, and (lasso) equals liblinear's fit."""
    from sklearn.linear_model import LogisticRegression

    from mtreg.solvers import logistic

    rng = np.random.default_rng(11)
    n, p, K = 60, 300, 3
    Xd = rng.standard_normal((n, p)) * (rng.random((n, p)) < 0.1)
    W_true = np.zeros((p, K))
    W_true[:10] = rng.normal(0.0, 3.0, (10, K))
    Y = (rng.random((n, K)) < expit(Xd @ W_true)).astype(float)
    lp = make_logistic_problem(sp.csc_matrix(Xd), Y.T.ravel(), np.arange(K + 1) * n, shared=True,
                               fit_intercept=False, standardize=False)
    alpha = logistic.alpha_max(lp, penalty) / 50
    fast = solve(lp, penalty, alpha, tol=1e-10)
    monkeypatch.setattr(logistic, "_ANDERSON", 0)
    plain = solve(lp, penalty, alpha, tol=1e-10)
    for rec in (fast, plain):
        assert rec.converged and rec.solver == "logistic+prox_newton" and rec.gap <= rec.gap_tol
    assert abs(fast.objective - plain.objective) <= 1e-9 * plain.objective
    assert fast.n_iter < plain.n_iter  # the extrapolation is used (counts CD epochs, not time)
    l21 = isinstance(penalty, GroupLasso)
    nnz = np.count_nonzero(fast.coef.any(axis=1)) if l21 else np.count_nonzero(fast.coef, axis=0).min()
    assert nnz >= n // 3  # the ill-conditioned regime of the benchmark, not a trivial fit
    assert _kkt_violation(Xd, Y, fast.coef, alpha, l21) <= 1e-5 * alpha
    if l21:
        return
    for k in range(K):
        ll = LogisticRegression(penalty="l1", C=1 / (n * alpha), solver="liblinear",
                                fit_intercept=False, tol=1e-12, max_iter=100_000)
        with warnings.catch_warnings():  # penalty= is deprecated in sklearn 1.8 (same fit)
            warnings.simplefilter("ignore", FutureWarning)
            warnings.filterwarnings("ignore", message="Inconsistent values", category=UserWarning)
            ll.fit(sp.csr_matrix(Xd), Y[:, k])
        ours = _objective(Xd, Y[:, k], fast.coef[:, k], 0.0, alpha)
        ref = _objective(Xd, Y[:, k], ll.coef_[0], 0.0, alpha)
        assert ours <= ref * (1 + 1e-9) and abs(ours - ref) <= 1e-6 * abs(ref)


@pytest.mark.parametrize("penalty", [Lasso(), GroupLasso(), Lasso(l1_ratio=0.5)])
def test_solve_path_warm_starts_equal_cold_fits(penalty):
    """solve_path (warm starts + strong rules) certifies every alpha and equals cold fits."""
    from mtreg.solvers.logistic import alpha_max, solve_path

    Xs, ys = _tasks(4, K=4, n=60, p=40)
    lp = make_logistic_problem(np.vstack(Xs), np.concatenate(ys), np.arange(5) * 60, shared=False)
    amax = alpha_max(lp, penalty)
    alphas = amax * np.geomspace(1.0, 0.02, 12)
    recs = solve_path(lp, penalty, alphas, tol=1e-9)
    assert not recs[0].coef.any()
    for alpha, rec in zip(alphas, recs, strict=True):
        cold = solve(lp, penalty, alpha, tol=1e-9)
        assert rec.converged and rec.gap <= rec.gap_tol
        assert abs(rec.objective - cold.objective) <= 1e-8 * cold.objective
        # (the objective is certified; coefficients of the near-flat small-alpha fits less so)
        np.testing.assert_allclose(rec.coef, cold.coef, atol=1e-3)
        np.testing.assert_array_equal(rec.coef != 0, cold.coef != 0)


def _prox_grad_group_lasso(X, Y, alpha, n_iter=20_000):
    """Slow, obvious FISTA for sum_k mean logistic loss + alpha sum_j ||W_j||, intercepts free."""
    n, p = X.shape
    K = Y.shape[1]
    A = np.column_stack([X, np.ones(n)])
    L = np.linalg.eigvalsh(A.T @ A)[-1] / (4 * n)
    V = np.zeros((p + 1, K))
    Z, t = V.copy(), 1.0
    for _ in range(n_iter):
        G = A.T @ (expit(A @ Z) - Y) / n
        U = Z - G / L
        W = U[:p]
        nrm = np.linalg.norm(W, axis=1, keepdims=True)
        W = W * np.maximum(1 - alpha / L / np.maximum(nrm, 1e-300), 0)
        V_new = np.vstack([W, U[p:]])
        t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
        Z = V_new + (t - 1) / t_new * (V_new - V)
        V, t = V_new, t_new
    return V[:p], V[p]


def test_group_lasso_shared_design_matches_numpy_proximal_gradient():
    rng = np.random.default_rng(3)
    n, p, K = 100, 6, 3
    X = rng.standard_normal((n, p))
    W = np.zeros((p, K))
    W[:2] = rng.standard_normal((2, K)) * 2
    Y = (rng.random((n, K)) < expit(X @ W)).astype(float)
    alpha = 0.04
    model = mtreg.MultiTaskModel(Y, X, penalty="group_lasso", family="binomial", standardize=False)
    assert model.design.shared
    res = model.fit(alpha, tol=1e-10)
    W_ref, b_ref = _prox_grad_group_lasso(X, Y, alpha)

    def F(W, b):
        eta = X @ W + b
        return logistic_loss(Y, eta).mean(axis=0).sum() + alpha * np.linalg.norm(W, axis=1).sum()

    ours, ref = F(res.params.to_numpy(), res.intercepts.to_numpy()), F(W_ref, b_ref)
    assert ours <= ref + 1e-9 * abs(ref)
    assert abs(ours - ref) <= 1e-6 * abs(ref)
    np.testing.assert_allclose(res.params.to_numpy(), W_ref, atol=1e-4)
    np.testing.assert_array_equal(res.params.to_numpy().any(axis=1), np.abs(W_ref).sum(1) > 1e-6)


def test_deviance_matches_statsmodels_logit_as_alpha_goes_to_zero():
    import statsmodels.api as sm

    Xs, ys = _tasks(5, K=2, n=150, p=4)
    res = mtreg.MultiTaskModel.from_arrays(Xs, ys, penalty="lasso", family="binomial").fit(
        1e-9, tol=1e-12)
    table = res.task_table()
    for k, (X, y) in enumerate(zip(Xs, ys, strict=True)):
        logit_fit = sm.Logit(y, sm.add_constant(X)).fit(disp=0, tol=1e-12)
        dev = -2 * logit_fit.llf
        assert abs(res.deviance.iloc[k] - dev) <= 1e-6 * dev
        assert abs(table["deviance"].iloc[k] - dev) <= 1e-6 * dev
        null = -2 * logit_fit.llnull
        assert abs(res.null_deviance.iloc[k] - null) <= 1e-9 * null
        np.testing.assert_allclose(res.params.iloc[:, k], logit_fit.params[1:], rtol=1e-4, atol=1e-6)
    assert f"{res.deviance.iloc[0]:.4g}" in res.summary().as_text()


def test_newton_and_mm_reach_the_same_optimum_and_sparse_equals_dense():
    Xs, ys = _tasks(2, K=2, n=60, p=6)
    X = np.vstack(Xs)
    y = np.concatenate(ys)
    ptr = np.array([0, 60, 120])
    lp = make_logistic_problem(X, y, ptr, shared=False)
    pen = GroupLasso()
    newton = solve(lp, pen, 0.02, tol=1e-9)
    mm = solve(lp, pen, 0.02, tol=1e-6, method="mm", max_outer=1000)  # linear convergence
    assert newton.converged and mm.converged
    assert newton.extra["newton_steps"] > 0 and mm.extra["newton_steps"] == 0
    assert 0 <= mm.objective - newton.objective <= 1e-6 * newton.objective
    assert np.all(np.diff(mm.history) <= 1e-12)  # MM is monotone
    lps = make_logistic_problem(sp.csc_matrix(X), y, ptr, shared=False)
    sparse = solve(lps, pen, 0.02, tol=1e-9)
    assert abs(sparse.objective - newton.objective) <= 1e-7 * newton.objective


def test_alpha_max_and_duality_gap_in_summary():
    Xs, ys = _tasks(1)
    model = mtreg.MultiTaskModel.from_arrays(Xs, ys, penalty="group_lasso", family="binomial")
    amax = model.alpha_max()
    assert not model.fit(amax * (1 + 1e-6)).params.to_numpy().any()
    assert model.fit(amax * 0.95).params.to_numpy().any()
    res = model.fit(alpha_frac=0.2)
    assert res.converged and 0 <= res.gap <= res.record.gap_tol
    text = res.summary().as_text()
    assert "Duality gap:" in text and "binomial" in text and "logistic+prox_newton" in text


# ----------------------------------------------------------------------------- separation
def test_separable_data_give_finite_coefficients_without_overflow():
    Xs, ys = _tasks(4, K=2, n=40, p=3, separable=True)
    model = mtreg.MultiTaskModel.from_arrays(Xs, ys, penalty="lasso", family="binomial")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarning, no ConvergenceWarning
        res = model.fit(alpha_frac=1e-5)
    assert np.all(np.isfinite(res.params.to_numpy())) and res.converged
    assert res.separated.all()
    assert np.isfinite(res.deviance).all() and (res.accuracy == 1).all()
    assert "perfectly separates" in res.summary().as_text()
    assert "perfectly separates" not in model.fit(alpha_frac=0.5).summary().as_text()


# ----------------------------------------------------------------------------- results
def test_predict_types_are_consistent():
    df = _frame(0, labels=("no", "yes"))
    res = mtreg.fit("y ~ x0 + x1 + x2 + x3 + x4", task="task", data=df, family="binomial",
                    penalty="lasso", alpha_frac=0.1)
    prob = res.predict(df)
    link = res.predict(df, type="link")
    cls = res.predict(df, type="class")
    np.testing.assert_allclose(prob, res.predict(df, type="response"))
    np.testing.assert_allclose(link, logit(prob), rtol=1e-10, atol=1e-10)
    assert ((cls == "yes") == (prob > 0.5)).all() and set(cls) <= {"no", "yes"}
    np.testing.assert_allclose(res.fittedvalues, prob)
    assert ((res.fittedvalues >= 0) & (res.fittedvalues <= 1)).all()
    y01 = (df["y"] == "yes").astype(float)
    np.testing.assert_allclose(res.resid, y01 - prob)
    assert "Levels:" in res.summary().as_text() and "no < yes" in res.summary().as_text()
    table = res.task_table()
    for col in ("deviance", "null_deviance", "AUC", "AUC_PR", "accuracy"):
        assert col in table and table[col].notna().all()
    from sklearn.metrics import average_precision_score, roc_auc_score

    first = (df["task"] == "t0").to_numpy()
    assert table["AUC"].iloc[0] == pytest.approx(roc_auc_score(y01[first], prob[first]))
    assert table["AUC_PR"].iloc[0] == pytest.approx(average_precision_score(y01[first], prob[first]))
    assert table["accuracy"].iloc[0] == pytest.approx(((prob[first] > 0.5) == y01[first]).mean())
    assert np.isfinite(res.aic) and res.bic > res.aic
    text = res.summary().as_text()
    for col, fmt in (("AUC", ".4f"), ("AUC_PR", ".4f"), ("accuracy", ".4f"), ("deviance", ".4g"),
                     ("null_deviance", ".4g")):
        assert f"{table[col].iloc[0]:{fmt}}" in text


def test_predict_class_numeric_and_gaussian_type_errors():
    Xs, ys = _tasks(0)
    res = mtreg.MultiTaskModel.from_arrays(Xs, ys, penalty="lasso", family="binomial").fit(alpha=0.02)
    cls = res.predict(Xs[0], task=0, type="class")
    assert set(np.unique(cls)) <= {0.0, 1.0}
    np.testing.assert_array_equal(cls, (res.predict(Xs[0], task=0) > 0.5).astype(float))
    with pytest.raises(ValueError, match="type must be one of"):
        res.predict(Xs[0], task=0, type="probability")
    gauss = mtreg.MultiTaskModel.from_arrays(Xs, ys, penalty="lasso").fit(alpha=0.02)
    with pytest.raises(ValueError, match="'class'|type must be one of"):
        gauss.predict(Xs[0], task=0, type="class")
    np.testing.assert_allclose(gauss.predict(Xs[0], task=0, type="link"), gauss.predict(Xs[0], task=0))


@pytest.mark.parametrize("values,levels", [
    ((0, 1), "0 < 1"),
    ((False, True), "False < True"),
    (("no", "yes"), "no < yes"),
    (pd.Categorical(["yes", "no"], categories=["yes", "no"]), "yes < no"),
])
def test_response_codings_and_level_order(values, levels):
    df = _frame(1)
    y01 = df["y"].to_numpy().astype(int)
    if isinstance(values, pd.Categorical):
        cats = list(values.categories)
        df["y"] = pd.Categorical(np.where(y01 == 1, cats[1], cats[0]), categories=cats)
    else:
        df["y"] = np.array(values, dtype=object)[y01] if isinstance(values[0], str) else \
            np.array(values)[y01]
    res = mtreg.fit("y ~ x0 + x1", task="task", data=df, family="binomial", penalty="lasso",
                    alpha_frac=0.2)
    np.testing.assert_array_equal(res.design.y, y01[res.design.row_index])
    assert f"Levels:{' ' * 0}" in res.summary().as_text() and levels in res.summary().as_text()


def test_bad_responses_raise():
    df = _frame(2)
    with pytest.raises(ValueError, match="0/1"):
        mtreg.fit("y ~ x0", task="task", data=df.assign(y=df["y"] * 2), family="binomial",
                  alpha=0.1)
    with pytest.raises(ValueError, match="three|3 levels|exactly two"):
        mtreg.fit("y ~ x0", task="task", data=df.assign(y=np.array(["a", "b", "c"])[np.arange(len(df)) % 3]),
                  family="binomial", alpha=0.1)
    one = df.copy()
    one.loc[one["task"] == "t1", "y"] = 1.0
    with pytest.raises(ValueError, match="only one class"):
        mtreg.fit("y ~ x0", task="task", data=one, family="binomial", alpha=0.1)
    with pytest.raises(ValueError, match="unknown family"):
        mtreg.fit("y ~ x0", task="task", data=df, family="poisson", alpha=0.1)
    with pytest.raises(TypeError, match="not numeric"):  # gaussian keeps refusing labels
        mtreg.fit("y ~ x0", task="task", data=df.assign(y=np.where(df["y"] == 1, "a", "b")),
                  alpha=0.1)


def test_wide_form_binary_responses():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((120, 4))
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    df["y1"] = (rng.random(120) < expit(2 * X[:, 0])).astype(int)
    df["y2"] = np.where(rng.random(120) < expit(-2 * X[:, 0]), "yes", "no")
    res = mtreg.fit("y1 + y2 ~ a + b + c + d", data=df, family="binomial", penalty="group_lasso",
                    alpha_frac=0.1)
    assert res.design.shared and list(res.tasks) == ["y1", "y2"]
    assert "y1: 0 < 1; y2: no < yes" in res.summary().as_text()
    cls = res.predict(df, type="class")
    assert set(cls["y2"]) <= {"no", "yes"} and set(cls["y1"]) <= {0.0, 1.0}


# ----------------------------------------------------------------------------- CV and paths
@pytest.mark.parametrize("scoring,best", [("deviance", np.argmin), ("auc", np.argmax),
                                          ("auc_pr", np.argmax), ("misclassification", np.argmin)])
def test_cv_binomial_scorings(scoring, best):
    df = _frame(3, K=2, n=60)
    cvres = mtreg.cv("y ~ x0 + x1 + x2 + x3 + x4", task="task", data=df, family="binomial",
                     penalty="lasso", n_alphas=8, n_folds=4, scoring=scoring)
    assert cvres.scoring == scoring
    assert cvres.alpha_min == cvres.alphas[best(cvres.cvm)]
    assert np.isfinite(cvres.cvm).all()
    if scoring == "deviance":  # the default
        default = mtreg.cv("y ~ x0 + x1 + x2 + x3 + x4", task="task", data=df, family="binomial",
                           penalty="lasso", n_alphas=8, n_folds=4)
        assert default.scoring == "deviance"
        np.testing.assert_allclose(default.cvm, cvres.cvm)
    with pytest.raises(ValueError, match="unknown scoring"):
        mtreg.cv("y ~ x0", task="task", data=df, family="binomial", scoring="r2", n_alphas=3)


def test_cv_fold_errors_equal_refits_scored_by_sklearn():
    """cv.glmnet's type.measure by hand: refit on every training fold at every alpha of the grid,
    score the held-out rows of every task with scikit-learn's metrics, average over tasks."""
    from sklearn.metrics import average_precision_score, log_loss, roc_auc_score

    df = _frame(3, K=2, n=60)
    formula = "y ~ x0 + x1 + x2 + x3 + x4"
    foldid = np.arange(len(df)) % 3
    metrics = {
        "deviance": lambda y, eta: 2 * log_loss(y, expit(eta), labels=[0, 1]),
        "auc": roc_auc_score,
        "auc_pr": average_precision_score,
        "misclassification": lambda y, eta: np.mean((eta > 0) != (y == 1)),
    }
    cvs = {scoring: mtreg.cv(formula, task="task", data=df, family="binomial", penalty="lasso",
                             n_alphas=4, foldid=foldid, scoring=scoring, tol=1e-10)
           for scoring in metrics}
    alphas = cvs["deviance"].alphas
    for f in range(3):
        train, test = df[foldid != f], df[foldid == f]
        y = test["y"].to_numpy()
        for i, alpha in enumerate(alphas):
            res = mtreg.fit(formula, task="task", data=train, family="binomial", penalty="lasso",
                            alpha=alpha, tol=1e-10)
            eta = np.asarray(res.predict(test, type="link"))
            for scoring, metric in metrics.items():
                np.testing.assert_allclose(cvs[scoring].alphas, alphas)
                ref = np.mean([metric(y[(test["task"] == t).to_numpy()], eta[(test["task"] == t).to_numpy()])
                               for t in ("t0", "t1")])
                assert cvs[scoring].fold_errors[f, i] == pytest.approx(ref, rel=1e-6, abs=1e-12)


def test_path_and_default_cv_alpha_for_binomial():
    df = _frame(4, K=2, n=50)
    pr = mtreg.path("y ~ x0 + x1 + x2", task="task", data=df, family="binomial",
                    penalty="group_lasso", n_alphas=6)
    assert pr.nnz[0] == 0 and pr.nnz[-1] > 0 and pr.converged.all()
    res = mtreg.fit("y ~ x0 + x1 + x2", task="task", data=df, family="binomial", penalty="lasso")
    assert res.alpha_selection.startswith("10-fold CV") and res.cv.scoring == "deviance"


# ----------------------------------------------------------------------------- every penalty
def _required_options():
    """Constructor arguments of penalties without a default instance (tests/test_penalties.py)."""
    path = pathlib.Path(__file__).with_name("test_penalties.py")
    spec = importlib.util.spec_from_file_location("_mtreg_test_penalties", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, "REQUIRED", {})


_REQUIRED = _required_options()


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_penalty_fits_binomial_or_says_why(name):
    Xs, ys = _tasks(6, K=3, n=50, p=6)
    try:
        model = mtreg.MultiTaskModel.from_arrays(Xs, ys, penalty=name, family="binomial",
                                                 **_REQUIRED.get(name, {}))
    except ValueError as err:  # the documented refusal, with its reason after the colon
        msg = str(err)
        assert "family='binomial' is not available" in msg
        assert len(msg.split(": ", 1)[-1]) >= 20
        return
    try:
        amax = model.alpha_max()
    except ValueError:
        amax = np.inf
    alpha = 0.2 * amax if np.isfinite(amax) and amax > 0 else 0.05
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. k-means warnings of clustering baselines
        res = model.fit(alpha, tol=1e-6)
    rec = res.record
    assert rec.solver.startswith("logistic+")
    assert np.all(np.isfinite(res.params.to_numpy())) and np.all(np.isfinite(res.intercepts))
    assert rec.objective <= rec.extra["null_objective"] + 1e-10
    assert np.all(np.diff(rec.history) <= 1e-10 * abs(rec.history[0]))  # never increases
    prob = res.fittedvalues.to_numpy()
    assert np.all((prob >= 0) & (prob <= 1))
    assert "binomial" in res.summary().as_text()


def test_concomitant_penalties_are_refused_with_a_reason():
    assert "concomitant" in inspect.signature(REGISTRY["mtw"]).parameters
    Xs, ys = _tasks(0)
    with pytest.raises(ValueError, match="not available.*Gaussian scale parameter"):
        mtreg.MultiTaskModel.from_arrays(Xs, ys, penalty="mtw", concomitant=True, family="binomial")


def test_objective_of_record_is_the_documented_one():
    Xs, ys = _tasks(8, K=2, n=40, p=5)
    model = mtreg.MultiTaskModel.from_arrays(Xs, ys, penalty=Lasso(l1_ratio=0.7), family="binomial",
                                             standardize=False)
    res = model.fit(alpha=0.03, tol=1e-10)
    F = sum(_objective(X, y, res.params.iloc[:, k].to_numpy(), res.intercepts.iloc[k], 0.03, 0.7)
            for k, (X, y) in enumerate(zip(Xs, ys, strict=True)))
    assert res.record.objective == pytest.approx(F, rel=1e-10)


def test_stability_selection_runs_a_logistic_model():
    import mtreg

    rng = np.random.default_rng(5)
    frames = []
    for k in range(3):
        X = rng.standard_normal((80, 5))
        p = 1 / (1 + np.exp(-(2.5 * X[:, 0])))
        frames.append(pd.DataFrame(X, columns=[f"x{j}" for j in range(5)]).assign(
            y=(rng.random(80) < p).astype(int), task=k))
    df = pd.concat(frames, ignore_index=True)
    st = mtreg.stability("y ~ x0 + x1 + x2 + x3 + x4", task="task", data=df, family="binomial",
                         n_subsamples=10, n_alphas=5, random_state=0)
    table = st.feature_table()
    # the one true feature is stable and enters first along the grid
    assert table.loc["x0", "stable"] and table["alpha_at_max"].idxmax() == "x0"
    res = mtreg.fit("y ~ x0 + x1", task="task", data=df, family="binomial", alpha_frac=0.1)
    with pytest.raises(ValueError, match="Gaussian family only"):
        res.refit()


def test_binomial_path_reports_deviance_explained():
    import mtreg

    rng = np.random.default_rng(2)
    frames = []
    for k in range(3):
        X = rng.standard_normal((70, 4))
        prob = 1 / (1 + np.exp(-(2 * X[:, 0] - X[:, 1])))
        frames.append(pd.DataFrame(X, columns=[f"x{j}" for j in range(4)]).assign(
            y=(rng.random(70) < prob).astype(int), task=k))
    df = pd.concat(frames, ignore_index=True)
    pth = mtreg.path("y ~ x0 + x1 + x2 + x3", task="task", data=df, family="binomial", n_alphas=8)
    assert pth.dev_ratio[0] == pytest.approx(0.0, abs=1e-8)  # all-zero fit = the null model
    assert 0 < pth.dev_ratio[-1] < 1 and np.all(np.diff(pth.dev_ratio) >= -1e-8)
    res = mtreg.fit("y ~ x0 + x1 + x2 + x3", task="task", data=df, family="binomial",
                    alpha=pth.alphas[-1], tol=1e-10)
    np.testing.assert_allclose(pth.deviance[:, -1], res.deviance.to_numpy(), rtol=1e-4)
    crit = pth.criteria()
    assert crit["aic"].iloc[-1] == pytest.approx(res.deviance.sum() + 2 * (pth.nnz[-1] + 3), rel=1e-4)


# ----------------------------------------------------------------------------- the vignette
def test_binomial_vignette_scores_auc_pr_per_factor_and_recovers_the_families(monkeypatch, capsys):
    """vignettes/binomial.py (reduced size, ~6 s): its held-out AUC-PR table is scikit-learn's
    average precision of each fit's predictions, SG-MTL learns the simulated factor families and
    keeps each family's motif k-mers, and pooling the families beats independent l1 fits."""
    import runpy

    from sklearn.metrics import adjusted_rand_score, average_precision_score

    monkeypatch.delenv("MTREG_FULL", raising=False)
    path = pathlib.Path(__file__).resolve().parent.parent / "vignettes" / "binomial.py"
    g = runpy.run_path(str(path))
    capsys.readouterr()
    table, fits, test, family = g["table"], g["fits"], g["test"], g["family"]
    methods = ["SG-MTL", "l1 (independent)", "group lasso", "true model"]
    assert list(table.columns) == ["family", *methods]
    assert list(table.index) == [*g["tf_names"], "mean"]
    scores = table.loc[g["tf_names"], methods].to_numpy(dtype=float)
    assert np.all((scores > 0) & (scores <= 1))
    rows = (test["tf"] == "TF00").to_numpy()
    for name in methods[:3]:  # the table is sklearn's average precision of predict(type="response")
        prob = np.asarray(fits[name].predict(test, type="response"))[rows]
        assert table.loc["TF00", name] == pytest.approx(
            average_precision_score(test["bound"].to_numpy()[rows], prob), rel=1e-12)
    mean = table.loc["mean", methods].astype(float)
    assert mean["SG-MTL"] > mean["l1 (independent)"] and mean["SG-MTL"] > mean["group lasso"]
    rep = g["rep"]  # the learned groups are the simulated families
    assert rep.ari == pytest.approx(adjusted_rand_score(family.to_numpy(), rep.labels.to_numpy()))
    assert rep.ari == 1.0 and rep.n_active == family.nunique()
    sup = fits["SG-MTL"].params.ne(0)
    for f, motif in enumerate(g["motifs"]):  # every factor of family f keeps its motif k-mers
        members = family.index[family == f]
        assert sup.loc[[g["kmers"][j] for j in motif], members].to_numpy().all()

