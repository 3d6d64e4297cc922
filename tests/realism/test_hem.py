"""The hem drawn along the mask's outline, on synthetic coverage (no MediaPipe, no GL)."""
from __future__ import annotations

import cv2
import numpy as np
from conftest import even_light

from render3d.realism.hem import HEM_CM, LIFT, TOWARD_LIGHT, hemmed, relief
from render3d.render.outline import BODY_CM, inward_distance
from render3d.render.renderer import DEFAULT_SH

SCALE = 20.0                    # pixels per cm: a band of 6 px


def disc(size: int = 160, radius: int = 60) -> np.ndarray:
    alpha = np.zeros((size, size), np.float32)
    cv2.circle(alpha, (size // 2, size // 2), radius, 1.0, -1)
    return alpha


def test_a_band_along_the_outline_is_lighter_and_steps_down_in_a_groove():
    alpha = disc()
    factor, distance = relief(alpha, SCALE, even_light()), inward_distance(alpha)
    band_width = HEM_CM * SCALE
    assert (factor[(distance > 0) & (distance <= band_width / 2)] > 1 + LIFT / 2).all()
    assert factor[np.abs(distance - 0.5 - band_width) < 0.5].mean() < 0.93
    assert (factor[distance > 3 * band_width] == 1).all()
    assert (factor[alpha == 0] == 1).all()


def test_the_band_widens_with_the_face():
    alpha = disc()
    widths = [int((relief(alpha, scale, even_light())[80, 80:] > 1 + LIFT / 2).sum()) for scale in (10.0, 20.0)]
    assert widths[0] < widths[1] <= 2 * widths[0] + 1
    assert abs(widths[1] - HEM_CM * 20.0) <= 1.5


def test_the_side_toward_the_light_is_lighter():
    # DEFAULT_SH lights from above: the top of the outline catches more than the bottom.
    factor, distance = relief(disc(), SCALE, DEFAULT_SH), inward_distance(disc())
    band = (distance > 0) & (distance <= 4)
    top, bottom = band.copy(), band.copy()
    top[60:], bottom[:100] = False, False
    assert factor[top].mean() > factor[bottom].mean() + TOWARD_LIGHT / 2


def test_loops_and_the_windows_border_get_no_hem():
    alpha = disc()
    cv2.line(alpha, (150, 10), (150, 150), 1.0, 4)           # a loop, 4 px wide, narrower than BODY_CM
    alpha[:, :30] = 1.0                                       # the mask running out of the window
    factor = relief(alpha, SCALE, even_light())
    assert BODY_CM * SCALE > 5
    assert (factor[:, 146:155] == 1).all()
    assert (factor[:, :5] == 1).all()


def test_coverage_is_kept_and_colour_stays_in_range():
    rgba = np.zeros((160, 160, 4), np.float32)
    rgba[..., :3], rgba[..., 3] = 0.99, disc()
    out = hemmed(rgba, SCALE, DEFAULT_SH)
    assert np.array_equal(out[..., 3], rgba[..., 3])
    assert out[..., :3].max() <= 1 and out[..., :3].min() >= 0
    assert np.array_equal(rgba[..., :3], np.full((160, 160, 3), 0.99, np.float32))      # input untouched
