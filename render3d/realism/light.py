"""Lighting: order-2 spherical-harmonics irradiance fitted per face to the photo's visible skin.

The skin is sampled inside triangles of the fitted face mesh (forehead, cheeks, nose; not the eyes,
brows, nostrils, the face border, or below the nose, where beards grow), with the mesh normals in
the camera frame (y up, z toward the camera). The fit is robust (iteratively reweighted least squares, Huber then Tukey
weights) so hair, glasses, beards and highlights do not skew it, and the higher bands are
regularised. Coefficients are in the basis `shaders/mask.frag` evaluates:

    1, y, z, x, xy, yz, 3z^2 - 1, xz, x^2 - y^2

The fitted skin radiance is divided by the skin's median radiance per channel, so the result is a
relative irradiance (about 1 at the skin's typical normal); exposure and colour are set by
`render3d.realism.colour` from the same skin samples.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from render3d.colourspace import LINEAR_LUT, LUMINANCE
from render3d.face.fitting import FittedFace
from render3d.face.landmark_sets import BROWS, EYES, NOSTRILS
from render3d.face.topology import canonical_face
from render3d.geometry import flip_yz, unit, vertex_normals
from render3d.tolerances import DIRECTION_FLOOR, LENGTH_FLOOR, RADIANCE_FLOOR, SOLVE_JITTER

# Canonical landmarks whose surroundings are not bare skin, with the radius (cm) left out around them
# (the lips lie below the beard line).
EXCLUDED = ((EYES, 0.8), (BROWS, 0.8), (NOSTRILS, 0.6))
BEARD_LINE_CM = -4.9           # canonical y below which skin is often beard or moustache: not sampled
BORDER_CM = 0.6               # samples keep this far inside the face oval (hair, background beyond)
# Barycentric sample pattern inside each triangle: the points (i, j, k) / 5 with i, j, k >= 1.
PATTERN = np.array([[3, 1, 1], [1, 3, 1], [1, 1, 3], [2, 2, 1], [2, 1, 2], [1, 2, 2]], float) / 5
SAMPLE_PX_PER_CM = 10.0        # the face is resampled to about this resolution before sampling
MIN_FACING = 0.25              # camera-frame normal z of the samples kept
MIN_SAMPLES = 40
# Ridge weight per coefficient, relative to the data term: band 0 free, band 1 light, band 2 firm.
RIDGE = np.array([0.0, 0.02, 0.02, 0.02, 0.15, 0.15, 0.15, 0.15, 0.15])
HUBER_K, TUKEY_C = 1.345, 4.685
# The mask's normals face forward or sideways: over those, no light falls below this share of the mean
# (skin in deep shadow or under a beard makes a fit extrapolate to black or below).
MIN_RELATIVE_IRRADIANCE = 0.3


@dataclass(frozen=True)
class SkinSamples:
    """Skin samples of one face: camera-frame unit normals and linear radiance."""
    normals: np.ndarray         # (N, 3) camera frame
    radiance: np.ndarray        # (N, 3) linear RGB


@dataclass(frozen=True)
class Lighting:
    """One face's lighting: relative SH irradiance and the skin's median radiance."""
    sh: np.ndarray              # (9, 3) relative irradiance, shader basis
    skin_median: np.ndarray     # (3,) linear RGB radiance of the skin (median of the inliers)
    samples: int                # skin samples used

    @property
    def direction(self) -> np.ndarray:
        """Unit direction (camera frame) of the band-1 luminance gradient: where the light comes from."""
        band1 = (self.sh[[3, 1, 2]] @ LUMINANCE)
        return band1 / max(float(np.linalg.norm(band1)), DIRECTION_FLOOR)

    def as_json(self) -> dict:
        """The lighting, rounded, for the JSON output."""
        return {"sh": np.round(self.sh.astype(float), 4).tolist(),
                "direction": np.round(self.direction.astype(float), 3).tolist(),
                "skin_median": np.round(self.skin_median.astype(float), 4).tolist(), "samples": self.samples}


def sh_basis(normals: np.ndarray) -> np.ndarray:
    """(N, 9) order-2 SH basis of (N, 3) camera-frame unit normals, in the shader's order."""
    x, y, z = normals[:, 0], normals[:, 1], normals[:, 2]
    return np.stack([np.ones_like(x), y, z, x, x * y, y * z, 3 * z * z - 1, x * z, x * x - y * y], axis=1)


