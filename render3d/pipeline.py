"""The engine: image in -> faces -> fitted mesh -> placed mask -> render -> composite -> verify.

`Engine` holds what is expensive to create (the landmark model, the GL context, bound masks)
and is reused for every image of a process.
"""
from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from render3d import realism
from render3d.face.detect import DetectedFace, find_faces
from render3d.face.fitting import FittedFace, fit_face, occluder_mesh
from render3d.face.landmarks import LandmarkModel
from render3d.io.image_in import DEFAULT_MAX_PIXELS, LoadedImage, Source, load_image
from render3d.mask.choice import MaskChoice, choose_masks
from render3d.mask.library import Mask, load_mask, read_texture
from render3d.mask.placement import Skin, place
from render3d.qa.verify import placement_iou
from render3d.realism import Look
from render3d.render import composite as comp
from render3d.render.fallback import FACE_STATUSES, FaceRender, neutral_face, verified, warp_mask
from render3d.render.renderer import DrawPart, Renderer

WINDOW_MARGIN = 2
# ArcFace's 5 alignment points as MediaPipe landmarks, in image order: the eye on the image's left
# (the subject's right iris centre), the other eye, the nose tip, the mouth's left and right corners.
FIVE_POINTS = [468, 473, 1, 61, 291]


@dataclass
class FitResult:
    """Everything `fit` makes for one image, in memory."""
    composite: np.ndarray        # (H, W, 3) uint8
    layer: np.ndarray            # (H, W, 4) uint8 RGBA, straight alpha
    segmentation: np.ndarray     # (H, W) uint8, 255 where a mask is
    instances: np.ndarray        # (H, W) uint16, face index + 1 where that face's mask is on top, 0 elsewhere
    metadata: dict               # input, options, seed and per-face records (the JSON output)
    image: LoadedImage = field(repr=False)
    timings: dict = field(default_factory=dict, repr=False)   # seconds per stage (not in the JSON)

    @property
    def status(self) -> str:
        return self.metadata["status"]

    @property
    def faces(self) -> list[dict]:
        return self.metadata["faces"]


@dataclass(frozen=True)
class FitOptions:
    mask: str = "surgical"          # a mask name, a mask file, or 'random'
    seed: int = 0
    max_faces: int = 10
    mask_dirs: tuple[Path, ...] = ()
    max_pixels: int = DEFAULT_MAX_PIXELS
    mask_weights: str = ""          # 'surgical=3,n95=1' for random draws
    wear: str = "correct"           # correct, nose-out or chin
    color: str | None = None        # '#RRGGBB' recolouring
    texture: Path | None = None     # replacement albedo texture
    vary: bool = True               # seeded variation of the colour tone
    min_iou: float | None = None    # verify faces: below this IoU use the 2D fallback (None: no check)
    realism: str = "full"           # full (lit, matched to the photo) or flat (unlit albedo)
    realism_off: tuple[str, ...] = ()   # stages of `full` to leave out: light, ao, colour, camera, shadow

    def __post_init__(self):
        realism.check(self.realism, self.realism_off)

    def as_json(self) -> dict:
        return {"mask": self.mask, "seed": self.seed, "max_faces": self.max_faces,
                "mask_dirs": [str(d) for d in self.mask_dirs], "max_pixels": self.max_pixels,
                "mask_weights": self.mask_weights, "wear": self.wear, "color": self.color,
                "texture": str(self.texture) if self.texture else None, "vary": self.vary,
                "min_iou": self.min_iou, "realism": self.realism, "realism_off": sorted(self.realism_off)}

    def choose(self, count: int) -> list[MaskChoice]:
        return choose_masks(self.mask, count, self.seed, weights=self.mask_weights, wear=self.wear,
                            color=self.color, texture=self.texture, vary=self.vary, mask_dirs=self.mask_dirs)


def to_camera_frame(vectors: np.ndarray) -> np.ndarray:
    """Image-space directions (y down, z away) -> camera frame (y up, z toward the camera)."""
    return vectors * np.array([1.0, -1.0, -1.0])


def draw_parts(mask: Mask, fitted: FittedFace, choice: MaskChoice | None = None,
               look: Look | None = None) -> list[DrawPart]:
    parts = []
    skin = Skin.of(fitted)
    for part in mask.parts:
        normals = to_camera_frame(part.normals @ fitted.rotation.T)
        key, albedo, tint = part.key, part.albedo, (1.0, 1.0, 1.0)
        if choice is not None and part.recolor:
            tint = choice.tint
            if choice.texture is not None:
                key, albedo = f"{choice.texture}", read_texture(choice.texture)
        parts.append(DrawPart(place(part.vertices, part.binding, fitted, skin), normals, part.uvs, part.triangles,
                              key, albedo, part.normal_map, tint=tint, sheen=part.sheen,
                              **(look.draw_args(part) if look else {})))
    return parts


def window_of(parts: list[DrawPart], shape: tuple[int, int], extra: int = 0) -> tuple[int, int, int, int] | None:
    """Pixel window (x0, y0, w, h) around the parts' projection, `extra` pixels wider, clipped to the image."""
    xy = np.concatenate([p.positions[:, :2] for p in parts])
    h, w = shape
    margin = WINDOW_MARGIN + extra
    x0 = max(0, math.floor(xy[:, 0].min()) - margin)
    y0 = max(0, math.floor(xy[:, 1].min()) - margin)
    x1 = min(w, math.ceil(xy[:, 0].max()) + margin)
    y1 = min(h, math.ceil(xy[:, 1].max()) + margin)
    return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None


