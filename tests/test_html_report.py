"""The self-contained HTML report (mtreg/html_report.py)."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import mtreg
from mtreg import html_report
from mtreg.html_report import report_html, write_report

pytest.importorskip("matplotlib")

FORMULA = "y ~ x1 + x2 + x3 + x4"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    parts = []
    for k in range(5):
        X = rng.normal(size=(25, 4))
        y = X @ np.array([1.5, 0.0, -1.0, 0.0]) + 0.5 * rng.normal(size=25)
        parts.append(pd.DataFrame(X, columns=["x1", "x2", "x3", "x4"]).assign(tf=f"task{k}", y=y))
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def res(data):
    return mtreg.fit(FORMULA, task="tf", data=data, penalty="group_lasso", alpha_frac=0.2)


def _sections(text):
    return re.findall(r"<h2>([^<]+)</h2>", text)


def test_report_is_one_self_contained_file(res, tmp_path):
    path = write_report(res, tmp_path / "fit.html")
    assert path == tmp_path / "fit.html"
    assert [p.name for p in tmp_path.iterdir()] == ["fit.html"]
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert res.summary().as_html() in text
    assert _sections(text) == ["Summary", "Per-task fit", "Support", "Coefficients"]
    assert text.count("data:image/png;base64,") == 1
    # nothing is loaded from elsewhere
    assert not re.search(r"""(src|href)=["'](https?:|//|[^#"'d])""", text)
    for task in res.tasks:
        assert str(task) in text


def test_cv_section_from_argument_and_from_results(data, res):
    cvres = mtreg.cv(FORMULA, task="tf", data=data, n_folds=3, n_alphas=8)
    text = report_html(res, cv=cvres)
    assert "Cross-validation" in _sections(text)
    assert "3-fold cross-validation" in text
    assert text.count("data:image/png;base64,") == 2
    chosen = cvres.results("1se")  # remembers its CV: the report shows it without cv=
    assert "Cross-validation" in _sections(report_html(chosen))


def test_cv_curve_fallback(data, monkeypatch):
    cvres = mtreg.cv(FORMULA, task="tf", data=data, n_folds=3, n_alphas=6)
    ax = html_report.cv_curve(cvres)
    assert len(ax.lines) >= 2  # alpha_min and alpha_1se markers
    assert ax.get_xlabel() == "log10(alpha)"


def test_coef_heatmap_fallback(res, monkeypatch):
    monkeypatch.setattr(html_report, "_plotting_function", lambda name: None)
    ax = html_report.coef_heatmap(res)
    assert ax.images and ax.images[0].get_array().shape == res.params.shape
    assert "data:image/png;base64," in report_html(res)


def test_cluster_section_when_the_model_learns_groups(res, monkeypatch):
    K = res.params.shape[1]
    U = np.zeros((2, K))
    U[0, :3] = 1.0
    U[1, 3:] = 1.0
    monkeypatch.setattr(res.record, "extra", {"U": U})
    text = report_html(res)
    assert "Task clusters" in _sections(text)


def test_no_cluster_section_without_groups(res):
    assert "Task clusters" not in _sections(report_html(res))
