"""The `render3d` command line.

Exit codes: 0 done, 1 internal error, 2 bad usage, 3 unreadable input, 4 no face found,
5 output not writable, 6 unknown or malformed mask, 130 batch stopped before the end.
"""
from __future__ import annotations

import inspect
import os
import shlex
import sys
from dataclasses import fields, replace
from functools import wraps
from pathlib import Path
from typing import List, Optional

import typer
from typer.core import TyperArgument, TyperGroup

from render3d.errors import InputError, NoFaceError, Render3DError
from render3d.io.image_in import DEFAULT_MAX_PIXELS
from render3d.io.outputs import ALL_OUTPUTS, DEFAULT_OUTPUTS
from render3d.pipeline import FitOptions
from render3d.realism import MODES, STAGES


class ReadableArgument(TyperArgument):
    """An argument shown as its metavar alone: `IMAGE`, not `{image}` and `<path>`."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name + ("..." if self.nargs != 1 else "")

    def display_type_rich(self, ctx: typer.Context) -> None:
        return None                                         # the name says it: no `<path>` beside it


READABLE_TYPES = {"Path": "PATH", "int": "N", "float": "X", "str": "TEXT"}


def readable_metavar(param) -> None:
    """Plain metavars in --help: IMAGE, PATH, DIR, N, X, TEXT, and none after a flag."""
    if isinstance(param, TyperArgument):
        param.__class__, param.metavar = ReadableArgument, param.metavar or param.name.upper()
    elif param.metavar is not None:
        return
    elif getattr(param, "is_flag", False):
        param.metavar = ""
    else:
        bare = param.bare_type().removeprefix("list[").removesuffix("]")
        param.metavar = "DIR" if bare == "Path" and "dir" in param.name else READABLE_TYPES.get(bare, "TEXT")


class ReadableGroup(TyperGroup):
    """Typer's group with readable metavars on itself and on every command."""

    def get_params(self, ctx: typer.Context) -> list:
        params = super().get_params(ctx)
        for param in params:
            readable_metavar(param)
        return params

    def get_command(self, ctx: typer.Context, cmd_name: str):
        command = super().get_command(ctx, cmd_name)
        for param in command.get_params(ctx) if command is not None else ():
            readable_metavar(param)
        return command


app = typer.Typer(cls=ReadableGroup, no_args_is_help=True, pretty_exceptions_enable=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Fit textured 3D face masks onto photos.")
VERBOSITY = {"quiet": False, "verbose": False}


def say(text: str) -> None:
    """A result line on stdout, unless --quiet."""
    if not VERBOSITY["quiet"]:
        typer.echo(text)


def show_version(value: bool) -> None:
    if value:
        from render3d import __version__

        typer.echo(f"render3d {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", is_eager=True, callback=show_version,
                                 help="Print the version and exit."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors (no paths, summary or progress)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also log each image's stage timings to stderr."),
):
    """Fit textured 3D face masks onto photos. Options before the command: `render3d -q batch ...`."""
    if quiet and verbose:
        raise typer.BadParameter("--quiet and --verbose exclude each other", param_hint="--quiet")
    VERBOSITY.update(quiet=quiet, verbose=verbose)


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


def realism_mode(value: str) -> str:
    """The --realism value, refused unless it is a realism mode."""
    if value not in MODES:
        raise typer.BadParameter(f"choose from {', '.join(MODES)}")
    return value


def realism_stages(values: Optional[List[str]]) -> Optional[List[str]]:
    """`--realism-off light,colour --realism-off shadow` -> ['light', 'colour', 'shadow']."""
    stages = [stage.strip() for value in values or () for stage in value.split(",") if stage.strip()]
    unknown = sorted(set(stages) - set(STAGES))
    if unknown:
        raise typer.BadParameter(f"unknown stage {', '.join(unknown)}; choose from {', '.join(STAGES)}")
    return stages or None


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
    realism: str = typer.Option("full", "--realism", callback=realism_mode,
                                help="full: lit and matched to the photo; flat: the unlit albedo (for A/B)."),
    realism_off: Optional[List[str]] = typer.Option(None, "--realism-off", callback=realism_stages,
                                                    help=f"Stages of full realism to leave out: {', '.join(STAGES)} "
                                                    "(comma-separated or repeated)."),
):
    """Mask every face in IMAGE and write {stem}_masked, {stem}_mask.png, {stem}_seg.png and {stem}.json.

    With --mask all, every library mask is fitted in turn, each under the stem {stem}_{mask}.
    """
    options = fit_options({name: value for name, value in locals().items() if name not in ("image", "out")})
    from render3d import default_engine
    from render3d.io.outputs import write_outputs
    from render3d.mask.library import available_masks

    runs = {image.stem: options}
    if mask == "all":
        runs = {f"{image.stem}_{name}": replace(options, mask=name) for name in available_masks(options.mask_dirs)}
    for stem, run_options in runs.items():
        result = default_engine().fit(image, run_options)
        for path in write_outputs(result, out, stem).values():
            say(str(path))
        if VERBOSITY["verbose"]:
            typer.echo(f"render3d: {stem}: " + " ".join(f"{k}={v:.3f}s" for k, v in result.timings.items()), err=True)
        if result.status == "no_face":
            raise NoFaceError(f"no face found in {image}")


