"""Colour matching without MediaPipe or GL: exposure, white balance and saturation from synthetic photos."""
from __future__ import annotations

import numpy as np
import pytest

from render3d.colourspace import LINEAR_LUT, LUMINANCE, linear_to_srgb
from render3d.realism.colour import SKIN_CHROMA, log_chroma, match, scene_stats


def photo(cast=(1.0, 1.0, 1.0), gain: float = 1.0, gray: bool = False, seed: int = 0) -> np.ndarray:
    """A 128 x 128 sRGB photo of varied, about white-balanced colours, in linear light times `gain` and `cast`."""
    linear = np.random.default_rng(seed).uniform(0.05, 0.6, (128, 128, 3))
    if gray:
        linear = np.repeat(linear @ LUMINANCE[:, None], 3, axis=2)
    return np.round(linear_to_srgb(linear * gain * np.asarray(cast)) * 255).astype(np.uint8)


def skin(cast=(1.0, 1.0, 1.0), gain: float = 1.0) -> np.ndarray:
    """A typical skin's median linear radiance (chroma SKIN_CHROMA, luminance 0.25)."""
    rgb = np.exp([SKIN_CHROMA[0], 0.0, SKIN_CHROMA[1]])
    return rgb / float(rgb @ LUMINANCE) * 0.25 * gain * np.asarray(cast)


def test_a_neutral_photo_keeps_the_mask_neutral():
    result = match(scene_stats(photo()), skin())
    assert np.allclose(result.gains, 1.0, atol=0.03) and result.saturation == pytest.approx(1.0, abs=0.05)
    assert not result.grayscale


def test_exposure_follows_the_photo():
    dark, base = (match(scene_stats(photo(gain=g)), skin(gain=g)).exposure for g in (0.5, 1.0))
    assert dark / base == pytest.approx(0.5, rel=0.1)


def test_a_white_mask_beside_a_bright_face_in_a_dark_photo_stays_brighter_than_the_skin():
    """A bright face before a dark suit or backdrop still has skin's albedo, not paper's: a white fabric
    (linear albedo 0.83) comes out at least 1.9 times as bright as that skin (1.66 with paper-white skin)."""
    dark_scene = scene_stats(photo(gain=0.15))
    bright_skin = skin(gain=2.4)                        # luminance 0.6 in a photo whose median is about 0.05
    exposure = match(dark_scene, bright_skin).exposure
    assert 0.83 * exposure > 1.9 * float(bright_skin @ LUMINANCE)


def test_a_colour_cast_carries_over():
    warm = (1.2, 1.0, 0.75)
    result = match(scene_stats(photo(cast=warm)), skin(cast=warm))
    assert result.gains[0] > 1.05 and result.gains[2] < 0.95
    assert float(result.gains @ LUMINANCE) == pytest.approx(1.0)      # white balance, not exposure


def test_grayscale_photos_give_a_grayscale_mask():
    scene = scene_stats(photo(gray=True))
    assert scene.grayscale
    result = match(scene, skin())
    assert result.grayscale and result.saturation == 0.0
    assert np.allclose(result.matrix @ [0.2, 0.5, 0.9], (result.matrix @ [0.2, 0.5, 0.9])[0])


def test_a_split_toned_monochrome_tints_the_mask_as_it_tints_the_skin():
    """Blue shadows, neutral highlights: the mask takes the tint of the photo at the skin's luminance,
    not the photo's median tint, which its darker pixels set."""
    luminance = np.random.default_rng(3).uniform(0.02, 0.7, (128, 128, 1)) ** 1.5
    shadow = 0.08 * np.log(0.5 / luminance)                   # log gains: neutral at luminance 0.5
    rgb = np.exp(np.concatenate([-shadow, np.zeros_like(shadow), shadow], axis=2))
    toned = np.round(linear_to_srgb(luminance * rgb / (rgb @ LUMINANCE)[..., None]) * 255).astype(np.uint8)
    scene = scene_stats(toned)
    assert scene.chroma[1] > 0.05                         # the median tint is the shadows' blue
    result = match(scene, np.full(3, 0.5))                # a grey skin where the tone is neutral
    assert result.saturation < 0.1
    assert np.allclose(np.log(result.gains[[0, 2]] / result.gains[1]), 0.0, atol=0.02)


def test_no_skin_seen_gives_no_colour_change():
    result = match(scene_stats(photo()), None)
    assert result.exposure == 1.0 and np.array_equal(result.gains, np.ones(3))


def test_log_chroma_of_linear_rgb():
    assert np.allclose(log_chroma(np.array([2.0, 1.0, 0.5])), [np.log(2.0), np.log(0.5)])
    assert LINEAR_LUT[255] == pytest.approx(1.0) and LINEAR_LUT[0] == 0.0
