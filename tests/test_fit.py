"""End-to-end: mtreg.fit / MultiTaskModel against scikit-learn and first principles."""
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.linear_model import ElasticNet, Lasso, MultiTaskElasticNet, MultiTaskLasso

import mtreg

TIGHT = {"tol": 1e-12, "max_iter": 100_000}


def _wide(seed=0, n=60, p=8, K=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 3, p) + rng.uniform(-2, 2, p)
    W = np.zeros((p, K))
    W[:3] = rng.standard_normal((3, K)) * 2
    Y = X @ W + rng.standard_normal((n, K)) + np.arange(K)
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
    for k in range(K):
        df[f"y{k}"] = Y[:, k]
    return df, X, Y


def _long(seed=1, sizes=(30, 45, 25, 60), p=6):
    rng = np.random.default_rng(seed)
    frames = []
    for k, n in enumerate(sizes):
        X = rng.standard_normal((n, p)) * rng.uniform(0.5, 2, p)
        w = np.zeros(p)
        w[:2] = [1.5, -2.0]
        w[2 + k % 3] = 1.0
        frame = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
        frame["y"] = X @ w + 0.5 * rng.standard_normal(n) + k
        frame["task"] = f"t{k}"
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _sk_objective(X, Y, W, b, alpha, group=True, l1_ratio=1.0):
    R = Y - X @ W - b
    pen = np.linalg.norm(W, axis=1).sum() if group else np.abs(W).sum()
    return (R**2).sum() / (2 * X.shape[0]) + alpha * (l1_ratio * pen + 0.5 * (1 - l1_ratio) * (W**2).sum())


@pytest.mark.parametrize("frac", [0.5, 0.1, 0.01])
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_wide_group_lasso_equals_sklearn_multitask(frac, l1_ratio):
    df, X, Y = _wide()
    formula = "y0 + y1 + y2 ~ " + " + ".join(f"x{j}" for j in range(X.shape[1]))
    res = mtreg.fit(formula, data=df, penalty="group_lasso", alpha_frac=frac, l1_ratio=l1_ratio,
                    standardize=False, **TIGHT)
    assert res.model.design.shared
    alpha = res.alpha
    sk = (MultiTaskLasso(alpha=alpha) if l1_ratio == 1 else
          MultiTaskElasticNet(alpha=alpha, l1_ratio=l1_ratio)).set_params(tol=1e-14, max_iter=100_000)
    sk.fit(X, Y)
    ours = _sk_objective(X, Y, res.params.to_numpy(), res.intercepts.to_numpy(), alpha, True, l1_ratio)
    theirs = _sk_objective(X, Y, sk.coef_.T, sk.intercept_, alpha, True, l1_ratio)
    assert ours <= theirs * (1 + 1e-6)
    np.testing.assert_allclose(res.params.to_numpy(), sk.coef_.T, atol=1e-5)
    np.testing.assert_allclose(res.intercepts.to_numpy(), sk.intercept_, atol=1e-5)


def test_wide_standardize_matches_sklearn_on_standardized_columns():
    df, X, Y = _wide(seed=3)
    formula = "y0 + y1 + y2 ~ " + " + ".join(f"x{j}" for j in range(X.shape[1]))
    res = mtreg.fit(formula, data=df, penalty="group_lasso", alpha_frac=0.05, **TIGHT)
    scale = X.std(axis=0)  # glmnet's standardisation: population sd
    sk = MultiTaskLasso(alpha=res.alpha, tol=1e-14, max_iter=100_000).fit(X / scale, Y)
    np.testing.assert_allclose(res.params.to_numpy(), sk.coef_.T / scale[:, None], atol=1e-5)
    np.testing.assert_allclose(res.intercepts.to_numpy(), sk.intercept_, atol=1e-5)
    assert res.alpha_max == pytest.approx(
        np.linalg.norm((X / scale - (X / scale).mean(0)).T @ (Y - Y.mean(0)), axis=1).max() / len(X))


