"""scikit-learn style estimators (mtreg.sklearn): MuTaR's shapes, check_estimator, equality with
mtreg.fit, the MuTaR README port, clone / Pipeline / GridSearchCV."""
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import mtreg
import mtreg.sklearn as msk
from mtreg.model import MultiTaskModel

ESTIMATORS = [name for name in msk.__all__ if name != "MultiTaskRegressor"]
#: arguments making the default instance valid on check_estimator's single-task data
CHECK_ARGS = {"SGMTL": {"n_groups": 1, "n_init": 1}}
FAST = {"MTW": {"epsilon": 0.2}, "ReMTW": {"epsilon": 0.2}}


def _data(K=3, n=20, p=6, seed=0, ragged=False):
    rng = np.random.default_rng(seed)
    ns = [n + (3 * k if ragged else 0) for k in range(K)]
    X = [rng.standard_normal((nk, p)) for nk in ns]
    W = np.zeros((p, K))
    W[:2] = rng.uniform(1, 2, (2, K))
    y = [x @ W[:, k] + 0.1 * rng.standard_normal(x.shape[0]) + k for k, x in enumerate(X)]
    if not ragged:
        X, y = np.array(X), np.array(y)
    return X, y


def test_sgmtl_estimator_follows_the_registry():
    assert ("SGMTL" in msk.__all__) == ("sgmtl" in mtreg.penalties.REGISTRY)


@pytest.mark.parametrize("name", ESTIMATORS)
def test_check_estimator(name):
    """scikit-learn's full check suite on the single-task use (X 2-D, y 1-D).

    No check is skipped for the zoo estimators. SGMTL runs with ``n_groups=1`` (the suite fits
    one task, and SG-MTL needs ``n_groups <= n_tasks``). The multi-task layouts are covered by
    the tests below (the suite has no notion of tasks).
    """
    est = getattr(msk, name)(**CHECK_ARGS.get(name, {}))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(est, on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results
              if r["status"] == "failed"]
    assert not failed


def test_mutar_readme_example():
    """MuTaR's README: the same coefficients, predictions and objective.

    Each task has two samples; after per-task centring its two features are collinear (task 1:
    equal columns, task 2: opposite), so the minimiser is not unique: any split
    ``u = (1 - t) (a, c)``, ``v = t (a, -c)``, t in [0, 1], of the row norms is optimal. mtreg's
    block coordinate descent visits feature 0 first, which absorbs the signal, and feature 1 then
    has a zero gradient: t = 0, MuTaR's solution.
    """
    X = np.array([[[3., 1.], [2., 0.]], [[0., 2.], [-1., 3.]]])
    y = np.array([[-3., 1.], [1., -2.]])
    gl = msk.GroupLasso(alpha=1.).fit(X, y)
    mutar_coef = np.array([[-0.8, 0.6], [-0., -0.]])
    np.testing.assert_allclose(gl.coef_, mutar_coef, atol=1e-10)
    assert gl.coef_.shape == (2, 2)

    def objective(W):
        b = y.mean(1) - np.einsum("knp,pk->k", X, W) / 2
        R = y - np.einsum("knp,pk->kn", X, W) - b[:, None]
        return 0.5 * (R**2).sum() / 2 + np.linalg.norm(W, axis=1).sum(), b

    obj_mutar, b_mutar = objective(mutar_coef)
    assert gl.objective_ == pytest.approx(obj_mutar, abs=1e-10)
    np.testing.assert_allclose(gl.intercept_, b_mutar, atol=1e-10)
    pred_mutar = np.einsum("knp,pk->kn", X, mutar_coef) + b_mutar[:, None]
    np.testing.assert_allclose(gl.predict(X), pred_mutar, atol=1e-10)
    # another minimiser (t = 1/2) has the same objective: the problem is degenerate
    other = np.array([[-0.4, 0.3], [-0.4, -0.3]])
    assert objective(other)[0] == pytest.approx(obj_mutar, abs=1e-12)


PEN = {"IndLasso": ("lasso", {}, lambda e: e.alpha),
       "GroupLasso": ("group_lasso", {}, lambda e: e.alpha),
       "IndRewLasso": ("adaptive_lasso", {"n_reweightings": 10}, lambda e: e.alpha),
       "DirtyModel": ("dirty", {"l1_ratio": 0.5 / 1.5}, lambda e: e.alpha + e.beta),
       "MultiLevelLasso": ("multilevel", {}, lambda e: e.alpha)}


@pytest.mark.parametrize("name", sorted(PEN))
def test_estimators_equal_mtreg_fit(name):
    X, y = _data(K=3, n=25, p=5)
    kw = {"alpha": 1.0, "beta": 0.5} if name == "DirtyModel" else {"alpha": 0.2}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = getattr(msk, name)(**kw).fit(X, y)
        pen, opts, alpha = PEN[name]
        res = MultiTaskModel.from_arrays(list(X), list(y), penalty=pen, standardize=False,
                                         **opts).fit(alpha(est), tol=1e-6)
        # the formula interface on the long table gives the same fit
        K, n, p = X.shape
        df = pd.DataFrame(X.reshape(K * n, p), columns=[f"x{j}" for j in range(p)])
        df["y"], df["task"] = y.reshape(-1), np.repeat(np.arange(K), n)
        res_f = mtreg.fit("y ~ " + " + ".join(df.columns[:p]), task="task", data=df, penalty=pen,
                          standardize=False, alpha=alpha(est), **opts)
    np.testing.assert_allclose(est.coef_, res.params.to_numpy(), atol=1e-10, rtol=0)
    np.testing.assert_allclose(est.intercept_, res.intercepts.to_numpy(), atol=1e-10, rtol=0)
    np.testing.assert_allclose(est.coef_, res_f.params.to_numpy(), atol=1e-10, rtol=0)


