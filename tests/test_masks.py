"""Every library mask: placement, clearance, expression, self-occlusion, wearing styles, user masks."""
from __future__ import annotations

import numpy as np
import pytest
from conftest import (
    BROW_POINTS,
    CHIN_POINTS,
    EYE_POINTS,
    MOUTH_POINTS,
    NOSE_POINTS,
    assert_far_side_hidden,
    chin_point,
    under,
)

import render3d
from render3d.face.fitting import fit_face, open_jaw, turn_head
from render3d.mask.library import available_masks, load_mask
from render3d.pipeline import FitOptions, draw_parts
from render3d.qa.verify import clearance_report

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]

LIBRARY = sorted(available_masks())


def test_library_has_at_least_nine_masks():
    assert len(LIBRARY) >= 9
    bodies = {load_mask(p).parts[0].vertices.round(2).tobytes() for p in available_masks().values()}
    assert len(bodies) >= 7                     # different geometry, not only colours


@pytest.mark.parametrize("name", LIBRARY)
def test_covers_lower_face_and_leaves_eyes_clear(name, astronaut, astronaut_landmarks):
    result = render3d.fit(astronaut, mask=name)
    seg, lm = result.segmentation, astronaut_landmarks
    assert under(seg, lm[NOSE_POINTS + MOUTH_POINTS + CHIN_POINTS]).all()
    assert under(seg, chin_point(lm)[None]).all()
    assert not under(seg, lm[EYE_POINTS + BROW_POINTS]).any()


def placed_body(name, landmarks, wear="correct"):
    fitted = fit_face(landmarks)
    options = FitOptions(mask=name, wear=wear)
    choice = options.choose(1)[0]
    mask = load_mask(choice.path, choice.wear)
    return fitted, draw_parts(mask, fitted, choice), mask


@pytest.mark.parametrize("name", LIBRARY)
def test_never_cuts_into_the_face(name, astronaut_landmarks):
    for landmarks in (astronaut_landmarks, open_jaw(astronaut_landmarks, 12), turn_head(astronaut_landmarks, 40)):
        fitted, parts, mask = placed_body(name, landmarks)
        report = clearance_report(fitted, parts[0].positions)
        assert report["min_clearance"] >= 0.0
        assert report["nose_bridge_gap"] < 0.6


@pytest.mark.parametrize("name", LIBRARY)
def test_open_mouth_stretches_the_mask_down(name, astronaut_landmarks):
    opened_landmarks = open_jaw(astronaut_landmarks, 20)
    chin_drop = opened_landmarks[152, 1] - astronaut_landmarks[152, 1]
    _, closed, _ = placed_body(name, astronaut_landmarks)
    _, opened, _ = placed_body(name, opened_landmarks)
    assert opened[0].positions[:, 1].max() - closed[0].positions[:, 1].max() > 0.6 * chin_drop
    assert np.ptp(opened[0].positions[:, 1]) > np.ptp(closed[0].positions[:, 1]) + 0.5 * chin_drop


@pytest.mark.parametrize("yaw", [-70, 70])
def test_turned_head_hides_far_side_of_mask(astronaut_landmarks, yaw):
    landmarks = turn_head(astronaut_landmarks, yaw)
    fitted = fit_face(landmarks)
    assert abs(fitted.pose["yaw"] - yaw) < 8
    parts = draw_parts(load_mask(available_masks()["surgical"]), fitted)
    assert_far_side_hidden(landmarks, fitted, parts, yaw)


@pytest.mark.parametrize("name", LIBRARY)
@pytest.mark.parametrize("yaw", [-75, 75])
def test_far_side_hidden_on_turned_head(name, astronaut_landmarks, yaw):
    landmarks = turn_head(astronaut_landmarks, yaw)
    fitted, parts, _ = placed_body(name, landmarks)
    assert_far_side_hidden(landmarks, fitted, parts, yaw)


