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


class EngineError(Render3DError):
    """The engine cannot run here: no GL context, a GL failure, or an engine used outside the
    process and thread that created it."""

    exit_code = 1


class OptionError(Render3DError, ValueError):
    """An option value out of range or of the wrong kind (the command line's bad usage)."""

    exit_code = 2


def one_line(text: str) -> str:
    """`text` on one printable line: control characters (a newline in a file name) and bytes that
    are not UTF-8 (surrogate escapes, as os.fsdecode gives them) are written as backslash escapes."""
    return "".join(map(_printable, text))


def _printable(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:                # a raw byte of a file name
        return f"\\x{code - 0xDC00:02x}"
    if char.isprintable():
        return char
    return char.encode("unicode_escape", "backslashreplace").decode("ascii")
