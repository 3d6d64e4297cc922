"""Wear geometry without rendering: the face a worn mask is fitted to, worn fabric held off the skin, and
worn geometry continuous in the mask's vertices."""
from __future__ import annotations

import numpy as np
import pytest

from render3d.face.fitting import CANONICAL_TO_IMAGE_AXES, FittedFace, fit_face, open_jaw
from render3d.face.topology import canonical_face
from render3d._paths import MESHES_DIR
from render3d.assetgen.baked import library_drops
from render3d.mask.library import available_masks, load_mask, read_mesh
from render3d.mask.placement import MIN_CLEARANCE_CM, OVER_FACE_COSINE, closest_on_face, mean_normal, surface_normals
from render3d.mask.wear import JAW_UNDERDRAWN, LIPS_APART_CM, lowered, worn_face


@pytest.fixture(scope="module")
def frontal() -> np.ndarray:
    """The canonical face seen frontally at 20 px/cm, in image axes."""
    placed = FittedFace(np.zeros((478, 3)), 20.0, CANONICAL_TO_IMAGE_AXES, np.array([256.0, 240.0, 0.0]),
                        np.zeros((478, 3)))
    return placed.to_image(canonical_face().vertices)


def inner_lip_gap(fitted: FittedFace) -> float:
    canonical = fitted.to_canonical(fitted.landmarks)
    return float(canonical[13, 1] - canonical[14, 1])


def test_worn_face_opens_a_wide_open_jaw_further(frontal):
    at_rest = fit_face(frontal)
    for wear in ("correct", "nose-out", "chin", "chin-out"):       # the rest face's lips are about LIPS_APART_CM apart
        assert np.abs(worn_face(at_rest, wear).landmarks - at_rest.landmarks).max() < 0.01 * at_rest.scale
    closed = fit_face(open_jaw(frontal, -3))
    assert worn_face(closed, "chin") is closed
    opened = fit_face(open_jaw(frontal, 20))
    assert worn_face(opened, "correct") is opened
    worn = worn_face(opened, "chin")
    lip_drop = (opened.to_canonical(opened.landmarks)[17, 1] - worn.to_canonical(worn.landmarks)[17, 1])
    assert lip_drop == pytest.approx(JAW_UNDERDRAWN * (inner_lip_gap(opened) - LIPS_APART_CM), rel=0.2)
    assert lip_drop > 0.2
    # Only the jaw turns: the upper face and the upper lip stay where they were.
    assert np.abs(worn.landmarks[[10, 151, 1, 13]] - opened.landmarks[[10, 151, 1, 13]]).max() < 1e-6 * opened.scale


@pytest.mark.parametrize("wear", ["nose-out", "chin", "chin-out"])
@pytest.mark.parametrize("name", ["surgical", "kn95", "cloth"])
def test_worn_fabric_over_the_face_is_held_off_the_skin(name, wear):
    """Slid or gathered fabric that lies over the rest face is at least the clearance above it along the face's
    smooth normal at its closest point (the one it is held off along), also on the cheek's steep side, and is
    bound as lying over the face (by the normal of the triangles holding that point, as binding judges it)."""
    body = load_mask(available_masks()[name], wear).parts[0]
    closest, distance, normal = surface_normals(body.vertices)
    height = np.einsum("ij,ij->i", body.vertices - closest, normal)
    near = (np.abs(height) >= OVER_FACE_COSINE * distance) & (height < 1.0)
    assert near.sum() > 100
    assert height[near].min() > MIN_CLEARANCE_CM - 0.01, body.vertices[near][height[near].argmin()]
    _, _, around = closest_on_face(body.vertices)
    bound_height = np.einsum("ij,ij->i", body.vertices - closest, mean_normal(around))
    over = (np.abs(bound_height) >= OVER_FACE_COSINE * distance) & (bound_height > 0.05) & (bound_height < 1.0)
    assert over.sum() > 100 and body.binding.over_face[over].all()


@pytest.mark.parametrize("mesh", ["surgical_body", "gaiter_body", "ffp2_valve_body"])
def test_worn_geometry_is_continuous_in_the_vertices(mesh):
    """Sliding down the rails, gathering and holding off the skin do not jump: vertices nudged by 1e-9 cm
    (those on the midline kept on it) move by under 1e-6 cm in every wear, so a bake made on one machine
    is what another one bakes."""
    path = MESHES_DIR / f"{mesh}.obj"
    vertices = read_mesh(path)[0].vertices
    nudge = np.random.default_rng(0).normal(0, 1e-9, vertices.shape)
    nudge[vertices[:, 0] == 0, 0] = 0
    for drop in library_drops(MESHES_DIR)[path.resolve()]:
        assert np.abs(lowered(vertices + nudge, drop) - lowered(vertices, drop)).max() < 1e-6, drop
