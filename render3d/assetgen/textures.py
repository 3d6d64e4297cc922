"""Procedural textures for the mask library: albedos (sRGB) and tangent-space normal maps.

Body textures cover the whole mask (u across, v down from the upper edge), so seams, hems and
pleat lines are drawn where the geometry in `recipes.py` puts them; the layout constants below
are shared with it. Every texture comes from a fixed seed: rebuilding gives identical PNGs.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Callable

import cv2
import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

BODY_SIZE = (1024, 512)                 # width, height of body textures
BODY_CM = (20.0, 14.0)                  # the physical span a body texture covers, roughly
GAITER_CM = (30.0, 20.0)
STRAP_SIZE = (512, 64)
VALVE_SIZE = (512, 256)                 # valve housing and vent plate

# Surgical mask layout (fractions of u and v).
SURGICAL_PLEATS = (0.32, 0.49, 0.66)    # fold lines, each with its pleat rising above it
SURGICAL_PLEAT_DEPTH = 0.13
PLEAT_SHADOW = 0.2                      # the albedo's darkening in the crevice under each fold (the rest is the relief's)
PLEAT_SHADOW_V = 0.022                  # how far down it fades (share of v: about 3 mm)
PLEAT_STEP_CM = 0.1                     # the pleats' relief in the normal map: a lit face and a shadowed drop
SURGICAL_HEM = (0.055, 0.05)            # side and top/bottom hem widths
NOSE_WIRE = (0.3, 0.7)                  # u span of the nose wire along the upper hem
N95_CLIP = (0.37, 0.63, 0.025, 0.075)   # the nose clip's box: u0, u1, v0, v1
FFP2_PANELS = (0.34, 0.66)              # v of the welded seams between the three panels
SPORT_GRILLE = (0.5, 0.5, 0.15, 0.12)   # vent plate ellipse: centre u, v and radii


# --------------------------------------------------------------------------------------------
# Building blocks


def grid(size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """u and v (0..1, v down) at every pixel centre of a (width, height) image."""
    w, h = size
    return np.meshgrid((np.arange(w) + 0.5) / w, (np.arange(h) + 0.5) / h)


def noise(size: tuple[int, int], sigma: float | tuple[float, float], seed: int) -> np.ndarray:
    """Smooth, tileable noise with zero mean and unit deviation; sigma in pixels (rows, cols)."""
    field = gaussian_filter(np.random.default_rng(seed).standard_normal(size[::-1]), sigma, mode="wrap")
    return (field - field.mean()) / field.std()


@lru_cache(maxsize=16)
def fibres(size: tuple[int, int], count: int, length: tuple[float, float], seed: int,
           direction: float | None = None) -> np.ndarray:
    """Nonwoven fibre web: short random strokes, zero mean and unit deviation. `direction`
    (radians) aligns them, as in a knit or an elastic cord."""
    rng = np.random.default_rng(seed)
    w, h = size
    canvas = np.zeros((h, w), np.float32)
    start = rng.uniform([0, 0], [w, h], (count, 2))
    angle = rng.uniform(0, np.pi, count) if direction is None else direction + rng.normal(0, 0.15, count)
    span = rng.uniform(*length, count)
    end = start + span[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    weight = rng.uniform(0.3, 1.0, count)
    for (x0, y0), (x1, y1), value in zip(np.round(start * 16).astype(int), np.round(end * 16).astype(int), weight):
        cv2.line(canvas, (int(x0), int(y0)), (int(x1), int(y1)), float(value), 1, cv2.LINE_AA, 4)
    canvas = gaussian_filter(canvas, 0.6, mode="wrap")
    canvas = (canvas - canvas.mean()) / canvas.std()
    canvas.setflags(write=False)
    return canvas


def band(x: np.ndarray, start: float, end: float, soft: float) -> np.ndarray:
    """1 on [start, end], easing to 0 over `soft` outside."""
    return np.clip(np.minimum(x - start, end - x) / soft + 1, 0, 1)


def box(u: np.ndarray, v: np.ndarray, rect: tuple[float, float, float, float],
        soft: float = 0.006) -> np.ndarray:
    """1 inside the (u0, u1, v0, v1) rectangle, easing to 0 over `soft` outside."""
    return band(u, rect[0], rect[1], soft) * band(v, rect[2], rect[3], soft)


def dots(size: tuple[int, int], pitch: tuple[float, float], radius: float, stagger: bool = False) -> np.ndarray:
    """A lattice of soft round dots (weld or print points), 1 at their centres; pitch and
    radius in pixels."""
    w, h = size
    x, y = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    row = np.floor(y / pitch[1])
    if stagger:
        x = x + (row % 2) * pitch[0] / 2
    dx = (x % pitch[0]) - pitch[0] / 2
    dy = (y % pitch[1]) - pitch[1] / 2
    return np.clip(1.5 - np.hypot(dx, dy) / radius, 0, 1) ** 0.7


def hex_rgb(colour: str) -> np.ndarray:
    """'#RRGGBB' -> (3,) floats in 0..1."""
    return np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)]) / 255.0


def albedo(colour: str, shade: np.ndarray) -> np.ndarray:
    """An sRGB uint8 image: a base colour times a per-pixel shade (1 = the base colour)."""
    linear = hex_rgb(colour) ** 2.2
    return to_srgb8(linear[None, None] * shade[..., None])


def to_srgb8(linear: np.ndarray) -> np.ndarray:
    """A linear image in 0..1 -> uint8 through the gamma-2.2 curve the texture shading was designed in."""
    return np.round(np.clip(linear, 0, 1) ** (1 / 2.2) * 255).astype(np.uint8)


def normal_map(height: np.ndarray, span_cm: tuple[float, float]) -> np.ndarray:
    """Tangent-space normal map of a height field in cm spanning (width, height) cm."""
    h, w = height.shape
    d_row, d_col = np.gradient(height)
    slope_u = d_col * w / span_cm[0]
    slope_up = -d_row * h / span_cm[1]          # image rows run down, the y axis up
    n = np.stack([-slope_u, -slope_up, np.ones_like(height)], -1)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    return np.round((n + 1) * 127.5).clip(0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# Surgical masks and loops


def surgical_layout() -> dict[str, np.ndarray]:
    """Masks of the surgical mask's features, matching its geometry."""
    u, v = grid(BODY_SIZE)
    hem_side = np.maximum(band(u, -1, SURGICAL_HEM[0], 0.004), band(u, 1 - SURGICAL_HEM[0], 2, 0.004))
    hem_edge = np.maximum(band(v, -1, SURGICAL_HEM[1], 0.006), band(v, 1 - SURGICAL_HEM[1], 2, 0.006))
    across = np.clip((np.minimum(u, 1 - u) - 0.02) / 0.1, 0, 1)
    below = np.zeros_like(v)        # shadow under each fold
    crease = np.zeros_like(v)
    step = np.zeros_like(v)         # each pleat's face rising toward its fold, then the drop past the fold
    for fold in SURGICAL_PLEATS:
        below += np.exp(-np.clip(v - fold, 0, None) / PLEAT_SHADOW_V) * (v >= fold)
        crease += np.exp(-((v - fold) / 0.0025) ** 2)
        rise = np.clip((v - fold + SURGICAL_PLEAT_DEPTH) / SURGICAL_PLEAT_DEPTH, 0, 1)
        step += rise * np.clip((fold + 0.008 - v) / 0.008, 0, 1)
    wire = band(u, *NOSE_WIRE, 0.01) * band(v, 0.006, 0.032, 0.003)
    return {"u": u, "v": v, "hem_side": hem_side, "hem_edge": hem_edge * (1 - hem_side),
            "across": across, "below": below * across * (1 - hem_side),
            "crease": crease * across * (1 - hem_side), "step": step * across * (1 - hem_side), "wire": wire}


