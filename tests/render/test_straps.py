"""Ear loops and straps: they stay below the ear's top, the ear hides them where they hook
(tests/test_masks.py), hair in front of them hides them (dark or blond, painted or in dev photos) while
bare ears and the background beside the head keep them, and they are shaded and take a recoloured mask's colour."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

import render3d
from render3d.face.fitting import EAR_SPAN, fit_face, occluder_mesh
from render3d.face.topology import canonical_face
from render3d.mask.choice import PALETTE
from render3d.mask.library import available_masks, load_mask
from render3d.pipeline import FitOptions, draw_parts, window_of
from render3d.render.straps import is_strap

EAR_LOOP_MASKS = ["surgical", "kn95", "ffp2_valve", "cloth", "sport"]


@pytest.mark.parametrize("name", EAR_LOOP_MASKS)
def test_loops_stay_below_the_ears_top(name):
    """A loop hooks over the ear's root near the eye's level, well below the top of the ear: it never runs
    up past the ear."""
    mask = load_mask(available_masks()[name])
    straps = [part for part in mask.parts if is_strap(part)]
    assert len(straps) == 1 and not any(is_strap(part) for part in mask.parts if part.recolor)
    outer_eye_corner = canonical_face().vertices[33, 1]
    assert straps[0].vertices[:, 1].max() < min(outer_eye_corner + 0.5, EAR_SPAN[1] - 1.0)
    # It runs out to the ear: its highest point lies further out than where it leaves the mask.
    vertices = straps[0].vertices
    top = vertices[np.argmax(vertices[:, 1])]
    assert abs(top[0]) > np.abs(vertices[vertices[:, 2] > -6.0, 0]).min() + 0.4


@pytest.fixture(scope="module")
def large(astronaut):
    """The astronaut at twice the size, so a loop is a few pixels wide, and the landmarks its fit found."""
    photo = cv2.resize(astronaut, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    return photo, np.asarray(render3d.fit(photo).faces[0].landmarks, float)


def strap_pixels(astronaut: np.ndarray, landmarks: np.ndarray, name: str = "surgical") -> np.ndarray:
    """(H, W) bool: where the mask's loops show on the astronaut (behind the head, the ears and the fabric)."""
    fitted = fit_face(landmarks)
    mask = load_mask(available_masks()[name])
    parts = draw_parts(mask, fitted)
    window = window_of(parts, astronaut.shape[:2])
    fabric = [(d.positions, d.triangles) for p, d in zip(mask.parts, parts) if not is_strap(p)]
    straps = [d for p, d in zip(mask.parts, parts) if is_strap(p)]
    coverage = render3d.default_engine().renderer.render(window, [occluder_mesh(fitted)] + fabric, straps, False)
    shown = np.zeros(astronaut.shape[:2], bool)
    shown[window.slices] = coverage[..., 3] > 0.9
    return shown


