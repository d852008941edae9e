"""mtreg: sparse multi-task regression with formulas, in the style of R and statsmodels.

>>> import mtreg
>>> ds = mtreg.datasets.load_parkinsons()
>>> res = mtreg.fit(ds.formula, task="subject", data=ds.data, penalty="group_lasso")
>>> print(res.summary())  # doctest: +SKIP
"""
from . import datasets, penalties
from ._version import __version__
from .model import MultiTaskModel, fit

__all__ = ["__version__", "fit", "MultiTaskModel", "penalties", "datasets"]
