"""The shapes of the library's masks, one function per shape: each builds its parts on the canonical face."""
from __future__ import annotations

import numpy as np

from render3d.assetgen import textures
from render3d.assetgen.face import BUILD_CLEARANCE_CM, Face, head_axis_z
from render3d.assetgen.parts import Part, nearest_node, revolve, sheet_part, vent_plate
from render3d.assetgen.shaping import (
    Cylinder,
    Sheet,
    jaw_lower_edge,
    rows_with_folds,
    seam,
    smoothstep,
    sphere_frame,
    sphere_sheet,
    standard_top,
    stretch,
    under_the_eyes,
    upper_edge,
)
from render3d.assetgen.straps import ear_loops, head_strap, merge, standoff

GAITER_DROP_CM = 10.0          # how far below the chin a gaiter runs, down the neck and over the collar
SURGICAL_CORNER_DROP_CM = 0.45  # the upper corners sit this far lower, so the top edge slopes straight from the nose
# A surgical mask's sides end on the cheeks, in front of the ears, so its loops show: the upper corners
# sit this far forward (cm, and 0.3 cm in), the lower ones this far (radians) inside the jaw's angle.
SURGICAL_CORNER_FORWARD_CM = 2.0
SURGICAL_LOWER_INSET = 0.18


def surgical(face: Face) -> list[Part]:
    """A pleated rectangle pulled over nose and chin: three folds, a nose wire, ear loops. Its sides end
    on the cheeks in front of the ears, its lower corners hang below the jaw line, so the sides stay
    long and the outline boxy, and its pleats run level across the face, closing toward the side hems
    (`stretch(level=1)`)."""
    frame = sphere_frame(face)
    cols = 81
    control, corner = standard_top(face)
    top = upper_edge(face, frame, control, corner + [-0.3, -SURGICAL_CORNER_DROP_CM, SURGICAL_CORNER_FORWARD_CM], cols)
    bottom = jaw_lower_edge(face, frame, cols, 58, (14, 16), inset=SURGICAL_LOWER_INSET, fullness=1.0)
    folds = textures.SURGICAL_PLEATS

    def pleats(sheet: Sheet) -> np.ndarray:
        u, v = sheet.u, sheet.v
        height = np.zeros_like(v)
        for fold in folds:
            rise = smoothstep(fold - textures.SURGICAL_PLEAT_DEPTH, fold, v) ** 1.5
            height += rise * (1 - smoothstep(fold, fold + 0.012, v))
        across = smoothstep(0.02, 0.12, u) * smoothstep(0.02, 0.12, 1 - u)
        across *= 0.55 + 0.45 * np.abs(2 * u - 1) ** 0.7           # pleats open over nose and chin
        wire = smoothstep(0.0, 0.012, v) * (1 - smoothstep(0.022, 0.036, v))
        wire *= smoothstep(textures.NOSE_WIRE[0] - 0.02, textures.NOSE_WIRE[0], u)
        wire *= 1 - smoothstep(textures.NOSE_WIRE[1], textures.NOSE_WIRE[1] + 0.02, u)
        return 0.22 * height * across + 0.06 * wire

    sheet = stretch(face, frame, top, bottom, rows_with_folds(60, folds, 0.006), clearance=0.15,
                    tension=(1.0, 0.8), pull=(0.25, 1.0, 1.0), relief=pleats, level=1.0)
    return [sheet_part(sheet, "body", "surgical_blue_albedo", "surgical_normal", 0.25),
            Part("loops", *ear_loops(face, sheet), "loop_white_albedo", None, 0.2, False)]



