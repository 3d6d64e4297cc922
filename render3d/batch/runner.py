"""Dataset batches: mask every image of a folder tree with worker processes, resumably.

Each image gets its own seed, a hash of the batch seed and its relative path, so its outputs do
not depend on the worker count or the order of work. A worker writes an image's outputs
(atomically), then the parent appends its manifest row (one fsync'd line). An image counts as
done when its row is in the manifest and the outputs the row names exist; a re-run skips it.
The options of a run are kept in `.render3d/run.json`: a re-run with other options is refused
unless `force` is given, which empties the manifest and starts over.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from render3d.batch import gpu, manifest
from render3d.batch.code import CodeEntry, assign, parse_code
from render3d.batch.dataset import STATE_DIR, Item, checked, confined, is_confined, output_place
from render3d.batch.parquet import PARQUET, write_parquet
from render3d.batch.pool import Crashed, Pool, TimedOut
from render3d.batch.progress import progress_bar
from render3d.batch.shard import Shard
from render3d.errors import EngineError, InputError, MaskError, OutputError, Render3DError
from render3d.io.image_out import atomic_write, ensure_output_dir, open_nofollow, remove_stale_temps
from render3d.io.outputs import DEFAULT_OUTPUTS, output_names, write_outputs
from render3d.kinds import worst_status
from render3d.mask.library import mask_runs

if TYPE_CHECKING:      # the engine loads in the workers, not with the command line
    from render3d.options import FitOptions
    from render3d.results import FitResult

REASONS = {InputError: "bad_input", OutputError: "output_error", MaskError: "mask_error"}
DEFAULT_IMAGE_TIMEOUT_S = 900.0


class RunMismatch(Render3DError):
    """The output folder holds a batch run with other options."""

    exit_code = 2


@dataclass(frozen=True)
class BatchConfig:
    """What a batch writes: its folders, the shared options and which outputs."""
    input_dir: Path
    output_dir: Path
    options: FitOptions                         # shared by every image, except for the seed
    outputs: tuple[str, ...] = DEFAULT_OUTPUTS
    image_timeout: float | None = DEFAULT_IMAGE_TIMEOUT_S     # seconds; a slower image fails ('timeout')
    code: str = ""                              # a --code mix (render3d.batch.code); '' for none

    def record(self) -> dict:
        """What the outputs depend on, as JSON (the worker count and image list are not part of it)."""
        options = json.loads(json.dumps(asdict(self.options), default=str)) | ({"code": self.code} if self.code else {})
        return {"input_dir": str(self.input_dir), "options": options, "outputs": list(self.outputs)}


@dataclass(frozen=True)
class Job:
    """One image for a worker: its relative path, and its --code entry (None without --code)."""
    path: str
    code: CodeEntry | None = None


def image_seed(seed: int, path: str) -> int:
    """A 32-bit seed from the batch seed and an image's relative path: stable across runs and machines."""
    key = f"{seed}\0".encode() + os.fsencode(path)         # a file name's own bytes, UTF-8 or not
    return int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "big")


class ImageWorker:
    """Masks one image of a batch (a Job) and writes its outputs; returns its row."""

    def __init__(self, config: BatchConfig, device: int | None = None):
        from render3d.pipeline import Engine

        self.config = config
        self.engine = Engine(device=device)

    def __call__(self, job: Job) -> dict:
        start = time.perf_counter()
        config, path = self.config, job.path
        row = failed_row(path)
        try:
            row["seed"] = image_seed(config.options.seed, path)
            options = replace(config.options, seed=row["seed"])
            folder, stem = output_place(config.output_dir, path)
            runs, written, timings = [], [], {}
            for run_stem, run_options in mask_runs(job.code.options(options) if job.code else options, stem):
                result = self.engine.fit(config.input_dir / path, run_options)
                if job.code:
                    for face in result.metadata["faces"]:
                        face["code"] = job.code.text
                written += write_outputs(result, confined(config.output_dir, folder), run_stem, config.outputs).values()
                runs.append(result_fields(result))
                for stage, seconds in result.timings.items():
                    timings[stage] = timings.get(stage, 0.0) + seconds
            merged = merged_fields(runs)
            row.update(merged, timings=timings, codes=[job.code.text if job.code else None] * merged["faces"],
                       outputs=sorted(p.relative_to(config.output_dir).as_posix() for p in written))
        except EngineError:             # a broken engine fails every image: it stops the batch
            raise
        except Render3DError as exc:
            reason = next((name for kind, name in REASONS.items() if isinstance(exc, kind)), "error")
            row.update(reason=reason, error=str(exc))
        except Exception as exc:        # one bad image must not stop the batch
            from render3d.render.fallback import describe

            row.update(reason="internal_error", error=describe(exc))
        row["timings"]["total"] = time.perf_counter() - start
        row["timings"] = {stage: round(seconds, 4) for stage, seconds in row["timings"].items()}
        return row


