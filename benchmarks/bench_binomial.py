"""Speed of sparse logistic regression (``family="binomial"``, issue 10) against its peers.

1. l1 logistic per task, mtreg (``penalty="lasso"``) vs scikit-learn's ``LogisticRegression``
   (``penalty="l1"``, solvers ``saga`` and ``liblinear``, ``C = 1 / (n_k alpha)``), and, when
   importable, skglm's ``SparseLogisticRegression`` (celer 0.7's ``LogisticRegression`` cannot fit an
   intercept, so it is left out), all with an
   unpenalised intercept (liblinear penalises its intercept; ``intercept_scaling=100`` makes that
   negligible) and no standardisation. Objective of task k, minimised by all of them up to a
   factor: ``1/n_k sum_i log(1 + exp(-s_i (b_k + x_i w_k))) + alpha ||w_k||_1``.
2. Multi-task group lasso logistic, mtreg (``penalty="group_lasso"``) vs skglm's ``LogisticGroup``
   + ``WeightedGroupL2`` + ``GroupBCD`` on the block-diagonal design (feature j of every task is one
   group; skglm's datafit is the mean over all ``n K`` rows, so its alpha is ``alpha / K``), without
   intercepts (skglm fits one intercept, not one per task). Skipped when skglm is not importable:
   run it with ``/work/peers-venv/bin/python``.

Problems (the peer harness's sizes): "per-task" K=30 tasks of n=50 rows, p=500 features, each task
its own design; "shared" one design of n=200 rows, p=2000 features, K=20 responses. Gaussian
features, 10 true features common to all tasks. alpha = ``--frac`` x alpha_max (the smallest alpha
zeroing every coefficient). Every solver is given tolerance ``--tol`` (mtreg: duality gap <= tol x
F(0, b0); scikit-learn / celer / skglm: their own stopping rules with that tol). Times are medians
of ``--repeat`` runs on the whole problem (all tasks), designs built outside the timing; "rel. obj."
is (F - F_best) / F_best on mtreg's objective (summed over tasks), F_best the lowest of the row.
Run::

    python benchmarks/bench_binomial.py [--tol 1e-6] [--frac 0.1] [--repeat 3]
    /work/peers-venv/bin/python benchmarks/bench_binomial.py     # adds skglm / celer
"""
import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

import mtreg

PROBLEMS = {"per-task (K=30, n=50, p=500)": dict(K=30, n=50, p=500, shared=False),
            "shared (K=20, n=200, p=2000)": dict(K=20, n=200, p=2000, shared=True),
            "shared sparse (K=20, n=200, p=2000, 5% nonzeros)": dict(K=20, n=200, p=2000,
                                                                    shared=True, density=0.05)}


def simulate(K, n, p, shared, seed=0, n_true=10, density=None):
    """K tasks of n rows; ``density``: a sparse (CSC) design with that fraction of nonzeros."""
    rng = np.random.default_rng(seed)
    W = np.zeros((p, K))
    W[:n_true] = rng.normal(0, 1.0 if density is None else 3.0, (n_true, K))

    def design():
        X = rng.standard_normal((n, p))
        if density is None:
            return X
        return sp.csc_matrix(X * (rng.random((n, p)) < density))

    X = design()
    Xs = [X if shared else design() for _ in range(K)]
    ys = [(rng.random(n) < expit(0.3 + Xk @ W[:, k])).astype(float) for k, Xk in enumerate(Xs)]
    return Xs, ys


def objective(Xs, ys, W, b, alpha, penalty):
    """The one objective every solver is scored with: sum_k mean logistic loss + alpha Omega."""
    def task_loss(X, y, k):
        eta = b[k] + np.asarray(X @ W[:, k]).ravel()
        return np.mean(np.logaddexp(0, eta) - y * eta)

    loss = sum(task_loss(X, y, k) for k, (X, y) in enumerate(zip(Xs, ys, strict=True)))
    omega = np.abs(W).sum() if penalty == "lasso" else np.linalg.norm(W, axis=1).sum()
    return loss + alpha * omega


def timed(fn, repeat):
    """Median wall-clock and CPU (process) time of ``repeat`` calls, and the last output.

    On a shared, loaded machine the CPU time of these single-threaded solvers is the steadier
    figure; both are reported.
    """
    times, cpu, out = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return (float(np.median(times)), float(np.median(cpu))), out


def mtreg_model(Xs, ys, shared, penalty, fit_intercept=True):
    kw = dict(penalty=penalty, family="binomial", standardize=False, fit_intercept=fit_intercept)
    if shared:
        return mtreg.MultiTaskModel(np.column_stack(ys), Xs[0], **kw)
    if sp.issparse(Xs[0]):
        raise ValueError("per-task sparse designs are not part of this benchmark")
    return mtreg.MultiTaskModel.from_arrays(Xs, ys, **kw)


