"""Tests of mtreg.results and mtreg.report.

The model is a stand-in (``types.SimpleNamespace``) holding what ``MultiTaskModel`` holds, and
the designs are :class:`~mtreg.design.TaskDesign` objects built directly, with a small
``transform`` for new rows; the coefficients come from per-task least squares with some
entries set to zero, so every number is checked against a direct numpy/sklearn computation.
"""
from __future__ import annotations

import io
import pickle
import types

import numpy as np
import pandas as pd
import patsy
import pytest
import scipy.sparse as sp
from sklearn.metrics import mean_squared_error, r2_score
from statsmodels.iolib.summary2 import Summary

from mtreg import report
from mtreg.design import TaskDesign
from mtreg.penalties import GroupLasso, Lasso
from mtreg.results import MultiTaskResults, SupportTable, dumps_with_patsy
from mtreg.solvers._record import SolverRecord

RHS = "x1 + np.log(x2) + C(g) + standardize(x2) + sq(x1)"


def sq(v):
    """A user function used in the formula (must survive pickling by reference)."""
    return v**2


class StandInDesign(TaskDesign):
    """TaskDesign plus the ``transform`` the design builders provide (rebuild X for new rows)."""

    def transform(self, data):
        if self.design_info is None:
            raise TypeError("array design")
        keep = patsy.NAAction(NA_types=[])  # NaN rows stay, so rows align with data
        dm = np.asarray(patsy.dmatrix(self.design_info, data, NA_action=keep))
        cols = [i for i, c in enumerate(self.design_info.column_names) if c != "Intercept"]
        X = np.asfortranarray(dm[:, cols])
        if self.shared:
            return X, None
        return X, self.tasks.get_indexer(data[self.task_column])