def surgical_albedo(colour: str) -> np.ndarray:
    """The pleated surgical body's (BODY_SIZE) uint8 sRGB albedo in base colour `colour`."""
    layout = surgical_layout()
    web = fibres(BODY_SIZE, 40000, (6, 18), seed=11)
    mottle = noise(BODY_SIZE, 6, seed=12)
    welds = dots(BODY_SIZE, (9, 9), 2.4, stagger=True)
    seam_lines = np.exp(-((layout["v"] - 0.04) / 0.003) ** 2) + np.exp(-((layout["v"] - 0.96) / 0.003) ** 2)
    shade = 1 + 0.035 * web + 0.02 * mottle
    shade *= 1 - PLEAT_SHADOW * layout["below"]
    shade *= 1 - 0.05 * layout["hem_edge"] - 0.12 * seam_lines * (1 - layout["hem_side"])
    shade *= 1 - layout["hem_side"] * (0.06 + 0.14 * welds)
    shade *= 1 - 0.08 * layout["wire"]
    return albedo(colour, shade)


def surgical_normal() -> np.ndarray:
    """The pleated surgical body's (BODY_SIZE) uint8 tangent-space normal map."""
    layout = surgical_layout()
    web = fibres(BODY_SIZE, 40000, (6, 18), seed=11)
    welds = dots(BODY_SIZE, (9, 9), 2.4, stagger=True)
    seam_lines = np.exp(-((layout["v"] - 0.04) / 0.003) ** 2) + np.exp(-((layout["v"] - 0.96) / 0.003) ** 2)
    height = 0.002 * gaussian_filter(web, 2)
    height += PLEAT_STEP_CM * layout["step"]
    height -= 0.02 * layout["crease"]
    height += 0.012 * layout["hem_edge"] - 0.012 * seam_lines
    height -= layout["hem_side"] * 0.012 * welds
    height += 0.02 * gaussian_filter(layout["wire"], 2)
    return normal_map(height, BODY_CM)


