"""Prints on mask fabric: the bundled pattern library, seeded print draws, and the albedo a print gives a part.

The library (`assets/patterns/`, written by `python -m render3d.assetgen`) holds seamless tiles of ink
coverage (red, green, blue = inks 1, 2, 3 over the ground) and an index giving each pattern's kind, the
physical size of its tile and its colourways. A print is laid in the part's texture space at that physical
size (the part's centimetres per unit of u and v are measured on its mesh), so it bends with the surface
as the fabric does. Where the part has a print map (see the asset format in `render3d.mask.library`) it
says how the fabric shades the print and where the print does not go (a binding, a thread); a plain
fabric shades it by its own brightness.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from render3d._paths import PATTERNS_DIR
from render3d.colourspace import LINEAR_LUT, hex_to_rgb, linear_to_srgb, luminance
from render3d.errors import InputError, MaskError
from render3d.io.image_in import load_image
from render3d.tolerances import RATIO_FLOOR

FILE_TILE_CM = 8.0                 # a pattern image file is laid this wide on the fabric
SCALE_RANGE = (0.7, 1.45)          # seeded multiplier of a tile's size, drawn log-uniform
ROTATIONS = (0.0, 0.0, 0.0, 90.0, 45.0)   # prints run along the grain, across it, or on the bias
ROTATION_SPREAD = 3.0              # degrees of seeded wobble around those
PRINT_MAP_UNIT = 128               # a print map's shade value that leaves the print as it is
PRINT_TEXELS_PER_PIXEL = 2.0       # texels per face pixel a print keeps (trilinear filtering samples coarser)
MAX_PRINT_REDUCTION = 8
# 8-bit sRGB code of linear values quantised to 4096 steps (a fast, exact-enough encode).
SRGB_CODE = np.round(linear_to_srgb(np.arange(4096) / 4095.0) * 255).astype(np.uint8)


@dataclass(frozen=True)
class PatternSpec:
    """One library pattern: its tile, its kind, the tile's size on the fabric and its colourways."""
    name: str
    path: Path
    kind: str
    tile_cm: float
    colourways: tuple[tuple[str, ...], ...]   # each: ground, ink 1, ink 2, ink 3 ('#RRGGBB')


@lru_cache(maxsize=1)
def pattern_library() -> dict[str, PatternSpec]:
    """Every bundled pattern by name."""
    index = json.loads((PATTERNS_DIR / "patterns.json").read_text())
    return {name: PatternSpec(name, PATTERNS_DIR / entry["file"], entry["kind"], float(entry["tile_cm"]),
                              tuple(tuple(colours) for colours in entry["colourways"]))
            for name, entry in index.items()}


def check_pattern(pattern: str) -> None:
    """MaskError unless `pattern` is a library pattern's name, 'random' or an existing image file."""
    if pattern == "random" or pattern in pattern_library():
        return
    if not Path(pattern).is_file():
        raise MaskError(f"unknown pattern {pattern!r}: not an image file, and not one of: "
                        f"{', '.join(pattern_library())} (or random)")


@dataclass(frozen=True)
class PrintDraw:
    """One face's print: which pattern, in which colours, how it is laid on the fabric, and how strongly."""
    pattern: str                          # a library pattern's name, or the path of a pattern image
    colourway: tuple[str, ...] | None     # ground and inks ('#RRGGBB'); None for an image's own colours
    scale: float                          # multiplier of the tile's size on the fabric
    rotation: float                       # degrees, in the fabric's plane
    offset: tuple[float, float]           # where the tile starts, in tiles
    weight: float                         # blend of the print over the fabric, 0..1

    def as_json(self) -> dict:
        """The draw as recorded in the JSON output."""
        return {"name": self.pattern, "colourway": list(self.colourway) if self.colourway else None,
                "scale": round(self.scale, 4), "rotation": round(self.rotation, 2),
                "offset": [round(o, 4) for o in self.offset], "weight": self.weight}


def draw_print(rng: np.random.Generator, pattern: str, weight: float, vary: bool = True) -> PrintDraw:
    """A print of `pattern` (a library name, 'random' for any, or an image file): its colourway, scale,
    rotation and offset drawn from `rng` (with `vary` off: the first colourway, laid as the tile is)."""
    library = pattern_library()
    if pattern == "random":
        pattern = sorted(library)[rng.integers(len(library))]
    colourways = library[pattern].colourways if pattern in library else (None,)
    colourway = colourways[rng.integers(len(colourways))] if vary else colourways[0]
    if not vary:
        return PrintDraw(pattern, colourway, 1.0, 0.0, (0.0, 0.0), weight)
    scale = float(np.exp(rng.uniform(*np.log(SCALE_RANGE))))
    rotation = float(ROTATIONS[rng.integers(len(ROTATIONS))] + rng.normal(0, ROTATION_SPREAD))
    offset = tuple(float(o) for o in rng.random(2))
    return PrintDraw(pattern, colourway, scale, rotation, offset, weight)


def seeded_pattern(rng: np.random.Generator, kinds: tuple[str, ...]) -> str:
    """A library pattern of one of `kinds`: the kind drawn evenly, then a pattern of that kind."""
    by_kind = {}
    for spec in pattern_library().values():
        if spec.kind in kinds:
            by_kind.setdefault(spec.kind, []).append(spec.name)
    names = by_kind[sorted(by_kind)[rng.integers(len(by_kind))]]
    return names[rng.integers(len(names))]


