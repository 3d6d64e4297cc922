"""Ear loops and head straps at render time: their colour and shading, and the hair in front of them.

A loop or strap is a part that is not recoloured and reaches round behind the ear's root. Its colour
follows a mask recoloured with `--color` (loops of that fabric); a palette draw keeps the mask's own
loops (white elastic shows against most skin, and most coloured masks are sold with it). It is lit
round its own section and darkens toward its silhouette, like a cord. It leaves the mask at the cheek
and runs over the side of the head, where hair falling over the temple or the ear lies in front of it:
outside the face's oval, where the photo departs from the cheek beside it (sampled on that side: its
lighting and tint, not the face's on average) by colour or by strand texture, and where MediaPipe's
selfie segmentation (it ships in the mediapipe wheel) sees the person (their hair, not the background a
loop hangs in front of, past a head narrower than the fitted one), the loop is hidden with a soft alpha
that follows that departure; over skin (the cheek, the ear's root) it shows.
"""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

from render3d.colourspace import srgb_to_linear
from render3d.face.fitting import EAR_ROOT, FittedFace
from render3d.face.landmarks import native_logs_silenced, solution
from render3d.face.topology import canonical_face
from render3d.geometry import Window
from render3d.mask.library import Mask, MaskPart
from render3d.render.occluders import polygon_image, to_lab

# Hair against the cheek beside it, by colour and by texture. Colour, unchanged by shading (a shadowed ear
# is darker and more saturated than the lit cheek, never greyer nor of another hue): a pixel is hair (or
# no head) where its chroma over lightness falls well under the cheek's (black, grey, white hair), where
# it is far more saturated at nearly the cheek's lightness (lit red and brown hair), where its tint
# moves off the cheek's saturation axis by more than the cheek itself varies (blond hair by light skin), or
# where it is far darker than the cheek (brown hair of the skin's own hue; the person segmentation keeps a
# dark background out).
# Texture: strands, a lightness ripple a strand wide, far stronger than on the cheek (hair of the skin's
# own colour, sharp enough to show strands).
CHEEK_POINTS = ((117, 50, 187, 205), (346, 280, 411, 425))    # cheek landmarks, one side then the other
CHEEK_PATCH_CM = 0.5            # half side of the square sampled about each
GREY_RATIO = (0.3, 0.6)         # chroma over lightness along the cheek's tint, as its share: hair below, skin above
RICH_RATIO = (1.25, 1.6)        # chroma over lightness as a multiple of the cheek's: skin below, hair above...
RICH_LIGHTNESS = (0.55, 0.75)   # ...at a lightness (share of the cheek's) above the first, fully above the second
DARK_HAIR = (0.35, 0.5)         # lightness as a share of the cheek's: hair below, skin above (brown hair, skin's hue)
TINT_SPREADS = (3.0, 6.0)       # tint off the cheek's axis, in the cheek's spreads: skin below, hair above
TINT_FLOOR = 0.02               # least spread of that tint (chroma over lightness), so a flat cheek is not brittle
REDDER_WEIGHT = 0.5             # a tint turned toward red counts this much (ears and flushed skin are redder)
MIN_SKIN_RATIO = 0.1            # a cheek greyer than this (a grayscale photo) gives no colour cue: strands alone
DARK_L = 25.0                   # lightness under which chroma over lightness is noise: divided by this instead
STRAND_CM = 0.04                # a strand's width: the ripple is the lightness less its blur at this scale...
STRAND_AREA_CM = 0.12           # ...its energy the mean of its size over this scale
STRAND_RATIO = (1.5, 3.0)       # that energy over the cheek's: skin below, hair above...
STRAND_COHERENCE = (0.3, 0.6)   # ...where that much of it runs one way (the cheek's pores run every way)
MIN_STRAND_ENERGY = 0.4         # least cheek energy (lightness units), so a noiseless cheek is not brittle
OVAL_RAMP_CM = 0.3              # the hiding fades in over this distance each side of the face's oval
MATTE_BLUR_CM = 0.05            # the matte's softness: a strand's edge, not a pixel step
CORD_RIM = 0.55                 # a cord's light where its surface turns edge-on to the camera (1 facing it)
PERSON_SPAN = 2.5               # the person model sees a square this many face sizes wide about the face
PERSON_RAMP = (0.1, 0.4)        # the model's person probability: background below, the person above


class PersonModel:
    """MediaPipe's selfie segmentation (its landscape model, the faster), created once and reused: where a
    photo shows a person (hair included) rather than the background."""

    def __init__(self):
        with native_logs_silenced():
            self._model = solution("selfie_segmentation").SelfieSegmentation(model_selection=1)

    def probability(self, rgb: np.ndarray) -> np.ndarray:
        """(h, w) float32 person probability in [0, 1] of an (h, w, 3) uint8 RGB image."""
        with native_logs_silenced():
            return np.asarray(self._model.process(np.ascontiguousarray(rgb)).segmentation_mask, np.float32)


