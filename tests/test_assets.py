"""The shipped mask library: files, meshes and textures are well formed, every mask fits the
canonical face (clear of the skin, covering nose, mouth and chin, leaving eyes and brows
free), and the generator rebuilds identical bytes."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from render3d._paths import MESHES_DIR
from render3d.assetgen import checks, masks, textures
from render3d.assetgen.face import Face, load_face
from render3d.assetgen.shaping import sphere_frame
from render3d.face.landmark_sets import JAW
from render3d.mask.detail_level import grid_shape
from render3d.mask.library import available_masks, load_mask

MASK_FILES = sorted(MESHES_DIR.glob("*.json"))
REQUIRED = {"surgical", "surgical_white", "surgical_green", "surgical_black", "surgical_pink",
            "n95", "kn95", "ffp2_valve", "cloth", "gaiter"}


@lru_cache(maxsize=1)
def canonical() -> Face:
    return load_face(MESHES_DIR / "canonical_face.obj")


@lru_cache(maxsize=None)
def read_obj(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Positions, texture coordinates, normals and triangles of a generated OBJ, whose faces
    use one index for all three."""
    records: dict[str, list] = {"v": [], "vt": [], "vn": [], "f": []}
    for line in path.read_text().splitlines():
        fields = line.split()
        if not fields or fields[0] == "#":
            continue
        assert fields[0] in records, f"{path.name}: unexpected record {line!r}"
        if fields[0] == "f":
            corners = [tuple(int(i) for i in corner.split("/")) for corner in fields[1:]]
            assert len(corners) == 3 and all(len(set(c)) == 1 and len(c) == 3 for c in corners), line
            records["f"].append([c[0] - 1 for c in corners])
        else:
            records[fields[0]].append([float(x) for x in fields[1:]])
    v, vt, vn, f = (np.array(records[k]) for k in ("v", "vt", "vn", "f"))
    assert len(v) == len(vt) == len(vn) > 0 and len(f) > 0
    return v, vt, vn, f.astype(int)


def parts_of(path: Path) -> list[tuple[dict, tuple[np.ndarray, ...]]]:
    spec = json.loads(path.read_text())
    return [(part, read_obj((path.parent / part["mesh"]).resolve())) for part in spec["parts"]]


@lru_cache(maxsize=None)
def least_clearance(mesh: Path) -> float:
    return float(canonical().clearance(read_obj(mesh)[0]).min())


def test_library_has_the_required_masks():
    names = {p.stem for p in MASK_FILES}
    assert REQUIRED <= names and len(names) >= 9
    assert names == set(masks.LIBRARY)


@pytest.mark.parametrize("path", MASK_FILES, ids=lambda p: p.stem)
def test_mask_files_are_well_formed(path: Path):
    spec = json.loads(path.read_text())
    assert spec["name"] == path.stem and spec["description"]
    assert re.fullmatch(r"#[0-9A-Fa-f]{6}", spec["color"])
    assert spec["parts"] and spec["parts"][0]["recolor"] is True
    for part in spec["parts"]:
        assert {"mesh", "albedo", "normal", "sheen", "recolor"} <= set(part) <= {
            "mesh", "albedo", "normal", "sheen", "recolor", "print", "weave"}
        assert 0.0 <= part["sheen"] <= 1.0 and isinstance(part["recolor"], bool)
        assert 0.0 <= part.get("weave", 1.0) <= 1.0 and ("weave" not in part or part["recolor"])
        for key in ("albedo", "normal"):
            if part[key] is None:
                assert key == "normal"
                continue
            image = Image.open(path.parent / part[key])
            assert image.mode == "RGB" and max(image.size) >= 512
        if "print" in part:             # a print map over the body's own albedo: shade and cover
            assert part["recolor"] and Image.open(path.parent / part["print"]).mode == "LA"
            assert Image.open(path.parent / part["print"]).size == Image.open(path.parent / part["albedo"]).size
        mesh = (path.parent / part["mesh"]).resolve()
        v, vt, vn, f = read_obj(mesh)
        assert f.max() < len(v) and np.all((vt >= 0) & (vt <= 1))
        assert np.allclose(np.linalg.norm(vn, axis=1), 1, atol=1e-3)
        # The engine reads meshes with trimesh: same vertices, order and texture coordinates.
        loaded = trimesh.load(mesh, process=False, maintain_order=True)
        assert np.allclose(loaded.vertices, v) and np.allclose(loaded.visual.uv, vt)


