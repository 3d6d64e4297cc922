"""Foreground occluders: hands, held objects and hair strands in front of a face's mask.

Between render and composite, each face's mask render is cut where something in the photo lies in
front of the face, so the layer, the composite and the segmentation all leave it showing:

- hands: MediaPipe's hand models (they ship in the mediapipe wheel), looked for only about faces where
  a cheap colour test leaves room for a hand: the palm detector on a crop about each face's lower
  half, then the hand-landmark model on the region of each palm that can reach a mask, and the
  landmark model alone on a region about the chin, for the hands the palm detector misses (a fist,
  fingers across the mouth); each hand is kept when a second look, on the region its landmarks give,
  agrees. The bones, drawn as capsules of a finger's width, grow over the hand's own colour within
  its landmarks' hull, and a guided filter (the photo as guide) snaps the result to the hand's edge;
- objects (microphones, cups, food): compact regions inside the mask's footprint whose colour
  departs strongly from both the face's skin (sampled on the cheeks and forehead) and its lips, and
  either touch a hand or overlap the face itself; the mouth, dark low-chroma pixels (beard,
  shadow) and anything lip- or skin-coloured are never candidates, so beards, lipstick, open
  mouths and teeth stay under the mask; a pale stick held in the mouth (a cigarette, a pen, a
  straw) is the exception: a compact region paler and greyer than the skin that lies on the lips,
  reaches well past the mouth and is long and straight;
- hair: thin dark strands (a morphological black-hat of the lightness) in a band along the mask's
  side and bottom borders, kept in front with a soft alpha that follows their contrast.

Every region ends in a soft alpha (0..1, 1 = fully in front), so the cut has neither halo nor gap.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from render3d.face.fitting import FittedFace
from render3d.face.landmarks import native_logs_silenced
from render3d.face.topology import canonical_face
from render3d.geometry import Window

KINDS = ("hand", "object", "hair")

HAND_CONFIDENCE = 0.3        # palm detection score; the hand-landmark model's own presence check follows
MAX_HANDS = 4
HAND_CROP_PX = 256           # each face's crop is scaled so its long side is at least this
FINGER_RADIUS = 0.09         # a finger's half-width, as a share of the wrist-to-middle-knuckle length
HULL_REACH = 2.0             # a hand's outline grows this many finger half-widths past its landmarks' hull
HAND_BONES = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (9, 10), (10, 11), (11, 12),
              (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20), (5, 9), (9, 13), (13, 17))
PALM = (0, 1, 2, 5, 9, 13, 17)
PRESENCE_STREAM = "handlandmarkcpu__hand_presence_score"
PALM_THRESHOLD = "palmdetectioncpu__TensorsToDetectionsCalculator.min_score_thresh"
PALM_AXIS = (0, 2)           # the palm detection's wrist and middle-finger keypoints
PALM_SCALE, PALM_SHIFT = 2.6, -0.5                          # MediaPipe's hand region about a palm's box
HAND_PRESENCE = 0.5          # least presence score of a hand, on each look (MediaPipe Hands' own threshold)
CHIN_REGION = 1.3            # side of the first look's square about the chin, in forehead-to-chin lengths
CHIN_LOOK_MIN_PX = 120       # least forehead-to-chin length for that look: on smaller faces it sees hands in chins
HAND_AGREEMENT = 0.2         # the two looks' landmarks differ by at most this many hand sizes, on average
TRACKING_POINTS = (0, 1, 2, 5, 6, 9, 10, 13, 14, 17, 18)   # wrist, thumb base, knuckles, middle joints
TRACKING_SCALE, TRACKING_SHIFT = 2.0, -0.1                 # MediaPipe's hand region about those points
GATE_PX = 64                 # the long side of the small copy `may_show_hand` looks at
MIN_SKIN_CHROMA = 4.0        # Lab chroma of a skin too grey for colour to find a hand by
MIN_PALM_AREA = 0.05         # a palm's least area beyond the face, in face sizes squared
HAND_DEPARTURE = 3.0         # a hand's colour lies within this many spreads of the face's skin
HELD_REACH = 0.35            # a held object starts at the hand or within this many hand sizes of its bones

# Face mesh landmarks: skin patches on the cheeks and forehead, and the outer lip contour.
SKIN_POINTS = (50, 280, 117, 346, 101, 330, 151, 108, 337, 9)
SKIN_PATCH_CM = 0.6
OUTER_LIP = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146)
NOSE_TIP, CHIN, FOREHEAD = 1, 152, 10
MOUTH_MARGIN_CM = 0.3

LAB_FLOOR = np.array([6.0, 3.0, 3.0])    # least spread of a colour model (L, a, b), so flat skin is not brittle
LIGHTNESS_WEIGHT = 0.35                   # shading changes lightness: it counts less than chroma
DEPARTURE = 4.0                           # a candidate pixel is this many spreads from skin and from lips
LIP_REACH = 12.0                          # lip pixels further than this from the skin are not lips (an object)
STRONG_DEPARTURE = 7.0                    # a free-standing object's median departure
MIN_OBJECT_SHARE = 0.015                  # a free-standing object's least area, as a share of the footprint
MIN_SOLIDITY = 0.6                        # a free-standing object's area over its convex hull's
MIN_FACE_OVERLAP = 0.6                    # share of a free-standing object that lies on the face
HELD_FACE_OVERLAP = 0.2                   # share of a held object that lies on the face (not beside it)
DARK_DROP = 8.0                           # L this far below the skin's, at no more than its chroma: beard or shadow
PALE_CHROMA = 0.6                         # a pale stick's chroma, at most this share of the skin's (and as light)
STICK_LIP_SHARE = 0.25                    # share of a stick that lies on the lips
STICK_REACH_CM = 0.6                      # how far past the mouth a stick reaches, at least
STICK_ASPECT = 2.0                        # a stick's length over its width (its least box's sides), at least
STICK_FILL = 0.6                          # a stick's area over its least box's: straight, not bent or branched

STRAND_BAND_CM = 0.8                      # hair is looked for this far inside the mask's border
STRAND_WIDTH_CM = 0.25                    # the widest strand
# A strand's dark line is on average no wider than that (its area over its box's long side, which a
# diagonal strand's length exceeds by up to sqrt 2), plus its antialiased fringe: an earring's dark gaps
# and a mole are wider.
STRAND_MEAN_WIDTH, STRAND_FRINGE_PX = 1.2, 1.5
STRAND_CONTRAST = (0.15, 0.35)            # black-hat over skin lightness: no alpha below, full alpha above

GUIDE_RADIUS_CM = 0.25
GUIDE_EPS = 1e-3
EDGE_RAMP = (0.25, 0.75)                  # the guided region's values mapped to alpha 0..1


@dataclass(frozen=True)
class Occlusion:
    """What lies in front of one face's mask render."""
    window: tuple[int, int, int, int] | None   # the render's window: x0, y0, width, height
    alpha: np.ndarray | None       # (h, w) float32 over the window: 1 where an occluder is in front
    kinds: tuple[str, ...]         # the kinds found, in KINDS order
    fraction: float                # share of the mask's coverage removed

    def as_json(self) -> dict:
        """The face's occluder fields in the JSON output."""
        return {"occluded_fraction": round(self.fraction, 4), "occluders": list(self.kinds)}


