"""Fabric detail map: the fine weave relief and fibre shade that every recolourable fabric shares.

One tileable square; the mask shader repeats it `render.renderer.DETAIL_REPEAT` times across a body
texture, so its threads are about half a millimetre wide on the face, and mipmapping fades them where
a photo is too small to show them. Channels: red and green hold the tangent-space normal's x and y
(as in the normal maps), blue the fibres' shade around mid-grey (128: the albedo as it is).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from render3d._paths import DETAIL_TEXTURE
from render3d.assetgen.textures import BODY_CM, noise, normal_map, weave
from render3d.render.renderer import DETAIL_REPEAT

DETAIL_SIZE = (128, 128)
THREAD_PERIOD_PX = 8.0          # 16 threads across the tile
WEAVE_DEPTH_CM = 0.004          # thread relief
FUZZ_DEPTH_CM = 0.002           # relief of the loose fibres lying on it
SHADE_SPREAD = 0.35             # the fibres' shade around the albedo (share of mid-grey)


def fabric_detail() -> np.ndarray:
    """The (DETAIL_SIZE) uint8 detail map: normal x, y in red and green, fibre shade in blue."""
    tile_cm = (BODY_CM[0] / DETAIL_REPEAT[0], BODY_CM[1] / DETAIL_REPEAT[1])
    threads = weave(DETAIL_SIZE, THREAD_PERIOD_PX)
    # Loose fibres, streaked along the rows, and fuzz.
    fuzz = 0.6 * noise(DETAIL_SIZE, (0.7, 2.5), seed=91) + 0.4 * noise(DETAIL_SIZE, 1.2, seed=92)
    # The relief's slopes with wrapped neighbours at the tile's sides, so that it tiles.
    padded = np.pad(WEAVE_DEPTH_CM * threads + FUZZ_DEPTH_CM * fuzz, 1, mode="wrap")
    detail = normal_map(padded, (tile_cm[0] * padded.shape[1] / DETAIL_SIZE[0],
                                 tile_cm[1] * padded.shape[0] / DETAIL_SIZE[1]))[1:-1, 1:-1]
    shade = 0.5 * threads / np.abs(threads).max() + 0.5 * fuzz / np.abs(fuzz).max()
    detail[..., 2] = np.round(127.5 * (1 + SHADE_SPREAD * shade)).clip(0, 255).astype(np.uint8)
    return detail


def build(path: Path = DETAIL_TEXTURE) -> Path:
    """Write the detail map to `path` (PNG, identical on rebuild)."""
    Image.fromarray(fabric_detail()).save(path, format="PNG")
    return path
