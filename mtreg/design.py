"""Formula / wide / arrays -> :class:`TaskDesign` (see shared DESIGN.md, step 1).

Three ways in, one object out:

* :func:`from_formula` -- a long table with a task column (``task="tf"``), or a wide
  table whose responses are the tasks (``"y1 + y2 ~ x1 + x2"``, ``task=None``);
* :func:`from_endog_exog` -- statsmodels-style arrays, ``endog`` (N,) with ``task`` (N,)
  labels, or ``endog`` (n, K) sharing one ``exog``;
* :func:`from_arrays` -- one ``(X_k, y_k)`` pair per task.

Nothing is dropped silently: rows with missing values are counted per task
(``TaskDesign.dropped``) or refused (``missing="raise"``); infinite values are refused.
"""
from __future__ import annotations

import ast
import builtins
import functools
import keyword
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import patsy
import scipy.sparse as sp
from patsy import EvalEnvironment, PatsyError

from ._validation import (
    as_csc,
    check_dataframe,
    check_finite_columns,
    check_min_rows,
    check_missing,
    column_to_float,
    float_dtype,
    format_names,
    missing_message,
    numeric_dtype,
    plural,
    take_rows,
    task_codes,
)

__all__ = ["TaskDesign", "from_arrays", "from_endog_exog", "from_formula"]

@dataclass
class TaskDesign:
    """A multi-task design: stacked X, stacked y, task offsets and the labels to report them.

    Attributes
    ----------
    X : ndarray (N, p), or scipy.sparse.csc_matrix
        Raw (unscaled, uncentred) design, rows stacked by task; when ``shared``, the single
        (n, p) design every task uses. Dense X is float64, or float32 when the input was
        float32, and column-major, except a shared design given to :func:`from_endog_exog` as a
        contiguous float array, which is kept as it is (not copied). The solver works on its
        own centred, standardised, column-major copy (:func:`mtreg.solvers.make_problem`).
    y : ndarray of shape (sum_k n_k,)
        Responses stacked by task (for ``shared``: task k occupies ``y[k*n:(k+1)*n]``).
    task_ptr : ndarray of int64, shape (K + 1,)
        Offsets of each task in ``y`` (and in the rows of X when not shared).
    tasks : pandas.Index
        Task labels, in task order (length K).
    feature_names : list of str
        Column names of X (length p); the patsy "Intercept" column is never part of X.
    response_names : list of str
        The response name (long form: one) or the K response names (wide form).
    shared : bool
        One X for every task (wide form ``"y1 + y2 ~ x"``, or arrays with one X).
    row_index : ndarray of int64, shape (sum_k n_k,)
        For each stacked response entry, its row position (0-based) in the input table/arrays;
        for ``shared`` designs, the position of row i of X (length n; the same for every task).
    n_input_rows : int
        Rows of the input table (before dropping missing values).
    data_index : pandas.Index
        The input table's index (or a RangeIndex for arrays): labels fittedvalues/resid.
    dropped : pandas.Series
        Rows dropped for missing values, per task (int, indexed by ``tasks``).
    task_column : str or None
        Name of the task column (long form), None otherwise.
    formula : str or None
    design_info : patsy.DesignInfo or None
        Rebuilds X for :meth:`transform` / ``predict`` (formula designs only). It describes
        patsy's full right-hand side; the "Intercept" column is dropped after every build.
    extra : dict
        Further facts about the build: ``"source"`` (``"formula"``, ``"endog_exog"`` or
        ``"arrays"``), ``"dropped_no_task"`` (rows dropped because their task label was
        missing; long form), ``"rhs_columns"`` (data columns the features are built from),
        ``"formula_expanded"`` (the formula after expanding ``.``, when it was used).
    """

    X: np.ndarray | sp.csc_matrix
    y: np.ndarray
    task_ptr: np.ndarray
    tasks: pd.Index
    feature_names: list[str]
    response_names: list[str]
    shared: bool
    row_index: np.ndarray
    n_input_rows: int
    data_index: pd.Index
    dropped: pd.Series
    task_column: str | None = None
    formula: str | None = None
    design_info: object | None = None
    extra: dict = field(default_factory=dict)

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_samples(self) -> np.ndarray:
        """Rows per task, shape (K,)."""
        return np.diff(self.task_ptr)

    def __repr__(self) -> str:
        kind = "sparse" if sp.issparse(self.X) else "dense"
        parts = [
            f"n_tasks={self.n_tasks}",
            f"n_features={self.n_features}",
            f"n_obs={len(self.y)}",
            f"shared={self.shared}",
            f"X={kind} {self.X.shape[0]}x{self.X.shape[1]}",
        ]
        if self.formula is not None:
            parts.insert(0, f"formula={self.formula!r}")
        if self.task_column is not None:
            parts.insert(1, f"task_column={self.task_column!r}")
        if self.shared:  # the same rows are dropped for every task
            n_dropped = int(self.dropped.iloc[0]) if len(self.dropped) else 0
        else:
            n_dropped = int(self.dropped.sum()) + int(self.extra.get("dropped_no_task", 0))
        if n_dropped:
            parts.append(f"dropped={n_dropped}")
        return "TaskDesign(" + ", ".join(parts) + ")"

    def transform(self, data, task=None) -> tuple[np.ndarray | sp.csc_matrix, np.ndarray | None]:
        """Build the design matrix for new rows, the way it was built for fitting.

        Parameters
        ----------
        data : pandas.DataFrame (formula designs) or array-like / scipy.sparse of shape (m, p)
            New rows. For a formula design, the columns the formula uses (and, in long form,
            the task column unless ``task`` is given); categorical levels must have been seen
            when the design was built. For an array design, an (m, p) array, sparse matrix
            or DataFrame (whose columns are matched to ``feature_names`` by name when they
            are all present). Missing values are an error: predictions never drop rows.
        task : array-like of shape (m,), optional
            Task label of each new row. For a long-form formula design it defaults to the
            task column of ``data``; for a per-task array design it is required unless the
            design has a single task. Not accepted for shared (wide) designs.

        Returns
        -------
        X_new : ndarray of shape (m, p), float64 F-contiguous (csc_matrix for sparse input)
            Raw (unscaled) design for the new rows, columns as ``feature_names``.
        task_codes : ndarray of int64, shape (m,), or None
            Position of each row's task in ``tasks``; None for shared designs, whose rows
            belong to every task.
        """
        if self.design_info is not None:
            return _transform_formula(self, data, task)
        return _transform_arrays(self, data, task)


