"""End-to-end throughput, time per stage, and the ratio to landmark-only time on the same images.

    python benchmarks/throughput.py DIR [--mask surgical] [--limit N] [--cpu-stages]

Runs in one process, like a batch worker: the engine (GL context, landmark model) is created once
and warmed up on the first image, which is not counted. Each image is masked end to end (outputs
encoded, not written), then given one plain face-mesh call; the ratio of the two is reported in
wall time and in CPU time (all threads), which a busy machine disturbs less. Target (issue #12, 250 px
copies of the dev photos): end to end at most 4x one face-mesh call. With --cpu-stages the time per
stage is CPU time too (the engine's stage clock is swapped for this process's CPU clock). The render
stage is also given in its two halves: `render.mask_vertices` (placing and lighting the mask's vertices)
and `render.gl` (drawing them).
"""
from __future__ import annotations

import argparse
import json
import time
from contextlib import contextmanager
from pathlib import Path

import blas_threads  # noqa: F401 (before numpy, which reads its setting when it loads)
import numpy as np

import render3d.pipeline
import render3d.realism
from render3d import Render3DError, default_engine
from render3d.io.image_in import load_image
from render3d.io.image_out import encode_image, output_format
from render3d.io.outputs import metadata_json
from render3d.pipeline import FitOptions
from render3d.render.renderer import Renderer

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


def images_in(folder: Path, limit: int) -> list[Path]:
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    return paths[:limit] if limit else paths


def encode_all(result) -> None:
    encode_image(result.composite, output_format(result.image.format))
    encode_image(result.layer, "png")
    encode_image(result.segmentation, "png")
    metadata_json(result.metadata)


def split_render_stage(timings: dict) -> None:
    """Time the render stage's two halves apart, as `render.mask_vertices` (the mask's vertices placed
    on the face and lit: `pipeline.draw_parts`) and `render.gl` (rasterised, resolved and read back),
    on the clock that `render3d.pipeline.timed` uses."""
    draw_parts, render = render3d.pipeline.draw_parts, Renderer.render_layers

    def timed_draw_parts(*args, **kwargs):
        with render3d.pipeline.timed(timings, "render.mask_vertices"):
            return draw_parts(*args, **kwargs)

    def timed_render(self, *args, **kwargs):
        with render3d.pipeline.timed(timings, "render.gl"):
            return render(self, *args, **kwargs)

    render3d.pipeline.draw_parts, Renderer.render_layers = timed_draw_parts, timed_render


@contextmanager
def cpu_timed(timings: dict, stage: str):
    """`render3d.timing.timed` on the process's CPU clock (all threads)."""
    start = time.process_time()
    yield
    timings[stage] = timings.get(stage, 0.0) + time.process_time() - start


def measure(paths: list[Path], options: FitOptions) -> dict:
    engine = default_engine()
    model = engine.landmark_model(options.max_faces)
    engine.fit(paths[0], options)                      # warm-up: first-call set-up is not counted
    stages: dict[str, list[float]] = {}
    end_to_end, landmark_only, end_to_end_cpu, landmark_only_cpu, faces = [], [], [], [], 0
    render_halves: dict[str, float] = {}
    split_render_stage(render_halves)
    for path in paths:
        render_halves.clear()
        start, start_cpu = time.perf_counter(), time.process_time()
        try:
            result = engine.fit(path, options)
        except Render3DError:
            continue
        result.timings.update(render_halves)
        with render3d.pipeline.timed(result.timings, "encode"):
            encode_all(result)
        end_to_end.append(time.perf_counter() - start)
        end_to_end_cpu.append(time.process_time() - start_cpu)
        faces += len(result.faces)
        for stage, seconds in result.timings.items():
            stages.setdefault(stage, []).append(seconds)
        rgb = load_image(path).rgb
        start, start_cpu = time.perf_counter(), time.process_time()
        model(rgb)
        landmark_only.append(time.perf_counter() - start)
        landmark_only_cpu.append(time.process_time() - start_cpu)
    total = sum(end_to_end)
    return {
        "images": len(end_to_end),
        "faces": faces,
        "images_per_s": round(len(end_to_end) / total, 2),
        "ms_per_image": {"median": round(1000 * float(np.median(end_to_end)), 1),
                         "p95": round(1000 * float(np.percentile(end_to_end, 95)), 1)},
        "ms_per_stage_mean": {k: round(1000 * float(np.mean(v)), 2) for k, v in stages.items()},
        "share_per_stage": {k: round(float(np.sum(v)) / total, 3) for k, v in stages.items()},
        "landmark_only_ms_mean": round(1000 * float(np.mean(landmark_only)), 2),
        "end_to_end_over_landmarks": round(total / sum(landmark_only), 2),
        "cpu_ms_per_image_mean": round(1000 * float(np.mean(end_to_end_cpu)), 1),
        "landmark_only_cpu_ms_mean": round(1000 * float(np.mean(landmark_only_cpu)), 2),
        "end_to_end_over_landmarks_cpu": round(sum(end_to_end_cpu) / sum(landmark_only_cpu), 2),
        "renderer": engine.renderer.device,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--mask", default="surgical")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--cpu-stages", action="store_true", help="time stages in CPU time, not wall time")
    args = parser.parse_args()
    if args.cpu_stages:
        render3d.pipeline.timed = render3d.realism.timed = cpu_timed
    paths = images_in(args.folder, args.limit)
    if not paths:
        raise SystemExit(f"no images under {args.folder}")
    print(json.dumps(measure(paths, FitOptions(mask=args.mask)), indent=2))


if __name__ == "__main__":
    main()
