"""Which mask each face wears: the mask, its wearing style, colour, texture and seeded tone variation.

Every random draw comes from one generator seeded with the image's seed, so a draw is repeatable,
and each face's draw is recorded in the JSON.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from render3d.colourspace import hex_to_rgb, srgb_to_linear
from render3d.errors import MaskError
from render3d.kinds import WEAR_STYLES, Wear
from render3d.mask.library import available_masks, canonical_mask_name, load_mask_spec, resolve_mask

TONE_SPREAD = 0.05          # standard deviation of the seeded brightness variation
CHANNEL_SPREAD = 0.02       # and of each channel's, around it


@dataclass(frozen=True)
class MaskChoice:
    """One face's draw: the mask, how it is worn, its tint, colour and texture."""
    name: str
    path: Path
    wear: Wear
    tint: tuple[float, float, float]      # linear-RGB multiplier of the recolourable parts' albedo
    color: str | None                     # the requested #RRGGBB, if any
    texture: Path | None                  # replacement albedo of the recolourable parts


def parse_weights(text: str) -> dict[str, float]:
    """'surgical=3,n95=1' -> {'surgical': 3.0, 'n95': 1.0}."""
    weights = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, _, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise MaskError(f"mask weight {item!r} is not NAME=NUMBER") from None
        if weights[name.strip()] < 0:
            raise MaskError(f"mask weight {item!r} is negative")
    return weights


def base_tint(base_color: tuple[int, int, int], color: str | None) -> np.ndarray:
    """Multiplier that turns an albedo of `base_color` into `color` (both sRGB), in linear RGB."""
    if color is None:
        return np.ones(3)
    target = srgb_to_linear(np.array(hex_to_rgb(color)) / 255)
    base = srgb_to_linear(np.maximum(np.array(base_color), 1) / 255)
    return target / base


def choose_masks(mask: str, count: int, seed: int, *, weights: str = "", wear: str = "correct",
                 color: str | None = None, texture: Path | None = None, vary: bool = True,
                 mask_dirs: tuple[Path, ...] = ()) -> list[MaskChoice]:
    """One choice per face. `mask` is a name, a mask file, or 'random' (weighted by `weights`)."""
    if wear not in WEAR_STYLES:
        raise MaskError(f"unknown wear {wear!r}; choose one of: {', '.join(WEAR_STYLES)}")
    if texture is not None and not Path(texture).is_file():
        raise MaskError(f"texture {texture} does not exist")
    rng = np.random.default_rng(seed)
    if mask != "random":
        resolve_mask(mask, mask_dirs)
    if mask == "random":
        library = available_masks(mask_dirs)
        table = {canonical_mask_name(name, library): weight for name, weight in parse_weights(weights).items()} \
            if weights else {name: 1.0 for name in library}
        unknown = sorted(set(table) - set(library))
        if unknown:
            raise MaskError(f"unknown mask {unknown[0]!r} in weights; choose from: {', '.join(sorted(library))}")
        names = sorted(n for n in table if table[n] > 0)
        if not names:
            raise MaskError("mask weights are all zero")
        p = np.array([table[n] for n in names])
        picks = [names[i] for i in rng.choice(len(names), size=count, p=p / p.sum())]
    else:
        picks = [mask] * count
    choices = []
    for name in picks:
        path = resolve_mask(name, mask_dirs)
        tint = base_tint(load_mask_spec(path).color, color)
        if vary:
            tint = tint * np.exp(rng.normal(0, TONE_SPREAD) + rng.normal(0, CHANNEL_SPREAD, 3))
        choices.append(MaskChoice(load_mask_spec(path).name, path, wear, tuple(float(t) for t in tint),
                                  color, Path(texture) if texture else None))
    return choices
