"""Placement without MediaPipe or GL: binding, clearance lift, rim hold-off and placing on a fitted face."""
from __future__ import annotations

import numpy as np
import pytest

from render3d.face.fitting import CANONICAL_TO_IMAGE_AXES, FittedFace
from render3d.face.topology import canonical_face, closed_triangles
from render3d.geometry import unit, vertex_normals
from render3d.mask.placement import (
    MIN_CLEARANCE_CM,
    NEIGHBOURS,
    Skin,
    bind,
    closed_face_vertices,
    closest_on_face,
    mean_normal,
    over_face,
    held_off_rim,
    lifted,
    place,
)


def neutral(scale: float = 10.0, residual: np.ndarray | None = None) -> FittedFace:
    """The canonical face at `scale` px/cm, frontal, optionally deformed by a (478, 3) cm residual."""
    residual = np.zeros((478, 3)) if residual is None else residual
    placed = FittedFace(np.zeros((478, 3)), scale, CANONICAL_TO_IMAGE_AXES, np.array([200.0, 200.0, 0.0]), residual)
    landmarks = placed.to_image(canonical_face().vertices + residual)
    return FittedFace(landmarks, scale, CANONICAL_TO_IMAGE_AXES, placed.translation, residual)


@pytest.fixture(scope="module")
def over_cheek() -> np.ndarray:
    """Points 0.5 cm in front of the canonical skin at face vertices on the cheeks, nose and chin."""
    face = canonical_face()
    triangles, loops = closed_triangles()
    surface = closed_face_vertices(face.vertices, loops)
    normals = vertex_normals(surface, triangles)
    chosen = np.array([205, 425, 50, 280, 187, 411, 4, 152])
    return surface[chosen] + 0.5 * normals[chosen]


def test_binding_blends_nearby_landmarks_and_finds_points_over_the_face(over_cheek):
    behind = canonical_face().vertices[[234, 454]] - [0.0, 0.0, 6.0]      # well behind the cheeks
    binding = bind(np.concatenate([over_cheek, behind]))
    assert binding.neighbours.shape == binding.weights.shape == (len(over_cheek) + 2, NEIGHBOURS)
    assert np.allclose(binding.weights.sum(1), 1.0) and (binding.weights > 0).all()
    residual = np.random.default_rng(0).normal(size=(478, 3))
    assert np.allclose(binding.blend @ residual, np.einsum("vk,vkd->vd", binding.weights, residual[binding.neighbours]))
    assert binding.over_face.tolist() == [True] * len(over_cheek) + [False, False]


def test_lift_raises_points_to_the_clearance_and_leaves_clear_ones(over_cheek):
    skin = Skin.of(neutral())
    on_skin = canonical_face().vertices[[0, 17, 205, 425]]
    near = bind(on_skin).near_skin
    raised = lifted(on_skin, skin, MIN_CLEARANCE_CM, near)
    moved = np.linalg.norm(raised - on_skin, axis=1)
    assert np.all(moved >= MIN_CLEARANCE_CM - 1e-9) and np.all(moved < 0.5)
    further = np.linalg.norm(lifted(on_skin, skin, 0.3, near) - on_skin, axis=1)
    assert np.all(further > moved + 0.2 - 1e-9)                               # the lift is the clearance asked for
    assert np.allclose(lifted(over_cheek, skin, MIN_CLEARANCE_CM, bind(over_cheek).near_skin), over_cheek)


def test_rim_hold_off_raises_points_pushed_into_the_jaw_side():
    face = canonical_face()
    skin = Skin.of(neutral())
    rim = face.vertices[face.outer_loop[len(face.outer_loop) // 4]]      # a point of the oval, beside the jaw
    sunk = rim - 0.3 * unit(rim - face.vertices[:468].mean(0))           # pushed 3 mm into the head
    far = rim + [0.0, 0.0, 30.0]                                         # far out of reach
    points = np.array([sunk, far])
    held = held_off_rim(points, skin, MIN_CLEARANCE_CM, bind(points).near_oval)
    assert np.linalg.norm(held[0] - sunk) > 0.1
    assert np.array_equal(held[1], far)


def test_placement_on_an_undeformed_face_is_the_rigid_transform(over_cheek):
    fitted = neutral(scale=12.0)
    placed = place(over_cheek, bind(over_cheek), fitted, Skin.of(fitted))
    assert np.allclose(placed, fitted.to_image(over_cheek))


def test_placement_follows_the_expression(over_cheek):
    residual = np.zeros((478, 3))
    residual[:, 1] = -0.4                                                # the whole face 4 mm lower
    fitted = neutral(residual=residual)
    placed = fitted.to_canonical(place(over_cheek, bind(over_cheek), fitted, Skin.of(fitted)))
    assert np.allclose(placed - over_cheek, [0.0, -0.4, 0.0])


def test_a_deformed_face_finds_its_nearest_skin_among_the_rest_candidates(over_cheek):
    """The candidates kept at rest hold the nearest skin vertices of a face a smile and an open mouth
    deform: the lift equals the one over the nearest vertices of the whole deformed face."""
    face = canonical_face()
    residual = np.zeros((478, 3))
    lower_lip = face.vertices[:, 1] < face.vertices[14, 1] + 0.2
    residual[lower_lip, 1] -= 1.0                                          # the jaw drops 1 cm
    residual[[61, 291], 0] += [-0.4, 0.4]                                  # the mouth widens
    fitted = neutral(residual=residual)
    skin = Skin.of(fitted)
    binding = bind(over_cheek)
    moved = over_cheek + binding.blend @ residual
    everywhere = np.tile(np.arange(len(skin.surface)), (len(moved), 1))
    exact = lifted(moved, skin, 0.6, everywhere)
    assert np.linalg.norm(exact - moved, axis=1).min() > 0.05                 # every point is lifted
    assert np.allclose(lifted(moved, skin, 0.6, binding.near_skin), exact)


def test_a_closest_point_on_a_corner_is_held_by_every_triangle_round_it():
    """A point straight out from a face vertex is held by every triangle round the vertex, whichever one a
    search returns (their mean normal lifts worn fabric), and nudging points by far less than a micron
    changes no answer of which lie over the face."""
    triangles, loops = closed_triangles()
    surface = closed_face_vertices(canonical_face().vertices, loops)
    normals = vertex_normals(surface, triangles)
    corner = 1                                                     # the nose tip
    around_corner = np.flatnonzero((triangles == corner).any(1))
    mean = unit(sum(unit(np.cross(surface[t[1]] - surface[t[0]], surface[t[2]] - surface[t[0]]))
                    for t in triangles[around_corner]))
    point = surface[corner] + 1.5 * normals[corner]
    closest, distance, around = closest_on_face(point[None])
    assert np.allclose(closest[0], surface[corner], atol=1e-6) and distance[0] == pytest.approx(1.5, abs=1e-3)
    assert sorted(around.indices) == sorted(around_corner) and np.allclose(mean_normal(around)[0], mean, atol=1e-6)
    assert over_face(point[None])[0]
    points = surface[:468] + np.random.default_rng(3).normal(0, 1.0, (468, 3))
    nudged = points + np.random.default_rng(4).normal(0, 1e-10, points.shape)
    assert np.array_equal(over_face(points), over_face(nudged))
