"""Browser check of the built book: load every page in headless Chromium and fail on what a reader
would see as a defect.

    .venv/bin/python scripts/check_book.py --html _build/html [--screenshots DIR] [--chromium PATH]

Pages: every ``*.html`` of the built book except Sphinx's own ``genindex``/``search``/
``py-modindex`` and the ``_static``/``_sources``/``_images`` folders (so ``index.html`` and the
chapters). Checks, each failure printed as ``page: kind: excerpt``:

``stderr``  a cell's stderr output box (``div.output.stderr``: warnings, logging, progress bars);
``path``    an absolute path of the build machine in the page's text (``/work/...``, ``/tmp/...``,
            ``/home/...``, ``/root/...``, ``/Users/...``, ``.../site-packages/...``, an absolute
            ``.../.venv/...``, or the repository's own folder). A relative path a reader types
            (``../shared/realdata``, ``.venv/bin/python``) and a placeholder such as
            ``/data/ecg/...`` are not machine paths;
``figure``  an image in the chapter text that is neither in a figure with a caption (MyST
            ``{figure}``, ``{glue:figure}``, a code cell's ``mystnb: figure: caption:``) nor has
            descriptive alt text (``mystnb: image: alt:``); myst-nb's default alt, the image's
            own hashed file name, does not count;
``math``    math the reader sees as TeX: a ``.math`` element MathJax did not typeset after the
            page's JavaScript ran, a MathJax error, or ``$$``, ``\\(``, ``\\[``, ``$..$`` TeX left
            in the text outside code;
``link``    a local ``href``/``src`` to a file missing from the built book (or outside it), or a
            ``#fragment`` with no such id in the target page;
``browser`` Chromium failed to load the page.

The math check reads the DOM after JavaScript (one ``chromium --headless=new`` driven over the
DevTools pipe opens every page and waits for MathJax); the other checks read the HTML files. One
PNG screenshot per page (1280 x 2000, the top of the page) is saved into ``--screenshots``
(default ``_build/screenshots``). Exit status 0 when nothing failed,
1 on any failure, 2 when no Chromium is found (``--no-browser`` runs the static checks only).
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bs4 import BeautifulSoup, Tag

ROOT = Path(__file__).resolve().parents[1]
SKIP_NAMES = {"genindex.html", "search.html", "py-modindex.html"}
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
WINDOW = (1280, 2000)
EXCERPT = 70  # characters of context either side of a match


@dataclass(frozen=True)
class Failure:
    page: str  # relative to the html folder, e.g. book/03_hybrid_loss.html
    kind: str  # stderr | path | figure | math | link | browser
    excerpt: str

    def line(self) -> str:
        return f"{self.page}: {self.kind}: {self.excerpt}"


# ------------------------------------------------------------------------------------------
# pages and text
# ------------------------------------------------------------------------------------------


def find_pages(html_dir: Path) -> list[Path]:
    """The built pages to check: every .html outside ``_*`` folders, less genindex/search."""
    html_dir = Path(html_dir)
    pages = []
    for p in sorted(html_dir.rglob("*.html")):
        rel = p.relative_to(html_dir)
        if p.name in SKIP_NAMES or any(part.startswith("_") for part in rel.parts[:-1]):
            continue
        pages.append(p)
    return pages


def parse(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def is_redirect(soup: BeautifulSoup) -> bool:
    """A page that only forwards (``<meta http-equiv="refresh">``), like the book's index.html."""
    meta = soup.find("meta", attrs={"http-equiv": re.compile("^refresh$", re.I)})
    return meta is not None and soup.find("article") is None


def content(soup: BeautifulSoup) -> Tag:
    """The chapter's own content (the theme's ``article``), else the body, else the document."""
    return soup.select_one("article.bd-article") or soup.find("article") or soup.body or soup


def visible_text(node: Tag, drop: tuple[str, ...] = ()) -> str:
    """The text of ``node`` as a reader sees it: no script/style/template, nor the ``drop`` selectors."""
    node = parse(str(node))
    for sel in ("script", "style", "noscript", "template", *drop):
        for el in node.select(sel):
            el.decompose()
    return re.sub(r"\s+", " ", node.get_text(" "))


def excerpt(text: str, start: int, end: int) -> str:
    a, b = max(0, start - EXCERPT), min(len(text), end + EXCERPT)
    return ("..." if a else "") + text[a:b].strip() + ("..." if b < len(text) else "")


