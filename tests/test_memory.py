"""Memory and precision (issue #9, "Memory and size").

* A fit copies the design once: the standardised copy the solver works on (make_problem).
  Building the design copies it at most once more (stacking per-task arrays, sorting rows by
  task or changing the layout, all in one take), and not at all when the input is already a
  column-major float array in task order. The tracemalloc peak of build + fit stays under
  2.5x the design's bytes (the full-size check is benchmarks/bench_memory.py).
* ``dtype="float32"`` runs the block coordinate descent kernels in single precision on a
  float32 copy of X and agrees with the float64 fit (references: the float64 fit, and
  scikit-learn's MultiTaskLasso for the shared design).
"""
from __future__ import annotations

import gc
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import MultiTaskLasso

import mtreg
from mtreg.solvers import bcd
from mtreg.solvers.problem import make_problem

SMALL = 1.5e6  # bytes allowed on top of the ratio: responses, residuals, gradients, buffers


def _peak(fn):
    """(tracemalloc peak in bytes of the allocations made by ``fn``, its result)."""
    gc.collect()
    tracemalloc.start()
    try:
        out = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, out


@pytest.fixture(scope="module")
def big():
    """A 20 MB float64 per-task design (5 tasks x 2,500 rows x 200 features).

    Arrays of the size of y (responses, residuals and their history in the solver) are 1/200
    of X here and fall under ``SMALL``.
    """
    rng = np.random.default_rng(0)
    K, n, p = 5, 2_500, 200
    X = rng.standard_normal((K * n, p))
    task = np.repeat(np.arange(K), n)
    W = np.zeros((p, K))
    W[:5] = rng.standard_normal((5, K))
    y = np.einsum("ij,ji->i", X, W[:, task]) + rng.standard_normal(K * n)
    return X, y, task, K, n, p


def _fit(model):
    return model.fit(alpha_frac=0.2, tol=1e-4)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("source", ["arrays", "endog_sorted", "endog_unsorted"])
def test_build_and_fit_peak_below_2p5x_design(big, source, dtype):
    X, y, task, K, n, p = big
    if source == "arrays":
        Xs = [X[task == k] for k in range(K)]  # the user's per-task arrays (not counted)
        ys = [y[task == k] for k in range(K)]
        build = lambda: mtreg.MultiTaskModel.from_arrays(Xs, ys, dtype=dtype)  # noqa: E731
    elif source == "endog_sorted":
        build = lambda: mtreg.MultiTaskModel(y, X, task, dtype=dtype)  # noqa: E731
    else:
        perm = np.random.default_rng(1).permutation(len(y))
        Xp, yp, tp = X[perm], y[perm], task[perm]
        build = lambda: mtreg.MultiTaskModel(yp, Xp, tp, dtype=dtype)  # noqa: E731
    peak, res = _peak(lambda: _fit(build()))
    assert peak <= 2.5 * X.nbytes + SMALL, peak / X.nbytes
    assert np.isfinite(res.params.to_numpy()).all()


def test_fit_copies_the_design_once(big):
    """Given the design, a float64 fit allocates one copy of X (+ small arrays), float32 half."""
    X, y, task, K, n, p = big
    Xf = np.asfortranarray(X)
    model = mtreg.MultiTaskModel(y, Xf, task)
    assert model.design.X is Xf  # already column-major and in task order: no copy at all
    peak, _ = _peak(lambda: _fit(model))
    assert peak <= 1.0 * X.nbytes + SMALL, peak / X.nbytes
    model32 = mtreg.MultiTaskModel(y, Xf, task, dtype="float32")
    peak32, _ = _peak(lambda: _fit(model32))
    assert peak32 <= 0.5 * X.nbytes + SMALL, peak32 / X.nbytes
    assert model32.problem.X.dtype == np.float32


@pytest.mark.parametrize("order", ["F", "C"])
def test_shared_design_is_not_copied(order):
    rng = np.random.default_rng(2)
    X = np.asarray(rng.standard_normal((500, 30)), order=order)
    X0 = X.copy()
    Y = X[:, :3] + rng.standard_normal((500, 3))
    model = mtreg.MultiTaskModel(Y, X)
    assert model.design.X is X  # a contiguous float array is used as it is
    problem = model.problem
    assert problem.X.flags.f_contiguous and not np.shares_memory(problem.X, X)
    np.testing.assert_array_equal(X, X0)  # the user's array is left untouched
    res = model.fit(alpha_frac=0.1)
    ref = mtreg.MultiTaskModel(Y, np.asfortranarray(X0)).fit(alpha_frac=0.1)
    np.testing.assert_allclose(res.params.to_numpy(), ref.params.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(res.fittedvalues, ref.fittedvalues, rtol=1e-12)


def test_unsorted_rows_sorted_in_one_take():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 4))
    task = rng.integers(0, 3, 300)
    y = rng.standard_normal(300)
    d = mtreg.design.from_endog_exog(y, X, task)
    order = np.argsort(task, kind="stable")
    assert d.X.flags.f_contiguous
    np.testing.assert_array_equal(d.X, X[order])
    np.testing.assert_array_equal(d.y, y[order])
    np.testing.assert_array_equal(d.row_index, order)


