"""Bake the per-mesh data of the mask library: `assets/meshes/NAME.baked.npz` beside every part mesh.

Each holds the mesh's geometry and, for every wearing style of every mask that uses it, which
vertices sit over the face and their ambient occlusion (see `render3d.mask.library`).
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from render3d.kinds import WEAR_STYLES
from render3d.mask.library import bake, baked_file, read_mesh
from render3d.mask.wear import Drop, body_drop


def library_drops(meshes_dir: Path) -> dict[Path, list[Drop]]:
    """Every part mesh the masks in `meshes_dir` name, with the wear drops it is worn with, sorted."""
    drops: dict[Path, set[Drop]] = {}
    for spec_path in sorted(meshes_dir.glob("*.json")):
        meshes = [(meshes_dir / part["mesh"]).resolve() for part in json.loads(spec_path.read_text())["parts"]]
        body = read_mesh(meshes[0])[0].vertices
        for mesh in meshes:
            drops.setdefault(mesh, set()).update(body_drop(body, wear) for wear in WEAR_STYLES)
    return {mesh: sorted(found) for mesh, found in sorted(drops.items())}


def baked_bytes(mesh: Path, drops: list[Drop]) -> bytes:
    """The baked file of one mesh, as written (deterministic: the zip entries carry no time)."""
    out = io.BytesIO()
    np.savez_compressed(out, **bake(mesh, drops))
    return out.getvalue()


def build(meshes_dir: Path) -> list[Path]:
    """Write the baked file of every library part mesh; returns their paths."""
    written = []
    for mesh, drops in library_drops(meshes_dir).items():
        baked_file(mesh).write_bytes(baked_bytes(mesh, drops))
        written.append(baked_file(mesh))
    return written
