"""Files out: the composite, the RGBA mask layer, the segmentation, the instance ids, the unmasked photo
(decoded and upright, aligned with the composite) and the JSON, written atomically."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from render3d.errors import OutputError
from render3d.io.image_out import (
    OUTPUT_EXTENSIONS,
    atomic_write,
    encode_image,
    ensure_output_dir,
    output_extension,
    output_format,
)

if TYPE_CHECKING:
    from render3d.results import FitResult

ALL_OUTPUTS = ("composite", "layer", "seg", "instances", "original", "json")
DEFAULT_OUTPUTS = ("composite", "layer", "seg", "json")
NUMBER_TYPES = {int, float}     # what a list of plain numbers holds (not bool, a subclass of int)


def output_paths(out_dir: Path, stem: str, input_format: str) -> dict[str, Path]:
    """The four output paths of image `stem` in `out_dir` (the composite in the input's format)."""
    return {
        "composite": out_dir / f"{stem}_masked.{output_extension(input_format)}",
        "layer": out_dir / f"{stem}_mask.png",
        "seg": out_dir / f"{stem}_seg.png",
        "instances": out_dir / f"{stem}_instances.png",
        "original": out_dir / f"{stem}_original.{output_extension(input_format)}",
        "json": out_dir / f"{stem}.json",
    }


def output_names(stem: str) -> tuple[str, ...]:
    """Every file name an image of this stem may be written under, whatever its format."""
    return tuple(sorted({path.name for ext in OUTPUT_EXTENSIONS
                         for path in output_paths(Path("."), stem, ext).values()}))


def metadata_json(metadata: dict) -> bytes:
    """The metadata as sorted-key JSON bytes with a final newline, indented by 2, each list of numbers
    (a landmark, a box, a colour) on one line: a third the size of JSON indented throughout."""
    return (_indented(metadata, "") + "\n").encode()


def _indented(value, margin: str) -> str:
    """`value` as JSON whose containers open at `margin`; lists of plain numbers stay on one line."""
    inner = margin + "  "
    if isinstance(value, dict) and value:
        items = (f"{inner}{json.dumps(key)}: {_indented(value[key], inner)}" for key in sorted(value))
        return "{\n" + ",\n".join(items) + f"\n{margin}}}"
    if not isinstance(value, (list, tuple)) or _numbers(value):
        return json.dumps(value)
    if all(isinstance(item, (list, tuple)) for item in value) and _numbers([x for item in value for x in item]):
        # Rows of numbers (the landmarks): encoded in one call and split into lines; a number holds no "], [".
        rows = json.dumps(value)[2:-2].split("], [")
        return "[\n" + ",\n".join(f"{inner}[{row}]" for row in rows) + f"\n{margin}]"
    return "[\n" + ",\n".join(inner + _indented(item, inner) for item in value) + f"\n{margin}]"


def _numbers(items) -> bool:
    return {type(item) for item in items} <= NUMBER_TYPES


def write_outputs(result: FitResult, out_dir: Path, stem: str, outputs=DEFAULT_OUTPUTS) -> dict[str, Path]:
    """Write the chosen outputs (images first, the JSON last) and return their paths.

    With no face found only the JSON is written. The input file is never overwritten.
    """
    out_dir = ensure_output_dir(out_dir)
    paths = output_paths(out_dir, stem, result.image.format)
    wanted = [name for name in ALL_OUTPUTS if name in outputs and (result.faces or name == "json")]
    source = result.image.path
    for name in wanted:
        if source is not None and paths[name].exists() and paths[name].samefile(source):
            raise OutputError(f"refusing to overwrite the input {source} with the {name} output")
    encoders = {
        "composite": lambda: encode_image(result.composite, output_format(result.image.format)),
        "layer": lambda: encode_image(result.layer, "png"),
        "seg": lambda: encode_image(result.segmentation, "png"),
        "instances": lambda: encode_image(result.instances, "png"),
        "original": lambda: encode_image(result.image.rgb, output_format(result.image.format)),
        "json": lambda: metadata_json(result.metadata),
    }
    for name in wanted:
        atomic_write(paths[name], encoders[name]())
    return {name: paths[name] for name in wanted}