def fit_options(values: dict) -> FitOptions:
    """FitOptions from command-line values named like its fields (`mask_dir` fills `mask_dirs`).

    Options not given (None) keep the field's default; repeatable options (lists) become tuples.
    """
    values = {name: tuple(value) if isinstance(value, list) else value
              for name, value in values.items() if value is not None}
    if "mask_dir" in values:
        values["mask_dirs"] = values.pop("mask_dir")
    unknown = set(values) - {f.name for f in fields(FitOptions)}
    if unknown:
        raise RuntimeError(f"`fit` options without a FitOptions field: {', '.join(sorted(unknown))}")
    return FitOptions(**values)


def with_fit_options(command):
    """Give `command` every option of `fit` except IMAGE and --out, handed over as `options` (a FitOptions).

    New `fit` options thus reach the command without being declared twice.
    """
    shared = [p for p in inspect.signature(fit, eval_str=True).parameters.values() if p.name not in ("image", "out")]
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "options"]

    @wraps(command)
    def wrapper(**values):
        return command(options=fit_options({p.name: values.pop(p.name) for p in shared}), **values)

    wrapper.__signature__ = inspect.Signature(own + shared)
    return wrapper


@app.command()
@one_line_errors
@with_fit_options
def batch(
    input_dir: Path = typer.Argument(..., help="Folder of photos, walked recursively in sorted order."),
    output_dir: Path = typer.Argument(..., help="Outputs, mirroring INPUT_DIR's layout, with manifest.jsonl."),
    list_file: Optional[Path] = typer.Option(None, "--list", help="Mask only the files listed in this file, "
                                             "one a line, relative to INPUT_DIR or absolute under it."),
    workers: Optional[int] = typer.Option(None, "--workers", "-j", min=1, help="Worker processes (default: one per core)."),
    outputs: str = typer.Option(",".join(DEFAULT_OUTPUTS), "--outputs", help="Outputs to write: any of "
                                f"{','.join(ALL_OUTPUTS)} (layer alone shares masks without the photos; "
                                "instances: a 16-bit PNG of face ids; original: the photo unmasked)."),
    write_original: bool = typer.Option(False, "--write-original", help="Also write {stem}_original, the photo "
                                        "unmasked and upright (MaskTheFace's --write_original_image)."),
    min_iou: float = typer.Option(0.5, "--min-iou", min=0.0, max=1.0,
                                  help="Faces whose 3D placement has a lower IoU are redrawn by the 2D fallback."),
    force: bool = typer.Option(False, "--force", help="Start over when OUTPUT_DIR holds a run with other options."),
    *,
    options: FitOptions,
):
    """Mask every photo under INPUT_DIR into OUTPUT_DIR, resumably: re-run the same command to go on.

    Writes one manifest.jsonl row per image and summary.json; exits 130 when stopped early.
    """
    from render3d.batch.dataset import Item, is_inside, read_list, walk
    from render3d.batch.runner import BatchConfig, format_summary, run_batch

    chosen = {name.strip() for name in outputs.split(",") if name.strip()} | ({"original"} if write_original else set())
    if not chosen or chosen - set(ALL_OUTPUTS):
        raise typer.BadParameter(f"choose from {','.join(ALL_OUTPUTS)}", param_hint="--outputs")
    if options.mask == "all":
        raise typer.BadParameter("'all' is for `fit`; batches take a name or 'random'", param_hint="--mask")
    input_dir, output_dir = input_dir.resolve(), output_dir.resolve()
    if not input_dir.is_dir():
        raise InputError(f"input folder not found: {input_dir}")
    if is_inside(input_dir, output_dir):
        raise typer.BadParameter("INPUT_DIR must not be OUTPUT_DIR or inside it", param_hint="OUTPUT_DIR")
    items = read_list(list_file, input_dir, output_dir) if list_file else [Item(p) for p in walk(input_dir, output_dir)]
    config = BatchConfig(input_dir, output_dir, replace(options, min_iou=min_iou),
                         tuple(name for name in ALL_OUTPUTS if name in chosen))
    resume = f"to resume, run the same command again: render3d {shlex.join(sys.argv[1:])}"
    try:
        summary = run_batch(config, items, workers or len(os.sched_getaffinity(0)), force, sys.stderr.isatty() and not VERBOSITY["quiet"])
    except KeyboardInterrupt:                               # a second Ctrl-C: work under way is dropped
        typer.echo(f"render3d: interrupted; {resume}", err=True)
        raise typer.Exit(130) from None
    for line in format_summary(summary):
        say(line)
    if not summary["complete"]:
        typer.echo(f"render3d: stopped before the end; {resume}", err=True)
        raise typer.Exit(130)