@pytest.mark.parametrize("wear,covered,clear", [
    ("nose-out", MOUTH_POINTS + CHIN_POINTS, NOSE_POINTS + EYE_POINTS),
    ("chin", CHIN_POINTS, NOSE_POINTS + MOUTH_POINTS + EYE_POINTS),
])
@pytest.mark.parametrize("name", ["surgical", "kn95", "cloth"])
def test_wearing_styles(name, wear, covered, clear, astronaut, astronaut_landmarks):
    result = render3d.fit(astronaut, mask=name, wear=wear, min_iou=0.5)
    assert result.faces[0].wear == wear
    assert result.faces[0].status == "ok" and result.faces[0].iou >= 0.6    # verified as worn
    assert under(result.segmentation, astronaut_landmarks[covered]).all()
    assert not under(result.segmentation, astronaut_landmarks[clear]).any()


def test_random_draws_are_seeded_and_recorded(astronaut):
    drawn = {render3d.fit(astronaut, mask="random", seed=s).faces[0].mask for s in range(12)}
    assert len(drawn) >= 4 and drawn <= set(LIBRARY)
    again = render3d.fit(astronaut, mask="random", seed=5)
    assert again.faces[0].mask == render3d.fit(astronaut, mask="random", seed=5).faces[0].mask
    only = {render3d.fit(astronaut, mask="random", seed=s, mask_weights="n95=1,kn95=0").faces[0].mask
            for s in range(4)}
    assert only == {"n95"}


def test_recolour_changes_the_mask_colour(astronaut):
    result = render3d.fit(astronaut, mask="surgical_white", color="#d02020", vary=False)
    covered = result.layer[..., 3] == 255
    red, green, blue = result.layer[covered, :3].mean(0)
    assert red > 1.8 * green and red > 1.8 * blue
    assert result.faces[0].color == "#d02020"


def white_patch(folder):
    """A bare mesh without a texture (a white mask): the canonical face below the eyes, 5 mm off the skin."""
    import trimesh

    from render3d.face.topology import canonical_face

    face = canonical_face()
    centres = face.vertices[face.triangles].mean(axis=1)
    lower = face.triangles[(centres[:, 1] < -1.5) & (np.abs(centres[:, 0]) < 6.0)]
    patch = trimesh.Trimesh(face.vertices[:468], lower, process=False)
    patch.remove_unreferenced_vertices()
    patch.vertices += patch.vertex_normals * 0.5
    patch.export(folder / "white.obj")
    return folder / "white.obj"


def test_recolour_renders_the_exact_colour(astronaut, tmp_path):
    """A white mask recoloured to #d02020 and drawn unlit is (208, 32, 32) wherever it is opaque:
    the tint and the shader use the same exact sRGB curve."""
    result = render3d.fit(astronaut, mask=str(white_patch(tmp_path)), color="#d02020", vary=False, realism="flat")
    opaque = result.layer[..., 3] == 255
    assert opaque.sum() > 2000
    assert (result.layer[opaque, :3] == (208, 32, 32)).all()


HARD_FACES = ["landmarks_68/ibug300w_afw_1295311477.jpg",            # turned: jaw-side rim over the mask
              "unmasked/fexp_surprise_Pat_Summitt_0001.jpg"]         # mouth wide open: folded landmark mesh


@pytest.mark.devset
@pytest.mark.parametrize("photo", HARD_FACES)
def test_never_cuts_into_real_faces(dev_faces, photo):
    from render3d.face.detect import find_faces
    from render3d.io.image_in import load_image

    faces = find_faces(load_image(dev_faces / photo).rgb, render3d.default_engine().landmark_model(10))
    assert faces
    for name in LIBRARY:
        mask = load_mask(available_masks()[name])
        for face in faces:
            fitted = fit_face(face.landmarks)
            report = clearance_report(fitted, draw_parts(mask, fitted)[0].positions)
            assert report["min_clearance"] >= 0.0, (name, photo)
