"""The `render3d` command line.

Exit codes: 0 done, 1 internal error, 2 bad usage, 3 unreadable input, 4 no face found,
5 output not writable, 6 unknown or malformed mask, 130 interrupted or batch stopped before the end.
Every error is one line on stderr: `render3d: error: ...`.
"""
from __future__ import annotations

import inspect
import os
import shlex
import sys
from contextlib import contextmanager
from dataclasses import fields, replace
from functools import partial, wraps
from pathlib import Path
from typing import Callable, List, Optional

import typer
from typer.core import TyperArgument, TyperGroup

from render3d.batch.runner import DEFAULT_IMAGE_TIMEOUT_S
from render3d.errors import InputError, NoFaceError, Render3DError, one_line
from render3d.io.image_in import DEFAULT_MAX_PIXELS
from render3d.io.outputs import ALL_OUTPUTS, DEFAULT_OUTPUTS
from render3d.kinds import OCCLUDER_MODES
from render3d.kinds import REALISM_MODES as MODES
from render3d.kinds import REALISM_STAGES as STAGES
from render3d.launch import INTERRUPTED, stop_pending, stops_delivered
from render3d.options import FitOptions


class ReadableArgument(TyperArgument):
    """An argument shown as its metavar alone: `IMAGE`, not `{image}` and `<path>`."""

    def _usage_display_name(self) -> str:
        name = self.display_name_raw if self.required else f"[{self.display_name_raw}]"
        return name + ("..." if self.nargs != 1 else "")

    def display_type_rich(self, ctx: typer.Context) -> None:
        """No type placeholder beside a readable metavar."""
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
        """The command's parameters, with readable metavars."""
        params = super().get_params(ctx)
        for param in params:
            readable_metavar(param)
        return params

    def get_command(self, ctx: typer.Context, cmd_name: str):
        """Subcommand `cmd_name`, its parameters with readable metavars."""
        command = super().get_command(ctx, cmd_name)
        for param in command.get_params(ctx) if command is not None else ():
            readable_metavar(param)
        return command


app = typer.Typer(cls=ReadableGroup, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="Fit textured 3D face masks onto photos.")
VERBOSITY = {"quiet": False, "verbose": False}


def say(text: str) -> None:
    """A result line on stdout, unless --quiet."""
    if not VERBOSITY["quiet"]:
        typer.echo(text)


def show_version(value: bool) -> None:
    """`--version`: print the version and exit."""
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


def error_line(message: str) -> None:
    """The one line on stderr that every error gets."""
    typer.echo(f"render3d: error: {one_line(message)}", err=True)


def one_line_errors(command, interrupted_line: Callable[[], str] = lambda: "render3d: interrupted"):
    """Turn engine errors into one line on stderr and the error's exit code; Ctrl-C or SIGTERM, which
    reach the command from here on (render3d.launch holds them back until then), into
    `interrupted_line()` and 130."""
    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            with stops_delivered():
                return command(*args, **kwargs)
        except Render3DError as exc:
            error_line(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo(interrupted_line(), err=True)
            raise typer.Exit(INTERRUPTED) from None
    return wrapper


def realism_mode(value: str) -> str:
    """The --realism value, refused unless it is a realism mode."""
    if value not in MODES:
        raise typer.BadParameter(f"choose from {', '.join(MODES)}")
    return value


def occluders_mode(value: str) -> str:
    """`--occluders`: auto or off."""
    if value not in OCCLUDER_MODES:
        raise typer.BadParameter(f"choose from {', '.join(OCCLUDER_MODES)}")
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
    mask_weights: str = typer.Option("", "--mask-weights", help="Random draw weights: 'surgical=3,n95=1' "
                                     "(default: each mask's prevalence)."),
    wear: str = typer.Option("correct", "--wear", help="How the mask is worn: correct, nose-out, chin, chin-out "
                             "(or Mask_Mouth_Chin, Mask_Chin, Mask_Nose_Mouth), or random."),
    wear_weights: str = typer.Option("", "--wear-weights", help="Random wear weights: 'correct=8,nose-out=1,chin=1'."),
    color: Optional[str] = typer.Option(None, "--color", help="Recolour the mask: '#RRGGBB'."),
    texture: Optional[Path] = typer.Option(None, "--texture", help="Replace the mask's fabric texture (PNG/JPEG)."),
    pattern: Optional[str] = typer.Option(None, "--pattern", help="Print the fabric: a bundled pattern (see "
                                          "`render3d masks --patterns`), 'random' or a pattern image."),
    pattern_weight: float = typer.Option(1.0, "--pattern-weight", min=0.0, max=1.0,
                                         help="Blend of the pattern over the fabric (0..1)."),
    color_weight: float = typer.Option(1.0, "--color-weight", min=0.0, max=1.0,
                                       help="Blend of --color with the fabric's own colour (0..1)."),
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
    occluders: str = typer.Option("auto", "--occluders", callback=occluders_mode,
                                  help="auto: hands, objects and hair in front of a face stay in front; off."),
):
    """Mask every face in IMAGE and write {stem}_masked, {stem}_mask.png, {stem}_seg.png and {stem}.json.

    With --mask all, every library mask is fitted in turn, each under the stem {stem}_{mask}.
    """
    options = fit_options({name: value for name, value in locals().items() if name not in ("image", "out")})
    from render3d import default_engine
    from render3d.io.image_out import check_output_dir
    from render3d.io.outputs import write_outputs
    from render3d.mask.library import mask_runs

    if mask == "random":                                    # a draw per input, as a batch makes
        from render3d.batch.runner import image_seed
        options = replace(options, seed=image_seed(options.seed, image.name))
    check_output_dir(out)                                   # fail fast on an output folder that cannot be written
    for stem, run_options in mask_runs(options, image.stem):
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