def section_of(el: Tag) -> str:
    """The heading above ``el``, to say where on the page a failure is."""
    h = el.find_previous(re.compile("^h[1-4]$"))
    if h is None:
        return "top of page"
    return re.sub(r"\s+", " ", h.get_text(" ")).replace("#", "").strip()


# ------------------------------------------------------------------------------------------
# (a) stderr boxes
# ------------------------------------------------------------------------------------------


def check_stderr(soup: BeautifulSoup, page: str) -> list[Failure]:
    out = []
    for box in soup.select("div.output.stderr, .cell_output .stderr"):
        text = box.get_text("\n").strip()
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "(empty)")
        out.append(Failure(page, "stderr", f"[{section_of(box)}] {first[:2 * EXCERPT]}"))
    return out


# ------------------------------------------------------------------------------------------
# (b) machine paths
# ------------------------------------------------------------------------------------------

# An absolute path (not preceded by a word character, '.', '~' or '/': not a URL's path, not
# ../relative, not ~/home-relative) under a root that only a machine's own files live in.
_ROOTS = r"(?:work|tmp|home|root|Users|private/var|var/folders|var/tmp|opt/conda|opt/hostedtoolcache)"
MACHINE_PATH = re.compile(
    rf"(?<![\w.~/-])/{_ROOTS}/[^\s'\"<>()\[\],;]+"
    r"|(?<![\w.~/-])/[^\s'\"<>()\[\],;]*/(?:site|dist)-packages(?:/[^\s'\"<>()\[\],;]*)?"
    r"|(?<![\w.~/-])/[^\s'\"<>()\[\],;]*/\.venv/[^\s'\"<>()\[\],;]*"
    r"|\b[A-Za-z]:\\(?:Users|Windows)\\\S+"
)


def machine_roots(html_dir: Path | None = None) -> list[str]:
    """Folders of this machine whose appearance in a page is a leak even if MACHINE_PATH misses
    them: the repository (the folder holding ``_build``), the home folder, the temp folder."""
    roots = {str(ROOT), str(Path.home()), tempfile.gettempdir()}
    if html_dir is not None:
        html_dir = Path(html_dir).resolve()
        roots.add(str(html_dir.parent.parent if html_dir.parent.name == "_build" else html_dir))
    return sorted(r for r in roots if r.count("/") >= 2 or r.startswith(("/tmp", "/root")))


def check_paths(soup: BeautifulSoup, page: str, extra_roots: list[str] | tuple[str, ...] = ()) -> list[Failure]:
    text = visible_text(content(soup))
    spans: list[tuple[int, int]] = [m.span() for m in MACHINE_PATH.finditer(text)]
    for root in extra_roots:
        for m in re.finditer(re.escape(root.rstrip("/")) + r"(?=/|\b)", text):
            if not any(a <= m.start() < b for a, b in spans):
                spans.append(m.span())
    out, seen = [], set()
    for a, b in sorted(spans):
        path = text[a:b].rstrip(":.,;!?")
        if path in seen:
            continue
        seen.add(path)
        out.append(Failure(page, "path", f"{path!r} in: {excerpt(text, a, b)}"))
    return out


# ------------------------------------------------------------------------------------------
# (c) figures: a caption or descriptive alt text
# ------------------------------------------------------------------------------------------

_HASHY = re.compile(r"[0-9a-f]{16,}", re.I)
_IMAGE_FILE = re.compile(r"\.(png|jpe?g|gif|svg|webp)$", re.I)


def descriptive_alt(alt: str | None, src: str) -> bool:
    """Alt text that describes the image: not empty, not the file name (myst-nb's default is the
    src, a content hash), not a bare image file name."""
    alt = (alt or "").strip()
    if len(alt) < 3 or alt == src or Path(alt).name == Path(urlsplit(src).path).name:
        return False
    return not (_HASHY.search(alt) or _IMAGE_FILE.search(alt))


def caption_of(img: Tag) -> str:
    """The caption of the figure ``img`` sits in ('' if none): ``<figure><figcaption>`` (docutils
    >= 0.18) or ``<div class="figure"><p class="caption">`` (older)."""
    for anc in img.parents:
        if anc.name == "figure" or "figure" in (anc.get("class") or []):
            cap = anc.find("figcaption") or anc.select_one(".caption")
            return re.sub(r"\s+", " ", cap.get_text(" ")).strip() if cap else ""
        if anc.name == "article":
            break
    return ""


