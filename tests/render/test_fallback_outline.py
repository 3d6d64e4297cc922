"""The 2D fallback's outline trim, without GL or MediaPipe."""
from __future__ import annotations

import cv2
import numpy as np

from render3d.render.fallback import trimmed

SCALE = 20.0                  # pixels per cm: the 300 px masks are 15 cm wide


def test_the_trim_takes_teeth_and_thin_strokes_off_and_keeps_the_body():
    alpha = np.zeros((200, 300), np.float32)
    cv2.ellipse(alpha, (150, 110), (110, 70), 0, 0, 360, 1.0, -1)
    for x in range(60, 250, 30):                                   # teeth along the lower edge, 6 px wide
        cv2.fillConvexPoly(alpha, np.array([[x - 3, 170], [x + 3, 170], [x, 195]]), 1.0)
    cv2.line(alpha, (40, 100), (5, 20), 1.0, 2)                     # a broken loop stroke
    rgba = np.dstack([np.full((200, 300, 3), 0.8, np.float32), alpha])
    trim = trimmed(rgba, SCALE)
    assert trim[186:, :, 3].max() == 0.0 and trim[20:60, 5:25, 3].max() == 0.0
    body = np.zeros_like(alpha)
    cv2.ellipse(body, (150, 110), (100, 60), 0, 0, 360, 1.0, -1)
    assert (trim[..., 3][body > 0] == 1.0).all()                    # the mask itself stays whole
    # and keeps its colour wherever it covers (where it covers nothing, no output keeps a colour:
    # `composite.stack` weighs it by the alpha, `full_frame_outputs` zeroes it)
    covered = trim[..., 3] > 0
    assert np.allclose(trim[..., :3][covered], rgba[..., :3][covered], atol=1e-5)


def test_wider_teeth_are_smoothed_away_but_not_over_the_kept_region():
    """Teeth 20 px wide (7% of the width: past the opening) along the lower edge lose their tips; where the
    coverage must stay (the nose, mouth and chin of a fitted face), it does."""
    alpha = np.zeros((200, 300), np.float32)
    cv2.ellipse(alpha, (150, 100), (110, 60), 0, 0, 360, 1.0, -1)
    for x in range(70, 240, 40):
        cv2.fillConvexPoly(alpha, np.array([[x - 10, 155], [x + 10, 155], [x, 190]]), 1.0)
    rgba = np.dstack([np.full((200, 300, 3), 0.8, np.float32), alpha])
    smooth = trimmed(rgba, SCALE)[..., 3]
    assert smooth[178:].max() < 0.5
    kept = np.zeros((200, 300), bool)
    kept[150:, 140:160] = True                                       # about the tooth at x = 150
    held = trimmed(rgba, SCALE, kept)[..., 3]
    assert (held >= smooth).all() and held[kept].sum() > smooth[kept].sum() + 20
    assert np.array_equal(held[~kept], smooth[~kept])
