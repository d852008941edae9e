"""mtreg: sparse multi-task regression with formulas, in the style of R and statsmodels.

>>> import mtreg
>>> ds = mtreg.datasets.load_parkinsons()
>>> res = mtreg.fit(ds.formula, task="subject", data=ds.data, penalty="group_lasso")
>>> print(res.summary())  # doctest: +SKIP
"""
from . import datasets, inference, penalties, simulate
from ._version import __version__
from .cv import CVGridResults, CVResults
from .cv import cv as cv
from .model import MultiTaskModel, fit
from .path import PathResults, select
from .path import path as path
from .results import MultiTaskResults
from .stability import StabilityResults, stability

__all__ = ["__version__", "fit", "cv", "path", "select", "MultiTaskModel", "MultiTaskResults",
           "PathResults", "CVResults", "CVGridResults", "stability", "StabilityResults",
           "penalties", "datasets", "inference", "simulate"]
