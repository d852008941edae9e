"""Time SG-MTL on the paper's set-2 at full size (30 tasks, 150 features, 100 rows per task).

Target (issue 3): under 5 s with ``n_init=10`` on a 2-core machine. Run::

    python benchmarks/bench_sgmtl.py [--repeat 3] [--alpha 0.01]
"""
import argparse
import time

import numpy as np
from sklearn.metrics import adjusted_rand_score

import mtreg
from mtreg.simulate import sgmtl_groups


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--alpha", type=float, default=0.01)
    ap.add_argument("--n-init", type=int, default=10)
    args = ap.parse_args()
    data, coef, groups = sgmtl_groups("set2", seed=0)
    formula = "y ~ " + " + ".join(coef.index)
    model = mtreg.MultiTaskModel.from_formula(formula, data, task="task", penalty="sgmtl",
                                              n_groups=5, n_init=args.n_init, random_state=0)
    _ = model.problem  # build the design once, outside the timing
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        res = model.fit(args.alpha)
        times.append(time.perf_counter() - t0)
    ari = adjusted_rand_score(groups.loc[res.params.columns], res.record.extra["labels"])
    print(f"set-2 full size, n_init={args.n_init}, alpha={args.alpha}: "
          f"best {min(times):.2f} s, median {np.median(times):.2f} s over {args.repeat} runs; "
          f"ARI {ari:.3f}, outer iterations {res.record.n_iter}, W epochs {res.record.extra['n_epochs']}")
    t0 = time.perf_counter()
    mtreg.fit(formula, task="task", data=data, penalty="sgmtl", alpha=args.alpha, n_groups=5,
              n_init=args.n_init, random_state=0)
    print(f"including formula/design: {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
