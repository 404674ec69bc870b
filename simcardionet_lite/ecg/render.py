"""Signal to printed 12-lead report page (uint8 H x W x 3), vectorised with numpy and OpenCV.

Why not matplotlib: training renders thousands of pages; a figure per page costs tens of
milliseconds, a pre-drawn grid plus one ``cv2.polylines`` call costs about one
(``benchmarks/render.py`` measures the ratio in the same run).

Layout (every style): a 3 x 4 grid of 2.5 s panels (columns I-III, aVR-aVF, V1-V3, V4-V6),
each column showing its own 2.5 s of the record, plus a 10 s lead-II rhythm strip; 25 mm/s,
10 mm/mV; a 1 mV calibration pulse before each row; minor (1 mm) and major (5 mm) grid lines.
Geometry is defined in millimetres on the page and mapped to any output size, so a page drawn
at ``size`` and a real page resized to ``size`` share :func:`panel_boxes`.

Styles (ours):

* ``mendeley``: measured on the real Dataset I pages (EDAN SE-3 report, 2213 x 1572 px): pale
  pink grid in a frame at x 68-2176, y 283-1517 px, header "ECG REPORT" with patient fields,
  footer with filter settings and the printed heart rate, black lead-change markers.
* ``kaggle``: a visibly different printer and scanner: stronger orange-red grid, thicker
  trace, wider margins, no header block, grey paper, slight rotation, blur and scan noise.
* ``ptbxl``: clean, as in a rendered PTB-XL plot: light grid, no header or footer.

The fixed part of a page (grid, frame, pulses, labels) is drawn once per style and size at a
supersampled resolution and reduced with area interpolation (an anti-aliased grid at any size);
each page then copies it and draws its 13 traces and printed fields with OpenCV's anti-aliased
lines at the output resolution.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from simcardionet_lite.config import LEADS

RENDERER_VERSION = "render-v2"  # bump when the pixels change (invalidates caches)

MM_PER_S = 25.0  # paper speed
MM_PER_MV = 10.0  # gain
COL_SECONDS = 2.5
LAYOUT: tuple[tuple[str, ...], ...] = (
    ("I", "aVR", "V1", "V4"),
    ("II", "aVL", "V2", "V5"),
    ("III", "aVF", "V3", "V6"),
)
RHYTHM_LEAD = "II"
Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Style:
    """Page geometry (mm) and look of one printer style."""

    name: str
    page_mm: tuple[float, float]  # (height, width)
    frame_mm: tuple[float, float, float, float]  # grid frame (y0, x0, y1, x1)
    x0_mm: float  # where the traces start (after the calibration pulse)
    baselines_mm: tuple[float, float, float, float]  # rows 1-3 and the rhythm strip
    header_mm: float  # header: y < header_mm
    footer_mm: float  # footer: y > footer_mm
    paper: tuple[int, int, int]
    minor: tuple[int, int, int]
    major: tuple[int, int, int]
    frame: tuple[int, int, int]
    trace: tuple[int, int, int]
    trace_mm: float
    minor_mm: float = 0.12  # line widths
    major_mm: float = 0.25
    markers: bool = False  # lead-change bars (mendeley)
    header_text: bool = False
    footer_text: bool = False
    scan: bool = False  # rotation, blur, noise, uneven illumination
    label_scale: float = 1.0
    extra: dict[str, Any] = field(default_factory=dict)


def _colours(paper: tuple[int, int, int], minor: tuple[int, int, int], major: tuple[int, int, int],
             frame: tuple[int, int, int], trace: tuple[int, int, int]) -> dict[str, tuple[int, int, int]]:
    """A style's five colours (paper, minor and major grid, frame, trace) as Style keywords."""
    return {"paper": paper, "minor": minor, "major": major, "frame": frame, "trace": trace}


