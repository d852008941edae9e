"""Tests for mtreg.design: formula / wide / arrays -> TaskDesign, and transform."""
from __future__ import annotations

import numpy as np
import pandas as pd
import patsy
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from mtreg._validation import as_csc
from mtreg.design import TaskDesign, from_arrays, from_endog_exog, from_formula

# --------------------------------------------------------------------------- fixtures


def make_long(n_per_task=(5, 9, 3, 7), seed=0, shuffle=True, index=None):
    """Ragged long table: tasks of different sizes, rows interleaved."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([f"t{k}" for k in range(len(n_per_task))], n_per_task)
    n = len(labels)
    df = pd.DataFrame({
        "id": np.arange(n),
        "y": rng.normal(size=n),
        "x1": rng.normal(size=n),
        "x2": rng.uniform(0.5, 2.0, size=n),
        "site": rng.choice(["a", "b", "c"], size=n),
        "tf": labels,
    })
    df.loc[:2, "site"] = ["a", "b", "c"]  # every level present
    if shuffle:
        df = df.iloc[rng.permutation(n)].reset_index(drop=True)
    if index is not None:
        df.index = index(n)
    return df


def blocks(design: TaskDesign, arr):
    ptr = design.task_ptr
    return [arr[ptr[k]:ptr[k + 1]] for k in range(design.n_tasks)]


def reference_long(df, formula, task):
    """Slow and obvious: patsy on the complete rows, then pandas groupby by task."""
    clean = df.reset_index(drop=True)
    y, X = patsy.dmatrices(formula, clean, return_type="dataframe")
    X = X.drop(columns="Intercept", errors="ignore")
    groups = clean.loc[X.index].groupby(task, sort=True).indices
    out = {}
    for label, pos in groups.items():
        rows = X.index[pos].to_numpy()
        out[label] = (rows, X.loc[rows].to_numpy(), y.loc[rows].to_numpy()[:, 0])
    return out, list(X.columns)


# --------------------------------------------------------------------------- long form


def test_long_form_matches_groupby_construction():
    df = make_long()
    formula = "y ~ x1 + x2 + C(site)"
    d = from_formula(formula, df, task="tf")
    ref, cols = reference_long(df, formula, "tf")

    assert d.feature_names == cols
    assert list(d.tasks) == sorted(ref)
    assert d.n_tasks == 4 and not d.shared
    np.testing.assert_array_equal(d.n_samples, [5, 9, 3, 7])
    np.testing.assert_array_equal(d.task_ptr, [0, 5, 14, 17, 24])
    assert d.task_ptr.dtype == np.int64 and d.row_index.dtype == np.int64
    assert d.X.shape == (24, len(cols)) and d.y.shape == (24,)
    assert d.X.flags.f_contiguous and d.X.dtype == np.float64
    for k, label in enumerate(d.tasks):
        rows, Xk, yk = ref[label]
        np.testing.assert_array_equal(blocks(d, d.row_index)[k], rows)  # order kept in task
        np.testing.assert_array_equal(blocks(d, d.X)[k], Xk)
        np.testing.assert_array_equal(blocks(d, d.y)[k], yk)
    # rows point back into the input table
    np.testing.assert_array_equal(d.y, df["y"].to_numpy()[d.row_index])
    assert (df["tf"].to_numpy()[d.row_index] == np.repeat(d.tasks, d.n_samples)).all()
    assert d.n_input_rows == 24 and d.data_index.equals(df.index)
    assert d.dropped.tolist() == [0, 0, 0, 0] and d.dropped.index.equals(d.tasks)
    assert d.task_column == "tf" and d.formula == formula
    assert d.extra["dropped_no_task"] == 0
    assert "n_tasks=4" in repr(d)


def test_shuffled_and_contiguous_rows_give_the_same_blocks():
    a = make_long(shuffle=False)
    b = a.iloc[np.random.default_rng(3).permutation(len(a))]
    formula = "y ~ x1 * x2 + C(site)"
    da, db = from_formula(formula, a, task="tf"), from_formula(formula, b, task="tf")
    np.testing.assert_array_equal(da.task_ptr, db.task_ptr)
    assert da.feature_names == db.feature_names
    ids_a = a["id"].to_numpy()[da.row_index]
    ids_b = b["id"].to_numpy()[db.row_index]
    for k in range(da.n_tasks):
        sa = np.argsort(blocks(da, ids_a)[k])
        sb = np.argsort(blocks(db, ids_b)[k])
        np.testing.assert_array_equal(blocks(da, da.X)[k][sa], blocks(db, db.X)[k][sb])
        np.testing.assert_array_equal(blocks(da, da.y)[k][sa], blocks(db, db.y)[k][sb])
    # b's index is a permutation of 0..n-1, not positions: row_index is positional
    np.testing.assert_array_equal(b["id"].to_numpy()[db.row_index], b.index[db.row_index])


@pytest.mark.parametrize(
    ("formula", "columns"),
    [
        ("y ~ x1 + C(site)", ["C(site)[T.b]", "C(site)[T.c]", "x1"]),
        ("y ~ x1 + x1:x2", ["x1", "x1:x2"]),
        ("y ~ np.log(x2) + I(x1 ** 2)", ["np.log(x2)", "I(x1 ** 2)"]),
        ("y ~ C(site) + x1 - 1", ["C(site)[a]", "C(site)[b]", "C(site)[c]", "x1"]),
        ("y ~ 0 + site:x1", ["site[a]:x1", "site[b]:x1", "site[c]:x1"]),
        ("y ~ C(site, Treatment('c')) + x1",
         ["C(site, Treatment('c'))[T.a]", "C(site, Treatment('c'))[T.b]", "x1"]),
    ],
)
def test_formula_terms_and_transform_reproduces_training_X(formula, columns):
    df = make_long()
    d = from_formula(formula, df, task="tf")
    assert d.feature_names == columns
    assert "Intercept" not in d.feature_names
    assert isinstance(d.design_info, patsy.DesignInfo)
    X_new, codes = d.transform(df)
    assert X_new.shape == (len(df), len(columns)) and X_new.dtype == np.float64
    np.testing.assert_array_equal(X_new[d.row_index], d.X)
    np.testing.assert_array_equal(codes[d.row_index], np.repeat(np.arange(d.n_tasks), d.n_samples))


def test_stateful_transform_keeps_training_state():
    df = make_long()
    d = from_formula("y ~ center(x1)", df, task="tf")
    X_new, _ = d.transform(df.iloc[:3])
    np.testing.assert_allclose(X_new[:, 0], df["x1"].to_numpy()[:3] - df["x1"].mean())


def test_dot_expands_to_other_columns():
    df = make_long().drop(columns="id")
    d = from_formula("y ~ . - x2", df, task="tf")
    assert d.feature_names == ["site[T.b]", "site[T.c]", "x1"]
    assert d.extra["formula_expanded"].startswith("y ~ (x1 + x2 + site)")


def test_names_from_the_callers_namespace():
    def double(v):
        return 2 * v

    df = make_long()
    d = from_formula("y ~ double(x1)", df, task="tf")
    np.testing.assert_array_equal(d.X[:, 0], 2 * df["x1"].to_numpy()[d.row_index])


# --------------------------------------------------------------------------- task labels


def test_integer_task_column_sorted():
    df = make_long()
    df["tf"] = df["tf"].map({"t0": 30, "t1": 10, "t2": 20, "t3": 5})
    d = from_formula("y ~ x1", df, task="tf")
    assert list(d.tasks) == [5, 10, 20, 30]
    np.testing.assert_array_equal(d.n_samples, [7, 9, 3, 5])
    _, codes = d.transform(df.iloc[:4])
    assert list(d.tasks[codes]) == df["tf"].iloc[:4].tolist()


def test_categorical_task_column_uses_category_order_without_empty_categories():
    df = make_long()
    df["tf"] = pd.Categorical(df["tf"], categories=["t3", "unused", "t1", "t0", "t2"])
    d = from_formula("y ~ x1", df, task="tf")
    assert list(d.tasks) == ["t3", "t1", "t0", "t2"]
    np.testing.assert_array_equal(d.n_samples, [7, 9, 5, 3])
    assert list(d.dropped.index) == list(d.tasks)
    _, codes = d.transform(df.iloc[:5])
    assert list(d.tasks[codes]) == df["tf"].iloc[:5].astype(str).tolist()


def test_mixed_type_task_labels_keep_first_appearance_order():
    df = make_long(n_per_task=(3, 3, 3), shuffle=False)
    df["tf"] = pd.Series(["b"] * 3 + [1] * 3 + ["a"] * 3, dtype=object)
    d = from_formula("y ~ x1", df, task="tf")
    assert list(d.tasks) == ["b", 1, "a"]
    _, codes = d.transform(df.iloc[[8, 0, 4]])
    np.testing.assert_array_equal(codes, [2, 0, 1])


def test_duplicate_and_non_default_index_labels():
    df = make_long(index=lambda n: pd.Index(["r"] * (n - 3) + ["s", "s", "r"]))
    d = from_formula("y ~ x1 + C(site)", df, task="tf")
    ref, _ = reference_long(df, "y ~ x1 + C(site)", "tf")
    np.testing.assert_array_equal(d.row_index, np.concatenate([ref[t][0] for t in d.tasks]))
    assert d.data_index.equals(df.index) and d.n_input_rows == len(df)
    X_new, _ = d.transform(df)
    np.testing.assert_array_equal(X_new[d.row_index], d.X)


# --------------------------------------------------------------------------- missing values


def test_drop_counts_per_task_and_rows_without_task():
    df = make_long(shuffle=False)  # t0: rows 0-4, t1: 5-13, t2: 14-16, t3: 17-23
    df.loc[[0, 6, 7], "x1"] = np.nan
    df.loc[8, "y"] = np.nan
    df.loc[18, "site"] = None
    df.loc[20, "tf"] = None
    df.loc[21, "id"] = np.nan  # unused column: ignored
    d = from_formula("y ~ x1 + C(site)", df, task="tf")
    assert d.dropped.to_dict() == {"t0": 1, "t1": 3, "t2": 0, "t3": 1}
    assert d.dropped.dtype == np.int64
    assert d.extra["dropped_no_task"] == 1
    np.testing.assert_array_equal(d.n_samples, [4, 6, 3, 5])
    assert not np.isin([0, 6, 7, 8, 18, 20], d.row_index).any()
    assert 21 in d.row_index
    assert "dropped=6" in repr(d)


def test_missing_raise_names_columns_and_row_count():
    df = make_long()
    df.loc[[1, 2], "x1"] = np.nan
    df.loc[2, "site"] = None
    df.loc[5, "tf"] = None
    with pytest.raises(ValueError, match=r"'x1' \(2 rows\), 'site' \(1 row\), 'tf' \(1 row\): 3 rows"):
        from_formula("y ~ x1 + C(site)", df, task="tf", missing="raise")


def test_nan_produced_by_a_transform_is_dropped_too():
    df = make_long(shuffle=False)
    df.loc[3, "x2"] = -1.0  # np.log(-1) -> nan
    with np.errstate(invalid="ignore"):
        d = from_formula("y ~ np.log(x2)", df, task="tf")
        assert 3 not in d.row_index and d.dropped["t0"] == 1
        with pytest.raises(ValueError, match=r"np\.log\(x2\)"):
            from_formula("y ~ np.log(x2)", df, task="tf", missing="raise")


def test_nullable_integer_and_boolean_columns():
    df = make_long()
    df["xi"] = pd.array(np.arange(len(df)), dtype="Int64")
    df.loc[4, "xi"] = pd.NA
    df["yb"] = df["y"] > 0
    d = from_formula("yb ~ xi", df, task="tf")
    assert d.response_names == ["yb"] and d.feature_names == ["xi"]
    np.testing.assert_array_equal(d.y, (df["y"].to_numpy() > 0)[d.row_index].astype(float))
    assert int(d.dropped.sum()) == 1


# --------------------------------------------------------------------------- wide form


def test_wide_form_shares_one_X():
    df = make_long(shuffle=False).rename(columns={"id": "y2"})
    df["y3"] = df["x1"] * 2
    df.loc[[2, 9], "y3"] = np.nan
    d = from_formula("y + y2 + y3 ~ x2 + C(site)", df)
    n = len(df) - 2
    assert d.shared and d.task_column is None
    assert d.X.shape == (n, 3)  # not K copies
    assert d.X.flags.f_contiguous
    assert list(d.tasks) == ["y", "y2", "y3"] and d.response_names == ["y", "y2", "y3"]
    np.testing.assert_array_equal(d.task_ptr, [0, n, 2 * n, 3 * n])
    assert d.y.shape == (3 * n,)
    keep = np.setdiff1d(np.arange(len(df)), [2, 9])
    np.testing.assert_array_equal(d.row_index, keep)
    for k, name in enumerate(["y", "y2", "y3"]):
        np.testing.assert_array_equal(d.y[k * n:(k + 1) * n], df[name].to_numpy()[keep])
    assert d.dropped.to_dict() == {"y": 2, "y2": 2, "y3": 2}
    assert "dropped=2" in repr(d)
    X_new, codes = d.transform(df)
    assert codes is None
    np.testing.assert_array_equal(X_new[d.row_index], d.X)
    with pytest.raises(ValueError, match="shared"):
        d.transform(df, task=df["tf"])


def test_single_response_without_task_is_one_task():
    df = make_long()
    d = from_formula("y ~ x1", df)
    assert d.n_tasks == 1 and list(d.tasks) == ["y"] and d.shared
    assert d.X.shape == (len(df), 1)
    np.testing.assert_array_equal(d.task_ptr, [0, len(df)])


# --------------------------------------------------------------------------- transform errors


def test_transform_errors():
    df = make_long()
    d = from_formula("y ~ x1 + C(site)", df, task="tf")
    new = df.iloc[:4].copy()
    bad = new.assign(tf=["t0", "zz", "t1", "yy"])
    with pytest.raises(ValueError, match=r"unknown task\(s\) 'zz', 'yy'"):
        d.transform(bad)
    with pytest.raises(ValueError, match=r"column 'site'.*'z'"):
        d.transform(new.assign(site=["a", "z", "b", "a"]))
    with pytest.raises(ValueError, match=r"missing values in newdata column\(s\) 'x1' \(1 row\)"):
        d.transform(new.assign(x1=[1.0, np.nan, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"missing values in newdata column\(s\) 'site' \(1 row\)"):
        d.transform(new.iloc[:1].assign(site=[None]))
    with pytest.raises(ValueError, match=r"infinite values in column 'x1' of newdata"):
        d.transform(new.assign(x1=[1.0, np.inf, 2.0, 3.0]))
    with pytest.raises(ValueError, match=r"task labels are missing in 1 row"):
        d.transform(new.assign(tf=["t0", None, "t1", "t1"]))
    with pytest.raises(ValueError, match=r"lacks the task column 'tf'; available columns"):
        d.transform(new.drop(columns="tf"))
    with pytest.raises(ValueError, match=r"lacks column\(s\) 'x1'"):
        d.transform(new.drop(columns="x1"))
    # task labels may be given separately
    X, codes = d.transform(new.drop(columns="tf"), task=["t3", "t0", "t0", "t1"])
    np.testing.assert_array_equal(codes, [3, 0, 0, 1])
    assert X.shape == (4, 3)


# --------------------------------------------------------------------------- formula errors


def test_formula_errors():
    df = make_long()
    with pytest.raises(ValueError, match=r"task column 'task' not found in data; available columns: 'id'"):
        from_formula("y ~ x1", df, task="task")
    with pytest.raises(ValueError, match=r"names column\(s\) 'x9' not found in data"):
        from_formula("y ~ x1 + x9", df, task="tf")
    with pytest.raises(ValueError, match=r"names column\(s\) 'odd name'"):
        from_formula("y ~ Q('odd name')", df, task="tf")
    with pytest.raises(ValueError, match=r"invalid formula 'y ~ x1 \+'"):
        from_formula("y ~ x1 +", df, task="tf")
    with pytest.raises(ValueError, match=r"has no response"):
        from_formula("x1 + x2", df, task="tf")
    with pytest.raises(TypeError, match=r"response 'site' is not numeric"):
        from_formula("site ~ x1", df, task="tf")
    with pytest.raises(TypeError, match=r"response 'C\(site\)' is not numeric"):
        from_formula("C(site) ~ x1", df, task="tf")
    with pytest.raises(ValueError, match=r"task column 'tf' cannot be .*the response"):
        from_formula("tf ~ x1", df, task="tf")
    with pytest.raises(ValueError, match=r"2 responses, but the long form"):
        from_formula("y + x2 ~ x1", df, task="tf")
    with pytest.raises(ValueError, match=r"has no features"):
        from_formula("y ~ 1", df, task="tf")
    with pytest.raises(ValueError, match=r"missing must be one of 'drop', 'raise'; got 'omit'"):
        from_formula("y ~ x1", df, task="tf", missing="omit")
    with pytest.raises(TypeError, match=r"data must be a pandas DataFrame; got dict"):
        from_formula("y ~ x1", df.to_dict("list"), task="tf")
    with pytest.raises(ValueError, match=r"data is empty"):
        from_formula("y ~ x1", df.iloc[:0], task="tf")


def test_too_few_rows_in_a_task():
    df = make_long(shuffle=False)  # t2: rows 14-16
    df.loc[[14, 15], "x1"] = np.nan
    with pytest.raises(ValueError, match=r"task 't2' has 1 row \(2 dropped for missing values\)"):
        from_formula("y ~ x1", df, task="tf")
    df.loc[16, "y"] = np.nan
    with pytest.raises(ValueError, match=r"task 't2' has 0 rows"):
        from_formula("y ~ x1", df, task="tf")


def test_all_missing_and_infinite_columns():
    df = make_long()
    with pytest.raises(ValueError, match=r"column 'x2' is entirely missing"):
        from_formula("y ~ x1 + x2", df.assign(x2=np.nan), task="tf")
    with pytest.raises(ValueError, match=r"task column 'tf' is entirely missing"):
        from_formula("y ~ x1", df.assign(tf=None), task="tf")
    df.loc[3, "x1"] = np.inf
    with pytest.raises(ValueError, match=r"infinite values in column 'x1' \(1 row\)"):
        from_formula("y ~ x1", df, task="tf")
    df.loc[3, "x1"] = 0.0
    df.loc[4, "x2"] = 0.0
    with np.errstate(divide="ignore"):
        with pytest.raises(ValueError, match=r"infinite values in design column\(s\) 'np.log\(x2\)'"):
            from_formula("y ~ np.log(x2)", df, task="tf")


# --------------------------------------------------------------------------- endog / exog


def test_endog_exog_long_form_matches_formula():
    df = make_long()
    d_f = from_formula("y ~ x1 + x2", df, task="tf")
    d_a = from_endog_exog(df["y"], df[["x1", "x2"]], task=df["tf"])
    np.testing.assert_array_equal(d_a.X, d_f.X)
    np.testing.assert_array_equal(d_a.y, d_f.y)
    np.testing.assert_array_equal(d_a.task_ptr, d_f.task_ptr)
    np.testing.assert_array_equal(d_a.row_index, d_f.row_index)
    assert d_a.feature_names == ["x1", "x2"] and d_a.response_names == ["y"]
    assert d_a.data_index.equals(df.index) and d_a.design_info is None
    X_new, codes = d_a.transform(df[["x2", "x1"]], task=df["tf"])  # matched by name
    np.testing.assert_array_equal(X_new[d_a.row_index], d_a.X)
    assert list(d_a.tasks[codes]) == df["tf"].tolist()


def test_endog_exog_plain_arrays_default_names_and_missing():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(10, 3))
    y = rng.normal(size=10)
    task = np.array([1, 0] * 5)
    X[2, 1] = np.nan
    d = from_endog_exog(y, X, task=task)
    assert d.feature_names == ["x1", "x2", "x3"] and list(d.tasks) == [0, 1]
    assert d.dropped.to_dict() == {0: 0, 1: 1}  # row 2 belongs to task 1
    assert isinstance(d.data_index, pd.RangeIndex)
    with pytest.raises(ValueError, match=r"'exog x2' \(1 row\): 1 row in total"):
        from_endog_exog(y, X, task=task, missing="raise")
    with pytest.raises(ValueError, match=r"task labels are needed"):
        d.transform(X[:2])
    with pytest.raises(ValueError, match=r"newdata has shape \(2, 2\) but the design has 3"):
        d.transform(X[:2, :2], task=[0, 1])
    with pytest.raises(ValueError, match=r"missing values in newdata column\(s\) 'x2'"):
        d.transform(X[1:3], task=[0, 1])


def test_endog_exog_sparse_stays_sparse():
    rng = np.random.default_rng(2)
    Xd = rng.normal(size=(12, 4)) * (rng.uniform(size=(12, 4)) < 0.4)
    y = rng.normal(size=12)
    task = np.array(list("abc") * 4)
    d = from_endog_exog(y, sp.csr_matrix(Xd), task=task)
    assert sp.isspmatrix_csc(d.X) and d.X.dtype == np.float64 and d.X.has_sorted_indices
    np.testing.assert_array_equal(d.X.toarray(), Xd[d.row_index])
    X_new, codes = d.transform(sp.coo_matrix(Xd), task=task)
    assert sp.isspmatrix_csc(X_new)
    with pytest.raises(ValueError, match=r"exog has shape \(11, 4\) but endog has shape \(12,\)"):
        from_endog_exog(y, sp.csr_matrix(Xd[:11]), task=task)
    bad = Xd.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"missing values are not supported in sparse"):
        from_endog_exog(y, sp.csr_matrix(bad), task=task)


def test_endog_exog_shared_2d():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(8, 2))
    Y = rng.normal(size=(8, 3))
    d = from_endog_exog(Y, X)
    assert d.shared and d.X.shape == (8, 2) and list(d.tasks) == [0, 1, 2]
    np.testing.assert_array_equal(d.y, Y.T.ravel())
    Yf = pd.DataFrame(Y, columns=["a", "b", "c"])
    Yf.iloc[3, 1] = np.nan
    d = from_endog_exog(Yf, X)
    assert list(d.tasks) == ["a", "b", "c"] and d.X.shape == (7, 2)
    assert d.dropped.tolist() == [1, 1, 1]
    assert d.transform(X)[1] is None
    with pytest.raises(ValueError, match=r"endog has shape \(8, 3\) and task labels were given"):
        from_endog_exog(Y, X, task=[0, 1] * 4)
    with pytest.raises(TypeError, match=r"response 'y' is not numeric"):
        from_endog_exog(pd.Series(list("abcdefgh"), name="y"), X)
    with pytest.raises(ValueError, match=r"feature_names has 1 names but exog \(columns\) has 2"):
        from_endog_exog(Y, X, feature_names=["u"])
    with pytest.raises(ValueError, match=r"infinite values in response column\(s\) 'y1'"):
        from_endog_exog(np.where(np.arange(24).reshape(8, 3) == 4, np.inf, Y), X)


# --------------------------------------------------------------------------- from_arrays


def test_from_arrays_ragged_and_sparse():
    rng = np.random.default_rng(5)
    Xs = [rng.normal(size=(n, 3)) for n in (4, 7, 2)]
    ys = [rng.normal(size=n) for n in (4, 7, 2)]
    d = from_arrays(Xs, ys, task_names=["u", "v", "w"])
    np.testing.assert_array_equal(d.task_ptr, [0, 4, 11, 13])
    np.testing.assert_array_equal(d.X, np.vstack(Xs))
    np.testing.assert_array_equal(d.y, np.concatenate(ys))
    assert list(d.tasks) == ["u", "v", "w"] and d.feature_names == ["x1", "x2", "x3"]
    assert d.X.flags.f_contiguous and not d.shared
    X_new, codes = d.transform(Xs[1], task=["v"] * 7)
    np.testing.assert_array_equal(X_new, Xs[1])
    np.testing.assert_array_equal(codes, np.ones(7))

    ds = from_arrays([sp.csr_matrix(X) for X in Xs], ys)
    assert sp.isspmatrix_csc(ds.X)
    np.testing.assert_array_equal(ds.X.toarray(), np.vstack(Xs))
    assert list(ds.tasks) == [0, 1, 2]


def test_from_arrays_errors():
    rng = np.random.default_rng(6)
    Xs = [rng.normal(size=(n, 3)) for n in (4, 5)]
    ys = [rng.normal(size=n) for n in (4, 5)]
    with pytest.raises(ValueError, match=r"X_list has 2 entries but y_list has 1"):
        from_arrays(Xs, ys[:1])
    with pytest.raises(ValueError, match=r"task 'b': X has 2 columns but task 'a' has 3"):
        from_arrays([Xs[0], Xs[1][:, :2]], ys, task_names=["a", "b"])
    with pytest.raises(ValueError, match=r"task 1: y has 4 entries but X has shape \(5, 3\)"):
        from_arrays(Xs, [ys[0], ys[0]])
    bad = Xs[1].copy()
    bad[0, 2] = np.nan
    with pytest.raises(ValueError, match=r"task 1: missing values in X column\(s\) 'x3'"):
        from_arrays([Xs[0], bad], ys)
    with pytest.raises(ValueError, match=r"task 0 has 1 row"):
        from_arrays([Xs[0][:1], Xs[1]], [ys[0][:1], ys[1]])
    with pytest.raises(ValueError, match=r"task_names are not unique: 'a'"):
        from_arrays(Xs, ys, task_names=["a", "a"])


# --------------------------------------------------------------------------- property


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=8, max_size=40))
def test_any_task_assignment_round_trips(labels):
    counts = np.bincount(labels, minlength=4)
    if (counts[counts > 0] < 2).any():
        return
    n = len(labels)
    y = np.arange(n, dtype=float)
    X = np.column_stack([y, -y])
    d = from_endog_exog(y, X, task=np.asarray(labels))
    present = np.flatnonzero(counts)
    assert list(d.tasks) == list(present)
    np.testing.assert_array_equal(d.n_samples, counts[present])
    np.testing.assert_array_equal(d.y, d.row_index)  # y = input position
    for k, label in enumerate(d.tasks):
        block = blocks(d, d.row_index)[k]
        assert (np.diff(block) > 0).all()  # original order within a task
        assert (np.asarray(labels)[block] == label).all()


def test_sparse_exog_is_wrapped_without_copy_and_never_modified():
    X = sp.random(40, 30, density=0.2, format="csc", random_state=0)
    out = as_csc(X)
    assert np.shares_memory(out.data, X.data) and np.shares_memory(out.indices, X.indices)
    # duplicates and unsorted indices: a new canonical matrix, the caller's arrays untouched
    data, indices, indptr = np.array([1.0, 2.0, 5.0]), np.array([3, 0, 3]), np.array([0, 3])
    Y = sp.csc_matrix((data.copy(), indices.copy(), indptr.copy()), shape=(4, 1))
    out = as_csc(Y)
    np.testing.assert_array_equal(out.toarray().ravel(), [2.0, 0.0, 0.0, 6.0])
    np.testing.assert_array_equal(Y.data, data)
    np.testing.assert_array_equal(Y.indices, indices)
    assert not np.shares_memory(out.data, Y.data)
    # int and float32 inputs are converted to float64
    assert as_csc(sp.csc_matrix(np.eye(3, dtype=np.int32))).dtype == np.float64
