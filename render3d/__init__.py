"""render3d: fit textured 3D face masks onto photos.

    import render3d
    result = render3d.fit("photo.jpg", mask="surgical", seed=0)
    result.composite, result.layer, result.segmentation, result.metadata
"""
from __future__ import annotations

from render3d.errors import InputError, MaskError, NoFaceError, OutputError, Render3DError
from render3d.pipeline import Engine, FitOptions, FitResult

__version__ = "0.1.0"
__all__ = ["fit", "Engine", "FitOptions", "FitResult", "Render3DError", "InputError", "NoFaceError",
           "OutputError", "MaskError", "default_engine"]

_ENGINE: Engine | None = None


def default_engine() -> Engine:
    """The process-wide engine: one GL context and landmark model, created on first use."""
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = Engine()
    return _ENGINE


def fit(image, mask: str = "surgical", seed: int = 0, **options) -> FitResult:
    """Mask every face in `image` (a path or an HxW[x3|x4] array) without touching the disk."""
    return default_engine().fit(image, FitOptions(mask=mask, seed=seed, **options))
