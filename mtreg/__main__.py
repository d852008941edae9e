"""``python -m mtreg``: the command line (see :mod:`mtreg.cli`).

Without arguments it runs the getting-started analysis on the bundled Parkinson's
telemonitoring data (42 patients as tasks, group lasso on 16 voice measures) and prints the
summary; ``python -m mtreg fit data.csv --formula "y ~ x1 + x2" --task tf`` fits your own data.
"""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
