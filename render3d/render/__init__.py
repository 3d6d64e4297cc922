"""Render stage: the EGL renderer and its shaders, the 2D fallback warp, and compositing into the photo."""