def per_task(make):
    """A fit function applying a per-task estimator factory ``make()`` to every task."""
    def run(Xs, ys):
        W = np.zeros((Xs[0].shape[1], len(Xs)))
        b = np.zeros(len(Xs))
        for k, (X, y) in enumerate(zip(Xs, ys, strict=True)):
            est = make(len(y)).fit(X, y)
            W[:, k] = np.ravel(est.coef_)
            b[k] = float(np.ravel(est.intercept_)[0])
        return W, b
    return run


def l1_peers(alpha, tol):
    peers = {
        "sklearn saga": per_task(lambda n: LogisticRegression(
            penalty="l1", C=1 / (n * alpha), solver="saga", tol=tol, max_iter=100_000)),
        "sklearn liblinear": per_task(lambda n: LogisticRegression(
            penalty="l1", C=1 / (n * alpha), solver="liblinear", tol=tol, max_iter=100_000,
            intercept_scaling=100.0)),
    }
    try:
        from skglm import SparseLogisticRegression
        peers["skglm"] = per_task(lambda n: SparseLogisticRegression(alpha=alpha, tol=tol,
                                                                     fit_intercept=True))
    except ImportError:
        pass
    return peers


def bench_l1(name, spec, args, frac):
    Xs, ys = simulate(**spec)
    model = mtreg_model(Xs, ys, spec["shared"], "lasso")
    _ = model.problem
    alpha = frac * model.alpha_max()
    t_m, res = timed(lambda: model.fit(alpha, tol=args.tol, max_iter=100_000), args.repeat)
    rows = {"mtreg": (t_m, objective(Xs, ys, res.params.to_numpy(), res.intercepts.to_numpy(),
                                     alpha, "lasso"))}
    for peer, fit in l1_peers(alpha, args.tol).items():
        if peer in args.skip:
            continue
        fit(Xs[:1], ys[:1])  # warm-up (numba compilation for skglm) outside the timing
        t, (W, b) = timed(lambda fit=fit: fit(Xs, ys), args.repeat)
        rows[peer] = (t, objective(Xs, ys, W, b, alpha, "lasso"))
    report(f"l1 logistic, {name}, alpha = alpha_max / {1 / frac:g}, "
           f"{int((res.params.to_numpy() != 0).sum())} nonzeros", rows)


def bench_group_lasso(name, spec, args, frac):
    try:
        from skglm.datafits import LogisticGroup
        from skglm.penalties import WeightedGroupL2
        from skglm.solvers import GroupBCD
    except ImportError:
        print(f"\ngroup lasso logistic, {name}: skglm not importable in this interpreter; skipped "
              "(run with /work/peers-venv/bin/python)")
        return
    Xs, ys = simulate(**spec)
    K, p = len(Xs), Xs[0].shape[1]
    model = mtreg_model(Xs, ys, spec["shared"], "group_lasso", fit_intercept=False)
    _ = model.problem
    alpha = frac * model.alpha_max()
    t_m, res = timed(lambda: model.fit(alpha, tol=args.tol, max_iter=100_000), args.repeat)
    rows = {"mtreg": (t_m, objective(Xs, ys, res.params.to_numpy(), np.zeros(K), alpha, "gl"))}

    # block-diagonal design, columns ordered feature-major: column j*K + k is feature j of task k
    # (dense: skglm 0.5's LogisticGroup has no sparse-data gradient)
    if sp.issparse(Xs[0]):
        print(f"\ngroup lasso logistic, {name}: skglm's LogisticGroup has no sparse-data path; skipped")
        return
    blocks = sp.block_diag([sp.csc_matrix(X) for X in Xs], format="csc")  # columns k*p + j
    order = (np.arange(p)[:, None] + p * np.arange(K)[None, :]).ravel()
    X_big = np.asfortranarray(blocks[:, order].toarray())
    y_big = 2.0 * np.concatenate(ys) - 1.0
    grp_ptr = (K * np.arange(p + 1)).astype(np.int32)
    grp_idx = np.arange(p * K, dtype=np.int32)

    def fit_skglm():
        datafit = LogisticGroup(grp_ptr, grp_idx)
        penalty = WeightedGroupL2(alpha / K, np.ones(p), grp_ptr, grp_idx)
        solver = GroupBCD(tol=args.tol, max_iter=10_000, max_epochs=100_000, fit_intercept=False)
        w = solver.solve(X_big, y_big, datafit, penalty)[0]
        return w[:p * K].reshape(p, K)

    try:
        fit_skglm()  # numba compilation outside the timing
        t_s, W_s = timed(fit_skglm, args.repeat)
        rows["skglm GroupBCD (block)"] = (t_s, objective(Xs, ys, W_s, np.zeros(K), alpha, "gl"))
    except Exception as exc:  # noqa: BLE001 - report the peer's failure, keep the table
        print(f"skglm failed on {name}: {type(exc).__name__}: {exc}")
    report(f"group lasso logistic (no intercepts), {name}, alpha = alpha_max / {1 / frac:g}, "
           f"{int((np.linalg.norm(res.params.to_numpy(), axis=1) != 0).sum())} features kept", rows)


