"""Ear loops and head straps at render time: their colour and shading, and the hair in front of them.

A loop or strap is a part that is not recoloured and reaches round behind the ear's root. Its colour
follows a recoloured mask (a palette draw or `--color`): loops of the mask's own fabric, not always
white. It is lit round its own section and darkens toward its silhouette, like a cord. It leaves the mask at the cheek and runs over the side of the head, where hair falling over the
temple or the ear lies in front of it: outside the face's oval, where the photo departs from the face's
skin colour (hair, or the background past a head narrower than the fitted one), the loop is hidden
with a soft alpha that follows that departure; over skin (the cheek, the ear's root) it shows.
"""
from __future__ import annotations

import cv2
import numpy as np

from render3d.colourspace import srgb_to_linear
from render3d.face.fitting import EAR_ROOT, FittedFace
from render3d.face.topology import canonical_face
from render3d.geometry import Window
from render3d.mask.library import Mask, MaskPart
from render3d.render.occluders import polygon_image, skin_lab, to_lab

# Hair against skin, by colour alone and unchanged by shading (a shadowed ear is darker and more
# saturated than the lit cheek, never greyer nor of another hue): a pixel is hair (or no head) where
# its chroma over lightness falls well under the skin's (black, grey, white hair), where it is far more
# saturated at nearly the skin's lightness (lit red and brown hair), or where its hue turns away.
GREY_RATIO = (0.3, 0.6)         # share of the skin's chroma over lightness: hair below the first, skin above the second
RICH_RATIO = (1.35, 1.8)        # chroma over lightness as a multiple of the skin's: skin below, hair above...
RICH_LIGHTNESS = (0.55, 0.75)   # ...at a lightness (share of the skin's) above the first, fully above the second
HUE_DEGREES = (25.0, 45.0)      # hue turned from the skin's: skin below the first, hair above the second
MIN_HUE_CHROMA = 3.0            # Lab chroma under which a hue is noise
MIN_SKIN_RATIO = 0.1            # a skin greyer than this (a grayscale photo) gives no grey cue
DARK_L = 25.0                   # lightness under which chroma over lightness is noise: divided by this instead
OVAL_RAMP_CM = 0.3              # the hiding fades in over this distance each side of the face's oval
MATTE_BLUR_CM = 0.05            # the matte's softness: a strand's edge, not a pixel step
CORD_RIM = 0.55                 # a cord's light where its surface turns edge-on to the camera (1 facing it)


def is_strap(part: MaskPart) -> bool:
    """Whether a mask part is an ear loop or head strap: not recoloured, reaching behind the ear's root."""
    return not part.recolor and float(part.vertices[:, 2].min()) < EAR_ROOT[1]


def strap_tint(mask: Mask, part: MaskPart, tint: tuple[float, float, float]) -> tuple[float, float, float]:
    """Linear-RGB multiplier that turns a strap's albedo into the fabric's colour, the mask's base colour
    under `tint` (the recoloured parts' multiplier)."""
    fabric = srgb_to_linear(np.array(mask.color) / 255) * np.array(tint)
    own = srgb_to_linear(np.maximum(part.albedo.reshape(-1, 3).mean(0), 1) / 255)
    return tuple(float(c) for c in fabric / own)


def rounded(ao: np.ndarray | None, normals: np.ndarray) -> np.ndarray:
    """(V,) ambient visibility of a strap's vertices (`ao`, None for 1) darkened toward its silhouette,
    from its (V, 3) camera-frame normals (z toward the camera): a round cord or band, not a flat line,
    even where its shading normals lean toward the skin beneath."""
    facing = np.sqrt(np.clip(normals[:, 2], 0.0, 1.0))
    own = CORD_RIM + (1.0 - CORD_RIM) * facing
    return (own if ao is None else ao * own).astype(np.float32)


