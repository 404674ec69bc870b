"""The bad-input table of CONTRIBUTING.md ("Bad input: what the user sees"), run row by row.

Why a test: the table is what a user reads to learn what happens to their broken file; it must
not drift from the code. Each row's case (below, keyed by the row's ``input`` cell) builds the bad
input, runs the named entry point and reports how it ended: ``DataError`` (raised, naming a path),
``skipped`` (the only entry of the dataset's skip report, naming the bad file), ``loaded`` (with the
modes the dataset converted) or ``exit 2`` (a command's status, with its stderr and log). The row's
**bold** word must be that ending and its last `code` text must be in the message.
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from simcardionet_lite import cli
from simcardionet_lite.config import DATASET1_CLASSES
from simcardionet_lite.data.datasets import PTBXL, ECGImageFolder
from simcardionet_lite.data.images import MENDELEY_FOLDERS
from simcardionet_lite.errors import DataError

from _myst import MYST_HEADER

DOC = Path(__file__).resolve().parents[1] / "CONTRIBUTING.md"
HEADING = "## Bad input: what the user sees"
KINDS = ("DataError", "skipped", "loaded", "exit 2")


def table_rows() -> list[dict[str, str]]:
    """The rows of the table under :data:`HEADING` as ``{input, where, sees, fix}``."""
    text = DOC.read_text()
    assert HEADING in text, f"{DOC.name} has no section {HEADING!r}"
    lines = text.split(HEADING, 1)[1].splitlines()
    table = [ln for ln in lines[next(i for i, ln in enumerate(lines) if ln.startswith("|")):]]
    table = table[: next((i for i, ln in enumerate(table) if not ln.startswith("|")), len(table))]
    header, _sep, *body = ([c.strip() for c in ln.strip().strip("|").split("|")] for ln in table)
    assert header == ["input", "where", "what the user sees", "fix"], header
    return [dict(zip(("input", "where", "sees", "fix"), cells)) for cells in body]


def expected(sees: str) -> tuple[str, str]:
    """(ending, message fragment) of a "what the user sees" cell: its bold word and last code text."""
    kind = re.search(r"\*\*(.+?)\*\*", sees)
    codes = re.findall(r"`([^`]+)`", sees)
    assert kind and kind.group(1) in KINDS and codes, f"cell must hold **{'|'.join(KINDS)}** and `text`: {sees!r}"
    return kind.group(1), codes[-1]


# ------------------------------------------------------------------------------------------
# Running a case
# ------------------------------------------------------------------------------------------


@dataclass
class Ctx:
    tmp: Path
    images: Path  # a clean image tree, one page per class: copy before changing
    ptbxl: Path  # a clean mini PTB-XL tree: copy before changing
    plant: Callable[[Path, str, int], str]
    capsys: pytest.CaptureFixture[str]
    caplog: pytest.LogCaptureFixture


def _page(h: int = 100, w: int = 140, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def image_base(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bad_input") / "images"
    for k, (folder, _) in enumerate(MENDELEY_FOLDERS.items()):
        (root / folder).mkdir(parents=True)
        Image.fromarray(_page(seed=k)).save(root / folder / "page.png")
    return root


def outcome(build: Callable[[], object], bad: str | Path | None = None) -> tuple[str, str]:
    """How building a dataset ended (see the module docstring)."""
    try:
        ds = build()
    except DataError as exc:
        assert exc.path, f"the error names no file: {exc}"
        return "DataError", str(exc)
    if len(ds.skipped):
        [(item, reason)] = ds.skipped.skipped
        assert bad is not None and str(bad) in item, (bad, item)
        return "skipped", reason
    return "loaded", " ".join(getattr(ds, "conversions", {}))


def images(ctx: Ctx, add: Callable[[Path], Path | None] | None = None) -> tuple[str, str, object]:
    """Copy the image tree, let ``add(NORM folder)`` put a bad file there (returned), build the dataset."""
    root = ctx.tmp / "images"
    shutil.copytree(ctx.images, root)
    folder = root / next(k for k, v in MENDELEY_FOLDERS.items() if v == "NORM")
    bad = add(folder) if add else None
    built: list[ECGImageFolder] = []

    def build() -> ECGImageFolder:
        built.append(ECGImageFolder(root, image_size=(32, 48), cache_dir=ctx.tmp / "cache"))
        return built[-1]

    kind, text = outcome(build, bad)
    page = None
    if built and bad is not None and str(bad) in built[0].paths:
        page = built[0].images_uint8()[built[0].paths.index(str(bad))]
    return kind, text, page


def ptbxl(ctx: Ctx, defect: str | None = None, change: Callable[[Path], None] | None = None) -> tuple[str, str]:
    """Copy the PTB-XL tree, plant a defect of conftest's list in row 0 (or ``change`` it), build the dataset."""
    root = ctx.tmp / "ptbxl"
    shutil.copytree(ctx.ptbxl, root)
    named = ctx.plant(root, defect, 0) if defect else None
    if change:
        change(root)
    return outcome(lambda: PTBXL(root, single_label=False, image_size=(32, 48), cache_dir=ctx.tmp / "cache"), named)


