"""Camera matching: the photo's blur, noise and JPEG compression, measured near each face and
applied to the mask layer.

Blur: the gradient-ratio method (an edge blurred by sigma, re-blurred by s0, loses gradient in
the ratio sqrt(sigma^2 + s0^2) / sigma) at the strongest edges around the face, per edge
orientation, fitted by a 2x2 Gaussian covariance so motion blur stays directional. Close edges
read blurrier than they are, so a low quantile of the edges is taken. The mask is blurred by what
the photo has beyond the renderer's own softness, premultiplied colour and alpha together.
Noise: two high-pass measures, per channel, over the quietest 8x8 blocks of the face's bare skin
(sampled in tiles): Immerkaer's checkerboard filter (white noise alone) and the Laplacian (noise
and fine texture). Together they are explained as white noise plus grain (white noise blurred by
1 px: film grain, demosaicing, resizing, denoising, and the fine texture a fabric shares with the
skin next to it, up to a cap); the white noise keeps the channels' correlation, the grain is one
field for all channels. The same noise (seeded) is added to the mask's colour, less the 8-bit
quantisation the output adds back.
JPEG: a JPEG input's own quantisation tables and chroma subsampling; the mask's colour goes
through the same compression, on the photo's 8x8 grid.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, JpegImagePlugin

from render3d.colourspace import LUMINANCE
from render3d.face.fitting import FittedFace
from render3d.geometry import Window, unpremultiply
from render3d.io.image_in import LoadedImage, open_image
from render3d.realism.light import skin_triangles
from render3d.tolerances import COVARIANCE_JITTER, RATIO_FLOOR

# Squares analysed about a face, at full resolution: (size relative to its box, (min, max) side in px).
BLUR_SQUARE = (1.5, (128, 384))
NOISE_SQUARE = (2.5, (128, 4096))
REBLUR = 1.0                   # s0 of the gradient-ratio method
EDGE_FRACTION = 0.03           # strongest gradients used as edges
MIN_EDGES = 20
EDGE_QUANTILE = 0.3            # isolated edges read truest: close ones read blurrier
RENDER_BLUR = 0.8              # what the estimator reads on the renderer's antialiased edges (px)
MAX_BLUR = 8.0
ANISOTROPY = 0.6               # share of the fitted directional blur kept
ISOTROPIC = 1.3                # blurs whose variance differs less across directions are drawn isotropic
MIN_BLUR, MIN_NOISE = 0.3, 0.25  # below these (px, 0-255 sigma) nothing shows: skipped
MAX_GRAIN = 3.0                # grain sigma (0-255) beyond the white noise's
BLOCK = 8                      # noise is measured per block of this side,
TILE, TILES = 32, 8            # in up to TILES x TILES tiles of this side
NOISE_QUANTILE = 0.25          # share of the blocks taken as quiet
MIN_BLOCKS = 16
QUANTISATION_VARIANCE = 1.0 / 12.0
GRAIN_SIGMAS = (0.0, 1.0)              # noise components: white, and white blurred by 1 px (grain)
GRAIN_SIGMA = GRAIN_SIGMAS[1]
HIGH_PASS = (np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32) / 6,     # Immerkaer
             np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float32))            # Laplacian
# IJG base luminance table (JPEG standard, Annex K), in natural order.
IJG_LUMINANCE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], float)
SUBSAMPLING_NAMES = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}


@dataclass(frozen=True)
class Jpeg:
    """A JPEG input's quantisation, to compress the mask the same way."""
    qtables: tuple               # PIL quantisation tables of the input
    subsampling: int             # PIL code: 0 4:4:4, 1 4:2:2, 2 4:2:0
    quality: int                 # nearest IJG quality of the luminance table

    def as_json(self) -> dict:
        """The quality and subsampling, for the JSON output."""
        return {"quality": self.quality, "subsampling": SUBSAMPLING_NAMES.get(self.subsampling, "other")}


