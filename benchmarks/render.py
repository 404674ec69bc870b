"""Renderer benchmark: pages per second of ``simcardionet_lite.ecg.render`` vs matplotlib.

Both draw the same page (same style geometry in millimetres, grid, calibration pulses, lead
labels, header/footer text, 13 traces) at the same output resolution in the same run; the
matplotlib version uses collections for the grid lines (its fast path) and creates one
figure per page, as ECG plotting scripts do (the ratio the bar applies to: >= 20). A second
reference keeps one figure and only replaces the trace data (matplotlib's best case).

    .venv/bin/python benchmarks/render.py [--sizes 96x128 224x224 524x737] [--style mendeley] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from simcardionet_lite.config import LEADS
from simcardionet_lite.ecg import render as R
from simcardionet_lite.ecg import synth as S


def render_matplotlib(signal: np.ndarray, fs: float, style: str, size: tuple[int, int], header: dict | None = None) -> np.ndarray:
    """The same page drawn with matplotlib (Agg) at ``size``: the reference for the ratio."""
    import matplotlib
    # no matplotlib.use("Agg"): a Figure on its own FigureCanvasAgg needs no pyplot backend, and
    # switching it would stop the notebook that runs this (chapter 1) from showing its own figures
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure

    st = R.get_style(style)
    H, W = size
    dpi = 100.0
    fig = Figure(figsize=(W / dpi, H / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, st.page_mm[1])
    ax.set_ylim(st.page_mm[0], 0)
    ax.axis("off")
    fig.patch.set_facecolor(np.asarray(st.paper) / 255)
    px_per_mm = W / st.page_mm[1]
    lw = lambda mm: max(mm * px_per_mm, 0.5) * 72 / dpi  # noqa: E731  (mm to points)
    fy0, fx0, fy1, fx1 = st.frame_mm
    ys = np.arange(fy0, fy1 + 1e-6, 1.0)
    xs = np.arange(fx0, fx1 + 1e-6, 1.0)
    for sel, color, width in (((slice(None)), st.minor, st.minor_mm), ((slice(None, None, 5)), st.major, st.major_mm)):
        segs = [[(fx0, y), (fx1, y)] for y in ys[sel]] + [[(x, fy0), (x, fy1)] for x in xs[sel]]
        ax.add_collection(LineCollection(segs, colors=[np.asarray(color) / 255], linewidths=lw(width)))
    ax.add_patch(matplotlib.patches.Rectangle((fx0, fy0), fx1 - fx0, fy1 - fy0, fill=False, ec=np.asarray(st.frame) / 255, lw=lw(0.35)))
    tc = np.asarray(st.trace) / 255
    per_col = int(round(R.COL_SECONDS * fs))
    for r, row in enumerate(R.LAYOUT):
        for c, lead in enumerate(row):
            seg = signal[LEADS.index(lead), c * per_col : (c + 1) * per_col + 1]
            x = R._col_x_mm(st, c) + np.arange(seg.size) / fs * R.MM_PER_S
            ax.plot(x, st.baselines_mm[r] - seg * R.MM_PER_MV, color=tc, lw=lw(st.trace_mm))
            ax.text(R._col_x_mm(st, c) + 1, st.baselines_mm[r] - 1, lead, fontsize=3.2 * px_per_mm * 72 / dpi, color=tc)
    seg = signal[LEADS.index("II"), : 4 * per_col]
    ax.plot(R._col_x_mm(st, 0) + np.arange(seg.size) / fs * R.MM_PER_S, st.baselines_mm[3] - seg * R.MM_PER_MV, color=tc, lw=lw(st.trace_mm))
    for b in st.baselines_mm:
        p0 = st.x0_mm - 7
        ax.plot([p0 - 1.5, p0, p0, p0 + 2.5, p0 + 2.5, p0 + 4], [b, b, b - 10, b - 10, b, b], color=tc, lw=lw(st.trace_mm))
    if st.header_text:
        ax.text(st.page_mm[1] / 2, 7.5, "ECG REPORT", ha="center", fontsize=4.5 * px_per_mm * 72 / dpi)
        ax.text(2, 11.5, "ID :  Years  Male  cm  kg  /  mmHg  Race:Unknown  Room No.:  Department:", fontsize=2.4 * px_per_mm * 72 / dpi)
    if st.footer_text:
        hr = (header or {}).get("hr", "---")
        ax.text(8, st.page_mm[0] - 2.5, f"0.67~25Hz AC50 25mm/s 10mm/mV 4*2.5s+1r HR {hr}", fontsize=2.2 * px_per_mm * 72 / dpi)
    canvas.draw()
    img = np.asarray(canvas.buffer_rgba())[..., :3].copy()
    ReusedFigure._last_figure = fig
    return img


class ReusedFigure:
    """matplotlib's best case for many pages: one figure, grid and text drawn once, only the
    13 trace lines' data replaced per page (``set_data``), then ``canvas.draw()``."""

    def __init__(self, signal: np.ndarray, fs: float, style: str, size: tuple[int, int]) -> None:
        import matplotlib.lines

        render_matplotlib(signal, fs, style, size)  # builds the page once; we keep its figure
        self.fig = self._last_figure
        self.lines = [a for a in self.fig.axes[0].get_children() if isinstance(a, matplotlib.lines.Line2D)][:13]
        self.fs, self.style = fs, R.get_style(style)

    _last_figure = None

    def draw(self, signal: np.ndarray) -> np.ndarray:
        st = self.style
        per_col = int(round(R.COL_SECONDS * self.fs))
        k = 0
        for r, row in enumerate(R.LAYOUT):
            for c, lead in enumerate(row):
                seg = signal[LEADS.index(lead), c * per_col : (c + 1) * per_col + 1]
                self.lines[k].set_ydata(st.baselines_mm[r] - seg * R.MM_PER_MV)
                k += 1
        self.lines[12].set_ydata(st.baselines_mm[3] - signal[LEADS.index("II"), : 4 * per_col] * R.MM_PER_MV)
        self.fig.canvas.draw()
        return np.asarray(self.fig.canvas.buffer_rgba())[..., :3].copy()


