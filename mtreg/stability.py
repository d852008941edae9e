"""Stability selection (Meinshausen & Bühlmann 2010) with complementary pairs (Shah & Samworth 2013).

The model is refitted along a grid of alphas on many subsamples of the rows, drawn *within each
task* (task k keeps ``floor(sample_fraction * n_k)`` of its rows; a shared design keeps that many
of its rows for every task). The selection frequency of a unit is the fraction of subsamples in
which the penalised fit selects it; its *stability* is the largest frequency over the grid::

    Pi_hat[u, l] = (1 / S) sum_s 1{u selected on subsample s at alphas[l]}
    stability[u] = max_l Pi_hat[u, l]

and the stable set at ``threshold`` (pi_thr in (1/2, 1]) is ``{u : stability[u] >= pi_thr}``.
Two kinds of unit are counted, each with its own bound: the (feature, task) entries of W
(``p_total = p * K``) and the feature rows of W (a feature is selected when any task selects it,
``p_total = p``), the natural unit of group penalties.

Error control. With ``q`` the average over subsamples of the number of units selected anywhere on
the grid (the size of the union of the selected sets over the alphas), the bound printed next to
each stable set is Meinshausen & Bühlmann's (2010, Theorem 1)::

    E[V] <= q^2 / ((2 * pi_thr - 1) * p_total)

V being the number of falsely selected units. It assumes the noise units are exchangeable and the
procedure no worse than random guessing. With complementary pairs (each subsample and its
disjoint complement of the same size), Shah & Samworth (2013, Theorem 1 with theta = q / p_total)
show that the same number bounds, without those assumptions, the expected number of selected
units whose selection probability (on half the data) is at most ``q / p_total``. We report this
one bound; Shah & Samworth's tighter bounds under unimodality are not used (so ours is
conservative).

When the solver record carries a task-membership matrix (``record.extra["U"]``, e.g. SG-MTL), the
co-clustering frequency of two tasks -- how often they land in the same argmax cluster -- is
computed at every alpha too.

Subsamples run through joblib (``n_jobs``; a Dask cluster inside
``with joblib.parallel_backend("dask"):``). Every subsample pair draws its rows from its own child
of one :class:`numpy.random.SeedSequence`, so the results do not depend on ``n_jobs``.
"""
from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from patsy import EvalEnvironment

from . import report
from .cv import _split_design
from .model import MultiTaskModel, _check_int, _check_positive_number
from .path import _check_alphas, alpha_grid
from .solvers import get_solver, make_problem

__all__ = ["StabilityResults", "stability", "stability_model", "pfer_bound"]

#: default smallest alpha of the grid, as a fraction of alpha_max: stability selection wants the
#: sparse end of the path (a dense end inflates q and makes the bound useless)
DEFAULT_ALPHA_MIN_RATIO = 0.05
#: stability selection needs the support, not six digits: the default duality-gap tolerance
DEFAULT_TOL = 1e-4

_BOUND_NAME = "Meinshausen-Bühlmann q^2 / ((2 pi_thr - 1) p)"
_LEVELS = ("feature", "entry")


def pfer_bound(q: float, threshold: float, p_total: int) -> float:
    """Meinshausen & Bühlmann's bound on the expected number of false selections.

    Parameters
    ----------
    q : float
        Average number of units selected per subsample (union over the alpha grid).
    threshold : float in (1/2, 1]
        Selection-frequency threshold pi_thr.
    p_total : int
        Number of units that can be selected.

    Returns
    -------
    float
        ``q**2 / ((2 * threshold - 1) * p_total)``.
    """
    return float(q) ** 2 / ((2.0 * threshold - 1.0) * p_total)


def _check_threshold(threshold) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real):
        raise TypeError(f"threshold must be a number in (0.5, 1], got {threshold!r}")
    threshold = float(threshold)
    if not 0.5 < threshold <= 1.0:
        raise ValueError(f"threshold must lie in (0.5, 1] (the PFER bound needs pi_thr > 1/2), "
                         f"got {threshold!r}")
    return threshold


def _check_level(level) -> str:
    if level not in _LEVELS:
        raise ValueError(f"level must be one of {', '.join(map(repr, _LEVELS))}, got {level!r}")
    return level


# ------------------------------------------------------------------------------ resampling
@dataclass
class _RawDesign:
    """The numeric part of a TaskDesign (what workers need; patsy objects do not pickle)."""

    X: object
    y: np.ndarray
    task_ptr: np.ndarray
    shared: bool
    family: str = "gaussian"

    @property
    def n_tasks(self) -> int:
        return len(self.task_ptr) - 1

    @property
    def n_rows(self) -> int:
        """Length of a row mask: stacked rows, or the rows of the one shared X."""
        return self.X.shape[0]

    @classmethod
    def of(cls, design, family: str = "gaussian") -> _RawDesign:
        return cls(design.X, design.y, design.task_ptr, design.shared, family)


