"""Which mask each face wears: the mask, its wearing style, colour, texture and seeded tone variation.

Every random draw comes from one generator seeded with the image's seed, so a draw is repeatable,
and each face's draw is recorded in the JSON.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from render3d.colourspace import hex_to_rgb, srgb_to_linear
from render3d.errors import MaskError, OptionError
from render3d.kinds import WEAR_STYLES, Wear
from render3d.mask.library import available_masks, load_mask_spec, resolve_mask
from render3d.mask.wear import WEAR_ALIASES, resolve_wear

WEAR_STREAM = 1             # wear draws use their own stream, so masks and tints are drawn as for one wear
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


def parse_weights(text: str, what: str = "mask") -> dict[str, float]:
    """'surgical=3,n95=1' -> {'surgical': 3.0, 'n95': 1.0}."""
    weights = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        name, _, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise MaskError(f"{what} weight {item!r} is not NAME=NUMBER") from None
        if weights[name.strip()] < 0:
            raise MaskError(f"{what} weight {item!r} is negative")
    return weights


def weighted_draws(weights: str, names: list[str], count: int, rng: np.random.Generator, what: str,
                   aliases: dict[str, str] | None = None) -> list[str]:
    """`count` names drawn from `names` by the weights 'a=3,b=1' (all equally when empty); names left out
    of the weights are not drawn, and each alias's weight goes to the name it stands for."""
    table = {}
    for name, weight in (parse_weights(weights, what) if weights else dict.fromkeys(names, 1.0)).items():
        name = (aliases or {}).get(name, name)
        if name not in names:
            raise MaskError(f"unknown {what} {name!r} in weights; choose from: {', '.join(sorted(names))}")
        table[name] = table.get(name, 0.0) + weight
    drawn = sorted(n for n in table if table[n] > 0)
    if not drawn:
        raise MaskError(f"{what} weights are all zero")
    p = np.array([table[n] for n in drawn])
    return [drawn[i] for i in rng.choice(len(drawn), size=count, p=p / p.sum())]


def base_tint(base_color: tuple[int, int, int], color: str | None) -> np.ndarray:
    """Multiplier that turns an albedo of `base_color` into `color` (both sRGB), in linear RGB."""
    if color is None:
        return np.ones(3)
    target = srgb_to_linear(np.array(hex_to_rgb(color)) / 255)
    base = srgb_to_linear(np.maximum(np.array(base_color), 1) / 255)
    return target / base


def choose_masks(mask: str, count: int, seed: int, *, weights: str = "", wear: str = "correct",
                 wear_weights: str = "", color: str | None = None, texture: Path | None = None,
                 vary: bool = True, mask_dirs: tuple[Path, ...] = ()) -> list[MaskChoice]:
    """One choice per face. `mask` is a name, a mask file, or 'random' (weighted by `weights`); `wear` is a
    style, a MaskedFace-Net class name, or 'random' (weighted by `wear_weights`)."""
    if wear != "random" and resolve_wear(wear) not in WEAR_STYLES:
        raise OptionError(f"unknown wear {wear!r}; choose one of: {', '.join(WEAR_STYLES + tuple(WEAR_ALIASES))}, "
                          "random")
    if wear_weights and wear != "random":
        raise OptionError("wear weights are for --wear random")
    if color is not None:
        try:
            hex_to_rgb(color)
        except MaskError as exc:
            raise OptionError(str(exc)) from None
    if texture is not None and not Path(texture).is_file():
        raise MaskError(f"texture {texture} does not exist")
    rng = np.random.default_rng(seed)
    if mask != "random":
        resolve_mask(mask, mask_dirs)
    if mask == "random":
        picks = weighted_draws(weights, sorted(available_masks(mask_dirs)), count, rng, "mask")
    else:
        picks = [mask] * count
    try:
        wears = ([resolve_wear(wear)] * count if wear != "random" else
                 weighted_draws(wear_weights, list(WEAR_STYLES), count, np.random.default_rng([seed, WEAR_STREAM]),
                                "wear", WEAR_ALIASES))
    except MaskError as exc:                # the wear is an option, not a mask: bad usage (exit 2)
        raise OptionError(str(exc)) from None
    choices = []
    for name, worn in zip(picks, wears):
        path = resolve_mask(name, mask_dirs)
        tint = base_tint(load_mask_spec(path).color, color)
        if vary:
            tint = tint * np.exp(rng.normal(0, TONE_SPREAD) + rng.normal(0, CHANNEL_SPREAD, 3))
        choices.append(MaskChoice(load_mask_spec(path).name, path, worn, tuple(float(t) for t in tint),
                                  color, Path(texture) if texture else None))
    return choices
