"""Sphinx configuration of the mtreg documentation.

Build (from the repository root)::

    pip install -e ".[docs]" && sphinx-build -W -b html docs docs/_build/html

The API pages are generated from ``mtreg.__all__``, ``mtreg.penalties`` (its ``__all__`` and
every class in ``REGISTRY``) and ``mtreg.datasets``, so names added later are documented
without editing these files. The vignettes (``vignettes/*.py``) are rendered to HTML at a
reduced size by ``python -m mtreg.vignettes`` (only those whose source changed since the last
build) and copied to ``_build/html/vignettes/``; set ``MTREG_DOCS_VIGNETTES=0`` to skip
rendering, ``MTREG_FULL=1`` to render at full size.
"""
from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GENERATED = HERE / "_generated"
EXTRA = HERE / "_build" / "extra"          # copied verbatim into the HTML output
VIGNETTE_OUT = EXTRA / "vignettes"

sys.path.insert(0, str(ROOT))

import mtreg  # noqa: E402

project = "mtreg"
author = "the mtreg developers"
copyright = "the mtreg developers, BSD-3-Clause"
version = release = mtreg.__version__

extensions = ["sphinx.ext.autodoc", "sphinx.ext.mathjax", "numpydoc"]
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
templates_path: list[str] = []
html_theme = "alabaster"
html_theme_options = {"description": "Sparse multi-task regression, the statsmodels way",
                      "fixed_sidebar": True}
html_static_path: list[str] = []
html_extra_path = [str(EXTRA)]

autodoc_member_order = "bysource"
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()


# ---------------------------------------------------------------------------- API pages
def _directive(qualname: str, obj) -> str:
    if inspect.isclass(obj):
        return f".. autoclass:: {qualname}\n   :members:\n   :show-inheritance:\n"
    if callable(obj):
        return f".. autofunction:: {qualname}\n"
    if inspect.ismodule(obj):
        return ""
    return f".. autodata:: {qualname}\n   :annotation:\n"


def _section(title: str, module: str, names: list[str]) -> str:
    mod = sys.modules[module]
    out = [title, "-" * len(title), "", f".. currentmodule:: {module}", ""]
    for name in names:
        text = _directive(f"{module}.{name}", getattr(mod, name))
        if text:
            out += [text]
    return "\n".join(out) + "\n"


def _penalty_names() -> list[str]:
    from mtreg import penalties

    names = [n for n in penalties.__all__]
    for cls in penalties.REGISTRY.values():
        if getattr(penalties, cls.__name__, None) is cls and cls.__name__ not in names:
            names.append(cls.__name__)
    return names


def _penalty_classes_elsewhere() -> list[tuple[str, str]]:
    """Registered penalty classes that mtreg.penalties does not re-export: (module, name)."""
    from mtreg import penalties

    out = []
    for cls in penalties.REGISTRY.values():
        if getattr(penalties, cls.__name__, None) is not cls:
            out.append((cls.__module__, cls.__name__))
    return sorted(set(out))


def write_api_pages() -> None:
    import mtreg.datasets
    import mtreg.html_report
    import mtreg.penalties
    import mtreg.results
    import mtreg.vignettes

    GENERATED.mkdir(exist_ok=True)
    top = [n for n in mtreg.__all__ if not inspect.ismodule(getattr(mtreg, n))
           and n != "__version__"]
    parts = [_section("Fitting and results (``mtreg``)", "mtreg", top),
             _section("Penalties (``mtreg.penalties``)", "mtreg.penalties", _penalty_names())]
    for module, name in _penalty_classes_elsewhere():
        parts.append(f".. autoclass:: {module}.{name}\n   :members:\n   :show-inheritance:\n")
    parts.append(_section("Result tables (``mtreg.results``)", "mtreg.results", ["SupportTable"]))
    parts += [_section("Data sets (``mtreg.datasets``)", "mtreg.datasets", mtreg.datasets.__all__),
              _section("Reports (``mtreg.html_report``)", "mtreg.html_report",
                       mtreg.html_report.__all__),
              _section("Vignettes (``mtreg.vignettes``)", "mtreg.vignettes",
                       ["render_vignette", "render_all", "parse_percent", "VignetteResult"])]
    _write_if_changed(GENERATED / "api.rst", "\n".join(parts))


# ---------------------------------------------------------------------------- vignettes
def _vignette_sources() -> list[Path]:
    return sorted(p for p in (ROOT / "vignettes").glob("*.py") if not p.name.startswith("_"))


def _vignette_title(path: Path) -> str:
    from mtreg.vignettes import _title, parse_percent

    return _title(parse_percent(path.read_text(encoding="utf-8")), path.stem)


def _needs_render(src: Path) -> bool:
    """Missing, older than its source, or a failed run (it shows an error block)."""
    out = VIGNETTE_OUT / f"{src.stem}.html"
    if not out.exists() or out.stat().st_mtime < src.stat().st_mtime:
        return True
    return '<pre class="err">' in out.read_text(encoding="utf-8")


def render_vignettes() -> None:
    if os.environ.get("MTREG_DOCS_VIGNETTES", "1") == "0":
        return
    VIGNETTE_OUT.mkdir(parents=True, exist_ok=True)
    stale = [p.stem for p in _vignette_sources() if _needs_render(p)]
    if stale:
        print(f"[mtreg docs] rendering vignettes: {', '.join(stale)}", flush=True)
        subprocess.run([sys.executable, "-m", "mtreg.vignettes", "--out", str(VIGNETTE_OUT),
                        *stale], cwd=ROOT, check=False)


def write_vignette_list() -> None:
    lines = []
    for p in _vignette_sources():
        lines.append(f"* `{_vignette_title(p)} <vignettes/{p.stem}.html>`__ "
                     f"(``vignettes/{p.name}``)")
    GENERATED.mkdir(exist_ok=True)
    _write_if_changed(GENERATED / "vignettes.rst", "\n".join(lines) + "\n")


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


EXTRA.mkdir(parents=True, exist_ok=True)
write_api_pages()
write_vignette_list()
render_vignettes()