def _block_sizes(raw: _RawDesign) -> list[tuple[int, int]]:
    """(start, length) of each block of rows drawn from independently (tasks; one if shared)."""
    if raw.shared:
        return [(0, raw.X.shape[0])]
    ptr = raw.task_ptr
    return [(int(a), int(z - a)) for a, z in zip(ptr[:-1], ptr[1:], strict=True)]


def draw_halves(raw: _RawDesign, rng: np.random.Generator, size_fraction: float,
                complementary: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Row masks of a subsample (and its complement) drawn within every task.

    Task k (or the shared X) keeps ``m_k = floor(size_fraction * n_k)`` rows, drawn without
    replacement; with ``complementary`` the second mask holds ``m_k`` other rows of the task,
    disjoint from the first (its complement when ``size_fraction = 1/2`` and n_k is even).

    Returns
    -------
    first, second : ndarray of bool, shape (n_rows,)
        ``second`` is None unless ``complementary``.
    """
    first = np.zeros(raw.n_rows, dtype=bool)
    second = np.zeros(raw.n_rows, dtype=bool) if complementary else None
    for start, n in _block_sizes(raw):
        m = int(np.floor(size_fraction * n))
        perm = rng.permutation(n)
        first[start + perm[:m]] = True
        if complementary:
            second[start + perm[m:2 * m]] = True
    return first, second


def _check_subsample_sizes(design, sample_fraction: float, minimum: int = 2,
                           advice: str = "increase sample_fraction or drop small tasks") -> None:
    sizes = _block_sizes(_RawDesign.of(design))
    small = [(design.tasks[i] if not design.shared else "all tasks (shared X)", n)
             for i, (_, n) in enumerate(sizes) if np.floor(sample_fraction * n) < minimum]
    if small:
        label, n = small[0]
        raise ValueError(
            f"sample_fraction={sample_fraction:g} leaves fewer than {minimum} rows of task "
            f"{label!r} ({n} rows) in a subsample; {advice}"
            + (f" ({len(small)} tasks are affected)" if len(small) > 1 else ""))


# ------------------------------------------------------------------------------ one subsample
def _memberships(U: np.ndarray, K: int) -> np.ndarray | None:
    """argmax cluster of every task from a membership matrix (groups x tasks or tasks x groups)."""
    U = np.asarray(U)
    if U.ndim != 2:
        return None
    if U.shape[1] == K:
        return np.argmax(U, axis=0)
    if U.shape[0] == K:
        return np.argmax(U, axis=1)
    return None


def _select_path(raw: _RawDesign, mask: np.ndarray, penalty, alphas, fit_intercept, standardize,
                 tol, max_iter):
    """Fit the path on the rows in ``mask``; supports (p, K, L), co-clustering, convergence."""
    X, y, ptr = _split_design(raw, mask)
    build = make_problem
    if raw.family == "binomial":
        from .solvers.logistic import make_logistic_problem as build
    problem = build(X, y, ptr, shared=raw.shared, fit_intercept=fit_intercept, standardize=standardize)
    solve = get_solver(penalty)
    p, K, L = problem.n_features, problem.n_tasks, len(alphas)
    support = np.zeros((p, K, L), dtype=bool)
    same = None
    converged = np.zeros(L, dtype=bool)
    W = None
    # like mtreg.path.fit_path, but keeping each record's extra (the task memberships)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # non-convergence is counted and reported instead
        for i, alpha in enumerate(alphas):
            rec = solve(problem, penalty, float(alpha), tol=tol, max_iter=max_iter, coef_init=W)
            support[:, :, i] = penalty.generalized_support(rec.coef)
            converged[i] = bool(rec.converged)
            U = (rec.extra or {}).get("U")
            labels = None if U is None else _memberships(U, K)
            if labels is not None:
                if same is None:
                    same = np.zeros((K, K, L), dtype=bool)
                same[:, :, i] = labels[:, None] == labels[None, :]
            W = rec.coef
    return support, same, converged


@dataclass
class _Counts:
    """Selection counts summed over subsamples (what the results need; supports are not kept).

    ``entries`` (p, K, L), ``rows`` (p, L), ``q_entries`` / ``q_features`` (L,) the summed sizes
    of the union of the selected sets over ``alphas[:l + 1]``, ``same`` (K, K, L) or None,
    ``converged`` (L,), ``n`` subsamples.
    """

    entries: np.ndarray
    rows: np.ndarray
    q_entries: np.ndarray
    q_features: np.ndarray
    same: np.ndarray | None
    converged: np.ndarray
    n: int

    @classmethod
    def of(cls, support, same, converged) -> _Counts:
        rows = support.any(axis=1)                                       # (p, L)
        return cls(entries=support.astype(np.int64), rows=rows.astype(np.int64),
                   q_entries=np.logical_or.accumulate(support, axis=2).sum(axis=(0, 1)),
                   q_features=np.logical_or.accumulate(rows, axis=1).sum(axis=0),
                   same=None if same is None else same.astype(np.int64),
                   converged=converged.astype(np.int64), n=1)

    def __add__(self, other: _Counts) -> _Counts:
        same = None if self.same is None or other.same is None else self.same + other.same
        return _Counts(self.entries + other.entries, self.rows + other.rows,
                       self.q_entries + other.q_entries, self.q_features + other.q_features,
                       same, self.converged + other.converged, self.n + other.n)


def _subsample_job(raw, seed, sample_fraction, complementary, penalty, alphas, fit_intercept,
                   standardize, tol, max_iter) -> _Counts:
    """One subsample (or complementary pair), as selection counts."""
    rng = np.random.default_rng(seed)
    first, second = draw_halves(raw, rng, sample_fraction, complementary)
    masks = [first] if second is None else [first, second]
    counts = [_Counts.of(*_select_path(raw, m, penalty, alphas, fit_intercept, standardize, tol,
                                       max_iter)) for m in masks]
    return counts[0] if len(counts) == 1 else counts[0] + counts[1]


# ------------------------------------------------------------------------------ results
class StabilityResults:
    """Selection frequencies along an alpha grid, the stable sets and their error bounds.

    Attributes
    ----------
    alphas : ndarray of shape (L,)
        The grid (decreasing).
    frequencies : ndarray of shape (p, K, L)
        Selection frequency of every (feature, task) entry at every alpha.
    feature_frequencies : ndarray of shape (p, L)
        Frequency with which every feature row is selected (by at least one task).
    max_frequency : pandas.DataFrame of shape (p, K)
        Stability of every entry: its largest frequency over the grid.
    max_feature_frequency : pandas.Series of length p
        Stability of every feature row.
    q_entries, q_features : float
        Average number of entries / feature rows selected per subsample (union over the grid).
    threshold : float
        pi_thr of the stable sets.
    coclustering_path : ndarray of shape (K, K, L) or None
        How often two tasks land in the same argmax cluster, at every alpha (only when the solver
        reports task memberships ``record.extra["U"]``).
    n_subsamples : int
        Subsamples fitted (2 per complementary pair).
    converged : ndarray of shape (L,)
        Fraction of subsample fits that met the solver's stopping certificate, per alpha.
    model : MultiTaskModel
    """

    def __init__(self, model, alphas, counts: _Counts, *, threshold, sample_fraction,
                 complementary_pairs, random_state, alpha_max, tol):
        design = model.design
        self.model = model
        self.alphas = np.asarray(alphas)
        self.alpha_max = alpha_max
        self.tol = tol
        self.sample_fraction = sample_fraction
        self.complementary_pairs = complementary_pairs
        self.random_state = random_state
        self.threshold = _check_threshold(threshold)
        S = counts.n
        self.n_subsamples = S
        self.frequencies = counts.entries / S
        self.feature_frequencies = counts.rows / S
        # q of every prefix alphas[:l + 1] of the grid: the average size of the union
        self._q_entries_prefix = counts.q_entries / S
        self._q_features_prefix = counts.q_features / S
        self.converged = counts.converged / S
        self.coclustering_path = None if counts.same is None else counts.same / S
        self._features = pd.Index(design.feature_names, name="feature")
        tasks = pd.Index(design.tasks)
        self._tasks = tasks.rename(design.task_column or tasks.name or "task")

    # ------------------------------------------------------------------ core quantities
    @property
    def p_entries(self) -> int:
        """Number of (feature, task) entries: p * K."""
        return self.frequencies.shape[0] * self.frequencies.shape[1]

    @property
    def p_features(self) -> int:
        return self.frequencies.shape[0]

    @property
    def q_entries(self) -> float:
        return float(self._q_entries_prefix[-1])

    @property
    def q_features(self) -> float:
        return float(self._q_features_prefix[-1])

    @property
    def max_frequency(self) -> pd.DataFrame:
        return pd.DataFrame(self.frequencies.max(axis=2), index=self._features,
                            columns=self._tasks)

    @property
    def max_feature_frequency(self) -> pd.Series:
        return pd.Series(self.feature_frequencies.max(axis=1), index=self._features,
                         name="stability")

    @property
    def default_level(self) -> str:
        """``"entry"`` for element-wise penalties (lasso), ``"feature"`` for row-wise ones."""
        return "entry" if getattr(self.model.penalty, "kernel", None) == "l1" else "feature"

    def _threshold(self, threshold):
        return self.threshold if threshold is None else _check_threshold(threshold)

    def pfer(self, threshold=None, level="feature") -> float:
        """The bound on the expected number of false selections at ``threshold`` (see module doc).

        Parameters
        ----------
        threshold : float in (1/2, 1], optional
            Default: :attr:`threshold`.
        level : {"feature", "entry"}
            Feature rows (``p_total = p``) or (feature, task) entries (``p_total = p * K``).

        Returns
        -------
        float
        """
        level = _check_level(level)
        if level == "feature":
            return pfer_bound(self.q_features, self._threshold(threshold), self.p_features)
        return pfer_bound(self.q_entries, self._threshold(threshold), self.p_entries)

    def threshold_for(self, pfer: float, level="feature") -> float:
        """The smallest threshold whose bound is at most ``pfer`` (may exceed 1: unattainable).

        ``pi_thr = (1 + q^2 / (p_total * pfer)) / 2``.
        """
        level = _check_level(level)
        pfer = _check_positive_number("pfer", pfer, allow_zero=False)
        q, pt = ((self.q_features, self.p_features) if level == "feature"
                 else (self.q_entries, self.p_entries))
        return 0.5 * (1.0 + q**2 / (pt * pfer))

    @property
    def stable(self) -> pd.DataFrame:
        """(feature, task) entries whose stability reaches :attr:`threshold`, bool (p, K)."""
        return self.max_frequency >= self.threshold

    @property
    def stable_features(self) -> list[str]:
        """Feature rows whose stability reaches :attr:`threshold`, most stable first."""
        s = self.max_feature_frequency
        s = s[s >= self.threshold].sort_values(ascending=False, kind="stable")
        return list(s.index)

    def stable_set(self, threshold=None, level="feature"):
        """The stable set at ``threshold``.

        Parameters
        ----------
        threshold : float in (1/2, 1], optional
            Default: :attr:`threshold`.
        level : {"feature", "entry"}

        Returns
        -------
        pandas.Series (level="feature", indexed by feature) or DataFrame (level="entry": columns
        ``feature, task, stability``), the stable units with their stability, most stable first.
        """
        level = _check_level(level)
        thr = self._threshold(threshold)
        if level == "feature":
            s = self.max_feature_frequency
            return s[s >= thr].sort_values(ascending=False, kind="stable")
        long = self.to_frame()
        return long[long["stability"] >= thr].sort_values(
            "stability", ascending=False, kind="stable").reset_index(drop=True)

    def bound_path(self, threshold=None) -> pd.DataFrame:
        """q and the bound when the grid is cut after each alpha (``alphas[:l + 1]``).

        Useful to pick a grid with a bound one accepts (stability selection wants the sparse end
        of the path). Columns: ``alpha, q_features, pfer_features, q_entries, pfer_entries``.
        """
        thr = self._threshold(threshold)
        return pd.DataFrame({
            "alpha": self.alphas,
            "q_features": self._q_features_prefix,
            "pfer_features": [pfer_bound(q, thr, self.p_features) for q in self._q_features_prefix],
            "q_entries": self._q_entries_prefix,
            "pfer_entries": [pfer_bound(q, thr, self.p_entries) for q in self._q_entries_prefix],
        })

    def coclustering(self, alpha=None) -> pd.DataFrame | None:
        """Co-clustering frequencies of the tasks (K x K), or None without task memberships.

        Parameters
        ----------
        alpha : float, optional
            A value of the grid; by default the average over the grid.
        """
        if self.coclustering_path is None:
            return None
        if alpha is None:
            C = self.coclustering_path.mean(axis=2)
        else:
            hit = np.flatnonzero(np.isclose(self.alphas, alpha, rtol=1e-10, atol=0))
            if hit.size == 0:
                raise ValueError(f"alpha={alpha!r} is not on the grid")
            C = self.coclustering_path[:, :, hit[0]]
        return pd.DataFrame(C, index=self._tasks, columns=self._tasks)

    @property
    def row_wise(self) -> bool:
        """Whether every subsample fit selected whole feature rows (group penalties): then the
        entry frequencies repeat the feature frequencies and the entry bound adds nothing."""
        return bool(np.array_equal(self.frequencies,
                                   np.broadcast_to(self.feature_frequencies[:, None, :],
                                                   self.frequencies.shape)))

    def truncate(self, pfer=None, alpha_min=None, level="feature") -> StabilityResults:
        """The results on the sparse end of the grid, ``alphas >= cut-off``.

        Stability selection wants a grid on which few units are selected (M&B choose the grid
        so that q is small); this cuts the grid after the fact, from what was computed.

        Parameters
        ----------
        pfer : float, optional
            Keep the longest prefix of the grid whose bound at :attr:`threshold` is at most
            ``pfer`` (q estimated by the subsample average on that prefix).
        alpha_min : float, optional
            Keep the alphas >= ``alpha_min``. Give ``pfer`` or ``alpha_min``.
        level : {"feature", "entry"}
            The units whose bound ``pfer`` refers to.

        Returns
        -------
        StabilityResults
        """
        level = _check_level(level)
        if (pfer is None) == (alpha_min is None):
            raise ValueError("give pfer or alpha_min (one of them)")
        if pfer is not None:
            pfer = _check_positive_number("pfer", pfer, allow_zero=False)
            col = "pfer_features" if level == "feature" else "pfer_entries"
            ok = self.bound_path()[col].to_numpy() <= pfer
            n_keep = int(np.argmin(ok)) if not ok.all() else len(ok)
            if n_keep == 0:
                raise ValueError(f"no prefix of the grid has a bound <= {pfer:g} at pi_thr="
                                 f"{self.threshold:g} (at alphas[0]: "
                                 f"{self.bound_path()[col].iloc[0]:.3g}); raise the threshold "
                                 "or start the grid at a larger alpha")
        else:
            n_keep = int((self.alphas >= alpha_min).sum())
            if n_keep == 0:
                raise ValueError(f"alpha_min={alpha_min!r} is above the whole grid")
        out = object.__new__(type(self))
        out.__dict__.update(self.__dict__)
        sl = slice(0, n_keep)
        out.alphas = self.alphas[sl]
        out.frequencies = self.frequencies[:, :, sl]
        out.feature_frequencies = self.feature_frequencies[:, sl]
        out._q_entries_prefix = self._q_entries_prefix[sl]
        out._q_features_prefix = self._q_features_prefix[sl]
        out.converged = self.converged[sl]
        if self.coclustering_path is not None:
            out.coclustering_path = self.coclustering_path[:, :, sl]
        return out

    def to_frame(self) -> pd.DataFrame:
        """Long table: ``feature, task, stability, stable`` (p * K rows)."""
        M = self.max_frequency
        p, K = M.shape
        return pd.DataFrame({
            "feature": np.repeat(np.asarray(self._features, dtype=object), K),
            "task": np.tile(self._tasks.to_numpy(), p),
            "stability": M.to_numpy().reshape(-1),
            "stable": (M.to_numpy() >= self.threshold).reshape(-1),
        })

    def feature_table(self) -> pd.DataFrame:
        """Per feature: its stability, the alpha of its largest frequency, the number of tasks in
        which it is stable, and whether it is stable; most stable first."""
        ff = self.feature_frequencies
        out = pd.DataFrame({
            "stability": ff.max(axis=1),
            "alpha_at_max": self.alphas[np.argmax(ff, axis=1)],
            "n_tasks_stable": self.stable.to_numpy().sum(axis=1),
            "stable": ff.max(axis=1) >= self.threshold,
        }, index=self._features)
        return out.sort_values("stability", ascending=False, kind="stable")

    # ------------------------------------------------------------------ reports
    def _method_line(self) -> str:
        pairs = (f"{self.n_subsamples // 2} complementary pairs" if self.complementary_pairs
                 else f"{self.n_subsamples} subsamples")
        return (f"Stability selection (Meinshausen & Bühlmann 2010"
                f"{'; complementary pairs, Shah & Samworth 2013' if self.complementary_pairs else ''}"
                f"): {pairs} of {self.sample_fraction:g} of every task's rows, "
                f"max over {len(self.alphas)} alphas")

    def _header(self) -> list[tuple[str, str]]:
        m, d = self.model, self.model.design
        pen = m.penalty
        fmt = report.fmt_float
        pairs = [("Response:", report.short_list(d.response_names))]
        if d.task_column is not None:
            pairs.append(("Task column:", str(d.task_column)))
        pairs += [
            ("Penalty:", report.penalty_description(pen.name, pen.params())),
            ("No. tasks:", str(d.n_tasks)),
            ("No. features:", str(d.n_features)),
            ("Subsamples:", str(self.n_subsamples)),
            ("Complementary pairs:", report.fmt_value(self.complementary_pairs)),
            ("Sample fraction:", fmt(self.sample_fraction)),
            ("Alphas:", f"{len(self.alphas)}, {fmt(self.alphas.min())} .. {fmt(self.alphas.max())}"),
            ("Alpha min / alpha_max:", fmt(self.alphas.min() / self.alpha_max)
             if self.alpha_max and np.isfinite(self.alpha_max) else "n/a"),
            ("Threshold (pi_thr):", fmt(self.threshold)),
            ("Stable features:", f"{len(self.stable_features)} of {self.p_features}"),
            ("q (features):", fmt(self.q_features, "%.3g")),
            ("E[V] bound (features):", fmt(self.pfer(level="feature"), "%.3g")),
        ]
        if not self.row_wise:
            pairs += [
                ("Stable entries:", f"{int(self.stable.to_numpy().sum())} of {self.p_entries}"),
                ("q (entries):", fmt(self.q_entries, "%.3g")),
                ("E[V] bound (entries):", fmt(self.pfer(level="entry"), "%.3g")),
            ]
        pairs.append(("Random state:", str(self.random_state)))
        return pairs

    def _notes(self) -> list[str]:
        notes = [
            self._method_line() + ".",
            f"Bound on the expected number of false selections E[V]: {_BOUND_NAME} (Meinshausen & "
            "Bühlmann 2010, Theorem 1; q = average number selected per subsample over the grid, "
            "p = features or features x tasks)."
            + (" With complementary pairs the same number bounds the expected number of selected "
               "units of selection probability <= q/p without exchangeability (Shah & Samworth "
               "2013, Theorem 1)." if self.complementary_pairs else ""),
            "Stability = largest selection frequency over the alpha grid; a feature row is "
            "selected when any task selects it.",
        ]
        if self.complementary_pairs and self.sample_fraction != 0.5:
            notes.append(f"The bounds are derived for subsamples of half the rows; this run used "
                         f"{self.sample_fraction:g}.")
        bad = 1.0 - float(self.converged.min())
        if bad > 0:
            notes.append(f"Warning: up to {100 * bad:.3g}% of the subsample fits at one alpha did "
                         f"not meet the solver's tolerance (tol={self.tol:g}).")
        if self.coclustering_path is not None:
            notes.append("Task co-clustering frequencies (same argmax cluster of record.extra['U']), "
                         "averaged over the grid: .coclustering(), .plot_coclustering().")
        return notes

    def summary(self, max_rows: int = 30, max_columns: int = report.MAX_TASK_COLUMNS):
        """A statsmodels-style summary: header, feature table, entry stabilities, the bounds.

        Parameters
        ----------
        max_rows : int, default 30
            Most features listed (the most stable first).
        max_columns : int, default 12
            Most task columns per block of the entry table.

        Returns
        -------
        mtreg.report.MultiTaskSummary
            A :class:`statsmodels.iolib.summary2.Summary` (``as_text``, ``as_html``,
            ``as_latex``).
        """
        smry = report.MultiTaskSummary()
        smry.add_title(f"Stability selection: multi-task {report.penalty_label(self.model.penalty.name)}")
        smry.add_array(report.pairs_to_array(self._header()), align="l")
        ft = self.feature_table()
        shown = ft.iloc[:max_rows]
        cells = pd.DataFrame({
            "feature": [str(f) for f in shown.index],
            "stability": [f"{v:.2f}" for v in shown["stability"]],
            "alpha at max": [report.fmt_float(v) for v in shown["alpha_at_max"]],
            "tasks stable": [str(int(v)) for v in shown["n_tasks_stable"]],
            "stable": ["*" if v else "" for v in shown["stable"]],
        })
        smry.add_df(cells, index=False, header=True, align="lrrrr")
        M = self.max_frequency.loc[shown.index]
        tasks = [str(t) for t in self._tasks]
        blocks = [] if self.row_wise else report.column_blocks(len(tasks), max_columns)
        for sl in blocks:
            vals = M.to_numpy()[:, sl]
            stab = vals >= self.threshold
            block = pd.DataFrame(
                np.where(stab, np.char.add(np.char.mod("%.2f", vals), "*"),
                         np.char.mod("%.2f", vals)).astype(object),
                columns=tasks[sl])
            name = ("stability" if len(blocks) == 1
                    else f"tasks {sl.start + 1}-{sl.stop} of {len(tasks)}")
            block.insert(0, name, [str(f) for f in shown.index])
            smry.add_df(block, index=False, header=True, align="l" + "r" * (block.shape[1] - 1))
        notes = self._notes()
        if len(ft) > max_rows:
            notes.insert(0, f"{len(ft) - max_rows} less stable features not shown.")
        if self.row_wise:
            notes.append("Every fit selected whole feature rows: the stability of each (feature, "
                         "task) entry equals its feature's (see .max_frequency).")
        else:
            notes.append("'*' marks stability >= pi_thr.")
        for note in notes:
            smry.add_text(note)
        return smry

    def __str__(self) -> str:
        return self.summary().as_text()

    def __repr__(self) -> str:
        return (f"<StabilityResults: {self.model.penalty.name}, {self.n_subsamples} subsamples, "
                f"{len(self.alphas)} alphas, {len(self.stable_features)} stable features at "
                f"pi_thr={self.threshold:g} (E[V] <= {self.pfer():.3g})>")

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    # ------------------------------------------------------------------ plots
    def plot(self, level=None, task=None, ax=None, label=True):
        """Stability paths: selection frequency against alpha, stable units highlighted.

        Parameters
        ----------
        level : {"feature", "entry"}, optional
            Feature rows (one line per feature) or entries (one line per (feature, task), or per
            feature of ``task``). Default: :attr:`default_level`.
        task : label, optional
            With ``level="entry"``, draw the entries of this task only.
        ax : matplotlib Axes, optional
        label : bool, default True
            Name the stable lines in a legend.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        level = _check_level(level or self.default_level)
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4.5))
        if level == "feature":
            F = self.feature_frequencies
            names = [str(f) for f in self._features]
        elif task is not None:
            k = self._tasks.get_loc(task)
            F = self.frequencies[:, k, :]
            names = [str(f) for f in self._features]
        else:
            p, K, L = self.frequencies.shape
            F = self.frequencies.reshape(p * K, L)
            names = [f"{f} | {t}" for f in self._features for t in self._tasks]
        stable = F.max(axis=1) >= self.threshold
        x = self.alphas
        for i in np.flatnonzero(~stable):
            ax.plot(x, F[i], color="0.7", lw=0.8, zorder=1)
        colors = plt.get_cmap("tab10")
        for n, i in enumerate(np.flatnonzero(stable)):
            ax.plot(x, F[i], color=colors(n % 10), lw=1.8, zorder=2,
                    label=names[i] if label else None)
        ax.axhline(self.threshold, color="k", ls="--", lw=1)
        ax.set_xscale("log")
        ax.set_xlim(x.max(), x.min())  # decreasing alpha: the path grows to the right
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("alpha")
        ax.set_ylabel("selection frequency")
        what = "features" if level == "feature" else ("entries" if task is None else f"task {task}")
        ax.set_title(f"Stability paths ({what}); pi_thr = {self.threshold:g}, "
                     f"E[V] <= {self.pfer(level=level):.2g}")
        if label and stable.any() and stable.sum() <= 20:
            ax.legend(fontsize="small", loc="lower right", frameon=False)
        return ax

    def plot_heatmap(self, ax=None, annotate=None):
        """Heat map of the stabilities, features x tasks; stable entries outlined.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        annotate : bool, optional
            Write the values in the cells (default: when there are at most 400 cells).

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        M = self.max_frequency.to_numpy()
        p, K = M.shape
        if ax is None:
            _, ax = plt.subplots(figsize=(max(4.0, 0.3 * K + 2.5), max(3.0, 0.3 * p + 1.5)))
        im = ax.imshow(M, vmin=0, vmax=1, cmap="viridis", aspect="auto", interpolation="nearest")
        ax.figure.colorbar(im, ax=ax, label="stability (max frequency)")
        rows, cols = np.nonzero(M >= self.threshold)
        ax.scatter(cols, rows, marker="s", s=30, facecolors="none", edgecolors="w", linewidths=1)
        if annotate is None:
            annotate = p * K <= 400
        if annotate:
            for (i, j), v in np.ndenumerate(M):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6,
                        color="k" if v > 0.6 else "w")
        ax.set_yticks(range(p), [str(f) for f in self._features], fontsize="small")
        ax.set_xticks(range(K), [str(t) for t in self._tasks], fontsize="small", rotation=90)
        ax.set_xlabel(str(self._tasks.name))
        ax.set_title(f"Stability of features x tasks (outlined: >= {self.threshold:g})")
        return ax

    def plot_coclustering(self, alpha=None, ax=None, method="average"):
        """Clustered heat map of the task co-clustering frequencies.

        Tasks are ordered by hierarchical clustering (``scipy.cluster.hierarchy``, ``method``
        linkage) of the distance ``1 - frequency``.

        Parameters
        ----------
        alpha : float, optional
            A grid value; by default the average over the grid.
        ax : matplotlib Axes, optional
        method : str, default "average"
            Linkage method.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt
        from scipy.cluster.hierarchy import leaves_list, linkage
        from scipy.spatial.distance import squareform

        C = self.coclustering(alpha)
        if C is None:
            raise ValueError("no co-clustering: the solver records of this penalty "
                             f"({self.model.penalty.name!r}) carry no task memberships extra['U']")
        A = C.to_numpy()
        K = A.shape[0]
        if K > 2:
            D = 1.0 - (A + A.T) / 2
            np.fill_diagonal(D, 0.0)
            order = leaves_list(linkage(squareform(np.clip(D, 0, None), checks=False),
                                        method=method))
        else:
            order = np.arange(K)
        A = A[np.ix_(order, order)]
        labels = [str(C.index[i]) for i in order]
        if ax is None:
            size = max(4.0, 0.3 * K + 2.0)
            _, ax = plt.subplots(figsize=(size + 1, size))
        im = ax.imshow(A, vmin=0, vmax=1, cmap="magma", interpolation="nearest")
        ax.figure.colorbar(im, ax=ax, label="co-clustering frequency")
        ax.set_xticks(range(K), labels, rotation=90, fontsize="small")
        ax.set_yticks(range(K), labels, fontsize="small")
        ax.set_title("Task co-clustering (hierarchical order)")
        return ax