# ---------------------------------------------------------------------------------------
# formulas
# ---------------------------------------------------------------------------------------

_PATSY_NAMES = frozenset(patsy.builtins.__all__)
_OUTER_NAMESPACE = {"np": np, "numpy": np}
_DOT = re.compile(r"(?<![\w.])\.(?![\w.])")


def _capture_env(eval_env) -> EvalEnvironment:
    """Namespace for names in the formula that are not columns (``np`` is always known)."""
    if isinstance(eval_env, EvalEnvironment):
        env = eval_env
    elif isinstance(eval_env, (int, np.integer)) and not isinstance(eval_env, bool) \
            and eval_env >= 0:
        # depth 0 is this helper, 1 is from_formula, 2 its caller
        env = EvalEnvironment.capture(int(eval_env) + 2)
    else:
        raise TypeError(
            "eval_env must be a non-negative int (frames above the caller of from_formula) "
            f"or a patsy.EvalEnvironment; got {eval_env!r}"
        )
    return env.with_outer_namespace(_OUTER_NAMESPACE)


def _parse_formula(formula: str, shown: str) -> patsy.ModelDesc:
    try:
        return patsy.ModelDesc.from_formula(formula)
    except (PatsyError, SyntaxError) as err:
        raise ValueError(f"invalid formula {shown!r}:\n{err}") from None


def _quote(name: str) -> str:
    if name.isidentifier() and not keyword.iskeyword(name) and name not in _PATSY_NAMES:
        return name
    return f"Q({name!r})"


def _names_in_code(code: str, shown: str) -> list[tuple[str, bool]]:
    """Names a factor's Python code refers to, as (name, quoted-with-Q) pairs."""
    try:
        tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError:
        raise ValueError(f"invalid formula {shown!r}: cannot parse the term {code!r}") from None
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            found.append((node.id, False))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "Q"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.args[0].value, True))
    return found


def _columns_in(codes, data: pd.DataFrame, env: EvalEnvironment, shown: str) -> list[str]:
    """Data columns the factor codes use, in order; ValueError naming unknown names."""
    columns = {c for c in data.columns if isinstance(c, str)}
    used: list[str] = []
    unknown: list[str] = []
    for code in codes:
        for name, quoted in _names_in_code(code, shown):
            if name in columns:
                if name not in used:
                    used.append(name)
            elif quoted or not (
                name in env.namespace or name in _PATSY_NAMES or hasattr(builtins, name)
            ):
                if name not in unknown:
                    unknown.append(name)
    if unknown:
        raise ValueError(
            f"formula {shown!r} names column(s) {format_names(unknown)} not found in data; "
            f"available columns: {format_names(data.columns, 30)}"
        )
    return used


def _expand_dot(formula: str, data: pd.DataFrame, task, env: EvalEnvironment) -> str:
    """``y ~ .`` -> every column except the response(s) and the task column."""
    if "~" not in formula:
        return formula
    lhs, rhs = formula.split("~", 1)
    if not _DOT.search(rhs):
        return formula
    desc = _parse_formula(lhs + "~ 1", formula)
    codes = [f.code for term in desc.lhs_termlist for f in term.factors]
    exclude = set(_columns_in(codes, data, env, formula))
    if task is not None:
        exclude.add(task)
    terms = [_quote(c) for c in data.columns if isinstance(c, str) and c not in exclude]
    return lhs + "~" + _DOT.sub("(" + (" + ".join(terms) or "0") + ")", rhs)


def binary_codes(values, name: str) -> tuple[np.ndarray, tuple[str, str]]:
    """A binary response as 0/1 floats (nan for NA) and its level order ``(level0, level1)``.

    Accepted: numbers (must be 0/1; levels ``("0", "1")``), booleans (``("False", "True")``),
    a pandas Categorical with two categories (their order), or any other two distinct labels
    (sorted, as R orders the levels of a factor). The second level is coded 1.

    Parameters
    ----------
    values : array-like of shape (n,)
    name : str
        The response's name, for error messages.

    Returns
    -------
    codes : ndarray of float64, shape (n,)
    levels : (str, str)
    """
    series = values if isinstance(values, pd.Series) else pd.Series(np.asarray(values))
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan), ("False", "True")
    if isinstance(dtype, pd.CategoricalDtype):
        cats = list(dtype.categories)
        if len(cats) != 2:
            raise ValueError(f"response {name!r} is categorical with {len(cats)} categories "
                             f"({format_names(cats)}); family='binomial' needs exactly two")
        codes = series.cat.codes.to_numpy().astype(np.float64)
        codes[codes < 0] = np.nan
        return codes, (str(cats[0]), str(cats[1]))
    if numeric_dtype(dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan), ("0", "1")
    present = series.dropna()
    labels = pd.unique(present.to_numpy())
    try:
        labels = sorted(labels)
    except TypeError:
        labels = sorted(labels, key=str)
    if len(labels) != 2:
        raise ValueError(f"response {name!r} has {len(labels)} distinct value(s) "
                         f"({format_names([str(v) for v in labels])}); family='binomial' needs "
                         "exactly two (or 0/1 numbers, or booleans)")
    codes = np.full(len(series), np.nan)
    mask = series.notna().to_numpy()
    codes[mask] = (series[mask].to_numpy() == labels[1]).astype(np.float64)
    return codes, (str(labels[0]), str(labels[1]))


def _single_column(data: pd.DataFrame, name, what: str = "data") -> pd.Series:
    col = data[name]
    if isinstance(col, pd.DataFrame):
        raise ValueError(f"column {name!r} appears {col.shape[1]} times in {what}")
    return col


def _prepare_frame(data: pd.DataFrame, columns, to_float=(), what="data") -> pd.DataFrame:
    """The used columns, positionally indexed, in dtypes patsy handles.

    Nullable numeric columns (Int64, Float64) and boolean responses become float64 with
    nan for NA; a nullable boolean feature becomes object with None for NA (patsy then
    treats it as categorical, like a numpy bool column).
    """
    out = {}
    for name in columns:
        col = _single_column(data, name, what).reset_index(drop=True)
        dtype = col.dtype
        if name in to_float or (
            numeric_dtype(dtype)
            and isinstance(dtype, pd.api.extensions.ExtensionDtype)
            and not isinstance(dtype, pd.BooleanDtype)
        ):
            col = pd.Series(col.to_numpy(dtype=np.float64, na_value=np.nan))
        elif isinstance(dtype, pd.BooleanDtype):
            col = col.astype(object).where(col.notna(), None)
        out[name] = col
    return pd.DataFrame(out, index=pd.RangeIndex(len(data)))


