"""Chapters as notebooks: the jupytext sync to ``notebooks/`` and the papermill runner.

Why: the MyST-markdown chapters in ``book/`` are the source of truth (readable in a diff);
Colab and Binder need ``.ipynb`` files, and papermill executes ``.ipynb``. This module makes
the committed ``notebooks/*.ipynb`` copies *deterministically* (same source -> same bytes, so
``tests/test_notebooks_drift.py`` can compare exactly) and runs one chapter through papermill
into ``results/<chapter>/<source>-<tag>/`` for ``simcardionet-lite reproduce``.
"""

from __future__ import annotations

import ast
import copy
import json
import logging
import os
import re
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
# Colab's own torch/torchvision (a CUDA build) must survive the install: the cell installs the
# package's ranges (pyproject.toml), never requirements/lock.txt, and names no package itself;
# pip then keeps every installed version that satisfies a range. tests/test_install.py runs this
# pip line in a fresh venv holding another torch than the lock's and checks it is kept.
COLAB_INSTALL_SOURCE = """\
# Colab only: fetch and install simcardionet-lite (Binder and a local `make` set-up have it).
# A clone, not a plain pip install, so that the committed results/ of full runs are found.
# pip installs the package's dependency ranges, not the exact lock: Colab's own (CUDA) torch
# and torchvision satisfy them and are kept; pip adds only what is missing or out of range.
import sys

if "google.colab" in sys.modules:
    !git clone -q --depth 1 {repo_url} /content/simcardionet-lite
    !pip -q install --upgrade-strategy only-if-needed -e /content/simcardionet-lite
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


PATH_PARAMETER_SUFFIXES = ("_root", "_from")


def check_parameters(notebook: str | os.PathLike, parameters: Mapping[str, Any], name: str) -> dict[str, Any]:
    """Refuse parameters the chapter does not declare, and values of the wrong kind; resolve paths.

    Why: papermill only warns about an unknown parameter, so ``-p data_rot=PATH`` would run the
    chapter on synthetic data and exit 0. Paths (``*_root``, ``*_from``) are resolved against the
    caller's working directory, since the kernel runs in ``book/``.
    """
    import papermill as pm

    known = pm.inspect_notebook(str(notebook))
    unknown = sorted(set(parameters) - set(known) - {"results_dir"})
    if unknown:
        raise ValueError(f"unknown parameter(s) {unknown} for chapter {name}; its parameters are {sorted(known)}")
    out = dict(parameters)
    if "overrides" in out and not isinstance(out["overrides"], Mapping):
        raise ValueError(f"overrides must be a dict of dotted config keys, e.g. --set pretrain.epochs=2; got {out['overrides']!r}")
    for key, value in parameters.items():
        if key.endswith(PATH_PARAMETER_SUFFIXES) and value is not None:
            if not isinstance(value, str):
                raise ValueError(f"{key} must be a folder path (or None), got {value!r}")
            out[key] = str(Path(value).expanduser().resolve())
    return out


def chapter_results_dir(chapter: str, preset: str, parameters: Mapping[str, Any], *, tag: str | None = None,
                        results_root: str | os.PathLike | None = None) -> Path:
    """``<results>/<chapter>/<source>-<tag>``: the data source from the chapter's recipe config, so a
    real-data and a synthetic run never share a folder. Chapters without a recipe: ``real`` when a
    ``*_root`` parameter is set, else ``synthetic``."""
    from simcardionet_lite.experiments.registry import for_chapter, results_dir_for

    root = Path(results_root) if results_root is not None else repo_root() / "results"
    recipe = for_chapter(chapter)
    if recipe is not None:
        cfg = recipe.config(preset, data_root=parameters.get("data_root"), overrides=parameters.get("overrides"))
        return results_dir_for(chapter, cfg, tag=tag, root=root)
    real = any(v is not None for k, v in parameters.items() if k.endswith("_root"))
    return root / chapter / f"{'real' if real else 'synthetic'}-{tag or preset}"


def execute_chapter(
    chapter: str | os.PathLike,
    *,
    preset: str = "smoke",
    parameters: Mapping[str, Any] | None = None,
    results_root: str | os.PathLike | None = None,
    tag: str | None = None,
    kernel_name: str | None = None,
    timeout: int | None = None,
    progress: bool = True,
) -> Path:
    """Run one chapter through papermill into ``<results_root>/<chapter>/<source>-<tag>/``.

    Writes the executed notebook ``<chapter>.ipynb`` and ``metrics.json`` (the chapter publishes
    its metrics into ``results_dir``; this adds a ``run`` section with the wall time, the
    parameters and the notebook). The run happens in a temporary sibling folder that replaces the
    result folder only when it completes: a failed run leaves an earlier result untouched, records
    itself in ``<source>-<tag>.failed/`` and raises papermill's ``PapermillExecutionError``.
    """
    import shutil

    import jupytext
    import papermill as pm

    src = Path(chapter)
    name = src.stem
    with tempfile.TemporaryDirectory() as tmp:
        if src.suffix == ".md":
            input_path = Path(tmp) / f"{name}.ipynb"
            jupytext.write(jupytext.read(src, fmt="md:myst"), input_path, fmt="ipynb")
        else:
            input_path = src
        params = check_parameters(input_path, dict(parameters or {}), name)
        out_dir = chapter_results_dir(name, preset, params, tag=tag, results_root=results_root).resolve()
        work = out_dir.with_name(f".{out_dir.name}.running-{os.getpid()}")
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        params.update(preset=preset, results_dir=str(work))
        executed = work / f"{name}.ipynb"
        log.info("executing %s (preset %s) -> %s", src, preset, out_dir)
        t0 = time.perf_counter()
        ok = False
        try:
            pm.execute_notebook(str(input_path), str(executed), parameters=params, kernel_name=kernel_name,
                                cwd=str(src.parent.resolve()), progress_bar=progress, execution_timeout=timeout,
                                log_output=False)
            ok = True
        finally:
            _record_run(work / METRICS_FILE, name=name, preset=preset, params={**params, "results_dir": str(out_dir)},
                        executed=executed, wall=time.perf_counter() - t0, source=src, completed=ok)
            _settle(work, out_dir if ok else out_dir.with_name(out_dir.name + ".failed"))
    return out_dir


def _settle(work: Path, target: Path) -> None:
    """Move a finished run folder into place, replacing an earlier one only after the move is ready."""
    import shutil

    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.replace(old)
    work.replace(target)
    shutil.rmtree(old, ignore_errors=True)


def _record_run(
    metrics_path: Path, *, name: str, preset: str, params: Mapping[str, Any], executed: Path, wall: float,
    source: Path, completed: bool,
) -> None:
    """Add the ``run`` section to the chapter's metrics.json (create the file if needed)."""
    if metrics_path.is_file():
        payload = json.loads(metrics_path.read_text())
    else:
        from simcardionet_lite.config import load_preset

        try:
            cfg = load_preset(preset, **(params.get("overrides") or {})).to_dict()
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
    tag: str | None = None,
) -> list[Path]:
    """Execute the named chapters (``"all"`` = every chapter of the book) in order."""
    if list(chapters) == ["all"]:
        paths = chapter_sources(book_dir)
    else:
        paths = [resolve_chapter(c, book_dir) for c in chapters]
    return [
        execute_chapter(p, preset=preset, parameters=parameters, results_root=results_root, tag=tag,
                        kernel_name=kernel_name, timeout=timeout)
        for p in paths
    ]