NONE = Occlusion(None, None, (), 0.0)


class HandModel:
    """MediaPipe Hands' two models (they ship in the mediapipe wheel), created once and reused, each
    alone: the palm detector, giving the region of each palm's hand as the Hands graph does, and the
    hand-landmark model on a given region, with its hand-presence score (on a palm's region, and on
    regions about the chin for the hands the palm detector misses: a fist, fingers across a mouth)."""

    def __init__(self):
        from mediapipe.python.solution_base import SolutionBase

        with native_logs_silenced():
            # The full models, asked for by name: left unset, which one runs depends on the graphs made before.
            self._palms = SolutionBase(graph_config=subgraph("PalmDetectionCpu", ["IMAGE:image"], "DETECTIONS"),
                                       outputs=["detections"], side_inputs={"model_complexity": 1},
                                       calculator_params={PALM_THRESHOLD: HAND_CONFIDENCE})
            # The hand-landmark model alone, with its presence score read out.
            config = subgraph("HandLandmarkCpu", ["IMAGE:image", "ROI:roi"], "LANDMARKS")
            config.output_stream.append(PRESENCE_STREAM)
            self._landmarks = SolutionBase(graph_config=config, outputs=["landmarks", PRESENCE_STREAM],
                                           side_inputs={"model_complexity": 1},
                                           calculator_params={"handlandmarkcpu__ThresholdingCalculator.threshold": 0.0})

    def palms(self, rgb: np.ndarray) -> list[tuple[np.ndarray, float, float]]:
        """The hand region (centre (2,), side, angle: as `at` takes them, in pixels and radians) of each
        palm the palm detector finds in an HxWx3 uint8 RGB image, best first, at most MAX_HANDS: the
        region MediaPipe Hands gives its landmark model."""
        h, w = rgb.shape[:2]
        with native_logs_silenced():
            result = self._palms.process({"image": np.ascontiguousarray(rgb)})
        detections = sorted(result.detections or [], key=lambda d: -d.score[0])[:MAX_HANDS]
        regions = []
        for detection in detections:
            box, points = detection.location_data.relative_bounding_box, detection.location_data.relative_keypoints
            wrist, middle = (np.array([points[i].x * w, points[i].y * h]) for i in PALM_AXIS)
            angle = clockwise_from_up(middle - wrist)
            size = np.array([box.width * w, box.height * h])
            centre = np.array([(box.xmin + box.width / 2) * w, (box.ymin + box.height / 2) * h])
            centre += PALM_SHIFT * size[1] * np.array([-np.sin(angle), np.cos(angle)])
            regions.append((centre, PALM_SCALE * float(size.max()), angle))
        return regions

    def at(self, rgb: np.ndarray, centre: np.ndarray, side: float, angle: float) -> tuple[float, np.ndarray]:
        """The hand-landmark model on the square region of `side` pixels about `centre` (x, y pixels),
        turned `angle` radians clockwise (a hand upright in it has its wrist at the bottom): its
        presence score (0..1) and (21, 2) pixel landmarks."""
        from mediapipe.framework.formats import rect_pb2

        h, w = rgb.shape[:2]
        region = rect_pb2.NormalizedRect(x_center=centre[0] / w, y_center=centre[1] / h, width=side / w,
                                         height=side / h, rotation=angle)
        with native_logs_silenced():
            result = self._landmarks.process({"image": np.ascontiguousarray(rgb), "roi": region})
        points = np.array([(p.x * w, p.y * h) for p in result.landmarks.landmark])
        return float(getattr(result, PRESENCE_STREAM)), points