def strap_albedo(colour: str) -> np.ndarray:
    """Knitted elastic: fine strands along the strap (u), a few darker channels around it."""
    u, v = grid(STRAP_SIZE)
    strands = fibres(STRAP_SIZE, 3000, (20, 60), seed=21, direction=0.0)
    channels = 0.5 + 0.5 * np.cos(v * 2 * np.pi * 6)
    return albedo(colour, 1 + 0.06 * strands - 0.08 * channels)


def text(image: np.ndarray, label: str, centre: tuple[float, float], height: float,
         colour: tuple[float, ...], thickness: int = 2) -> np.ndarray:
    """Print a label (Hershey font) centred at (u, v) with a cap height in pixels."""
    font = cv2.FONT_HERSHEY_DUPLEX
    scale = height / 22.0
    (w, h), _ = cv2.getTextSize(label, font, scale, thickness)
    x = int(round(centre[0] * image.shape[1] - w / 2))
    y = int(round(centre[1] * image.shape[0] + h / 2))
    cv2.putText(image, label, (x, y), font, scale, colour, thickness, cv2.LINE_AA)
    return image


def border(u: np.ndarray, v: np.ndarray, width_u: float, width_v: float, soft: float = 0.004) -> np.ndarray:
    """1 on a frame of the given widths around the texture's edges."""
    inner = band(u, width_u, 1 - width_u, soft) * band(v, width_v, 1 - width_v, soft)
    return 1 - inner


def weld_pattern(size: tuple[int, int]) -> np.ndarray:
    """The diamond grid of an ultrasonic weld: pressed dots, 1 at their centres."""
    return dots(size, (8, 8), 2.2, stagger=True)


# --------------------------------------------------------------------------------------------
# Respirators: N95 cup, KN95, FFP2 with valve


def n95_layout() -> dict[str, np.ndarray]:
    """Masks of the N95 body's features over its (BODY_SIZE) texture: name -> float image in 0..1."""
    u, v = grid(BODY_SIZE)
    return {"u": u, "v": v, "rim": border(u, v, 0.018, 0.025), "clip": box(u, v, N95_CLIP, 0.004)}


def n95_albedo() -> np.ndarray:
    """The N95 body's (BODY_SIZE) uint8 sRGB albedo."""
    layout = n95_layout()
    web = fibres(BODY_SIZE, 30000, (6, 16), seed=31)
    shade = 1 + 0.03 * web + 0.015 * noise(BODY_SIZE, 10, seed=32)
    shade *= 1 - 0.08 * layout["rim"]
    image = albedo("#ECEAE2", shade)
    clip = layout["clip"][..., None]
    metal = to_srgb8((hex_rgb("#B8BCC2") ** 2.2)[None, None] * (0.9 + 0.15 * layout["v"][..., None] / 0.1))
    image = np.round(image * (1 - clip) + metal * clip).astype(np.uint8)
    return text(image, "N95", (0.74, 0.52), 26, (178, 178, 175))


def n95_normal() -> np.ndarray:
    """The N95 body's (BODY_SIZE) uint8 tangent-space normal map."""
    layout = n95_layout()
    web = fibres(BODY_SIZE, 30000, (6, 16), seed=31)
    height = (0.002 * gaussian_filter(web, 2) + 0.03 * gaussian_filter(layout["rim"], 3)
              + 0.02 * gaussian_filter(layout["clip"], 1.5))
    return normal_map(height, BODY_CM)