def command(ctx: Ctx, argv: list[str]) -> tuple[str, str]:
    """Run ``simcardionet-lite ARGV``: its exit status and what it wrote to stderr and the log."""
    ctx.capsys.readouterr()
    ctx.caplog.clear()
    rc = cli.main([str(a) for a in argv])
    return ("exit 2" if rc == 2 else f"exit {rc}"), ctx.caplog.text + ctx.capsys.readouterr().err


def _blocker(ctx: Ctx) -> Path:
    """A file where a folder is expected: no folder can be made under it (even as root)."""
    p = ctx.tmp / "a_file"
    p.write_text("not a folder")
    return p


def _tiny_chapter(ctx: Ctx) -> Path:
    md = ctx.tmp / "book" / "42_tiny.md"
    md.parent.mkdir()
    md.write_text(MYST_HEADER + '\n```{code-cell} ipython3\n:tags: [parameters]\n\npreset = "smoke"\n'
                  "data_root = None\nresults_dir = None\noverrides = {}\n```\n")
    return md


# ------------------------------------------------------------------------------------------
# The cases, one per row
# ------------------------------------------------------------------------------------------

CASES: dict[str, Callable[[Ctx], tuple[str, str]]] = {}


def case(row_input: str):
    def register(fn: Callable[[Ctx], tuple[str, str]]):
        CASES[row_input] = fn
        return fn
    return register


@case("RGBA or LA image (transparent background)")
def _rgba(ctx):
    def add(folder):
        rgba = np.zeros((100, 140, 4), np.uint8)  # black, fully transparent: paper-white when read
        Image.fromarray(rgba, "RGBA").save(folder / "clear.png")
        return folder / "clear.png"

    kind, text, page = images(ctx, add)
    assert page is not None and page.min() >= 250
    return kind, text


@case("palette image with a transparent colour")
def _palette(ctx):
    def add(folder):
        idx = np.zeros((100, 140), np.uint8)
        idx[:, 70:] = 1
        im = Image.fromarray(idx, "P")
        im.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)  # 0: black (made transparent), 1: red
        im.save(folder / "palette.png", transparency=0)
        return folder / "palette.png"

    kind, text, page = images(ctx, add)
    assert page[:, :20].min() >= 250 and (np.abs(page[:, 30:].astype(int) - [255, 0, 0]) <= 3).all()
    return kind, text


@case("16-bit greyscale PNG or TIFF")
def _sixteen_bit(ctx):
    def add(folder):
        Image.fromarray(np.full((100, 140), 128 * 257, np.uint16)).save(folder / "deep.png")
        return folder / "deep.png"

    kind, text, page = images(ctx, add)
    assert (np.abs(page.astype(int) - 128) <= 1).all()  # mid-grey, not saturated white
    return kind, text


def _saved(name: str, array: np.ndarray, **kw) -> Callable[[Path], Path]:
    def add(folder: Path) -> Path:
        Image.fromarray(array).save(folder / name, **kw)
        return folder / name
    return add


@case("1 x 1 image (any side under 64 px)")
def _tiny(ctx):
    return images(ctx, _saved("dot.png", _page(1, 1)))[:2]


@case("1 x 1 image given to `predict`")
def _tiny_predict(ctx):
    from simcardionet_lite.predict import read_page

    Image.fromarray(_page(1, 1)).save(ctx.tmp / "dot.png")
    return outcome(lambda: read_page(ctx.tmp / "dot.png"))


@case("extreme aspect ratio (beyond 4:1, e.g. 400 x 64 px)")
def _strip(ctx):
    return images(ctx, _saved("strip.png", _page(64, 400)))[:2]


def _bytes(name: str, data: bytes) -> Callable[[Path], Path]:
    def add(folder: Path) -> Path:
        (folder / name).write_bytes(data)
        return folder / name
    return add


