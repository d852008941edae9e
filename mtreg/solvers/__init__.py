"""Solvers: Python orchestration of the Cython kernels in :mod:`mtreg._cy`.

A solver is a function ``solve(problem, penalty, alpha, *, tol, max_iter, coef_init)`` returning a
:class:`SolverRecord`. A penalty names the solver it needs in its ``solver`` attribute (default
``"bcd"``, block coordinate descent); :func:`get_solver` looks it up.
"""
from __future__ import annotations

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
}


def get_solver(penalty):
    """The ``solve`` function for ``penalty`` (by its ``solver`` attribute, default ``"bcd"``)."""
    name = getattr(penalty, "solver", "bcd")
    try:
        target = SOLVERS[name]
    except KeyError:
        raise ValueError(f"penalty {penalty.name!r} asks for solver {name!r}; "
                         f"known solvers: {', '.join(sorted(SOLVERS))}") from None
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


__all__ = ["SolverRecord", "Problem", "make_problem", "to_original_scale", "get_solver", "SOLVERS"]
