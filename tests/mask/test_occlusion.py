"""Ambient occlusion baked per mask vertex: continuous in the vertices, so that the last bits of a
machine's arithmetic (which vary between machines) cannot flip which discs occlude a vertex."""
from __future__ import annotations

import numpy as np
import pytest

from render3d._paths import MESHES_DIR
from render3d.assetgen.baked import library_drops
from render3d.mask.library import read_mesh
from render3d.mask.occlusion import bake_occlusion
from render3d.mask.wear import lowered

LIBRARY = library_drops(MESHES_DIR)
NUDGE_CM = 1e-12
FLOAT_NOISE = 1e-6            # what the nudge may move a vertex's visibility by


@pytest.mark.parametrize("name", ["cloth_body", "surgical_body"])
def test_occlusion_does_not_jump_when_worn_vertices_move_by_float_noise(name):
    mesh = next(path for path in LIBRARY if path.stem == name)
    geometry, = read_mesh(mesh)
    rng = np.random.default_rng(0)
    for drop in LIBRARY[mesh]:
        worn = lowered(geometry.vertices, drop)
        nudged = worn + rng.normal(0.0, NUDGE_CM, worn.shape)
        still = bake_occlusion(worn, geometry.normals, geometry.triangles)
        moved = bake_occlusion(nudged, geometry.normals, geometry.triangles)
        np.testing.assert_allclose(moved, still, rtol=0, atol=FLOAT_NOISE, err_msg=f"{name} worn with drop {drop}")
