"""The hand's tracked region, its outline and the tests that decide where to look for one (without GL)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from render3d.face.fitting import fit_face
from render3d.face.topology import canonical_face
from render3d.render.occluders import (clockwise_from_up, hand_frame, hand_outline, hand_region, may_show_hand,
                                       polygon_image, reaches, skin_lab, to_lab)

# An upright left hand in pixels (wrist at the bottom, fingers up), MediaPipe's 21 landmarks.
UPRIGHT = np.array([
    (50, 90),                                            # wrist
    (40, 85), (33, 78), (28, 71), (25, 65),              # thumb
    (40, 60), (38, 45), (37, 35), (36, 27),              # index
    (47, 59), (47, 43), (47, 32), (47, 23),              # middle
    (54, 60), (55, 45), (56, 35), (56, 28),              # ring
    (61, 62), (63, 50), (64, 42), (65, 36),              # little
], float)


def turned(points: np.ndarray, angle: float, about: np.ndarray) -> np.ndarray:
    """`points` turned `angle` radians clockwise on the screen (y down) about `about`."""
    c, s = np.cos(angle), np.sin(angle)
    return (points - about) @ np.array([[c, s], [-s, c]]) + about


def test_clockwise_from_up_follows_the_screen():
    assert np.isclose(clockwise_from_up(np.array([0.0, -1.0])), 0.0)
    assert np.isclose(clockwise_from_up(np.array([1.0, 0.0])), np.pi / 2)       # pointing right
    assert np.isclose(clockwise_from_up(np.array([-1.0, 0.0])), -np.pi / 2)


def test_the_tracked_region_turns_with_the_hand_and_covers_it():
    centre, side, angle = hand_frame(UPRIGHT)
    assert abs(angle - clockwise_from_up(UPRIGHT[9] - UPRIGHT[0])) < 1e-9 and abs(angle) < 0.1
    # Twice the palm and finger bases across, so the whole hand lies inside, shifted toward the fingers.
    assert 2 * (UPRIGHT[:, 1].max() - UPRIGHT[:, 1].min()) > side > UPRIGHT[:, 1].max() - UPRIGHT[:, 1].min()
    assert centre[1] < (UPRIGHT[[0, 9], 1].mean())
    pivot = np.array([120.0, 80.0])
    for turn in (np.pi / 2, -0.7, np.pi):
        moved_centre, moved_side, moved_angle = hand_frame(turned(UPRIGHT, turn, pivot))
        assert np.allclose(moved_centre, turned(centre[None], turn, pivot)[0], atol=1e-6)
        assert np.isclose(moved_side, side)
        assert np.isclose(np.angle(np.exp(1j * (moved_angle - angle - turn))), 0.0, atol=1e-9)


def hand_photo(fill_hull: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A 120x120 photo, face-coloured, with the hand drawn in its own colour out to a rim 3 px past its
    landmarks' hull (a fist), or only along its bones (spread fingers), and a patch of the hand's colour
    far from it: (photo, the hand's pixels, the far patch)."""
    photo = np.zeros((120, 120, 3), np.uint8)
    photo[...] = (200, 150, 120)
    hand = np.zeros((120, 120), np.uint8)
    if fill_hull:
        cv2.fillConvexPoly(hand, cv2.convexHull(UPRIGHT.astype(np.int32)), 1)
        hand = cv2.dilate(hand, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    else:
        hand = hand_region([UPRIGHT], (0, 0, 120, 120))
    far = np.zeros_like(hand)
    far[100:115, 100:115] = 1
    photo[(hand > 0) | (far > 0)] = (120, 90, 200)
    return photo, hand > 0, far > 0


def test_the_outline_reaches_the_hand_edge_and_no_further():
    photo, hand, far = hand_photo(fill_hull=True)
    window = (0, 0, 120, 120)
    bones = hand_region([UPRIGHT], window) > 0
    assert bones[hand].mean() < 0.8                      # the bones alone miss the rim and the curled fingers
    outline = hand_outline(to_lab(photo), [UPRIGHT], window) > 0
    assert outline[hand].mean() > 0.99
    assert not outline[far].any()
    assert outline[~hand].sum() < 0.02 * hand.sum()      # the face beside the hand stays the face


def test_the_outline_keeps_to_spread_fingers():
    photo, hand, _ = hand_photo(fill_hull=False)
    outline = hand_outline(to_lab(photo), [UPRIGHT], (0, 0, 120, 120)) > 0
    assert outline[hand].mean() > 0.99
    assert outline[~hand].sum() < 0.02 * hand.sum()      # the face between the fingers is not the hand


def test_a_palm_reaches_the_windows_within_its_region_side():
    windows = [(100, 100, 50, 40)]
    assert reaches(np.array([120.0, 120.0]), 10.0, windows)            # inside
    assert reaches(np.array([180.0, 120.0]), 31.0, windows)            # 30 px right of it
    assert not reaches(np.array([180.0, 120.0]), 29.0, windows)
    assert not reaches(np.array([180.0, 170.0]), 35.0, windows)        # 30 right and 30 below: 42 px away
    assert reaches(np.array([180.0, 170.0]), 35.0, windows + [(170, 160, 20, 20)])


@pytest.mark.mediapipe
def test_a_hand_is_looked_for_where_the_skin_shows_beyond_the_face(astronaut, astronaut_landmarks):
    face = fit_face(astronaut_landmarks)
    oval = polygon_image(astronaut_landmarks[canonical_face().outer_loop, :2], (0, 0, 512, 512)) > 0
    bare = astronaut.copy()
    bare[~oval] = (70, 80, 100)                  # nothing of the skin's colour beyond the face
    assert not may_show_hand(bare, face, [face])
    size = np.ptp(astronaut_landmarks[:, 1])
    skin = cv2.cvtColor(np.median(skin_lab(astronaut, face), axis=0)[None, None].astype(np.float32), cv2.COLOR_LAB2RGB)
    chin = astronaut_landmarks[152, :2]
    for radius, shown in ((0.2, True), (0.08, False)):     # a palm of the skin's colour beside the chin; a fleck
        patch = np.zeros(astronaut.shape[:2], np.uint8)
        cv2.circle(patch, (int(chin[0] + 0.5 * size), int(chin[1])), int(radius * size), 1, -1)
        held = bare.copy()
        held[patch > 0] = np.round(skin[0, 0] * 255)
        assert may_show_hand(held, face, [face]) == shown
    grey = np.repeat(cv2.cvtColor(bare, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=-1)
    assert may_show_hand(grey, face, [face])     # colour cannot tell on a grey skin: always looked for
