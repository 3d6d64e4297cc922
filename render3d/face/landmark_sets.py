"""Named sets of MediaPipe face-mesh landmark indices (of the 478), shared by every stage.

The subject's right is the image's left in a frontal photo; lists that run around the face say
which way they run.
"""
from __future__ import annotations

import numpy as np

# Landmarks that barely move with expression: forehead, nose bridge, eye corners, temples, cheekbones.
RIGID_LANDMARKS = np.array([10, 151, 9, 8, 168, 6, 197, 195, 5, 33, 133, 362, 263, 127, 356,
                            234, 454, 116, 345, 123, 352, 109, 338, 67, 297, 103, 332, 21, 251])

# The jaw half of the face oval, subject's right ear to subject's left ear.
JAW = [93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288, 361, 323]
# The lower-face outline a worn mask should fill in a frontal view: the jaw from ear to ear, then up
# over the cheeks to the nose bridge (its top, LOWER_FACE_TOP) and back.
LOWER_FACE_POLYGON = JAW + [352, 280, 195, 50, 123]
LOWER_FACE_TOP = 195

NOSE_RIDGE = [6, 197, 195]              # where a mask rests on the nose
NOSE_BRIDGE = [6, 168, 197]             # between the eyes, above the mask's top edge
MOUTH_CORNER = 61                       # the subject's right mouth corner

# Points a correctly worn mask covers (nose tip and wings, lips, chin) and those it leaves clear.
COVERED_BY_MASK = [1, 98, 327, 2, 0, 13, 14, 17, 61, 291, 175]
CLEAR_OF_MASK = [33, 133, 159, 145, 362, 263, 386, 374, 105, 334]      # eye corners and lids, brows

# Outlines of the parts of the face that are not bare skin.
EYES = [7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246,
        249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466]
BROWS = [46, 52, 53, 55, 63, 65, 66, 70, 105, 107, 276, 282, 283, 285, 293, 295, 296, 300, 334, 336]
NOSTRILS = [2, 97, 98, 326, 327]