def welded_layout(seams_u: tuple[float, ...], seams_v: tuple[float, ...]) -> dict[str, np.ndarray]:
    """Weld bands of a flat-folded respirator: a frame round the edge and seam lines."""
    u, v = grid(BODY_SIZE)
    weld = border(u, v, 0.03, 0.045)
    for seam in seams_u:
        weld = np.maximum(weld, band(u, seam - 0.01, seam + 0.01, 0.003))
    for seam in seams_v:
        weld = np.maximum(weld, band(v, seam - 0.014, seam + 0.014, 0.004))
    return {"u": u, "v": v, "weld": weld, "dots": weld * weld_pattern(BODY_SIZE)}


def respirator_albedo(colour: str, layout: dict[str, np.ndarray],
                      labels: list[tuple[str, float, float]]) -> np.ndarray:
    """A fold-flat respirator body's uint8 sRGB albedo: base `colour`, the `layout`'s features and
    printed `labels` (text, u, v)."""
    web = fibres(BODY_SIZE, 30000, (6, 16), seed=41)
    shade = 1 + 0.03 * web + 0.012 * noise(BODY_SIZE, 8, seed=42)
    shade *= 1 - 0.04 * layout["weld"] - 0.1 * layout["dots"]
    image = albedo(colour, shade)
    for label, u, v in labels:
        text(image, label, (u, v), 22, (188, 188, 186))
    return image


def respirator_normal(layout: dict[str, np.ndarray]) -> np.ndarray:
    """A fold-flat respirator body's uint8 tangent-space normal map from its `layout`."""
    web = fibres(BODY_SIZE, 30000, (6, 16), seed=41)
    height = (0.002 * gaussian_filter(web, 2) - 0.012 * gaussian_filter(layout["weld"], 1.5)
              - 0.015 * layout["dots"])
    return normal_map(height, BODY_CM)



def valve_albedo() -> np.ndarray:
    """Valve housing, u around and v from the base up to the cap's centre: ribbed wall, slotted cap."""
    u, v = grid(VALVE_SIZE)
    slots = (np.cos(u * 2 * np.pi * 12) > 0.55) * band(v, 0.5, 0.78, 0.02)
    ribs = 0.5 + 0.5 * np.cos(u * 2 * np.pi * 48)
    shade = 1 - 0.5 * slots - 0.08 * ribs * band(v, 0.0, 0.3, 0.02) + 0.04 * noise(VALVE_SIZE, 3, seed=51)
    return albedo("#C9CCD0", shade)


def valve_normal() -> np.ndarray:
    """The exhalation valve's (VALVE_SIZE) uint8 tangent-space normal map."""
    u, v = grid(VALVE_SIZE)
    slots = gaussian_filter((np.cos(u * 2 * np.pi * 12) > 0.55) * band(v, 0.5, 0.78, 0.02), 1.0)
    ribs = 0.5 + 0.5 * np.cos(u * 2 * np.pi * 48)
    height = -0.05 * slots + 0.02 * ribs * band(v, 0.0, 0.3, 0.02)
    return normal_map(height, (11.0, 2.0))


# --------------------------------------------------------------------------------------------
# Fabric: contoured cloth, gaiter, sports mask


def weave(size: tuple[int, int], period: float) -> np.ndarray:
    """Plain-weave relief: alternating over-under threads, period in pixels."""
    u, v = grid(size)
    x, y = u * size[0] / period, v * size[1] / period
    warp = np.sin(np.pi * x) ** 2 * np.cos(np.pi * y)
    weft = np.sin(np.pi * y) ** 2 * -np.cos(np.pi * x)
    return warp + weft


def stitches(u: np.ndarray, v: np.ndarray, lines_u: tuple[float, ...], lines_v: tuple[float, ...],
             frame: tuple[float, float] | None, dash: float = 14.0) -> np.ndarray:
    """Dashed topstitching along vertical lines (at u), horizontal lines (at v) and an inset frame."""
    h, w = u.shape
    on_u = np.cos(v * h / dash * 2 * np.pi) > -0.2
    on_v = np.cos(u * w / dash * 2 * np.pi) > -0.2
    thread = np.zeros_like(u)
    for line in lines_u:
        thread = np.maximum(thread, on_u * (np.abs(u - line) * w < 1.6))
    for line in lines_v:
        thread = np.maximum(thread, on_v * (np.abs(v - line) * h < 1.6))
    if frame is not None:
        inset_u, inset_v = frame
        within_u, within_v = (u > inset_u) & (u < 1 - inset_u), (v > inset_v) & (v < 1 - inset_v)
        vertical = (np.minimum(np.abs(u - inset_u), np.abs(u - 1 + inset_u)) * w < 1.6) & within_v
        horizontal = (np.minimum(np.abs(v - inset_v), np.abs(v - 1 + inset_v)) * h < 1.6) & within_u
        thread = np.maximum(thread, (vertical & on_u) | (horizontal & on_v))
    return gaussian_filter(thread.astype(float), 0.5)


