# %% [markdown]
# # Binomial responses: which transcription factors share a motif?
#
# A ChIP-seq-like classification problem. Every **task** is a transcription factor (TF); every
# row is a genomic window, labelled 1 when the factor binds it and 0 otherwise; the features are
# sparse binary indicators "k-mer j occurs in the window". Factors of one family recognise the
# same motif, so their binding depends on the same few k-mers; factors of different families
# use different k-mers. We fit three sparse multi-task **logistic** regressions
# (`family="binomial"`, each task's mean logistic loss plus the penalty):
#
# - independent l1 logistic regressions (`penalty="lasso"`), one per factor;
# - the group lasso (`penalty="group_lasso"`), which keeps a k-mer for every factor or none;
# - SG-MTL (`penalty="sgmtl"`), which learns `n_groups` groups of factors and a group-lasso
#   support within each group.
#
# We compare them by the area under the precision-recall curve (AUC-PR, the usual score for
# binding prediction, where positives are rare) on held-out windows, and check whether SG-MTL
# recovers the factor families (adjusted Rand index against the simulated truth).
#
# By default the vignette runs at a reduced size (12 factors in 3 families, 100 k-mers) so that
# it renders in well under a minute; `MTREG_FULL=1` runs 30 factors in 5 families, 400 k-mers.

# %%
import os

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.metrics import adjusted_rand_score, average_precision_score

import mtreg

FULL = os.environ.get("MTREG_FULL") == "1"
N_FAMILIES = 5 if FULL else 3
TFS_PER_FAMILY = 6 if FULL else 4
N_KMERS = 400 if FULL else 100
N_TRAIN, N_TEST = (300, 300) if FULL else (150, 150)
MOTIF_SIZE = 5  # k-mers per family motif
KMER_FREQ = 0.08  # chance that a given k-mer occurs in a window
SEED = 0

# %% [markdown]
# ## Simulating the binding data
#
# Family f has a motif: `MOTIF_SIZE` k-mers drawn at random. Factor k of family f has positive
# weights on its family's motif (drawn per factor, so members differ in strength but not in
# support) and an intercept of -2, so that about 30% of windows are bound. Each factor has its
# own windows (tasks have different rows, as with separate ChIP-seq experiments); the first
# `N_TRAIN` windows of each factor are for fitting, the rest are held out.

# %%
rng = np.random.default_rng(SEED)
n_tfs = N_FAMILIES * TFS_PER_FAMILY
tf_names = [f"TF{k:02d}" for k in range(n_tfs)]
family = pd.Series(np.repeat(np.arange(N_FAMILIES), TFS_PER_FAMILY), index=tf_names, name="family")
kmers = [f"kmer{j:03d}" for j in range(N_KMERS)]
motifs = [rng.choice(N_KMERS, MOTIF_SIZE, replace=False) for _ in range(N_FAMILIES)]

W_true = np.zeros((N_KMERS, n_tfs))
for k in range(n_tfs):
    W_true[motifs[family.iloc[k]], k] = rng.uniform(1.5, 3.0, MOTIF_SIZE)
b_true = -2.0

frames = []
for k, tf in enumerate(tf_names):
    n = N_TRAIN + N_TEST
    X = (rng.random((n, N_KMERS)) < KMER_FREQ).astype(np.int8)
    prob = 1.0 / (1.0 + np.exp(-(b_true + X @ W_true[:, k])))
    df = pd.DataFrame(X, columns=kmers)
    df.insert(0, "bound", (rng.random(n) < prob).astype(int))
    df.insert(0, "tf", tf)
    df["split"] = np.where(np.arange(n) < N_TRAIN, "train", "test")
    frames.append(df)
data = pd.concat(frames, ignore_index=True)
train, test = data[data["split"] == "train"], data[data["split"] == "test"]
print(f"{n_tfs} factors in {N_FAMILIES} families, {N_KMERS} k-mers, "
      f"{N_TRAIN} training and {N_TEST} held-out windows per factor")
print(f"fraction bound: {data['bound'].mean():.2f}; fraction of nonzero features: "
      f"{data[kmers].to_numpy().mean():.3f}")
print("motif k-mers per family:", {f: sorted(int(j) for j in m) for f, m in enumerate(motifs)})

# %% [markdown]
# ## Three fits
#
# The formula lists every k-mer. The penalty strengths are fixed here to keep the vignette fast:
# a quarter of `alpha_max` for the lasso and the group lasso (close to what
# `mtreg.cv(..., family="binomial", n_folds=5)` picks by cross-validated deviance on the
# reduced problem, about 0.27 `alpha_max` for both) and an absolute `alpha` for SG-MTL.
# `mtreg.cv` also scores by `"auc"`, `"auc_pr"` or `"misclassification"`. SG-MTL is told the
# true number of families.