def _check_columns(work: pd.DataFrame, what: str = "", all_missing: bool = True) -> np.ndarray:
    """Infinite (and, if ``all_missing``, entirely missing) columns raise; returns the NA mask."""
    na = np.column_stack([work[c].isna().to_numpy() for c in work.columns]) \
        if work.shape[1] else np.zeros((len(work), 0), dtype=bool)
    for j, name in enumerate(work.columns):
        if all_missing and na[:, j].all():
            raise ValueError(f"column {name!r}{what} is entirely missing ({plural(len(work), 'row')})")
        col = work[name]
        if col.dtype.kind == "f":
            n_inf = int(np.isinf(col.to_numpy()).sum())
            if n_inf:
                raise ValueError(
                    f"infinite values in column {name!r}{what} ({plural(n_inf, 'row')}); "
                    "infinite values are never dropped: fix or remove them"
                )
    return na


def from_formula(formula: str, data: pd.DataFrame, task=None, missing: str = "drop", *,
                 eval_env=0, binary: bool = False) -> TaskDesign:
    """Build a :class:`TaskDesign` from a formula and a table.

    Long form (``task="colname"``): one response, one row per observation, a task column.
    patsy builds the design once on the whole table (so every task has the same columns
    and categorical levels); rows are then grouped by task, keeping their order within a
    task. Wide form (``task=None``): each response on the left of ``~``
    (``"y1 + y2 + y3 ~ x1 + x2"``) is a task and all tasks share one X.

    Parameters
    ----------
    formula : str
        patsy formula, e.g. ``"y ~ x1 + C(site) + x1:x2 + np.log(x3)"``. ``.`` on the right
        stands for every column except the response(s) and the task column. The patsy
        "Intercept" column is never part of X: per-task intercepts are fitted separately.
        With ``- 1`` patsy codes the first categorical factor in full rank; those columns
        are kept.
    data : pandas.DataFrame of shape (n_input_rows, n_columns)
        Any index (duplicated labels too): rows are addressed by position.
    task : hashable, optional
        Name of the task column (long form). Labels of any hashable type. Task order: the
        category order for a pandas Categorical (categories without rows are left out),
        otherwise the sorted labels, or the order of first appearance when the labels
        cannot be sorted (e.g. a mix of str and int).
    missing : {"drop", "raise"}
        Rows with a missing value in a used column (response, features, task) are dropped
        and counted per task in ``dropped`` (rows without a task label in
        ``extra["dropped_no_task"]``), or raise a ValueError. Infinite values always raise.
    eval_env : int or patsy.EvalEnvironment, default 0
        Where names in the formula that are not columns are looked up: 0 is the caller's
        namespace, 1 the caller's caller, ... ``np`` is always available.
    binary : bool, default False
        Binary responses (``family="binomial"``): a response may also be a two-level
        categorical (strings, pandas Categorical, ``C(...)``); it is coded 0/1 (second level =
        1) and the level order is recorded in ``extra["levels"]`` (response name ->
        ``(level0, level1)``; ``("0", "1")`` for numbers, ``("False", "True")`` for booleans).

    Returns
    -------
    TaskDesign
        Long form: X (N, p) stacked by task, y (N,), ``shared=False``. Wide form: X (n, p)
        once, y (K * n,) stacked response by response, ``shared=True``, tasks = responses.

    Raises
    ------
    TypeError
        ``data`` is not a DataFrame; a response is not numeric (booleans count as 0/1).
    ValueError
        Invalid formula or ``missing``; a column the formula or ``task`` names is absent;
        an all-missing or infinite column; the task column used as the response; several
        responses with a task column; a task with fewer than 2 rows; missing values with
        ``missing="raise"``.
    """
    missing = check_missing(missing)
    check_dataframe(data)
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a str; got {type(formula).__name__}")
    if task is not None:
        try:
            present = task in data.columns
        except TypeError:
            present = False
        if not present:
            raise ValueError(
                f"task column {task!r} not found in data; available columns: "
                f"{format_names(data.columns, 30)}"
            )
        task_col = _single_column(data, task)
    env = _capture_env(eval_env)
    expanded = _expand_dot(formula, data, task, env)
    desc = _parse_formula(expanded, formula)
    if not desc.lhs_termlist:
        raise ValueError(
            f"formula {formula!r} has no response: write it as 'y ~ x1 + x2' "
            "(or 'y1 + y2 ~ x1 + x2' for one task per response)"
        )
    lhs_codes = [f.code for term in desc.lhs_termlist for f in term.factors]
    rhs_codes = [f.code for term in desc.rhs_termlist for f in term.factors]
    lhs_cols = _columns_in(lhs_codes, data, env, formula)
    rhs_cols = _columns_in(rhs_codes, data, env, formula)
    if task is not None:
        if task in lhs_cols:
            raise ValueError(
                f"the task column {task!r} cannot be (part of) the response in formula "
                f"{formula!r}"
            )
        if len(desc.lhs_termlist) > 1:
            raise ValueError(
                f"formula {formula!r} has {len(desc.lhs_termlist)} responses, but the long "
                f"form (task={task!r}) takes one response; for one task per response use "
                "task=None (wide form)"
            )
    # responses named directly: numeric, booleans as 0/1
    to_float = []
    bool_responses = set()
    for code in lhs_codes:
        name = code.strip()
        if name in lhs_cols:
            dtype = _single_column(data, name).dtype
            if not numeric_dtype(dtype) and not binary:
                raise TypeError(f"response {name!r} is not numeric (dtype {dtype})")
            if pd.api.types.is_bool_dtype(dtype):
                to_float.append(name)
                bool_responses.add(name)

    used = list(dict.fromkeys(lhs_cols + rhs_cols))
    work = _prepare_frame(data, used, to_float=to_float)
    na = _check_columns(work)
    n_input = len(data)
    if task is not None:
        tasks, codes = task_codes(task_col.reset_index(drop=True))
        if len(tasks) == 0:
            raise ValueError(f"task column {task!r} is entirely missing ({plural(n_input, 'row')})")
        na_task = codes < 0
    else:
        na_task = np.zeros(n_input, dtype=bool)
    row_na = na.any(axis=1) | na_task
    if missing == "raise" and row_na.any():
        counts = {c: int(na[:, j].sum()) for j, c in enumerate(used) if na[:, j].any()}
        if na_task.any():
            counts[task] = int(na_task.sum())
        raise ValueError(missing_message(counts, int(row_na.sum())))
    keep = np.flatnonzero(~row_na)
    if keep.size == 0:
        raise ValueError(
            f"no rows left: every one of the {plural(n_input, 'row')} has a missing value in "
            f"column(s) {format_names(used)}"
        )
    sub = work.iloc[keep]
    sub.index = pd.Index(keep)
    try:
        ydf, Xdf = patsy.dmatrices(
            expanded, sub, eval_env=env, NA_action=patsy.NAAction(on_NA=missing),
            return_type="dataframe",
        )
    except PatsyError as err:
        raise ValueError(f"could not build the design for formula {formula!r}:\n{err}") from None

    for factor, info in ydf.design_info.factor_infos.items():
        if info.type == "categorical" and not binary:
            raise TypeError(
                f"response {factor.name()!r} is not numeric (patsy treats it as categorical)"
            )
    levels = None
    if binary:
        ydf, levels = _binary_responses(ydf, bool_responses,
                                        [term.name() for term in desc.lhs_termlist])
    response_names = [str(c) for c in ydf.columns]
    if task is not None and len(response_names) != 1:
        raise ValueError(
            f"the long form (task={task!r}) takes one response column; formula {formula!r} "
            f"gives {len(response_names)}: {format_names(response_names)}"
        )
    design_info = Xdf.design_info
    Xdf = Xdf.drop(columns="Intercept", errors="ignore")
    feature_names = [str(c) for c in Xdf.columns]
    if not feature_names:
        raise ValueError(
            f"formula {formula!r} has no features (only an intercept, which mtreg fits per task)"
        )
    kept = ydf.index.to_numpy(dtype=np.int64)
    Xv = Xdf.to_numpy(dtype=np.float64)
    Yv = ydf.to_numpy(dtype=np.float64)
    check_finite_columns(Xv, feature_names, "design")
    check_finite_columns(Yv, response_names, "response")

    extra = {"source": "formula", "rhs_columns": rhs_cols}
    if levels is not None:
        extra["levels"] = levels
    if expanded != formula:
        extra["formula_expanded"] = expanded
    common = dict(
        feature_names=feature_names, response_names=response_names, n_input_rows=n_input,
        data_index=data.index, formula=formula, design_info=design_info,
    )
    if task is not None:
        X, y, task_ptr, row_index, dropped, no_task = _stack_by_task(Xv, Yv[:, 0], kept, codes,
                                                                      tasks)
        extra["dropped_no_task"] = no_task
        return TaskDesign(X=X, y=y, task_ptr=task_ptr, tasks=tasks, shared=False,
                          row_index=row_index, dropped=dropped, task_column=task, extra=extra,
                          **common)
    tasks = pd.Index(response_names)
    X, y, task_ptr, dropped = _shared(Xv, Yv, tasks, n_input)
    return TaskDesign(X=X, y=y, task_ptr=task_ptr, tasks=tasks, shared=True, row_index=kept,
                      dropped=dropped, extra=extra, **common)