def bench_cv(args, K=10, n=100, p=200, n_alphas=50):
    """10-fold binomial CV of the lasso: fit_path's per-alpha solve calls vs logistic.solve_path.

    ``mtreg.cv`` fits every path through ``mtreg.path.fit_path``; the second row replaces it by
    :func:`mtreg.solvers.logistic.solve_path` (warm-started intercepts and linear predictor,
    strong-rule working sets) for binomial problems.
    """
    import importlib

    from mtreg.solvers import logistic

    cv_module = importlib.import_module("mtreg.cv")
    path_module = importlib.import_module("mtreg.path")
    Xs, ys = simulate(K, n, p, False)
    model = mtreg_model(Xs, ys, False, "lasso")
    original = cv_module.fit_path

    def fit_path_binomial(problem, penalty, alphas, *, tol=1e-6, max_iter=10_000, coef_init=None):
        if not isinstance(problem, logistic.LogisticProblem):
            return original(problem, penalty, alphas, tol=tol, max_iter=max_iter, coef_init=coef_init)
        recs = logistic.solve_path(problem, penalty, alphas, tol=tol, max_iter=max_iter,
                                   coef_init=coef_init)
        return path_module._RawPath(np.stack([r.coef for r in recs], axis=2),
                                    np.stack([r.intercept for r in recs], axis=1),
                                    np.array([r.n_iter for r in recs], dtype=np.int64),
                                    np.array([r.gap for r in recs]),
                                    np.array([r.converged for r in recs], dtype=bool))

    rows = {}
    for label, fp in (("fit_path (solve per alpha)", original), ("logistic.solve_path", fit_path_binomial)):
        cv_module.fit_path = fp
        try:
            t, cvres = timed(lambda: cv_module.cv_model(model, n_folds=10, n_alphas=n_alphas, n_jobs=1),
                             args.repeat)
        finally:
            cv_module.fit_path = original
        rows[label] = (t, float(np.min(cvres.cvm)), cvres.alpha_min)
    print(f"\n10-fold binomial CV, lasso, K={K}, n={n}, p={p}, {n_alphas} alphas (11 paths)")
    print("| path solver | wall (s) | CPU (s) | min cvm (deviance) | alpha_min |")
    print("|---|---|---|---|---|")
    for label, ((w, c), cvm, amin) in rows.items():
        print(f"| {label} | {w:.2f} | {c:.2f} | {cvm:.6f} | {amin:.4g} |", flush=True)


def report(title, rows):
    best = min(f for _, f in rows.values())
    (w_m, c_m) = rows["mtreg"][0]
    print(f"\n{title}")
    print("| solver | wall (s) | wall / mtreg | CPU (s) | CPU / mtreg | (F - F_best) / F_best |")
    print("|---|---|---|---|---|---|")
    for peer, ((w, c), f) in rows.items():
        rel = (f - best) / abs(best)
        print(f"| {peer} | {w:.3f} | {w / w_m:.2f} | {c:.3f} | {c / c_m:.2f} | {rel:.1e} |", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tol", type=float, default=1e-6)
    ap.add_argument("--frac", type=float, nargs="+", default=[0.1, 0.02],
                    help="alpha / alpha_max (several: one table each)")
    ap.add_argument("--problems", nargs="*", default=None, help="subset of the problem names "
                    "(prefixes: per-task, shared, shared sparse)")
    ap.add_argument("--no-group", action="store_true", help="skip the group-lasso tables")
    ap.add_argument("--no-l1", action="store_true", help="skip the l1 tables")
    ap.add_argument("--cv", action="store_true", help="also time a 10-fold binomial CV")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip", nargs="*", default=[], help='peers to leave out, e.g. "sklearn saga" '
                    "(minutes per problem at tol=1e-6)")
    args = ap.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    # scikit-learn >= 1.8 deprecates penalty="l1" (for l1_ratio=1); the fit is the same
    warnings.filterwarnings("ignore", message=".*penalty.*", category=FutureWarning)
    warnings.filterwarnings("ignore", message="Inconsistent values", category=UserWarning)
    warnings.filterwarnings("ignore", message=".*contiguous arrays.*")
    mtreg_model(*simulate(2, 20, 20, False), False, "lasso").fit(alpha_frac=0.5)  # warm-up
    problems = {name: spec for name, spec in PROBLEMS.items()
                if args.problems is None or any(name.split(" (")[0] == q for q in args.problems)}
    for frac in [] if args.no_l1 else args.frac:
        for name, spec in problems.items():
            bench_l1(name, spec, args, frac)
    if not args.no_group:
        for frac in args.frac:
            for name, spec in problems.items():
                bench_group_lasso(name, spec, args, frac)
    if args.cv:
        bench_cv(args)


if __name__ == "__main__":
    main()
