"""Sphinx extension for the book: point the launch buttons at the committed ``.ipynb`` copies.

Why: the chapters' source of truth is ``book/NN_name.md`` (MyST), but Colab cannot open a
Markdown file and a fresh Binder session opens ``.md`` as text unless jupytext is set up.
sphinx-book-theme builds its Binder/Colab links from the source path, so this extension
rewrites ``book/NN_name.md`` into ``notebooks/NN_name.ipynb`` (made by ``make notebooks``) in
the launch-button URLs of every page. Enabled by ``sphinx.extra_extensions`` in ``_config.yml``.
"""

from __future__ import annotations

import re
from typing import Any

_SOURCE = re.compile(r"(?P<pre>^|[/=])book/(?P<name>[0-9][0-9]_[^/?#&]+?)\.md(?=$|[?#&])")


def notebook_url(url: str) -> str:
    """``.../book/00_intro.md`` -> ``.../notebooks/00_intro.ipynb`` (other URLs unchanged)."""
    return _SOURCE.sub(lambda m: f"{m['pre']}notebooks/{m['name']}.ipynb", url)


def _rewrite(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    for group in context.get("header_buttons", []) or []:
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if "url" in button:
                button["url"] = notebook_url(button["url"])


def setup(app: Any) -> dict[str, Any]:
    # sphinx-book-theme adds the launch buttons at priority 501; rewrite after it.
    app.connect("html-page-context", _rewrite, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
