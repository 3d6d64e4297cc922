"""Mask library: discover, load and bind mask assets.

A mask is a JSON file (the format below) naming one or more parts, each an OBJ/GLB mesh modelled
on the canonical face with an albedo texture and an optional tangent-space normal map. A bare mesh
file (.glb, .gltf, .obj, .ply) with its own texture is also accepted. The binding to the face is
computed here, so a mask needs no anchors. User masks are checked when loaded: the JSON's fields
and types, meshes with triangles and finite positions, in centimetres (`MESH_EXTENT_CM`), readable
textures; anything else is a one-line `MaskError`.

A library mesh `NAME.obj` ships with `NAME.baked.npz` (written by `python -m render3d.assetgen`):
its geometry and, for every wearing style, which vertices sit over the face and their ambient
occlusion, so that no process reads the OBJ or computes those again. A baked file is used only while
it holds the SHA-256 of its mesh file; user masks are bound when they are loaded. Parts that share a
mesh (the surgical colours) share one binding.

Asset format
------------
Each mask NAME is described by `assets/meshes/NAME.json`:

    {"name": "surgical",
     "description": "One sentence.",
     "color": "#RRGGBB",            # base colour of the recolourable albedo (sRGB)
     "prints": {"share": 0.3, "kinds": ["floral", "plaid"]},   # optional: seeded prints, see below
     "prevalence": 2.0,             # optional (default 1): its weight in `--mask random` without weights
     "parts": [
        {"mesh": "surgical_body.obj",                     # paths relative to the JSON file
         "albedo": "../textures/surgical_blue_albedo.png",
         "normal": "../textures/surgical_normal.png",     # or null
         "sheen": 0.3,                                    # 0..1 grazing-angle fabric sheen
         "recolor": true,                                 # whether `color` recolouring applies
         "weave": 0.0,                                    # optional (default 1): the shared fabric
                                                          # weave's strength on it (0: a nonwoven)
         "print": null},                                  # optional print map, see below
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

Prints (`render3d.mask.patterns`) go on the recolourable parts. `prints` says what share of seeded draws
print the mask and in which pattern kinds (without it, only --pattern prints it). A part's optional
print map is a 2-channel (grey + alpha) PNG over its texture: grey is the shade the fabric gives a print
(128 = none), alpha where the print covers it (0 keeps the part's own albedo, as on a binding). Without
one, a print covers the whole part, shaded by the albedo's brightness against the mask's `color`.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from render3d._paths import MESHES_DIR
from render3d.colourspace import hex_to_rgb
from render3d.errors import InputError, MaskError
from render3d.io.image_in import load_image
from render3d.mask.patterns import uv_span_cm
from render3d.mask.placement import Binding, bind, over_face
from render3d.mask.wear import Drop, body_drop, lowered

if TYPE_CHECKING:
    from render3d.options import FitOptions

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
    occlusion: np.ndarray        # (V,) float32 baked ambient visibility
    print_map: np.ndarray | None = None   # (H, W, 2) uint8: a print's shade (128 = 1) and cover (255 = all)
    uv_cm: tuple[float, float] = (1.0, 1.0)   # surface cm per unit of u and of v
    weave: float = 1.0           # strength of the shared fabric weave on a recolourable part (0: nonwoven)


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


def is_number(value: object) -> bool:
    """Whether a JSON or option value is a real number (an int or a float, not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def mask_runs(options: FitOptions, stem: str) -> list[tuple[str, FitOptions]]:
    """The fits an input gets, each with the stem of its outputs: one under its own stem, or with
    `--mask all` one per library mask (and `--mask-dir` mask), under `{stem}_{mask}`."""
    if options.mask != "all":
        return [(stem, options)]
    return [(f"{stem}_{name}", replace(options, mask=name)) for name in available_masks(options.mask_dirs)]


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


@lru_cache(maxsize=16)
def read_print_map(path: Path | None) -> np.ndarray | None:
    """An (H, W, 2) uint8 print map (grey, alpha) from a file; MaskError if unreadable."""
    if path is None:
        return None
    from PIL import Image

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("LA"))
    except OSError as exc:
        raise MaskError(f"cannot read print map {path}: {exc}") from None


@lru_cache(maxsize=32)
def read_texture(path: Path | None) -> np.ndarray | None:
    """An (H, W, 3) uint8 texture from a file (gray is spread to RGB, alpha dropped); MaskError if unreadable."""
    if path is None:
        return None
    try:
        return load_image(path).rgb
    except InputError as exc:
        raise MaskError(f"cannot read mask texture: {exc}") from None


