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

When the solver record carries a task-membership matrix (``record.extra["U"]``: SG-MTL, clusMTL,
GenGL fusions), the co-clustering frequency of two tasks -- how often they land in the same argmax
cluster -- is computed at every alpha too, and so is the selection frequency of every feature in
every learned cluster. Cluster labels are arbitrary on every fit (label switching), so they are
first aligned to reference labels:

* Reference clusters: the argmax clusters of U of the penalised fit on *all* rows, along the same
  grid (with the same warm starts as the subsamples), numbered G1, G2, ... in the order of their
  first task. One alpha of the grid provides the reference, so that a cluster means the same set
  of tasks at every alpha and its frequencies can be maximised over the grid like the others.
  By default it is the alpha whose full-data clustering the subsamples reproduce best (largest
  mean adjusted Rand index between the subsample and full-data clusterings at that alpha,
  :attr:`StabilityResults.clustering_stability`, among the alphas whose full-data fit has at
  least two clusters; ties go to the larger alpha). :meth:`StabilityResults.with_reference`
  switches to another alpha after the fact: the counts are kept for every alpha of the grid as
  candidate reference (``L^2 (p + K) R`` integers, R the number of reference clusters), unless
  ``reference_alpha=`` fixes the reference up front (then ``L (p + K) R``).
* Alignment (:func:`align_clusters`): on every subsample and alpha, the contingency table of task
  overlaps between the reference clusters and the subsample's clusters is matched one-to-one by
  maximum total overlap (``scipy.optimize.linear_sum_assignment``); tasks of an unmatched
  subsample cluster (more clusters than the reference) belong to no reference cluster there.
  Both sides are ordered by first task before matching, so the result does not depend on the
  label values, even when several matchings tie.
* A feature is selected in cluster c on a subsample when it is selected in a strict majority of
  the tasks assigned to c there (more than half of them; none if c is empty). A majority rather
  than "any" keeps one misassigned task from lending its features to the cluster.

``cluster_frequencies[j, c] = max_l Pi_hat[j selected in c, l]``. Estimated clusters carry no
error bound: the PFER bounds are for the feature and entry units only.

Subsamples run through joblib (``n_jobs``; a Dask cluster inside
``with joblib.parallel_backend("dask"):``). Every subsample pair draws its rows from its own child
of one :class:`numpy.random.SeedSequence`, so the results do not depend on ``n_jobs``. A penalty
with random restarts and no integer seed (SG-MTL with ``random_state=None``) gets one drawn from
the same child (the full-data fit from one more child), for the same reason.
"""
from __future__ import annotations

import copy
import numbers
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from patsy import EvalEnvironment
from scipy.optimize import linear_sum_assignment

from . import report
from .cv import _split_design
from .model import MultiTaskModel, _check_int, _check_positive_number
from .path import _check_alphas, alpha_grid
from .solvers import get_solver, make_problem

__all__ = ["StabilityResults", "align_clusters", "stability", "stability_model", "pfer_bound"]

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


def _by_first_task(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of ``labels`` in the order of their first task, and every task's index
    into them."""
    values, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return values[order], rank[inverse.reshape(-1)]


def canonical_labels(labels) -> np.ndarray:
    """Cluster labels renumbered 0, 1, ... in the order of their first task (label-free form)."""
    return _by_first_task(np.asarray(labels))[1]


