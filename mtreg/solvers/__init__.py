"""Solvers: Python orchestration of the Cython kernels in :mod:`mtreg._cy`.

A solver is a function ``solve(problem, penalty, alpha, *, tol, max_iter, coef_init)`` returning a
:class:`SolverRecord`. A penalty names the solver it needs in its ``solver`` attribute (default
``"bcd"``, block coordinate descent); :func:`get_solver` looks it up.
"""
from __future__ import annotations

import functools
import importlib

from ._record import SolverRecord
from .problem import Problem, make_problem, to_original_scale

#: solver name -> "module:function" (imported lazily, so a penalty module never imports kernels)
SOLVERS = {
    "bcd": "mtreg.solvers.bcd:solve",
    "spg": "mtreg.solvers.spg:solve",
    "sgmtl": "mtreg.solvers.sgmtl:solve",
    "pooled": "mtreg.solvers.baselines:solve_pooled",
    "clusmtl": "mtreg.solvers.baselines:solve_clusmtl",
    "adaptive": "mtreg.solvers.zoo:solve_adaptive",
    "dirty": "mtreg.solvers.zoo:solve_dirty",
    "multilevel": "mtreg.solvers.zoo:solve_multilevel",
    "mtw": "mtreg.solvers.zoo:solve_mtw",
}


def _gaussian_solver(penalty):
    """The Gaussian ``solve`` function named by ``penalty.solver`` (default ``"bcd"``)."""
    name = getattr(penalty, "solver", "bcd")
    try:
        target = SOLVERS[name]
    except KeyError:
        raise ValueError(f"penalty {penalty.name!r} asks for solver {name!r}; "
                         f"known solvers: {', '.join(sorted(SOLVERS))}") from None
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


def get_solver(penalty):
    """The ``solve`` function for ``penalty`` (by its ``solver`` attribute, default ``"bcd"``).

    The function returned dispatches on the problem's family: a
    :class:`~mtreg.solvers.logistic.LogisticProblem` (``family="binomial"``) is solved by the
    logistic outer loop of :mod:`mtreg.solvers.logistic`, which calls the penalty's own Gaussian
    solver on quadratic models; any other problem goes to the Gaussian solver directly.
    """
    gaussian = _gaussian_solver(penalty)

    @functools.wraps(gaussian)
    def solve(problem, penalty, alpha, **options):
        if getattr(problem, "family", "gaussian") == "binomial":
            from .logistic import solve as solve_logistic

            return solve_logistic(problem, penalty, alpha, inner=_gaussian_solver(penalty),
                                  **options)
        return gaussian(problem, penalty, alpha, **options)

    return solve


__all__ = ["SolverRecord", "Problem", "make_problem", "to_original_scale", "get_solver", "SOLVERS"]