@dataclass(frozen=True)
class Geometry:
    """One mesh of a mask file, in canonical cm."""
    vertices: np.ndarray         # (V, 3)
    normals: np.ndarray          # (V, 3)
    uvs: np.ndarray              # (V, 2)
    triangles: np.ndarray        # (T, 3) int32
    texture: np.ndarray | None   # its embedded colour texture, (H, W, 3) uint8


def read_mesh(path: Path) -> tuple[Geometry, ...]:
    """Every mesh in a .glb/.gltf/.obj/.ply file, as trimesh reads it (vertex order kept)."""
    import trimesh

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
    geometries = []
    for mesh in meshes:
        uvs = getattr(mesh.visual, "uv", None)
        material = getattr(mesh.visual, "material", None)
        image = getattr(material, "baseColorTexture", None) or getattr(material, "image", None)
        geometries.append(Geometry(np.asarray(mesh.vertices, float), np.asarray(mesh.vertex_normals, float),
                                   np.zeros((len(mesh.vertices), 2)) if uvs is None else np.asarray(uvs, float),
                                   np.asarray(mesh.faces, np.int32),
                                   None if image is None else np.asarray(image.convert("RGB"))))
    return tuple(geometries)


def baked_file(mesh_path: Path) -> Path:
    """The baked-data file beside a part mesh."""
    return mesh_path.with_suffix(".baked.npz")


def file_sha256(path: Path) -> str:
    """A file's SHA-256, hex."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def bake(mesh_path: Path, drops: list[Drop]) -> dict[str, np.ndarray]:
    """The arrays of a one-mesh file's baked file: its geometry and, per wear drop (see `lowered`),
    (W, V) which vertices sit over the face and their ambient occlusion."""
    from render3d.mask.occlusion import bake_occlusion   # here: scipy.spatial, for masks without a baked file

    geometry, = read_mesh(mesh_path)
    worn = [lowered(geometry.vertices, drop) for drop in drops]
    return {"sha256": np.array(file_sha256(mesh_path)), "vertices": geometry.vertices,
            "normals": geometry.normals, "uvs": geometry.uvs, "triangles": geometry.triangles,
            "drops": np.array(drops, float).reshape(-1, 3),
            "over_face": np.array([over_face(vertices) for vertices in worn]).reshape(len(drops), -1),
            "occlusion": np.array([bake_occlusion(vertices, geometry.normals, geometry.triangles)
                                   for vertices in worn], np.float32).reshape(len(drops), -1)}


@lru_cache(maxsize=64)
def _baked(mesh_path: Path) -> dict[str, np.ndarray] | None:
    """The mesh's baked arrays, or None when it has no baked file or the file is for another mesh."""
    file = baked_file(mesh_path)
    if not file.is_file():
        return None
    with np.load(file) as data:
        arrays = dict(data)
    return arrays if str(arrays["sha256"]) == file_sha256(mesh_path) else None


@lru_cache(maxsize=64)
def load_geometries(mesh_path: Path) -> tuple[Geometry, ...]:
    """The meshes of a mask mesh file, from its baked file when it has one."""
    baked = _baked(mesh_path)
    if baked is None:
        return read_mesh(mesh_path)
    return (Geometry(baked["vertices"], baked["normals"], baked["uvs"], baked["triangles"], None),)


@lru_cache(maxsize=256)
def bound_geometry(mesh_path: Path, index: int, drop: Drop) -> tuple[np.ndarray, Binding, np.ndarray]:
    """Mesh `index` of a mask mesh file worn with `drop`: its (V, 3) canonical vertices, its binding and
    its (V,) ambient occlusion, baked when its baked file holds that drop."""
    geometry = load_geometries(mesh_path)[index]
    vertices = lowered(geometry.vertices, drop)
    baked = _baked(mesh_path)
    row = np.flatnonzero((baked["drops"] == drop).all(1)) if baked is not None else []
    if len(row):
        return vertices, bind(vertices, baked["over_face"][row[0]]), baked["occlusion"][row[0]]
    from render3d.mask.occlusion import bake_occlusion

    return vertices, bind(vertices), bake_occlusion(vertices, geometry.normals, geometry.triangles)