@pytest.mark.parametrize("l1_ratio", [1.0, 0.7])
def test_long_lasso_equals_sklearn_per_task(l1_ratio):
    df = _long()
    res = mtreg.fit("y ~ x0 + x1 + x2 + x3 + x4 + x5", task="task", data=df, penalty="lasso",
                    alpha=0.05, l1_ratio=l1_ratio, standardize=False, **TIGHT)
    for name, g in df.groupby("task"):
        Xk, yk = g[[f"x{j}" for j in range(6)]].to_numpy(), g["y"].to_numpy()
        sk = (Lasso(alpha=0.05) if l1_ratio == 1 else ElasticNet(alpha=0.05, l1_ratio=l1_ratio))
        sk.set_params(tol=1e-14, max_iter=100_000).fit(Xk, yk)
        np.testing.assert_allclose(res.params[name].to_numpy(), sk.coef_, atol=1e-6)
        assert res.intercepts[name] == pytest.approx(sk.intercept_, abs=1e-6)


def test_long_with_identical_designs_equals_wide():
    df, X, Y = _wide(seed=5, K=2)
    long = pd.concat([df.assign(y=df[f"y{k}"], task=f"y{k}") for k in range(2)], ignore_index=True)
    rhs = " + ".join(f"x{j}" for j in range(X.shape[1]))
    a = mtreg.fit("y0 + y1 ~ " + rhs, data=df, alpha=0.1, **TIGHT)
    b = mtreg.fit("y ~ " + rhs, task="task", data=long, alpha=0.1, **TIGHT)
    assert not b.model.design.shared
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(a.intercepts.to_numpy(), b.intercepts.to_numpy(), atol=1e-6)


def test_row_order_and_task_labels_do_not_change_the_fit():
    df = _long()
    formula = "y ~ x0 + x1 + x2 + x3 + x4 + x5"
    base = mtreg.fit(formula, task="task", data=df, alpha=0.05, **TIGHT)
    shuffled = df.sample(frac=1.0, random_state=3)
    res = mtreg.fit(formula, task="task", data=shuffled, alpha=0.05, **TIGHT)
    pd.testing.assert_frame_equal(base.params, res.params, atol=1e-8, check_exact=False)
    # fitted values follow their rows
    np.testing.assert_allclose(res.fittedvalues.loc[df.index].to_numpy(), base.fittedvalues.to_numpy(),
                               atol=1e-8)
    relabelled = df.assign(task=df["task"].map({"t0": "d", "t1": "c", "t2": "b", "t3": "a"}))
    res2 = mtreg.fit(formula, task="task", data=relabelled, alpha=0.05, **TIGHT)
    for old, new in {"t0": "d", "t1": "c", "t2": "b", "t3": "a"}.items():
        np.testing.assert_allclose(res2.params[new].to_numpy(), base.params[old].to_numpy(), atol=1e-8)


def test_group_lasso_per_task_kkt_and_objective():
    df = _long(seed=7)
    res = mtreg.fit("y ~ x0 + x1 + x2 + x3 + x4 + x5", task="task", data=df, penalty="group_lasso",
                    alpha_frac=0.2, **TIGHT)
    model = res.model
    prob = model.problem
    W = res.params.to_numpy() * prob.x_scale[:, None]
    G = prob.gradient(W)
    assert np.all(model.penalty.kkt_violation(W, G, res.alpha) < 1e-6)
    assert res.converged
    # row sparsity: a feature is in every task or none
    nz = res.params.to_numpy() != 0
    assert np.all(nz.all(axis=1) | ~nz.any(axis=1))


