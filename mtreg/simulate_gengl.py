"""The three synthetic scenarios of Fei, Sun, Kudo & Kimura (ECAI 2023), section 6.1.1.

Every task t has ``n_samples`` rows ``y_t = X_t w_t + e_t`` with ``X_t`` entries ~ N(0, 1) and
noise ~ N(0, 0.01); ``N(m, v)`` is read as mean and *variance* (so the noise sd is 0.1 and the
"N(0, 3)" coefficients have sd sqrt(3)).

``"gl"``
    p = 80, m = 10: 10 random non-zero rows of W, entries ~ N(0, 3) (row sparsity).
``"metag"``
    p = 100, m = 32, W = W1 + W2: W1 has 10 random rows equal to 3 in every task (one group
    of all tasks); W2 has two task groups, tasks 17-24 and 25-32, each with its own 20 random
    rows equal to 1 (hierarchical groups of identical columns).
``"rmtfl"``
    p = 200, m = 30, W = W1 + W2: W1 has 20 random rows ~ N(0, 3); W2 has its last 10 columns
    (outlier tasks) dense ~ N(0, 1) (row sparsity + column sparsity).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["gengl_scenarios", "SCENARIOS"]

SCENARIOS = ("gl", "metag", "rmtfl")


def _truth(scenario: str, rng: np.random.Generator):
    if scenario == "gl":
        p, m = 80, 10
        W1 = np.zeros((p, m))
        rows = rng.choice(p, 10, replace=False)
        W1[rows] = rng.normal(0.0, np.sqrt(3.0), (10, m))
        return [W1]
    if scenario == "metag":
        p, m = 100, 32
        W1 = np.zeros((p, m))
        W1[rng.choice(p, 10, replace=False)] = 3.0
        W2 = np.zeros((p, m))
        for tasks in (slice(16, 24), slice(24, 32)):
            W2[rng.choice(p, 20, replace=False), tasks] = 1.0
        return [W1, W2]
    if scenario == "rmtfl":
        p, m = 200, 30
        W1 = np.zeros((p, m))
        rows = rng.choice(p, 20, replace=False)
        W1[rows] = rng.normal(0.0, np.sqrt(3.0), (20, m))
        W2 = np.zeros((p, m))
        W2[:, m - 10:] = rng.normal(0.0, 1.0, (p, 10))
        return [W1, W2]
    raise ValueError(f"unknown scenario {scenario!r}; choose one of {SCENARIOS}")


def gengl_scenarios(scenario: str = "gl", n_samples: int = 50, seed=None, noise_var: float = 0.01):
    """Simulate one of the paper's synthetic multi-task data sets.

    Parameters
    ----------
    scenario : {"gl", "metag", "rmtfl"}
        See the module docstring.
    n_samples : int, default 50
        Rows per task.
    seed : int or numpy.random.Generator, optional
    noise_var : float, default 0.01
        Noise variance.

    Returns
    -------
    data : pandas.DataFrame
        Long table with columns ``task`` ("t01", ...), ``y``, ``x1`` ... ``xp``;
        ``n_samples * m`` rows.
    W : pandas.DataFrame of shape (p, m)
        The true coefficients (features x tasks). ``W.attrs["components"]`` holds the true
        components (list of (p, m) arrays) and ``W.attrs["scenario"]`` the scenario name.

    Examples
    --------
    >>> from mtreg.simulate_gengl import gengl_scenarios
    >>> data, W = gengl_scenarios("metag", seed=0)
    >>> data.shape, W.shape
    ((1600, 102), (100, 32))
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}")
    if not np.isfinite(noise_var) or noise_var < 0:
        raise ValueError(f"noise_var must be a finite number >= 0, got {noise_var!r}")
    rng = np.random.default_rng(seed)
    comps = _truth(scenario, rng)
    Wt = np.sum(comps, axis=0)
    p, m = Wt.shape
    X = rng.normal(size=(m, n_samples, p))
    y = np.einsum("tnp,pt->tn", X, Wt) + rng.normal(0.0, np.sqrt(noise_var), (m, n_samples))
    tasks = [f"t{t + 1:02d}" for t in range(m)]
    features = [f"x{j + 1}" for j in range(p)]
    data = pd.DataFrame(X.reshape(m * n_samples, p), columns=features)
    data.insert(0, "y", y.ravel())
    data.insert(0, "task", np.repeat(tasks, n_samples))
    W = pd.DataFrame(Wt, index=pd.Index(features, name="feature"), columns=pd.Index(tasks, name="task"))
    W.attrs["components"] = comps
    W.attrs["scenario"] = scenario
    return data, W
