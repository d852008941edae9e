# %% [markdown]
# # Joint feature selection across time points
#
# This is scikit-learn's classic example *Joint feature selection with multi-task Lasso*,
# done with mtreg's formula interface on a long table. Forty tasks are forty time points of
# one experiment; 5 of 30 features are relevant at every time point, and their coefficients
# vary over time as sine waves of random frequency and phase. Fitting each time point with its
# own lasso selects a different, noisy set of features at each time; the group lasso
# (scikit-learn's `MultiTaskLasso`) selects the same features at every time point.
#
# Both models minimise
#
#     F(W, b) = sum_k 1/(2 n_k) ||y_k - b_k - X w_k||^2  +  alpha * Omega(W)
#
# with `Omega(W) = sum_jk |W_jk|` (lasso) or `sum_j ||W_j.||_2` (group lasso). With one shared X
# this is exactly scikit-learn's objective, so `alpha=0.5` and `alpha=1.0` mean what they mean
# in the original example (we switch off standardisation, which scikit-learn does not do).
#
# The experiment is small and runs at full size; `MTREG_FULL=1` only makes the
# cross-validation at the end finer.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.linear_model import Lasso, MultiTaskLasso

import mtreg

FULL = os.environ.get("MTREG_FULL") == "1"

# %% [markdown]
# ## Simulated data, as in scikit-learn's example

# %%
rng = np.random.RandomState(42)
n_samples, n_features, n_tasks = 100, 30, 40
n_relevant_features = 5
coef = np.zeros((n_tasks, n_features))
times = np.linspace(0, 2 * np.pi, n_tasks)
for k in range(n_relevant_features):
    coef[:, k] = np.sin((1.0 + rng.randn(1)) * times + 3 * rng.randn(1))

X = rng.randn(n_samples, n_features)
Y = np.dot(X, coef.T) + rng.randn(n_samples, n_tasks)

# %% [markdown]
# ## The long table
#
# One row per (sample, time point): the task column `time` (0 ... 39), the response `y` and the
# 30 features. Every time point uses the same 100 rows of X, but mtreg does not need to know
# that: any long table with a task column will do.

# %%
features = [f"x{j}" for j in range(n_features)]
long = pd.concat(
    [pd.DataFrame(X, columns=features).assign(time=t, y=Y[:, t]) for t in range(n_tasks)],
    ignore_index=True)
print(long.shape)
long[["time", "y", *features[:6]]].head()

# %% [markdown]
# ## Independent lasso vs group lasso

# %%
formula = "y ~ " + " + ".join(features)
fit_lasso = mtreg.fit(formula, task="time", data=long, penalty="lasso", alpha=0.5,
                      standardize=False)
fit_group = mtreg.fit(formula, task="time", data=long, penalty="group_lasso", alpha=1.0,
                      standardize=False)
print(fit_lasso)
print(fit_group)

# %% [markdown]
# Coefficients come back as features x tasks DataFrames; transposed, they have the shape of
# scikit-learn's `coef_` (tasks x features).

# %%
coef_lasso_ = fit_lasso.params[list(range(n_tasks))].to_numpy().T
coef_group_ = fit_group.params[list(range(n_tasks))].to_numpy().T
support = pd.DataFrame({
    "lasso": fit_lasso.support().n_tasks,
    "group lasso": fit_group.support().n_tasks,
}).rename_axis("feature")
print("time points selecting each feature (first 10 features; features 0-4 are relevant):")
support.head(10)

# %% [markdown]
# The same fits with scikit-learn, for comparison: the objectives are the same, so the
# coefficients agree to the solvers' tolerance.

# %%
sk_lasso = np.array([Lasso(alpha=0.5, tol=1e-8).fit(X, y).coef_ for y in Y.T])
sk_group = MultiTaskLasso(alpha=1.0, tol=1e-8).fit(X, Y).coef_
print(f"max |mtreg - sklearn|, lasso:       {np.abs(coef_lasso_ - sk_lasso).max():.2e}")
print(f"max |mtreg - sklearn|, group lasso: {np.abs(coef_group_ - sk_group).max():.2e}")

# %% [markdown]
# ## Where are the nonzero coefficients?

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 5), sharey=True)
for ax, W, name in zip(axes, [coef_lasso_, coef_group_], ["Lasso", "Group lasso"], strict=True):
    ax.imshow(W != 0, cmap="Greys", aspect="auto", interpolation="nearest")
    ax.set_xlabel("Feature")
    ax.set_title(name)
axes[0].set_ylabel("Time (or task)")
fig.suptitle("Coefficient non-zero location")
fig.tight_layout()

# %% [markdown]
# ## The coefficient of one feature over time

# %%
feature_to_plot = 0
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(coef[:, feature_to_plot], color="seagreen", lw=2, label="Ground truth")
ax.plot(coef_lasso_[:, feature_to_plot], color="cornflowerblue", lw=2, label="Lasso")
ax.plot(coef_group_[:, feature_to_plot], color="gold", lw=2, label="Group lasso")
ax.set_xlabel("Time (task)")
ax.set_ylabel(f"coefficient of x{feature_to_plot}")
ax.set_ylim(-1.1, 1.1)
ax.legend(loc="upper center")

# %% [markdown]
# ## Choosing alpha by cross-validation
#
# The example fixes alpha by hand. `mtreg.cv` chooses it: folds are drawn within each time
# point, and `alpha_1se` is the largest alpha whose CV error is within one standard error of
# the best.

# %%
cvres = mtreg.cv(formula, task="time", data=long, penalty="group_lasso", standardize=False,
                 n_folds=10 if FULL else 5, n_alphas=100 if FULL else 15)
print(cvres)
best = cvres.results("1se")
selected = best.support().n_tasks
print("features selected at alpha_1se:", ", ".join(selected.index[selected > 0]))