# Geometry in mm: page (h, w), grid frame (y0, x0, y1, x1), trace start, row baselines, header
# and footer limits. mendeley was measured on the real Dataset I pages at 737 x 524 px (2.62 px/mm).
STYLES: dict[str, Style] = {
    "mendeley": Style("mendeley", (200.0, 281.3), (35.9, 8.4, 192.7, 276.3), 19.1, (59.2, 97.3, 135.5, 173.7), 34.5, 194.0,
                      **_colours((255, 255, 253), (247, 236, 236), (238, 214, 214), (236, 170, 170), (20, 20, 20)),
                      trace_mm=0.3, markers=True, header_text=True, footer_text=True),
    "kaggle": Style("kaggle", (210.0, 297.0), (20.0, 14.0, 196.0, 283.0), 26.0, (52.0, 95.0, 138.0, 178.0), 18.0, 198.0,
                    **_colours((236, 234, 228), (240, 196, 170), (226, 120, 90), (205, 90, 60), (30, 30, 60)),
                    trace_mm=0.55, minor_mm=0.15, major_mm=0.35, footer_text=True, scan=True, label_scale=1.3),
    "ptbxl": Style("ptbxl", (170.0, 270.0), (5.0, 5.0, 165.0, 265.0), 15.0, (30.0, 70.0, 110.0, 148.0), 5.0, 165.0,
                   **_colours((255, 255, 255), (252, 228, 228), (245, 190, 190), (245, 190, 190), (0, 0, 0)),
                   trace_mm=0.3),
}


def get_style(style: str | Style) -> Style:
    """The :class:`Style` named ``style`` (clear error listing the known ones)."""
    if isinstance(style, Style):
        return style
    if style not in STYLES:
        raise KeyError(f"unknown page style {style!r}; choose one of {sorted(STYLES)}")
    return STYLES[style]


def _scale(st: Style, size: tuple[int, int]) -> tuple[float, float]:
    h, w = size
    return h / st.page_mm[0], w / st.page_mm[1]


def _col_x_mm(st: Style, col: int) -> float:
    return st.x0_mm + col * COL_SECONDS * MM_PER_S


def _panel_boxes_mm(st: Style) -> dict[str, tuple[float, float, float, float]]:
    b = st.baselines_mm
    gap = min(b[1] - b[0], b[3] - b[2])
    up, down = 0.58 * gap, 0.42 * gap  # deflections go up more than down
    out: dict[str, tuple[float, float, float, float]] = {}
    for r, row in enumerate(LAYOUT):
        for c, lead in enumerate(row):
            out[lead] = (b[r] - up, _col_x_mm(st, c), b[r] + down, _col_x_mm(st, c + 1))
    out["II_rhythm"] = (b[3] - up, _col_x_mm(st, 0), b[3] + down, _col_x_mm(st, 4))
    return out


def panel_boxes(style: str | Style, size: tuple[int, int]) -> dict[str, Box]:
    """Pixel boxes ``(y0, x0, y1, x1)`` of each lead panel (plus ``"II_rhythm"``) at ``size``.

    The boxes tile the trace area without overlap, so CAM mass per lead adds up.
    """
    st = get_style(style)
    sy, sx = _scale(st, size)
    out: dict[str, Box] = {}
    for k, (y0, x0, y1, x1) in _panel_boxes_mm(st).items():
        out[k] = (int(round(y0 * sy)), int(round(x0 * sx)), int(round(y1 * sy)), int(round(x1 * sx)))
    return out


#: the panel mosaic: rows of the page's layout, then the rhythm strip cut into as many pieces as columns
MOSAIC_GRID: tuple[int, int] = (len(LAYOUT) + 1, len(LAYOUT[0]))


def mosaic_tiles(style: str | Style, size: tuple[int, int]) -> list[tuple[str, Box]]:
    """The tiles of the panel mosaic in row-major order, each ``(name, (y0, x0, y1, x1))`` at page ``size``.

    Rows 1-3 are the 12 lead panels in the printed layout (I aVR V1 V4 / II aVL V2 V5 / III aVF
    V3 V6); row 4 is the lead-II rhythm strip cut into one piece per column (``II_rhythm_1`` ..
    ``II_rhythm_4``), each the same 2.5 s span as the panel above it.
    """
    boxes = panel_boxes(style, size)
    tiles = [(lead, boxes[lead]) for row in LAYOUT for lead in row]
    y0, x0, y1, x1 = boxes["II_rhythm"]
    cols = MOSAIC_GRID[1]
    edges = np.linspace(x0, x1, cols + 1).round().astype(int)
    tiles += [(f"II_rhythm_{c + 1}", (y0, int(edges[c]), y1, int(edges[c + 1]))) for c in range(cols)]
    return tiles


