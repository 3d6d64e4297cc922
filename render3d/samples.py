"""The bundled sample photo, so the quick start and the mask sheet need no download or extra package."""
from __future__ import annotations

import numpy as np
from PIL import Image

from render3d._paths import ASSETS_DIR

ASTRONAUT = ASSETS_DIR / "photos" / "astronaut.png"


def astronaut() -> np.ndarray:
    """The public-domain NASA astronaut portrait: 512x512x3 uint8 RGB, one frontal face."""
    with Image.open(ASTRONAUT) as image:
        return np.array(image.convert("RGB"))
