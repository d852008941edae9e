"""Every vignette in vignettes/ runs (at reduced size) and renders to HTML without a traceback.

The test is parametrised over the files it finds, so vignettes added later are tested too.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from mtreg.vignettes import markdown_to_html, parse_percent, render_vignette

pytest.importorskip("matplotlib")

VIGNETTES = sorted(p for p in (Path(__file__).resolve().parent.parent / "vignettes").glob("*.py")
                   if not p.name.startswith("_"))


@pytest.mark.parametrize("path", VIGNETTES, ids=[p.stem for p in VIGNETTES])
def test_vignette_renders(path, tmp_path):
    res = render_vignette(path, tmp_path, full=False)
    assert res.ok, f"{path.name} failed:\n{res.error}"
    assert res.html_path == tmp_path / f"{path.stem}.html"
    text = res.html_path.read_text(encoding="utf-8")
    assert "Traceback" not in text
    assert text.startswith("<!DOCTYPE html>")
    assert "reduced size" in text


def test_the_required_vignettes_exist():
    names = {p.stem for p in VIGNETTES}
    assert {"getting_started", "joint_feature_selection"} <= names


def test_parse_percent():
    src = "\n".join([
        "# ---", "# jupyter: x", "# ---", "",
        "# %% [markdown]", "# # Title", "#", "# Some *text*.", "",
        "# %%", "x = 1", "x + 1", "",
        "# %% [md]", "# ## Next", "",
        "# %%", "", "",
    ])
    cells = parse_percent(src)
    assert [c.kind for c in cells] == ["markdown", "code", "markdown"]
    assert cells[0].source == "# Title\n\nSome *text*."
    assert cells[1].source == "x = 1\nx + 1"
    assert cells[1].lineno == 11


def test_markdown_subset():
    out = markdown_to_html("# T\n\nA `code` and **bold** [link](http://x).\n\n- a\n- b\n\n"
                           "    indented\n\n```\nfenced <b>\n```")
    assert "<h1>T</h1>" in out
    assert "<code>code</code>" in out and "<strong>bold</strong>" in out
    assert '<a href="http://x">link</a>' in out
    assert "<li>a</li>" in out
    assert "fenced &lt;b&gt;" in out


def test_outputs_figures_and_failures_are_captured(tmp_path):
    src = tmp_path / "demo.py"
    src.write_text("\n".join([
        "# %% [markdown]", "# # Demo",
        "# %%", "import os", "import matplotlib.pyplot as plt",
        "print('size', os.environ.get('MTREG_FULL'))", "plt.plot([1, 2])",
        "# %%", "import pandas as pd", "pd.DataFrame({'a': [1]})",
        "# %%", "1 / 0",
        "# %%", "print('never')",
    ]))
    res = render_vignette(src, tmp_path / "out", full=False)
    assert not res.ok and "ZeroDivisionError" in res.error
    assert res.n_figures == 1 and res.title == "Demo"
    text = res.html_path.read_text()
    assert "size 0" in text
    assert "data:image/png;base64," in text
    assert "<table" in text  # the DataFrame's HTML repr
    assert "never" not in text.split("</style>")[-1].replace("print", "")
