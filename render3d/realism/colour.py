"""Colour matching: the mask's exposure, white balance and saturation, from the photo and each face's skin.

Colours are compared in log-chroma, k = (log R/G, log B/G) of linear RGB. A photo's colour cast
shifts every k by the same amount; desaturation scales k toward the cast. Each face's skin
chroma is explained as `cast + saturation * typical skin chroma`, a small least-squares problem
with priors: the cast is small and near the photo's median chroma, the saturation is 1; in photos
whose chroma is a function of luminance alone (sepia and other toned monochromes) the saturation
is 0 and the cast is the photo's tint at the skin's luminance. Grayscale photos (channels equal) give an exactly grayscale
mask.

Exposure: the skin's median luminance divided by an estimate of the skin's albedo, so a mask of
albedo A looks as bright next to that skin as it would have in the scene; scaling the photo
scales the mask.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from render3d.colourspace import LINEAR_LUT, LUMINANCE
from render3d.tolerances import CHROMA_FLOOR, DIRECTION_FLOOR, RADIANCE_FLOOR

THUMBNAIL_PIXELS = 32768
GRAY_TOLERANCE = 3             # 99th percentile of max - min channel (0-255) of a grayscale photo
# Median skin log-chroma (log R/G, log B/G): the ColorChecker skin patches' mean, and the dev photos'.
SKIN_CHROMA = np.array([0.65, -0.36])
SKIN_CHROMA_SIGMA = 0.22       # spread of skin chroma between people (and cameras' renderings of it)
CAST_SIGMA = 0.25              # prior: photos are about white balanced
MAX_CAST = 0.4                 # the largest cast applied to a colour photo (log-chroma distance)
SCENE_CAST_SIGMA = (0.4, 0.02) # how far the cast strays from the photo's median chroma: colour, monochrome
SATURATION_SIGMA = 0.15
MONO_SPREAD = (0.035, 0.07)    # chroma spread of the photo: monochrome below, full colour above
SATURATION_RANGE = (0.0, 1.15)
# Skin albedo (linear luminance): a prior between light and dark skin, nudged by the scene's key
# (a photo is exposed so that its median is about mid-grey), within the range of real skin: the
# ColorChecker's dark and light skin patches are 0.10 and 0.35, the lightest skin about 1.2x that.
# (A bound of 0.5 let a bright face before a dark suit or backdrop read as paper-white skin: a
# white mask beside it came out 10 to 45 L* darker than the forehead, grey.)
SKIN_ALBEDO = 0.3
SKIN_ALBEDO_RANGE = (0.1, 0.42)
SCENE_WEIGHT = 0.5
MID_GREY = 0.18


@dataclass(frozen=True)
class Scene:
    """Whole-photo colour statistics, shared by its faces."""
    grayscale: bool
    chroma: np.ndarray          # (2,) median log-chroma
    spread: float               # robust spread of the log-chroma that luminance leaves unexplained
    key: float                  # median linear luminance
    tone: np.ndarray = field(default_factory=lambda: np.zeros((2, 2)))   # log-chroma = tone[0] + tone[1] log luminance

    def tone_at(self, luminance: float) -> np.ndarray:
        """(2,) the log-chroma the photo's tone line gives at a linear `luminance`: a toned monochrome's
        tint there (split toning tints shadows and highlights apart)."""
        return self.tone[0] + self.tone[1] * np.log(max(luminance, RADIANCE_FLOOR))


@dataclass(frozen=True)
class ColourMatch:
    """The colour transform of one face's mask: exposure, white balance and saturation."""
    exposure: float             # linear gain on the lit albedo
    gains: np.ndarray           # (3,) white balance, unit luminance
    saturation: float           # 1: unchanged, 0: luminance only
    grayscale: bool

    @property
    def matrix(self) -> np.ndarray:
        """Linear RGB 3x3 applied to the lit albedo: exposure * diag(gains) * saturation."""
        desaturate = self.saturation * np.eye(3) + (1 - self.saturation) * np.outer(np.ones(3), LUMINANCE)
        return (self.exposure * self.gains[:, None] * desaturate).astype(np.float32)

    def as_json(self) -> dict:
        """The match, rounded, for the JSON output."""
        return {"exposure": round(self.exposure, 4), "gains": np.round(self.gains, 4).tolist(),
                "saturation": round(self.saturation, 3), "grayscale": self.grayscale}


NEUTRAL = ColourMatch(1.0, np.ones(3), 1.0, False)


def log_chroma(linear: np.ndarray) -> np.ndarray:
    """(..., 2) log(R/G), log(B/G) of (..., 3) linear RGB."""
    return np.log(linear[..., [0, 2]] / linear[..., 1:2])


def channel_max(pixels: np.ndarray) -> np.ndarray:
    """(N,) largest channel of (N, 3) pixels (numpy's max over a 3-long axis is several times slower)."""
    return np.maximum(np.maximum(pixels[:, 0], pixels[:, 1]), pixels[:, 2])


def channel_min(pixels: np.ndarray) -> np.ndarray:
    """(N,) smallest channel of (N, 3) pixels."""
    return np.minimum(np.minimum(pixels[:, 0], pixels[:, 1]), pixels[:, 2])


