"""Decode a photo (file or array) into an 8-bit RGB array, with one-line errors for bad input."""
from __future__ import annotations

import io
import struct
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Union

import numpy as np
from PIL import Image, ImageOps

from render3d.errors import InputError

DEFAULT_MAX_PIXELS = 100_000_000

# What PIL raises on truncated or corrupt data once decoding has started.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error,
                  ZeroDivisionError)

# PIL's format names that are a variant of a format listed in LoadedImage.format.
_FORMAT_ALIASES = {"mpo": "jpeg"}

Source = Union[str, Path, np.ndarray]


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image.

    rgb: HxWx3 uint8, C-contiguous, EXIF orientation applied, alpha dropped (not composited).
    format: container format detected from the file content ('jpeg', 'png', 'webp', 'bmp',
        'tiff', 'gif', ...) or 'array' for numpy input.
    path: the file read, or None for numpy input.
    original_mode: PIL mode of the file ('RGB', 'L', 'CMYK', 'I;16', 'P', 'RGBA', ...),
        or dtype and layout for numpy input (e.g. 'uint16 HxWx3').
    """

    rgb: np.ndarray
    format: str
    path: Path | None
    original_mode: str


def load_image(source: Source, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Load `source` (a path or a decoded array) as RGB uint8; raise InputError on bad input.

    Images with more than `max_pixels` pixels are refused from their header, before decoding.
    """
    if isinstance(source, np.ndarray):
        return _load_array(source, max_pixels)
    return _load_file(Path(source), max_pixels)


def _load_array(array: np.ndarray, max_pixels: int) -> LoadedImage:
    if array.ndim == 3 and array.shape[2] in (1, 3, 4):
        layout = f"HxWx{array.shape[2]}"
    elif array.ndim == 2:
        layout = "HxW"
    else:
        raise InputError(f"input array must be HxW, HxWx3 or HxWx4, got shape {array.shape}")
    if array.size == 0:
        raise InputError(f"input array is empty (shape {array.shape})")
    if not array.dtype.isnative:                    # big-endian '>u2' and the like
        array = array.astype(array.dtype.newbyteorder("="))
    _check_pixels("input array", array.shape[1], array.shape[0], max_pixels)
    return LoadedImage(_to_rgb8(array, "input array"), "array", None, f"{array.dtype.name} {layout}")


