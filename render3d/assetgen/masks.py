"""Build the mask library: `assets/meshes/NAME.json`, its part meshes and their textures.

The asset format is documented, and enforced, by the loader, `render3d/mask/library.py`.

Every mask is shaped around the canonical face: a taut sheet resting on the nose bridge and
cheekbones and stretched over the hollows, its lower edge tucked under the chin, never
closer than `BUILD_CLEARANCE_CM` to the skin. The build validates each mask (clearance,
nose-bridge contact, frontal coverage of nose, mouth and chin, clear eyes and brows, overlap
with the lower-face outline) and fails if any check does not hold.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from render3d.assetgen import textures
from render3d.assetgen.checks import check
from render3d.assetgen.face import Face, load_face
from render3d.assetgen.parts import Part
from render3d.assetgen.recipes import cloth, ffp2_valve, gaiter, kn95, n95, sport, surgical


@dataclass(frozen=True)
class Prints:
    """Which bundled prints a mask's seeded draws give it (see `render3d.mask.patterns`)."""
    share: float                            # the share of draws that print the fabric
    kinds: tuple[str, ...]                  # the pattern kinds it comes in
    print_map: str | None = None            # the body's print map; None: its albedo is one plain colour


# Pattern kinds per fabric: printed nonwovens, cotton, knits.
PRINTED = ("floral", "gingham", "plaid", "stripes", "dots", "stars", "paisley", "geometric", "camo", "animal",
           "batik")
COTTON = PRINTED + ("denim", "heather")
KNITTED = ("camo", "heather", "knit", "stripes", "paisley", "geometric", "batik", "plaid", "animal")


@dataclass(frozen=True)
class Entry:
    """A library mask: the shape it is built on, its albedos, base colour, description and prints."""
    shape: Callable[[Face], list[Part]]     # builds the parts; its name prefixes the mesh files
    description: str
    color: str                              # base colour of the recolourable albedo
    albedos: tuple[tuple[str, str], ...] = ()   # (part suffix, albedo) replacing the shape's own
    prints: Prints | None = None            # None: seeded draws never print it
    prevalence: float = 1.0                 # how often `--mask random` draws it without weights, relative
    weave: float = 1.0                      # the shared fabric weave on its recolourable parts (0: a nonwoven)


NONWOVEN = 0.0      # surgical masks and respirators are pressed fibre webs: no threads to show
# As often as each is seen in photos of masked people: blue surgical masks most, pink and green ones seldom.
SURGICAL_PREVALENCE = {"white": 1.0, "black": 1.0, "green": 0.3, "pink": 0.3}
LIBRARY: dict[str, Entry] = {
    "surgical": Entry(surgical, "Blue three-ply pleated surgical mask with a nose wire and white ear loops.",
                      textures.SURGICAL_COLOURS["blue"], prints=Prints(0.05, PRINTED), prevalence=2.0,
                      weave=NONWOVEN),
    **{f"surgical_{name}": Entry(
        surgical, f"{name.capitalize()} pleated surgical mask with a nose wire and ear loops.",
        textures.SURGICAL_COLOURS[name],
        (("body", f"surgical_{name}_albedo"),) + ((("loops", "loop_black_albedo"),) if name == "black" else ()),
        Prints(0.05, PRINTED), SURGICAL_PREVALENCE[name], NONWOVEN)
       for name in ("white", "green", "black", "pink")},
    "n95": Entry(n95, "Moulded white N95 respirator cup with a metal nose clip and two head straps.", "#ECEAE2",
                 prevalence=0.7, weave=NONWOVEN),
    "kn95": Entry(kn95, "White KN95 respirator folded along a vertical centre seam, with ear loops.",
                  textures.KN95_WHITE, prints=Prints(0.05, ("floral", "geometric", "camo", "dots", "stars", "animal")),
                  weave=NONWOVEN),
    "ffp2_valve": Entry(ffp2_valve, "White three-panel FFP2 respirator with an exhalation valve and ear loops.",
                        textures.FFP2_WHITE, prevalence=0.25, weave=NONWOVEN),
    "cloth": Entry(cloth, "Contoured navy cotton mask with a floral print, a centre seam and black ear loops.",
                   "#2E3F66", prints=Prints(0.7, COTTON, "cloth_print"), prevalence=0.8),
    "gaiter": Entry(gaiter, "Camouflage stretch-knit neck gaiter pulled up over the nose and down past the chin.",
                    "#7A7B55", prints=Prints(0.7, KNITTED, "gaiter_print"), prevalence=0.2),
    "sport": Entry(sport, "Charcoal sports mask with orange binding, a moulded vent grille and flat ear straps.",
                   "#30343A", prints=Prints(0.3, ("heather", "knit", "camo", "geometric", "stripes"), "sport_print"),
                   prevalence=0.05),
}


