"""Full-size runs of the two GenGL vignettes (Fei et al., ECAI 2023): issue 6.

* Synthetic scenarios (``vignettes/gengl_synthetic.py --full``): GL, MeTaG, rMTFL and SSMTL_m on
  the GL, MeTaG and rMTFL scenarios, hyperparameters over the paper's grid (alpha in
  {1e-3, ..., 1e3}, phi in {2, 5, 10, 50}, strength ratio: SSMTL_m's ``gamma1`` in {0.01, 0.1, 1},
  rMTFL's ``cols`` in {0.1, 0.3, 1, 3, 10}), with the rMTFL scenario's oracle floor.
* Parkinsons (``vignettes/gengl_parkinsons.py --full``): 6:2:2 train / validation / test splits,
  nMSE / MAE / EV of Lasso, GL, rMTFL, MeTaG, SSMTL_m next to the paper's Table 2.

Everything runs in one process, single-threaded unless ``MTREG_N_JOBS`` (read by the synthetic
vignette) runs its CV folds in parallel: the machine is shared. The synthetic selection is by
5-fold CV (``mtreg.cv``), Parkinsons' by the paper's validation rows. Per-split Parkinsons
scores are appended to ``gengl_parkinsons_splits.csv`` as soon as a split finishes, so an
interrupted run keeps what it did; ``--budget MINUTES`` stops starting new splits after that
much time. Usage::

    OMP_NUM_THREADS=1 [MTREG_N_JOBS=2] python benchmarks/gengl_fullsize.py [synthetic] [parkinsons]
        [--splits N] [--budget MINUTES] [--out DIR] [--motor]

Tables are written to ``--out`` (default: the current directory) and summarised in
``benchmarks/README-gengl.md``.
"""
import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent


def _load_vignette(name):
    """Import a vignette module at full size (its FULL flag is read at import)."""
    os.environ["MTREG_FULL"] = "1"
    spec = importlib.util.spec_from_file_location(name, ROOT / "vignettes" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def synthetic(out: Path):
    mod = _load_vignette("gengl_synthetic")
    table = mod.main()
    table.to_csv(out / "gengl_synthetic_full.csv", index=False)


def parkinsons(out: Path, splits: int, budget_min: float, motor: bool):
    import mtreg

    mod = _load_vignette("gengl_parkinsons")
    ds = mtreg.datasets.load_parkinsons()
    response = "motor_UPDRS" if motor else "total_UPDRS"
    path = out / f"gengl_parkinsons_splits{'_motor' if motor else ''}.csv"
    done = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=["split"])
    t0 = time.time()
    for rep in range(splits):
        if rep in set(done["split"]):
            continue
        if (time.time() - t0) / 60 > budget_min:
            print(f"budget of {budget_min} min reached before split {rep}", flush=True)
            break
        rows = pd.DataFrame(mod.run_split(ds, response, rep))
        done = pd.concat([done, rows], ignore_index=True) if len(done) else rows
        done.to_csv(path, index=False)
        print(rows.to_string(index=False), flush=True)
    n = done["split"].nunique()
    print(f"\nParkinsons ({response}), {n} random 6:2:2 splits, full grid, {time.time() - t0:.0f} s")
    print(mod.summary(done).to_string(index=False))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("which", nargs="*", default=["synthetic", "parkinsons"])
    ap.add_argument("--splits", type=int, default=10)
    ap.add_argument("--budget", type=float, default=float("inf"), help="minutes")
    ap.add_argument("--out", default=".")
    ap.add_argument("--motor", action="store_true")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sys.argv = sys.argv[:1]  # the vignettes read sys.argv at import
    if "synthetic" in args.which:
        synthetic(out)
    if "parkinsons" in args.which:
        parkinsons(out, args.splits, args.budget, args.motor)


if __name__ == "__main__":
    main()
