"""Errors that reach the user as one line and a documented exit code."""


class Render3DError(Exception):
    """Base class: `exit_code` is what the command line exits with."""

    exit_code = 1


class InputError(Render3DError):
    """The input is missing, unreadable, not an image, corrupt, truncated or too large."""

    exit_code = 3


class NoFaceError(Render3DError):
    """No face was found in the image."""

    exit_code = 4


class OutputError(Render3DError):
    """An output file could not be written."""

    exit_code = 5


class MaskError(Render3DError):
    """An unknown mask name or a malformed mask asset."""

    exit_code = 6
