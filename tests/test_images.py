"""The one image reader: modes, 16-bit depth, transparency, EXIF orientation, bad files."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from simcardionet_lite.data.images import file_sha256, load_image
from simcardionet_lite.errors import DataError

PACKAGE = Path(__file__).resolve().parents[1] / "simcardionet_lite"


def test_rgb_jpeg_full_size_no_draft(tmp_path):
    arr = np.full((1500, 2000, 3), 255, np.uint8)
    arr[100:400, 200:900] = (200, 30, 30)
    Image.fromarray(arr).save(tmp_path / "big.jpg", quality=95)
    out, mode = load_image(tmp_path / "big.jpg")
    assert mode == "RGB" and out.shape == (1500, 2000, 3) and out.dtype == np.uint8  # no reduced draft decode
    assert np.abs(out[200, 500].astype(int) - (200, 30, 30)).max() < 12


def test_rgba_transparent_background_is_white(tmp_path):
    rgba = np.zeros((20, 30, 4), np.uint8)  # fully transparent black ...
    rgba[5:10, 5:10] = (0, 0, 0, 255)  # ... except an opaque black square
    rgba[12:15, 20:25] = (255, 0, 0, 128)  # half-transparent red
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out, mode = load_image(tmp_path / "a.png")
    assert mode == "RGBA" and out.shape == (20, 30, 3)
    assert (out[0, 0] == 255).all() and (out[19, 29] == 255).all()  # paper, not black
    assert (out[7, 7] == 0).all()
    assert out[13, 22, 0] == 255 and 120 <= out[13, 22, 1] <= 135  # red over white at alpha 0.5


def test_la_transparent_is_white(tmp_path):
    la = Image.new("LA", (10, 8), (0, 0))
    la.putpixel((2, 2), (0, 255))
    la.save(tmp_path / "la.png")
    out, mode = load_image(tmp_path / "la.png")
    assert mode == "LA" and (out[0, 0] == 255).all() and (out[2, 2] == 0).all()


def test_16bit_grayscale_png_is_scaled_not_saturated(tmp_path):
    grad = np.tile(np.linspace(0, 65535, 256).round().astype(np.uint16), (4, 1))
    Image.fromarray(grad).save(tmp_path / "g16.png")
    with Image.open(tmp_path / "g16.png") as im:
        assert im.mode in ("I;16", "I")  # Pillow's 16-bit modes
    out, mode = load_image(tmp_path / "g16.png")
    expected = np.rint(grad / 257.0).astype(np.uint8)
    assert mode in ("I;16", "I") and out.shape == (4, 256, 3)
    assert np.array_equal(out[..., 0], expected) and np.array_equal(out[..., 0], out[..., 2])
    assert (out == 255).sum() == 3 * 4  # only the last column is white: a saturating convert made ~all of it 255
    assert out[0, 128, 0] == pytest.approx(128, abs=1)


@pytest.mark.parametrize("dtype,ext", [(">u2", ".tif"), ("<u2", ".tif"), ("int32", ".tif")])
def test_other_16bit_layouts(tmp_path, dtype, ext):
    grad = np.tile(np.linspace(0, 65535, 64).round(), (3, 1)).astype(dtype)
    p = tmp_path / f"g{ext}"
    Image.fromarray(grad).save(p)
    out, mode = load_image(p)
    assert mode in ("I;16B", "I;16", "I;16L", "I")  # big-endian, little-endian, 32-bit int with 16-bit values
    assert np.array_equal(out[..., 1], np.rint(grad.astype(np.float64) / 257.0).astype(np.uint8))


def test_palette_with_and_without_transparency(tmp_path):
    rgb = np.full((12, 16, 3), 255, np.uint8)
    rgb[2:6, 2:6] = (0, 0, 255)
    p = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    p.save(tmp_path / "p.png")
    out, mode = load_image(tmp_path / "p.png")
    assert mode == "P" and np.array_equal(out, np.asarray(p.convert("RGB")))
    assert tuple(out[3, 3]) == (0, 0, 255)
    # palette index of the blue square made transparent, on a black background
    q = Image.new("P", (16, 12), 0)
    q.putpalette([0, 0, 0, 0, 0, 255] + [0, 0, 0] * 254)
    q.paste(1, (2, 2, 6, 6))
    q.info["transparency"] = 0
    q.save(tmp_path / "pt.png", transparency=0)
    out, mode = load_image(tmp_path / "pt.png")
    assert mode == "P" and (out[0, 0] == 255).all() and tuple(out[3, 3]) == (0, 0, 255)


def test_cmyk_and_grey_and_bilevel(tmp_path):
    rgb = np.full((16, 16, 3), 255, np.uint8)
    rgb[:8] = (220, 20, 20)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.jpg", quality=95)
    out, mode = load_image(tmp_path / "c.jpg")
    assert mode == "CMYK" and out.shape == (16, 16, 3)
    assert np.abs(out[2, 2].astype(int) - (220, 20, 20)).max() < 20 and (out[14, 14] > 240).all()
    Image.fromarray(rgb).convert("L").save(tmp_path / "l.png")
    out, mode = load_image(tmp_path / "l.png")
    assert mode == "L" and np.array_equal(out[..., 0], out[..., 2])
    Image.fromarray(rgb).convert("1").save(tmp_path / "b.png")
    out, mode = load_image(tmp_path / "b.png")
    assert mode == "1" and set(np.unique(out)) <= {0, 255}


def test_exif_rotated_jpeg_is_read_upright(tmp_path):
    upright = np.full((60, 90, 3), 255, np.uint8)  # landscape page, dark block top-left
    upright[:20, :30] = 0
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)  # what a phone writes: pixels turned ...
    exif = Image.Exif()
    exif[0x0112] = 6  # ... plus "rotate 90 degrees clockwise to display"
    stored.save(tmp_path / "phone.jpg", quality=95, exif=exif)
    with Image.open(tmp_path / "phone.jpg") as im:
        assert im.size == (60, 90)  # stored portrait
    out, mode = load_image(tmp_path / "phone.jpg")
    assert mode == "RGB" and out.shape == (60, 90, 3)
    assert out[:20, :30].mean() < 30 and out[40:, 60:].mean() > 225


def test_truncated_corrupt_missing_raise_data_error_naming_the_file(tmp_path):
    buf = tmp_path / "full.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8)).save(buf, quality=90)
    data = buf.read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(DataError) as e:
        load_image(tmp_path / "cut.jpg")
    assert e.value.path == str(tmp_path / "cut.jpg") and "truncated" in str(e.value) and e.value.fix
    (tmp_path / "text.jpg").write_bytes(b"not an image at all")
    with pytest.raises(DataError, match="cannot decode") as e:
        load_image(tmp_path / "text.jpg")
    assert "text.jpg" in str(e.value) and "What to do" in str(e.value)
    with pytest.raises(DataError, match="not found"):
        load_image(tmp_path / "nowhere.png")


def test_file_sha256_follows_content(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"a" * 100)
    a = file_sha256(p)
    p.write_bytes(b"b" * 100)  # same size, same name, rewritten at once
    assert file_sha256(p) != a and len(a) == 64


def test_one_image_reader_in_the_package():
    """Every pixel of an image file is read by data.images.load_image (and nothing else).

    Passes once predict.py's own reader is removed (the other half of this change)."""
    defs = [
        f"{p.relative_to(PACKAGE)}:{n}"
        for p in sorted(PACKAGE.rglob("*.py"))
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.match(r"\s*def load_image\b", line)
    ]
    assert defs == [f"{Path('data/images.py')}:{_line_of_def()}"], f"more than one image reader: {defs}"


def _line_of_def() -> int:
    text = (PACKAGE / "data" / "images.py").read_text().splitlines()
    return next(n for n, line in enumerate(text, 1) if line.startswith("def load_image"))
