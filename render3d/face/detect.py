"""Multi-face detection around MediaPipe's face mesh, with fallbacks where the mesh alone fails.

One face-mesh call on the whole image finds most faces and is all a typical photo costs. The other
passes run only when needed; each face keeps the name of the pass that found it:
  full     the face mesh on the whole image.
  padded   nothing found: the image inside a border, for crops that the face fills.
  search   no face yet, or only faces near the smallest the mesh's own detector sees: MediaPipe's
           full-range detector on the whole image, then on overlapping tiles where that finds more
           faces or still none; the mesh then fits a window around each new box.
A face the detector is unsure of (a score below UNSURE) is kept only where its cheeks and forehead
show skin colour: a blurred building or a pattern that the mesh took for a face shows none. A face the
whole-image passes are unsure of (a low detection score) is fitted again in a window around it, turned upright first where it lies on its side or upside down ("-rot90" and so on is
appended to its source). A photo with no sure face is tried in quarter turns.
Large photos are fitted at full size: fits on shrunken copies came no closer to hand-annotated
landmarks, and MediaPipe's time hardly grows with the image.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from render3d.face.landmarks import LandmarkModel

MIN_FACE = 32  # smallest face side (px) the search looks for
MESH_REACH = 0.14  # the face mesh's detector misses faces below this fraction of the long image side
BOX_REACH = 0.07  # the same for the full-range detector
NEAR_LIMIT = 1.5  # faces below this many times a pass's limit hint at smaller ones it missed
WINDOW = 4.0  # side of the window meshed around a candidate box, in box sides
PAD = 0.5  # border of the padded pass, per side, as a fraction of the long image side
DUPLICATE_IOU = 0.4  # landmark boxes overlapping more than this are the same face
SURE = 0.8  # detection score from which a whole-image fit is kept as it is
TURN_MARGIN = 0.05  # how much better a turned face must score to be fitted turned
MAX_WINDOW = 1024  # windows wider than this (px) are shrunk before fitting
UNSURE = 0.7  # detection score below which a face must also show skin colour to be kept
SKIN_SHARE = 0.3  # share of skin-coloured pixels on its cheeks and forehead that such a face needs
# Skin chroma in YCrCb. On the dev photos the unsure real faces have 0.8 or more of their patch
# pixels in it, and the building that the mesh fits in faceapi_happy.jpg none.
SKIN_CR, SKIN_CB = (135, 180), (85, 135)
ACHROMATIC = 2.0  # median chroma distance from grey below which colour says nothing (grayscale photos)
SKIN_PATCHES = ((117, 118, 101, 36, 205, 187, 123), (346, 347, 330, 266, 425, 411, 352),  # cheeks
                (109, 10, 338, 337, 9, 108))  # forehead


@dataclass(frozen=True)
class DetectedFace:
    """One face: its landmarks, where they came from and how sure the detector was."""

    landmarks: np.ndarray  # (478, 3): x, y and z in pixels of the input image
    source: str  # full, padded or search, with -rot90, -rot180 or -rot270 where it was fitted turned
    score: float  # the face detector's score for the box the landmarks were fitted in


def find_faces(rgb: np.ndarray, model: LandmarkModel, max_faces: int = 10) -> list[DetectedFace]:
    """Faces in an HxWx3 uint8 RGB image, at most max_faces (the largest), left to right."""
    turn, faces = 0, _find(rgb, model, _whole(rgb, model))
    if not any(f.score >= SURE for f in faces):
        # No face the detector is sure of: the photo may be on its side or upside down, where
        # MediaPipe finds few faces and fits them poorly. Take the first turn that gives a sure one.
        for k in (1, 2, 3):
            turned = _turned(rgb, k)
            whole = _whole(turned, model)
            if any(f.score >= SURE for f in whole):
                turn, faces = k, _find(turned, model, whole)
                break
    if turn:
        faces = [DetectedFace(_unrotate(f.landmarks, turn, rgb.shape[:2]), f"{f.source}-rot{90 * turn}", f.score)
                 for f in faces]
    faces = [f for f in faces if is_plausible(rgb, f)]
    faces = sorted(faces, key=lambda f: -_size(f.landmarks))[:max_faces]
    return sorted(faces, key=lambda f: tuple(_centre(f.landmarks)))


def is_plausible(rgb: np.ndarray, face: DetectedFace) -> bool:
    """Whether a face is likely a face: a sure detection, or skin colour on its cheeks and forehead.
    Where those patches are colourless (a grayscale photo) colour cannot tell, and the face is kept."""
    if face.score >= UNSURE:
        return True
    h, w = rgb.shape[:2]
    polygons = [np.round(face.landmarks[list(patch), :2]).astype(np.int32) for patch in SKIN_PATCHES]
    corner = np.clip(np.concatenate(polygons).min(0), 0, [w - 1, h - 1])
    far = np.clip(np.concatenate(polygons).max(0) + 1, corner + 1, [w, h])
    crop = rgb[corner[1]:far[1], corner[0]:far[0]]
    inside = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(inside, [p - corner for p in polygons], 1)
    _, cr, cb = cv2.cvtColor(crop, cv2.COLOR_RGB2YCrCb)[inside > 0].astype(np.float32).T
    if not len(cr) or np.median(np.abs(cr - 128) + np.abs(cb - 128)) < ACHROMATIC:
        return True
    skin = (cr >= SKIN_CR[0]) & (cr <= SKIN_CR[1]) & (cb >= SKIN_CB[0]) & (cb <= SKIN_CB[1])
    return float(skin.mean()) >= SKIN_SHARE


_ROTATIONS = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}


def _turned(rgb: np.ndarray, k: int) -> np.ndarray:
    """The image turned k quarter turns counter-clockwise, as np.rot90 turns it."""
    return cv2.rotate(rgb, _ROTATIONS[k]) if k else rgb


def _find(rgb: np.ndarray, model: LandmarkModel, whole: list[DetectedFace]) -> list[DetectedFace]:
    """The faces from the whole-image passes, those the detector is unsure of fitted again, and
    the search where it is needed."""
    faces = [f if f.score >= SURE else _refit(rgb, model, f) for f in whole]
    if _needs_search([_size(f.landmarks) for f in faces], MESH_REACH * max(rgb.shape[:2])):
        faces += _search(rgb, model, faces)
    return _dedupe(faces)


def _whole(rgb: np.ndarray, model: LandmarkModel) -> list[DetectedFace]:
    """Faces in the image as it is, else in the image inside a border."""
    found, source = model.detect(rgb), "full"
    if not found:
        h, w = rgb.shape[:2]
        pad = int(PAD * max(h, w))
        found, source = _detect_in_window(rgb, model, (-pad, -pad, w + pad, h + pad)), "padded"
    return [DetectedFace(landmarks, source, score) for landmarks, score in found]


def _refit(rgb: np.ndarray, model: LandmarkModel, face: DetectedFace) -> DetectedFace:
    """Fit an unsure face again in a window twice its size around it. A face seen small in the
    whole image gets a better placed fit. Unless the new fit is sure and within 45 degrees of
    upright, the window is also scored turned each way: a face on its side or upside down, which
    MediaPipe fits with a low score and often wrongly, is fitted in the turn that scores best."""
    half = int(_size(face.landmarks))
    cx, cy = _centre(face.landmarks).astype(int)
    box = (cx - half, cy - half, cx + half, cy + half)
    window, scale = _window(rgb, box)
    centre = np.array(window.shape[1::-1]) / 2
    fit, score = _central_fit(model.detect(window), centre)
    turn = 0
    if fit is None or score < SURE or abs(_roll(fit)) > 45:
        scores = [model.face_boxes(_turned(window, k), full_range=False)[:, 4].max(initial=0.0) for k in (1, 2, 3)]
        best = int(np.argmax(scores))
        if scores[best] > score + TURN_MARGIN:
            turn = best + 1
            fits = [(_unrotate(f, turn, window.shape[:2]), s) for f, s in model.detect(_turned(window, turn))]
            fit, score = _central_fit(fits, centre)
    if fit is None:
        return face
    source = f"{face.source}-rot{90 * turn}" if turn else face.source
    return DetectedFace(_from_window(fit, box, scale), source, score)


def _central_fit(fits: list[tuple[np.ndarray, float]], centre: np.ndarray) -> tuple[np.ndarray | None, float]:
    """The fit, with its score, whose landmark box holds the given point and is centred nearest it."""
    fits = [f for f in fits if _covers(f[0], centre)]
    if not fits:
        return None, 0.0
    return min(fits, key=lambda f: np.linalg.norm(_centre(f[0]) - centre))


def _roll(points: np.ndarray) -> float:
    """Degrees the line from the face's right eye corner to its left one turns from the x axis."""
    dx, dy = points[263, :2] - points[33, :2]
    return float(np.degrees(np.arctan2(dy, dx)))


