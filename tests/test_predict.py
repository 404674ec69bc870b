"""The ``predict`` command: a prediction with probabilities and a CAM, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from simcardionet_lite.checkpoint import FORMAT, load_checkpoint, preprocessing_of, save_checkpoint
from simcardionet_lite.config import DATASET1_CLASSES, load_preset
from simcardionet_lite.predict import main, predict_page, read_page

SIZE = (48, 64)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from simcardionet_lite.ecg import render, synth
    from simcardionet_lite.model.backbone import SimCardioNet

    d = tmp_path_factory.mktemp("predict")
    cfg = load_preset("smoke", **{"data.image_size": SIZE})
    torch.manual_seed(0)
    model = SimCardioNet(cfg.model, len(DATASET1_CLASSES))
    ckpt = save_checkpoint(d / "model.pt", model, cfg, DATASET1_CLASSES)
    # A checkpoint whose weights were saved from another model than its config describes.
    other = load_preset("smoke", **{"model.stage_channels": (8, 16, 32), "model.stem_channels": 8})
    bad = d / "mismatch.pt"
    torch.save({"format": FORMAT, "config": cfg.to_dict(), "classes": list(DATASET1_CLASSES),
                "preprocessing": preprocessing_of(cfg), "model": SimCardioNet(other.model, 4).state_dict(),
                "history": {}, "extra": {}, "epoch": None}, bad)
    sig, _ = synth.generate("dataset1", "MI", np.random.default_rng(0), fs=250)
    page = render.render(sig, 250, "mendeley", size=(150, 200), rng=np.random.default_rng(1))
    img = d / "page.png"
    Image.fromarray(page).save(img)
    garbage = d / "broken.jpg"
    garbage.write_bytes(b"this is not a JPEG")
    notckpt = d / "weights.pt"
    torch.save({"w": torch.zeros(3)}, notckpt)
    # a page with a transparent background whose hidden colour is black: the training loader
    # composites it on white, and predict must see the same pixels
    rgba = np.dstack([page, np.full(page.shape[:2], 255, np.uint8)])
    background = page.min(axis=2) > 200
    rgba[background] = 0
    transparent = d / "transparent.png"
    Image.fromarray(rgba, "RGBA").save(transparent)
    return {"dir": d, "ckpt": ckpt, "bad": bad, "img": img, "garbage": garbage, "notckpt": notckpt,
            "transparent": transparent, "cfg": cfg}


def test_predict_prints_probabilities_and_writes_cam(bundle: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    cam = bundle["dir"] / "cam.png"
    rc = main([str(bundle["img"]), "--checkpoint", str(bundle["ckpt"]), "--cam", str(cam), "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    res = json.loads(out.out)
    assert res["top_class"] in DATASET1_CLASSES
    assert sum(res["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert res["top_probability"] == pytest.approx(max(res["probabilities"].values()))
    overlay = np.asarray(Image.open(cam))
    assert overlay.shape == (150, 200, 3)  # drawn on the whole page, not the model input


def test_predict_text_output(bundle: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    assert main([str(bundle["img"]), "--checkpoint", str(bundle["ckpt"])]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 + len(DATASET1_CLASSES) and "p =" in lines[0]



def test_predict_scores_the_page_with_the_checkpoints_test_time_views_as_evaluate_does(
        bundle: dict[str, Path], capsys: pytest.CaptureFixture) -> None:
    from simcardionet_lite.batch_augment import shift_pages
    from simcardionet_lite.model.backbone import SimCardioNet

    cfg = load_preset("smoke", **{"data.image_size": SIZE, "eval.tta_shifts": [-0.1, 0.1]})
    torch.manual_seed(0)
    path = save_checkpoint(bundle["dir"] / "views.pt", SimCardioNet(cfg.model, len(DATASET1_CLASSES)), cfg,
                           DATASET1_CLASSES)
    assert main([str(bundle["img"]), "--checkpoint", str(path), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["test_time_shifts"] == [-0.1, 0.1]
    ckpt = load_checkpoint(path)
    x = predict_page(read_page(bundle["img"]), ckpt.model, ckpt.preprocessing, ckpt.classes)["input"].unsqueeze(0)
    with torch.no_grad():
        want = sum(ckpt.model(v).softmax(1)[0] for v in (x, shift_pages(x, -0.1), shift_pages(x, 0.1))) / 3
    got = torch.tensor([res["probabilities"][c] for c in DATASET1_CLASSES])
    assert torch.allclose(got, want, atol=1e-5)
    assert main([str(bundle["img"]), "--checkpoint", str(path)]) == 0
    assert "averaged over the page and its 2 shifted views" in capsys.readouterr().out

@pytest.mark.parametrize(
    "case, message",
    [
        ("missing_image", "image not found"),
        ("unreadable_image", "cannot read the image"),
        ("missing_checkpoint", "checkpoint not found"),
        ("not_a_checkpoint", "not a simcardionet-lite checkpoint"),
        ("weights_of_another_config", "checkpoint of another configuration"),
        ("preset_mismatch", "checkpoint of another configuration"),
    ],
)
def test_predict_errors_are_clear(bundle: dict[str, Path], capsys: pytest.CaptureFixture, case: str, message: str) -> None:
    img, ckpt = str(bundle["img"]), str(bundle["ckpt"])
    argv = {
        "missing_image": [str(bundle["dir"] / "nope.png"), "--checkpoint", ckpt],
        "unreadable_image": [str(bundle["garbage"]), "--checkpoint", ckpt],
        "missing_checkpoint": [img, "--checkpoint", str(bundle["dir"] / "nope.pt")],
        "not_a_checkpoint": [img, "--checkpoint", str(bundle["notckpt"])],
        "weights_of_another_config": [img, "--checkpoint", str(bundle["bad"])],
        "preset_mismatch": [img, "--checkpoint", ckpt, "--preset", "paper"],
    }[case]
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2
    assert message in err and "What to do" in err
    if case == "preset_mismatch":
        assert "model.stage_channels" in err and "data.image_size" in err


def test_transparent_png_reaches_the_model_as_in_training(bundle: dict[str, Path]) -> None:
    """predict reads pixels with the training loader's ``load_image`` (alpha on white) and prepares
    them with the checkpoint's preprocessing: the same input tensor as training, not a black page."""
    from simcardionet_lite.data.datasets import load_image, prepare_page

    path, cfg = bundle["transparent"], bundle["cfg"]
    assert Image.open(path).mode == "RGBA" and (np.asarray(Image.open(path))[..., 3] == 0).mean() > 0.5
    ckpt = load_checkpoint(bundle["ckpt"])
    x = predict_page(read_page(path), ckpt.model, ckpt.preprocessing, ckpt.classes)["input"]
    train = torch.from_numpy(prepare_page(load_image(path)[0], cfg.data)).permute(2, 0, 1).float() / 255.0
    assert x.shape == (3, *SIZE)
    assert torch.equal(x, train)
    assert float(x.mean()) > 0.8, float(x.mean())  # near white; dropping alpha gives a black page