#: the runner's environment variable holding each real data source's folder (gpu-reproduce workflow)
DATA_ROOT_VARS = {"dataset1": "DATA_ROOT_DATASET1", "kaggle": "DATA_ROOT_KAGGLE", "ptbxl": "DATA_ROOT_PTBXL"}
_CODE_CELL = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)```", re.S)


def _registered_sources() -> dict[str, str]:
    """chapter -> the ``real_source`` its recipe registers, read from the recipe modules' source (no imports).

    Why without importing: the GPU workflow builds its job matrix with a bare Python before the
    package and torch are installed.
    """
    out: dict[str, str] = {}
    folder = Path(__file__).resolve().parent / "experiments" / "recipes"
    for py in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(py.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "register":
                kw = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
                if "chapter" in kw and "real_source" in kw:
                    out[kw["chapter"]] = kw["real_source"]
    return out


def chapter_matrix(book_dir: str | os.PathLike | None = None) -> list[dict[str, str]]:
    """One entry per chapter: its name, the env variable of its data folder and extra ``--set`` settings.

    A results chapter reads its recipe's real source; another chapter whose code (not only its
    parameters cell) uses ``data_root`` reads Dataset I. Adding a chapter needs no edit of the workflow.
    """
    sources = _registered_sources()
    rows = []
    for md in chapter_sources(book_dir):
        row = {"chapter": md.stem, "data_root": "", "sets": ""}
        source = sources.get(md.stem)
        if source is None:
            cells = [c for c in _CODE_CELL.findall(md.read_text()) if not c.lstrip().startswith(":tags: [parameters]")]
            source = "dataset1" if any("data_root" in c for c in cells) else None
        if source is not None:
            row["data_root"] = DATA_ROOT_VARS[source]
        if source == "kaggle":  # a real Dataset II is tested after training on the real Dataset I
            row["sets"] = f"data.train_root=${DATA_ROOT_VARS['dataset1']}"
        rows.append(row)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m simcardionet_lite.notebooks [--check]``: regenerate (or check) notebooks/."""
    import argparse
    import sys

    p = argparse.ArgumentParser(prog="python -m simcardionet_lite.notebooks", description=main.__doc__)
    p.add_argument("--check", action="store_true", help="only report drift; exit 1 if any notebook differs")
    p.add_argument("--matrix", action="store_true", help="print the GPU workflow's chapter matrix as JSON and exit")
    args = p.parse_args(argv)
    if args.matrix:
        sys.stdout.write(json.dumps({"include": chapter_matrix()}) + "\n")
        return 0
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
