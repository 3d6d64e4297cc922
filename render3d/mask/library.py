"""Mask library: discover, load and bind mask assets.

A mask is a JSON file (the format below) naming one or more parts, each an OBJ/GLB mesh modelled
on the canonical face with an albedo texture and an optional tangent-space normal map. A bare mesh
file (.glb, .gltf, .obj, .ply) with its own texture is also accepted. The binding to the face is
computed here, so a mask needs no anchors. User masks are checked when loaded: the JSON's fields
and types, meshes with triangles and finite positions, in centimetres (`MESH_EXTENT_CM`), readable
textures; anything else is a one-line `MaskError`.

Asset format
------------
Each mask NAME is described by `assets/meshes/NAME.json`:

    {"name": "surgical",
     "description": "One sentence.",
     "color": "#RRGGBB",            # base colour of the recolourable albedo (sRGB)
     "parts": [
        {"mesh": "surgical_body.obj",                     # paths relative to the JSON file
         "albedo": "../textures/surgical_blue_albedo.png",
         "normal": "../textures/surgical_normal.png",     # or null
         "sheen": 0.3,                                    # 0..1 grazing-angle fabric sheen
         "recolor": true},                                # whether `color` recolouring applies
        {"mesh": "surgical_loops.obj", "albedo": "../textures/loop_white_albedo.png",
         "normal": null, "sheen": 0.2, "recolor": false}]}

Meshes are Wavefront OBJ files holding `v`, `vt`, `vn` and triangular `f v/vt/vn` lines, one
shared index per vertex, numbers written with four decimals. Positions are in the canonical
face frame (`canonical_face.obj`): centimetres, x toward the subject's left, y up, z toward
the camera, origin at landmark 168. Normals are smooth, unit length and point away from the
face; triangles wind counter-clockwise seen from that side. Each part is a single open
surface meant to be drawn from both sides (the inside is the back face).

Texture coordinates follow the OBJ convention (v = 0 is the bottom row of the PNG) and every
texture is drawn as the part is seen from the front: on a mask body u runs across the mask
from the subject's right (image left) to the subject's left, and the top edge of the mask is
the top of the image. Other parts map their own textures: loops and straps run u along their
length and v around them, a valve u around its axis and v up its profile to the centre of its
cap, a vent plate is mapped face-on. All texture coordinates lie in [0, 1].
Albedos are 8-bit sRGB RGB PNGs. Normal maps are tangent-space RGB PNGs, n = 2 * rgb / 255 - 1,
with x along +u, y along +v (up in the image, the OpenGL convention) and z out of the surface.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import trimesh

from render3d._paths import MESHES_DIR
from render3d.colourspace import hex_to_rgb
from render3d.errors import MaskError
from render3d.face.landmark_sets import MOUTH_CORNER
from render3d.face.topology import canonical_face
from render3d.mask.placement import Binding, bind

MESH_SUFFIXES = (".glb", ".gltf", ".obj", ".ply")
WHITE_TEXTURE = np.full((4, 4, 3), 255, np.uint8)
# The largest side of a mask part's box: a face is about 15 cm across, a strap around the head 40.
MESH_EXTENT_CM = (0.5, 60.0)


@dataclass(frozen=True)
class MaskPart:
    """One part of a loaded mask, in canonical cm, with its textures and its binding to the face."""
    vertices: np.ndarray         # (V, 3) canonical cm
    normals: np.ndarray          # (V, 3)
    uvs: np.ndarray              # (V, 2)
    triangles: np.ndarray        # (T, 3)
    albedo: np.ndarray           # (H, W, 3) uint8
    normal_map: np.ndarray | None
    sheen: float
    recolor: bool
    binding: Binding
    key: str                     # unique name for texture caches


@dataclass(frozen=True)
class Mask:
    """A loaded mask: its name, its albedo's base colour and its parts."""
    name: str
    color: tuple[int, int, int]  # the albedo's base colour, sRGB 0-255
    parts: tuple[MaskPart, ...]


# MaskTheFace's mask names -> the library's nearest mask. render3d has no full gas mask: `gas` is the
# valved respirator.
MASK_ALIASES = {"surgical_blue": "surgical", "N95": "n95", "KN95": "kn95", "gas": "ffp2_valve"}


def canonical_mask_name(name: str, library: dict[str, Path]) -> str:
    """`name` itself when the library (user masks included) has it, else the mask it is an alias of."""
    return name if name in library else MASK_ALIASES.get(name, name)


