"""Composite: stack per-face RGBA renders into one layer, and lay it over the photo.

Work is confined to the union of the rendered windows and the shadows' window; the rest of the frame is untouched.
"""
from __future__ import annotations

import numpy as np

from render3d.geometry import Window, unpremultiply

SEGMENTATION_THRESHOLD = 0.5

def stack(renders: list[tuple[Window, np.ndarray]]) -> tuple[Window, np.ndarray]:
    """Lay straight-alpha RGBA windows over each other, in order, on their union."""
    region = Window.union([window for window, _ in renders])
    layer = np.zeros((region[3], region[2], 4), np.float32)
    for (x, y, w, h), rgba in renders:
        below = layer[y - region[1]:y - region[1] + h, x - region[0]:x - region[0] + w]
        top_alpha, below_alpha = rgba[..., 3:], below[..., 3:]
        alpha = top_alpha + below_alpha * (1 - top_alpha)
        colour = rgba[..., :3] * top_alpha + below[..., :3] * below_alpha * (1 - top_alpha)
        below[:] = unpremultiply(np.concatenate([colour, alpha], axis=2), min_alpha=0.0)
    return region, layer


def instance_ids(renders: list[tuple[Window, np.ndarray]], ids: list[int], shape: tuple[int, int]) -> np.ndarray:
    """(H, W) uint16: each face's id where its own alpha is 0.5 or more, later renders (nearer faces) on top."""
    instances = np.zeros(shape, np.uint16)
    for ((x, y, w, h), rgba), face_id in zip(renders, ids):
        box = instances[y:y + h, x:x + w]
        box[rgba[..., 3] >= SEGMENTATION_THRESHOLD] = face_id
    return instances


def full_frame_outputs(rgb: np.ndarray, region: Window | None, layer: np.ndarray | None,
                       shadow: tuple[Window, np.ndarray] | None = None):
    """Composite (H, W, 3), RGBA layer (H, W, 4) and segmentation (H, W), all uint8.

    `shadow` (its window, and that window's darkening in 0..1) darkens the photo under the layer:
    in the composite only.
    """
    h, w = rgb.shape[:2]
    composite, rgba, segmentation = rgb.copy(), np.zeros((h, w, 4), np.uint8), np.zeros((h, w), np.uint8)
    if region is None:
        return composite, rgba, segmentation
    box = region.slices
    alpha = layer[..., 3:]
    colour = np.round(np.clip(layer[..., :3], 0, 1) * 255) * (alpha > 0)
    rgba[box] = np.concatenate([colour, np.round(alpha * 255)], axis=2).astype(np.uint8)
    ox, oy, ow, oh = region if shadow is None else Window.union([region, shadow[0]])
    photo = rgb[oy:oy + oh, ox:ox + ow].astype(np.float32)
    if shadow is not None:
        (sx, sy, sw, sh), darkening = shadow
        photo[sy - oy:sy - oy + sh, sx - ox:sx - ox + sw] *= 1 - darkening[..., None]
    x, y, rw, rh = region
    under = photo[y - oy:y - oy + rh, x - ox:x - ox + rw]
    under[:] = under * (1 - alpha) + layer[..., :3] * 255 * alpha
    composite[oy:oy + oh, ox:ox + ow] = np.round(photo).astype(np.uint8)
    segmentation[box] = np.where(alpha[..., 0] >= SEGMENTATION_THRESHOLD, 255, 0)
    return composite, rgba, segmentation
