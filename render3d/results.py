"""What a fit returns: the images, and a typed record per face that `as_json` turns into the JSON output."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from render3d.io.image_in import LoadedImage
from render3d.kinds import FaceStatus, FallbackReason, ImageStatus, Wear, worst_status
from render3d.options import FitOptions


@dataclass(frozen=True)
class FaceResult:
    """One face of a fit: where it is, what it wears, how well the mask sits, and its realism estimates."""
    index: int                                   # the face's detection order
    bbox: tuple[float, float, float, float]      # x0, y0, x1, y1 of its landmarks, pixels (0.1 px)
    pose: dict[str, float]                       # yaw, pitch, roll in degrees
    detection: str                               # which detector pass found it
    landmarks: np.ndarray                        # (478, 3) MediaPipe landmarks: x, y, z in pixels (0.1 px)
    landmarks_5: np.ndarray                      # (5, 2) ArcFace's points: eyes, nose tip, mouth corners (0.1 px)
    mask: str                                    # the mask's name
    wear: Wear
    tint: tuple[float, float, float]             # linear-RGB multiplier of the recolourable albedo (4 decimals)
    color: str | None                            # the requested '#RRGGBB'
    shade: str | None                            # the palette colour a seeded draw recoloured the fabric to
    texture: str | None                          # the replacement texture's path
    creases: int                                 # how many seeded creases the fabric got
    iou: float                                   # IoU of its mask with its lower-face polygon (4 decimals)
    status: FaceStatus
    reason: FallbackReason | None                # why the 3D render was not kept
    detail: str | None                           # the scores or the error, in words
    realism: dict                                # `Look.as_json()`: the light, colour and camera estimates
    occluded_fraction: float = 0.0               # share of its mask's coverage hidden by what is in front
    occluders: tuple[str, ...] = ()              # the kinds in front of it: hand, object, hair
    pattern: dict | None = None                  # its print (`PrintDraw.as_json()`), if any
    color_weight: float | None = None            # the blend of `color` with the fabric, when recoloured

    def as_json(self) -> dict:
        """The face's record in the JSON output."""
        return {"index": self.index, "bbox": list(self.bbox), "pose": self.pose, "detection": self.detection,
                "landmarks": self.landmarks.tolist(), "landmarks_5": self.landmarks_5.tolist(),
                "mask": self.mask, "wear": self.wear, "tint": list(self.tint), "color": self.color,
                "shade": self.shade, "texture": self.texture, "creases": self.creases, "iou": self.iou,
                "status": self.status, "reason": self.reason, "detail": self.detail, "realism": self.realism,
                "occluded_fraction": self.occluded_fraction, "occluders": list(self.occluders),
                "pattern": self.pattern, "color_weight": self.color_weight}


@dataclass
class FitResult:
    """Everything `fit` makes for one image, in memory."""
    composite: np.ndarray        # (H, W, 3) uint8
    layer: np.ndarray            # (H, W, 4) uint8 RGBA, straight alpha
    segmentation: np.ndarray     # (H, W) uint8, 255 where a mask is
    instances: np.ndarray        # (H, W) uint16, face index + 1 where that face's mask is on top, 0 elsewhere
    metadata: dict               # input, options, seed and per-face records (the JSON output)
    faces: list[FaceResult]      # the per-face records, typed
    image: LoadedImage = field(repr=False)
    timings: dict = field(default_factory=dict, repr=False)   # seconds per stage (not in the JSON)

    @property
    def status(self) -> ImageStatus:
        """The image's status: its worst face's, or 'no_face'."""
        return self.metadata["status"]


def metadata(image: LoadedImage, options: FitOptions, faces: list[FaceResult]) -> dict:
    """The JSON output of a fit: the input, the options, the image's status and each face's record."""
    h, w = image.rgb.shape[:2]
    return {"input": {"path": str(image.path) if image.path else None, "width": w, "height": h,
                      "format": image.format, "mode": image.original_mode},
            "options": options.as_json(),
            "status": worst_status([face.status for face in faces]),
            "faces": [face.as_json() for face in faces]}