def floral_print(size: tuple[int, int], seed: int) -> np.ndarray:
    """Scattered small flowers on navy cotton, as an sRGB image."""
    rng = np.random.default_rng(seed)
    w, h = size
    image = np.zeros((h, w, 3), np.uint8)
    image[:] = np.round(hex_rgb("#2E3F66") * 255).astype(np.uint8)
    rgb = {name: tuple(int(round(c * 255)) for c in hex_rgb(name))
           for name in ("#F3EEE4", "#E7B44C", "#D9828F", "#6E9C74", "#F6D36B")}
    petals, leaf, centre = [rgb["#F3EEE4"], rgb["#E7B44C"], rgb["#D9828F"]], rgb["#6E9C74"], rgb["#F6D36B"]

    def ellipse(x: float, y: float, radii: tuple[float, float], angle: float, colour: tuple[int, ...]) -> None:
        # cv2 draws with 4 fractional bits: coordinates in 1/16 pixel
        cv2.ellipse(image, (int(round(x * 16)), int(round(y * 16))), (int(radii[0] * 16), int(radii[1] * 16)),
                    np.degrees(angle), 0, 360, colour, -1, cv2.LINE_AA, 4)

    step = 46
    for row in range(-1, h // step + 2):
        for col in range(-1, w // step + 2):
            x = (col + 0.5 * (row % 2)) * step + rng.uniform(-10, 10)
            y = row * step * 0.9 + rng.uniform(-8, 8)
            r = rng.uniform(6, 10)
            turn = np.radians(rng.uniform(0, 360))
            colour = petals[rng.integers(len(petals))]
            for angle in turn + np.radians([140, 210]):
                ellipse(x + 1.6 * r * np.cos(angle), y + 1.6 * r * np.sin(angle), (r, 0.45 * r), angle, leaf)
            for angle in turn + np.radians(72) * np.arange(5):
                ellipse(x + 0.75 * r * np.cos(angle), y + 0.75 * r * np.sin(angle), (0.75 * r, 0.45 * r), angle,
                        colour)
            ellipse(x, y, (0.35 * r, 0.35 * r), 0.0, centre)
    return image


def cloth_fabric() -> tuple[np.ndarray, np.ndarray]:
    """The cloth body's (BODY_SIZE) shade of its weave and hem (1 = the print's own colour) and its topstitching."""
    u, v = grid(BODY_SIZE)
    thread = stitches(u, v, (0.49, 0.51), (), (0.015, 0.03))
    return (1 + 0.05 * weave(BODY_SIZE, 4.0)) * (1 - 0.1 * border(u, v, 0.012, 0.022)), thread


def cloth_albedo() -> np.ndarray:
    """The cloth mask body's (BODY_SIZE) uint8 sRGB albedo."""
    image = floral_print(BODY_SIZE, seed=61).astype(float) / 255
    shade, thread = cloth_fabric()
    linear = image ** 2.2 * shade[..., None]
    linear = linear * (1 - thread[..., None]) + (hex_rgb("#D8D2C4") ** 2.2) * thread[..., None]
    return to_srgb8(linear)


def cloth_normal() -> np.ndarray:
    """The cloth mask body's (BODY_SIZE) uint8 tangent-space normal map."""
    u, v = grid(BODY_SIZE)
    thread = stitches(u, v, (0.49, 0.51), (), (0.015, 0.03))
    seam = np.exp(-((u - 0.5) * BODY_SIZE[0] / 3.0) ** 2)
    hem = gaussian_filter(border(u, v, 0.012, 0.022), 2)
    height = 0.003 * weave(BODY_SIZE, 4.0) + 0.01 * thread - 0.02 * seam + 0.015 * hem
    return normal_map(height, BODY_CM)



def gaiter_albedo() -> np.ndarray:
    """Four-colour woodland camouflage on a fine knit."""
    colours = [hex_rgb(c) ** 2.2 for c in ("#7A7B55", "#4F5A36", "#8E7650", "#2F3126")]
    linear = np.broadcast_to(colours[0], BODY_SIZE[::-1] + (3,)).copy()
    for k, colour in enumerate(colours[1:]):
        blob = noise(BODY_SIZE, (14, 22), seed=70 + k) + 0.35 * noise(BODY_SIZE, 4, seed=80 + k)
        mask = np.clip((blob - 0.55) * 6, 0, 1)[..., None]
        linear = linear * (1 - mask) + colour * mask
    return to_srgb8(linear * gaiter_shade()[..., None])


def gaiter_shade() -> np.ndarray:
    """The gaiter's (BODY_SIZE) shade of its knit and hems (1 = the camouflage's own colour)."""
    u, v = grid(BODY_SIZE)
    knit = np.abs(np.sin(np.pi * u * BODY_SIZE[0] / 3.0))
    hem = border(u, v, -1.0, 0.03)
    return (0.92 + 0.1 * knit) * (1 - 0.15 * hem)


def gaiter_normal() -> np.ndarray:
    """The knit gaiter's (BODY_SIZE) uint8 tangent-space normal map."""
    u, v = grid(BODY_SIZE)
    x, y = u * BODY_SIZE[0] / 3.0, v * BODY_SIZE[1] / 4.0
    loops = np.abs(np.sin(np.pi * (x + 0.5 * np.abs(((y % 2) - 1)))))   # knit wales of v-shaped loops
    hem = stitches(u, v, (), (0.03, 0.97), None, dash=8.0)
    return normal_map(0.006 * loops + 0.006 * hem, GAITER_CM)


def sport_layout() -> dict[str, np.ndarray]:
    """Masks of the sports mask's features over its (BODY_SIZE) texture: name -> float image in 0..1."""
    u, v = grid(BODY_SIZE)
    return {"u": u, "v": v, "binding": border(u, v, 0.02, 0.035, 0.003)}


def hexagons(size: tuple[int, int], pitch: float) -> np.ndarray:
    """Honeycomb lines (1 on the lines), pitch in pixels."""
    u, v = grid(size)
    x, y = u * size[0] / pitch, v * size[1] / pitch
    q = x * 2 / 3
    r = -x / 3 + np.sqrt(3) / 3 * y
    cube = np.stack([q, -q - r, r])
    rounded = np.round(cube)
    diff = np.abs(rounded - cube)
    fix = np.argmax(diff, axis=0)
    for k in range(3):
        others = [j for j in range(3) if j != k]
        rounded[k] = np.where(fix == k, -rounded[others[0]] - rounded[others[1]], rounded[k])
    distance = np.max(np.abs(cube - rounded), axis=0)       # 0 at cell centres, 2/3 on the lines
    return np.clip((distance - 0.55) / 0.1, 0, 1)


def sport_fabric() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sports mask body's (BODY_SIZE) shade of its knit cells, of its yarn, and where its binding is."""
    return 1 + 0.12 * hexagons(BODY_SIZE, 18.0), 1 + 0.03 * noise(BODY_SIZE, 2, seed=91), sport_layout()["binding"]


def sport_albedo() -> np.ndarray:
    """The sports mask body's (BODY_SIZE) uint8 sRGB albedo."""
    cells, yarn, binding = sport_fabric()
    base = hex_rgb("#30343A") ** 2.2 * cells[..., None]
    trim = hex_rgb("#E8672A") ** 2.2
    binding = binding[..., None]
    linear = base * (1 - binding) + trim * binding
    return to_srgb8(linear * yarn[..., None])


def sport_normal() -> np.ndarray:
    """The sports mask body's (BODY_SIZE) uint8 tangent-space normal map."""
    layout = sport_layout()
    cells = gaussian_filter(hexagons(BODY_SIZE, 18.0), 0.8)
    height = -0.01 * cells + 0.03 * gaussian_filter(layout["binding"], 2.5)
    return normal_map(height, BODY_CM)


def vent_albedo() -> np.ndarray:
    """Vent plate, seen face on (the plate's ellipse fills the image): slots across a rim."""
    u, v = grid(VALVE_SIZE)
    r = np.hypot(2 * u - 1, 2 * v - 1)
    slots = (np.cos((v - 0.5) * 2 * np.pi * 7) > 0.3) * (r < 0.72) * (np.abs(2 * u - 1) < 0.8)
    shade = 1 - 0.65 * slots + 0.15 * band(r, 0.84, 2.0, 0.03) + 0.03 * noise(VALVE_SIZE, 2, seed=95)
    return albedo("#3F444B", shade)


def vent_normal() -> np.ndarray:
    """The sports mask's vent plate (VALVE_SIZE) uint8 tangent-space normal map."""
    u, v = grid(VALVE_SIZE)
    r = np.hypot(2 * u - 1, 2 * v - 1)
    slots = (np.cos((v - 0.5) * 2 * np.pi * 7) > 0.3) * (r < 0.72) * (np.abs(2 * u - 1) < 0.8)
    rim = gaussian_filter(band(r, 0.84, 2.0, 0.03), 2)
    height = -0.04 * gaussian_filter(slots.astype(float), 1.2) + 0.02 * rim
    return normal_map(height, (6.0, 3.0))


# --------------------------------------------------------------------------------------------
# Print maps: how a print laid over a body shows (see `render3d.mask.patterns`)


def print_map(shade: np.ndarray, cover: np.ndarray) -> np.ndarray:
    """An (H, W, 2) uint8 print map: the shade a print takes (128 = 1) and where the print covers the body
    (255; 0 keeps the body's own albedo, as on a contrasting binding or thread)."""
    return np.stack([np.round(np.clip(shade * 128, 0, 255)), np.round(np.clip(cover, 0, 1) * 255)],
                    -1).astype(np.uint8)


def cloth_print() -> np.ndarray:
    """Prints on the cloth body: its weave and hem shade them, its topstitching stays."""
    shade, thread = cloth_fabric()
    return print_map(shade, 1 - thread)


def sport_print() -> np.ndarray:
    """Prints on the sports body: its knit cells and yarn shade them, its binding stays."""
    cells, yarn, binding = sport_fabric()
    return print_map(cells * yarn, 1 - binding)


# --------------------------------------------------------------------------------------------
# Registry


SURGICAL_COLOURS = {"blue": "#9DCAE3", "white": "#EDEEEA", "green": "#7CC3AE", "black": "#2B2C30",
                    "pink": "#EFA9C4"}
KN95_WHITE = "#F1F1EE"
FFP2_WHITE = "#EEEFEA"

TEXTURES: dict[str, Callable[[], np.ndarray]] = {
    **{f"surgical_{name}_albedo": (lambda c=colour: surgical_albedo(c))
       for name, colour in SURGICAL_COLOURS.items()},
    "surgical_normal": surgical_normal,
    "loop_white_albedo": lambda: strap_albedo("#F3F3EF"),
    "loop_black_albedo": lambda: strap_albedo("#232326"),
    "n95_albedo": n95_albedo,
    "n95_normal": n95_normal,
    "n95_strap_albedo": lambda: strap_albedo("#E4E2DA"),
    "kn95_albedo": lambda: respirator_albedo(KN95_WHITE, welded_layout((0.5,), ()), [("KN95", 0.3, 0.62)]),
    "kn95_normal": lambda: respirator_normal(welded_layout((0.5,), ())),
    "ffp2_albedo": lambda: respirator_albedo(FFP2_WHITE, welded_layout((), FFP2_PANELS),
                                             [("FFP2 NR", 0.3, 0.5)]),
    "ffp2_normal": lambda: respirator_normal(welded_layout((), FFP2_PANELS)),
    "valve_albedo": valve_albedo,
    "valve_normal": valve_normal,
    "cloth_albedo": cloth_albedo,
    "cloth_normal": cloth_normal,
    "gaiter_albedo": gaiter_albedo,
    "gaiter_normal": gaiter_normal,
    "sport_albedo": sport_albedo,
    "sport_normal": sport_normal,
    "sport_strap_albedo": lambda: strap_albedo("#2A2C31"),
    "cloth_print": cloth_print,
    "gaiter_print": lambda: print_map(gaiter_shade(), np.ones(BODY_SIZE[::-1])),
    "sport_print": sport_print,
    "vent_albedo": vent_albedo,
    "vent_normal": vent_normal,
}


def write(name: str, directory: Path) -> Path:
    """Render texture `name` into directory/NAME.png (no timestamps: identical on rebuild)."""
    path = directory / f"{name}.png"
    Image.fromarray(TEXTURES[name]()).save(path, format="PNG")
    return path