def test_sparse_exog_equals_dense():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((80, 10)) * (rng.random((80, 10)) < 0.3)
    task = np.repeat(["a", "b"], 40)
    y = X[:, 0] * 2 - X[:, 1] + rng.standard_normal(80) + (task == "b")
    dense = mtreg.MultiTaskModel(y, X, task, penalty="group_lasso").fit(alpha_frac=0.1, **TIGHT)
    sparse = mtreg.MultiTaskModel(y, sp.csr_matrix(X), task, penalty="group_lasso").fit(
        alpha_frac=0.1, **TIGHT)
    np.testing.assert_allclose(sparse.params.to_numpy(), dense.params.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(sparse.intercepts.to_numpy(), dense.intercepts.to_numpy(), atol=1e-6)


def test_from_arrays_matches_long_formula():
    df = _long()
    cols = [f"x{j}" for j in range(6)]
    groups = list(df.groupby("task"))
    model = mtreg.MultiTaskModel.from_arrays([g[cols].to_numpy() for _, g in groups],
                                             [g["y"].to_numpy() for _, g in groups],
                                             feature_names=cols, task_names=[n for n, _ in groups])
    a = model.fit(alpha=0.05, **TIGHT)
    b = mtreg.fit("y ~ " + " + ".join(cols), task="task", data=df, alpha=0.05, **TIGHT)
    pd.testing.assert_frame_equal(a.params, b.params, check_exact=False, atol=1e-8, check_names=False)


def test_formula_features_and_predict():
    rng = np.random.default_rng(4)
    n = 200
    df = pd.DataFrame({"x": rng.uniform(1, 5, n), "z": rng.standard_normal(n),
                       "g": rng.choice(["lo", "mid", "hi"], n), "task": rng.choice([3, 1, 2], n)})
    df["y"] = np.log(df.x) * 2 + df.z * (df.g == "hi") + rng.standard_normal(n) * 0.3
    res = mtreg.fit("y ~ np.log(x) + C(g) * z", task="task", data=df, penalty="lasso", alpha=0.01)
    assert list(res.params.columns) == [1, 2, 3]
    assert "np.log(x)" in res.params.index and any(":z" in f for f in res.params.index)
    np.testing.assert_allclose(res.predict(df).to_numpy(), res.fittedvalues.to_numpy(), atol=1e-10)
    new = df.iloc[:5].copy()
    np.testing.assert_allclose(res.predict(new).to_numpy(), res.fittedvalues.iloc[:5].to_numpy())
    no_int = mtreg.fit("y ~ np.log(x) + C(g) - 1", task="task", data=df, alpha=0.01)
    assert "Intercept" not in no_int.params.index
    with pytest.raises(ValueError, match="task"):
        res.predict(new.assign(task=99))
    with pytest.raises(ValueError, match="g"):
        res.predict(new.assign(g="unknown"))


def test_warm_start_from_results_converges_at_once():
    df = _long()
    formula = "y ~ x0 + x1 + x2 + x3 + x4 + x5"
    a = mtreg.fit(formula, task="task", data=df, alpha=0.05, tol=1e-10)
    b = mtreg.fit(formula, task="task", data=df, alpha=0.05, tol=1e-10, init=a)
    assert b.n_iter <= a.n_iter
    np.testing.assert_allclose(a.params.to_numpy(), b.params.to_numpy(), atol=1e-7)


def test_results_pickle_round_trip():
    df = _long()
    res = mtreg.fit("y ~ x0 + x1 + np.log(x2**2)", task="task", data=df, alpha_frac=0.1)
    back = pickle.loads(pickle.dumps(res))
    np.testing.assert_array_equal(back.predict(df).to_numpy(), res.predict(df).to_numpy())


def test_missing_rows_are_dropped_counted_and_nan_in_fitted():
    df = _long()
    df.loc[[0, 5, 40], "x1"] = np.nan
    res = mtreg.fit("y ~ x0 + x1", task="task", data=df, alpha_frac=0.1)
    assert res.model.design.dropped.sum() == 3
    assert res.fittedvalues.isna().sum() == 3 and np.isnan(res.fittedvalues.iloc[5])
    assert "3" in res.summary().as_text()
    with pytest.raises(ValueError, match="x1"):
        mtreg.fit("y ~ x0 + x1", task="task", data=df, missing="raise")


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"alpha": -1.0}, ValueError, "alpha must be a finite number >= 0"),
    ({"alpha": "big"}, TypeError, "alpha must be a number"),
    ({"alpha": np.nan}, ValueError, "alpha must be a finite"),
    ({"alpha_frac": 0.0}, ValueError, "alpha_frac must be a finite number > 0"),
    ({"alpha": 0.1, "alpha_frac": 0.1}, ValueError, "alpha or alpha_frac, not both"),
    ({"l1_ratio": 2.0}, ValueError, r"l1_ratio must lie in \[0, 1\]"),
    ({"penalty": "ridge"}, ValueError, "unknown penalty 'ridge'; known penalties: .*group_lasso, lasso"),
    ({"tol": 0}, ValueError, "tol must be a finite number > 0"),
    ({"max_iter": 0}, ValueError, "max_iter must be an integer >= 1"),
    ({"family": "poisson"}, ValueError, "unknown family 'poisson'"),
    ({"fit_intercept": "yes"}, TypeError, "fit_intercept must be True or False"),
])
def test_bad_options_raise_clear_errors(kwargs, exc, match):
    df = _long()
    with pytest.raises(exc, match=match):
        mtreg.fit("y ~ x0 + x1", task="task", data=df, **kwargs)