def subgraph(calculator: str, inputs: list[str], output: str):
    """A CalculatorGraphConfig running one of MediaPipe's subgraphs (expanded, so that its inner streams can be
    read out) on `inputs` ("TAG:stream"), with its model complexity as a side packet and `output` as the
    stream of its lower-cased name."""
    from mediapipe.framework import calculator_pb2
    from mediapipe.python._framework_bindings import validated_graph_config

    graph = calculator_pb2.CalculatorGraphConfig(input_stream=[i.split(":")[1] for i in inputs],
                                                 output_stream=[output.lower()], input_side_packet=["model_complexity"])
    graph.node.add(calculator=calculator, input_stream=inputs, input_side_packet=["MODEL_COMPLEXITY:model_complexity"],
                   output_stream=[f"{output}:{output.lower()}"])
    expanded = validated_graph_config.ValidatedGraphConfig()
    expanded.initialize(graph_config=graph)
    return calculator_pb2.CalculatorGraphConfig.FromString(expanded.binary_config)


def clockwise_from_up(direction: np.ndarray) -> float:
    """The angle (radians) an image direction (x, y pixels, y down) is turned clockwise from straight up."""
    return float(np.arctan2(direction[0], -direction[1]))


def hand_frame(hand: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The region the hand-landmark model wants for a hand's (21, 2) landmarks, as MediaPipe tracks it:
    (centre (2,), side, angle), all in pixels and radians."""
    angle = clockwise_from_up(hand[9] - hand[0])
    c, s = np.cos(angle), np.sin(angle)
    to_hand = np.array([[c, s], [-s, c]])                          # image -> the hand's upright frame
    upright = hand[list(TRACKING_POINTS)] @ to_hand.T
    low, high = upright.min(0), upright.max(0)
    side = TRACKING_SCALE * float((high - low).max())
    centre = ((low + high) / 2 + [0, TRACKING_SHIFT * side]) @ to_hand
    return centre, side, angle


def confirmed(rgb: np.ndarray, model: HandModel, hand: np.ndarray) -> np.ndarray | None:
    """A found hand ((21, 2) pixel landmarks) looked at again by the hand-landmark model, on the region
    its landmarks give (as MediaPipe tracks a hand): the second look's landmarks when it is sure of a
    hand and puts it in the same place, else None."""
    score, second = model.at(rgb, *hand_frame(hand))
    agreement = np.linalg.norm(second - hand, axis=1).mean() / max(hand_scale(hand), 1.0)
    return second if score >= HAND_PRESENCE and agreement <= HAND_AGREEMENT else None


def hand_over_face(rgb: np.ndarray, model: HandModel, face: FittedFace) -> np.ndarray | None:
    """A hand over the lower face that the palm detector does not see: the hand-landmark model on a
    region about the chin, upright with the face, on faces large enough for it: (21, 2) pixel
    landmarks, or None."""
    up = face.landmarks[FOREHEAD, :2] - face.landmarks[CHIN, :2]
    size = float(np.linalg.norm(up))
    if size < CHIN_LOOK_MIN_PX:
        return None
    score, hand = model.at(rgb, face.landmarks[CHIN, :2], CHIN_REGION * size, clockwise_from_up(up))
    return hand if score >= HAND_PRESENCE else None


def hand_scale(hand: np.ndarray) -> float:
    """Wrist to middle-finger knuckle, in pixels."""
    return float(np.linalg.norm(hand[9] - hand[0]))


def find_hands(rgb: np.ndarray, model: HandModel, faces: list[FittedFace],
               windows: list[tuple[int, int, int, int] | None]) -> list[np.ndarray]:
    """Hands in front of the faces' mask renders (`windows`, one per face, None where it has none): the palm
    detector on a crop around each face's lower half (two face sizes across, scaled up for small faces) and
    the landmark model over the chin and mouth, each confirmed by a second look, without repeats: (21, 2)
    pixel landmarks each. A palm whose hand region cannot reach a window is not looked at further."""
    h, w = rgb.shape[:2]
    drawn = [window for window in windows if window is not None]
    found = []
    for face, window in zip(faces, windows):
        if window is None or not may_show_hand(rgb, face, faces):
            continue
        left, top, right, bottom = search_crop(face, (h, w))
        if right - left >= 16 and bottom - top >= 16:
            zoom = max(1.0, HAND_CROP_PX / max(right - left, bottom - top))
            crop = cv2.resize(rgb[top:bottom, left:right], None, fx=zoom, fy=zoom, interpolation=cv2.INTER_LINEAR)
            for centre, side, angle in model.palms(crop):
                if reaches(centre / zoom + [left, top], side / zoom, drawn):
                    score, hand = model.at(crop, centre, side, angle)
                    found += [hand / zoom + [left, top]] if score >= HAND_PRESENCE else []
        over = hand_over_face(rgb, model, face)
        found += [] if over is None else [over]
    unique: list[np.ndarray] = []
    for hand in (confirmed(rgb, model, hand) for hand in found):
        if hand is not None and all(np.linalg.norm(hand[list(PALM)].mean(0) - other[list(PALM)].mean(0))
                                    > 0.5 * hand_scale(other) for other in unique):
            unique.append(hand)
    return unique


def face_size(face: FittedFace) -> float:
    """The long side of the face's landmarks' box, in pixels."""
    return float(np.ptp(face.landmarks[:, :2], axis=0).max())


def search_crop(face: FittedFace, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """Where hands are looked for about a face, clipped to an (H, W) image: two face sizes across, centred on
    the bottom of its landmarks' box (its lower half and what is below): left, top, right, bottom pixels."""
    (x0, _), (x1, y1) = face.landmarks[:, :2].min(0), face.landmarks[:, :2].max(0)
    size, (h, w) = face_size(face), shape
    cx = (x0 + x1) / 2
    return int(max(0, cx - size)), int(max(0, y1 - size)), int(min(w, cx + size)), int(min(h, y1 + size))


def may_show_hand(rgb: np.ndarray, face: FittedFace, faces: list[FittedFace]) -> bool:
    """Whether a hand can be near the face, by a cheap look at a small copy of its `search_crop`: in colour, a
    hand shows the skin's colour beyond the faces' ovals (of `faces`, this one's among them) over at least a
    palm's area (a hand in front of the face reaches past it, at the wrist if nowhere else); where the skin
    is grey (grayscale photos) colour cannot tell, and a hand may always be there."""
    skin = colour_model(skin_lab(rgb, face))
    if np.hypot(*skin[0][1:]) < MIN_SKIN_CHROMA:
        return True
    left, top, right, bottom = search_crop(face, rgb.shape[:2])
    size = face_size(face)
    shrink = min(1.0, GATE_PX / max(right - left, bottom - top, 1))
    small = cv2.resize(rgb[top:bottom, left:right], None, fx=shrink, fy=shrink, interpolation=cv2.INTER_AREA)
    ovals = np.zeros(small.shape[:2], np.uint8)
    for other in faces:             # a face, the own or another's, is no hand
        ovals |= polygon_image((other.landmarks[canonical_face().outer_loop, :2] - [left, top]) * shrink,
                               (0, 0) + small.shape[1::-1])
    beyond = (departure(to_lab(small), skin) < HAND_DEPARTURE) & (ovals == 0)
    _, _, stats, _ = cv2.connectedComponentsWithStats(beyond.astype(np.uint8), connectivity=8)
    return bool(stats[1:, cv2.CC_STAT_AREA].max(initial=0) >= MIN_PALM_AREA * (size * shrink) ** 2)


def reaches(centre: np.ndarray, side: float, windows: list[tuple[int, int, int, int]]) -> bool:
    """Whether a hand in the square region of `side` pixels about `centre` (x, y pixels), or an object it
    holds, can reach into one of the windows: the window lies within `side` of the centre."""
    for x, y, w, h in windows:
        gap = np.maximum(np.maximum([x, y] - centre, centre - [x + w, y + h]), 0.0)
        if np.hypot(*gap) <= side:
            return True
    return False


def hand_region(hands: list[np.ndarray], window: tuple[int, int, int, int], reach: float = 0.0) -> np.ndarray:
    """Coarse (h, w) uint8 0/1 image of the hands over `window`: palm polygon and finger capsules,
    widened by `reach` hand sizes (wrist to middle knuckle)."""
    x, y, w, h = window
    region = np.zeros((h, w), np.uint8)
    for hand in hands:
        points = hand - [x, y]
        radius = max(1.0, (FINGER_RADIUS + reach) * hand_scale(hand))
        palm = cv2.convexHull(points[list(PALM)].astype(np.float32))
        cv2.fillConvexPoly(region, np.round(palm * 16).astype(np.int32), 1, cv2.LINE_8, 4)
        for a, b in HAND_BONES:
            draw_capsule(region, points[a], points[b], radius)
    return region


def hand_outline(lab: np.ndarray, hands: list[np.ndarray], window: tuple[int, int, int, int]) -> np.ndarray:
    """(h, w) uint8 0/1 image of the hands over `window` out to their own edge: the coarse region
    (`hand_region`) grown, within the landmarks' hull widened by a finger's width, over the pixels
    that share its colour (Lab `lab` over the window). Curled fingers, a fist's knuckles and the hand's rim lie
    off the bones, and where the hand is the face's own colour the hull is what bounds it."""
    coarse = hand_region(hands, window)
    if not coarse.any():
        return coarse
    x, y, w, h = window
    hull = np.zeros((h, w), np.uint8)
    for hand in hands:
        radius = max(1.0, HULL_REACH * FINGER_RADIUS * hand_scale(hand))
        outline = cv2.convexHull((hand - [x, y]).astype(np.float32))[:, 0]
        centre = outline.mean(0)
        away = outline - centre
        widened = centre + away * (1 + radius / np.maximum(np.linalg.norm(away, axis=1, keepdims=True), 1e-6))
        cv2.fillConvexPoly(hull, np.round(widened * 16).astype(np.int32), 1, cv2.LINE_8, 4)
    alike = (departure(lab, colour_model(lab[coarse > 0])) < DEPARTURE) & (hull > 0)
    return grown_from(coarse > 0, alike | (coarse > 0))


def grown_from(seed: np.ndarray, region: np.ndarray) -> np.ndarray:
    """(h, w) uint8 0/1: the parts of boolean `region` connected to boolean `seed`."""
    _, labels = cv2.connectedComponents(region.astype(np.uint8), connectivity=8)
    touching = np.unique(labels[seed & region])
    return np.isin(labels, touching[touching > 0]).astype(np.uint8)


def draw_capsule(region: np.ndarray, a: np.ndarray, b: np.ndarray, radius: float) -> None:
    """A segment `a`-`b` (pixels) with round ends, `radius` pixels thick on each side, set to 1."""
    shift = 4
    a16, b16 = (tuple(int(v) for v in np.round(p * (1 << shift))) for p in (a, b))
    thickness = max(1, round(2 * radius))
    cv2.line(region, a16, b16, 1, thickness, cv2.LINE_8, shift)
    for point in (a16, b16):
        cv2.circle(region, point, round(radius * (1 << shift)), 1, -1, cv2.LINE_8, shift)


def pixels(cm: float, scale: float) -> int:
    """A length in cm on the face as a whole number of pixels, at least 1 (`scale`: pixels per cm)."""
    return max(1, round(cm * scale))


def soft_edge(region: np.ndarray, guide: np.ndarray, scale: float) -> np.ndarray:
    """A 0/1 region snapped to the photo's edges (guided filter, `guide` (h, w, 3) float32 0..1) and
    turned into a soft alpha: float32 (h, w), 0..1."""
    if not region.any():
        return np.zeros(region.shape, np.float32)
    radius = pixels(GUIDE_RADIUS_CM, scale)
    guided = cv2.ximgproc.guidedFilter(guide, region.astype(np.float32), radius, GUIDE_EPS)
    lo, hi = EDGE_RAMP
    t = np.clip((guided - lo) / (hi - lo), 0.0, 1.0)
    return (t * t * (3 - 2 * t)).astype(np.float32)


def polygon_image(points: np.ndarray, window: tuple[int, int, int, int]) -> np.ndarray:
    """(h, w) uint8 0/1 filled polygon of image-pixel `points` over `window`."""
    x, y, w, h = window
    image = np.zeros((h, w), np.uint8)
    cv2.fillPoly(image, [np.round((points - [x, y]) * 16).astype(np.int32)], 1, cv2.LINE_8, 4)
    return image


def colour_model(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Robust centre and spread (median, scaled MAD, floored) of (N, 3) Lab samples."""
    centre = np.median(lab, axis=0)
    spread = 1.4826 * np.median(np.abs(lab - centre), axis=0)
    return centre, np.maximum(spread, LAB_FLOOR)


def departure(lab: np.ndarray, model: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Distance of (..., 3) Lab pixels from a colour model, in spreads (lightness down-weighted)."""
    centre, spread = model
    z = (lab - centre) / spread
    return np.sqrt(LIGHTNESS_WEIGHT * z[..., 0] ** 2 + z[..., 1] ** 2 + z[..., 2] ** 2)


def skin_lab(rgb: np.ndarray, face: FittedFace) -> np.ndarray:
    """(N, 3) Lab samples of the face's skin: patches on the cheeks and forehead."""
    h, w = rgb.shape[:2]
    r = pixels(SKIN_PATCH_CM, face.scale)
    patches = []
    for px, py in np.round(face.landmarks[list(SKIN_POINTS), :2]).astype(int):
        patch = rgb[max(0, py - r):min(h, py + r + 1), max(0, px - r):min(w, px + r + 1)]
        patches.append(patch.reshape(-1, 3))
    return to_lab(np.concatenate(patches)[:, None]).reshape(-1, 3)


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB -> float32 CIE Lab (L 0..100)."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)


def object_region(lab: np.ndarray, skin: tuple, lips: tuple, footprint: np.ndarray, face_area: np.ndarray,
                  mouth: np.ndarray, near_hand: np.ndarray, sticks: np.ndarray) -> np.ndarray:
    """(h, w) uint8 0/1 image of the objects in front of the face over the window (see the module doc), the
    `sticks` (`stick_region`) among them."""
    distance = np.minimum(departure(lab, skin), departure(lab, lips))
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    skin_chroma = float(np.hypot(*skin[0][1:]))
    dark = (lab[..., 0] < skin[0][0] - DARK_DROP) & (chroma <= skin_chroma + LAB_FLOOR[1])
    departing = (distance > DEPARTURE) & (mouth == 0) & (footprint > 0)
    footprint_area = max(1, int(footprint.sum()))
    objects = sticks.copy()
    # Held objects (a microphone, a cup) start next to a hand (`near_hand`) and may be dark.
    for component, area in components(departing):
        if (near_hand[component].any() and area >= 0.2 * MIN_OBJECT_SHARE * footprint_area
                and face_area[component].mean() >= HELD_FACE_OVERLAP):
            objects |= grown(lab, component, near_hand)
    # Free-standing ones are large, compact, strongly off-colour and not beard-dark.
    for component, area in components(departing & ~dark):
        if (area >= MIN_OBJECT_SHARE * footprint_area and np.median(distance[component]) >= STRONG_DEPARTURE
                and face_area[component].mean() >= MIN_FACE_OVERLAP and solidity(component) >= MIN_SOLIDITY):
            objects |= grown(lab, component, mouth)     # an object over the mouth is found beside it
    return objects


def stick_region(lab: np.ndarray, skin: tuple, lip_area: np.ndarray, mouth: np.ndarray, footprint: np.ndarray,
                 near: np.ndarray, scale: float) -> np.ndarray:
    """(h, w) uint8 0/1 image of the pale sticks held in the mouth over the window (see the module doc), given
    the lips' polygon `lip_area` and the `mouth` about it: each found on the `footprint` (the caller keeps it
    to the face, so a pale backdrop the mask spills over is no part of a stick's shape) and followed out over
    `near`, so that its soft edge does not fade along the footprint's border; none where the skin is too grey
    to tell pale from it."""
    sticks = np.zeros(footprint.shape, np.uint8)
    skin_chroma = float(np.hypot(*skin[0][1:]))
    if skin_chroma < MIN_SKIN_CHROMA:
        return sticks
    pale = (np.hypot(lab[..., 1], lab[..., 2]) <= PALE_CHROMA * skin_chroma) & (lab[..., 0] >= skin[0][0])
    on_lips = grown_from(pale & (lip_area > 0), pale & (footprint > 0))
    if not on_lips.any():
        return sticks
    past_mouth = cv2.distanceTransform((mouth == 0).astype(np.uint8), cv2.DIST_L2, 3)
    for component, area in components(on_lips):
        if lip_area[component].mean() < STICK_LIP_SHARE or past_mouth[component].max() < STICK_REACH_CM * scale:
            continue
        ys, xs = np.nonzero(component)
        _, sides, _ = cv2.minAreaRect(np.stack([xs, ys], axis=1).astype(np.float32))
        length, width = max(sides), max(min(sides), 1.0)
        if length >= STICK_ASPECT * width and area >= STICK_FILL * length * width:
            sticks[component] = 1
    return grown_from(sticks > 0, pale & (near > 0))


def components(region: np.ndarray):
    """The connected parts of a boolean image, after a 3x3 opening: (boolean image, area) each."""
    opened = cv2.morphologyEx(region.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    for label in range(1, count):
        yield labels == label, int(stats[label, cv2.CC_STAT_AREA])


def solidity(component: np.ndarray) -> float:
    """Area of a boolean region over that of its convex hull."""
    ys, xs = np.nonzero(component)
    hull = cv2.convexHull(np.stack([xs, ys], axis=1).astype(np.float32))
    return float(len(xs) / max(1.0, cv2.contourArea(hull) + 0.5 * cv2.arcLength(hull, True)))


def grown(lab: np.ndarray, component: np.ndarray, within: np.ndarray) -> np.ndarray:
    """`component` and the pixels of `within` connected to it that share its colour."""
    centre = np.median(lab[component], axis=0)
    return grown_from(component, ((departure(lab, (centre, LAB_FLOOR)) < DEPARTURE) & (within > 0)) | component)


def strand_alpha(lab: np.ndarray, skin_lightness: float, footprint: np.ndarray, below_nose: np.ndarray,
                 scale: float) -> np.ndarray:
    """Soft alpha (h, w) of thin dark strands that cross the mask's side or bottom border: found in the
    band along it, and reaching out past it."""
    inside = cv2.distanceTransform(footprint, cv2.DIST_L2, 3)
    band = (footprint > 0) & (inside <= STRAND_BAND_CM * scale) & below_nose
    if not band.any():
        return np.zeros(footprint.shape, np.float32)
    width = pixels(STRAND_WIDTH_CM, scale)
    blackhat = cv2.morphologyEx(lab[..., 0], cv2.MORPH_BLACKHAT,
                                cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1)))
    lo, hi = STRAND_CONTRAST
    contrast = blackhat / max(skin_lightness, 1.0)
    count, labels, stats, _ = cv2.connectedComponentsWithStats((contrast > lo).astype(np.uint8), connectivity=8)
    crossing = np.zeros(count, bool)
    crossing[np.unique(labels[band])] = True
    crossing &= np.isin(np.arange(count), np.unique(labels[(footprint == 0) & below_nose]))
    length = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    crossing &= stats[:, cv2.CC_STAT_AREA] <= (STRAND_MEAN_WIDTH * width + STRAND_FRINGE_PX) * length
    crossing[0] = False
    alpha = np.clip((contrast - lo) / (hi - lo), 0.0, 1.0)
    return np.where(band & crossing[labels], alpha, 0.0).astype(np.float32)


def below_nose_tip(face: FittedFace, window: tuple[int, int, int, int]) -> np.ndarray:
    """(h, w) bool: pixels below the nose tip along the face's own up direction."""
    x, y, w, h = window
    up = face.landmarks[FOREHEAD, :2] - face.landmarks[CHIN, :2]
    up /= max(np.linalg.norm(up), 1e-6)
    ys, xs = np.mgrid[y:y + h, x:x + w]
    return ((xs - face.landmarks[NOSE_TIP, 0]) * up[0] + (ys - face.landmarks[NOSE_TIP, 1]) * up[1]) < 0


def estimate(rgb: np.ndarray, face: FittedFace, render, hands: list[np.ndarray]) -> Occlusion:
    """What lies in front of one face's mask render ((window, (h, w, 4) float32 RGBA) or None)."""
    if render is None:
        return NONE
    window, rgba = render
    x, y, w, h = window
    photo = rgb[y:y + h, x:x + w]
    coverage = rgba[..., 3]
    footprint = (coverage > 0).astype(np.uint8)
    if not footprint.any():
        return NONE
    lab = to_lab(photo)
    guide = photo.astype(np.float32) / 255
    scale = face.scale
    hand = hand_outline(lab, hands, window)
    lips = polygon_image(face.landmarks[list(OUTER_LIP), :2], window)
    mouth = cv2.dilate(lips, np.ones((3, 3), np.uint8), iterations=pixels(MOUTH_MARGIN_CM, scale))
    skin = colour_model(skin_lab(rgb, face))
    lip_samples = lab[lips > 0]
    lip_samples = lip_samples[departure(lip_samples, skin) < LIP_REACH]   # not what covers the lips
    lip_model = colour_model(lip_samples) if len(lip_samples) else skin
    face_area = polygon_image(face.landmarks[canonical_face().outer_loop, :2], window)
    # Objects are looked for a little past the footprint, so their soft edge does not fade along its border.
    near = cv2.dilate(footprint, np.ones((3, 3), np.uint8), iterations=2 * pixels(GUIDE_RADIUS_CM, scale))
    sticks = stick_region(lab, skin, lips, mouth, footprint * face_area, near, scale)
    objects = object_region(lab, skin, lip_model, near, face_area, mouth, hand | hand_region(hands, window, HELD_REACH),
                            sticks)
    layers = {"hand": soft_edge(hand, guide, scale), "object": soft_edge(objects, guide, scale),
              "hair": strand_alpha(lab, float(skin[0][0]), footprint, below_nose_tip(face, window), scale)
              * (mouth == 0)}            # the lips' dark line beside a lowered mask's edge is no strand
    alpha = np.maximum.reduce(list(layers.values()))
    removed = float((coverage * alpha).sum() / max(coverage.sum(), 1e-6))
    kinds = tuple(kind for kind in KINDS if (layers[kind] * coverage > 0.5).sum() > 0)
    if not kinds:
        return NONE
    return Occlusion(window, alpha, kinds, removed)


def cut(render, occlusion: Occlusion):
    """A face's render with what lies in front of it removed from its alpha."""
    if render is None or occlusion.alpha is None:
        return render
    window, rgba = render
    rgba = rgba.copy()
    rgba[..., 3] *= 1 - occlusion.alpha
    return window, rgba


def unshadowed(shade, occlusions: list[Occlusion]):
    """The mask's shadows (their window, and its (h, w) darkening in [0, 1]) kept off what lies in front
    of the mask: an occluder is nearer the camera than the mask, so the mask shades none of it."""
    if shade is None:
        return None
    window, darkening = shade
    darkening = darkening.copy()
    for occlusion in occlusions:
        overlap = None if occlusion.alpha is None else Window(*window).overlap(Window(*occlusion.window))
        if overlap is not None:
            darkening[overlap[0]] *= 1 - occlusion.alpha[overlap[1]]
    return window, darkening


def estimate_faces(rgb: np.ndarray, faces: list[FittedFace], renders: dict, mode: str,
                   hand_model) -> list[Occlusion]:
    """One Occlusion per face (NONE where `renders`, by face index, has none or `mode` is 'off');
    `hand_model()` gives the HandModel, asked for only when there is something to look at."""
    if mode == "off" or not any(render is not None for render in renders.values()):
        return [NONE] * len(faces)
    windows = [renders[index][0] if renders.get(index) is not None else None for index in range(len(faces))]
    hands = find_hands(rgb, hand_model(), faces, windows)
    return [estimate(rgb, face, renders.get(index), hands) for index, face in enumerate(faces)]


def visible(occlusion: Occlusion, shape: tuple[int, int]) -> np.ndarray | None:
    """(H, W) bool image, False where an occluder is in front of the face (alpha 0.5 or more); None when
    nothing is."""
    if occlusion.alpha is None:
        return None
    x, y, w, h = occlusion.window
    seen = np.ones(shape, bool)
    seen[y:y + h, x:x + w] = occlusion.alpha < 0.5
    return seen