@dataclass(frozen=True)
class CameraModel:
    """The photo's camera near one face: blur covariance, noise and the JPEG's settings."""
    blur: np.ndarray             # (2, 2) Gaussian covariance (px^2) the photo has near the face
    noise: np.ndarray            # (2, 3) sigma (0-255) per noise component (GRAIN_SIGMAS) and channel
    correlation: np.ndarray      # (3, 3) between the channels' noise
    jpeg: Jpeg | None

    @property
    def extra_blur(self) -> np.ndarray:
        """Covariance to add to the rendered mask: the photo's, less the renderer's own."""
        values, vectors = np.linalg.eigh(self.blur)
        return (vectors * np.maximum(values - RENDER_BLUR ** 2, 0.0)) @ vectors.T

    @property
    def margin(self) -> int:
        """Pixels the extra blur spreads the mask by."""
        return int(np.ceil(3 * np.sqrt(np.linalg.eigvalsh(self.extra_blur).max())))

    def as_json(self) -> dict:
        """The blur, noise and JPEG estimates, rounded, for the JSON output."""
        values, vectors = np.linalg.eigh(self.blur)
        angle = float(np.degrees(np.arctan2(vectors[1, 1], vectors[0, 1]))) % 180
        return {"blur_sigma": np.round(np.sqrt(np.maximum(values[::-1], 0)), 3).tolist(),
                "blur_angle": round(angle, 1),
                "noise_sigma": {name: np.round(sigma, 3).tolist()
                                for name, sigma in zip(("white", "grain"), self.noise)},
                "jpeg": self.jpeg.as_json() if self.jpeg else None}


