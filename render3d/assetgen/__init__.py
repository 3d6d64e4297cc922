"""Generators for every shipped asset: `python -m render3d.assetgen` rebuilds them all."""