# --------------------------------------------------------------------------- fixtures
def make_frame(n=60, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "x1": rng.normal(size=n),
        "x2": rng.uniform(1, 3, n),
        "g": rng.choice(["a", "b", "c"], n),
        "tf": rng.choice(["t1", "t2", "t3"], n),
    })
    effect = df["tf"].map({"t1": 1.0, "t2": -0.5, "t3": 2.0})
    df["y"] = effect * df["x1"] + np.log(df["x2"]) + rng.normal(scale=0.3, size=n)
    df.iloc[3, df.columns.get_loc("x1")] = np.nan
    df.iloc[10, df.columns.get_loc("y")] = np.nan
    df.iloc[11, df.columns.get_loc("y")] = np.nan
    df.index = np.repeat(np.arange(n // 2), 2) + 100  # duplicated labels on purpose
    return df


def build_long(df, sparse=False):
    """What the long-form design builder does: patsy once, drop NA rows, sort by task."""
    mask = df[["y", "x1", "x2", "g", "tf"]].notna().all(axis=1).to_numpy()
    pos = np.flatnonzero(mask)
    dm = patsy.dmatrix(RHS, df.iloc[pos])
    names = [c for c in dm.design_info.column_names if c != "Intercept"]
    Xall = np.asarray(dm)[:, [dm.design_info.column_names.index(c) for c in names]]
    tasks = pd.Index(sorted(df["tf"].unique()))
    codes = tasks.get_indexer(df["tf"].iloc[pos])
    order = np.argsort(codes, kind="stable")
    X = np.asfortranarray(Xall[order])
    K = len(tasks)
    dropped = pd.Series(
        np.bincount(tasks.get_indexer(df["tf"][~mask]), minlength=K), index=tasks)
    return StandInDesign(
        X=sp.csc_matrix(X) if sparse else X,
        y=df["y"].to_numpy()[pos][order],
        task_ptr=np.r_[0, np.cumsum(np.bincount(codes, minlength=K))].astype(np.int64),
        tasks=tasks, feature_names=names, response_names=["y"], shared=False,
        row_index=pos[order].astype(np.int64), n_input_rows=len(df), data_index=df.index,
        dropped=dropped, task_column="tf", formula="y ~ " + RHS,
        design_info=dm.design_info)


def build_shared(n=30, p=5, K=3, seed=1):
    """A shared (wide) array design; input row 7 has a missing response and is dropped."""
    rng = np.random.default_rng(seed)
    X_in = rng.normal(size=(n + 1, p))
    Y_in = X_in[:, :2] @ rng.normal(size=(2, K)) + rng.normal(scale=0.5, size=(n + 1, K))
    keep = np.setdiff1d(np.arange(n + 1), [7])
    return TaskDesign(
        X=np.asfortranarray(X_in[keep]), y=Y_in[keep].T.reshape(-1),
        task_ptr=(np.arange(K + 1) * n).astype(np.int64),
        tasks=pd.Index([f"y{k + 1}" for k in range(K)]),
        feature_names=[f"x{j}" for j in range(p)],
        response_names=[f"y{k + 1}" for k in range(K)], shared=True,
        row_index=keep.astype(np.int64), n_input_rows=n + 1,
        data_index=pd.RangeIndex(n + 1), dropped=pd.Series(np.ones(K, dtype=int),
                                                            index=[f"y{k + 1}" for k in range(K)]))


def task_X(design, k):
    if design.shared:
        return design.X
    sl = slice(design.task_ptr[k], design.task_ptr[k + 1])
    return design.X[sl]


def standin_fit(design, penalty=None, zero=(), converged=True, alpha=0.1, alpha_max=0.4):
    """Least squares per task, then the entries ``zero`` (feature, task) set to 0."""
    p, K = design.n_features, design.n_tasks
    W, b = np.zeros((p, K)), np.zeros(K)
    for k in range(K):
        Xk = task_X(design, k)
        Xk = Xk.toarray() if sp.issparse(Xk) else Xk
        yk = design.y[design.task_ptr[k]: design.task_ptr[k + 1]]
        sol = np.linalg.lstsq(np.column_stack([np.ones(len(yk)), Xk]), yk, rcond=None)[0]
        b[k], W[:, k] = sol[0], sol[1:]
    for j, k in zero:
        W[j, k] = 0.0
    record = SolverRecord(coef=W, intercept=np.zeros(K), n_iter=17, gap=2.5e-9,
                          gap_tol=1.0e-6, converged=converged, objective=0.123456,
                          solver="bcd")
    model = types.SimpleNamespace(
        design=design, penalty=penalty or GroupLasso(), fit_intercept=True, standardize=True,
        family="gaussian", tol=1e-4, max_iter=1000, missing="drop")
    return MultiTaskResults(model, W, b, record, alpha=alpha, alpha_max=alpha_max)


ZEROS_LONG = [(1, 1), (2, 2), (4, 0), (4, 1), (4, 2)]  # row 4 zero for all tasks


@pytest.fixture(scope="module")
def df():
    return make_frame()


@pytest.fixture(scope="module")
def long_res(df):
    return standin_fit(build_long(df), zero=ZEROS_LONG)


@pytest.fixture(scope="module")
def shared_res():
    return standin_fit(build_shared(), penalty=Lasso(l1_ratio=0.5), zero=[(3, 0), (4, 1)])


def direct_stacked(res):
    """Slow-but-obvious numpy: X_k w_k + b_k per task, stacked."""
    d = res.design
    W, b = res.params.to_numpy(), res.intercepts.to_numpy()
    out = []
    for k in range(d.n_tasks):
        Xk = task_X(d, k)
        Xk = Xk.toarray() if sp.issparse(Xk) else Xk
        out.append(Xk @ W[:, k] + b[k])
    return np.concatenate(out)


# --------------------------------------------------------------------------- coefficients
def test_params_labels_and_values(long_res):
    d = long_res.design
    assert list(long_res.params.index) == d.feature_names
    assert list(long_res.params.columns) == list(d.tasks)
    assert long_res.params.columns.name == "tf"
    np.testing.assert_array_equal(long_res.params.to_numpy(), long_res._coef)
    assert list(long_res.intercepts.index) == list(d.tasks)
    assert long_res.alpha_frac == pytest.approx(0.25)
    assert long_res.converged and long_res.n_iter == 17 and long_res.gap == 2.5e-9
    assert long_res.penalty.name == "group_lasso"


def test_bad_shapes_rejected(long_res):
    m = long_res.model
    with pytest.raises(ValueError, match="coef must have shape"):
        MultiTaskResults(m, np.zeros((2, 2)), np.zeros(3), long_res.record, alpha=1.0)
    with pytest.raises(ValueError, match="one value per task"):
        MultiTaskResults(m, long_res._coef, np.zeros(2), long_res.record, alpha=1.0)


def test_alpha_frac_unknown(long_res):
    res = MultiTaskResults(long_res.model, long_res._coef, long_res._intercept,
                           long_res.record, alpha=0.1)
    assert np.isnan(res.alpha_frac)
    assert "Alpha / alpha_max:" in res.summary().as_text()


def test_nnz_and_df_model(long_res):
    expected = np.count_nonzero(long_res.params.to_numpy(), axis=0)
    np.testing.assert_array_equal(long_res.nnz.to_numpy(), expected)
    np.testing.assert_array_equal(long_res.df_model.to_numpy(), expected)
    assert list(long_res.nnz.index) == ["t1", "t2", "t3"]


def test_to_frame_long(long_res):
    fr = long_res.to_frame()
    p, K = long_res.params.shape
    assert list(fr.columns) == ["feature", "task", "coef"]
    assert len(fr) == p * K
    back = fr.pivot(index="feature", columns="task", values="coef")
    back = back.loc[long_res.params.index, long_res.params.columns]
    np.testing.assert_array_equal(back.to_numpy(), long_res.params.to_numpy())


# --------------------------------------------------------------------------- fitted values
def test_fitted_resid_long_match_numpy(df, long_res):
    d = long_res.design
    fv, rs = long_res.fittedvalues, long_res.resid
    assert isinstance(fv, pd.Series) and len(fv) == len(df)
    assert fv.index.equals(df.index)  # duplicated labels kept, positions used
    expected = np.full(len(df), np.nan)
    expected[d.row_index] = direct_stacked(long_res)
    np.testing.assert_allclose(fv.to_numpy(), expected, rtol=1e-12, atol=1e-12)
    dropped = np.setdiff1d(np.arange(len(df)), d.row_index)
    np.testing.assert_array_equal(dropped, [3, 10, 11])
    assert fv.iloc[dropped].isna().all() and rs.iloc[dropped].isna().all()
    np.testing.assert_allclose((fv + rs).to_numpy()[d.row_index],
                               df["y"].to_numpy()[d.row_index], rtol=1e-12)


def test_fitted_shared_dataframe(shared_res):
    d = shared_res.design
    fv = shared_res.fittedvalues
    assert isinstance(fv, pd.DataFrame) and fv.shape == (d.n_input_rows, d.n_tasks)
    assert list(fv.columns) == ["y1", "y2", "y3"]
    W, b = shared_res.params.to_numpy(), shared_res.intercepts.to_numpy()
    np.testing.assert_allclose(fv.to_numpy()[d.row_index], d.X @ W + b, rtol=1e-12)
    assert fv.iloc[7].isna().all() and shared_res.resid.iloc[7].isna().all()
    Y = d.y.reshape(d.n_tasks, -1).T
    np.testing.assert_allclose(shared_res.resid.to_numpy()[d.row_index], Y - d.X @ W - b,
                               rtol=1e-10, atol=1e-12)


def test_sparse_design_matches_dense(df):
    dense = standin_fit(build_long(df), zero=ZEROS_LONG)
    sparse = MultiTaskResults(
        types.SimpleNamespace(**{**vars(dense.model), "design": build_long(df, sparse=True)}),
        dense._coef, dense._intercept, dense.record, alpha=dense.alpha)
    assert sp.issparse(sparse.design.X)
    np.testing.assert_allclose(sparse.fittedvalues, dense.fittedvalues, rtol=1e-12)
    pd.testing.assert_frame_equal(sparse.task_table(), dense.task_table())
    np.testing.assert_allclose(sparse.predict(df), dense.predict(df), rtol=1e-12)


# --------------------------------------------------------------------------- statistics
@pytest.mark.parametrize("which", ["long", "shared"])
def test_task_table_matches_sklearn(which, long_res, shared_res):
    res = long_res if which == "long" else shared_res
    d = res.design
    tt = res.task_table()
    assert list(tt.columns) == ["n", "dropped", "R2", "RMSE", "nnz", "intercept"]
    assert list(tt.index) == list(d.tasks)
    fitted = direct_stacked(res)
    for k, task in enumerate(d.tasks):
        sl = slice(d.task_ptr[k], d.task_ptr[k + 1])
        yk, fk = d.y[sl], fitted[sl]
        assert tt.loc[task, "n"] == len(yk)
        assert tt.loc[task, "R2"] == pytest.approx(r2_score(yk, fk), rel=1e-10)
        assert tt.loc[task, "RMSE"] == pytest.approx(np.sqrt(mean_squared_error(yk, fk)),
                                                     rel=1e-10)
    np.testing.assert_array_equal(tt["nnz"], res.nnz)
    np.testing.assert_array_equal(tt["intercept"], res.intercepts)
    np.testing.assert_array_equal(tt["dropped"], d.dropped.reindex(d.tasks))
    pd.testing.assert_series_equal(res.rsquared, tt["R2"], check_names=False)


def test_dropped_per_task_long(df, long_res):
    tt = long_res.task_table()
    assert tt["dropped"].sum() == 3
    assert (tt["n"].sum() + tt["dropped"].sum()) == len(df)


# --------------------------------------------------------------------------- support
def test_support_counts_match_numpy(long_res):
    sup = long_res.support()
    assert isinstance(sup, SupportTable)
    W = long_res.params.to_numpy()
    np.testing.assert_array_equal(sup.table.to_numpy(), W != 0)
    np.testing.assert_array_equal(sup.n_tasks.to_numpy(), (W != 0).sum(axis=1))
    np.testing.assert_array_equal(sup.n_features.to_numpy(), (W != 0).sum(axis=0))
    long = sup.to_frame()
    assert list(long.columns) == ["feature", "task", "coef"]
    assert len(long) == np.count_nonzero(W) and (long["coef"] != 0).all()
    sel = sup.selected()
    assert len(sel) == int(((W != 0).sum(axis=1) > 0).sum())


def test_support_renders(long_res):
    sup = long_res.support()
    text = str(sup)
    feat4 = long_res.params.index[4]
    line = next(ln for ln in text.splitlines() if ln.startswith(feat4))
    assert "x" not in line.replace(feat4, "") and line.count(".") >= 3
    assert "n_tasks" in text and "n_features" in text
    assert "<table" in sup._repr_html_()
    assert "\\begin{tabular}" in sup.as_latex()
    back = pd.read_csv(io.StringIO(sup.as_csv()), index_col="feature")
    assert back.loc["n_features", "n_tasks"] == np.count_nonzero(long_res.params)
    np.testing.assert_array_equal(back.iloc[:-1, :-1].to_numpy(),
                                  (long_res.params != 0).astype(int).to_numpy())


# --------------------------------------------------------------------------- summary
def test_summary_text_contents(long_res):
    smry = long_res.summary()
    assert isinstance(smry, Summary)
    text = smry.as_text()
    assert "Multi-task group lasso regression results" in text
    for needle in ["group_lasso", "l1_ratio", "gaussian", "0.1", "0.25", "Rows dropped",
                   "Converged:", "Yes", "17", "2.5e-09", "1e-06", "tf", "no standard errors",
                   "Fit intercept:"]:
        assert needle in text, needle
    for name in list(long_res.design.tasks) + long_res.design.feature_names:
        assert name in text, name
    # the feature set to zero in every task prints as dots only
    feat4 = long_res.params.index[4]
    row = next(ln for ln in text.splitlines() if ln.strip().startswith(feat4))
    assert row.split()[1:] == [".", ".", "."]
    # R^2 of the task table
    assert f"{long_res.rsquared.iloc[0]:.4f}" in text


def test_summary_html_latex(long_res):
    smry = long_res.summary()
    html_out = smry.as_html()
    assert "<table" in html_out and "group lasso" in html_out
    assert long_res._repr_html_() == html_out
    tex = smry.as_latex()
    assert "\\begin{table}" in tex and "\\begin{tabular}" in tex
    assert "group\\_lasso" in tex  # underscores escaped
    assert long_res.to_latex() == tex
    assert "C(g)[T.b]" in html_out


def test_summary_blocks_many_tasks():
    res = standin_fit(build_shared(n=40, p=4, K=15, seed=3), zero=[(0, 14)])
    text = res.summary().as_text()
    assert "tasks 1-8 of 15" in text and "tasks 9-15 of 15" in text
    for t in res.design.tasks:
        assert t in text
    with_five = res.summary(max_columns=5).as_text()
    assert "tasks 11-15 of 15" in with_five
    # a block has at most max_columns task columns
    for table in res.summary(max_columns=5).tables[2:]:
        assert table.shape[1] - 1 <= 5


def test_summary_not_converged_note(df):
    res = standin_fit(build_long(df), converged=False)
    text = res.summary().as_text()
    assert "did not converge" in text and "No" in text
    assert "NOT converged" in repr(res)


def test_repr(long_res):
    r = repr(long_res)
    assert r.startswith("<MultiTaskResults: group_lasso") and "3 tasks" in r
    assert str(int(long_res.nnz.sum())) + " nonzeros" in r


# --------------------------------------------------------------------------- prediction
def test_predict_none_is_fittedvalues(long_res):
    pd.testing.assert_series_equal(long_res.predict(), long_res.fittedvalues)
    with pytest.raises(TypeError, match="task="):
        long_res.predict(task="t1")


def test_predict_training_rows_equal_fitted(df, long_res):
    pred = long_res.predict(df)
    assert isinstance(pred, pd.Series) and pred.index.equals(df.index)
    rows = long_res.design.row_index
    np.testing.assert_allclose(pred.to_numpy()[rows], long_res.fittedvalues.to_numpy()[rows],
                               rtol=1e-12)
    assert np.isnan(pred.iloc[3])  # x1 missing -> no prediction


def test_predict_new_rows_own_task(df, long_res):
    new = make_frame(n=20, seed=5).dropna()
    pred = long_res.predict(new)
    X, codes = long_res.design.transform(new)
    W, b = long_res.params.to_numpy(), long_res.intercepts.to_numpy()
    np.testing.assert_allclose(pred, np.einsum("ij,ji->i", X, W[:, codes]) + b[codes],
                               rtol=1e-12)
    # task given separately
    one = long_res.predict(new.drop(columns="tf"), task="t2")
    np.testing.assert_allclose(one, X @ W[:, 1] + b[1], rtol=1e-12)
    with pytest.raises(ValueError, match="one way"):
        long_res.predict(new, task="t2")
    bad = new.assign(tf="t9")
    with pytest.raises(ValueError, match="unknown"):
        long_res.predict(bad)


def test_predict_arrays(shared_res):
    d = shared_res.design
    W, b = shared_res.params.to_numpy(), shared_res.intercepts.to_numpy()
    all_tasks = shared_res.predict(d.X)
    assert isinstance(all_tasks, pd.DataFrame) and list(all_tasks.columns) == list(d.tasks)
    np.testing.assert_allclose(all_tasks.to_numpy(),
                               shared_res.fittedvalues.to_numpy()[d.row_index], rtol=1e-12)
    one = shared_res.predict(d.X, task="y2")
    assert isinstance(one, pd.Series) and one.name == "y2"
    np.testing.assert_allclose(one, d.X @ W[:, 1] + b[1], rtol=1e-12)
    labels = np.array(["y1", "y3"] * (d.X.shape[0] // 2))
    per_row = shared_res.predict(d.X, task=labels)
    codes = d.tasks.get_indexer(labels)
    np.testing.assert_allclose(per_row, np.einsum("ij,ji->i", d.X, W[:, codes]) + b[codes])
    np.testing.assert_allclose(shared_res.predict(sp.csr_matrix(d.X)), all_tasks)
    with pytest.raises(KeyError, match="unknown task"):
        shared_res.predict(d.X, task="nope")
    with pytest.raises(ValueError, match="shape"):
        shared_res.predict(d.X[:, :2])


def test_predict_wide_formula():
    """Wide form "y1 + y2 ~ x1 + np.log(x2)": one X, a DataFrame of predictions per task."""
    rng = np.random.default_rng(4)
    n = 25
    wide = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.uniform(1, 2, n)},
                        index=[f"r{i}" for i in range(n)])
    wide["y1"] = wide["x1"] + rng.normal(size=n)
    wide["y2"] = np.log(wide["x2"]) + rng.normal(size=n)
    wide.iloc[5, wide.columns.get_loc("y2")] = np.nan
    keep = np.flatnonzero(wide.notna().all(axis=1).to_numpy())
    dm = patsy.dmatrix("x1 + np.log(x2)", wide.iloc[keep])
    tasks = pd.Index(["y1", "y2"])
    design = StandInDesign(
        X=np.asfortranarray(np.asarray(dm)[:, 1:]),
        y=wide[["y1", "y2"]].to_numpy()[keep].T.reshape(-1),
        task_ptr=np.array([0, len(keep), 2 * len(keep)]), tasks=tasks,
        feature_names=dm.design_info.column_names[1:], response_names=["y1", "y2"],
        shared=True, row_index=keep, n_input_rows=n, data_index=wide.index,
        dropped=pd.Series([0, 1], index=tasks), formula="y1 + y2 ~ x1 + np.log(x2)",
        design_info=dm.design_info)
    res = standin_fit(design, zero=[(0, 1)])
    pred = res.predict(wide)
    assert isinstance(pred, pd.DataFrame) and pred.index.equals(wide.index)
    np.testing.assert_allclose(pred.to_numpy()[keep], res.fittedvalues.to_numpy()[keep],
                               rtol=1e-12)
    assert res.fittedvalues.iloc[5].isna().all() and np.isfinite(pred.iloc[5]).all()
    np.testing.assert_allclose(res.predict(wide, task="y2"), pred["y2"], rtol=1e-12)
    text = res.summary().as_text()
    assert "y1, y2" in text and "Rows dropped (NA):     1" in text
    back = pickle.loads(pickle.dumps(res))
    pd.testing.assert_frame_equal(back.predict(wide), pred)


def test_nonconvex_header(df):
    res = standin_fit(build_long(df))
    pen = types.SimpleNamespace(name="sgmtl", is_convex=False,
                                params=lambda: {"n_groups": 2, "fusion": 0.1})
    rec = SolverRecord(coef=res._coef, intercept=np.zeros(3), n_iter=40, gap=np.nan,
                       gap_tol=np.nan, converged=True, objective=1.5, solver="alternating")
    model = types.SimpleNamespace(**{**vars(res.model), "penalty": pen})
    res = MultiTaskResults(model, res._coef, res._intercept, rec, alpha=0.2)
    text = res.summary().as_text()
    assert "Multi-task sgmtl regression results" in text
    assert "n/a (non-convex)" in text and "n_groups=2, fusion=0.1" in text


# --------------------------------------------------------------------------- pickling
def test_pickle_roundtrip_formula(df, long_res):
    with pytest.raises(NotImplementedError):  # why this matters: patsy refuses by itself
        pickle.dumps(long_res.design.design_info)
    _ = long_res.summary(), long_res.fittedvalues  # fill caches; they are not pickled
    blob = pickle.dumps(long_res)
    back = pickle.loads(blob)
    new = make_frame(n=20, seed=7)
    pd.testing.assert_series_equal(back.predict(new), long_res.predict(new))
    pd.testing.assert_series_equal(back.predict(df), long_res.predict(df))
    pd.testing.assert_frame_equal(back.params, long_res.params)
    pd.testing.assert_series_equal(back.fittedvalues, long_res.fittedvalues)
    assert back.summary().as_text() == long_res.summary().as_text()
    assert back.design.design_info.column_names == long_res.design.design_info.column_names


def test_pickle_roundtrip_shared(shared_res):
    back = pickle.loads(pickle.dumps(shared_res))
    pd.testing.assert_frame_equal(back.predict(back.design.X), shared_res.predict(
        shared_res.design.X))
    assert back.penalty == shared_res.penalty


def test_pickle_stateful_transforms_keep_training_state(df):
    """standardize()/center() must use the TRAINING mean, not the new rows' mean."""
    design = build_long(df)
    blob = dumps_with_patsy(design.design_info)
    di = pickle.loads(blob)
    new = make_frame(n=20, seed=11).dropna()
    np.testing.assert_array_equal(np.asarray(patsy.dmatrix(di, new)),
                                  np.asarray(patsy.dmatrix(design.design_info, new)))


def test_pickle_warns_on_unpicklable_formula_function():
    data = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    def f(v):  # a local function cannot be pickled by reference
        return v + 1

    di = patsy.dmatrix("f(x)", data).design_info
    with pytest.warns(UserWarning, match="'f'"):
        dumps_with_patsy(di)


# --------------------------------------------------------------------------- report helpers
def test_column_blocks():
    assert report.column_blocks(12) == [slice(0, 12)]
    blocks = report.column_blocks(30, 12)
    assert len(blocks) == 3 and all(b.stop - b.start <= 12 for b in blocks)
    assert blocks[0].start == 0 and blocks[-1].stop == 30
    with pytest.raises(ValueError):
        report.column_blocks(3, 0)


def test_sparse_coef_frame_and_pairs():
    fr = report.sparse_coef_frame(np.array([[0.0, 1.234567], [-2e-7, 0.0]]), ["a", "b"],
                                  ["t1", "t2"])
    assert fr.to_numpy().tolist() == [[".", "1.235"], ["-2e-07", "."]]
    arr = report.pairs_to_array([("a:", "1"), ("b:", "2"), ("c:", "3")])
    assert arr.shape == (2, 4) and arr[0, 0] == "a:" and arr[0, 2] == "c:" and arr[1, 3] == ""
    assert report.short_list([f"y{i}" for i in range(20)]) == "y0, y1, y2, y3, ..., y19 (20)"
    assert report.latex_escape("a_b & c%") == "a\\_b \\& c\\%"