def lead_boxes(style: str | Style, size: tuple[int, int], panels: bool = False) -> dict[str, Box]:
    """Where each lead is on the model's input of ``size``: :func:`panel_boxes` on a page, or the
    mosaic's cells (``panels``: lead panels in their grid cells, the rhythm strip the bottom row).

    Why one function: Grad-CAM's lead mass must add up a map over the regions the input really
    has; a mosaic puts lead V1 somewhere else than a page does.
    """
    if not panels:
        return panel_boxes(style, size)
    rows, cols = MOSAIC_GRID
    th, tw = size[0] // rows, size[1] // cols
    out: dict[str, Box] = {}
    for r, row in enumerate(LAYOUT):
        for c, lead in enumerate(row):
            out[lead] = (r * th, c * tw, (r + 1) * th, (c + 1) * tw)
    out["II_rhythm"] = ((rows - 1) * th, 0, rows * th, cols * tw)
    return out


def page_size_for_mosaic(style: str | Style, size: tuple[int, int]) -> tuple[int, int]:
    """The page size (H, W) at which the mosaic's tiles are cut at about their final resolution.

    Why: rendered pages (PTB-XL, synthetic) are drawn at whatever size is asked; drawing the page
    at the mosaic's size would leave each panel smaller than its tile and upsample it.
    """
    st = get_style(style)
    unit = (100, 100)  # any size: boxes scale linearly with it
    boxes = [b for _, b in mosaic_tiles(st, (int(st.page_mm[0] * unit[0]), int(st.page_mm[1] * unit[1])))]
    trace_h = (max(b[2] for b in boxes) - min(b[0] for b in boxes)) / unit[0]
    trace_w = (max(b[3] for b in boxes) - min(b[1] for b in boxes)) / unit[1]
    return (int(np.ceil(size[0] * st.page_mm[0] / trace_h)), int(np.ceil(size[1] * st.page_mm[1] / trace_w)))


def panel_mosaic(img: np.ndarray, style: str | Style, size: tuple[int, int]) -> np.ndarray:
    """Rearrange a page into its 4 x 4 mosaic of lead panels, ``size`` = (H, W) of the mosaic.

    Why: a whole-page CNN must learn where each lead is; printed on a known layout, the lead
    panels can be cut out directly (:func:`mosaic_tiles`, from the style's geometry measured in
    millimetres, so any resolution of the page works). Each tile is resized (area interpolation)
    to ``H / 4`` x ``W / 4``. The header, the footer (with its printed heart rate) and the margins
    fall outside every tile: the mosaic carries no printed text but the lead names.

    Pages of another layout need their own :class:`Style` (its frame and row baselines in mm);
    a page whose panels are not where the style says gives tiles of the wrong lead, so the book
    shows a mosaic of each real dataset before any result is read.
    """
    rows, cols = MOSAIC_GRID
    h, w = int(size[0]), int(size[1])
    if h % rows or w % cols:
        raise ValueError(f"mosaic size {size} must be divisible by the {rows} x {cols} panel grid "
                         f"(e.g. data.image_size = [{rows * 48}, {cols * 96}])")
    th, tw = h // rows, w // cols
    src = np.asarray(img)
    out = np.empty((h, w) + src.shape[2:], dtype=src.dtype)
    for i, (_, (y0, x0, y1, x1)) in enumerate(mosaic_tiles(style, src.shape[:2])):
        y0, x0 = max(0, y0), max(0, x0)
        y1, x1 = min(src.shape[0], max(y1, y0 + 1)), min(src.shape[1], max(x1, x0 + 1))
        crop = src[y0:y1, x0:x1]
        interp = cv2.INTER_AREA if crop.shape[0] >= th else cv2.INTER_LINEAR
        r, c = divmod(i, cols)
        out[r * th:(r + 1) * th, c * tw:(c + 1) * tw] = cv2.resize(crop, (tw, th), interpolation=interp).reshape(
            (th, tw) + src.shape[2:])
    return out


def header_footer_boxes(style: str | Style, size: tuple[int, int]) -> dict[str, Box]:
    """Pixel boxes of the printed header and footer (empty boxes for styles without them)."""
    st = get_style(style)
    sy, _ = _scale(st, size)
    h, w = size
    return {
        "header": (0, 0, int(round(st.header_mm * sy)), w),
        "footer": (int(round(st.footer_mm * sy)), 0, h, w),
    }