def check_figures(soup: BeautifulSoup, page: str) -> list[Failure]:
    out = []
    for img in content(soup).find_all("img"):
        src = img.get("src", "")
        if caption_of(img) or descriptive_alt(img.get("alt"), src):
            continue
        where = "cell output" if img.find_parent(class_="cell_output") else "text"
        out.append(Failure(page, "figure", f"[{section_of(img)}] {where} image {Path(urlsplit(src).path).name} "
                                           "has no caption and no descriptive alt text"))
    return out


# ------------------------------------------------------------------------------------------
# (d) math
# ------------------------------------------------------------------------------------------

RAW_TEX = re.compile(
    r"\$\$.{0,200}?\$\$"  # display math left as $$...$$
    r"|\\\(.{0,200}?\\\)|\\\[.{0,200}?\\\]"  # \( \) and \[ \] delimiters
    r"|\\begin\{[a-z*]+\}"  # an environment
    r"|(?<![\\$\w])\$(?=\S)[^$\n]{0,200}?[\\^_{}][^$\n]{0,200}?(?<=\S)\$(?![\w$])"  # $..$ holding TeX
)
CODE = ("pre", "code", "kbd", "samp", "tt", ".highlight", "mjx-container", "mjx-assistive-mml", "math")


def math_elements(soup: BeautifulSoup) -> list[Tag]:
    """Sphinx's math nodes: ``span.math`` (inline) and ``div.math`` (display)."""
    return soup.select("span.math, div.math")


def mathjax_src(soup: BeautifulSoup) -> str:
    for s in soup.find_all("script", src=True):
        if "mathjax" in s["src"].lower() or "tex-" in s["src"]:
            return s["src"]
    return ""


def check_math(soup: BeautifulSoup, page: str, dom: BeautifulSoup | None = None) -> list[Failure]:
    """``soup`` is the page's HTML file, ``dom`` the DOM after its JavaScript ran (None: the static
    part only, raw TeX in the text outside Sphinx's math nodes)."""
    out = []
    if dom is None:
        text = visible_text(content(soup), drop=CODE + (".math",))
    else:
        untyped = [m for m in math_elements(dom) if m.find("mjx-container") is None]
        if untyped:
            src = mathjax_src(dom) or "no MathJax script"
            tex = re.sub(r"\s+", " ", untyped[0].get_text(" ")).strip()
            out.append(Failure(page, "math", f"{len(untyped)} of {len(math_elements(dom))} math elements not typeset "
                                             f"(MathJax: {src}); first: {tex[:2 * EXCERPT]}"))
        for err in dom.select("mjx-merror, [data-mjx-error]"):
            msg = err.get("data-mjx-error") or err.get_text(" ")
            out.append(Failure(page, "math", f"MathJax error: {msg.strip()[:2 * EXCERPT]}"))
        if math_elements(soup) and not dom.find("mjx-container") and not untyped:
            out.append(Failure(page, "math", "the page has math but no mjx-container after JavaScript"))
        text = visible_text(content(dom), drop=CODE + (".math",))
    for m in RAW_TEX.finditer(text):
        out.append(Failure(page, "math", f"raw TeX in the text: {excerpt(text, *m.span())}"))
    return out


# ------------------------------------------------------------------------------------------
# (e) local links and anchors
# ------------------------------------------------------------------------------------------

_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto:, data:, javascript:, file: ...


def page_ids(path: Path, cache: dict[Path, set[str]]) -> set[str]:
    if path not in cache:
        soup = parse(path.read_text(encoding="utf-8", errors="replace"))
        cache[path] = {t["id"] for t in soup.find_all(id=True)} | {t["name"] for t in soup.find_all("a", attrs={"name": True})}
    return cache[path]


