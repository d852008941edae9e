"""Conformance tests run for every registered penalty (closed forms and numerical minimisation)."""
import numpy as np
import pytest
from scipy.optimize import minimize

from mtreg.penalties import REGISTRY, GroupLasso, Lasso, Op, Penalty, get_penalty
from mtreg.penalties.base import require

NAMES = sorted(REGISTRY)
#: penalties with the elastic-net hyperparameters (l1_ratio, weights) and a prox
ENET = ["group_lasso", "lasso"]
#: penalties that are norms (positively homogeneous of degree 1) in their default form
NORMS = {"lasso", "group_lasso", "gengl", "gengl_group_lasso", "metag", "rmtfl", "ssmtl", "group_fused"}
#: arguments for penalties that have no default instance
REQUIRED = {"gengl": {"components": [[Op("F", "C"), Op("F", "F2")], [Op("F", "F")]]}}


def _default(name):
    return REGISTRY[name](**REQUIRED.get(name, {}))


def _instances(name):
    cls = REGISTRY[name]
    return [cls(), cls(l1_ratio=0.6), cls(l1_ratio=0.8, weights=np.array([1.0, 0.0, 2.0, 0.5]))]


@pytest.fixture
def W():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((4, 3))
    W[1, 1] = 0.0
    return W


def _coef_like(pen, rng, p=4, K=3):
    """A random argument of ``pen.value``: (p, K), or (h, p, K) for penalties on h components."""
    h = getattr(pen, "n_components", 1)
    return rng.standard_normal((h, p, K) if h > 1 else (p, K))


# ------------------------------------------------------------ every registered penalty
@pytest.mark.parametrize("name", NAMES)
def test_registered_penalty_conformance(name):
    """What every penalty promises: a value that is 0 at 0, convex when it says so, positively
    homogeneous when it is a norm, hyperparameters that rebuild it, and a solver that exists."""
    from mtreg.solvers import SOLVERS

    rng = np.random.default_rng(1)
    pen = _default(name)
    assert pen.name == name
    A, B = _coef_like(pen, rng), _coef_like(pen, rng)
    assert pen.value(np.zeros_like(A)) == 0.0
    assert np.isfinite(pen.value(A))
    if pen.is_convex:  # (entropic OT terms, as in MTW, may be negative)
        assert pen.value(A) > 0
    if pen.is_convex:
        assert pen.value(0.5 * (A + B)) <= 0.5 * (pen.value(A) + pen.value(B)) + 1e-12
    if name in NORMS:
        assert pen.value(2.5 * A) == pytest.approx(2.5 * pen.value(A))
    assert type(pen)(**pen.params()) == pen
    assert pen.solver in SOLVERS


@pytest.mark.parametrize("name", NAMES)
def test_registered_penalty_fits_end_to_end(name):
    """Every penalty fits through mtreg.fit on a small long table, with finite coefficients."""
    import pandas as pd

    import mtreg

    rng = np.random.default_rng(2)
    frames = []
    for k in range(6):
        X = rng.standard_normal((20, 5))
        frames.append(pd.DataFrame(X, columns=[f"x{j}" for j in range(5)]).assign(
            y=X[:, 0] * (1 + k % 2) - X[:, 1] + 0.3 * rng.standard_normal(20), task=k))
    df = pd.concat(frames, ignore_index=True)
    res = mtreg.fit("y ~ x0 + x1 + x2 + x3 + x4", task="task", data=df, penalty=_default(name),
                    alpha=0.05)
    assert res.params.shape == (5, 6)
    assert np.all(np.isfinite(res.params.to_numpy()))
    assert np.abs(res.params.loc["x0"]).sum() > 0
    assert name in res.summary().as_text() or type(res.penalty).__name__ in res.summary().as_text()


# ------------------------------------------------------------ elastic-net family
@pytest.mark.parametrize("name", ENET)
def test_value_is_zero_at_zero_and_positive_homogeneous_l1_part(name, W):
    for pen in _instances(name):
        assert pen.value(np.zeros_like(W)) == 0.0
        assert pen.value(W) > 0
        if pen.l1_ratio == 1.0:
            assert np.isclose(pen.value(3.0 * W), 3.0 * pen.value(W))


