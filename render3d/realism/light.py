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

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

import cv2
import numpy as np

from render3d.colourspace import LINEAR_LUT, LUMINANCE
from render3d.face.fitting import FittedFace
from render3d.face.landmark_sets import BROWS, EYES, NOSTRILS
from render3d.face.topology import canonical_face
from render3d.geometry import flip_yz, unit, vertex_normals
from render3d.mask.placement import Binding
from render3d.memo import same_objects_cache
from render3d.tolerances import DIRECTION_FLOOR, LENGTH_FLOOR, RADIANCE_FLOOR, SOLVE_JITTER

if TYPE_CHECKING:
    from render3d.mask.library import MaskPart  # the mask library bakes its occlusion with the realism stages

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
AMBIENT_CHROMA = 1.2           # the most any channel's relative ambient light strays from its luminance (ratio)
# The skin the mask covers: canonical landmarks below this height (cm), inside the jaw.
COVERED_SKIN_CM = -1.5
# A mask is smoother than the face beneath it; its shading is raised toward the range of that skin's.
FORM_GAIN_RANGE = (1.0, 3.0)
RESTING_WEIGHT = 0.6           # weight of the skin's normal beneath, against the mask's own (1)
# The head, hair and body hide part of the room from the mask's sides and underside (`hidden_light`).
HIDDEN_SIDE, HIDDEN_DOWN, HIDDEN_FLOOR = 0.8, 0.5, 0.3
HIDDEN_DOWN_FROM = 0.35        # normals facing down less steeply than this (sine) see the room as if level
HIDDEN_SMOOTH_CM = 1.5
SMOOTH_NEIGHBOURS = 4          # face landmarks each mask vertex is smoothed through


# What the SH leaves unexplained (a nose's cast shadow on one cheek, a sharper fall-off, a second
# light of another colour) is fitted per channel as a smooth field over the canonical face, log
# radiance = c . (1, x, y, x y) in cm, and carried to the mask at the same canonical place, clamped to
# the sampled extent; its luminance to RESIDUAL_RANGE, each channel's share of it to RESIDUAL_TINT.
RESIDUAL_RANGE = (0.6, 1.5)
# The skin's directional bands carry the colour of its subsurface scattering (red light spreads under
# the skin, so its red band is flatter): on a white mask they paint a warm blotch where the light
# faces it. The fabric keeps this share of the bands' own colour (a coloured key or rim light).
BAND_CHROMA = 0.35
RESIDUAL_TINT = (0.92, 1.08)
RESIDUAL_RIDGE = 0.05


@dataclass(frozen=True)
class SkinSamples:
    """Skin samples of one face: camera-frame unit normals and linear radiance."""
    normals: np.ndarray         # (N, 3) camera frame
    radiance: np.ndarray        # (N, 3) linear RGB
    points: np.ndarray          # (N, 3) canonical positions (cm)


