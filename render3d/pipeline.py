"""The engine: image in -> faces -> fitted mesh -> placed mask -> render -> composite -> verify.

`Engine` holds what is expensive to create (the landmark model, the GL context, bound masks)
and is reused for every image of a process.
"""
from __future__ import annotations

import os
import threading

import numpy as np

from render3d import realism
from render3d.errors import EngineError
from render3d.face.detect import DetectedFace, find_faces
from render3d.face.fitting import FittedFace, fit_face, occluder_mesh
from render3d.face.landmarks import LandmarkModel, check_not_forked
from render3d.geometry import Window, flip_yz
from render3d.io.image_in import Source, load_image
from render3d.mask.choice import MaskChoice
from render3d.mask.detail_level import at_scale
from render3d.mask.library import Mask, load_mask
from render3d.mask.placement import Skin, place
from render3d.mask.wear import worn_face
from render3d.options import FitOptions
from render3d.qa.verify import placement_iou
from render3d.realism import Look
from render3d.render import composite as comp
from render3d.render import occluders as foreground
from render3d.render import outline
from render3d.render import straps
from render3d.render.fallback import FaceRender, neutral_face, verified, warp_mask
from render3d.render.renderer import DrawPart, Renderer
from render3d.results import FaceResult, FitResult, metadata
from render3d.timing import timed

WINDOW_MARGIN = 2
# ArcFace's 5 alignment points as MediaPipe landmarks, in image order: the eye on the image's left
# (the subject's right iris centre), the other eye, the nose tip, the mouth's left and right corners.
FIVE_POINTS = [468, 473, 1, 61, 291]


def draw_parts(mask: Mask, fitted: FittedFace, choice: MaskChoice | None = None,
               look: Look | None = None, pixels_per_cm: float | None = None) -> list[DrawPart]:
    """The mask's parts placed on `fitted` in image space, tinted and textured per `choice`, lit per `look`,
    at the level of detail of a face of `pixels_per_cm` (default: `fitted`'s own scale)."""
    parts = []
    skin = Skin.of(fitted)
    pixels_per_cm = fitted.scale if pixels_per_cm is None else pixels_per_cm
    drawn = [at_scale(part, pixels_per_cm) for part in mask.parts]
    oriented = [(part, flip_yz(part.normals @ fitted.rotation.T)) for part in drawn]   # camera frame
    looks = look.draw_args(fitted, oriented) if look else [{"normals": normals} for _, normals in oriented]
    for (part, normals), look_args in zip(oriented, looks):
        key, albedo, tint, creases = part.key, part.albedo, (1.0, 1.0, 1.0), None
        if look is not None and look.shaded and straps.is_strap(part):
            # A cord is lit round its own section, not as the skin beneath it.
            look_args = {**look_args, "normals": normals, "ao": straps.rounded(look_args.get("ao"), normals)}
        if choice is not None and part.recolor:
            tint, creases = choice.tint, choice.creases
            key, albedo = choice.fabric(part, mask.color, pixels_per_cm)
        elif choice is not None and choice.color and straps.is_strap(part):
            tint = straps.strap_tint(mask, part, choice.tint)      # loops of the fabric --color asks for
        parts.append(DrawPart(positions=place(part.vertices, part.binding, fitted, skin), uvs=part.uvs,
                              triangles=part.triangles, texture_key=key, albedo=albedo, normal_map=part.normal_map,
                              tint=tint, sheen=part.sheen, creases=creases, strap=straps.is_strap(part), **look_args))
    return parts


def window_of(parts: list[DrawPart], shape: tuple[int, int], extra: int = 0) -> Window | None:
    """The pixel window around the parts' projection, `extra` pixels wider, clipped to the (H, W) image."""
    return Window.around(np.concatenate([p.positions[:, :2] for p in parts]), shape, WINDOW_MARGIN + extra)


