"""Every library mask: placement, clearance, expression, self-occlusion, wearing styles, user masks."""
from __future__ import annotations

from dataclasses import replace

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
from render3d.colourspace import LUMINANCE, hex_to_rgb
from render3d.face.fitting import EAR_ROOT, EAR_SPAN, ears, fit_face, occluder_mesh, open_jaw, turn_head
from render3d.mask.choice import MAX_CREASES, PALETTE
from render3d.mask.detail_level import at_scale
from render3d.mask.library import available_masks, load_mask
from render3d.pipeline import FitOptions, draw_parts, window_of
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


def test_seeds_vary_the_colour_and_the_creases(astronaut):
    """Seeded draws recolour some masks from the palette and crease each one differently: the
    mask's fabric and its outline's course change with the seed, its placement does not."""
    results = [render3d.fit(astronaut, mask="surgical", seed=s) for s in range(12)]
    shades = [r.faces[0].shade for r in results]
    assert 1 <= sum(s is not None for s in shades) <= 11 and set(shades) - {None} <= set(PALETTE)
    for result, shade in zip(results, shades):
        assert 2 <= result.faces[0].creases <= MAX_CREASES
        if shade is not None:                   # recoloured toward the palette colour
            covered = result.layer[..., 3] == 255
            assert np.abs(result.layer[covered, :3].mean(0) - hex_to_rgb(shade)).max() < 70
    # The unrecoloured ones vary in hue too, as one maker's blue differs from another's (sRGB log R/G
    # spread 0.038 over these draws; 0.015 with a 2% spread per channel).
    plain_means = [r.layer[r.layer[..., 3] == 255, :3].astype(float).mean(0) for r, shade in zip(results, shades)
                   if shade is None and r.faces[0].pattern is None]
    assert len(plain_means) >= 5 and np.std([np.log(m[0] / m[1]) for m in plain_means]) > 0.025
    first = results[0].segmentation > 0
    overlaps = [((r.segmentation > 0) & first).sum() / ((r.segmentation > 0) | first).sum() for r in results[1:]]
    assert 0.9 <= min(overlaps) and max(overlaps) < 1
    # Same colour, other creases: the shading differs where the creases lie, enough to read on a face
    # this size, but as lines, not smudges. Each unrecoloured, unprinted draw's luminance (relative to its
    # median, so the seeded tone drops out) departs from the uncreased mask's by over 6% on at least 10% of
    # the fabric (13-28% here), and nowhere falls below 0.75 of it (0.80 at the darkest here; unbounded
    # creases fell to 0.43-0.60, the dark streaks judges took for dirt).
    plain = render3d.fit(astronaut, mask="surgical", vary=False)
    creased = [r for r, shade in zip(results, shades) if shade is None and r.faces[0].pattern is None]
    assert len(creased) >= 3
    for result in creased:
        covered = (plain.layer[..., 3] == 255) & (result.layer[..., 3] == 255)
        relative = [layer[covered, :3] @ LUMINANCE / np.median(layer[covered, :3] @ LUMINANCE)
                    for layer in (plain.layer.astype(float), result.layer.astype(float))]
        departure = relative[1] / relative[0]
        assert (np.abs(departure - 1) > 0.06).mean() > 0.10
        assert departure.min() > 0.75, "a crease shades the fabric darker than a fold's flank"


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


@pytest.mark.parametrize("yaw", [0, 30, -30])
@pytest.mark.parametrize("name", ["surgical", "kn95"])
def test_loops_hook_behind_the_ears(name, yaw, astronaut, astronaut_landmarks):
    """Where a loop runs down the groove behind an ear, the ear hides it; elsewhere it shows."""
    fitted = fit_face(turn_head(astronaut_landmarks, yaw))
    mask = load_mask(available_masks()[name])
    part, loops = next((p, d) for p, d in zip(mask.parts, draw_parts(mask, fitted)) if not p.recolor)
    part = at_scale(part, fitted.scale)         # the vertices drawn
    # The stretch behind the ear's root, clear of its narrow top and lobe.
    behind = (part.vertices[:, 2] < EAR_ROOT[1] - 0.8) & (part.vertices[:, 1] > EAR_SPAN[0] + 1.0) & \
        (part.vertices[:, 1] < EAR_SPAN[1] - 1.0)
    hooked = replace(loops, triangles=loops.triangles[behind[loops.triangles].all(1)])
    vertices, triangles = occluder_mesh(fitted)
    without_ears = (vertices, triangles[:-len(ears()[1])])
    window = window_of([loops], astronaut.shape[:2])
    renderer = render3d.default_engine().renderer

    def coverage(occluder, drawn):
        return (renderer.render(window, [occluder], [drawn])[..., 3] > 0.5).sum()

    assert coverage(without_ears, hooked) > 15
    assert coverage((vertices, triangles), hooked) < 0.03 * coverage(without_ears, hooked)
    # The rest of the loop (from the mask over the ear's root, and under the lobe) stays in view.
    assert coverage((vertices, triangles), loops) > 0.5 * coverage(without_ears, loops)
