#!/usr/bin/env python
"""Issue-9 memory figures: peak memory of building and fitting a ~1 GB design.

Every case runs in a fresh subprocess that imports mtreg, records its RSS, generates the data
(the user's arrays, written in place so that generation leaves no high-water mark of its own),
then builds the model with the arrays API and fits a group lasso at ``alpha_frac`` (0.2 by
default, a moderate alpha: a few dozen active rows). Reported, in multiples of the design's
bytes ``N * p * 8`` (float64):

``total``   ru_maxrss (peak RSS) minus the RSS after imports: the user's arrays included.
``mtreg``   ru_maxrss minus the RSS once the user's arrays exist: what mtreg adds.
``traced``  tracemalloc peak of the allocations made by build + fit (numpy reports its data
            allocations to tracemalloc): what mtreg adds, counted exactly.

Target (issue #9): ``mtreg <= 2.5`` (the solver's one standardised copy, plus at most one copy
made while building the design: stacking per-task arrays, sorting rows by task or changing the
layout). Cases:

``shared-F``   ``MultiTaskModel(Y, X)``, one (n, p) X, column-major: the design IS the array.
``shared-C``   the same with a row-major X: one column-major copy in the design.
``arrays``     ``MultiTaskModel.from_arrays(X_list, y_list)``: the per-task arrays are
               stacked once; they stay alive (the user still holds them).
``task``       ``MultiTaskModel(y, X, task)`` with shuffled rows: sorted by task in one take.
``*-f32``      the same with ``dtype="float32"`` (the solver's copy is float32).

Run: ``python benchmarks/bench_memory.py [--gb 1.0] [--cases shared-F,arrays] [--alpha-frac 0.2]``.
The float64 cases also run against another mtreg tree (e.g. an export of an older commit, built
in place): ``PYTHONPATH=/path/to/tree python benchmarks/bench_memory.py --cases shared-C,arrays``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap

CASES = ("shared-F", "shared-C", "arrays", "task", "shared-F-f32", "arrays-f32")


CHILD = textwrap.dedent('''
    import gc, json, resource, sys, time, tracemalloc
    import numpy as np
    import mtreg
    from mtreg.solvers import bcd  # noqa: F401  (kernels loaded before the baseline)

    case, gb, alpha_frac, tol = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
    def rss():
        with open("/proc/self/statm") as f:
            import os
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    def maxrss():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    base = rss()
    dtype = "float32" if case.endswith("-f32") else "float64"
    kw = {"dtype": dtype} if dtype != "float64" else {}  # float64 cases also run on older mtreg
    kind = case.removesuffix("-f32")
    p, K = 2_500, 10
    N = int(gb * 2**30 / (8 * p))
    rng = np.random.default_rng(0)
    W = np.zeros((p, K)); W[:20] = rng.standard_normal((20, K))
    def fill(A, chunk=4096):  # standard normal data written in place, chunk by chunk
        for a in range(0, A.shape[0], chunk):
            A[a:a + chunk] = rng.standard_normal((min(chunk, A.shape[0] - a), A.shape[1]))
        return A
    if kind.startswith("shared"):
        X = fill(np.empty((N, p), order="F" if kind == "shared-F" else "C"))
        Y = X @ W + rng.standard_normal((N, K))
        build = lambda: mtreg.MultiTaskModel(Y, X, **kw)
    elif kind == "arrays":
        n = N // K
        N = n * K
        Xs = [fill(np.empty((n, p))) for _ in range(K)]
        ys = [Xs[k] @ W[:, k] + rng.standard_normal(n) for k in range(K)]
        build = lambda: mtreg.MultiTaskModel.from_arrays(Xs, ys, **kw)
    else:  # task column, rows shuffled
        X = fill(np.empty((N, p)))
        task = rng.integers(0, K, N)
        y = np.einsum("ij,ij->i", X, W[:, task].T) + rng.standard_normal(N)
        build = lambda: mtreg.MultiTaskModel(y, X, task, **kw)
    gc.collect()
    with_data = rss()
    design_bytes = N * p * 8
    tracemalloc.start()
    t0 = time.perf_counter()
    model = build()
    t_build = time.perf_counter() - t0
    res = model.fit(alpha_frac=alpha_frac, tol=tol)
    t_fit = time.perf_counter() - t0 - t_build
    traced = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    peak = maxrss()
    print(json.dumps(dict(case=case, N=N, p=p, K=K, design_gb=design_bytes / 2**30,
                          total=(peak - base) / design_bytes,
                          mtreg=(peak - with_data) / design_bytes,
                          traced=traced / design_bytes, build_s=t_build, fit_s=t_fit,
                          nonzero_rows=int((res.params.to_numpy() != 0).any(axis=1).sum()),
                          converged=bool(res.record.converged))))
''')


def run(case: str, gb: float, alpha_frac: float, tol: float, python: str) -> dict:
    out = subprocess.run([python, "-c", CHILD, case, str(gb), str(alpha_frac), str(tol)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"case {case} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gb", type=float, default=1.0, help="design size in GiB (float64)")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--alpha-frac", type=float, default=0.2)
    ap.add_argument("--tol", type=float, default=1e-5)
    ap.add_argument("--python", default=sys.executable,
                    help="interpreter to run the cases with (e.g. one with another mtreg)")
    args = ap.parse_args(argv)
    print("| case | N x p (K) | design GiB | total | mtreg | traced | build s | fit s | rows |\n"
          "|---|---|---|---|---|---|---|---|---|")
    worst = 0.0
    for case in args.cases.split(","):
        r = run(case, args.gb, args.alpha_frac, args.tol, args.python)
        worst = max(worst, r["mtreg"])
        print(f"| {r['case']} | {r['N']} x {r['p']} ({r['K']}) | {r['design_gb']:.2f} | "
              f"{r['total']:.2f}x | {r['mtreg']:.2f}x | {r['traced']:.2f}x | "
              f"{r['build_s']:.1f} | {r['fit_s']:.1f} | {r['nonzero_rows']} |", flush=True)
    print(f"\nworst mtreg peak: {worst:.2f}x the design (target <= 2.5x): "
          f"{'OK' if worst <= 2.5 else 'ABOVE TARGET'}")


if __name__ == "__main__":
    main()