def available_masks(extra_dirs: tuple[Path, ...] = ()) -> dict[str, Path]:
    """Mask name -> its JSON or mesh file; user folders override built-in names."""
    found = {p.stem: p for p in sorted(MESHES_DIR.glob("*.json"))}
    for folder in extra_dirs:
        folder = Path(folder)
        if not folder.is_dir():
            raise MaskError(f"mask folder {folder} does not exist")
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() == ".json" or path.suffix.lower() in MESH_SUFFIXES and not (
                    path.with_suffix(".json").exists()):
                found[path.stem] = path
    return found


def resolve_mask(name_or_path: str, extra_dirs: tuple[Path, ...] = ()) -> Path:
    """The asset file for a mask name, or the given file when it is a path to one."""
    path = Path(name_or_path)
    if path.suffix.lower() in (".json",) + MESH_SUFFIXES and path.is_file():
        return path.resolve()
    library = available_masks(extra_dirs)
    name = canonical_mask_name(name_or_path, library)
    if name not in library:
        raise MaskError(f"unknown mask {name_or_path!r}; choose one of: {', '.join(sorted(library))} "
                        f"(or the aliases {', '.join(MASK_ALIASES)})")
    return library[name]


@lru_cache(maxsize=32)
def read_texture(path: Path | None) -> np.ndarray | None:
    """An (H, W, 3) uint8 texture from a file (gray is spread to RGB, alpha dropped); MaskError if unreadable."""
    if path is None:
        return None
    try:
        pixels = iio.imread(path)
    except Exception as exc:
        raise MaskError(f"cannot read mask texture {path}: {exc}") from None
    if pixels.ndim == 2:
        pixels = np.stack([pixels] * 3, axis=2)
    return np.ascontiguousarray(pixels[..., :3].astype(np.uint8))


def _geometries(path: Path) -> list[trimesh.Trimesh]:
    try:
        loaded = trimesh.load(path, process=False, maintain_order=True)
    except Exception as exc:
        raise MaskError(f"cannot read mask mesh {path}: {exc}") from None
    meshes = list(loaded.dump()) if isinstance(loaded, trimesh.Scene) else [loaded]
    if not meshes or any(not isinstance(m, trimesh.Trimesh) or len(m.faces) == 0 for m in meshes):
        raise MaskError(f"mask mesh {path} holds no triangles")
    for mesh in meshes:
        if not np.isfinite(mesh.vertices).all():
            raise MaskError(f"mask mesh {path} has non-finite vertex positions")
        extent = float(np.ptp(mesh.vertices, axis=0).max())
        if not MESH_EXTENT_CM[0] <= extent <= MESH_EXTENT_CM[1]:
            raise MaskError(f"mask mesh {path} spans {extent:.3g} units; masks are modelled in centimetres around "
                            f"canonical_face.obj ({MESH_EXTENT_CM[0]:g} to {MESH_EXTENT_CM[1]:g} cm across)")
    return meshes


def _embedded_texture(mesh: trimesh.Trimesh) -> np.ndarray | None:
    material = getattr(mesh.visual, "material", None)
    image = getattr(material, "baseColorTexture", None) or getattr(material, "image", None)
    return None if image is None else np.asarray(image.convert("RGB"))


def _part(mesh: trimesh.Trimesh, albedo, normal_map, sheen: float, recolor: bool, key: str,
          drop: tuple[float, float]) -> MaskPart:
    uvs = getattr(mesh.visual, "uv", None)
    uvs = np.zeros((len(mesh.vertices), 2)) if uvs is None else np.asarray(uvs, float)
    vertices = lowered(np.asarray(mesh.vertices, float), drop)
    return MaskPart(vertices, np.asarray(mesh.vertex_normals, float), uvs, np.asarray(mesh.faces, np.int32),
                    albedo if albedo is not None else WHITE_TEXTURE, normal_map, sheen, recolor,
                    bind(vertices), key)


@dataclass(frozen=True)
class MaskSpec:
    """A mask file's header: name, description, base colour and part entries."""
    name: str
    description: str
    color: tuple[int, int, int]
    parts: tuple[dict, ...]      # the JSON's part entries; empty for a bare mesh file


@lru_cache(maxsize=256)
def load_mask_spec(path: Path) -> MaskSpec:
    """A mask's name, description, base colour and parts, without loading meshes."""
    path = Path(path)
    if path.suffix.lower() != ".json":
        return MaskSpec(path.stem, f"user mesh {path.name}", (255, 255, 255), ())
    try:
        spec = json.loads(path.read_text())
        parts = tuple(spec["parts"])
        for index, part in enumerate(parts):
            check_part_entry(part, index)
        return MaskSpec(spec.get("name", path.stem), spec.get("description", ""),
                        hex_to_rgb(spec.get("color", "#ffffff")), parts)
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise MaskError(f"malformed mask file {path}: {exc}") from None