def is_skin(points: np.ndarray) -> np.ndarray:
    """Whether canonical points lie on usually bare skin: inside the oval, above the beard line,
    away from eyes, brows and nostrils."""
    face = canonical_face()
    vertices = face.vertices[:468]
    oval = vertices[face.outer_loop]
    segments = np.stack([oval, np.roll(oval, -1, axis=0)], axis=1)[:, :, :2]
    skin = (points[:, 1] > BEARD_LINE_CM) & (segment_distance(points[:, :2], segments) > BORDER_CM)
    for landmarks, radius in EXCLUDED:
        skin &= np.linalg.norm(points[:, None] - vertices[landmarks][None], axis=2).min(1) > radius
    return skin


def segment_distance(points: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Distance of 2D points to the nearest of the (S, 2, 2) segments."""
    start, direction = segments[:, 0], segments[:, 1] - segments[:, 0]
    squared_lengths = np.maximum((direction ** 2).sum(1), LENGTH_FLOOR)
    t = np.einsum("psd,sd->ps", points[:, None] - start[None], direction) / squared_lengths
    nearest = start[None] + np.clip(t, 0, 1)[..., None] * direction[None]
    return np.linalg.norm(points[:, None] - nearest, axis=2).min(1)


@lru_cache(maxsize=1)
def skin_pattern() -> tuple[np.ndarray, np.ndarray]:
    """Skin sample points of the canonical mesh: (S,) triangle index and (S, 3) barycentric weights."""
    face = canonical_face()
    points = np.einsum("sk,tkd->tsd", PATTERN, face.vertices[face.triangles]).reshape(-1, 3)
    keep = is_skin(points)
    triangle = np.repeat(np.arange(len(face.triangles)), len(PATTERN))[keep]
    return triangle, np.tile(PATTERN, (len(face.triangles), 1))[keep]


@lru_cache(maxsize=1)
def skin_triangles() -> np.ndarray:
    """Canonical triangles whose centre is skin (for drawing the sampled region)."""
    face = canonical_face()
    return face.triangles[is_skin(face.vertices[face.triangles].mean(1))]


def skin_samples(rgb: np.ndarray, fitted: FittedFace) -> SkinSamples:
    """Front-facing skin samples of one face: camera-frame normals and linear radiance."""
    landmarks = fitted.landmarks[:468]
    triangles = canonical_face().triangles
    normals = flip_yz(vertex_normals(landmarks, triangles))
    triangle, bary = skin_pattern()
    points = np.einsum("sk,skd->sd", bary, landmarks[triangles[triangle]])
    sample_normals = np.einsum("sk,skd->sd", bary, normals[triangles[triangle]])
    sample_normals = unit(sample_normals)
    h, w = rgb.shape[:2]
    inside = ((points[:, 0] >= 0) & (points[:, 0] <= w - 1) & (points[:, 1] >= 0) & (points[:, 1] <= h - 1)
              & (sample_normals[:, 2] > MIN_FACING))
    points, sample_normals = points[inside], sample_normals[inside]
    if len(points) == 0:
        return SkinSamples(np.zeros((0, 3)), np.zeros((0, 3)))
    # Resample the face's box to about SAMPLE_PX_PER_CM, so each sample averages a patch of skin.
    x0, y0 = np.floor(points[:, :2].min(0)).astype(int)
    x1, y1 = np.ceil(points[:, :2].max(0)).astype(int) + 1
    crop = cv2.LUT(rgb[y0:y1, x0:x1], LINEAR_LUT)
    factor = min(1.0, SAMPLE_PX_PER_CM / fitted.scale)
    if factor < 1.0:
        size = (max(1, round((x1 - x0) * factor)), max(1, round((y1 - y0) * factor)))
        crop = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    scale = np.array([crop.shape[1] / (x1 - x0), crop.shape[0] / (y1 - y0)])
    xy = ((points[:, :2] - [x0, y0] + 0.5) * scale - 0.5).astype(np.float32)
    radiance = cv2.remap(crop, xy[:, 0:1], xy[:, 1:2], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return SkinSamples(sample_normals, radiance.reshape(-1, 3).astype(np.float64))


def robust_weights(basis: np.ndarray, values: np.ndarray, iterations: int = 6) -> np.ndarray:
    """IRLS weights of a ridge SH fit to `values`: Huber first, then Tukey's biweight."""
    weights = np.ones(len(values))
    for iteration in range(iterations):
        coefficients = ridge_fit(basis, values[:, None], weights)[:, 0]
        fitted = basis @ coefficients
        residual = (values - fitted) / np.maximum(np.abs(fitted), RADIANCE_FLOOR)     # relative: scale free
        sigma = max(1.4826 * float(np.median(np.abs(residual - np.median(residual)))), RADIANCE_FLOOR)
        r = np.abs(residual) / sigma
        if iteration < iterations // 2:
            weights = np.minimum(1.0, HUBER_K / np.maximum(r, LENGTH_FLOOR))
        else:
            weights = np.where(r < TUKEY_C, (1 - (r / TUKEY_C) ** 2) ** 2, 0.0)
    return weights


def ridge_fit(basis: np.ndarray, values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted least squares with the band ridge: (9, C) coefficients."""
    weighted = basis * weights[:, None]
    total = max(float(weights.sum()), LENGTH_FLOOR)
    normal = weighted.T @ basis / total
    # Scale the ridge by the data's own energy so it is independent of exposure.
    ridge = np.diag(RIDGE * normal[0, 0])
    # OpenCV's solver: LAPACK's may wake BLAS threads, slow for a 9x9 system on a busy machine.
    _, solution = cv2.solve(normal + ridge + SOLVE_JITTER * np.eye(9), weighted.T @ values / total,
                            flags=cv2.DECOMP_CHOLESKY)
    return solution


def weighted_median(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Per-column weighted median of (N, C) values."""
    order = np.argsort(values, axis=0)
    sorted_weights = weights[order]
    cumulative = np.cumsum(sorted_weights, axis=0)
    index = (cumulative < 0.5 * cumulative[-1]).sum(0)
    return np.take_along_axis(values, order, axis=0)[index, np.arange(values.shape[1])]


def fibonacci_directions(count: int, min_z: float) -> np.ndarray:
    """Evenly spread unit vectors with z >= min_z."""
    k = np.arange(count) + 0.5
    z = 1 - k / count * (1 - min_z)
    phi = k * np.pi * (3 - np.sqrt(5))
    r = np.sqrt(1 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


MASK_NORMALS = sh_basis(fibonacci_directions(128, -0.2))


def limit_contrast(sh: np.ndarray) -> np.ndarray:
    """Blend the SH toward its mean until no mask normal gets less than MIN_RELATIVE_IRRADIANCE of it."""
    irradiance = MASK_NORMALS @ sh @ LUMINANCE
    mean, lowest = float(irradiance.mean()), float(irradiance.min())
    if lowest >= MIN_RELATIVE_IRRADIANCE * mean or mean <= 0:
        return sh
    keep = (1 - MIN_RELATIVE_IRRADIANCE) * mean / (mean - lowest)
    constant = np.zeros_like(sh)
    constant[0] = (MASK_NORMALS @ sh).mean(0)
    return keep * sh + (1 - keep) * constant


def fit_lighting(samples: SkinSamples) -> Lighting | None:
    """Relative SH irradiance of one face's skin; None when too little skin is visible."""
    if len(samples.radiance) < MIN_SAMPLES:
        return None
    basis = sh_basis(samples.normals)
    luminance = samples.radiance @ LUMINANCE
    if float(np.median(luminance)) <= RADIANCE_FLOOR:
        return None
    weights = robust_weights(basis, luminance)
    median = np.maximum(weighted_median(samples.radiance, weights), RADIANCE_FLOOR)
    coefficients = limit_contrast(ridge_fit(basis, samples.radiance, weights))
    return Lighting((coefficients / median).astype(np.float32), median, int((weights > 0).sum()))