def crop_header_footer(img: np.ndarray, style: str | Style, mode: str = "mask") -> np.ndarray:
    """Remove the printed header and footer (the printed heart rate is a shortcut).

    ``mode="mask"`` (default) paints them with the paper colour and keeps the page geometry,
    so :func:`panel_boxes` still applies and the image size is unchanged; ``mode="crop"``
    cuts them off (the result is shorter).
    """
    st = get_style(style)
    boxes = header_footer_boxes(st, img.shape[:2])
    hy1 = boxes["header"][2]
    fy0 = boxes["footer"][0]
    if mode == "crop":
        return img[hy1:fy0].copy()
    if mode != "mask":
        raise ValueError(f"mode must be 'mask' or 'crop', got {mode!r}")
    out = img.copy()
    paper = np.asarray(st.paper, dtype=img.dtype) if img.ndim == 3 else np.uint8(np.mean(st.paper))
    out[:hy1] = paper
    out[fy0:] = paper
    return out


def supersample_factor(size: tuple[int, int]) -> int:
    """Drawing resolution multiple: about 1000 px wide, 1 to 4 times the output (ours)."""
    return int(max(1, min(4, int(np.ceil(1000 / max(1, size[1]))))))


def _put_text(img: np.ndarray, text: str, org_mm: tuple[float, float], height_mm: float, s: tuple[float, float],
              color: tuple[int, int, int], font: int = cv2.FONT_HERSHEY_TRIPLEX, center: bool = False) -> None:
    sy, sx = s
    px = height_mm * sy
    if px < 1.5:  # illegible anyway: a grey smudge of the right length keeps the page statistics
        scale = max(px / 22.0, 0.05)
    else:
        scale = px / 22.0
    thick = max(1, int(round(px / 20)))
    (tw, _), _ = cv2.getTextSize(text, font, scale, thick)
    x = org_mm[1] * sx - (tw / 2 if center else 0)
    cv2.putText(img, text, (int(round(x)), int(round(org_mm[0] * sy))), font, scale, color, thick, cv2.LINE_AA)


@functools.lru_cache(maxsize=32)
def _background(style: str, size: tuple[int, int]) -> np.ndarray:
    """Paper, grid, frame, calibration pulses, lead labels and fixed header text at ``size``.

    Identical for every page of a style and size, so it is drawn once (supersampled, then
    area-reduced: anti-aliased grid) and copied for each page; read-only.
    """
    ss = supersample_factor(size)
    img = _draw_background(STYLES[style], (size[0] * ss, size[1] * ss))
    if ss > 1:
        img = cv2.resize(img, (size[1], size[0]), interpolation=cv2.INTER_AREA)
    img.setflags(write=False)
    return img


