"""Plots of multi-task fits (matplotlib is imported only when a plot is drawn)."""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["plot_clusters", "plot_coef", "plot_support", "plot_residuals", "plot_path", "plot_cv",
           "plot_cv_grid"]


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots()
    return ax


def plot_clusters(U, tasks=None, ax=None):
    """The membership matrix U as an image: tasks on the x-axis, groups on the y-axis.

    As the SG-MTL paper's Fig. 6 (white = 1, black = 0).

    Parameters
    ----------
    U : array-like of shape (N, K)
        Membership of K tasks in N groups.
    tasks : sequence of length K, optional
        Task labels for the x ticks.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib Axes
    """
    U = np.asarray(U, dtype=np.float64)
    if U.ndim != 2:
        raise ValueError(f"U must be 2-D (n_groups, n_tasks), got shape {U.shape}")
    N, K = U.shape
    ax = _axes(ax)
    im = ax.imshow(U, cmap="gray", vmin=0.0, vmax=1.0, aspect="auto", interpolation="nearest")
    ax.set_yticks(range(N))
    ax.set_yticklabels([f"G{g + 1}" for g in range(N)])
    if tasks is not None:
        tasks = list(tasks)
        if len(tasks) != K:
            raise ValueError(f"{len(tasks)} task labels for {K} tasks")
        ax.set_xticks(range(K))
        ax.set_xticklabels([str(t) for t in tasks], rotation=90, fontsize="small")
    ax.set_xlabel("task")
    ax.set_ylabel("group")
    ax.figure.colorbar(im, ax=ax, label="membership")
    return ax


def plot_coef(params, order=None, ax=None, clusters=None):
    """Coefficients as a heat map, features (rows) x tasks (columns).

    Parameters
    ----------
    params : DataFrame or array-like of shape (p, K)
    order : sequence, optional
        Task order: positions (ints) or labels; e.g. :func:`mtreg.clusters.cluster_order`.
    ax : matplotlib Axes, optional
    clusters : array-like of length K, optional
        Cluster of every task (in the original order); boundaries between consecutive clusters
        (after ordering) are drawn as vertical lines.

    Returns
    -------
    matplotlib Axes
    """
    df = params if isinstance(params, pd.DataFrame) else pd.DataFrame(np.asarray(params, float))
    K = df.shape[1]
    if order is not None:
        order = list(order)
        if all(isinstance(o, (int, np.integer)) for o in order):
            pos = np.asarray(order, dtype=np.int64)
        else:
            pos = df.columns.get_indexer(order)
            if np.any(pos < 0):
                raise ValueError("order contains labels that are not tasks of params")
        if sorted(pos.tolist()) != list(range(K)):
            raise ValueError("order must be a permutation of the tasks")
    else:
        pos = np.arange(K)
    W = df.to_numpy(dtype=np.float64)[:, pos]
    ax = _axes(ax)
    vmax = float(np.max(np.abs(W), initial=0.0)) or 1.0
    im = ax.imshow(W, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(K))
    ax.set_xticklabels([str(c) for c in df.columns[pos]], rotation=90, fontsize="small")
    if df.shape[0] <= 60:
        ax.set_yticks(range(df.shape[0]))
        ax.set_yticklabels([str(i) for i in df.index], fontsize="small")
    if clusters is not None:
        lab = np.asarray(clusters)[pos]
        for k in np.flatnonzero(lab[1:] != lab[:-1]):
            ax.axvline(k + 0.5, color="k", lw=1)
    ax.set_xlabel("task")
    ax.set_ylabel("feature")
    ax.figure.colorbar(im, ax=ax, label="coefficient")
    return ax


def _nnz_top_axis(ax, log_alphas, counts, label="features"):
    """Counts on a top axis at a few alphas, as plot.glmnet / plot.cv.glmnet do."""
    top = ax.secondary_xaxis("top")
    idx = np.unique(np.linspace(0, len(log_alphas) - 1, min(8, len(log_alphas))).round().astype(int))
    top.set_xticks(log_alphas[idx])
    top.set_xticklabels([str(int(c)) for c in np.asarray(counts)[idx]])
    top.set_xlabel(label)
    return top


def plot_path(path, kind="norms", task=None, ax=None, label=False):
    """Coefficient paths of a :class:`~mtreg.path.PathResults` against log(alpha).

    ``kind="norms"`` draws the l2 norm of each feature's coefficients across tasks,
    ``kind="coef"`` the coefficients of one task. Returns the Axes.
    """
    ax = _axes(ax)
    x = np.log(path.alphas)
    names = path.model.design.feature_names
    if kind == "norms":
        Y = np.linalg.norm(path.coefs, axis=1)  # (p, L)
        ylabel = "coefficient norm across tasks"
    elif kind == "coef":
        tasks = list(path.model.design.tasks)
        if task is None or task not in tasks:
            raise ValueError(f"kind='coef' needs task= one of {tasks[:10]}{'...' if len(tasks) > 10 else ''}")
        Y = path.coefs[:, tasks.index(task), :]
        ylabel = f"coefficients, task {task!r}"
    else:
        raise ValueError(f"kind must be 'norms' or 'coef', got {kind!r}")
    for j, name in enumerate(names):
        (line,) = ax.plot(x, Y[j], lw=1, label=name)
        if label:
            ax.annotate(name, (x[-1], Y[j, -1]), fontsize=7, color=line.get_color())
    ax.set_xlabel("log(alpha)")
    ax.set_ylabel(ylabel)
    ax.invert_xaxis()
    _nnz_top_axis(ax, x, path.df)
    return ax


