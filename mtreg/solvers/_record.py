"""The plain record every solver returns."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SolverRecord:
    """What a solver found, on the scale of the :class:`~mtreg.solvers.problem.Problem` it solved.

    Attributes
    ----------
    coef : ndarray of shape (p, K)
        Coefficients of the (standardised, centred) problem.
    intercept : ndarray of shape (K,)
        Intercepts solved inside the kernel (only when ``problem.center_inline``; zeros otherwise).
    n_iter : int
        Epochs (passes over the features) performed.
    gap : float
        Final duality gap, in objective units (``nan`` for non-convex fits).
    gap_tol : float
        The gap the solver had to reach: ``tol * problem.null_objective``.
    converged : bool
        Whether ``gap <= gap_tol`` (convex) or the objective decrease criterion was met.
    objective : float
        Primal objective at ``coef`` (DESIGN.md convention).
    history : ndarray
        Objective (non-convex) or gap (convex) after each check, possibly empty.
    solver : str
        Name of the solver that produced the record.
    extra : dict
        Model-specific output (e.g. the task-group membership matrix of SG-MTL).
    """

    coef: np.ndarray
    intercept: np.ndarray
    n_iter: int
    gap: float
    gap_tol: float
    converged: bool
    objective: float
    history: np.ndarray = field(default_factory=lambda: np.empty(0))
    solver: str = "bcd"
    extra: dict = field(default_factory=dict)
