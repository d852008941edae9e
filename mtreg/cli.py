"""The command line: ``python -m mtreg``.

Two commands::

    python -m mtreg [example] [--penalty P] [--alpha-frac F | --alpha A | --cv N] [--report FILE]
    python -m mtreg fit DATA --formula "y ~ x1 + x2" [--task COL] [--penalty P]
                        [--alpha A | --alpha-frac F | --cv N] [--report FILE] [--coef FILE]

``example`` (the default when no command is given) fits the getting-started analysis on the
bundled Parkinson's telemonitoring data and prints its summary. ``fit`` reads a CSV, TSV or
Parquet table, fits the formula and prints the summary; ``--report`` writes a self-contained
HTML report (:func:`mtreg.html_report.write_report`), ``--coef`` the coefficients as CSV
(features x tasks, ``results.params``).

Errors in the arguments or the data are reported as one line on stderr, ``python -m mtreg:
error: ...``, with exit status 2 (argument errors) or 1 (data and fitting errors); no traceback
unless ``--traceback`` is given. Penalty names are read from :data:`mtreg.penalties.REGISTRY`
when the parser is built, so penalties registered later are accepted.
"""
from __future__ import annotations

import argparse
import ast
import os
import sys
import warnings
from pathlib import Path

__all__ = ["main", "build_parser", "read_table", "CLIError"]

PROG = "python -m mtreg"

#: the formats read by ``fit``, by file suffix
FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet",
           ".pq": "parquet"}
_COMPRESSION = (".gz", ".bz2", ".xz", ".zip", ".zst")


class CLIError(Exception):
    """An error in the command line or its data, reported as one line (no traceback)."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line, raised as :class:`CLIError`."""

    def error(self, message):  # noqa: D401 - argparse API
        raise CLIError(f"{message} (see '{self.prog} --help')", status=2)


# ---------------------------------------------------------------------------- parser
def _penalty_names() -> list[str]:
    from .penalties import REGISTRY

    return sorted(REGISTRY)


def _add_alpha_options(parser, *, default_frac=None):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--alpha", type=float, metavar="A",
                       help="penalty strength (absolute)")
    frac_help = "alpha as a fraction of alpha_max, in (0, 1]"
    if default_frac is not None:
        frac_help += f" (default: {default_frac})"
    group.add_argument("--alpha-frac", type=float, metavar="F", default=default_frac,
                       help=frac_help)
    group.add_argument("--cv", type=int, metavar="N",
                       help="choose alpha by N-fold cross-validation (folds within tasks)")
    parser.add_argument("--cv-rule", choices=["1se", "min"], default="1se",
                        help="with --cv: glmnet's 1-SE rule (default) or the minimum CV error")
    parser.add_argument("--seed", type=int, default=0,
                        help="with --cv: seed of the fold assignment (default: 0)")
    parser.add_argument("--n-jobs", type=int, default=None, metavar="J",
                        help="with --cv: folds run in parallel through joblib (-1: all cores)")