@dataclass(frozen=True)
class Lighting:
    """One face's lighting: relative SH irradiance and the skin's median radiance."""
    sh: np.ndarray              # (9, 3) relative irradiance, shader basis
    skin_median: np.ndarray     # (3,) linear RGB radiance of the skin (median of the inliers)
    samples: int                # skin samples used
    residual: np.ndarray = field(default_factory=lambda: np.zeros((4, 3)))   # (4, 3) log-radiance field over 1, x, y, x y
    extent: np.ndarray = field(default_factory=lambda: np.zeros((2, 2)))  # canonical (min, max) of x, y sampled

    def shading(self, points: np.ndarray) -> np.ndarray:
        """(P, 3) linear RGB factor of the residual field at canonical points (P, 3)."""
        xy = np.clip(points[:, :2], self.extent[0], self.extent[1])
        factor = np.exp(residual_terms(xy) @ self.residual)
        luminance = factor @ LUMINANCE
        tint = np.clip(factor / luminance[:, None], *RESIDUAL_TINT)
        return (tint * np.clip(luminance, *RESIDUAL_RANGE)[:, None]).astype(np.float32)

    @property
    def direction(self) -> np.ndarray:
        """Unit direction (camera frame) of the band-1 luminance gradient: where the light comes from."""
        band1 = (self.sh[[3, 1, 2]] @ LUMINANCE)
        return band1 / max(float(np.linalg.norm(band1)), DIRECTION_FLOOR)

    def as_json(self) -> dict:
        """The lighting, rounded, for the JSON output."""
        return {"sh": np.round(self.sh.astype(float), 4).tolist(),
                "residual": np.round(self.residual.astype(float), 4).tolist(),
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


def face_normals(fitted: FittedFace) -> np.ndarray:
    """(468, 3) unit vertex normals of the fitted face mesh, camera frame (y up, z toward the camera)."""
    return flip_yz(vertex_normals(fitted.landmarks[:468], canonical_face().triangles))


def skin_samples(rgb: np.ndarray, fitted: FittedFace) -> SkinSamples:
    """Front-facing skin samples of one face: camera-frame normals and linear radiance."""
    landmarks = fitted.landmarks[:468]
    triangles = canonical_face().triangles
    normals = face_normals(fitted)
    triangle, bary = skin_pattern()
    points = np.einsum("sk,skd->sd", bary, landmarks[triangles[triangle]])
    canonical = np.einsum("sk,skd->sd", bary, canonical_face().vertices[triangles[triangle]])
    sample_normals = np.einsum("sk,skd->sd", bary, normals[triangles[triangle]])
    sample_normals = unit(sample_normals)
    h, w = rgb.shape[:2]
    inside = ((points[:, 0] >= 0) & (points[:, 0] <= w - 1) & (points[:, 1] >= 0) & (points[:, 1] <= h - 1)
              & (sample_normals[:, 2] > MIN_FACING))
    points, sample_normals, canonical = points[inside], sample_normals[inside], canonical[inside]
    if len(points) == 0:
        return SkinSamples(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3)))
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
    return SkinSamples(sample_normals, radiance.reshape(-1, 3).astype(np.float64), canonical)


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


@lru_cache(maxsize=1)
def covered_landmarks() -> np.ndarray:
    """Indices of the canonical landmarks on the skin a worn mask covers (below the nose bridge)."""
    face = canonical_face()
    vertices = face.vertices[:468]
    oval = vertices[face.outer_loop]
    segments = np.stack([oval, np.roll(oval, -1, axis=0)], axis=1)[:, :, :2]
    inside = segment_distance(vertices[:, :2], segments) > BORDER_CM
    return np.flatnonzero((vertices[:, 1] < COVERED_SKIN_CM) & inside)


def resting_normals(normals: np.ndarray, face_normals: np.ndarray, binding: Binding) -> np.ndarray:
    """(V, 3) mask shading normals leaning toward the skin the mask lies on.

    normals (V, 3) mask, camera frame; face_normals (468, 3) of the fitted face, camera frame. Each
    vertex over the face blends its own normal with its binding's blend of the face's normals, by
    RESTING_WEIGHT: a mask's side panels turn away from the light with the cheeks and nose sides
    beneath them. Vertices beside the face (loops, straps) keep theirs."""
    under = np.einsum("vk,vkd->vd", binding.weights, face_normals[binding.neighbours])
    blend = normals + RESTING_WEIGHT * binding.over_face[:, None] * under
    return blend / np.maximum(np.linalg.norm(blend, axis=1, keepdims=True), 1e-9)