def test_bad_outputs_and_non_pages_are_refused_before_the_work(bundle: dict[str, Path], tmp_path: Path,
                                                              capsys: pytest.CaptureFixture) -> None:
    tiny = tmp_path / "tiny.png"
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(tiny)  # a 1 x 1 image used to be "PMI, p = 0.985"
    assert main([str(tiny), "--checkpoint", str(bundle["ckpt"])]) == 2
    assert "cannot be a 12-lead ECG page" in capsys.readouterr().err
    strip = tmp_path / "strip.png"
    Image.fromarray(np.full((64, 640, 3), 255, np.uint8)).save(strip)
    assert main([str(strip), "--checkpoint", str(bundle["ckpt"])]) == 2
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")  # an output under a file: no folder can be made there, even as root
    assert main([str(bundle["img"]), "--checkpoint", str(bundle["ckpt"]), "--cam", str(blocker / "cam.png")]) == 2
    err = capsys.readouterr().err
    assert "--cam" in err and "a_file" in err


def test_a_huge_page_gets_an_overlay_of_screen_size(tmp_path: Path) -> None:
    from simcardionet_lite.predict import MAX_OVERLAY_SIDE, write_overlay

    page = np.full((3000, 4000, 3), 255, np.uint8)
    out = write_overlay(page, np.random.default_rng(0).random((12, 16)).astype(np.float32), tmp_path / "o.png")
    with Image.open(out) as im:
        assert max(im.size) == MAX_OVERLAY_SIDE and im.size == (MAX_OVERLAY_SIDE, 1536)
