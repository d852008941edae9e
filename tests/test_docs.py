"""The documentation cannot rot: the README's example prints what the README shows, and every
registered penalty has a model page stating its objective and its reference."""
import contextlib
import io
import re
from pathlib import Path

import pytest

import mtreg

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "docs" / "models"
# Lines of the README output that depend on the solver's path to the optimum, not on the
# optimum itself (the optimum is pinned by the objective value and the coefficients shown).
_SOLVER_DEPENDENT = ("Iterations:", "Duality gap:")


def _readme_blocks(lang: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def _strip_solver_dependent(line: str) -> str:
    for key in _SOLVER_DEPENDENT:
        if key in line:
            return line[: line.index(key)].rstrip()
    return line


def test_readme_example_output_is_real():
    code = next(b for b in _readme_blocks("python") if "print(res.summary())" in b)
    shown = _readme_blocks("text")[0].splitlines()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(code, "README.md", "exec"), {})
    printed = [_strip_solver_dependent(line.rstrip()) for line in buf.getvalue().splitlines()]
    assert len(printed) > len(shown)
    # The shown lines are the printed lines, in order, with runs elided at "...".
    pos = 0
    for line in shown:
        if line == "...":
            continue
        want = _strip_solver_dependent(line.rstrip())
        assert want in printed[pos:], f"README output line not printed by the example: {line!r}"
        pos = printed.index(want, pos) + 1


def _model_pages() -> dict[Path, str]:
    return {page: page.read_text() for page in sorted(MODELS.glob("*.rst"))}


@pytest.mark.parametrize("name", sorted(mtreg.penalties.REGISTRY))
def test_every_penalty_has_a_model_page(name):
    titled = [page for page, text in _model_pages().items()
              if f"``{name}``" in text.splitlines()[0]]
    assert titled, f"no docs/models/*.rst page has ``{name}`` in its title line"
    text = _model_pages()[titled[0]]
    assert ".. math::" in text, f"{titled[0].name}: the objective is not stated"
    assert re.search(r"^Reference", text, flags=re.M), f"{titled[0].name}: no Reference section"
