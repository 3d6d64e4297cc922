"""Wearing styles: where nose-out, chin and chin-out masks rest, their verification, MaskedFace-Net names,
random wear."""
from __future__ import annotations

import json

import numpy as np
import pytest
import skimage.data
from conftest import EYE_POINTS, MOUTH_POINTS, NOSE_POINTS, under
from PIL import Image

import render3d
from render3d.batch.dataset import Item
from render3d.batch.runner import BatchConfig, run_batch
from render3d.errors import OptionError
from render3d.face.fitting import fit_face, occluder_mesh, open_jaw, turn_head
from render3d.io.image_in import load_image
from render3d.mask.library import available_masks, load_mask
from render3d.pipeline import FitOptions, draw_parts
from render3d.qa.verify import clearance_report, lower_face_polygon, placement_iou

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]      # end to end: the engine, EGL and MediaPipe

CHIN_POINTS = [175, 200]          # the chin's front, below the sulcus under the lower lip


def chin_front(landmarks: np.ndarray) -> np.ndarray:
    """Halfway between the lower lip's bottom (17) and the bottom of the chin (152), as iBUG scorers take it."""
    return (landmarks[17] + landmarks[152]) / 2


# Per style: the landmarks the mask must cover and those it must leave bare.
STYLES = {
    "nose-out": (MOUTH_POINTS + CHIN_POINTS, NOSE_POINTS + EYE_POINTS),
    "chin": (CHIN_POINTS, NOSE_POINTS + MOUTH_POINTS + EYE_POINTS),
    "chin-out": (NOSE_POINTS + MOUTH_POINTS, [175, 152] + EYE_POINTS),
}


def segmentation_of(landmarks: np.ndarray, name: str, wear: str, shape=(512, 512)) -> np.ndarray:
    """The mask's segmentation, rendered with the head as occluder, for landmarks (no photo needed)."""
    fitted = fit_face(landmarks)
    choice = FitOptions(mask=name, wear=wear).choose(1)[0]
    parts = draw_parts(load_mask(choice.path, wear), fitted, choice)
    rgba = render3d.default_engine().renderer.render((0, 0, shape[1], shape[0]), [occluder_mesh(fitted)], parts)
    return rgba[..., 3] >= 0.5


def assert_worn(segmentation: np.ndarray, landmarks: np.ndarray, wear: str, visible=None):
    covered, bare = STYLES[wear]
    if visible is not None:                   # a turned head: only the points on the near side are in view
        covered, bare = [p for p in covered if visible[p]], [p for p in bare if visible[p]]
    assert under(segmentation, landmarks[covered]).all(), np.array(covered)[~under(segmentation, landmarks[covered])]
    hit = under(segmentation, landmarks[bare])
    assert not hit.any(), np.array(bare)[hit]
    if wear in ("chin", "chin-out"):                  # the chin's front under a chin mask, bare with the chin out
        assert under(segmentation, chin_front(landmarks)[None]).all() == (wear == "chin")


@pytest.mark.parametrize("wear", sorted(STYLES))
@pytest.mark.parametrize("name", ["surgical", "kn95", "cloth", "gaiter"])
def test_styles_on_the_astronaut(name, wear, astronaut, astronaut_landmarks):
    result = render3d.fit(astronaut, mask=name, wear=wear, min_iou=0.5)
    assert result.faces[0].wear == wear and result.faces[0].status == "ok"
    assert result.faces[0].iou >= 0.58                      # verified against the style's own region
    assert_worn(result.segmentation, astronaut_landmarks, wear)


def near_side(landmarks: np.ndarray, yaw: float) -> np.ndarray:
    """Landmarks on the side turned toward the camera (canonical x has the sign of -yaw), or on the midline."""
    x = fit_face(landmarks).to_canonical(landmarks)[:, 0]
    return (x * np.sign(yaw) <= 0.5)


