"""The bundled pattern library: `assets/patterns/NAME.png` and its index `assets/patterns/patterns.json`.

Each pattern is one seamless square tile of ink layers: the PNG's red, green and blue channels are the
coverage (0-255) of inks 1, 2 and 3, painted in that order over the ground. A print takes its colours
from a colourway (ground, ink 1, ink 2, ink 3), so one tile gives many fabrics; the index lists each
pattern's kind, the physical size of its tile and the colourways it comes in (see
`render3d.mask.patterns`). Every tile comes from a fixed seed: rebuilding gives identical files.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from render3d.assetgen.textures import noise

TILE_PX = 512
SUBPIXEL = 16                    # cv2 draws with 4 fractional bits

# Colourways, sRGB: ground, ink 1, ink 2, ink 3, by the kind of print they go with.
COLOURWAYS = {kind: [tuple(colours) for colours in ways]
              for kind, ways in json.loads(Path(__file__).with_name("colourways.json").read_text()).items()}
PRINTS, TARTANS, DENIMS, KNITS, HEATHERS, CAMOS, ANIMALS = (
    COLOURWAYS[kind] for kind in ("prints", "tartans", "denims", "knits", "heathers", "camos", "animals"))
CHECKS = [("#F7F7F4", c, c, c) for c in ("#C0392B", "#1F4E8C", "#151515", "#2E7D32", "#E58FA6", "#E6A817")]


# --------------------------------------------------------------------------------------------
# Drawing on a seamless tile


def centres() -> tuple[np.ndarray, np.ndarray]:
    """x and y (pixels) of every pixel centre of the tile."""
    return np.meshgrid(np.arange(TILE_PX) + 0.5, np.arange(TILE_PX) + 0.5)


def layers(count: int = 3) -> list[np.ndarray]:
    """Empty uint8 ink layers of the tile."""
    return [np.zeros((TILE_PX, TILE_PX), np.uint8) for _ in range(count)]


def wrapped(draw: Callable[[float, float], None], x: float, y: float) -> None:
    """Call draw(x, y) at the point and at its eight copies one tile away, so shapes wrap across the edges."""
    for dx in (-TILE_PX, 0, TILE_PX):
        for dy in (-TILE_PX, 0, TILE_PX):
            draw(x + dx, y + dy)


def ellipse(layer: np.ndarray, x: float, y: float, radii: tuple[float, float], angle: float,
            thickness: int = -1, arc: tuple[float, float] = (0.0, 360.0)) -> None:
    """A filled (or outlined, `thickness` px) anti-aliased ellipse or arc on a layer, wrapped; angles in degrees."""
    def draw(cx: float, cy: float) -> None:
        cv2.ellipse(layer, (int(round(cx * SUBPIXEL)), int(round(cy * SUBPIXEL))),
                    (max(int(radii[0] * SUBPIXEL), 1), max(int(radii[1] * SUBPIXEL), 1)), angle, arc[0], arc[1],
                    255, thickness, cv2.LINE_AA, 4)
    wrapped(draw, x, y)


def polygon(layer: np.ndarray, points: np.ndarray) -> None:
    """A filled anti-aliased polygon of (N, 2) pixel points on a layer, wrapped."""
    def draw(dx: float, dy: float) -> None:
        moved = np.round((points + [dx, dy]) * SUBPIXEL).astype(np.int32)
        cv2.fillPoly(layer, [moved], 255, cv2.LINE_AA, 4)
    wrapped(draw, 0.0, 0.0)


def jittered(rng: np.random.Generator, per_side: int, jitter: float) -> np.ndarray:
    """(per_side**2, 2) points on a staggered grid across the tile, each moved up to `jitter` of a cell."""
    step = TILE_PX / per_side
    points = [((col + 0.5 * (row % 2)) * step, row * step) for row in range(per_side) for col in range(per_side)]
    return np.array(points) + rng.uniform(-jitter, jitter, (len(points), 2)) * step


def star(x: float, y: float, radius: float, turn: float, spikes: int = 5, inner: float = 0.45) -> np.ndarray:
    """(2 spikes, 2) pixel points of a star."""
    angle = turn + np.pi * np.arange(2 * spikes) / spikes
    r = np.where(np.arange(2 * spikes) % 2 == 0, radius, inner * radius)
    return np.column_stack([x + r * np.sin(angle), y - r * np.cos(angle)])


def stack(*inks: np.ndarray) -> np.ndarray:
    """(TILE, TILE, 3) float coverage of up to three inks (missing ones empty)."""
    planes = [ink.astype(np.float64) / 255 if ink.dtype == np.uint8 else np.clip(ink, 0, 1) for ink in inks]
    planes += [np.zeros((TILE_PX, TILE_PX))] * (3 - len(planes))
    return np.stack(planes, -1)


# --------------------------------------------------------------------------------------------
# The patterns: each (seed) -> (TILE, TILE, 3) coverage of inks 1-3


def floral_ditsy(rng: np.random.Generator) -> np.ndarray:
    """Small scattered five-petal flowers (ink 1) with centres (ink 2) and paired leaves (ink 3)."""
    petals, hearts, leaves = layers()
    for x, y in jittered(rng, 7, 0.2):
        r, turn = rng.uniform(9, 13), rng.uniform(0, 360)
        for angle in turn + np.array([140.0, 210.0]):
            a = np.radians(angle)
            ellipse(leaves, x + 1.6 * r * np.cos(a), y + 1.6 * r * np.sin(a), (r, 0.42 * r), angle)
        for angle in turn + 72.0 * np.arange(5):
            a = np.radians(angle)
            ellipse(petals, x + 0.75 * r * np.cos(a), y + 0.75 * r * np.sin(a), (0.75 * r, 0.45 * r), angle)
        ellipse(hearts, x, y, (0.33 * r, 0.33 * r), 0.0)
    return stack(petals, hearts, leaves)


def floral_bloom(rng: np.random.Generator) -> np.ndarray:
    """Large open blooms: outer petals (ink 1), inner petals (ink 2), long leaves and buds (ink 3)."""
    outer, inner, leaves = layers()
    for x, y in jittered(rng, 3, 0.15):
        r, turn = rng.uniform(38, 50), rng.uniform(0, 360)
        for angle in turn + np.array([30.0, 150.0, 260.0]):
            a = np.radians(angle)
            ellipse(leaves, x + 1.35 * r * np.cos(a), y + 1.35 * r * np.sin(a), (0.8 * r, 0.28 * r), angle)
        for angle in turn + 45.0 * np.arange(8):
            a = np.radians(angle)
            ellipse(outer, x + 0.62 * r * np.cos(a), y + 0.62 * r * np.sin(a), (0.5 * r, 0.3 * r), angle)
        for angle in turn + 22.5 + 60.0 * np.arange(6):
            a = np.radians(angle)
            ellipse(inner, x + 0.3 * r * np.cos(a), y + 0.3 * r * np.sin(a), (0.32 * r, 0.2 * r), angle)
        ellipse(leaves, x, y, (0.12 * r, 0.12 * r), 0.0)
    for x, y in jittered(rng, 4, 0.4):
        ellipse(leaves, x + 0.5 * TILE_PX / 4, y + 0.5 * TILE_PX / 4, (7, 5), rng.uniform(0, 180))
    return stack(outer, inner, leaves)


def woven(sett: list[tuple[int, int]], thread_px: int, float_over: int = 2) -> np.ndarray:
    """A twill of identical warp and weft setts ((ink 0-3, threads) stripes across the tile, repeated to fill
    it): each crossing shows the warp or the weft colour along diagonal floats of `float_over` threads."""
    threads = np.concatenate([np.full(count, ink) for ink, count in sett])
    x, y = (c.astype(int) // thread_px for c in centres())
    colour_x, colour_y = threads[x % len(threads)], threads[y % len(threads)]
    warp_up = (x + y) % (2 * float_over) < float_over
    shown = np.where(warp_up, colour_x, colour_y)
    return np.stack([(shown == k).astype(float) for k in (1, 2, 3)], -1)


def tartan(rng: np.random.Generator) -> np.ndarray:
    """A tartan sett: broad ground and ink 1 bands, ink 2 bars and ink 3 overchecks (2/2 twill)."""
    return woven([(0, 24), (1, 16), (2, 6), (1, 16), (0, 24), (3, 2), (0, 6), (3, 2),
                  (0, 24), (2, 12), (0, 4)], 4)


def buffalo_check(rng: np.random.Generator) -> np.ndarray:
    """Buffalo check: equal blocks of ground and ink 1 (2/2 twill)."""
    return woven([(0, 16), (1, 16)], 4)


def houndstooth(rng: np.random.Generator) -> np.ndarray:
    """Houndstooth: four ground and four ink 1 threads each way in a 2/2 twill (teeth of about 5 mm on its tile)."""
    return woven([(1, 4), (0, 4)], 4)


def gingham(rng: np.random.Generator) -> np.ndarray:
    """Gingham: ink 1 bands across and down at half coverage, solid where they cross."""
    x, y = centres()
    across, down = (x / TILE_PX * 4) % 1 < 0.5, (y / TILE_PX * 4) % 1 < 0.5
    return stack(0.5 * (across ^ down) + 1.0 * (across & down))


def stripes(rng: np.random.Generator) -> np.ndarray:
    """Breton stripes: even bands of ink 1."""
    _, y = centres()
    return stack(((y / TILE_PX * 6) % 1 < 0.38).astype(float))


def stripes_multi(rng: np.random.Generator) -> np.ndarray:
    """Club stripes: a broad ink 1 band, a narrow ink 2 band and an ink 3 pinstripe per repeat."""
    _, y = centres()
    phase = (y / TILE_PX * 3) % 1
    return stack(((phase > 0.05) & (phase < 0.4)).astype(float), ((phase > 0.52) & (phase < 0.64)).astype(float),
                 ((phase > 0.76) & (phase < 0.79)).astype(float))


def polka_dots(rng: np.random.Generator) -> np.ndarray:
    """Polka dots of ink 1 on a staggered grid."""
    dots, = layers(1)
    for x, y in jittered(rng, 8, 0.0):
        ellipse(dots, x, y, (11, 11), 0.0)
    return stack(dots)


def stars(rng: np.random.Generator) -> np.ndarray:
    """Scattered five-point stars: large ones in ink 1, small ones in ink 2."""
    large, small = layers(2)
    for x, y in jittered(rng, 5, 0.25):
        polygon(large, star(x, y, rng.uniform(16, 22), rng.uniform(0, 2 * np.pi)))
    for x, y in jittered(rng, 7, 0.45):
        polygon(small, star(x + 20, y + 25, rng.uniform(5, 8), rng.uniform(0, 2 * np.pi)))
    return stack(large, small)


def paisley(rng: np.random.Generator) -> np.ndarray:
    """Bandana paisley: teardrops (ink 1) with an inner teardrop (ink 2) and dot rings and seeds (ink 3)."""
    drops, cores, seeds = layers()

    def teardrop(layer: np.ndarray, x: float, y: float, r: float, turn: float) -> None:
        # a round head (three quarters of a circle) drawn out into a tail that curls to one side
        arc = np.radians(np.linspace(20, 290, 40))
        head = np.column_stack([np.cos(arc), np.sin(arc)])
        s = np.linspace(0, 1, 16)[:, None]
        tip = np.array([1.7, -1.6])
        out = (1 - s) ** 2 * head[-1] + 2 * s * (1 - s) * [0.9, -1.7] + s ** 2 * tip
        back = (1 - s) ** 2 * tip + 2 * s * (1 - s) * [1.8, -0.3] + s ** 2 * head[0]
        outline = r * np.vstack([head, out[1:], back[1:-1]])
        c, s_ = np.cos(turn), np.sin(turn)
        polygon(layer, np.column_stack([x + c * outline[:, 0] - s_ * outline[:, 1],
                                        y + s_ * outline[:, 0] + c * outline[:, 1]]))

    for x, y in jittered(rng, 3, 0.1):
        r, turn = rng.uniform(26, 32), rng.uniform(0, 2 * np.pi)
        teardrop(drops, x, y, r, turn)
        teardrop(cores, x, y, 0.6 * r, turn)
        for a in np.linspace(0, 2 * np.pi, 14, endpoint=False):
            ellipse(seeds, x + 1.3 * r * np.cos(a), y + 1.3 * r * np.sin(a), (3, 3), 0.0)
        ellipse(seeds, x, y, (0.22 * r, 0.22 * r), 0.0)
    for x, y in jittered(rng, 9, 0.45):
        ellipse(seeds, x, y, (2.5, 2.5), 0.0)
    return stack(drops, cores, seeds)


def triangles(rng: np.random.Generator) -> np.ndarray:
    """A grid of triangles, each left as ground or printed in ink 1, 2 or 3 at random."""
    inks = layers()
    rows = 8
    step = TILE_PX / rows
    for row in range(rows):
        top, bottom = row * step, (row + 1) * step
        for col in range(2 * rows):
            x0 = (col // 2) * step + (row % 2) * step / 2
            points = (np.array([[x0, bottom], [x0 + step / 2, top], [x0 + step, bottom]]) if col % 2 == 0 else
                      np.array([[x0 + step / 2, top], [x0 + step, bottom], [x0 + 1.5 * step, top]]))
            ink = rng.integers(4)
            if ink:
                polygon(inks[ink - 1], points)
    return stack(*inks)


def chevron(rng: np.random.Generator) -> np.ndarray:
    """Zigzag chevron bands in inks 1 and 2."""
    x, y = centres()
    zig = np.abs(((x / TILE_PX * 6) % 1) - 0.5) * TILE_PX / 6
    phase = ((y + zig) / TILE_PX * 4) % 1
    return stack((phase < 0.28).astype(float), ((phase > 0.5) & (phase < 0.62)).astype(float))


def denim(rng: np.random.Generator) -> np.ndarray:
    """3/1 denim twill: white weft (ink 1) peeping through the indigo warp, slub streaks (ink 2) along the warp."""
    x, y = centres()
    weft = ((x.astype(int) // 3 + y.astype(int) // 3) % 4 == 0).astype(float)
    slub = np.clip(noise((TILE_PX, TILE_PX), (40, 1.2), seed=501) - 0.9, 0, 1)
    wear = np.clip(noise((TILE_PX, TILE_PX), 30, seed=502) - 1.2, 0, 1)
    return stack(0.55 * weft, 0.8 * slub, 0.35 * wear)


def knit(rng: np.random.Generator) -> np.ndarray:
    """Jersey knit: columns of V-shaped loops, the gaps between them in a darker yarn (ink 1)."""
    x, y = centres()
    wale, course = x / 8.0, y / (TILE_PX / 86)          # pairs of courses repeat 43 times down the tile
    loops = np.abs(np.sin(np.pi * (wale + 0.5 * np.abs((course % 2) - 1))))
    return stack(0.75 * (1 - loops) ** 2, 0.25 * np.clip(noise((TILE_PX, TILE_PX), (1.0, 6.0), seed=511), 0, 1))


def heather(rng: np.random.Generator) -> np.ndarray:
    """Heather melange: light (ink 1) and dark (ink 2) fibres streaked through the mid-tone yarn."""
    light = noise((TILE_PX, TILE_PX), (0.8, 5.0), seed=521)
    dark = noise((TILE_PX, TILE_PX), (0.8, 5.0), seed=522)
    return stack(np.clip((light - 0.9) * 1.4, 0, 1), np.clip((dark - 1.0) * 1.4, 0, 1))


def camo_woodland(rng: np.random.Generator) -> np.ndarray:
    """Woodland camouflage: three layers of organic blotches."""
    inks = []
    for k in range(3):
        blob = noise((TILE_PX, TILE_PX), (22, 32), seed=530 + k) + 0.3 * noise((TILE_PX, TILE_PX), 5, seed=540 + k)
        inks.append(np.clip((blob - 0.5) * 6, 0, 1))
    return stack(*inks)


def camo_digital(rng: np.random.Generator) -> np.ndarray:
    """Digital camouflage: blotches quantised to square pixels."""
    cells = TILE_PX // 8
    inks = []
    for k in range(3):
        blob = noise((cells, cells), (2.2, 3.0), seed=550 + k) + 0.4 * noise((cells, cells), 0.7, seed=560 + k)
        inks.append(np.kron((blob > 0.45).astype(float), np.ones((8, 8))))
    return stack(*inks)


def batik(rng: np.random.Generator) -> np.ndarray:
    """Batik: ringed medallions (ink 1) and dots (ink 3) over a fine wax crackle (ink 2)."""
    rings, dots = layers(2)
    for x, y in jittered(rng, 4, 0.05):
        for radius, width in ((34, 5), (22, 3), (10, -1)):
            ellipse(rings, x, y, (radius, radius), 0.0, width)
        for a in np.linspace(0, 2 * np.pi, 10, endpoint=False):
            ellipse(dots, x + 46 * np.cos(a), y + 46 * np.sin(a), (4, 4), 0.0)
    crackle = np.clip(1 - np.abs(noise((TILE_PX, TILE_PX), 7, seed=571)) / 0.08, 0, 1)
    return stack(rings, 0.8 * crackle, dots)


def leopard(rng: np.random.Generator) -> np.ndarray:
    """Leopard rosettes: broken dark rings (ink 1) round tan centres (ink 2), and small dark spots."""
    rims, hearts = layers(2)
    for x, y in jittered(rng, 6, 0.3):
        rx, ry, turn = rng.uniform(14, 20), rng.uniform(10, 15), rng.uniform(0, 180)
        ellipse(hearts, x, y, (0.8 * rx, 0.8 * ry), turn)
        start = rng.uniform(0, 360)
        for k in range(rng.integers(2, 4)):
            begin = start + k * 125 + rng.uniform(-10, 10)
            ellipse(rims, x, y, (rx, ry), turn, 5, (begin, begin + rng.uniform(60, 95)))
    for x, y in jittered(rng, 9, 0.45):
        ellipse(rims, x + 12, y + 15, (rng.uniform(3, 5), rng.uniform(2, 4)), rng.uniform(0, 180))
    return stack(rims, hearts)


# name: (generator, kind, tile size in cm, colourways)
PATTERNS: dict[str, tuple[Callable[[np.random.Generator], np.ndarray], str, float, list]] = {
    "floral_ditsy": (floral_ditsy, "floral", 6.0, PRINTS),
    "floral_bloom": (floral_bloom, "floral", 12.0, PRINTS),
    "tartan": (tartan, "plaid", 9.0, TARTANS),
    "buffalo_check": (buffalo_check, "plaid", 6.0, TARTANS),
    "houndstooth": (houndstooth, "plaid", 8.0, TARTANS + CHECKS[:3]),
    "gingham": (gingham, "gingham", 5.0, CHECKS),
    "stripes": (stripes, "stripes", 6.0, PRINTS),
    "stripes_multi": (stripes_multi, "stripes", 9.0, PRINTS),
    "polka_dots": (polka_dots, "dots", 6.0, PRINTS),
    "stars": (stars, "stars", 7.0, PRINTS),
    "paisley": (paisley, "paisley", 9.0, PRINTS),
    "triangles": (triangles, "geometric", 8.0, PRINTS),
    "chevron": (chevron, "geometric", 9.0, PRINTS),
    "denim": (denim, "denim", 3.0, DENIMS),
    "knit": (knit, "knit", 3.0, KNITS),
    "heather": (heather, "heather", 4.0, HEATHERS),
    "camo_woodland": (camo_woodland, "camo", 24.0, CAMOS),
    "camo_digital": (camo_digital, "camo", 16.0, CAMOS),
    "batik": (batik, "batik", 9.0, PRINTS),
    "leopard": (leopard, "animal", 9.0, ANIMALS),
}


def tile(name: str) -> np.ndarray:
    """Pattern `name`'s (TILE, TILE, 3) uint8 ink coverage, from its own fixed seed."""
    generator = PATTERNS[name][0]
    seed = sum(name.encode()) + 7 * len(name)
    return np.round(generator(np.random.default_rng(seed)) * 255).clip(0, 255).astype(np.uint8)


def build(patterns_dir: Path) -> list[Path]:
    """Write every pattern tile and the index into `patterns_dir`; returns the tiles' paths."""
    patterns_dir.mkdir(parents=True, exist_ok=True)
    index, written = {}, []
    for name, (_, kind, tile_cm, colourways) in PATTERNS.items():
        path = patterns_dir / f"{name}.png"
        Image.fromarray(tile(name)).save(path, format="PNG")
        written.append(path)
        index[name] = {"file": path.name, "kind": kind, "tile_cm": tile_cm,
                       "colourways": [list(colours) for colours in colourways]}
    (patterns_dir / "patterns.json").write_text(json.dumps(index, indent=1) + "\n")
    return written
