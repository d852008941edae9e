"""Post-selection refits: statsmodels references, multi-split error control, reports."""
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

import mtreg
from mtreg.inference import _gamma_grid, aggregate_pvalues, refit
from mtreg.model import MultiTaskModel

FEATURES = [f"x{j}" for j in range(8)]


def _long(seed=0, sizes=(60, 75, 52), amp=(1.0, -0.8, 0.6)):
    rng = np.random.default_rng(seed)
    frames = []
    for k, n in enumerate(sizes):
        X = rng.standard_normal((n, len(FEATURES)))
        f = pd.DataFrame(X, columns=FEATURES)
        f["y"] = X[:, :3] @ np.asarray(amp) + rng.standard_normal(n)
        f["site"] = f"s{k}"
        frames.append(f)
    # shuffled, with a non-default index: rows are found back by position
    df = pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=2)
    df.index = df.index * 10 + 3
    return df, "y ~ " + " + ".join(FEATURES)


def _fit(seed=0, penalty="group_lasso", alpha_frac=0.15):
    df, formula = _long(seed)
    return df, mtreg.fit(formula, data=df, task="site", penalty=penalty, alpha_frac=alpha_frac)


# --------------------------------------------------------------------------- split = OLS
@pytest.mark.parametrize("penalty", ["group_lasso", "lasso"])
def test_split_equals_statsmodels_ols_on_the_same_rows(penalty):
    df, res = _fit(penalty=penalty)
    r = refit(res, "split", random_state=3)
    assert r.B == 1 and r.valid_inference
    for task in res.params.columns:
        sel_rows, inf_rows = r.selection_rows(task), r.inference_rows(task)
        assert not set(sel_rows) & set(inf_rows)
        n_k = int((df["site"] == task).sum())
        assert len(sel_rows) == n_k // 2 and len(sel_rows) + len(inf_rows) == n_k
        cols = list(r.selected.index[r.selected[task].to_numpy()])
        assert cols, "the simulation has signal in every task"
        part = df.iloc[inf_rows]
        ols = sm.OLS(part["y"], sm.add_constant(part[cols])).fit()
        np.testing.assert_allclose(r.params.loc[cols, task], ols.params[cols], rtol=1e-10)
        np.testing.assert_allclose(r.bse.loc[cols, task], ols.bse[cols], rtol=1e-10)
        np.testing.assert_allclose(r.pvalues.loc[cols, task], ols.pvalues[cols], rtol=1e-8)
        ci = ols.conf_int(0.05)
        np.testing.assert_allclose(r.ci_lower.loc[cols, task], ci.loc[cols, 0], rtol=1e-10)
        np.testing.assert_allclose(r.ci_upper.loc[cols, task], ci.loc[cols, 1], rtol=1e-10)
        assert r.intercepts[task] == pytest.approx(ols.params["const"])
        others = r.selected.index[~r.selected[task].to_numpy()]
        assert (r.params.loc[others, task] == 0).all() and (r.pvalues.loc[others, task] == 1).all()
    n_sel = int(r.selected.to_numpy().sum())
    np.testing.assert_allclose(r.pvalues_adjusted, np.minimum(1, r.pvalues * n_sel))


def test_split_selection_is_the_penalised_fit_on_the_selection_half():
    df, res = _fit()
    r = refit(res, "split", random_state=1)
    rows = np.sort(np.concatenate([r.selection_rows(t) for t in res.params.columns]))
    half = mtreg.fit("y ~ " + " + ".join(FEATURES), data=df.iloc[rows], task="site",
                     alpha=res.alpha, tol=res.model.tol)
    np.testing.assert_array_equal(half.params.to_numpy() != 0, r.selected.to_numpy())


def test_split_on_a_shared_design_matches_ols():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((70, 5))
    Y = X[:, :2] @ np.array([[1.0, 0.5], [-1.0, 1.0]]) + rng.standard_normal((70, 2))
    df = pd.DataFrame(X, columns=[f"x{j}" for j in range(5)]).assign(y0=Y[:, 0], y1=Y[:, 1])
    res = mtreg.fit("y0 + y1 ~ x0 + x1 + x2 + x3 + x4", data=df, alpha_frac=0.2)
    r = refit(res, "split")
    for task in ("y0", "y1"):
        rows = r.inference_rows(task)
        assert len(rows) == 35
        cols = list(r.selected.index[r.selected[task].to_numpy()])
        ols = sm.OLS(df[task].iloc[rows], sm.add_constant(df[cols].iloc[rows])).fit()
        np.testing.assert_allclose(r.params.loc[cols, task], ols.params[cols], rtol=1e-10)