def _load_file(path: Path, max_pixels: int) -> LoadedImage:
    if not path.exists():
        raise InputError(f"input file not found: {path}")
    if path.is_dir():
        raise InputError(f"input is a directory, not an image: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"input file is empty (0 bytes): {path}")
    with _pil_size_limit_off():
        try:
            im = Image.open(path)
        except Image.UnidentifiedImageError:
            raise InputError(f"not a recognised image file: {path}") from None
        except OSError as exc:
            raise InputError(f"cannot read {path}: {_one_line(exc)}") from None
        with im:
            _check_pixels(str(path), im.width, im.height, max_pixels)
            fmt = (im.format or "unknown").lower()
            mode = im.mode
            try:
                im.load()  # full decode: truncated or corrupt data fails here, not later
                rgb = _pil_to_rgb8(ImageOps.exif_transpose(im), str(path))
            except _DECODE_ERRORS as exc:
                raise InputError(f"truncated or corrupt image {path}: {_one_line(exc)}") from None
    fmt = _FORMAT_ALIASES.get(fmt, fmt)
    if fmt == "jpeg" and jpeg_ends_early(path.read_bytes()):
        raise InputError(f"truncated or corrupt image {path}: its image data ends before the last pixel")
    return LoadedImage(rgb, fmt, path, mode)


@contextmanager
def open_image(source: Path | io.BytesIO) -> Iterator[Image.Image]:
    """PIL's Image.open for a file already loaded (its header again: quantisation tables) or for
    bytes the engine encoded, under the same pixel limit as every decode: the max_pixels that
    load_image checked, not PIL's own."""
    with _pil_size_limit_off(), Image.open(source) as im:
        yield im


# Bytes inserted where a JPEG's last scan ends: image data, to a decoder that still needs some.
_FILLER = np.random.default_rng(0).integers(0, 0xFF, 4096, dtype=np.uint8).tobytes()    # no 0xFF: no marker
_PROBE_SCALE = 8


def jpeg_ends_early(data: bytes) -> bool:
    """Whether a JPEG's entropy-coded data ends before its last block (cut short, then an end marker).

    libjpeg only warns there and fills the missing blocks with grey, which PIL accepts. The data is
    decoded again (at 1/8 scale, cheaply) with filler bytes before the marker that ends the last scan:
    a complete image never reads them (the pixels are the same), a short one decodes them.
    """
    end = _last_scan_end(data)
    if end is None:
        return False
    decoded = []
    for probe in (data, data[:end] + _FILLER + data[end:]):
        with open_image(io.BytesIO(probe)) as im:
            im.draft(None, (max(1, im.width // _PROBE_SCALE), max(1, im.height // _PROBE_SCALE)))
            try:
                decoded.append(np.asarray(im))
            except _DECODE_ERRORS:
                return True
    return not np.array_equal(*decoded)


def _last_scan_end(data: bytes) -> int | None:
    """Offset of the end marker (EOI) that closes a JPEG's last scan, or None where the stream has none."""
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:                          # fill byte
            i += 1
            continue
        if marker == 0xD9:                          # EOI with no scan before it
            return None
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            i += 2
            continue
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
        if marker != 0xDA:                          # not a start of scan: a segment to skip
            continue
        while True:                                 # entropy-coded data up to the next marker
            i = data.find(b"\xff", i)
            if i < 0 or i + 1 >= n:
                return None
            following = data[i + 1]
            if following == 0x00 or 0xD0 <= following <= 0xD7:
                i += 2
            elif following == 0xFF:
                i += 1
            else:
                break
        if following == 0xD9:
            return i
    return None


def _pil_to_rgb8(im: Image.Image, name: str) -> np.ndarray:
    # 16/32-bit integer and float modes go through numpy: PIL's convert() clips them to 0..255.
    if im.mode.startswith("I;16"):
        return _to_rgb8(np.asarray(im).astype(np.uint16), name)
    if im.mode == "I":
        return _to_rgb8(np.clip(np.asarray(im), 0, 65535).astype(np.uint16), name)
    if im.mode == "F":
        return _to_rgb8(np.asarray(im), name)
    # Everything else (1, L, LA, P, PA, RGBA, CMYK, YCbCr, 16-bit RGB PNG read as RGB, ...).
    return np.array(im.convert("RGB"), order="C")  # a writable copy, unlike np.asarray


def _to_rgb8(array: np.ndarray, name: str) -> np.ndarray:
    """uint8 as is, uint16 scaled by 255/65535, float taken as 0..1 and clipped; gray -> RGB, alpha dropped."""
    if array.dtype == np.uint8:
        out = array
    elif array.dtype == np.uint16:
        out = ((array.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all():
            raise InputError(f"{name} contains NaN or infinite values")
        out = np.rint(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    else:
        raise InputError(f"{name} has unsupported dtype {array.dtype}; use uint8, uint16 or float in [0, 1]")
    if out.ndim == 2:
        out = out[:, :, None]
    if out.shape[2] == 1:
        out = np.repeat(out, 3, axis=2)
    return np.array(out[:, :, :3], order="C")  # always a copy: never aliases the caller's array


def _check_pixels(name: str, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise InputError(f"{name} is {width}x{height} = {width * height:,} pixels, above the limit of "
                         f"{max_pixels:,}; raise it with --max-pixels if the input is trusted")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# PIL's own decompression-bomb limit is switched off while decoding (the check above replaces it).
# The flag is process-wide, so concurrent loads share one switch and the last one out restores it.
_limit_lock = threading.Lock()
_limit_users = 0
_saved_limit: int | None = None


@contextmanager
def _pil_size_limit_off() -> Iterator[None]:
    global _limit_users, _saved_limit
    with _limit_lock:
        if _limit_users == 0:
            _saved_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        _limit_users += 1
    try:
        yield
    finally:
        with _limit_lock:
            _limit_users -= 1
            if _limit_users == 0:
                Image.MAX_IMAGE_PIXELS = _saved_limit
