"""Reading the user's ROOT files (datacard shapes, cabinetry inputs and templates).

A ROOT file from a user may be missing, a directory, a device (``/dev/zero``), not a
ROOT file at all, truncated or damaged (zlib errors, impossible lengths, garbage
class names). uproot reports these as a dozen exception types with multi-line
messages naming its own internals. Every reader of a user ROOT file goes through here
so that each of these ends as one :class:`RootFileError` whose message names the
file and the object being read::

    card.txt:5: shapes.root: histogram 'ch1/signal': damaged compressed data (...)

A missing object (``uproot.KeyInFileError``) is left to the caller, which knows the
names worth suggesting. Only regular files are opened: a device or FIFO could be
read forever.
"""

from __future__ import annotations

import contextlib
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .exceptions import HifitError, InvalidSpec
from .input_files import InputFileError, check_regular_file

__all__ = ["RootFileError", "check_file", "open_file", "reading"]

_MAGIC = b"root"


class RootFileError(InvalidSpec):
    """A ROOT file that cannot be read: a directory or device, not ROOT, or damaged."""


def _prefix(context: str) -> str:
    return f"{context}: " if context else ""


def check_file(path: str | os.PathLike[str], context: str = "") -> None:
    """Refuse, with one line naming ``path``, anything but a regular ROOT file."""
    where = f"{_prefix(context)}{os.fspath(path)}"
    try:
        check_regular_file(path, "a ROOT file")
        with open(path, "rb") as f:
            head = f.read(len(_MAGIC))
    except InputFileError as err:
        raise RootFileError(f"{_prefix(context)}{err}") from None
    except OSError as err:
        raise RootFileError(f"{where}: cannot read ({err.strerror})") from None
    if not head:
        raise RootFileError(f"{where}: the file is empty, expected a ROOT file")
    if head != _MAGIC:
        raise RootFileError(
            f"{where}: not a ROOT file (it starts with {head!r}, not {_MAGIC!r})"
        )


def describe(err: BaseException) -> str:
    """uproot's message on one line, without its own file-path lines (the caller
    names the file) and with what the user can do about it."""
    if isinstance(err, zlib.error):
        reason = f"corrupt compressed data (zlib: {err})"
    elif isinstance(err, MemoryError):
        reason = "an object larger than the memory (damaged lengths?)"
    else:
        lines = [
            line.strip()
            for line in str(err).splitlines()
            if line.strip() and not line.strip().startswith(("in file", "for file"))
        ]
        text = " ".join(lines) or type(err).__name__
        reason = f"unreadable ({type(err).__name__}: {text})"
    return f"{reason}; the file is damaged or truncated, re-create or re-copy it"


@contextlib.contextmanager
def reading(
    path: str | os.PathLike[str], what: str, context: str = ""
) -> Iterator[None]:
    """Turn every failure while reading ``what`` (e.g. ``histogram 'ch1/sig'``) from
    ``path`` into a RootFileError; a missing key stays uproot's KeyInFileError (the
    caller names what exists), hifit's own errors stay as they are."""
    from uproot import KeyInFileError

    try:
        yield
    except (KeyInFileError, FileNotFoundError, HifitError):
        raise
    except Exception as err:  # corrupt data surfaces as any type inside uproot
        where = f"{_prefix(context)}{os.fspath(path)}: {what}"
        raise RootFileError(f"{where}: {describe(err)}") from None


def open_file(path: str | os.PathLike[str], context: str = "") -> Any:
    """``uproot.open`` of a checked regular ROOT file; close it (or use ``with``)."""
    import uproot

    check_file(path, context)
    with reading(path, "the file's header and directory", context):
        return uproot.open(Path(path))