def beside_band(astronaut: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(H, W) bool: a band on the image's left, 3 to 12 pixels outside the face's oval, from the eyes down
    to the mouth, where the loop runs over the side of the head."""
    oval = np.zeros(astronaut.shape[:2], np.uint8)
    cv2.fillPoly(oval, [np.round(landmarks[canonical_face().outer_loop, :2]).astype(np.int32)], 1)
    beside = cv2.dilate(oval, np.ones((3, 3), np.uint8), iterations=24).astype(bool) & ~cv2.dilate(
        oval, np.ones((3, 3), np.uint8), iterations=6).astype(bool)
    rows, cols = np.indices(astronaut.shape[:2])
    return beside & (rows > landmarks[33, 1]) & (rows < landmarks[61, 1]) & (cols < landmarks[1, 0])


DARK_SHADES = {shade for shade in PALETTE if sum(int(shade[i:i + 2], 16) for i in (1, 3, 5)) < 300}

# Hair strands: a base colour and the strands' lighter streaks (RGB).
HAIR = {"dark": ((28, 28, 30), (18, 18, 18)), "blond": ((196, 164, 108), (34, 30, 22))}


@pytest.mark.gl
@pytest.mark.mediapipe
@pytest.mark.parametrize("colour", HAIR)
def test_hair_in_front_of_a_loop_hides_it(engine, large, colour):
    """Hair painted over the side of the head, beside the face, hides the loop that runs under it, dark hair
    and blond hair (of nearly the skin's lightness) alike; the loop elsewhere and the fabric stay as they were."""
    astronaut, astronaut_landmarks = large
    shown = strap_pixels(astronaut, astronaut_landmarks)
    hair = beside_band(astronaut, astronaut_landmarks)
    assert (hair & shown).sum() > 15
    photo = astronaut.copy()
    base, streak = HAIR[colour]
    rows, cols = np.indices(astronaut.shape[:2])
    strands = (np.sin(cols * 1.7 + rows * 0.4) > 0.3)[..., None] * np.array(streak) + base
    photo[hair] = strands[hair]
    before = engine.fit(astronaut, FitOptions(vary=False))     # no seeded outline over the loops' roots
    after = engine.fit(photo, FitOptions(vary=False))
    alpha_before, alpha_after = before.layer[..., 3].astype(float), after.layer[..., 3].astype(float)
    assert alpha_after[hair & shown].mean() < 0.15 * alpha_before[hair & shown].mean()
    # The loop away from the hair keeps its pixels (a second fit's landmarks move it by a pixel or so:
    # compared over a band around it), and the fabric is whole.
    grow = lambda region, n: cv2.dilate(region.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=n).astype(bool)
    elsewhere = grow(shown & ~grow(hair, 6), 3) & ~grow(hair, 4)
    assert alpha_before[elsewhere].sum() > 30 * 255
    assert 0.85 < alpha_after[elsewhere].sum() / alpha_before[elsewhere].sum() < 1.15
    interior = cv2.erode((before.segmentation > 0).astype(np.uint8), np.ones((3, 3), np.uint8), iterations=4)
    assert alpha_after[interior.astype(bool) & ~grow(shown, 3)].min() >= 250


@pytest.mark.gl
@pytest.mark.mediapipe
def test_a_wall_beside_the_head_leaves_the_loop_in_front(engine, large):
    """Where a plain wall shows beside the face (a head narrower than the fitted one) the loop hangs in front
    of it: the person segmentation sees no person there, so the loop keeps most of its alpha (hair in the
    same band hides it, above)."""
    astronaut, astronaut_landmarks = large
    band = beside_band(astronaut, astronaut_landmarks)
    wall = band & strap_pixels(astronaut, astronaut_landmarks)
    assert wall.sum() > 15
    photo = astronaut.copy()
    photo[band] = (205, 203, 198)
    before = engine.fit(astronaut, FitOptions(vary=False))
    after = engine.fit(photo, FitOptions(vary=False))
    assert after.layer[wall, 3].mean() > 0.6 * before.layer[wall, 3].mean()


@pytest.mark.gl
@pytest.mark.mediapipe
def test_loops_are_shaded_and_take_a_recoloured_mask_colour(engine, large):
    """Loops are shaded cords; `--color` recolours them with the fabric, a palette draw leaves them white."""
    astronaut, astronaut_landmarks = large
    shown = strap_pixels(astronaut, astronaut_landmarks) & (engine.fit(astronaut, FitOptions()).layer[..., 3] > 150)
    assert shown.sum() > 30
    white = engine.fit(astronaut, FitOptions(vary=False)).layer[shown, :3].astype(float)
    red = engine.fit(astronaut, FitOptions(vary=False, color="#d02020")).layer[shown, :3].astype(float)
    # The library's surgical mask keeps its white elastic; recoloured, the loops are of the same red fabric.
    assert np.abs(white.mean(0) - white.mean()).max() < 12 and white.mean() > 150
    assert red[:, 0].mean() > 2 * red[:, 1].mean() and red[:, 0].mean() > 2 * red[:, 2].mean()
    # A palette draw recolours the fabric alone: a dark one keeps the white elastic, which shows on the skin.
    dark = next(fit for fit in (engine.fit(astronaut, FitOptions(seed=seed)) for seed in range(60))
                if fit.faces[0].shade in DARK_SHADES)
    fabric = dark.layer[dark.segmentation > 0][:, :3].astype(float).mean()
    assert dark.layer[shown, :3].astype(float).mean() > max(150, fabric + 60)
    # Shaded, not one flat colour: the light falls off along the loop and round the cord.
    luminance = white @ [0.2126, 0.7152, 0.0722]
    assert luminance.std() > 8 and np.percentile(luminance, 90) - np.percentile(luminance, 10) > 20


def beside_loop(photo: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(H, W) bool: the loops' pixels on `photo` more than a few pixels outside the face's oval."""
    oval = np.zeros(photo.shape[:2], np.uint8)
    cv2.fillPoly(oval, [np.round(landmarks[canonical_face().outer_loop, :2]).astype(np.int32)], 1)
    return strap_pixels(photo, landmarks) & ~cv2.dilate(oval, np.ones((3, 3), np.uint8), iterations=4).astype(bool)


@pytest.mark.gl
@pytest.mark.mediapipe
@pytest.mark.parametrize("name, most", [("deepface_img22.jpg", 0.2), ("human_stock-teen-7.jpg", 0.2),
                                        ("deepface_img9.jpg", 0.5), ("human_stock-emotions-a-4.jpg", 0.3),
                                        ("human_stock-teen-8.jpg", 0.3)])
def test_hair_over_the_ears_hides_the_loops(engine, dev_faces, name, most):
    """Beside the face, hair over the temple and the ear hides the loops, blond by light skin (of nearly the
    skin's colour) and long brown or red hair (of its hue, darker) alike: at most `most` of their alpha
    there is left of a render with nothing of the photo in front."""
    photo = cv2.cvtColor(cv2.imread(str(dev_faces / "unmasked" / name)), cv2.COLOR_BGR2RGB)
    result, bare = engine.fit(photo, FitOptions()), engine.fit(photo, FitOptions(occluders="off"))
    beside = beside_loop(photo, np.asarray(result.faces[0].landmarks, float))
    assert beside.sum() > 200
    assert result.layer[beside, 3].sum() < most * bare.layer[beside, 3].sum()


@pytest.mark.gl
@pytest.mark.mediapipe
@pytest.mark.parametrize("name", ["deepface_img58.jpg", "faceapi_fearful.jpg"])
def test_loops_stay_in_front_of_the_background(engine, dev_faces, name):
    """Short hair against a plain backdrop: beside the face the loops hang in front of the background, so
    they keep about half their alpha or more (the rest lies under the hair over the ears)."""
    photo = cv2.cvtColor(cv2.imread(str(dev_faces / "unmasked" / name)), cv2.COLOR_BGR2RGB)
    result, bare = engine.fit(photo, FitOptions()), engine.fit(photo, FitOptions(occluders="off"))
    beside = beside_loop(photo, np.asarray(result.faces[0].landmarks, float))
    assert beside.sum() > 100
    assert result.layer[beside, 3].sum() > 0.45 * bare.layer[beside, 3].sum()


@pytest.mark.gl
@pytest.mark.mediapipe
def test_loops_stay_over_bare_ears(engine, dev_faces):
    """Short dark hair and bare ears: the loops stay in sight over the ears and the skin beside the face."""
    photo = cv2.cvtColor(cv2.imread(str(dev_faces / "unmasked" / "facenet_paul_rudd_1.jpg")), cv2.COLOR_BGR2RGB)
    result, bare = engine.fit(photo, FitOptions()), engine.fit(photo, FitOptions(occluders="off"))
    beside = beside_loop(photo, np.asarray(result.faces[0].landmarks, float))
    assert beside.sum() > 200
    assert result.layer[beside, 3].sum() > 0.4 * bare.layer[beside, 3].sum()
