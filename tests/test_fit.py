"""End-to-end placement on real photos: coverage, clearance of the eyes, expression, occlusion."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import BROW_POINTS, CHIN_POINTS, EYE_POINTS, MOUTH_POINTS, NOSE_POINTS, chin_point, under

import render3d
from render3d.face.fitting import fit_face, open_jaw
from render3d.mask.library import load_mask, resolve_mask
from render3d.pipeline import draw_parts

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]


def test_mask_covers_nose_mouth_chin_and_leaves_eyes_clear(astronaut, astronaut_landmarks):
    result = render3d.fit(astronaut, mask="surgical")
    seg, lm = result.segmentation, astronaut_landmarks
    assert result.status == "ok" and len(result.faces) == 1
    assert under(seg, lm[NOSE_POINTS + MOUTH_POINTS + CHIN_POINTS]).all()
    assert under(seg, chin_point(lm)[None]).all()
    assert not under(seg, lm[EYE_POINTS + BROW_POINTS]).any()
    assert result.faces[0].iou >= 0.6


def test_result_layers_agree(astronaut):
    result = render3d.fit(astronaut, mask="surgical", seed=3)
    alpha = result.layer[..., 3]
    assert result.layer.shape == (512, 512, 4) and result.segmentation.shape == (512, 512)
    assert set(np.unique(result.segmentation)) == {0, 255}
    assert np.array_equal(result.segmentation == 255, alpha >= 128)
    # Outside the layer the photo is untouched but for the contact shadow, which only darkens it;
    # under an opaque layer the composite is the layer.
    assert (result.composite[alpha == 0] <= astronaut[alpha == 0]).all()
    unshadowed = render3d.fit(astronaut, mask="surgical", seed=3, realism_off=("shadow",))
    assert np.array_equal(unshadowed.composite[alpha == 0], astronaut[alpha == 0])
    opaque = alpha == 255
    assert np.abs(result.composite[opaque].astype(int) - result.layer[opaque, :3]).max() <= 1
    # A smooth edge: partial coverage exists along the border.
    assert ((alpha > 0) & (alpha < 255)).sum() > 0.3 * np.sqrt(opaque.sum()) * 4


def test_same_input_and_seed_give_same_bytes(astronaut):
    first = render3d.fit(astronaut, mask="surgical", seed=7)
    second = render3d.fit(astronaut, mask="surgical", seed=7)
    assert np.array_equal(first.layer, second.layer)
    assert np.array_equal(first.composite, second.composite)
    assert first.metadata == second.metadata


def placed_extent(landmarks: np.ndarray) -> tuple[float, float]:
    mask = load_mask(resolve_mask("surgical"))
    body = draw_parts(mask, fit_face(landmarks))[0].positions
    return float(body[:, 1].min()), float(body[:, 1].max())


def test_open_mouth_gives_a_taller_mask(astronaut_landmarks):
    opened_landmarks = open_jaw(astronaut_landmarks, 20)
    chin_drop = opened_landmarks[152, 1] - astronaut_landmarks[152, 1]
    (top, bottom), (opened_top, opened_bottom) = placed_extent(astronaut_landmarks), placed_extent(opened_landmarks)
    assert chin_drop > 5
    assert opened_bottom - bottom > 0.6 * chin_drop          # the lower edge follows the jaw
    assert abs(opened_top - top) < 0.2 * chin_drop           # the top stays on the nose bridge
    assert opened_bottom - opened_top > 1.05 * (bottom - top)