def align_clusters(reference, labels) -> np.ndarray:
    """Relabel a clustering of the tasks to the reference clusters by maximum task overlap.

    The contingency table ``T[r, s]`` (tasks in reference cluster r and in cluster s of
    ``labels``) is matched one-to-one so that the total overlap ``sum T[r, match(r)]`` is
    largest (``scipy.optimize.linear_sum_assignment``, a maximum-weight bipartite matching). Both
    sides are ordered by their first task before matching, so the result depends on the
    partitions only, never on the label values (also when several matchings tie).

    Parameters
    ----------
    reference : array-like of int, shape (K,)
        Reference cluster of every task (non-negative integers).
    labels : array-like, shape (K,)
        Cluster of every task on another fit (any hashable, sortable values).

    Returns
    -------
    ndarray of int64, shape (K,)
        The reference cluster matched to each task's cluster; -1 for the tasks of a cluster left
        unmatched (``labels`` has more clusters than ``reference``).
    """
    reference = np.asarray(reference)
    labels = np.asarray(labels)
    if reference.shape != labels.shape or reference.ndim != 1:
        raise ValueError(f"reference and labels must be 1-d of the same length, got shapes "
                         f"{reference.shape} and {labels.shape}")
    if reference.size and (not np.issubdtype(reference.dtype, np.integer) or reference.min() < 0):
        raise ValueError("reference labels must be non-negative integers")
    if reference.size == 0:
        return np.zeros(0, dtype=np.int64)
    ref_ids, row = _by_first_task(reference)     # row of every task in the contingency table
    sub_ids, col = _by_first_task(labels)        # and its column
    table = np.zeros((ref_ids.size, sub_ids.size), dtype=np.int64)
    np.add.at(table, (row, col), 1)
    rows, cols = linear_sum_assignment(table, maximize=True)
    to_ref = np.full(sub_ids.size, -1, dtype=np.int64)
    to_ref[cols] = ref_ids[rows]
    return to_ref[col]


def _seeded(penalty, seed: np.random.SeedSequence):
    """The penalty with an integer ``random_state`` (drawn from ``seed``) if it has an unseeded one.

    Penalties with random restarts (SG-MTL) and ``random_state=None`` (or a Generator, which
    would be consumed differently in one process and in several) would make the subsample fits
    irreproducible and dependent on ``n_jobs``.
    """
    rs = getattr(penalty, "random_state", 0)
    if rs is None or isinstance(rs, np.random.Generator):
        penalty = copy.copy(penalty)
        child = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 2**31 - 1))
        penalty.random_state = int(child.generate_state(1)[0] >> 1)
    return penalty


def _select_path(raw: _RawDesign, mask: np.ndarray, penalty, alphas, fit_intercept, standardize,
                 tol, max_iter, probe: bool = False):
    """Fit the path on the rows in ``mask``.

    Returns
    -------
    support : ndarray of bool, shape (p, K, L)
    labels : ndarray of int64, shape (L, K), or None
        argmax cluster of every task at every alpha, when the records carry ``extra["U"]``.
    converged : ndarray of bool, shape (L,)

    With ``probe``, stop after the first alpha (returning ``None``) when its record carries no
    task memberships.
    """
    X, y, ptr = _split_design(raw, mask)
    build = make_problem
    if raw.family == "binomial":
        from .solvers.logistic import make_logistic_problem as build
    problem = build(X, y, ptr, shared=raw.shared, fit_intercept=fit_intercept, standardize=standardize)
    solve = get_solver(penalty)
    p, K, L = problem.n_features, problem.n_tasks, len(alphas)
    support = np.zeros((p, K, L), dtype=bool)
    labels = None
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
            lab = None if U is None else _memberships(U, K)
            if lab is not None:
                if labels is None:
                    labels = np.full((L, K), -1, dtype=np.int64)
                labels[i] = lab
            elif probe:
                return None
            W = rec.coef
    return support, labels, converged


def _reference_labels(raw, penalty, alphas, fit_intercept, standardize, tol, max_iter):
    """Canonical argmax clusters (L, K) of the fits on all rows, or None without memberships."""
    out = _select_path(raw, np.ones(raw.n_rows, dtype=bool), penalty, alphas, fit_intercept,
                       standardize, tol, max_iter, probe=True)
    if out is None or out[1] is None:
        return None
    return np.stack([canonical_labels(lab) for lab in out[1]])


