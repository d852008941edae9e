"""Stability selection: error control on simulations, subsampling within tasks, n_jobs, reports."""
import importlib

import numpy as np
import pandas as pd
import pytest

from mtreg.model import MultiTaskModel
from mtreg.solvers import get_solver
from mtreg.stability import (
    StabilityResults,
    _RawDesign,
    draw_halves,
    pfer_bound,
    stability,
    stability_model,
)

stab = importlib.import_module("mtreg.stability")  # the module (mtreg.stability is the function)


@pytest.fixture
def plt():
    mpl = pytest.importorskip("matplotlib")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


N_TRUE = 3


def _sim(seed, K=3, p=30, n=60, amp=0.8):
    """Per-task Gaussian designs; the first N_TRUE features are active in every task."""
    rng = np.random.default_rng(seed)
    Xs = [rng.standard_normal((n, p)) for _ in range(K)]
    W = np.zeros((p, K))
    W[:N_TRUE] = amp
    ys = [X @ W[:, k] + rng.standard_normal(n) for k, X in enumerate(Xs)]
    return Xs, ys


def _long(seed=3, sizes=(30, 41, 36, 28), p=6):
    rng = np.random.default_rng(seed)
    frames = []
    for k, n in enumerate(sizes):
        X = rng.standard_normal((n, p))
        f = pd.DataFrame(X, columns=[f"x{j}" for j in range(p)])
        f["y"] = 1.2 * X[:, 0] - X[:, 1] + rng.standard_normal(n)
        f["site"] = f"s{k}"
        frames.append(f)
    df = pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=1)
    return df, "y ~ " + " + ".join(f"x{j}" for j in range(p))


def _null_index(name: str) -> bool:
    return int(name[1:]) > N_TRUE  # from_arrays names features x1 .. xp


# --------------------------------------------------------------------------- error control
def test_false_selections_within_pfer_bound_group_lasso():
    """E[V] <= q^2 / ((2 pi - 1) p): the average number of false stable features over 20
    simulations stays below the average bound (which is informative here, about 3)."""
    V, bounds = [], []
    for rep in range(20):
        Xs, ys = _sim(rep)
        model = MultiTaskModel.from_arrays(Xs, ys, penalty="group_lasso")
        st = stability_model(model, n_subsamples=10, n_alphas=6, alpha_min_ratio=0.3,
                             threshold=0.7, random_state=rep)
        V.append(sum(_null_index(f) for f in st.stable_set(level="feature").index))
        bounds.append(st.pfer(level="feature"))
        # the true features are found
        assert {"x1", "x2", "x3"} <= set(st.stable_features)
    assert np.mean(bounds) < 5  # the check below is not vacuous
    assert np.mean(V) <= np.mean(bounds)


def test_false_selections_within_pfer_bound_lasso_entries():
    V, bounds = [], []
    for rep in range(8):
        Xs, ys = _sim(100 + rep, K=2)
        model = MultiTaskModel.from_arrays(Xs, ys, penalty="lasso")
        st = stability_model(model, n_subsamples=10, n_alphas=5, alpha_min_ratio=0.4,
                             threshold=0.7, random_state=rep)
        entries = st.stable_set(level="entry")
        V.append(int(entries["feature"].map(_null_index).sum()))
        bounds.append(st.pfer(level="entry"))
    assert np.mean(V) <= np.mean(bounds)


def test_pfer_bound_formula_and_threshold_inverse():
    assert pfer_bound(4.0, 0.75, 20) == pytest.approx(16 / (0.5 * 20))
    Xs, ys = _sim(0, K=2, p=10)
    st = stability_model(MultiTaskModel.from_arrays(Xs, ys), n_subsamples=4, n_alphas=4)
    thr = st.threshold_for(2.0)
    assert pfer_bound(st.q_features, thr, st.p_features) == pytest.approx(2.0)
    assert st.pfer() == pytest.approx(st.q_features**2 / ((2 * 0.6 - 1) * 10))


# --------------------------------------------------------------------------- subsampling
def test_halves_are_drawn_within_tasks_and_disjoint():
    Xs, ys = _sim(1, K=3, p=4)
    Xs = [Xs[0][:21], Xs[1], Xs[2][:33]]
    ys = [ys[0][:21], ys[1], ys[2][:33]]
    design = MultiTaskModel.from_arrays(Xs, ys).design
    raw = _RawDesign.of(design)
    a, b = draw_halves(raw, np.random.default_rng(0), 0.5, complementary=True)
    assert not (a & b).any()
    for k, n in enumerate(design.n_samples):
        sl = slice(design.task_ptr[k], design.task_ptr[k + 1])
        assert a[sl].sum() == b[sl].sum() == n // 2
    c, none = draw_halves(raw, np.random.default_rng(0), 0.3, complementary=False)
    assert none is None
    assert [int(c[design.task_ptr[k]:design.task_ptr[k + 1]].sum()) for k in range(3)] == \
        [int(np.floor(0.3 * n)) for n in design.n_samples]


