"""Fitted face: landmarks -> similarity to the canonical face, head pose, expression, occluder mesh.

Image space is x right, y down (pixels) and z away from the camera (MediaPipe depth in pixels).
The canonical face maps into it as `image = scale * rotation @ canonical + translation`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from render3d.face.landmark_sets import RIGID_LANDMARKS
from render3d.face.topology import CanonicalFace, canonical_face, closed_triangles
from render3d.geometry import FLIP_YZ
from render3d.tolerances import DIRECTION_FLOOR

# Canonical (y up, z toward camera) to image axes (y down, z away): a half turn about x.
CANONICAL_TO_IMAGE_AXES = FLIP_YZ
# Head shell behind the face oval: (push back along -z in cm, scale of the oval about the head axis).
HEAD_SHELL_RINGS = ((3.0, 1.08), (9.0, 1.0), (15.0, 0.7))
HEAD_AXIS = np.array([0.0, -2.5, -9.0])
# Ears (subject's left; the right one mirrored in x), canonical cm: a flap attached to the head along
# its front root, standing out backwards at EAR_FLARE from the head's side, EAR_WIDTH at its widest.
EAR_ROOT = np.array([7.1, -8.4])            # x, z of the root line
EAR_SPAN = (-4.6, 1.3)                      # y of the lobe and of the top (about the brows)
EAR_WIDTH = 2.8
EAR_FLARE = np.radians(30.0)
# Where an ear loop hooks: over the root where the helix joins the head (near the eye's level, well below
# the ear's top, so the loop never rises past it), down the groove behind the ear, under the lobe.
EAR_HOOK = np.array([[7.55, -0.2, -8.7], [7.4, -2.4, -9.9], [7.35, -4.9, -9.0]])


@dataclass(frozen=True)
class FittedFace:
    """One face fitted to the canonical face, `image = scale * rotation @ canonical + translation`, and the
    landmarks' expression residual."""
    landmarks: np.ndarray       # (478, 3) image space
    scale: float                # pixels per canonical centimetre
    rotation: np.ndarray        # (3, 3) canonical -> image
    translation: np.ndarray     # (3,)
    residual: np.ndarray        # (478, 3) landmark offsets from the canonical face, in canonical cm

    def to_image(self, canonical_points: np.ndarray) -> np.ndarray:
        """(N, 3) canonical cm -> image space (pixels, y down, z away)."""
        return self.scale * canonical_points @ self.rotation.T + self.translation

    def to_canonical(self, image_points: np.ndarray) -> np.ndarray:
        """(N, 3) image space -> canonical cm (the inverse of `to_image`)."""
        return (image_points - self.translation) @ self.rotation / self.scale

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """x0, y0, x1, y1 of the landmarks in pixels."""
        (x0, y0), (x1, y1) = self.landmarks[:, :2].min(0), self.landmarks[:, :2].max(0)
        return float(x0), float(y0), float(x1), float(y1)

    @property
    def up(self) -> np.ndarray:
        """(2,) unit image direction (x, y; y down) of the face's up, its canonical y axis."""
        axis = self.rotation[:2, 1]
        return axis / max(float(np.linalg.norm(axis)), DIRECTION_FLOOR)

    @property
    def pose(self) -> dict[str, float]:
        """Yaw (+: face turned toward image right), pitch (+: up) and roll (+: counter-clockwise), degrees."""
        head = CANONICAL_TO_IMAGE_AXES @ self.rotation        # in a y-up, z-toward-camera frame
        forward, right = head[:, 2], head[:, 0]
        yaw = np.degrees(np.arctan2(forward[0], forward[2]))
        pitch = np.degrees(np.arctan2(forward[1], np.hypot(forward[0], forward[2])))
        roll = np.degrees(np.arctan2(right[1], right[0]))
        return {"yaw": round(float(yaw), 2), "pitch": round(float(pitch), 2), "roll": round(float(roll), 2)}