def _bbox(points: np.ndarray) -> np.ndarray:
    return np.concatenate([points[:, :2].min(0), points[:, :2].max(0)])


def _size(points: np.ndarray) -> float:
    x0, y0, x1, y1 = _bbox(points)
    return float(max(x1 - x0, y1 - y0))


def _centre(points: np.ndarray) -> np.ndarray:
    box = _bbox(points)
    return (box[:2] + box[2:]) / 2


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def _needs_search(sizes: list[float], limit: float) -> bool:
    """True when nothing is found yet, or when the smallest face found is close enough to a pass's
    size limit that faces a little smaller, which that pass cannot see, are likely."""
    return not sizes or (limit > MIN_FACE and min(sizes) < NEAR_LIMIT * limit)


def _window(rgb: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, float]:
    """rgb[y0:y1, x0:x1], with the image's edge pixels repeated where the box leaves it, shrunk by
    the returned scale where it is wider than MAX_WINDOW: the mesh fits a face no better in more
    pixels than that, and a border around a large photo would cost memory."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    scale = min(1.0, MAX_WINDOW / max(x1 - x0, y1 - y0))
    inner = rgb[max(y0, 0):min(y1, h), max(x0, 0):min(x1, w)]
    if scale < 1:
        size = (max(1, round(inner.shape[1] * scale)), max(1, round(inner.shape[0] * scale)))
        inner = cv2.resize(inner, size, interpolation=cv2.INTER_AREA)
    top, bottom, left, right = (round(max(v, 0) * scale) for v in (-y0, y1 - h, -x0, x1 - w))
    return cv2.copyMakeBorder(inner, top, bottom, left, right, cv2.BORDER_REPLICATE), scale


def _from_window(points: np.ndarray, box: tuple[int, int, int, int], scale: float) -> np.ndarray:
    """Landmarks fitted in a window, in the image's pixels."""
    return points / scale + (box[0], box[1], 0)