# ------------------------------------------------------------------------------ float32
def _problem_data(shared, sparse, seed=0):
    rng = np.random.default_rng(seed)
    K, n, p = 4, 150, 30
    N = n if shared else n * K
    X = rng.standard_normal((N, p)) + 1.0
    if sparse:
        import scipy.sparse as sp

        X[rng.random(X.shape) < 0.6] = 0.0
        X = sp.csc_matrix(X)
    W = np.zeros((p, K))
    W[:5] = rng.standard_normal((5, K))
    if shared:
        y = (X @ W + rng.standard_normal((n, K))).T.ravel()
    else:
        y = np.concatenate([X[k * n:(k + 1) * n] @ W[:, k] for k in range(K)])
        y = y + rng.standard_normal(N)
    return X, y, np.arange(K + 1) * n


@pytest.mark.parametrize("penalty", ["group_lasso", "lasso", "elastic_net"])
@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("sparse", [False, True])
def test_float32_kernels_agree_with_float64(shared, sparse, penalty):
    """Every kernel layout (shared/stacked x dense/sparse), l21 and l1, with a ridge term."""
    X, y, ptr = _problem_data(shared, sparse)
    options = {"l1_ratio": 0.7} if penalty == "elastic_net" else {}
    pen = mtreg.penalties.get_penalty("lasso" if penalty == "elastic_net" else penalty,
                                      **options)
    p64 = make_problem(X, y, ptr, shared=shared)
    p32 = make_problem(X, y, ptr, shared=shared, dtype="float32")
    assert (p32.X.data if sparse else p32.X).dtype == np.float32
    alpha = 0.05 * bcd.alpha_max(p64, pen)
    r64 = bcd.solve(p64, pen, alpha, tol=1e-12)
    r32 = bcd.solve(p32, pen, alpha, tol=1e-6)
    assert r32.converged and r32.coef.dtype == np.float64
    assert np.isfinite(r32.gap) and r32.gap <= r32.gap_tol
    scale = np.abs(r64.coef).max()
    np.testing.assert_allclose(r32.coef, r64.coef, atol=1e-4 * scale)
    assert abs(r32.objective / r64.objective - 1) < 1e-4
    # the float32 solution is certified in float64 too: its exact duality gap is small
    check = bcd.solve(p64, pen, alpha, tol=1.0, coef_init=r32.coef)
    assert check.gap <= 1e-5 * check.gap_tol


def test_float32_shared_design_matches_sklearn_multitasklasso():
    X, y, ptr = _problem_data(True, False, seed=4)
    n, K = X.shape[0], len(ptr) - 1
    Y = y.reshape(K, n).T
    model = mtreg.MultiTaskModel(Y, X.astype(np.float32), standardize=False, dtype="float32")
    assert model.design.X.dtype == np.float32  # float32 input is not widened
    alpha = 0.1 * model.alpha_max()
    res = model.fit(alpha, tol=1e-6)
    ref = MultiTaskLasso(alpha=alpha, tol=1e-12, max_iter=100_000).fit(
        X.astype(np.float32).astype(np.float64), Y)
    assert res.params.to_numpy().dtype == np.float64
    np.testing.assert_allclose(res.params.to_numpy(), ref.coef_.T, atol=1e-4)
    np.testing.assert_allclose(res.intercepts.to_numpy(), ref.intercept_, atol=1e-4)


def test_float32_formula_and_dataframe_inputs():
    rng = np.random.default_rng(5)
    df = pd.DataFrame({f"x{j}": rng.standard_normal(400).astype(np.float32) for j in range(6)})
    df["t"] = np.repeat(["a", "b", "c", "d"], 100)
    df["y"] = 2.0 * df["x0"] - df["x1"] + rng.standard_normal(400)
    model = mtreg.MultiTaskModel(df["y"], df[[f"x{j}" for j in range(6)]], df["t"])
    assert model.design.X.dtype == np.float32  # all-float32 DataFrame kept float32
    r64 = model.fit(alpha_frac=0.05, tol=1e-10)
    r32 = mtreg.fit("y ~ " + " + ".join(f"x{j}" for j in range(6)), task="t", data=df,
                    alpha_frac=0.05, dtype="float32")
    P64, P32 = r64.params.to_numpy(), r32.params.to_numpy()
    np.testing.assert_allclose(P32, P64, atol=1e-4 * np.abs(P64).max())
    assert r32.fittedvalues.dtype == np.float64
    # a mixed float32/float64 DataFrame is stored in float64
    mixed = df.assign(x5=df["x5"].astype(np.float64))
    m = mtreg.MultiTaskModel(mixed["y"], mixed[[f"x{j}" for j in range(6)]], mixed["t"])
    assert m.design.X.dtype == np.float64


