"""SSMTL_m speed: the MeTaG scenario (p=100, m=32, 50 rows per task) and time per SPG iteration vs m.

The issue's target: one SSMTL_m fit on the MeTaG scenario in under 10 s at the vignettes'
tolerance (duality gap <= 1e-4 F(0)). Per iteration, SSMTL_m costs the data fit, O(N p), the
exact row-wise prox of each component (row norm + lasso + element-wise pair fusion: a sort and a
pool-adjacent-violators pass per row, O(p m log m)) and the smoothed column fusion, O(p m^2)
(m (m - 1) / 2 pairs of length-p columns) - so the growth with m is quadratic once m is large.

Prints the load average: the machine may be shared, and times scale with it; the growth with m
is a ratio measured in the same run. Run: ``python benchmarks/bench_gengl.py`` (``--full`` adds
m = 128). Results: benchmarks/README-gengl.md.
"""
import os
import sys
import time
import warnings

import numpy as np

from mtreg.penalties.gengl import SSMTL
from mtreg.simulate import gengl_scenarios
from mtreg.solvers import spg
from mtreg.solvers.problem import make_problem


def problem_for(data):
    X = data.filter(like="x").to_numpy()
    n = data.groupby("task").size().to_numpy()
    return make_problem(X, data.y.to_numpy(), np.concatenate([[0], np.cumsum(n)]), shared=False)


def timed(prob, alpha, tol, max_iter):
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = spg.solve(prob, SSMTL(), alpha, tol=tol, max_iter=max_iter)
    return time.perf_counter() - t, rec


def main():
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    data, _ = gengl_scenarios("metag", seed=0)
    prob = problem_for(data)
    print("SSMTL_m (h=2, phi=2, gamma1=gamma2=1) on the MeTaG scenario: p=100, m=32, n=50 per task")
    print(f"  {'alpha':>6} {'tol':>6} {'time s':>7} {'iters':>6} {'ms/iter':>8} {'gap/F(0)':>9} "
          f"{'converged':>9} {'objective':>11}")
    for alpha in (0.001, 0.01, 0.1):
        for tol in (1e-4, 1e-6):
            dt, rec = timed(prob, alpha, tol, 20_000)
            print(f"  {alpha:>6g} {tol:>6g} {dt:7.2f} {rec.n_iter:6d} {1e3 * dt / rec.n_iter:8.2f} "
                  f"{rec.gap / rec.gap_tol * tol:9.2e} {rec.converged!s:>9} {rec.objective:11.6g}")
    print("\ntime per iteration vs m (p=100, n=50 per task, alpha=0.01, 300 iterations)")
    print(f"  {'m':>4} {'smoothed groups':>15} {'ms/iter':>8} {'ratio to m=8':>12}")
    rng = np.random.default_rng(0)
    base = None
    for m in [8, 16, 32, 64] + ([128] if "--full" in sys.argv else []):
        p, n = 100, 50
        X = rng.normal(size=(m * n, p))
        y = X @ (rng.normal(size=p) * (rng.random(p) < 0.1)) + rng.normal(size=m * n)
        prob_m = make_problem(X, y, np.arange(m + 1) * n, shared=False)
        dt, rec = timed(prob_m, 0.01, 1e-300, 300)
        per = 1e3 * dt / rec.n_iter
        base = base or per
        print(f"  {m:>4} {rec.extra['n_smoothed_groups']:>15} {per:8.2f} {per / base:12.2f}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
