"""Tables for results: formatting of sparse coefficient tables, headers, support tables.

Everything here takes plain arrays and labels and returns strings, string DataFrames or
table objects; :mod:`mtreg.results` computes the numbers and hands them over. The summary is
a :class:`statsmodels.iolib.summary2.Summary` (so ``as_text``, ``as_html``, ``as_latex`` and
``_repr_html_`` behave as in statsmodels), assembled from declarative ``(label, value)`` lists.
"""
from __future__ import annotations

import html
import io
import math
import numbers

import numpy as np
import pandas as pd
from statsmodels.iolib.summary2 import Summary

#: most task columns shown side by side in one block of the coefficient table
MAX_TASK_COLUMNS = 12
#: how a coefficient that is exactly zero is printed (glmnet's sparse ``coef`` print)
ZERO = "."

NO_SE_NOTE = (
    "Regularised (penalised) estimates: no standard errors, t statistics or p-values are "
    "reported, because the penalty biases the estimates and selects the model from the same "
    "data; for inference use mtreg.stability (stability selection) or "
    "res.refit(method='multisplit') (p-values valid after selection)."
)


# ----------------------------------------------------------------------------- scalars
def fmt_float(x, fmt: str = "%.4g") -> str:
    """Format one number: ``fmt`` for finite floats, ``nan``/``inf`` spelled out, ints as ints."""
    if x is None:
        return ""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, numbers.Integral):
        return str(int(x))
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return fmt % x


