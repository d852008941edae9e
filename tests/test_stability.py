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
N_REPS = 50  # repetitions of the PFER checks (the 50, at a reduced problem size)


def test_false_selections_within_pfer_bound_group_lasso():
    """E[V] <= q^2 / ((2 pi - 1) p): over 50 simulations (3 tasks, 20 features, 50 rows, 10
    subsamples), the average number of false stable features stays below the average bound
    (which is informative here, about 4 of 17 null features)."""
    V, bounds = [], []
    for rep in range(N_REPS):
        Xs, ys = _sim(rep, p=20, n=50)
        model = MultiTaskModel.from_arrays(Xs, ys, penalty="group_lasso")
        st = stability_model(model, n_subsamples=10, n_alphas=5, alpha_min_ratio=0.3,
                             threshold=0.7, random_state=rep)
        V.append(sum(_null_index(f) for f in st.stable_set(level="feature").index))
        bounds.append(st.pfer(level="feature"))
        # the true features are found
        assert {"x1", "x2", "x3"} <= set(st.stable_features)
    assert np.mean(bounds) < 5  # the check below is not vacuous
    assert np.mean(V) <= np.mean(bounds)


def test_false_selections_within_pfer_bound_lasso_entries():
    """The same at the entry level (lasso, p_total = p * K), over 50 simulations."""
    V, bounds = [], []
    for rep in range(N_REPS):
        Xs, ys = _sim(100 + rep, K=2, p=20, n=50)
        model = MultiTaskModel.from_arrays(Xs, ys, penalty="lasso")
        st = stability_model(model, n_subsamples=10, n_alphas=4, alpha_min_ratio=0.4,
                             threshold=0.7, random_state=rep)
        entries = st.stable_set(level="entry")
        V.append(int(entries["feature"].map(_null_index).sum()))
        bounds.append(st.pfer(level="entry"))
    assert np.mean(bounds) < 10
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


def test_stability_on_dask_cluster_equals_serial():
    distributed = pytest.importorskip("dask.distributed")
    import joblib

    df, formula = _long()
    kw = dict(task="site", penalty="lasso", n_subsamples=4, n_alphas=4, random_state=3)
    serial = stability(formula, df, n_jobs=1, **kw)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        with joblib.parallel_backend("dask"):
            remote = stability(formula, df, n_jobs=-1, **kw)
    np.testing.assert_array_equal(serial.frequencies, remote.frequencies)
    assert serial.q_entries == remote.q_entries


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


# --------------------------------------------------------------------------- per-cluster selection
def _brute_force_alignment(reference, labels):
    """Best one-to-one map of the clusters of ``labels`` to those of ``reference`` by exhaustive
    search over all injective maps; returns (best total overlap, all maps reaching it)."""
    from itertools import permutations

    ref_ids, sub_ids = sorted(set(reference)), sorted(set(labels))
    slots = ref_ids + [-1] * len(sub_ids)  # -1: the cluster is left unmatched
    best, maps = -1, []
    for perm in set(permutations(slots, len(sub_ids))):
        m = dict(zip(sub_ids, perm, strict=True))
        total = sum(1 for r, s in zip(reference, labels, strict=True) if m[s] == r)
        if total > best:
            best, maps = total, [m]
        elif total == best:
            maps.append(m)
    return best, maps


ALIGNMENT_CASES = [
    ([0, 0, 0, 1, 1, 1, 2, 2, 2], [2, 2, 2, 0, 0, 0, 1, 1, 1]),    # a pure relabelling
    ([0, 0, 0, 1, 1, 1, 2, 2, 2], [5, 5, 1, 1, 1, 1, 9, 9, 9]),    # one task moved
    ([0, 0, 1, 1, 2, 2], [3, 3, 3, 3, 7, 7]),                      # two clusters merged
    ([0, 0, 0, 1, 1, 1], [4, 4, 2, 2, 8, 8]),                      # more clusters than reference
    ([0, 1, 2, 0, 1, 2, 0], [1, 1, 1, 0, 0, 2, 2]),                # interleaved, messy
    ([1, 1, 0, 0, 0, 2, 2, 3], [0, 1, 1, 1, 2, 2, 2, 3]),
]


@pytest.mark.parametrize("reference, labels", ALIGNMENT_CASES)
def test_align_clusters_matches_brute_force_search(reference, labels):
    out = stab.align_clusters(np.array(reference), np.array(labels))
    best, maps = _brute_force_alignment(reference, labels)
    assert int(np.sum(out == np.array(reference))) == best
    # the output is a map of the clusters of ``labels`` (tasks of one cluster share a label) ...
    implied = {s: int(o) for s, o in zip(labels, out, strict=True)}
    assert all(implied[s] == o for s, o in zip(labels, out, strict=True))
    # ... one-to-one on the matched clusters, and one of the optimal ones
    matched = [v for v in implied.values() if v >= 0]
    assert len(matched) == len(set(matched)) == min(len(set(reference)), len(set(labels)))
    assert implied in maps
    if len(maps) == 1:
        np.testing.assert_array_equal(out, [maps[0][s] for s in labels])