def _part(mesh_path: Path, index: int, albedo, normal_map, sheen: float, recolor: bool, key: str,
          drop: Drop, print_map: np.ndarray | None = None, weave: float = 1.0) -> MaskPart:
    geometry = load_geometries(mesh_path)[index]
    vertices, binding, occlusion = bound_geometry(mesh_path, index, drop)
    return MaskPart(vertices, geometry.normals, geometry.uvs, geometry.triangles,
                    albedo if albedo is not None else WHITE_TEXTURE, normal_map, sheen, recolor,
                    binding, key, occlusion, print_map,
                    uv_span_cm(geometry.vertices, geometry.uvs, geometry.triangles), weave)


PART_DEFAULTS = {"sheen": 0.3, "weave": 1.0}    # a part entry's optional numbers, when it leaves them out


@dataclass(frozen=True)
class MaskSpec:
    """A mask file's header: name, description, base colour and part entries."""
    name: str
    description: str
    color: tuple[int, int, int]
    parts: tuple[dict, ...]      # the JSON's part entries; empty for a bare mesh file
    print_share: float = 0.0     # the share of seeded draws that print it
    print_kinds: tuple[str, ...] = ()   # the pattern kinds those prints come in
    prevalence: float = 1.0      # its weight in `--mask random` draws without weights


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
        prints = spec.get("prints", {"share": 0.0, "kinds": []})
        share, kinds = prints["share"], prints["kinds"]
        if not is_number(share) or not 0.0 <= share <= 1.0 or not (
                isinstance(kinds, list) and all(isinstance(k, str) for k in kinds)) or (share > 0 and not kinds):
            raise ValueError("'prints' must be {\"share\": 0..1, \"kinds\": [pattern kinds]}")
        prevalence = spec.get("prevalence", 1.0)
        if not is_number(prevalence) or not prevalence > 0:
            raise ValueError("'prevalence' must be a number above 0")
        return MaskSpec(spec.get("name", path.stem), spec.get("description", ""),
                        hex_to_rgb(spec.get("color", "#ffffff")), parts, float(share), tuple(kinds),
                        float(prevalence))
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise MaskError(f"malformed mask file {path}: {exc}") from None


def check_part_entry(part: dict, index: int) -> None:
    """ValueError unless a JSON part entry follows the asset format."""
    if not isinstance(part, dict) or not isinstance(part.get("mesh"), str):
        raise ValueError(f"part {index} needs a 'mesh' file name")
    for key in ("albedo", "normal", "print"):
        if part.get(key) is not None and not isinstance(part[key], str):
            raise ValueError(f"part {index}: '{key}' must be a file name or null")
    for key in ("sheen", "weave"):
        value = part.get(key, PART_DEFAULTS[key])
        if not is_number(value) or not 0.0 <= value <= 1.0:
            raise ValueError(f"part {index}: '{key}' must be a number in [0, 1]")
    if not isinstance(part.get("recolor", True), bool):
        raise ValueError(f"part {index}: 'recolor' must be true or false")


@lru_cache(maxsize=64)
def load_mask(path: Path, wear: str = "correct") -> Mask:
    """Load and bind the mask described by a JSON or mesh file, worn in style `wear`."""
    path = Path(path)
    spec = load_mask_spec(path)
    if not spec.parts:
        geometries = load_geometries(path)
        drop = body_drop(geometries[0].vertices, wear)
        parts = tuple(_part(path, i, g.texture, None, PART_DEFAULTS["sheen"], True, f"{path}:{i}", drop)
                      for i, g in enumerate(geometries))
        return Mask(spec.name, spec.color, parts)
    try:
        meshes = [(path.parent / entry["mesh"]).resolve() for entry in spec.parts]
        drop = body_drop(load_geometries(meshes[0])[0].vertices, wear)
        parts = []
        for i, (entry, mesh) in enumerate(zip(spec.parts, meshes)):
            albedo = read_texture(path.parent / entry["albedo"]) if entry.get("albedo") else None
            normal = read_texture(path.parent / entry["normal"]) if entry.get("normal") else None
            printing = read_print_map(path.parent / entry["print"]) if entry.get("print") else None
            sheen, weave = (float(entry.get(key, PART_DEFAULTS[key])) for key in ("sheen", "weave"))
            parts += [_part(mesh, j, albedo, normal, sheen, bool(entry.get("recolor", True)),
                            f"{path}:{i}:{j}", drop, printing, weave)
                      for j in range(len(load_geometries(mesh)))]
    except (KeyError, TypeError, ValueError) as exc:
        raise MaskError(f"malformed mask file {path}: {exc}") from None
    return Mask(spec.name, spec.color, tuple(parts))
