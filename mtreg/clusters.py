"""Task-cluster reports for models that learn task groups (SG-MTL, ClusMTL).

:func:`cluster_report` turns coefficients and a membership matrix U (groups x tasks) into a
:class:`ClusterReport`: the hard assignment of every task (argmax of U) with its membership
probability, one block per active cluster (tasks, support size, selected features with their
mean absolute coefficient), and, given the true grouping, the adjusted Rand index and a
confusion table. It prints and renders like statsmodels' ``summary2.Summary``
(``as_text``, ``as_html``, ``as_latex``, ``_repr_html_``).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["ClusterReport", "cluster_report", "cluster_order"]


def cluster_order(U: np.ndarray) -> np.ndarray:
    """Task positions ordered by cluster (argmax of U), then by decreasing membership."""
    U = np.asarray(U, dtype=np.float64)
    labels = np.argmax(U, axis=0)
    prob = U.max(axis=0)
    return np.lexsort((np.arange(U.shape[1]), -prob, labels))


class ClusterReport:
    """Learned task clusters: assignments, per-cluster supports, agreement with a truth.

    Attributes
    ----------
    membership : DataFrame (tasks x groups)
        U before rounding (columns ``G1`` ... ``GN``).
    assignments : DataFrame (tasks)
        ``cluster`` (1 ... N, argmax of U), ``probability`` (max_g U[g, t]), ``nnz`` (support
        size of the task).
    clusters : DataFrame (active clusters)
        ``n_tasks``, ``tasks``, ``support`` (features non-zero in some task of the cluster) and
        ``features`` (those features with their mean |coef| over the cluster's tasks).
    n_active : int
        Number of non-empty clusters.
    ari : float or None
        Adjusted Rand index against ``truth`` (sklearn.metrics.adjusted_rand_score).
    confusion : DataFrame or None
        Counts of tasks, true group (rows) x learned cluster (columns).
    """

    def __init__(self, membership, assignments, clusters, cluster_features, ari=None,
                 confusion=None, max_features: int = 6):
        self.membership = membership
        self.assignments = assignments
        self.clusters = clusters
        self.cluster_features = cluster_features
        self.ari = ari
        self.confusion = confusion
        self.max_features = max_features

    @property
    def n_active(self) -> int:
        return int(self.clusters.shape[0])

    @property
    def labels(self) -> pd.Series:
        """Cluster (1 ... N) of every task."""
        return self.assignments["cluster"]

    def summary(self):
        """The report as a ``statsmodels.iolib.summary2.Summary``."""
        from statsmodels.iolib.summary2 import Summary

        smry = Summary()
        smry.add_title("Task clusters")
        info = {"Tasks:": str(self.membership.shape[0]),
                "Candidate groups:": str(self.membership.shape[1]),
                "Active clusters:": str(self.n_active),
                "Min. membership:": f"{self.assignments['probability'].min():.3f}"}
        if self.ari is not None:
            info["Adjusted Rand index:"] = f"{self.ari:.4f}"
        smry.add_dict(info, ncols=2)
        blocks = self.clusters.astype(str)
        blocks["features (mean |coef|)"] = [self._feature_text(c) for c in blocks.index]
        smry.add_df(blocks, index=True)
        tab = pd.DataFrame({"cluster": [f"G{c}" for c in self.assignments["cluster"]],
                            "probability": [f"{v:.3f}" for v in self.assignments["probability"]],
                            "nnz": self.assignments["nnz"].astype(str).to_numpy()},
                           index=self.assignments.index)
        smry.add_df(tab, index=True)
        if self.confusion is not None:
            smry.add_df(self.confusion.astype(str), index=True)
            smry.add_text("Confusion table: true groups (rows) x learned clusters (columns).")
        smry.add_text("Cluster = argmax of the membership U; probability = max_g U[g, t]; "
                      "features: mean |coef| over the cluster's tasks.")
        return smry

    def _feature_text(self, c) -> str:
        feats = self.cluster_features[c]
        shown = ", ".join(f"{name} ({v:.3g})" for name, v in feats.iloc[: self.max_features].items())
        if len(feats) > self.max_features:
            shown += f", ... ({len(feats) - self.max_features} more)"
        return shown

    def as_text(self) -> str:
        return self.summary().as_text()

    def as_html(self) -> str:
        return self.summary().as_html()

    def as_latex(self) -> str:
        return self.summary().as_latex()

    def _repr_html_(self) -> str:
        return self.as_html()

    def __str__(self) -> str:
        return self.as_text()

    def __repr__(self) -> str:
        extra = "" if self.ari is None else f", ARI={self.ari:.3f}"
        return (f"<ClusterReport: {self.membership.shape[0]} tasks in {self.n_active} active "
                f"clusters of {self.membership.shape[1]}{extra}>")


def cluster_report(params: pd.DataFrame, U: np.ndarray, truth=None,
                   max_features: int = 6) -> ClusterReport:
    """Build a :class:`ClusterReport`.

    Parameters
    ----------
    params : DataFrame of shape (p, K)
        Coefficients, features x tasks (the columns name the tasks).
    U : ndarray of shape (N, K)
        Membership of every task in N candidate groups (columns on the simplex).
    truth : array-like or Series of length K, optional
        True group labels of the tasks (a Series is aligned on the task labels).
    max_features : int, default 6
        Features listed per cluster in the printed report.

    Returns
    -------
    ClusterReport
    """
    if not isinstance(params, pd.DataFrame):
        raise TypeError(f"params must be a DataFrame (features x tasks), got {type(params).__name__}")
    U = np.asarray(U, dtype=np.float64)
    K = params.shape[1]
    if U.ndim != 2 or U.shape[1] != K:
        raise ValueError(f"U must have shape (n_groups, n_tasks) = (*, {K}); got {U.shape}")
    tasks = params.columns
    N = U.shape[0]
    names = [f"G{g + 1}" for g in range(N)]
    membership = pd.DataFrame(U.T, index=tasks, columns=names)
    labels = np.argmax(U, axis=0) + 1
    W = params.to_numpy()
    assignments = pd.DataFrame({"cluster": labels, "probability": U.max(axis=0),
                                "nnz": (W != 0).sum(axis=0)}, index=tasks)
    assignments.index.name = "task"
    rows, feats = {}, {}
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        sub = np.abs(W[:, members])
        sel = np.flatnonzero(np.any(sub != 0, axis=0 if sub.ndim == 1 else 1))
        mean_abs = pd.Series(sub[sel].mean(axis=1), index=params.index[sel]).sort_values(ascending=False)
        feats[f"G{c}"] = mean_abs
        rows[f"G{c}"] = {"n_tasks": len(members), "tasks": ", ".join(map(str, tasks[members])),
                         "support": len(sel)}
    clusters = pd.DataFrame.from_dict(rows, orient="index")
    clusters.index.name = "cluster"
    ari = confusion = None
    if truth is not None:
        from sklearn.metrics import adjusted_rand_score

        if isinstance(truth, pd.Series):
            missing = set(tasks) - set(truth.index)
            if missing:
                raise ValueError(f"truth has no label for tasks {sorted(map(str, missing))[:5]}")
            truth = truth.loc[tasks]
        truth = np.asarray(truth)
        if truth.shape != (K,):
            raise ValueError(f"truth must have one label per task ({K}), got shape {truth.shape}")
        ari = float(adjusted_rand_score(truth, labels))
        confusion = pd.crosstab(pd.Series(truth, name="truth"),
                                pd.Series([f"G{c}" for c in labels], name="cluster"))
    return ClusterReport(membership, assignments, clusters, feats, ari=ari, confusion=confusion,
                         max_features=max_features)