def test_shared_design_subsamples_rows():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 5))
    Y = X[:, :2] @ np.ones((2, 3)) + rng.standard_normal((40, 3))
    model = MultiTaskModel(Y, X)
    assert model.design.shared
    raw = _RawDesign.of(model.design)
    a, b = draw_halves(raw, np.random.default_rng(0), 0.5, complementary=True)
    assert a.shape == (40,) and a.sum() == b.sum() == 20 and not (a & b).any()
    st = stability_model(model, n_subsamples=6, n_alphas=5)
    assert st.frequencies.shape == (5, 3, 5)
    assert st.max_feature_frequency.iloc[:2].min() == 1.0


def test_identical_results_for_any_n_jobs():
    df, formula = _long()
    kw = dict(task="site", penalty="lasso", n_subsamples=6, n_alphas=5, random_state=7)
    one = stability(formula, df, n_jobs=1, **kw)
    two = stability(formula, df, n_jobs=2, **kw)
    np.testing.assert_array_equal(one.frequencies, two.frequencies)
    assert one.q_entries == two.q_entries
    other = stability(formula, df, n_jobs=1, **{**kw, "random_state": 8})
    assert not np.array_equal(one.frequencies, other.frequencies)


def test_validation_messages():
    df, formula = _long()
    with pytest.raises(ValueError, match="threshold must lie in"):
        stability(formula, df, task="site", threshold=0.5)
    with pytest.raises(ValueError, match="must be even"):
        stability(formula, df, task="site", n_subsamples=5)
    with pytest.raises(ValueError, match="sample_fraction must lie in"):
        stability(formula, df, task="site", sample_fraction=0.7)
    with pytest.raises(ValueError, match="fewer than 2 rows"):
        stability(formula, df, task="site", sample_fraction=0.02, complementary_pairs=False)


def test_truncate_to_a_bound():
    Xs, ys = _sim(2)
    st = stability_model(MultiTaskModel.from_arrays(Xs, ys), n_subsamples=6, n_alphas=8,
                         alpha_min_ratio=0.1)
    cut = st.truncate(pfer=1.0)
    assert cut.pfer() <= 1.0 < st.pfer()
    assert len(cut.alphas) < len(st.alphas)
    np.testing.assert_array_equal(cut.frequencies, st.frequencies[:, :, :len(cut.alphas)])
    with pytest.raises(ValueError, match="give pfer or alpha_min"):
        st.truncate()


# --------------------------------------------------------------------------- co-clustering
def test_coclustering_from_solver_memberships(monkeypatch, plt):
    """A solver whose record carries extra["U"] (groups x tasks) yields the co-clustering."""
    bcd = get_solver(MultiTaskModel.from_arrays(*_sim(0, K=2, p=3)).penalty)

    def solve_with_groups(problem, penalty, alpha, **kw):
        rec = bcd(problem, penalty, alpha, **kw)
        U = np.zeros((2, problem.n_tasks))
        U[0, :2] = 1.0   # tasks 0 and 1 together, 2 and 3 together
        U[1, 2:] = 1.0
        rec.extra = {"U": U}
        return rec

    monkeypatch.setattr(stab, "get_solver", lambda penalty: solve_with_groups)
    Xs, ys = _sim(4, K=4, p=5)
    st = stability_model(MultiTaskModel.from_arrays(Xs, ys), n_subsamples=4, n_alphas=3)
    C = st.coclustering().to_numpy()
    np.testing.assert_array_equal(C, np.kron(np.eye(2), np.ones((2, 2))))
    ax = st.plot_coclustering()
    assert len(ax.get_xticklabels()) == 4
    assert "co-clustering" in st.summary().as_text()


# --------------------------------------------------------------------------- reports
def test_summary_renders_bound_in_every_format():
    df, formula = _long()
    st = stability(formula, df, task="site", penalty="lasso", n_subsamples=4, n_alphas=4)
    assert isinstance(st, StabilityResults)
    smry = st.summary()
    text, html, latex = smry.as_text(), smry.as_html(), smry.as_latex()
    bound = f"{st.pfer(level='feature'):.3g}"
    for out in (text, html, latex):
        assert "Stability selection" in out
        assert bound in out
    assert "Shah" in text and "q^2" in text
    assert "E[V] bound (entries)" in text  # the lasso selects entries, not rows
    assert "\\begin{table}" in latex and "<table" in html
    assert "pi_thr" in repr(st)
    long = st.to_frame()
    assert long.shape == (6 * 4, 4)


def test_row_wise_summary_and_plots(plt):
    Xs, ys = _sim(5, K=3, p=8)
    st = stability_model(MultiTaskModel.from_arrays(Xs, ys, penalty="group_lasso"),
                         n_subsamples=4, n_alphas=4)
    assert st.row_wise and st.default_level == "feature"
    text = st.summary().as_text()
    assert "E[V] bound (entries)" not in text and "whole feature rows" in text
    ax = st.plot()
    assert ax.get_xscale() == "log" and len(ax.get_lines()) == 8 + 1  # features + threshold
    ax = st.plot(level="entry", task=0)
    assert len(ax.get_lines()) == 9
    ax = st.plot_heatmap()
    assert len(ax.get_yticklabels()) == 8
    with pytest.raises(ValueError, match="no co-clustering"):
        st.plot_coclustering()