# ------------------------------------------------------------------------------ entry points
def stability_model(model: MultiTaskModel, *, alphas=None, n_alphas=20, alpha_min_ratio=None,
                    n_subsamples=100, sample_fraction=0.5, complementary_pairs=True, threshold=0.6,
                    n_jobs=None, random_state=0, tol=DEFAULT_TOL, max_iter=10_000) -> StabilityResults:
    """Stability selection for an existing :class:`~mtreg.model.MultiTaskModel`.

    See :func:`stability` for the parameters.
    """
    threshold = _check_threshold(threshold)
    n_subsamples = _check_int("n_subsamples", n_subsamples, minimum=2 if complementary_pairs else 1)
    if complementary_pairs and n_subsamples % 2:
        raise ValueError(f"with complementary_pairs, n_subsamples counts both halves of each pair "
                         f"and must be even, got {n_subsamples}")
    if not isinstance(complementary_pairs, (bool, np.bool_)):
        raise TypeError(f"complementary_pairs must be True or False, got {complementary_pairs!r}")
    sample_fraction = _check_positive_number("sample_fraction", sample_fraction, allow_zero=False)
    upper = 0.5 if complementary_pairs else 1.0
    if sample_fraction > upper or (not complementary_pairs and sample_fraction >= 1):
        raise ValueError(
            f"sample_fraction must lie in (0, {upper:g}{']' if complementary_pairs else ')'}"
            f"{' with complementary pairs (two disjoint subsamples per task)' if complementary_pairs else ''}"
            f", got {sample_fraction!r}")
    tol = _check_positive_number("tol", tol, allow_zero=False)
    max_iter = _check_int("max_iter", max_iter)
    design = model.design
    _check_subsample_sizes(design, sample_fraction)
    try:
        amax = model.alpha_max()
    except ValueError:
        amax = np.inf
    if alphas is None:
        if not np.isfinite(amax) or amax <= 0:
            raise ValueError(f"alpha_max is {amax!r}: pass alphas explicitly")
        ratio = DEFAULT_ALPHA_MIN_RATIO if alpha_min_ratio is None else alpha_min_ratio
        alphas = alpha_grid(amax, n_alphas, ratio)
    else:
        alphas = _check_alphas(alphas)
    raw = _RawDesign.of(design, getattr(model, "family", "gaussian"))
    n_jobs_total = n_subsamples // 2 if complementary_pairs else n_subsamples
    seeds = np.random.SeedSequence(random_state).spawn(n_jobs_total)
    jobs = (delayed(_subsample_job)(raw, seed, sample_fraction, complementary_pairs, model.penalty,
                                    alphas, model.fit_intercept, model.standardize, tol, max_iter)
            for seed in seeds)
    # summed in submission order as results arrive: the same floats for any n_jobs
    counts = None
    for c in Parallel(n_jobs=n_jobs, return_as="generator")(jobs):
        counts = c if counts is None else counts + c
    return StabilityResults(model, alphas, counts, threshold=threshold,
                            sample_fraction=sample_fraction, complementary_pairs=complementary_pairs,
                            random_state=random_state, alpha_max=amax, tol=tol)


