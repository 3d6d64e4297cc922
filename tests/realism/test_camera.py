"""The photo's camera without MediaPipe or GL: blur and noise measured on synthetic images, and applied."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy.optimize import nnls

from render3d.realism.camera import (BLOCK, CameraModel, add_noise, blur, estimate_blur, estimate_noise,
                                     nonnegative_least_squares)


def shapes(size: int = 256) -> np.ndarray:
    """A sharp float32 gray image of discs and squares: edges in every orientation."""
    image = np.full((size, size), 60.0, np.float32)
    for k, (x, y) in enumerate([(60, 60), (190, 70), (70, 190), (180, 180)]):
        if k % 2:
            cv2.rectangle(image, (x - 30, y - 30), (x + 30, y + 30), 200.0, -1)
        else:
            cv2.circle(image, (x, y), 35, 200.0, -1)
    return image


@pytest.mark.parametrize("sigma", [1.5, 3.0])
def test_blur_of_a_blurred_image_is_measured(sigma):
    blurred = cv2.GaussianBlur(shapes(), (0, 0), sigma)
    covariance = estimate_blur(blurred, 0.0)
    measured = np.sqrt(np.linalg.eigvalsh(covariance))
    assert np.allclose(measured, sigma, rtol=0.35)


def test_motion_blur_reads_as_directional():
    along_x = cv2.GaussianBlur(shapes(), (0, 0), sigmaX=3.0, sigmaY=0.3)
    covariance = estimate_blur(along_x, 0.0)
    assert covariance[0, 0] > 2 * covariance[1, 1]


def test_a_sharp_image_reads_sharper_than_a_blurred_one():
    sharp, soft = (np.trace(estimate_blur(cv2.GaussianBlur(shapes(), (0, 0), s), 0.0)) for s in (0.6, 2.5))
    assert sharp < soft / 4


@pytest.mark.parametrize("sigma", [2.0, 6.0])
def test_white_noise_is_measured(sigma):
    rng = np.random.default_rng(0)
    image = np.clip(128 + rng.normal(0, sigma, (256, 256, 3)), 0, 255).round().astype(np.float32)
    skin = np.ones((256 // BLOCK + 1, 256 // BLOCK + 1), bool)
    noise, correlation = estimate_noise(image, skin)
    assert np.allclose(noise[0], sigma, rtol=0.2)                  # white component, per channel
    assert np.allclose(correlation, np.eye(3), atol=0.15)          # independent channels


def test_blur_and_noise_keep_coverage_and_colour_in_range():
    rgba = np.zeros((40, 40, 4), np.float32)
    rgba[10:30, 10:30] = (0.8, 0.2, 0.2, 1.0)
    blurred = blur(rgba, np.eye(2) * 4.0)
    assert blurred[..., 3].sum() == pytest.approx(rgba[..., 3].sum(), rel=1e-3)     # coverage is spread, not lost
    inside = blurred[..., 3] > 0.01
    assert np.allclose(blurred[inside, :3], (0.8, 0.2, 0.2), atol=1e-3)           # straight colour unchanged
    model = CameraModel(np.eye(2), np.array([[5.0, 5.0, 5.0], [0.0, 0.0, 0.0]]), np.eye(3), None)
    noisy = add_noise(blurred.copy(), model, np.random.default_rng(0), grayscale=False)
    assert np.array_equal(noisy[..., 3], blurred[..., 3]) and noisy.min() >= 0 and noisy.max() <= 1
    assert np.array_equal(noisy[~(blurred[..., 3] > 0), :3], blurred[~(blurred[..., 3] > 0), :3])
    assert np.std(noisy[15:25, 15:25, 0] - 0.8) * 255 == pytest.approx(5.0, rel=0.25)


def test_nonnegative_least_squares_matches_scipys_nnls():
    rng = np.random.default_rng(3)
    clamped = 0
    for _ in range(200):
        n = int(rng.integers(1, 4))
        a = rng.normal(size=(n + int(rng.integers(0, 3)), n))
        b = rng.normal(size=(len(a), 3))
        x = nonnegative_least_squares(a, b)
        expected = np.stack([nnls(a, b[:, c])[0] for c in range(3)], axis=1)
        assert np.allclose(x, expected, atol=1e-9)
        clamped += int((expected == 0).any())
    assert clamped > 50                                   # the bound is active in many of the draws
