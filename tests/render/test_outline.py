"""The mask's outline: loops told from the body, and a taut edge (no MediaPipe, no GL)."""
from __future__ import annotations

import cv2
import numpy as np

from render3d.render.outline import SMOOTH_CM, straps, taut

SCALE = 20.0                    # pixels per cm


def sawtooth_disc(size: int = 200, radius: float = 60.0, teeth: int = 90, depth: float = 4.0) -> np.ndarray:
    """Coverage of a disc whose outline steps in and out by `depth` px, `teeth` times round."""
    y, x = np.mgrid[:size, :size] - size / 2
    angle, r = np.arctan2(y, x), np.hypot(x, y)
    edge = radius + depth * (np.floor(angle / (2 * np.pi) * teeth) % 2)
    return np.clip(edge - r + 0.5, 0, 1).astype(np.float32)


def with_loop(alpha: np.ndarray) -> np.ndarray:
    alpha = alpha.copy()
    cv2.line(alpha, (175, 20), (175, 180), 1.0, 4)            # a loop 4 px wide, 8 cm long
    return alpha


def rgba_of(alpha: np.ndarray, colour=(0.2, 0.4, 0.8)) -> np.ndarray:
    rgba = np.zeros((*alpha.shape, 4), np.float32)
    rgba[..., :3], rgba[..., 3] = colour, alpha
    return rgba


def radial_spread(alpha: np.ndarray) -> float:
    """Standard deviation of the outline's distance from the centre (px)."""
    contours, _ = cv2.findContours((alpha >= 0.5).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    points = max(contours, key=cv2.contourArea)[:, 0] - np.array(alpha.shape[::-1]) / 2
    return float(np.hypot(*points.T).std())


def test_loops_are_told_from_the_body_and_its_teeth():
    alpha = with_loop(sawtooth_disc())
    loops = straps(alpha, SCALE)
    assert loops[:, 173:178].sum() > 0.9 * (alpha[:, 173:178] > 0).sum()
    assert not loops[:, :165].any()                            # the disc and its teeth are body


def test_a_sawtooth_outline_is_pulled_taut_and_keeps_its_course():
    alpha = sawtooth_disc()
    smoothed = taut(rgba_of(alpha), SCALE)[..., 3]
    assert SMOOTH_CM * SCALE > 2
    assert radial_spread(smoothed) < 0.4 * radial_spread(alpha)
    assert abs(smoothed.sum() / alpha.sum() - 1) < 0.03
    # Still a one-pixel antialiased ramp, not a blurred edge.
    assert ((smoothed > 0.02) & (smoothed < 0.98)).sum() < 1.6 * ((alpha > 0.02) & (alpha < 0.98)).sum()


def test_loops_keep_their_coverage_and_new_pixels_their_fabrics_colour():
    alpha = with_loop(sawtooth_disc())
    rgba = rgba_of(alpha)
    smoothed = taut(rgba, SCALE)
    assert np.array_equal(smoothed[:, 170:, 3], alpha[:, 170:])
    new = (smoothed[..., 3] > 0) & (alpha == 0)
    assert new.sum() > 50
    assert np.allclose(smoothed[new][:, :3], (0.2, 0.4, 0.8), atol=1e-5)


def test_a_small_face_is_left_as_drawn():
    rgba = rgba_of(sawtooth_disc())
    assert taut(rgba, 2.0) is rgba


def disc_alpha(size: int = 200, radius: float = 60.0) -> np.ndarray:
    y, x = np.mgrid[:size, :size] - size / 2
    return np.clip(radius - np.hypot(x, y) + 0.5, 0, 1).astype(np.float32)


def test_each_seed_gives_the_outline_its_own_course_within_bounds():
    from render3d.render.outline import OUTLINE_CM

    rgba = rgba_of(disc_alpha())
    plain = taut(rgba, SCALE)[..., 3]
    first, again, other = (taut(rgba, SCALE, seed)[..., 3] for seed in (1, 1, 2))
    assert np.array_equal(first, again)
    assert ((first >= 0.5) != (other >= 0.5)).sum() > 100
    # Moved out by up to a few OUTLINE_CM, never in: the outline stays within 3 of it outside the circle.
    for moved in (first, other):
        assert radial_spread(moved) > 0.3 * OUTLINE_CM * SCALE
        assert (moved >= plain - 1e-6).all()
        contours, _ = cv2.findContours((moved >= 0.5).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        radii = np.hypot(*(np.concatenate(contours)[:, 0] - 100).T)
        assert -1.5 < (radii - 60).min() and (radii - 60).max() < 3 * OUTLINE_CM * SCALE
        assert len(contours) == 1                              # no specks nor holes
    assert radial_spread(plain) < 0.5


def test_a_seeded_course_leaves_the_top_edge_where_the_wear_put_it():
    """Seen from a face whose up is the image's up, the seeded move takes the disc's sides and bottom out
    and leaves its top, where a mask's top edge lies under the eyes or the nose, as the plain outline."""
    rgba = rgba_of(disc_alpha())
    plain = taut(rgba, SCALE)[..., 3] >= 0.5
    top, bottom = np.flatnonzero(plain.any(1))[[0, -1]]
    up = np.array([0.0, -1.0])
    moved = [taut(rgba, SCALE, seed, up)[..., 3] >= 0.5 for seed in range(1, 7)]
    assert all(np.flatnonzero(m.any(1))[0] == top for m in moved)                  # never higher
    assert all((m[:top + 6] == plain[:top + 6]).all() for m in moved)              # the top cap as it was
    assert max(np.flatnonzero(m.any(1))[-1] for m in moved) > bottom               # the bottom does move
    free = [taut(rgba, SCALE, seed)[..., 3] >= 0.5 for seed in range(1, 7)]
    assert min(np.flatnonzero(m.any(1))[0] for m in free) < top                # which it would without `up`