def stability(formula, data=None, task=None, *, penalty="group_lasso", alphas=None, n_alphas=20,
              alpha_min_ratio=None, n_subsamples=100, sample_fraction=0.5, complementary_pairs=True,
              threshold=0.6, n_jobs=None, random_state=0, fit_intercept=True, standardize=True,
              family="gaussian", missing="drop", tol=DEFAULT_TOL, max_iter=10_000,
              **penalty_options) -> StabilityResults:
    """Stability selection of a sparse multi-task regression.

    The penalised model (objective in shared/DESIGN.md) is fitted along a grid of alphas on
    ``n_subsamples`` subsamples drawn within each task; a unit's stability is its largest
    selection frequency over the grid (Meinshausen & Bühlmann 2010). Units are the
    (feature, task) entries of W and the feature rows of W; each stable set is reported with the
    bound ``q^2 / ((2 threshold - 1) p_total)`` on the expected number of false selections (see
    :mod:`mtreg.stability` for its assumptions, with and without complementary pairs).

    Parameters
    ----------
    formula, data, task, penalty, fit_intercept, standardize, family, missing
        As in :func:`mtreg.fit`.
    alphas : array-like, optional
        The grid (sorted decreasing). Default: ``n_alphas`` values from ``alpha_max`` of the full
        data down to ``alpha_min_ratio * alpha_max``.
    n_alphas : int, default 20
    alpha_min_ratio : float in (0, 1), optional
        Default 0.05: the sparse end of the path, where the bound is informative. See
        :meth:`StabilityResults.bound_path` for q and the bound along the grid.
    n_subsamples : int, default 100
        Subsamples fitted; with complementary pairs, ``n_subsamples / 2`` pairs (must be even).
    sample_fraction : float, default 0.5
        Task k keeps ``floor(sample_fraction * n_k)`` rows (a shared design: that many of its
        rows, for every task). At most 0.5 with complementary pairs.
    complementary_pairs : bool, default True
        Draw each subsample together with a disjoint one of the same size (Shah & Samworth 2013).
    threshold : float in (1/2, 1], default 0.6
        pi_thr of the stable sets (and of the bounds).
    n_jobs : int, optional
        Subsample pairs run in parallel through joblib; results do not depend on it.
    random_state : int, default 0
        Seed of the :class:`numpy.random.SeedSequence` that seeds every subsample pair.
    tol : float, default 1e-4
        Duality-gap tolerance of every fit (relative to the null objective); selection needs the
        support only.
    max_iter : int, default 10000
    **penalty_options
        Hyperparameters of the penalty.

    Returns
    -------
    StabilityResults

    Examples
    --------
    >>> import mtreg
    >>> ds = mtreg.datasets.load_parkinsons()
    >>> st = mtreg.stability(ds.formula, ds.data, task="subject", n_subsamples=20)  # doctest: +SKIP
    >>> print(st.summary())  # doctest: +SKIP
    """
    model = MultiTaskModel.from_formula(formula, data, task=task, missing=missing,
                                        eval_env=EvalEnvironment.capture(1), penalty=penalty,
                                        fit_intercept=fit_intercept, standardize=standardize,
                                        family=family, **penalty_options)
    return stability_model(model, alphas=alphas, n_alphas=n_alphas, alpha_min_ratio=alpha_min_ratio,
                           n_subsamples=n_subsamples, sample_fraction=sample_fraction,
                           complementary_pairs=complementary_pairs, threshold=threshold,
                           n_jobs=n_jobs, random_state=random_state, tol=tol, max_iter=max_iter)