def hidden_light(part: MaskPart, rotation: np.ndarray, face_normals: np.ndarray) -> np.ndarray:
    """(V,) share of the light left to each vertex of a mask part by the head, hair and body beside
    and below it (`facing_share`), from its normals smoothed over HIDDEN_SMOOTH_CM (so pleats and
    creases keep the SH's and the baked occlusion's own shading), turned by the face's (3, 3)
    canonical-to-image `rotation`. Where the smoothed normals cancel (round loops and straps) the
    share is the skin's beneath, from the fitted face's normals (468, 3, camera frame), smoothed alike."""
    head, coherence = smoothed_normals(part.binding, part.normals)
    own = facing_share(head[:, 2], flip_yz(head @ rotation.T)[:, 1])
    blur = face_blur()
    skin = facing_share(skin_forward(), unit(blur @ face_normals)[:, 1])
    neighbours, weights = nearest_binding(part.binding)
    beneath = (weights * skin[neighbours]).sum(1)
    return (coherence * own + (1 - coherence) * beneath).astype(np.float32)


@same_objects_cache(maxsize=64)     # the same for every placement of a loaded mask's part
def smoothed_normals(binding: Binding, normals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Normals (V, 3) of a bound mask part averaged over HIDDEN_SMOOTH_CM of the face they lie on: each
    is spread onto the nearest SMOOTH_NEIGHBOURS face landmarks it is bound to, blurred over the
    canonical face (`face_blur`) and gathered back. Returns the (V, 3) unit averages and (V,) their
    length in [0, 1] (1: all alike)."""
    neighbours, weights = nearest_binding(binding)
    weighted = (weights[:, :, None] * unit(normals)[:, None]).reshape(-1, 3)
    flat = neighbours.ravel()
    spread = np.stack([np.bincount(flat, weighted[:, axis], minlength=468) for axis in range(3)], axis=1)
    mass = np.bincount(flat, weights.ravel(), minlength=468)
    blur = face_blur()
    landmark_mean = blur @ spread / np.maximum(blur @ mass, LENGTH_FLOOR)[:, None]
    gathered = np.matmul(weights[:, None], landmark_mean[neighbours])[:, 0]
    length = np.linalg.norm(gathered, axis=1)
    return gathered / np.maximum(length, LENGTH_FLOOR)[:, None], np.clip(length, 0, 1)


def nearest_binding(binding: Binding) -> tuple[np.ndarray, np.ndarray]:
    """(V, SMOOTH_NEIGHBOURS) a binding's nearest face landmarks (it lists them nearest first) and
    their weights, renormalised."""
    weights = binding.weights[:, :SMOOTH_NEIGHBOURS]
    return binding.neighbours[:, :SMOOTH_NEIGHBOURS], weights / weights.sum(1, keepdims=True)


def facing_share(forward: np.ndarray, up: np.ndarray) -> np.ndarray:
    """(N,) share of the room's light seen by unit normals whose components along the head's forward
    axis and along the camera's up axis are `forward` and `up` (N,): less HIDDEN_SIDE (1 - forward),
    less HIDDEN_DOWN times how far past HIDDEN_DOWN_FROM they face down; at least HIDDEN_FLOOR."""
    side = 1 - np.clip(forward, 0, 1)
    down = np.clip((-up - HIDDEN_DOWN_FROM) / (1 - HIDDEN_DOWN_FROM), 0, 1)
    return np.clip(1 - HIDDEN_SIDE * side - HIDDEN_DOWN * down, HIDDEN_FLOOR, 1)


@lru_cache(maxsize=1)
def canonical_normals() -> np.ndarray:
    """(468, 3) unit vertex normals of the canonical face, head frame (y up, z forward)."""
    face = canonical_face()
    return vertex_normals(face.vertices[:468], face.triangles)


@lru_cache(maxsize=1)
def skin_forward() -> np.ndarray:
    """(468,) component along the head's forward axis of the canonical face's normals, smoothed by `face_blur`."""
    return unit(face_blur() @ canonical_normals())[:, 2]


@lru_cache(maxsize=1)
def face_blur() -> np.ndarray:
    """(468, 468) Gaussian weights (HIDDEN_SMOOTH_CM) of the canonical landmarks' distances."""
    vertices = canonical_face().vertices[:468]
    return np.exp(-((vertices[:, None] - vertices[None]) ** 2).sum(-1) / (2 * HIDDEN_SMOOTH_CM ** 2))


def form_gain(sh: np.ndarray, skin_normals: np.ndarray, mask_normals: np.ndarray) -> float:
    """How much more the mask's shading must vary to span the covered skin's shading range.

    sh (9, 3) relative irradiance; skin_normals (N, 3) and mask_normals (M, 3) camera frame. The
    ratio of the standard deviations of log luminance irradiance, skin over mask, clipped to
    FORM_GAIN_RANGE; mask normals facing away from the camera are left out.
    """
    def spread(normals: np.ndarray) -> float:
        facing = normals[normals[:, 2] > MIN_FACING]
        if len(facing) < 2:
            return 0.0
        irradiance = np.maximum(sh_basis(facing) @ sh @ LUMINANCE, 1e-3)
        return float(np.log(irradiance).std())
    skin, mask = spread(skin_normals), spread(mask_normals)
    return float(np.clip(skin / max(mask, 1e-6), *FORM_GAIN_RANGE)) if skin > 0 else FORM_GAIN_RANGE[0]


def with_gain(sh: np.ndarray, gain: float) -> np.ndarray:
    """The SH for the fabric: its directional bands scaled by `gain`, with `BAND_CHROMA` of their colour
    apart from the ambient band's, and kept above MIN_RELATIVE_IRRADIANCE."""
    scaled = sh.copy()
    scaled[1:] *= gain
    tint = scaled[0] / max(float(scaled[0] @ LUMINANCE), RADIANCE_FLOOR)
    grey = (scaled[1:] @ LUMINANCE)[:, None] * tint
    scaled[1:] = grey + BAND_CHROMA * (scaled[1:] - grey)
    return limit_contrast(scaled).astype(np.float32)


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
    residual = residual_field(samples, basis @ coefficients, weights)
    kept = samples.points[weights > 0, :2]
    return Lighting(balanced_ambient(coefficients / median).astype(np.float32), median, int((weights > 0).sum()),
                    residual, np.stack([kept.min(0), kept.max(0)]))


def balanced_ambient(sh: np.ndarray) -> np.ndarray:
    """Relative SH (9, 3) with each channel scaled so that its ambient band lies within AMBIENT_CHROMA of
    the band's luminance (as fitted): relative to the skin's own median, a sound fit's ambient is about grey, and
    one far from it comes from a channel too dark to fit (the blue of skin under orange street light)."""
    ambient = sh[0] / max(float(sh[0] @ LUMINANCE), RADIANCE_FLOOR)
    return sh * (np.clip(ambient, 1 / AMBIENT_CHROMA, AMBIENT_CHROMA) / np.maximum(ambient, RADIANCE_FLOOR))


def residual_field(samples: SkinSamples, predicted: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(4, 3) coefficients over canonical 1, x, y, x y (cm) of the log radiance (N, 3) the SH fit's
    prediction `predicted` (N, 3) leaves unexplained, per channel, weighted by the fit's robust
    weights; each channel's field averages 0 over the samples."""
    log_ratio = np.log(np.maximum(samples.radiance, 1e-5)) - np.log(np.maximum(predicted, 1e-5))
    terms = residual_terms(samples.points[:, :2])[:, 1:]
    total = max(float(weights.sum()), 1e-12)
    centre = weights @ terms / total
    centred, target = terms - centre, log_ratio - weights @ log_ratio / total
    normal = (centred * weights[:, None]).T @ centred / total
    ridge = RESIDUAL_RIDGE * np.diag(normal).mean() * np.eye(3)
    _, slope = cv2.solve(normal + ridge + 1e-9 * np.eye(3), (centred * weights[:, None]).T @ target / total,
                         flags=cv2.DECOMP_CHOLESKY)
    return np.vstack([-centre @ slope, slope])


def residual_terms(xy: np.ndarray) -> np.ndarray:
    """(P, 4) terms 1, x, y, x y of canonical points (P, 2)."""
    return np.c_[np.ones(len(xy)), xy, xy[:, 0] * xy[:, 1]]
