"""Small figures derived from the real datasets, committed as PNGs (both datasets are CC BY 4.0).

Why a script: the book builds offline without the real data, so a figure of a real page is
written once from the local copy and committed with its attribution in the caption; this
script says exactly how it was made, and re-makes it.

    .venv/bin/python scripts/figures_real.py --dataset1 ../shared/realdata/dataset1_mendeley

Writes ``book/figures/dataset1_mosaic.png``: the first page of the Normal class folder (sorted
file names) beside its 4 x 4 lead-panel mosaic at the ``cpu`` preset's size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "book" / "figures"


def dataset1_mosaic(root: Path, out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simcardionet_lite.config import load_preset
    from simcardionet_lite.data.images import load_image
    from simcardionet_lite.ecg import render as R

    folder = next(p for p in sorted(root.iterdir()) if p.is_dir() and p.name.startswith("Normal"))
    page_path = sorted(folder.glob("*.jpg"))[0]
    page, _ = load_image(page_path)
    size = tuple(load_preset("cpu").data.image_size)
    mosaic = R.panel_mosaic(page, "mendeley", size)
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6), gridspec_kw={"width_ratios": [1.4, 2]}, dpi=80)
    axes[0].imshow(page)
    axes[0].set_title(f"{page_path.name} ({page.shape[1]} × {page.shape[0]}, downscaled copy)", fontsize=9)
    axes[1].imshow(mosaic)
    th, tw = size[0] // 4, size[1] // 4
    for i, (name, _) in enumerate(R.mosaic_tiles("mendeley", page.shape[:2])):
        axes[1].text((i % 4) * tw + 2, (i // 4) * th + 8, name, color="tab:blue", fontsize=7)
    axes[1].set_title(f"4 × 4 lead-panel mosaic, {size[0]} × {size[1]}", fontsize=9)
    for a in axes:
        a.axis("off")
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "dataset1_mosaic.png"
    fig.savefig(path)
    plt.close(fig)
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset1", required=True, help="the Dataset I folder (Mendeley layout)")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    print(dataset1_mosaic(Path(args.dataset1), Path(args.out)))


if __name__ == "__main__":
    main()
