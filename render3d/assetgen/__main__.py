"""Rebuild every shipped asset: `python -m render3d.assetgen [--out DIR]`.

Builds the canonical face first (it needs MediaPipe), then the mask library around it, and
prints the masks' validation report. Assets go to `assets/` unless --out names another root
(its `meshes/`, `textures/`, `photos/` and `patterns/` folders are created).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from render3d._paths import ASSETS_DIR, MESHES_DIR, TEXTURES_DIR
from render3d.assetgen import baked, canonical, detail, masks, patterns, photos


def main() -> None:
    """Rebuild the assets under --out (default: the shipped assets/) and print the masks' report."""
    parser = argparse.ArgumentParser(prog="python -m render3d.assetgen", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="asset root to write instead of the shipped assets/")
    args = parser.parse_args()
    meshes_dir, textures_dir = (MESHES_DIR, TEXTURES_DIR) if args.out is None else (
        args.out / "meshes", args.out / "textures")
    root = ASSETS_DIR if args.out is None else args.out
    photos_dir, patterns_dir = root / "photos", root / "patterns"
    for folder in (meshes_dir, textures_dir, photos_dir, patterns_dir):
        folder.mkdir(parents=True, exist_ok=True)
    print(f"sample photo: {photos.build(photos_dir)}")
    print(f"canonical face: {canonical.build(meshes_dir)}")
    reports = masks.build_all(meshes_dir, textures_dir)
    print(masks.format_report(reports))
    print(f"fabric detail: {detail.build(textures_dir / detail.DETAIL_TEXTURE.name)}")
    print(f"baked: {len(baked.build(meshes_dir))} part meshes")
    print(f"patterns: {len(patterns.build(patterns_dir))} tiles")


if __name__ == "__main__":
    main()
