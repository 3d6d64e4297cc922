"""Foreground occluders: what is in front of the face stays in front of the mask, in the layer, the
composite and the segmentation; with nothing in front, the mask is unchanged."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from render3d.face.fitting import fit_face
from render3d.face.topology import canonical_face
from render3d.pipeline import FitOptions
from render3d.qa.verify import lower_face_polygon, placement_iou
from render3d.render import straps
from render3d.render.occluders import polygon_image

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]      # end to end: the engine, EGL and MediaPipe

LABELS = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "occluders.json"
OBJECT_COLOUR = (40, 170, 70)
STRAND_COLOUR = (45, 32, 25)
STICK_COLOUR = (236, 232, 224)


def disc(shape, mask: np.ndarray, pixels: int) -> np.ndarray:
    """`mask` (bool) grown (pixels > 0) or shrunk (pixels < 0) by a round element."""
    element = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(pixels) + 1, 2 * abs(pixels) + 1))
    operation = cv2.dilate if pixels > 0 else cv2.erode
    return operation(mask.astype(np.uint8), element).astype(bool)


def face_oval(landmarks: np.ndarray, shape) -> np.ndarray:
    """(H, W) bool: the face's oval, less the band inside it where the loops' hair matte fades out
    (`straps.OVAL_RAMP_CM`): outside this the off render's loops also differ (hair over them)."""
    oval = polygon_image(landmarks[canonical_face().outer_loop, :2], (0, 0, shape[1], shape[0]))
    inset = straps.OVAL_RAMP_CM * fit_face(landmarks).scale
    return cv2.distanceTransform(oval.astype(np.uint8), cv2.DIST_L2, 3) > inset


@pytest.fixture(scope="module")
def plain(engine, astronaut):
    return engine.fit(astronaut, FitOptions(occluders="off"))


@pytest.fixture(scope="module")
def held_object(astronaut, astronaut_landmarks):
    """The astronaut with a flat green microphone-like bar from the upper lip to below the chin."""
    photo = astronaut.copy()
    x = astronaut_landmarks[13, 0]
    top, bottom = astronaut_landmarks[13, 1] - 4, astronaut_landmarks[152, 1] + 25
    region = np.zeros(photo.shape[:2], np.uint8)
    cv2.rectangle(region, (int(x - 16), int(top)), (int(x + 16), int(bottom)), 1, -1)
    region = region.astype(bool)
    photo[region] = OBJECT_COLOUR
    return photo, region


@pytest.fixture(scope="module")
def pale_stick(astronaut, astronaut_landmarks):
    """The astronaut with a cigarette-like off-white stick, 6 px (about 9 mm) thick, from the middle of her
    lips out past their left corner by about 3.5 cm."""
    photo = astronaut.copy()
    inner, corner = astronaut_landmarks[13, :2], astronaut_landmarks[61, :2]
    outer = corner + (corner - inner) * 1.1 + [0, 6]
    region = np.zeros(photo.shape[:2], np.uint8)
    cv2.line(region, tuple(int(v) for v in inner), tuple(int(v) for v in outer), 1, 6)
    region = region.astype(bool)
    photo[region] = STICK_COLOUR
    return photo, region


def test_nothing_in_front_leaves_the_mask_unchanged(engine, astronaut, astronaut_landmarks, plain):
    """On the face nothing of the mask changes; beside it only her hair hides the ear loops and a strand
    or two by the side hem, which `off` leaves out too: with occluders off nothing of the photo is in front
    of the mask. (The layer is compressed as the photo was, whole, so pixels in the JPEG blocks by a cut
    loop change by a few levels; the skin beside a hidden loop loses the loop's shadow: the composite is
    compared where the mask covers.)"""
    auto = engine.fit(astronaut, FitOptions())
    oval = face_oval(astronaut_landmarks, astronaut.shape)
    hidden = plain.layer[..., 3].astype(int) - auto.layer[..., 3]
    # outside the JPEG blocks (8 px) about a cut loop, the layer's colour is as it was too
    apart = oval & ~cv2.dilate((hidden > 0).astype(np.uint8), np.ones((17, 17), np.uint8)).astype(bool)
    assert np.array_equal(auto.segmentation[oval], plain.segmentation[oval])
    assert np.array_equal(auto.layer[..., 3][oval], plain.layer[..., 3][oval])
    assert apart.sum() > 0.85 * oval.sum() and np.abs(auto.layer[apart].astype(int) - plain.layer[apart]).max() <= 2
    covered = apart & (plain.layer[..., 3] == 255)
    assert covered.sum() > 2000 and np.abs(auto.composite[covered].astype(int) - plain.composite[covered]).max() <= 2
    assert hidden.min() >= 0 and (hidden > 128).sum() > 20       # the astronaut's hair lies over her loops
    assert not (hidden > 0)[oval].any()
    assert auto.metadata["faces"][0]["occluded_fraction"] < 0.001
    assert set(auto.metadata["faces"][0]["occluders"]) <= {"hair"}
    assert auto.metadata["options"]["occluders"] == "auto"