def write_obj(path: Path, part: Part, header: str) -> None:
    """Write a part as an OBJ file (v, vt, vn, f lines, four decimals) with a header comment."""
    def rows(values: np.ndarray) -> list[str]:
        return [" ".join(f"{x:.4f}" for x in row) for row in np.round(values, 4) + 0.0]

    uvs = part.uvs * [1, -1] + [0, 1]          # OBJ texture v runs up from the image's bottom row
    lines = [f"# {line}" for line in header.strip().splitlines()]
    lines += [f"v {row}" for row in rows(part.vertices)]
    lines += [f"vt {row}" for row in rows(uvs)]
    lines += [f"vn {row}" for row in rows(part.normals)]
    lines += [f"f {a}/{a}/{a} {b}/{b}/{b} {c}/{c}/{c}" for a, b, c in part.triangles + 1]
    path.write_text("\n".join(lines) + "\n")



Shapes = dict[str, tuple[list[Part], dict[str, float]]]


def build_mask(name: str, meshes_dir: Path, textures_dir: Path, face: Face,
               shapes: Shapes | None = None) -> dict[str, float]:
    """Build, check and write one mask (its JSON, part meshes and textures) and return its
    report. `shapes` keeps checked geometry for masks sharing a shape."""
    entry = LIBRARY[name]
    shape = entry.shape.__name__
    shapes = {} if shapes is None else shapes
    if shape not in shapes:
        parts = entry.shape(face)
        shapes[shape] = parts, check(face, shape, parts)
    parts, report = shapes[shape]
    albedos = dict(entry.albedos)
    listed = []
    for index, part in enumerate(parts):
        mesh = f"{shape}_{part.suffix}.obj"
        write_obj(meshes_dir / mesh, part,
                  f"render3d mask part {shape} {part.suffix} (generated by render3d/assetgen/masks.py)\n"
                  "canonical face frame: cm, x subject's left, y up, z toward the camera")
        texture_names = [albedos.get(part.suffix, part.albedo)] + ([part.normal_map] if part.normal_map else [])
        paths = [textures.write(t, textures_dir) for t in texture_names]
        relative = [Path(os.path.relpath(p, meshes_dir)).as_posix() for p in paths]
        listed.append({"mesh": mesh, "albedo": relative[0], "normal": relative[1] if part.normal_map else None,
                       "sheen": part.sheen, "recolor": part.recolor})
        if part.recolor and entry.weave != 1.0:
            listed[-1]["weave"] = entry.weave
        if index == 0 and entry.prints is not None and entry.prints.print_map is not None:
            printed = textures.write(entry.prints.print_map, textures_dir)
            listed[-1]["print"] = Path(os.path.relpath(printed, meshes_dir)).as_posix()
    spec = {"name": name, "description": entry.description, "color": entry.color, "parts": listed}
    if entry.prints is not None:
        spec["prints"] = {"share": entry.prints.share, "kinds": list(entry.prints.kinds)}
    if entry.prevalence != 1.0:
        spec["prevalence"] = entry.prevalence
    (meshes_dir / f"{name}.json").write_text(json.dumps(spec, indent=2) + "\n")
    return report


def build_all(meshes_dir: Path, textures_dir: Path) -> dict[str, dict[str, float]]:
    """Build every mask of the library around `meshes_dir/canonical_face.obj`."""
    meshes_dir.mkdir(parents=True, exist_ok=True)
    textures_dir.mkdir(parents=True, exist_ok=True)
    face = load_face(meshes_dir / "canonical_face.obj")
    shapes: Shapes = {}
    return {name: build_mask(name, meshes_dir, textures_dir, face, shapes) for name in LIBRARY}


def format_report(reports: dict[str, dict[str, float]]) -> str:
    """One line per mask: body size, part count, least clearance to the skin (all parts), the
    gap at the nose bridge, and the frontal margins (cover points inside the body, eyes and
    brows outside every part) and IoU with the lower-face outline."""
    lines = [f"{'mask':16} {'body verts':>10} {'tris':>6} {'parts':>5} {'clear cm':>8} {'bridge cm':>9} "
             f"{'cover cm':>8} {'eyes cm':>7} {'IoU':>5}"]
    for name, r in reports.items():
        lines.append(f"{name:16} {r['vertices']:10d} {r['triangles']:6d} {r['parts']:5d} {r['clearance']:8.3f} "
                     f"{r['bridge_gap']:9.3f} {r['cover_margin']:8.2f} {r['clear_margin']:7.2f} {r['iou']:5.3f}")
    return "\n".join(lines)
