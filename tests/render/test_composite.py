"""Stacking face renders and laying them over the photo, without MediaPipe or GL."""
from __future__ import annotations

import numpy as np

from render3d.geometry import Window
from render3d.render.composite import full_frame_outputs, stack


def square(window: Window, colour, alpha: float) -> tuple[Window, np.ndarray]:
    rgba = np.zeros((window.height, window.width, 4), np.float32)
    rgba[...] = (*colour, alpha)
    return window, rgba


def test_later_renders_lie_over_earlier_ones_on_their_union():
    region, layer = stack([square(Window(0, 0, 4, 4), (1.0, 0.0, 0.0), 1.0),
                           square(Window(2, 2, 4, 4), (0.0, 0.0, 1.0), 0.5)])
    assert region == Window(0, 0, 6, 6) and layer.shape == (6, 6, 4)
    assert np.allclose(layer[3, 3], (0.5, 0.0, 0.5, 1.0))            # half blue over opaque red
    assert np.allclose(layer[5, 5], (0.0, 0.0, 1.0, 0.5))            # half blue over nothing: still blue
    assert np.allclose(layer[0, 5], 0.0)                             # covered by neither


def test_full_frame_outputs_agree_and_leave_the_rest_of_the_photo():
    photo = np.full((10, 12, 3), 100, np.uint8)
    region, layer = stack([square(Window(2, 3, 5, 4), (1.0, 1.0, 1.0), 0.75)])
    composite, rgba, segmentation = full_frame_outputs(photo, region, layer)
    inside = (slice(3, 7), slice(2, 7))
    assert (composite[inside] == round(100 * 0.25 + 255 * 0.75)).all()
    assert (rgba[inside] == (255, 255, 255, round(0.75 * 255))).all() and (segmentation[inside] == 255).all()
    outside = np.ones((10, 12), bool)
    outside[inside] = False
    assert (composite[outside] == 100).all() and not rgba[outside].any() and not segmentation[outside].any()


def test_a_shadow_darkens_the_composite_only():
    photo = np.full((8, 8, 3), 200, np.uint8)
    region, layer = stack([square(Window(0, 0, 8, 8), (0.0, 0.0, 0.0), 0.0)])
    shadow = np.full((8, 8), 0.5, np.float32)
    composite, rgba, segmentation = full_frame_outputs(photo, region, layer, shadow)
    assert (composite == 100).all() and not rgba.any() and not segmentation.any()


def test_nothing_drawn_gives_the_photo_back():
    photo = np.random.default_rng(0).integers(0, 255, (6, 6, 3), dtype=np.uint8)
    composite, rgba, segmentation = full_frame_outputs(photo, None, None)
    assert np.array_equal(composite, photo) and not rgba.any() and not segmentation.any()
