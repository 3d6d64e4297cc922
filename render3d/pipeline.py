"""The engine: image in -> faces -> fitted mesh -> placed mask -> render -> composite -> verify.

`Engine` holds what is expensive to create (the landmark model, the GL context, bound masks)
and is reused for every image of a process.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from render3d import composite as comp
from render3d.faces import find_faces
from render3d.fitting import FittedFace, fit_face, occluder_mesh
from render3d.image_in import DEFAULT_MAX_PIXELS, LoadedImage, Source, load_image
from render3d.landmarks import LandmarkModel
from render3d.masks import Mask, load_mask, resolve_mask
from render3d.placement import place
from render3d.render import DrawPart, Renderer
from render3d.verify import placement_iou

WINDOW_MARGIN = 2


@dataclass
class FitResult:
    """Everything `fit` makes for one image, in memory."""
    composite: np.ndarray        # (H, W, 3) uint8
    layer: np.ndarray            # (H, W, 4) uint8 RGBA, straight alpha
    segmentation: np.ndarray     # (H, W) uint8, 255 where a mask is
    metadata: dict               # input, options, seed and per-face records (the JSON output)
    image: LoadedImage = field(repr=False)

    @property
    def status(self) -> str:
        return self.metadata["status"]

    @property
    def faces(self) -> list[dict]:
        return self.metadata["faces"]


@dataclass(frozen=True)
class FitOptions:
    mask: str = "surgical"
    seed: int = 0
    max_faces: int = 10
    mask_dirs: tuple[Path, ...] = ()
    max_pixels: int = DEFAULT_MAX_PIXELS

    def as_json(self) -> dict:
        return {"mask": self.mask, "seed": self.seed, "max_faces": self.max_faces,
                "mask_dirs": [str(d) for d in self.mask_dirs], "max_pixels": self.max_pixels}


def to_camera_frame(vectors: np.ndarray) -> np.ndarray:
    """Image-space directions (y down, z away) -> camera frame (y up, z toward the camera)."""
    return vectors * np.array([1.0, -1.0, -1.0])


def draw_parts(mask: Mask, fitted: FittedFace) -> list[DrawPart]:
    parts = []
    for part in mask.parts:
        normals = to_camera_frame(part.normals @ fitted.rotation.T)
        parts.append(DrawPart(place(part.vertices, part.binding, fitted), normals, part.uvs, part.triangles,
                              part.key, part.albedo, part.normal_map, sheen=part.sheen))
    return parts


def window_of(parts: list[DrawPart], shape: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """Pixel window (x0, y0, w, h) around the parts' projection, clipped to the image."""
    xy = np.concatenate([p.positions[:, :2] for p in parts])
    h, w = shape
    x0 = max(0, math.floor(xy[:, 0].min()) - WINDOW_MARGIN)
    y0 = max(0, math.floor(xy[:, 1].min()) - WINDOW_MARGIN)
    x1 = min(w, math.ceil(xy[:, 0].max()) + WINDOW_MARGIN)
    y1 = min(h, math.ceil(xy[:, 1].max()) + WINDOW_MARGIN)
    return (x0, y0, x1 - x0, y1 - y0) if x1 > x0 and y1 > y0 else None


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
        loaded = load_image(image, options.max_pixels)
        rgb = loaded.rgb
        h, w = rgb.shape[:2]
        mask = load_mask(resolve_mask(options.mask, options.mask_dirs))
        detected = find_faces(rgb, self.landmark_model(options.max_faces), options.max_faces)
        fitted = [fit_face(face.landmarks) for face in detected]
        occluders = [occluder_mesh(f) for f in fitted]

        renders = []
        # Far faces first (smaller scale), so nearer masks are laid over them.
        for index in sorted(range(len(fitted)), key=lambda i: fitted[i].scale):
            parts = draw_parts(mask, fitted[index])
            window = window_of(parts, (h, w))
            if window is not None:
                renders.append((index, window, self.renderer.render(window, occluders, parts)))

        layer = np.zeros((h, w, 4), np.float32)
        for _, window, rgba in renders:
            comp.over(layer, window, rgba)
        segmentation = comp.segmentation(layer)
        faces = []
        for index, (face, fit) in enumerate(zip(detected, fitted)):
            x0, y0, x1, y1 = fit.bbox
            faces.append({
                "index": index,
                "bbox": [round(x0, 1), round(y0, 1), round(x1, 1), round(y1, 1)],
                "pose": fit.pose,
                "detection": face.source,
                "mask": mask.name,
                "iou": round(placement_iou(segmentation > 0, fit.landmarks), 4),
                "status": "ok",
            })
        metadata = {
            "input": {"path": str(loaded.path) if loaded.path else None, "width": w, "height": h,
                      "format": loaded.format, "mode": loaded.original_mode},
            "options": options.as_json(),
            "status": "ok" if faces else "no_face",
            "faces": faces,
        }
        return FitResult(comp.composite(rgb, layer), comp.layer_to_rgba8(layer), segmentation, metadata, loaded)
