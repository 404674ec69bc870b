"""scripts/check_book.py: each check on tiny hand-written pages, then the whole built book.

The static checks (stderr boxes, machine paths, figure captions, links, raw TeX) need no browser.
The math typesetting check and the screenshots need Chromium: those tests skip with the reason
when none is installed (``apt-get install chromium``; `.ci/run` installs it when it can).
"""

from __future__ import annotations

import importlib.util
import struct
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILT = ROOT / "_build" / "html"


def _load():
    spec = importlib.util.spec_from_file_location("check_book", ROOT / "scripts" / "check_book.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["check_book"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


cb = _load()
CHROMIUM = cb.find_chromium()
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on PATH (chromium, chromium-browser, "
                                    "google-chrome) nor $CHROMIUM: the math typesetting check and screenshots need it "
                                    "(apt-get install chromium)")


def page(body: str, head: str = "") -> str:
    """A page shaped like sphinx-book-theme's: header and sidebar outside, the chapter in article.bd-article."""
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>t</title>{head}</head><body>"
            "<header><a href='#main'>skip</a><img alt='Binder logo' src='data:image/svg+xml,%3Csvg/%3E'></header>"
            f"<main id='main'><article class='bd-article'>{body}</article></main></body></html>")


def write(path: Path, html: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def soup(body: str, head: str = ""):
    return cb.parse(page(body, head))


# ------------------------------------------------------------------------------------------
# pages
# ------------------------------------------------------------------------------------------


def test_find_pages_takes_index_and_chapters_not_sphinx_pages_or_static(tmp_path: Path) -> None:
    for rel in ("index.html", "book/01_a.html", "book/02_b.html", "genindex.html", "search.html",
                "_static/x.html", "_sources/book/01_a.html"):
        write(tmp_path / rel, page("<p>x</p>"))
    assert [p.relative_to(tmp_path).as_posix() for p in cb.find_pages(tmp_path)] == \
        ["book/01_a.html", "book/02_b.html", "index.html"]


def test_a_meta_refresh_page_is_a_redirect_and_its_target_is_link_checked(tmp_path: Path) -> None:
    idx = write(tmp_path / "index.html", '<html><head><meta http-equiv="Refresh" content="0; url=book/00_intro.html" /></head></html>')
    s = cb.parse(idx.read_text())
    assert cb.is_redirect(s)
    fails = cb.check_links(s, idx, tmp_path)
    assert [f.kind for f in fails] == ["link"] and "book/00_intro.html does not exist" in fails[0].excerpt
    write(tmp_path / "book" / "00_intro.html", page("<p>x</p>"))
    assert cb.check_links(s, idx, tmp_path) == []


# ------------------------------------------------------------------------------------------
# (a) stderr
# ------------------------------------------------------------------------------------------


def test_stderr_box_is_reported_with_its_section_and_first_line() -> None:
    s = soup("<h2>Training</h2><div class='cell_output docutils container'>"
             "<div class='output stream highlight-myst-ansi notranslate'><pre>epoch 1</pre></div>"
             "<div class='output stderr highlight-myst-ansi notranslate'><div class='highlight'><pre>\n"
             "TqdmWarning: IProgress not found\n  from .autonotebook import tqdm</pre></div></div></div>")
    fails = cb.check_stderr(s, "book/x.html")
    assert len(fails) == 1
    assert fails[0].kind == "stderr" and fails[0].excerpt == "[Training] TqdmWarning: IProgress not found"
    assert cb.check_stderr(soup("<div class='output stream'><pre>all fine</pre></div>"), "p") == []


# ------------------------------------------------------------------------------------------
# (b) machine paths
# ------------------------------------------------------------------------------------------


def test_absolute_machine_paths_are_found_and_typed_relative_paths_are_not() -> None:
    s = soup(
        "<p>Run <code>.venv/bin/python -m simcardionet_lite run x --data-root ../shared/realdata/dataset1_mendeley</code>"
        " or <code>-p data_root=/data/ecg/dataset1_mendeley</code>; the cache is <code>~/.cache/simcardionet-lite</code>;"
        " see <a href='https://example.org/home/page'>https://example.org/home/page</a>.</p>"
        "<pre>/work/main/.venv/lib/python3.11/site-packages/tqdm/auto.py:21: TqdmWarning</pre>"
        "<pre>Grad-CAM overlay: /tmp/simcardionet-predict-0h5pek9b/cam.png</pre>"
        "<p>C:\\Users\\ann\\repo and /opt/tool/.venv/bin/python and /usr/lib/python3/dist-packages/numpy</p>"
        "<script>var p = '/home/runner/x';</script>")
    fails = cb.check_paths(s, "book/x.html")
    paths = [f.excerpt.split(" in: ")[0] for f in fails]
    assert paths == ["'/work/main/.venv/lib/python3.11/site-packages/tqdm/auto.py:21'",
                     "'/tmp/simcardionet-predict-0h5pek9b/cam.png'", "'C:\\\\Users\\\\ann\\\\repo'",
                     "'/opt/tool/.venv/bin/python'", "'/usr/lib/python3/dist-packages/numpy'"]
    assert {f.kind for f in fails} == {"path"}


def test_the_repository_folder_is_a_machine_path_wherever_it_lives() -> None:
    s = soup("<pre>reading /srv/ci/checkout/simcardionet/data/x.csv</pre><p>/srv/ci/other is fine</p>")
    assert cb.check_paths(s, "p") == []  # /srv is not a root the pattern knows
    fails = cb.check_paths(s, "p", extra_roots=["/srv/ci/checkout/simcardionet"])
    assert len(fails) == 1 and "'/srv/ci/checkout/simcardionet'" in fails[0].excerpt
    assert str(ROOT) in cb.machine_roots(ROOT / "_build" / "html")


# ------------------------------------------------------------------------------------------
# (c) figures
# ------------------------------------------------------------------------------------------

HASH = "df29a58870669a6f2479b1dc9f4af82e063b99e7b97da2938913afac24646984"


def test_images_need_a_caption_or_descriptive_alt_text() -> None:
    s = soup(
        # myst-nb's default: alt = the hashed file name, no figure -> fails
        f"<h2>1. A record</h2><div class='cell_output docutils container'><img alt='../_images/{HASH}.png' src='../_images/{HASH}.png'/></div>"
        # a code cell with mystnb: figure: caption: -> passes (hash alt, but a caption)
        f"<h2>2. Captioned</h2><figure class='align-default' id='fig-a'><div class='cell_output docutils container'>"
        f"<img alt='../_images/{HASH}.png' src='../_images/{HASH}.png'/></div><figcaption><p><span class='caption-number'>"
        "Fig. 1 </span><span class='caption-text'>Deletion curves of Grad-CAM and random maps.</span></p></figcaption></figure>"
        # mystnb: image: alt: without a caption -> passes
        "<h2>3. Alt only</h2><div class='cell_output'><img alt='Two panels: a histogram and a dot plot.' src='../_images/b.png'/></div>"
        # a {figure} whose caption is empty and alt the file name -> fails
        "<h2>4. Empty caption</h2><figure><img alt='dataset1_mosaic.png' src='../_images/dataset1_mosaic.png'/><figcaption> </figcaption></figure>"
        # older docutils: div.figure + p.caption -> passes
        "<div class='figure'><img alt='' src='c.png'/><p class='caption'>A page and its mosaic.</p></div>")
    fails = cb.check_figures(s, "book/x.html")
    assert [f.excerpt for f in fails] == [
        f"[1. A record] cell output image {HASH}.png has no caption and no descriptive alt text",
        "[4. Empty caption] text image dataset1_mosaic.png has no caption and no descriptive alt text"]
    assert not any("logo" in f.excerpt for f in fails)  # the theme's header images are not the chapter's


@pytest.mark.parametrize("alt, ok", [("", False), ("x", False), (f"../_images/{HASH}.png", False), ("fig.png", False),
                                     ("abc123def4567890abcd", False), ("A confusion matrix per protocol", True)])
def test_descriptive_alt(alt: str, ok: bool) -> None:
    assert cb.descriptive_alt(alt, f"../_images/{HASH}.png") is ok


# ------------------------------------------------------------------------------------------
# (d) math, static part
# ------------------------------------------------------------------------------------------


def test_raw_tex_left_in_the_text_is_found_outside_code_and_math_nodes() -> None:
    s = soup("<p>The loss is $\\mathcal{L} = \\lambda L_1$ here and \\(x^2\\) there.</p>"
             "<p>It costs $5 and $6, and <code>$SIMCARDIONET_CACHE</code> or <pre>echo $a_b $c_d</pre> are code.</p>"
             "<p><span class='math notranslate nohighlight'>\\(\\tau\\)</span> is a math node MathJax will typeset.</p>")
    fails = cb.check_math(s, "book/x.html")
    assert [f.kind for f in fails] == ["math", "math"]
    assert "$\\mathcal{L} = \\lambda L_1$" in fails[0].excerpt and "\\(x^2\\)" in fails[1].excerpt
    assert cb.check_math(soup("<p>Plain prose, 5 $ and a _word_ {x}.</p>"), "p") == []


# ------------------------------------------------------------------------------------------
# (e) links and anchors
# ------------------------------------------------------------------------------------------


def test_local_links_files_and_anchors(tmp_path: Path) -> None:
    write(tmp_path / "book" / "02_b.html", page("<h1 id='top'>B</h1><a name='old-anchor'></a>"))
    write(tmp_path / "_static" / "style.css", "")
    write(tmp_path / "book" / "sub" / "index.html", page(""))
    a = write(tmp_path / "book" / "01_a.html", page(
        "<h2 id='here'>x</h2>"
        "<a href='#here'>ok</a> <a href='#'>ok</a> <a href='02_b.html#top'>ok</a> <a href='02_b.html#old-anchor'>ok</a>"
        "<a href='sub/'>ok, a folder's index</a> <a href='02_b.html?x=1'>ok</a>"
        "<a href='https://example.org/missing.html'>external</a> <a href='mailto:a@b'>mail</a>"
        "<a href='#nowhere'>bad anchor</a> <a href='02_b.html#gone'>bad anchor</a> <a href='05_dataset1.md'>bad file</a>"
        "<a href='../../README.md'>outside</a> <img alt='A plot' src='../_images/missing.png'>",
        head="<link rel='stylesheet' href='../_static/style.css'><script src='../_static/missing.js'></script>"))
    fails = cb.check_links(cb.parse(a.read_text()), a, tmp_path)
    assert {f.kind for f in fails} == {"link"} and {f.page for f in fails} == {"book/01_a.html"}
    assert [f.excerpt for f in fails] == [
        "<script src='../_static/missing.js'>: _static/missing.js does not exist",
        "<a href='#nowhere'>: no id 'nowhere' in book/01_a.html",
        "<a href='02_b.html#gone'>: no id 'gone' in book/02_b.html",
        "<a href='05_dataset1.md'>: book/05_dataset1.md does not exist",
        "<a href='../../README.md'> points outside the built book",
        "<img src='../_images/missing.png'>: _images/missing.png does not exist"]


# ------------------------------------------------------------------------------------------
# the command line, static checks only
# ------------------------------------------------------------------------------------------


def test_cli_prints_one_line_per_failure_and_exits_1_then_0_when_clean(tmp_path: Path, capsys) -> None:
    html = tmp_path / "_build" / "html"
    write(html / "index.html", '<html><head><meta http-equiv="Refresh" content="0; url=book/01_a.html" /></head></html>')
    chapter = write(html / "book" / "01_a.html", page("<h1 id='a'>A</h1><div class='output stderr'><pre>Warning: x</pre></div>"))
    assert cb.main(["--html", str(html), "--no-browser", "-q"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "book/01_a.html: stderr: [A] Warning: x"
    assert out[1].startswith("check_book: 2 pages, 1 failure(s) (stderr 1); no browser checks;")
    write(chapter, page("<h1 id='a'>A</h1><p>fine</p>"))
    assert cb.main(["--html", str(html), "--no-browser", "-q"]) == 0
    assert "0 failure(s) (none)" in capsys.readouterr().out
    assert cb.main(["--html", str(html), "--chromium", str(tmp_path / "no-such-chromium"), "-q"]) == 2
    assert "no Chromium found" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# Chromium: math typesetting and screenshots
# ------------------------------------------------------------------------------------------

MATH = ("<h1 id='m'>Math</h1><p>Inline <span class='math notranslate nohighlight'>\\(\\tau = 0.1\\)</span> and</p>"
        "<div class='math notranslate nohighlight'>\\[\\mathcal{L} = \\lambda\\,\\mathcal{L}_\\text{NCE}\\]</div>")


def _mathjax_js() -> Path:
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    js = Path(spec.origin).parent / "static" / "mathjax" / "tex-chtml.js" if spec and spec.origin else None
    if js is None or not js.is_file():
        pytest.skip("sphinx-mathjax-offline (the book's local MathJax) is not installed")
    return js


@needs_chromium
def test_math_is_typeset_by_the_local_mathjax_and_untypeset_math_fails(tmp_path: Path) -> None:
    br = cb.Browser(CHROMIUM)
    try:
        good = write(tmp_path / "good.html", page(MATH, head=f"<script defer src='{_mathjax_js().as_uri()}'></script>"))
        dom = cb.parse(br.dom(good))
        assert len(dom.select("mjx-container")) == 2
        assert cb.check_math(cb.parse(good.read_text()), "good.html", dom) == []
        # no MathJax (or one from an unreachable CDN): the TeX stays as text
        bad = write(tmp_path / "bad.html", page(MATH, head="<script defer src='https://cdn.invalid/tex-chtml.js'></script>"))
        fails = cb.check_math(cb.parse(bad.read_text()), "bad.html", cb.parse(br.dom(bad)))
        assert len(fails) == 1 and fails[0].kind == "math"
        assert fails[0].excerpt.startswith("2 of 2 math elements not typeset (MathJax: https://cdn.invalid/tex-chtml.js)")
    finally:
        br.close()


def _png_size(png: Path) -> tuple[int, int]:
    head = png.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{png} is not a PNG"
    return struct.unpack(">II", head[16:24])


@needs_chromium
def test_check_book_saves_one_screenshot_per_chapter_and_checks_math_after_javascript(tmp_path: Path) -> None:
    html = tmp_path / "html"
    write(html / "index.html", '<html><head><meta http-equiv="Refresh" content="0; url=book/01_a.html" /></head></html>')
    write(html / "book" / "01_a.html", page("<h1 id='a'>A</h1><p>Text.</p><a href='02_b.html#m'>math</a>"))
    write(html / "book" / "02_b.html", page(MATH))  # math but no MathJax script
    rep = cb.check_book(html, tmp_path / "shots", CHROMIUM)
    assert rep.pages == ["book/01_a.html", "book/02_b.html", "index.html"]
    assert sorted(p.name for p in rep.screenshots) == ["01_a.png", "02_b.png"]  # none for the redirect
    assert all(_png_size(p) == cb.WINDOW for p in rep.screenshots)
    assert [(f.page, f.kind) for f in rep.failures] == [("book/02_b.html", "math")]
    assert "no MathJax script" in rep.failures[0].excerpt and rep.browser


# ------------------------------------------------------------------------------------------
# the built book
# ------------------------------------------------------------------------------------------


@needs_chromium
def test_the_built_book_passes_the_browser_check(tmp_path: Path) -> None:
    if not (BUILT / "book").is_dir():
        pytest.skip(f"no built book in {BUILT} (make book)")
    stale = cb.stale_sources(BUILT)
    if stale:  # a build of older text says nothing about these chapters (make check-book still checks it)
        pytest.skip(f"the built book in {BUILT} is older than {', '.join(stale)}: make book, then this test checks it")
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    chapters = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    rep = cb.check_book(BUILT, tmp_path / "shots", CHROMIUM)
    assert {f"{c}.html" for c in chapters} <= set(rep.pages)
    assert sorted(p.stem for p in rep.screenshots) == sorted(Path(c).name for c in chapters)
    assert rep.failures == [], (f"{len(rep.failures)} failure(s) {rep.by_kind()}:\n"
                                + "\n".join(f.line() for f in rep.failures))
