"""Time the MuTaR model zoo in mtreg against MuTaR on MuTaR-shaped problems.

Problem: the harness's shape (K=30 tasks, n=50 rows per task, p=500 features, per-task designs),
with a dirty structure (5 shared rows, 2 task-specific entries per task), signal-to-noise 2. For
MTW/ReMTW a problem of the same shape with supports shifted on a 1-D grid (``--mtw-shape`` to
change it; ``10,50,100`` is quick).

Both packages minimise the same objective (``sum_k 1/(2 n) ||y_k - b_k - X_k w_k||^2 +
penalty``, per-task intercepts; mtreg's estimators with ``standardize=False``); the final
objective of each is computed here by one numpy function, so "obj - best" shows a fast but
inaccurate fit. MuTaR runs with its default tolerances, mtreg with its default (``tol=1e-6``
relative duality gap or objective decrease).

Run in the peers' venv (it has MuTaR; see /work/shared/bench/README.md)::

    /work/peers-venv/bin/python benchmarks/bench_zoo.py [--repeats 3] [--mutar-repeats 1] \
        [--models IndRewLasso,DirtyModel,...]

mtreg's time is the median of ``--repeats`` fits, MuTaR's of ``--mutar-repeats`` (default one:
it is slow per call), measured back to back in one run.

Without MuTaR installed, only mtreg's times and objectives are printed.
"""
import argparse
import time
import warnings

import numpy as np

from mtreg import sklearn as msk
from mtreg.simulate_zoo import simulate_dirty, simulate_shifted_supports

try:
    import mutar
except ImportError:  # pragma: no cover
    mutar = None


def datafit(X, y, W, b):
    R = y - np.einsum("knp,pk->kn", X, W) - b[:, None]
    return 0.5 * (R**2).sum() / X.shape[1]


def make_objectives():
    return {
        "IndLasso": lambda W, a: a["alpha"] * np.abs(W).sum(),
        "IndRewLasso": lambda W, a: a["alpha"] * np.sqrt(np.abs(W)).sum(),
        "GroupLasso": lambda W, a: a["alpha"] * np.linalg.norm(W, axis=1).sum(),
        "DirtyModel": None,  # needs the split: computed from coef_shared_/coef_specific_
        "MultiLevelLasso": lambda W, a: a["alpha"] * np.sqrt(np.abs(W).sum(axis=1)).sum(),
    }


def dirty_obj(est, a):
    return (a["alpha"] * np.linalg.norm(est.coef_shared_, axis=1).sum()
            + a["beta"] * np.abs(est.coef_specific_).sum())


def intercept_of(est, X, y, W):
    return y.mean(1) - np.einsum("knp,pk->k", X.mean(1, keepdims=True), W)


