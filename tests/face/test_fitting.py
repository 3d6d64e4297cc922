"""Fitting without MediaPipe: a known similarity, the fitted face's frames and pose, head turns, jaw drops."""
from __future__ import annotations

import numpy as np
import pytest

from render3d.face.fitting import (
    CANONICAL_TO_IMAGE_AXES,
    FittedFace,
    fit_face,
    occluder_mesh,
    open_jaw,
    similarity,
    turn_head,
)
from render3d.face.topology import canonical_face


def rotation(axis: int, degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    i, j = [k for k in range(3) if k != axis]
    r = np.eye(3)
    r[i, i], r[i, j], r[j, i], r[j, j] = c, -s, s, c
    return r


@pytest.fixture(scope="module")
def frontal() -> np.ndarray:
    """The canonical face seen frontally at 20 px/cm, its origin at (256, 240), in image axes."""
    placed = FittedFace(np.zeros((478, 3)), 20.0, CANONICAL_TO_IMAGE_AXES, np.array([256.0, 240.0, 0.0]),
                        np.zeros((478, 3)))
    return placed.to_image(canonical_face().vertices)


def test_similarity_recovers_a_known_transform():
    source = np.random.default_rng(0).normal(size=(60, 3))
    turn = rotation(0, 20) @ rotation(1, -35) @ rotation(2, 10)
    target = 2.5 * source @ turn.T + [10.0, -3.0, 7.0]
    scale, found, translation = similarity(source, target)
    assert scale == pytest.approx(2.5, abs=1e-9)
    assert np.allclose(found, turn, atol=1e-9) and np.allclose(translation, [10.0, -3.0, 7.0], atol=1e-9)


def test_similarity_never_reflects():
    source = np.random.default_rng(1).normal(size=(60, 3))
    _, found, _ = similarity(source, source * [-1.0, 1.0, 1.0])
    assert np.linalg.det(found) == pytest.approx(1.0)


def test_fit_of_the_canonical_face_is_exact(frontal):
    fitted = fit_face(frontal)
    assert fitted.scale == pytest.approx(20.0)
    assert np.abs(fitted.residual).max() < 1e-9
    assert fitted.pose == {"yaw": 0.0, "pitch": 0.0, "roll": 0.0}
    points = np.random.default_rng(2).normal(size=(10, 3))
    assert np.allclose(fitted.to_canonical(fitted.to_image(points)), points)
    x0, y0, x1, y1 = fitted.bbox
    assert x0 < 256 < x1 and y0 < 240 < y1


@pytest.mark.parametrize("yaw", [-40, 25])
def test_turned_head_reads_as_that_yaw(frontal, yaw):
    pose = fit_face(turn_head(frontal, yaw)).pose
    assert pose["yaw"] == pytest.approx(yaw, abs=0.01)
    assert abs(pose["pitch"]) < 0.01 and abs(pose["roll"]) < 0.01


def test_open_jaw_moves_the_chin_down_and_keeps_the_forehead(frontal):
    opened = open_jaw(frontal, 15)
    assert opened[152, 1] - frontal[152, 1] > 10            # chin, in pixels (0.5 cm), down the image
    assert np.allclose(opened[[10, 151, 9]], frontal[[10, 151, 9]], atol=1e-6)
    assert opened[13, 1] == pytest.approx(frontal[13, 1], abs=1e-6)     # the upper lip stays


def test_occluder_closes_the_face_and_adds_a_head_shell(frontal):
    vertices, triangles = occluder_mesh(fit_face(frontal))
    assert np.array_equal(vertices[:468], frontal[:468])
    assert triangles.min() == 0 and triangles.max() == len(vertices) - 1
    behind = vertices[471:, 2]                                # image z points away from the camera
    assert behind.max() > frontal[:, 2].max() + 100           # the shell reaches well behind the face
