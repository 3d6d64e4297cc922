"""A batch's report, the picture to check before training on it: `OUT/report/index.html` with PNG plots
(counts by status, mask, wear and reason; the IoU histogram) and contact sheets of samples per mask,
of fallbacks and of failures, read from the manifest and the outputs it names."""
from __future__ import annotations

import html
import json
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from render3d.batch.manifest import STATUSES, load
from render3d.errors import InputError
from render3d.io.image_out import atomic_write, encode_image, ensure_output_dir

TILE = 160              # contact-sheet tile side, pixels
SAMPLES = 12            # tiles per sheet
COLUMNS = 6


def manifest_rows(batch_dir: Path) -> list[dict]:
    """A batch folder's manifest rows, sorted by path; InputError when it has none."""
    rows = [json.loads(line) for _, line in sorted(load(batch_dir / "manifest.jsonl").items())]
    if not rows:
        raise InputError(f"no manifest rows in {batch_dir / 'manifest.jsonl'}")
    return rows


def counts(rows: list[dict]) -> dict[str, Counter]:
    """Images by status and reason; faces by mask and wear; IoUs are in `ious`."""
    return {
        "status": Counter({status: sum(row["status"] == status for row in rows) for status in STATUSES}),
        "reason": Counter(row["reason"] for row in rows if row.get("reason")),
        "mask": Counter(m for row in rows for m in row["masks"] if m),
        "wear": Counter(w for row in rows for w in row["wear"] if w),
    }


def ious(rows: list[dict]) -> np.ndarray:
    """Every face's IoU over the rows, (F,) float."""
    return np.array([iou for row in rows for iou in row["iou"] if iou is not None], float)


def bar_plot(counter: Counter, title: str) -> bytes:
    """PNG bytes of a bar plot of `counter`'s counts."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(5, 3), dpi=100)
    names = list(counter)
    axes.bar(range(len(names)), [counter[n] for n in names], color="#4477aa")
    axes.set_xticks(range(len(names)), names, rotation=30, ha="right")
    axes.set_title(title)
    figure.tight_layout()
    return _png(figure)


def iou_histogram(values: np.ndarray) -> bytes:
    """PNG bytes of a histogram of IoU values in [0, 1]."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(5, 3), dpi=100)
    axes.hist(values, bins=np.linspace(0, 1, 21), color="#228833")
    axes.set_xlabel("IoU with the lower-face polygon")
    axes.set_ylabel("faces")
    axes.set_title(f"IoU ({len(values)} faces)")
    figure.tight_layout()
    return _png(figure)


def _png(figure) -> bytes:
    import io

    from matplotlib import pyplot

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    pyplot.close(figure)
    return buffer.getvalue()


def thumbnail(path: Path, label: str) -> np.ndarray:
    """A TILE x TILE RGB tile of the image at `path` (grey when it cannot be read), labelled at the bottom."""
    tile = Image.new("RGB", (TILE, TILE), (90, 90, 90))
    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            image.thumbnail((TILE, TILE - 14))
            tile.paste(image, ((TILE - image.width) // 2, 0))
    except (OSError, ValueError):
        pass
    ImageDraw.Draw(tile).text((3, TILE - 13), label[:26], fill=(255, 255, 255))
    return np.array(tile)


def sheet(tiles: list[np.ndarray]) -> np.ndarray:
    """Tiles laid out COLUMNS a row: (rows * TILE, COLUMNS * TILE, 3) uint8."""
    rows = -(-len(tiles) // COLUMNS)
    canvas = np.full((rows * TILE, COLUMNS * TILE, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        y, x = divmod(i, COLUMNS)
        canvas[y * TILE:(y + 1) * TILE, x * TILE:(x + 1) * TILE] = tile
    return canvas


def shown_image(batch_dir: Path, input_dir: Path | None, row: dict) -> Path:
    """The composite of a row, or its input photo when it has none (failures, no face)."""
    composites = [name for name in row["outputs"] if "_masked." in name]
    if composites:
        return batch_dir / composites[0]
    return (input_dir / row["path"]) if input_dir else batch_dir / row["path"]


def sample_groups(rows: list[dict]) -> dict[str, list[dict]]:
    """Rows to show: per mask (images with a face masked ok), fallbacks, failures; SAMPLES each, evenly spread."""
    groups: dict[str, list[dict]] = {}
    for row in rows:
        if row["status"] == "ok":
            groups.setdefault(f"mask {row['masks'][0]}", []).append(row)
        elif row["status"] in ("fallback", "failed"):
            groups.setdefault(row["status"], []).append(row)
    return {name: [members[i] for i in np.unique(np.linspace(0, len(members) - 1, SAMPLES).astype(int))]
            for name, members in sorted(groups.items())}


def write_report(batch_dir: Path, dest: Path) -> Path:
    """Write `dest/index.html` and its PNGs for the batch in `batch_dir`; returns the page's path."""
    rows = manifest_rows(batch_dir)
    run_path = batch_dir / ".render3d" / "run.json"
    input_dir = Path(json.loads(run_path.read_text())["input_dir"]) if run_path.is_file() else None
    dest = ensure_output_dir(dest)
    tallies, values = counts(rows), ious(rows)
    parts = [f"<h1>render3d batch {html.escape(str(batch_dir))}</h1>",
             f"<p>{len(rows)} images, {sum(row['faces'] for row in rows)} faces</p>"]
    for name, counter in tallies.items():
        if counter:
            atomic_write(dest / f"{name}.png", bar_plot(counter, f"by {name}"))
            table = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{v}</td></tr>" for k, v in counter.items())
            parts.append(f"<h2>By {name}</h2><img src='{name}.png'><table>{table}</table>")
    if len(values):
        atomic_write(dest / "iou.png", iou_histogram(values))
        parts.append(f"<h2>IoU</h2><img src='iou.png'><p>median {np.median(values):.3f}, "
                     f"min {values.min():.3f}</p>")
    for group, members in sample_groups(rows).items():
        file_name = "sheet_" + group.replace(" ", "_") + ".png"
        tiles = [thumbnail(shown_image(batch_dir, input_dir, row), row["reason"] or row["path"]) for row in members]
        atomic_write(dest / file_name, encode_image(sheet(tiles), "png"))
        parts.append(f"<h2>Samples: {html.escape(group)}</h2><img src='{file_name}'>")
    page = "<!doctype html><meta charset='utf-8'><title>render3d report</title>" + "\n".join(parts) + "\n"
    path = dest / "index.html"
    atomic_write(path, page.encode())
    return path