def _cluster_counts(support, labels, reference, candidates):
    """Per-cluster selections and memberships of one fit, for every candidate reference alpha.

    Parameters
    ----------
    support : bool (p, K, L); labels : int (L, K); reference : int (L, K), canonical;
    candidates : int (L_ref,), the grid indices that may serve as reference.

    Returns
    -------
    selected : int32 (L_ref, p, R, L)
        1 when feature j is selected in a strict majority of the tasks aligned to reference
        cluster c at alpha l (reference taken at alpha a), R = most reference clusters.
    member : int32 (L_ref, K, R, L)
        1 when task k is aligned to reference cluster c at alpha l.
    ari : float64 (L,)
        Adjusted Rand index between the fit's clustering and the reference at the same alpha.
    """
    from sklearn.metrics import adjusted_rand_score

    p, K, L = support.shape
    La = len(candidates)
    R = int(reference[candidates].max()) + 1
    selected = np.zeros((La, p, R, L), dtype=np.int32)
    member = np.zeros((La, K, R, L), dtype=np.int32)
    tasks = np.arange(K)
    for a, ref in enumerate(candidates):
        for l in range(L):
            aligned = align_clusters(reference[ref], labels[l])
            ok = aligned >= 0
            A = np.zeros((K, R), dtype=np.int64)
            A[tasks[ok], aligned[ok]] = 1
            member[a, :, :, l] = A
            votes = support[:, :, l].astype(np.int64) @ A                 # (p, R)
            selected[a, :, :, l] = 2 * votes > A.sum(axis=0)
    ari = np.array([adjusted_rand_score(reference[a], labels[a]) for a in range(L)])
    return selected, member, ari


@dataclass
class _Counts:
    """Selection counts summed over subsamples (what the results need; supports are not kept).

    ``entries`` (p, K, L), ``rows`` (p, L), ``q_entries`` / ``q_features`` (L,) the summed sizes
    of the union of the selected sets over ``alphas[:l + 1]``, ``same`` (K, K, L) or None,
    ``converged`` (L,), ``n`` subsamples; with reference clusters, ``cluster_selected``
    (L_ref, p, R, L), ``cluster_member`` (L_ref, K, R, L) and ``cluster_ari`` (L,) (see
    :func:`_cluster_counts`).
    """

    entries: np.ndarray
    rows: np.ndarray
    q_entries: np.ndarray
    q_features: np.ndarray
    same: np.ndarray | None
    converged: np.ndarray
    n: int
    cluster_selected: np.ndarray | None = None
    cluster_member: np.ndarray | None = None
    cluster_ari: np.ndarray | None = None

    @classmethod
    def of(cls, support, labels, converged, reference=None, candidates=None) -> _Counts:
        rows = support.any(axis=1)                                       # (p, L)
        same = None if labels is None else (labels[:, :, None] == labels[:, None, :]).transpose(1, 2, 0)
        sel = mem = ari = None
        if labels is not None and reference is not None:
            sel, mem, ari = _cluster_counts(support, labels, reference, candidates)
        return cls(entries=support.astype(np.int64), rows=rows.astype(np.int64),
                   q_entries=np.logical_or.accumulate(support, axis=2).sum(axis=(0, 1)),
                   q_features=np.logical_or.accumulate(rows, axis=1).sum(axis=0),
                   same=None if same is None else same.astype(np.int64),
                   converged=converged.astype(np.int64), n=1, cluster_selected=sel,
                   cluster_member=mem, cluster_ari=ari)

    def __add__(self, other: _Counts) -> _Counts:
        def add(a, b):
            return None if a is None or b is None else a + b

        return _Counts(self.entries + other.entries, self.rows + other.rows,
                       self.q_entries + other.q_entries, self.q_features + other.q_features,
                       add(self.same, other.same), self.converged + other.converged,
                       self.n + other.n, add(self.cluster_selected, other.cluster_selected),
                       add(self.cluster_member, other.cluster_member),
                       add(self.cluster_ari, other.cluster_ari))