def _binary_responses(ydf: pd.DataFrame, bool_responses, order) -> tuple[pd.DataFrame, dict]:
    """One 0/1 column per response term of patsy's left-hand side, and the level orders.

    patsy codes a categorical response with one indicator column per level; a two-level one
    keeps the indicator of its second level (named after the term). Columns follow ``order``
    (the formula's order; patsy puts categorical terms first).
    """
    info = ydf.design_info
    columns, levels = {}, {}
    for term, sl in info.term_slices.items():
        name = term.name()
        block = ydf.iloc[:, sl]
        cats = [f for f in term.factors if info.factor_infos[f].type == "categorical"]
        if cats:
            categories = info.factor_infos[cats[0]].categories
            if len(term.factors) != 1 or len(categories) != 2:
                raise ValueError(
                    f"response {name!r} has {len(categories)} levels "
                    f"({format_names([str(c) for c in categories])}); family='binomial' needs "
                    "exactly two (or 0/1 numbers, or booleans)")
            columns[name] = block.iloc[:, 1].to_numpy(dtype=np.float64)
            levels[name] = (str(categories[0]), str(categories[1]))
        else:
            if block.shape[1] != 1:  # pragma: no cover - a numeric term gives one column
                raise ValueError(f"response {name!r} gives {block.shape[1]} columns")
            columns[name] = block.iloc[:, 0].to_numpy(dtype=np.float64)
            levels[name] = ("False", "True") if name in bool_responses else ("0", "1")
    order = [name for name in order if name in columns] + [n for n in columns if n not in order]
    return pd.DataFrame({name: columns[name] for name in order}, index=ydf.index), levels


# ---------------------------------------------------------------------------------------
# assembling
# ---------------------------------------------------------------------------------------

def _stack_by_task(X, y, kept, codes, tasks, *, x_all_rows: bool = False):
    """Rows ``kept`` (positions in the input) of X and y, grouped by task, order kept within.

    y holds only the kept rows; so does X unless ``x_all_rows`` (X holds every input row, and
    the kept rows are taken from it in the same single take that sorts them by task);
    ``codes`` (N,) the task position of every input row (-1: no task label). Returns X, y,
    task_ptr, row_index, dropped (Series), dropped_no_task.

    Memory: X is copied at most once (one take into a column-major array of its float dtype),
    and not at all when its rows are already the kept rows in task order, column-major.
    """
    K = len(tasks)
    codes_kept = codes[kept]
    counts = np.bincount(codes_kept, minlength=K)
    lost = np.ones(len(codes), dtype=bool)
    lost[kept] = False
    lost_codes = codes[lost]
    dropped = np.bincount(lost_codes[lost_codes >= 0], minlength=K)
    check_min_rows(tasks, counts, dropped)
    order = np.argsort(codes_kept, kind="stable")
    rows = kept[order] if x_all_rows else order
    if sp.issparse(X):
        X = as_csc(X.tocsr()[rows])
    else:
        X = take_rows(X, rows)
    y = np.ascontiguousarray(y[order], dtype=np.float64)
    task_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    dropped = pd.Series(dropped.astype(np.int64), index=tasks, name="dropped")
    return X, y, task_ptr, kept[order].astype(np.int64), dropped, int((lost_codes < 0).sum())


