"""Encode result images and write them atomically, with one-line errors when output fails."""
from __future__ import annotations

import contextlib
import io
import os
import re
import uuid
from pathlib import Path

import numpy as np
from PIL import Image

from render3d.errors import OutputError

# Encoder settings; none of them writes metadata, so equal pixels give equal bytes.
# JPEG: quality 95 without chroma subsampling (4:4:4) keeps colour edges of the mask sharp.
_SAVE_OPTIONS = {
    "jpeg": {"quality": 95, "subsampling": 0},
    "png": {"compress_level": 1},      # zlib's fastest: ~2x faster than 6, files ~15% larger
    "webp": {"quality": 95, "lossless": False},
    "bmp": {},
    "tiff": {"compression": "tiff_lzw"},
}
_EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "bmp": "bmp", "tiff": "tiff"}
OUTPUT_EXTENSIONS = tuple(_EXTENSIONS.values())
NAME_MAX = 255                  # bytes in one file name, on every common filesystem
_ALIASES = {"jpg": "jpeg", "tif": "tiff"}


def output_format(fmt: str) -> str:
    """The format an image read as `fmt` is written in: itself when encodable, else 'png' (gif, array, ...)."""
    fmt = _ALIASES.get(fmt.lower(), fmt.lower())
    return fmt if fmt in _SAVE_OPTIONS else "png"


def output_extension(fmt: str) -> str:
    """File extension, without the dot, for output written for input format `fmt` ('jpeg' -> 'jpg')."""
    return _EXTENSIONS[output_format(fmt)]


def encode_image(pixels: np.ndarray, fmt: str) -> bytes:
    """Encode HxW, HxWx3 or HxWx4 uint8 pixels as 'jpeg', 'png', 'webp', 'bmp' or 'tiff' (or HxW uint16 as
    a 16-bit 'png').

    Alpha is kept where the format stores it and dropped for JPEG. Raises ValueError on bad arguments.
    """
    name = _ALIASES.get(fmt.lower(), fmt.lower())
    if name not in _SAVE_OPTIONS:
        raise ValueError(f"unsupported output format {fmt!r}; use one of {', '.join(_SAVE_OPTIONS)}")
    sixteen_bit = pixels.dtype == np.uint16 and pixels.ndim == 2 and name == "png"
    eight_bit = pixels.dtype == np.uint8 and (pixels.ndim == 2 or (pixels.ndim == 3 and pixels.shape[2] in (3, 4)))
    if not (sixteen_bit or eight_bit):
        raise ValueError(f"pixels must be HxW, HxWx3 or HxWx4 uint8, got {pixels.dtype} {pixels.shape}")
    if name == "jpeg" and pixels.ndim == 3:
        pixels = pixels[:, :, :3]
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(pixels)).save(buffer, format=name.upper(), **_SAVE_OPTIONS[name])
    return buffer.getvalue()


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a synced temp file in the same directory, then rename it into place.

    Either the complete file is at `path` afterwards or nothing changed; raises OutputError on failure.
    """
    path = Path(path)
    tmp = path.with_name(_temp_prefix(path.name) + f"{uuid.uuid4().hex[:12]}.tmp")
    created = False
    try:
        # os.open with 0o666 honours the umask, unlike tempfile.mkstemp's fixed 0o600.
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        created = True
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if created:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write {path}: {_reason(exc)}") from None
        raise


def open_nofollow(path: Path, flags: int) -> int:
    """os.open `path` without following a symlink planted in its place; raise OutputError if it fails."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise OutputError(f"cannot open {path}: {_reason(exc)} (symlinks are refused)") from None


def ensure_output_dir(path: Path | str) -> Path:
    """Create directory `path` (and its parents) and check a file can be written in it; raise OutputError if not."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"output path exists and is not a directory: {path}")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output directory {path}: {_reason(exc)}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"output directory is not writable: {path}")
    # os.access answers yes to root whatever the permission bits say, so try a real write too.
    probe = path / f".write-test-{uuid.uuid4().hex[:12]}.tmp"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"output directory is not writable: {path} ({_reason(exc)})") from None
    return path


def check_output_dir(path: Path | str) -> None:
    """Raise OutputError unless `path` is, or can be created as, a writable directory; creates nothing."""
    path = Path(path).absolute()
    existing = next(p for p in (path, *path.parents) if p.exists())
    if existing == path or not existing.is_dir():
        ensure_output_dir(path)              # an existing folder is probed; a file in the way fails
    elif not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"cannot create output directory {path}: {existing} is not writable")


def _reason(exc: OSError) -> str:
    return exc.strerror or " ".join(str(exc).split()) or type(exc).__name__


# The names `atomic_write` and `ensure_output_dir` give their temp files.
_TEMP_NAME = re.compile(r"\.(.+\.|write-test-)[0-9a-f]{12}\.tmp", re.DOTALL)


def _temp_prefix(name: str) -> str:
    """'.NAME.' for the temp files of NAME, NAME cut so that a temp name stays within NAME_MAX bytes."""
    room = NAME_MAX - len(".." + "0" * 12 + ".tmp")
    return "." + os.fsdecode(os.fsencode(name)[:room]) + "."


def remove_stale_temps(folder: Path, names: tuple[str, ...] | None = None) -> None:
    """Delete the temp files that writes killed mid-way (SIGKILL, power loss) left in `folder`:
    all of them, or (`names`) those of these output names only.

    Only call it while no other process writes there (or writes those names).
    """
    if not folder.is_dir():
        return
    prefixes = tuple(_temp_prefix(name) for name in names) if names is not None else None
    for entry in os.scandir(folder):
        if (entry.is_file(follow_symlinks=False) and _TEMP_NAME.fullmatch(entry.name)
                and (prefixes is None or entry.name.startswith(prefixes))):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