def test_object_in_front_of_the_mouth_stays_in_front(engine, held_object, astronaut_landmarks):
    photo, region = held_object
    before = engine.fit(photo, FitOptions(occluders="off"))
    after = engine.fit(photo, FitOptions(min_iou=0.5))
    footprint = before.segmentation > 0
    target = region & footprint
    assert target.sum() > 0.9 * (region & lower_face_polygon(astronaut_landmarks, region.shape)).sum() > 500
    # The segmentation excludes the object, the layer leaves it clear, the composite shows it.
    assert (after.segmentation[target] > 0).mean() < 0.05
    core = disc(region.shape, region, -2) & footprint
    assert after.layer[core, 3].max() <= 2
    assert np.abs(after.composite[core].astype(int) - OBJECT_COLOUR).max() <= 2
    face = after.metadata["faces"][0]
    assert "object" in face["occluders"] and face["occluded_fraction"] > 0.1
    assert face["status"] == "ok" and face["iou"] > 0.7        # scored on the visible part
    # No gap beside it: the mask stays on the skin next to the object, and is unchanged further away.
    alpha_before, alpha_after = before.layer[..., 3].astype(float), after.layer[..., 3].astype(float)
    beside = disc(region.shape, region, 4) & ~disc(region.shape, region, 2) & disc(region.shape, footprint, -3)
    assert alpha_after[beside].mean() >= 0.9 * alpha_before[beside].mean()
    away = footprint & ~disc(region.shape, region, 6) & face_oval(astronaut_landmarks, region.shape)
    assert (after.segmentation[away] == before.segmentation[away]).mean() > 0.99


def test_pale_stick_in_the_mouth_stays_in_front(engine, pale_stick, astronaut_landmarks):
    """A pale stick across the lips is in front of the mask though it lies on the mouth (which is never an
    object otherwise), and the mask is unchanged away from it."""
    photo, region = pale_stick
    before = engine.fit(photo, FitOptions(occluders="off"))
    after = engine.fit(photo, FitOptions())
    footprint = before.segmentation > 0
    target = region & footprint
    assert target.sum() > 0.9 * region.sum() > 150
    assert (after.segmentation[target] > 0).mean() < 0.05
    core = disc(region.shape, region, -2) & footprint
    assert core.sum() > 100 and after.layer[core, 3].max() <= 2
    assert np.abs(after.composite[core].astype(int) - STICK_COLOUR).max() <= 2
    assert "object" in after.metadata["faces"][0]["occluders"]
    away = footprint & ~disc(region.shape, region, 6) & face_oval(astronaut_landmarks, region.shape)
    assert (after.segmentation[away] == before.segmentation[away]).mean() > 0.99


def strands_across_the_border(photo: np.ndarray, footprint: np.ndarray, landmarks: np.ndarray):
    """Thin dark anti-aliased strands drawn across the mask's left border below the nose: (photo, coverage
    of the strands, 0..1)."""
    coverage = np.zeros(footprint.shape, np.uint8)
    for y in np.linspace(landmarks[1, 1] + 8, landmarks[152, 1] - 14, 4).astype(int):
        body = np.convolve(footprint[y], np.ones(10), "valid") == 10        # the mask body, not an ear loop
        left = int(np.argmax(body))
        cv2.line(coverage, (left - 14, y - 5), (left + 9, y + 4), 255, 2, cv2.LINE_AA)
    coverage = coverage.astype(float)[..., None] / 255
    photo = np.round(photo * (1 - coverage) + np.array(STRAND_COLOUR) * coverage).astype(np.uint8)
    return photo, coverage[..., 0]


