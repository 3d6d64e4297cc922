"""The renderer draws only what can change the window: an occluder far from it is skipped without
changing a pixel, one in front of the mask still hides it, and a window drawn in a larger reused
target gives the same pixels as on its own. The straps' own coverage comes from the same pass."""
from __future__ import annotations

import numpy as np
import pytest

from render3d.face.fitting import fit_face, occluder_mesh
from render3d.mask.library import load_mask, resolve_mask
from render3d.pipeline import draw_parts, window_of
from render3d.render.renderer import overlaps

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]


@pytest.fixture(scope="module")
def scene(astronaut_landmarks):
    fitted = fit_face(astronaut_landmarks)
    parts = draw_parts(load_mask(resolve_mask("surgical")), fitted)
    return window_of(parts, (512, 512)), occluder_mesh(fitted), parts


def test_a_far_occluder_is_skipped_and_changes_nothing(engine, scene):
    window, occluder, parts = scene
    vertices, triangles = occluder
    far = (vertices + (window.width + 400, 0, 0), triangles)
    assert overlaps(vertices, window) and not overlaps(far[0], window)
    alone = engine.renderer.render(window, [occluder], parts)
    assert alone[..., 3].max() > 0.99
    assert np.array_equal(engine.renderer.render(window, [occluder, far], parts), alone)


def test_an_occluder_in_front_of_the_mask_still_hides_it(engine, scene):
    window, occluder, parts = scene
    x0, y0, w, h = window
    near = min(p.positions[:, 2].min() for p in parts) - 1.0
    quad = np.array([[x0, y0, near], [x0 + w, y0, near], [x0 + w, y0 + h, near], [x0, y0 + h, near]], float)
    alpha = engine.renderer.render(window, [occluder, (quad, np.array([[0, 1, 2], [0, 2, 3]]))], parts)[..., 3]
    assert alpha.max() == 0.0


def test_a_window_gives_the_same_pixels_after_a_larger_one_in_its_target(engine, scene):
    window, occluder, parts = scene
    first = engine.renderer.render(window, [occluder], parts)
    x0, y0, w, h = window
    wider = (max(0, x0 - 40), max(0, y0 - 40), w + 80, h + 80)     # the same rounded-up target size
    engine.renderer.render(wider, [occluder], parts)
    assert np.array_equal(engine.renderer.render(window, [occluder], parts), first)


def test_the_straps_coverage_is_theirs_alone_where_nothing_is_in_front(engine, scene):
    """The same pass gives the loops' coverage apart: as drawn alone behind the head and the fabric (a second
    render), and nothing where only the fabric lies."""
    window, occluder, parts = scene
    rendered = engine.renderer.render_layers(window, [occluder], parts)
    fabric = [(p.positions, p.triangles) for p in parts if not p.strap]
    alone = engine.renderer.render(window, [occluder] + fabric, [p for p in parts if p.strap], False)[..., 3]
    assert alone.sum() > 100 and np.abs(rendered.straps - alone).max() <= 2 / 255
    body_only = (rendered.rgba[..., 3] > 0.99) & (alone == 0)
    assert body_only.sum() > 3000 and rendered.straps[body_only].max() == 0.0