# %%
formula = "bound ~ " + " + ".join(kmers)
fits = {
    "SG-MTL": mtreg.fit(formula, task="tf", data=train, family="binomial", penalty="sgmtl",
                        n_groups=N_FAMILIES, alpha=0.01, random_state=SEED),
    "l1 (independent)": mtreg.fit(formula, task="tf", data=train, family="binomial",
                                  penalty="lasso", alpha_frac=0.25),
    "group lasso": mtreg.fit(formula, task="tf", data=train, family="binomial",
                             penalty="group_lasso", alpha_frac=0.25),
}
print(fits["SG-MTL"])

# %% [markdown]
# The summary of a binomial fit reports, per task, the deviance, AUC, AUC-PR and accuracy on
# the training rows; `res.auc_pr` is that AUC-PR as a Series.

# %%
fits["SG-MTL"].task_table().head()

# %% [markdown]
# ## AUC-PR on held-out windows
#
# `predict(newdata, type="response")` gives the predicted binding probability of every held-out
# window, with the coefficients of the factor named in its `tf` column. The last column,
# "true model", scores the windows with the simulating coefficients: the best any fit can do.

# %%
def auc_pr_by_task(prob):
    """Held-out AUC-PR of every factor, from probabilities aligned with the rows of `test`."""
    prob = np.asarray(prob, dtype=float)
    out = {}
    for tf in tf_names:
        rows = (test["tf"] == tf).to_numpy()
        out[tf] = average_precision_score(test["bound"].to_numpy()[rows], prob[rows])
    return pd.Series(out)


table = pd.DataFrame({name: auc_pr_by_task(res.predict(test, type="response"))
                      for name, res in fits.items()})
oracle_eta = b_true + np.einsum("ij,ji->i", test[kmers].to_numpy(float),
                                W_true[:, test["tf"].map({t: k for k, t in enumerate(tf_names)})])
table["true model"] = auc_pr_by_task(oracle_eta)
table.loc["mean"] = table.mean()
table.insert(0, "family", family.astype(str).reindex(table.index, fill_value=""))
print("held-out AUC-PR per factor")
print(table.round(3).to_string())
print("\ntraining AUC-PR (res.auc_pr), mean over factors:",
      {name: round(float(res.auc_pr.mean()), 3) for name, res in fits.items()})

# %% [markdown]
# The group lasso forces one support on all factors, so each factor carries the k-mers of every
# family's motif (with shrunken weights); the independent fits each see only `N_TRAIN` windows;
# SG-MTL pools the factors of one family and keeps the families apart.
#
# ## Recovered factor families
#
# `res.clusters(truth=...)` compares SG-MTL's learned groups with the true families: the
# adjusted Rand index (1 = identical partitions, about 0 = chance) and the confusion table.

# %%
rep = fits["SG-MTL"].clusters(truth=family)
print(f"SG-MTL: adjusted Rand index = {rep.ari:.3f}, active clusters = {rep.n_active}")
print(rep.confusion.to_string())

# %% [markdown]
# The lasso and the group lasso learn no grouping; for comparison we cluster their coefficient
# columns afterwards (average-linkage hierarchical clustering on cosine distance, cut into
# `N_FAMILIES` clusters). The group lasso's columns share one support, so they are hard to tell
# apart.

# %%
def post_hoc_groups(res):
    W = res.params.to_numpy().T  # tasks x features
    W = W + 1e-12 * (np.abs(W).sum(axis=1, keepdims=True) == 0)  # an all-zero column
    return fcluster(linkage(W, method="average", metric="cosine"), N_FAMILIES, criterion="maxclust")


ari = {"SG-MTL (learned)": rep.ari}
for name in ("l1 (independent)", "group lasso"):
    ari[f"{name} (post hoc)"] = adjusted_rand_score(family.to_numpy(), post_hoc_groups(fits[name]))
pd.Series(ari, name="adjusted Rand index").round(3).to_frame()

# %% [markdown]
# ## Which k-mers were kept?
#
# The support of SG-MTL, by family: the motif k-mers of each family should be selected for
# that family's factors and not for the others.

# %%
sup = fits["SG-MTL"].params.ne(0)
motif_rows = [kmers[j] for m in motifs for j in sorted(m)]
by_family = sup.T.groupby(family).mean().T.loc[motif_rows]
by_family.index = [f"{r} (family {f})" for f, m in enumerate(motifs) for r in [kmers[j] for j in sorted(m)]]
print("fraction of each family's factors selecting each motif k-mer")
print(by_family.round(2).to_string())
print(f"\nnon-motif k-mers selected per factor (mean): "
      f"{sup.drop(index=motif_rows).sum().mean():.1f} of {N_KMERS - len(motif_rows)}")
