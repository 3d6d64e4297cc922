"""Wear geometry without rendering: worn fabric held off the skin."""
from __future__ import annotations

import numpy as np
import pytest
import trimesh

from render3d.face.topology import canonical_face, closed_triangles
from render3d.mask.library import available_masks, load_mask
from render3d.mask.placement import MIN_CLEARANCE_CM, OVER_FACE_COSINE, closed_face_vertices


@pytest.mark.parametrize("wear", ["nose-out", "chin", "chin-out"])
@pytest.mark.parametrize("name", ["surgical", "kn95", "cloth"])
def test_worn_fabric_over_the_face_is_held_off_the_skin(name, wear):
    """Slid or gathered fabric that lies over the rest face (its closest point inside a triangle) is at
    least the clearance above it, also on the cheek's steep side, and is bound as lying over the face."""
    triangles, loops = closed_triangles()
    surface = trimesh.Trimesh(closed_face_vertices(canonical_face().vertices, loops), triangles, process=False)
    body = load_mask(available_masks()[name], wear).parts[0]
    closest, distance, triangle = trimesh.proximity.closest_point(surface, body.vertices)
    height = np.einsum("ij,ij->i", body.vertices - closest, surface.face_normals[triangle])
    over = np.abs(height) >= OVER_FACE_COSINE * distance
    near = over & (height < 1.0)
    assert near.sum() > 100
    assert height[near].min() > MIN_CLEARANCE_CM - 0.01, body.vertices[near][height[near].argmin()]
    assert body.binding.over_face[near & (height > 0.05)].all()