def _shared(X, Y, tasks, n_input, keep_layout: bool = False):
    """One X (n, p) for the K columns of Y (n, K): y stacked column by column.

    With ``keep_layout`` a contiguous float array is kept as it is, row-major or not (no copy:
    the solver's standardised copy is column-major anyway).
    """
    n, K = Y.shape
    check_min_rows(tasks, np.full(K, n), np.full(K, n_input - n))
    if sp.issparse(X):
        X = as_csc(X)
    elif not (keep_layout and X.dtype == float_dtype(X.dtype)
              and (X.flags.c_contiguous or X.flags.f_contiguous)):
        X = np.asfortranarray(X, dtype=float_dtype(X.dtype))
    y = np.ascontiguousarray(Y.T, dtype=np.float64).reshape(-1)
    task_ptr = (np.arange(K + 1) * n).astype(np.int64)
    dropped = pd.Series(np.full(K, n_input - n, dtype=np.int64), index=tasks, name="dropped")
    return X, y, task_ptr, dropped


# ---------------------------------------------------------------------------------------
# arrays
# ---------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=32)
def _default_names_cached(prefix: str, n: int, start: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{j}" for j in range(start, start + n))


def _default_names(prefix: str, n: int, start: int = 1) -> list[str]:
    """``[prefix1, ..., prefixn]`` (a fresh list; the strings are built once per size)."""
    return list(_default_names_cached(prefix, int(n), int(start)))


def _check_names(names, n: int, what: str, of: str) -> list[str]:
    names = [str(c) for c in names]
    if len(names) != n:
        raise ValueError(f"{what} has {len(names)} names but {of} has {n}")
    dup = pd.Index(names)[pd.Index(names).duplicated()].unique()
    if len(dup):
        raise ValueError(f"{what} are not unique: {format_names(dup)} repeated")
    return names


def _exog_matrix(exog, feature_names, what: str = "exog", fortran: bool = True):
    """exog -> (X dense float (N, p) with nan, or CSC; names).

    Dense X is float32 when the input is float32 (an array, or a DataFrame whose columns are
    all float32) and float64 otherwise; column-major unless ``fortran=False``, in which case
    a float array is returned as it is (no copy; the caller copies it once when stacking).
    """
    if sp.issparse(exog):
        if exog.ndim != 2:  # pragma: no cover - scipy sparse is 2-D
            raise ValueError(f"{what} must be 2-D; got shape {exog.shape}")
        X = as_csc(exog, what)
        names = _default_names("x", X.shape[1])
    elif isinstance(exog, (pd.DataFrame, pd.Series)):
        frame = exog.to_frame() if isinstance(exog, pd.Series) else exog
        names = [str(c) for c in frame.columns]
        all32 = frame.shape[1] > 0 and all(dt == np.float32 for dt in frame.dtypes)
        X = np.empty(frame.shape, dtype=np.float32 if all32 else np.float64, order="F")
        for j in range(frame.shape[1]):
            X[:, j] = column_to_float(frame.iloc[:, j], names[j], f"{what} column")
    else:
        arr = np.asarray(exog)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError(f"{what} must be 1-D or 2-D; got shape {arr.shape}")
        if not numeric_dtype(arr.dtype):
            raise TypeError(
                f"{what} must be numeric; got dtype {arr.dtype} (use from_formula to code "
                "categorical columns)"
            )
        X = (np.asfortranarray(arr, dtype=float_dtype(arr.dtype)) if fortran  # float32 stays
             else np.asarray(arr, dtype=float_dtype(arr.dtype)))
        names = _default_names("x", X.shape[1])
    if feature_names is not None:
        names = _check_names(feature_names, X.shape[1], "feature_names", f"{what} (columns)")
    return X, names


def _endog_matrix(endog, what: str = "endog", levels: dict | None = None):
    """endog -> (Y float64 (N, K) with nan, names or None, was_2d).

    With ``levels`` (a dict, binary responses), each column is coded 0/1 by
    :func:`binary_codes` and its level order stored under its name (or position).
    """
    if sp.issparse(endog):
        raise TypeError(f"{what} must be dense (an array, Series or DataFrame), not sparse")
    if levels is not None:
        return _binary_endog(endog, what, levels)
    if isinstance(endog, pd.DataFrame):
        names = [str(c) for c in endog.columns]
        Y = np.column_stack([column_to_float(endog.iloc[:, j], names[j], "response")
                             for j in range(endog.shape[1])]) if endog.shape[1] else \
            np.empty((len(endog), 0))
        return Y, names, True
    if isinstance(endog, pd.Series):
        name = "y" if endog.name is None else str(endog.name)
        return column_to_float(endog, name, "response")[:, None], [name], False
    arr = np.asarray(endog)
    if arr.ndim not in (1, 2):
        raise ValueError(f"{what} must be 1-D or 2-D; got shape {arr.shape}")
    if not numeric_dtype(arr.dtype):
        raise TypeError(f"response {what!r} is not numeric (dtype {arr.dtype})")
    Y = np.asarray(arr, dtype=np.float64)
    return (Y[:, None], None, False) if Y.ndim == 1 else (Y, None, True)


def _binary_endog(endog, what: str, levels: dict):
    if isinstance(endog, pd.DataFrame):
        names = [str(c) for c in endog.columns]
        cols = [binary_codes(endog.iloc[:, j], names[j]) for j in range(endog.shape[1])]
        levels.update({names[j]: lv for j, (_, lv) in enumerate(cols)})
        Y = np.column_stack([c for c, _ in cols]) if cols else np.empty((len(endog), 0))
        return Y, names, True
    if isinstance(endog, pd.Series):
        name = "y" if endog.name is None else str(endog.name)
        codes, lv = binary_codes(endog, name)
        levels[name] = lv
        return codes[:, None], [name], False
    arr = np.asarray(endog)
    if arr.ndim == 1:
        codes, lv = binary_codes(arr, what)
        levels[0] = lv
        return codes[:, None], None, False
    if arr.ndim != 2:
        raise ValueError(f"{what} must be 1-D or 2-D; got shape {arr.shape}")
    cols = [binary_codes(arr[:, j], f"{what}[:, {j}]") for j in range(arr.shape[1])]
    levels.update({j: lv for j, (_, lv) in enumerate(cols)})
    return np.column_stack([c for c, _ in cols]), None, True


def _name_levels(levels: dict, names) -> dict:
    """Key the level orders of array responses (recorded by position) by response name."""
    return {(names[k] if isinstance(k, (int, np.integer)) else k): v for k, v in levels.items()}


def _nan_message(na: np.ndarray, names, role: str):
    return {f"{role} {names[j]}": int(na[:, j].sum()) for j in np.flatnonzero(na.any(axis=0))}


def from_endog_exog(endog, exog, task=None, *, feature_names=None, response_names=None,
                    missing: str = "drop", binary: bool = False) -> TaskDesign:
    """Build a :class:`TaskDesign` from statsmodels-style arrays.

    Parameters
    ----------
    endog : array-like of shape (N,) or (n, K)
        Responses (ndarray, Series or DataFrame; booleans count as 0/1). 1-D with ``task``:
        long form. 2-D (n, K) without ``task``: K tasks sharing one ``exog``
        (``shared=True``); 1-D without ``task``: one task named after the response.
    exog : array-like or scipy.sparse matrix of shape (N, p)
        Features, without an intercept column (per-task intercepts are fitted separately).
        Sparse input stays sparse (CSC, float64, sorted indices) and may not hold nan.
    task : array-like of shape (N,), optional
        Task label of each row (any hashable type; same ordering rules as
        :func:`from_formula`).
    feature_names : sequence of str of length p, optional
        Default: the DataFrame columns of ``exog``, else ``x1 .. xp``.
    response_names : sequence of str, optional
        One name (1-D endog) or K names (2-D endog). Default: the Series name / DataFrame
        columns, else ``"y"`` (1-D) or ``y0 .. y{K-1}`` (2-D, whose tasks are then
        labelled 0 .. K-1).
    missing : {"drop", "raise"}
        As in :func:`from_formula`. nan in sparse ``exog`` always raises.
    binary : bool, default False
        Binary responses, as in :func:`from_formula` (two-level labels allowed; the level
        order is recorded in ``extra["levels"]``).

    Returns
    -------
    TaskDesign
        ``data_index`` is the index of ``endog`` (or ``exog``) when it is a pandas object,
        else a RangeIndex.
    """
    missing = check_missing(missing)
    levels = {} if binary else None
    Y, y_names, was_2d = _endog_matrix(endog, levels=levels)
    N, K = Y.shape
    # no layout copy here: the long form sorts rows by task in one take (column-major) and a
    # shared design is kept as given when it is a contiguous float array
    X, x_names = _exog_matrix(exog, feature_names, fortran=False)
    if X.shape[0] != N:
        raise ValueError(
            f"exog has shape {X.shape} but endog has shape {np.shape(endog)}: they need the "
            "same number of rows"
        )
    if N == 0:
        raise ValueError("endog is empty (0 rows)")
    if K == 0:
        raise ValueError("endog has no columns")
    if task is not None and K != 1:
        raise ValueError(
            f"endog has shape {np.shape(endog)} and task labels were given: the long form "
            "takes a 1-D endog of shape (N,); for K responses sharing one exog use task=None"
        )
    if response_names is not None:
        if isinstance(response_names, str):
            response_names = [response_names]
        y_names = _check_names(response_names, K, "response_names", "endog (columns)")
        tasks_2d = pd.Index(y_names)
    elif y_names is None:
        y_names = _default_names("y", K, start=0) if was_2d else ["y"]
        tasks_2d = pd.RangeIndex(K) if was_2d else pd.Index(y_names)
    else:
        tasks_2d = pd.Index(y_names)
    for obj in (endog, exog, task):
        if isinstance(obj, (pd.Series, pd.DataFrame)):
            data_index = obj.index
            break
    else:
        data_index = pd.RangeIndex(N)

    na_y = np.isnan(Y)
    for j in range(K):
        if na_y[:, j].all():
            raise ValueError(f"response {y_names[j]!r} is entirely missing ({plural(N, 'row')})")
    check_finite_columns(Y, y_names, "response")
    if sp.issparse(X):
        inf = np.isinf(X.data)
        if inf.any():
            cols = np.repeat(np.arange(X.shape[1]), np.diff(X.indptr))[inf]
            bad = [x_names[j] for j in np.unique(cols)]
            raise ValueError(f"infinite values in exog column(s) {format_names(bad)}")
        na_x = None
    else:
        na_x = np.isnan(X)
        for j in np.flatnonzero(na_x.all(axis=0)):
            raise ValueError(f"exog column {x_names[j]!r} is entirely missing ({plural(N, 'row')})")
        check_finite_columns(X, x_names, "exog")
    row_na = na_y.any(axis=1)
    if na_x is not None:
        row_na |= na_x.any(axis=1)
    if task is not None:
        labels = _as_label_series(task)
        if len(labels) != N:
            raise ValueError(
                f"task has shape {np.shape(task)} but endog has {plural(N, 'row')}: one label "
                "per row is needed"
            )
        tasks, codes = task_codes(labels.reset_index(drop=True))
        if len(tasks) == 0:
            raise ValueError(f"task labels are all missing ({plural(N, 'row')})")
        row_na |= codes < 0
    if missing == "raise" and row_na.any():
        counts = _nan_message(na_y, y_names, "endog")
        if na_x is not None:
            counts.update(_nan_message(na_x, x_names, "exog"))
        if task is not None and (codes < 0).any():
            counts["task"] = int((codes < 0).sum())
        raise ValueError(missing_message(counts, int(row_na.sum())))
    keep = np.flatnonzero(~row_na)
    if keep.size == 0:
        raise ValueError(f"no rows left: every one of the {plural(N, 'row')} has a missing value")
    all_kept = keep.size == N
    if sp.issparse(X):
        X_kept = X if all_kept else X.tocsr()[keep]
    elif task is None:
        X_kept = X if all_kept else take_rows(X, keep)
    common = dict(feature_names=x_names, response_names=y_names, n_input_rows=N,
                  data_index=data_index)
    level_extra = {} if levels is None else {"levels": _name_levels(levels, y_names)}
    if task is not None:
        X, y, task_ptr, row_index, dropped, no_task = _stack_by_task(
            X_kept if sp.issparse(X) else X, Y[keep, 0], keep, codes, tasks,
            x_all_rows=not sp.issparse(X))
        return TaskDesign(X=X, y=y, task_ptr=task_ptr, tasks=tasks, shared=False,
                          row_index=row_index, dropped=dropped,
                          extra={"source": "endog_exog", "dropped_no_task": no_task,
                                 **level_extra}, **common)
    X, y, task_ptr, dropped = _shared(X_kept, Y[keep], tasks_2d, N, keep_layout=True)
    return TaskDesign(X=X, y=y, task_ptr=task_ptr, tasks=tasks_2d, shared=True,
                      row_index=keep.astype(np.int64), dropped=dropped,
                      extra={"source": "endog_exog", **level_extra}, **common)


def from_arrays(X_list, y_list, *, feature_names=None, task_names=None,
                binary: bool = False) -> TaskDesign:
    """Build a per-task :class:`TaskDesign` from one ``(X_k, y_k)`` pair per task.

    Parameters
    ----------
    X_list : sequence of K arrays, DataFrames or scipy.sparse matrices, X_k of shape (n_k, p)
        Task designs (n_k may differ, p may not). If any X_k is sparse, the stacked X is
        sparse (CSC, float64, sorted indices).
    y_list : sequence of K array-likes, y_k of shape (n_k,)
        Task responses (booleans count as 0/1).
    feature_names : sequence of str of length p, optional
        Default: the DataFrame columns of ``X_list[0]``, else ``x1 .. xp``.
    task_names : sequence of length K, optional
        Task labels, in this order. Default ``0 .. K-1``.
    binary : bool, default False
        Binary responses, as in :func:`from_formula`: the labels of all tasks together must
        take two values; the level order is recorded in ``extra["levels"]["y"]``.

    Returns
    -------
    TaskDesign
        X (sum_k n_k, p) stacked in the given task order; ``row_index`` and ``data_index``
        number the rows of that concatenation. Missing values are not dropped here (nan
        raises): use :func:`from_endog_exog` with ``missing="drop"`` for that.
    """
    for obj, what in ((X_list, "X_list"), (y_list, "y_list")):
        if isinstance(obj, (str, bytes, dict)) or sp.issparse(obj) or not hasattr(obj, "__len__"):
            raise TypeError(f"{what} must be a sequence (one entry per task); got "
                            f"{type(obj).__name__}")
    X_list, y_list = list(X_list), list(y_list)
    if len(X_list) != len(y_list):
        raise ValueError(
            f"X_list has {len(X_list)} entries but y_list has {len(y_list)}: one (X_k, y_k) "
            "pair per task is needed"
        )
    K = len(X_list)
    if K == 0:
        raise ValueError("X_list is empty: at least one task is needed")
    if task_names is None:
        tasks = pd.RangeIndex(K)
    else:
        tasks = pd.Index(list(task_names))
        if len(tasks) != K:
            raise ValueError(f"task_names has {len(tasks)} names but X_list has {K} tasks")
        if tasks.has_duplicates:
            raise ValueError(
                f"task_names are not unique: {format_names(tasks[tasks.duplicated()].unique())}"
            )
    level_extra = {}
    if binary:
        parts = [y_k if isinstance(y_k, pd.Series) else pd.Series(np.asarray(y_k).reshape(-1))
                 for y_k in y_list]
        sizes = np.cumsum([len(part) for part in parts])[:-1]
        codes, lv = binary_codes(pd.concat(parts, ignore_index=True), "y")
        y_list = np.split(codes, sizes)
        level_extra = {"levels": {"y": lv}}
    Xs, ys = [], []
    names0 = None
    for k in range(K):
        label = tasks[k]
        try:
            X_k, names_k = _exog_matrix(X_list[k], None, what=f"X_list[{k}]", fortran=False)
            Y_k, _, y2d = _endog_matrix(y_list[k], what=f"y_list[{k}]")
        except (TypeError, ValueError) as err:
            raise type(err)(f"task {label!r}: {err}") from None
        if y2d and Y_k.shape[1] != 1:
            raise ValueError(f"task {label!r}: y must be 1-D; got shape {np.shape(y_list[k])}")
        if k == 0:
            p, names0 = X_k.shape[1], names_k
        elif X_k.shape[1] != p:
            raise ValueError(
                f"task {label!r}: X has {X_k.shape[1]} columns but task {tasks[0]!r} has {p}; "
                "every task needs the same features"
            )
        elif isinstance(X_list[k], pd.DataFrame) and isinstance(X_list[0], pd.DataFrame) \
                and names_k != names0:
            raise ValueError(
                f"task {label!r}: X columns {format_names(names_k)} differ from task "
                f"{tasks[0]!r}'s {format_names(names0)}"
            )
        if Y_k.shape[0] != X_k.shape[0]:
            raise ValueError(
                f"task {label!r}: y has {Y_k.shape[0]} entries but X has shape {X_k.shape}"
            )
        Xs.append(X_k)
        ys.append(Y_k[:, 0])
    if feature_names is not None:
        names0 = _check_names(feature_names, p, "feature_names", "X (columns)")
    elif not isinstance(X_list[0], pd.DataFrame):
        names0 = _default_names("x", p)
    for k in range(K):
        X_k, y_k = Xs[k], ys[k]
        if np.isnan(y_k).any():
            raise ValueError(
                f"task {tasks[k]!r}: missing values in y ({plural(int(np.isnan(y_k).sum()), 'row')});"
                " from_arrays does not drop rows (use from_endog_exog with missing='drop')"
            )
        if np.isinf(y_k).any():
            raise ValueError(f"task {tasks[k]!r}: infinite values in y")
        if not sp.issparse(X_k):
            na = np.isnan(X_k)
            if na.any():
                cols = [names0[j] for j in np.flatnonzero(na.any(axis=0))]
                raise ValueError(
                    f"task {tasks[k]!r}: missing values in X column(s) {format_names(cols)} "
                    f"({plural(int(na.any(axis=1).sum()), 'row')}); from_arrays does not drop "
                    "rows (use from_endog_exog with missing='drop')"
                )
            try:
                check_finite_columns(X_k, names0, "X")
            except ValueError as err:
                raise ValueError(f"task {tasks[k]!r}: {err}") from None
        elif np.isinf(X_k.data).any():
            raise ValueError(f"task {tasks[k]!r}: infinite values in X")
    counts = np.array([len(y_k) for y_k in ys])
    check_min_rows(tasks, counts, np.zeros(K, dtype=np.int64))
    if any(sp.issparse(X_k) for X_k in Xs):
        X = as_csc(sp.vstack([sp.csr_matrix(X_k) for X_k in Xs], format="csr"))
    else:  # one copy: each task's rows written into one column-major array
        X = np.empty((int(counts.sum()), p), order="F",
                     dtype=np.result_type(*[X_k.dtype for X_k in Xs]))
        for a, X_k in zip(np.cumsum(counts) - counts, Xs, strict=True):
            X[a:a + X_k.shape[0]] = X_k
    N = int(counts.sum())
    return TaskDesign(
        X=X, y=np.ascontiguousarray(np.concatenate(ys), dtype=np.float64),
        task_ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), tasks=tasks,
        feature_names=list(names0), response_names=["y"], shared=False,
        row_index=np.arange(N, dtype=np.int64), n_input_rows=N, data_index=pd.RangeIndex(N),
        dropped=pd.Series(np.zeros(K, dtype=np.int64), index=tasks, name="dropped"),
        extra={"source": "arrays", **level_extra},
    )


