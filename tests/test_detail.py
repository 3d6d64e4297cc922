"""The fabric detail map: shipped as its generator builds it, tileable, and without a tilt of its own."""
from __future__ import annotations

import numpy as np

from render3d.assetgen.detail import fabric_detail
from render3d.render.renderer import detail_map


def test_the_shipped_detail_map_is_the_generators():
    assert np.array_equal(detail_map(), fabric_detail())


def test_the_detail_map_tiles_without_a_seam():
    # The step from the last column (row) to the first is no larger than the steps inside the tile.
    detail = fabric_detail().astype(np.float32)
    for axis in (0, 1):
        inside = np.abs(np.diff(detail, axis=axis)).mean()
        across = np.abs(np.take(detail, 0, axis=axis) - np.take(detail, -1, axis=axis)).mean()
        assert across < 1.5 * inside


def test_the_detail_map_relief_averages_flat():
    detail = fabric_detail().astype(np.float32)
    slope = detail[..., :2] / 127.5 - 1
    assert np.abs(slope.mean((0, 1))).max() < 0.02          # no tilt: the fabric's shading stays its own
    assert 0.1 < slope.std() < 0.5                            # threads that show
    assert abs(detail[..., 2].mean() - 127.5) < 3             # the albedo's mean is kept
