"""Every figure a chapter draws has a number, a caption and alt text (static, no execution).

Why: ``scripts/check_book.py`` fails an image in the built book that is neither in a captioned
figure nor has descriptive alt text, but only after a full build. This test reads ``book/*.md``
(as jupytext does) and fails at once when a new or edited cell draws without saying what it shows.

The rule, per code cell:

* A cell **draws** when its code, comments and string literals left out, calls ``plt.<name>(``,
  ``subplots(``, ``.plot(``, ``imshow(``, a report figure helper ``plot_<name>(``, or
  ``display(Image`` (see ``DRAWS``).
* A drawing cell needs ``mystnb: figure: caption:`` (a sentence or more), ``mystnb: figure: name:``
  (``fig-<chapter>-<what>``, unique in the book: the target of ``{numref}``) and
  ``mystnb: image: alt:`` (a description, not a file name). A figure that is only drawn when some
  data exist (real data, committed results) gets them too; myst-nb adds the figure only when the
  cell has an output.
* myst-nb wraps **every** display output of a cell with ``figure:`` metadata in its own figure, under
  the same name and caption. So such a cell must produce the figure and nothing else that shows:
  no ``display(...)``, no value left as its last line (end it with ``;``, ``fig.tight_layout()`` or
  ``plt.show()``; printed text is fine, it is not wrapped), and at most one figure: no
  ``subplots(``/``plt.figure(`` inside a loop, except a loop over a ``[:1]`` slice. Tables and notes
  go into a cell of their own.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.md"))

DRAWS = re.compile(
    r"\bplt\.[A-Za-z_][\w.]*\s*\("  # any pyplot call: plt.subplots(, plt.imshow(, plt.show(, plt.figure( ...
    r"|\bsubplots\s*\("
    r"|\.plot\s*\("
    r"|\bimshow\s*\("
    r"|\bplot_\w+\s*\("  # the report figure helpers (experiments.report.figures)
    r"|\bdisplay\s*\(\s*Image\b"
)
NAME = re.compile(r"^fig-[a-z0-9]+(?:-[a-z0-9]+)*$")
NEW_FIGURE = {"subplots", "figure"}  # calls that start a new figure
QUIET_LAST = {"tight_layout", "show", "print", "close"}  # a last call that returns None: nothing displayed


def code_cells(md: Path) -> list[tuple[int, str, dict[str, Any]]]:
    """(index among code cells, source, metadata) of every code cell of a chapter."""
    import jupytext

    nb = jupytext.read(md, fmt="md:myst")
    return [(i, c.source, dict(c.metadata)) for i, c in enumerate(c for c in nb.cells if c.cell_type == "code")]


def bare_code(source: str) -> str:
    """The cell's code with comments and string literals blanked (a word in a string does not draw)."""
    try:
        out = []
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                continue
            out.append((tok.type, '""' if tok.type == tokenize.STRING else tok.string))
        return tokenize.untokenize(out)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return source


def draws(source: str) -> bool:
    return bool(DRAWS.search(bare_code(source)))


def _call_name(node: ast.AST) -> str:
    f = node.func if isinstance(node, ast.Call) else None
    return f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""


def _runs_once(loop: ast.AST) -> bool:
    """``for x in something[:1]``: at most one pass."""
    it = getattr(loop, "iter", None)
    s = it.slice if isinstance(it, ast.Subscript) else None
    return (isinstance(s, ast.Slice) and s.lower is None and s.step is None
            and isinstance(s.upper, ast.Constant) and s.upper.value == 1)


def figure_cell_problems(source: str) -> list[str]:
    """What would put something besides one figure into a cell with ``figure:`` metadata."""
    tree = ast.parse(source)
    out = []
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    if any(_call_name(c) == "display" for c in calls):
        out.append("calls display(): myst-nb would wrap that output in the figure too (move it to its own cell)")
    for loop in (n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.While, ast.AsyncFor))):
        if _runs_once(loop):
            continue
        if any(isinstance(n, ast.Call) and _call_name(n) in NEW_FIGURE for n in ast.walk(loop)):
            out.append(f"starts a figure inside a loop (line {loop.lineno}): several figures under one name")
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr) and not source.rstrip().endswith(";") and _call_name(last.value) not in QUIET_LAST:
        out.append(f"its last line is a value ({ast.get_source_segment(source, last)!r}), displayed inside the "
                   "figure: end it with ';' or move it to its own cell")
    return out