# --------------------------------------------------------------------------- multisplit
def _aggregate_reference(P, gamma_min):
    """hdi's pval.aggr written out with loops (R's default quantile type 7 = numpy 'linear')."""
    B = P.shape[0]
    gammas = np.arange(int(np.ceil(gamma_min * B)), B) / B
    out = np.empty(P.shape[1])
    for j in range(P.shape[1]):
        Q = [min(1.0, np.quantile(P[:, j] / g, g)) for g in gammas]
        out[j] = min(1.0, (1 - np.log(min(gammas))) * min(Q))
    return out


def test_aggregate_pvalues_matches_reference():
    rng = np.random.default_rng(0)
    P = np.where(rng.random((20, 30)) < 0.3, 1.0, rng.random((20, 30)) ** 3)
    np.testing.assert_allclose(aggregate_pvalues(P, 0.05), _aggregate_reference(P, 0.05))
    assert _gamma_grid(20, 0.05)[0] == 0.05
    with pytest.raises(ValueError, match="no quantile level"):
        aggregate_pvalues(P[:1], 0.05)


def test_multisplit_null_pvalues_are_super_uniform_and_fwer_is_controlled():
    """Null (feature, task) pairs over 15 simulations: the empirical CDF of the aggregated
    p-values stays below the uniform CDF (one-sided check), and no simulation rejects a null pair
    more often than the FWER level allows."""
    null_p, any_false, power = [], [], []
    for rep in range(15):
        _, res = _fit(seed=100 + rep, alpha_frac=0.1)
        r = refit(res, "multisplit", B=10, random_state=rep)
        P = r.pvalues.to_numpy()
        null = P[3:]                     # x3 .. x7 are null in every task
        null_p.append(null.ravel())
        any_false.append(bool((null <= 0.05).any()))
        power.append(np.mean(P[0] <= 0.05))
    assert np.mean(power) > 0.8          # the check is not passed by never rejecting
    null_p = np.concatenate(null_p)
    for t in (0.01, 0.05, 0.1, 0.25, 0.5, 0.75):
        assert np.mean(null_p <= t) <= t + 0.02
    # one-sided Kolmogorov-Smirnov test of super-uniformity: H0 "F(t) <= t for all t" against
    # "F(t) > t somewhere" (scipy's alternative="greater") is not rejected at 1%. (Most null
    # aggregated p-values are exactly 1: the per-split Bonferroni factor |S_b| and the factor
    # 1 - log(gamma_min) make the rule conservative; the building block is checked below.)
    ks = stats.kstest(null_p, "uniform", alternative="greater")
    assert ks.pvalue > 0.01
    assert np.mean(any_false) <= 0.05 + 0.1


def test_split_pvalues_of_selected_null_pairs_are_uniform():
    """Conditionally on the selection half, the OLS p-value of a selected null pair on the other
    half is exactly Uniform(0, 1) (Gaussian noise): pooled over 15 simulations, a two-sided
    Kolmogorov-Smirnov test does not reject at 1%. The multi-split p-values aggregate these."""
    null_p = []
    for rep in range(15):
        _, res = _fit(seed=100 + rep, alpha_frac=0.02)
        r = refit(res, "split", random_state=rep)
        sel = r.selected.to_numpy()[3:]
        null_p.append(r.pvalues.to_numpy()[3:][sel])
    null_p = np.concatenate(null_p)
    assert null_p.size > 150      # most null pairs are selected at this small alpha
    assert stats.kstest(null_p, "uniform").pvalue > 0.01


