"""Solvers: Python orchestration of the Cython kernels in :mod:`mtreg._cy`."""
from ._record import SolverRecord
from .problem import Problem, make_problem, to_original_scale

__all__ = ["SolverRecord", "Problem", "make_problem", "to_original_scale"]
