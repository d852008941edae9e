# %% [markdown]
# # Which voice features are stable across Parkinson's patients?
#
# A penalised fit returns one support. Would it come back on other data? **Stability
# selection** (Meinshausen & Bühlmann 2010) refits the model on many subsamples, drawn *within
# each task*, along a grid of alphas, and keeps what is selected often: a unit's *stability* is
# its largest selection frequency over the grid, and the stable set at a threshold pi_thr comes
# with a bound on the expected number of false selections,
#
#     E[V] <= q^2 / ((2 pi_thr - 1) p),
#
# q being the average number of units selected per subsample and p the number of units.
# mtreg draws the subsamples in **complementary pairs** (Shah & Samworth 2013), under which the
# same number bounds, without exchangeability, the expected number of selected units of low
# selection probability. Units are the feature rows of W (a feature used by some task) and the
# (feature, task) entries.
#
# For **p-values**, `mtreg.inference.refit` splits every task's rows: one half selects, the
# other half estimates by OLS (statsmodels); `method="multisplit"` repeats it B times and
# aggregates the p-values (Meinshausen, Meier & Bühlmann 2009), controlling the family-wise
# error over all features x tasks.
#
# Three analyses: a simulation with a known support, an SG-MTL simulation with known task groups
# (which features are stable in which learned cluster), then the bundled Parkinson's
# telemonitoring data (42 patients = tasks, total UPDRS against 16 voice measures). The vignette runs at a
# reduced size (fewer subsamples, alphas and splits; under a minute); set `MTREG_FULL=1` or pass
# `--full` for the full size. The plots are also written to `vignettes/stability_files/`.

# %%
import os
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import mtreg  # noqa: E402
from mtreg.inference import refit  # noqa: E402
from mtreg.model import MultiTaskModel  # noqa: E402
from mtreg.stability import stability, stability_model  # noqa: E402

FULL = os.environ.get("MTREG_FULL") == "1" or "--full" in sys.argv[1:]
CFG = ({"n_subsamples": 100, "n_alphas": 20, "B": 50, "sim_reps": 20} if FULL
       else {"n_subsamples": 20, "n_alphas": 10, "B": 10, "sim_reps": 5})
OUT = Path(os.environ.get("MTREG_STABILITY_OUT",
                          Path(globals().get("__file__", "stability.py")).resolve().parent
                          / "stability_files"))
OUT.mkdir(parents=True, exist_ok=True)
pd.set_option("display.width", 110)
T0 = time.perf_counter()


def save(ax, name):
    """Write the figure of ``ax`` to OUT (and leave it open for the HTML rendering)."""
    ax.figure.tight_layout()
    ax.figure.savefig(OUT / name, dpi=110)
    print(f"saved {OUT / name}")


print(f"stability vignette, {'full' if FULL else 'reduced'} size: {CFG}")

# %% [markdown]
# ## 1. A simulation with a known support
#
# Eight tasks in two clusters, 40 features: features f00-f03 are active in every task, f04-f05
# in the first cluster only, f06-f07 in the second; the other 32 are noise. We use the lasso
# (each task its own support), so the units of interest are the (feature, task) entries:
# 48 true ones among 320.


