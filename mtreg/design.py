"""Formula / wide / arrays -> :class:`TaskDesign` (see shared DESIGN.md, step 1)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp


@dataclass
class TaskDesign:
    """A multi-task design: stacked X, stacked y, task offsets and the labels to report them.

    Attributes
    ----------
    X : ndarray (N, p) float64 F-contiguous, or scipy.sparse.csc_matrix
        Raw (unscaled, uncentred) design, rows stacked by task; when ``shared``, the single
        (n, p) design every task uses.
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
        Rebuilds X for :meth:`transform` / ``predict``.
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
