"""Dataset batches: mirrored layout, manifest and summary, bad inputs, determinism, SIGKILL and resume,
worker crashes, list files and confinement, and the training-time augmentation."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

from render3d.batch.dataset import Item, checked, read_list
from render3d.batch.runner import BatchConfig, ImageWorker, Job, run_batch
from render3d.pipeline import FitOptions

RENDER3D = Path(sys.executable).with_name("render3d")
MAX_PIXELS = 10_000_000
FACES = ["id_0001/001.jpg", "id_0001/002.jpg", "id_0001/003.png", "id_0002/002.jpg", "id_0002/003.png",
         "id_0003/001.png", "id_0003/002.jpg", "id_0003/003.jpg", "id_0004/001.jpg", "id_0004/002.jpg"]
BAD = ["bad/bomb.png", "bad/corrupt.jpg", "bad/empty.png", "bad/notes.jpg"]
NO_FACE = ["id_0002/001.jpg"]


def save(path: Path, image: Image.Image, **params) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **params)


def jpeg_bytes(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def build_tree(root: Path) -> None:
    """Identity folders of faces in many encodings, a photo without a face, and broken files."""
    face = skimage.data.astronaut()
    upright = face[:, 40:440]                                       # 512 high, 400 wide
    save(root / "id_0001/001.jpg", Image.fromarray(face), quality=92)
    save(root / "id_0001/002.jpg", Image.fromarray(face[:, ::-1]), quality=92)
    save(root / "id_0001/003.png", Image.fromarray(face).convert("RGBA"))                    # alpha
    save(root / "id_0002/001.jpg", Image.fromarray(skimage.data.coffee()), quality=92)       # no face
    save(root / "id_0002/002.jpg", Image.fromarray(face).convert("CMYK"), quality=92)        # CMYK JPEG
    gray16 = (face.mean(2) * 257).astype(np.uint16)
    save(root / "id_0002/003.png", Image.fromarray(gray16))                                  # 16-bit
    save(root / "id_0003/001.png", Image.fromarray(face).convert("P", palette=Image.ADAPTIVE))  # palette
    exif = Image.Exif()
    exif[0x0112] = 6                                                # shown turned 90 degrees clockwise
    save(root / "id_0003/002.jpg", Image.fromarray(np.rot90(upright).copy()), quality=92, exif=exif)
    save(root / "id_0003/003.jpg", Image.fromarray(face).resize((384, 384)), quality=92)
    save(root / "id_0004/001.jpg", Image.fromarray(face).rotate(8), quality=92)
    save(root / "id_0004/002.jpg", Image.fromarray(face[30:470, 60:480]), quality=92)
    save(root / "bad/bomb.png", Image.new("L", (4000, 3000)))       # 12 MP, above MAX_PIXELS
    (root / "bad/corrupt.jpg").write_bytes(jpeg_bytes(face)[:20_000])
    (root / "bad/empty.png").write_bytes(b"")
    (root / "bad/notes.jpg").write_text("not a photo\n")


def batch(input_dir: Path, output_dir: Path, *args) -> subprocess.CompletedProcess:
    command = [RENDER3D, "batch", input_dir, output_dir, "--max-pixels", MAX_PIXELS, *args]
    return subprocess.run([str(a) for a in command], capture_output=True, text=True, timeout=300)


def rows(output_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (output_dir / "manifest.jsonl").read_text().splitlines()]


def without_timings(manifest: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "timings"} for row in manifest]


def output_files(output_dir: Path) -> dict[str, bytes]:
    """Every output the engine wrote (not the manifest, summary or run state), by relative path."""
    return {p.relative_to(output_dir).as_posix(): p.read_bytes() for p in output_dir.rglob("*")
            if p.is_file() and p.name not in ("manifest.jsonl", "manifest.parquet", "summary.json")
            and ".render3d" not in p.parts}


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("photos")
    build_tree(root)
    return root


def batched(tree: Path, out: Path, workers: int, run=batch) -> Path:
    """`out`, holding an uninterrupted batch over `tree` with `workers` workers, run by `run(tree, out, *args)`."""
    result = run(tree, out, "--workers", workers)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def reference(tree, tmp_path_factory) -> Path:
    """An uninterrupted batch over the tree with two workers."""
    return batched(tree, tmp_path_factory.mktemp("reference"), 2)


@pytest.mark.gl
@pytest.mark.mediapipe
def test_statuses_manifest_summary_and_layout(tree, reference):
    manifest = {row["path"]: row for row in rows(reference)}
    assert sorted(manifest) == sorted(FACES + BAD + NO_FACE)
    for path in FACES:
        row = manifest[path]
        assert row["status"] in ("ok", "fallback"), row
        assert row["faces"] == 1 and row["masks"] == ["surgical"] and row["wear"] == ["correct"]
        assert row["iou"][0] >= 0.5 and isinstance(row["seed"], int) and row["timings"]["total"] > 0
        folder, stem = path.rsplit("/", 1)[0], Path(path).stem
        composite = "jpg" if path.endswith("jpg") else "png"
        assert row["outputs"] == sorted(f"{folder}/{stem}{end}" for end in
                                        (".json", "_mask.png", f"_masked.{composite}", "_seg.png"))
    for path in BAD:
        assert manifest[path]["status"] == "failed" and manifest[path]["reason"] == "bad_input"
        assert manifest[path]["error"] and not manifest[path]["outputs"]
    assert "above the limit" in manifest["bad/bomb.png"]["error"]
    assert manifest["id_0002/001.jpg"]["status"] == "no_face"
    assert manifest["id_0002/001.jpg"]["outputs"] == ["id_0002/001.json"]
    # EXIF rotation is applied: the outputs are upright, 400 wide and 512 high.
    assert Image.open(reference / "id_0003/002_seg.png").size == (400, 512)
    assert not (reference / "bad").exists()

    summary = json.loads((reference / "summary.json").read_text())
    covered = sum(summary["status"][s]["count"] for s in ("ok", "fallback"))
    assert summary["images"] == 15 and covered == 10 and summary["complete"]
    assert summary["status"]["failed"] == {"count": 4, "percent": 26.67}
    assert summary["failure_reasons"] == {"bad_input": {"count": 4, "percent": 26.67}}
    assert summary["coverage_percent"] == 66.67
    assert summary["this_run"]["images"] == 15 and summary["this_run"]["images_per_s"] > 0


@pytest.mark.gl
@pytest.mark.mediapipe
def test_rerun_skips_finished_images_and_refuses_other_options(tree, reference):
    before = (reference / "manifest.jsonl").read_bytes()
    result = batch(tree, reference, "--workers", 2)
    assert result.returncode == 0, result.stderr
    assert json.loads((reference / "summary.json").read_text())["this_run"]["skipped"] == 15
    assert (reference / "manifest.jsonl").read_bytes() == before

    changed = batch(tree, reference, "--workers", 2, "--seed", 1)
    assert changed.returncode == 2
    assert "other options (seed)" in changed.stderr and "--force" in changed.stderr
    assert (reference / "manifest.jsonl").read_bytes() == before


@pytest.mark.gl
@pytest.mark.mediapipe
def test_one_worker_gives_the_same_bytes_as_two(tree, reference, tmp_path):
    result = batch(tree, tmp_path, "--workers", 1)
    assert result.returncode == 0, result.stderr
    assert output_files(tmp_path) == output_files(reference)
    assert without_timings(rows(tmp_path)) == without_timings(rows(reference))


def start_and_signal(tree: Path, output_dir: Path, signum: int) -> subprocess.CompletedProcess:
    """Start a one-worker batch and send `signum` to it and its workers once the first row is written."""
    command = [str(a) for a in (RENDER3D, "batch", tree, output_dir, "--max-pixels", MAX_PIXELS, "--workers", 1)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    manifest = output_dir / "manifest.jsonl"
    deadline = time.monotonic() + 120
    while not (manifest.exists() and manifest.read_bytes().count(b"\n") >= 1):
        assert process.poll() is None and time.monotonic() < deadline, "the batch ended before the signal"
        time.sleep(0.02)
    os.killpg(process.pid, signum)                  # the whole process group, as a terminal or scheduler does
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


@pytest.mark.gl
@pytest.mark.mediapipe
def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tree, tmp_path):
    process = start_and_signal(tree, tmp_path, signal.SIGINT)
    assert process.returncode == 130
    assert "to resume, run the same command again" in process.stderr
    assert not json.loads((tmp_path / "summary.json").read_text())["complete"]
    manifest = rows(tmp_path)
    assert 1 <= len(manifest) < 15
    assert all((tmp_path / path).exists() for row in manifest for path in row["outputs"])


@pytest.mark.gl
@pytest.mark.mediapipe
def test_sigkill_then_resume_equals_an_uninterrupted_run(tree, reference, tmp_path):
    start_and_signal(tree, tmp_path, signal.SIGKILL)
    assert not (tmp_path / "summary.json").exists()
    assert 1 <= len(rows(tmp_path)) < 15 and "id_0004/002.jpg" not in {row["path"] for row in rows(tmp_path)}
    (tmp_path / "id_0004").mkdir(exist_ok=True)             # as a write killed before its rename leaves it
    (tmp_path / "id_0004/.002_seg.png.0123456789ab.tmp").write_bytes(b"\x89PNG half")

    result = batch(tree, tmp_path, "--workers", 1)
    assert result.returncode == 0, result.stderr
    assert output_files(tmp_path) == output_files(reference)
    assert without_timings(rows(tmp_path)) == without_timings(rows(reference))
    assert not list(tmp_path.rglob("*.tmp"))


class CrashingWorker(ImageWorker):
    """Dies in native code on images named crash.*, as a crashing decoder would."""

    def __call__(self, job: Job) -> dict:
        if Path(job.path).stem == "crash":
            os.kill(os.getpid(), signal.SIGSEGV)
        return super().__call__(job)


@pytest.mark.gl
@pytest.mark.mediapipe
def test_a_crashed_worker_fails_its_image_and_is_replaced(tmp_path):
    photos = tmp_path / "in"
    for name in ("a.jpg", "crash.jpg", "b.jpg"):
        save(photos / name, Image.fromarray(skimage.data.astronaut()), quality=92)
    config = BatchConfig(photos, tmp_path / "out", FitOptions(min_iou=0.5))
    summary = run_batch(config, [Item("a.jpg"), Item("crash.jpg"), Item("b.jpg")], workers=1,
                        worker=CrashingWorker)
    manifest = {row["path"]: row for row in rows(tmp_path / "out")}
    assert manifest["crash.jpg"]["status"] == "failed" and manifest["crash.jpg"]["reason"] == "worker_crashed"
    assert "SIGSEGV" in manifest["crash.jpg"]["error"]
    assert manifest["a.jpg"]["status"] == manifest["b.jpg"]["status"] == "ok"
    assert summary["complete"] and summary["failure_reasons"]["worker_crashed"]["count"] == 1
    assert "Segmentation fault" in (tmp_path / "out/.render3d/workers.log").read_text()


@pytest.mark.gl
@pytest.mark.mediapipe
def test_list_entries_and_output_folders_stay_confined(tmp_path):
    photos, out, outside = tmp_path / "in", tmp_path / "out", tmp_path / "outside"
    for name in ("a/1.jpg", "b/1.jpg"):
        save(photos / name, Image.fromarray(skimage.data.astronaut()), quality=92)
    outside.mkdir()
    out.mkdir()
    (out / "b").symlink_to(outside, target_is_directory=True)      # an output folder leading outside
    listing = tmp_path / "list.txt"
    listing.write_text(f"a/1.jpg\n{photos / 'b/1.jpg'}\n../in/a/1.jpg\n/etc/hostname\nmissing.jpg\n")
    result = batch(photos, out, "--list", listing, "--workers", 1, "--outputs", "layer,json")
    assert result.returncode == 0, result.stderr
    manifest = {row["path"]: row for row in rows(out)}
    assert manifest["a/1.jpg"]["status"] == "ok"
    assert sorted(p.name for p in (out / "a").iterdir()) == ["1.json", "1_mask.png"]     # only those outputs
    assert manifest["b/1.jpg"]["reason"] == "output_error" and not any(outside.iterdir())
    assert manifest["../in/a/1.jpg"]["reason"] == manifest["/etc/hostname"]["reason"] == "unsafe_path"
    assert manifest["missing.jpg"]["reason"] == "bad_input"


def test_list_reader_refuses_parent_references(tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text("x/../../y.jpg\n\n  ok.jpg  \n")
    items = read_list(listing, tmp_path / "in", tmp_path / "out")
    assert [(i.path, i.reason) for i in items] == [("x/../../y.jpg", "unsafe_path"), ("ok.jpg", None)]


def test_repeated_and_clashing_entries(tmp_path):
    items = checked([Item("a/x.jpg"), Item("a/x.png"), Item("a/x.jpg"), Item("summary.png"), Item("b/x.png")])
    assert [(i.path, i.reason) for i in items] == [("a/x.jpg", None), ("a/x.png", "name_clash"),
                                                   ("summary.png", "name_clash"), ("b/x.png", None)]


def test_torn_and_repeated_manifest_lines_are_dropped_on_resume(tmp_path):
    from render3d.batch import manifest
    from render3d.batch.runner import failed_row

    path = tmp_path / "manifest.jsonl"
    first = failed_row("a.jpg", "bad_input", "corrupt")
    second = {**failed_row("a.jpg"), "status": "ok", "faces": 1, "face_status": ["ok"], "outputs": ["a_seg.png"]}
    path.write_bytes(manifest.encode(first) + manifest.encode(second) + b'{"path": "b.jpg", "sta')
    rows_by_path = manifest.load(path)
    assert rows_by_path == {"a.jpg": manifest.encode(second)}
    manifest.compact(path, rows_by_path)
    assert path.read_bytes() == manifest.encode(second)
