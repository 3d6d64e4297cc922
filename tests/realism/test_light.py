"""Lighting without MediaPipe or GL: SH irradiance fitted to synthetic skin samples."""
from __future__ import annotations

import numpy as np
import pytest

from render3d.colourspace import LUMINANCE
from render3d.mask.library import load_mask, resolve_mask
from render3d.realism.light import (
    AMBIENT_CHROMA,
    BAND_CHROMA,
    HIDDEN_FLOOR,
    MASK_NORMALS,
    MIN_RELATIVE_IRRADIANCE,
    MIN_SAMPLES,
    SkinSamples,
    balanced_ambient,
    canonical_normals,
    facing_share,
    fibonacci_directions,
    fit_lighting,
    hidden_light,
    limit_contrast,
    sh_basis,
    with_gain,
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
    return SkinSamples(normals, radiance, normals * 8.0)      # on a sphere of 8 cm


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


def test_surfaces_turned_sideways_or_down_see_less_of_the_room():
    forward, side, down = facing_share(np.array([1.0, 0.0, 0.8]), np.array([0.0, 0.0, -0.6]))
    assert forward == 1.0 and side == HIDDEN_FLOOR and down < 0.8


UPRIGHT = np.diag([1.0, -1.0, -1.0])     # a frontal, upright face's rotation, canonical axes to image axes


def test_hidden_light_darkens_the_masks_sides_and_underside():
    # A frontal, upright face: the camera frame is the canonical head frame.
    body = load_mask(resolve_mask("surgical")).parts[0]
    share = hidden_light(body, UPRIGHT, canonical_normals())
    assert share.min() >= HIDDEN_FLOOR and share.max() <= 1.0
    x, y = body.vertices[:, 0], body.vertices[:, 1]
    middle = (np.abs(x) < 2) & (np.abs(y - np.median(y)) < 1)
    sides, bottom = np.abs(x) > np.abs(x).max() - 2, y < y.min() + 1.5
    assert share[sides].mean() < share[middle].mean() - 0.1
    assert share[bottom].mean() < share[middle].mean() - 0.1
    # Upside down (the camera's up is the head's down) the part under the chin faces up, into the light.
    flipped = hidden_light(body, UPRIGHT @ np.diag([-1.0, -1.0, 1.0]), canonical_normals() * [-1, -1, 1])
    assert flipped[bottom].mean() > share[bottom].mean() + 0.2


def test_the_fabric_keeps_the_light_and_a_share_of_its_bands_colour():
    """The skin's warm directional bands (red flatter than blue) reach the fabric as light, with only
    BAND_CHROMA of their colour apart from the ambient band's."""
    sh = TRUE_SH.copy()
    sh[1:4] *= np.array([0.6, 1.0, 1.4])            # red band flatter, as under the skin
    fabric = with_gain(sh, 1.0)
    assert np.allclose(fabric[1:4] @ LUMINANCE, sh[1:4] @ LUMINANCE, atol=1e-6)   # the light is kept
    tint = sh[0] / (sh[0] @ LUMINANCE)
    before = sh[1:4] / (sh[1:4] @ LUMINANCE)[:, None] - tint
    after = fabric[1:4] / (fabric[1:4] @ LUMINANCE)[:, None] - tint
    assert np.allclose(after, BAND_CHROMA * before, atol=1e-5)


def test_a_channel_too_dark_to_fit_does_not_colour_the_ambient_light():
    """Skin under orange street light leaves its blue channel near black: a fit that makes the relative
    ambient twice as blue as it is bright is scaled back to AMBIENT_CHROMA; a sound fit is kept."""
    sh = np.zeros((9, 3))
    sh[0], sh[1] = [0.94, 1.34, 2.0], [0.2, 0.3, 0.5]
    balanced = balanced_ambient(sh)
    ratio = balanced[0] / (sh[0] @ LUMINANCE)
    assert ratio.max() <= AMBIENT_CHROMA + 1e-6 and ratio.min() >= 1 / AMBIENT_CHROMA - 1e-6
    assert np.allclose(balanced[1] / balanced[0], sh[1] / sh[0])         # each channel scaled as a whole
    sound = np.zeros((9, 3))
    sound[0], sound[2] = [1.05, 1.0, 0.95], [0.3, 0.3, 0.3]
    assert np.array_equal(balanced_ambient(sound), sound)
