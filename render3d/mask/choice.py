"""Which mask each face wears: the mask, its wearing style, colour, texture, print, seeded tone and creases.

Every random draw comes from generators seeded with the image's seed, so a draw is repeatable, and each
face's draw is recorded in the JSON. With variation on, no two faces of one image wear the same look
(mask, palette colour and print) while another draw can give them different ones.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from render3d.colourspace import LUMINANCE, hex_to_rgb, srgb_to_linear
from render3d.errors import MaskError, OptionError
from render3d.kinds import WEAR_STYLES, Wear
from render3d.mask.library import (
    MASK_ALIASES,
    MaskPart,
    available_masks,
    is_number,
    load_mask_spec,
    read_texture,
    resolve_mask,
)
from render3d.mask.patterns import PrintDraw, check_pattern, draw_print, print_reduction, printed_albedo, seeded_pattern
from render3d.mask.wear import WEAR_ALIASES, resolve_wear

WEAR_STREAM = 1             # wear draws use their own stream, so masks and tints are drawn as for one wear
PRINT_STREAM = 2            # and so do prints
DISTINCT_TRIES = 32         # redraws of a face whose look another face of the image already wears
TONE_SPREAD = 0.05          # standard deviation of the seeded brightness variation
CHANNEL_SPREAD = 0.05       # and of each channel's, around it (one maker's blue is another's teal),
NEUTRAL_CHROMA = 0.3        # in full below this chroma ((max - min) / max of linear RGB) it shrinks in
NEUTRAL_SPREAD = 0.2        # proportion, to this share at none: a white or grey fabric stays white or grey
# Colours real masks come in (sRGB): pale surgical blues and greens, white, greys, black, navy, pink,
# beige, olive, burgundy. Without --color, this share of the seeded draws recolours the fabric with one.
PALETTE = ("#a4cfe5", "#b3d4ea", "#9fd1c7", "#f2f2f0", "#c9cbcd", "#8a8d91", "#3a3b3f", "#1e1e20",
           "#25304a", "#e8b4c0", "#d8c4a8", "#5d6448", "#6b2a36")
PALETTE_SHARE = 0.25
MAX_BRIGHTEN = 4.0          # a fabric is recoloured at most this much lighter (linear luminance): dark prints stay dark
# Seeded creases of the fabric (texture space, the mask's u, v in [0, 1]): a few pulled from the loop
# corners toward the middle, a few loose ones anywhere, and one or two broad buckles where the fabric
# bridges a hollow (light and shadow over centimetres, not a line). Depth is the crease's peak slope:
# deep and wide enough to read on a dataset-sized face (shallower ones left the fabric looking flat).
CORNERS = np.array([[0.04, 0.85], [0.96, 0.85], [0.04, 0.15], [0.96, 0.15]])
CORNER_CREASES = (1, 3)     # how many per mask, at least and at most
LOOSE_CREASES = (2, 4)
CREASE_DEPTH = (1.6, 2.8)
CREASE_WIDTH = (0.02, 0.045)
CREASE_LENGTH = (0.08, 0.22)
BUCKLES = (1, 2)
BUCKLE_DEPTH = (0.4, 0.8)
BUCKLE_WIDTH = (0.07, 0.12)
BUCKLE_LENGTH = (0.12, 0.25)
MAX_CREASES = CORNER_CREASES[1] + LOOSE_CREASES[1] + BUCKLES[1]


@dataclass(frozen=True)
class MaskChoice:
    """One face's draw: the mask, how it is worn, its tint, colour and texture."""
    name: str
    path: Path
    wear: Wear
    tint: tuple[float, float, float]      # linear-RGB multiplier of the recolourable parts' albedo
    color: str | None                     # the requested #RRGGBB, if any
    texture: Path | None                  # replacement albedo of the recolourable parts
    shade: str | None = None              # the PALETTE colour a seeded draw recoloured the fabric to, if any
    creases: np.ndarray = field(default_factory=lambda: np.zeros((0, 6), np.float32))
    # (C, 6) per crease: u, v of its centre, angle (radians, in texture space), depth, width, half length
    print: PrintDraw | None = None        # the print on the fabric, if any
    fabric_tint: tuple[float, float, float] = (1.0, 1.0, 1.0)   # linear recolouring of the fabric under a print
    color_weight: float = 1.0             # blend of `color` with the fabric's own colour
    outline: int | None = None            # seed of the outline's own course (`render3d.render.outline`), if varied

    def look(self) -> tuple:
        """What tells this face's mask apart at a glance: the mask, its palette colour and its print."""
        return self.name, self.shade, self.print.pattern if self.print else None, \
            self.print.colourway if self.print else None

    def fabric(self, part: MaskPart, base_color: tuple[int, int, int],
               scale: float | None = None) -> tuple[str, np.ndarray]:
        """A recolourable part's texture-cache key and (H, W, 3) uint8 albedo: its own, the --texture, and the
        print laid over either (shaded by the part's print map, or by the albedo against `base_color`). With
        the face's `scale` (pixels per cm), a print is laid on the albedo shrunk to the texels that face shows."""
        key, albedo, print_map = part.key, part.albedo, part.print_map
        if self.texture is not None:
            key, albedo, print_map = f"{self.texture}", read_texture(self.texture), None
            base_color = tuple(int(c) for c in np.median(albedo.reshape(-1, 3), axis=0))
        if self.print is None or self.print.weight == 0:       # no print, or one blended in at naught
            return key, albedo
        reduction = print_reduction(albedo.shape[:2], part.uv_cm, scale)
        if reduction > 1:
            import cv2

            size = (max(albedo.shape[1] // reduction, 1), max(albedo.shape[0] // reduction, 1))
            albedo = cv2.resize(albedo, size, interpolation=cv2.INTER_AREA)
            print_map = None if print_map is None else cv2.resize(print_map, size, interpolation=cv2.INTER_AREA)
        return (f"{key}:{self.print}:{self.fabric_tint}:{reduction}",
                printed_albedo(albedo, print_map, base_color, part.uv_cm, self.print, np.array(self.fabric_tint)))


def draw_creases(rng: np.random.Generator) -> np.ndarray:
    """(C, 6) seeded creases: stretch lines from the loop corners toward the middle, loose ones, and
    broad buckles."""
    corners = CORNERS[rng.choice(len(CORNERS), rng.integers(CORNER_CREASES[0], CORNER_CREASES[1] + 1))]
    inward = np.arctan2(0.5 - corners[:, 1], 0.5 - corners[:, 0]) + rng.normal(0, 0.25, len(corners))
    length = rng.uniform(*CREASE_LENGTH, len(corners))
    centres = corners + length[:, None] * np.c_[np.cos(inward), np.sin(inward)]
    loose = rng.integers(LOOSE_CREASES[0], LOOSE_CREASES[1] + 1)
    centres = np.concatenate([centres, rng.uniform(0.15, 0.85, (loose, 2))])
    angles = np.concatenate([inward, rng.uniform(0, np.pi, loose)])
    count = len(centres)
    creases = np.column_stack([centres, angles, rng.uniform(*CREASE_DEPTH, count), rng.uniform(*CREASE_WIDTH, count),
                               np.concatenate([length, rng.uniform(*CREASE_LENGTH, loose)])])
    buckles = rng.integers(BUCKLES[0], BUCKLES[1] + 1)
    broad = np.column_stack([rng.uniform(0.2, 0.8, (buckles, 2)), rng.uniform(0, np.pi, buckles),
                             rng.uniform(*BUCKLE_DEPTH, buckles), rng.uniform(*BUCKLE_WIDTH, buckles),
                             rng.uniform(*BUCKLE_LENGTH, buckles)])
    return np.concatenate([creases, broad]).astype(np.float32)

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
                   aliases: dict[str, str] | None = None, defaults: dict[str, float] | None = None) -> list[str]:
    """`count` names drawn from `names` by the weights 'a=3,b=1' (when empty: by `defaults`, or all
    equally); names left out of the weights are not drawn, and each alias's weight goes to the name it
    stands for."""
    table = {}
    for name, weight in (parse_weights(weights, what) if weights else defaults or dict.fromkeys(names, 1.0)).items():
        name = (aliases or {}).get(name, name)
        if name not in names:
            raise MaskError(f"unknown {what} {name!r} in weights; choose from: {', '.join(sorted(names))}")
        table[name] = table.get(name, 0.0) + weight
    drawn = sorted(n for n in table if table[n] > 0)
    if not drawn:
        raise MaskError(f"{what} weights are all zero")
    p = np.array([table[n] for n in drawn])
    return [drawn[i] for i in rng.choice(len(drawn), size=count, p=p / p.sum())]


def fabric_linear(base_color: tuple[int, int, int]) -> np.ndarray:
    """A fabric's sRGB base colour in linear RGB, each channel floored at 1 so that none is black."""
    return srgb_to_linear(np.maximum(np.array(base_color), 1) / 255)


def base_tint(base_color: tuple[int, int, int], color: str | None, weight: float = 1.0) -> np.ndarray:
    """Multiplier that turns an albedo of `base_color` into `color` (both sRGB), in linear RGB; `weight`
    blends it with the albedo's own colour (0: unchanged, 1: `color`)."""
    if color is None:
        return np.ones(3)
    target = srgb_to_linear(np.array(hex_to_rgb(color)) / 255)
    return 1 + weight * (target / fabric_linear(base_color) - 1)


def channel_share(base_color: tuple[int, int, int], tint: np.ndarray) -> float:
    """How much of CHANNEL_SPREAD a fabric of `base_color` (sRGB) tinted by `tint` (linear) takes: all of it
    from NEUTRAL_CHROMA up, down to NEUTRAL_SPREAD for a neutral one."""
    linear = fabric_linear(base_color) * tint
    chroma = float((linear.max() - linear.min()) / linear.max())
    return NEUTRAL_SPREAD + (1 - NEUTRAL_SPREAD) * min(chroma / NEUTRAL_CHROMA, 1.0)


def palette_for(base_color: tuple[int, int, int]) -> list[str]:
    """The PALETTE colours a fabric of `base_color` (sRGB) can be recoloured to (never empty)."""
    base = fabric_linear(base_color) @ LUMINANCE
    shades = [c for c in PALETTE if srgb_to_linear(np.array(hex_to_rgb(c)) / 255) @ LUMINANCE <= MAX_BRIGHTEN * base]
    return shades or [min(PALETTE, key=lambda c: sum(hex_to_rgb(c)))]


def choose_masks(mask: str, count: int, seed: int, *, weights: str = "", wear: str = "correct",
                 wear_weights: str = "", color: str | None = None, texture: Path | None = None,
                 vary: bool = True, mask_dirs: tuple[Path, ...] = (), pattern: str | None = None,
                 pattern_weight: float = 1.0, color_weight: float = 1.0) -> list[MaskChoice]:
    """One choice per face. `mask` is a name, a mask file, or 'random' (weighted by `weights`); `wear` is a
    style, a MaskedFace-Net class name, or 'random' (weighted by `wear_weights`). `pattern` (a library
    pattern, 'random' or an image file) prints every face at `pattern_weight`; without it, seeded draws
    print a mask's share of faces (its `prints`). `color_weight` blends `color` with the fabric."""
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
    if pattern is not None:
        check_pattern(pattern)
    for name, weight in (("pattern_weight", pattern_weight), ("color_weight", color_weight)):
        if not is_number(weight) or not 0.0 <= weight <= 1.0:
            raise OptionError(f"{name} must be a number in [0, 1], got {weight!r}")
    rng = np.random.default_rng(seed)
    print_rng = np.random.default_rng([seed, PRINT_STREAM])
    if mask != "random":
        resolve_mask(mask, mask_dirs)
    if mask == "random":
        library = available_masks(mask_dirs)
        aliases = {alias: name for alias, name in MASK_ALIASES.items() if alias not in library}
        prevalence = None if weights else {name: load_mask_spec(path).prevalence for name, path in library.items()}
        picks = weighted_draws(weights, sorted(library), count, rng, "mask", aliases, prevalence)
    else:
        picks = [mask] * count
    try:
        wears = ([resolve_wear(wear)] * count if wear != "random" else
                 weighted_draws(wear_weights, list(WEAR_STYLES), count, np.random.default_rng([seed, WEAR_STREAM]),
                                "wear", WEAR_ALIASES))
    except MaskError as exc:                # the wear is an option, not a mask: bad usage (exit 2)
        raise OptionError(str(exc)) from None
    choices, seen = [], set()
    for name, worn in zip(picks, wears):
        path = resolve_mask(name, mask_dirs)
        for _ in range(DISTINCT_TRIES):
            choice = draw_choice(path, worn, rng, print_rng, color, color_weight, texture, vary, pattern,
                                 pattern_weight)
            if not vary or choice.look() not in seen:
                break
        seen.add(choice.look())
        choices.append(choice)
    return choices


def draw_choice(path: Path, worn: Wear, rng: np.random.Generator, print_rng: np.random.Generator,
                color: str | None, color_weight: float, texture: Path | None, vary: bool, pattern: str | None,
                pattern_weight: float) -> MaskChoice:
    """One face's draw of the mask at `path`: its tint (colour, seeded palette colour and tone), creases from
    `rng`, and its print from `print_rng` (see `choose_masks`)."""
    spec = load_mask_spec(path)
    printed = None
    if pattern is not None:
        printed = draw_print(print_rng, pattern, pattern_weight, vary)
    elif vary and color is None and texture is None and spec.print_share > 0 and print_rng.random() < spec.print_share:
        printed = draw_print(print_rng, seeded_pattern(print_rng, spec.print_kinds), 1.0)
    tint = base_tint(spec.color, color, color_weight)
    creases, shade, tone, outline = np.zeros((0, 6), np.float32), None, np.ones(3), None
    if vary:
        recolour = rng.random() < PALETTE_SHARE and color is None and texture is None and printed is None
        shades = palette_for(spec.color)
        drawn = shades[rng.integers(len(shades))]
        if recolour:
            shade, tint = drawn, base_tint(spec.color, drawn)
        brightness = rng.normal(0, TONE_SPREAD)
        tone = np.exp(brightness + rng.normal(0, CHANNEL_SPREAD, 3) * channel_share(spec.color, tint))
        creases = draw_creases(rng)
        outline = int(rng.integers(2 ** 31))
    fabric_tint = np.ones(3)
    if printed is not None:                 # the colour goes under the print, the tone over both
        fabric_tint, tint = tint, np.ones(3)
    return MaskChoice(spec.name, path, worn, tuple(float(t) for t in tint * tone), color,
                      Path(texture) if texture else None, shade, creases, printed,
                      tuple(float(t) for t in fabric_tint), color_weight, outline)
