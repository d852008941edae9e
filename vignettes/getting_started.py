# %% [markdown]
# # Getting started with mtreg
#
# This vignette walks through a first multi-task analysis: the Parkinson's telemonitoring data
# that ships with mtreg. Forty-two patients were recorded at home for six months; every
# recording has 16 voice measures and the patient's UPDRS score (a clinical rating of the
# disease's severity). Each patient is a **task**: a regression of UPDRS on the voice measures.
# The patients are believed to share which voice measures matter, so we fit the 42 regressions
# jointly with a **group lasso**, which keeps a voice measure for every patient or for none.
#
# mtreg minimises, over the coefficients W (features x tasks) and per-task intercepts b,
#
#     F(W, b) = sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2  +  alpha * sum_j ||W_j.||_2
#
# By default the vignette runs on 12 patients with a coarse alpha grid, so that it renders in
# well under a minute; set `MTREG_FULL=1` (or run `python -m mtreg.vignettes --full`) for all
# 42 patients, 100 alphas and 10 folds.

# %%
import os

import matplotlib.pyplot as plt

import mtreg
from mtreg.html_report import write_report

FULL = os.environ.get("MTREG_FULL") == "1"
N_PATIENTS = 42 if FULL else 12
N_ALPHAS = 100 if FULL else 20
N_FOLDS = 10 if FULL else 5

# %% [markdown]
# ## The data
#
# `load_parkinsons()` returns a `Dataset`: the long table (one row per recording), the name of
# its task column and the columns meant as responses and features. `DESCR` holds the source,
# the licence and the citation the data's authors request.

# %%
ds = mtreg.datasets.load_parkinsons()
print(ds)
print(ds.citation)
data = ds.data[ds.data[ds.task] <= N_PATIENTS]
print(f"using {data[ds.task].nunique()} patients, {len(data)} recordings")
data.head()

# %% [markdown]
# The voice measures come in families of near-duplicates (five jitter and six shimmer
# variants, correlated above 0.9); we keep one of each family, plus the noise and
# nonlinear-dynamics measures.

# %%
data[list(ds.features)].corr().loc[list(ds.features[:11]), ["Jitter_pct", "Shimmer"]].round(2)

# %% [markdown]
# ## A first fit
#
# The formula is a patsy formula over the long table; `task="subject"` names the task column.
# `alpha_frac=0.1` sets the penalty to a tenth of `alpha_max`, the smallest alpha at which
# every coefficient is zero. (With neither `alpha` nor `alpha_frac`, mtreg chooses alpha by
# 10-fold cross-validation with glmnet's 1-SE rule.)

# %%
formula = "total_UPDRS ~ Jitter_pct + Shimmer + NHR + HNR + RPDE + DFA + PPE"
res = mtreg.fit(formula, task="subject", data=data, penalty="group_lasso", alpha_frac=0.1)
print(res.summary())

# %% [markdown]
# The summary is a statsmodels `Summary`: `as_text()`, `as_html()` and `as_latex()` work, and
# a notebook shows it as HTML. Regularised estimates come without standard errors, and the
# summary says why.
#
# ## Which voice measures were kept?
#
# `support()` is a features x tasks table of the selected coefficients, with counts per
# feature (`n_tasks`) and per task (`n_features`). With the group lasso a feature is kept for
# all patients or none, so every row is full or empty.

# %%
res.support()

# %%
print("coefficients (features x tasks), first five patients:")
res.params.iloc[:, :5].round(3)

# %% [markdown]
# Per-task statistics: rows used, R², RMSE, nonzero coefficients and the intercept.

# %%
res.task_table().head(8)

# %% [markdown]
# ## Predictions for new recordings
#
# `predict` rebuilds the design matrix from the formula for new rows; each row is predicted
# with the coefficients of the patient in its `subject` column. Here we take three
# recordings of two patients, as if they were new.

# %%
new = data.groupby("subject").head(3).query("subject in [1, 2]")
new_X = new.drop(columns=["motor_UPDRS", "total_UPDRS"])
pred = res.predict(new_X)
new.assign(predicted=pred)[["subject", "test_time", "total_UPDRS", "predicted"]]

# %% [markdown]
# ## Choosing alpha by cross-validation
#
# `mtreg.cv` fits the whole regularisation path in every fold, with folds drawn *within each
# patient* so that every patient is in every fold, and reports glmnet's `alpha_min` (the
# smallest CV error) and `alpha_1se` (the largest alpha within one standard error of it).

# %%
cvres = mtreg.cv(formula, task="subject", data=data, penalty="group_lasso",
                 n_folds=N_FOLDS, n_alphas=N_ALPHAS)
print(cvres)
print(f"alpha_min = {cvres.alpha_min:.4g}, alpha_1se = {cvres.alpha_1se:.4g}")

# %%
cvres.plot()
plt.title("Cross-validated error along the path")

# %% [markdown]
# `cvres.results("1se")` refits on all the data at `alpha_1se`; the result remembers its CV.

# %%
res_1se = cvres.results("1se")
print(res_1se)
res_1se.support().selected()

# %% [markdown]
# ## The regularisation path
#
# `mtreg.path` fits a geometric grid of alphas from `alpha_max` down, each fit warm-started
# from the previous one. Printing it gives glmnet's table (features selected, nonzeros, % of
# deviance explained); `plot()` draws the norm of each feature's coefficients across patients.

# %%
pth = mtreg.path(formula, task="subject", data=data, penalty="group_lasso", n_alphas=N_ALPHAS)
pth.to_frame().head(10)

# %%
pth.plot()
plt.title("Group lasso path: norm of each feature across patients")

# %% [markdown]
# ## A report to share
#
# `write_report` writes one self-contained HTML file (summary, per-task table, support, CV
# curve, coefficient heat map) that can be mailed to a colleague. The same report comes from
# the command line: `python -m mtreg fit data.csv --formula "..." --task subject --report
# fit.html`.

# %%
path = write_report(res_1se, "getting_started_report.html")
print(f"wrote {path.name} ({path.stat().st_size // 1024} kB)")