def hue_and_ratio(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hue (degrees), chroma and chroma over lightness of (..., 3) Lab pixels."""
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    return np.degrees(np.arctan2(lab[..., 2], lab[..., 1])), chroma, chroma / np.maximum(lab[..., 0], DARK_L)


def hair_likelihood(lab: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """(h, w) in [0, 1]: how surely the (h, w, 3) Lab pixels are hair rather than skin, given (N, 3) Lab
    skin samples."""
    skin_hue, _, skin_ratio = (np.median(x) for x in hue_and_ratio(skin))
    hue, chroma, ratio = hue_and_ratio(lab)
    turned = np.abs((hue - skin_hue + 180.0) % 360.0 - 180.0)
    by_hue = ramp(turned, HUE_DEGREES) * (chroma > MIN_HUE_CHROMA)
    if skin_ratio < MIN_SKIN_RATIO:
        return by_hue
    grey = 1.0 - ramp(ratio / skin_ratio, GREY_RATIO)
    rich = ramp(ratio / skin_ratio, RICH_RATIO) * ramp(lab[..., 0] / max(np.median(skin[:, 0]), DARK_L), RICH_LIGHTNESS)
    return np.maximum.reduce([by_hue, grey, rich])


def ramp(values: np.ndarray, edges: tuple[float, float]) -> np.ndarray:
    """0 below edges[0], 1 above edges[1], linear between."""
    return np.clip((values - edges[0]) / (edges[1] - edges[0]), 0.0, 1.0)


def hair_matte(rgb: np.ndarray, face: FittedFace, window: Window) -> np.ndarray:
    """(h, w) float32 alpha in [0, 1] of the window: how surely the photo shows hair (or no head) in
    front of a loop there, 0 inside the face's oval and over skin."""
    x, y, w, h = window
    lab = to_lab(rgb[y:y + h, x:x + w])
    hair = hair_likelihood(lab, skin_lab(rgb, face))
    oval = polygon_image(face.landmarks[canonical_face().outer_loop, :2], window)
    ramp = max(OVAL_RAMP_CM * face.scale, 1.0)
    outside = cv2.distanceTransform(1 - oval, cv2.DIST_L2, 3) - cv2.distanceTransform(oval, cv2.DIST_L2, 3)
    beside = np.clip(0.5 + outside / (2 * ramp), 0.0, 1.0)
    blur = MATTE_BLUR_CM * face.scale
    matte = hair * beside
    return cv2.GaussianBlur(matte, (0, 0), blur) if blur >= 0.3 else matte.astype(np.float32)


def behind_hair(rgba: np.ndarray, strap_coverage: np.ndarray, rgb: np.ndarray, face: FittedFace,
                window: Window) -> np.ndarray:
    """The mask render of `window` ((h, w, 4) straight alpha) with its visible strap pixels cut where hair
    lies in front. `strap_coverage` (h, w) is the straps' alone, hidden where the mask or the head is in
    front; `rgb` is the whole (H, W, 3) uint8 photo."""
    rows, cols = np.nonzero(strap_coverage > 0)
    if not len(rows):
        return rgba
    pad = int(np.ceil((OVAL_RAMP_CM + 3 * MATTE_BLUR_CM) * face.scale)) + 1
    x0, y0 = max(cols.min() - pad, 0), max(rows.min() - pad, 0)
    x1, y1 = min(cols.max() + pad + 1, window.width), min(rows.max() + pad + 1, window.height)
    matte = hair_matte(rgb, face, Window.from_corners(window.x + x0, window.y + y0, window.x + x1, window.y + y1))
    cut = rgba.copy()
    alpha = cut[y0:y1, x0:x1, 3]
    alpha[:] = np.clip(alpha - np.clip(strap_coverage[y0:y1, x0:x1], 0.0, 1.0) * matte, 0.0, 1.0)
    return cut


def straps_under_hair(renderer, window: Window, occluders: list, mask: Mask, parts: list, rgba: np.ndarray,
                      rgb: np.ndarray, face: FittedFace) -> np.ndarray:
    """The mask render `rgba` of `window`, drawn from `parts` (the DrawParts of `mask.parts`) behind
    `occluders`, with its straps cut where the photo `rgb` shows hair in front of them. The straps' own
    coverage comes from a second, unshaded render with the mask's fabric in the depth pass, of the strips
    beside the face's oval only (the matte is 0 inside it)."""
    straps = [drawn for part, drawn in zip(mask.parts, parts) if is_strap(part)]
    if not straps:
        return rgba
    fabric = [(drawn.positions, drawn.triangles) for part, drawn in zip(mask.parts, parts) if not is_strap(part)]
    points = np.concatenate([drawn.positions[:, :2] for drawn in straps])
    oval_x = face.landmarks[canonical_face().outer_loop, 0]
    reach = (OVAL_RAMP_CM + 3 * MATTE_BLUR_CM) * face.scale + 2
    cut = rgba
    for low, high in ((window.x, oval_x.min() + reach), (oval_x.max() - reach, window.x + window.width)):
        beside = points[(points[:, 0] >= low) & (points[:, 0] < high)]
        if not len(beside):
            continue
        x0 = max(int(np.floor(max(low, beside[:, 0].min() - 2))), window.x)
        x1 = min(int(np.ceil(min(high, beside[:, 0].max() + 3))), window.x + window.width)
        y0 = max(int(np.floor(beside[:, 1].min())) - 2, window.y)
        y1 = min(int(np.ceil(beside[:, 1].max())) + 3, window.y + window.height)
        if x1 <= x0 or y1 <= y0:
            continue
        strip = Window.from_corners(x0, y0, x1, y1)
        coverage = renderer.render(strip, occluders + fabric, straps, False)[..., 3]
        rows, cols = slice(y0 - window.y, y1 - window.y), slice(x0 - window.x, x1 - window.x)
        cut = cut.copy() if cut is rgba else cut
        cut[rows, cols] = behind_hair(cut[rows, cols], coverage, rgb, face, strip)
    return cut
