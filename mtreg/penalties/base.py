"""What every penalty object provides (skglm's separation of penalty and solver)."""
from __future__ import annotations

import numbers

import numpy as np


def check_l1_ratio(l1_ratio) -> float:
    if isinstance(l1_ratio, bool) or not isinstance(l1_ratio, numbers.Real):
        raise TypeError(f"l1_ratio must be a number in [0, 1], got {l1_ratio!r}")
    if not 0.0 <= float(l1_ratio) <= 1.0 or np.isnan(l1_ratio):
        raise ValueError(f"l1_ratio must lie in [0, 1], got {l1_ratio!r}")
    return float(l1_ratio)


class Penalty:
    """Base class: hyperparameters and maths of ``Omega`` in ``alpha * Omega(W)``.

    Subclasses set ``name``, ``kernel`` (the inner kernel able to solve it: ``"l1"`` for
    element-wise, ``"l21"`` for row-wise penalties) and implement the methods below. ``W`` and
    ``G`` always have shape (p, K): features x tasks.
    """

    name = "penalty"
    kernel: str | None = None
    is_convex = True

    def value(self, W: np.ndarray) -> float:
        """``Omega(W)``."""
        raise NotImplementedError(f"{type(self).__name__} does not define value()")

    def dual_norm(self, G: np.ndarray) -> float:
        """Dual norm of the non-smooth part, used for ``alpha_max`` and the duality gap."""
        raise NotImplementedError(f"{type(self).__name__} does not define dual_norm()")

    def alpha_max(self, G0: np.ndarray) -> float:
        """Smallest alpha with W = 0 optimal, given ``G0 = X_k^T (y_k - ybar_k) / n_k``."""
        raise NotImplementedError(f"{type(self).__name__} does not define alpha_max()")

    def prox(self, W: np.ndarray, step: float) -> np.ndarray:
        """Proximal operator of ``step * Omega`` at W."""
        raise NotImplementedError(f"{type(self).__name__} does not define prox()")

    def generalized_support(self, W: np.ndarray) -> np.ndarray:
        """Boolean (p, K): entries that the penalty considers selected."""
        return W != 0

    def kkt_violation(self, W: np.ndarray, G: np.ndarray, alpha: float) -> np.ndarray:
        """Distance of ``G`` (minus gradient of the data fit) to ``alpha * dOmega(W)``, per feature."""
        raise NotImplementedError(f"{type(self).__name__} does not define kkt_violation()")

    def params(self) -> dict:
        """Hyperparameters other than alpha (shown in the summary)."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({args})"

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and _params_equal(self.params(), other.params())

    __hash__ = None  # mutable hyperparameters


def _params_equal(a: dict, b: dict) -> bool:
    if a.keys() != b.keys():
        return False
    return all(np.array_equal(a[k], b[k]) if isinstance(a[k], np.ndarray) else a[k] == b[k]
               for k in a)
