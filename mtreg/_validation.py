"""Shared validation helpers: argument checks and error messages that name the culprit."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

MISSING_CHOICES = ("drop", "raise")
MIN_ROWS_PER_TASK = 2


def format_names(names: Iterable, limit: int = 10) -> str:
    """``'a', 'b', 'c'`` (at most ``limit`` names, then ``... (n more)``)."""
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:limit])
    if len(names) > limit:
        shown += f", ... ({len(names) - limit} more)"
    return shown


def plural(n: int, word: str) -> str:
    """``'1 row'``, ``'3 rows'``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def check_missing(missing) -> str:
    """Validate the ``missing`` argument (``"drop"`` or ``"raise"``)."""
    if not isinstance(missing, str) or missing not in MISSING_CHOICES:
        raise ValueError(
            f"missing must be one of {format_names(MISSING_CHOICES)}; got {missing!r}"
        )
    return missing


def check_dataframe(data, name: str = "data") -> pd.DataFrame:
    """Require a non-empty pandas DataFrame."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            f"{name} must be a pandas DataFrame; got {type(data).__name__}"
        )
    if data.shape[0] == 0:
        raise ValueError(f"{name} is empty (0 rows)")
    if data.shape[1] == 0:
        raise ValueError(f"{name} has no columns")
    return data


def missing_message(counts: dict, n_rows: int, what: str = "") -> str:
    """Message for ``missing="raise"``: the columns with NA, their counts, the row total."""
    cols = ", ".join(f"{name!r} ({plural(c, 'row')})" for name, c in counts.items())
    return (
        f"missing values{what} in column(s) {cols}: {plural(n_rows, 'row')} in total "
        "(use missing='drop' to drop them)"
    )


def numeric_dtype(dtype) -> bool:
    """True for bool, integer, unsigned and float dtypes (numpy or pandas nullable)."""
    if isinstance(dtype, pd.CategoricalDtype):
        return False
    try:
        return (
            pd.api.types.is_numeric_dtype(dtype)
            and not pd.api.types.is_complex_dtype(dtype)
        )
    except TypeError:  # pragma: no cover - exotic extension dtypes
        return False


def column_to_float(values, name: str, role: str) -> np.ndarray:
    """A numeric (or boolean) 1-D array-like as float64, NA -> nan; TypeError naming it otherwise."""
    dtype = getattr(values, "dtype", None)
    if dtype is None:
        values = np.asarray(values)
        dtype = values.dtype
    if not numeric_dtype(dtype):
        raise TypeError(f"{role} {name!r} is not numeric (dtype {dtype})")
    if isinstance(values, (pd.Series, pd.Index)) or hasattr(values, "to_numpy"):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    return np.asarray(values, dtype=np.float64)


def float_dtype(dtype) -> np.dtype:
    """The float dtype a design of ``dtype`` is stored in: float32 stays, all else float64."""
    return np.dtype(np.float32 if np.dtype(dtype) == np.float32 else np.float64)


def take_rows(X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``X[rows]`` as a column-major float array, in ONE copy (none when nothing moves).

    Fancy indexing gives a row-major array that a column-major conversion would copy again, and
    ``np.take(..., out=F-array)`` buffers the whole result; taking column by column into the
    (contiguous) columns of the result copies every value once, converting its dtype on the way.
    """
    dtype = float_dtype(X.dtype)
    rows = np.asarray(rows, dtype=np.intp)
    if (rows.size == X.shape[0] and X.dtype == dtype and X.flags.f_contiguous
            and np.array_equal(rows, np.arange(X.shape[0]))):
        return X
    out = np.empty((rows.size, X.shape[1]), dtype=dtype, order="F")
    for j in range(X.shape[1]):
        out[:, j] = X[:, j].take(rows)
    return out


def check_finite_columns(values: np.ndarray, names: Sequence, role: str) -> None:
    """Raise if any column of a 2-D float array holds +-inf, naming the column(s)."""
    bad = np.isinf(values)
    if bad.any():
        cols = np.flatnonzero(bad.any(axis=0))
        detail = ", ".join(
            f"{names[j]!r} ({plural(int(bad[:, j].sum()), 'row')})" for j in cols
        )
        raise ValueError(f"infinite values in {role} column(s) {detail}")


