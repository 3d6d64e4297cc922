"""Batch scaling and worker memory: `render3d batch` with 1 and 2 workers on the same photos, alternated.

    python benchmarks/batch_scaling.py DIR [--rounds 1] [--mask surgical]

Reports each run's images/s (from its summary.json: the whole run, worker start-up included), the
ratio of 2 workers to 1, and the peak resident memory (VmHWM) of the largest worker. Targets
(issue #12, 250 px photos, 2 cores): ratio at least 1.7, worker peak at most 400 MB.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from photo_folder_args import parse_folder_args

POLL_S = 0.1


def descendants(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    try:
        direct = [int(p) for p in children.read_text().split()]
    except OSError:
        return []
    return direct + [d for child in direct for d in descendants(child)]


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a process in MB, 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run(folder: Path, workers: int, mask: str) -> dict:
    """One batch into a fresh output folder: its images/s and its workers' peak memory."""
    cli = str(Path(sys.executable).with_name("render3d"))
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "out"
        process = subprocess.Popen([cli, "batch", str(folder), str(out), "--workers", str(workers), "--mask", mask],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        peaks: dict[int, float] = {}
        while process.poll() is None:
            for pid in descendants(process.pid):
                peaks[pid] = max(peaks.get(pid, 0.0), peak_rss_mb(pid))
            time.sleep(POLL_S)
        if process.returncode != 0:
            raise SystemExit(f"batch with {workers} workers exited {process.returncode}")
        summary = json.loads((out / "summary.json").read_text())
    return {"images_per_s": summary["this_run"]["images_per_s"], "worker_peak_mb": max(peaks.values(), default=0.0)}


def main() -> None:
    args = parse_folder_args(__doc__, rounds=1, mask="surgical")
    runs: dict[int, list[dict]] = {1: [], 2: []}
    for _ in range(args.rounds):
        for workers in runs:
            runs[workers].append(run(args.folder, workers, args.mask))
    rate = {w: float(np.median([r["images_per_s"] for r in rs])) for w, rs in runs.items()}
    print(json.dumps({
        "images_per_s": {f"{w}_workers": round(r, 2) for w, r in rate.items()},
        "two_over_one": round(rate[2] / rate[1], 2),
        "worker_peak_mb": round(max(r["worker_peak_mb"] for rs in runs.values() for r in rs), 1),
        "targets": {"two_over_one": 1.7, "worker_peak_mb": 400},
    }, indent=2))


if __name__ == "__main__":
    main()