def _subsample_job(raw, seed, sample_fraction, complementary, penalty, alphas, fit_intercept,
                   standardize, tol, max_iter, reference=None, candidates=None) -> _Counts:
    """One subsample (or complementary pair), as selection counts."""
    rng = np.random.default_rng(seed)
    first, second = draw_halves(raw, rng, sample_fraction, complementary)
    penalty = _seeded(penalty, seed)
    masks = [first] if second is None else [first, second]
    counts = [_Counts.of(*_select_path(raw, m, penalty, alphas, fit_intercept, standardize, tol,
                                       max_iter), reference=reference, candidates=candidates)
              for m in masks]
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
    reference_labels : ndarray of shape (L, K) or None
        Argmax cluster of every task in the fit on all rows at every alpha, numbered in the order
        of the first task (only with task memberships).
    reference_alpha : float or None
        The grid value whose full-data clustering gives the reference clusters.
    reference_clusters : pandas.Series of length K or None
        Reference cluster (G1, G2, ...) of every task.
    cluster_frequencies : pandas.DataFrame (p x clusters) or None
        Stability of every feature in every reference cluster (see the module docstring).
    cluster_frequency_path : ndarray of shape (p, clusters, L) or None
        The same frequencies at every alpha.
    membership_frequencies : pandas.DataFrame (K x clusters) or None
        How often the subsample fits at the reference alpha put each task in each cluster.
    clustering_stability : pandas.Series of length L or None
        Mean adjusted Rand index of the subsample clusterings to the full-data one, per alpha.
    n_subsamples : int
        Subsamples fitted (2 per complementary pair).
    converged : ndarray of shape (L,)
        Fraction of subsample fits that met the solver's stopping certificate, per alpha.
    model : MultiTaskModel
    """

    def __init__(self, model, alphas, counts: _Counts, *, threshold, sample_fraction,
                 complementary_pairs, random_state, alpha_max, tol, reference=None,
                 reference_alpha=None, candidates=None):
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
        has = reference is not None and counts.cluster_selected is not None
        self.reference_labels = np.asarray(reference) if has else None
        # counts for the candidate reference alphas only (all of the grid unless one was given)
        self._candidates = np.asarray(candidates) if has else None
        self._cluster_selected = counts.cluster_selected / S if has else None
        self._cluster_member = counts.cluster_member / S if has else None
        self._cluster_ari = counts.cluster_ari / S if has else None
        self._reference_choice = reference_alpha
        self._ref = self._reference_index(reference_alpha) if has else None

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

    # ------------------------------------------------------------------ per-cluster selection
    @property
    def has_clusters(self) -> bool:
        """Whether the fits reported task memberships (per-cluster frequencies are available)."""
        return self.reference_labels is not None

    def _require_clusters(self):
        if not self.has_clusters:
            raise ValueError("no task clusters: the solver records of this penalty "
                             f"({self.model.penalty.name!r}) carry no task memberships extra['U']")

    @property
    def clustering_stability(self) -> pd.Series | None:
        """How well the subsamples reproduce the full-data clustering, at every alpha.

        The average over subsamples of the adjusted Rand index (Hubert & Arabie 1985) between
        the subsample fit's clustering and the full-data fit's clustering at the same alpha: 1
        when they coincide, about 0 for chance agreement (so a grid point where every fit lumps
        all tasks together does not look stable). The default reference alpha maximises it.
        None without task memberships.
        """
        if not self.has_clusters:
            return None
        return pd.Series(self._cluster_ari, index=pd.Index(self.alphas, name="alpha"),
                         name="mean ARI")

    def _reference_index(self, reference_alpha) -> int:
        """Grid index of the reference alpha (given, or the default among the candidates)."""
        if reference_alpha is not None:
            hit = np.flatnonzero(np.isclose(self.alphas, reference_alpha, rtol=1e-10, atol=0))
            if hit.size == 0:
                raise ValueError(f"reference_alpha={reference_alpha!r} is not on the grid "
                                 f"({report.fmt_float(self.alphas.min())} .. "
                                 f"{report.fmt_float(self.alphas.max())})")
            if hit[0] not in self._candidates:
                raise ValueError(
                    f"reference_alpha={reference_alpha!r}: per-cluster counts were kept for "
                    f"alpha = {report.fmt_float(self.alphas[self._candidates[0]])} only (the "
                    "reference_alpha given to stability()); rerun without it to keep every "
                    "candidate")
            return int(hit[0])
        agree = self.clustering_stability.to_numpy()[self._candidates]
        several = self.reference_labels[self._candidates].max(axis=1) >= 1
        agree = np.where(several, agree, -1.0) if several.any() else agree
        # first maximum: the larger alpha on a decreasing grid
        return int(self._candidates[int(np.argmax(agree))])

    @property
    def _row(self) -> int:
        """Row of the per-cluster counts of the reference alpha."""
        return int(np.flatnonzero(self._candidates == self._ref)[0])

    @property
    def reference_alpha(self) -> float | None:
        """The alpha whose full-data clustering defines the reference clusters (None without)."""
        return None if self._ref is None else float(self.alphas[self._ref])

    @property
    def cluster_names(self) -> list[str] | None:
        """Names of the reference clusters: G1, G2, ... in the order of their first task."""
        if not self.has_clusters:
            return None
        return [f"G{c + 1}" for c in range(int(self.reference_labels[self._ref].max()) + 1)]

    @property
    def reference_clusters(self) -> pd.Series | None:
        """Reference cluster of every task (argmax of U of the full-data fit at
        :attr:`reference_alpha`)."""
        if not self.has_clusters:
            return None
        names = np.asarray(self.cluster_names, dtype=object)
        return pd.Series(names[self.reference_labels[self._ref]], index=self._tasks, name="cluster")

    @property
    def cluster_frequency_path(self) -> np.ndarray | None:
        """Frequency of every feature being selected in every reference cluster, at every alpha:
        ndarray (p, n_clusters, L)."""
        if not self.has_clusters:
            return None
        return self._cluster_selected[self._row, :, :len(self.cluster_names), :]

    @property
    def cluster_frequencies(self) -> pd.DataFrame | None:
        """Stability of every feature in every reference cluster, features x clusters (the largest
        frequency over the grid); None without task memberships."""
        if not self.has_clusters:
            return None
        return pd.DataFrame(self.cluster_frequency_path.max(axis=2), index=self._features,
                            columns=pd.Index(self.cluster_names, name="cluster"))

    @property
    def membership_frequencies(self) -> pd.DataFrame | None:
        """How often the subsample fits at :attr:`reference_alpha` put every task in every
        reference cluster (after alignment), tasks x clusters; rows sum to at most 1 (less when a
        task's cluster was left unmatched)."""
        if not self.has_clusters:
            return None
        M = self._cluster_member[self._row, :, :len(self.cluster_names), self._ref]
        return pd.DataFrame(M, index=self._tasks, columns=pd.Index(self.cluster_names, name="cluster"))

    def with_reference(self, reference_alpha=None) -> StabilityResults:
        """The same results with the reference clusters taken at another alpha of the grid.

        Parameters
        ----------
        reference_alpha : float, optional
            A value of the grid; None restores the default (largest
            :attr:`clustering_stability`).

        Returns
        -------
        StabilityResults
        """
        self._require_clusters()
        out = object.__new__(type(self))
        out.__dict__.update(self.__dict__)
        out._reference_choice = reference_alpha
        out._ref = out._reference_index(reference_alpha)
        return out

    def cluster_table(self, threshold=None) -> pd.DataFrame:
        """Per reference cluster: its tasks, how stably they land in it, and its stable features.

        Columns ``n_tasks``, ``tasks``, ``membership`` (average over the cluster's tasks of
        :attr:`membership_frequencies` of that cluster), ``stable_features`` (features whose
        stability in the cluster reaches ``threshold``, most stable first, with it).
        """
        self._require_clusters()
        thr = self._threshold(threshold)
        ref = self.reference_clusters
        F = self.cluster_frequencies
        M = self.membership_frequencies
        rows = {}
        for c in self.cluster_names:
            members = ref.index[ref.to_numpy() == c]
            f = F[c][F[c] >= thr].sort_values(ascending=False, kind="stable")
            rows[c] = {"n_tasks": len(members),
                       "tasks": ", ".join(map(str, members)),
                       "membership": float(M.loc[members, c].mean()),
                       "stable_features": ", ".join(f"{j} ({v:.2f})" for j, v in f.items())}
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("cluster")

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
        if self.has_clusters:
            out.reference_labels = self.reference_labels[sl]
            rows = self._candidates < n_keep
            if not rows.any():
                raise ValueError("the cut removes the reference alpha given to stability(); "
                                 "keep it (a smaller alpha_min or a larger pfer)")
            out._candidates = self._candidates[rows]
            out._cluster_selected = self._cluster_selected[rows][..., sl]
            out._cluster_member = self._cluster_member[rows][..., sl]
            out._cluster_ari = self._cluster_ari[sl]
            keep = self._reference_choice
            if keep is not None and not np.isclose(out.alphas, keep, rtol=1e-10, atol=0).any():
                keep = None  # the chosen reference alpha was cut off: back to the default
            out._reference_choice = keep
            out._ref = out._reference_index(keep)
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
        if self.has_clusters:
            pairs += [
                ("Reference clusters:", f"{len(self.cluster_names)} at alpha = "
                                        f"{fmt(self.reference_alpha)}"),
                ("Clustering ARI:", fmt(float(self.clustering_stability.iloc[self._ref]), "%.3g")),
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
        if self.has_clusters:
            notes.append(
                f"Per-cluster stability: reference clusters G1, G2, ... = argmax of U of the fit on "
                f"all rows at alpha = {report.fmt_float(self.reference_alpha)} (mean ARI of the "
                f"subsample clusterings to it: {self.clustering_stability.iloc[self._ref]:.2f}); "
                "every subsample's clusters are matched to them by maximum task overlap "
                "(linear_sum_assignment); a feature counts in a cluster when selected in a strict "
                "majority of its tasks; max over the grid. 'membership' = how often the subsample "
                "fits at that alpha put the cluster's tasks in it. No error bound for clusters.")
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
        if self.has_clusters:
            self._add_cluster_tables(smry, shown.index, max_columns)
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

    def _add_cluster_tables(self, smry, features, max_columns):
        """The reference clusters and the per-cluster stabilities of ``features``."""
        tab = self.cluster_table()
        ref = self.reference_clusters
        smry.add_df(pd.DataFrame({
            "cluster": list(tab.index),
            "tasks": [str(n) for n in tab["n_tasks"]],
            "membership": [f"{v:.2f}" for v in tab["membership"]],
            "members": [report.short_list(ref.index[ref.to_numpy() == c]) for c in tab.index],
        }), index=False, header=True, align="lrrl")
        F = self.cluster_frequencies.loc[features]
        names = list(F.columns)
        for sl in report.column_blocks(len(names), max_columns):
            vals = F.to_numpy()[:, sl]
            cells = np.where(vals >= self.threshold, np.char.add(np.char.mod("%.2f", vals), "*"),
                             np.char.mod("%.2f", vals)).astype(object)
            block = pd.DataFrame(cells, columns=names[sl])
            block.insert(0, "stability in cluster", [str(f) for f in features])
            smry.add_df(block, index=False, header=True, align="l" + "r" * (block.shape[1] - 1))

    def __str__(self) -> str:
        return self.summary().as_text()

    def __repr__(self) -> str:
        return (f"<StabilityResults: {self.model.penalty.name}, {self.n_subsamples} subsamples, "
                f"{len(self.alphas)} alphas, {len(self.stable_features)} stable features at "
                f"pi_thr={self.threshold:g} (E[V] <= {self.pfer():.3g})>")

    def _repr_html_(self) -> str:
        return self.summary().as_html()

    # ------------------------------------------------------------------ plots
    def plot(self, level=None, task=None, ax=None, label=True, cluster=None):
        """Stability paths: selection frequency against alpha, stable units highlighted.

        Parameters
        ----------
        level : {"feature", "entry"}, optional
            Feature rows (one line per feature) or entries (one line per (feature, task), or per
            feature of ``task``). Default: :attr:`default_level`.
        task : label, optional
            With ``level="entry"``, draw the entries of this task only.
        cluster : str, optional
            A reference cluster ("G1", ...; models that learn task clusters): the paths of the
            features in it (:attr:`cluster_frequency_path`); ``level`` and ``task`` are ignored.
            :meth:`plot_clusters` draws the stabilities of all clusters as a heat map.
        ax : matplotlib Axes, optional
        label : bool, default True
            Name the stable lines in a legend.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        level = _check_level(level or self.default_level)
        if cluster is not None:
            self._require_clusters()
            if cluster not in self.cluster_names:
                raise ValueError(f"cluster must be one of {', '.join(self.cluster_names)}, "
                                 f"got {cluster!r}")
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4.5))
        if cluster is not None:
            F = self.cluster_frequency_path[:, self.cluster_names.index(cluster), :]
            names = [str(f) for f in self._features]
        elif level == "feature":
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
        if cluster is not None:
            n = int((self.reference_clusters == cluster).sum())
            ax.set_title(f"Stability paths in cluster {cluster} ({n} tasks, reference alpha "
                         f"{self.reference_alpha:.3g}); pi_thr = {self.threshold:g}")
        else:
            what = ("features" if level == "feature"
                    else ("entries" if task is None else f"task {task}"))
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
        M = self.max_frequency.to_numpy()
        p, K = M.shape
        ax = _frequency_heatmap(M, self.threshold, ax, annotate, "stability (max frequency)", 0.3)
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

    def plot_clusters(self, ax=None, annotate=None):
        """Heat map of the per-cluster stabilities, features x reference clusters.

        Columns are the reference clusters (labelled with their number of tasks and membership
        stability), cells the stability of the feature in the cluster; stable cells outlined.

        Parameters
        ----------
        ax : matplotlib Axes, optional
        annotate : bool, optional
            Write the values in the cells (default: when there are at most 400 cells).

        Returns
        -------
        matplotlib.axes.Axes
        """
        self._require_clusters()
        F = self.cluster_frequencies
        M = F.to_numpy()
        p, C = M.shape
        ax = _frequency_heatmap(M, self.threshold, ax, annotate,
                                "stability in cluster (max frequency)", 0.6)
        tab = self.cluster_table()
        ax.set_yticks(range(p), [str(f) for f in F.index], fontsize="small")
        ax.set_xticks(range(C), [f"{c}\n{n} tasks\nm={m:.2f}" for c, n, m in
                                 zip(tab.index, tab["n_tasks"], tab["membership"], strict=True)],
                      fontsize="small")
        ax.set_title(f"Stability in the learned clusters\n(reference alpha {self.reference_alpha:.3g}; "
                     f"outlined: >= {self.threshold:g})", fontsize="medium")
        return ax


def _frequency_heatmap(M, threshold, ax, annotate, label, col_width):
    """Frequencies ``M`` (rows x columns) as an image, entries >= ``threshold`` outlined."""
    import matplotlib.pyplot as plt

    p, C = M.shape
    if ax is None:
        _, ax = plt.subplots(figsize=(max(4.0, col_width * C + 2.5), max(3.0, 0.3 * p + 1.5)))
    im = ax.imshow(M, vmin=0, vmax=1, cmap="viridis", aspect="auto", interpolation="nearest")
    ax.figure.colorbar(im, ax=ax, label=label)
    rows, cols = np.nonzero(M >= threshold)
    ax.scatter(cols, rows, marker="s", s=30, facecolors="none", edgecolors="w", linewidths=1)
    if annotate is None:
        annotate = p * C <= 400
    if annotate:
        for (i, j), v in np.ndenumerate(M):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6,
                    color="k" if v > 0.6 else "w")
    return ax


# ------------------------------------------------------------------------------ entry points
def stability_model(model: MultiTaskModel, *, alphas=None, n_alphas=20, alpha_min_ratio=None,
                    n_subsamples=100, sample_fraction=0.5, complementary_pairs=True, threshold=0.6,
                    n_jobs=None, random_state=0, tol=DEFAULT_TOL, max_iter=10_000,
                    reference_alpha=None) -> StabilityResults:
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
    if reference_alpha is not None and not np.isclose(alphas, reference_alpha, rtol=1e-10,
                                                      atol=0).any():
        raise ValueError(f"reference_alpha={reference_alpha!r} is not on the grid")
    raw = _RawDesign.of(design, getattr(model, "family", "gaussian"))
    n_jobs_total = n_subsamples // 2 if complementary_pairs else n_subsamples
    root = np.random.SeedSequence(random_state)
    seeds = root.spawn(n_jobs_total)
    # reference clusters: the path on all rows (only pursued past alphas[0] when the solver
    # reports task memberships), fitted like the subsamples
    reference = _reference_labels(raw, _seeded(model.penalty, root.spawn(1)[0]), alphas,
                                  model.fit_intercept, model.standardize, tol, max_iter)
    # per-cluster counts are kept for every candidate reference alpha (L^2 (p + K) R integers)
    # unless the reference is given
    candidates = (np.arange(len(alphas)) if reference_alpha is None else
                  np.flatnonzero(np.isclose(alphas, reference_alpha, rtol=1e-10, atol=0))[:1])
    jobs = (delayed(_subsample_job)(raw, seed, sample_fraction, complementary_pairs, model.penalty,
                                    alphas, model.fit_intercept, model.standardize, tol, max_iter,
                                    reference, candidates)
            for seed in seeds)
    # summed in submission order as results arrive: the same floats for any n_jobs
    counts = None
    for c in Parallel(n_jobs=n_jobs, return_as="generator")(jobs):
        counts = c if counts is None else counts + c
    return StabilityResults(model, alphas, counts, threshold=threshold,
                            sample_fraction=sample_fraction, complementary_pairs=complementary_pairs,
                            random_state=random_state, alpha_max=amax, tol=tol,
                            reference=reference, reference_alpha=reference_alpha,
                            candidates=candidates)


def stability(formula, data=None, task=None, *, penalty="group_lasso", alphas=None, n_alphas=20,
              alpha_min_ratio=None, n_subsamples=100, sample_fraction=0.5, complementary_pairs=True,
              threshold=0.6, n_jobs=None, random_state=0, fit_intercept=True, standardize=True,
              family="gaussian", missing="drop", tol=DEFAULT_TOL, max_iter=10_000,
              reference_alpha=None, **penalty_options) -> StabilityResults:
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
    reference_alpha : float, optional
        For models that learn task clusters (SG-MTL, clusMTL, GenGL fusions): the grid value
        whose fit on all rows defines the reference clusters of
        :attr:`StabilityResults.cluster_frequencies`. Default: the alpha whose full-data
        clustering the subsamples reproduce best (see :mod:`mtreg.stability`).
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
                           n_jobs=n_jobs, random_state=random_state, tol=tol, max_iter=max_iter,
                           reference_alpha=reference_alpha)
