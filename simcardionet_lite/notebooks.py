"""Chapters as notebooks: the jupytext sync to ``notebooks/`` and the papermill runner.

Why: the MyST-markdown chapters in ``book/`` are the source of truth (readable in a diff);
Colab and Binder need ``.ipynb`` files, and papermill executes ``.ipynb``. This module makes
the committed ``notebooks/*.ipynb`` copies *deterministically* (same source -> same bytes, so
``tests/test_notebooks_drift.py`` can compare exactly) and runs one chapter through papermill
into ``results/<chapter>/<preset>/`` for ``simcardionet-lite reproduce``.
"""

from __future__ import annotations

import ast
import copy
import json
import logging
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from simcardionet_lite.results import METRICS_FILE, SCHEMA, repo_root, run_metadata, to_jsonable

log = logging.getLogger(__name__)

BOOK_DIR = "book"
NOTEBOOKS_DIR = "notebooks"
CHAPTER_GLOB = "[0-9][0-9]_*.md"

# Inserted before the parameters cell of every generated .ipynb. Colab starts from a bare
# Python, so the notebook must install this package there; everywhere else (Binder, nbval,
# papermill, a local venv) the package is already installed and the cell does nothing.
COLAB_INSTALL_SOURCE = """\
# Colab only: fetch and install simcardionet-lite (Binder and a local `make` set-up have it).
# A clone, not a plain pip install, so that the committed results/ of full runs are found.
import sys

if "google.colab" in sys.modules:
    !git clone -q --depth 1 {repo_url} /content/simcardionet-lite
    !pip -q install -e /content/simcardionet-lite
    sys.path.insert(0, "/content/simcardionet-lite")\
"""
REPO_URL = "https://github.com/simcardionet-lite/simcardionet-lite"


def chapter_sources(book_dir: str | os.PathLike | None = None) -> list[Path]:
    """The chapter sources ``book/NN_name.md``, in order."""
    book = Path(book_dir) if book_dir is not None else repo_root() / BOOK_DIR
    return sorted(book.glob(CHAPTER_GLOB))


def md_to_notebook(md_path: str | os.PathLike, *, colab_cell: bool = True, repo_url: str = REPO_URL) -> Any:
    """Read a MyST chapter and return a clean ``nbformat`` notebook, outputs stripped.

    Cell ids are derived from the cell index (jupytext would otherwise make random ones),
    and the jupytext pairing metadata is dropped: the copy is a plain notebook for
    Colab/Binder/nbval, regenerated from the source by ``make notebooks``.
    """
    import jupytext
    import nbformat

    nb = jupytext.read(Path(md_path), fmt="md:myst")
    cells = list(nb.cells)
    if colab_cell:
        # Just before the first code cell (the parameters), after the chapter's title text.
        first_code = next((i for i, c in enumerate(cells) if c.cell_type == "code"), len(cells))
        install = nbformat.v4.new_code_cell(COLAB_INSTALL_SOURCE.format(repo_url=repo_url))
        install.metadata = {"tags": ["colab-install"]}
        cells.insert(first_code, install)
    for i, cell in enumerate(cells):
        cell["id"] = f"c{i:03d}"
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.cells = cells
    meta = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    nb.metadata = nbformat.from_dict(meta)
    nb.nbformat, nb.nbformat_minor = 4, 5
    return nb


def notebook_text(md_path: str | os.PathLike, **kw: Any) -> str:
    """The exact text of the generated ``.ipynb``: the same source always gives the same bytes."""
    import nbformat

    nb = md_to_notebook(md_path, **kw)
    nbformat.validate(nb)
    # nbformat's own writer: sorted keys, one-space indent, sources split into lines.
    return nbformat.writes(nb, version=4) + "\n"


def sync_notebooks(
    book_dir: str | os.PathLike | None = None,
    out_dir: str | os.PathLike | None = None,
    *,
    check: bool = False,
) -> list[Path]:
    """Write ``notebooks/NN_name.ipynb`` for every chapter; with ``check``, only report drift.

    Returns the notebooks that changed (or, with ``check``, that differ from their source,
    are missing, or have no source any more). Stale notebooks without a source are removed
    when not checking.
    """
    sources = chapter_sources(book_dir)
    out = Path(out_dir) if out_dir is not None else repo_root() / NOTEBOOKS_DIR
    out.mkdir(parents=True, exist_ok=True)
    changed: list[Path] = []
    expected = set()
    for md in sources:
        target = out / (md.stem + ".ipynb")
        expected.add(target.name)
        text = notebook_text(md)
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            changed.append(target)
            if not check:
                target.write_text(text, encoding="utf-8")
                log.info("wrote %s", target)
    for stale in sorted(out.glob("*.ipynb")):
        if stale.name not in expected:
            changed.append(stale)
            if not check:
                stale.unlink()
                log.info("removed %s (no source in book/)", stale)
    return changed


def parse_value(text: str) -> Any:
    """A ``-p key value`` value: JSON (``{"a": 1}``, ``2``, ``null``), a Python literal
    (``None``, ``True``, ``(1, 2)``), else the string itself (a path, a preset name)."""
    for parse in (json.loads, ast.literal_eval):
        try:
            return parse(text)
        except (ValueError, SyntaxError):
            continue
    return text