def test_hair_strands_across_the_border_stay_in_front_softly(engine, astronaut, astronaut_landmarks, plain):
    footprint = plain.segmentation > 0
    photo, coverage = strands_across_the_border(astronaut, footprint, astronaut_landmarks)
    before = engine.fit(photo, FitOptions(occluders="off"))
    after = engine.fit(photo, FitOptions())
    body = before.layer[..., 3] > 200
    on, edge = (coverage > 0.8) & body, (coverage > 0.1) & (coverage < 0.6) & body
    assert on.sum() > 30 and edge.sum() > 20
    kept = after.layer[..., 3].astype(float) / np.maximum(before.layer[..., 3], 1)
    assert kept[on].mean() < 0.4
    assert kept[edge].mean() > kept[on].mean() + 0.2            # a soft alpha that follows the strand, not a cut
    assert ((kept[edge] > 0.1) & (kept[edge] < 0.9)).any()
    assert "hair" in after.metadata["faces"][0]["occluders"]
    away = footprint & ~disc(coverage.shape, coverage > 0, 4) & face_oval(astronaut_landmarks, coverage.shape)
    assert (after.segmentation[away] == before.segmentation[away]).mean() > 0.995


@pytest.mark.devset
def test_drop_earrings_beside_the_mask_are_no_hair(engine, dev_faces):
    """Gold drop earrings hang across the mask's sides: their dark gaps are as dark as strands but wider,
    so the mask stays over them (1.14% of the mask was cut away as hair before, 0.20% now)."""
    photo = next((dev_faces / "unmasked").glob("deepface_img1.*"))
    face = engine.fit(photo, FitOptions(mask="surgical", vary=False)).metadata["faces"][0]
    assert face["occluded_fraction"] < 0.005


def test_visible_polygon_iou_ignores_what_is_in_front(astronaut_landmarks):
    polygon = lower_face_polygon(astronaut_landmarks, (512, 512))
    hand = np.zeros_like(polygon)
    hand[150:200, 190:260] = True
    segmentation = polygon & ~hand
    assert placement_iou(segmentation, astronaut_landmarks) < 0.85
    # Only the fabric counts (loops and straps are opened away), which trims the polygon's sharpest corners.
    assert placement_iou(segmentation, astronaut_landmarks, visible=~hand) > 0.98


def test_bad_occluders_mode_is_refused():
    with pytest.raises(ValueError, match="occluders"):
        FitOptions(occluders="sometimes")


@pytest.mark.devset
@pytest.mark.parametrize("name, least_px, most_covered", [
    ("facerec_lin-manuel-miranda.png", 3000, 0.08),           # a hand and a microphone in front of the chin
    ("fexp_sadness_Alexander_Losyukov_0003.jpg", 8000, 0.15),  # a fist over mouth and chin, grey: no palm found
])
def test_labelled_occluders_are_mostly_uncovered(engine, dev_faces, name, least_px, most_covered):
    """On dev photos with a hand in front of the lower face, the mask leaves most of what is in front."""
    polygons = json.loads(LABELS.read_text())["photos"][name]
    before = engine.fit(dev_faces / "unmasked" / name, FitOptions(occluders="off"))
    after = engine.fit(dev_faces / "unmasked" / name, FitOptions())
    target = np.zeros(before.segmentation.shape, np.uint8)
    for occluder in polygons:
        cv2.fillPoly(target, [np.array(occluder["polygon"], np.int32)], 1)
    target = target.astype(bool) & (before.segmentation > 0)
    assert target.sum() > least_px
    assert (after.segmentation[target] > 0).mean() < most_covered
    face = after.metadata["faces"][0]
    assert "hand" in face["occluders"] and face["status"] == "ok"
    # The rest of the fabric on the face stays: what is removed there lies on or beside the labelled
    # occluders (beyond the face oval, ears and hair hide the loops: `face_oval`).
    near = disc(target.shape, target, 12)
    removed = (before.segmentation > 0) & (after.segmentation == 0)
    on_face = face_oval(np.array(face["landmarks"]), target.shape)
    assert (removed & on_face)[~near].sum() < 0.02 * (before.segmentation > 0).sum()


def test_cli_switches_occluders(tmp_path, astronaut):
    import imageio.v3 as iio
    from typer.testing import CliRunner

    from render3d.cli import app

    photo = tmp_path / "astronaut.png"
    iio.imwrite(photo, astronaut)
    runner = CliRunner()
    done = runner.invoke(app, ["fit", str(photo), "--occluders", "off", "--out", str(tmp_path / "out")])
    assert done.exit_code == 0, done.stderr
    meta = json.loads((tmp_path / "out" / "astronaut.json").read_text())
    assert meta["options"]["occluders"] == "off" and meta["faces"][0]["occluders"] == []
    refused = runner.invoke(app, ["fit", str(photo), "--occluders", "sometimes", "--out", str(tmp_path / "bad")])
    assert refused.exit_code == 2 and not (tmp_path / "bad").exists()
