"""Checks on the user's input files before they are read, with one-line messages
naming the file.

Only regular files are read: a directory cannot be, and a device or FIFO
(``/dev/zero``, ``/dev/stdin``) could be read forever, filling the memory.
"""

from __future__ import annotations

import errno
import os
import stat

from .exceptions import InvalidSpec

__all__ = ["InputFileError", "check_regular_file", "read_text_bytes", "read_utf8"]


class InputFileError(InvalidSpec):
    """An input path that is not a readable regular file, or not UTF-8 text."""


def check_regular_file(path: str | os.PathLike[str], expected: str) -> None:
    """Refuse a directory or a device; ``expected`` says what the file should have
    been (``"a ROOT file"``, ``"a YAML config"``). A missing file stays Python's
    FileNotFoundError (as ``open`` raises it)."""
    where = os.fspath(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(errno.ENOENT, "no such file", where) from None
    except OSError as err:
        raise InputFileError(f"{where}: cannot read ({err.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputFileError(f"{where}: is a directory, expected {expected}")
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(
            f"{where}: is not a regular file (a device, FIFO or socket), "
            f"expected {expected}"
        )


def read_text_bytes(path: str | os.PathLike[str], expected: str) -> bytes:
    """The bytes of a regular file that is text, not UTF-16 or binary."""
    check_regular_file(path, expected)
    where = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise InputFileError(f"{where}: cannot read ({err.strerror})") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\0" in data:
        raise InputFileError(
            f"{where}: not UTF-8 text (UTF-16 or binary?); save it as UTF-8"
        )
    return data


def read_utf8(path: str | os.PathLike[str], expected: str) -> str:
    """The text of a regular UTF-8 file; other encodings are refused naming the line
    (Python's own message names neither the file nor the line)."""
    data = read_text_bytes(path, expected)
    where = os.fspath(path)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise InputFileError(
            f"{where}:{line}: not UTF-8 text (byte {data[err.start]:#04x}); "
            "save it as UTF-8"
        ) from None