def check_links(soup: BeautifulSoup, page_path: Path, html_dir: Path, cache: dict[Path, set[str]] | None = None) -> list[Failure]:
    html_dir = Path(html_dir).resolve()
    page_path = Path(page_path).resolve()
    page = page_path.relative_to(html_dir).as_posix()
    cache = {} if cache is None else cache
    cache.setdefault(page_path, {t["id"] for t in soup.find_all(id=True)}
                     | {t["name"] for t in soup.find_all("a", attrs={"name": True})})
    refs = [(el.name, attr, el[attr]) for el in soup.find_all(True) for attr in ("href", "src")
            if el.name in ("a", "link", "img", "script", "iframe", "source", "area") and el.get(attr)]
    meta = soup.find("meta", attrs={"http-equiv": re.compile("^refresh$", re.I)})
    if meta and "url=" in meta.get("content", "").lower():
        refs.append(("meta", "content", meta["content"].split("=", 1)[1].strip().strip("'\"")))
    out, seen = [], set()
    for tag, attr, ref in refs:
        ref = ref.strip()
        if not ref or _EXTERNAL.match(ref) or ref.startswith("//") or (tag, ref) in seen:
            continue
        seen.add((tag, ref))
        parts = urlsplit(ref)
        target = page_path if not parts.path else (page_path.parent / unquote(parts.path)).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not (target == html_dir or html_dir in target.parents):
            out.append(Failure(page, "link", f"<{tag} {attr}={ref!r}> points outside the built book"))
        elif not target.is_file():
            out.append(Failure(page, "link", f"<{tag} {attr}={ref!r}>: {target.relative_to(html_dir)} does not exist"))
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in page_ids(target, cache):
            out.append(Failure(page, "link", f"<{tag} {attr}={ref!r}>: no id {parts.fragment!r} in "
                                             f"{target.relative_to(html_dir).as_posix()}"))
    return out


# ------------------------------------------------------------------------------------------
# Chromium
# ------------------------------------------------------------------------------------------


