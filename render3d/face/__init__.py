"""Face stage: detect every face, 478 landmarks, the canonical face topology, and the fitted face
(pose, scale, expression)."""
