"""Composite: stack per-face RGBA renders into one layer, and lay it over the photo."""
from __future__ import annotations

import numpy as np

SEGMENTATION_THRESHOLD = 0.5


def over(layer: np.ndarray, window: tuple[int, int, int, int], rgba: np.ndarray) -> None:
    """Put a straight-alpha RGBA window over the full-frame float layer, in place."""
    x0, y0, w, h = window
    below = layer[y0:y0 + h, x0:x0 + w]
    top_alpha, below_alpha = rgba[..., 3:], below[..., 3:]
    alpha = top_alpha + below_alpha * (1 - top_alpha)
    colour = rgba[..., :3] * top_alpha + below[..., :3] * below_alpha * (1 - top_alpha)
    below[..., :3] = np.where(alpha > 0, colour / np.maximum(alpha, 1e-6), 0.0)
    below[..., 3:] = alpha


def layer_to_rgba8(layer: np.ndarray) -> np.ndarray:
    """Straight-alpha float layer -> RGBA uint8, colour zeroed where fully transparent."""
    rgba = np.round(np.clip(layer, 0, 1) * 255).astype(np.uint8)
    rgba[rgba[..., 3] == 0, :3] = 0
    return rgba


def composite(rgb: np.ndarray, layer: np.ndarray) -> np.ndarray:
    """The photo with the mask layer laid over it, uint8."""
    alpha = layer[..., 3:]
    mixed = rgb.astype(np.float32) / 255 * (1 - alpha) + layer[..., :3] * alpha
    return np.round(mixed * 255).astype(np.uint8)


def segmentation(layer: np.ndarray) -> np.ndarray:
    """Binary mask image: 255 where the mask covers at least half a pixel."""
    return np.where(layer[..., 3] >= SEGMENTATION_THRESHOLD, 255, 0).astype(np.uint8)
