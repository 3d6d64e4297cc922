"""render3d: fit textured 3D face masks onto photos.

    import render3d
    result = render3d.fit("photo.jpg", mask="surgical", seed=0)
    result.composite, result.layer, result.segmentation, result.metadata
"""
from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from render3d.errors import EngineError, InputError, MaskError, NoFaceError, OptionError, OutputError, Render3DError

if TYPE_CHECKING:
    from render3d.pipeline import Engine, FitOptions, FitResult

__version__ = "0.1.0"
__all__ = ["fit", "Engine", "FitOptions", "FitResult", "Render3DError", "InputError", "NoFaceError",
           "OutputError", "MaskError", "EngineError", "OptionError", "default_engine"]

_engines = threading.local()
_inherited: list[Engine] = []       # engines a forked process got from its parent: kept, never torn down


def __getattr__(name: str):
    """`Engine`, `FitOptions` and `FitResult`, loaded on first use: importing the package stays instant."""
    if name in ("Engine", "FitOptions", "FitResult"):
        from render3d import pipeline
        return getattr(pipeline, name)
    raise AttributeError(f"module 'render3d' has no attribute {name!r}")


def default_engine() -> Engine:
    """This thread's engine (one GL context and landmark model), created on its first use in each
    process and thread. In a process forked after its parent used render3d it raises EngineError."""
    engine = getattr(_engines, "engine", None)
    if engine is not None and engine.owner[0] != os.getpid():
        _inherited.append(engine)       # tearing down MediaPipe's inherited state could crash
        engine = None
    if engine is None:
        from render3d.pipeline import Engine
        engine = _engines.engine = Engine()
    return engine


def fit(image, mask: str = "surgical", seed: int = 0, **options) -> FitResult:
    """Mask every face in `image` (a path or an HxW[x3|x4] array) without touching the disk."""
    from render3d.options import FitOptions
    return default_engine().fit(image, FitOptions(mask=mask, seed=seed, **options))
