"""Baked per-mesh data: every library part mesh ships a baked file that a fresh bake reproduces, library
masks load from it, and masks sharing a mesh share its binding."""
from __future__ import annotations

import io

import numpy as np
import pytest

from render3d._paths import MESHES_DIR
from render3d.assetgen.baked import baked_bytes, library_drops
from render3d.kinds import WEAR_STYLES
from render3d.mask import library
from render3d.mask.placement import bind

LIBRARY = library_drops(MESHES_DIR)
FLOAT_NOISE = 1e-6


def test_every_library_mesh_has_a_current_baked_file_for_every_wear():
    assert len(LIBRARY) >= 15
    for mesh, drops in LIBRARY.items():
        baked = library._baked(mesh)
        assert baked is not None, f"{mesh.name}: no baked file, or one for another mesh"
        assert np.array_equal(baked["drops"], np.array(drops)) and len(drops) >= 2


@pytest.mark.rebuild
@pytest.mark.parametrize("mesh", list(LIBRARY), ids=lambda p: p.stem)
def test_baked_file_matches_a_fresh_bake(mesh):
    """Every array as a fresh bake gives it: exactly, but for the last bits of float sums (which vary
    with the machine's arithmetic)."""
    with np.load(library.baked_file(mesh)) as shipped, np.load(io.BytesIO(baked_bytes(mesh, LIBRARY[mesh]))) as fresh:
        assert sorted(shipped.files) == sorted(fresh.files)
        for key in fresh.files:
            if fresh[key].dtype.kind == "f":
                np.testing.assert_allclose(shipped[key], fresh[key], rtol=0, atol=FLOAT_NOISE, err_msg=key)
            else:
                assert np.array_equal(shipped[key], fresh[key]), key


@pytest.mark.rebuild
def test_library_mask_binds_as_a_fresh_binding_would():
    for wear in WEAR_STYLES:
        mask = library.load_mask(library.resolve_mask("n95"), wear)
        for part in mask.parts:
            fresh = bind(part.vertices)
            assert np.array_equal(part.binding.over_face, fresh.over_face)
            assert np.array_equal(part.binding.weights, fresh.weights)
            assert np.array_equal(part.binding.neighbours, fresh.neighbours)
    worn = [library.load_mask(library.resolve_mask("n95"), wear).parts[0] for wear in WEAR_STYLES]
    assert len({part.vertices[:, 1].min() for part in worn}) == len(worn)      # each wear sits lower
    assert not np.array_equal(worn[0].occlusion, worn[-1].occlusion)           # and is baked as worn


def test_surgical_colours_share_one_binding():
    colours = [name for name in library.available_masks() if name.startswith("surgical")]
    assert len(colours) == 5
    parts = [library.load_mask(library.resolve_mask(name)).parts for name in colours]
    for index in range(2):
        assert len({id(p[index].binding) for p in parts}) == 1
        assert len({id(p[index].occlusion) for p in parts}) == 1
    assert len({p[0].albedo.tobytes() for p in parts}) == 5


def test_stale_baked_file_is_ignored(tmp_path):
    mesh = tmp_path / "patch.obj"
    mesh.write_bytes((MESHES_DIR / "surgical_loops.obj").read_bytes())
    library.baked_file(mesh).write_bytes(library.baked_file(MESHES_DIR / "surgical_loops.obj").read_bytes())
    assert library._baked(mesh) is not None
    library._baked.cache_clear()
    mesh.write_text(mesh.read_text().replace("v ", "v  ", 1))                 # same mesh, other bytes
    assert library._baked(mesh) is None
    part = library.load_mask(mesh).parts[0]
    assert np.array_equal(part.binding.over_face, bind(part.vertices).over_face)