def test_float32_tol_floor_warns():
    X, y, ptr = _problem_data(False, False)
    K = len(ptr) - 1
    Xs = [X[ptr[k]:ptr[k + 1]] for k in range(K)]
    ys = [y[ptr[k]:ptr[k + 1]] for k in range(K)]
    model = mtreg.MultiTaskModel.from_arrays(Xs, ys, dtype="float32")
    with pytest.warns(UserWarning, match=r"tol=1e-10 is below what a float32 fit can certify"):
        res = model.fit(alpha_frac=0.1, tol=1e-10)
    assert model.tol == mtreg.model.FLOAT32_MIN_TOL == 1e-6
    assert res.record.gap <= res.record.gap_tol
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(alpha_frac=0.1, tol=1e-5)


@pytest.mark.parametrize("penalty", ["sgmtl", "dirty", "metag", "adaptive_lasso"])
def test_float32_refused_for_solvers_without_a_float32_kernel(penalty):
    X, y, ptr = _problem_data(False, False)
    Xs = [X[ptr[k]:ptr[k + 1]] for k in range(4)]
    ys = [y[ptr[k]:ptr[k + 1]] for k in range(4)]
    with pytest.raises(ValueError, match=rf"dtype='float32' is not available for penalty "
                                         rf"'{penalty}'.*'lasso', 'group_lasso'"):
        mtreg.MultiTaskModel.from_arrays(Xs, ys, penalty=penalty, dtype="float32")


@pytest.mark.parametrize("dtype", ["float16", "int64", 32, None, True])
def test_bad_dtype(dtype):
    X, y, ptr = _problem_data(True, False)
    with pytest.raises(ValueError, match="dtype must be one of 'float64', 'float32'"):
        mtreg.MultiTaskModel(y[:150], X, dtype=dtype)


def test_float32_binomial_refused():
    rng = np.random.default_rng(6)
    X = rng.standard_normal((200, 3))
    y = (X[:, 0] > 0).astype(float)
    with pytest.raises(ValueError, match="dtype='float32' is not available for family='binomial'"):
        mtreg.MultiTaskModel(y, X, np.repeat([0, 1], 100), family="binomial", dtype="float32")


@pytest.mark.parametrize("scale", [1e150, 1e-150])
def test_float32_refuses_columns_out_of_its_range(scale):
    rng = np.random.default_rng(7)
    X = rng.standard_normal((100, 3))
    X[:, 1] *= scale
    y = X[:, 0] + rng.standard_normal(100)
    model = mtreg.MultiTaskModel(y, X, np.repeat([0, 1], 50), dtype="float32")
    with pytest.raises(ValueError, match=r"dtype='float32' cannot hold column 1 of X"):
        model.fit(alpha_frac=0.1)
    res = mtreg.MultiTaskModel(y, X, np.repeat([0, 1], 50)).fit(alpha_frac=0.1)  # float64: fine
    assert np.isfinite(res.params.to_numpy()).all()


def test_float32_path_and_cv_agree_with_float64():
    rng = np.random.default_rng(6)
    df = pd.DataFrame({f"x{j}": rng.standard_normal(300) for j in range(5)})
    df["t"] = np.repeat(["a", "b", "c"], 100)
    df["y"] = 1.5 * df["x0"] - df["x2"] + rng.standard_normal(300)
    f = "y ~ x0 + x1 + x2 + x3 + x4"
    kw = dict(task="t", data=df, penalty="group_lasso", n_alphas=8)
    p64, p32 = mtreg.path(f, **kw), mtreg.path(f, dtype="float32", **kw)
    np.testing.assert_allclose(p32.alphas, p64.alphas, rtol=1e-5)
    np.testing.assert_allclose(p32.coefs, p64.coefs, atol=1e-4 * np.abs(p64.coefs).max())
    foldid = np.arange(300) % 4
    c64 = mtreg.cv(f, foldid=foldid, **kw)
    c32 = mtreg.cv(f, foldid=foldid, dtype="float32", **kw)
    np.testing.assert_allclose(c32.cvm, c64.cvm, rtol=1e-4)
    assert c32.alpha_min == pytest.approx(c64.alpha_min, rel=1e-5)
