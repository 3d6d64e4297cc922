"""Images/s of a local batch against Ray Data actors on the same photos, at 1 and 2 workers or actors.

    python benchmarks/cluster_throughput.py DIR [--limit N] [--workers 1,2]

Needs the render3d[ray] extra. The Ray cluster is started before the timed runs (as a running
cluster would be); each run's time covers starting its workers or actors and masking every image,
into a fresh output folder. Each kind runs twice, in the order local, ray, ray, local; images/s is
over both runs. Also checks that every run wrote the first local run's bytes.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import ray
from photo_folder_args import parse_folder_args

from render3d.batch.dataset import Item, walk
from render3d.batch.pool import Pool
from render3d.batch.ray_runner import RayPool
from render3d.batch.runner import BatchConfig, run_batch
from render3d.pipeline import FitOptions


def outputs(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and ".render3d" not in p.parts and not p.name.startswith(("manifest.", "summary."))}


def main() -> None:
    args = parse_folder_args(__doc__, limit=40, workers="1,2")
    folder = args.folder.resolve()
    ray.init(num_cpus=len(os.sched_getaffinity(0)), include_dashboard=False, log_to_driver=False)
    results, scratch = {}, Path(tempfile.mkdtemp(prefix="render3d-cluster-"))
    items = [Item(p) for p in walk(folder, scratch)[:args.limit]]
    for workers in map(int, args.workers.split(",")):
        # local, ray, ray, local: a load that drifts during the runs weighs on both alike
        for turn, (name, pool) in enumerate([("local", Pool), ("ray", RayPool), ("ray", RayPool), ("local", Pool)]):
            out = scratch / f"{name}-{workers}-{turn}"
            summary = run_batch(BatchConfig(folder, out, FitOptions(min_iou=0.5)), items, workers, pool=pool)
            results.setdefault(f"{name} x{workers}", []).append(summary["this_run"]["seconds"])
            assert outputs(out) == outputs(scratch / f"local-{workers}-0"), f"{name} wrote other bytes"
    ray.shutdown()
    shutil.rmtree(scratch)
    results = {key: len(items) * len(seconds) / sum(seconds) for key, seconds in results.items()}
    rates = {key: round(value, 3) for key, value in results.items()}
    counts = [int(w) for w in args.workers.split(",")]
    ratios = {f"ray/local x{w}": round(results[f"ray x{w}"] / results[f"local x{w}"], 3) for w in counts}
    scaling = {f"{name} x{counts[-1]}/x{counts[0]}": round(results[f"{name} x{counts[-1]}"]
                                                          / results[f"{name} x{counts[0]}"], 3)
               for name in ("local", "ray")}
    print(json.dumps({"images": len(items), "images_per_s": rates, "ray_over_local": ratios, "scaling": scaling},
                     indent=2))


if __name__ == "__main__":
    main()