def jpeg_settings(image: LoadedImage) -> Jpeg | None:
    """The quantisation of a JPEG input (None for other inputs)."""
    if image.format != "jpeg" or image.path is None:
        return None
    with open_image(image.path) as im:
        tables = getattr(im, "quantization", None)
        if not tables:
            return None
        subsampling = JpegImagePlugin.get_sampling(im) if im.mode != "L" else 0
        luminance = np.array(tables[min(tables)], float)
    # IJG scaling: table = (base * s + 50) // 100 with s = 5000 / q below 50, 200 - 2q above.
    qualities = np.arange(1, 101)
    scales = np.where(qualities < 50, 5000 // qualities, 200 - 2 * qualities)
    candidates = np.clip((IJG_LUMINANCE[None] * scales[:, None] + 50) // 100, 1, 255)
    quality = int(qualities[np.abs(candidates - luminance[None]).sum(1).argmin()])
    return Jpeg(tuple(tuple(tables[k]) for k in sorted(tables)), max(subsampling, 0), quality)


def face_square(fitted: FittedFace, shape: tuple[int, int], scale: float,
                sides: tuple[int, int]) -> Window:
    """A square about the face's centre, `scale` times its box, its side clipped to `sides`, in the image."""
    x0, y0, x1, y1 = fitted.bbox
    half = float(np.clip(max(x1 - x0, y1 - y0) * scale, *sides)) / 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    h, w = shape
    return Window.from_corners(max(0, int(cx - half)), max(0, int(cy - half)),
                               min(w, int(cx + half) + 1), min(h, int(cy + half) + 1))


def estimate_blur(gray: np.ndarray, noise_sigma: float) -> np.ndarray:
    """(2, 2) blur covariance from the gradient ratio at the strongest edges, by orientation."""
    gx, gy = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    magnitude = np.hypot(gx, gy)
    reblurred = cv2.GaussianBlur(gray, (0, 0), REBLUR)
    magnitude_2 = np.hypot(cv2.Sobel(reblurred, cv2.CV_32F, 1, 0, ksize=3),
                           cv2.Sobel(reblurred, cv2.CV_32F, 0, 1, ksize=3))
    threshold = max(float(np.quantile(magnitude, 1 - EDGE_FRACTION)), 16 * noise_sigma, 8.0)
    edges = magnitude >= threshold
    if edges.sum() < MIN_EDGES:
        return np.eye(2) * RENDER_BLUR ** 2
    ratio = magnitude[edges] / np.maximum(magnitude_2[edges], RATIO_FLOOR)
    variance = np.clip(REBLUR ** 2 / np.maximum(ratio ** 2 - 1, RATIO_FLOOR), 0, MAX_BLUR ** 2)
    # Edge normals: sigma^2 along normal u is u^T C u; fit C over four orientation bins.
    angle = np.arctan2(gy[edges], gx[edges]) % np.pi
    bins = np.round(angle / (np.pi / 4)).astype(int) % 4
    rows, targets = [], []
    for b in range(4):
        chosen = bins == b
        if chosen.sum() >= MIN_EDGES // 4:
            theta = b * np.pi / 4
            rows.append([np.cos(theta) ** 2, 2 * np.cos(theta) * np.sin(theta), np.sin(theta) ** 2])
            targets.append(float(np.quantile(variance[chosen], EDGE_QUANTILE)))
    if len(rows) < 3:
        return np.eye(2) * float(np.quantile(variance, EDGE_QUANTILE))
    cxx, cxy, cyy = np.linalg.lstsq(np.array(rows), np.array(targets), rcond=None)[0]
    # Keep the quantile's size; take part of the fitted anisotropy (few edges per orientation are noisy).
    fitted = np.array([[cxx, cxy], [cxy, cyy]])
    size = np.quantile(variance, EDGE_QUANTILE)
    covariance = size * np.eye(2) + ANISOTROPY * (fitted - np.trace(fitted) / 2 * np.eye(2))
    values, vectors = np.linalg.eigh(covariance)
    return (vectors * np.clip(values, 0, MAX_BLUR ** 2)) @ vectors.T


def gaussian(image: np.ndarray, sigma: float) -> np.ndarray:
    """An image blurred by an isotropic Gaussian of `sigma` px (0: unchanged)."""
    return image if sigma == 0 else cv2.GaussianBlur(image, (0, 0), sigma)


def tile_corners(shape: tuple[int, int]) -> list[tuple[int, int]]:
    """Top-left corners of at most TILES x TILES tiles (TILE + 2 square) spread evenly over an image."""
    rows, columns = (np.unique(np.linspace(0, max(side - TILE - 2, 0), TILES).astype(int)) for side in shape)
    return [(int(y), int(x)) for y in rows for x in columns]


def block_origins(shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) first row and column of each BLOCK square of the tiles inside an image of `shape`, tile
    by tile (each tile's 1-pixel border left out), and (N, 2) the row and column of the BLOCK cell
    that holds its centre."""
    corners = np.array([c for c in tile_corners(shape) if c[0] + TILE + 2 <= shape[0] and c[1] + TILE + 2 <= shape[1]],
                       int).reshape(-1, 1, 2)
    steps = np.arange(TILE // BLOCK) * BLOCK + 1
    offsets = np.stack(np.meshgrid(steps, steps, indexing="ij"), axis=-1).reshape(1, -1, 2)
    origins = (corners + offsets).reshape(-1, 2)
    return origins, (origins + BLOCK // 2) // BLOCK


def high_pass_blocks(image: np.ndarray, chosen: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(measures, N, BLOCK * BLOCK, 3) high-pass responses in BLOCK squares of tiles over an (H, W, 3)
    image, and the squares' (N, 2) row and column in BLOCK units; only the squares whose cell is set in
    `chosen` (a grid of BLOCK cells) when it is given. Squares holding a clipped pixel (which carries
    no noise) are left out."""
    origins, cells = block_origins(image.shape[:2])
    if chosen is not None:
        keep = chosen[cells[:, 0], cells[:, 1]]
        origins, cells = origins[keep], cells[keep]
    # Each square with its 1-pixel border, gathered; the filters see only the square's own pixels.
    span = np.arange(-1, BLOCK + 1)
    patches = image[origins[:, :1, None] + span[:, None], origins[:, 1:, None] + span[None]]
    inner = patches[:, 1:-1, 1:-1]
    usable = ((inner > 2) & (inner < 253)).all(axis=(1, 2, 3))
    patches, cells = patches[usable].astype(np.float32), cells[usable]
    if not len(patches):
        return np.zeros((len(HIGH_PASS), 0, BLOCK * BLOCK, 3), np.float32), cells
    column = patches.reshape(-1, BLOCK + 2, 3)         # one filter call over the squares stacked
    measures = [cv2.filter2D(column, cv2.CV_32F, kernel).reshape(patches.shape)[:, 1:-1, 1:-1]
                .reshape(-1, BLOCK * BLOCK, 3) for kernel in HIGH_PASS]
    return np.stack(measures), cells


def quiet_blocks(responses: np.ndarray) -> np.ndarray:
    """Which blocks are quiet: the NOISE_QUANTILE of lowest luminance Laplacian energy (texture and
    edges raise some blocks; noise raises them all)."""
    energy = ((responses[-1] @ LUMINANCE.astype(np.float32)) ** 2).mean(axis=1)
    return energy <= np.quantile(energy, NOISE_QUANTILE)


def noise_floor(responses: np.ndarray) -> np.ndarray:
    """(measures, channels) standard deviation of each high-pass filter over the quiet blocks."""
    return np.sqrt((responses[:, quiet_blocks(responses)] ** 2).mean(axis=(1, 2)))


@lru_cache(maxsize=1)
def unit_responses() -> np.ndarray:
    """(measures, components) noise floor of unit-variance noise of each component."""
    white = np.random.default_rng(0).standard_normal((TILE * TILES, TILE * TILES, 3)).astype(np.float32)
    columns = []
    for sigma in GRAIN_SIGMAS:
        component = gaussian(white, sigma)
        columns.append(noise_floor(high_pass_blocks(128 + 10 * component / component.std())[0]).mean(1) / 10)
    return np.stack(columns, axis=1)


def nonnegative_least_squares(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, k) x >= 0 minimising |a x - b| for each column of b (m, k), a (m, n) with few columns: the
    best over the supports of the least-squares fits restricted to them that come out non-negative
    (the optimum is the unconstrained fit on its own support)."""
    n = a.shape[1]
    best, best_residual = np.zeros((n, b.shape[1])), (b ** 2).sum(0)
    for support in range(1, 2 ** n):
        columns = [j for j in range(n) if support >> j & 1]
        x = np.zeros_like(best)
        x[columns] = np.linalg.lstsq(a[:, columns], b, rcond=None)[0]
        residual = ((a @ x - b) ** 2).sum(0)
        better = (x >= 0).all(0) & (residual < best_residual)
        best[:, better], best_residual[better] = x[:, better], residual[better]
    return best


def estimate_noise(image: np.ndarray, skin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(components, channels) noise sigma and the channels' correlation, from the quieter blocks of the
    face's bare skin (`skin`, per BLOCK square), or of the whole image when little skin shows."""
    responses = high_pass_blocks(image, skin)[0]
    if responses.shape[1] < MIN_BLOCKS:
        responses = high_pass_blocks(image)[0]
    if responses.shape[1] < MIN_BLOCKS:
        return np.zeros((len(GRAIN_SIGMAS), 3)), np.eye(3)
    unit = unit_responses() ** 2
    # The output's own rounding is white noise of variance 1/12: leave it out of the target.
    target = np.maximum(noise_floor(responses) ** 2 - unit[:, :1] * QUANTISATION_VARIANCE, 0.0)
    variances = nonnegative_least_squares(unit, target)
    quiet = responses[0, quiet_blocks(responses)].reshape(-1, 3)
    correlation = np.nan_to_num(np.corrcoef(quiet.T)) if np.all(quiet.std(0) > RATIO_FLOOR) else np.eye(3)
    # Grain is texture more than sensor noise: one luminance level for all channels, and no more than
    # a fabric would share with the skin (wrinkles and pores stay the skin's own).
    variances[1] = min(float(LUMINANCE @ variances[1]), max(MAX_GRAIN ** 2, float(LUMINANCE @ variances[0])))
    return np.sqrt(variances), correlation


def skin_cells(fitted: FittedFace, window: Window) -> np.ndarray:
    """Which BLOCK squares of the window lie on the face's bare skin."""
    cells = np.zeros((window.height // BLOCK + 1, window.width // BLOCK + 1), np.uint8)
    corners = (fitted.landmarks[skin_triangles()][:, :, :2] - [window.x, window.y]) / BLOCK - 0.5
    cv2.fillPoly(cells, list(np.round(corners * 16).astype(np.int32)), 1, lineType=cv2.LINE_8, shift=4)
    return cells.astype(bool)


def estimate(rgb: np.ndarray, fitted: FittedFace, jpeg: Jpeg | None) -> CameraModel:
    # Noise from tiles over the face (and its surroundings, when little skin shows).
    """The camera near one face of an (H, W, 3) uint8 photo: blur from the face's surroundings, noise from
    its bare skin, and the input's JPEG settings."""
    square = face_square(fitted, rgb.shape[:2], *NOISE_SQUARE)
    noise, correlation = estimate_noise(rgb[square.slices], skin_cells(fitted, square))
    crop = rgb[face_square(fitted, rgb.shape[:2], *BLUR_SQUARE).slices].astype(np.float32)
    if min(crop.shape[:2]) < 8:
        return CameraModel(np.eye(2) * RENDER_BLUR ** 2, noise, correlation, jpeg)
    gray = crop @ LUMINANCE.astype(np.float32)
    noise_sigma = float(np.sqrt((noise ** 2).sum(0).mean()))     # edges must stand above it
    return CameraModel(estimate_blur(gray, noise_sigma), noise, correlation, jpeg)


def gaussian_kernel(covariance: np.ndarray) -> np.ndarray:
    """A normalised (k, k) float32 kernel of the (2, 2) covariance (px^2), radius 3 sigma."""
    radius = max(1, int(np.ceil(3 * np.sqrt(np.linalg.eigvalsh(covariance).max()))))
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    x, y = np.meshgrid(offsets, offsets)
    (a, b), (_, c) = covariance + COVARIANCE_JITTER * np.eye(2)
    kernel = np.exp(-0.5 * (c * x * x - 2 * b * x * y + a * y * y) / (a * c - b * b))
    return (kernel / kernel.sum()).astype(np.float32)


def blur(rgba: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """Blur a straight-alpha RGBA float window: premultiplied colour and alpha together."""
    values = np.linalg.eigvalsh(covariance)
    if values.max() < MIN_BLUR ** 2:
        return rgba
    premultiplied = np.concatenate([rgba[..., :3] * rgba[..., 3:], rgba[..., 3:]], axis=2)
    if values.max() < ISOTROPIC * values.min():             # separable, much faster
        premultiplied = cv2.GaussianBlur(premultiplied, (0, 0), float(np.sqrt(values.mean())),
                                         borderType=cv2.BORDER_CONSTANT)
    else:
        premultiplied = cv2.filter2D(premultiplied, -1, gaussian_kernel(covariance),
                                     borderType=cv2.BORDER_CONSTANT)
    return unpremultiply(premultiplied)


def noise_field(shape: tuple[int, int], sigma: np.ndarray, correlation: np.ndarray | None,
                rng: np.random.Generator) -> np.ndarray:
    """(h, w, 3) Gaussian noise with per-channel sigma and channel correlation (None: one field for all)."""
    if correlation is None:
        return rng.standard_normal((*shape, 1), np.float32) * sigma.astype(np.float32)
    values, vectors = np.linalg.eigh(correlation)
    root = (vectors * np.sqrt(np.maximum(values, 0.0))) @ vectors.T
    return rng.standard_normal((*shape, 3), np.float32) @ (root * sigma[None]).T.astype(np.float32)


def add_noise(rgba: np.ndarray, model: CameraModel, rng: np.random.Generator,
              grayscale: bool) -> np.ndarray:
    """Add the photo's noise (0-255 units) to the colour where the mask is, in place; alpha is untouched.

    Grain is mostly texture and demosaiced noise: one field for all channels, so it does not mottle;
    a grayscale photo gets one field for everything. The field covers the whole window, so a pixel's
    noise does not change with what hides other pixels (hair over a loop, a hand)."""
    if not rgba[..., 3].any():
        return rgba
    shape = rgba.shape[:2]
    noise = np.zeros((*shape, 3), np.float32)
    white, grain = model.noise
    if white.max() > MIN_NOISE:
        noise += noise_field(shape, np.full(3, white[1]) if grayscale else white,
                             None if grayscale else model.correlation, rng)
    if grain.max() > MIN_NOISE:
        # Unit white noise blurred by s has standard deviation 1 / (2 sqrt(pi) s).
        field = cv2.GaussianBlur(rng.standard_normal(shape, np.float32), (0, 0), GRAIN_SIGMA)
        noise += field[..., None] * (grain * 2 * np.sqrt(np.pi) * GRAIN_SIGMA).astype(np.float32)
    noise *= np.float32(1 / 255) * (rgba[..., 3:] > 0)
    rgba[..., :3] = np.clip(rgba[..., :3] + noise, 0, 1)
    return rgba


def jpeg_roundtrip(layer: np.ndarray, origin: tuple[int, int], jpeg: Jpeg, grayscale: bool) -> np.ndarray:
    """Compress the layer's colour as the photo was, on its block grid, in place; alpha is kept. The whole
    layer is compressed, so a pixel's blocks do not change with what hides other pixels."""
    if not layer[..., 3].any():
        return layer
    # The layer, grown to the photo's 16-pixel grid (the largest JPEG block).
    x0, y0 = origin
    pad_y, pad_x = y0 % 16, x0 % 16
    covered = layer[..., 3] > 0
    # Beyond the coverage: the mask's mean colour, so that blocks across its edge ring little.
    colour = cv2.convertScaleAbs(layer[..., :3], alpha=255)
    colour[~covered] = cv2.mean(colour, covered.view(np.uint8))[:3]
    padded = cv2.copyMakeBorder(colour, pad_y, 0, pad_x, 0, cv2.BORDER_REPLICATE)
    buffer = io.BytesIO()
    tables = [list(t) for t in jpeg.qtables][:1 if grayscale else None]
    Image.fromarray(padded[..., 1] if grayscale else padded).save(buffer, "JPEG", qtables=tables,
                                                                  subsampling=jpeg.subsampling)
    with open_image(buffer) as im:
        decoded = np.asarray(im.convert("RGB"))[pad_y:, pad_x:]
    layer[..., :3] = decoded * (covered[..., None] / np.float32(255))
    return layer
