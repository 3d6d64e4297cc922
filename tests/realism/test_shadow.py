"""Shadows of the mask on the skin, without MediaPipe or GL: contact and cast darkening around a coverage."""
from __future__ import annotations

import numpy as np
from conftest import even_light

from render3d.face.fitting import CANONICAL_TO_IMAGE_AXES, FittedFace
from render3d.realism.shadow import AMBIENT_CAST, CAST_STRENGTH, mask_shadow

SCALE = 20.0                  # pixels per cm


def upright_face() -> FittedFace:
    """A frontal face at SCALE pixels per cm (only its scale and up direction matter here)."""
    landmarks = np.zeros((478, 3))
    return FittedFace(landmarks, SCALE, CANONICAL_TO_IMAGE_AXES, np.zeros(3), np.zeros_like(landmarks))


def coverage() -> np.ndarray:
    """A 200 x 200 window with a mask covering rows 40-119, columns 40-159."""
    covered = np.zeros((200, 200), np.float32)
    covered[40:120, 40:160] = 1.0
    return covered


def test_even_light_still_darkens_the_skin_below_the_lower_edge_more_than_above_the_upper():
    """Soft light comes mostly from above: below the mask (the neck), 0.2-0.6 cm down, the skin is
    darkened by a good share of a directional light's cast; above it, only the contact line shows."""
    darkening = mask_shadow(coverage(), upright_face(), even_light())
    below = darkening[120 + 4:120 + 12, 60:140].mean()
    above = darkening[40 - 12:40 - 4, 60:140].mean()
    assert below > 0.3 * AMBIENT_CAST * CAST_STRENGTH
    assert below > 2 * above
    assert darkening[coverage() > 0].max() == 0.0          # the mask itself is not shaded by its shadow


def test_no_shadow_far_from_the_mask():
    darkening = mask_shadow(coverage(), upright_face(), even_light())
    assert darkening[180:, :].max() < 0.01 and darkening[:, 185:].max() < 0.01