def n95(face: Face) -> list[Part]:
    """A moulded cup on a foam rim: nose bridge, cheeks and under the chin; two head straps."""
    lm = face.landmarks
    frame = sphere_frame(face)
    cols, rows = 61, 55
    control = [(0.0, lm[6, 1] - 0.15), (lm[362, 0], lm[362, 1] - 1.1), (lm[374, 0], lm[374, 1] - 1.0),
               (0.95 * lm[263, 0], lm[263, 1] - 1.9)]
    top = upper_edge(face, frame, control, lm[411] + [0.2, 0.5, 0.0], cols)
    bottom = jaw_lower_edge(face, frame, cols, 136, (13, 3), fullness=0.7)

    def clip(sheet: Sheet) -> np.ndarray:          # the metal nose clip stands out on the shell
        u, v = sheet.u, sheet.v
        return 0.05 * textures.box(u, v, textures.N95_CLIP)

    sheet = stretch(face, frame, top, bottom, np.linspace(0, 1, rows), clearance=0.15,
                    pressure=0.2, pull=(0.3, 1.0, 1.0), relief=clip)
    normals = sheet.normals()
    radius = (0.2, 0.06)
    straps = []
    # Upper straps run back above the ears, lower ones below them, ending behind the face.
    for col, temple, jaw, sign in ((0, 127, 58, -1), (cols - 1, 356, 288, 1)):
        for row, end, bow in ((int(rows * 0.22), lm[temple] + [sign * 0.4, -0.5, -1.2], [sign * 0.4, 0.2, 0.0]),
                              (int(rows * 0.72), lm[jaw] + [-sign * 0.6, -1.2, -1.8], [sign * 0.2, -0.2, 0.0])):
            start = sheet.points[row, col] + (standoff(radius) - BUILD_CLEARANCE_CM) * normals[row, col]
            straps.append(head_strap(face, start, end, np.asarray(bow), radius))
    return [sheet_part(sheet, "body", "n95_albedo", "n95_normal", 0.15),
            Part("straps", *merge(straps), "n95_strap_albedo", None, 0.2, False)]