def result_fields(result: FitResult) -> dict:
    """Manifest fields of a fitted image: status, the worst face's reason, and per-face lists."""
    faces = result.faces
    worst = next((f for f in faces if f.status == result.status), None)
    return {
        "status": result.status,
        "reason": worst.reason if worst else None,
        "error": worst.detail if worst and result.status == "failed" else None,
        "faces": len(faces),
        "masks": [f.mask for f in faces],
        "wear": [f.wear for f in faces],
        "iou": [f.iou for f in faces],
        "face_status": [f.status for f in faces],
    }


def merged_fields(runs: list[dict]) -> dict:
    """The manifest fields of an input's fits (`result_fields` each): the worst fit's status and reason,
    and every fit's faces, in turn."""
    lists = {key: [value for run in runs for value in run[key]] for key in ("masks", "wear", "iou", "face_status")}
    status = worst_status(lists["face_status"])
    worst = next(run for run in runs if run["status"] == status)
    return {**worst, **lists, "faces": len(lists["face_status"])}


def start_worker(worker: Callable[..., Callable], config: BatchConfig, turns: gpu.DeviceTurns) -> Callable:
    """In a worker process or actor: `worker(config, device=...)` on this worker's turn of EGL device."""
    return worker(config, device=turns.take())


def failed_row(path: str, reason: str | None = None, error: str | None = None) -> dict:
    """A manifest row for an image that gave no result (the fields of a fitted one, empty)."""
    return {"path": path, "status": "failed", "reason": reason, "error": error, "seed": None, "faces": 0,
            "masks": [], "wear": [], "codes": [], "iou": [], "face_status": [], "outputs": [], "timings": {}}


@contextmanager
def locked(state_dir: Path) -> Iterator[None]:
    """Hold the output folder's lock: one batch at a time writes there. The OS drops it if we die."""
    fd = open_nofollow(state_dir / "lock", os.O_RDWR | os.O_CREAT)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputError(f"another batch is writing to {state_dir.parent}") from None
        yield
    finally:
        os.close(fd)


def state_folder(output_dir: Path, shard: Shard) -> Path:
    """The run's state folder (OUTPUT_DIR/.render3d, or a shard's folder inside it), created; refused when
    it or a folder above it is a symlink (its files would land elsewhere)."""
    for folder in dict.fromkeys((output_dir / STATE_DIR, shard.state_dir(output_dir))):
        if folder.is_symlink() or not is_confined(output_dir, folder):
            raise OutputError(f"{folder} is a symlink: the batch's state must stay inside {output_dir}")
        ensure_output_dir(folder)
    return shard.state_dir(output_dir)


def check_run(config: BatchConfig, state_dir: Path, manifest_path: Path, force: bool) -> None:
    """Refuse to resume a run made with other options, unless forced (then start it over)."""
    run_path = state_dir / "run.json"
    record = config.record()
    previous = read_run_record(run_path)
    if previous is None and manifest_path.exists() and not force:
        raise RunMismatch(f"{config.output_dir} holds a manifest but no run record ({run_path}); "
                          "pass --force to start over")
    if previous is not None and previous != record:
        if not force:
            changed = sorted(k for k in set(previous["options"]) | set(record["options"])
                             if previous["options"].get(k) != record["options"].get(k))
            changed += [k for k in ("input_dir", "outputs") if previous[k] != record[k]]
            raise RunMismatch(f"{config.output_dir} holds a batch run with other options "
                              f"({', '.join(changed)}): re-run with the same options to resume, "
                              "or pass --force to start over")
    if force or previous != record:
        atomic_write(manifest_path, b"")
    atomic_write(run_path, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())