def similarity(source: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Umeyama least-squares scale, rotation and translation mapping source onto target."""
    mu_s, mu_t = source.mean(0), target.mean(0)
    s, t = source - mu_s, target - mu_t
    u, sigma, vt = np.linalg.svd(t.T @ s / len(source))
    d = np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt))])
    rotation = u @ d @ vt
    scale = float(np.trace(np.diag(sigma) @ d) / (s ** 2).sum(1).mean())
    return scale, rotation, mu_t - scale * rotation @ mu_s


def fit_face(landmarks: np.ndarray) -> FittedFace:
    """Fit the canonical face to (478, 3) image-space landmarks: scale, rotation and translation from the
    rigid landmarks, the rest as a (478, 3) residual in canonical cm."""
    face = canonical_face()
    canonical_in_image_axes = face.vertices @ CANONICAL_TO_IMAGE_AXES
    scale, rotation, translation = similarity(canonical_in_image_axes[RIGID_LANDMARKS],
                                              landmarks[RIGID_LANDMARKS])
    rotation = rotation @ CANONICAL_TO_IMAGE_AXES
    fitted = FittedFace(landmarks, scale, rotation, translation, np.zeros_like(landmarks))
    residual = fitted.to_canonical(landmarks) - face.vertices
    return FittedFace(landmarks, scale, rotation, translation, residual)


def head_shell(face: CanonicalFace) -> tuple[np.ndarray, np.ndarray]:
    """Canonical vertices and triangles of a shell from the face oval back around the head.

    Its first ring is the oval itself (landmark indices); the shell's own vertices follow.
    """
    oval = face.vertices[face.outer_loop]
    rings = [HEAD_AXIS + (oval - HEAD_AXIS) * [k, k, 1.0] - [0.0, 0.0, back] for back, k in HEAD_SHELL_RINGS]
    vertices = np.concatenate(rings + [HEAD_AXIS[None] - [0.0, 0.0, HEAD_SHELL_RINGS[-1][0]]])
    n = len(oval)
    ring_index = [face.outer_loop] + [len(face.vertices) + i * n + np.arange(n) for i in range(len(rings))]
    triangles = []
    for near, far in zip(ring_index[:-1], ring_index[1:]):
        triangles += [np.stack([near, far, np.roll(near, -1)], 1),
                      np.stack([np.roll(near, -1), far, np.roll(far, -1)], 1)]
    back_centre = len(face.vertices) + len(vertices) - 1
    last = ring_index[-1]
    triangles.append(np.stack([last, np.full(n, back_centre), np.roll(last, -1)], 1))
    return vertices, np.concatenate(triangles).astype(np.int32)


def ears(rows: int = 9, columns: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Canonical vertices and triangles of both ears' flaps (left ear first)."""
    b, a = np.meshgrid(np.linspace(0, 1, rows), np.linspace(0, 1, columns), indexing="ij")
    width = a * EAR_WIDTH * np.sqrt(np.sin(np.pi * b))
    left = np.stack([EAR_ROOT[0] + width * np.sin(EAR_FLARE), EAR_SPAN[0] + (EAR_SPAN[1] - EAR_SPAN[0]) * b,
                     EAR_ROOT[1] - width * np.cos(EAR_FLARE)], axis=-1).reshape(-1, 3)
    index = np.arange(rows * columns).reshape(rows, columns)
    quads = np.stack([index[:-1, :-1], index[1:, :-1], index[:-1, 1:], index[1:, 1:]], -1).reshape(-1, 4)
    flap = np.concatenate([quads[:, [0, 1, 2]], quads[:, [2, 1, 3]]])
    return (np.concatenate([left, left * [-1.0, 1.0, 1.0]]),
            np.concatenate([flap, flap[:, ::-1] + len(left)]).astype(np.int32))


def occluder_mesh(fitted: FittedFace) -> tuple[np.ndarray, np.ndarray]:
    """Image-space depth occluder: the fitted face with mouth and eyes closed, a head shell and ears.

    The shell and the ears follow the head rigidly; the face follows every landmark.
    """
    face = canonical_face()
    closed, hole_loops = closed_triangles()
    shell_vertices, shell_triangles = head_shell(face)
    landmarks = fitted.landmarks[:468]
    centroids = [landmarks[loop].mean(0) for loop in hole_loops]
    # Shell triangles index the 478 landmarks then the shell vertices; remap them past the centroids.
    offset = 468 + len(centroids) - len(face.vertices)
    shell_triangles = np.where(shell_triangles >= len(face.vertices), shell_triangles + offset, shell_triangles)
    ear_vertices, ear_triangles = ears()
    vertices = np.concatenate([landmarks, np.array(centroids), fitted.to_image(shell_vertices)])
    return (np.concatenate([vertices, fitted.to_image(ear_vertices)]),
            np.concatenate([closed, shell_triangles, ear_triangles + len(vertices)]))


def _rotate_about(landmarks: np.ndarray, rotation: np.ndarray, pivot: np.ndarray, which: np.ndarray) -> np.ndarray:
    fitted = fit_face(landmarks)
    canonical = fitted.to_canonical(landmarks)
    canonical[which] = (canonical[which] - pivot) @ rotation.T + pivot
    return fitted.to_image(canonical)


def turn_head(landmarks: np.ndarray, yaw_degrees: float) -> np.ndarray:
    """The same face with the head turned about its vertical axis (+: toward image right)."""
    a = np.radians(yaw_degrees)
    rotation = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    return _rotate_about(landmarks, rotation, HEAD_AXIS, np.ones(len(landmarks), bool))


JAW_HINGE = np.array([0.0, -2.5, -6.5])     # canonical cm, near the ears


def open_jaw(landmarks: np.ndarray, degrees: float) -> np.ndarray:
    """The same face with the jaw dropped: landmarks below the lips turned about the jaw hinge."""
    a = np.radians(degrees)
    rotation = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    lower = canonical_face().vertices[:, 1] < (canonical_face().vertices[13, 1] + canonical_face().vertices[14, 1]) / 2
    return _rotate_about(landmarks, rotation, JAW_HINGE, lower)
