"""Render the vignettes: executed analyses written as Jupytext-percent ``.py`` files.

A vignette is a plain Python file whose cells are separated by ``# %%`` lines; a cell opened by
``# %% [markdown]`` holds text, every line commented (``# ## A heading``, ``# Some text``)::

    # %% [markdown]
    # # Getting started
    # We fit ...

    # %%
    import mtreg
    res = mtreg.fit(...)
    print(res.summary())

The renderer runs the cells in order, in one namespace, without Jupyter: it captures what each
cell prints, the value of a final expression (shown as HTML when the object has
``_repr_html_``, like a notebook), warnings, and every matplotlib figure the cell leaves open
(Agg backend), and writes one self-contained HTML file per vignette (figures inline as base64
PNG) plus an ``index.html``. A plain script without ``# %%`` markers is run as one cell, its
docstring shown as text, with ``sys.argv`` as if it were run directly. Run it as::

    python -m mtreg.vignettes [--out DIR] [--full] [--src DIR] [names ...]

Vignettes run at a reduced size (under a minute each) unless ``MTREG_FULL=1`` is set in the
environment, which ``--full`` does; each vignette reads that variable itself.
"""
from __future__ import annotations

import argparse
import ast
import base64
import contextlib
import html
import io
import os
import re
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Cell", "VignetteResult", "parse_percent", "render_vignette", "render_all",
           "find_vignettes", "markdown_to_html", "main"]

#: name of the environment variable that asks vignettes to run at full size
FULL_ENV = "MTREG_FULL"

_CELL_RE = re.compile(r"^# ?%%(?P<rest>.*)$")
_MD_TAG_RE = re.compile(r"\[(markdown|md)\]")


@dataclass
class Cell:
    """One cell of a vignette.

    Attributes
    ----------
    kind : {"code", "markdown"}
    source : str
        Code, or markdown text with the comment marks removed.
    lineno : int
        Line of the source file where the cell's content starts (1-based).
    """

    kind: str
    source: str
    lineno: int = 1


@dataclass
class _Output:
    kind: str  # "stdout", "stderr", "warning", "html", "text", "image", "error"
    data: str


@dataclass
class VignetteResult:
    """What rendering one vignette produced.

    Attributes
    ----------
    name : str
        The vignette's name (file stem).
    html_path : pathlib.Path
        The HTML file written.
    ok : bool
        True when every cell ran without an exception.
    error : str or None
        The traceback of the failing cell, if any.
    seconds : float
        Run time.
    n_figures : int
        Figures captured.
    """

    name: str
    html_path: Path
    ok: bool
    error: str | None = None
    seconds: float = 0.0
    n_figures: int = 0
    title: str = ""
    cells: list = field(default_factory=list, repr=False)


# ---------------------------------------------------------------------------- parsing
def _uncomment(line: str) -> str:
    if line.startswith("# "):
        return line[2:]
    if line.startswith("#"):
        return line[1:]
    return line


def parse_percent(text: str) -> list[Cell]:
    """Split a Jupytext-percent script into cells.

    Parameters
    ----------
    text : str
        The source. Lines ``# %%`` open a code cell, ``# %% [markdown]`` a markdown cell (its
        lines are commented; the ``# `` is removed). A Jupytext YAML header (``# ---`` ...
        ``# ---``) at the top is skipped, and so is code before the first marker when it is
        only blank or comment lines. A plain script without any marker becomes two cells: its
        module docstring (as markdown, the first line as the title) and the rest of the code.

    Returns
    -------
    list of Cell
        Empty cells are dropped.
    """
    lines = text.splitlines()
    if not any(_CELL_RE.match(ln) for ln in lines):
        return _script_cells(text)
    i = 0
    # skip a shebang/encoding line and a jupytext header
    while i < len(lines) and (lines[i].startswith("#!") or "coding" in lines[i][:30]
                              and lines[i].startswith("#")):
        i += 1
    if i < len(lines) and lines[i].strip() == "# ---":
        j = i + 1
        while j < len(lines) and lines[j].strip() != "# ---":
            j += 1
        i = j + 1 if j < len(lines) else i
    cells: list[Cell] = []
    kind, start, buf = "code", i + 1, []

    def flush():
        if kind == "markdown":
            src = "\n".join(_uncomment(ln) for ln in buf).strip("\n")
        else:
            src = "\n".join(buf).strip("\n")
            body = [ln for ln in buf if ln.strip() and not ln.lstrip().startswith("#")]
            if not body and not cells:  # a preamble of comments before the first cell
                return
        if src.strip():
            cells.append(Cell(kind, src, start))

    for n in range(i, len(lines)):
        m = _CELL_RE.match(lines[n])
        if m:
            flush()
            kind = "markdown" if _MD_TAG_RE.search(m.group("rest")) else "code"
            start, buf = n + 2, []
        else:
            buf.append(lines[n])
    flush()
    return cells


