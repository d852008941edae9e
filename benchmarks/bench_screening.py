"""What gap-safe screening could save on the per-task group lasso (issue 7, a lever measured).

Gap-safe sphere test (Fercoq, Gramfort & Salmon 2015; Ndiaye et al. 2017) for the objective
``sum_k 1/(2 n_k) ||y_k - X_k w_k||^2 + sum_j lam1_j ||W_j||_2``: the dual is 1-strongly concave
in the norm ``||theta||_n^2 = sum_k n_k ||theta_k||^2``, so the dual optimum lies within
``sqrt(2 gap)`` of any feasible dual point ``theta_k = s r_k / n_k``, and row j is zero at the
optimum when ``s ||G_j|| + sqrt(2 gap max_k a_jk) < lam1_j`` (``G_jk = x_jk^T r_k / n_k``,
``a_jk = ||x_jk||^2 / n_k``).  This script fits the harness's problems c and r (alpha_max/10,
tol 1e-6), records every full certificate of the solver's outer loop (gap, G, W), and prints
how many rows the test would discard at each one, and so how many of the later full gradients'
row products screening would have saved (the epochs run on working sets, which already exclude
those rows).

Run: ``OMP_NUM_THREADS=1 python benchmarks/bench_screening.py``.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402

from mtreg.penalties import GroupLasso  # noqa: E402
from mtreg.solvers import bcd  # noqa: E402


def screen(key: str) -> None:
    """Fit problem ``key`` and print the rows the test discards at every full certificate."""
    prob = peers.PROBLEMS[key][0](0)
    problem = peers.mtreg_problem(prob)
    design = bcd._design_of(problem)
    lam1 = peers.alpha_max(prob, "l21") / 10  # alpha: every row weight is 1
    amax = design.a.max(axis=1)  # max_k ||x_jk||^2 / n_k
    calls = []
    kernel = bcd._bcd.gap_stacked_dense

    def record(X, task_ptr, r, y, W, lam1_, lam2, rows, l21, G, score):
        gap, primal = kernel(X, task_ptr, r, y, W, lam1_, lam2, rows, l21, G, score)
        if rows.size == design.p:  # a full certificate
            s = 1.0 / max(1.0, score.max())
            safe = s * np.linalg.norm(G, axis=1) + np.sqrt(2 * gap * amax) < lam1
            calls.append((gap, int(safe.sum()), int(np.any(W != 0, axis=1).sum())))
        return gap, primal

    bcd._bcd.gap_stacked_dense = record
    try:
        rec = bcd.solve(problem, GroupLasso(), lam1, tol=1e-6)
    finally:
        bcd._bcd.gap_stacked_dense = kernel
    p = design.p
    print(f"problem {key}: p = {p}, support {int(np.any(rec.coef != 0, axis=1).sum())} rows, "
          f"{len(calls)} full certificates")
    print("| certificate | gap | rows screened | nonzero rows |\n|---:|---:|---:|---:|")
    for i, (gap, n_safe, nnz) in enumerate(calls):
        print(f"| {i} | {gap:.3g} | {n_safe} ({n_safe / p:.0%}) | {nnz} |")
    # rows screened at certificate i are skipped by every later full gradient
    saved = sum(n for _, n, _ in calls[:-1])
    print(f"\nfull-gradient row products: {len(calls) * p}; screening would skip {saved} "
          f"({saved / (len(calls) * p):.0%}), about {saved / p:.1f} gradient passes\n")


def main():
    for key in ("c", "r"):
        screen(key)


if __name__ == "__main__":
    main()
