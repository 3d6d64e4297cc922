"""Contact shadow: a faint darkening of the skin just above the mask's upper edge.

The mask's coverage, moved a little toward the top of the head and softened, darkens the photo
where the mask is not. It belongs to the photo, not to the mask: the composite has it, the RGBA
layer (colour and coverage of the mask alone) and the segmentation do not.
"""
from __future__ import annotations

import cv2
import numpy as np

from render3d.face.fitting import FittedFace
from render3d.tolerances import DIRECTION_FLOOR

OFFSET_CM = 0.12               # how far the shadow reaches past the edge, toward the top of the head
SOFTNESS_CM = 0.12             # its blur
STRENGTH = 0.3                 # darkening right at the edge


def reach(fitted: FittedFace) -> int:
    """Pixels the shadow extends beyond the mask."""
    return int(np.ceil((OFFSET_CM + 3 * SOFTNESS_CM) * fitted.scale))


def contact_shadow(coverage: np.ndarray, fitted: FittedFace, strength: float = STRENGTH) -> np.ndarray:
    """(h, w) darkening in [0, 1] around one face's mask coverage (h, w) in [0, 1]."""
    up = fitted.rotation[:2, 1]                         # the canonical up axis, in image x, y (y down)
    up = up / max(float(np.linalg.norm(up)), DIRECTION_FLOOR)
    shift = up * OFFSET_CM * fitted.scale
    moved = cv2.warpAffine(coverage.astype(np.float32), np.array([[1, 0, shift[0]], [0, 1, shift[1]]], np.float32),
                           coverage.shape[::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    soft = cv2.GaussianBlur(moved, (0, 0), max(SOFTNESS_CM * fitted.scale, 0.5))
    return np.clip(strength * soft * (1 - coverage), 0, 1)