@pytest.mark.parametrize("wear", sorted(STYLES))
@pytest.mark.parametrize("name", ["surgical", "n95", "cloth"])
def test_styles_follow_pose_and_expression(name, wear, astronaut_landmarks):
    for yaw in (-50, 50):
        turned = turn_head(astronaut_landmarks, yaw)
        assert_worn(segmentation_of(turned, name, wear), turned, wear, near_side(turned, yaw))
    opened = open_jaw(astronaut_landmarks, 18)
    assert_worn(segmentation_of(opened, name, wear), opened, wear)
    # The chin style stays on the chin as the jaw drops: its top edge moves down with the lower lip.
    column = int(astronaut_landmarks[17, 0] + 0.5)
    closed_top = np.flatnonzero(segmentation_of(astronaut_landmarks, name, wear)[:, column]).min()
    opened_top = np.flatnonzero(segmentation_of(opened, name, wear)[:, column]).min()
    lip_drop = opened[17, 1] - astronaut_landmarks[17, 1]
    if wear == "chin":
        assert opened_top - closed_top > 0.6 * lip_drop


@pytest.mark.parametrize("wear", sorted(STYLES))
def test_worn_masks_rest_on_the_face(wear, astronaut_landmarks):
    """Slid down or gathered up, the mask keeps off the skin and its moved edge rests close to it, rather
    than floating where the nose or the chin was."""
    for name in ("surgical", "kn95", "cloth"):
        mask = load_mask(available_masks()[name], wear)
        for landmarks in (astronaut_landmarks, open_jaw(astronaut_landmarks, 15), turn_head(astronaut_landmarks, 45)):
            fitted = fit_face(landmarks)
            body = draw_parts(mask, fitted)[0].positions
            report = clearance_report(fitted, body)
            assert report["min_clearance"] >= 0.0, (name, wear)
            # The fabric's moved edge at the middle (the top one, or the bottom one with the chin out) lies
            # within 1.5 cm of the skin under the nose or the lower lip.
            canonical = fitted.to_canonical(body)
            middle = canonical[(np.abs(canonical[:, 0]) < 0.5) & (canonical[:, 2] > -3.0)]
            edge = middle[middle[:, 1].argmin() if wear == "chin-out" else middle[:, 1].argmax()]
            skin = fitted.to_canonical(landmarks)[[0, 17, 18, 200, 164]]
            assert np.linalg.norm(skin - edge, axis=1).min() < 1.5, (name, wear, edge)


DEV_CASES = [
    ("unmasked/human_stock-teen-1.jpg", "surgical"),                 # turned by 45 degrees or more
    ("unmasked/insightface_inspireface_pose_left_face.jpeg", "surgical"),  # turned by 50 degrees
    ("unmasked/insightface_inspireface_pose_right_face.png", "n95"),      # turned by 50 degrees the other way
    ("unmasked/fexp_surprise_Michael_Chang_0002.jpg", "kn95"),         # mouth wide open
    ("unmasked/insightface_inspireface_emotion_happy.png", "n95"),     # mouth open, smiling
]


@pytest.mark.parametrize("wear", sorted(STYLES))
@pytest.mark.parametrize("photo,name", DEV_CASES)
def test_styles_on_dev_photos(dev_faces, reference_model, photo, name, wear):
    """The 3D placement itself (no verification, so no 2D fallback), checked on independent landmarks."""
    rgb = load_image(dev_faces / photo).rgb
    landmarks = reference_model(rgb)[0]
    result = render3d.fit(rgb, mask=name, wear=wear, max_faces=1)
    yaw = result.faces[0].pose["yaw"]
    assert_worn(result.segmentation, landmarks, wear, near_side(landmarks, yaw) if abs(yaw) >= 30 else None)
    if "pose" in photo:
        assert abs(yaw) >= 45


def test_verification_counts_only_the_visible_region(astronaut_landmarks):
    polygon = lower_face_polygon(astronaut_landmarks, (512, 512), "chin")
    assert placement_iou(polygon, astronaut_landmarks, "chin") > 0.96       # its corners rounded as fabric
    # Something in front hides the right half: a render missing there matches the part left in view.
    hidden = np.zeros((512, 512), bool)
    hidden[:, int(astronaut_landmarks[1, 0]):] = True
    render = polygon & ~hidden
    assert placement_iou(render, astronaut_landmarks, "chin") < 0.7
    assert placement_iou(render, astronaut_landmarks, "chin", visible=~hidden) > 0.94