def kn95(face: Face) -> list[Part]:
    """Two flat welded panels folded along a vertical centre seam that stands off the mouth."""
    lm, cols = face.landmarks, 81
    sheet = sphere_sheet(face, cols, np.linspace(0, 1, 55), under_the_eyes(lm, 0.15, (1.05, 0.9, 1.5, 0.7)),
                         lm[454] + [-0.5, -1.2, 2.4], dict(corner_landmark=172, tuck_degrees=(13, 3), fullness=1.5),
                         clearance=0.15, tension=(1.0, 0.2), pull=(0.3, 1.0, 1.0),
                         pins=lambda s: seam(s, cols // 2, 0.14))
    return [sheet_part(sheet, "body", "kn95_albedo", "kn95_normal", 0.15),
            Part("loops", *ear_loops(face, sheet), "loop_white_albedo", None, 0.2, False)]


def ffp2_valve(face: Face) -> list[Part]:
    """A three-panel fold-flat respirator with an exhalation valve on the left cheek."""
    lm = face.landmarks
    frame = sphere_frame(face)
    cols = 71
    control, corner = standard_top(face, drop=0.3)
    top = upper_edge(face, frame, control, corner + [-0.6, -0.3, 1.5], cols)
    bottom = jaw_lower_edge(face, frame, cols, 172, (13, 3), inset=0.16, fullness=1.3)
    panels = textures.FFP2_PANELS

    def welds(sheet: Sheet) -> np.ndarray:           # the panels meet in raised welded seams
        v = sheet.v
        return 0.1 * sum(np.exp(-((v - p) / 0.012) ** 2) for p in panels)

    sheet = stretch(face, frame, top, bottom, rows_with_folds(51, panels, 0.008), clearance=0.15,
                    tension=(1.0, 0.7), pressure=0.12, pull=(0.3, 1.0, 1.0), relief=welds)
    row, col = nearest_node(sheet, (lm[291, 0] - 0.2, lm[291, 1] - 0.7))
    normal = sheet.normals()[row, col]
    profile = np.array([(1.75, -0.35), (1.75, 0.3), (1.7, 0.5), (1.55, 0.68), (1.25, 0.82),
                        (0.8, 0.9), (0.3, 0.94), (0.0, 0.95)])
    valve = revolve(profile, sheet.points[row, col], normal)
    return [sheet_part(sheet, "body", "ffp2_albedo", "ffp2_normal", 0.15),
            Part("valve", *valve, "valve_albedo", "valve_normal", 0.1, False),
            Part("loops", *ear_loops(face, sheet), "loop_white_albedo", None, 0.2, False)]


def cloth(face: Face) -> list[Part]:
    """A contoured two-piece fabric mask: a curved centre seam over nose and chin, narrow sides."""
    lm = face.landmarks
    frame = sphere_frame(face)
    cols, rows = 75, 57
    control = [(0.0, lm[6, 1] - 0.1), (0.8, lm[6, 1] - 0.45), (lm[362, 0], lm[362, 1] - 1.05),
               (lm[374, 0], lm[374, 1] - 1.2), (lm[263, 0], lm[263, 1] - 1.9), (lm[346, 0], lm[346, 1] - 1.1)]
    top = upper_edge(face, frame, control, lm[454] + [-1.0, -2.0, 3.4], cols)
    bottom = jaw_lower_edge(face, frame, cols, 172, (15, 2), inset=0.16, fullness=2.5)
    sheet = stretch(face, frame, top, bottom, np.linspace(0, 1, rows), clearance=0.15,
                    pressure=0.08, pull=(0.35, 1.0, 1.0), pins=lambda s: seam(s, cols // 2, 0.1))
    return [sheet_part(sheet, "body", "cloth_albedo", "cloth_normal", 0.45),
            Part("loops", *ear_loops(face, sheet, 0.15), "loop_black_albedo", None, 0.3, False)]


def gaiter(face: Face) -> list[Part]:
    """A stretch-knit tube pulled up over the nose: wraps past the ears, hugs the neck and runs on down
    over the collar, where it loosens into soft drape folds and flares out a little to a gently uneven hem."""
    lm = face.landmarks
    frame = Cylinder((0.0, head_axis_z(lm)))
    cols, rows = 91, 88
    control, _ = standard_top(face)
    top = upper_edge(face, frame, control, lm[454] + [0.3, -0.9, -1.8], cols)
    u = np.linspace(0, 1, cols)
    hem = 0.35 * np.sin(2 * np.pi * u) + 0.15 * np.sin(2 * np.pi * 2.5 * u + 1.0)   # gently uneven, no jags
    bottom = (top[0] * 0.95, lm[152, 1] - GAITER_DROP_CM + hem)

    def folds(sheet: Sheet) -> np.ndarray:
        u, v = sheet.u, sheet.v
        # soft bunching under the chin
        ripple = 0.5 + 0.5 * np.cos(2 * np.pi * (v - 0.5) / 0.09 + 0.8 * np.sin(2 * np.pi * u * 3))
        bunching = 0.12 * ripple * smoothstep(0.42, 0.55, v) * (1 - smoothstep(0.68, 0.76, v))
        # below the neck the tube hangs loose: long folds down to the hem, spreading over the collar
        drape = 0.5 + 0.5 * np.cos(2 * np.pi * (11 * u + 0.35 * np.sin(2 * np.pi * 2 * u)))
        return bunching + (0.18 * drape + 0.45 * smoothstep(0.8, 1.0, v)) * smoothstep(0.66, 1.0, v)

    def head(origins: np.ndarray, dirs: np.ndarray) -> np.ndarray:   # neck and head behind the ears
        t = smoothstep(lm[58, 1] - 1.0, lm[93, 1], origins[:, 1])
        half_width, half_depth = 5.2 + 1.5 * t, 4.6 + 3.4 * t
        return 1 / np.hypot(dirs[:, 0] / half_width, dirs[:, 2] / half_depth)

    sheet = stretch(face, frame, top, bottom, np.linspace(0, 1, rows), clearance=0.15,
                    tension=(1.0, 1.5), pressure=-0.03, pull=(0.25, 0.4, 1.0), relief=folds, backing=head)
    return [sheet_part(sheet, "body", "gaiter_albedo", "gaiter_normal", 0.5)]


def sport(face: Face) -> list[Part]:
    """A snug knit sports mask with a moulded vent plate over the mouth and flat ear straps."""
    lm = face.landmarks
    sheet = sphere_sheet(face, 75, np.linspace(0, 1, 57), under_the_eyes(lm, 0.2, (1.1, 1.1, 1.8, 0.9)),
                         lm[454] + [-0.5, -1.6, 2.3],
                         dict(corner_landmark=172, tuck_degrees=(12, 2), inset=np.radians(2), fullness=1.6),
                         clearance=0.15, pressure=0.03, pull=(0.35, 1.0, 1.0))
    return [sheet_part(sheet, "body", "sport_albedo", "sport_normal", 0.3),
            Part("vent", *vent_plate(sheet, textures.SPORT_GRILLE), "vent_albedo", "vent_normal", 0.1, False),
            Part("straps", *ear_loops(face, sheet, (0.3, 0.07)), "sport_strap_albedo", None, 0.3, False)]