def read_run_record(path: Path) -> dict | None:
    """The recorded run options, or None when there are none (or they are not a valid record)."""
    if not os.path.lexists(path):
        return None
    fd = open_nofollow(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as stream:
        try:
            record = json.loads(stream.read())
        except ValueError:
            return None
    keys = {"input_dir", "options", "outputs"}
    return record if isinstance(record, dict) and keys <= set(record) and isinstance(record["options"], dict) else None


def remove_temps_of(output_dir: Path, path: str) -> None:
    """Delete the temp files an image's killed worker left, where its folder is confined."""
    folder, stem = output_place(output_dir, path)
    if is_confined(output_dir, folder):
        remove_stale_temps(folder, output_names(stem))


def is_done(line: bytes | None, output_dir: Path) -> bool:
    """Whether an image's manifest row is there and every output it names exists."""
    return line is not None and all((output_dir / path).exists() for path in json.loads(line)["outputs"])


@contextmanager
def graceful_stop() -> Iterator[Callable[[], bool]]:
    """The first SIGINT or SIGTERM asks to stop (work under way finishes); the second interrupts."""
    requested = []

    def handler(signum, frame):
        if requested:
            raise KeyboardInterrupt
        requested.append(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: bool(requested)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def run_batch(config: BatchConfig, items: list[Item], workers: int, force: bool = False,
              show_progress: bool = False, worker: Callable[..., Callable] = ImageWorker, shard: Shard = Shard(),
              progress_every: float = 0.0, gpu_spec: str = "none", pool: Callable = Pool) -> dict:
    """Mask every item not done yet with `workers` processes; return the summary (also in summary.json).

    `worker(config, device=...)` is called once in each worker and must return the per-image handler.
    A `shard` masks its share of the items and keeps its own manifest part (render3d.batch.shard).
    `progress_every`: off a terminal, a progress line every so many seconds (0: none).
    `gpu_spec`: the EGL device of each worker (render3d.batch.gpu). `pool(size, setup, log)` runs
    the workers (render3d.batch.pool.Pool, or Ray actors: render3d.batch.ray_runner).
    The summary's "complete" is false when the run was stopped (SIGINT, SIGTERM) before the end.
    """
    out = ensure_output_dir(config.output_dir)
    state_dir = state_folder(out, shard)
    with locked(state_dir):
        check_run(config, state_dir, shard.manifest(out), force)
        items = checked(items)
        codes = assign(parse_code(config.code, config.options), [item.path for item in items],
                       config.options.seed) if config.code else {}        # over every shard's images
        items = shard.select(items)
        start, processed = time.perf_counter(), 0
        with manifest.Manifest(shard.manifest(out)) as rows:
            todo = [item for item in items if not is_done(rows.get(item.path), out)]
            paths = [item.path for item in todo if not item.reason]
            for folder in {output_place(out, path)[0] for path in paths}:
                if is_confined(out, folder):        # temps left by a run killed while writing these images
                    remove_stale_temps(folder)
            with progress_bar(len(todo), show_progress, progress_every) as advance, graceful_stop() as stopping:
                for item in todo:
                    if item.reason:
                        rows.append(failed_row(item.path, item.reason, item.error))
                        advance()
                if paths:
                    os.close(open_nofollow(state_dir / "workers.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND))
                    setup = partial(start_worker, worker, config, gpu.DeviceTurns(gpu_spec, state_dir / "gpu_turns"))
                    with pool(min(workers, len(paths)), setup, state_dir / "workers.log",
                              job_timeout=config.image_timeout) as workers_pool:
                        for job, result in workers_pool.run([Job(path, codes.get(path)) for path in paths], stopping):
                            path = job.path
                            if isinstance(result, (Crashed, TimedOut)):
                                remove_temps_of(out, path)
                            if isinstance(result, Crashed):
                                if stopping():          # killed along with us: left for the resume
                                    continue
                                result = failed_row(path, "worker_crashed", f"{result.describe()} while masking it")
                            elif isinstance(result, TimedOut):
                                result = failed_row(path, "timeout", f"{result.describe()}: its worker was stopped")
                            rows.append(result)
                            processed += 1
                            advance()
        seconds = time.perf_counter() - start
        summary = {
            **rows.summary(),
            "complete": processed == len(paths),
            "this_run": {"images": processed, "skipped": len(items) - len(todo), "workers": workers,
                         "seconds": round(seconds, 2), "images_per_s": round(processed / max(seconds, 1e-9), 2)},
            "gpu": gpu.record(gpu_spec),
        }
        write_summary(shard.summary(out), summary)
        if shard.whole:
            write_parquet(out / PARQUET, manifest.load(shard.manifest(out)).values())   # sorted by path
    return summary


def write_summary(path: Path, summary: dict) -> None:
    """Write a run's summary atomically to `path`."""
    atomic_write(path, (json.dumps(summary, indent=2) + "\n").encode())


def format_summary(summary: dict) -> list[str]:
    """The summary in a few lines of text."""
    status = ", ".join(f"{key} {value['count']} ({value['percent']}%)" for key, value in summary["status"].items())
    run = summary["this_run"]
    lines = [f"{summary['images']} images: {status}",
             f"coverage {summary['coverage_percent']}%, fallback {summary['fallback_percent']}%"]
    for title, key in (("failed", "failure_reasons"), ("fallback", "fallback_reasons")):
        if summary[key]:
            lines.append(f"{title}: " + ", ".join(f"{reason} {value['count']}"
                                                  for reason, value in summary[key].items()))
    lines.append(f"this run: {run['images']} images in {run['seconds']} s ({run['images_per_s']} images/s, "
                 f"{run['workers']} workers), {run['skipped']} already done")
    return lines