@pytest.mark.parametrize("path", MASK_FILES, ids=lambda p: p.stem)
def test_mask_fits_the_canonical_face(path: Path):
    parts = parts_of(path)
    for part, _ in parts:
        assert least_clearance((path.parent / part["mesh"]).resolve()) >= 0.0, part["mesh"]
    (_, (v, _, _, f)), others = parts[0], [(p[0], p[3]) for _, p in parts[1:]]
    report = checks.frontal_checks(canonical().landmarks, (v, f), others)
    assert report["cover_margin"] >= checks.COVER_MARGIN_CM, report
    assert report["clear_margin"] >= checks.CLEAR_MARGIN_CM, report
    assert report["iou"] >= checks.MIN_IOU, report


def test_normals_face_away_from_the_head():
    v, _, vn, _ = read_obj(MESHES_DIR / "surgical_body.obj")
    centre = sphere_frame(canonical()).centre
    assert np.mean(np.einsum("ij,ij->i", vn, v - centre) > 0) > 0.95


def test_surgical_pleats_run_level_across_the_face():
    """The surgical body's fold rows run level over the middle of the face (as a pleated rectangle's do),
    not bowed between the top edge and the jaw, and its sides stay long: the outline is boxy."""
    body = load_mask(available_masks()["surgical"]).parts[0]
    rows, cols = grid_shape(body)
    grid, uv = body.vertices.reshape(rows, cols, 3), body.uvs.reshape(rows, cols, 2)
    v, u = 1 - uv[:, 0, 1], uv[0, :, 0]                 # the sheet's v runs down, the texture's up
    middle = (u > 0.15) & (u < 0.85)
    dips = [np.ptp(grid[np.argmin(np.abs(v - fold)), middle, 1]) for fold in textures.SURGICAL_PLEATS]
    assert dips[0] < 0.5 and max(dips) < 1.5, dips                 # cm of frontal height
    side, centre = grid[0, 1, 1] - grid[-1, 1, 1], grid[0, cols // 2, 1] - grid[-1, cols // 2, 1]
    assert side > 0.45 * centre, (side, centre)


def test_surgical_pleats_have_a_crevice_under_each_fold():
    """Under each fold of the surgical albedo lies the flap's crevice, a band about 2 mm deep clearly darker
    than the pleat face further down (a fold, not a drawn line)."""
    shade = np.asarray(Image.open(MESHES_DIR.parent / "textures" / "surgical_blue_albedo.png"), float).mean(2)
    rows = (np.arange(shade.shape[0]) + 0.5) / shade.shape[0]
    middle = shade[:, shade.shape[1] // 3: 2 * shade.shape[1] // 3].mean(1)
    for fold in textures.SURGICAL_PLEATS:
        crevice = middle[(rows > fold + 0.002) & (rows < fold + 0.015)].mean()
        face = middle[(rows > fold + 0.05) & (rows < fold + 0.08)].mean()
        assert crevice < 0.96 * face, (fold, crevice, face)           # sRGB: 0.945 (0.981 with a 1.5 mm, 10% one)


def test_n95_lower_straps_run_behind_the_jaw():
    """Below the ears the N95's lower straps stay within half a centimetre of the jaw's frontal outline,
    heading back round the neck: a frontal view shows no strap ends standing out beside the jaw."""
    lm = canonical().landmarks
    v = read_obj(MESHES_DIR / "n95_straps.obj")[0]
    low = v[v[:, 1] < lm[58, 1]]
    beyond = []
    for side in (-1, 1):
        outline = lm[[i for i in JAW if np.sign(lm[i, 0]) == side]]
        outline = outline[np.argsort(outline[:, 1])]
        points = low[np.sign(low[:, 0]) == side]
        beyond.append(side * points[:, 0] - np.interp(points[:, 1], outline[:, 1], side * outline[:, 0]))
    assert np.concatenate(beyond).max() < 0.5


@pytest.mark.rebuild
def test_generator_is_deterministic(tmp_path: Path):
    """A fresh build gives the same bytes as the build that made the shipped files."""
    meshes, textures = tmp_path / "meshes", tmp_path / "textures"
    meshes.mkdir(parents=True), textures.mkdir(parents=True)
    masks.build_mask("cloth", meshes, textures, canonical())
    built = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*.*")}
    shipped = {name: (MESHES_DIR.parent / name).read_bytes() for name in built}
    assert built.keys() == shipped.keys() and len(built) == 7     # JSON, 2 meshes, 3 textures, a print map
    assert all(built[k] == shipped[k] for k in built)
