"""Photometric realism: what each face's mask takes from its photo, and the switches for it.

Stages (each can be turned off; `flat` turns them all off and draws the unlit albedo):
  light   SH irradiance fitted to the face's skin (`render3d.realism.light`)
  ao      baked ambient occlusion of the mask (`render3d.realism.occlusion`)
  colour  exposure, white balance and saturation from the skin and the photo (`render3d.realism.colour`)
  camera  the photo's blur, noise and JPEG compression (`render3d.realism.camera`)
  shadow  a contact shadow on the skin above the mask (`render3d.realism.shadow`)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from render3d.face.fitting import FittedFace
from render3d.geometry import Window
from render3d.io.image_in import LoadedImage
from render3d.kinds import REALISM_MODES, REALISM_STAGES, RealismMode, RealismStage
from render3d.mask.library import MaskPart
from render3d.realism import camera, colour, light, shadow
from render3d.realism.camera import CameraModel, Jpeg
from render3d.realism.colour import NEUTRAL, ColourMatch
from render3d.realism.light import Lighting
from render3d.realism.occlusion import part_occlusion
from render3d.render import composite
from render3d.render.renderer import DEFAULT_SH
from render3d.timing import timed

MODES = REALISM_MODES
STAGES = REALISM_STAGES

Render = tuple[Window, np.ndarray]          # a window and its straight-alpha (h, w, 4) float32 RGBA


def active_stages(mode: str, off: tuple[str, ...]) -> frozenset[str]:
    """The realism stages a fit runs: none when flat, else all but `off`."""
    return frozenset() if mode == "flat" else frozenset(STAGES) - set(off)


@dataclass(frozen=True)
class Look:
    """One face's realism: what its mask is drawn and finished with."""
    stages: frozenset[str]
    shaded: bool
    lighting: Lighting | None = None
    colour: ColourMatch = NEUTRAL
    camera: CameraModel | None = None
    shadow_reach: int = 0

    def draw_args(self, part: MaskPart) -> dict:
        """DrawPart fields for one mask part."""
        use_light = "light" in self.stages and self.lighting is not None
        return {"sh": self.lighting.sh if use_light else DEFAULT_SH,
                "colour": self.colour.matrix,
                "ao": part_occlusion(part) if "ao" in self.stages else None}

    @property
    def margin(self) -> int:
        """Extra window pixels the finishing blur and the shadow reach beyond the mask (the shadow's
        counted even when it is off, so that switching it leaves the layer, noise included, as it is)."""
        return max(self.camera.margin if self.camera is not None else 0, self.shadow_reach)

    def as_json(self) -> dict:
        """The look as recorded in the JSON output (rounded)."""
        return {"light": self.lighting.as_json() if self.lighting and "light" in self.stages else None,
                "colour": self.colour.as_json() if "colour" in self.stages else None,
                "camera": self.camera.as_json() if self.camera else None,
                "shadow": "shadow" in self.stages}


def estimate(image: LoadedImage, fitted: list[FittedFace], mode: RealismMode = "full",
             off: tuple[RealismStage, ...] = (), timings: dict[str, float] | None = None) -> list[Look]:
    """Each face's look, measured on the photo: its lighting, colour match and camera (blur, noise, JPEG),
    with the stages that `mode` and `off` leave on. Stage seconds are added to `timings`."""
    timings = {} if timings is None else timings
    rgb, stages = image.rgb, active_stages(mode, off)
    with timed(timings, "light"):
        skins = lightings(rgb, fitted, stages)
    with timed(timings, "colour"):
        colours = colour_matches(rgb, skins, stages)
    with timed(timings, "camera"):
        cameras = camera_models(rgb, fitted, jpeg_of(image, stages), stages)
    return [Look(stages, mode == "full", skin, match, model, shadow_reach(face))
            for skin, match, model, face in zip(skins, colours, cameras, fitted)]