def test_init_with_wrong_shape():
    df = _long()
    with pytest.raises(ValueError, match=r"init has shape \(3, 3\); expected"):
        mtreg.fit("y ~ x0 + x1", task="task", data=df, init=np.zeros((3, 3)))


def test_main_job_prints_a_summary():
    out = subprocess.run([sys.executable, "-m", "mtreg"], capture_output=True, text=True, check=True,
                         timeout=300)
    assert "total_UPDRS" in out.stdout and "Jitter_pct" in out.stdout
    assert "42" in out.stdout  # tasks


def test_information_criteria_match_statsmodels_ols_at_tiny_alpha():
    import statsmodels.api as sm

    df = _long()
    cols = [f"x{j}" for j in range(6)]
    res = mtreg.fit("y ~ " + " + ".join(cols), task="task", data=df, penalty="lasso", alpha=1e-10,
                    **TIGHT)
    assert int(res.nnz.sum()) == 6 * 4
    aic = bic = 0.0
    for _, g in df.groupby("task"):
        ols = sm.OLS(g["y"].to_numpy(), sm.add_constant(g[cols].to_numpy())).fit()
        aic += ols.aic
        bic += -2 * ols.llf
    N = len(df)
    const = N * (np.log(2 * np.pi) + 1)
    assert res.aic == pytest.approx(aic - const, rel=1e-6)
    assert res.bic == pytest.approx(bic - const + np.log(N) * (6 * 4 + 4), rel=1e-6)
    assert res.ebic == pytest.approx(res.bic)  # every candidate selected: binom(pK, pK) = 1
    sparse = mtreg.fit("y ~ " + " + ".join(cols), task="task", data=df, penalty="lasso", alpha_frac=0.3)
    nnz, pk = int(sparse.nnz.sum()), 24
    from scipy.special import comb
    assert sparse.ebic - sparse.bic == pytest.approx(np.log(comb(pk, nnz)))


def test_default_alpha_is_chosen_by_cv_with_the_1se_rule():
    df = _long()
    formula = "y ~ x0 + x1 + x2 + x3 + x4 + x5"
    res = mtreg.fit(formula, task="task", data=df)
    cvres = mtreg.cv(formula, task="task", data=df, n_folds=10, random_state=0)
    assert res.alpha == pytest.approx(cvres.alpha_1se)
    assert "10-fold CV, 1-SE rule" in res.summary().as_text()