def resume_hint() -> str:
    """The line that tells how to resume this batch command."""
    return f"to resume, run the same command again: render3d {shlex.join(sys.argv[1:])}"


@app.command()
@partial(one_line_errors, interrupted_line=lambda: f"render3d: interrupted; {resume_hint()}")
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
    shard: Optional[str] = typer.Option(None, "--shard", help="Mask only shard I of N ('I/N', I from 0 to N-1), "
                                        "for job arrays; `render3d merge OUTPUT_DIR` then joins the shards."),
    progress_every: float = typer.Option(30.0, "--progress-every", min=0.0, help="Off a terminal, print a progress "
                                         "line every so many seconds (0: none)."),
    gpu: str = typer.Option("none", "--gpu", help="EGL device per worker: auto (spread over the GPUs), "
                            "none (EGL's default display) or a device index."),
    ray: bool = typer.Option(False, "--ray", help="Run on Ray Data actors (needs render3d[ray])."),
    address: Optional[str] = typer.Option(None, "--address", help="With --ray: the cluster to join ('auto', "
                                          "'ray://HOST:10001'); default: a new local one."),
    image_timeout: float = typer.Option(DEFAULT_IMAGE_TIMEOUT_S, "--image-timeout", min=1.0,
                                        help="Seconds one image may take; a slower one is recorded as failed "
                                        "(timeout) and its worker replaced."),
    code: str = typer.Option("", "--code", help="An exact mix over the images (MaskTheFace's --code), in place "
                             "of --mask, --color and --texture: 'surgical-#0473e2=2,cloth-#e54294=1,n95=1' "
                             "(MASK[-#RRGGBB or -TEXTURE_FILE][=WEIGHT], comma-separated)."),
    *,
    options: FitOptions,
):
    """Mask every photo under INPUT_DIR into OUTPUT_DIR, resumably: re-run the same command to go on.

    Writes one manifest.jsonl row per image and summary.json; exits 130 when stopped early.
    """
    from render3d.batch.dataset import Item, is_inside, read_list, walk
    from render3d.batch.gpu import check_spec
    from render3d.batch.pool import Pool
    from render3d.batch.runner import BatchConfig, format_summary, run_batch
    from render3d.batch.shard import Shard

    chosen = {name.strip() for name in outputs.split(",") if name.strip()} | ({"original"} if write_original else set())
    if not chosen or chosen - set(ALL_OUTPUTS):
        raise typer.BadParameter(f"choose from {','.join(ALL_OUTPUTS)}", param_hint="--outputs")
    try:
        part = Shard.parse(shard) if shard else Shard()
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--shard") from None
    if code:
        taken = [flag for flag, used in (("--mask random", options.mask == "random"),
                                         ("--mask all", options.mask == "all"), ("--color", options.color),
                                         ("--texture", options.texture), ("--pattern", options.pattern),
                                         ("--mask-weights", options.mask_weights))
                 if used]
        if taken:
            raise typer.BadParameter(f"--code sets each image's mask, colour, texture and print: leave out {taken[0]}",
                                     param_hint="--code")
        from render3d.batch.code import parse_code

        parse_code(code, options)                           # every entry's mask, colour and texture exist
    if address and not ray:
        raise typer.BadParameter("--address is for --ray runs", param_hint="--address")
    pool = ray_pool(address) if ray else Pool
    input_dir, output_dir = input_dir.resolve(), output_dir.resolve()
    if not input_dir.is_dir():
        raise InputError(f"input folder not found: {input_dir}")
    if is_inside(input_dir, output_dir):
        raise typer.BadParameter("INPUT_DIR must not be OUTPUT_DIR or inside it", param_hint="OUTPUT_DIR")
    items = read_list(list_file, input_dir, output_dir) if list_file else [Item(p) for p in walk(input_dir, output_dir)]
    config = BatchConfig(input_dir, output_dir, replace(options, min_iou=min_iou),
                         tuple(name for name in ALL_OUTPUTS if name in chosen), image_timeout, code)
    summary = run_batch(config, items, workers or len(os.sched_getaffinity(0)), force,
                        sys.stderr.isatty() and not VERBOSITY["quiet"], shard=part, progress_every=progress_every,
                        gpu_spec=check_spec(gpu), pool=pool)
    for line in format_summary(summary):
        say(line)
    if not summary["complete"]:
        typer.echo(f"render3d: stopped before the end; {resume_hint()}", err=True)
        raise typer.Exit(INTERRUPTED)



