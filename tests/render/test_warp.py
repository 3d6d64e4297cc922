"""The 2D fallback's piecewise-affine warp, without MediaPipe or GL."""
from __future__ import annotations

import numpy as np

from render3d.render.fallback import anchors, warp_points


def test_anchors_land_on_their_targets():
    canonical, _ = anchors()
    targets = canonical * 3.0 + [100.0, 50.0, 0.0]
    assert np.allclose(warp_points(canonical, targets), targets)


def test_an_affine_move_of_the_anchors_moves_every_point_the_same_way():
    canonical, triangulation = anchors()
    affine = np.array([[1.2, 0.3, 0.0], [-0.1, 0.9, 0.0], [0.0, 0.0, 1.0]])
    targets = canonical @ affine.T + [40.0, -20.0, 5.0]
    # Points inside the anchor triangulation and points beyond it (extrapolated from the nearest triangle).
    rng = np.random.default_rng(0)
    low, high = canonical.min(0), canonical.max(0)
    points = np.column_stack([rng.uniform(low[0] * 1.2, high[0] * 1.2, 300),
                              rng.uniform(low[1] * 1.2, high[1] * 1.2, 300), np.zeros(300)])
    assert (triangulation.find_simplex(points[:, :2]) < 0).any()
    expected = points @ affine.T + [40.0, -20.0, 5.0]
    assert np.allclose(warp_points(points, targets)[:, :2], expected[:, :2])


def test_points_follow_the_landmarks_near_them():
    canonical, triangulation = anchors()
    targets = canonical.copy()
    targets[1, :2] += [5.0, 0.0]                            # the nose tip moves right
    near, far = canonical[1] + [0.05, 0.05, 0.0], canonical[10]
    warped = warp_points(np.array([near, far]), targets)
    assert warped[0, 0] - near[0] > 2.0
    assert np.allclose(warped[1], far)