@pytest.mark.parametrize("name", ENET)
def test_prox_minimises_its_objective(name, W):
    """prox(V, s) = argmin_U 1/2 ||U - V||^2 + s * Omega(U), checked by numerical minimisation."""
    step = 0.7
    for pen in _instances(name):
        P = pen.prox(W, step)

        def obj(u):
            U = u.reshape(W.shape)
            return 0.5 * np.sum((U - W) ** 2) + step * pen.value(U)  # noqa: B023

        best = minimize(obj, P.ravel() + 0.05, method="Powell",
                        options={"xtol": 1e-10, "ftol": 1e-14, "maxfev": 200000})
        assert obj(P.ravel()) <= best.fun + 1e-8


@pytest.mark.parametrize("name", ENET)
def test_kkt_violation_vanishes_at_prox_fixed_point(name, W):
    # U = prox(V, s) <=> (V - U)/s in dOmega(U): with G = (V - U)/s the KKT violation is 0 at alpha=1
    step = 0.5
    for pen in _instances(name):
        U = pen.prox(W, step)
        G = (W - U) / step
        assert np.all(pen.kkt_violation(U, G, 1.0) < 1e-10)
        # and a perturbed point violates them
        assert np.max(pen.kkt_violation(U + 0.3, G, 1.0)) > 1e-3


@pytest.mark.parametrize("name", ENET)
def test_alpha_max_is_where_prox_of_gradient_vanishes(name, W):
    # W = 0 is optimal for 1/2||U - G0||^2 + alpha*Omega(U) iff alpha >= alpha_max(G0)
    for pen in _instances(name):
        G0 = W.copy()
        if getattr(pen, "weights", None) is not None:
            G0[pen.weights == 0] = 0.0
        amax = pen.alpha_max(G0)
        assert np.all(pen.prox(G0, amax * 1.0001) == 0)
        assert np.any(pen.prox(G0, amax * 0.99) != 0)


def test_dual_norm_closed_forms(W):
    assert Lasso().dual_norm(W) == pytest.approx(np.abs(W).max())
    assert GroupLasso().dual_norm(W) == pytest.approx(np.linalg.norm(W, axis=1).max())
    w = np.array([1.0, 2.0, 4.0, 0.5])
    assert GroupLasso(weights=w).dual_norm(W) == pytest.approx((np.linalg.norm(W, axis=1) / w).max())
    # unpenalised feature with a nonzero gradient: W = 0 is never optimal
    assert GroupLasso(weights=np.array([0.0, 1, 1, 1])).dual_norm(W) == np.inf


def test_group_lasso_value_matches_definition(W):
    pen = GroupLasso(l1_ratio=0.3)
    expected = 0.3 * np.linalg.norm(W, axis=1).sum() + 0.35 * np.sum(W**2)
    assert pen.value(W) == pytest.approx(expected)
    assert np.array_equal(pen.generalized_support(W), np.ones_like(W, dtype=bool))


def test_registry_errors():
    with pytest.raises(ValueError, match="unknown penalty 'lassoo'; known penalties: .*group_lasso.*lasso"):
        get_penalty("lassoo")
    with pytest.raises(ValueError, match=r"l1_ratio must lie in \[0, 1\], got 1.5"):
        get_penalty("lasso", l1_ratio=1.5)
    with pytest.raises(TypeError, match="l1_ratio must be a number"):
        get_penalty("lasso", l1_ratio="0.5")
    with pytest.raises(TypeError, match="penalty 'group_lasso'.*n_groups"):
        get_penalty("group_lasso", n_groups=3)
    with pytest.raises(TypeError, match="together with a penalty object"):
        get_penalty(Lasso(), l1_ratio=0.5)
    with pytest.raises(ValueError, match="non-negative"):
        Lasso(weights=[1.0, -1.0])
    with pytest.raises(ValueError, match="weights has 2 entries but the design has 4"):
        Lasso(weights=[1.0, 1.0]).value(np.ones((4, 2)))
    with pytest.raises(ValueError, match="l1_ratio=0"):
        Lasso(l1_ratio=0.0).alpha_max(np.ones((2, 2)))


def test_require_names_solver_and_capability():
    class OnlyValue(Penalty):
        name = "only_value"

        def value(self, W):
            return 0.0

    with pytest.raises(TypeError, match="solver 'bcd' needs kernel, dual_norm.*OnlyValue"):
        require(OnlyValue(), "bcd", "kernel", "dual_norm")
    require(GroupLasso(), "bcd", "kernel", "dual_norm")


def test_equality_and_repr():
    assert Lasso(l1_ratio=0.5) == Lasso(l1_ratio=0.5)
    assert Lasso() != GroupLasso()
    assert repr(GroupLasso(l1_ratio=0.5)) == "GroupLasso(l1_ratio=0.5)"