def _add_output_options(parser):
    parser.add_argument("--report", metavar="FILE",
                        help="write a self-contained HTML report (summary, tables, plots)")
    parser.add_argument("--coef", metavar="FILE",
                        help="write the coefficients (features x tasks) as CSV")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full traceback of errors (for bug reports)")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m mtreg`` (penalty choices read from the registry).

    Returns
    -------
    argparse.ArgumentParser
        With the sub-commands ``example`` and ``fit``.
    """
    penalties = _penalty_names()
    parser = _Parser(
        prog=PROG,
        description="Sparse multi-task regression from the command line. Without a command, "
                    "runs the getting-started example on the bundled Parkinson's data.",
        epilog="Run '%(prog)s fit --help' for fitting your own data.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"mtreg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{example,fit}", parser_class=_Parser)

    ex = sub.add_parser(
        "example", help="fit the getting-started example on the bundled Parkinson's data",
        description="Fit total (or motor) UPDRS on the 16 voice measures of the Parkinson's "
                    "telemonitoring data, each of the 42 patients a task, and print the summary.")
    ex.add_argument("--penalty", default="group_lasso", choices=penalties,
                    help="penalty (default: group_lasso)")
    ex.add_argument("--response", default="total_UPDRS", choices=["total_UPDRS", "motor_UPDRS"],
                    help="response (default: total_UPDRS)")
    _add_alpha_options(ex, default_frac=0.1)
    _add_output_options(ex)
    ex.add_argument("--html", metavar="FILE", help=argparse.SUPPRESS)  # old name of --report

    fit = sub.add_parser(
        "fit", help="fit a formula to a CSV/TSV/Parquet table and print the summary",
        description="Read a table, fit a sparse multi-task regression and print its summary. "
                    "With none of --alpha, --alpha-frac, --cv, alpha is chosen by 10-fold "
                    "cross-validation with the 1-SE rule, as mtreg.fit does.")
    fit.add_argument("data", help="a .csv, .tsv or .parquet file (optionally compressed: "
                                  ".csv.gz, ...); '-' reads CSV from stdin")
    fit.add_argument("--formula", "-f", required=True,
                     help='patsy formula, e.g. "y ~ x1 + log(x2) + C(site)" (long table with '
                          '--task) or "y1 + y2 ~ x1 + x2" (wide table, one task per response); '
                          'np, log, log2, log10, log1p, exp, sqrt and abs may be used')
    fit.add_argument("--task", "-t", metavar="COLUMN",
                     help="the task column of a long table")
    fit.add_argument("--penalty", "-p", default="group_lasso", choices=penalties,
                     help="penalty (default: group_lasso)")
    fit.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="a penalty hyperparameter, e.g. --param l1_ratio=0.5 (repeatable)")
    _add_alpha_options(fit)
    fit.add_argument("--no-intercept", action="store_true", help="no per-task intercepts")
    fit.add_argument("--no-standardize", action="store_true",
                     help="do not standardise the features before solving")
    fit.add_argument("--missing", choices=["drop", "raise"], default="drop",
                     help="rows with missing values: drop and count them (default), or fail")
    fit.add_argument("--tol", type=float, default=1e-6, help="duality-gap tolerance (1e-6)")
    fit.add_argument("--max-iter", type=int, default=10_000, help="maximum epochs (10000)")
    fit.add_argument("--format", choices=sorted(set(FORMATS.values())),
                     help="file format (default: from the suffix of DATA)")
    fit.add_argument("--sep", help="CSV field separator (default: ',' or tab for .tsv)")
    _add_output_options(fit)
    return parser


# ---------------------------------------------------------------------------- data
def _format_of(path: str, fmt: str | None) -> str:
    if fmt is not None:
        return fmt
    if path == "-":
        return "csv"
    name = Path(path).name.lower()
    for comp in _COMPRESSION:
        if name.endswith(comp):
            name = name[: -len(comp)]
            break
    suffix = Path(name).suffix
    if suffix not in FORMATS:
        raise CLIError(f"cannot tell the format of {path!r} from its suffix; use .csv, .tsv or "
                       ".parquet, or give --format", status=2)
    return FORMATS[suffix]


def read_table(path: str, fmt: str | None = None, sep: str | None = None):
    """Read a data table for ``python -m mtreg fit``.

    Parameters
    ----------
    path : str
        A CSV/TSV file (optionally compressed) or a Parquet file; ``"-"`` reads CSV from stdin.
    fmt : {"csv", "tsv", "parquet"}, optional
        Overrides the format guessed from the suffix.
    sep : str, optional
        CSV field separator.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    CLIError
        When the file is missing, unreadable, of unknown format, or empty, or when Parquet is
        asked for and neither pyarrow nor fastparquet is installed.
    """
    import pandas as pd

    fmt = _format_of(path, fmt)
    if path != "-":
        p = Path(path)
        if not p.exists():
            raise CLIError(f"data file {path!r} does not exist")
        if p.is_dir():
            raise CLIError(f"data file {path!r} is a directory")
    try:
        if fmt == "parquet":
            if not any(_importable(m) for m in ("pyarrow", "fastparquet")):
                raise CLIError("reading Parquet needs pyarrow (pip install pyarrow); or convert "
                               f"{path!r} to CSV")
            data = pd.read_parquet(path)
        else:
            source = sys.stdin if path == "-" else path
            data = pd.read_csv(source, sep=sep or ("\t" if fmt == "tsv" else ","))
    except CLIError:
        raise
    except pd.errors.EmptyDataError:
        raise CLIError(f"data file {path!r} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise CLIError(f"cannot read {path!r} as {fmt.upper()}: {_one_line(exc)}") from None
    if data.shape[0] == 0:
        raise CLIError(f"data file {path!r} has a header but no rows")
    return data


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def _parse_params(items: list[str]) -> dict:
    """``["l1_ratio=0.5", "n_groups=3"]`` -> ``{"l1_ratio": 0.5, "n_groups": 3}``."""
    out = {}
    for item in items:
        name, eq, raw = item.partition("=")
        name = name.strip().replace("-", "_")
        if not eq or not name.isidentifier():
            raise CLIError(f"--param expects NAME=VALUE, got {item!r}", status=2)
        try:
            value = ast.literal_eval(raw.strip())
        except (ValueError, SyntaxError):
            value = raw.strip()  # a plain word, e.g. a mode name
        out[name] = value
    return out


# ---------------------------------------------------------------------------- running
def _check_alpha_args(args):
    if args.alpha_frac is not None and not 0 < args.alpha_frac <= 1:
        raise CLIError(f"--alpha-frac must lie in (0, 1], got {args.alpha_frac}", status=2)
    if args.cv is not None and args.cv < 2:
        raise CLIError(f"--cv needs at least 2 folds, got {args.cv}", status=2)


def _formula_namespace() -> dict:
    """Names a formula given on the command line may use besides the table's columns."""
    import numpy as np

    return {"np": np, "numpy": np, "log": np.log, "log2": np.log2, "log10": np.log10,
            "log1p": np.log1p, "exp": np.exp, "sqrt": np.sqrt, "abs": np.abs}


