"""Generalized group lasso (GenGL) and the SSMTL family (Fei, Sun, Kudo & Kimura, ECAI 2023).

The coefficient matrix is a sum of ``h`` components, ``W = W_1 + ... + W_h`` (each p x K), and

    Omega(W_1, ..., W_h) = sum_l sum_{o in ops(l)} c_{l,o}
                           sum_{pi_1 in P_1(o)} sum_{pi_2 in P_2(o)} || pi_1^T W_l pi_2 ||_2,

    c_{l,o} = gamma * o.weight / phi ** (o.decay * l),        l = 1, ..., h,

(the paper's eq. (8); ``decay=+1`` is the paper's gamma_l = gamma / phi^l, ``decay=-1`` its
gamma / phi^-l, ``decay=0`` no decay). Each operation ``o`` is a pair of partitions, one over the
features (``P_1``) and one over the tasks (``P_2``), drawn from the paper's eq. (4)-(6):

``"C"`` (coarsest)
    one operator, the identity: the whole dimension is one group.
``"F"`` (finest)
    the unit vectors e_j: every index is its own group (*selection*).
``"F2"`` (finest in pairs)
    the differences e_j - e_k, j < k: every unordered pair is a group (*clustering*/fusion).

So ``Op("F", "C")`` is the row norm of the group lasso, ``Op("F", "F")`` the lasso,
``Op("C", "F")`` the column norm (task outliers), ``Op("C", "F2")`` the fusion of task columns
(MeTaG) and ``Op("F", "F2")`` the element-wise fusion of task pairs. The paper counts p^2 pair
operators in P_F2; ordered pairs would only double each term, so mtreg uses the j < k pairs of
its Table 1.

The operators are built once as scipy.sparse matrices acting on ``Ws.ravel()`` (C order) of the
stacked components ``Ws`` of shape (h, p, K); the rows of one group are contiguous, and
:meth:`GenGL.operator` returns ``(D, group_ptr, group_coef)`` with
``Omega(Ws) = sum_g group_coef[g] * ||(D @ Ws.ravel())[group_ptr[g]:group_ptr[g + 1]]||``.
A pair operation over K tasks has K (K - 1) / 2 groups and two non-zeros per row; nothing of
size K^2 x pK is ever dense.

The penalty is fitted by the smoothing proximal gradient solver (``solver = "spg"``,
:mod:`mtreg.solvers.spg`) on the DESIGN.md objective
``sum_k 1/(2 n_k) ||y_k - b_k - X_k w_k||^2 + alpha * Omega(W_1, ..., W_h)``, which stops on the
duality gap of the unsmoothed problem (``<= tol * F(0)``, as every convex mtreg fit; the dual
ball is bounded through :meth:`GenGL.dual_norm_components`). A GenGL that is a plain group lasso
(one component, one ``Op("F", "C")``) or a plain lasso (one ``Op("F", "F")``) names the block
coordinate descent solver of the core instead (``solver = "bcd"``). Model pages:
``docs/models/gengl.rst`` and one page per preset.

Presets, each checked against its classic formula in ``tests/test_gengl.py``:
:class:`GenGLGroupLasso` (``gengl_group_lasso``), :class:`MeTaG` (``metag``), :class:`RMTFL`
(``rmtfl``), :class:`SSMTL` (``ssmtl``, the paper's SSMTL_m) and :class:`GroupFused`
(``group_fused``).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .base import Penalty

__all__ = ["Op", "GenGL", "GenGLGroupLasso", "MeTaG", "RMTFL", "SSMTL", "GroupFused",
           "partition_operator", "PRESETS"]

_PARTITIONS = ("C", "F", "F2")


def _check_positive(name, value, *, allow_zero=False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a finite number {'>=' if allow_zero else '>'} 0, got {value!r}")
    return value


@dataclass(frozen=True)
class Op:
    """One GenGL operation: a partition of the features and one of the tasks.

    Parameters
    ----------
    features, tasks : {"C", "F", "F2"}
        Partition of the feature (row) and task (column) indices: coarsest, finest, finest in
        pairs (see the module docstring).
    weight : float, default 1
        Multiplier of this operation inside its component (e.g. the paper's gamma_1, gamma_2).
    decay : int, default 1
        Exponent sign of the component factor: the operation of component ``l`` (1-based) is
        weighted by ``gamma * weight / phi ** (decay * l)``.
    """

    features: str = "F"
    tasks: str = "C"
    weight: float = 1.0
    decay: int = 1

    def __post_init__(self):
        for side in ("features", "tasks"):
            if getattr(self, side) not in _PARTITIONS:
                raise ValueError(f"Op.{side} must be one of {_PARTITIONS}, got {getattr(self, side)!r}")
        _check_positive("Op.weight", self.weight, allow_zero=True)
        if isinstance(self.decay, bool) or not isinstance(self.decay, numbers.Integral):
            raise TypeError(f"Op.decay must be an integer (usually -1, 0 or 1), got {self.decay!r}")

    @property
    def kind(self) -> tuple[str, str]:
        return (self.features, self.tasks)


def partition_operator(partition: str, n: int) -> tuple[sp.csr_matrix, int]:
    """Stacked operators ``pi^T`` of one partition of ``range(n)``.

    Returns
    -------
    M : scipy.sparse.csr_matrix of shape (n_groups * size, n)
        Rows ``g*size:(g+1)*size`` are ``pi_g^T``: the identity (``"C"``, one group of size n),
        the unit vectors (``"F"``, n groups of size 1) or the differences ``e_j - e_k`` for
        ``j < k`` (``"F2"``, n (n - 1) / 2 groups of size 1).
    size : int
        Rows per group.
    """
    if partition == "C":
        return sp.identity(n, format="csr"), n
    if partition == "F":
        return sp.identity(n, format="csr"), 1
    if partition == "F2":
        j, k = np.triu_indices(n, 1)
        r = np.arange(j.size)
        data = np.concatenate([np.ones(j.size), -np.ones(j.size)])
        M = sp.csr_matrix((data, (np.concatenate([r, r]), np.concatenate([j, k]))), shape=(j.size, n))
        return M, 1
    raise ValueError(f"unknown partition {partition!r}; use one of {_PARTITIONS}")


def _op_matrix(op: Op, p: int, K: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """Operator of one operation on ``W.ravel()`` (W of shape (p, K), C order), groups contiguous.

    ``vec_C(pi_1^T W pi_2) = (pi_1^T kron pi_2^T) vec_C(W)``; rows are reordered so that the rows
    of each group (pi_1, pi_2) follow each other. Returns the matrix and the group sizes.
    """
    M1, s1 = partition_operator(op.features, p)
    M2, s2 = partition_operator(op.tasks, K)
    D = sp.kron(M1, M2, format="csr")
    r1, r2 = M1.shape[0], M2.shape[0]
    i1, i2 = np.divmod(np.arange(r1 * r2), r2)
    group = (i1 // s1) * (r2 // s2) + i2 // s2
    order = np.argsort(group, kind="stable")
    n_groups = (r1 // s1) * (r2 // s2)
    return D[order], np.full(n_groups, s1 * s2, dtype=np.int64)


def _op_norm2(op: Op, p: int, K: int) -> float:
    """``||D_o||_2^2``: 1 for "C"/"F" (orthogonal stacking), n for "F2" (Laplacian of K_n)."""
    def one(partition, n):
        return float(n) if partition == "F2" and n > 1 else 1.0
    return one(op.features, p) * one(op.tasks, K)


def _op_values(op: Op, W: np.ndarray) -> np.ndarray:
    """Group norms ``||pi_1^T W pi_2||`` of one operation, computed directly (no operator)."""
    F = op.features
    T = op.tasks

    def pairs(A, axis):
        n = A.shape[axis]
        j, k = np.triu_indices(n, 1)
        return np.take(A, j, axis=axis) - np.take(A, k, axis=axis)

    A = W
    if F == "F2":
        A = pairs(A, 0)
    if T == "F2":
        A = pairs(A, 1)
    if F == "C" and T == "C":
        return np.array([np.linalg.norm(A)])
    if F == "C":
        return np.linalg.norm(A, axis=0)
    if T == "C":
        return np.linalg.norm(A, axis=1)
    return np.abs(A).ravel()


def _range_gauge(op: Op, A: np.ndarray, atol: float = 0.0) -> float:
    """A ``t`` with ``A = D_o^T beta``, ``max_g ||beta_g|| <= t``, for one operation (unit weight).

    Selection partitions ("C", "F") invert exactly (the gauge is the largest group norm). A pair
    partition of n indices represents only vectors summing to zero along its dimension; such an
    ``x`` is ``M^T beta`` with ``beta_jk = (x_j - x_k) / n`` (``M^T M = n I - 1 1^T``). Sums
    within ``atol`` (times the number of summed entries) of zero count as zero (rounding) and are
    removed before differencing; larger ones give ``inf``.
    """
    scale = 1.0
    for axis, part in ((0, op.features), (1, op.tasks)):
        if part != "F2":
            continue
        n = A.shape[axis]
        s = A.sum(axis=axis, keepdims=True)
        if np.any(np.abs(s) > atol * n):
            return np.inf
        if n == 1:
            return 0.0
        A = A - s / n
        j, k = np.triu_indices(n, 1)
        A = np.take(A, j, axis=axis) - np.take(A, k, axis=axis)
        scale *= n
    reduced = Op(op.features.replace("F2", "F"), op.tasks.replace("F2", "F"))
    return float(np.max(_op_values(reduced, A), initial=0.0)) / scale


def _n_op_groups(op: Op, p: int, K: int) -> int:
    def one(part, n):
        return {"C": 1, "F": n, "F2": n * (n - 1) // 2}[part]
    return one(op.features, p) * one(op.tasks, K)


class GenGL(Penalty):
    """Generalized group lasso over a sum of components (Fei et al., ECAI 2023, eq. (8)).

    ``W = W_1 + ... + W_h`` and

        Omega(W_1, ..., W_h) = sum_l sum_{o in components[l-1]} gamma * o.weight / phi^(o.decay l)
                               * sum_{pi_1 in P_1(o), pi_2 in P_2(o)} || pi_1^T W_l pi_2 ||_2

    Parameters
    ----------
    components : list of list of Op
        One list of operations per component (h = ``len(components)``).
    gamma : float, default 1
        Overall strength (the fit multiplies it by ``alpha``).
    phi : float, default 2
        Ratio of the strengths of successive components (the paper's phi).

    Notes
    -----
    :meth:`value` takes the stacked components of shape (h, p, K) (or W of shape (p, K) when
    h = 1); the fitted components are ``record.extra["components"]``. Omega as a function of the
    sum W alone is an infimal convolution and is not evaluated.
    """

    name = "gengl"
    is_convex = True

    def __init__(self, components, gamma: float = 1.0, phi: float = 2.0):
        if isinstance(components, Op):
            components = [[components]]
        comps = []
        for c in components:
            ops = [c] if isinstance(c, Op) else list(c)
            if not ops or not all(isinstance(o, Op) for o in ops):
                raise TypeError("components must be a list of non-empty lists of Op, got "
                                f"{components!r}")
            comps.append(tuple(ops))
        if not comps:
            raise ValueError("GenGL needs at least one component")
        self.components = tuple(comps)
        self.gamma = _check_positive("gamma", gamma)
        self.phi = _check_positive("phi", phi)
        self._cache = {}

    # ----------------------------------------------------------------- structure
    @property
    def n_components(self) -> int:
        return len(self.components)

    def op_coef(self, l: int, op: Op) -> float:
        """Weight of ``op`` in component ``l`` (0-based): ``gamma * weight / phi ** (decay * (l + 1))``."""
        return self.gamma * op.weight / self.phi ** (op.decay * (l + 1))

    def _reduced(self):
        """``("l21"|"l1", coef)`` when the penalty is a plain group lasso / lasso, else None."""
        if self.n_components == 1 and len(self.components[0]) == 1:
            op = self.components[0][0]
            kernel = {("F", "C"): "l21", ("F", "F"): "l1"}.get(op.kind)
            if kernel is not None:
                return kernel, self.op_coef(0, op)
        return None

    @property
    def solver(self) -> str:
        """``"bcd"`` for a plain group lasso or lasso, else ``"spg"``."""
        return "bcd" if self._reduced() else "spg"

    @property
    def kernel(self):
        red = self._reduced()
        return red[0] if red else None

    # what the block coordinate descent solver reads when the penalty reduces to its kernels
    l1_ratio = 1.0

    def feature_weights(self, p: int) -> np.ndarray:
        """Per-feature weights of the reduced group lasso / lasso, shape (p,)."""
        red = self._reduced()
        if red is None:
            raise ValueError(f"{self!r} is not a plain group lasso or lasso")
        return np.full(p, red[1])

    def operator(self, p: int, K: int, select=None):
        """Sparse operator of the penalty on ``Ws.ravel()`` (Ws of shape (h, p, K)).

        Parameters
        ----------
        p, K : int
            Features and tasks.
        select : tuple of int, optional
            Indices into :meth:`flat_ops` of the operations to include (default: all).

        Returns
        -------
        D : scipy.sparse.csr_matrix of shape (n_rows, h * p * K)
            Block diagonal over components, rows of one group contiguous.
        group_ptr : ndarray of int64, shape (n_groups + 1,)
        group_coef : ndarray of shape (n_groups,)
            ``gamma * weight / phi ** (decay * l)`` of the group's operation.
        group_op : ndarray of int64, shape (n_groups,)
            Index of the group's operation in ``self.flat_ops()``.
        """
        flat = self.flat_ops()
        select = tuple(range(len(flat))) if select is None else tuple(select)
        key = ("op", p, K, select)
        if key not in self._cache:
            blocks, sizes, coefs, opidx = [], [np.zeros(0, dtype=np.int64)], [np.zeros(0)], \
                [np.zeros(0, dtype=np.int64)]
            for i in select:
                l, op = flat[i]
                D, gs = _op_matrix(op, p, K)
                left = sp.csr_matrix((D.shape[0], l * p * K))
                right = sp.csr_matrix((D.shape[0], (self.n_components - l - 1) * p * K))
                blocks.append(sp.hstack([left, D, right], format="csr"))
                sizes.append(gs)
                coefs.append(np.full(gs.size, self.op_coef(l, op)))
                opidx.append(np.full(gs.size, i, dtype=np.int64))
            D = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, self.n_components * p * K))
            sizes = np.concatenate(sizes)
            ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
            self._cache[key] = (D, ptr, np.concatenate(coefs), np.concatenate(opidx))
        return self._cache[key]

    def flat_ops(self) -> list[tuple[int, Op]]:
        """``(component index (0-based), Op)`` for every operation, in order."""
        return [(l, op) for l, ops in enumerate(self.components) for op in ops]

    # ---------------------------------------------------------------------- maths
    def _as_components(self, W) -> np.ndarray:
        W = np.asarray(W, dtype=np.float64)
        if W.ndim == 2 and self.n_components == 1:
            return W[None]
        if W.ndim != 3 or W.shape[0] != self.n_components:
            raise ValueError(f"GenGL with h={self.n_components} components takes the stacked "
                             f"components of shape (h, p, K), got shape {W.shape}")
        return W

    def value(self, W) -> float:
        """``Omega`` of the stacked components ``W`` (h, p, K), from the sparse operators.

        A (p, K) matrix is accepted when h = 1.
        """
        Ws = self._as_components(W)
        _, p, K = Ws.shape
        D, ptr, coef, _ = self.operator(p, K)
        z = D @ Ws.ravel()
        norms = np.sqrt(np.add.reduceat(z**2, ptr[:-1])) if z.size else np.zeros(0)
        return float(coef @ norms)

    value_components = value

    def value_direct(self, W) -> float:
        """``Omega`` evaluated term by term from the partitions (no operator; for checks)."""
        Ws = self._as_components(W)
        return float(sum(self.op_coef(l, op) * _op_values(op, Ws[l]).sum() for l, op in self.flat_ops()))

    def generalized_support(self, W):
        return np.asarray(W) != 0

    def _gauge(self, op: Op, G: np.ndarray) -> float:
        """A ``t`` with ``G`` in ``t * {D_o^T beta : ||beta_g|| <= 1}`` (exact for selections).

        For a pair partition of n indices, ``D^T beta`` sums to zero along that dimension (else
        ``inf``); when it does, ``beta_jk = (G_j - G_k) / n`` reproduces G, giving the bound.
        """
        kind = op.kind
        if kind == ("F", "C"):
            return float(np.linalg.norm(G, axis=1).max(initial=0.0))
        if kind == ("F", "F"):
            return float(np.abs(G).max(initial=0.0))
        if kind == ("C", "F"):
            return float(np.linalg.norm(G, axis=0).max(initial=0.0))
        if kind == ("C", "C"):
            return float(np.linalg.norm(G))
        # pair operators: D^T beta has zero sums along each pair dimension
        A = G
        scale = 1.0
        for axis, part in ((0, op.features), (1, op.tasks)):
            if part == "F2":
                if not np.allclose(A.sum(axis=axis), 0.0, atol=1e-12 * max(1.0, np.abs(A).max())):
                    return np.inf
                n = A.shape[axis]
                j, k = np.triu_indices(n, 1)
                A = (np.take(A, j, axis=axis) - np.take(A, k, axis=axis))
                scale *= n
        reduced = Op(op.features.replace("F2", "F"), op.tasks.replace("F2", "F"))
        return float(np.max(_op_values(reduced, A), initial=0.0)) / scale

    def alpha_max(self, G0: np.ndarray) -> float:
        """An alpha at and above which all components are zero.

        ``G0`` (p, K) is minus the gradient of the data fit at W = 0. W_l = 0 is optimal when G0
        lies in ``alpha * sum_o c_{l,o} D_o^T B`` for every component; each term alone suffices,
        so ``max_l min_o gauge_o(G0) / c_{l,o}`` is returned: exact when every component has one
        selection operation (group lasso, lasso, rMTFL), an upper bound otherwise, and ``inf``
        when only fusion operations are present (the fused fit is the pooled regression, never 0).
        """
        out = 0.0
        for l, ops in enumerate(self.components):
            best = np.inf
            for op in ops:
                c = self.op_coef(l, op)
                if c > 0:
                    best = min(best, self._gauge(op, G0) / c)
            out = max(out, best)
        return float(out)

    def dual_norm_components(self, Gs: np.ndarray, atol: float = 0.0) -> float:
        """An upper bound on the dual norm of Omega at the stacked ``Gs`` (h, p, K).

        The dual unit ball is ``K_1 x ... x K_h``, ``K_l = sum_o c_{l,o} {D_o^T beta : ||beta_g||
        <= 1}``; so ``max_l min_o gauge_o(Gs[l]) / c_{l,o}`` bounds the dual norm from above
        (exactly when each component has a single operation). When no single operation of a
        component represents ``Gs[l]`` (a fusion-only component with a matrix outside its
        range), a least-squares ``beta`` over all the component's operations is used; ``inf``
        when ``Gs[l]`` is not in the range of ``D_l^T``. ``atol``: rounding tolerance of the
        range tests. Used by the duality gap of :mod:`mtreg.solvers.spg`.
        """
        Gs = np.asarray(Gs, dtype=np.float64)
        if Gs.ndim != 3 or Gs.shape[0] != self.n_components:
            raise ValueError(f"expected stacked components of shape (h={self.n_components}, p, K), "
                             f"got {Gs.shape}")
        _, p, K = Gs.shape
        out = 0.0
        for l, ops in enumerate(self.components):
            active = [op for op in ops if self.op_coef(l, op) > 0 and _n_op_groups(op, p, K) > 0]
            if not active:
                best = 0.0 if np.abs(Gs[l]).max(initial=0.0) <= atol else np.inf
            else:
                # cheap selections first: they are exact and often decide the minimum
                order = sorted(active, key=lambda o: "F2" in o.kind)
                best = min(_range_gauge(op, Gs[l], atol) / self.op_coef(l, op) for op in order)
                if not np.isfinite(best):
                    best = self._lsq_gauge(l, active, Gs[l], atol)
            out = max(out, best)
            if not np.isfinite(out):
                break
        return float(out)

    def _lsq_gauge(self, l: int, active, G: np.ndarray, atol: float) -> float:
        """``max_g ||beta_g|| / c_g`` of the least-squares ``beta`` with ``D_l^T beta = G``."""
        from scipy.sparse.linalg import lsqr

        p, K = G.shape
        flat = self.flat_ops()
        select = tuple(i for i, (m, op) in enumerate(flat) if m == l and op in active)
        D, ptr, coef, _ = self.operator(p, K, select=select)
        D = D[:, l * p * K:(l + 1) * p * K]
        Dc = sp.diags(np.repeat(coef, np.diff(ptr))) @ D  # beta' = beta / c: gauge = max ||beta'_g||
        x = G.ravel()
        beta = lsqr(Dc.T.tocsr(), x, atol=1e-14, btol=1e-14, iter_lim=10 * x.size)[0]
        res = np.linalg.norm(Dc.T @ beta - x)
        if res > max(atol * np.sqrt(x.size), 1e-9 * np.linalg.norm(x)):
            return np.inf
        return float(np.sqrt(np.add.reduceat(beta**2, ptr[:-1])).max(initial=0.0))

    def dual_norm(self, G: np.ndarray) -> float:
        """``alpha_max`` of a gradient ``G`` (see :meth:`alpha_max`)."""
        return self.alpha_max(G)

    def params(self) -> dict:
        return {"components": [list(ops) for ops in self.components], "gamma": self.gamma,
                "phi": self.phi}

    def __eq__(self, other):
        return type(self) is type(other) and self.params() == other.params()

    __hash__ = None


# ---------------------------------------------------------------------------- presets
class GenGLGroupLasso(GenGL):
    """Group lasso written as a GenGL (paper's Table 1, GL): ``gamma * ||W||_{2,1}``, h = 1.

    Equal to the core :class:`~mtreg.penalties.GroupLasso` (times ``gamma``), and fitted by the
    same block coordinate descent solver.
    """

    name = "gengl_group_lasso"

    def __init__(self, gamma: float = 1.0):
        super().__init__([[Op("F", "C", decay=0)]], gamma=gamma, phi=1.0)

    def params(self):
        return {"gamma": self.gamma}


class MeTaG(GenGL):
    """Multi-level task groups (Han & Zhang, AAAI 2015), paper's Table 1.

        Omega = sum_{l=1}^h gamma / phi^l * sum_{j<k} || W_l[:, j] - W_l[:, k] ||_2

    Parameters
    ----------
    n_components : int, default 2
    gamma, phi : float

    Notes
    -----
    Fusion alone never zeroes W: at large alpha the fit is the pooled regression, so
    ``alpha_max`` is infinite and paths need explicit ``alphas``.

    Every component carries the same norm f (the column fusion), so by the triangle inequality
    ``inf_{W_1 + ... + W_h = W} sum_l c_l f(W_l) = min_l c_l f(W)``: the fitted W is that of the
    one-level model (``n_components=1``) at weight ``gamma / phi^h``, the weakest level takes
    all of W, the split between components is not unique, and ``phi`` only rescales ``alpha``.
    This is the formula of the paper's Table 1; fitting ``n_components=1`` at
    ``alpha / phi^(h - 1)`` gives the same W in far fewer SPG iterations.
    """

    name = "metag"

    def __init__(self, n_components: int = 2, gamma: float = 1.0, phi: float = 2.0):
        h = _check_h(n_components)
        super().__init__([[Op("C", "F2", decay=1)] for _ in range(h)], gamma=gamma, phi=phi)

    def params(self):
        return {"n_components": self.n_components, "gamma": self.gamma, "phi": self.phi}


class RMTFL(GenGL):
    """Robust multi-task feature learning (Gong, Ye & Zhang, KDD 2012).

        W = P + Q,   Omega = gamma * (rows * ||P||_{2,1} + cols * ||Q^T||_{2,1})

    Row-sparse shared features (P) plus column-sparse outlier tasks (Q).
    """

    name = "rmtfl"

    def __init__(self, rows: float = 1.0, cols: float = 1.0, gamma: float = 1.0):
        rows = _check_positive("rows", rows, allow_zero=True)
        cols = _check_positive("cols", cols, allow_zero=True)
        super().__init__([[Op("F", "C", weight=rows, decay=0)], [Op("C", "F", weight=cols, decay=0)]],
                         gamma=gamma, phi=1.0)

    def params(self):
        (p_op,), (q_op,) = self.components
        return {"rows": p_op.weight, "cols": q_op.weight, "gamma": self.gamma}


class SSMTL(GenGL):
    """SSMTL_m, the paper's shallow model (Table 1): four operations per component.

    The penalty is::

        Omega = sum_{l=1}^h [ gamma1 / phi^l    * sum_{j<k} ||W_l[:, j] - W_l[:, k]||_2
                            + gamma2 / phi^-l   * ||W_l||_{2,1}
                            + gamma1 / phi^-l   * sum_i sum_{j<k} |W_l[i, j] - W_l[i, k]|
                            + gamma2 / phi^l    * ||W_l||_1 ]

    (times ``gamma``). Task-level column fusion weakens and row selection strengthens with l;
    element-wise fusion strengthens and the lasso weakens. The paper's Table 1 prints the third
    term with a square; as a GenGL term (F, F2) it is the absolute difference, used here.

    Parameters
    ----------
    n_components : int, default 2
        h (the paper fixes h = 2).
    gamma1, gamma2 : float, default 1
        Task-level (fusion) and feature-level (selection) strengths.
    phi : float, default 2
    gamma : float, default 1
    """

    name = "ssmtl"

    def __init__(self, n_components: int = 2, gamma1: float = 1.0, gamma2: float = 1.0,
                 phi: float = 2.0, gamma: float = 1.0):
        h = _check_h(n_components)
        g1 = _check_positive("gamma1", gamma1, allow_zero=True)
        g2 = _check_positive("gamma2", gamma2, allow_zero=True)
        comp = [Op("C", "F2", weight=g1, decay=1), Op("F", "C", weight=g2, decay=-1),
                Op("F", "F2", weight=g1, decay=-1), Op("F", "F", weight=g2, decay=1)]
        super().__init__([list(comp) for _ in range(h)], gamma=gamma, phi=phi)
        self.gamma1, self.gamma2 = g1, g2

    def params(self):
        return {"n_components": self.n_components, "gamma1": self.gamma1, "gamma2": self.gamma2,
                "phi": self.phi, "gamma": self.gamma}


class GroupFused(GenGL):
    """Group fused lasso over task pairs, with an optional row-sparsity term (h = 1).

        Omega = gamma * ( sum_{j<k} ||W[:, j] - W[:, k]||_2 + sparsity * ||W||_{2,1} )
    """

    name = "group_fused"

    def __init__(self, sparsity: float = 0.0, gamma: float = 1.0):
        s = _check_positive("sparsity", sparsity, allow_zero=True)
        ops = [Op("C", "F2", decay=0)]
        if s > 0:
            ops.append(Op("F", "C", weight=s, decay=0))
        super().__init__([ops], gamma=gamma, phi=1.0)
        self.sparsity = s

    def params(self):
        return {"sparsity": self.sparsity, "gamma": self.gamma}


def _check_h(h) -> int:
    if isinstance(h, bool) or not isinstance(h, numbers.Integral) or h < 1:
        raise ValueError(f"n_components must be an integer >= 1, got {h!r}")
    return int(h)


#: registry names of the presets (the lead adds these to mtreg.penalties.REGISTRY)
PRESETS = {
    "gengl": GenGL,
    "gengl_group_lasso": GenGLGroupLasso,
    "metag": MeTaG,
    "rmtfl": RMTFL,
    "ssmtl": SSMTL,
    "group_fused": GroupFused,
}
