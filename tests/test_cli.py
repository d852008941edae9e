"""The command line, ``python -m mtreg`` (mtreg/cli.py): end to end and its error messages."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import mtreg
from mtreg import cli

FORMULA = "y ~ x1 + x2 + x3"


def _long_table(seed=0, n=30, K=4):
    rng = np.random.default_rng(seed)
    parts = []
    for k in range(K):
        X = rng.normal(size=(n, 3))
        y = X @ np.array([1.0, 0.0, -2.0]) + 0.5 * rng.normal(size=n)
        parts.append(pd.DataFrame({"tf": f"t{k}", "x1": X[:, 0], "x2": X[:, 1], "x3": X[:, 2],
                                   "y": y}))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "data.csv"
    _long_table().to_csv(path, index=False)
    return path


def _run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mtreg", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def _one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("python -m mtreg: error: ")
    return lines[0]


def test_fit_end_to_end_writes_coef_and_report(csv_path, tmp_path):
    coef, report = tmp_path / "coef.csv", tmp_path / "fit.html"
    out = _run("fit", csv_path, "--formula", FORMULA, "--task", "tf", "--penalty", "group_lasso",
               "--alpha-frac", "0.1", "--coef", coef, "--report", report)
    assert out.returncode == 0, out.stderr
    assert "Multi-task group lasso regression results" in out.stdout
    assert "Traceback" not in out.stderr
    res = mtreg.fit(FORMULA, task="tf", data=pd.read_csv(csv_path), penalty="group_lasso",
                    alpha_frac=0.1)
    written = pd.read_csv(coef, index_col=0)
    assert list(written.index) == list(res.params.index)
    assert list(written.columns) == [str(c) for c in res.params.columns]
    np.testing.assert_allclose(written.to_numpy(), res.params.to_numpy(), rtol=1e-12, atol=0)
    text = report.read_text(encoding="utf-8")
    assert "Multi-task group lasso regression results" in text
    assert "data:image/png;base64," in text


def test_no_arguments_runs_the_example():
    out = _run()
    assert out.returncode == 0, out.stderr
    assert "mtreg example" in out.stdout
    assert "Multi-task group lasso regression results" in out.stdout
    assert "subject" in out.stdout


def test_bad_data_end_to_end_is_one_line(csv_path):
    out = _run("fit", csv_path, "--formula", "y ~ nope", "--task", "tf", "--alpha", "0.1")
    assert out.returncode != 0
    line = _one_error_line(out.stderr)
    assert "nope" in line


@pytest.mark.parametrize("args, expect, status", [
    (["fit", "{missing}", "-f", FORMULA, "--task", "tf"], "does not exist", 1),
    (["fit", "{csv}", "-f", FORMULA, "--task", "zz", "--alpha", "0.1"], "task column 'zz'", 1),
    (["fit", "{csv}", "-f", FORMULA, "--task", "tf", "--penalty", "nope"], "invalid choice", 2),
    (["fit", "{csv}", "-f", FORMULA, "--task", "tf", "--alpha", "0.1", "--cv", "3"],
     "not allowed with", 2),
    (["fit", "{csv}", "-f", FORMULA, "--task", "tf", "--alpha", "-1"], "alpha", 1),
    (["fit", "{csv}", "-f", FORMULA, "--task", "tf", "--alpha-frac", "1.5"], "(0, 1]", 2),
    (["fit", "{csv}", "-f", FORMULA, "--task", "tf", "--cv", "1"], "at least 2 folds", 2),
    (["fit", "{csv}", "--task", "tf"], "--formula", 2),
    (["fit", "{csv}", "-f", "y ~ (x1", "--task", "tf", "--alpha", "0.1"], "", 1),
    (["fit", "{csv}", "-f", FORMULA, "--task", "tf", "--alpha", "0.1", "--param", "l1_ratio"],
     "NAME=VALUE", 2),
    (["fit", "{csv}", "-f", FORMULA, "--task", "tf", "--alpha", "0.1", "--param", "l1_ratio=7"],
     "l1_ratio", 1),
    (["fit", "{csv}", "-f", FORMULA, "--task", "tf", "--alpha", "0.1", "--param", "bogus=1"],
     "bogus", 1),
    (["fit", "{weird}", "-f", FORMULA], "--format", 2),
    (["fit", "{empty}", "-f", FORMULA, "--task", "tf"], "empty", 1),
    (["bogus"], "invalid choice", 2),
    (["--alpha-frac", "0"], "(0, 1]", 2),
])
def test_errors_are_one_line(args, expect, status, csv_path, tmp_path, capsys):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    paths = {"csv": csv_path, "missing": tmp_path / "missing.csv", "weird": tmp_path / "d.xyz",
             "empty": empty}
    argv = [a.format(**paths) for a in args]
    assert cli.main(argv) == status
    captured = capsys.readouterr()
    line = _one_error_line(captured.err)
    assert expect in line


def test_parquet(csv_path, tmp_path, capsys):
    path = tmp_path / "data.parquet"
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        path.write_bytes(b"PAR1")
        assert cli.main(["fit", str(path), "-f", FORMULA, "--task", "tf"]) == 1
        assert "pyarrow" in _one_error_line(capsys.readouterr().err)
        return
    pd.read_csv(csv_path).to_parquet(path)
    assert cli.main(["fit", str(path), "-f", FORMULA, "--task", "tf", "--alpha-frac", "0.2"]) == 0
    assert "regression results" in capsys.readouterr().out


def test_cv_option_prints_cv_and_marks_the_summary(csv_path, capsys):
    assert cli.main(["fit", str(csv_path), "-f", FORMULA, "--task", "tf", "--cv", "3"]) == 0
    out = capsys.readouterr().out
    assert "3-fold cross-validation" in out
    assert "3-fold CV, 1-SE rule" in out


def test_penalty_params_and_lasso(csv_path, capsys):
    argv = ["fit", str(csv_path), "-f", FORMULA, "--task", "tf", "--penalty", "lasso",
            "--alpha-frac", "0.1", "--param", "l1_ratio=0.5", "--no-standardize"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "Multi-task lasso regression results" in out
    assert "l1_ratio=0.5" in out


def test_wide_table_without_task(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2))
    wide = pd.DataFrame({"x1": X[:, 0], "x2": X[:, 1], "y1": X[:, 0] + rng.normal(size=40),
                         "y2": X[:, 0] - rng.normal(size=40)})
    path = tmp_path / "wide.tsv"
    wide.to_csv(path, sep="\t", index=False)
    assert cli.main(["fit", str(path), "-f", "y1 + y2 ~ x1 + x2", "--alpha-frac", "0.1"]) == 0
    assert "regression results" in capsys.readouterr().out


def test_penalty_choices_come_from_the_registry(monkeypatch):
    from mtreg import penalties

    monkeypatch.setitem(penalties.REGISTRY, "zz_new_penalty", penalties.Lasso)
    args = cli.build_parser().parse_args(["fit", "d.csv", "-f", FORMULA, "-p", "zz_new_penalty"])
    assert args.penalty == "zz_new_penalty"


def test_help_exits_zero(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["fit", "--help"])
    assert exc.value.code == 0
    assert "--formula" in capsys.readouterr().out
