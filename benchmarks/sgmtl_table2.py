"""Table 2 of the SG-MTL paper at full size, over several seeds (issue 3).

Runs the protocol of ``vignettes/sgmtl_synthetic.py`` (its :func:`run`, ``full=True``): set-1
and set-2 at the paper's sizes, 5-fold CV MSE (folds within tasks) of STL, ClusMTL, SG-MTL and
Fusion SG-MTL with ``n_init=10``, each strength picked on its grid by the CV MSE; the relaxed
refit of the SG-MTL fits; the lower table (N = 2, 4, 5, 6, 10 on set-2); the adjusted Rand index
of the groups of a final fit on all rows. Each seed draws new data and new folds; its results
are pickled to ``OUT/seed<s>.pkl`` as soon as it finishes, and the summary (mean and standard
deviation over the seeds found in ``OUT``) is printed as markdown next to the paper's numbers::

    nohup python benchmarks/sgmtl_table2.py --seeds 0 1 2 --out /tmp/sgmtl_table2 &
    python benchmarks/sgmtl_table2.py --report --out /tmp/sgmtl_table2

Several processes with different seeds may share one ``OUT`` (one per core). Single-threaded
by design (the machine is shared); a seed takes several minutes of CPU at full size.
"""
import argparse
import importlib.util
import pickle
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

VIGNETTE = Path(__file__).resolve().parent.parent / "vignettes" / "sgmtl_synthetic.py"


def load_vignette():
    spec = importlib.util.spec_from_file_location("sgmtl_synthetic", VIGNETTE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def mean_sd(frames):
    """'mean ± sd' (3 decimals) of equally shaped DataFrames (sd over frames, ddof=1)."""
    stack = np.stack([f.to_numpy(dtype=float) for f in frames])
    with warnings.catch_warnings():  # all-nan cells (no identifiable relaxed fit) stay nan
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(stack, axis=0)
        sd = np.nanstd(stack, axis=0, ddof=1) if len(frames) > 1 else None
    out = pd.DataFrame(mean, index=frames[0].index, columns=frames[0].columns).map(lambda v: f"{v:.3f}")
    for i in range(mean.shape[0]):
        for j in range(mean.shape[1]):
            if not np.isfinite(mean[i, j]):
                out.iat[i, j] = "n/a"
            elif sd is not None:
                out.iat[i, j] = f"{mean[i, j]:.3f} ± {sd[i, j]:.3f}"
    return out


def md(df: pd.DataFrame) -> str:
    """A DataFrame as a markdown table (no dependency on ``tabulate``)."""
    idx = [" / ".join(map(str, i)) if isinstance(i, tuple) else str(i) for i in df.index]
    head = "| " + " | ".join([""] + [str(c) for c in df.columns]) + " |"
    rule = "|" + "---|" * (len(df.columns) + 1)
    body = ["| " + " | ".join([i] + [str(v) for v in row]) + " |"
            for i, row in zip(idx, df.to_numpy(), strict=True)]
    return "\n".join([head, rule] + body)


def report(out_dir: Path) -> str:
    vig = load_vignette()
    runs = {}
    for f in sorted(out_dir.glob("seed*.pkl")):
        with open(f, "rb") as fh:
            runs[int(f.stem[4:])] = pickle.load(fh)
    if not runs:
        return f"no results in {out_dir}"
    seeds = sorted(runs)
    lines = [f"Seeds: {seeds} ({len(seeds)} runs); time per seed: "
             + ", ".join(f"{runs[s]['time']:.0f} s" for s in seeds), ""]
    lines += ["Upper table, 5-fold CV MSE (mean ± sd over seeds):", "",
              md(mean_sd([runs[s]["upper"] for s in seeds])), "",
              "The paper:", "", md(vig.PAPER), ""]
    lines += ["Lower table, set-2, CV MSE by N (mean ± sd over seeds):", "",
              md(mean_sd([runs[s]["lower"] for s in seeds])), "",
              "The paper:", "", md(vig.PAPER_N), ""]
    rec = pd.concat({s: runs[s]["recovery"]["ARI"] for s in seeds}, axis=1)
    rec.columns = [f"seed {s}" for s in seeds]
    lines += ["Adjusted Rand index of the groups (final fit on all rows, chosen alpha):", "",
              md(rec.round(3)), ""]
    per_seed = pd.concat({s: runs[s]["upper"] for s in seeds}, names=["seed", "set"])
    lines += ["Upper table per seed:", "", md(per_seed.round(3)), ""]
    chosen = pd.DataFrame({s: {f"{k[0]} / {k[1]}": str(v) for k, v in runs[s]["chosen"].items()}
                           for s in seeds})
    chosen.columns = [f"seed {s}" for s in seeds]
    lines += ["Strength chosen:", "", md(chosen), ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, nargs="*", default=[0])
    ap.add_argument("--out", type=Path, default=Path("/tmp/sgmtl_table2"))
    ap.add_argument("--report", action="store_true", help="only summarise the results in --out")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.report:
        vig = load_vignette()
        for s in args.seeds:
            t0 = time.perf_counter()
            res = vig.run(full=True, seed=s, log=lambda msg: print(msg, flush=True))
            with open(args.out / f"seed{s}.pkl", "wb") as fh:
                pickle.dump(res, fh)
            print(f"seed {s} done in {time.perf_counter() - t0:.0f} s", flush=True)
            print(res["upper"].round(3).to_string(), flush=True)
            print(res["lower"].round(3).to_string(), flush=True)
            print(res["recovery"].to_string(), flush=True)
    print(report(args.out))


if __name__ == "__main__":
    main()
