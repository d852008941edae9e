"""``python -m mtreg``: an example analysis on the bundled Parkinson's telemonitoring data.

Each of the 42 patients is a task; total UPDRS is regressed on the 16 voice measures with a
group lasso (a voice measure is kept for every patient or for none), and the summary is printed.
"""
from __future__ import annotations

import argparse
import sys

from . import datasets, fit
from .penalties import REGISTRY


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mtreg",
        description="Fit a sparse multi-task regression to the bundled Parkinson's "
                    "telemonitoring data (42 patients as tasks) and print its summary.")
    parser.add_argument("--penalty", default="group_lasso", choices=sorted(REGISTRY),
                        help="penalty (default: group_lasso)")
    parser.add_argument("--alpha-frac", type=float, default=0.05,
                        help="alpha as a fraction of alpha_max (default: 0.05)")
    parser.add_argument("--response", default="total_UPDRS",
                        choices=["total_UPDRS", "motor_UPDRS"])
    parser.add_argument("--html", metavar="FILE", help="also write the summary as HTML")
    args = parser.parse_args(argv)

    ds = datasets.load_parkinsons()
    formula = f"{args.response} ~ " + " + ".join(ds.features)
    print(f"mtreg example: {formula}\n  task column: {ds.task!r}, penalty: {args.penalty!r}, "
          f"alpha = {args.alpha_frac} * alpha_max\n  data: {ds.citation}\n")
    res = fit(formula, task=ds.task, data=ds.data, penalty=args.penalty,
              alpha_frac=args.alpha_frac)
    summary = res.summary()
    print(summary)
    if args.html:
        with open(args.html, "w", encoding="utf-8") as fh:
            fh.write(summary.as_html())
    return 0


if __name__ == "__main__":
    sys.exit(main())