def timeit(make, X, y, repeats):
    times, est = [], None
    for _ in range(repeats):
        est = make()
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est.fit(X, y)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), est


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3, help="mtreg fits per model (median)")
    ap.add_argument("--mutar-repeats", type=int, default=1,
                    help="MuTaR fits per model (median; MuTaR is slow per call)")
    ap.add_argument("--models", default="IndLasso,IndRewLasso,GroupLasso,DirtyModel,"
                                        "MultiLevelLasso,MTW,ReMTW")
    ap.add_argument("--mtw-shape", default="30,50,500",
                    help="K,n,p of the MTW problem (MuTaR needs minutes at the default)")
    args = ap.parse_args()
    models = args.models.split(",")
    d = simulate_dirty(n_tasks=30, n_samples=50, n_features=500, n_shared=5, n_specific=2,
                       snr=2, random_state=0)
    X, y = d.X, d.y
    Xc = X - X.mean(1, keepdims=True)
    gmax = np.abs(np.einsum("knp,kn->pk", Xc, y - y.mean(1, keepdims=True)) / X.shape[1])
    amax_l1 = gmax.max()
    amax_l21 = np.linalg.norm(gmax, axis=1).max()
    settings = {
        "IndLasso": {"alpha": 0.1 * amax_l1},
        "IndRewLasso": {"alpha": 0.1 * amax_l1},
        "GroupLasso": {"alpha": 0.1 * amax_l21},
        "DirtyModel": {"alpha": 0.1 * amax_l21, "beta": 0.1 * amax_l1},
        "MultiLevelLasso": {"alpha": 0.1 * amax_l1},
    }
    objectives = make_objectives()
    print(f"problem: K={X.shape[0]}, n={X.shape[1]}, p={X.shape[2]} (dirty structure); "
          f"MuTaR {'available' if mutar else 'NOT installed'}")
    print(f"{'model':16s} {'mtreg s':>9s} {'MuTaR s':>9s} {'speed-up':>9s} "
          f"{'obj mtreg':>12s} {'obj MuTaR':>12s} {'rel diff':>10s}")
    for name in models:
        if name in ("MTW", "ReMTW"):
            continue
        a = settings[name]
        ours_kw = dict(a)
        if name == "IndRewLasso":
            ours_kw["n_reweightings"] = 100  # MuTaR's max_iter_reweighting (it stops earlier)
        t_m, e_m = timeit(lambda n=name, k=ours_kw: getattr(msk, n)(**k), X, y, args.repeats)

        def obj(est, a=a, name=name):
            W = est.coef_
            b = intercept_of(est, X, y, W)
            pen = dirty_obj(est, a) if name == "DirtyModel" else objectives[name](W, a)
            return datafit(X, y, W, b) + pen

        o_m = obj(e_m)
        line = f"{name:16s} {t_m:9.3f}"
        if mutar is not None:
            mk = dict(a)
            if name in ("IndLasso", "IndRewLasso"):  # MuTaR wants one alpha per task
                mk["alpha"] = np.full(X.shape[0], a["alpha"])
            t_r, e_r = timeit(lambda n=name, k=mk: getattr(mutar, n)(**k), X, y,
                              args.mutar_repeats)
            o_r = obj(e_r)
            line += (f" {t_r:9.3f} {t_r / t_m:9.1f} {o_m:12.6f} {o_r:12.6f} "
                     f"{(o_m - o_r) / abs(o_r):10.2e}")
        else:
            line += f" {'-':>9s} {'-':>9s} {o_m:12.6f}"
        print(line, flush=True)

    if {"MTW", "ReMTW"} & set(models):
        from mtreg.model import MultiTaskModel
        from mtreg.penalties.zoo import MTW as MTWPenalty
        from mtreg.penalties.zoo import ReMTW as ReMTWPenalty
        from mtreg.penalties.zoo import ground_metric

        Km, nm, pm = (int(v) for v in args.mtw_shape.split(","))
        g = simulate_shifted_supports(n_tasks=Km, n_samples=nm, n_features=pm, n_sources=3,
                                      snr=2, random_state=0)
        M = ground_metric(p=pm)
        Xc = g.X - g.X.mean(1, keepdims=True)
        amax = np.abs(np.einsum("knp,kn->pk", Xc, g.y - g.y.mean(1, keepdims=True)) / nm).max()
        kw = {"alpha": 0.1 * amax, "beta": 0.1 * amax, "epsilon": 5.0 / pm, "gamma": 1.0}
        a_tot, ratio = kw["alpha"] + kw["beta"], kw["beta"] / (kw["alpha"] + kw["beta"])
        print(f"\nMTW problem: K={Km}, n={nm}, p={pm} (shifted supports on a 1-D grid); "
              "alpha=beta=0.1 alpha_max, epsilon=5/p, gamma=1; objective = data fit + alpha OT + "
              "beta l1 (sqrt for ReMTW), OT by Sinkhorn to convergence; mtreg without its "
              "post-fit threshold")
        for name in ("MTW", "ReMTW"):
            if name not in models:
                continue
            cls = MTWPenalty if name == "MTW" else ReMTWPenalty
            ref = cls(l1_ratio=ratio, M=M, epsilon=kw["epsilon"], gamma=1.0)

            def obj(W, ref=ref):
                b = g.y.mean(1) - np.einsum("knp,pk->k", g.X.mean(1, keepdims=True), W)
                return datafit(g.X, g.y, W, b) + a_tot * ref.value(W)

            class Ours:  # the estimator's wiring, with threshold=0 (MuTaR does not threshold)
                def fit(self, X, y, cls=cls):
                    pen = cls(l1_ratio=ratio, M=M, epsilon=kw["epsilon"], gamma=1.0,
                              threshold=0.0)
                    m = MultiTaskModel.from_arrays(list(X), list(y), penalty=pen,
                                                   standardize=False)
                    self.coef_ = m.fit(a_tot).params.to_numpy()
                    return self

            t_m, e_m = timeit(Ours, g.X, g.y, args.repeats)
            o_m = obj(e_m.coef_)
            line = f"{name:16s} {t_m:9.3f}"
            if mutar is not None:
                t_r, e_r = timeit(lambda n=name: getattr(mutar, n)(M=M, **kw), g.X, g.y,
                                  args.mutar_repeats)
                o_r = obj(e_r.coef_)
                line += (f" {t_r:9.3f} {t_r / t_m:9.1f} {o_m:12.6f} {o_r:12.6f} "
                         f"{(o_m - o_r) / abs(o_r):10.2e}")
            else:
                line += f" {'-':>9s} {'-':>9s} {o_m:12.6f}"
            print(line, flush=True)

if __name__ == "__main__":
    main()