def _script_cells(text: str) -> list[Cell]:
    """A plain script (no cell markers): its docstring as text, the rest as one code cell."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return [Cell("code", text, 1)] if text.strip() else []
    doc = ast.get_docstring(tree)
    if not doc or not tree.body:
        return [Cell("code", text, 1)] if text.strip() else []
    end = tree.body[0].end_lineno or 1
    head, _, rest = doc.partition("\n")
    body = re.sub(r"``([^`]+)``", r"`\1`", rest).replace("::\n", ":\n")
    cells = [Cell("markdown", f"# {head.strip()}\n{body}", 1)]
    code = "\n".join(text.splitlines()[end:]).strip("\n")
    if code.strip():
        first = end + 1 + next(i for i, ln in enumerate(text.splitlines()[end:]) if ln.strip())
        cells.append(Cell("code", code, first))
    return cells


# ---------------------------------------------------------------------------- markdown
def _inline(text: str) -> str:
    """Escape and apply inline markup: code, bold, italics, links."""
    parts = re.split(r"(`[^`]+`)", text)
    out = []
    for part in parts:
        if len(part) > 1 and part.startswith("`") and part.endswith("`"):
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        s = html.escape(part, quote=False)
        s = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)",
                   lambda m: f'<a href="{html.escape(m.group(2))}">{m.group(1)}</a>', s)
        s = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", s)
        s = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", s)
        s = re.sub(r"(?<![\w_])_(?!\s)(.+?)(?<!\s)_(?![\w_])", r"<em>\1</em>", s)
        out.append(s)
    return "".join(out)


def _simple_markdown(text: str) -> str:
    """A small markdown subset: headings, paragraphs, fenced/indented code, lists, quotes."""
    out: list[str] = []
    para: list[str] = []
    lst: list[str] = []
    lst_tag = None
    lines = text.splitlines()

    def end_para():
        if para:
            out.append("<p>" + _inline(" ".join(s.strip() for s in para)) + "</p>")
            para.clear()

    def end_list():
        nonlocal lst_tag
        if lst:
            out.append(f"<{lst_tag}>" + "".join(f"<li>{_inline(i)}</li>" for i in lst)
                       + f"</{lst_tag}>")
            lst.clear()
        lst_tag = None

    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            end_para()
            end_list()
            code = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                code.append(lines[i])
                i += 1
            out.append("<pre><code>" + html.escape("\n".join(code)) + "</code></pre>")
            i += 1
            continue
        if not stripped:
            end_para()
            end_list()
            i += 1
            continue
        m = re.match(r"^(#{1,6})\s+(.*)$", stripped)
        if m:
            end_para()
            end_list()
            level = len(m.group(1))
            out.append(f"<h{level}>{_inline(m.group(2).rstrip('#').strip())}</h{level}>")
            i += 1
            continue
        if line.startswith("    ") and not para and not lst:
            code = []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                code.append(lines[i][4:])
                i += 1
            out.append("<pre><code>" + html.escape("\n".join(code).rstrip()) + "</code></pre>")
            continue
        m_ul = re.match(r"^[-*+]\s+(.*)$", stripped)
        m_ol = re.match(r"^\d+[.)]\s+(.*)$", stripped)
        if m_ul or m_ol:
            end_para()
            tag = "ul" if m_ul else "ol"
            if lst_tag not in (None, tag):
                end_list()
            lst_tag = tag
            lst.append((m_ul or m_ol).group(1))
            i += 1
            continue
        if lst and line.startswith((" ", "\t")):
            lst[-1] += " " + stripped
            i += 1
            continue
        if stripped.startswith(">"):
            end_para()
            end_list()
            out.append(f"<blockquote>{_inline(stripped.lstrip('> '))}</blockquote>")
            i += 1
            continue
        end_list()
        para.append(line)
        i += 1
    end_para()
    end_list()
    return "\n".join(out)


def markdown_to_html(text: str) -> str:
    """Markdown to HTML: the ``markdown`` package when installed, else a small converter.

    Parameters
    ----------
    text : str

    Returns
    -------
    str
    """
    try:
        import markdown
    except ImportError:
        return _simple_markdown(text)
    return markdown.markdown(text, extensions=["fenced_code", "tables"])


# ---------------------------------------------------------------------------- code display
def _highlight(code: str) -> str:
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:
        return f'<pre class="code">{html.escape(code)}</pre>'
    return highlight(code, PythonLexer(), HtmlFormatter(nowrap=False, cssclass="code"))


def _pygments_css() -> str:
    try:
        from pygments.formatters import HtmlFormatter
    except ImportError:
        return ""
    css = HtmlFormatter(style="default").get_style_defs(".code")
    return re.sub(r"\s*/\*.*?\*/", "", css)  # drop comments (they name token kinds)


# ---------------------------------------------------------------------------- execution
class _Runner:
    """Executes cells in one namespace, capturing output and figures."""

    def __init__(self, name: str, path: Path):
        self.namespace: dict = {"__name__": "__main__", "__file__": str(path),
                                "__builtins__": __builtins__}
        self.name = name
        self.n_figures = 0

    def run_cell(self, cell: Cell) -> tuple[list[_Output], str | None]:
        import matplotlib.pyplot as plt

        outputs: list[_Output] = []
        stdout, stderr = io.StringIO(), io.StringIO()
        error = None
        filename = f"<vignette {self.name}, line {cell.lineno}>"
        try:
            tree = ast.parse(cell.source, filename=filename)
            ast.increment_lineno(tree, cell.lineno - 1)
        except SyntaxError:
            return [_Output("error", traceback.format_exc(limit=0))], traceback.format_exc()
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        with warnings.catch_warnings(record=True) as caught, \
                contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            warnings.simplefilter("always")
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*non-interactive.*")
            try:
                exec(compile(tree, filename, "exec"), self.namespace)
                if last is not None:
                    value = eval(compile(last, filename, "eval"), self.namespace)
                    if value is not None:
                        outputs.append(self._display(value))
            except SystemExit as exc:  # a script vignette ending with sys.exit(main())
                if exc.code not in (None, 0):
                    error = traceback.format_exc()
            except Exception:
                error = traceback.format_exc()
        text = stdout.getvalue()
        if text:
            outputs.insert(0, _Output("stdout", text))
        if stderr.getvalue():
            outputs.append(_Output("stderr", stderr.getvalue()))
        seen = set()
        for w in caught:
            msg = f"{w.category.__name__}: {w.message}"
            if msg not in seen:
                seen.add(msg)
                outputs.append(_Output("warning", msg))
        for num in plt.get_fignums():
            fig = plt.figure(num)
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
            outputs.append(_Output("image", base64.b64encode(buf.getvalue()).decode("ascii")))
            self.n_figures += 1
        plt.close("all")
        if error is not None:
            outputs.append(_Output("error", error))
        return outputs, error

    @staticmethod
    def _display(value) -> _Output:
        # matplotlib artists as the last expression: the figure is captured anyway
        mod = type(value).__module__ or ""
        if mod.startswith("matplotlib") or (isinstance(value, (list, tuple)) and value
                                            and (type(value[0]).__module__ or "")
                                            .startswith("matplotlib")):
            return _Output("text", "")
        rich = getattr(value, "_repr_html_", None)
        if callable(rich):
            try:
                out = rich()
            except Exception:
                out = None
            if out:
                return _Output("html", out)
        return _Output("text", repr(value))


# ---------------------------------------------------------------------------- HTML
_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 60em; padding: 0 1em; color: #222; line-height: 1.5; }
h1 { border-bottom: 2px solid #444; padding-bottom: .2em; }
pre { padding: .6em .8em; overflow-x: auto; font-size: .85em; line-height: 1.35; margin: .4em 0; }
div.code, pre.code { background: #f5f7fa; border-left: 3px solid #6a8cc7; }
div.code pre { margin: 0; padding: .6em .8em; background: transparent; }
pre.out { background: #fff; border-left: 3px solid #bbb; }
pre.warn { background: #fff8e6; border-left: 3px solid #e0a800; }
pre.err { background: #fdecea; border-left: 3px solid #c62828; }
div.html { overflow-x: auto; margin: .4em 0; font-size: .85em; }
div.html table { border-collapse: collapse; }
div.html th, div.html td { padding: .1em .5em; border-bottom: 1px solid #e4e4e4; }
img { max-width: 100%; height: auto; display: block; margin: .5em 0; }
.meta { color: #666; font-size: .85em; }
code { background: #f2f2f2; padding: 0 .2em; }
"""


