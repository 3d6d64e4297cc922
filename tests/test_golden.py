"""Visual regression: every mask, frontal (the full pipeline), turned and with the mouth open.

Regenerate after an intended change of the look: pytest tests/test_golden.py --update-golden
"""
from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest
from skimage.metrics import structural_similarity

import render3d
from render3d.face.fitting import open_jaw
from render3d.mask.library import available_masks
from render3d.pipeline import FitOptions
from render3d.qa.sheet import posed_cell, square_window

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]

GOLDEN = Path(__file__).parent / "golden"
MIN_SSIM = 0.97


def frontal(astronaut, landmarks, name):
    x, y, w, h = square_window(landmarks)
    return render3d.fit(astronaut, mask=name, vary=False).composite[y:y + h, x:x + w]


def turned(astronaut, landmarks, name):
    return posed_cell(render3d.default_engine(), astronaut, landmarks, FitOptions(mask=name, vary=False), 45)


def mouth_open(astronaut, landmarks, name):
    return posed_cell(render3d.default_engine(), astronaut, open_jaw(landmarks, 12),
                      FitOptions(mask=name, vary=False), 0)


@pytest.mark.parametrize("case", [frontal, turned, mouth_open], ids=lambda f: f.__name__)
@pytest.mark.parametrize("name", sorted(available_masks()))
def test_render_matches_golden(request, astronaut, astronaut_landmarks, name, case):
    image = case(astronaut, astronaut_landmarks, name)
    path = GOLDEN / f"{name}_{case.__name__}.png"
    if request.config.getoption("--update-golden"):
        GOLDEN.mkdir(exist_ok=True)
        iio.imwrite(path, image)
    golden = iio.imread(path)
    assert golden.shape == image.shape
    score = structural_similarity(golden, image, channel_axis=2, data_range=255)
    assert score >= MIN_SSIM, f"{path.name}: SSIM {score:.3f}"


def test_golden_detects_a_changed_look(astronaut, astronaut_landmarks):
    """The tolerance is tight enough to notice a recoloured mask."""
    name = sorted(available_masks())[0]
    golden = iio.imread(GOLDEN / f"{name}_frontal.png")
    x, y, w, h = square_window(astronaut_landmarks)
    changed = render3d.fit(astronaut, mask=name, vary=False, color="#20c040").composite[y:y + h, x:x + w]
    assert structural_similarity(golden, changed, channel_axis=2, data_range=255) < MIN_SSIM or \
        np.abs(golden.astype(int) - changed).mean() > 5
