"""Loading masks without MediaPipe or GL: user meshes are bound, malformed ones refused with one line."""
from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh

from render3d.errors import MaskError
from render3d.face.topology import canonical_face
from render3d.mask.library import available_masks, load_mask, load_mask_spec


def patch(scale: float = 1.0) -> trimesh.Trimesh:
    """The canonical face below the eyes, 5 mm off the skin, times `scale`."""
    face = canonical_face()
    centres = face.vertices[face.triangles].mean(axis=1)
    lower = face.triangles[(centres[:, 1] < -1.5) & (np.abs(centres[:, 0]) < 6.0)]
    mesh = trimesh.Trimesh(face.vertices[:468], lower, process=False)
    mesh.remove_unreferenced_vertices()
    mesh.vertices = (mesh.vertices + mesh.vertex_normals * 0.5) * scale
    return mesh


def test_a_user_mesh_is_bound_to_the_face(tmp_path):
    patch().export(tmp_path / "patch.obj")
    mask = load_mask(tmp_path / "patch.obj")
    assert mask.name == "patch" and len(mask.parts) == 1
    part = mask.parts[0]
    assert part.binding.weights.shape[0] == len(part.vertices)
    assert part.binding.over_face.mean() > 0.9              # 5 mm in front of the skin
    assert part.albedo.shape == (4, 4, 3) and (part.albedo == 255).all()     # no texture: white


@pytest.mark.parametrize("scale, unit", [(0.01, "metres"), (10.0, "millimetres")])
def test_a_mesh_in_other_units_is_refused(tmp_path, scale, unit):
    patch(scale).export(tmp_path / f"{unit}.obj")
    with pytest.raises(MaskError, match="centimetres"):
        load_mask(tmp_path / f"{unit}.obj")


def test_a_mesh_without_triangles_is_refused(tmp_path):
    (tmp_path / "empty.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    with pytest.raises(MaskError):
        load_mask(tmp_path / "empty.obj")


@pytest.mark.parametrize("entry, problem", [({"albedo": "a.png"}, "mesh"), ({"mesh": "m.obj", "sheen": 2}, "sheen"),
                                            ({"mesh": "m.obj", "recolor": "yes"}, "recolor"),
                                            ({"mesh": "m.obj", "normal": 3}, "normal"),
                                            ({"mesh": "m.obj", "weave": -1}, "weave")])
def test_a_malformed_part_entry_is_refused_by_name(tmp_path, entry, problem):
    (tmp_path / "bad.json").write_text(json.dumps({"name": "bad", "parts": [entry]}))
    with pytest.raises(MaskError, match=f"malformed mask file .*part 0.*{problem}"):
        load_mask(tmp_path / "bad.json")


def test_every_library_mask_follows_the_format():
    for path in available_masks().values():
        assert load_mask_spec(path).parts