def test_shapes_ragged_lists_score_and_warm_start():
    X, y = _data(ragged=True)
    est = msk.GroupLasso(alpha=0.05).fit(X, y)
    assert est.coef_.shape == (6, 3) and est.intercept_.shape == (3,)
    pred = est.predict(X)
    assert isinstance(pred, list) and [len(p) for p in pred] == [len(v) for v in y]
    st = est.score_tasks(X, y)
    assert st.shape == (3,) and est.score(X, y) == pytest.approx(st.mean())
    # the 3-D layout and the list of tasks give the same fit
    X3, y3 = _data()
    a = msk.DirtyModel(alpha=0.1, beta=0.05).fit(X3, y3)
    b = msk.DirtyModel(alpha=0.1, beta=0.05).fit(list(X3), list(y3))
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.predict(X3).shape == (3, 20)
    np.testing.assert_allclose(a.coef_shared_ + a.coef_specific_, a.coef_, atol=1e-12)
    # warm starts (MuTaR's MultiLevelLasso crashed on a warm-started refit)
    m = msk.MultiLevelLasso(alpha=0.2, warm_start=True).fit(X3, y3)
    first = m.coef_.copy()
    m.fit(X3, y3)
    np.testing.assert_allclose(m.coef_, first, atol=1e-5)


def test_3d_arrays_are_checked_as_the_per_task_lists():
    """The one-pass check of 3-D float64 input: same fit as the task lists (which go through
    check_array task by task), same errors for nan/inf in X or y, other dtypes converted."""
    X3, y3 = _data()
    ref = msk.DirtyModel(alpha=0.1, beta=0.05).fit(list(X3), list(y3))
    for Xa, ya in ((X3.astype(np.float32), y3), (X3, y3.astype(np.float32)),
                   (np.asfortranarray(X3), y3[:, ::-1].copy()[:, ::-1])):
        est = msk.DirtyModel(alpha=0.1, beta=0.05).fit(Xa, ya)
        np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-5)
    for bad in (np.nan, np.inf):
        Xb, yb = X3.copy(), y3.copy()
        Xb[1, 2, 3] = bad
        yb[2, 4] = bad
        for Xa, ya in ((Xb, y3), (X3, yb)):
            with pytest.raises(ValueError) as e3:
                msk.DirtyModel(alpha=0.1, beta=0.05).fit(Xa, ya)
            with pytest.raises(ValueError) as el:
                msk.DirtyModel(alpha=0.1, beta=0.05).fit(list(Xa), list(ya))
            assert str(e3.value) == str(el.value) and "contains" in str(e3.value)
    with pytest.raises(ValueError, match="0 feature"):
        msk.DirtyModel().fit(np.zeros((3, 5, 0)), y3[:, :5])


def test_long_layout_and_grid_search_with_routing():
    X3, y3 = _data(K=3, n=30, p=6)
    K, n, p = X3.shape
    Xl, yl, task = X3.reshape(K * n, p), y3.reshape(-1), np.repeat(["a", "b", "c"], n)
    est = msk.IndLasso(alpha=0.1).fit(Xl, yl, task=task)
    ref = msk.IndLasso(alpha=0.1).fit(X3, y3)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-12)
    np.testing.assert_allclose(est.predict(Xl, task=task), ref.predict(X3).reshape(-1), atol=1e-12)
    assert list(est.tasks_) == ["a", "b", "c"]
    with sklearn.config_context(enable_metadata_routing=True):
        # folds drawn within every task (stratified on the task label), as mtreg.cv does
        folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(Xl, task))
        gs = GridSearchCV(msk.GroupLasso().set_fit_request(task=True).set_score_request(task=True),
                          {"alpha": [0.01, 0.1, 1.0]}, cv=folds)
        gs.fit(Xl, yl, task=task)
        assert np.all(np.isfinite(gs.cv_results_["mean_test_score"]))
        assert gs.best_params_["alpha"] in (0.01, 0.1)
        pipe = Pipeline([("scale", StandardScaler()),
                         ("gl", msk.GroupLasso(alpha=0.05).set_fit_request(task=True)
                          .set_predict_request(task=True))])
        pipe.fit(Xl, yl, task=task)
        assert pipe.predict(Xl, task=task).shape == (K * n,)


def test_clone_and_single_task_pipeline():
    est = msk.MTW(alpha=0.2, beta=0.1, epsilon=0.1, concomitant=True)
    c = clone(est)
    assert c.get_params() == est.get_params() and c is not est
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5))
    y = X[:, 0] + 0.1 * rng.standard_normal(40)
    pipe = Pipeline([("s", StandardScaler()), ("m", msk.DirtyModel(alpha=0.05, beta=0.05))])
    assert pipe.fit(X, y).score(X, y) > 0.9
    gs = GridSearchCV(msk.IndLasso(), {"alpha": [0.01, 0.5]}, cv=3).fit(X, y)
    assert gs.best_params_["alpha"] == 0.01


def test_mtw_estimators_fit_and_expose_barycenter():
    X, y = _data(K=3, n=20, p=8)
    for name in ("MTW", "ReMTW"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = getattr(msk, name)(alpha=0.1, beta=0.1, **FAST[name]).fit(X, y)
        assert est.barycenter_.shape == (8,) and est.coef_.shape == (8, 3)
        assert est.score(X, y) > 0.5