def _outputs_html(outputs: list[_Output]) -> str:
    parts = []
    for o in outputs:
        if o.kind in ("stdout", "text") and o.data:
            parts.append(f'<pre class="out">{html.escape(o.data)}</pre>')
        elif o.kind == "stderr":
            parts.append(f'<pre class="warn">{html.escape(o.data)}</pre>')
        elif o.kind == "warning":
            parts.append(f'<pre class="warn">{html.escape(o.data)}</pre>')
        elif o.kind == "html":
            parts.append(f'<div class="html">{o.data}</div>')
        elif o.kind == "image":
            parts.append(f'<img alt="figure" src="data:image/png;base64,{o.data}"/>')
        elif o.kind == "error":
            parts.append(f'<pre class="err">{html.escape(o.data)}</pre>')
    return "\n".join(parts)


def _title(cells: list[Cell], default: str) -> str:
    for c in cells:
        if c.kind == "markdown":
            m = re.search(r"^#\s+(.+)$", c.source, flags=re.M)
            if m:
                return m.group(1).strip()
    return default


def _page(title: str, body: str, meta: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
            f"<title>{html.escape(title)}</title>\n<style>{_CSS}\n{_pygments_css()}</style>\n"
            f"</head>\n<body>\n{body}\n<hr/>\n<p class=\"meta\">{meta}</p>\n</body>\n</html>\n")


