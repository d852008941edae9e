"""mtreg: sparse multi-task regression with formulas, in the style of R and statsmodels."""
from ._version import __version__

__all__ = ["__version__"]
