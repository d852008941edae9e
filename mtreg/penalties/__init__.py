"""Penalties, addressed by name (``penalty="group_lasso"``) or passed as objects."""
from __future__ import annotations

from .base import Penalty
from .gengl import RMTFL, SSMTL, GenGL, GenGLGroupLasso, GroupFused, MeTaG, Op
from .sgmtl import SGMTL, STL, AllTasks, ClusMTL
from .sparse_norms import GroupLasso, Lasso
from .zoo import MTW, AdaptiveGroupLasso, AdaptiveLasso, Dirty, MultiLevel, ReMTW

#: name -> penalty class; adding a penalty = one module + one entry here
REGISTRY: dict[str, type[Penalty]] = {
    "lasso": Lasso,
    "group_lasso": GroupLasso,
    "gengl": GenGL,
    "gengl_group_lasso": GenGLGroupLasso,
    "metag": MeTaG,
    "rmtfl": RMTFL,
    "ssmtl": SSMTL,
    "group_fused": GroupFused,
    "sgmtl": SGMTL,
    "stl": STL,
    "alltasks": AllTasks,
    "clusmtl": ClusMTL,
    "adaptive_lasso": AdaptiveLasso,
    "adaptive_group_lasso": AdaptiveGroupLasso,
    "dirty": Dirty,
    "multilevel": MultiLevel,
    "mtw": MTW,
    "remtw": ReMTW,
}


def get_penalty(penalty, **options) -> Penalty:
    """Build a penalty from its registry name, or check and return a penalty object.

    Parameters
    ----------
    penalty : str or Penalty
        A name in :data:`REGISTRY` or an instance of :class:`Penalty`.
    **options
        Hyperparameters for the named penalty (e.g. ``l1_ratio``); not allowed with an object.
    """
    if isinstance(penalty, Penalty):
        if options:
            raise TypeError(
                f"penalty options {sorted(options)} given together with a penalty object "
                f"{penalty!r}; set them on the object instead")
        return penalty
    if not isinstance(penalty, str):
        raise TypeError(f"penalty must be a name or a Penalty object, got {type(penalty).__name__}")
    try:
        cls = REGISTRY[penalty]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"unknown penalty {penalty!r}; known penalties: {known}") from None
    try:
        return cls(**options)
    except TypeError as exc:
        raise TypeError(f"penalty {penalty!r}: {exc}") from None


__all__ = ["Penalty", "Lasso", "GroupLasso", "GenGL", "Op", "GenGLGroupLasso", "MeTaG", "RMTFL", "SSMTL",
           "GroupFused", "SGMTL", "STL", "AllTasks", "ClusMTL", "REGISTRY", "get_penalty",
           "AdaptiveLasso", "AdaptiveGroupLasso", "Dirty", "MultiLevel", "MTW", "ReMTW"]
