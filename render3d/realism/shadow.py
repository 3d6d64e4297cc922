"""Shadows of the mask on the skin: contact darkening along its edges and a soft cast shadow.

Contact: the mask's coverage, softened (and moved a little toward the top of the head, where the
upper edge rests on the skin), darkens the photo just outside every edge. Cast: the coverage moved
away from the light, in the image plane, and blurred, darkens the cheeks, jaw and neck on the side
away from the light; its strength follows how directional the face's light is (the band-1 share of
the SH irradiance), down to AMBIENT_CAST of a fully directional light's: soft light, mostly from above,
still leaves the neck under the mask darker.

Shadows belong to the photo, not to the mask: the composite has them, the RGBA layer (colour and
coverage of the mask alone) and the segmentation do not.
"""
from __future__ import annotations

import cv2
import numpy as np

from render3d.colourspace import LUMINANCE
from render3d.face.fitting import FittedFace

OFFSET_CM = 0.12               # how far the contact shadow is moved past the edge, toward the top of the head
SOFTNESS_CM = 0.12             # its blur
STRENGTH = 0.3                 # darkening right at the edge
CAST_CM = 0.7                  # how far a fully directional light moves the cast shadow (the mask's stand-off)
CAST_SOFTNESS_CM = 0.35        # its blur (the penumbra of a light the size of a window)
CAST_STRENGTH = 0.45           # darkening of a fully directional light
BLUR_PIXELS = 3.0              # blurs wider than this (sigma, pixels) are computed at reduced size
MIN_FROM_ABOVE = 0.35          # light in photos comes from above: the shadow falls at least this much down
AMBIENT_CAST = 0.6             # even soft light comes mostly from above: it casts at least this share of a
                               # fully directional light's shadow (the mask hides that sky from the neck)


def reach(fitted: FittedFace) -> int:
    """Pixels the shadows extend beyond the mask."""
    return int(np.ceil(max(OFFSET_CM + 3 * SOFTNESS_CM, CAST_CM + 3 * CAST_SOFTNESS_CM) * fitted.scale))


def shifted_blur(coverage: np.ndarray, shift: np.ndarray, sigma: float) -> np.ndarray:
    """(h, w) coverage moved by `shift` (image x, y pixels) and blurred with `sigma` pixels.

    Wide blurs are done on a copy reduced until the blur spans BLUR_PIXELS, then enlarged."""
    h, w = coverage.shape
    factor = min(1.0, BLUR_PIXELS / max(sigma, 1e-6))
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    small = coverage if factor == 1.0 else cv2.resize(coverage, size, interpolation=cv2.INTER_AREA)
    fx, fy = size[0] / w, size[1] / h
    moved = cv2.warpAffine(small, np.array([[1, 0, shift[0] * fx], [0, 1, shift[1] * fy]], np.float32),
                           size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    soft = cv2.GaussianBlur(moved, (0, 0), max(sigma * factor, 0.5))
    return soft if factor == 1.0 else cv2.resize(soft, (w, h), interpolation=cv2.INTER_LINEAR)


def cast_direction(sh: np.ndarray) -> tuple[np.ndarray, float]:
    """Image-plane direction (x right, y down, unit) the light casts shadows toward, and the light's
    directionality in [0, 1]: the band-1 luminance over the constant band, from (9, 3) SH."""
    band1 = sh[[3, 1, 2]] @ LUMINANCE                   # camera frame x, y (up), z
    directionality = float(np.clip(np.linalg.norm(band1) / max(float(sh[0] @ LUMINANCE), 1e-6), 0, 1))
    away = np.array([-band1[0], band1[1]])                # image x, y (down): opposite the light
    away[1] = max(away[1], MIN_FROM_ABOVE * max(float(np.linalg.norm(away)), 1e-6))
    return away / max(float(np.linalg.norm(away)), 1e-9), directionality


def mask_shadow(coverage: np.ndarray, fitted: FittedFace, sh: np.ndarray, strength: float = STRENGTH) -> np.ndarray:
    """(h, w) darkening in [0, 1] around one face's mask coverage (h, w) in [0, 1], lit by (9, 3) SH."""
    coverage = coverage.astype(np.float32)
    contact = strength * shifted_blur(coverage, fitted.up * OFFSET_CM * fitted.scale, SOFTNESS_CM * fitted.scale)
    away, directionality = cast_direction(sh)
    directionality = max(directionality, AMBIENT_CAST)
    cast = CAST_STRENGTH * directionality * shifted_blur(coverage, away * CAST_CM * directionality * fitted.scale,
                                                         CAST_SOFTNESS_CM * fitted.scale)
    lit = (1 - contact) * (1 - cast)
    return np.clip((1 - lit) * (1 - coverage), 0, 1)
