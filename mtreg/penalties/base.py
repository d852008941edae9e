"""What every penalty object provides (skglm's separation of penalty and solver).

A penalty is a small class holding its hyperparameters and its maths. Every penalty defines
:meth:`Penalty.value`; the other capabilities are optional and a solver states which it needs
with :func:`require`, which fails early and names both the solver and the missing method:

``solver``
    key of :data:`mtreg.solvers.SOLVERS` naming the solver that fits it (default ``"bcd"``).
``kernel``
    name of the Cython inner kernel able to solve it (``"l1"`` element-wise, ``"l21"`` row-wise).
``dual_norm(G)``
    dual norm of the non-smooth part (for ``alpha_max`` and the duality gap).
``alpha_max(G0)``
    smallest alpha for which W = 0 is optimal, given ``G0 = X_k^T (y_k - ybar_k) / n_k``.
``prox(W, step)``
    proximal operator of ``step * Omega`` at W.
``kkt_violation(W, G, alpha)``
    distance of ``G`` (minus the gradient of the data fit) to ``alpha * dOmega(W)``, per feature.

``W`` and ``G`` always have shape (p, K): features x tasks.
"""
from __future__ import annotations

import abc
import numbers

import numpy as np

__all__ = ["Penalty", "check_l1_ratio", "require"]


def check_l1_ratio(l1_ratio) -> float:
    """Validate an elastic-net mixing parameter."""
    if isinstance(l1_ratio, bool) or not isinstance(l1_ratio, numbers.Real):
        raise TypeError(f"l1_ratio must be a number in [0, 1], got {l1_ratio!r}")
    if not 0.0 <= float(l1_ratio) <= 1.0 or np.isnan(l1_ratio):
        raise ValueError(f"l1_ratio must lie in [0, 1], got {l1_ratio!r}")
    return float(l1_ratio)


def require(penalty, solver: str, *capabilities: str) -> None:
    """Raise ``TypeError`` if ``penalty`` lacks a capability that ``solver`` needs."""
    missing = [c for c in capabilities if getattr(penalty, c, None) is None]
    if missing:
        raise TypeError(f"solver {solver!r} needs {', '.join(missing)} from the penalty, "
                        f"which {type(penalty).__name__} ({penalty.name!r}) does not provide")


class Penalty(abc.ABC):
    """Base class of ``Omega`` in ``alpha * Omega(W)``."""

    name = "penalty"
    #: the solver (key of mtreg.solvers.SOLVERS) that fits this penalty
    solver = "bcd"
    kernel: str | None = None
    is_convex = True

    @abc.abstractmethod
    def value(self, W: np.ndarray) -> float:
        """``Omega(W)`` for W of shape (p, K)."""

    def generalized_support(self, W: np.ndarray) -> np.ndarray:
        """Boolean (p, K): entries that the penalty considers selected."""
        return W != 0

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
