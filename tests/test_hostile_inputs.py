"""Hostile inputs and folders: truncated JPEGs, non-UTF-8 and over-long names, names that map onto the
batch's own state, symlinks planted in OUTPUT_DIR, hand-edited manifests, killed and hung workers,
and the command line's promises (every error is one line, documented exit codes)."""
from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import skimage.data
from PIL import Image

import render3d
from render3d.batch import manifest
from render3d.batch.dataset import Item, checked, read_list, walk
from render3d.batch.pool import Pool, TimedOut
from render3d.batch.runner import BatchConfig, ImageWorker, Job, failed_row, run_batch
from render3d.errors import InputError, OptionError
from render3d.io.image_in import load_image
from render3d.io.image_out import atomic_write
from render3d.pipeline import FitOptions

pytestmark = [pytest.mark.gl, pytest.mark.mediapipe]      # end to end: the engine, EGL and MediaPipe

CLI = [sys.executable, "-m", "render3d"]
NON_UTF8 = os.fsdecode(b"caf\xe9.jpg")
LONG_STEM = "s" * 236


def jpeg(pixels: np.ndarray, **params) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90, **params)
    return buffer.getvalue()


def truncated_jpegs(pixels: np.ndarray) -> dict[str, bytes]:
    """Cut at half with an end marker appended, and end markers written over the middle of the data."""
    data = jpeg(pixels)
    over = bytearray(data)
    over[len(data) * 2 // 3:len(data) * 2 // 3 + 2] = b"\xff\xd9"
    progressive = jpeg(pixels, progressive=True)
    return {"cut.jpg": data[:len(data) // 2] + b"\xff\xd9", "marker.jpg": bytes(over),
            "cut_progressive.jpg": progressive[:len(progressive) // 2] + b"\xff\xd9"}


def cli(*args, timeout=300, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=timeout, **kwargs)


def rows(output_dir: Path) -> dict[str, dict]:
    return {row["path"]: row for row in map(json.loads, (output_dir / "manifest.jsonl").read_bytes().splitlines())}


# D1: truncated JPEGs --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["cut.jpg", "marker.jpg", "cut_progressive.jpg"])
def test_truncated_jpegs_are_refused(astronaut, tmp_path, name):
    path = tmp_path / name
    path.write_bytes(truncated_jpegs(astronaut)[name])
    with pytest.raises(InputError, match="truncated or corrupt"):
        load_image(path)


def test_whole_jpegs_still_load(astronaut, tmp_path):
    for index, params in enumerate([{}, {"progressive": True}, {"optimize": True}, {"subsampling": 2}]):
        path = tmp_path / f"{index}.jpg"
        path.write_bytes(jpeg(astronaut, **params))
        assert load_image(path).rgb.shape == astronaut.shape
    grey = tmp_path / "grey.jpg"                    # a flat mid-grey photo is whole, not cut short
    grey.write_bytes(jpeg(np.full((64, 64, 3), 128, np.uint8)))
    assert (load_image(grey).rgb == 128).all()


# D7: one pixel limit for every decode ---------------------------------------------------------------

def test_max_pixels_governs_every_decode(astronaut, tmp_path, monkeypatch, recwarn):
    """PIL's own limit (here far below the photo) never refuses or warns: max_pixels alone decides."""
    path = tmp_path / "astronaut.jpg"
    path.write_bytes(jpeg(astronaut))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    result = render3d.fit(path, max_pixels=10 ** 6)
    assert result.status == "ok" and result.faces[0].realism["camera"]["jpeg"]["quality"] == 90
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]
    with pytest.raises(InputError, match="above the limit"):
        render3d.fit(path, max_pixels=1000)


# D13 / D14: arrays in any byte order, API arguments checked -------------------------------------------

def test_non_native_byte_order_is_accepted(astronaut):
    wide = astronaut.astype(np.uint16) * 257
    assert np.array_equal(load_image(wide.astype(">u2")).rgb, load_image(wide).rgb)
    assert np.array_equal(load_image(wide.astype(">u2")).rgb, astronaut)
    assert np.array_equal(load_image((astronaut / 255).astype(">f4")).rgb, astronaut)


@pytest.mark.parametrize("options", [{"max_faces": 0}, {"max_faces": 2.5}, {"seed": -1}, {"max_pixels": 0},
                                     {"min_iou": 1.5}, {"wear": "sideways"}, {"color": "#12345"},
                                     {"realism": "glossy"}])
def test_the_api_checks_its_arguments(astronaut, options):
    with pytest.raises(OptionError) as raised:
        render3d.fit(astronaut, **options)
    assert isinstance(raised.value, ValueError) and "\n" not in str(raised.value)


# D12: temp names within 255 bytes ---------------------------------------------------------------------

def test_long_names_are_written(tmp_path):
    path = tmp_path / f"{LONG_STEM}_masked.jpg"           # 247 bytes: fits, and so must its temp file
    atomic_write(path, b"data")
    assert path.read_bytes() == b"data" and [p.name for p in tmp_path.iterdir()] == [path.name]


# D11: hand-edited manifest rows -----------------------------------------------------------------------

def test_invalid_manifest_rows_are_dropped_and_redone(tmp_path):
    path = tmp_path / "manifest.jsonl"
    whole = failed_row("b.jpg", "bad_input", "corrupt")
    edited = [{"path": "a.jpg", "outputs": []}, {**whole, "path": "c.jpg", "status": "great"},
              {**whole, "path": "d.jpg", "outputs": ["../../etc/passwd"]}, {**whole, "path": "e.jpg", "faces": "1"}]
    path.write_bytes(b"".join(map(manifest.encode, [whole, *edited])))
    loaded = manifest.load(path)
    assert list(loaded) == ["b.jpg"]
    assert manifest.summarize(loaded.values())["images"] == 1


# D4, D8: names that map onto the state folder or read the outputs -------------------------------------

def test_no_input_maps_onto_the_state_folder():
    items = checked([Item(".render3d/run.jpg"), Item(".render3d/x/lock.png"), Item("a/.render3d/run.jpg")])
    assert [(i.path, i.reason) for i in items] == [(".render3d/run.jpg", "name_clash"),
                                                   (".render3d/x/lock.png", "name_clash"),
                                                   ("a/.render3d/run.jpg", None)]


def test_inputs_reaching_the_outputs_through_symlinks_are_refused(tmp_path):
    photos, out = tmp_path / "in", tmp_path / "out"
    (out / "id").mkdir(parents=True)
    (out / "id/x_masked.jpg").write_bytes(jpeg(skimage.data.astronaut()))
    photos.mkdir()
    (photos / "alias").symlink_to(out, target_is_directory=True)
    (photos / "link.jpg").symlink_to(out / "id/x_masked.jpg")
    (photos / "real.jpg").write_bytes(jpeg(skimage.data.astronaut()))
    listing = tmp_path / "list.txt"
    listing.write_text("alias/id/x_masked.jpg\nlink.jpg\nreal.jpg\n")
    assert [(i.path, i.reason) for i in read_list(listing, photos, out)] == [
        ("alias/id/x_masked.jpg", "unsafe_path"), ("link.jpg", "unsafe_path"), ("real.jpg", None)]
    assert walk(photos, out) == ["real.jpg"]


def test_list_files_with_non_utf8_names(tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_bytes(b"caf\xe9.jpg\n")
    assert [i.path for i in read_list(listing, tmp_path / "in", tmp_path / "out")] == [NON_UTF8]


# A batch over hostile names and a planted symlink (D1, D3, D4, D5, D12) -------------------------------

@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    photos, out, outside = root / "in", root / "out", root / "outside"
    face = skimage.data.astronaut()
    files = {NON_UTF8: jpeg(face), ".render3d/run.jpg": jpeg(face), f"{LONG_STEM}.jpg": jpeg(face),
             "sub/a.jpg": jpeg(face), **{f"bad/{k}": v for k, v in truncated_jpegs(face).items()}}
    for name, data in files.items():
        (photos / name).parent.mkdir(parents=True, exist_ok=True)
        (photos / name).write_bytes(data)
    outside.mkdir()
    (outside / ".a_seg.png.0123456789ab.tmp").write_bytes(b"someone else's file")
    out.mkdir()
    (out / "sub").symlink_to(outside, target_is_directory=True)
    first = cli("batch", photos, out, "--workers", 1, "--outputs", "seg,json")
    second = cli("batch", photos, out, "--workers", 1, "--outputs", "seg,json")
    return photos, out, outside, first, second


def test_hostile_batch_completes_and_resumes(hostile):
    _, out, _, first, second = hostile
    assert first.returncode == 0 and first.stderr == "", first.stderr
    assert second.returncode == 0 and second.stderr == "", second.stderr
    assert "this run: 0 images" in second.stdout and "7 already done" in second.stdout


def test_non_utf8_names_are_recorded_losslessly(hostile):
    _, out, _, _, _ = hostile
    line = next(line for line in (out / "manifest.jsonl").read_bytes().splitlines() if b"caf" in line)
    row = json.loads(line)
    assert os.fsencode(row["path"]) == b"caf\xe9.jpg" and row["status"] == "ok"
    assert (out / os.fsdecode(b"caf\xe9_seg.png")).is_file() and line.decode("utf-8")


def test_state_folder_names_and_long_names(hostile):
    _, out, _, _, _ = hostile
    manifest_rows = rows(out)
    assert manifest_rows[".render3d/run.jpg"]["reason"] == "name_clash"
    assert json.loads((out / ".render3d/run.json").read_text())["outputs"] == ["seg", "json"]
    assert manifest_rows[f"{LONG_STEM}.jpg"]["status"] == "ok" and (out / f"{LONG_STEM}_seg.png").is_file()


def test_truncated_jpegs_fail_in_a_batch(hostile):
    _, out, _, _, _ = hostile
    bad = {path: row for path, row in rows(out).items() if path.startswith("bad/")}
    assert len(bad) == 3 and all(r["status"] == "failed" and r["reason"] == "bad_input" for r in bad.values())


def test_nothing_outside_is_deleted_or_written(hostile):
    _, out, outside, _, _ = hostile
    assert rows(out)["sub/a.jpg"]["reason"] == "output_error"
    assert [p.name for p in outside.iterdir()] == [".a_seg.png.0123456789ab.tmp"]


# D10: symlinks planted at the state files ----------------------------------------------------------

@pytest.mark.parametrize("planted", [".render3d", ".render3d/workers.log", ".render3d/lock", ".render3d/run.json"])
def test_planted_state_symlinks_are_refused(tmp_path, planted):
    photos, out, outside = tmp_path / "in", tmp_path / "out", tmp_path / "outside"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(jpeg(skimage.data.astronaut()))
    (out / ".render3d").mkdir(parents=True)
    outside.mkdir()
    target = outside / "target"
    if planted == ".render3d":
        (out / ".render3d").rmdir()
        target.mkdir()
    (out / planted).symlink_to(target)
    result = cli("batch", photos, out, "--workers", 1, "--outputs", "json")
    assert result.returncode == 5 and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("render3d: error:") and "symlink" in result.stderr
    assert not any(outside.rglob("*")) or list(outside.rglob("*")) == [target]
    assert not target.is_file()


def test_a_planted_manifest_symlink_is_replaced_not_followed(tmp_path):
    photos, out, target = tmp_path / "in", tmp_path / "out", tmp_path / "outside.jsonl"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(jpeg(skimage.data.astronaut()))
    out.mkdir()
    (out / "manifest.jsonl").symlink_to(target)
    result = cli("batch", photos, out, "--workers", 1, "--outputs", "json")
    assert result.returncode == 0 and result.stderr == ""
    assert not target.exists() and not (out / "manifest.jsonl").is_symlink() and list(rows(out)) == ["a.jpg"]


# D9, per-image timeout: killed and hung workers --------------------------------------------------------

class DyingWorker(ImageWorker):
    """Killed half-way through writing its outputs, as the kernel's OOM killer would."""

    def __call__(self, job: Job) -> dict:
        if Path(job.path).stem == "dies":
            (self.config.output_dir / ".dies_seg.png.0123456789ab.tmp").write_bytes(b"\x89PNG half")
            os.kill(os.getpid(), signal.SIGKILL)
        if Path(job.path).stem == "hangs":
            time.sleep(600)
        return super().__call__(job)


def test_killed_and_hung_images_fail_and_leave_no_temp_files(tmp_path):
    photos, out = tmp_path / "in", tmp_path / "out"
    photos.mkdir()
    for name in ("a.jpg", "dies.jpg", "hangs.jpg", "z.jpg"):
        (photos / name).write_bytes(jpeg(skimage.data.astronaut()))
    (out / "other").mkdir(parents=True)
    config = BatchConfig(photos, out, FitOptions(min_iou=0.5), ("seg", "json"), image_timeout=20)
    start = time.monotonic()
    summary = run_batch(config, [Item(n) for n in ("a.jpg", "dies.jpg", "hangs.jpg", "z.jpg")], workers=1,
                        worker=DyingWorker)
    assert time.monotonic() - start < 300
    manifest_rows = rows(out)
    assert manifest_rows["dies.jpg"]["reason"] == "worker_crashed" and "SIGKILL" in manifest_rows["dies.jpg"]["error"]
    assert manifest_rows["hangs.jpg"]["status"] == "failed" and manifest_rows["hangs.jpg"]["reason"] == "timeout"
    assert manifest_rows["a.jpg"]["status"] == manifest_rows["z.jpg"]["status"] == "ok"
    assert summary["complete"] and not list(out.rglob("*.tmp"))


def sleeper():
    return lambda seconds: time.sleep(seconds) or seconds


def test_a_pool_job_past_its_timeout_comes_back_timed_out():
    with Pool(1, sleeper, job_timeout=5) as pool:
        results = dict(pool.run([0.1, 60, 0.2]))
    assert results[0.1] == 0.1 and results[0.2] == 0.2 and results[60] == TimedOut(5)


# Workers die with their parent; nothing is left in the process group --------------------------------

ORPHAN_SCRIPT = """
import sys, time
from render3d.batch.pool import Pool

def setup():
    return lambda seconds: time.sleep(seconds)

if __name__ == "__main__":
    with Pool(2, setup) as pool:
        print(" ".join(str(w.process.pid) for w in pool.workers), flush=True)
        for _ in pool.run([300, 300]):
            pass
"""


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_workers_die_with_their_parent(tmp_path):
    script = tmp_path / "orphans.py"
    script.write_text(ORPHAN_SCRIPT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    workers = [int(pid) for pid in parent.stdout.readline().split()]
    time.sleep(3)                                   # they are started and sleeping in their job
    assert len(workers) == 2 and all(map(alive, workers))
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while any(map(alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(alive, workers))


def process_group(pgid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(Path(stat.parent, "cmdline").read_bytes().replace(b"\0", b" ").decode()[:120])
    return found


def test_a_batch_leaves_no_process_behind(tmp_path):
    photos = tmp_path / "in"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(jpeg(skimage.data.astronaut()))
    process = subprocess.Popen([*CLI, "batch", str(photos), str(tmp_path / "out"), "--workers", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    process.communicate(timeout=300)
    assert process.returncode == 0
    assert process_group(process.pid) == []


# D6: Ctrl-C or SIGTERM while the workers start ----------------------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_while_workers_start_exits_130_with_the_resume_line(tmp_path, signum):
    photos, out = tmp_path / "in", tmp_path / "out"
    photos.mkdir()
    for index in range(3):
        (photos / f"{index}.jpg").write_bytes(jpeg(skimage.data.astronaut()))
    process = subprocess.Popen([*CLI, "batch", str(photos), str(out), "--workers", "2"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    log, deadline = out / ".render3d/workers.log", time.monotonic() + 120
    while not log.exists():                          # created just before the workers start
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.3)                                  # the workers are importing
    os.killpg(process.pid, signum)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    assert stderr.splitlines() == [l for l in stderr.splitlines() if l.startswith("render3d: ")]
    assert "to resume, run the same command again" in stderr and "Traceback" not in stderr
    assert (out / "summary.json").is_file()


def start_batch(tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    """The installed `render3d` command on a batch of 8 photos, in a session of its own; and its output folder."""
    photos, out = tmp_path / "in", tmp_path / "out"
    photos.mkdir()
    for index in range(8):                          # still at work whenever the stop comes
        (photos / f"{index}.jpg").write_bytes(jpeg(skimage.data.astronaut()))
    command = Path(sys.executable).with_name("render3d")
    return subprocess.Popen([str(command), "batch", str(photos), str(out), "--workers", "1"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True), out


@pytest.fixture(scope="module")
def seconds_to_start_workers(tmp_path_factory) -> float:
    """How long the command takes here, now, to load, parse and reach its workers' start."""
    process, out = start_batch(tmp_path_factory.mktemp("calibration"))
    started = time.monotonic()
    while not (out / ".render3d/workers.log").exists():         # created just before the workers start
        assert process.poll() is None and time.monotonic() - started < 120
        time.sleep(0.005)
    seconds = time.monotonic() - started
    os.killpg(process.pid, signal.SIGKILL)
    process.communicate()
    return seconds


@pytest.fixture(scope="module")
def seconds_to_hold_stops() -> float:
    """How long Python takes here, now, to start and import the entry point that holds stops back:
    a stop before that lands in Python's own start-up, outside the package (with a margin for load)."""
    def start_and_import() -> float:
        started = time.monotonic()
        subprocess.run([sys.executable, "-c", "import render3d.launch"], check=True)
        return time.monotonic() - started
    return 1.5 * min(start_and_import() for _ in range(3))


# from the CLI's import (held back) through Typer's parsing and the command's start to the workers' start
@pytest.mark.parametrize("signum, share", [
    *((signal.SIGINT, share) for share in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0, 1.1)),
    *((signal.SIGTERM, share) for share in (0.3, 0.6, 0.8, 1.0)),
])
def test_a_ctrl_c_while_the_command_loads_is_one_line(tmp_path, seconds_to_hold_stops, seconds_to_start_workers,
                                                      signum, share):
    """Stopped at any time while it loads and starts, the command exits 130 with one line."""
    process, _ = start_batch(tmp_path)
    time.sleep(max(seconds_to_hold_stops, share * seconds_to_start_workers))
    os.killpg(process.pid, signum)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 130, stderr
    assert len(stderr.splitlines()) == 1, stderr
    assert re.fullmatch(r"render3d: (interrupted|stopped before the end)\b.*\n", stderr), stderr


# The command line's promises: one line per error, documented exit codes ------------------------------

@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "astronaut.jpg"
    path.write_bytes(jpeg(skimage.data.astronaut()))
    return path


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("render3d: error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize("args, code", [
    (["fit", "{photo}", "--no-such-option"], 2),
    (["fit"], 2),
    (["fit", "{photo}", "--max-faces", "0"], 2),
    (["fit", "{photo}", "--wear", "sideways"], 2),
    (["fit", "{photo}", "--color", "blue"], 2),
    (["fit", "{photo}", "--seed", "-3"], 2),
    (["batch", "{tmp}", "{tmp}/out", "--outputs", "pdf"], 2),
    (["fit", "{tmp}/no\nsuch\nfile.jpg"], 3),
    (["fit", "{tmp}/cut.jpg"], 3),
    (["fit", "{photo}", "--mask", "no_such_mask"], 6),
    (["fit", "{photo}", "--texture", "{tmp}/text.jpg"], 6),
    (["fit", "{photo}", "--out", "{tmp}/file.txt"], 5),
    (["batch", "{tmp}", "{tmp}/out", "--code", "cloth-weave:plaid"], 2),
    (["batch", "{tmp}", "{tmp}/out", "--code", "cloth-pattern:tartan", "--pattern", "stars"], 2),
    (["batch", "{tmp}", "{tmp}/out", "--code", "surgical=2", "--color", "#ffffff"], 2),
    (["batch", "{tmp}", "{tmp}/out", "--code", "surgical-#00ff0=1"], 2),
    (["batch", "{tmp}", "{tmp}/out", "--code", "surgical=1,no_such_mask=1"], 6),
    (["batch", "{tmp}", "{tmp}/out", "--code", "surgical=1", "--mask", "all"], 2),
])
def test_every_error_is_one_line_with_its_exit_code(photo, tmp_path, args, code):
    (tmp_path / "text.jpg").write_text("not a picture\n")
    (tmp_path / "file.txt").write_text("a file, not a folder\n")
    (tmp_path / "cut.jpg").write_bytes(truncated_jpegs(skimage.data.astronaut())["cut.jpg"])
    result = cli(*(a.format(photo=photo, tmp=tmp_path) for a in args), cwd=tmp_path)
    assert result.returncode == code, result.stderr
    line = one_error_line(result)
    if "\n" in "".join(args):
        assert "no\\nsuch\\nfile.jpg" in line
    assert not (tmp_path / "render3d_out").exists()      # nothing written before the error


def test_out_is_checked_before_the_fit(tmp_path):
    """A bad --out is the first error, before the input is even decoded."""
    (tmp_path / "file.txt").write_text("a file, not a folder\n")
    (tmp_path / "notes.jpg").write_text("not a photo\n")
    result = cli("fit", tmp_path / "notes.jpg", "--out", tmp_path / "file.txt")
    assert result.returncode == 5 and "not a directory" in one_error_line(result)


NATIVE_NOISE_SCRIPT = """
import os, sys
from render3d.cli import main
from render3d.face.landmarks import LandmarkModel

detect = LandmarkModel.detect

def noisy_detect(self, rgb):          # as TensorFlow Lite does, now and then, on its first call
    os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\\n")
    os.write(1, b"native chatter\\n")
    return detect(self, rgb)

LandmarkModel.detect = noisy_detect
sys.argv = ["render3d", *sys.argv[1:]]
main()
"""


def test_a_fit_prints_its_outputs_and_nothing_else(photo, tmp_path):
    result = subprocess.run([sys.executable, "-c", NATIVE_NOISE_SCRIPT, "fit", str(photo), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.splitlines() == [str(tmp_path / n) for n in ("astronaut_masked.jpg", "astronaut_mask.png",
                                                                      "astronaut_seg.png", "astronaut.json")]


# D16: faces that are not faces ----------------------------------------------------------------------

def test_a_blurred_building_gets_no_mask(dev_faces):
    result = render3d.fit(dev_faces / "unmasked/faceapi_happy.jpg", min_iou=0.5)
    assert len(result.faces) == 1 and result.faces[0].bbox[0] > 250          # the woman, not the building
    assert not result.segmentation[:, :200].any()


def test_an_unsure_detection_with_skin_is_kept(astronaut, astronaut_landmarks):
    from render3d.face.detect import DetectedFace, is_plausible

    assert is_plausible(astronaut, DetectedFace(astronaut_landmarks, "full", 0.5))
    grey = np.repeat(astronaut.mean(2, keepdims=True).astype(np.uint8), 3, axis=2)      # colour cannot tell
    assert is_plausible(grey, DetectedFace(astronaut_landmarks, "full", 0.5))
    concrete = np.full_like(astronaut, (150, 150, 140))                                 # no skin anywhere
    assert not is_plausible(concrete, DetectedFace(astronaut_landmarks, "full", 0.5))
    assert is_plausible(concrete, DetectedFace(astronaut_landmarks, "full", 0.9))
