"""Prints and recolouring as rendered: --pattern, --pattern-weight and --color-weight change the fabric's
pixels as specified, bundled prints bend with the mask, and every draw is recorded per face."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

import render3d
from render3d.cli import app
from render3d.colourspace import hex_to_rgb
from render3d.mask.patterns import pattern_library

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]

RED_GINGHAM = pattern_library()["gingham"].colourways[0]          # white ground, red checks


def fabric(astronaut, **options) -> np.ndarray:
    """(N, 3) int RGB of the white surgical mask's opaque pixels, drawn unlit and unvaried."""
    result = render3d.fit(astronaut, mask="surgical_white", vary=False, realism="flat", **options)
    return result.layer[result.layer[..., 3] == 255, :3].astype(int)


def test_pattern_weight_blends_the_print_over_the_fabric(astronaut):
    plain = fabric(astronaut)
    assert np.array_equal(fabric(astronaut, pattern="gingham", pattern_weight=0.0), plain)
    full, half = fabric(astronaut, pattern="gingham"), fabric(astronaut, pattern="gingham", pattern_weight=0.5)
    redness = [float((p[:, 0] - p[:, 1]).mean()) for p in (plain, half, full)]
    assert redness[0] < 5 and redness[0] + 15 < redness[1] < redness[2] - 15
    # At full weight the solid checks show the ink itself (under the fabric's shading, within 15%).
    ink = np.array(hex_to_rgb(RED_GINGHAM[1]))
    strongest = full[np.argsort(full[:, 0] - full[:, 1])[-200:]]
    assert np.abs(strongest.mean(0) / ink - 1).max() < 0.15 * 255 / ink.min()
    assert (np.abs(full - ink).max(1) < 40).mean() > 0.1 and (full.min(1) > 200).mean() > 0.1   # checks and ground


def test_color_weight_blends_the_colour_with_the_fabric(astronaut):
    plain = fabric(astronaut).mean(0)
    red = {w: fabric(astronaut, color="#d02020", color_weight=w).mean(0) for w in (0.0, 0.5, 1.0)}
    assert np.abs(red[0.0] - plain).max() < 0.5
    assert np.abs(red[1.0] - (208, 32, 32) * plain / 255).max() < 25        # recoloured, keeping the shading
    assert red[1.0][1] + 40 < red[0.5][1] < red[0.0][1] - 40                 # green drops half way, in linear light


def stripe_tilt(grey: np.ndarray, inside: np.ndarray) -> float:
    """Degrees by which stripes run off the image's horizontal where `inside`, from the structure tensor."""
    gy, gx = np.gradient(grey)
    jxx, jyy, jxy = (gx * gx)[inside].sum(), (gy * gy)[inside].sum(), (gx * gy)[inside].sum()
    across = 0.5 * np.degrees(np.arctan2(2 * jxy, jxx - jyy))          # the gradient's direction: 90 = vertical
    return float(np.sign(across) * 90 - across)


def test_a_print_bends_with_the_mask(astronaut):
    """Stripes laid straight along the fabric follow the mask's shape in the picture: the two halves of the
    mask, turned toward the sides, show them tilted in opposite directions, not as one straight set."""
    result = render3d.fit(astronaut, mask="cloth", vary=False, realism="flat", pattern="stripes")
    opaque = result.layer[..., 3] == 255
    inside = cv2.erode(opaque.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    grey = result.layer[..., :3].astype(float).mean(-1)
    assert np.std(grey[inside]) > 40                                        # the stripes are there
    cols = np.nonzero(inside.any(0))[0]
    middle = (cols.min() + cols.max()) // 2
    left, right = inside.copy(), inside.copy()
    left[:, middle - 3:] = False
    right[:, :middle + 4] = False
    tilts = stripe_tilt(grey, left), stripe_tilt(grey, right)
    assert tilts[0] * tilts[1] < 0 and min(abs(t) for t in tilts) > 3, tilts


def test_fit_and_batch_record_the_print_and_weights(astronaut, tmp_path):
    photo = tmp_path / "in" / "astronaut.png"
    photo.parent.mkdir()
    Image.fromarray(astronaut).save(photo)
    runner = CliRunner()
    args = ["--mask", "surgical", "--pattern", "tartan", "--pattern-weight", "0.7", "--seed", "4"]
    fitted = runner.invoke(app, ["fit", str(photo), *args, "--out", str(tmp_path / "fit")])
    assert fitted.exit_code == 0, fitted.stderr
    batched = runner.invoke(app, ["batch", str(photo.parent), str(tmp_path / "batch"), *args, "--workers", "1"])
    assert batched.exit_code == 0, batched.stderr
    for record in (tmp_path / "fit" / "astronaut.json", tmp_path / "batch" / "astronaut.json"):
        meta = json.loads(record.read_text())
        face, = meta["faces"]
        assert face["pattern"]["name"] == "tartan" and face["pattern"]["weight"] == 0.7
        assert face["pattern"]["colourway"] in [list(c) for c in pattern_library()["tartan"].colourways]
        assert meta["options"]["pattern"] == "tartan" and face["color_weight"] is None
    recoloured = runner.invoke(app, ["fit", str(photo), "--color", "#203060", "--color-weight", "0.3",
                                     "--out", str(tmp_path / "colour")])
    assert recoloured.exit_code == 0, recoloured.stderr
    face, = json.loads((tmp_path / "colour" / "astronaut.json").read_text())["faces"]
    assert face["color_weight"] == 0.3 and face["pattern"] is None
    refused = runner.invoke(app, ["fit", str(photo), "--pattern-weight", "2", "--out", str(tmp_path / "bad")])
    assert refused.exit_code == 2
    unknown = runner.invoke(app, ["fit", str(photo), "--pattern", "nope", "--out", str(tmp_path / "bad")])
    assert unknown.exit_code == 6 and "unknown pattern" in unknown.stderr
