"""GenGL / SSMTL on the three synthetic scenarios of Fei et al. (ECAI 2023), section 6.1.

Fits GL, MeTaG, rMTFL and SSMTL_m on the GL, MeTaG and rMTFL scenarios
(:func:`mtreg.simulate_gengl.gengl_scenarios`), picks the hyperparameters on a held-out
validation split (20% of every task's rows), and prints, per scenario and model:

* support F1: the support of W is the set of entries with ``|w_jk| > 1e-2 * max |w|`` (SPG's
  smoothed fusions leave tiny non-zeros, hence a threshold), compared with the true support;
* relative estimation error ``||W_hat - W*||_F / ||W*||_F``;
* the number of task clusters found (tasks whose columns coincide, ``record.extra["U"]``).

The paper's Fig. 2 shows the recovered W next to the truth; with ``--plot`` (matplotlib) the
same panels are saved to ``gengl_synthetic.png``.

Reduced size by default (alpha grid {1e-3, 1e-2}, phi = 2, at most 600 iterations). ``--full`` or
``MTREG_FULL=1``: the paper's grid {1e-3, ..., 1e3} and phi in {2, 5, 10, 50}. As in the paper, a
fit stops when the relative change of the objective is below 1e-4, after at most 2000 iterations.
"""
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd

import mtreg
from mtreg.simulate_gengl import gengl_scenarios

FULL = "--full" in sys.argv or os.environ.get("MTREG_FULL") == "1"
ALPHAS = 10.0 ** np.arange(-3, 4) if FULL else 10.0 ** np.arange(-3, -1)
PHIS = (2.0, 5.0, 10.0, 50.0) if FULL else (2.0,)
FIT = {"tol": 1e-4, "max_iter": 2000 if FULL else 600}

MODELS = {
    "GL": lambda phi: "group_lasso",
    "MeTaG": lambda phi: mtreg.penalties.gengl.MeTaG(n_components=2, phi=phi),
    "rMTFL": lambda phi: "rmtfl",
    "SSMTL_m": lambda phi: mtreg.penalties.gengl.SSMTL(n_components=2, phi=phi),
}
USES_PHI = {"MeTaG", "SSMTL_m"}


def split(data, frac=0.2, seed=0):
    """Hold out ``frac`` of the rows of every task."""
    rng = np.random.default_rng(seed)
    u = rng.random(len(data))
    rank = pd.Series(u, index=data.index).groupby(data["task"]).rank(pct=True)
    val = rank <= frac
    return data[~val], data[val]


def support_f1(W, W_true):
    est = np.abs(W) > 1e-2 * np.abs(W).max()
    true = W_true != 0
    tp = (est & true).sum()
    return 2 * tp / max(est.sum() + true.sum(), 1)


def main():
    rows, panels = [], {}
    t0 = time.time()
    for scenario in ("gl", "metag", "rmtfl"):
        data, W_true = gengl_scenarios(scenario, seed=0)
        train, val = split(data)
        formula = "y ~ " + " + ".join(c for c in data.columns if c.startswith("x"))
        for name, make in MODELS.items():
            best = None
            for phi in (PHIS if name in USES_PHI else (None,)):
                for alpha in ALPHAS:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        res = mtreg.fit(formula, task="task", data=train, penalty=make(phi),
                                        alpha=alpha, **FIT)
                    err = float(np.mean((val.y - res.predict(val)) ** 2))
                    if best is None or err < best[0]:
                        best = (err, alpha, phi, res)
            err, alpha, phi, res = best
            W = res.params.to_numpy()
            U = res.record.extra.get("U")
            rows.append({"scenario": scenario, "model": name, "alpha": alpha, "phi": phi,
                         "val_mse": err, "support_F1": support_f1(W, W_true.to_numpy()),
                         "rel_error": np.linalg.norm(W - W_true.to_numpy()) / np.linalg.norm(W_true),
                         "clusters": None if U is None else U.shape[0]})
            panels[scenario, name] = W
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 120, "display.float_format", "{:.4g}".format):
        print(f"GenGL synthetic scenarios ({'full' if FULL else 'reduced'} grid), {time.time() - t0:.0f} s")
        print(table.to_string(index=False))
        print("\nsupport F1 (rows: scenario, columns: model)")
        print(table.pivot(index="scenario", columns="model", values="support_F1"))
        print("\nrelative estimation error")
        print(table.pivot(index="scenario", columns="model", values="rel_error"))
    if "--plot" in sys.argv:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(3, 5, figsize=(14, 9))
        for i, scenario in enumerate(("gl", "metag", "rmtfl")):
            _, W_true = gengl_scenarios(scenario, seed=0)
            mats = [("truth", W_true.to_numpy())] + [(m, panels[scenario, m]) for m in MODELS]
            for ax, (title, M) in zip(axes[i], mats, strict=True):
                ax.imshow(np.abs(M) > 1e-2 * np.abs(M).max(), aspect="auto", cmap="Greys")
                ax.set_title(f"{scenario}: {title}", fontsize=8)
                ax.set_xticks([])
                ax.set_yticks([])
        fig.savefig("gengl_synthetic.png", dpi=100)


if __name__ == "__main__":
    main()
