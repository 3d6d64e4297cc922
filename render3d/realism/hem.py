"""The mask's edge as a hem: fabric of some thickness, not a cut-out.

A mask's edge is folded or bound: a band along the outline stands off the body, catches more light
(most on the side turned toward the key light, least on the side turned away) and steps down to the
body in a groove that the band shades. Both are drawn in the image, from the render's coverage: the
band runs inward from the fabric's outline, as wide as a hem on the face's scale; ear loops and head
straps (`render3d.render.outline.straps`) keep their own shading. The outline's pixels keep the band's colour
(no dark or light fringe) and the coverage is unchanged.
"""
from __future__ import annotations

import cv2
import numpy as np

from render3d.realism.shadow import cast_direction
from render3d.render.outline import inward_distance, outward, straps

HEM_CM = 0.3                   # width of the band, inward from the outline
GROOVE_CM = 0.05               # the groove's spread (Gaussian sigma) where the band meets the body
MIN_PIXELS = 0.6               # the narrowest band and groove drawn, pixels
LIFT = 0.02                    # the band's extra light, facing the camera (more reads as a halo)
TOWARD_LIGHT = 0.04            # and its change with the side's turn toward (+) or from (-) the key light
GROOVE = 0.12                  # darkening at the groove's deepest


def relief(alpha: np.ndarray, scale: float, sh: np.ndarray) -> np.ndarray:
    """(h, w) float32 factor on the colour of a mask render with coverage `alpha` (h, w) in [0, 1], at
    `scale` pixels per cm, lit by (9, 3) SH: above 1 on the hem's band, below 1 in its groove, 1 on
    the body, the thin parts and outside."""
    distance = inward_distance(alpha)
    band_width = max(HEM_CM * scale, MIN_PIXELS)
    spread = max(GROOVE_CM * scale, MIN_PIXELS)
    depth = GROOVE * GROOVE_CM * scale / spread         # a groove narrower than a pixel darkens it less
    # The band: full up to its width (the first covered pixel lies 1 px in), then the groove.
    inside = distance - 0.5
    band = np.clip((band_width - inside) / spread + 0.5, 0.0, 1.0)
    groove = np.exp(-0.5 * ((inside - band_width) / spread) ** 2)
    # Which way each stretch of the outline faces in the image: down the distance's slope.
    smooth = cv2.GaussianBlur(distance, (0, 0), max(spread, 1.0))
    faces = outward(smooth)
    away, directionality = cast_direction(sh)
    facing = -(faces[0] * away[0] + faces[1] * away[1]) * directionality
    factor = 1.0 + band * (LIFT + TOWARD_LIGHT * facing) - depth * groove
    return np.where((distance > 0) & ~straps(alpha, scale), factor, 1.0).astype(np.float32)


def hemmed(rgba: np.ndarray, scale: float, sh: np.ndarray) -> np.ndarray:
    """A straight-alpha (h, w, 4) float mask render with its edge drawn as a hem (a new array)."""
    out = rgba.copy()
    out[..., :3] = np.clip(rgba[..., :3] * relief(rgba[..., 3], scale, sh)[..., None], 0.0, 1.0)
    return out
