"""Structured and non-convex models on the harness's per-task problem c (issue 7).

Problem c of ``peers.py`` (K = 30 tasks, n_k = 50 rows, p = 500 features, 3 task groups with 10
relevant features each, seed 0): every model of mtreg that takes a per-task design, fitted
through the user API (``MultiTaskModel.from_arrays``, no intercept, no standardisation: the
harness's objective) at ``alpha_frac=0.1`` (``alpha=0.01`` for the fusion-only penalties, which
have no finite alpha_max) with ``tol=1e-6``. Prints one Markdown row per model:
wall time (median of ``--repeats``), the same in gradient passes ('gp' = time / one ``X_k^T r_k``
pass over all tasks, the harness's unit, min of 20 measured in the same process), the solver, its
iteration count, convergence and the number of nonzero rows.

The convex models are certified by a duality gap (``gap <= tol F(0)``); SG-MTL, ClusMTL, the
adaptive lasso and ReMTW are non-convex (stopping on the relative decrease of the objective).
There is no peer for most of them on this problem (MuTaR's models: ``bench_zoo.py``).

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_structured.py [--repeats 3] [--models a,b]``.
"""
import argparse
import os
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402  (the harness's problem generators)

from mtreg.model import MultiTaskModel  # noqa: E402

MODELS = {  # label: (registry name, options)
    "lasso": ("lasso", {}),
    "group lasso": ("group_lasso", {}),
    "elastic-net group lasso (l1_ratio 0.5)": ("group_lasso", {"l1_ratio": 0.5}),
    "adaptive lasso": ("adaptive_lasso", {}),
    "dirty": ("dirty", {}),
    "multilevel": ("multilevel", {}),
    "MTW": ("mtw", {}),
    "ReMTW": ("remtw", {}),
    "SG-MTL (3 groups)": ("sgmtl", {"n_groups": 3, "random_state": 0}),
    "fusion SG-MTL": ("sgmtl", {"n_groups": 3, "fusion": 0.1, "random_state": 0}),
    "ClusMTL": ("clusmtl", {"n_groups": 3, "random_state": 0}),
    "GenGL group lasso (SPG dispatch)": ("gengl_group_lasso", {}),
    "rMTFL": ("rmtfl", {}),
    "MeTaG": ("metag", {}),
    "SSMTL_m": ("ssmtl", {}),
    "group fused": ("group_fused", {}),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--models", default="", help="comma-separated labels (default: all)")
    args = ap.parse_args()
    prob = peers.make_per_task("c", 30, 50, 500, 3, 10, seed=0)
    Xs = [np.ascontiguousarray(prob.X[k]) for k in range(prob.K)]
    ys = [np.ascontiguousarray(prob.Y[:, k]) for k in range(prob.K)]
    R = prob.Y.copy()
    chosen = [m for m in MODELS if not args.models or m in args.models.split(",")]
    print(f"load average {os.getloadavg()[0]:.2f}; problem c: K={prob.K}, n_k={prob.n}, p={prob.p}\n")
    print("| model | time s | gp | solver | iterations | converged | nonzero rows |")
    print("|---|---:|---:|---|---:|---|---:|")
    with threadpool_limits(1):
        for label in chosen:
            name, opts = MODELS[label]
            model = MultiTaskModel.from_arrays(Xs, ys, penalty=name, fit_intercept=False,
                                               standardize=False, **opts)
            _ = model.problem  # built once, outside the timing (as the harness's block designs)
            # fusion-only penalties have no finite alpha_max: the vignettes' alpha = 0.01
            amax = model._alpha_max_or_inf()
            kw = {"alpha_frac": 0.1} if np.isfinite(amax) else {"alpha": 0.01}
            times = []
            for _ in range(args.repeats):
                t = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    res = model.fit(tol=1e-6, **kw)
                times.append(time.perf_counter() - t)
            gp = []
            for _ in range(20):
                t = time.perf_counter()
                prob.XtR(R)
                gp.append(time.perf_counter() - t)
            it, conv, solver = res.n_iter, res.converged, res.record.solver
            nnz = int(np.any(np.asarray(res.params) != 0, axis=1).sum())
            t = float(np.median(times))
            if "alpha" in kw:
                label += " (alpha = 0.01)"
            print(f"| {label} | {t:.3g} | {t / min(gp):.0f} | {solver} | {it} | {conv} | {nnz} |",
                  flush=True)


if __name__ == "__main__":
    main()
