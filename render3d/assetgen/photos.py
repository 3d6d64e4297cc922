"""The bundled sample photo: the public-domain NASA astronaut portrait (Eileen Collins), as scikit-image
ships it, stored losslessly so that `render3d.samples.astronaut()` is the same array."""
from __future__ import annotations

from pathlib import Path

from PIL import Image


def build(photos_dir: Path) -> Path:
    """Write the bundled sample photo into `photos_dir`; returns its path."""
    import skimage.data

    path = photos_dir / "astronaut.png"
    Image.fromarray(skimage.data.astronaut()).save(path, "PNG", optimize=True)
    return path
