"""GenGL / SSMTL on the three synthetic scenarios of Fei et al. (ECAI 2023), section 6.1.

Fits GL, MeTaG, rMTFL and SSMTL_m on the GL, MeTaG and rMTFL scenarios
(:func:`mtreg.simulate.gengl_scenarios`: 50 rows per task, X ~ N(0, 1), noise N(0, 0.01)).
The hyperparameters are chosen by K-fold cross-validation (folds drawn within every task,
``mtreg.cv``) over the paper's grid: alpha (the paper's gamma) in {1e-3, ..., 1e3} and, for the
two models with components of decaying weight (MeTaG, SSMTL_m), phi in {2, 5, 10, 50}
(``grid={"alpha": ..., "phi": ...}``); the fit at the alpha (and phi) with the lowest CV error is
kept. The table reports, per scenario and model:

* support F1: the estimated support is ``|w_jk| > 1e-2 * max |w|`` (a fused or smoothed fit can
  leave tiny non-zeros, hence a threshold), compared with the true support ``W* != 0``;
* relative estimation error ``||W_hat - W*||_F / ||W*||_F``;
* the number of task clusters found (tasks whose columns of W coincide, ``res.clusters()``).

Expected (the paper's Fig. 2): each classic model recovers its own scenario, SSMTL_m all three.
``--plot`` saves the recovered W next to the truth (the paper's Fig. 2) to
``gengl_synthetic.png``.

Every fit stops on the duality gap of the unsmoothed problem, ``tol = 1e-4`` relative to F(0)
(``1e-3`` at reduced size). Reduced size by default (CI): 2 folds, alpha in {1e-2, 1e-1},
phi = 2. ``--full`` or ``MTREG_FULL=1``: 5 folds, the paper's full grid.
"""
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd

import mtreg
from mtreg.penalties.gengl import SSMTL, MeTaG
from mtreg.simulate import gengl_scenarios

FULL = "--full" in sys.argv or os.environ.get("MTREG_FULL") == "1"
ALPHAS = 10.0 ** np.arange(-3, 4) if FULL else np.array([1e-2, 1e-1])
PHIS = [2.0, 5.0, 10.0, 50.0] if FULL else [2.0]
N_FOLDS = 5 if FULL else 2
FIT = {"tol": 1e-4 if FULL else 1e-3, "max_iter": 5000}

#: penalty, and whether phi is cross-validated too
MODELS = {
    "GL": ("group_lasso", False),
    "MeTaG": (MeTaG(n_components=2), True),
    "rMTFL": ("rmtfl", False),
    "SSMTL_m": (SSMTL(n_components=2), True),
}


def support_f1(W, W_true):
    est = np.abs(W) > 1e-2 * np.abs(W).max()
    true = W_true != 0
    tp = (est & true).sum()
    return 2 * tp / max(est.sum() + true.sum(), 1)


def select(formula, data, penalty, with_phi):
    """CV over the grid; returns (results at the best pair, alpha, phi, cv error)."""
    common = {"task": "task", "data": data, "penalty": penalty, "n_folds": N_FOLDS, **FIT}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few fits at the extremes of the grid may hit max_iter
        if with_phi:
            cvg = mtreg.cv(formula, grid={"alpha": ALPHAS, "phi": PHIS}, **common)
            alpha, phi = cvg.best["alpha"], cvg.best["phi"]
            cvres = cvg.by_value[phi]
        else:
            cvres = mtreg.cv(formula, alphas=ALPHAS, **common)
            alpha, phi = cvres.alpha_min, None
        res = cvres.results(alpha)
    return res, alpha, phi, float(cvres.cvm[list(cvres.alphas).index(alpha)])


def main():
    rows, panels, truths = [], {}, {}
    t0 = time.time()
    for scenario in ("gl", "metag", "rmtfl"):
        data, W_true = gengl_scenarios(scenario, seed=0)
        truths[scenario] = W_true.to_numpy()
        formula = "y ~ " + " + ".join(c for c in data.columns if c.startswith("x"))
        for name, (penalty, with_phi) in MODELS.items():
            res, alpha, phi, cv_err = select(formula, data, penalty, with_phi)
            W = res.params.to_numpy()
            n_clusters = res.clusters().n_active if "U" in (res.record.extra or {}) else None
            rows.append({"scenario": scenario, "model": name, "alpha": alpha, "phi": phi,
                         "cv_mse": cv_err, "support_F1": support_f1(W, truths[scenario]),
                         "rel_error": np.linalg.norm(W - truths[scenario]) / np.linalg.norm(truths[scenario]),
                         "clusters": n_clusters, "gap/F(0)": res.gap / res.record.gap_tol * FIT["tol"]})
            panels[scenario, name] = W
    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 140, "display.float_format", "{:.4g}".format):
        print(f"GenGL synthetic scenarios ({'full' if FULL else 'reduced'} grid, {N_FOLDS}-fold CV), "
              f"{time.time() - t0:.0f} s")
        print(table.to_string(index=False))
        print("\nsupport F1 (rows: scenario, columns: model)")
        print(table.pivot(index="scenario", columns="model", values="support_F1"))
        print("\nrelative estimation error ||W - W*||_F / ||W*||_F")
        print(table.pivot(index="scenario", columns="model", values="rel_error"))
    if "--plot" in sys.argv:
        plot(panels, truths)


def plot(panels, truths):
    """Recovered |W| next to the truth, one row per scenario (the paper's Fig. 2)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 5, figsize=(14, 9))
    for i, scenario in enumerate(("gl", "metag", "rmtfl")):
        mats = [("truth", truths[scenario])] + [(m, panels[scenario, m]) for m in MODELS]
        for ax, (title, M) in zip(axes[i], mats, strict=True):
            ax.imshow(np.abs(M), aspect="auto", cmap="Greys", interpolation="nearest")
            ax.set_title(f"{scenario}: {title}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("features")
    axes[-1, 0].set_xlabel("tasks")
    fig.tight_layout()
    fig.savefig("gengl_synthetic.png", dpi=100)


if __name__ == "__main__":
    main()