class Engine:
    """One GL context and landmark model, reused for every image. An engine belongs to the process
    and thread that created it (a GL context is current in one thread); used elsewhere it raises
    EngineError. `render3d.default_engine()` gives each process and thread its own."""

    def __init__(self, samples: int = 4, device: int | None = None):
        check_not_forked()
        self.owner = (os.getpid(), threading.get_ident())
        self.renderer = Renderer(samples=samples, device=device)
        self._landmark_models: dict[int, LandmarkModel] = {}
        self._hand_model: foreground.HandModel | None = None
        self._person_model: straps.PersonModel | None = None

    def check_owner(self) -> None:
        """Raise EngineError unless called from the process and thread that created the engine."""
        here = (os.getpid(), threading.get_ident())
        if here != self.owner:
            raise EngineError(f"this Engine was created in process {self.owner[0]}, thread {self.owner[1]}, "
                              f"and cannot run in process {here[0]}, thread {here[1]}: create one Engine per "
                              "process and thread (render3d.fit and MaskAugment do)")

    def landmark_model(self, max_faces: int) -> LandmarkModel:
        """The landmark model for up to `max_faces` faces, created on first use."""
        if max_faces not in self._landmark_models:
            self._landmark_models[max_faces] = LandmarkModel(max_faces=max_faces)
        return self._landmark_models[max_faces]

    def hand_model(self) -> foreground.HandModel:
        """The hand model of the occluder stage, created on first use."""
        if self._hand_model is None:
            self._hand_model = foreground.HandModel()
        return self._hand_model

    def person_model(self) -> straps.PersonModel:
        """The person segmentation that tells hair in front of a loop from the background, created on first use."""
        if self._person_model is None:
            self._person_model = straps.PersonModel()
        return self._person_model

    def fit(self, image: Source, options: FitOptions | None = None) -> FitResult:
        """Mask every face of `image` (a path, bytes or an (H, W[, 3|4]) array) as `options` say (default
        FitOptions()). Raises InputError for an unreadable image; a face whose mask cannot be placed is
        recorded in its FaceResult, not raised."""
        options = FitOptions() if options is None else options
        if not isinstance(options, FitOptions):
            raise TypeError(f"options must be a FitOptions, not {type(options).__name__}")
        timings: dict[str, float] = {}
        self.check_owner()
        with timed(timings, "decode"):
            loaded = load_image(image, options.max_pixels)
        rgb = loaded.rgb
        h, w = rgb.shape[:2]
        with timed(timings, "landmarks"):
            detected = find_faces(rgb, self.landmark_model(options.max_faces), options.max_faces)
        with timed(timings, "placement"):
            fitted = [fit_face(face.landmarks) for face in detected]
            choices = options.choose(len(fitted))
            fitted = [worn_face(fit, choice.wear) for fit, choice in zip(fitted, choices)]
            masks = [load_mask(choice.path, choice.wear) for choice in choices]
            occluders = [occluder_mesh(f) for f in fitted]
            # Far faces first (smaller scale), so nearer masks are laid over them.
            order = sorted(range(len(fitted)), key=lambda i: fitted[i].scale)
        looks = realism.estimate(loaded, fitted, options.realism, options.realism_off, timings)
        with timed(timings, "render"):
            # With occluders off nothing of the photo is put in front of the mask: no hair over its loops.
            photo = None if options.occluders == "off" else rgb
            drawn = {i: self.render_face(masks[i], fitted[i], choices[i], occluders, (h, w), options.min_iou,
                                         looks[i], photo)
                     for i in order}
        renders = {i: drawn[i].render for i in order if drawn[i].render is not None}
        with timed(timings, "occluders"):
            occlusions = foreground.estimate_faces(rgb, fitted, renders, options.occluders, self.hand_model)
        region, layer, shade = realism.finish(renders, (h, w), looks, fitted, options.seed, timings,
                                              lambda i, render: foreground.cut(render, occlusions[i]))
        with timed(timings, "composite"):
            composite, rgba, segmentation = comp.full_frame_outputs(rgb, region, layer,
                                                                    foreground.unshadowed(shade, occlusions))
            instances = comp.instance_ids([foreground.cut(renders[i], occlusions[i]) for i in renders],
                                          [i + 1 for i in renders], (h, w))
        with timed(timings, "verify"):
            faces = [face_record(index, face, fit, choice, segmentation, drawn[index], looks[index],
                                 occlusions[index])
                     for index, (face, fit, choice) in enumerate(zip(detected, fitted, choices))]
        return FitResult(composite, rgba, segmentation, instances, metadata(loaded, options, faces), faces, loaded,
                         timings)

    def render_face(self, mask: Mask, fitted: FittedFace, choice: MaskChoice, occluders: list,
                    shape: tuple[int, int], min_iou: float | None, look: Look | None = None,
                    photo: np.ndarray | None = None) -> FaceRender:
        """One face's mask rendered in 3D; with `min_iou` set, verified and, where the 3D path fails
        or scores below it, redrawn by the 2D fallback (or left out when that fails too). With the
        (H, W, 3) `photo`, its hair in front of the mask's loops and straps hides them."""
        def render_3d():
            parts = draw_parts(mask, fitted, choice, look)
            window = window_of(parts, shape, look.margin if look else 0)
            if window is None:
                return None
            rendered = self.renderer.render_layers(window, occluders, parts, look.shaded if look else True)
            rgba = outline.taut(rendered.rgba, fitted.scale, choice.outline, fitted.up)
            if photo is not None:
                strap_points = np.concatenate([np.zeros((0, 2))] + [p.positions[:, :2] for p in parts if p.strap])
                rgba = straps.straps_under_hair(window, rendered.straps, strap_points, rgba, photo, fitted,
                                                self.person_model)
            return window, rgba

        if min_iou is None:
            return FaceRender(render_3d(), "ok")

        def render_2d():        # the template drawn at the detail of the face it is warped onto
            return warp_mask(draw_parts(mask, neutral_face(), choice, pixels_per_cm=fitted.scale), fitted, shape)

        return verified(render_3d, render_2d, fitted.landmarks, shape, min_iou, choice.wear)


def face_record(index: int, face: DetectedFace, fitted: FittedFace, choice: MaskChoice,
                segmentation: np.ndarray, drawn: FaceRender, look: Look,
                occlusion: foreground.Occlusion) -> FaceResult:
    """The record of one face, its IoU measured on the final (H, W) segmentation where nothing is in front."""
    x0, y0, x1, y1 = fitted.bbox
    return FaceResult(index=index, bbox=(round(x0, 1), round(y0, 1), round(x1, 1), round(y1, 1)),
                      pose=fitted.pose, detection=face.source, landmarks=np.round(face.landmarks, 1),
                      landmarks_5=np.round(face.landmarks[FIVE_POINTS, :2], 1), mask=choice.name, wear=choice.wear,
                      tint=tuple(round(c, 4) for c in choice.tint), color=choice.color, shade=choice.shade,
                      texture=str(choice.texture) if choice.texture else None, creases=len(choice.creases),
                      pattern=choice.print.as_json() if choice.print else None,
                      color_weight=choice.color_weight if choice.color else None,
                      iou=round(placement_iou(segmentation > 0, fitted.landmarks, choice.wear,
                                              foreground.visible(occlusion, segmentation.shape)), 4),
                      status=drawn.status, reason=drawn.reason, detail=drawn.detail, realism=look.as_json(),
                      occluded_fraction=round(occlusion.fraction, 4), occluders=occlusion.kinds)