def _fit(formula, data, task, penalty, args, options):
    """Fit with the alpha rule of ``args``; returns (results, cv results or None)."""
    from patsy import EvalEnvironment

    from .cv import cv_model
    from .model import MultiTaskModel

    model = MultiTaskModel.from_formula(
        formula, data, task=task, missing=getattr(args, "missing", "drop"),
        eval_env=EvalEnvironment([_formula_namespace()]), penalty=penalty,
        fit_intercept=not getattr(args, "no_intercept", False),
        standardize=not getattr(args, "no_standardize", False), **options)
    tol, max_iter = getattr(args, "tol", 1e-6), getattr(args, "max_iter", 10_000)
    if args.cv is not None:
        cvres = cv_model(model, n_folds=args.cv, n_jobs=args.n_jobs, random_state=args.seed,
                         tol=tol, max_iter=max_iter)
        res = cvres.results(args.cv_rule)
        rule = "1-SE rule" if args.cv_rule == "1se" else "minimum CV error"
        res.alpha_selection = f"{args.cv}-fold CV, {rule} (mtreg.cv)"
        return res, cvres
    res = model.fit(args.alpha, alpha_frac=args.alpha_frac, tol=tol, max_iter=max_iter)
    return res, getattr(res, "cv", None)


def _write_outputs(res, cvres, args):
    if args.coef:
        try:
            res.params.to_csv(args.coef)
        except OSError as exc:
            raise CLIError(f"cannot write --coef {args.coef!r}: {_one_line(exc)}") from None
        print(f"{PROG}: wrote coefficients to {args.coef}", file=sys.stderr)
    report = args.report or getattr(args, "html", None)
    if report:
        from .html_report import write_report

        try:
            write_report(res, report, cv=cvres)
        except OSError as exc:
            raise CLIError(f"cannot write --report {report!r}: {_one_line(exc)}") from None
        print(f"{PROG}: wrote report to {report}", file=sys.stderr)