CELLS = [(md, i, src, meta) for md in CHAPTERS for i, src, meta in code_cells(md)]
DRAWING = [c for c in CELLS if draws(c[2])]


def _id(cell: tuple) -> str:
    md, i, src, _ = cell
    first = next((ln for ln in src.splitlines() if ln.strip() and not ln.startswith(("import ", "from "))), "")
    return f"{md.stem}[{i}] {first[:40]}"


def test_the_rule_finds_drawing_cells_and_leaves_others() -> None:
    assert draws("fig, ax = plt.subplots()\nax.plot(x, y)")
    assert draws("plot_claims(rows);")
    assert draws("ax.imshow(img)")
    assert draws("display(Image(filename='x.png'))")
    assert not draws("import matplotlib.pyplot as plt\nfrom m import plot_deletion, plot_region_ratios")
    assert not draws("display(Markdown('call plt.show() to draw'))  # or ax.plot(x)")
    assert not draws("pd.DataFrame(rows)")
    assert figure_cell_problems("fig, ax = plt.subplots()\nax.plot(x)\nfig.tight_layout()") == []
    assert figure_cell_problems("for t, d in list(runs.items())[:1]:\n    fig, ax = plt.subplots()") == []
    assert figure_cell_problems("plot_claims(rows);") == []
    assert len(figure_cell_problems("fig, ax = plt.subplots()\ndisplay(table)\nax.plot(x)\ntable")) == 2
    assert figure_cell_problems("for r in runs:\n    fig, ax = plt.subplots()")


def test_the_book_draws_figures() -> None:
    assert CHAPTERS and len(DRAWING) >= 10, f"found {len(DRAWING)} drawing cells: is the rule still matching?"


@pytest.mark.parametrize("cell", DRAWING, ids=_id)
def test_a_drawing_cell_has_a_numbered_captioned_figure_with_alt_text(cell: tuple) -> None:
    md, i, src, meta = cell
    nb = meta.get("mystnb") or {}
    fig, img = nb.get("figure") or {}, nb.get("image") or {}
    where = f"{md.name}, code cell {i}"
    caption = str(fig.get("caption") or "").strip()
    assert len(caption) >= 40 and caption[-1] in ".)", \
        f"{where} draws but has no mystnb: figure: caption: (one or two sentences: what it shows, how to read it)"
    assert NAME.match(str(fig.get("name") or "")), f"{where}: mystnb: figure: name: fig-<chapter>-<what> missing"
    alt = str(img.get("alt") or "").strip()
    assert len(alt) >= 30 and not re.search(r"\.(png|jpe?g|svg|gif)$", alt, re.I), \
        f"{where} draws but has no descriptive mystnb: image: alt: (a sentence describing the image)"


def test_figure_cells_produce_only_their_figure() -> None:
    bad = []
    for md, i, src, meta in CELLS:
        if (meta.get("mystnb") or {}).get("figure"):
            if not draws(src):
                bad.append(f"{md.name}[{i}]: figure metadata on a cell that does not draw")
            bad += [f"{md.name}[{i}]: {p}" for p in figure_cell_problems(src)]
    assert not bad, "\n".join(bad)


def test_figure_names_are_unique_in_the_book() -> None:
    names: dict[str, str] = {}
    dup = []
    for md, i, _, meta in CELLS:
        name = ((meta.get("mystnb") or {}).get("figure") or {}).get("name")
        if name:
            if name in names:
                dup.append(f"{name}: {names[name]} and {md.name}[{i}]")
            names[name] = f"{md.name}[{i}]"
    for md in CHAPTERS:  # {figure} directives name their targets too
        for name in re.findall(r"^:name:\s*(\S+)", md.read_text(encoding="utf-8"), re.M):
            if name in names:
                dup.append(f"{name}: {names[name]} and {md.name}")
            names[name] = md.name
    assert not dup, "figure names used twice: " + "; ".join(dup)


def test_numref_targets_exist() -> None:
    names = set()
    for _, _, _, meta in CELLS:
        name = ((meta.get("mystnb") or {}).get("figure") or {}).get("name")
        names.add(name)
    for md in CHAPTERS:
        names |= set(re.findall(r"^:name:\s*(\S+)", md.read_text(encoding="utf-8"), re.M))
    missing = [(md.name, ref) for md in CHAPTERS
               for ref in re.findall(r"\{numref\}`(?:[^`<]*<)?(fig-[\w-]+)>?`", md.read_text(encoding="utf-8"))
               if ref not in names]
    assert not missing, f"{{numref}} to a figure name no cell or directive defines: {missing}"
