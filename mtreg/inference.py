"""Post-selection estimates for a penalised multi-task fit: sample splitting, multi-splitting, relaxed.

A penalised fit selects features and estimates them from the same data, so its own summary has no
standard errors. :func:`refit` offers three ways on from a :class:`~mtreg.results.MultiTaskResults`:

``"split"`` (Wasserman & Roeder 2009)
    The rows of every task are split at random in two halves; the penalised model is refitted on
    the first half with the same alpha and penalty, and each task's selected features are
    refitted by OLS (``statsmodels.api.OLS``, with a constant per task when the model fits
    intercepts) on the second half. Coefficients, standard errors, confidence intervals and
    p-values are valid for the selected model (conditionally on the first half). The p-values
    are also given Bonferroni-adjusted by the size of the selected set (FWER across features and
    tasks); unselected (feature, task) pairs get p = 1.
``"multisplit"`` (Meinshausen, Meier & Bühlmann 2009)
    ``B`` such splits. In split b, the OLS p-value of every selected pair is multiplied by the
    number of selected pairs ``|S_b|`` (all tasks together) and capped at 1; unselected pairs get
    1. The B adjusted p-values of a pair are aggregated with the adaptive quantile rule::

        Q(gamma) = min(1, q_gamma(P_b / gamma)),
        P = min(1, (1 - log gamma_min) * min_{gamma in (gamma_min, 1)} Q(gamma))

    over the grid ``gamma = ceil(gamma_min B)/B, ..., 1 - 1/B`` (as in R's hdi), which controls
    the family-wise error rate over all (feature, task) pairs. Confidence intervals invert the
    same aggregated test: the set of values c for which H0: beta = c is not rejected (its hull).
    The coefficient shown is the median of the OLS estimates over the splits that selected the
    pair; there is no single standard error.
``"relaxed"`` (relaxed lasso)
    OLS on all rows of every task on the support of the penalised fit: for prediction; the
    support was chosen on the same data, so no standard errors, intervals or p-values are valid,
    and none are reported.

The alpha is taken as given. If it was chosen on all the data (e.g. by cross-validation) the
selection half has seen the inference half through alpha only; choose alpha on the selection
half, or fix it in advance, for the strictest guarantee.
"""
from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp
import statsmodels.api as sm
from joblib import Parallel, delayed
from scipy import special, stats

from . import report
from .cv import _split_design
from .model import _check_int, _check_positive_number
from .solvers import get_solver, make_problem
from .stability import _check_subsample_sizes, _RawDesign, draw_halves

__all__ = ["RefitResults", "refit", "aggregate_pvalues", "METHODS"]

METHODS = ("split", "multisplit", "relaxed")


# ------------------------------------------------------------------------------ p-values
def _gamma_grid(B: int, gamma_min: float) -> np.ndarray:
    grid = np.arange(math.ceil(gamma_min * B), B) / B
    if grid.size == 0:
        raise ValueError(f"B={B} splits leave no quantile level in [gamma_min={gamma_min:g}, 1 - 1/B]; "
                         "use more splits")
    return grid


def aggregate_pvalues(pvalues: np.ndarray, gamma_min: float = 0.05) -> np.ndarray:
    """Aggregate p-values over splits with the adaptive quantile rule of Meinshausen et al. (2009).

    Parameters
    ----------
    pvalues : ndarray of shape (B, ...)
        Per-split (already multiplicity-adjusted) p-values.
    gamma_min : float in (0, 1), default 0.05
        Smallest quantile level searched.

    Returns
    -------
    ndarray of shape pvalues.shape[1:]
        ``min(1, (1 - log gamma_min') * min_gamma min(1, q_gamma(P / gamma)))``, with
        ``gamma_min'`` the smallest level of the grid ``ceil(gamma_min B)/B .. 1 - 1/B``.
    """
    P = np.asarray(pvalues, dtype=np.float64)
    gammas = _gamma_grid(P.shape[0], gamma_min)
    Q = np.quantile(P, gammas, axis=0) / gammas.reshape((-1,) + (1,) * (P.ndim - 1))
    Q = np.minimum(Q, 1.0)
    return np.minimum(1.0, (1.0 - np.log(gammas.min())) * Q.min(axis=0))


