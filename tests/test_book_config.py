"""The Jupyter Book configuration keeps its promises: cells errors fail the build, the local
execution cache is on, and launch buttons open the committed notebooks/ copies."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from simcardionet_lite.booklinks import notebook_url

ROOT = Path(__file__).resolve().parents[1]


def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


def test_build_fails_on_cell_errors_and_uses_cache() -> None:
    ex = config()["execute"]
    assert ex["execute_notebooks"] == "cache"
    assert ex["allow_errors"] is False and ex["raise_on_error"] is True
    assert ex["timeout"] >= 300


def test_only_toc_files_and_generated_folders_excluded() -> None:
    c = config()
    assert c["only_build_toc_files"] is True
    for folder in ("notebooks", "results", ".venv", "_build"):
        assert folder in c["exclude_patterns"]


def test_repository_and_launch_buttons() -> None:
    c = config()
    assert c["repository"]["url"].startswith("https://github.com/")
    assert c["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert c["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert "simcardionet_lite.booklinks" in c["sphinx"]["extra_extensions"]


def test_launch_urls_point_at_notebooks() -> None:
    base = "https://mybinder.org/v2/gh/o/r/main?urlpath=tree/"
    assert notebook_url(base + "book/00_intro.md") == base + "notebooks/00_intro.ipynb"
    colab = "https://colab.research.google.com/github/o/r/blob/main/"
    assert notebook_url(colab + "book/11_paper_vs_ours.md") == colab + "notebooks/11_paper_vs_ours.ipynb"
    # anything that is not a chapter source is left alone
    for url in ("https://github.com/o/r/blob/main/README.md", "https://x/book/notes.md", colab + "notebooks/00_intro.ipynb"):
        assert notebook_url(url) == url


def test_math_renders_from_a_local_mathjax_copy() -> None:
    """MathJax comes from a registry package copied into the build, not a CDN: math renders offline."""
    import importlib.util

    sphinx = config()["sphinx"]
    assert "sphinx-mathjax-offline" in sphinx["extra_extensions"]
    path = sphinx["config"]["mathjax_path"]
    assert not path.startswith(("http:", "https:", "//"))
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    assert spec is not None, "pip install -r requirements/lock.txt installs sphinx-mathjax-offline"
    static = Path(spec.origin).parent / "static"
    assert (static / path).is_file(), f"{path} is not in the package's static/ folder"
    assert (static / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    built = ROOT / "_build" / "html" / "book" / "03_hybrid_loss.html"  # a chapter with math
    if built.exists() and (ROOT / "_build" / "html" / "_static" / "mathjax").is_dir():  # after a `make book` with this config
        html = built.read_text()
        # Sphinx may append a cache-busting query (``?v=<hash>``) to a script's local path
        assert re.search(rf'src="\.\./_static/{re.escape(path)}(\?v=[0-9a-f]+)?"', html), "MathJax is not loaded from _static"
        assert "cdn.jsdelivr" not in html
