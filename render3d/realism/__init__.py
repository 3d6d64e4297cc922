"""Photometric realism: what each face's mask takes from its photo, and the switches for it.

Stages (each can be turned off; `flat` turns them all off and draws the unlit albedo):
  light   SH irradiance fitted to the face's skin (`render3d.realism.light`)
  ao      ambient occlusion baked with the mask (`render3d.mask.occlusion`)
  hem     the mask's edge as a hem: a raised band along its outline and the groove it shades (`render3d.realism.hem`)
  colour  exposure, white balance and saturation from the skin and the photo (`render3d.realism.colour`)
  camera  the photo's blur, noise and JPEG compression (`render3d.realism.camera`)
  shadow  contact and cast shadows of the mask on the skin (`render3d.realism.shadow`)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from render3d.face.fitting import FittedFace
from render3d.geometry import Window
from render3d.io.image_in import LoadedImage
from render3d.kinds import REALISM_MODES, REALISM_STAGES, RealismMode, RealismStage
from render3d.realism import camera, colour, hem, light, shadow
from render3d.realism.camera import CameraModel, Jpeg
from render3d.realism.colour import NEUTRAL, ColourMatch
from render3d.realism.light import Lighting
from render3d.render import composite
from render3d.render.renderer import DEFAULT_SH
from render3d.render.straps import is_strap
from render3d.timing import timed

if TYPE_CHECKING:
    from render3d.mask.library import MaskPart

MODES = REALISM_MODES
STAGES = REALISM_STAGES

FABRIC_DETAIL = 1.0            # strength of the shared weave and fibre detail on the recolourable fabric
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

    def draw_args(self, fitted: FittedFace, parts: list[tuple[MaskPart, np.ndarray]]) -> list[dict]:
        """DrawPart fields for each of one face's mask parts, given with their camera-frame normals.

        The light's directional bands are raised until the recolourable fabric's shading spans the
        range of the skin it covers (`light.form_gain`); the mask's shading normals lean toward the
        skin's beneath (`light.resting_normals`), and the skin's shading that the SH leaves
        unexplained carries over to the mask lying on it (`Lighting.shading`, per vertex), less the
        light the head and body hide from its sides and underside (`light.hidden_light`; loops and
        straps, standing off the head, keep it). The recolourable fabric gets the shared weave and
        fibre detail map, as strong as its part's `weave` (none on a nonwoven)."""
        sh, lit = DEFAULT_SH, "light" in self.stages and self.lighting is not None
        shades = [None] * len(parts)
        if lit:
            face_normals = light.face_normals(fitted)
            # A loop or strap is a cord standing off the head: it keeps the skin's light, and its own
            # roundness (`straps.rounded`) in place of the room the head hides from the fabric's sides.
            shades = [self.lighting.shading(part.vertices)
                      * (1.0 if is_strap(part) else light.hidden_light(part, fitted.rotation, face_normals)[:, None])
                      for part, _ in parts]
            parts = [(part, light.resting_normals(normals, face_normals, part.binding)) for part, normals in parts]
            fabric = [normals for part, normals in parts if part.recolor] or [parts[0][1]]
            gain = light.form_gain(self.lighting.sh, face_normals[light.covered_landmarks()], np.concatenate(fabric))
            sh = light.with_gain(self.lighting.sh, gain)
        return [{"normals": normals, "sh": sh, "colour": self.colour.matrix,
                 "ao": part.occlusion if "ao" in self.stages else None, "shade": shade,
                 "detail": FABRIC_DETAIL * part.weave if self.shaded and part.recolor else 0.0}
                for (part, normals), shade in zip(parts, shades)]

    @property
    def margin(self) -> int:
        """Extra window pixels the finishing blur reaches beyond the mask (the shadows get their own
        window, so that switching them leaves the layer, noise included, as it is)."""
        return self.camera.margin if self.camera is not None else 0

    def as_json(self) -> dict:
        """The look as recorded in the JSON output (rounded)."""
        return {"light": self.lighting.as_json() if self.lighting and "light" in self.stages else None,
                "colour": self.colour.as_json() if "colour" in self.stages else None,
                "camera": self.camera.as_json() if self.camera else None,
                "hem": "hem" in self.stages and self.shaded,
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
    return [Look(stages, mode == "full", skin, match, model) for skin, match, model in zip(skins, colours, cameras)]


def finish(renders: dict[int, Render], shape: tuple[int, int], looks: list[Look], fitted: list[FittedFace],
           seed: int, timings: dict[str, float] | None = None,
           in_front: Callable[[int, Render], Render] | None = None
           ) -> tuple[Window | None, np.ndarray | None, tuple[Window, np.ndarray] | None]:
    """Face renders (by face index, in drawing order) in an (H, W) image finished as the photo was
    taken and stacked: (the region they cover, its (h, w, 4) float straight-alpha layer, the shadows'
    window and its darkening in [0, 1] or None); all None without renders. `in_front(index, render)`, when given, takes what lies in
    front of a face out of its finished render. Stage seconds are added to `timings`."""
    timings = {} if timings is None else timings
    with timed(timings, "camera"):
        finished = [finish_render(render, looks[i], fitted[i], noise_rng(seed, i)) for i, render in renders.items()]
        if in_front is not None:
            finished = [in_front(i, render) for i, render in zip(renders, finished)]
        region, layer = composite.stack(finished) if finished else (None, None)
        layer = compress(region, layer, looks)
    with timed(timings, "shadow"):
        shade = (shadows(shape, finished, [fitted[i] for i in renders], [looks[i] for i in renders])
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


def finish_render(render: Render, look: Look, fitted: FittedFace, rng: np.random.Generator) -> Render:
    """One face's render with its edge drawn as a hem, then the photo's blur and noise."""
    window, rgba = render
    if "hem" in look.stages and look.shaded:
        rgba = hem.hemmed(rgba, fitted.scale, look.lighting.sh if look.lighting is not None else DEFAULT_SH)
    if look.camera is None:
        return window, rgba
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


def shadows(shape: tuple[int, int], renders: list[Render], faces: list[FittedFace],
            looks: list[Look]) -> tuple[Window, np.ndarray]:
    """Contact and cast shadows of the faces' renders in an image of `shape` (h, w): the window
    they reach (each render's, widened by `shadow.reach`) and its darkening (h, w) in [0, 1]."""
    height, width = shape
    darkened = []
    for ((x, y, w, h), rgba), face, look in zip(renders, faces, looks):
        reach = shadow.reach(face)
        x0, y0 = max(0, x - reach), max(0, y - reach)
        x1, y1 = min(width, x + w + reach), min(height, y + h + reach)
        coverage = np.zeros((y1 - y0, x1 - x0), np.float32)
        coverage[y - y0:y - y0 + h, x - x0:x - x0 + w] = rgba[..., 3]
        sh = look.lighting.sh if look.lighting is not None else DEFAULT_SH
        darkened.append(((x0, y0, x1 - x0, y1 - y0), shadow.mask_shadow(coverage, face, sh)))
    window = Window.union([Window(*w) for w, _ in darkened])
    lit = np.ones((window[3], window[2]), np.float32)
    for (x, y, w, h), darkening in darkened:
        lit[y - window[1]:y - window[1] + h, x - window[0]:x - window[0] + w] *= 1 - darkening
    return window, 1 - lit