def plot_cv(cvres, ax=None):
    """cvm with cvlo/cvup error bars against log(alpha), as plot.cv.glmnet. Returns the Axes."""
    ax = _axes(ax)
    x = np.log(cvres.alphas)
    ax.errorbar(x, cvres.cvm, yerr=cvres.cvsd, fmt="o", ms=3, color="tab:red", ecolor="0.6",
                elinewidth=1, capsize=2, label="cvm ± cvsd")
    ax.axvline(np.log(cvres.alpha_min), ls=":", color="k", label="alpha_min")
    ax.axvline(np.log(cvres.alpha_1se), ls="--", color="k", label="alpha_1se")
    ax.set_xlabel("log(alpha)")
    ax.set_ylabel(f"CV {cvres.scoring}")
    ax.invert_xaxis()
    ax.legend(loc="best", fontsize=8)
    _nnz_top_axis(ax, x, cvres.nzero)
    return ax


def plot_cv_grid(gridres, ax=None):
    """Heat map of a two-parameter CV surface with the best and 1-SE pairs marked."""
    ax = _axes(ax)
    M = gridres.cvm.to_numpy()
    x = np.log(gridres.alphas)
    im = ax.imshow(M, aspect="auto", origin="lower", cmap="viridis",
                   extent=(x[0], x[-1], -0.5, len(gridres.values) - 0.5))
    ax.figure.colorbar(im, ax=ax, label=f"CV {gridres.scoring}")
    ax.set_yticks(range(len(gridres.values)))
    ax.set_yticklabels([str(v) for v in gridres.values])
    ax.set_ylabel(gridres.param)
    ax.set_xlabel("log(alpha)")
    for pair, marker, name in ((gridres.best, "*", "best"), (gridres.one_se, "o", "1-SE")):
        ax.plot(np.log(pair["alpha"]), gridres.values.index(pair[gridres.param]), marker, ms=10,
                mfc="none" if marker == "o" else "w", mec="w", label=name)
    ax.legend(loc="best", fontsize=8)
    return ax


def plot_support(support, ax=None):
    """The support of a fit as an image (features x tasks, selected = dark), counts in the labels.

    Parameters
    ----------
    support : mtreg.report.SupportTable
        From ``results.support()``.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax)
    table = support.table
    ax.imshow(table.to_numpy(dtype=float), aspect="auto", cmap="Greys", vmin=0, vmax=1,
              interpolation="nearest")
    counts = table.sum(axis=1).to_numpy()
    ax.set_yticks(range(table.shape[0]))
    ax.set_yticklabels([f"{name} ({int(c)})" for name, c in zip(table.index, counts, strict=True)],
                       fontsize=7)
    K = table.shape[1]
    step = max(1, K // 20)
    ax.set_xticks(range(0, K, step))
    ax.set_xticklabels([str(t) for t in table.columns[::step]], rotation=90, fontsize=7)
    ax.set_xlabel("task")
    ax.set_title(f"support: {int(table.to_numpy().sum())} of {table.size} coefficients")
    return ax


def plot_residuals(results, tasks=None, ncols=4):
    """Residuals against fitted values, one panel per task.

    Parameters
    ----------
    results : MultiTaskResults
    tasks : sequence of task labels, optional
        Tasks to draw (default: all, at most 16).
    ncols : int, default 4
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    design = results.design
    labels = list(design.tasks)
    tasks = labels[:16] if tasks is None else list(tasks)
    unknown = [t for t in tasks if t not in labels]
    if unknown:
        raise ValueError(f"unknown task(s) {unknown}; tasks are {labels[:10]}...")
    stacked_fit = results._stacked_fitted
    y = design.y
    nrows = -(-len(tasks) // ncols)
    fig, axes = plt.subplots(nrows, min(ncols, len(tasks)), squeeze=False,
                             figsize=(3 * min(ncols, len(tasks)), 2.6 * nrows))
    for ax, t in zip(axes.ravel(), tasks, strict=False):
        k = labels.index(t)
        sl = slice(design.task_ptr[k], design.task_ptr[k + 1])
        fitted = stacked_fit[sl]
        ax.scatter(fitted, y[sl] - fitted, s=6, alpha=0.6)
        ax.axhline(0.0, color="k", lw=0.8)
        ax.set_title(str(t), fontsize=9)
    for ax in axes.ravel()[len(tasks):]:
        ax.set_visible(False)
    fig.supxlabel("fitted")
    fig.supylabel("residual")
    return fig
