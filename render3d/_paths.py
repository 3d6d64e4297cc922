"""Where the shipped assets and shaders live: assets beside the package in a wheel, at the repo root in a
checkout; the GLSL inside the render stage."""
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    installed = _PACKAGE_DIR / name
    return installed if installed.is_dir() else _PACKAGE_DIR.parent / name


ASSETS_DIR = _data_dir("assets")
MESHES_DIR = ASSETS_DIR / "meshes"
TEXTURES_DIR = ASSETS_DIR / "textures"
PATTERNS_DIR = ASSETS_DIR / "patterns"
SHADERS_DIR = _PACKAGE_DIR / "render" / "shaders"
DETAIL_TEXTURE = TEXTURES_DIR / "fabric_detail.png"
