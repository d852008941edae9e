"""Per-task designs: the effect of each kernel lever on harness problems c and r (issue 7).

For the group lasso (l21) and the independent lassos (l1) at alpha_max/10, tol 1e-6, this
times ``bcd.solve`` with each lever on and off, interleaved in one process (so that the
machine's speed, which drifts on a shared VM, affects every variant alike), and reports the
median over ``--repeats`` rounds of the time in gradient passes ('gp' = fit time / the
harness's one-thread ``X^T R``, min of 20, measured in the same round):

* ``inner=cython|python``, ``check=cython|numpy``: the group lasso's working-set loop and its
  duality-gap certificates in one Cython call each (``bcd._FAST_INNER``, ``bcd._FAST_CHECK``)
  or in Python / numpy;
* ``threads=1|2``: OpenMP threads for the independent lassos (``bcd._TASK_THREADS``);
* the short-vector loops' instruction set is chosen per process: run once as is (AVX2+FMA
  where available) and once with ``MTREG_SIMD=generic`` (the baseline build of the same loops).

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_per_task_levers.py [--repeats 15]`` and
``MTREG_SIMD=generic OMP_NUM_THREADS=1 python benchmarks/bench_per_task_levers.py``.
"""
import argparse
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

from mtreg._cy import _bcd  # noqa: E402
from mtreg.penalties import GroupLasso, Lasso  # noqa: E402
from mtreg.solvers import bcd  # noqa: E402

VARIANTS = {  # label: settings of mtreg.solvers.bcd
    "l21": [("inner+check=cython", {"_FAST_INNER": True, "_FAST_CHECK": True}),
            ("inner=cython, check=numpy", {"_FAST_INNER": True, "_FAST_CHECK": False}),
            ("inner+check=python", {"_FAST_INNER": False, "_FAST_CHECK": False})],
    "l1": [("threads=1", {"_TASK_THREADS": 1}), ("threads=2", {"_TASK_THREADS": 2})]}
DEFAULTS = {"_FAST_INNER": True, "_FAST_CHECK": True, "_TASK_THREADS": None}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--problems", default="c,r")
    args = ap.parse_args()
    print(f"short-vector loops: {_bcd.simd_level()}; load average {os.getloadavg()[0]:.2f}\n")
    print("| problem | penalty | variant | fit ms (median) | gp (median [q25, q75]) | epochs |")
    print("|---|---|---|---:|---:|---:|")
    with threadpool_limits(1, user_api="blas"):
        for key in args.problems.split(","):
            prob = peers.PROBLEMS[key][0](0)
            prob.tol = 1e-6
            problem = peers.mtreg_problem(prob)
            R = prob.Y.copy()
            for fam, penalty in (("l21", GroupLasso()), ("l1", Lasso())):
                alpha = peers.alpha_max(prob, fam) / 10
                times = {v[0]: [] for v in VARIANTS[fam]}
                gps = {v[0]: [] for v in VARIANTS[fam]}
                epochs = {}
                for _ in range(args.repeats):
                    for label, settings in VARIANTS[fam]:
                        for attr, value in {**DEFAULTS, **settings}.items():
                            setattr(bcd, attr, value)
                        g = []
                        for _ in range(20):
                            t = time.perf_counter()
                            prob.XtR(R)
                            g.append(time.perf_counter() - t)
                        t = time.perf_counter()
                        rec = bcd.solve(problem, penalty, alpha, tol=1e-6)
                        dt = time.perf_counter() - t
                        times[label].append(dt)
                        gps[label].append(dt / min(g))
                        epochs[label] = rec.n_iter
                for attr, value in DEFAULTS.items():
                    setattr(bcd, attr, value)
                for label, _ in VARIANTS[fam]:
                    q = np.percentile(gps[label], [50, 25, 75])
                    print(f"| {key} | {fam} | {label} | {1e3 * np.median(times[label]):.2f} | "
                          f"{q[0]:.0f} [{q[1]:.0f}, {q[2]:.0f}] | {epochs[label]} |", flush=True)


if __name__ == "__main__":
    main()
