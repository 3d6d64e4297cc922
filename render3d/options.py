"""FitOptions: every choice a fit takes, checked once when they are made.

A bad value raises at construction, before any image is read: `MaskError` for the mask, its
weights, wear, colour and texture (exit code 6 on the command line), `ValueError` for the rest.
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from pathlib import Path

from render3d.colourspace import hex_to_rgb
from render3d.io.image_in import DEFAULT_MAX_PIXELS
from render3d.kinds import REALISM_MODES, REALISM_STAGES, RealismMode, RealismStage, Wear
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
    wear: Wear = "correct"          # correct, nose-out or chin
    color: str | None = None        # '#RRGGBB' recolouring
    texture: Path | None = None     # replacement albedo texture
    vary: bool = True               # seeded variation of the colour tone
    min_iou: float | None = None    # verify faces: below this IoU use the 2D fallback (None: no check)
    realism: RealismMode = "full"   # full (lit, matched to the photo) or flat (unlit albedo)
    realism_off: tuple[RealismStage, ...] = ()   # stages of `full` to leave out: light, ao, colour, camera, shadow

    def __post_init__(self):
        check_realism(self.realism, self.realism_off)
        if not isinstance(self.seed, Integral):
            raise ValueError(f"seed must be an integer, not {self.seed!r}")
        if not isinstance(self.max_faces, Integral) or self.max_faces < 1:
            raise ValueError(f"max_faces must be a positive integer, not {self.max_faces!r}")
        if not isinstance(self.max_pixels, Integral) or self.max_pixels < 1:
            raise ValueError(f"max_pixels must be a positive integer, not {self.max_pixels!r}")
        if self.min_iou is not None and not 0.0 <= self.min_iou <= 1.0:
            raise ValueError(f"min_iou must be in [0, 1] or None, not {self.min_iou!r}")
        if self.color is not None:
            hex_to_rgb(self.color)
        parse_weights(self.mask_weights)
        if self.mask != "all":          # 'all' is the command line's: one run per library mask
            self.choose(0)              # the mask, weights, wear and texture exist

    def as_json(self) -> dict:
        """The options as recorded in the JSON output."""
        return {"mask": self.mask, "seed": self.seed, "max_faces": self.max_faces,
                "mask_dirs": [str(d) for d in self.mask_dirs], "max_pixels": self.max_pixels,
                "mask_weights": self.mask_weights, "wear": self.wear, "color": self.color,
                "texture": str(self.texture) if self.texture else None, "vary": self.vary,
                "min_iou": self.min_iou, "realism": self.realism, "realism_off": sorted(self.realism_off)}

    def choose(self, count: int) -> list[MaskChoice]:
        """One seeded mask choice for each of `count` faces."""
        return choose_masks(self.mask, count, self.seed, weights=self.mask_weights, wear=self.wear,
                            color=self.color, texture=self.texture, vary=self.vary, mask_dirs=self.mask_dirs)


def check_realism(mode: str, off: tuple[str, ...]) -> None:
    """ValueError unless `mode` is a realism mode and `off` names realism stages."""
    if mode not in REALISM_MODES:
        raise ValueError(f"realism must be one of {', '.join(REALISM_MODES)}, not {mode!r}")
    unknown = set(off) - set(REALISM_STAGES)
    if unknown:
        raise ValueError(f"unknown realism stage {', '.join(sorted(unknown))}; choose from {', '.join(REALISM_STAGES)}")