# ---------------------------------------------------------------------------------------
# transform (predict on new rows)
# ---------------------------------------------------------------------------------------

def _as_label_series(labels) -> pd.Series:
    """Task labels (Series, Index, Categorical, array or list) -> 1-D Series."""
    if isinstance(labels, pd.Series):
        return labels
    if isinstance(labels, (pd.Index, pd.Categorical, np.ndarray)):
        if np.ndim(labels) != 1:
            raise ValueError(f"task labels must be 1-D; got shape {np.shape(labels)}")
        return pd.Series(labels)
    if isinstance(labels, (str, bytes)) or not hasattr(labels, "__len__"):
        raise TypeError(f"task labels must be a 1-D sequence; got {type(labels).__name__}")
    return pd.Series(list(labels), dtype=object).infer_objects()


def _lookup_tasks(tasks: pd.Index, labels, m: int) -> np.ndarray:
    labels = _as_label_series(labels).reset_index(drop=True)
    if len(labels) != m:
        raise ValueError(f"task has {len(labels)} labels but newdata has {plural(m, 'row')}")
    if isinstance(labels.dtype, pd.CategoricalDtype):
        labels = labels.astype(object)
    na = labels.isna().to_numpy()
    if na.any():
        raise ValueError(
            f"task labels are missing in {plural(int(na.sum()), 'row')} of newdata; every "
            "row needs a task"
        )
    codes = tasks.get_indexer(labels)
    if (codes < 0).any():
        unknown = pd.unique(labels[codes < 0].to_numpy())
        raise ValueError(
            f"unknown task(s) {format_names(unknown)} in newdata; known tasks: "
            f"{format_names(tasks, 20)}"
        )
    return codes.astype(np.int64)