@case("truncated JPEG")
def _truncated(ctx):
    buf = io.BytesIO()
    Image.fromarray(_page()).save(buf, "JPEG", quality=90)
    return images(ctx, _bytes("cut.jpg", buf.getvalue()[: len(buf.getvalue()) // 3]))[:2]


@case("non-image file with an image extension (`notes.jpg` holding text)")
def _not_image(ctx):
    return images(ctx, _bytes("notes.jpg", b"some notes, not a picture\n" * 10))[:2]


@case("float image with NaN pixels")
def _float_nan(ctx):
    a = np.full((100, 140), 0.5, np.float32)
    a[5, 5] = np.nan
    return images(ctx, _saved("float.tif", a))[:2]


@case("other file in a class folder (`notes.txt`)")
def _txt(ctx):
    return images(ctx, _bytes("notes.txt", b"notes"))[:2]


@case("empty class folder")
def _empty_class(ctx):
    def add(folder):
        (folder / "page.png").unlink()
    return images(ctx, add)[:2]


@case("class folder missing")
def _missing_class(ctx):
    return images(ctx, lambda folder: shutil.rmtree(folder))[:2]


@case("dataset folder does not exist")
def _no_root(ctx):
    return outcome(lambda: ECGImageFolder(ctx.tmp / "nowhere", cache_dir=ctx.tmp / "cache"))


#: rows whose case is one defect of conftest's list planted in a copy of the PTB-XL tree
PTBXL_DEFECT_ROWS = {
    "PTB-XL record's `.dat` missing": "missing .dat",
    "truncated `.dat`": "truncated .dat",
    "500 Hz header in `records100/`": "500 Hz header",
    "record shorter than the 10 s page": "short record",
    "NaN samples in a record": "NaN signal",
    "flat-line record": "flat signal",
    "malformed `scp_codes` in `ptbxl_database.csv`": "malformed scp_codes",
    "bad `strat_fold`, `ecg_id`, `patient_id` or file name in a row": "bad strat_fold",
}
for _row, _defect in PTBXL_DEFECT_ROWS.items():
    case(_row)(lambda ctx, defect=_defect: ptbxl(ctx, defect))


@case("`ptbxl_database.csv` not UTF-8 or not parsable")
def _csv_encoding(ctx):
    def change(root):
        db = root / "ptbxl_database.csv"
        db.write_bytes(b"\xff\xfe" + db.read_bytes())
    return ptbxl(ctx, change=change)


@case("`scp_statements.csv` with an unknown superclass")
def _scp_class(ctx):
    def change(root):
        scp = pd.read_csv(root / "scp_statements.csv", dtype=str, keep_default_na=False)
        scp.loc[0, "diagnostic_class"] = "NORX"
        scp.to_csv(root / "scp_statements.csv", index=False)
    return ptbxl(ctx, change=change)


@case("every record missing (only `records500/` downloaded)")
def _no_records100(ctx):
    return ptbxl(ctx, change=lambda root: (root / "records100").rename(root / "records500"))


@case("no `ptbxl_database.csv` in the folder")
def _no_database(ctx):
    return ptbxl(ctx, change=lambda root: (root / "ptbxl_database.csv").unlink())


@case("unknown `--set` key (`run 06 --set pretrain.epoch=2`)")
def _unknown_set(ctx):
    return command(ctx, ["run", "06", "--set", "pretrain.epoch=2", "--no-publish"])


@case("setting without `=` (`--set pretrain.epochs`)")
def _no_equals(ctx):
    return command(ctx, ["run", "06", "--set", "pretrain.epochs", "--no-publish"])


@case("unknown `-p` name (`-p data_rot=PATH`)")
def _unknown_p(ctx):
    return command(ctx, ["reproduce", "--chapter", _tiny_chapter(ctx), "-p", f"data_rot={ctx.tmp}",
                         "--results-root", ctx.tmp / "results"])


@case("`-p` value of the wrong type (`-p data_root=123`)")
def _p_type(ctx):
    return command(ctx, ["reproduce", "--chapter", _tiny_chapter(ctx), "-p", "data_root=123",
                         "--results-root", ctx.tmp / "results"])


@case("unwritable `--out` or `--json`")
def _audit_out(ctx):
    return command(ctx, ["audit", ctx.images, "--json", _blocker(ctx) / "report.json"])


@case("unwritable `--cam`")
def _cam(ctx):
    Image.fromarray(_page()).save(ctx.tmp / "page.png")
    # no checkpoint exists: the refusal must come before it is read
    return command(ctx, ["predict", ctx.tmp / "page.png", "--checkpoint", ctx.tmp / "none.pt", "--cam",
                         _blocker(ctx) / "cam.png"])


@case("`--against` with a PTB-XL folder")
def _against(ctx):
    return command(ctx, ["audit", ctx.ptbxl, "--against", ctx.ptbxl])


# ------------------------------------------------------------------------------------------
# The tests
# ------------------------------------------------------------------------------------------

ROWS = table_rows()


def test_every_row_has_a_case_and_every_case_a_row():
    documented = [r["input"] for r in ROWS]
    assert len(documented) == len(set(documented)), "two rows with the same input"
    assert sorted(set(documented) - set(CASES)) == [], "rows without a case in this file"
    assert sorted(set(CASES) - set(documented)) == [], "cases without a row in the table"
    for r in ROWS:
        expected(r["sees"])
        assert r["where"] and r["fix"], r


@pytest.mark.parametrize("row", [r for r in ROWS if r["input"] in CASES], ids=lambda r: r["input"][:48])
def test_row_behaves_as_documented(row, tmp_path, image_base, clean_ptbxl_tree, break_ptbxl, capsys, caplog):
    kind, fragment = expected(row["sees"])
    ctx = Ctx(tmp_path, image_base, clean_ptbxl_tree, break_ptbxl, capsys, caplog)
    got, message = CASES[row["input"]](ctx)
    assert got == kind, f"{row['input']}: documented {kind}, got {got}: {message[-500:]}"
    assert fragment in message, f"{row['input']}: {fragment!r} not in {message[-500:]!r}"
