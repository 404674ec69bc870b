"""The committed notebooks/*.ipynb are exactly what `make notebooks` makes from book/*.md.

Why: Colab and Binder open the .ipynb copies, nbval executes them, but the book is built from
the MyST sources. A chapter edited without regenerating its copy would show readers (and test)
stale code; this test fails until `make notebooks` is run and the result committed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from simcardionet_lite.notebooks import chapter_sources, notebook_text, sync_notebooks

from _myst import MYST_HEADER

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

MD = MYST_HEADER + """
# Title

```{code-cell} ipython3
:tags: [parameters]

preset = "smoke"
```

Some text.

```{code-cell} ipython3
x = 1 + 1
x
```
"""


def test_every_chapter_has_an_up_to_date_notebook() -> None:
    sources = chapter_sources(ROOT / "book")
    drift = sync_notebooks(ROOT / "book", NOTEBOOKS, check=True)
    assert not drift, (
        "notebooks/ is out of date with book/ (run `make notebooks` and commit): "
        + ", ".join(p.name for p in drift)
    )
    assert sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")) == [s.stem for s in sources]


@pytest.mark.parametrize("md", chapter_sources(ROOT / "book"), ids=lambda p: p.stem)
def test_notebook_is_clean_and_parameterised(md: Path) -> None:
    nb = json.loads((NOTEBOOKS / f"{md.stem}.ipynb").read_text()) if (NOTEBOOKS / f"{md.stem}.ipynb").exists() \
        else pytest.fail(f"notebooks/{md.stem}.ipynb missing (run `make notebooks`)")
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code), "outputs must be stripped"
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters' (papermill)"
    assert 'preset = "smoke"' in "".join(tagged[0]["source"])
    # the Colab install cell comes first, then the chapter's parameters cell; only a results chapter's
    # "Found, in short" cell (committed results, no parameter read) may come between them
    assert "colab-install" in code[0]["metadata"].get("tags", [])
    between = code[1:code.index(tagged[0])]
    assert len(between) <= 1, "at most the glance cell before the parameters cell"
    for c in between:
        src = "".join(c["source"])
        assert "at_a_glance(" in src and "remove-input" in c["metadata"].get("tags", [])
        assert not any(name in src for name in ("preset", "data_root", "results_dir", "overrides")), \
            "a cell before the parameters cell must not read a parameter (papermill injects them after it)"
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_generation_is_deterministic_and_detects_drift(tmp_path: Path) -> None:
    book, out = tmp_path / "book", tmp_path / "notebooks"
    book.mkdir()
    (book / "00_x.md").write_text(MD)
    assert notebook_text(book / "00_x.md") == notebook_text(book / "00_x.md")
    assert [p.name for p in sync_notebooks(book, out)] == ["00_x.ipynb"]
    assert sync_notebooks(book, out, check=True) == []  # fresh: no drift
    # edit the source: drift is reported and fixed by a sync
    (book / "00_x.md").write_text(MD.replace("x = 1 + 1", "x = 1 + 2"))
    assert [p.name for p in sync_notebooks(book, out, check=True)] == ["00_x.ipynb"]
    sync_notebooks(book, out)
    assert "x = 1 + 2" in (out / "00_x.ipynb").read_text()
    # a hand-edited notebook is drift too
    (out / "00_x.ipynb").write_text((out / "00_x.ipynb").read_text().replace("1 + 2", "1 + 3"))
    assert sync_notebooks(book, out, check=True) == [out / "00_x.ipynb"]
    # a notebook without a source is reported (and removed by a sync)
    sync_notebooks(book, out)
    (out / "99_orphan.ipynb").write_text("{}")
    assert sync_notebooks(book, out, check=True) == [out / "99_orphan.ipynb"]
    sync_notebooks(book, out)
    assert not (out / "99_orphan.ipynb").exists()


def test_toc_lists_exactly_the_chapters() -> None:
    """Every _toc.yml entry has its book/*.md source, and every chapter source is in the toc
    (Jupyter Book only warns about a missing toc file, and silently skips an unlisted one)."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    entries = [toc["root"]] + [c["file"] for part in toc.get("parts", []) for c in part["chapters"]]
    missing = [e for e in entries if not (ROOT / f"{e}.md").is_file()]
    assert not missing, f"_toc.yml lists chapters with no source: {missing}"
    unlisted = sorted({f"book/{p.stem}" for p in chapter_sources(ROOT / "book")} - set(entries))
    assert not unlisted, f"chapters not in _toc.yml: {unlisted}"