@pytest.mark.parametrize("reference, labels", ALIGNMENT_CASES)
def test_alignment_is_invariant_to_permuting_cluster_labels(reference, labels):
    reference, labels = np.array(reference), np.array(labels)
    out = stab.align_clusters(reference, labels)
    rng = np.random.default_rng(0)
    for _ in range(10):
        ids = np.unique(labels)
        relabel = dict(zip(ids, rng.permutation(ids + 100), strict=True))
        np.testing.assert_array_equal(stab.align_clusters(reference, np.vectorize(relabel.get)(labels)),
                                      out)
        rids = np.unique(reference)
        rperm = dict(zip(rids, rng.permutation(rids), strict=True))
        renamed = stab.align_clusters(np.vectorize(rperm.get)(reference), labels)
        np.testing.assert_array_equal(renamed, [rperm.get(v, -1) for v in out])
    np.testing.assert_array_equal(stab.canonical_labels(labels),
                                  stab.canonical_labels(np.vectorize(relabel.get)(labels)))


def test_alignment_ties_do_not_depend_on_label_values():
    """Reference {0,1}{2,3} against {0,2}{1,3}: every matching overlaps 2 tasks; the chosen one
    is the same whatever the label values."""
    ref = np.array([0, 0, 1, 1])
    outs = {tuple(stab.align_clusters(ref, np.array(lab))) for lab in ([0, 1, 0, 1], [1, 0, 1, 0],
                                                                        [7, 3, 7, 3])}
    assert len(outs) == 1
    with pytest.raises(ValueError, match="same length"):
        stab.align_clusters(ref, np.array([0, 1]))