def as_csc(X, name: str = "X") -> sp.csc_matrix:
    """scipy.sparse matrix/array -> csc_matrix, float64, canonical (summed, sorted indices).

    A float64 CSC input in canonical form is wrapped without copying its arrays (as a dense
    float64 column-major X is kept as it is); anything else is converted into a new matrix, so
    the caller's matrix is never modified.
    """
    if not numeric_dtype(X.dtype):
        raise TypeError(f"{name} must be numeric; got sparse dtype {X.dtype}")
    if X.format == "csc" and X.dtype == np.float64 and X.has_canonical_format:
        out = sp.csc_matrix(X, copy=False)
    else:
        out = sp.csc_matrix(X, dtype=np.float64, copy=True)
        out.sum_duplicates()
        out.sort_indices()
    if np.isnan(out.data).any():
        raise ValueError(
            f"{name} (sparse) contains missing values (nan); missing values are not supported "
            "in sparse designs: remove those rows first"
        )
    return out


def task_codes(labels) -> tuple[pd.Index, np.ndarray]:
    """Task labels -> (tasks, codes).

    Parameters
    ----------
    labels : array-like of shape (N,)
        Task labels of any hashable type; NA (None, nan, pd.NA) marks a row without a task.

    Returns
    -------
    tasks : pandas.Index of length K
        Task order: the category order for a pandas Categorical (categories without
        rows left out); otherwise sorted labels when they can be sorted, else the order of
        first appearance (e.g. a mix of str and int labels).
    codes : ndarray of int64, shape (N,)
        Position of each row's task in ``tasks``; -1 for a missing label.
    """
    s = labels if isinstance(labels, pd.Series) else pd.Series(labels)
    if isinstance(s.dtype, pd.CategoricalDtype):
        raw = s.cat.codes.to_numpy().astype(np.int64)
        present = np.unique(raw[raw >= 0])
        tasks = s.cat.categories.take(present)
        remap = np.full(len(s.cat.categories), -1, dtype=np.int64)
        remap[present] = np.arange(len(present))
        return tasks, _relabel(raw, remap)
    try:
        raw, uniques = pd.factorize(s, sort=False)
    except TypeError as err:
        raise TypeError(f"task labels must be hashable: {err}") from None
    raw = np.asarray(raw, dtype=np.int64)
    uniques = pd.Index(uniques)
    try:
        order = np.asarray(uniques.argsort())
    except TypeError:  # labels of mixed types: keep the order of first appearance
        order = np.arange(len(uniques))
    rank = np.empty(len(uniques), dtype=np.int64)
    rank[order] = np.arange(len(uniques))
    return uniques.take(order), _relabel(raw, rank)


def _relabel(raw: np.ndarray, new: np.ndarray) -> np.ndarray:
    """codes -> new[codes], keeping -1 (missing) as -1."""
    out = np.full(raw.shape, -1, dtype=np.int64)
    ok = raw >= 0
    out[ok] = new[raw[ok]]
    return out


def check_min_rows(tasks: pd.Index, counts: np.ndarray, dropped: np.ndarray) -> None:
    """Every task needs at least ``MIN_ROWS_PER_TASK`` rows (after removing missing values)."""
    small = np.flatnonzero(counts < MIN_ROWS_PER_TASK)
    if small.size == 0:
        return
    parts = []
    for k in small:
        part = f"{tasks[k]!r} has {plural(int(counts[k]), 'row')}"
        if dropped[k]:
            part += f" ({int(dropped[k])} dropped for missing values)"
        parts.append(part)
    if len(parts) > 10:
        parts = parts[:10] + [f"... ({len(small) - 10} more)"]
    raise ValueError(
        f"every task needs at least {MIN_ROWS_PER_TASK} rows; task " + "; task ".join(parts)
    )
