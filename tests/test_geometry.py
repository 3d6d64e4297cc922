"""Shared geometry and colour helpers, without MediaPipe or GL."""
from __future__ import annotations

import numpy as np
import pytest
import trimesh

from render3d.face.topology import canonical_face
from render3d.geometry import FLIP_YZ, Window, flip_yz, unit, unpremultiply, vertex_normals


def test_flip_is_a_half_turn_and_its_own_inverse():
    v = np.random.default_rng(0).normal(size=(5, 3))
    assert np.array_equal(flip_yz(flip_yz(v)), v)
    assert np.allclose(flip_yz(v), v @ FLIP_YZ) and np.linalg.det(FLIP_YZ) == 1.0


def test_vertex_normals_of_a_sphere_point_outward():
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=2.0)
    normals = vertex_normals(np.asarray(sphere.vertices), np.asarray(sphere.faces))
    assert np.allclose(np.linalg.norm(normals, axis=1), 1.0)
    assert np.einsum("ij,ij->i", normals, unit(np.asarray(sphere.vertices))).min() > 0.999


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_vertex_normals_give_the_bits_the_masks_were_built_with(dtype):
    face = canonical_face()
    vertices = (face.vertices[:468] + np.random.default_rng(0).normal(0, 0.1, (468, 3))).astype(dtype)
    built_with = trimesh.geometry.mean_vertex_normals(468, face.triangles, np.cross(
        *(vertices[face.triangles[:, k]] - vertices[face.triangles[:, 0]] for k in (1, 2))))
    normals = vertex_normals(vertices, face.triangles)
    assert normals.dtype == built_with.dtype and np.array_equal(normals, built_with)


def test_unit_leaves_zero_vectors_zero():
    assert np.array_equal(unit(np.zeros((2, 3))), np.zeros((2, 3)))


def test_window_cuts_unions_clips_and_overlaps():
    window = Window(10, 20, 30, 40)
    image = np.zeros((100, 100))
    assert image[window.slices].shape == (40, 30)
    assert Window.union([window, Window(0, 50, 5, 20)]) == Window(0, 20, 40, 50)
    points = np.array([[-5.2, 10.5], [30.1, 99.7]])
    assert Window.around(points, (100, 80), 2) == Window(0, 8, 33, 92)
    assert Window.around(np.array([[500.0, 500.0]]), (100, 80), 2) is None
    # Where two windows meet, cut out of an image of each: the same pixels of the picture.
    picture = np.arange(100 * 100).reshape(100, 100)
    other = Window(25, 5, 40, 30)
    in_window, in_other = window.overlap(other)
    assert np.array_equal(picture[window.slices][in_window], picture[other.slices][in_other])
    assert picture[window.slices][in_window].shape == (15, 15)
    assert window.overlap(Window(40, 20, 5, 5)) is None and window.overlap(Window(0, 0, 10, 100)) is None


def test_unpremultiply_restores_straight_colour():
    straight = np.array([[[0.8, 0.4, 0.2, 0.5], [0.3, 0.3, 0.3, 0.0]]], np.float32)
    premultiplied = straight.copy()
    premultiplied[..., :3] *= premultiplied[..., 3:]
    restored = unpremultiply(premultiplied)
    assert np.allclose(restored[0, 0], straight[0, 0]) and np.array_equal(restored[0, 1], [0, 0, 0, 0])
    assert restored.dtype == np.float32
    tail = np.array([[[1e-7, 1e-7, 1e-7, 1e-7]]], np.float32)          # a blur's far tail: no colour
    assert np.array_equal(unpremultiply(tail)[..., :3], np.zeros((1, 1, 3)))
    assert unpremultiply(tail, min_alpha=0.0)[0, 0, 0] == pytest.approx(0.1)


def test_closest_points_on_triangles_match_a_dense_sampling_and_trimesh():
    from render3d.geometry import closest_points_on_triangles

    rng = np.random.default_rng(3)
    corners = rng.normal(size=(400, 3, 3))
    points = 2 * rng.normal(size=(400, 3))
    corners[:20, 1] = corners[:20, 0]                                # degenerate: two corners, or three, in one
    corners[20:30] = corners[20:30, :1]
    closest = closest_points_on_triangles(points, corners)
    assert np.allclose(closest[30:], trimesh.triangles.closest_point(corners[30:], points[30:]))
    samples = np.einsum("sk,nkd->nsd", rng.dirichlet([1.0, 1.0, 1.0], 4000), corners)
    sampled = np.linalg.norm(samples - points[:, None], axis=2).min(1)
    found = np.linalg.norm(closest - points, axis=1)
    assert np.all(found <= sampled + 1e-9) and np.all(found > sampled - 0.05)
