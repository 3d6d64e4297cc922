"""The batch manifest: JSON Lines, one row per image, each appended as one fsync'd whole line.

A run killed at any moment leaves at most a torn last line. `load` skips lines that do not
parse and keeps the last row of each image; `compact` rewrites the file that way (sorted by
path, through a temp file and a rename) before a run appends to it and after it ends.
Rows are held as their encoded lines, so a run needs about the manifest's size in memory.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Iterable

from render3d.io.image_out import atomic_write
from render3d.kinds import IMAGE_STATUSES

STATUSES = IMAGE_STATUSES


def encode(row: dict) -> bytes:
    """A manifest row as one sorted-key JSON line, UTF-8, newline included."""
    return (json.dumps(row, sort_keys=True, ensure_ascii=False) + "\n").encode()


def load(path: Path) -> dict[str, bytes]:
    """Encoded rows by image path; the last row of an image wins, torn or corrupt lines are skipped."""
    rows = {}
    if path.exists():
        with open(path, "rb") as lines:
            for line in lines:
                try:
                    row = json.loads(line)
                except ValueError:        # a torn last line
                    continue
                if isinstance(row, dict) and isinstance(row.get("path"), str) and isinstance(row.get("outputs"), list):
                    rows[row["path"]] = encode(row)
    return rows


def compact(path: Path, rows: dict[str, bytes]) -> None:
    """Rewrite the manifest as `rows` (one line per image, sorted by path), atomically."""
    atomic_write(path, b"".join(rows[key] for key in sorted(rows)))


class Manifest:
    """An output folder's manifest, open for appending: rows by path, compacted on opening and closing."""

    def __init__(self, path: Path):
        self.path = path
        self.rows = load(path)
        compact(path, self.rows)            # drops a torn line, so appended lines start on their own
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)

    def get(self, key: str) -> bytes | None:
        """The encoded row of an image path, or None."""
        return self.rows.get(key)

    def append(self, row: dict) -> None:
        """Add a row as one line, synced to disk before returning."""
        line = self.rows[row["path"]] = encode(row)
        data = memoryview(line)
        while data:
            data = data[os.write(self._fd, data):]
        os.fsync(self._fd)

    def close(self) -> None:
        """Compact the file and close it."""
        os.close(self._fd)
        compact(self.path, self.rows)

    def summary(self) -> dict:
        """Counts and percentages over the rows (see `summary`)."""
        return summarize(self.rows.values())

    def __enter__(self) -> "Manifest":
        return self

    def __exit__(self, *_) -> None:
        self.close()


def shares(counter: Counter, total: int) -> dict[str, dict]:
    """Counts with their percentages of `total`, by key."""
    return {key: {"count": n, "percent": percent(n, total)} for key, n in sorted(counter.items())}


def percent(part: int, total: int) -> float:
    """`part` as a percentage of `total` (0 when empty), 0.1 %."""
    return round(100.0 * part / total, 2) if total else 0.0


def summarize(lines: Iterable[bytes]) -> dict:
    """Counts and percentages over every image in the manifest: by status, failure and fallback reason."""
    status, failures, fallbacks, faces = Counter({key: 0 for key in STATUSES}), Counter(), Counter(), Counter()
    for line in lines:
        row = json.loads(line)
        status[row["status"]] += 1
        if row["status"] == "failed":
            failures[row["reason"]] += 1
        elif row["status"] == "fallback":
            fallbacks[row["reason"]] += 1
        faces.update(row["face_status"])
    total = sum(status.values())
    return {
        "images": total,
        "status": {key: {"count": status[key], "percent": percent(status[key], total)} for key in STATUSES},
        "failure_reasons": shares(failures, total),
        "fallback_reasons": shares(fallbacks, total),
        "coverage_percent": percent(status["ok"] + status["fallback"], total),
        "fallback_percent": percent(status["fallback"], total),
        "faces": sum(faces.values()),
        "face_status": shares(faces, sum(faces.values())),
    }
