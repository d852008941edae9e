"""Paths and cross-validation against scikit-learn, cold fits and hand-computed examples."""
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import MultiTaskLassoCV
from sklearn.model_selection import KFold

import mtreg
from mtreg.cv import _one_se, make_folds


def _wide(seed=0, n=60, p=12, K=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    W = np.zeros((p, K))
    W[:4] = rng.standard_normal((4, K))
    Y = X @ W + 0.7 * rng.standard_normal((n, K))
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
    for k in range(K):
        df[f"y{k}"] = Y[:, k]
    formula = " + ".join(f"y{k}" for k in range(K)) + " ~ " + " + ".join(df.columns[:p])
    return df, X, Y, formula


def _long(seed=1, sizes=(25, 40, 31), p=8):
    rng = np.random.default_rng(seed)
    frames = []
    for k, n in enumerate(sizes):
        X = rng.standard_normal((n, p))
        w = np.zeros(p)
        w[:3] = [1.0, -1.5, 0.5 * k]
        f = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
        f["y"] = X @ w + rng.standard_normal(n)
        f["task"] = k
        frames.append(f)
    df = pd.concat(frames, ignore_index=True)
    return df, "y ~ " + " + ".join(f"x{j}" for j in range(p))


def test_cv_matches_sklearn_multitask_lasso_cv():
    df, X, Y, formula = _wide()
    sk = MultiTaskLassoCV(alphas=15, cv=KFold(5), tol=1e-12, max_iter=100_000).fit(X, Y)
    foldid = np.empty(len(X), dtype=int)
    for f, (_, test) in enumerate(KFold(5).split(X)):
        foldid[test] = f
    res = mtreg.cv(formula, data=df, alphas=sk.alphas_, foldid=foldid, standardize=False, tol=1e-12,
                   max_iter=100_000)
    np.testing.assert_allclose(res.alphas, sk.alphas_)
    np.testing.assert_allclose(res.cvm, sk.mse_path_.mean(axis=1), rtol=1e-6)
    assert res.alpha_min == pytest.approx(sk.alpha_)


def test_one_se_rule_by_hand():
    alphas = np.array([1.0, 0.5, 0.25, 0.125, 0.0625])
    cvm = np.array([5.0, 3.0, 2.2, 2.0, 2.1])
    cvsd = np.array([0.3, 0.3, 0.3, 0.25, 0.3])
    i_min, i_1se = _one_se(alphas, cvm, cvsd, greater_is_better=False)
    assert (i_min, i_1se) == (3, 2)  # 2.2 <= 2.0 + 0.25; 3.0 is not
    i_max, i_1se_r2 = _one_se(alphas, -cvm, cvsd, greater_is_better=True)
    assert (i_max, i_1se_r2) == (3, 2)


def test_cv_fields_and_defaults_like_glmnet():
    df, formula = _long()
    res = mtreg.cv(formula, task="task", data=df, penalty="group_lasso", n_folds=5, n_alphas=20)
    L = len(res.alphas)
    for name in ("cvm", "cvsd", "cvup", "cvlo", "nzero"):
        assert getattr(res, name).shape == (L,)
    np.testing.assert_allclose(res.cvup - res.cvm, res.cvsd)
    assert res.alpha_1se >= res.alpha_min
    assert res.cvm[res.index_1se] <= res.cvm[res.index_min] + res.cvsd[res.index_min]
    assert res.cv_task.shape == (L, 3)
    # every task is in every training and test fold
    folds = res.foldid.to_numpy()
    for k in range(3):
        assert set(folds[df.task.to_numpy() == k]) == set(range(5))
    pd.testing.assert_frame_equal(res.coef(), res.full_fit.coef(res.alpha_1se))
    np.testing.assert_allclose(res.predict(df).to_numpy(),
                               res.results("1se").fittedvalues.to_numpy(), atol=1e-10)
    assert "min" in str(res) and "1se" in str(res)


def test_cv_identical_for_any_n_jobs_and_user_foldid():
    df, formula = _long()
    a = mtreg.cv(formula, task="task", data=df, n_folds=4, n_alphas=10, n_jobs=1, random_state=3)
    b = mtreg.cv(formula, task="task", data=df, n_folds=4, n_alphas=10, n_jobs=2, random_state=3)
    np.testing.assert_array_equal(a.cvm, b.cvm)
    c = mtreg.cv(formula, task="task", data=df, foldid=a.foldid.to_numpy() + 1, n_alphas=10,
                 penalty="lasso")
    np.testing.assert_array_equal(c.foldid.to_numpy(), a.foldid.to_numpy())


def test_foldid_leaving_a_task_without_training_rows():
    df, formula = _long()
    foldid = np.where(df.task == 2, 0, np.arange(len(df)) % 3)
    with pytest.raises(ValueError, match="fold 0 leaves task 2 with 0 training row"):
        mtreg.cv(formula, task="task", data=df, foldid=foldid, n_alphas=5)
    with pytest.raises(ValueError, match="one entry per row"):
        mtreg.cv(formula, task="task", data=df, foldid=[0, 1], n_alphas=5)
    with pytest.raises(ValueError, match="unknown scoring 'rmse'"):
        mtreg.cv(formula, task="task", data=df, scoring="rmse")


@pytest.mark.parametrize("scoring", ["mae", "nmse", "r2", "explained_variance"])
def test_scorings_are_consistent(scoring):
    df, formula = _long()
    res = mtreg.cv(formula, task="task", data=df, n_folds=3, n_alphas=8, scoring=scoring)
    assert np.all(np.isfinite(res.cvm))
    if scoring in ("r2", "explained_variance"):
        assert res.cvm[res.index_min] == np.max(res.cvm)
    else:
        assert res.cvm[res.index_min] == np.min(res.cvm)


def test_make_folds_balanced_within_tasks():
    df, formula = _long()
    model = mtreg.MultiTaskModel.from_formula(formula, df, task="task")
    folds = make_folds(model.design, 4, random_state=0)
    for a, z in zip(model.design.task_ptr[:-1], model.design.task_ptr[1:], strict=True):
        counts = np.bincount(folds[a:z], minlength=4)
        assert counts.max() - counts.min() <= 1


def test_warm_path_equals_cold_fits():
    df, formula = _long(seed=4)
    pr = mtreg.path(formula, task="task", data=df, n_alphas=12, tol=1e-10)
    for i in (0, 5, 11):
        cold = mtreg.fit(formula, task="task", data=df, alpha=pr.alphas[i], tol=1e-10)
        np.testing.assert_allclose(pr.coefs[:, :, i], cold.params.to_numpy(), atol=1e-6)
    assert pr.nnz[0] == 0 and pr.nnz[-1] > 0
    assert np.all(np.diff(pr.alphas) < 0)
    table = pr.to_frame()
    assert list(table.columns) == ["Df", "nnz", "%Dev", "alpha"]
    assert table["%Dev"].iloc[-1] > table["%Dev"].iloc[0]
    assert "%Dev" in str(pr)


def test_lasso_path_monotone_on_orthogonal_design():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((40, 6)))
    X = Q * np.sqrt(40)  # orthogonal columns with unit mean square
    frames = []
    for k in range(2):
        f = pd.DataFrame(X, columns=[f"x{j}" for j in range(6)])
        f["y"] = X @ rng.standard_normal(6) + rng.standard_normal(40)
        f["task"] = k
        frames.append(f)
    df = pd.concat(frames, ignore_index=True)
    pr = mtreg.path("y ~ " + " + ".join(f"x{j}" for j in range(6)) + " - 1", task="task", data=df,
                    penalty="lasso", n_alphas=30, fit_intercept=False, standardize=False)
    assert np.all(np.diff(pr.nnz) >= 0)