@app.command()
@one_line_errors
def masks(
    mask_dir: Optional[List[Path]] = typer.Option(None, "--mask-dir", help="Extra folder of user masks."),
    sheet: Optional[Path] = typer.Option(None, "--sheet", help="Also render a contact sheet PNG of every mask."),
):
    """List every available mask with its description."""
    from render3d.mask.library import available_masks, load_mask_spec

    library = available_masks(tuple(mask_dir or ()))
    for name, path in library.items():
        say(f"{name:18s} {load_mask_spec(path).description}")
    if sheet is not None:
        from render3d import default_engine
        from render3d.io.image_out import atomic_write, encode_image, ensure_output_dir
        from render3d.qa.sheet import contact_sheet
        from render3d.samples import astronaut

        ensure_output_dir(sheet.parent)
        atomic_write(sheet, encode_image(contact_sheet(default_engine(), astronaut(), library), "png"))
        say(str(sheet))


@app.command()
@one_line_errors
def export(
    kind: str = typer.Argument(..., metavar="coco|yolo",
                               help="coco: one coco.json; yolo: images/, labels/, data.yaml."),
    batch_dir: Path = typer.Argument(..., metavar="OUT", help="A batch's OUTPUT_DIR, run with "
                                     "--outputs composite,instances,json (the default outputs plus instances)."),
    dest: Optional[Path] = typer.Option(None, "--to", metavar="DIR",
                                        help="Where to write (default: OUT/coco or OUT/yolo)."),
):
    """Turn a batch into a detector training set: per masked face its polygon and class (mask/wear), and face boxes."""
    from render3d.batch.export import write_coco, write_yolo

    writers = {"coco": write_coco, "yolo": write_yolo}
    if kind not in writers:
        raise typer.BadParameter("choose from coco, yolo", param_hint="KIND")
    batch_dir = batch_dir.resolve()
    say(str(writers[kind](batch_dir, dest or batch_dir / kind)))


@app.command()
@one_line_errors
def report(
    batch_dir: Path = typer.Argument(..., metavar="OUT", help="A batch's OUTPUT_DIR."),
    dest: Optional[Path] = typer.Option(None, "--to", metavar="DIR", help="Where to write (default: OUT/report)."),
):
    """Write an HTML report of a batch: counts by status, mask, wear and reason, the IoU histogram, and
    contact sheets of samples per mask, of fallbacks and of failures."""
    from render3d.qa.report import write_report

    batch_dir = batch_dir.resolve()
    say(str(write_report(batch_dir, dest or batch_dir / "report")))


def main() -> None:
    """The `render3d` entry point."""
    app(prog_name="render3d")


if __name__ == "__main__":
    sys.exit(main())
