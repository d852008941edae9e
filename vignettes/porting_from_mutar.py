# %% [markdown]
# # Porting from MuTaR
#
# `mtreg.sklearn` offers MuTaR's estimators with MuTaR's shapes and hyperparameters:
# `IndLasso`, `IndRewLasso`, `GroupLasso`, `DirtyModel`, `MultiLevelLasso`, `MTW`, `ReMTW` (and
# `SGMTL`). `X` is (n_tasks, n_samples, n_features) or a list of per-task arrays (tasks may have
# different numbers of samples), `y` is (n_tasks, n_samples) or a list; `coef_` is
# (n_features, n_tasks). Two differences to know:
#
# - `standardize=False` is the default of these estimators, so the objective is MuTaR's
#   `sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2 + penalty` on the raw features (mtreg's own
#   `mtreg.fit` standardises by default, as glmnet);
# - `score` returns the mean R^2 over tasks (a number, as scikit-learn expects);
#   `score_tasks` returns MuTaR's per-task vector.

# %%
import numpy as np
import sklearn
from sklearn.model_selection import GridSearchCV, StratifiedKFold

import mtreg
from mtreg.sklearn import DirtyModel, GroupLasso, MultiLevelLasso

# MuTaR's README example: 2 tasks, 2 samples, 2 features
X = np.array([[[3., 1.], [2., 0.]], [[0., 2.], [-1., 3.]]])
y = np.array([[-3., 1.], [1., -2.]])
print(X.shape, y.shape)
gl = GroupLasso(alpha=1.).fit(X, y)
print(gl.coef_)  # MuTaR prints [[-0.8  0.6] [-0.  -0. ]]

# %% [markdown]
# With two samples per task, centring makes the two features collinear inside each task, so
# the minimiser is not unique: moving part of the first row to the second leaves the
# predictions and the objective unchanged. mtreg's block coordinate descent visits the features
# in order; the first of the collinear features takes the signal and the second then sees a zero
# gradient, which is MuTaR's solution too.

# %%
print("objective:", gl.objective_, " intercepts:", gl.intercept_)
print("predictions:\n", gl.predict(X))
print("per-task R^2:", gl.score_tasks(X, y))

# %% [markdown]
# ## Hyperparameters
#
# MuTaR's absolute levels are kept in the estimators and translated to mtreg's penalties, whose
# extra parameters are relative to `alpha` (so paths and CV scale the whole penalty):
# `DirtyModel(alpha=a, beta=b)` is `mtreg.fit(..., penalty="dirty", alpha=a + b,
# l1_ratio=b / (a + b))`, `MTW(alpha=a, beta=b)` is `penalty="mtw"` with the same translation,
# `MultiLevelLasso(alpha)` is `penalty="multilevel"`.

# %%
rng = np.random.default_rng(0)
Xr = [rng.standard_normal((nk, 8)) for nk in (30, 40, 25)]  # ragged tasks
W = np.zeros((8, 3))
W[0] = [1.0, 1.2, 0.8]
W[3, 1] = -1.5
yr = [x @ W[:, k] + 0.1 * rng.standard_normal(len(x)) for k, x in enumerate(Xr)]
dirty = DirtyModel(alpha=0.15, beta=0.1).fit(Xr, yr)
print("shared part:\n", dirty.coef_shared_.round(2))
print("specific part:\n", dirty.coef_specific_.round(2))
res = mtreg.MultiTaskModel.from_arrays(Xr, yr, penalty="dirty", l1_ratio=0.1 / 0.25,
                                       standardize=False).fit(0.25)
print("same fit through mtreg:", np.abs(res.params.to_numpy() - dirty.coef_).max())

# %% [markdown]
# ## Warm starts and refits
#
# MuTaR's `MultiLevelLasso` fails on a warm-started refit; mtreg's multilevel solver starts from
# the previous coefficients (and can still add features).

# %%
mll = MultiLevelLasso(alpha=0.2, warm_start=True).fit(Xr, yr)
first = mll.coef_.copy()
mll.set_params(alpha=0.1).fit(Xr, yr)
print("features selected at alpha=0.2 and 0.1:", (first != 0).any(axis=1).sum(),
      (mll.coef_ != 0).any(axis=1).sum())

# %% [markdown]
# ## Model selection
#
# For a long table (rows with a task label), scikit-learn's metadata routing passes the labels
# to `fit` and `score`; drawing the folds within tasks (stratified on the label) keeps every task
# in every fold. `mtreg.cv` does the same natively, with glmnet's 1-SE rule.

# %%
Xl = np.vstack(Xr)
yl = np.concatenate(yr)
task = np.repeat(np.arange(3), [len(x) for x in Xr])
with sklearn.config_context(enable_metadata_routing=True):
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(Xl, task))
    est = GroupLasso().set_fit_request(task=True).set_score_request(task=True)
    gs = GridSearchCV(est, {"alpha": [0.01, 0.03, 0.1, 0.3]}, cv=folds).fit(Xl, yl, task=task)
print(gs.best_params_, round(gs.best_score_, 3))