def robust_sigma(values: np.ndarray) -> float:
    """The standard deviation of `values` from their median absolute deviation."""
    return 1.4826 * float(np.median(np.abs(values - np.median(values))))


def scene_stats(rgb: np.ndarray) -> Scene:
    """Whole-photo colour statistics of an (H, W, 3) uint8 sRGB photo, on a thumbnail of about THUMBNAIL_PIXELS."""
    h, w = rgb.shape[:2]
    step = max(1, int(np.ceil(np.sqrt(h * w / THUMBNAIL_PIXELS))))
    thumb = rgb[::step, ::step].reshape(-1, 3)
    channel_range = channel_max(thumb).astype(np.int16) - channel_min(thumb)
    grayscale = float(np.percentile(channel_range, 99)) <= GRAY_TOLERANCE
    linear = LINEAR_LUT[thumb]
    luminance = linear @ LUMINANCE
    key = float(np.median(luminance))
    usable = (luminance > 0.02) & (channel_max(linear) < 0.95) & (channel_min(linear) > 0.003)
    if grayscale or usable.sum() < 64:
        return Scene(grayscale, np.zeros(2), 0.0, key)
    k = log_chroma(linear[usable])
    # A toned monochrome's chroma is a function of luminance: measure what luminance leaves unexplained
    # (least squares by its 2x2 normal equations, well conditioned: a photo's log luminance spreads).
    tone = np.c_[np.ones(usable.sum()), np.log(luminance[usable])]
    line = np.linalg.solve(tone.T @ tone, tone.T @ k)
    residual = k - tone @ line
    spread = float(np.hypot(robust_sigma(residual[:, 0]), robust_sigma(residual[:, 1])))
    return Scene(False, np.median(k, axis=0), spread, key, line)


def skin_albedo(skin_luminance: float, key: float) -> float:
    """The skin's estimated albedo (linear luminance) from its radiance and the scene's key."""
    scene_estimate = MID_GREY * skin_luminance / max(key, RADIANCE_FLOOR)
    albedo = SKIN_ALBEDO * (scene_estimate / SKIN_ALBEDO) ** SCENE_WEIGHT
    return float(np.clip(albedo, *SKIN_ALBEDO_RANGE))


def cast_and_saturation(skin: np.ndarray, skin_luminance: float, scene: Scene) -> tuple[np.ndarray, float]:
    """Least squares for (cast_u, cast_v, saturation): skin = cast + saturation * SKIN_CHROMA, with priors.

    In a monochrome photo every colour is the tint: the cast is then held to the photo's tint at the
    skin's luminance (its tone line's), not to its median chroma, which its shadows' tint may set.
    """
    low, high = MONO_SPREAD
    colourful = float(np.clip((scene.spread - low) / (high - low), 0.0, 1.0))
    scene_sigma = SCENE_CAST_SIGMA[0] * colourful + SCENE_CAST_SIGMA[1] * (1 - colourful)
    scene_cast = colourful * scene.chroma + (1 - colourful) * scene.tone_at(skin_luminance)
    zero_sigma = CAST_SIGMA / max(colourful, CHROMA_FLOOR)
    cast_rows = np.c_[np.eye(2), np.zeros(2)]
    rows = [np.c_[np.eye(2), SKIN_CHROMA] / SKIN_CHROMA_SIGMA, cast_rows / scene_sigma, cast_rows / zero_sigma,
            np.array([[0.0, 0.0, 1.0]]) / SATURATION_SIGMA]
    targets = [skin / SKIN_CHROMA_SIGMA, scene_cast / scene_sigma, np.zeros(2), [colourful / SATURATION_SIGMA]]
    solution = np.linalg.lstsq(np.concatenate(rows), np.concatenate(targets), rcond=None)[0]
    # A colour photo's cast stays moderate; a monochrome's tint is whatever it is.
    limit = MAX_CAST / max(colourful, CHROMA_FLOOR)
    cast = solution[:2] * min(1.0, limit / max(float(np.linalg.norm(solution[:2])), DIRECTION_FLOOR))
    return cast, float(np.clip(solution[2], *SATURATION_RANGE))


def match(scene: Scene, skin_median: np.ndarray | None) -> ColourMatch:
    """The colour transform of the mask next to a skin of this median linear radiance (None: no skin seen)."""
    if skin_median is None:
        return ColourMatch(1.0, np.ones(3), 0.0 if scene.grayscale else 1.0, scene.grayscale)
    skin_luminance = float(skin_median @ LUMINANCE)
    exposure = skin_luminance / skin_albedo(skin_luminance, scene.key)
    if scene.grayscale:
        return ColourMatch(exposure, np.ones(3), 0.0, True)
    cast, saturation = cast_and_saturation(log_chroma(np.maximum(skin_median, RADIANCE_FLOOR)), skin_luminance, scene)
    gains = np.exp([cast[0], 0.0, cast[1]])
    return ColourMatch(exposure, gains / float(gains @ LUMINANCE), saturation, False)
