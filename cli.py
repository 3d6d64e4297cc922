"""The `render3d` command line.

Exit codes: 0 done, 1 internal error, 2 bad usage, 3 unreadable input, 4 no face found,
5 output not writable, 6 unknown or malformed mask.
"""
from __future__ import annotations

import sys
from dataclasses import replace
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
    mask: str = typer.Option("surgical", "--mask", "-m",
                             help="Mask name (see `render3d masks`), a mask file, 'random' or 'all'."),
    mask_weights: str = typer.Option("", "--mask-weights", help="Random draw weights: 'surgical=3,n95=1'."),
    wear: str = typer.Option("correct", "--wear", help="How the mask is worn: correct, nose-out or chin."),
    color: Optional[str] = typer.Option(None, "--color", help="Recolour the mask: '#RRGGBB'."),
    texture: Optional[Path] = typer.Option(None, "--texture", help="Replace the mask's fabric texture (PNG/JPEG)."),
    vary: bool = typer.Option(True, "--vary/--no-vary", help="Seeded variation of the mask's colour tone."),
    out: Path = typer.Option(Path("render3d_out"), "--out", "-o", help="Output directory."),
    seed: int = typer.Option(0, "--seed", help="Seed for every random choice."),
    max_faces: int = typer.Option(10, "--max-faces", min=1, help="Most faces to mask."),
    mask_dir: Optional[List[Path]] = typer.Option(None, "--mask-dir", help="Extra folder of user masks."),
    max_pixels: int = typer.Option(DEFAULT_MAX_PIXELS, "--max-pixels", min=1, help="Refuse larger images."),
):
    """Mask every face in IMAGE and write {stem}_masked, {stem}_mask.png, {stem}_seg.png and {stem}.json.

    With --mask all, every library mask is fitted in turn, each under the stem {stem}_{mask}.
    """
    from render3d import default_engine
    from render3d.masks import available_masks
    from render3d.outputs import write_outputs
    from render3d.pipeline import FitOptions

    options = FitOptions(mask=mask, seed=seed, max_faces=max_faces, mask_dirs=tuple(mask_dir or ()),
                         max_pixels=max_pixels, mask_weights=mask_weights, wear=wear, color=color,
                         texture=texture, vary=vary)
    runs = {image.stem: options}
    if mask == "all":
        runs = {f"{image.stem}_{name}": replace(options, mask=name) for name in available_masks(options.mask_dirs)}
    for run_options in runs.values():
        run_options.choose(0)                               # fail fast on bad mask options
    for stem, run_options in runs.items():
        result = default_engine().fit(image, run_options)
        for path in write_outputs(result, out, stem).values():
            typer.echo(str(path))
        if result.status == "no_face":
            raise NoFaceError(f"no face found in {image}")


@app.command()
@one_line_errors
def masks(
    mask_dir: Optional[List[Path]] = typer.Option(None, "--mask-dir", help="Extra folder of user masks."),
    sheet: Optional[Path] = typer.Option(None, "--sheet", help="Also render a contact sheet PNG of every mask."),
):
    """List every available mask with its description."""
    from render3d.masks import available_masks, load_mask_spec

    library = available_masks(tuple(mask_dir or ()))
    for name, path in library.items():
        typer.echo(f"{name:18s} {load_mask_spec(path).description}")
    if sheet is not None:
        import skimage.data

        from render3d import default_engine
        from render3d.image_out import atomic_write, encode_image, ensure_output_dir
        from render3d.sheet import contact_sheet

        ensure_output_dir(sheet.parent)
        atomic_write(sheet, encode_image(contact_sheet(default_engine(), skimage.data.astronaut(), library), "png"))
        typer.echo(str(sheet))


def main() -> None:
    app(prog_name="render3d")


if __name__ == "__main__":
    sys.exit(main())