def ray_pool(address: Optional[str]):
    """RayPool joining `address`, or a one-line error without the render3d[ray] extra."""
    try:
        from render3d.batch.ray_runner import RayPool
    except ImportError as exc:
        raise typer.BadParameter(f"needs the ray extra: pip install 'render3d[ray]' ({exc})",
                                 param_hint="--ray") from None
    return partial(RayPool, address=address)


@app.command()
@one_line_errors
def merge(output_dir: Path = typer.Argument(..., help="Output folder the shards of a batch ran into.")):
    """Join the manifest parts of `render3d batch --shard I/N` runs into OUTPUT_DIR's manifest and summary."""
    from render3d.batch.merge import merge as merge_shards
    from render3d.batch.runner import format_summary

    for line in format_summary(merge_shards(output_dir)):
        typer.echo(line)


@app.command()
@one_line_errors
def masks(
    mask_dir: Optional[List[Path]] = typer.Option(None, "--mask-dir", help="Extra folder of user masks."),
    sheet: Optional[Path] = typer.Option(None, "--sheet", help="Also render a contact sheet PNG of every mask."),
    patterns: bool = typer.Option(False, "--patterns", help="List the bundled patterns for --pattern instead."),
):
    """List every available mask with its description (or, with --patterns, every bundled pattern)."""
    from render3d.mask.library import available_masks, load_mask_spec

    if patterns:
        from render3d.mask.patterns import pattern_library

        for name, spec in pattern_library().items():
            say(f"{name:18s} {spec.kind:10s} {spec.tile_cm:g} cm tile, {len(spec.colourways)} colourways")
        return

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


@contextmanager
def native_output_off():
    """Point file descriptors 1 and 2 at /dev/null for the run, so that native libraries' own lines
    (TensorFlow Lite's "INFO: Created ... delegate", Mesa) never reach the user, while Python's
    sys.stdout and sys.stderr keep writing where they did."""
    streams = sys.stdout, sys.stderr
    for stream in streams:
        stream.flush()
    saved = [os.dup(fd) for fd in (1, 2)]
    sys.stdout, sys.stderr = (open(fd, "w", encoding=stream.encoding, errors=stream.errors, buffering=1,
                                   closefd=False) for fd, stream in zip(saved, streams))
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        for fd, copy in zip((1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)
        sys.stdout, sys.stderr = streams


def main() -> None:
    """The `render3d` command: usage errors and unexpected ones also come as one line."""
    with native_output_off():
        code = run_app(sys.argv[1:])
    if stop_pending() and code != INTERRUPTED:   # held back after the command, or where none ran (--help)
        typer.echo("render3d: interrupted", err=True)
        code = INTERRUPTED
    sys.exit(code)


def run_app(args: list[str]) -> int:
    """Run the command line on `args`; its exit code, every error as one line on stderr."""
    try:
        code = app(args=args, prog_name="render3d", standalone_mode=False)
    except typer.TyperException as exc:      # bad usage, from the option parser
        context = getattr(exc, "ctx", None)
        if not args:                        # no arguments: the help (typer's no_args_is_help)
            typer.echo(exc.format_message())
            return exc.exit_code
        hint = f" (see `{context.command_path} --help`)" if context is not None else ""
        error_line(exc.format_message() + hint)
        return exc.exit_code
    except typer.Abort:
        typer.echo("render3d: interrupted", err=True)
        return INTERRUPTED
    except Exception as exc:                 # a bug: still one line, and exit 1
        error_line(f"internal error: {type(exc).__name__}: {exc}")
        return 1
    return code if isinstance(code, int) else 0


if __name__ == "__main__":
    sys.exit(main())