def finish(renders: dict[int, Render], looks: list[Look], fitted: list[FittedFace], seed: int,
           timings: dict[str, float] | None = None) -> tuple[Window | None, np.ndarray | None, np.ndarray | None]:
    """Face renders (by face index, in drawing order) finished as the photo was taken and stacked:
    (the region they cover, its (h, w, 4) float straight-alpha layer, the (h, w) contact shadow in
    [0, 1] or None); all None without renders. Stage seconds are added to `timings`."""
    timings = {} if timings is None else timings
    with timed(timings, "camera"):
        finished = [finish_render(render, looks[i], noise_rng(seed, i)) for i, render in renders.items()]
        region, layer = composite.stack(finished) if finished else (None, None)
        layer = compress(region, layer, looks)
    with timed(timings, "shadow"):
        shade = (shadows(region, finished, [fitted[i] for i in renders])
                 if finished and "shadow" in looks[0].stages else None)
    return region, layer, shade


def lightings(rgb: np.ndarray, fitted: list[FittedFace], stages: frozenset[str]) -> list[Lighting | None]:
    """Skin lighting per face, also the skin reference of the colour stage."""
    if not stages & {"light", "colour"}:
        return [None] * len(fitted)
    return [light.fit_lighting(light.skin_samples(rgb, face)) for face in fitted]


def colour_matches(rgb: np.ndarray, skins: list[Lighting | None], stages: frozenset[str]) -> list[ColourMatch]:
    """Each face's colour match, from the photo's statistics and its skin (NEUTRAL where the stage is off)."""
    if "colour" not in stages or not skins:
        return [NEUTRAL] * len(skins)
    scene = colour.scene_stats(rgb)
    return [colour.match(scene, skin.skin_median if skin else None) for skin in skins]


def camera_models(rgb: np.ndarray, fitted: list[FittedFace], jpeg: Jpeg | None,
                  stages: frozenset[str]) -> list[CameraModel | None]:
    """Each face's camera model (blur, noise, the JPEG's tables), or None where the stage is off."""
    if "camera" not in stages:
        return [None] * len(fitted)
    return [camera.estimate(rgb, face, jpeg) for face in fitted]


def jpeg_of(image: LoadedImage, stages: frozenset[str]) -> Jpeg | None:
    """The input's JPEG settings when the camera stage runs, else None."""
    return camera.jpeg_settings(image) if "camera" in stages else None


def shadow_reach(face: FittedFace) -> int:
    """Pixels the contact shadow reaches beyond one face's mask."""
    return shadow.reach(face)


def finish_render(render: Render, look: Look, rng: np.random.Generator) -> Render:
    """The photo's blur and noise on one face's render."""
    if look.camera is None:
        return render
    window, rgba = render
    rgba = camera.blur(rgba, look.camera.extra_blur)
    return window, camera.add_noise(rgba, look.camera, rng, look.colour.grayscale)


def compress(region: Window | None, layer: np.ndarray | None,
             looks: list[Look]) -> np.ndarray | None:
    """The stacked layer through the photo's JPEG compression, when the photo is a JPEG."""
    models = [look.camera for look in looks if look.camera is not None and look.camera.jpeg is not None]
    if layer is None or not models:
        return layer
    return camera.jpeg_roundtrip(layer, region[:2], models[0].jpeg, looks[0].colour.grayscale)


def noise_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of face `index`'s noise, from the image's seed."""
    return np.random.default_rng([seed % 2 ** 64, index])


def shadows(region: Window, renders: list[Render], faces: list[FittedFace]) -> np.ndarray:
    """Contact shadows of the faces' renders, combined over the region."""
    x0, y0, w, h = region
    lit = np.ones((h, w), np.float32)
    for ((x, y, rw, rh), rgba), face in zip(renders, faces):
        lit[y - y0:y - y0 + rh, x - x0:x - x0 + rw] *= 1 - shadow.contact_shadow(rgba[..., 3], face)
    return 1 - lit