def find_chromium(explicit: str | None = None) -> str | None:
    """``explicit``, else ``$CHROMIUM``, else the first of CHROMIUM_NAMES on PATH; None if none is found."""
    for cand in ([explicit] if explicit else [os.environ.get("CHROMIUM")] + list(CHROMIUM_NAMES)):
        if not cand:
            continue
        path = shutil.which(cand) or (cand if Path(cand).is_file() and os.access(cand, os.X_OK) else None)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium (the system package, no driver library) driven over the DevTools
    protocol on a pipe (``--remote-debugging-pipe``: fd 3 in, fd 4 out, NUL-separated JSON), so a
    book of N pages costs one browser start, not 2N (a start takes 10-20 s on a busy machine).

    ``load(page)`` opens the page, waits for its load event and for MathJax to finish typesetting
    (``MathJax.startup.promise``, then the fonts), and returns the DOM after JavaScript;
    ``screenshot(png)`` then saves the top ``WINDOW`` of it as a PNG."""

    def __init__(self, chromium: str, timeout_s: float = 120, window: tuple[int, int] = WINDOW):
        self.chromium, self.timeout_s, self.window = chromium, timeout_s, window
        self._profile = tempfile.TemporaryDirectory(prefix="check-book-chromium-")
        self._events: queue.Queue = queue.Queue()
        self._replies: dict[int, dict] = {}
        self._pending: list[dict] = []
        self._next = 0
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def fds():  # the child's fd 3 reads our commands, its fd 4 writes the replies
            a, b = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)  # inheritable, unlike os.pipe()'s own fds
            os.dup2(b, 4)

        cmd = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
               "--mute-audio", "--remote-debugging-pipe", f"--user-data-dir={self._profile.name}",
               f"--window-size={window[0]},{window[1]}", "about:blank"]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      preexec_fn=fds, close_fds=False)
        os.close(to_child_r)
        os.close(from_child_w)
        self._stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._drain_stderr, daemon=True).start()
        try:
            target = self.call("Target.createTarget", {"url": "about:blank"}, timeout=max(self.timeout_s, 120))["targetId"]
            self._session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            self.call("Page.enable", session=True)
            # offline, as the book must work: a request to another host fails at once instead of
            # hanging until its time-out (the check would wait for a CDN's MathJax, say)
            self.call("Network.enable", session=True)
            self.call("Network.setBlockedURLs", {"urls": ["http://*", "https://*", "ws://*", "wss://*"]}, session=True)
            self.call("Emulation.setDeviceMetricsOverride", {"width": window[0], "height": window[1],
                                                              "deviceScaleFactor": 1, "mobile": False}, session=True)
        except BaseException:
            self.close()
            raise

    # -- the pipe --------------------------------------------------------------------------
    def _read(self) -> None:
        buf = b""
        with os.fdopen(self._from_child, "rb", buffering=0) as f:
            while chunk := f.read(1 << 16):
                buf += chunk
                *msgs, buf = buf.split(b"\0")
                for m in msgs:
                    self._events.put(json.loads(m))
        self._events.put(None)  # the browser went away

    def _drain_stderr(self) -> None:
        for line in self._proc.stderr:
            self._stderr = (self._stderr + [line.decode(errors="replace").rstrip()])[-20:]

    def _get(self, deadline: float) -> dict:
        try:
            msg = self._events.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError from None
        if msg is None:
            self._events.put(None)
            raise RuntimeError(f"Chromium exited ({self._proc.poll()}): {' | '.join(self._stderr[-3:])}")
        return msg

    def call(self, method: str, params: dict | None = None, session: bool = False, timeout: float | None = None) -> dict:
        self._next += 1
        msg = {"id": self._next, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self._session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout_s)
        while self._next not in self._replies:
            try:
                m = self._get(deadline)
            except TimeoutError:
                raise RuntimeError(f"{method}: no answer from Chromium in {timeout or self.timeout_s:.0f} s") from None
            (self._replies.__setitem__(m["id"], m) if "id" in m else self._pending.append(m))
        reply = self._replies.pop(self._next)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error'].get('message')}")
        return reply.get("result", {})

    def _wait_event(self, method: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self._pending):
                if m.get("method") == method and m.get("sessionId") == self._session:
                    del self._pending[: i + 1]
                    return True
            self._pending.clear()
            try:
                m = self._get(deadline)
            except TimeoutError:
                return False
            (self._replies.__setitem__(m["id"], m) if "id" in m else self._pending.append(m))

    # -- pages -----------------------------------------------------------------------------
    SETTLE = """(async () => {
      const wait = (p, ms) => Promise.race([p, new Promise(r => setTimeout(r, ms))]);
      const mj = window.MathJax;
      if (mj && mj.startup && mj.startup.promise) await wait(mj.startup.promise, %d);
      if (document.fonts) await wait(document.fonts.ready, 5000);
      return document.documentElement.outerHTML;
    })()"""

    def version(self) -> str:
        product = self.call("Browser.getVersion").get("product", "")
        return f"{Path(self.chromium).name} {product.rsplit('/', 1)[-1]}"

    def load(self, page: Path) -> str:
        """The page's DOM after its JavaScript (and MathJax) ran. A page whose load event does not
        come in ``timeout_s`` (a script from an unreachable host) is read as it stands then."""
        self._pending.clear()
        r = self.call("Page.navigate", {"url": Path(page).resolve().as_uri()}, session=True)
        if r.get("errorText"):
            raise RuntimeError(f"navigation failed: {r['errorText']}")
        self._wait_event("Page.loadEventFired", self.timeout_s)
        res = self.call("Runtime.evaluate", {"expression": self.SETTLE % (self.timeout_s * 500), "awaitPromise": True,
                                             "returnByValue": True}, session=True, timeout=self.timeout_s * 2)
        if "exceptionDetails" in res:
            raise RuntimeError(f"reading the DOM failed: {res['exceptionDetails'].get('text')}")
        return res["result"]["value"]

    def dom(self, page: Path) -> str:
        return self.load(page)

    def screenshot(self, png: Path) -> Path:
        """The top ``window`` of the page ``load`` opened last, as a PNG."""
        png = Path(png)
        png.parent.mkdir(parents=True, exist_ok=True)
        data = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False}, session=True)["data"]
        png.write_bytes(base64.b64decode(data))
        return png

    def close(self) -> None:
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            try:
                self.call("Browser.close", timeout=10)
            except (RuntimeError, OSError):
                pass
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None:
            try:
                os.close(self._to_child)
            except OSError:
                pass
        self._profile.cleanup()

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ------------------------------------------------------------------------------------------
# the whole book
# ------------------------------------------------------------------------------------------


@dataclass
class Report:
    pages: list[str]
    failures: list[Failure]
    screenshots: list[Path]
    seconds: float
    browser: str  # Chromium's version, or '' when the browser checks did not run

    def by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in self.failures:
            counts[f.kind] = counts.get(f.kind, 0) + 1
        return counts


def check_page(page_path: Path, html_dir: Path, browser: Browser | None = None, screenshots: Path | None = None,
               cache: dict[Path, set[str]] | None = None, roots: list[str] | tuple[str, ...] = ()
               ) -> tuple[list[Failure], Path | None]:
    html_dir = Path(html_dir).resolve()
    page_path = Path(page_path).resolve()
    page = page_path.relative_to(html_dir).as_posix()
    soup = parse(page_path.read_text(encoding="utf-8", errors="replace"))
    fails = check_links(soup, page_path, html_dir, cache)
    if is_redirect(soup):
        return fails, None
    fails += check_stderr(soup, page) + check_paths(soup, page, roots) + check_figures(soup, page)
    shot = None
    if browser is None:
        return fails + check_math(soup, page), None
    try:
        dom = parse(browser.load(page_path))
    except RuntimeError as e:
        return fails + [Failure(page, "browser", f"loading the page failed: {e}")], None
    fails += check_math(soup, page, dom)
    if screenshots is not None:
        try:
            shot = browser.screenshot(Path(screenshots) / (page_path.stem + ".png"))
        except RuntimeError as e:
            fails.append(Failure(page, "browser", f"screenshot failed: {e}"))
    return fails, shot


def check_book(html_dir: Path, screenshots: Path | None = None, chromium: str | None = None,
               browser: bool = True, progress=None) -> Report:
    """Check every page of the built book in ``html_dir``; ``browser=False`` skips Chromium (no math
    typesetting check, no screenshots)."""
    t0 = time.monotonic()
    html_dir = Path(html_dir).resolve()
    pages = find_pages(html_dir)
    if not pages:
        raise FileNotFoundError(f"no built pages in {html_dir} (run make book)")
    br = None
    if browser:
        exe = find_chromium(chromium)
        if exe is None:
            raise FileNotFoundError(f"no Chromium found ({chromium or ', '.join(CHROMIUM_NAMES)})")
        br = Browser(exe)  # RuntimeError when it does not start
    cache: dict[Path, set[str]] = {}
    roots = machine_roots(html_dir)
    failures, shots = [], []
    try:
        version = br.version() if br else ""
        for p in pages:
            fails, shot = check_page(p, html_dir, br, screenshots, cache, roots)
            failures += fails
            shots += [shot] if shot else []
            if progress:
                progress(p.relative_to(html_dir).as_posix(), fails)
    finally:
        if br:
            br.close()
    return Report([p.relative_to(html_dir).as_posix() for p in pages], failures, shots, time.monotonic() - t0, version)


def stale_sources(html_dir: Path, book_dir: Path = ROOT / "book") -> list[str]:
    """Chapter sources newer than their built page (the book needs ``make book`` again)."""
    out = []
    for md in sorted(Path(book_dir).glob("*.md")):
        built = Path(html_dir) / "book" / (md.stem + ".html")
        if built.is_file() and md.stat().st_mtime > built.stat().st_mtime:
            out.append(md.name)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--html", type=Path, default=ROOT / "_build" / "html", help="the built book (default _build/html)")
    ap.add_argument("--screenshots", type=Path, default=None, help="where the PNGs go (default <html>/../screenshots)")
    ap.add_argument("--chromium", default=None, help="Chromium executable (default $CHROMIUM, else chromium on PATH)")
    ap.add_argument("--no-browser", action="store_true", help="static checks only: no math typesetting, no screenshots")
    ap.add_argument("-q", "--quiet", action="store_true", help="no per-page progress on stderr")
    a = ap.parse_args(argv)
    shots = a.screenshots or a.html.resolve().parent / "screenshots"
    if not a.no_browser and find_chromium(a.chromium) is None:
        print(f"check_book: no Chromium found ({a.chromium or 'chromium on PATH, or $CHROMIUM'}); install the "
              "system package (apt-get install chromium) or pass --chromium PATH; --no-browser runs the static checks only",
              file=sys.stderr)
        return 2

    def progress(page, fails):
        if not a.quiet:
            print(f"  {page}: {len(fails)} failure(s)", file=sys.stderr)

    try:
        rep = check_book(a.html, None if a.no_browser else shots, a.chromium, browser=not a.no_browser, progress=progress)
    except (FileNotFoundError, RuntimeError) as e:
        print(f"check_book: {e}", file=sys.stderr)
        return 2
    for f in rep.failures:
        print(f.line())
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(rep.by_kind().items())) or "none"
    print(f"check_book: {len(rep.pages)} pages, {len(rep.failures)} failure(s) ({kinds}); "
          + (f"{len(rep.screenshots)} screenshot(s) in {shots}; {rep.browser}; " if rep.browser else "no browser checks; ")
          + f"{rep.seconds:.1f} s")
    stale = stale_sources(a.html)
    if stale:
        print(f"check_book: note: {len(stale)} chapter source(s) are newer than the built book "
              f"({', '.join(stale[:4])}{' ...' if len(stale) > 4 else ''}): run make book to check the current text")
    return 1 if rep.failures else 0


if __name__ == "__main__":
    sys.exit(main())
