"""MediaPipe face mesh: 478 landmarks per face, in image pixels.

Landmarks come back as an (N, 3) array per face: x and y in pixels, z in pixels on the
same scale as x (MediaPipe's relative depth times the image width; smaller is closer).
"""
from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

NUM_LANDMARKS = 478


class LandmarkModel:
    """One MediaPipe FaceMesh graph, created once and reused for every image."""

    def __init__(self, max_faces: int = 10, min_confidence: float = 0.5):
        from mediapipe.python.solutions import face_mesh

        self.max_faces = max_faces
        self._mesh = face_mesh.FaceMesh(
            static_image_mode=True,
            refine_landmarks=True,
            max_num_faces=max_faces,
            min_detection_confidence=min_confidence,
        )

    def __call__(self, rgb: np.ndarray) -> list[np.ndarray]:
        """Landmarks of every face found in an HxWx3 uint8 RGB image."""
        h, w = rgb.shape[:2]
        result = self._mesh.process(np.ascontiguousarray(rgb))
        faces = []
        for face in result.multi_face_landmarks or []:
            normalised = np.array([(p.x, p.y, p.z) for p in face.landmark], dtype=np.float64)
            faces.append(normalised * np.array([w, h, w]))
        return faces

    def close(self) -> None:
        self._mesh.close()