def _grouped_sim(seed=0, K=6, G=3, s=3, n=40, noise=0.5):
    """K tasks in G consecutive groups; group g uses features g*s .. g*s+s-1 with +-1 weights."""
    rng = np.random.default_rng(seed)
    p = G * s
    group = np.repeat(np.arange(G), K // G)
    W = np.zeros((p, K))
    for k in range(K):
        W[group[k] * s:(group[k] + 1) * s, k] = rng.choice([-1.0, 1.0], s)
    Xs = [rng.standard_normal((n, p)) for _ in range(K)]
    ys = [X @ W[:, k] + noise * rng.standard_normal(n) for k, X in enumerate(Xs)]
    return Xs, ys, W, group


def _label_switching_solver(base_solve, group, seed, calls):
    """A lasso solver whose records carry the given task groups as U, with the rows of U (the
    cluster labels) shuffled on every call when ``seed`` is not None; records every call."""
    rng = None if seed is None else np.random.default_rng(seed)
    G = int(group.max()) + 1

    def solve(problem, penalty, alpha, **kw):
        rec = base_solve(problem, penalty, alpha, **kw)
        U = np.zeros((G, problem.n_tasks))
        U[group, np.arange(problem.n_tasks)] = 1.0
        if rng is not None:
            U = U[rng.permutation(G)]
        rec.extra = {"U": U}
        calls.append((np.argmax(U, axis=0), penalty.generalized_support(rec.coef)))
        return rec

    return solve


def test_cluster_frequencies_undo_label_switching_and_match_a_slow_count(monkeypatch):
    Xs, ys, _, group = _grouped_sim(1, K=6, n=30, noise=1.0)
    model = MultiTaskModel.from_arrays(Xs, ys, penalty="lasso")
    base = get_solver(model.penalty)
    kw = dict(n_subsamples=6, n_alphas=4, alpha_min_ratio=0.2, n_jobs=1)
    runs = {}
    for seed in (None, 5):
        calls = []
        solver = _label_switching_solver(base, group, seed, calls)
        monkeypatch.setattr(stab, "get_solver", lambda penalty, solver=solver: solver)
        runs[seed] = (stability_model(model, **kw), calls)
    plain, (switched, calls) = runs[None][0], runs[5]
    # the labels really switch between calls ...
    assert len({tuple(lab) for lab, _ in calls}) > 1
    # ... and the aligned frequencies do not see it
    pd.testing.assert_frame_equal(plain.cluster_frequencies, switched.cluster_frequencies)
    pd.testing.assert_frame_equal(plain.membership_frequencies, switched.membership_frequencies)
    np.testing.assert_array_equal(switched.membership_frequencies.to_numpy(),
                                  np.eye(3)[group])
    assert switched.reference_clusters.tolist() == ["G1", "G1", "G2", "G2", "G3", "G3"]
    # slow count: calls = the full-data path, then each subsample's path (4 alphas each)
    L = 4
    sub = calls[L:]
    assert len(sub) == 6 * L
    ref = np.array([0, 0, 1, 1, 2, 2])
    freq = np.zeros((Xs[0].shape[1], 3, L))
    for i, (lab, support) in enumerate(sub):
        _, maps = _brute_force_alignment(list(ref), list(lab))
        aligned = np.array([maps[0][s] for s in lab])
        for c in range(3):
            members = aligned == c
            freq[:, c, i % L] += support[:, members].sum(axis=1) > members.sum() / 2
    np.testing.assert_allclose(switched.cluster_frequencies.to_numpy(), freq.max(axis=2) / 6)
    np.testing.assert_allclose(switched.cluster_frequency_path, freq / 6)
    # a reference alpha given up front keeps the counts of that reference only, the same numbers
    a1 = float(plain.alphas[1])
    given = stability_model(model, reference_alpha=a1, **kw)
    assert given.reference_alpha == a1 and given._cluster_selected.shape[0] == 1
    pd.testing.assert_frame_equal(given.cluster_frequencies,
                                  plain.with_reference(a1).cluster_frequencies)
    with pytest.raises(ValueError, match="counts were kept for"):
        given.with_reference(float(plain.alphas[0]))


def test_sgmtl_per_cluster_frequencies_recover_groups_for_any_n_jobs(plt):
    """Well-separated SG-MTL simulation (3 groups of 2 tasks, 3 features per group): each group's
    features are stable in the matching learned cluster, the others are not; n_jobs=1 and 2
    agree exactly."""
    Xs, ys, W, group = _grouped_sim(0)
    model = MultiTaskModel.from_arrays(Xs, ys, penalty="sgmtl", n_groups=3, n_init=1,
                                       random_state=0)
    kw = dict(alphas=[0.3, 0.1], n_subsamples=4, threshold=0.75)
    one = stability_model(model, n_jobs=1, **kw)
    two = stability_model(model, n_jobs=2, **kw)
    pd.testing.assert_frame_equal(one.cluster_frequencies, two.cluster_frequencies)
    pd.testing.assert_frame_equal(one.membership_frequencies, two.membership_frequencies)
    np.testing.assert_array_equal(one.frequencies, two.frequencies)
    assert one.reference_alpha == two.reference_alpha
    # the reference clusters are the true groups (up to their names)
    ref = one.reference_clusters
    assert stab.canonical_labels(ref.to_numpy()).tolist() == group.tolist()
    F = one.cluster_frequencies
    for name in one.cluster_names:
        g = group[np.flatnonzero(ref.to_numpy() == name)[0]]
        true = (W[:, group == g] != 0).all(axis=1)
        assert F[name].to_numpy()[true].min() >= 0.9
        assert F[name].to_numpy()[~true].max() <= 0.3
    assert one.clustering_stability.min() == pytest.approx(1.0)
    table = one.cluster_table()
    assert table["n_tasks"].tolist() == [2, 2, 2]
    assert table.loc["G1", "stable_features"].startswith("x")
    # reports and plot
    smry = one.summary()
    for out in (smry.as_text(), smry.as_html(), smry.as_latex()):
        assert "stability in cluster" in out and "G3" in out and "Reference clusters" in out
    ax = one.plot_clusters()
    assert len(ax.get_xticklabels()) == 3 and len(ax.get_yticklabels()) == W.shape[0]
    ax = one.plot(cluster="G2")
    assert len(ax.get_lines()) == W.shape[0] + 1 and "cluster G2" in ax.get_title()
    path = one.cluster_frequency_path[:, 1, :]
    drawn = {line.get_label(): line.get_ydata() for line in ax.get_lines()
             if not line.get_label().startswith("_")}
    assert set(drawn) == set(F.index[F["G2"] >= one.threshold])
    for name, y in drawn.items():
        np.testing.assert_array_equal(y, path[list(F.index).index(name)])
    with pytest.raises(ValueError, match="cluster must be one of G1, G2, G3"):
        one.plot(cluster="G7")
    # another reference alpha, and a grid cut below it
    other = one.with_reference(0.1)
    assert other.reference_alpha == 0.1 and one.reference_alpha == 0.3
    assert one.truncate(alpha_min=0.2).reference_alpha == 0.3
    assert other.truncate(alpha_min=0.2).reference_alpha == 0.3  # 0.1 was cut: default again
    with pytest.raises(ValueError, match="not on the grid"):
        one.with_reference(0.2)


def test_no_clusters_without_memberships(plt):
    df, formula = _long()
    st = stability(formula, df, task="site", penalty="lasso", n_subsamples=4, n_alphas=3)
    assert not st.has_clusters
    assert st.cluster_frequencies is None and st.reference_clusters is None
    assert st.clustering_stability is None and st.reference_alpha is None
    assert "stability in cluster" not in st.summary().as_text()
    with pytest.raises(ValueError, match="no task clusters"):
        st.plot_clusters()
    with pytest.raises(ValueError, match="reference_alpha=0.123 is not on the grid"):
        stability(formula, df, task="site", penalty="lasso", n_subsamples=4, alphas=[0.5, 0.2],
                  reference_alpha=0.123)