# ---------------------------------------------------------------------------- API
def render_vignette(path, out_dir, *, full: bool | None = None) -> VignetteResult:
    """Execute one vignette and write it as self-contained HTML.

    Parameters
    ----------
    path : str or path-like
        The vignette (a Jupytext-percent ``.py`` file).
    out_dir : str or path-like
        Folder of the HTML file (created if needed); the vignette runs with this folder as its
        working directory, so files it writes land next to the HTML.
    full : bool, optional
        Set ``MTREG_FULL=1`` (True) or ``0`` (False) while the vignette runs; None leaves the
        environment as it is.

    Returns
    -------
    VignetteResult
        Rendering stops at the first failing cell; the HTML then shows its traceback and
        ``ok`` is False.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    path = Path(path).resolve()
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    name = path.stem
    cells = parse_percent(path.read_text(encoding="utf-8"))
    title = _title(cells, name)
    runner = _Runner(name, path)
    saved_env = os.environ.get(FULL_ENV)
    if full is not None:
        os.environ[FULL_ENV] = "1" if full else "0"
    size = "full size" if os.environ.get(FULL_ENV) == "1" else "reduced size"
    cwd = os.getcwd()
    parts, error = [], None
    start = time.perf_counter()
    show = plt.show
    plt.show = lambda *a, **k: None  # figures are captured at the end of each cell
    argv = sys.argv
    sys.argv = [str(path)]  # as if run as `python vignettes/<name>.py`
    try:
        os.chdir(out_dir)
        for cell in cells:
            if cell.kind == "markdown":
                parts.append(f'<div class="md">{markdown_to_html(cell.source)}</div>')
                continue
            outputs, error = runner.run_cell(cell)
            parts.append(_highlight(cell.source))
            parts.append(_outputs_html(outputs))
            if error is not None:
                break
    finally:
        sys.argv = argv
        plt.show = show
        plt.close("all")
        os.chdir(cwd)
        if full is not None:
            if saved_env is None:
                os.environ.pop(FULL_ENV, None)
            else:
                os.environ[FULL_ENV] = saved_env
    seconds = time.perf_counter() - start
    from . import __version__

    meta = (f"Rendered from <code>vignettes/{html.escape(path.name)}</code> by "
            f"<code>python -m mtreg.vignettes</code> (mtreg {html.escape(__version__)}, {size}, "
            f"{seconds:.1f} s).")
    html_path = out_dir / f"{name}.html"
    html_path.write_text(_page(title, "\n".join(parts), meta), encoding="utf-8")
    return VignetteResult(name=name, html_path=html_path, ok=error is None, error=error,
                          seconds=seconds, n_figures=runner.n_figures, title=title, cells=cells)


def default_source_dir() -> Path:
    """The ``vignettes/`` folder of a source checkout (next to the package), else ``./vignettes``."""
    here = Path(__file__).resolve().parent.parent / "vignettes"
    return here if here.is_dir() else Path.cwd() / "vignettes"


def find_vignettes(src=None, names=None) -> list[Path]:
    """The vignette files to render.

    Parameters
    ----------
    src : path-like, optional
        Folder of the vignettes (default: :func:`default_source_dir`).
    names : list of str, optional
        Vignette names (file stems) or paths; all ``*.py`` files of ``src`` by default.

    Returns
    -------
    list of pathlib.Path
        Sorted by name.

    Raises
    ------
    FileNotFoundError
        For a name that matches no vignette.
    """
    src = Path(src) if src is not None else default_source_dir()
    if not names:
        return sorted(p for p in src.glob("*.py") if not p.name.startswith("_"))
    out = []
    for n in names:
        p = Path(n)
        if p.suffix == ".py" and p.exists():
            out.append(p)
            continue
        cand = src / f"{p.stem}.py"
        if not cand.exists():
            known = ", ".join(q.stem for q in sorted(src.glob("*.py"))) or "none"
            raise FileNotFoundError(f"no vignette {n!r} in {src}; available: {known}")
        out.append(cand)
    return out


def _index_page(results: list[VignetteResult]) -> str:
    items = "\n".join(
        f'<li><a href="{html.escape(r.html_path.name)}">{html.escape(r.title)}</a> '
        f'<span class="meta">({html.escape(r.name)}, {r.seconds:.1f} s'
        f'{"" if r.ok else ", FAILED"})</span></li>' for r in results)
    body = f"<h1>mtreg vignettes</h1>\n<ul>\n{items}\n</ul>"
    return _page("mtreg vignettes", body, "Rendered by <code>python -m mtreg.vignettes</code>.")


def render_all(out_dir, names=None, *, src=None, full: bool | None = None,
               index: bool = True, log=None) -> list[VignetteResult]:
    """Render several vignettes (all by default) and an ``index.html``.

    Parameters
    ----------
    out_dir : path-like
    names : list of str, optional
        See :func:`find_vignettes`.
    src : path-like, optional
        Folder of the vignettes.
    full : bool, optional
        See :func:`render_vignette`.
    index : bool, default True
        Write ``index.html`` linking the rendered vignettes.
    log : callable, optional
        Called with one line of progress per vignette (e.g. ``print``).

    Returns
    -------
    list of VignetteResult
    """
    results = []
    for path in find_vignettes(src, names):
        res = render_vignette(path, out_dir, full=full)
        results.append(res)
        if log is not None:
            status = "ok" if res.ok else "FAILED"
            log(f"{res.name}: {status} in {res.seconds:.1f} s, {res.n_figures} figure(s) "
                f"-> {res.html_path}")
            if not res.ok:
                log(res.error.rstrip().splitlines()[-1])
    if index and results:
        Path(out_dir, "index.html").write_text(_index_page(results), encoding="utf-8")
    return results


def main(argv=None) -> int:
    """``python -m mtreg.vignettes``: render vignettes to HTML; exit status 1 if any fails."""
    parser = argparse.ArgumentParser(
        prog="python -m mtreg.vignettes",
        description="Execute the vignettes (Jupytext-percent .py files) and write each as "
                    "self-contained HTML with its code, output and figures.")
    parser.add_argument("names", nargs="*", help="vignettes to render (default: all)")
    parser.add_argument("--out", default="vignettes/_build",
                        help="output folder (default: vignettes/_build)")
    parser.add_argument("--src", default=None,
                        help="folder of the vignette sources (default: the checkout's vignettes/)")
    parser.add_argument("--full", action="store_true",
                        help="run at full size (sets MTREG_FULL=1); reduced size by default")
    args = parser.parse_args(argv)
    try:
        results = render_all(args.out, args.names, src=args.src, full=True if args.full else None,
                             log=print)
    except FileNotFoundError as exc:
        print(f"python -m mtreg.vignettes: error: {exc}", file=sys.stderr)
        return 2
    if not results:
        print("python -m mtreg.vignettes: no vignettes found", file=sys.stderr)
        return 2
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