def _draw_background(st: Style, big: tuple[int, int]) -> np.ndarray:
    H, W = big
    s = _scale(st, big)
    sy, sx = s
    img = np.empty((H, W, 3), np.uint8)
    img[:] = st.paper
    fy0, fx0, fy1, fx1 = st.frame_mm
    ys = np.arange(fy0, fy1 + 1e-6, 1.0)
    xs = np.arange(fx0, fx1 + 1e-6, 1.0)

    def lines(coords: np.ndarray, scale: float, width_mm: float, limit: int) -> np.ndarray:
        wpx = max(1, int(round(width_mm * scale)))
        idx = np.round(coords * scale).astype(int)
        idx = (idx[:, None] + np.arange(wpx)[None, :]).ravel()
        return idx[(idx >= 0) & (idx < limit)]

    y_lo, y_hi = int(round(fy0 * sy)), int(round(fy1 * sy)) + 1
    x_lo, x_hi = int(round(fx0 * sx)), int(round(fx1 * sx)) + 1
    minor_y = lines(ys, sy, st.minor_mm, H)
    minor_x = lines(xs, sx, st.minor_mm, W)
    img[minor_y, x_lo:x_hi] = st.minor
    img[y_lo:y_hi, minor_x] = st.minor
    major_y = lines(ys[::5], sy, st.major_mm, H)
    major_x = lines(xs[::5], sx, st.major_mm, W)
    img[major_y, x_lo:x_hi] = st.major
    img[y_lo:y_hi, major_x] = st.major
    fw = max(1, int(round(0.35 * sx)))
    cv2.rectangle(img, (x_lo, y_lo), (x_hi - 1, y_hi - 1), st.frame, fw)

    # calibration pulses (1 mV, 0.2 s) and lead labels
    th = max(1, int(round(st.trace_mm * sx)))
    pw = 0.2 * MM_PER_S * (0.5 if st.name == "mendeley" else 1.0)
    px0 = st.x0_mm - pw - 4.0
    for b in st.baselines_mm:
        pts = np.array(
            [(px0 - 1.5, b), (px0, b), (px0, b - MM_PER_MV), (px0 + pw, b - MM_PER_MV), (px0 + pw, b), (px0 + pw + 1.5, b)]
        )
        cv2.polylines(img, [np.round(pts * (sx, sy)).astype(np.int32)], False, st.trace, th, cv2.LINE_AA)
    lab_h = 3.2 * st.label_scale
    for r, row in enumerate(LAYOUT):
        for c, lead in enumerate(row):
            _put_text(img, lead, (st.baselines_mm[r] - 1.0, _col_x_mm(st, c) + 1.0), lab_h, s, st.trace)
    _put_text(img, RHYTHM_LEAD, (st.baselines_mm[3] - 1.0, _col_x_mm(st, 0) + 1.0), lab_h, s, st.trace)
    if st.markers:
        # the EDAN report's black lead-change bars between the columns of rows 1-3
        b = st.baselines_mm
        for c in (1, 2, 3):
            x = int(round(_col_x_mm(st, c) * sx))
            cv2.line(img, (x, int(round((b[0] - 10) * sy))), (x, int(round((b[2] + 12) * sy))), st.trace, th)
    if st.header_text:
        txt = (40, 40, 40)
        _put_text(img, "ECG REPORT", (7.5, st.page_mm[1] / 2), 4.5, s, txt, center=True)
        _put_text(img, "Years     Male        cm        kg        /       mmHg    Race:Unknown"
                  "    Room No.:    Department:", (11.5, 36.0), 2.4, s, txt)
        _put_text(img, "Exam.Room:     Medication:", (16.0, 2.0), 2.4, s, txt)
        cv2.rectangle(img, (int(2 * sx), int(17.2 * sy)), (int((st.page_mm[1] - 2) * sx), int(18.4 * sy)), txt, -1)
        _put_text(img, "Diagnosis Information:", (22.0, 2.0), 2.4, s, txt)
        for k, line in enumerate(("Technician :", "Ref-Phys. :", "Report Confirmed by:")):
            _put_text(img, line, (25.5 + 4.3 * k, 198.0), 2.4, s, txt)
    return img


def _traces(signal: np.ndarray, fs: float, st: Style, s: tuple[float, float], max_pts_per_mm: float) -> list[np.ndarray]:
    """Polylines (pixel coordinates at the drawing resolution) of the 13 panels."""
    sy, sx = s
    n = signal.shape[1]
    per_col = int(round(COL_SECONDS * fs))
    # decimate to at most ~max_pts_per_mm points per mm of paper (keeps peaks via min/max pairs)
    step = max(1, int(fs / (MM_PER_S * max_pts_per_mm)))
    out: list[np.ndarray] = []

    def poly(lead_idx: int, start: int, stop: int, x_mm: float, base_mm: float) -> np.ndarray:
        seg = signal[lead_idx, start:stop]
        tt = np.arange(seg.size) / fs
        if step > 1 and seg.size > 2 * step:
            m = seg.size // step
            blk = seg[: m * step].reshape(m, step)
            amin, amax = blk.argmin(1), blk.argmax(1)
            first = np.minimum(amin, amax)
            second = np.maximum(amin, amax)
            idx = np.stack([first, second], 1) + (np.arange(m) * step)[:, None]
            idx = idx.ravel()
            seg, tt = seg[idx], tt[idx]
        x = (x_mm + tt * MM_PER_S) * sx
        y = (base_mm - seg * MM_PER_MV) * sy
        return np.round(np.stack([x, y], 1) * 8).astype(np.int32)  # 3 fractional bits

    for r, row in enumerate(LAYOUT):
        for c, lead in enumerate(row):
            a = c * per_col
            b = min(n, (c + 1) * per_col + 1)
            if a < n:
                out.append(poly(LEADS.index(lead), a, b, _col_x_mm(st, c), st.baselines_mm[r]))
    out.append(poly(LEADS.index(RHYTHM_LEAD), 0, min(n, 4 * per_col), _col_x_mm(st, 0), st.baselines_mm[3]))
    return out