def _transform_formula(design: TaskDesign, data, task):
    check_dataframe(data, "newdata")
    needed = list(design.extra.get("rhs_columns", []))
    absent = [c for c in needed if c not in data.columns]
    if absent:
        raise ValueError(
            f"newdata lacks column(s) {format_names(absent)} used by the formula "
            f"{design.formula!r}; available columns: {format_names(data.columns, 30)}"
        )
    if design.task_column is not None and task is None and design.task_column not in data.columns:
        raise ValueError(
            f"newdata lacks the task column {design.task_column!r}; available columns: "
            f"{format_names(data.columns, 30)}"
        )
    if design.shared and task is not None:
        raise ValueError(
            "this design is shared (one X for every task): new rows belong to every task, so "
            "task labels are not accepted"
        )
    work = _prepare_frame(data, needed, what="newdata")
    na = _check_columns(work, " of newdata", all_missing=False)
    if na.any():
        counts = ", ".join(f"{c!r} ({plural(int(na[:, j].sum()), 'row')})"
                           for j, c in enumerate(needed) if na[:, j].any())
        raise ValueError(
            f"missing values in newdata column(s) {counts}: predictions need complete rows "
            "(nothing is dropped at predict time)"
        )
    try:
        (Xdf,) = patsy.build_design_matrices([design.design_info], work, NA_action="raise",
                                             return_type="dataframe")
    except PatsyError as err:
        term = None
        if err.origin is not None:
            term = err.origin.code[err.origin.start:err.origin.end]
        if "categorical" in err.message and term is not None:
            cols = [n for n, _ in _names_in_code(term, term) if n in needed] or [term]
            raise ValueError(
                f"newdata has a level of column {cols[0]!r} (term {term!r}) not seen when the "
                f"design was built: {err.message}"
            ) from None
        raise ValueError(f"could not rebuild the design for newdata:\n{err}") from None
    Xdf = Xdf.drop(columns="Intercept", errors="ignore")
    X_new = np.asfortranarray(Xdf.to_numpy(dtype=np.float64))
    check_finite_columns(X_new, list(Xdf.columns), "newdata design")
    m = len(data)
    if design.task_column is None:
        return X_new, None
    labels = data[design.task_column] if task is None else task
    return X_new, _lookup_tasks(design.tasks, labels, m)


