"""Image decoding and writing, on variants of the public-domain skimage astronaut photo."""
import io
import json
import os
import re
import struct
import warnings
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

from render3d.errors import InputError, OutputError
from render3d.io.image_in import DEFAULT_MAX_PIXELS, LoadedImage, load_image
from render3d.io.image_out import atomic_write, encode_image, ensure_output_dir, output_extension, output_format
from render3d.io.outputs import metadata_json
from render3d.options import FitOptions


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()  # 512x512x3 uint8


def _mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def _input_error(source, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        load_image(source, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG declaring width x height 1-bit gray pixels whose (never decoded) data is a few bytes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


# --- decoding -------------------------------------------------------------------------------------


def test_rgb_jpeg(tmp_path, astronaut):
    path = tmp_path / "a.jpg"
    Image.fromarray(astronaut).save(path, quality=95)
    img = load_image(str(path))
    assert isinstance(img, LoadedImage)
    assert (img.format, img.path, img.original_mode) == ("jpeg", path, "RGB")
    assert img.rgb.shape == (512, 512, 3) and img.rgb.dtype == np.uint8
    assert img.rgb.flags.c_contiguous and img.rgb.flags.writeable
    assert _mean_abs_diff(img.rgb, astronaut) < 3


def test_cmyk_jpeg(tmp_path, astronaut):
    path = tmp_path / "cmyk.jpg"
    Image.fromarray(astronaut).convert("CMYK").save(path, quality=95)
    img = load_image(path)
    assert (img.format, img.original_mode) == ("jpeg", "CMYK")
    assert _mean_abs_diff(img.rgb, astronaut) < 3  # colours not inverted or shifted


def test_16bit_gray_png_is_scaled_not_clipped(tmp_path, astronaut):
    gray8 = np.asarray(Image.fromarray(astronaut).convert("L"))
    gray16 = gray8.astype(np.uint16) * 257
    gray16[0, :3] = [0, 32768, 65535]
    path = tmp_path / "gray16.png"
    Image.fromarray(gray16).save(path)
    img = load_image(path)
    assert img.original_mode.startswith("I")
    assert img.rgb[0, :3, 0].tolist() == [0, 128, 255]
    assert np.array_equal(img.rgb[1:], np.repeat(gray8[1:, :, None], 3, axis=2))


def test_16bit_rgb_png(tmp_path, astronaut):
    rgb16 = astronaut.astype(np.uint16) * 257
    rgb16[0, 0] = 65535
    path = tmp_path / "rgb16.png"
    assert cv2.imwrite(str(path), rgb16[:, :, ::-1])
    img = load_image(path)
    assert img.format == "png"
    assert img.rgb[0, 0].tolist() == [255, 255, 255]
    assert np.array_equal(img.rgb[1:], astronaut[1:])


@pytest.mark.parametrize("mode", ["L", "1"])
def test_grayscale(tmp_path, astronaut, mode):
    source = Image.fromarray(astronaut).convert(mode)
    path = tmp_path / f"gray-{mode}.png"
    source.save(path)
    img = load_image(path)
    gray = np.asarray(source.convert("L"))
    assert img.original_mode == mode
    assert np.array_equal(img.rgb, np.repeat(gray[:, :, None], 3, axis=2))


@pytest.mark.parametrize("transparency", [None, 0])
def test_palette_png(tmp_path, astronaut, transparency):
    source = Image.fromarray(astronaut).quantize(colors=64)
    path = tmp_path / "palette.png"
    source.save(path, **({} if transparency is None else {"transparency": transparency}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        img = load_image(path)
    assert img.original_mode == "P"
    assert np.array_equal(img.rgb, np.asarray(source.convert("RGB")))


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_dropped(tmp_path, astronaut, mode):
    source = Image.fromarray(astronaut).convert(mode[:-1])
    alpha = np.tile(np.linspace(0, 255, 512).astype(np.uint8), (512, 1))
    source.putalpha(Image.fromarray(alpha))
    path = tmp_path / f"alpha-{mode}.png"
    source.save(path)
    img = load_image(path)
    assert img.original_mode == mode
    assert np.array_equal(img.rgb, np.asarray(source.convert(mode[:-1]).convert("RGB")))


@pytest.mark.parametrize("orientation, turns", [(6, -1), (8, 1)])
def test_exif_orientation_is_applied(tmp_path, astronaut, orientation, turns):
    stored = astronaut[:, :384]  # 512 high, 384 wide
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"rotated-{orientation}.jpg"
    Image.fromarray(stored).save(path, quality=95, exif=exif)
    img = load_image(path)
    expected = np.rot90(stored, turns)  # 6: turn clockwise to display, 8: anticlockwise
    assert img.rgb.shape == (384, 512, 3) and img.rgb.flags.c_contiguous
    assert _mean_abs_diff(img.rgb, expected) < 3


def test_format_comes_from_content_not_extension(tmp_path, astronaut):
    path = tmp_path / "really-webp.jpg"
    Image.fromarray(astronaut).save(path, format="WEBP", quality=90)
    img = load_image(path)
    assert img.format == "webp"
    assert _mean_abs_diff(img.rgb, astronaut) < 4


def test_multi_frame_gif_gives_first_frame(tmp_path, astronaut):
    frames = [Image.fromarray(astronaut[::4, ::4]).quantize(colors=32), Image.new("P", (128, 128), 7)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    img = load_image(path)
    assert img.format == "gif"
    assert np.array_equal(img.rgb, np.asarray(frames[0].convert("RGB")))


def test_arrays(astronaut):
    img = load_image(astronaut)
    assert (img.format, img.path, img.original_mode) == ("array", None, "uint8 HxWx3")
    assert np.array_equal(img.rgb, astronaut) and not np.shares_memory(img.rgb, astronaut)
    assert np.array_equal(load_image(astronaut.astype(np.float32) / 255).rgb, astronaut)
    assert np.array_equal(load_image(astronaut.astype(np.uint16) * 257).rgb, astronaut)
    rgba = load_image(np.dstack([astronaut, np.zeros((512, 512, 1), np.uint8)]))
    assert rgba.original_mode == "uint8 HxWx4" and np.array_equal(rgba.rgb, astronaut)
    gray = load_image(astronaut[::-1, :, 0])  # a negative-stride view
    assert gray.rgb.flags.c_contiguous and np.array_equal(gray.rgb[:, :, 2], astronaut[::-1, :, 0])
    assert np.array_equal(load_image(np.array([[-0.5, 2.0]])).rgb[0, :, 0], [0, 255])


def test_bad_arrays(astronaut):
    assert "shape" in _input_error(astronaut[None])
    assert "dtype int64" in _input_error(astronaut.astype(np.int64))
    assert "NaN" in _input_error(np.full((4, 4), np.nan))
    assert "empty" in _input_error(np.zeros((0, 5, 3), np.uint8))


# --- bad files ------------------------------------------------------------------------------------


def test_truncated_jpeg(tmp_path, astronaut):
    whole = tmp_path / "whole.jpg"
    Image.fromarray(astronaut).save(whole, quality=95)
    path = tmp_path / "half.jpg"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    message = _input_error(path)
    assert "truncated" in message and str(path) in message


def test_corrupt_png(tmp_path, astronaut):
    whole = tmp_path / "whole.png"
    Image.fromarray(astronaut).save(whole)
    raw = bytearray(whole.read_bytes())
    raw[len(raw) // 2: len(raw) // 2 + 64] = bytes(64)  # breaks the IDAT stream and its CRC
    path = tmp_path / "corrupt.png"
    path.write_bytes(bytes(raw))
    assert str(path) in _input_error(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.jpg"
    path.touch()
    message = _input_error(path)
    assert "empty" in message and str(path) in message


def test_text_named_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("not a photo\nsecond line\n")
    message = _input_error(path)
    assert "not a recognised image" in message and str(path) in message


def test_missing_file(tmp_path):
    path = tmp_path / "nope.png"
    message = _input_error(path)
    assert "not found" in message and str(path) in message


def test_directory(tmp_path):
    message = _input_error(tmp_path)
    assert "directory" in message and str(tmp_path) in message


def test_pixel_limit_checked_before_decoding(tmp_path, astronaut):
    huge = tmp_path / "huge.png"
    _png_header_only(huge, 20000, 20000)
    limit_before = Image.MAX_IMAGE_PIXELS
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no DecompressionBombWarning either
        message = _input_error(huge)  # default limit; the garbage pixel data is never reached
    assert "20000x20000" in message and f"{DEFAULT_MAX_PIXELS:,}" in message and "--max-pixels" in message
    assert Image.MAX_IMAGE_PIXELS == limit_before

    small = tmp_path / "small.png"
    Image.fromarray(astronaut).save(small)
    message = _input_error(small, max_pixels=100_000)
    assert "512x512" in message and "100,000" in message and "--max-pixels" in message
    assert load_image(small, max_pixels=512 * 512).rgb.shape == (512, 512, 3)


def test_pil_limit_does_not_apply(tmp_path, astronaut, monkeypatch):
    path = tmp_path / "a.png"
    Image.fromarray(astronaut).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(load_image(path).rgb, astronaut)
    assert Image.MAX_IMAGE_PIXELS == 1000


# --- encoding and writing -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "bmp", "tiff"])
def test_encode_is_deterministic_and_decodes(tmp_path, astronaut, fmt):
    first = encode_image(astronaut, fmt)
    assert first == encode_image(astronaut.copy(), fmt)
    path = tmp_path / f"out.{output_extension(fmt)}"
    path.write_bytes(first)
    img = load_image(path)
    assert img.format == fmt
    assert _mean_abs_diff(img.rgb, astronaut) < (2 if fmt in ("jpeg", "webp") else 1e-9)


def test_encode_alpha_and_gray(astronaut):
    rgba = np.dstack([astronaut, np.full((512, 512), 128, np.uint8)])
    with Image.open(io.BytesIO(encode_image(rgba, "png"))) as im:
        assert im.mode == "RGBA" and np.array_equal(np.asarray(im), rgba)
    assert encode_image(rgba, "jpeg") == encode_image(astronaut, "jpeg")  # alpha dropped
    with Image.open(io.BytesIO(encode_image(astronaut[:, :, 0], "png"))) as im:
        assert im.mode == "L"


def test_encode_rejects_bad_arguments(astronaut):
    with pytest.raises(ValueError, match="gif"):
        encode_image(astronaut, "gif")
    with pytest.raises(ValueError, match="float"):
        encode_image(astronaut.astype(np.float32), "png")


def test_output_format_and_extension():
    assert [output_extension(f) for f in ("jpeg", "png", "webp", "bmp", "tiff", "gif", "array")] == \
        ["jpg", "png", "webp", "bmp", "tiff", "png", "png"]
    assert [output_format(f) for f in ("JPG", "tif", "gif", "array")] == ["jpeg", "tiff", "png", "png"]


def test_atomic_write(tmp_path):
    path = tmp_path / "out.png"
    atomic_write(path, b"first")
    atomic_write(path, b"second")
    assert path.read_bytes() == b"second"
    assert os.listdir(tmp_path) == ["out.png"]


def test_atomic_write_missing_directory(tmp_path):
    path = tmp_path / "no-such-dir" / "out.png"
    with pytest.raises(OutputError) as info:
        atomic_write(path, b"data")
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert os.listdir(tmp_path) == []


def test_atomic_write_failure_after_temp_created(tmp_path, monkeypatch):
    target = tmp_path / "taken"
    target.mkdir()  # the final rename onto a directory fails after the temp file is written
    with pytest.raises(OutputError, match="cannot write"):
        atomic_write(target, b"data")
    assert sorted(os.listdir(tmp_path)) == ["taken"] and os.listdir(target) == []

    existing = tmp_path / "keep.png"
    existing.write_bytes(b"old")

    def failing_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OutputError, match="Input/output error"):
        atomic_write(existing, b"new")
    assert existing.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["keep.png", "taken"]


def test_ensure_output_dir(tmp_path):
    nested = tmp_path / "a" / "b"
    assert ensure_output_dir(str(nested)) == nested and nested.is_dir()
    assert ensure_output_dir(nested) == nested  # already there
    assert os.listdir(nested) == []  # write probe cleaned up

    regular = tmp_path / "file.txt"
    regular.write_text("x")
    for bad in (regular / "sub", regular):
        with pytest.raises(OutputError) as info:
            ensure_output_dir(bad)
        assert str(bad) in str(info.value) and "\n" not in str(info.value)


def test_ensure_output_dir_real_write_probe(tmp_path, monkeypatch):
    real_open = os.open

    def read_only_open(path, flags, *args):
        if flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only_open)
    with pytest.raises(OutputError, match="not writable.*Permission denied"):
        ensure_output_dir(tmp_path)


@pytest.mark.gl
@pytest.mark.mediapipe
def test_metadata_json_holds_the_metadata_with_a_landmark_a_line(engine, astronaut):
    metadata = engine.fit(astronaut, FitOptions(mask="surgical")).metadata
    text = metadata_json(metadata).decode()
    assert json.loads(text) == json.loads(json.dumps(metadata)) and text.endswith("}\n")
    lines = text.splitlines()
    start = lines.index('      "landmarks": [') + 1
    point = re.compile(r" {8}\[-?\d+\.\d, -?\d+\.\d, -?\d+\.\d\],?")
    assert all(point.fullmatch(line) for line in lines[start:start + 478]) and lines[start + 478] == "      ],"
    assert len(text) < 0.5 * len(json.dumps(metadata, indent=2, sort_keys=True))