def render(
    signal: np.ndarray,
    fs: float,
    style: str = "mendeley",
    size: tuple[int, int] = (524, 737),
    rng: np.random.Generator | None = None,
    header: dict[str, Any] | None = None,
) -> np.ndarray:
    """Draw a 12 x T signal (mV, lead order :data:`LEADS`) as a printed report page.

    ``size`` is the output ``(H, W)``; drawing happens at that size (the grid is pre-drawn
    supersampled and cached). ``rng`` drives the scan effects of the ``kaggle`` style (None:
    a fixed default, so a page is reproducible). ``header`` fills the printed fields of the
    ``mendeley`` header/footer (``hr``, ``id``, ``date``); the heart rate is printed as the
    EDAN machine does, which is exactly the shortcut the header crop removes.
    """
    st = get_style(style)
    sig = np.asarray(signal, dtype=np.float64)
    if sig.ndim != 2 or sig.shape[0] != 12:
        raise ValueError(f"signal must be 12 x T (leads {LEADS}), got shape {sig.shape}")
    if not np.isfinite(sig).all():
        raise ValueError("signal contains NaN or inf; clean or skip the record before rendering")
    H, W = int(size[0]), int(size[1])
    if H < 8 or W < 8:
        raise ValueError(f"size {size} is too small for a 12-lead page")
    img = _background(st.name, (H, W)).copy()
    s = _scale(st, (H, W))
    # Traces are drawn at the output resolution with OpenCV's anti-aliasing and 1/8-pixel
    # coordinates; a line thinner than a pixel is drawn 1 px wide in a proportionally lighter
    # ink (its area coverage), which is what supersampling would give, at a fraction of the cost.
    width_px = st.trace_mm * s[1]
    th = max(1, int(round(width_px)))
    cover = min(1.0, max(0.45, 1.6 * width_px))
    color = tuple(int(round(p + cover * (t - p))) for p, t in zip(st.paper, st.trace))
    polys = _traces(sig, fs, st, s, max_pts_per_mm=max(2.0, 2 * s[1]))
    cv2.polylines(img, polys, False, color, th, cv2.LINE_AA, shift=3)
    header = header or {}
    if st.footer_text or st.header_text:
        hr = header.get("hr")
        hr_txt = "---" if hr is None else f"{int(round(float(hr)))}"
        txt = (40, 40, 40)
        if st.header_text:
            _put_text(img, f"ID : {header.get('id', '168590')}", (11.5, 2.0), 2.4, s, txt)
        if st.name == "mendeley":
            _put_text(img, f"0.67~25Hz  AC50  25mm/s  10mm/mV  4*2.5s+1r  HR {hr_txt}  SE-3  V1.0  SEMIP V1.7",
                      (197.5, 8.0), 2.2, s, txt)
            _put_text(img, str(header.get("date", "2020-08-05   11:02:38 AM")), (197.5, 226.0), 2.2, s, txt)
        else:
            _put_text(img, f"25 mm/s  10 mm/mV  HR {hr_txt} bpm", (st.page_mm[0] - 6.0, st.frame_mm[1]), 3.0, s, txt)
    if st.scan:
        img = _scan(img, rng if rng is not None else np.random.default_rng(0), st)
    return img


def _scan(img: np.ndarray, rng: np.random.Generator, st: Style) -> np.ndarray:
    """Print-and-scan artefacts: small rotation and shift, uneven light, blur, sensor noise."""
    H, W = img.shape[:2]
    ang = float(rng.uniform(-1.5, 1.5))
    M = cv2.getRotationMatrix2D((W / 2, H / 2), ang, 1.0)
    M[:, 2] += rng.uniform(-0.01, 0.01, 2) * (W, H)
    img = cv2.warpAffine(img, M, (W, H), flags=cv2.INTER_LINEAR, borderValue=tuple(int(v) for v in st.paper))
    yy = np.linspace(-1, 1, H)[:, None]
    xx = np.linspace(-1, 1, W)[None, :]
    gx, gy = rng.uniform(-0.06, 0.06, 2)
    light = 1.0 + gx * xx + gy * yy - 0.05 * (xx**2 + yy**2)
    img = cv2.GaussianBlur(img, (0, 0), max(0.4, W / 1400))
    noisy = img.astype(np.float32) * light[..., None] + rng.normal(0, 4.0, (H, W, 1)).astype(np.float32)
    return np.clip(noisy, 0, 255).astype(np.uint8)


__all__ = [
    "LAYOUT",
    "MOSAIC_GRID",
    "RENDERER_VERSION",
    "STYLES",
    "Style",
    "crop_header_footer",
    "get_style",
    "header_footer_boxes",
    "lead_boxes",
    "mosaic_tiles",
    "panel_boxes",
    "panel_mosaic",
    "render",
    "supersample_factor",
]