@lru_cache(maxsize=2)       # seeded draws seldom repeat a print's colourway: a larger cache held 40 MB for few hits
def tile_colours(pattern: str, colourway: tuple[str, ...] | None) -> tuple[np.ndarray, float]:
    """A print's (H, W, 3) float32 linear-RGB tile and its width on the fabric in cm (before its scale)."""
    spec = pattern_library().get(pattern)
    if spec is None:
        try:
            return LINEAR_LUT[load_image(Path(pattern)).rgb], FILE_TILE_CM
        except InputError as exc:
            raise MaskError(f"cannot read pattern image {pattern}: {exc}") from None
    coverage = load_image(spec.path).rgb.astype(np.float32) / 255
    inks = [LINEAR_LUT[np.array(hex_to_rgb(c))] for c in colourway]
    colour = np.broadcast_to(inks[0], coverage.shape).copy()
    for k in range(3):
        colour += coverage[..., k:k + 1] * (inks[k + 1] - colour)
    return colour, spec.tile_cm


def uv_span_cm(vertices: np.ndarray, uvs: np.ndarray, triangles: np.ndarray) -> tuple[float, float]:
    """Centimetres of surface per unit of u and of v, the median over a mesh's (T, 3) triangles of its
    (V, 3) cm vertices and (V, 2) texture coordinates (degenerate triangles left out)."""
    p, t = vertices[triangles], uvs[triangles]
    edges = np.stack([p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]], -1)          # (T, 3, 2)
    steps = np.stack([t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]], -1)          # (T, 2, 2): rows u, v
    det = np.linalg.det(steps)
    usable = np.abs(det) > RATIO_FLOOR * 1e-4
    if not usable.any():
        return 1.0, 1.0
    jacobian = edges[usable] @ np.linalg.inv(steps[usable])               # (T, 3, 2): d position / d(u, v)
    per_unit = np.median(np.linalg.norm(jacobian, axis=1), axis=0)
    return float(per_unit[0]), float(per_unit[1])


def print_reduction(shape: tuple[int, int], span_cm: tuple[float, float], scale: float | None) -> int:
    """The power of two by which an (H, W) albedo can shrink before a print is laid on it, for a face of
    `scale` pixels per cm (None: the whole texture): the texture then still holds `PRINT_TEXELS_PER_PIXEL`
    texels per screen pixel where the fabric faces the camera, more where it turns away."""
    if scale is None or not np.isfinite(scale) or scale <= 0:
        return 1
    texels_per_pixel = min(shape[1] / span_cm[0], shape[0] / span_cm[1]) / scale
    factor = 1
    while factor < MAX_PRINT_REDUCTION and texels_per_pixel / (2 * factor) >= PRINT_TEXELS_PER_PIXEL:
        factor *= 2
    return factor


def printed_albedo(albedo: np.ndarray, print_map: np.ndarray | None, base_color: tuple[int, int, int],
                   span_cm: tuple[float, float], draw: PrintDraw,
                   color_tint: np.ndarray | None = None) -> np.ndarray:
    """The (H, W, 3) uint8 sRGB albedo of a part printed with `draw`: the fabric (`albedo`, recoloured by the
    linear `color_tint`, None for none) blended with the print by draw.weight times the print map's cover, the print shaded
    by the map (or, without one, by the fabric's brightness against its sRGB `base_color`). Where the map leaves
    the fabric bare (a binding, a thread), a bundled print's darkest ink recolours it. `span_cm` is
    the part's cm per unit of u and v (`uv_span_cm`)."""
    import cv2  # here, not at import: cv2 costs the CLI's start-up

    h, w = albedo.shape[:2]
    linear = LINEAR_LUT[albedo]
    if print_map is None:
        base = max(float(luminance(LINEAR_LUT[np.array(base_color)])), RATIO_FLOOR)
        shade, cover = luminance(linear) / base, np.ones((h, w), np.float32)
    else:
        resized = cv2.resize(print_map, (w, h), interpolation=cv2.INTER_LINEAR) if print_map.shape[:2] != (h, w) \
            else print_map
        shade, cover = resized[..., 0] / PRINT_MAP_UNIT, resized[..., 1] / 255
    tile, tile_cm = tile_colours(draw.pattern, draw.colourway)
    width_cm = tile_cm * draw.scale
    size = (width_cm, width_cm * tile.shape[0] / tile.shape[1])                   # the tile's cm across, down
    pixels = (max(round(size[0] * w / span_cm[0]), 4), max(round(size[1] * h / span_cm[1]), 4))
    small = cv2.resize(tile, pixels, interpolation=cv2.INTER_AREA if pixels[0] < tile.shape[1] else cv2.INTER_LINEAR)
    x, y = np.meshgrid((np.arange(w, dtype=np.float32) + 0.5) * span_cm[0] / w,
                       (np.arange(h, dtype=np.float32) + 0.5) * span_cm[1] / h)
    c, s = np.cos(np.radians(draw.rotation)), np.sin(np.radians(draw.rotation))
    across = ((c * x + s * y) / size[0] + draw.offset[0]) % 1.0
    down = ((c * y - s * x) / size[1] + draw.offset[1]) % 1.0
    printed = cv2.remap(small, (across * pixels[0] - 0.5).astype(np.float32),
                        (down * pixels[1] - 0.5).astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    fabric = linear if color_tint is None else linear * np.asarray(color_tint, np.float32)
    bare = cover < 1
    if draw.colourway is not None and bare.any():    # a binding or thread is made to match: the darkest ink
        trim = min((LINEAR_LUT[np.array(hex_to_rgb(c))] for c in draw.colourway), key=luminance)
        level = luminance(fabric) / max(float(np.median(luminance(fabric[bare]))), RATIO_FLOOR)
        fabric = np.where(bare[..., None], level[..., None] * trim, fabric)
    blend = (draw.weight * cover)[..., None]
    out = fabric + blend * (printed * shade[..., None] - fabric)
    return SRGB_CODE[np.round(np.clip(out, 0, 1) * 4095).astype(np.int32)]
