"""The closed sets of words the engine speaks in: statuses, reasons, wearing styles, realism modes and stages.

Each is a `Literal` type for annotations and a tuple of its values (in order) for checks and help texts.
"""
from __future__ import annotations

from typing import Literal, get_args

FaceStatus = Literal["ok", "fallback", "failed"]            # best to worst; an image takes its worst face's
ImageStatus = Literal["ok", "fallback", "failed", "no_face"]
FallbackReason = Literal["low_iou", "3d_error"]             # why a face's 3D render was not kept
Wear = Literal["correct", "nose-out", "chin", "chin-out"]
RealismMode = Literal["full", "flat"]
RealismStage = Literal["light", "ao", "hem", "colour", "camera", "shadow"]
OccluderMode = Literal["auto", "off"]

FACE_STATUSES: tuple[FaceStatus, ...] = get_args(FaceStatus)
IMAGE_STATUSES: tuple[ImageStatus, ...] = get_args(ImageStatus)
FALLBACK_REASONS: tuple[FallbackReason, ...] = get_args(FallbackReason)
WEAR_STYLES: tuple[Wear, ...] = get_args(Wear)
REALISM_MODES: tuple[RealismMode, ...] = get_args(RealismMode)
REALISM_STAGES: tuple[RealismStage, ...] = get_args(RealismStage)
OCCLUDER_MODES: tuple[OccluderMode, ...] = get_args(OccluderMode)


def worst_status(statuses: list[FaceStatus]) -> ImageStatus:
    """An image's status: its worst face's, or 'no_face' without faces."""
    return max(statuses, key=FACE_STATUSES.index) if statuses else "no_face"
