"""Batches beyond one machine: --shard I/N and merge, progress lines in job logs, --gpu EGL devices, Parquet."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image
from test_batch import batched, output_files, rows, without_timings

from render3d.batch.dataset import Item
from render3d.batch.merge import merge
from render3d.batch.progress import format_duration, progress_line
from render3d.batch.runner import locked
from render3d.batch.shard import Shard
from render3d.errors import OutputError

RENDER3D = Path(sys.executable).with_name("render3d")
ROOT = Path(__file__).resolve().parents[1]


def small_tree(root: Path) -> Path:
    """Five photos of faces in two identity folders, one without a face, one corrupt file."""
    face = skimage.data.astronaut()
    photos = {"id_a/1.jpg": face, "id_a/2.jpg": face[:, ::-1], "id_a/3.png": face[30:470, 60:480],
              "id_b/1.jpg": np.asarray(Image.fromarray(face).resize((384, 384))),
              "id_b/2.jpg": np.asarray(Image.fromarray(face).rotate(8)), "id_b/3.jpg": skimage.data.coffee()}
    for name, pixels in photos.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(root / name, **({"quality": 92} if name.endswith(".jpg") else {}))
    (root / "id_b/4.jpg").write_bytes(b"\xff\xd8 not a photo")
    return root


def batch(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in (RENDER3D, "batch", *args)], capture_output=True, text=True, timeout=300)


def counts(summary: dict) -> dict:
    """A summary less what only that run measured."""
    return {k: v for k, v in summary.items() if k != "this_run"}


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    return small_tree(tmp_path_factory.mktemp("photos"))


@pytest.fixture(scope="module")
def reference(tree, tmp_path_factory) -> Path:
    """The tree masked by one plain run (this file's `batch`: the command line's defaults)."""
    return batched(tree, tmp_path_factory.mktemp("whole"), 1, run=batch)


def test_a_shard_is_a_fixed_share_of_the_paths():
    paths = [f"id_{i // 10:04d}/{i % 10:03d}.jpg" for i in range(400)]
    shards = [Shard.parse(f"{i}/3") for i in range(3)]
    chosen = [[item.path for item in shard.select([Item(p) for p in paths])] for shard in shards]
    assert sorted(p for share in chosen for p in share) == sorted(paths)    # each path in one shard only
    assert all(110 <= len(share) <= 160 for share in chosen)            # about a third each
    # A path's shard depends on it alone: not on the order or the rest of the list.
    reordered = [item.path for item in shards[1].select([Item(p) for p in reversed(paths[:200])])]
    assert sorted(reordered) == sorted(p for p in chosen[1] if p in paths[:200])
    for bad in ("2/2", "1", "-1/2", "a/b", "1/0"):
        with pytest.raises(ValueError):
            Shard.parse(bad)


def readme_block(after: str) -> str:
    """The first ```sh block of the README after the text `after`."""
    text = (ROOT / "README.md").read_text()
    return text[text.index(after):].split("```sh\n", 1)[1].split("\n```", 1)[0]


@pytest.mark.gl
@pytest.mark.mediapipe
def test_two_shards_of_the_readme_array_script_then_merge_equal_one_run(tree, reference, tmp_path):
    script, out = tmp_path / "mask.sbatch", tmp_path / "out"
    script.write_text(readme_block("The array script, `mask.sbatch`:"))
    for index in (0, 1):            # the tasks of `sbatch --array=0-1 --export=ALL,SHARDS=2 mask.sbatch IN OUT`
        task = {"SLURM_ARRAY_TASK_ID": str(index), "SHARDS": "2", "SLURM_CPUS_PER_TASK": "1"}
        result = subprocess.run(["bash", str(script), str(tree), str(out)], cwd=ROOT, env={**os.environ, **task},
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
        if index == 0:
            early = subprocess.run([str(RENDER3D), "merge", str(out)], capture_output=True, text=True)
            assert early.returncode == 3 and "shards 1/2 have not run" in early.stderr
    parts = [without_timings(rows(out / f".render3d/shard-{i}-of-2")) for i in (0, 1)]
    assert parts[0] and parts[1] and not {r["path"] for r in parts[0]} & {r["path"] for r in parts[1]}
    assert not (out / "manifest.jsonl").exists()

    merged = subprocess.run([str(RENDER3D), "merge", str(out)], capture_output=True, text=True)
    assert merged.returncode == 0, merged.stderr
    assert "7 images" in merged.stdout
    assert output_files(out) == output_files(reference)
    assert without_timings(rows(out)) == without_timings(rows(reference))
    summary = json.loads((out / "summary.json").read_text())
    assert counts(summary) == counts(json.loads((reference / "summary.json").read_text()))
    assert summary["complete"] and summary["this_run"]["shards"] == 2 and summary["this_run"]["images"] == 7

    with locked(out / ".render3d/shard-1-of-2"), pytest.raises(OutputError, match="another batch"):
        merge(out)                              # not while a shard still runs

    # The merged folder resumes as one run: nothing is left to do.
    again = batch(tree, out, "--workers", 1)
    assert again.returncode == 0, again.stderr
    assert json.loads((out / "summary.json").read_text())["this_run"]["skipped"] == 7


def test_bad_shards_and_merges_are_one_line_errors(tree, tmp_path):
    result = batch(tree, tmp_path, "--shard", "2/2")
    assert result.returncode == 2 and "--shard" in result.stderr
    nothing = subprocess.run([str(RENDER3D), "merge", str(tmp_path)], capture_output=True, text=True)
    assert nothing.returncode == 3 and nothing.stderr.count("\n") == 1 and "no shard parts" in nothing.stderr


@pytest.mark.gl
@pytest.mark.mediapipe
def test_progress_lines_off_a_terminal(tree, tmp_path):
    result = batch(tree, tmp_path, "--workers", 1, "--progress-every", "0.5")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("render3d: ") and "images/s" in line]
    assert lines, result.stderr
    pattern = re.compile(r"render3d: (\d)/7 images \([\d.]+%\), ([\d.]+) images/s, ETA (\S+)")
    done = [int(pattern.fullmatch(line)[1]) for line in lines]
    assert done == sorted(done) and done[-1] <= 7
    assert progress_line(120, 5000, 40.0) == "render3d: 120/5000 images (2.4%), 3.00 images/s, ETA 27m07s"
    assert progress_line(0, 10, 5.0).endswith("0.00 images/s, ETA unknown")
    assert [format_duration(s) for s in (12, 754, 45296)] == ["12s", "12m34s", "12h34m56s"]


@pytest.mark.gl
@pytest.mark.mediapipe
def test_gpu_index_picks_the_egl_device_and_is_recorded(tree, reference, tmp_path):
    # In a fresh process, as in a worker: here the landmark model has already run (see egl_devices),
    # and the session's engine keeps its own GL context current.
    listing = ("import json; from render3d.batch.gpu import candidates, egl_devices as e; "
               "from render3d.pipeline import Engine; soft = [d.index for d in e() if d.software]; "
               "print(json.dumps([[d.describe() for d in e()], soft, candidates('auto'), "
               "[Engine(device=i).renderer.device for i in soft]]))")
    found = subprocess.run([sys.executable, "-c", listing], capture_output=True, text=True, check=True).stdout
    described, software, auto, renderers = json.loads(found)
    assert software, "Mesa's software EGL device (llvmpipe) is listed"
    assert all("llvmpipe" in name for name in renderers)
    assert not set(software) & set(auto)                            # auto deals out GPUs only
    listed = tmp_path / "list.txt"
    listed.write_text("id_a/1.jpg\nid_b/1.jpg\n")
    result = batch(tree, tmp_path / "out", "--workers", 2, "--list", listed, "--gpu", "0")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "out/summary.json").read_text())
    assert summary["gpu"] == {"requested": "0", "devices": [0], "egl_devices": described}
    assert (tmp_path / "out/.render3d/gpu_turns").read_text() == "2"          # each worker took its turn
    made = output_files(tmp_path / "out")
    assert made and made == {name: data for name, data in output_files(reference).items() if name in made}

    beyond = batch(tree, tmp_path / "other", "--gpu", str(len(described)))
    assert beyond.returncode == 2 and f"{len(described)} EGL device(s)" in beyond.stderr
    assert batch(tree, tmp_path / "other", "--gpu", "any").returncode == 2
    assert json.loads((reference / "summary.json").read_text())["gpu"] == {"requested": "none", "devices": []}


@pytest.mark.gl
@pytest.mark.mediapipe
def test_parquet_manifest_has_typed_per_face_columns(reference):
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    table = pq.read_table(reference / "manifest.parquet")
    assert table.schema.field("iou").type == pa.list_(pa.float64())
    assert table.schema.field("masks").type == pa.list_(pa.string())
    assert table.schema.field("seed").type == pa.int64() and table.schema.field("faces").type == pa.int32()
    rows = [json.loads(line) for line in (reference / "manifest.jsonl").read_text().splitlines()]
    for row in (table_rows := table.to_pylist()):
        row["timings"] = dict(row["timings"])
        assert row.pop("path_bytes") == os.fsencode(row["path"])     # these names are all UTF-8
    assert table_rows == rows
    assert [row["status"] for row in table_rows].count("ok") == 5 and table_rows[-1]["iou"] == []