def person_about(model: PersonModel, rgb: np.ndarray, face: FittedFace) -> tuple[Window, np.ndarray]:
    """The square window about `face` that `model` segments (PERSON_SPAN face sizes, clipped to the photo
    `rgb`, (H, W, 3) uint8) and its (h, w) person probability."""
    oval = face.landmarks[canonical_face().outer_loop, :2]
    half = PERSON_SPAN * float(np.ptp(oval, axis=0).max()) / 2
    (cx, cy), (height, width) = oval.mean(0), rgb.shape[:2]
    window = Window.from_corners(max(int(cx - half), 0), max(int(cy - half), 0),
                                 min(int(np.ceil(cx + half)), width), min(int(np.ceil(cy + half)), height))
    return window, model.probability(rgb[window.slices])


def person_in(person: tuple[Window, np.ndarray], window: Window) -> np.ndarray:
    """(h, w) in [0, 1] over `window`: how surely it shows the person, from `person_about`'s segmentation
    (1, as if the person, where it does not reach)."""
    segmented, probability = person
    inside = np.ones((window.height, window.width), np.float32)
    overlap = window.overlap(segmented)
    if overlap is not None:
        inside[overlap[0]] = probability[overlap[1]]
    return ramp(inside, PERSON_RAMP)


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


def tint(lab: np.ndarray) -> np.ndarray:
    """(..., 2) chroma over lightness (a and b over L) of (..., 3) Lab pixels: unchanged by shading."""
    return lab[..., 1:] / np.maximum(lab[..., :1], DARK_L)


def colour_hair(lab: np.ndarray, cheek: np.ndarray) -> np.ndarray:
    """(h, w) in [0, 1]: how surely the (h, w, 3) Lab pixels are hair rather than skin by their colour,
    given (N, 3) Lab samples of the cheek beside them. The tint is read along the cheek's own (from grey
    toward the skin's hue) and across it (toward yellow, or toward red at REDDER_WEIGHT)."""
    cheek_tint = tint(cheek)
    centre = np.median(cheek_tint, axis=0)
    saturation = float(np.hypot(*centre))
    if saturation < MIN_SKIN_RATIO:
        return np.zeros(lab.shape[:2], np.float32)
    frame = np.array([centre, [-centre[1], centre[0]]]).T / saturation     # along, across (toward yellow)
    along, across = np.moveaxis(tint(lab) @ frame, -1, 0)
    spread = max(1.4826 * float(np.median(np.abs((cheek_tint - centre) @ frame[:, 1]))), TINT_FLOOR)
    turned = np.where(across > 0, across, REDDER_WEIGHT * -across) / spread
    ratio = along / saturation
    grey = 1.0 - ramp(ratio, GREY_RATIO)
    lightness = lab[..., 0] / max(np.median(cheek[:, 0]), DARK_L)
    rich = ramp(ratio, RICH_RATIO) * ramp(lightness, RICH_LIGHTNESS)
    dark = 1.0 - ramp(lightness, DARK_HAIR)
    return np.maximum.reduce([ramp(turned, TINT_SPREADS), grey, rich, dark]).astype(np.float32)