def resolve_chapter(chapter: str, book_dir: str | os.PathLike | None = None) -> Path:
    """A chapter given as a path, a file name, a stem (``05_dataset1``) or its number (``05``)."""
    p = Path(chapter)
    if p.suffix in (".md", ".ipynb") and p.is_file():
        return p.resolve()
    sources = chapter_sources(book_dir)
    for md in sources:
        if chapter in (md.stem, md.name) or md.stem.split("_", 1)[0] == chapter:
            return md
    known = ", ".join(m.stem for m in sources) or "(none found)"
    raise FileNotFoundError(f"unknown chapter {chapter!r}; known chapters: {known}")


def execute_chapter(
    chapter: str | os.PathLike,
    *,
    preset: str = "smoke",
    parameters: Mapping[str, Any] | None = None,
    results_root: str | os.PathLike | None = None,
    kernel_name: str | None = None,
    timeout: int | None = None,
    progress: bool = True,
) -> Path:
    """Run one chapter through papermill into ``<results_root>/<chapter>/<preset>/``.

    Writes the executed notebook ``<chapter>.ipynb`` and ``metrics.json``. The chapter itself
    publishes its metrics (``results_dir`` is injected as a parameter); this function then
    adds a ``run`` section with the wall time, the parameters and the notebook path. A chapter
    that published nothing still gets a ``metrics.json`` with empty metrics plus metadata, so
    every reproduce run leaves a record. A failing cell raises papermill's
    ``PapermillExecutionError`` after the partial notebook has been written.
    """
    import jupytext
    import papermill as pm

    src = Path(chapter)
    name = src.stem
    root = Path(results_root) if results_root is not None else repo_root() / "results"
    out_dir = (root / name / preset).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    params: dict[str, Any] = {**dict(parameters or {}), "preset": preset, "results_dir": str(out_dir)}
    metrics_path = out_dir / METRICS_FILE
    if metrics_path.exists():
        metrics_path.unlink()  # a stale file must not be mistaken for this run's record
    executed = out_dir / f"{name}.ipynb"
    with tempfile.TemporaryDirectory() as tmp:
        if src.suffix == ".md":
            nb = jupytext.read(src, fmt="md:myst")
            input_path = Path(tmp) / f"{name}.ipynb"
            jupytext.write(nb, input_path, fmt="ipynb")
        else:
            input_path = src
        log.info("executing %s (preset %s) -> %s", src, preset, out_dir)
        t0 = time.perf_counter()
        ok = False
        try:
            pm.execute_notebook(
                str(input_path),
                str(executed),
                parameters=params,
                kernel_name=kernel_name,
                cwd=str(src.parent.resolve()),
                progress_bar=progress,
                execution_timeout=timeout,
                log_output=False,
            )
            ok = True
        finally:
            wall = time.perf_counter() - t0
            _record_run(metrics_path, name=name, preset=preset, params=params, executed=executed, wall=wall,
                        source=src, completed=ok)
    return out_dir


def _record_run(
    metrics_path: Path, *, name: str, preset: str, params: Mapping[str, Any], executed: Path, wall: float,
    source: Path, completed: bool,
) -> None:
    """Add the ``run`` section to the chapter's metrics.json (create the file if needed)."""
    if metrics_path.is_file():
        payload = json.loads(metrics_path.read_text())
    else:
        from simcardionet_lite.config import load_preset

        overrides = params.get("overrides") or {}
        try:
            cfg = load_preset(preset, **overrides).to_dict()
        except (KeyError, TypeError):
            cfg = None
        payload = {"schema": SCHEMA, "chapter": name, "preset": preset, "metrics": {}, "config": cfg,
                   "config_hash": None, "seeds": None, "metadata": run_metadata(), "extra": {},
                   "note": "the chapter did not call publish(); only the run record is here"}
    payload["chapter"] = name
    payload["run"] = {
        "wall_time_s": round(wall, 3),
        "parameters": to_jsonable(copy.deepcopy(dict(params))),
        "source": str(source),
        "executed_notebook": executed.name,
        "completed": completed,
    }
    tmp = metrics_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
    tmp.replace(metrics_path)


def reproduce(
    chapters: Sequence[str],
    *,
    preset: str,
    parameters: Mapping[str, Any] | None = None,
    results_root: str | os.PathLike | None = None,
    book_dir: str | os.PathLike | None = None,
    kernel_name: str | None = None,
    timeout: int | None = None,
) -> list[Path]:
    """Execute the named chapters (``"all"`` = every chapter of the book) in order."""
    if list(chapters) == ["all"]:
        paths = chapter_sources(book_dir)
    else:
        paths = [resolve_chapter(c, book_dir) for c in chapters]
    return [
        execute_chapter(p, preset=preset, parameters=parameters, results_root=results_root,
                        kernel_name=kernel_name, timeout=timeout)
        for p in paths
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m simcardionet_lite.notebooks [--check]``: regenerate (or check) notebooks/."""
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python -m simcardionet_lite.notebooks", description=main.__doc__)
    p.add_argument("--check", action="store_true", help="only report drift; exit 1 if any notebook differs")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    changed = sync_notebooks(check=args.check)
    n = len(chapter_sources())
    if args.check and changed:
        sys.stderr.write("out of date (run `make notebooks`): " + ", ".join(c.name for c in changed) + "\n")
        return 1
    log.info("%d chapter notebooks %s; %d changed", n, "checked" if args.check else "in notebooks/", len(changed))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
