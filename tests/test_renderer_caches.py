"""The renderer's caches stay bounded: render targets by count and textures by GL memory, least
recently used released first, and a render after an eviction gives the same pixels."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from render3d.face.fitting import fit_face, occluder_mesh
from render3d.mask.library import load_mask, resolve_mask
from render3d.pipeline import draw_parts, window_of
from render3d.render import renderer as rendering

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]      # end to end: the engine, EGL and MediaPipe


def test_render_targets_and_textures_are_bounded(engine, astronaut_landmarks):
    fitted = fit_face(astronaut_landmarks)
    parts = draw_parts(load_mask(resolve_mask("surgical")), fitted)
    occluders = [occluder_mesh(fitted)]
    x0, y0, w, h = window_of(parts, (512, 512))
    r = engine.renderer
    first = r.render((x0, y0, w, h), occluders, parts)
    for grow in (300, 600, 900, 1200):          # four more target sizes
        r.render((x0, y0, w + grow, h + grow), occluders, parts)
        assert len(r._targets) <= rendering.MAX_TARGETS
    big = np.tile(parts[0].albedo, (4, 2, 1))    # 2048 x 2048: 21 MB with mipmaps
    for k in range(8):
        r.render((x0, y0, w, h), occluders, [replace(parts[0], texture_key=f"big{k}", albedo=big)])
        assert sum(map(rendering.texture_bytes, r._textures.values())) <= rendering.MAX_TEXTURE_BYTES
    assert "big0:albedo" not in r._textures and "big7:albedo" in r._textures
    assert np.array_equal(r.render((x0, y0, w, h), occluders, parts), first)