def run_example(args) -> int:
    """``python -m mtreg [example]``: the getting-started analysis on the Parkinson's data."""
    from . import datasets

    _check_alpha_args(args)
    ds = datasets.load_parkinsons()
    formula = f"{args.response} ~ " + " + ".join(ds.features)
    if args.cv is not None or args.alpha is not None:
        args.alpha_frac = None
    how = (f"alpha = {args.alpha}" if args.alpha is not None
           else f"alpha by {args.cv}-fold CV ({args.cv_rule})" if args.cv is not None
           else f"alpha = {args.alpha_frac} * alpha_max")
    print(f"mtreg example: {formula}\n  task column: {ds.task!r}, penalty: {args.penalty!r}, "
          f"{how}\n  data: {ds.citation}\n")
    res, cvres = _fit(formula, ds.data, ds.task, args.penalty, args, {})
    if cvres is not None:
        print(cvres, end="\n\n")
    print(res.summary())
    _write_outputs(res, cvres, args)
    return 0


def run_fit(args) -> int:
    """``python -m mtreg fit DATA --formula ...``."""
    _check_alpha_args(args)
    data = read_table(args.data, args.format, args.sep)
    if args.task is not None and args.task not in data.columns:
        cols = ", ".join(map(str, data.columns[:12])) + (", ..." if data.shape[1] > 12 else "")
        raise CLIError(f"task column {args.task!r} is not in {args.data!r}; its columns are {cols}")
    options = _parse_params(args.param)
    res, cvres = _fit(args.formula, data, args.task, args.penalty, args, options)
    if cvres is not None and args.cv is not None:
        print(cvres, end="\n\n")
    print(res.summary())
    _write_outputs(res, cvres, args)
    return 0


def _one_line(exc: BaseException) -> str:
    """One line describing ``exc`` (patsy's caret diagrams and multi-line messages folded)."""
    msg = getattr(exc, "message", None)  # patsy.PatsyError keeps the bare message here
    if not isinstance(msg, str) or not msg:
        msg = str(exc)
    if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        msg = exc.args[0]
    lines = [ln.strip() for ln in msg.splitlines() if ln.strip() and set(ln.strip()) != {"^"}]
    text = " ".join(lines) or type(exc).__name__
    if isinstance(exc, (TypeError, KeyError, AttributeError, ImportError, NameError)):
        text = f"{type(exc).__name__}: {text}"
    return text


def _one_line_warnings(message, category, filename, lineno, file=None, line=None):
    stream = file if file is not None else sys.stderr
    try:
        stream.write(f"{PROG}: warning: {_one_line(Warning(str(message)))}\n")
    except (OSError, ValueError):  # pragma: no cover - closed stream
        pass


def main(argv=None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``). Without a command, ``example`` is run.

    Returns
    -------
    int
        Exit status: 0 on success, 2 for errors in the arguments, 1 for errors in the data or
        the fit.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        argv = ["example", *argv]
    show_tb = "--traceback" in argv or os.environ.get("MTREG_TRACEBACK") == "1"
    old_showwarning = warnings.showwarning
    warnings.showwarning = _one_line_warnings
    try:
        args = build_parser().parse_args(argv)
        if args.command == "fit":
            return run_fit(args)
        return run_example(args)
    except CLIError as exc:
        if show_tb:
            raise
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return exc.status
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # data and fitting errors: one line, no traceback
        if show_tb:
            raise
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    finally:
        warnings.showwarning = old_showwarning