@contextmanager
def timed(timings: dict, stage: str):
    start = time.perf_counter()
    yield
    timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


class Engine:
    """One GL context and landmark model per process, reused for every image."""

    def __init__(self, samples: int = 4):
        self.renderer = Renderer(samples=samples)
        self._landmark_models: dict[int, LandmarkModel] = {}

    def landmark_model(self, max_faces: int) -> LandmarkModel:
        if max_faces not in self._landmark_models:
            self._landmark_models[max_faces] = LandmarkModel(max_faces=max_faces)
        return self._landmark_models[max_faces]

    def fit(self, image: Source, options: FitOptions = FitOptions()) -> FitResult:
        timings: dict[str, float] = {}
        options.choose(0)                                   # fail fast on bad mask options
        with timed(timings, "decode"):
            loaded = load_image(image, options.max_pixels)
        rgb = loaded.rgb
        h, w = rgb.shape[:2]
        with timed(timings, "landmarks"):
            detected = find_faces(rgb, self.landmark_model(options.max_faces), options.max_faces)
        with timed(timings, "placement"):
            fitted = [fit_face(face.landmarks) for face in detected]
            choices = options.choose(len(fitted))
            masks = [load_mask(choice.path, choice.wear) for choice in choices]
            occluders = [occluder_mesh(f) for f in fitted]
            # Far faces first (smaller scale), so nearer masks are laid over them.
            order = sorted(range(len(fitted)), key=lambda i: fitted[i].scale)
        stages = realism.active_stages(options.realism, options.realism_off)
        with timed(timings, "light"):
            skins = realism.lightings(rgb, fitted, stages)
        with timed(timings, "colour"):
            colours = realism.colour_matches(rgb, skins, stages)
        with timed(timings, "camera"):
            cameras = realism.camera_models(rgb, fitted, realism.jpeg_of(loaded, stages), stages)
        looks = [Look(stages, options.realism == "full", skin, match, model, realism.shadow_reach(face))
                 for skin, match, model, face in zip(skins, colours, cameras, fitted)]
        with timed(timings, "render"):
            drawn = {i: self.render_face(masks[i], fitted[i], choices[i], occluders, (h, w), options.min_iou,
                                         looks[i])
                     for i in order}
            kept = [i for i in order if drawn[i].render is not None]
        with timed(timings, "camera"):
            renders = [realism.finish(drawn[i].render, looks[i], realism.noise_rng(options.seed, i)) for i in kept]
            region, layer = comp.stack(renders) if renders else (None, None)
            layer = realism.compress(region, layer, looks)
        with timed(timings, "shadow"):
            shade = (realism.shadows(region, renders, [fitted[i] for i in kept])
                     if renders and "shadow" in stages else None)
        with timed(timings, "composite"):
            composite, rgba, segmentation = comp.full_frame_outputs(rgb, region, layer, shade)
            instances = comp.instance_ids(renders, [i + 1 for i in kept], (h, w))
            result = FitResult(composite, rgba, segmentation, instances, {}, loaded, timings)
        with timed(timings, "verify"):
            faces = [face_record(index, face, fit, choice, segmentation, drawn[index], looks[index])
                     for index, (face, fit, choice) in enumerate(zip(detected, fitted, choices))]
        result.metadata.update({
            "input": {"path": str(loaded.path) if loaded.path else None, "width": w, "height": h,
                      "format": loaded.format, "mode": loaded.original_mode},
            "options": options.as_json(),
            "status": max((f["status"] for f in faces), key=FACE_STATUSES.index) if faces else "no_face",
            "faces": faces,
        })
        return result

    def render_face(self, mask: Mask, fitted: FittedFace, choice: MaskChoice, occluders: list,
                    shape: tuple[int, int], min_iou: float | None, look: Look | None = None) -> FaceRender:
        """One face's mask rendered in 3D; with `min_iou` set, verified and, where the 3D path fails
        or scores below it, redrawn by the 2D fallback (or left out when that fails too)."""
        def render_3d():
            parts = draw_parts(mask, fitted, choice, look)
            window = window_of(parts, shape, look.margin if look else 0)
            shaded = look.shaded if look else True
            return None if window is None else (window, self.renderer.render(window, occluders, parts, shaded))

        if min_iou is None:
            return FaceRender(render_3d(), "ok")
        return verified(render_3d, lambda: warp_mask(draw_parts(mask, neutral_face(), choice), fitted, shape),
                        fitted.landmarks, shape, min_iou, choice.wear)


def face_record(index: int, face: DetectedFace, fitted: FittedFace, choice: MaskChoice,
                segmentation: np.ndarray, drawn: FaceRender, look: Look) -> dict:
    x0, y0, x1, y1 = fitted.bbox
    return {
        "index": index,
        "bbox": [round(x0, 1), round(y0, 1), round(x1, 1), round(y1, 1)],
        "pose": fitted.pose,
        "detection": face.source,
        "landmarks_5": np.round(face.landmarks[FIVE_POINTS, :2], 1).tolist(),
        "landmarks": np.round(face.landmarks, 1).tolist(),
        **choice.as_json(),
        "iou": round(placement_iou(segmentation > 0, fitted.landmarks, choice.wear), 4),
        "status": drawn.status,
        "reason": drawn.reason,
        "detail": drawn.detail,
        "realism": look.as_json(),
    }