def strand_energy(lightness: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(h, w) local mean size of the lightness ripple a strand wide, and how much of it runs one way
    (the coherence of its structure tensor, 0 for pores and noise, 1 for parallel strands), on a face of
    `scale` pixels per cm."""
    ripple = lightness - cv2.GaussianBlur(lightness, (0, 0), max(STRAND_CM * scale, 0.5))
    area = max(STRAND_AREA_CM * scale, 1.0)
    gx, gy = cv2.Sobel(ripple, cv2.CV_32F, 1, 0), cv2.Sobel(ripple, cv2.CV_32F, 0, 1)
    xx, yy, xy = (cv2.GaussianBlur(g, (0, 0), area) for g in (gx * gx, gy * gy, gx * gy))
    coherence = np.hypot(xx - yy, 2 * xy) / np.maximum(xx + yy, 1e-6)
    return cv2.GaussianBlur(np.abs(ripple), (0, 0), area), coherence


def cheek_samples(rgb: np.ndarray, face: FittedFace, x: float) -> tuple[np.ndarray, float]:
    """(N, 3) Lab samples of the cheek on the side of image column `x`, and its strand energy (that of its
    smoothest patch: hair over one patch does not raise it)."""
    points = min((face.landmarks[list(side), :2] for side in CHEEK_POINTS), key=lambda p: abs(p[:, 0].mean() - x))
    h, w = rgb.shape[:2]
    r = max(1, round(CHEEK_PATCH_CM * face.scale))
    lab, energy = [], []
    for px, py in np.round(points).astype(int):
        patch = to_lab(rgb[max(0, py - r):min(h, py + r + 1), max(0, px - r):min(w, px + r + 1)])
        if patch.size:
            lab.append(patch.reshape(-1, 3))
            energy.append(float(np.median(strand_energy(patch[..., 0], face.scale)[0])))
    return np.concatenate(lab), max(min(energy), MIN_STRAND_ENERGY)


def ramp(values: np.ndarray, edges: tuple[float, float]) -> np.ndarray:
    """0 below edges[0], 1 above edges[1], linear between."""
    return np.clip((values - edges[0]) / (edges[1] - edges[0]), 0.0, 1.0)


def hair_matte(rgb: np.ndarray, face: FittedFace, window: Window, person: np.ndarray) -> np.ndarray:
    """(h, w) float32 alpha in [0, 1] of the window: how surely the photo shows hair in front of a loop
    there, 0 inside the face's oval, over skin and where `person` ((h, w) in [0, 1], `person_in`) is 0."""
    x, y, w, h = window
    lab = to_lab(rgb[y:y + h, x:x + w])
    cheek, cheek_energy = cheek_samples(rgb, face, x + w / 2)
    energy, coherence = strand_energy(lab[..., 0], face.scale)
    strands = ramp(energy / cheek_energy, STRAND_RATIO) * ramp(coherence, STRAND_COHERENCE)
    hair = np.maximum(colour_hair(lab, cheek), strands)
    oval = polygon_image(face.landmarks[canonical_face().outer_loop, :2], window)
    outside = cv2.distanceTransform(1 - oval, cv2.DIST_L2, 3) - cv2.distanceTransform(oval, cv2.DIST_L2, 3)
    beside = np.clip(0.5 + outside / (2 * max(OVAL_RAMP_CM * face.scale, 1.0)), 0.0, 1.0)
    blur = MATTE_BLUR_CM * face.scale
    matte = (hair * beside * person).astype(np.float32)
    return cv2.GaussianBlur(matte, (0, 0), blur) if blur >= 0.3 else matte


def behind_hair(rgba: np.ndarray, strap_coverage: np.ndarray, rgb: np.ndarray, face: FittedFace,
                window: Window, person: tuple[Window, np.ndarray]) -> np.ndarray:
    """The mask render of `window` ((h, w, 4) straight alpha) with its visible strap pixels cut where hair
    lies in front. `strap_coverage` (h, w) is the straps' alone, hidden where the mask or the head is in
    front; `rgb` is the whole (H, W, 3) uint8 photo; `person` is `person_about`'s segmentation."""
    rows, cols = np.nonzero(strap_coverage > 0)
    if not len(rows):
        return rgba
    pad = int(np.ceil((OVAL_RAMP_CM + 3 * MATTE_BLUR_CM) * face.scale)) + 1
    x0, y0 = max(cols.min() - pad, 0), max(rows.min() - pad, 0)
    x1, y1 = min(cols.max() + pad + 1, window.width), min(rows.max() + pad + 1, window.height)
    region = Window.from_corners(window.x + x0, window.y + y0, window.x + x1, window.y + y1)
    matte = hair_matte(rgb, face, region, person_in(person, region))
    cut = rgba.copy()
    alpha = cut[y0:y1, x0:x1, 3]
    alpha[:] = np.clip(alpha - np.clip(strap_coverage[y0:y1, x0:x1], 0.0, 1.0) * matte, 0.0, 1.0)
    return cut


def straps_under_hair(window: Window, strap_coverage: np.ndarray, strap_points: np.ndarray, rgba: np.ndarray,
                      rgb: np.ndarray, face: FittedFace, people: Callable[[], PersonModel]) -> np.ndarray:
    """The mask render `rgba` of `window` with its straps cut where the photo `rgb` shows hair in front of
    them (`people()`, asked for only then, tells the person from the background). `strap_coverage` (h, w)
    is the straps' own, drawn in the same pass (`Rendered.straps`: hidden where the fabric or the head is
    in front), `strap_points` (N, 2) their vertices in the image; only the strips beside the face's oval
    that they reach are looked at (the matte is 0 inside it)."""
    if not strap_coverage.any():
        return rgba
    oval_x = face.landmarks[canonical_face().outer_loop, 0]
    reach = (OVAL_RAMP_CM + 3 * MATTE_BLUR_CM) * face.scale + 2
    cut, person = rgba, None
    for low, high in ((window.x, oval_x.min() + reach), (oval_x.max() - reach, window.x + window.width)):
        beside = strap_points[(strap_points[:, 0] >= low) & (strap_points[:, 0] < high)]
        if not len(beside):
            continue
        x0 = max(int(np.floor(max(low, beside[:, 0].min() - 2))), window.x)
        x1 = min(int(np.ceil(min(high, beside[:, 0].max() + 3))), window.x + window.width)
        y0 = max(int(np.floor(beside[:, 1].min())) - 2, window.y)
        y1 = min(int(np.ceil(beside[:, 1].max())) + 3, window.y + window.height)
        if x1 <= x0 or y1 <= y0:
            continue
        rows, cols = slice(y0 - window.y, y1 - window.y), slice(x0 - window.x, x1 - window.x)
        cut = cut.copy() if cut is rgba else cut
        person = person_about(people(), rgb, face) if person is None else person
        cut[rows, cols] = behind_hair(cut[rows, cols], strap_coverage[rows, cols], rgb, face,
                                      Window.from_corners(x0, y0, x1, y1), person)
    return cut