def _transform_arrays(design: TaskDesign, data, task):
    p, names = design.n_features, design.feature_names
    if isinstance(data, pd.DataFrame) and set(names) <= {str(c) for c in data.columns}:
        data = data.set_axis([str(c) for c in data.columns], axis=1)[names]
    X, _ = _exog_matrix(data, None, what="newdata")
    if X.shape[1] != p:
        raise ValueError(
            f"newdata has shape {X.shape} but the design has {p} features "
            f"({format_names(names)})"
        )
    if sp.issparse(X):
        if np.isinf(X.data).any():
            raise ValueError("infinite values in newdata")
    else:
        na = np.isnan(X)
        if na.any():
            cols = [names[j] for j in np.flatnonzero(na.any(axis=0))]
            raise ValueError(
                f"missing values in newdata column(s) {format_names(cols)} "
                f"({plural(int(na.any(axis=1).sum()), 'row')}): predictions need complete rows"
            )
        check_finite_columns(X, names, "newdata")
    m = X.shape[0]
    if design.shared:
        if task is not None:
            raise ValueError(
                "this design is shared (one X for every task): new rows belong to every "
                "task, so task labels are not accepted"
            )
        return X, None
    if task is None:
        if design.n_tasks == 1:
            return X, np.zeros(m, dtype=np.int64)
        raise ValueError(
            f"task labels are needed: this design has {design.n_tasks} tasks "
            f"({format_names(design.tasks)}) with their own rows"
        )
    return X, _lookup_tasks(design.tasks, task, m)
