#!/usr/bin/env python
"""Issue-4 path and CV speed figures on the harness's problem a (shared n=200 p=2000 K=20).

1. A 100-alpha path (alpha_max .. alpha_max/100, warm starts, strong rules) against ONE cold fit
   at its smallest alpha (target: < 5x).
2. 10-fold CV over the same 100 alphas: ``mtreg.cv_model`` against scikit-learn's
   ``MultiTaskLassoCV`` on identical folds (KFold(10), no shuffle) (target: >= 2x faster).

Run: ``python bench_path_cv.py [--n-jobs 2] [--repeats 3]`` (BLAS limited to 1 thread per process).
"""
import argparse
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402


def best_of(fn, repeats):
    fn()  # warm-up (imports, joblib workers, cached layouts)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-jobs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--folds", type=int, default=10)
    args = ap.parse_args()

    from sklearn.linear_model import MultiTaskLassoCV

    from mtreg import design as mdesign
    from mtreg.cv import cv_model
    from mtreg.model import MultiTaskModel
    from mtreg.path import fit_path
    from mtreg.penalties import GroupLasso
    from mtreg.solvers import bcd

    prob = peers.PROBLEMS["a"][0](0)
    problem = peers.mtreg_problem(prob)
    am = peers.alpha_max(prob, "l21")
    alphas = am * np.geomspace(1, 1e-2, 100)
    tol, big = 1e-6, 100_000
    foldid = np.concatenate([np.full(len(c), f) for f, c in
                             enumerate(np.array_split(np.arange(prob.n), args.folds))])
    model = MultiTaskModel._from_design(mdesign.from_endog_exog(prob.Y, prob.X), penalty="group_lasso",
                                        fit_intercept=False, standardize=False)
    with threadpool_limits(1):
        t_path = best_of(lambda: fit_path(problem, GroupLasso(), alphas, tol=tol, max_iter=big),
                         args.repeats)
        t_one = best_of(lambda: bcd.solve(problem, GroupLasso(), alphas[-1], tol=tol, max_iter=big),
                        args.repeats)
        t_cv = best_of(lambda: cv_model(model, foldid=foldid, alphas=alphas, tol=tol, max_iter=big,
                                        n_jobs=args.n_jobs), 1)
        t_sk = best_of(lambda: MultiTaskLassoCV(alphas=alphas, cv=args.folds, fit_intercept=False,
                                                tol=tol, max_iter=big).fit(prob.X, prob.Y), 1)
        # scikit-learn parallelises its folds too: the like-for-like figure
        t_skj = best_of(lambda: MultiTaskLassoCV(alphas=alphas, cv=args.folds, fit_intercept=False,
                                                 tol=tol, max_iter=big, n_jobs=args.n_jobs)
                        .fit(prob.X, prob.Y), 1)
    print(f"load average: {os.getloadavg()}")
    print("| figure | mtreg | reference | ratio | target |\n|---|---|---|---|---|")
    print(f"| 100-alpha path vs one cold fit at alpha_max/100 | {t_path:.3g} s | {t_one:.3g} s | "
          f"{t_path / t_one:.2f}x | < 5x |")
    print(f"| {args.folds}-fold CV, 100 alphas (n_jobs={args.n_jobs}) vs MultiTaskLassoCV | {t_cv:.3g} s "
          f"| {t_sk:.3g} s (serial) | {t_sk / t_cv:.2f}x faster | >= 2x faster |")
    print(f"| same, MultiTaskLassoCV also n_jobs={args.n_jobs} | {t_cv:.3g} s | {t_skj:.3g} s | "
          f"{t_skj / t_cv:.2f}x faster | >= 2x faster |")


if __name__ == "__main__":
    main()
