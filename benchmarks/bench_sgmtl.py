"""Time SG-MTL on the paper's set-2 at full size (30 tasks, 150 features, 100 rows per task).

Target (issue 3): under 5 s with ``n_init=10`` on a 2-core machine. Wall and CPU time (the
machine is shared: the CPU time of this process is the steadier figure) at each alpha of the
vignette's set-2 grid, with the load average printed. Run::

    python benchmarks/bench_sgmtl.py [--repeat 3] [--alpha 0.0003 0.003 0.03]
"""
import argparse
import os
import time

import numpy as np
from sklearn.metrics import adjusted_rand_score

import mtreg
from mtreg.simulate import sgmtl_groups


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--alpha", type=float, nargs="+", default=[0.0003, 0.001, 0.003, 0.01, 0.03])
    ap.add_argument("--n-init", type=int, default=10)
    args = ap.parse_args()
    data, coef, groups = sgmtl_groups("set2", seed=0)
    formula = "y ~ " + " + ".join(coef.index)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for alpha in args.alpha:
        model = mtreg.MultiTaskModel.from_formula(formula, data, task="task", penalty="sgmtl",
                                                  n_groups=5, n_init=args.n_init, random_state=0)
        _ = model.problem  # build the design once, outside the timing
        times, cpu = [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            res = model.fit(alpha)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        ari = adjusted_rand_score(groups.loc[res.params.columns], res.record.extra["labels"])
        print(f"set-2 full size, n_init={args.n_init}, alpha={alpha}: wall best {min(times):.2f} s, "
              f"median {np.median(times):.2f} s; CPU best {min(cpu):.2f} s over {args.repeat} runs; "
              f"ARI {ari:.3f}, outer iterations {res.record.n_iter}, "
              f"W epochs {res.record.extra['n_epochs']}, polish moves {res.record.extra['n_polish_moves']}")
    t0 = time.perf_counter()
    mtreg.fit(formula, task="task", data=data, penalty="sgmtl", alpha=args.alpha[0], n_groups=5,
              n_init=args.n_init, random_state=0)
    print(f"including formula/design: {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
