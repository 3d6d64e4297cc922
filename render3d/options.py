"""FitOptions: every choice a fit takes, checked once when they are made.

A bad value raises at construction, before any image is read: `MaskError` for the mask, its
weights and texture (exit code 6 on the command line), `OptionError` (a `ValueError`; exit code 2)
for the rest, the wear and colour included.
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

from render3d.colourspace import hex_to_rgb
from render3d.errors import MaskError, OptionError
from render3d.io.image_in import DEFAULT_MAX_PIXELS
from render3d.kinds import OCCLUDER_MODES, REALISM_MODES, REALISM_STAGES, OccluderMode, RealismMode, RealismStage
from render3d.mask.choice import MaskChoice, choose_masks, parse_weights


@dataclass(frozen=True)
class FitOptions:
    """Every option of a fit; bad values raise at construction (see the module)."""
    mask: str = "surgical"          # a mask name, a mask file, or 'random'
    seed: int = 0
    max_faces: int = 10
    mask_dirs: tuple[Path, ...] = ()
    max_pixels: int = DEFAULT_MAX_PIXELS
    mask_weights: str = ""          # 'surgical=3,n95=1' for random draws
    wear: str = "correct"           # correct, nose-out, chin, chin-out, a MaskedFace-Net class name, or 'random'
    wear_weights: str = ""          # 'correct=8,nose-out=1,chin=1' for random wear
    color: str | None = None        # '#RRGGBB' recolouring
    texture: Path | None = None     # replacement albedo texture
    pattern: str | None = None      # print every face: a library pattern, 'random' or an image file
    pattern_weight: float = 1.0     # blend of the pattern over the fabric, 0..1
    color_weight: float = 1.0       # blend of `color` with the fabric's own colour, 0..1
    vary: bool = True               # seeded variation of the colour tone
    min_iou: float | None = None    # verify faces: below this IoU use the 2D fallback (None: no check)
    realism: RealismMode = "full"   # full (lit, matched to the photo) or flat (unlit albedo)
    realism_off: tuple[RealismStage, ...] = ()   # stages of `full` to leave out: light, ao, colour, camera, shadow
    occluders: OccluderMode = "auto"   # auto: hands, objects and hair in front of a face stay in front; off

    def __post_init__(self):
        try:
            check_realism(self.realism, self.realism_off)
        except ValueError as exc:
            raise OptionError(str(exc)) from None
        if self.occluders not in OCCLUDER_MODES:
            raise OptionError(f"occluders must be one of {', '.join(OCCLUDER_MODES)}, not {self.occluders!r}")
        for name, low in (("seed", 0), ("max_faces", 1), ("max_pixels", 1)):
            value = getattr(self, name)
            if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
                raise OptionError(f"{name} must be an integer >= {low}, got {value!r}")
        if self.min_iou is not None and not (isinstance(self.min_iou, (int, float)) and 0 <= self.min_iou <= 1):
            raise OptionError(f"min_iou must be None or a number in [0, 1], got {self.min_iou!r}")
        if self.color is not None:
            try:
                hex_to_rgb(self.color)
            except MaskError as exc:
                raise OptionError(str(exc)) from None
        parse_weights(self.mask_weights)
        if self.mask != "all":          # 'all' is the command line's: one run per library mask
            self.choose(0)              # the mask, weights, wear and texture exist

    def as_json(self) -> dict:
        """The options as recorded in the JSON output."""
        return {"mask": self.mask, "seed": self.seed, "max_faces": self.max_faces,
                "mask_dirs": [str(d) for d in self.mask_dirs], "max_pixels": self.max_pixels,
                "mask_weights": self.mask_weights, "wear": self.wear,
                "wear_weights": self.wear_weights, "color": self.color,
                "texture": str(self.texture) if self.texture else None, "pattern": self.pattern,
                "pattern_weight": self.pattern_weight, "color_weight": self.color_weight, "vary": self.vary,
                "min_iou": self.min_iou, "realism": self.realism, "realism_off": sorted(self.realism_off),
                "occluders": self.occluders}

    def choose(self, count: int) -> list[MaskChoice]:
        """One seeded mask choice for each of `count` faces."""
        return choose_masks(self.mask, count, self.seed, weights=self.mask_weights, wear=self.wear,
                            wear_weights=self.wear_weights, color=self.color, texture=self.texture, vary=self.vary,
                            mask_dirs=self.mask_dirs, pattern=self.pattern, pattern_weight=self.pattern_weight,
                            color_weight=self.color_weight)


def check_realism(mode: str, off: tuple[str, ...]) -> None:
    """ValueError unless `mode` is a realism mode and `off` names realism stages."""
    if mode not in REALISM_MODES:
        raise ValueError(f"realism must be one of {', '.join(REALISM_MODES)}, not {mode!r}")
    unknown = set(off) - set(REALISM_STAGES)
    if unknown:
        raise ValueError(f"unknown realism stage {', '.join(sorted(unknown))}; choose from {', '.join(REALISM_STAGES)}")
