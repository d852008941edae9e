"""A self-contained HTML report of a multi-task fit, to mail to a colleague.

:func:`write_report` writes ONE HTML file with everything inline (styles and figures as base64
PNG, no external files or scripts): the statsmodels-style summary, the per-task table, the
support table, the learned task clusters (models that learn task groups), the cross-validation
curve (when alpha was chosen by CV or a :class:`~mtreg.cv.CVResults` is given) and a heat map of
the coefficients. Figures need matplotlib (rendered off-screen, without pyplot); without it the
report keeps its tables and says that the figures were left out.
"""
from __future__ import annotations

import base64
import datetime as _dt
import html
import io
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["write_report", "report_html", "figure_to_base64"]

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 75em; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; border-bottom: 2px solid #444; padding-bottom: .2em; }
h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #bbb; }
table { border-collapse: collapse; font-size: .85em; margin: .5em 0; }
th, td { padding: .15em .6em; text-align: right; border-bottom: 1px solid #e4e4e4; }
th { background: #f4f4f4; }
.simpletable td, .simpletable th { text-align: left; }
.scroll { overflow-x: auto; max-width: 100%; }
pre { background: #f7f7f7; padding: .6em; overflow-x: auto; font-size: .85em; }
img { max-width: 100%; height: auto; }
.meta, .note { color: #666; font-size: .85em; }
nav a { margin-right: 1em; }
"""


def figure_to_base64(fig, dpi: int = 110) -> str:
    """A matplotlib figure as a base64 PNG string (for ``<img src="data:image/png;base64,...">``).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    dpi : int, default 110

    Returns
    -------
    str
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(fig, alt: str) -> str:
    return (f'<img alt="{html.escape(alt)}" '
            f'src="data:image/png;base64,{figure_to_base64(fig)}"/>')


def _new_axes(figsize):
    """A figure and axes without pyplot (no GUI backend, nothing left open)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    return fig, fig.subplots()


def _figure_of(obj):
    """The Figure of whatever a plot function returned (Axes, Figure, array of Axes)."""
    if hasattr(obj, "savefig"):
        return obj
    if hasattr(obj, "figure"):
        return obj.figure
    if isinstance(obj, (list, tuple, np.ndarray)) and len(obj):
        return _figure_of(np.ravel(obj)[0])
    raise TypeError(f"cannot find the figure of {type(obj).__name__}")


def _plotting_function(name: str):
    """``mtreg.plotting.<name>`` if that module and function exist, else None."""
    try:
        from . import plotting
    except ImportError:
        return None
    return getattr(plotting, name, None)


# ---------------------------------------------------------------------------- figures
def coef_heatmap(results, ax=None):
    """Heat map of the coefficients, features x tasks (zeros white, diverging colours).

    Used by the report when :func:`mtreg.plotting.plot_coef` is not available.

    Parameters
    ----------
    results : MultiTaskResults
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    W = results.params
    p, K = W.shape
    if ax is None:
        _, ax = _new_axes((min(2.5 + 0.22 * K, 16), min(1.5 + 0.25 * p, 14)))
    vals = W.to_numpy(dtype=float)
    vmax = float(np.nanmax(np.abs(vals))) if vals.size and np.any(vals != 0) else 1.0
    shown = np.ma.masked_equal(vals, 0.0)
    cmap = _cmap("RdBu_r")
    im = ax.imshow(shown, aspect="auto", cmap=cmap, vmin=-vmax, vmax=vmax,
                   interpolation="nearest")
    ax.set_yticks(np.arange(p))
    ax.set_yticklabels([str(f) for f in W.index], fontsize=7 if p > 20 else 8)
    step = max(1, K // 40)
    ax.set_xticks(np.arange(0, K, step))
    ax.set_xticklabels([str(t) for t in W.columns[::step]], rotation=90,
                       fontsize=7 if K > 20 else 8)
    ax.set_xlabel(str(W.columns.name or "task"))
    ax.set_title("Coefficients (original scale; white = exactly zero)")
    ax.figure.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    return ax


def _cmap(name):
    """A copy of colormap ``name`` drawing masked values (exact zeros) in white."""
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(bad="white")


def cv_curve(cvres, ax=None):
    """CV error with one-standard-error bars against log(alpha), alpha_min and alpha_1se marked.

    Used by the report when :meth:`CVResults.plot` is not available.

    Parameters
    ----------
    cvres : CVResults
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = _new_axes((7, 4.2))
    a = np.asarray(cvres.alphas, dtype=float)
    ax.errorbar(np.log10(a), cvres.cvm, yerr=cvres.cvsd, fmt="o", ms=3, color="firebrick",
                ecolor="0.6", elinewidth=1, capsize=2)
    ax.axvline(np.log10(cvres.alpha_min), ls="--", color="0.3", lw=1, label="alpha_min")
    ax.axvline(np.log10(cvres.alpha_1se), ls=":", color="0.3", lw=1, label="alpha_1se")
    ax.set_xlabel("log10(alpha)")
    ax.set_ylabel(f"CV error ({cvres.scoring})")
    ax.invert_xaxis()
    ax.legend(fontsize=8)
    top = ax.secondary_xaxis("top")
    idx = np.linspace(0, len(a) - 1, min(len(a), 8)).round().astype(int)
    top.set_xticks(np.log10(a[idx]))
    top.set_xticklabels([str(int(v)) for v in np.asarray(cvres.nzero)[idx]], fontsize=7)
    top.set_xlabel("features selected", fontsize=8)
    return ax


def _membership(results):
    """The task-group membership U (groups x tasks) of models that learn task groups, or None."""
    extra = getattr(getattr(results, "record", None), "extra", None) or {}
    U = extra.get("U")
    if U is None:
        return None
    U = np.asarray(U, dtype=float)
    K = results.params.shape[1]
    if U.ndim != 2:
        return None
    if U.shape[1] != K and U.shape[0] == K:
        U = U.T
    return U if U.shape[1] == K else None


def _coef_figure(results):
    U = _membership(results)
    fn = _plotting_function("plot_coef")
    if fn is not None:
        try:
            p, K = results.params.shape
            _, ax = _new_axes((min(2.5 + 0.22 * K, 16), min(1.5 + 0.25 * p, 14)))
            if U is None:
                return _figure_of(fn(results.params, ax=ax))
            labels = np.argmax(U, axis=0)
            order = np.lexsort((np.arange(K), labels))
            return _figure_of(fn(results.params, order=order, ax=ax, clusters=labels))
        except Exception:  # a plotting helper in progress must not cost the user the report
            pass
    return _figure_of(coef_heatmap(results))


def _cv_figure(cvres):
    try:
        _, ax = _new_axes((7, 4.2))
        return _figure_of(cvres.plot(ax=ax))
    except Exception:  # mtreg.plotting not available (or failing): draw it here
        return _figure_of(cv_curve(cvres))


# ---------------------------------------------------------------------------- sections
def _frame_html(df: pd.DataFrame, float_format="{:.4g}") -> str:
    return ('<div class="scroll">'
            + df.to_html(float_format=lambda v: float_format.format(v), border=0, na_rep="")
            + "</div>")


def _obj_html(obj) -> str:
    """HTML of a table-like object: ``_repr_html_``, a DataFrame, or its text in <pre>."""
    if hasattr(obj, "_repr_html_"):
        out = obj._repr_html_()
        if out:
            return f'<div class="scroll">{out}</div>'
    if isinstance(obj, pd.DataFrame):
        return _frame_html(obj)
    if isinstance(obj, pd.Series):
        return _frame_html(obj.to_frame())
    return f"<pre>{html.escape(str(obj))}</pre>"


def _cluster_section(results, figures: bool) -> str | None:
    U = _membership(results)
    if U is None:
        return None
    tasks = results.params.columns
    try:
        from .clusters import cluster_report
    except ImportError:
        cluster_report = None
    if cluster_report is not None:
        body = _obj_html(cluster_report(results.params, U))
    else:
        frame = pd.DataFrame(U.T, index=tasks, columns=[f"G{g + 1}" for g in range(U.shape[0])])
        frame["cluster"] = [f"G{g + 1}" for g in np.argmax(U, axis=0)]
        body = ("<p class='note'>Membership of every task in every group (U); each task is "
                "assigned to its largest membership.</p>" + _frame_html(frame, "{:.3f}"))
    fn = _plotting_function("plot_clusters") if figures else None
    if fn is not None:
        try:
            _, ax = _new_axes((min(3 + 0.2 * len(tasks), 16), 1.5 + 0.3 * U.shape[0]))
            body = _img(_figure_of(fn(U, tasks=tasks, ax=ax)), "task-group membership") + body
        except Exception:  # optional figure
            pass
    return body


def report_html(results, cv=None, title: str | None = None) -> str:
    """The report of :func:`write_report` as an HTML string.

    Parameters
    ----------
    results : MultiTaskResults
    cv : CVResults, optional
        Cross-validation to show; by default ``results.cv`` when alpha was chosen by CV.
    title : str, optional
        Page title (default: the summary's title).

    Returns
    -------
    str
        A complete HTML document.
    """
    from . import __version__

    if cv is None:
        cv = getattr(results, "cv", None)
    summary = results.summary()
    title = title or getattr(summary, "title", None) or "mtreg fit"
    d = results.design
    formula = getattr(d, "formula", None)

    sections: list[tuple[str, str, str]] = []  # (anchor, heading, body)
    sections.append(("summary", "Summary", f'<div class="scroll">{summary.as_html()}</div>'))
    sections.append(("tasks", "Per-task fit", _frame_html(results.task_table())))
    support = results.support()
    sections.append(("support", "Support",
                     "<p class='note'>'x': the feature is selected for the task; counts per "
                     "feature (n_tasks) and per task (n_features).</p>" + _obj_html(support)))
    try:
        import matplotlib  # noqa: F401

        has_mpl = True
    except ImportError:
        has_mpl = False
    clusters = _cluster_section(results, figures=has_mpl)
    if clusters is not None:
        sections.append(("clusters", "Task clusters", clusters))
    if cv is not None:
        body = f"<pre>{html.escape(str(cv))}</pre>"
        if has_mpl:
            body = _img(_cv_figure(cv), "cross-validation curve") + body
        sections.append(("cv", "Cross-validation", body))
    if has_mpl:
        sections.append(("coef", "Coefficients", _img(_coef_figure(results), "coefficient heat map")))
    else:
        sections.append(("coef", "Coefficients",
                         "<p class='note'>matplotlib is not installed: figures were left out "
                         "(pip install matplotlib).</p>"))

    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    meta = f"mtreg {html.escape(__version__)} &middot; {stamp}"
    if formula:
        meta = f"<code>{html.escape(str(formula))}</code> &middot; " + meta
    nav = " ".join(f'<a href="#{a}">{html.escape(h)}</a>' for a, h, _ in sections)
    body = "\n".join(f'<section id="{a}"><h2>{html.escape(h)}</h2>\n{b}\n</section>'
                     for a, h, b in sections)
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
            f"<h1>{html.escape(title)}</h1>\n<p class=\"meta\">{meta}</p>\n<nav>{nav}</nav>\n"
            f"{body}\n</body>\n</html>\n")


def write_report(results, path, cv=None, title: str | None = None) -> Path:
    """Write a self-contained HTML report of a fit.

    One file, no external resources: the summary, the per-task table, the support table, the
    task clusters (models that learn task groups, ``results.record.extra["U"]``), the
    cross-validation curve (``cv``, or ``results.cv`` when alpha was chosen by CV) and a heat map
    of the coefficients, figures embedded as base64 PNG.

    Parameters
    ----------
    results : MultiTaskResults
    path : str or path-like
        The HTML file to write (parent folders must exist).
    cv : CVResults, optional
        Cross-validation to include.
    title : str, optional
        Page title (default: the summary's title).

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import mtreg
    >>> from mtreg.html_report import write_report
    >>> ds = mtreg.datasets.load_parkinsons()
    >>> res = mtreg.fit(ds.formula, task="subject", data=ds.data, alpha_frac=0.1)  # doctest: +SKIP
    >>> write_report(res, "parkinsons.html")  # doctest: +SKIP
    """
    path = Path(path)
    text = report_html(results, cv=cv, title=title)
    path.write_text(text, encoding="utf-8")
    return path