def test_chin_out_is_verified_against_the_gathered_region(astronaut_landmarks):
    region = lower_face_polygon(astronaut_landmarks, (512, 512), "chin-out")
    assert under(region, astronaut_landmarks[NOSE_POINTS + MOUTH_POINTS]).all()
    assert not under(region, astronaut_landmarks[[175, 152]]).any() and not under(region, chin_front(astronaut_landmarks)[None]).any()
    # A correctly worn mask, over the chin, no longer matches it.
    assert placement_iou(lower_face_polygon(astronaut_landmarks, (512, 512)), astronaut_landmarks, "chin-out") < 0.85
    assert placement_iou(region, astronaut_landmarks, "chin-out") > 0.95


def test_chin_wear_is_verified_when_the_frame_cuts_the_chin(astronaut, astronaut_landmarks):
    bottom = int(chin_front(astronaut_landmarks)[1]) + 6          # the frame cuts just below the chin's front
    crop = np.ascontiguousarray(astronaut[:bottom])
    for name in ("surgical", "cloth", "n95"):
        result = render3d.fit(crop, mask=name, wear="chin", min_iou=0.5)
        assert result.faces[0].status == "ok", result.faces[0].detail
        assert under(result.segmentation, chin_front(astronaut_landmarks)[None]).all()


def test_masked_face_net_names_are_aliases(astronaut):
    for alias, style in (("Mask_Mouth_Chin", "nose-out"), ("Mask_Chin", "chin"), ("Mask_Nose_Mouth", "chin-out")):
        named = render3d.fit(astronaut, mask="surgical", wear=alias)
        assert named.faces[0].wear == style
        assert np.array_equal(named.segmentation, render3d.fit(astronaut, mask="surgical", wear=style).segmentation)
    with pytest.raises(OptionError, match="unknown wear"):
        render3d.fit(astronaut, wear="sideways")


def test_random_wear_is_weighted_and_leaves_mask_draws_alone():
    draw = FitOptions(mask="random", wear="random", wear_weights="correct=8,nose-out=1,Mask_Chin=1", seed=4)
    wears = [c.wear for c in draw.choose(400)]
    counts = {style: wears.count(style) for style in ("correct", "nose-out", "chin")}
    assert 280 < counts["correct"] < 360 and 20 < counts["nose-out"] < 65 and 20 < counts["chin"] < 65
    assert wears == [c.wear for c in draw.choose(400)]                       # seeded
    assert [c.name for c in draw.choose(50)] == [c.name for c in FitOptions(mask="random", seed=4).choose(50)]
    assert {c.wear for c in FitOptions(wear="random", wear_weights="chin=0,nose-out=2", seed=1).choose(20)} == {
        "nose-out"}
    for bad in ("correct=1,up=2", "correct=x", "correct=0"):
        with pytest.raises(OptionError):
            FitOptions(wear="random", wear_weights=bad).choose(1)
    with pytest.raises(OptionError, match="--wear random"):
        FitOptions(wear="chin", wear_weights="chin=1").choose(1)


def test_random_wear_is_recorded_per_face_in_json_and_manifest(tmp_path):
    photos = tmp_path / "in"
    photos.mkdir()
    face = skimage.data.astronaut()
    names = [f"{i}.jpg" for i in range(6)]
    for name in names:
        Image.fromarray(face).save(photos / name, quality=92)
    options = FitOptions(mask="surgical", wear="random", wear_weights="correct=1,nose-out=1,chin=1", min_iou=0.5)
    summary = run_batch(BatchConfig(photos, tmp_path / "out", options), [Item(n) for n in names], workers=1)
    assert summary["complete"]
    manifest = {row["path"]: row for row in map(json.loads, (tmp_path / "out/manifest.jsonl").read_text().splitlines())}
    worn = set()
    for name in names:
        record = json.loads((tmp_path / "out" / name.replace(".jpg", ".json")).read_text())
        assert manifest[name]["wear"] == [f["wear"] for f in record["faces"]]
        assert manifest[name]["status"] == "ok"
        worn |= set(manifest[name]["wear"])
        seg = np.asarray(Image.open(tmp_path / "out" / name.replace(".jpg", "_seg.png"))) > 0
        landmarks = render3d.default_engine().landmark_model(10)(face)[0]
        wear = record["faces"][0]["wear"]
        if wear != "correct":
            assert_worn(seg, landmarks, wear)
    assert len(worn) >= 2                                    # seeded per image, so the six differ

