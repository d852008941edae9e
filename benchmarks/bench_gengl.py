"""SSMTL_m speed: the MeTaG scenario (p=100, m=32, 50 rows per task) and time per SPG iteration vs m.

The issue's target: one SSMTL_m fit on the MeTaG scenario in under 10 s. The pair operators
(column fusion and element-wise fusion over task pairs) have p m (m - 1) / 2 groups, so an
iteration grows as O(p m^2) once m is large; the data fit grows as O(N p).

Run: ``python benchmarks/bench_gengl.py`` (``--full`` adds m = 128).
"""
import sys
import time
import warnings

import numpy as np

from mtreg.penalties.gengl import SSMTL
from mtreg.simulate_gengl import gengl_scenarios
from mtreg.solvers import spg
from mtreg.solvers.problem import make_problem


def problem_for(data):
    X = data.filter(like="x").to_numpy()
    n = data.groupby("task").size().to_numpy()
    return make_problem(X, data.y.to_numpy(), np.concatenate([[0], np.cumsum(n)]), shared=False)


def main():
    data, _ = gengl_scenarios("metag", seed=0)
    prob = problem_for(data)
    print("SSMTL_m (h=2, phi=2) on the MeTaG scenario: p=100, m=32, n=50 per task")
    for alpha, tol, max_iter in [(0.01, 1e-4, 2000), (0.01, 1e-6, 10_000), (0.1, 1e-6, 10_000)]:
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec = spg.solve(prob, SSMTL(), alpha, tol=tol, max_iter=max_iter)
        dt = time.perf_counter() - t
        print(f"  alpha={alpha:<5g} tol={tol:<6g} {dt:6.2f} s  {rec.n_iter:5d} iterations  "
              f"{1e3 * dt / rec.n_iter:6.2f} ms/iter  converged={rec.converged}  "
              f"objective={rec.objective:.6g}")
    print("\ntime per iteration vs m (p=100, n=50 per task, 200 iterations)")
    print(f"  {'m':>4} {'groups':>9} {'ms/iter':>8}")
    rng = np.random.default_rng(0)
    for m in [8, 16, 32, 64] + ([128] if "--full" in sys.argv else []):
        p, n = 100, 50
        X = rng.normal(size=(m * n, p))
        y = X @ rng.normal(size=p) * 0 + rng.normal(size=m * n)
        prob_m = make_problem(X, y, np.arange(m + 1) * n, shared=False)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rec = spg.solve(prob_m, SSMTL(), 0.01, tol=1e-300, max_iter=200)
        dt = time.perf_counter() - t
        print(f"  {m:>4} {rec.extra['n_smoothed_groups']:>9} {1e3 * dt / rec.n_iter:8.2f}")


if __name__ == "__main__":
    main()