def _detect_in_window(rgb: np.ndarray, model: LandmarkModel,
                      box: tuple[int, int, int, int]) -> list[tuple[np.ndarray, float]]:
    """Faces found in a window of the image, with landmarks in the image's pixels."""
    window, scale = _window(rgb, box)
    return [(_from_window(landmarks, box, scale), score) for landmarks, score in model.detect(window)]


def _tiles(h: int, w: int, side: int) -> list[tuple[int, int, int, int]]:
    """Square tiles of the given side covering the image, overlapping by at least a third."""
    def starts(length: int) -> np.ndarray:
        if length <= side:
            return np.zeros(1, int)
        n = int(np.ceil((length - side) / (side * 2 / 3))) + 1
        return np.linspace(0, length - side, n).round().astype(int)

    return [(x, y, x + side, y + side) for y in starts(h) for x in starts(w)]


def _search(rgb: np.ndarray, model: LandmarkModel, faces: list[DetectedFace]) -> list[DetectedFace]:
    """Full-range detector boxes on the whole image, then on tiles when that finds faces the mesh
    missed (a crowd, likely with smaller faces still), when nothing is found yet, or when the faces
    are near the whole-image limit. A tile is three times that limit wide, so that any face too
    small for the whole image fits inside the tiles' overlap."""
    h, w = rgb.shape[:2]
    long_side = max(h, w)
    found = _mesh_boxes(rgb, model, model.face_boxes(rgb), faces)
    side = int(max(MIN_FACE / BOX_REACH, 3 * BOX_REACH * long_side))
    sizes = [_size(f.landmarks) for f in faces + found]
    if side < long_side and (found or _needs_search(sizes, BOX_REACH * long_side)):
        boxes = [model.face_boxes(rgb[y0:y1, x0:x1]) + (x0, y0, x0, y0, 0) for x0, y0, x1, y1 in _tiles(h, w, side)]
        found += _mesh_boxes(rgb, model, np.concatenate(boxes), faces + found)
    return found


def _mesh_boxes(rgb: np.ndarray, model: LandmarkModel, boxes: np.ndarray,
                faces: list[DetectedFace]) -> list[DetectedFace]:
    """Mesh a window around every box, most confident first, whose centre no face covers yet."""
    found: list[DetectedFace] = []
    for box in boxes[np.argsort(-boxes[:, 4], kind="stable")]:
        centre = (box[:2] + box[2:4]) / 2
        if any(_covers(f.landmarks, centre) for f in faces + found):
            continue
        half = WINDOW * max(box[2] - box[0], box[3] - box[1]) / 2
        x0, y0 = (centre - half).round().astype(int)
        x1, y1 = (centre + half).round().astype(int)
        fit, score = _central_fit(_detect_in_window(rgb, model, (x0, y0, x1, y1)), centre)
        if fit is not None:
            found.append(DetectedFace(fit, "search", score))
    return found


def _covers(points: np.ndarray, xy: np.ndarray) -> bool:
    x0, y0, x1, y1 = _bbox(points)
    return bool(x0 <= xy[0] <= x1 and y0 <= xy[1] <= y1)


def _unrotate(points: np.ndarray, k: int, shape: tuple[int, int]) -> np.ndarray:
    """Landmarks found in np.rot90(image, k), back in the image's pixels (z is unchanged)."""
    h, w = shape
    x, y, z = points.T
    if k == 1:
        x, y = w - y, x
    elif k == 2:
        x, y = w - x, h - y
    else:
        x, y = y, h - x
    return np.stack([x, y, z], axis=1)


def _dedupe(faces: list[DetectedFace]) -> list[DetectedFace]:
    """Drop faces that overlap one kept earlier: passes run from the most context to the least."""
    kept: list[DetectedFace] = []
    for face in faces:
        box = _bbox(face.landmarks)
        if all(_iou(box, _bbox(k.landmarks)) <= DUPLICATE_IOU for k in kept):
            kept.append(face)
    return kept