def bench(size: tuple[int, int], style: str, n_ours: int, n_mpl: int, seed: int = 0) -> dict:
    sigs = [S.generate("dataset1", c, S.record_rng(seed, k, 0), fs=500)[0] for k, c in enumerate(("MI", "PMI", "AHB", "NORM"))]
    R.render(sigs[0], 500, style, size)  # warm the grid cache, as training does after its first page
    render_matplotlib(sigs[0], 500, style, size)
    t0 = time.perf_counter()
    for i in range(n_ours):
        R.render(sigs[i % 4], 500, style, size, header={"hr": 70})
    ours = (time.perf_counter() - t0) / n_ours
    t0 = time.perf_counter()
    for i in range(n_mpl):
        render_matplotlib(sigs[i % 4], 500, style, size, header={"hr": 70})
    mpl = (time.perf_counter() - t0) / n_mpl
    reused = ReusedFigure(sigs[0], 500, style, size)
    reused.draw(sigs[1])
    t0 = time.perf_counter()
    for i in range(n_mpl):
        reused.draw(sigs[i % 4])
    mpl_reused = (time.perf_counter() - t0) / n_mpl
    return {"size": list(size), "style": style, "pages_per_s": 1 / ours, "mpl_pages_per_s": 1 / mpl, "ratio": mpl / ours,
            "ms_per_page": 1e3 * ours, "mpl_ms_per_page": 1e3 * mpl,
            "mpl_reused_pages_per_s": 1 / mpl_reused, "ratio_vs_reused_figure": mpl_reused / ours}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", default=["96x128", "224x224", "524x737"])
    ap.add_argument("--style", default="mendeley")
    ap.add_argument("--n", type=int, default=100, help="pages timed for our renderer")
    ap.add_argument("--n-mpl", type=int, default=20, help="pages timed for matplotlib")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    rows = []
    for s in args.sizes:
        h, w = (int(v) for v in s.split("x"))
        r = bench((h, w), args.style, args.n, args.n_mpl)
        rows.append(r)
        print(f"{args.style} {h}x{w}: ours {r['pages_per_s']:.0f} pages/s ({r['ms_per_page']:.2f} ms), "
              f"matplotlib {r['mpl_pages_per_s']:.1f} pages/s ({r['mpl_ms_per_page']:.1f} ms), ratio {r['ratio']:.1f}; "
              f"matplotlib reusing one figure {r['mpl_reused_pages_per_s']:.1f} pages/s, ratio {r['ratio_vs_reused_figure']:.1f}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=2)
    worst = min(r["ratio"] for r in rows)
    print(f"min ratio {worst:.1f} (bar: >= 20)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
