"""MediaPipe face mesh: 478 landmarks per face, in image pixels.

Landmarks come back as an (N, 3) array per face: x and y in pixels, z in pixels on the
same scale as x (MediaPipe's relative depth times the image width; smaller is closer).
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@contextmanager
def native_logs_silenced():
    """MediaPipe's native code logs notices to the process's stderr; keep them off the user's screen."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class LandmarkModel:
    """One MediaPipe FaceMesh graph, created once and reused for every image."""

    def __init__(self, max_faces: int = 10, min_confidence: float = 0.5):
        from mediapipe.python.solution_base import SolutionBase
        from mediapipe.python.solutions import face_mesh

        self.max_faces = max_faces
        self.min_confidence = min_confidence
        self._detectors: dict[int, object] = {}  # face detectors alone, by model_selection
        # FaceMesh(static_image_mode=True, refine_landmarks=True) that also hands out the
        # detections its landmarks were fitted in, for their scores.
        with native_logs_silenced():
            self._mesh = SolutionBase(
                binary_graph_path=face_mesh._BINARYPB_FILE_PATH,
                side_inputs={"num_faces": max_faces, "with_attention": True, "use_prev_landmarks": False},
                calculator_params={
                    "facedetectionshortrangecpu__facedetectionshortrange__facedetection__"
                    "TensorsToDetectionsCalculator.min_score_thresh": min_confidence,
                    "facelandmarkcpu__ThresholdingCalculator.threshold": 0.5,
                },
                outputs=["multi_face_landmarks", "face_detections"],
            )

    def __call__(self, rgb: np.ndarray) -> list[np.ndarray]:
        """Landmarks of every face found in an HxWx3 uint8 RGB image."""
        return [landmarks for landmarks, _ in self.detect(rgb)]

    def detect(self, rgb: np.ndarray) -> list[tuple[np.ndarray, float]]:
        """Landmarks of every face found, each with the score of the detection it was fitted in."""
        h, w = rgb.shape[:2]
        with native_logs_silenced():
            result = self._mesh.process({"image": np.ascontiguousarray(rgb)})
        centres = np.array([_box_centre(d.location_data.relative_bounding_box)
                            for d in result.face_detections or []]).reshape(-1, 2)
        scores = [d.score[0] for d in result.face_detections or []]
        faces = []
        for face in result.multi_face_landmarks or []:
            normalised = np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float64)
            # Faces whose landmarks fail the presence check are dropped, so match by position.
            centre = (normalised[:, :2].min(0) + normalised[:, :2].max(0)) / 2
            nearest = int(np.argmin(np.linalg.norm((centres - centre) * (w, h), axis=1)))
            faces.append((normalised * np.array([w, h, w]), float(scores[nearest])))
        return faces

    def face_boxes(self, rgb: np.ndarray, full_range: bool = True) -> np.ndarray:
        """Face boxes from a MediaPipe face detector alone, as (N, 5) rows of x0, y0, x1, y1, score
        in pixels. The full-range detector sees faces about half the size that the mesh's own
        (short-range) detector needs; the short-range one scores like the mesh and costs less."""
        selection = int(full_range)
        if selection not in self._detectors:
            from mediapipe.python.solutions import face_detection

            with native_logs_silenced():
                self._detectors[selection] = face_detection.FaceDetection(
                    model_selection=selection, min_detection_confidence=self.min_confidence)
        h, w = rgb.shape[:2]
        with native_logs_silenced():
            result = self._detectors[selection].process(np.ascontiguousarray(rgb))
        rows = []
        for det in result.detections or []:
            box = det.location_data.relative_bounding_box
            x0, y0 = box.xmin * w, box.ymin * h
            rows.append((x0, y0, x0 + box.width * w, y0 + box.height * h, det.score[0]))
        return np.array(rows, dtype=np.float64).reshape(-1, 5)

    def close(self) -> None:
        """Release the MediaPipe graphs."""
        self._mesh.close()
        for detector in self._detectors.values():
            detector.close()


def _box_centre(box) -> tuple[float, float]:
    return box.xmin + box.width / 2, box.ymin + box.height / 2
