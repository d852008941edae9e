#!/usr/bin/env python
"""Issue-7 scale figures: wall time and peak memory of two large fits at alpha_max/10.

Cases (each in a fresh subprocess, BLAS single-threaded, through the user API
``mtreg.MultiTaskModel``, default ``fit_intercept=True, standardize=True``, ``tol=1e-6``):

``per-task``  ``MultiTaskModel.from_arrays(X_list, y_list)`` with 1,000 tasks x 20 rows x 1,000
              features (dense float64; the design is 160 MB); 3 task groups, each with its own
              10-row support, as the harness's problem c.
``sparse``    ``MultiTaskModel(Y, X)`` with one shared scipy CSC ``X`` of n = 2,000 rows and
              p = 100,000 features at density 1% (2 M nonzeros, 24 MB as CSC with int32 indices)
              and K = 5 tasks with a common 20-row support.  The sparse design is not centred:
              the intercepts are solved inline.

Peak memory is measured as in ``bench_memory.py`` (issue 9): ``total`` = ru_maxrss minus the
RSS after the imports (the user's arrays included), ``mtreg`` = ru_maxrss minus the RSS once
the user's arrays exist, both in multiples of the design's bytes (``N p 8`` dense; ``data +
indices + indptr`` sparse).  Target (issue 7): ``mtreg`` < 2.5.  (bench_memory.py keeps its
measuring code inside its child script, so it is restated here rather than imported.)

Run: ``python benchmarks/bench_scale.py [--cases per-task,sparse] [--scale 1.0]`` (``--scale``
shrinks both designs, for a quick check).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

CASES = ("per-task", "sparse")

CHILD = textwrap.dedent('''
    import gc, json, os, resource, sys, time
    import numpy as np
    import scipy.sparse as sp
    import mtreg
    from mtreg.solvers import bcd  # noqa: F401  (kernels loaded before the baseline)

    case, scale, tol = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    def maxrss():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    base = rss()
    rng = np.random.default_rng(0)
    if case == "per-task":
        K, n, p = max(3, int(1000 * scale)), 20, max(50, int(1000 * scale))
        W = np.zeros((p, K))
        for tasks in np.array_split(np.arange(K), 3):
            W[np.ix_(rng.choice(p, 10, replace=False), tasks)] = rng.standard_normal((10, len(tasks)))
        Xs = [rng.standard_normal((n, p)) for _ in range(K)]
        ys = [Xs[k] @ W[:, k] + rng.standard_normal(n) for k in range(K)]
        design_bytes = K * n * p * 8
        build = lambda: mtreg.MultiTaskModel.from_arrays(Xs, ys)
        shape = f"{K} tasks x {n} rows x {p} features"
    else:
        n, p, K = 2000, max(1000, int(100_000 * scale)), 5
        X = sp.random(n, p, density=0.01, format="csc", random_state=rng,
                      data_rvs=rng.standard_normal)
        W = np.zeros((p, K)); W[rng.choice(p, 20, replace=False)] = rng.standard_normal((20, K))
        Y = X @ W + rng.standard_normal((n, K))
        design_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
        build = lambda: mtreg.MultiTaskModel(Y, X)
        shape = f"n={n} p={p} K={K}, {X.nnz} nonzeros"
    gc.collect()
    with_data = rss()
    t0 = time.perf_counter()
    model = build()
    t_build = time.perf_counter() - t0
    res = model.fit(alpha_frac=0.1, tol=tol)
    t_fit = time.perf_counter() - t0 - t_build
    peak = maxrss()
    rec = res.record
    print(json.dumps(dict(case=case, shape=shape, design_mb=design_bytes / 2**20,
                          total=(peak - base) / design_bytes, mtreg=(peak - with_data) / design_bytes,
                          build_s=t_build, fit_s=t_fit, epochs=int(rec.n_iter),
                          nonzero_rows=int((res.params.to_numpy() != 0).any(axis=1).sum()),
                          converged=bool(rec.converged))))
''')


def run(case: str, scale: float, tol: float, python: str, threads: int = 1) -> dict:
    # BLAS on one thread; mtreg's own OpenMP loops (per-task kernels) on ``threads``
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS="1",
               MKL_NUM_THREADS="1")
    out = subprocess.run([python, "-c", CHILD, case, str(scale), str(tol)], capture_output=True,
                         text=True, check=False, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--scale", type=float, default=1.0, help="shrink the designs (quick check)")
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--threads", type=int, default=1,
                    help="OMP_NUM_THREADS of the fits (mtreg's per-task OpenMP loops)")
    args = ap.parse_args(argv)
    print("| case | design | design MB | build s | fit s | epochs | rows | converged | total | mtreg |\n"
          "|---|---|---|---|---|---|---|---|---|---|")
    for case in args.cases.split(","):
        r = run(case, args.scale, args.tol, args.python, args.threads)
        print(f"| {r['case']} | {r['shape']} | {r['design_mb']:.0f} | {r['build_s']:.2f} | "
              f"{r['fit_s']:.2f} | {r['epochs']} | {r['nonzero_rows']} | {r['converged']} | "
              f"{r['total']:.2f}x | {r['mtreg']:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
