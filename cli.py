"""The `render3d` command line.

Exit codes: 0 done, 1 internal error, 2 bad usage, 3 unreadable input, 4 no face found,
5 output not writable, 6 unknown or malformed mask.
"""
from __future__ import annotations

import sys
from functools import wraps
from pathlib import Path
from typing import List, Optional

import typer

from render3d.errors import NoFaceError, Render3DError
from render3d.image_in import DEFAULT_MAX_PIXELS

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Fit textured 3D face masks onto photos.")


def one_line_errors(command):
    """Turn engine errors into one line on stderr and the error's exit code."""
    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except Render3DError as exc:
            typer.echo(f"render3d: error: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
    return wrapper


@app.command()
@one_line_errors
def fit(
    image: Path = typer.Argument(..., help="Photo to mask (JPEG, PNG, WebP, BMP, TIFF...)."),
    mask: str = typer.Option("surgical", "--mask", "-m", help="Mask name (see `render3d masks`) or a mask file."),
    out: Path = typer.Option(Path("render3d_out"), "--out", "-o", help="Output directory."),
    seed: int = typer.Option(0, "--seed", help="Seed for every random choice."),
    max_faces: int = typer.Option(10, "--max-faces", min=1, help="Most faces to mask."),
    mask_dir: Optional[List[Path]] = typer.Option(None, "--mask-dir", help="Extra folder of user masks."),
    max_pixels: int = typer.Option(DEFAULT_MAX_PIXELS, "--max-pixels", min=1, help="Refuse larger images."),
):
    """Mask every face in IMAGE and write {stem}_masked, {stem}_mask.png, {stem}_seg.png and {stem}.json."""
    from render3d import default_engine
    from render3d.masks import resolve_mask
    from render3d.outputs import write_outputs
    from render3d.pipeline import FitOptions

    options = FitOptions(mask=mask, seed=seed, max_faces=max_faces, mask_dirs=tuple(mask_dir or ()),
                         max_pixels=max_pixels)
    resolve_mask(options.mask, options.mask_dirs)          # fail fast on an unknown mask
    result = default_engine().fit(image, options)
    written = write_outputs(result, out, image.stem)
    for path in written.values():
        typer.echo(str(path))
    if result.status == "no_face":
        raise NoFaceError(f"no face found in {image}")


@app.command()
@one_line_errors
def masks(mask_dir: Optional[List[Path]] = typer.Option(None, "--mask-dir", help="Extra folder of user masks.")):
    """List every available mask with its description."""
    from render3d.masks import available_masks, load_mask

    for name, path in available_masks(tuple(mask_dir or ())).items():
        typer.echo(f"{name:18s} {load_mask(path).description}")


def main() -> None:
    app(prog_name="render3d")


if __name__ == "__main__":
    sys.exit(main())