def _split_pvalues(c, est, se, df, usable, n_sel):
    """Bonferroni-adjusted per-split p-values of H0: beta = c; 1 where unusable.

    ``est, se, df, usable`` have shape (B, M), ``c`` shape (M,) or (G, M); returns (B, M) or
    (B, G, M).
    """
    if np.ndim(c) == 2:
        est, se, df, usable = (a[:, None, :] for a in (est, se, df, usable))
        n_sel = n_sel[:, None, None]
    else:
        n_sel = n_sel[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.abs(est - c) / se
        p = np.minimum(1.0, n_sel * 2.0 * special.stdtr(df, -z))   # stdtr(df, -z) = t.sf(z)
    return np.where(usable, p, 1.0)


def _multisplit_ci(est, se, df, usable, n_sel, level, gamma_min, n_grid=128, n_bisect=30,
                   chunk=4_000_000):
    """Hull of {c : aggregated p-value of H0: beta = c > level}, for M pairs at once.

    ``est, se, df, usable`` have shape (B, M). Returns (lower, upper), each (M,): -inf/inf when
    the test never rejects on that side, nan when it rejects everywhere.
    """
    B, M = est.shape
    lower = np.full(M, -np.inf)
    upper = np.full(M, np.inf)
    any_use = usable.any(axis=0)
    if not any_use.any():
        return lower, upper
    idx = np.flatnonzero(any_use)
    e, s, d, u = est[:, idx], se[:, idx], df[:, idx], usable[:, idx]

    def agg(c):
        return aggregate_pvalues(_split_pvalues(c, e, s, d, u, n_sel), gamma_min)

    # beyond these every usable split's adjusted p-value is below level * g / (2 (1 - log g)),
    # g the smallest quantile level: small enough for the aggregated test to reject whenever
    # the splits that selected the pair can make it reject at all
    g = _gamma_grid(B, gamma_min).min()
    target = level * g / (2.0 * (1.0 - np.log(g)))
    with np.errstate(divide="ignore", invalid="ignore"):
        reach = s * stats.t.isf(target / (2.0 * np.maximum(n_sel, 1))[:, None], d)
    lo_end = np.where(u, e - reach, np.inf).min(axis=0)
    hi_end = np.where(u, e + reach, -np.inf).max(axis=0)
    ts = np.linspace(0.0, 1.0, n_grid)
    grid = lo_end[None, :] + ts[:, None] * (hi_end - lo_end)[None, :]    # (G, m)
    step = max(1, chunk // max(1, B * len(idx) * len(_gamma_grid(B, gamma_min))))
    accept = np.concatenate([agg(grid[g:g + step]) > level for g in range(0, n_grid, step)])
    has = accept.any(axis=0)
    first = np.argmax(accept, axis=0)
    last = n_grid - 1 - np.argmax(accept[::-1], axis=0)
    cols = np.arange(len(idx))

    def refine(a_in, a_out):
        """Bisection between an accepted point and a rejected one."""
        for _ in range(n_bisect):
            mid = 0.5 * (a_in + a_out)
            ok = agg(mid) > level
            a_in = np.where(ok, mid, a_in)
            a_out = np.where(ok, a_out, mid)
        return a_in

    lo_in = grid[first, cols]
    lo_out = grid[np.maximum(first - 1, 0), cols]
    lo = refine(lo_in.copy(), lo_out.copy())
    lo = np.where(first == 0, -np.inf, lo)            # accepted at the outer end: unbounded
    hi_in = grid[last, cols]
    hi_out = grid[np.minimum(last + 1, n_grid - 1), cols]
    hi = refine(hi_in.copy(), hi_out.copy())
    hi = np.where(last == n_grid - 1, np.inf, hi)
    lower[idx] = np.where(has, lo, np.nan)
    upper[idx] = np.where(has, hi, np.nan)
    return lower, upper


# ------------------------------------------------------------------------------ OLS per task
def _task_rows(raw: _RawDesign, k: int, mask: np.ndarray):
    """(X rows, y) of task k restricted to ``mask`` (stacked rows, or rows of the shared X)."""
    if raw.shared:
        n = raw.X.shape[0]
        rows = np.flatnonzero(mask)
        return raw.X[rows], raw.y[k * n:(k + 1) * n][rows]
    a, z = raw.task_ptr[k], raw.task_ptr[k + 1]
    rows = a + np.flatnonzero(mask[a:z])
    return raw.X[rows], raw.y[rows]


def _ols_on_support(raw: _RawDesign, mask: np.ndarray, support: np.ndarray, const: bool,
                    alpha_level: float, with_se: bool = True) -> dict:
    """statsmodels OLS of every task on its selected features, rows in ``mask``.

    Returns arrays (p, K): coef (0 off the support), bse, tvalues, pvalues (1 off the support),
    ci_lower, ci_upper; (K,): intercept, df_resid, ok (identifiable fit).
    """
    p, K = support.shape
    out = {"coef": np.zeros((p, K)), "bse": np.full((p, K), np.nan),
           "tvalues": np.full((p, K), np.nan), "pvalues": np.ones((p, K)),
           "ci_lower": np.full((p, K), np.nan), "ci_upper": np.full((p, K), np.nan),
           "intercept": np.zeros(K), "df_resid": np.full(K, np.nan), "ok": np.ones(K, dtype=bool)}
    for k in range(K):
        cols = np.flatnonzero(support[:, k])
        Xk, yk = _task_rows(raw, k, mask)
        Xs = Xk[:, cols]
        Xs = Xs.toarray() if sp.issparse(Xs) else np.asarray(Xs)
        exog = sm.add_constant(Xs, has_constant="add") if const else Xs
        n, m = exog.shape
        if m == 0:
            continue
        if n <= m or np.linalg.matrix_rank(exog) < m:
            # not identifiable on these rows: no estimate, and nothing is declared significant
            out["ok"][k] = False
            out["coef"][cols, k] = np.nan
            continue
        fit = sm.OLS(yk, exog).fit()
        j0 = 1 if const else 0
        out["coef"][cols, k] = fit.params[j0:]
        out["intercept"][k] = fit.params[0] if const else 0.0
        out["df_resid"][k] = fit.df_resid
        if with_se:
            ci = fit.conf_int(alpha_level)
            out["bse"][cols, k] = fit.bse[j0:]
            out["tvalues"][cols, k] = fit.tvalues[j0:]
            out["pvalues"][cols, k] = fit.pvalues[j0:]
            out["ci_lower"][cols, k] = ci[j0:, 0]
            out["ci_upper"][cols, k] = ci[j0:, 1]
    return out


def _split_job(raw, seed, penalty, alpha, fit_intercept, standardize, tol, max_iter, alpha_level):
    """One split: select on a random half of every task, OLS on the other half."""
    rng = np.random.default_rng(seed)
    select, _ = draw_halves(raw, rng, 0.5, complementary=False)
    X, y, ptr = _split_design(raw, select)
    problem = make_problem(X, y, ptr, shared=raw.shared, fit_intercept=fit_intercept,
                           standardize=standardize)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # reported through the converged flag
        rec = get_solver(penalty)(problem, penalty, float(alpha), tol=tol, max_iter=max_iter)
    support = np.asarray(penalty.generalized_support(rec.coef), dtype=bool)
    out = _ols_on_support(raw, ~select, support, fit_intercept, alpha_level)
    out["support"] = support
    out["select_mask"] = select
    out["converged"] = bool(rec.converged)
    return out


# ------------------------------------------------------------------------------ results
_LABELS = {
    "split": "sample splitting (one split)",
    "multisplit": "multi-sample splitting, B = {B}",
    "relaxed": "relaxed fit, no valid inference",
}


class RefitResults:
    """Unpenalised refits on a selected support, with the inference the method justifies.

    Attributes
    ----------
    method : {"split", "multisplit", "relaxed"}
    label : str
        The method's name as printed in every table, e.g. ``"multi-sample splitting, B = 50"``.
    params : pandas.DataFrame (p, K)
        Coefficients (features x tasks, original scale): the OLS estimates on the inference half
        ("split"), their median over the splits that selected the pair ("multisplit"), the OLS
        estimates on all rows ("relaxed"); 0 off the support, nan where not identifiable.
    bse, tvalues : pandas.DataFrame (p, K)
        OLS standard errors and t statistics ("split" only; nan otherwise).
    pvalues : pandas.DataFrame (p, K)
        "split": OLS p-values (1 off the support); "multisplit": the aggregated, FWER-adjusted
        p-values; "relaxed": nan.
    pvalues_adjusted : pandas.DataFrame (p, K)
        FWER-adjusted p-values: Bonferroni by the selected set size ("split"), the aggregated
        ones ("multisplit"); nan for "relaxed".
    ci_lower, ci_upper : pandas.DataFrame (p, K)
        Confidence limits at level ``1 - alpha_level`` (nan where none is valid).
    selected : pandas.DataFrame of bool (p, K)
        The support refitted ("split": selected on the first half; "relaxed": the fit's support;
        "multisplit": selected in at least one split).
    selection_frequency : pandas.DataFrame (p, K) or None
        "multisplit": fraction of splits that selected each pair.
    intercepts : pandas.Series (K,)
        OLS intercepts ("split", "relaxed").
    df_resid : pandas.Series (K,)
        Residual degrees of freedom of each task's OLS ("split", "relaxed").
    B : int
        Number of splits (1 for "split", 0 for "relaxed").
    alpha_level : float
    results : MultiTaskResults
        The penalised fit refitted.
    """

    def __init__(self, results, method, *, B, alpha_level, gamma_min, random_state, arrays,
                 select_masks=None, converged=None):
        self.results = results
        self.method = method
        self.B = B
        self.alpha_level = alpha_level
        self.gamma_min = gamma_min
        self.random_state = random_state
        self.label = _LABELS[method].format(B=B)
        self.valid_inference = method != "relaxed"
        design = results.model.design
        self._features = pd.Index(design.feature_names, name="feature")
        tasks = pd.Index(design.tasks)
        self._tasks = tasks.rename(design.task_column or tasks.name or "task")
        frame = self._frame
        self.params = frame(arrays["coef"])
        self.bse = frame(arrays["bse"])
        self.tvalues = frame(arrays["tvalues"])
        self.pvalues = frame(arrays["pvalues"])
        self.pvalues_adjusted = frame(arrays["pvalues_adjusted"])
        self.ci_lower = frame(arrays["ci_lower"])
        self.ci_upper = frame(arrays["ci_upper"])
        self.selected = frame(arrays["selected"]).astype(bool)
        sf = arrays.get("selection_frequency")
        self.selection_frequency = None if sf is None else frame(sf)
        self.intercepts = pd.Series(arrays["intercept"], index=self._tasks, name="intercept")
        self.df_resid = pd.Series(arrays["df_resid"], index=self._tasks, name="df_resid")
        self.identifiable = pd.Series(arrays["ok"], index=self._tasks, name="identifiable")
        self._select_masks = select_masks
        self.converged = converged

    def _frame(self, values) -> pd.DataFrame:
        return pd.DataFrame(np.asarray(values), index=self._features, columns=self._tasks)

    # ------------------------------------------------------------------ rows of the splits
    def selection_rows(self, task, split: int = 0) -> np.ndarray:
        """Positions (0-based, in the input table) of the rows of ``task`` used for selection.

        Parameters
        ----------
        task : label
        split : int, default 0
            Which split (``0 .. B-1``).
        """
        return self._rows(task, split, inference=False)

    def inference_rows(self, task, split: int = 0) -> np.ndarray:
        """Positions (0-based, in the input table) of the rows of ``task`` the OLS was fitted on."""
        return self._rows(task, split, inference=True)

    def _rows(self, task, split, inference):
        design = self.results.model.design
        if self.method == "relaxed":
            mask = np.zeros(design.X.shape[0] if design.shared else len(design.y), dtype=bool)
        else:
            mask = self._select_masks[split]
        if inference:
            mask = ~mask
        k = self._tasks.get_loc(task)
        if design.shared:
            n = design.X.shape[0]
            return np.asarray(design.row_index[:n])[mask]
        a, z = design.task_ptr[k], design.task_ptr[k + 1]
        return np.asarray(design.row_index[a:z])[mask[a:z]]

    # ------------------------------------------------------------------ tables
    def to_frame(self) -> pd.DataFrame:
        """Long table, one row per (feature, task): coef, std_err, t, p_value, p_adjusted,
        ci_lower, ci_upper, selected (and selection_frequency for "multisplit")."""
        p, K = self.params.shape
        cols = {
            "feature": np.repeat(np.asarray(self._features, dtype=object), K),
            "task": np.tile(self._tasks.to_numpy(), p),
            "coef": self.params.to_numpy().reshape(-1),
            "std_err": self.bse.to_numpy().reshape(-1),
            "t": self.tvalues.to_numpy().reshape(-1),
            "p_value": self.pvalues.to_numpy().reshape(-1),
            "p_adjusted": self.pvalues_adjusted.to_numpy().reshape(-1),
            "ci_lower": self.ci_lower.to_numpy().reshape(-1),
            "ci_upper": self.ci_upper.to_numpy().reshape(-1),
            "selected": self.selected.to_numpy().reshape(-1),
        }
        if self.selection_frequency is not None:
            cols["selection_frequency"] = self.selection_frequency.to_numpy().reshape(-1)
        out = pd.DataFrame(cols)
        out.attrs["method"] = self.label
        return out

    def conf_int(self) -> pd.DataFrame:
        """Confidence limits ``[ci_lower, ci_upper]`` per (feature, task), long format."""
        if not self.valid_inference:
            raise ValueError(f"{self.label}: confidence intervals are not available")
        return self.to_frame()[["feature", "task", "ci_lower", "ci_upper"]]

    def significant(self, level=None) -> pd.DataFrame:
        """Pairs whose FWER-adjusted p-value is at most ``level`` (default ``alpha_level``)."""
        if not self.valid_inference:
            raise ValueError(f"{self.label}: there are no valid p-values")
        level = self.alpha_level if level is None else _check_level(level)
        long = self.to_frame()
        out = long[long["p_adjusted"] <= level].sort_values("p_adjusted", kind="stable")
        out = out.reset_index(drop=True)
        out.attrs["method"] = self.label
        return out

    def _header(self) -> list[tuple[str, str]]:
        res = self.results
        m, d = res.model, res.model.design
        pen = m.penalty
        pairs = [("Response:", report.short_list(d.response_names))]
        if d.task_column is not None:
            pairs.append(("Task column:", str(d.task_column)))
        pairs += [
            ("Selection:", report.penalty_description(pen.name, pen.params())),
            ("Alpha:", report.fmt_float(res.alpha)),
            ("Inference:", self.label),
            ("No. tasks:", str(d.n_tasks)),
            ("No. features:", str(d.n_features)),
            ("Pairs selected:", str(int(self.selected.to_numpy().sum()))),
        ]
        if self.valid_inference:
            pairs += [
                ("Significant (FWER):", f"{int((self.pvalues_adjusted.to_numpy() <= self.alpha_level).sum())}"
                 f" at {self.alpha_level:g}"),
                ("CI level:", f"{100 * (1 - self.alpha_level):g}%"),
                ("Random state:", str(self.random_state)),
            ]
        if self.method == "multisplit":
            pairs.append(("gamma_min:", report.fmt_float(self.gamma_min)))
        return pairs

    def _notes(self) -> list[str]:
        lvl = f"{100 * (1 - self.alpha_level):g}%"
        if self.method == "split":
            notes = [
                "p-values by sample splitting (Wasserman & Roeder 2009): the penalised model was "
                "refitted with the same alpha on a random half of every task's rows; OLS "
                "(statsmodels) of each task on its selected features on the other half. "
                "Estimates, standard errors, p-values and the " + lvl + " intervals are valid "
                "for the selected model; p_adj is Bonferroni-adjusted by the number of selected "
                "pairs (FWER over features x tasks); unselected pairs have p = 1.",
            ]
        elif self.method == "multisplit":
            notes = [
                f"p-values by multi-sample splitting, B = {self.B} (Meinshausen, Meier & Bühlmann "
                "2009): per split, OLS p-values on the held-out half, Bonferroni-adjusted by the "
                "number of selected pairs (1 if unselected), aggregated by the adaptive quantile "
                f"rule (gamma_min = {self.gamma_min:g}); family-wise error control over all "
                f"features x tasks. Intervals ({lvl}) invert the aggregated test; coef is the "
                "median OLS estimate over the splits selecting the pair; 'sel' the fraction of "
                "splits selecting it. No single standard error exists.",
            ]
        else:
            notes = [
                "Relaxed fit: OLS of each task on the support of the penalised fit, on the same "
                "rows that selected it. For prediction only: standard errors, confidence "
                "intervals and p-values would ignore the selection and are not reported; use "
                "method='split' or 'multisplit' for inference.",
            ]
        if not self.identifiable.all():
            bad = list(self.identifiable.index[~self.identifiable.to_numpy()])
            notes.append(f"OLS not identifiable (more selected features than rows, or collinear) "
                         f"for task(s) {report.short_list(bad)}: no estimates, p = 1.")
        if self.converged is not None and not np.all(self.converged):
            notes.append(f"Warning: {int(np.size(self.converged) - np.sum(self.converged))} "
                         "penalised selection fit(s) did not meet the solver's tolerance.")
        return notes

    def _table(self, max_rows: int) -> tuple[pd.DataFrame, int]:
        long = self.to_frame()
        long = long[long["selected"].to_numpy()]
        if self.valid_inference:
            long = long.sort_values(["p_adjusted", "p_value"], kind="stable")
        n_all = len(long)
        long = long.iloc[:max_rows]
        f = report.fmt_float
        lvl = self.alpha_level
        ci_names = (f"[{lvl / 2:g}", f"{1 - lvl / 2:g}]")
        cells = {"feature": [str(v) for v in long["feature"]],
                 "task": [str(v) for v in long["task"]],
                 "coef": [f(v) for v in long["coef"]]}
        if self.method == "split":
            cells["std err"] = [f(v) for v in long["std_err"]]
            cells["t"] = [f(v, "%.3f") for v in long["t"]]
            cells["P>|t|"] = [f(v, "%.4f") for v in long["p_value"]]
            cells["p_adj"] = [f(v, "%.4f") for v in long["p_adjusted"]]
        elif self.method == "multisplit":
            cells["sel"] = [f(v, "%.2f") for v in long["selection_frequency"]]
            cells["P (aggr.)"] = [f(v, "%.4f") for v in long["p_adjusted"]]
        if self.valid_inference:
            cells[ci_names[0]] = [f(v) for v in long["ci_lower"]]
            cells[ci_names[1]] = [f(v) for v in long["ci_upper"]]
        return pd.DataFrame(cells), n_all

    def summary(self, max_rows: int = 50):
        """A statsmodels-style summary naming the method in its title, header and notes.

        Parameters
        ----------
        max_rows : int, default 50
            Most (feature, task) rows listed (smallest adjusted p-values first).

        Returns
        -------
        mtreg.report.MultiTaskSummary
            A :class:`statsmodels.iolib.summary2.Summary` (``as_text``, ``as_html``,
            ``as_latex``).
        """
        smry = report.MultiTaskSummary()
        smry.add_title(f"Post-selection refit: {self.label}")
        smry.add_array(report.pairs_to_array(self._header()), align="l")
        table, n_all = self._table(max_rows)
        if len(table):
            smry.add_df(table, index=False, header=True, align="ll" + "r" * (table.shape[1] - 2))
        notes = self._notes()
        if n_all > max_rows:
            notes.insert(0, f"{n_all - max_rows} more selected pairs not shown (to_frame() has all).")
        if not len(table):
            notes.insert(0, "No (feature, task) pair was selected.")
        for note in notes:
            smry.add_text(note)
        return smry

    def __str__(self) -> str:
        return self.summary().as_text()

    def __repr__(self) -> str:
        extra = ""
        if self.valid_inference:
            n = int((self.pvalues_adjusted.to_numpy() <= self.alpha_level).sum())
            extra = f", {n} significant at FWER {self.alpha_level:g}"
        return (f"<RefitResults: {self.label}; {int(self.selected.to_numpy().sum())} pairs "
                f"selected{extra}>")

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    def to_latex(self, label: str = "") -> str:
        """The summary as a LaTeX ``table``."""
        return self.summary().as_latex(label=label)


def _check_level(value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value < 1:
        raise ValueError(f"level must be a number in (0, 1), got {value!r}")
    return float(value)


# ------------------------------------------------------------------------------ entry point
def refit(results, method="split", *, B=50, random_state=0, alpha_level=0.05, gamma_min=0.05,
          n_jobs=None, tol=None, max_iter=None) -> RefitResults:
    """Unpenalised refit of a penalised multi-task fit, with post-selection inference.

    Parameters
    ----------
    results : MultiTaskResults
        A penalised fit; its model (design, penalty, intercept and scaling choices) and alpha are
        reused for the selection step.
    method : {"split", "multisplit", "relaxed"}
        See :mod:`mtreg.inference`: one sample split, ``B`` splits with aggregated p-values
        (Meinshausen, Meier & Bühlmann 2009), or OLS on the fit's support (no inference).
    B : int, default 50
        Number of splits for ``"multisplit"``.
    random_state : int, default 0
        Seed of the :class:`numpy.random.SeedSequence` whose children draw the splits (split b
        is the same for "split" and for the first split of "multisplit").
    alpha_level : float in (0, 1), default 0.05
        ``1 - alpha_level`` confidence intervals; the FWER level of :meth:`RefitResults.significant`.
    gamma_min : float in (0, 1), default 0.05
        Smallest quantile level of the aggregation ("multisplit").
    n_jobs : int, optional
        Splits run in parallel through joblib; results do not depend on it.
    tol, max_iter : optional
        Of the penalised selection fits (default: those of ``results``).

    Returns
    -------
    RefitResults
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; available: {', '.join(METHODS)}")
    alpha_level = _check_level(alpha_level)
    gamma_min = _check_level(gamma_min)
    model = results.model
    design = model.design
    raw = _RawDesign.of(design)
    const = bool(model.fit_intercept)
    common = {"B": 0, "alpha_level": alpha_level, "gamma_min": gamma_min,
              "random_state": random_state}
    if method == "relaxed":
        support = np.asarray(model.penalty.generalized_support(results.params.to_numpy()), dtype=bool)
        full = np.ones(raw.n_rows, dtype=bool)
        arrays = _ols_on_support(raw, full, support, const, alpha_level, with_se=False)
        nan = np.full(support.shape, np.nan)
        arrays.update(pvalues=nan, pvalues_adjusted=nan, selected=support)
        return RefitResults(results, method, arrays=arrays, **common)

    tol = getattr(model, "tol", 1e-6) if tol is None else _check_positive_number("tol", tol, allow_zero=False)
    max_iter = getattr(model, "max_iter", 10_000) if max_iter is None else _check_int("max_iter", max_iter)
    n_splits = 1 if method == "split" else _check_int("B", B, minimum=2)
    _check_subsample_sizes(design, 0.5, advice="every half of a split needs 2 rows of every task; "
                           "drop the small tasks or use method='relaxed'")
    if method == "multisplit":
        _gamma_grid(n_splits, gamma_min)
    seeds = np.random.SeedSequence(random_state).spawn(n_splits)
    jobs = (delayed(_split_job)(raw, seed, model.penalty, results.alpha, model.fit_intercept,
                                model.standardize, tol, max_iter, alpha_level) for seed in seeds)
    splits = Parallel(n_jobs=n_jobs)(jobs)
    masks = np.stack([s["select_mask"] for s in splits])
    converged = np.array([s["converged"] for s in splits])
    common["B"] = n_splits
    if method == "split":
        arrays = dict(splits[0])
        n_sel = max(int(arrays["support"].sum()), 1)
        arrays["pvalues_adjusted"] = np.minimum(1.0, arrays["pvalues"] * n_sel)
        arrays["selected"] = arrays["support"]
        return RefitResults(results, method, arrays=arrays, select_masks=masks, converged=converged,
                            **common)

    # multisplit
    stack = {key: np.stack([s[key] for s in splits]) for key in
             ("coef", "bse", "pvalues", "support", "df_resid", "ok")}
    support = stack["support"]                                        # (B, p, K)
    usable = support & stack["ok"][:, None, :]
    n_sel = support.reshape(n_splits, -1).sum(axis=1).astype(np.float64)   # |S_b|
    P = np.where(usable, np.minimum(1.0, stack["pvalues"] * n_sel[:, None, None]), 1.0)
    p_aggr = aggregate_pvalues(P, gamma_min)
    p, K = support.shape[1:]
    df = np.broadcast_to(stack["df_resid"][:, None, :], support.shape)
    lo, hi = _multisplit_ci(stack["coef"].reshape(n_splits, -1), stack["bse"].reshape(n_splits, -1),
                            df.reshape(n_splits, -1), usable.reshape(n_splits, -1), n_sel,
                            alpha_level, gamma_min)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-nan slices: never selected
        coef = np.nanmedian(np.where(usable, stack["coef"], np.nan), axis=0)
    coef = np.where(usable.any(axis=0), coef, 0.0)
    nan = np.full((p, K), np.nan)
    arrays = {"coef": coef, "bse": nan, "tvalues": nan, "pvalues": p_aggr, "pvalues_adjusted": p_aggr,
              "ci_lower": lo.reshape(p, K), "ci_upper": hi.reshape(p, K),
              "selected": support.any(axis=0), "selection_frequency": support.mean(axis=0),
              "intercept": np.full(K, np.nan), "df_resid": np.full(K, np.nan),
              "ok": stack["ok"].all(axis=0)}
    return RefitResults(results, method, arrays=arrays, select_masks=masks, converged=converged,
                        **common)