def test_path_coef_interpolates_and_rejects_outside():
    df, formula = _long()
    pr = mtreg.path(formula, task="task", data=df, n_alphas=10)
    mid = 0.5 * (pr.alphas[3] + pr.alphas[4])
    np.testing.assert_allclose(pr.coef(mid).to_numpy(), 0.5 * (pr.coefs[:, :, 3] + pr.coefs[:, :, 4]))
    with pytest.raises(ValueError, match="outside the path"):
        pr.coef(pr.alphas[0] * 2)


def test_cv_grid_over_l1_ratio():
    df, formula = _long()
    res = mtreg.cv(formula, task="task", data=df, n_folds=3, n_alphas=8,
                   grid={"alpha": None, "l1_ratio": [1.0, 0.5]})
    assert res.cvm.shape == (2, 8)
    M = res.cvm.to_numpy()
    r, c = np.unravel_index(np.argmin(M), M.shape)
    assert res.best == {"alpha": res.alphas[c], "l1_ratio": [1.0, 0.5][r]}
    assert res.one_se["alpha"] >= res.best["alpha"]
    with pytest.raises(ValueError, match="no hyperparameter 'n_groups'"):
        mtreg.cv(formula, task="task", data=df, grid={"alpha": None, "n_groups": [2]})


def test_plots_draw_expected_artists():
    import matplotlib

    matplotlib.use("Agg")
    df, formula = _long()
    res = mtreg.cv(formula, task="task", data=df, n_folds=3, n_alphas=8)
    ax = res.plot()
    assert len(ax.lines) >= 2  # the two vertical lines
    ax2 = res.full_fit.plot()
    assert len(ax2.lines) == 8  # one per feature
    ax3 = res.full_fit.plot(kind="coef", task=1)
    assert len(ax3.lines) == 8


def test_cv_on_dask_cluster_equals_serial():
    distributed = pytest.importorskip("dask.distributed")
    import joblib

    df, formula = _long()
    serial = mtreg.cv(formula, task="task", data=df, n_folds=3, n_alphas=6)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        with joblib.parallel_backend("dask"):
            remote = mtreg.cv(formula, task="task", data=df, n_folds=3, n_alphas=6, n_jobs=-1)
    np.testing.assert_array_equal(serial.cvm, remote.cvm)