# %%
def simulate(seed, K=8, p=40, n=80):
    rng = np.random.default_rng(seed)
    W = np.zeros((p, K))
    W[:4] = 1.0
    W[4:6, : K // 2] = 1.0
    W[6:8, K // 2:] = 1.0
    Xs = [rng.standard_normal((n, p)) for _ in range(K)]
    ys = [X @ W[:, k] + 1.5 * rng.standard_normal(n) for k, X in enumerate(Xs)]
    return Xs, ys, W, [f"f{j:02d}" for j in range(p)]


Xs, ys, W, names = simulate(0)
sim_model = MultiTaskModel.from_arrays(Xs, ys, feature_names=names, penalty="lasso")
st_sim = stability_model(sim_model, n_subsamples=CFG["n_subsamples"], n_alphas=CFG["n_alphas"],
                         alpha_min_ratio=0.3, threshold=0.7)
print(st_sim.summary(max_rows=12))
truth = W != 0
found = st_sim.stable.to_numpy()
print(f"\ntrue entries found: {int((found & truth).sum())} of {int(truth.sum())}; "
      f"false: {int((found & ~truth).sum())}")

# %% [markdown]
# Stability paths (one line per entry, the stable ones coloured) and the features x tasks heat
# map: the shared features are stable in every task, the cluster-specific ones in their
# cluster.

# %%
save(st_sim.plot(level="entry", label=False), "sim_paths.png")
save(st_sim.plot_heatmap(annotate=False), "sim_heatmap.png")

# %% [markdown]
# The bound is only as good as q is small. `bound_path()` shows q and the bound when the grid
# stops earlier, and `truncate(pfer=...)` keeps the sparse end of the grid where the bound holds
# at the level we ask. Over repeated simulations, the false stable entries stay below the bound.


# %%
def false_entries(res):
    entries = res.stable_set(level="entry")
    rows = [names.index(f) for f in entries["feature"]]
    return int(sum(not truth[j, k] for j, k in zip(rows, entries["task"], strict=True)))


V, bounds, V_cut = [], [], []
for rep in range(CFG["sim_reps"]):
    Xs, ys, W, names = simulate(rep)
    truth = W != 0
    model = MultiTaskModel.from_arrays(Xs, ys, feature_names=names, penalty="lasso")
    st = stability_model(model, n_subsamples=CFG["n_subsamples"], n_alphas=CFG["n_alphas"],
                         alpha_min_ratio=0.3, threshold=0.7, random_state=rep)
    V.append(false_entries(st))
    bounds.append(st.pfer(level="entry"))
    V_cut.append(false_entries(st.truncate(pfer=2.0, level="entry")))
print(f"over {len(V)} simulations: mean false stable entries {np.mean(V):.2f} "
      f"(bound {np.mean(bounds):.2f}); on the grid cut to E[V] <= 2: {np.mean(V_cut):.2f}")

# %% [markdown]
# Multi-sample splitting on the first simulation: p-values of the true entries are small, those
# of the 272 null entries large (FWER 5% over all entries).

# %%
Xs, ys, W, names = simulate(0)
truth = W != 0
res_sim = MultiTaskModel.from_arrays(Xs, ys, feature_names=names, penalty="lasso").fit(alpha_frac=0.2)
ms_sim = refit(res_sim, "multisplit", B=CFG["B"])
P = ms_sim.pvalues.to_numpy()
print(f"{ms_sim.label}: {int((P[truth] <= 0.05).sum())} of {int(truth.sum())} true entries "
      f"significant; null entries with p <= 0.05: {int((P[~truth] <= 0.05).sum())} of "
      f"{int((~truth).sum())}")

# %% [markdown]
# ## 2. Stable features of learned task clusters (SG-MTL)
#
# SG-MTL learns the task clusters together with their supports, so the natural question is
# *which features are stable in which cluster*. The difficulty is **label switching**: cluster
# "2" on one subsample may be cluster "0" on the next. mtreg fixes the labels once, on the fit
# to all rows (argmax of the membership matrix U at a *reference alpha*, clusters named G1, G2,
# ... in the order of their first task), and matches every subsample's clusters to them by
# maximum task overlap (`scipy.optimize.linear_sum_assignment`). A feature then counts as
# selected in cluster G on a subsample when it is selected in a strict majority of the tasks
# matched to G there; its stability in G is the largest such frequency over the grid. By
# default the reference alpha is the one whose full-data clustering the subsamples reproduce
# best (mean adjusted Rand index, `clustering_stability`); `reference_alpha=` overrides it.
#
# A small version of the SG-MTL paper's first synthetic design (`mtreg.simulate.sgmtl_groups`):
# 9 tasks in 3 groups of 3, 9 features, group g using 3 of them with coefficients drawn per
# task; 50 rows per task. (SG-MTL's penalty is squared, so its `alpha_max` is only a reference
# scale; we give a short grid of our own.)

# %%
from mtreg.simulate import sgmtl_groups  # noqa: E402

sg_data, sg_coef, sg_groups = sgmtl_groups("set1", n_groups=3, n_tasks=9, n_features=9,
                                           n_samples=50, noise=0.3, seed=0)
sg_formula = "y ~ " + " + ".join(sg_coef.index)
st_sg = stability(sg_formula, sg_data, task="task", penalty="sgmtl", n_groups=3, n_init=1,
                  random_state=0, alphas=[0.2, 0.1, 0.05],
                  n_subsamples=50 if FULL else 6, threshold=0.8)
print("mean ARI of the subsample clusterings to the full-data one, per alpha:")
print(st_sg.clustering_stability.round(3).to_string())
print(f"reference alpha: {st_sg.reference_alpha:g}")
print("\nreference clusters against the true groups:")
print(pd.crosstab(st_sg.reference_clusters, sg_groups.rename("true group")).to_string())

# %% [markdown]
# The stability of every feature in every learned cluster, next to the true support of the
# matching group (1 = used by the group's tasks):

# %%
truth_by_cluster = pd.DataFrame(
    {c: (sg_coef.loc[:, st_sg.reference_clusters == c] != 0).all(axis=1).astype(int)
     for c in st_sg.cluster_names})
print(pd.concat({"stability": st_sg.cluster_frequencies.round(2), "true support": truth_by_cluster},
                axis=1).to_string())
print()
print(st_sg.cluster_table()[["n_tasks", "membership", "stable_features"]].to_string())

# %% [markdown]
# The summary reports the reference clusters and the per-cluster table with the usual ones;
# the heat map shows features x clusters, `plot(cluster="G1")` the stability paths inside one
# cluster, the co-clustering matrix how often two tasks share a cluster (averaged over the
# grid).

# %%
print(st_sg.summary(max_rows=9))
save(st_sg.plot_clusters(), "sgmtl_cluster_stability.png")
save(st_sg.plot(cluster="G1"), "sgmtl_paths_G1.png")
save(st_sg.plot_coclustering(), "sgmtl_coclustering.png")

# %% [markdown]
# ## 3. Parkinson's telemonitoring
#
# First the group lasso: a voice feature is used for every patient or for none, so the unit is
# the feature (p = 16).

# %%
ds = mtreg.datasets.load_parkinsons()
common = {"task": ds.task, "n_subsamples": CFG["n_subsamples"], "n_alphas": CFG["n_alphas"],
          "random_state": 0}
st_gl = stability(ds.formula, ds.data, penalty="group_lasso", threshold=0.9, **common)
print(st_gl.summary())

# %%
save(st_gl.plot(), "parkinsons_paths_group_lasso.png")
st_gl.bound_path()

# %% [markdown]
# With 16 features and most of them selected at the end of the grid, the bound on the full grid
# is weak. On the sparse end of the path, where E[V] <= 1, the stable features are few:

# %%
try:
    cut = st_gl.truncate(pfer=1.0)
    print(f"grid cut at alpha >= {cut.alphas.min():.3g}: stable features {cut.stable_features}, "
          f"E[V] <= {cut.pfer():.2f}")
    save(cut.plot(), "parkinsons_paths_group_lasso_cut.png")
except ValueError as err:
    print(err)

# %% [markdown]
# The lasso lets every patient choose its own features: the heat map shows which voice
# features are stable for which patients.

# %%
st_l = stability(ds.formula, ds.data, penalty="lasso", threshold=0.8, **common)
print(st_l.feature_table().to_string(float_format=lambda v: f"{v:.3g}"))
print(f"entry level: q = {st_l.q_entries:.3g} of {st_l.p_entries} entries, "
      f"E[V] <= {st_l.pfer(level='entry'):.3g}")
save(st_l.plot_heatmap(annotate=False), "parkinsons_heatmap_lasso.png")

# %% [markdown]
# ## p-values that survive the selection
#
# Multi-sample splitting of a group-lasso fit: which (feature, patient) coefficients are
# nonzero, with family-wise error control over all 16 x 42 of them? The relaxed fit (OLS on the
# selected support, same data) is shown for contrast: it is for prediction and reports no
# p-values.

# %%
res = mtreg.fit(ds.formula, data=ds.data, task=ds.task, penalty="group_lasso", alpha_frac=0.3)
ms = refit(res, "multisplit", B=CFG["B"])
print(ms.summary(max_rows=15))

# %%
sig = ms.significant()
print("patients in which each voice feature is significant (FWER 5%):")
print(sig.groupby("feature").size().sort_values(ascending=False).to_string() if len(sig) else "none")
print(refit(res, "relaxed").summary(max_rows=5))
print(f"\ndone in {time.perf_counter() - T0:.1f} s")
