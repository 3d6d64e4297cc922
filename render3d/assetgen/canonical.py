"""Build the engine's canonical face: `assets/meshes/canonical_face.obj`.

The canonical face is the MediaPipe face mesh of the public-domain astronaut photo
(scikit-image), made mirror-symmetric and turned to face the camera. Units are centimetres
(outer eye corners 9 cm apart); x points to the subject's left (image right), y up,
z toward the camera, with the photo's pitch kept (the astronaut faces the camera); the origin is
the nose bridge between the eyes (landmark 168).
Triangles are rebuilt from MediaPipe's tessellation edges, so nothing is vendored.
Every mask mesh is modelled around this face.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from render3d.face.landmarks import LandmarkModel
from render3d.geometry import flip_yz
from render3d.samples import astronaut

MIDLINE = [10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 164, 0,
           11, 12, 13, 14, 15, 16, 17, 18, 200, 199, 175, 152]
OUTER_EYE_CORNERS = (33, 263)
EYE_CORNER_DISTANCE_CM = 9.0
ORIGIN_LANDMARK = 168


def tessellation_triangles() -> np.ndarray:
    """The (854, 3) triangles whose three edges all appear in MediaPipe's tessellation."""
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

    neighbours: dict[int, set[int]] = {}
    for a, b in FACEMESH_TESSELATION:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    triangles = {tuple(sorted((a, b, c)))
                 for a in neighbours for b in neighbours[a] for c in neighbours[a] & neighbours[b]}
    return np.array(sorted(triangles), dtype=np.int32)


def orient_triangles(triangles: np.ndarray, vertices: np.ndarray) -> np.ndarray:
    """Give all triangles one winding, with normals facing +z overall."""
    oriented = triangles.copy()
    edge_owner: dict[tuple[int, int], list[int]] = {}
    for t, tri in enumerate(oriented):
        for k in range(3):
            edge_owner.setdefault(tuple(sorted((tri[k], tri[(k + 1) % 3]))), []).append(t)
    done = np.zeros(len(oriented), bool)
    for seed in range(len(oriented)):
        if done[seed]:
            continue
        done[seed] = True
        stack = [seed]
        while stack:
            t = stack.pop()
            tri = oriented[t]
            for k in range(3):
                a, b = tri[k], tri[(k + 1) % 3]
                for other in edge_owner[tuple(sorted((a, b)))]:
                    if done[other]:
                        continue
                    o = list(oriented[other])
                    # a consistent neighbour walks the shared edge the other way: b -> a
                    if any(o[j] == a and o[(j + 1) % 3] == b for j in range(3)):
                        oriented[other] = oriented[other][::-1]
                    done[other] = True
                    stack.append(other)
    v0, v1, v2 = (vertices[oriented[:, k]] for k in range(3))
    if np.cross(v1 - v0, v2 - v0)[:, 2].sum() < 0:
        oriented = oriented[:, ::-1]
    return np.ascontiguousarray(oriented)


def mirror_pairs(points: np.ndarray, midline: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mirror index of every landmark, with the symmetry plane (point, unit normal)."""
    centre = points[midline].mean(0)
    normal = np.linalg.svd(points[midline] - centre)[2][-1]
    if normal @ (points[OUTER_EYE_CORNERS[1]] - points[OUTER_EYE_CORNERS[0]]) < 0:
        normal = -normal
    reflected = points - 2 * ((points - centre) @ normal)[:, None] * normal
    cost = np.linalg.norm(reflected[:, None] - points[None], axis=2)
    rows, cols = linear_sum_assignment(cost)
    mirror = np.empty(len(points), int)
    mirror[rows] = cols
    return mirror, centre, normal


def canonical_from_landmarks(landmarks: np.ndarray) -> np.ndarray:
    """Symmetric, frontal, centimetre-scaled face from one face's image-space landmarks."""
    points = flip_yz(landmarks)          # image axes -> y up, z toward camera
    mirror, centre, normal = mirror_pairs(points, MIDLINE)
    reflected = points - 2 * ((points - centre) @ normal)[:, None] * normal
    symmetric = (points + reflected[mirror]) / 2
    up = np.array([0.0, 1.0, 0.0]) - normal[1] * normal     # image up, in the symmetry plane
    up /= np.linalg.norm(up)
    axes = np.stack([normal, up, np.cross(normal, up)])
    frontal = (symmetric - symmetric[ORIGIN_LANDMARK]) @ axes.T
    a, b = OUTER_EYE_CORNERS
    return frontal * (EYE_CORNER_DISTANCE_CM / np.linalg.norm(frontal[b] - frontal[a]))


def write_obj(path: Path, vertices: np.ndarray, triangles: np.ndarray, header: str) -> None:
    """Write (478, 3) cm vertices and (T, 3) triangles as an OBJ file with a header comment."""
    def number(value: float) -> str:     # the midline's x is zero up to MediaPipe's jitter, whose sign varies
        text = f"{value:.5f}"
        return "0.00000" if text == "-0.00000" else text

    lines = [f"# {line}" for line in header.strip().splitlines()]
    lines += ["v " + " ".join(number(c) for c in vertex) for vertex in vertices]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in triangles]
    path.write_text("\n".join(lines) + "\n")


def build(meshes_dir: Path) -> Path:
    """Fit MediaPipe to the reference photo (the bundled astronaut) and write `meshes_dir/canonical_face.obj`;
    returns its path."""
    model = LandmarkModel(max_faces=1)
    landmarks = model(astronaut())[0]
    model.close()
    vertices = canonical_from_landmarks(landmarks)
    triangles = orient_triangles(tessellation_triangles(), vertices)
    path = meshes_dir / "canonical_face.obj"
    write_obj(path, vertices, triangles,
              "render3d canonical face (generated by render3d/assetgen/canonical.py)\n"
              "478 MediaPipe landmarks in cm: x subject's left, y up, z toward camera; "
              "origin at landmark 168.\nTriangles rebuilt from MediaPipe's tessellation edges.")
    return path