def fmt_value(value) -> str:
    """Format a header value: numbers with ``%.4g``, bools as Yes/No, arrays by shape."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return "Yes" if value else "No"
    if isinstance(value, numbers.Number):
        return fmt_float(value)
    if isinstance(value, np.ndarray):
        if value.size <= 4:
            return "[" + ", ".join(fmt_float(v) for v in value.ravel()) + "]"
        return f"array{value.shape}"
    if isinstance(value, (list, tuple)):
        return short_list([fmt_value(v) for v in value])
    return str(value)


def short_list(items, max_items: int = 6) -> str:
    """``"a, b, c"``; long lists are elided as ``"a, b, ..., z (26)"``."""
    items = [str(i) for i in items]
    if len(items) <= max_items:
        return ", ".join(items)
    head = items[: max_items - 2]
    return ", ".join([*head, "...", items[-1]]) + f" ({len(items)})"


def penalty_label(name: str) -> str:
    """Readable penalty name for titles: ``"group_lasso"`` -> ``"group lasso"``."""
    return str(name).replace("_", " ")


def penalty_description(name: str, params: dict) -> str:
    """``"group_lasso (l1_ratio=1)"``; array parameters are shown by shape."""
    if not params:
        return str(name)
    args = ", ".join(f"{k}={fmt_value(v)}" for k, v in params.items())
    return f"{name} ({args})"


# ----------------------------------------------------------------------------- header
def header_pairs(*, response_names, task_column, penalty_name, penalty_params, family,
                 alpha, alpha_frac, n_tasks, n_features, n_rows, n_dropped, fit_intercept,
                 standardize, solver, converged, n_iter, gap, gap_tol, objective,
                 is_convex=True, levels=None) -> list[tuple[str, str]]:
    """The ``(label, value)`` pairs of the summary header, values already formatted.

    Parameters
    ----------
    response_names : list of str
        One name (long form) or one per task (wide form).
    task_column : str or None
        Task column of a long-format table.
    penalty_name : str
    penalty_params : dict
        Hyperparameters of the penalty other than alpha.
    family : str
    alpha, alpha_frac : float
        Regularisation strength and its ratio to ``alpha_max`` (nan if unknown).
    n_tasks, n_features, n_rows, n_dropped : int
        Tasks, features (columns of X), responses used in the fit, input rows dropped for
        missing values.
    fit_intercept, standardize, converged : bool
    solver : str
    n_iter : int
    gap, gap_tol, objective : float
        Final duality gap, the gap the solver had to reach, objective of the solved problem.
    is_convex : bool
        Non-convex fits report their objective instead of a duality gap.
    levels : str, optional
        Level order of a binary response (``"0 < 1"``, ``"no < yes"``): the second level is
        the one whose probability is modelled (binomial family).

    Returns
    -------
    list of (str, str)
    """
    pairs = [("Response:", short_list(response_names))]
    if task_column is not None:
        pairs.append(("Task column:", str(task_column)))
    pairs.append(("Penalty:", str(penalty_name)))
    if penalty_params:
        pairs.append(("Penalty params:",
                      ", ".join(f"{k}={fmt_value(v)}" for k, v in penalty_params.items())))
    pairs += [
        ("Family:", str(family)),
        *([("Levels:", str(levels))] if levels is not None else []),
        ("Alpha:", fmt_float(alpha)),
        ("Alpha / alpha_max:", fmt_float(alpha_frac)),
        ("No. tasks:", str(int(n_tasks))),
        ("No. features:", str(int(n_features))),
        ("Rows used:", str(int(n_rows))),
        ("Rows dropped (NA):", str(int(n_dropped))),
        ("Fit intercept:", fmt_value(bool(fit_intercept))),
        ("Standardize:", fmt_value(bool(standardize))),
        ("Solver:", str(solver)),
        ("Converged:", fmt_value(bool(converged))),
        ("Iterations:", str(int(n_iter))),
    ]
    if is_convex and not (gap is None or math.isnan(float(gap))):
        pairs.append(("Duality gap:", fmt_float(gap, "%.3g")))
        pairs.append(("Gap target (tol*F(0)):", fmt_float(gap_tol, "%.3g")))
    else:
        pairs.append(("Duality gap:", "n/a (non-convex)" if not is_convex else "n/a"))
    pairs.append(("Objective:", fmt_float(objective, "%.6g")))
    return pairs


def pairs_to_array(pairs, ncols: int = 2) -> np.ndarray:
    """Lay ``(label, value)`` pairs out in ``ncols`` label/value column pairs (column-major).

    Returns
    -------
    ndarray of str, shape (ceil(len(pairs) / ncols), 2 * ncols)
    """
    pairs = [(str(a), str(b)) for a, b in pairs]
    nrows = max(1, math.ceil(len(pairs) / ncols))
    pairs += [("", "")] * (nrows * ncols - len(pairs))
    out = np.empty((nrows, 2 * ncols), dtype=object)
    for i, (lab, val) in enumerate(pairs):
        col, row = divmod(i, nrows)
        out[row, 2 * col] = lab
        out[row, 2 * col + 1] = val
    return out


# ----------------------------------------------------------------------------- tables
def column_blocks(n_cols: int, max_cols: int = MAX_TASK_COLUMNS) -> list[slice]:
    """Split ``n_cols`` columns into consecutive slices of at most ``max_cols`` (balanced)."""
    if max_cols < 1:
        raise ValueError(f"max_cols must be a positive integer, got {max_cols!r}")
    n_blocks = max(1, math.ceil(n_cols / max_cols))
    bounds = np.linspace(0, n_cols, n_blocks + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def sparse_coef_frame(coef: np.ndarray, row_labels, col_labels, fmt: str = "%.4g",
                      zero: str = ZERO) -> pd.DataFrame:
    """Coefficients as strings, exact zeros shown as ``zero`` (glmnet's sparse print).

    Parameters
    ----------
    coef : ndarray of shape (p, K)
    row_labels, col_labels : sequences of length p and K
    fmt : str
        printf-style format of nonzero entries.
    zero : str
        What an exact zero prints as.

    Returns
    -------
    DataFrame of str, shape (p, K)
    """
    coef = np.asarray(coef, dtype=float)
    cells = np.empty(coef.shape, dtype=object)
    for idx, v in np.ndenumerate(coef):
        cells[idx] = zero if v == 0 else fmt_float(v, fmt)
    return pd.DataFrame(cells, index=[str(r) for r in row_labels],
                        columns=[str(c) for c in col_labels])


def task_table_strings(table: pd.DataFrame) -> pd.DataFrame:
    """Format the per-task statistics (columns n, dropped, R2, RMSE, nnz, intercept; binomial:
    deviance, null_deviance, AUC, AUC_PR, accuracy) as text."""
    formats = {"n": "%d", "dropped": "%d", "R2": "%.4f", "RMSE": "%.4g", "nnz": "%d",
               "intercept": "%.4g", "deviance": "%.4g", "null_deviance": "%.4g", "AUC": "%.4f",
               "AUC_PR": "%.4f", "accuracy": "%.4f"}
    headers = {"n": "n", "dropped": "dropped", "R2": "R^2", "RMSE": "RMSE", "nnz": "nonzeros",
               "intercept": "intercept", "deviance": "deviance", "null_deviance": "null dev.",
               "AUC": "AUC", "AUC_PR": "AUC-PR", "accuracy": "accuracy"}
    out = pd.DataFrame(index=[str(t) for t in table.index])
    for col in table.columns:
        fmt = formats.get(col, "%.4g")
        vals = table[col].to_numpy()
        out[headers.get(col, str(col))] = [
            fmt_float(int(v), "%d") if fmt == "%d" and np.isfinite(v) else fmt_float(v, fmt)
            for v in vals]
    return out


def build_summary(title: str, pairs, task_table: pd.DataFrame | None,
                  coef: np.ndarray, feature_names, task_names, notes=(),
                  max_cols: int = MAX_TASK_COLUMNS, extra_tables=()) -> MultiTaskSummary:
    """Assemble the summary: header pairs, per-task table, coefficient blocks, notes.

    Parameters
    ----------
    title : str
    pairs : list of (str, str)
        Header, see :func:`header_pairs`.
    task_table : DataFrame or None
        Per-task statistics (numbers), formatted with :func:`task_table_strings`.
    coef : ndarray of shape (p, K)
        Coefficients, original scale; zeros are printed as ``'.'``.
    feature_names, task_names : sequences of length p and K
    notes : sequence of str
        Lines appended below the tables.
    max_cols : int
        Most task columns per coefficient block.
    extra_tables : sequence of (str, DataFrame)
        Model-specific tables (e.g. the support of each component), placed after the per-task
        table; the string heads the stub column.

    Returns
    -------
    MultiTaskSummary
        A :class:`statsmodels.iolib.summary2.Summary`.
    """
    smry = MultiTaskSummary()
    smry.add_title(title)
    smry.add_array(pairs_to_array(pairs), align="l")
    if task_table is not None:
        tt = _with_stub_header(task_table_strings(task_table), "task")
        smry.add_df(tt, index=False, header=True, align=_stub_align(tt))
    for name, table in extra_tables:
        et = _with_stub_header(table.astype(str), name)
        smry.add_df(et, index=False, header=True, align=_stub_align(et))
    task_names = list(task_names)
    blocks = column_blocks(len(task_names), max_cols)
    frame = sparse_coef_frame(coef, feature_names, task_names)
    for sl in blocks:
        # the stub header names the block, so a split table stays readable in every format
        name = "coef" if len(blocks) == 1 else f"tasks {sl.start + 1}-{sl.stop} of {len(task_names)}"
        block = _with_stub_header(frame.iloc[:, sl], name)
        smry.add_df(block, index=False, header=True, align=_stub_align(block))
    for note in notes:
        smry.add_text(note)
    return smry


def _stub_align(df: pd.DataFrame) -> str:
    """Labels left, numbers right (text output; see :meth:`MultiTaskSummary.as_latex`)."""
    return "l" + "r" * (df.shape[1] - 1)


def _with_stub_header(df: pd.DataFrame, name: str) -> pd.DataFrame:
    """Move the row labels into a first column headed ``name`` (SimpleTable prints no index
    name, so this is how the stub column gets a header)."""
    cells = np.column_stack([np.array([str(i) for i in df.index], dtype=object),
                             df.to_numpy(dtype=object)])
    out = pd.DataFrame(cells, columns=[name, *[str(c) for c in df.columns]])
    return out


# ----------------------------------------------------------------------------- escaping
_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
                  "|": r"\textbar{}"}
# statsmodels' SimpleTable already escapes these in table cells (not in title and notes)
_LATEX_DONE_BY_SIMPLETABLE = set("#$%&>_|")


def latex_escape(text: str, *, cell: bool = False) -> str:
    """Escape LaTeX special characters in plain text.

    With ``cell=True`` only the characters statsmodels' ``SimpleTable`` leaves alone are
    escaped (it escapes ``# $ % & > _ |`` in table cells itself).
    """
    skip = _LATEX_DONE_BY_SIMPLETABLE if cell else set()
    return "".join(ch if ch in skip else _LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def _map_cells(df: pd.DataFrame, func) -> pd.DataFrame:
    out = df.copy()
    out = out.map(lambda v: func(v) if isinstance(v, str) else v)
    out.index = [func(str(i)) if isinstance(i, str) else i for i in out.index]
    out.columns = [func(str(c)) if isinstance(c, str) else c for c in out.columns]
    return out


class MultiTaskSummary(Summary):
    """statsmodels' :class:`~statsmodels.iolib.summary2.Summary`, escaping HTML and LaTeX.

    Feature names from formulas (``I(x**2)``, ``C(g)[T.a_b]``, ``x < 3``) contain characters
    that are special in HTML and LaTeX; the text output is unchanged.
    """

    def _escaped(self, func, cell_func=None) -> Summary:
        twin = Summary()
        twin.tables = [_map_cells(t, cell_func or func) for t in self.tables]
        # per-column alignments ("lrr") suit the text output only; statsmodels' LaTeX and
        # HTML writers take one alignment for the header and every column
        twin.settings = [{**s, "align": s["align"][-1]} for s in self.settings]
        twin.extra_txt = [func(t) for t in self.extra_txt]
        twin.title = None if self.title is None else func(self.title)
        twin._merge_latex = self._merge_latex
        return twin

    def as_html(self) -> str:
        """HTML tables (cells escaped), preceded by the title."""
        body = Summary.as_html(self._escaped(html.escape))
        title = "" if not self.title else f"<h4>{html.escape(self.title)}</h4>\n"
        return title + body

    def as_latex(self, label: str = "") -> str:
        """A LaTeX ``table`` environment (cells escaped)."""
        twin = self._escaped(latex_escape, lambda s: latex_escape(s, cell=True))
        return Summary.as_latex(twin, label=label)


# ----------------------------------------------------------------------------- support
class SupportTable:
    """Which features each task selected: a features x tasks boolean table with counts.

    Parameters
    ----------
    coef : DataFrame of shape (p, K)
        Coefficients, features x tasks; the support is ``coef != 0``.
    kind : DataFrame of str, shape (p, K), optional
        A label per entry for models with components (dirty: ``"shared"``, ``"specific"``,
        ``"shared+specific"``); printed as ``S``, ``s`` and ``B`` instead of ``x``, and a
        ``kind`` column in :meth:`to_frame`.

    Attributes
    ----------
    table : DataFrame of bool, shape (p, K)
        ``True`` where the feature is selected for the task.
    n_tasks : Series of int, length p
        For each feature, the number of tasks selecting it (the count column).
    n_features : Series of int, length K
        For each task, the number of selected features (the count row).
    """

    _MARKS = {"shared": "S", "specific": "s", "shared+specific": "B"}

    def __init__(self, coef: pd.DataFrame, kind: pd.DataFrame | None = None):
        self._coef = coef
        self.kind = kind
        self.table = coef != 0
        self.n_tasks = self.table.sum(axis=1).astype(int).rename("n_tasks")
        self.n_features = self.table.sum(axis=0).astype(int).rename("n_features")

    def __len__(self) -> int:
        return self.table.shape[0]

    @property
    def shape(self) -> tuple[int, int]:
        return self.table.shape

    def selected(self) -> SupportTable:
        """The table restricted to features selected by at least one task."""
        keep = self.n_tasks.to_numpy() > 0
        return SupportTable(self._coef.loc[keep], None if self.kind is None else self.kind.loc[keep])

    def to_frame(self) -> pd.DataFrame:
        """Long format of the nonzero coefficients: columns ``feature, task, coef``."""
        rows, cols = np.nonzero(self.table.to_numpy())
        out = pd.DataFrame({
            "feature": self._coef.index[rows],
            "task": self._coef.columns[cols],
            "coef": self._coef.to_numpy()[rows, cols],
        })
        if self.kind is not None:
            out["kind"] = self.kind.to_numpy()[rows, cols]
        return out

    def _display(self, selected: str = "x", unselected: str = ".") -> pd.DataFrame:
        marks = np.where(self.table.to_numpy(), selected, unselected).astype(object)
        if self.kind is not None:
            kinds = self.kind.to_numpy()
            for label, mark in self._MARKS.items():
                marks[(kinds == label) & self.table.to_numpy()] = mark
        out = pd.DataFrame(marks, index=[str(i) for i in self.table.index],
                           columns=[str(c) for c in self.table.columns])
        out["n_tasks"] = self.n_tasks.to_numpy().astype(str)
        out.loc["n_features"] = [*self.n_features.to_numpy().astype(str),
                                 str(int(self.table.to_numpy().sum()))]
        return out

    def _counts_frame(self) -> pd.DataFrame:
        out = self.table.astype(int)
        out["n_tasks"] = self.n_tasks.to_numpy()
        out.loc["n_features"] = [*self.n_features.to_numpy(), int(self.table.to_numpy().sum())]
        return out

    def __str__(self) -> str:
        legend = ("'S' shared row, 's' task-specific, 'B' both, '.' not" if self.kind is not None
                  else "'x' selected, '.' not")
        head = (f"Support: {self.table.shape[0]} features x {self.table.shape[1]} tasks, "
                f"{int(self.table.to_numpy().sum())} nonzeros ({legend})")
        return head + "\n" + self._display().to_string()

    def __repr__(self) -> str:
        return self.__str__()

    def _repr_html_(self) -> str:
        return self._display().to_html(escape=True)

    def as_latex(self) -> str:
        """A LaTeX tabular ('x' selected, '.' not, with the count column and row)."""
        disp = _map_cells(self._display(), latex_escape)
        return disp.to_latex(escape=False)

    def as_csv(self) -> str:
        """CSV of the 0/1 support with the count column ``n_tasks`` and row ``n_features``."""
        buf = io.StringIO()
        self._counts_frame().to_csv(buf, index_label="feature")
        return buf.getvalue()