def test_multisplit_confidence_intervals_invert_the_aggregated_test():
    _, res = _fit(seed=7)
    r = refit(res, "multisplit", B=12)
    sig = r.pvalues.to_numpy() <= 0.05
    lo, hi = r.ci_lower.to_numpy(), r.ci_upper.to_numpy()
    # a pair is significant at 5% exactly when its 95% interval excludes 0
    excludes0 = (lo > 0) | (hi < 0)
    np.testing.assert_array_equal(sig, excludes0)
    est = r.params.to_numpy()
    inside = np.isfinite(lo) & np.isfinite(hi)
    assert inside.any() and np.all((lo[inside] <= est[inside]) & (est[inside] <= hi[inside]))
    # never-selected pairs: no information, the whole line
    never = r.selection_frequency.to_numpy() == 0
    assert np.all(np.isneginf(lo[never])) and np.all(np.isposinf(hi[never]))


def test_multisplit_identical_for_any_n_jobs_and_first_split_is_split():
    _, res = _fit(seed=2)
    one = refit(res, "multisplit", B=6, random_state=5, n_jobs=1)
    two = refit(res, "multisplit", B=6, random_state=5, n_jobs=2)
    pd.testing.assert_frame_equal(one.pvalues, two.pvalues)
    pd.testing.assert_frame_equal(one.ci_lower, two.ci_lower)
    single = refit(res, "split", random_state=5)
    for task in res.params.columns:
        np.testing.assert_array_equal(single.inference_rows(task), one.inference_rows(task, split=0))


# --------------------------------------------------------------------------- relaxed
def test_relaxed_is_ols_on_the_full_support_without_inference():
    df, res = _fit()
    r = refit(res, "relaxed")
    assert not r.valid_inference
    assert r.pvalues.isna().all().all() and r.bse.isna().all().all()
    task = res.params.columns[0]
    cols = list(res.params.index[res.params[task].to_numpy() != 0])
    part = df[df["site"] == task]
    ols = sm.OLS(part["y"], sm.add_constant(part[cols])).fit()
    np.testing.assert_allclose(r.params.loc[cols, task], ols.params[cols], rtol=1e-10)
    with pytest.raises(ValueError, match="no valid p-values"):
        r.significant()
    text = r.summary().as_text()
    assert "no valid inference" in text and "P>|t|" not in text and "not reported" in text


# --------------------------------------------------------------------------- reports
@pytest.mark.parametrize("method, label", [
    ("split", "sample splitting (one split)"),
    ("multisplit", "multi-sample splitting, B = 4"),
    ("relaxed", "relaxed fit, no valid inference"),
])
def test_method_name_in_every_table(method, label):
    _, res = _fit()
    r = refit(res, method, B=4)
    assert r.label == label
    smry = r.summary()
    for out in (smry.as_text(), smry.as_html(), smry.as_latex(), repr(r)):
        assert label in out
    assert r.to_frame().attrs["method"] == label
    if method != "relaxed":
        assert r.significant().attrs["method"] == label
        assert "FWER" in smry.as_text()


def test_refit_validates_arguments():
    _, res = _fit()
    with pytest.raises(ValueError, match="unknown method"):
        refit(res, "bootstrap")
    with pytest.raises(ValueError, match="B must be an integer"):
        refit(res, "multisplit", B=1)
    with pytest.raises(ValueError, match="level must be"):
        refit(res, "split", alpha_level=1.5)


def test_unidentifiable_task_gets_no_estimates_and_p_one():
    """The group lasso selects rows for every task: a 6-row task cannot fit 4 features on its
    3 inference rows, and nothing is declared significant there."""
    rng = np.random.default_rng(0)
    Xs = [rng.standard_normal((n, 6)) for n in (80, 6)]
    ys = [X[:, :4] @ np.full(4, 2.0) + rng.standard_normal(len(X)) for X in Xs]
    res = MultiTaskModel.from_arrays(Xs, ys, penalty="group_lasso").fit(alpha_frac=0.05)
    r = refit(res, "split")
    assert r.identifiable.tolist() == [True, False]
    sel = r.selected.iloc[:, 1].to_numpy()
    assert sel.sum() >= 3
    assert r.params.iloc[:, 1][sel].isna().all() and (r.pvalues.iloc[:, 1] == 1).all()
    assert "not identifiable" in r.summary().as_text()
    with pytest.raises(ValueError, match="needs 2 rows of every task"):
        small = MultiTaskModel.from_arrays([Xs[0], Xs[1][:3]], [ys[0], ys[1][:3]]).fit(alpha_frac=0.5)
        refit(small, "split")
