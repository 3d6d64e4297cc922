"""Lighting without MediaPipe or GL: SH irradiance fitted to synthetic skin samples."""
from __future__ import annotations

import numpy as np
import pytest

from render3d.colourspace import LUMINANCE
from render3d.realism.light import (
    MASK_NORMALS,
    MIN_RELATIVE_IRRADIANCE,
    MIN_SAMPLES,
    SkinSamples,
    fibonacci_directions,
    fit_lighting,
    limit_contrast,
    sh_basis,
)

# Ambient plus a light from the subject's upper left (camera frame: x right, y up, z toward the camera).
TRUE_SH = np.zeros((9, 3))
TRUE_SH[0] = [0.50, 0.40, 0.30]
TRUE_SH[1] = [0.10, 0.08, 0.06]          # y: from above
TRUE_SH[3] = [-0.15, -0.12, -0.09]       # x: from the image's left
TRUE_SH[2] = [0.10, 0.08, 0.06]          # z: from the front


def samples(sh: np.ndarray, count: int = 600, outliers: float = 0.0, seed: int = 0) -> SkinSamples:
    normals = fibonacci_directions(count, 0.3)
    radiance = sh_basis(normals) @ sh
    rng = np.random.default_rng(seed)
    bad = rng.random(count) < outliers
    radiance[bad] *= rng.uniform(2.0, 4.0, (bad.sum(), 1))          # highlights, glasses, hair
    return SkinSamples(normals, radiance)


def across(direction: np.ndarray) -> np.ndarray:
    """The direction's unit (x, y) part: where across the image the light comes from. (Front-facing skin
    alone cannot tell a frontal light from ambient, so z is left out.)"""
    return direction[:2] / np.linalg.norm(direction[:2])


@pytest.mark.parametrize("outliers", [0.0, 0.15])
def test_fit_recovers_the_light_direction(outliers):
    lighting = fit_lighting(samples(TRUE_SH, outliers=outliers))
    assert lighting is not None
    assert np.dot(across(lighting.direction), across(TRUE_SH[[3, 1, 2]] @ LUMINANCE)) > 0.995
    assert lighting.direction[0] < 0 and lighting.direction[1] > 0


def test_fit_is_relative_to_the_skin_median():
    lighting = fit_lighting(samples(TRUE_SH))
    reference = sh_basis(fibonacci_directions(600, 0.3)) @ TRUE_SH
    assert np.allclose(lighting.skin_median, np.median(reference, axis=0), rtol=0.05)
    relative = sh_basis(np.array([[0.0, 0.0, 1.0]])) @ lighting.sh      # irradiance toward the camera
    assert np.allclose(relative, 1.0, atol=0.15)
    brighter = fit_lighting(samples(TRUE_SH * 3))
    assert np.allclose(brighter.sh, lighting.sh, atol=1e-4)           # exposure goes to the colour stage


def test_too_few_or_black_samples_give_no_lighting():
    assert fit_lighting(samples(TRUE_SH, count=MIN_SAMPLES - 1)) is None
    assert fit_lighting(samples(TRUE_SH * 0)) is None


def test_contrast_is_limited_over_the_mask_normals():
    harsh = np.zeros((9, 3))
    harsh[0], harsh[3] = 0.5, 0.6                                     # a strong light from the image's right
    limited = limit_contrast(harsh)
    irradiance = MASK_NORMALS @ limited @ LUMINANCE
    assert irradiance.min() >= MIN_RELATIVE_IRRADIANCE * irradiance.mean() - 1e-9
    assert np.allclose(limit_contrast(TRUE_SH), TRUE_SH)             # gentle light is kept as it is
