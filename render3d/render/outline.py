"""The mask's outline in the image: which parts are wide fabric, how far each pixel lies inside, and a
taut edge.

Where the mask's mesh meets the face's depth (the top edge over the cheeks, a far side turned behind
the head) the depth test cuts its outline in steps a few pixels high, a torn-paper sawtooth that no
fabric edge has: a hemmed edge is pulled taut. The fabric's coverage is smoothed along its outline
(a Gaussian of SMOOTH_CM, cut again at its half level with the render's own one-pixel ramp), which
takes out steps and notches under about twice that size and leaves the outline's course. Straps
(ear loops, head straps: runs narrower than BODY_CM and at least LOOP_CM long) keep their coverage as
drawn; shorter narrow bits are the sawtooth's teeth and are smoothed with the rest. With a seed, the
outline also takes a course of its own, moved out by a smooth seeded field (up to a few OUTLINE_CM,
changing over WAVE_CM), as one mask reaches higher on a cheek or lower under the chin than another of
its kind; never in, which would bare the mask's inner side where its edge turns from the camera, and never
up, past the top edge that the wearing style sets (under the eyes, under the nose or the lower lip).
"""
from __future__ import annotations

import cv2
import numpy as np

from render3d.geometry import unpremultiply

BODY_CM = 0.8                  # parts narrower than this, and
LOOP_CM = 1.0                  # at least this long, are loops and straps, not the mask's body
SMOOTH_CM = 0.25               # the outline's smoothing (Gaussian sigma)
OPAQUE = 0.99                  # coverage of the pixels whose colour fills the outline's notches
OUTLINE_CM = 0.12              # standard deviation of the seeded field the outline moves out by (where positive)
WAVE_CM = 2.5                  # and the distance over which it changes
SHIFT_REACH = 0.8              # share of the smoothing's reach the move may take
MIN_SMOOTH = 0.7               # smoothing under this many pixels changes nothing visible: skipped
TOP_COSINE = 0.5               # an outline facing within 60 degrees of the face's up is its top edge: not moved


def inward_distance(alpha: np.ndarray) -> np.ndarray:
    """(h, w) float32 pixels from each covered pixel (alpha above 0, so that the outline's partly covered
    pixels count) to the outline, 0 outside; the window's own border is not an outline (a mask that the
    photo's edge cuts has no outline there)."""
    return cv2.distanceTransform((alpha > 0).astype(np.uint8), cv2.DIST_L2, 3)


def wide_parts(distance: np.ndarray, width: float) -> np.ndarray:
    """Which covered pixels belong to parts at least `width` pixels across: the coverage opened by a
    disc of that diameter (from the inward distance)."""
    radius = width / 2
    core = (distance >= radius).astype(np.uint8)
    if not core.any():
        return np.zeros(distance.shape, bool)
    return (cv2.distanceTransform(1 - core, cv2.DIST_L2, 3) <= radius) & (distance > 0)


def straps(alpha: np.ndarray, scale: float) -> np.ndarray:
    """Which pixels of a render's coverage `alpha` (h, w), at `scale` pixels per cm, are its loops and
    straps: runs narrower than BODY_CM whose extent reaches LOOP_CM."""
    distance = inward_distance(alpha)
    narrow = ((distance > 0) & ~wide_parts(distance, BODY_CM * scale)).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(narrow, connectivity=8)
    long = stats[:, cv2.CC_STAT_WIDTH:cv2.CC_STAT_HEIGHT + 1].max(axis=1) >= LOOP_CM * scale
    long[0] = False                                   # the background
    return long[labels]


def seeded_shift(shape: tuple[int, int], scale: float, seed: int) -> np.ndarray:
    """(h, w) float32 smooth field of pixels (standard deviation OUTLINE_CM * scale) whose positive
    part the outline moves out by: seeded noise on a WAVE_CM grid, cubically interpolated
    and brought back to unit spread (interpolation narrows it)."""
    h, w = shape
    step = WAVE_CM * scale
    coarse = np.random.default_rng(seed).standard_normal((int(h / step) + 3, int(w / step) + 3)).astype(np.float32)
    field = cv2.resize(coarse, (round(coarse.shape[1] * step), round(coarse.shape[0] * step)),
                       interpolation=cv2.INTER_CUBIC)[:h, :w]
    return field * np.float32(OUTLINE_CM * scale / max(float(field.std()), 1e-6))


def outward(field: np.ndarray) -> np.ndarray:
    """(2, h, w) unit image direction (x, y) down the slope of a smooth (h, w) `field` that rises into the
    mask (its coverage, or the inward distance): which way each stretch of the outline faces."""
    slope = np.stack([cv2.Sobel(field, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(field, cv2.CV_32F, 0, 1, ksize=3)])
    return -slope / np.maximum(np.linalg.norm(slope, axis=0), 1e-6)


def below_top_edge(coverage: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(h, w) bool: where the smooth `coverage` (h, w) faces away from the image direction `up` (2,: x, y)
    by more than TOP_COSINE, so that a move out there is not a move up past the top edge."""
    facing = outward(coverage)
    return facing[0] * up[0] + facing[1] * up[1] < TOP_COSINE


def taut(rgba: np.ndarray, scale: float, seed: int | None = None, up: np.ndarray | None = None,
         sigma: float | None = None) -> np.ndarray:
    """A straight-alpha (h, w, 4) float32 mask render at `scale` pixels per cm with the outline of its
    wide parts smoothed by `sigma` pixels (default SMOOTH_CM; the input when there is nothing to
    smooth), and with a `seed`, moved along a course of its own (`seeded_shift`), but for its top edge as
    seen from the face's `up` (2,: the image direction, x and y). Pixels it newly covers take the colour
    of the fabric next to them, as do those of the outline."""
    sigma = SMOOTH_CM * scale if sigma is None else sigma
    if sigma < MIN_SMOOTH:
        return rgba
    alpha = rgba[..., 3]
    body = np.where(straps(alpha, scale), 0.0, alpha).astype(np.float32)
    if not body.any():
        return rgba
    # The outline's pixels take the colour of the opaque fabric about them: a partly covered pixel's own
    # carries the 8-bit rounding of its coverage, which shows where smoothing makes it opaque.
    opaque = (body >= OPAQUE).astype(np.float32)[..., None]
    soft = [cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
            for image in (np.concatenate([rgba[..., :3] * opaque, opaque], axis=2), body)]
    # A blurred step's slope at its half level is 1 / (sqrt(2 pi) sigma): back to a one-pixel ramp.
    # Near the outline, that ramp is the signed distance to it in pixels: a shift moves it.
    reach = np.sqrt(2 * np.pi) * sigma / 2              # the ramp's value in the blur's tails is 0.5 - reach
    ramp = (soft[1] - 0.5) * 2 * reach + 0.5
    if seed is not None:                                # out only, and short of the tails: nothing far off is covered
        limit = SHIFT_REACH * max(reach - 0.5, 0.0)
        shift = np.clip(seeded_shift(body.shape, scale, seed), 0.0, limit)
        ramp += shift if up is None else shift * below_top_edge(soft[1], up)
    edge = np.clip(ramp, 0.0, 1.0)
    kept = (alpha >= OPAQUE) | (alpha > body)                 # the opaque fabric and the straps
    colour = np.where(kept[..., None], rgba[..., :3], unpremultiply(soft[0])[..., :3])
    return np.concatenate([colour, np.maximum(edge, alpha - body)[..., None]], axis=2)
