"""Colour spaces: the exact sRGB transfer curve both ways, Rec. 709 luminance, and #RRGGBB parsing.

Every conversion between 8-bit sRGB and linear RGB in the engine goes through here, and the mask
shader (`render/shaders/mask.frag`) evaluates the same piecewise curve (IEC 61966-2-1).
"""
from __future__ import annotations

import numpy as np

from render3d.errors import MaskError

# Rec. 709 / sRGB luminance weights of linear R, G, B.
LUMINANCE = np.array([0.2126, 0.7152, 0.0722])


def srgb_to_linear(values: np.ndarray) -> np.ndarray:
    """Linear RGB of sRGB-encoded values in [0, 1] (any shape), float32."""
    values = np.asarray(values, np.float32)
    return np.where(values <= 0.04045, values / 12.92, ((values + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(values: np.ndarray) -> np.ndarray:
    """sRGB-encoded values in [0, 1] of linear RGB (any shape; clipped to [0, 1] first), float32."""
    values = np.clip(np.asarray(values, np.float32), 0, 1)
    return np.where(values <= 0.0031308, values * 12.92, 1.055 * values ** (1 / 2.4) - 0.055)


# Linear value of each 8-bit sRGB code, for `cv2.LUT` and fancy indexing: (256,) float32.
LINEAR_LUT = srgb_to_linear(np.arange(256) / 255.0).astype(np.float32)


def luminance(linear_rgb: np.ndarray) -> np.ndarray:
    """Luminance of (..., 3) linear RGB: shape (...)."""
    return np.asarray(linear_rgb) @ LUMINANCE


def hex_to_rgb(text: str) -> tuple[int, int, int]:
    """'#RRGGBB' (the '#' optional) -> (r, g, b) in 0..255; MaskError for anything else."""
    digits = text.strip().lstrip("#")
    if len(digits) != 6:
        raise MaskError(f"colour {digits!r} is not #RRGGBB")
    try:
        return tuple(int(digits[i:i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        raise MaskError(f"colour {digits!r} is not #RRGGBB") from None