def check_part_entry(part: dict, index: int) -> None:
    """ValueError unless a JSON part entry follows the asset format."""
    if not isinstance(part, dict) or not isinstance(part.get("mesh"), str):
        raise ValueError(f"part {index} needs a 'mesh' file name")
    for key in ("albedo", "normal"):
        if part.get(key) is not None and not isinstance(part[key], str):
            raise ValueError(f"part {index}: '{key}' must be a file name or null")
    sheen = part.get("sheen", 0.3)
    if isinstance(sheen, bool) or not isinstance(sheen, (int, float)) or not 0.0 <= sheen <= 1.0:
        raise ValueError(f"part {index}: 'sheen' must be a number in [0, 1]")
    if not isinstance(part.get("recolor", True), bool):
        raise ValueError(f"part {index}: 'recolor' must be true or false")


# Wearing styles pull the mask down the face: its top edge lands between these landmarks' heights
# at the middle; with nose-out the sides stay this high above the mouth corners (61), so the fabric
# bends under the nose rather than sliding down whole.
WEAR_TOP_EDGE = {"nose-out": (2, 0), "chin": (17, 175)}
CORNER_COVER_CM = {"nose-out": 0.5}
EAR_FADE_Z = (-7.5, -5.5)      # canonical z: loops keep their ear ends, the front moves fully


def top_edge_height(body: np.ndarray, x: float) -> float:
    """Canonical y (cm) of a body's top edge at |x| = `x`, on its front."""
    front = body[(np.abs(np.abs(body[:, 0]) - x) < 0.5) & (body[:, 2] > EAR_FADE_Z[1])]
    return float(front[:, 1].max())


def wear_drop(body: np.ndarray, wear: str) -> tuple[float, float]:
    """How far (cm, negative = down) a mask body moves at its middle and beside the mouth corners."""
    if wear == "correct":
        return 0.0, 0.0
    face = canonical_face().vertices
    above, below = WEAR_TOP_EDGE[wear]
    middle = (face[above, 1] + face[below, 1]) / 2 - top_edge_height(body, 0.0)
    corner_x = abs(face[MOUTH_CORNER, 0])
    side = middle
    if wear in CORNER_COVER_CM:
        side = max(middle, face[MOUTH_CORNER, 1] + CORNER_COVER_CM[wear] - top_edge_height(body, corner_x))
    return float(middle), float(side)


def lowered(vertices: np.ndarray, drop: tuple[float, float]) -> np.ndarray:
    """Vertices moved down the face, by drop[0] at the middle and drop[1] from the mouth corners out,
    fading out toward the ears so that loops stay on them."""
    corner_x = abs(canonical_face().vertices[MOUTH_CORNER, 0])
    across = np.interp(np.abs(vertices[:, 0]), [0.0, corner_x], drop)
    toward_ears = np.clip((vertices[:, 2] - EAR_FADE_Z[0]) / (EAR_FADE_Z[1] - EAR_FADE_Z[0]), 0, 1)
    return vertices + np.outer(across * toward_ears, [0.0, 1.0, 0.0])


@lru_cache(maxsize=64)
def load_mask(path: Path, wear: str = "correct") -> Mask:
    """Load and bind the mask described by a JSON or mesh file, worn in style `wear`."""
    path = Path(path)
    spec = load_mask_spec(path)
    if not spec.parts:
        meshes = _geometries(path)
        drop = wear_drop(np.asarray(meshes[0].vertices, float), wear)
        parts = tuple(_part(m, _embedded_texture(m), None, 0.3, True, f"{path}:{i}", drop)
                      for i, m in enumerate(meshes))
        return Mask(spec.name, spec.color, parts)
    try:
        meshes = [_geometries(path.parent / entry["mesh"]) for entry in spec.parts]
        drop = wear_drop(np.asarray(meshes[0][0].vertices, float), wear)
        parts = []
        for i, (entry, geometries) in enumerate(zip(spec.parts, meshes)):
            albedo = read_texture(path.parent / entry["albedo"]) if entry.get("albedo") else None
            normal = read_texture(path.parent / entry["normal"]) if entry.get("normal") else None
            parts += [_part(mesh, albedo, normal, float(entry.get("sheen", 0.3)), bool(entry.get("recolor", True)),
                            f"{path}:{i}:{j}", drop) for j, mesh in enumerate(geometries)]
    except (KeyError, TypeError, ValueError) as exc:
        raise MaskError(f"malformed mask file {path}: {exc}") from None
    return Mask(spec.name, spec.color, tuple(parts))
