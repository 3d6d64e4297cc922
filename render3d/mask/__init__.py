"""Mask stage: the mask library, which mask each face gets, and mask meshes bound and placed on the fitted face."""
