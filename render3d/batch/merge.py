"""`render3d merge OUTPUT`: the manifest parts of N shards made into one manifest and summary.

The merged manifest.jsonl holds the same rows as one run over the whole batch would (one row per
image, sorted by path), with rows already in OUTPUT's own manifest kept when they come from a run
with the same options; summary.json has the same counts, "complete" when every shard completed, and
"this_run" adds the shards up (their images, workers, and the longest shard's seconds). The shards'
run record becomes OUTPUT's, so a plain `render3d batch` with the same options resumes the merged folder.
"""
from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

from render3d.batch import manifest
from render3d.batch.dataset import MANIFEST, STATE_DIR, SUMMARY
from render3d.batch.parquet import PARQUET, write_parquet
from render3d.batch.runner import RunMismatch, locked, write_summary
from render3d.batch.shard import Shard, parts
from render3d.errors import InputError
from render3d.io.image_out import atomic_write

RUN_RECORD = "run.json"


def read_json(path: Path) -> dict | None:
    """A JSON file's content, or None where it does not exist."""
    return json.loads(path.read_text()) if path.exists() else None


def complete_shards(output_dir: Path) -> list[Shard]:
    """Every shard of the one shard count found in `output_dir`; InputError when any is missing."""
    shards = parts(output_dir)
    counts = sorted({shard.count for shard in shards})
    if not counts:
        raise InputError(f"no shard parts in {output_dir / STATE_DIR}: run `render3d batch ... --shard I/N` first")
    if len(counts) > 1:
        raise InputError(f"{output_dir} holds parts of {' and '.join(map(str, counts))} shards: merge one sharding")
    missing = sorted(set(range(counts[0])) - {shard.index for shard in shards})
    if missing:
        raise InputError(f"shards {', '.join(f'{i}/{counts[0]}' for i in missing)} have not run into {output_dir}")
    return shards


def merge(output_dir: Path) -> dict:
    """Merge the shard parts in `output_dir` into its manifest.jsonl, summary.json (returned) and,
    with pyarrow, manifest.parquet. Refuses while a shard still runs, or when the parts' options differ."""
    out = output_dir.resolve()
    shards = complete_shards(out)
    with ExitStack() as held:
        for folder in [out / STATE_DIR] + [shard.state_dir(out) for shard in shards]:
            held.enter_context(locked(folder))                 # no shard may still be writing
        records = [read_json(shard.state_dir(out) / RUN_RECORD) for shard in shards]
        if any(record != records[0] for record in records):
            raise RunMismatch(f"the shards in {out} ran with different options: re-run them alike")
        own = read_json(out / STATE_DIR / RUN_RECORD)
        if own is not None and own != records[0]:
            raise RunMismatch(f"{out} holds a batch run with other options than its shards")
        rows = manifest.load(out / MANIFEST) if own is not None else {}
        for shard in shards:
            rows.update(manifest.load(shard.manifest(out)))
        manifest.compact(out / MANIFEST, rows)
        atomic_write(out / STATE_DIR / RUN_RECORD, (json.dumps(records[0], indent=2, sort_keys=True) + "\n").encode())
        summaries = [read_json(shard.summary(out)) for shard in shards]
        runs = [part["this_run"] for part in summaries if part]
        seconds = max((run["seconds"] for run in runs), default=0.0)
        images = sum(run["images"] for run in runs)
        summary = {
            **manifest.summarize(rows.values()),
            "complete": all(part and part["complete"] for part in summaries),
            "this_run": {"images": images, "skipped": sum(run["skipped"] for run in runs),
                         "workers": sum(run["workers"] for run in runs), "seconds": seconds,
                         "images_per_s": round(images / seconds, 2) if seconds else 0.0, "shards": len(shards)},
            "gpu": {"requested": ",".join(sorted({part["gpu"]["requested"] for part in summaries if part})),
                    "devices": sorted({d for part in summaries if part for d in part["gpu"]["devices"]})},
        }
        write_summary(out / SUMMARY, summary)
        write_parquet(out / PARQUET, (rows[key] for key in sorted(rows)))
    return summary
