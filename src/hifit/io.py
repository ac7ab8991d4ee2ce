"""Every file hifit writes goes through here, with one set of rules:

* atomic: the content goes to a temporary file beside the target, which replaces the
  target only when the whole write succeeded (a failure never leaves a half-written
  file, nor a replaced one);
* permissions: a new file gets what a plain ``open(path, "w")`` would give (the
  umask), an existing file keeps its mode; ``mode=`` forces one (scripts: 0o755);
* the file a symlink points to is replaced, the link stays a link;
* a path that is not a regular file (a FIFO, a device, ``/dev/stdout``) is written
  into, not replaced: the content is first completed in a temporary file elsewhere,
  then copied in;
* errors name the user's path, never the temporary file.

:func:`check_outputs` refuses, before any work, outputs that could not be written or
that would overwrite an input.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .exceptions import HifitError


class OutputError(HifitError):
    """A file could not be written."""


def _default_mode(target: Path) -> int:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


_PROC_FD = re.compile(r"^/proc/[^/]+/fd$")


def _is_stream(path: Path) -> bool:
    """A path written into rather than replaced: an existing non-regular file, or an
    open descriptor of this process (/dev/stdout, /dev/fd/N, /proc/self/fd/N), even
    when that descriptor is a regular file the shell redirected to."""
    link = Path(os.path.abspath(path))
    for _ in range(40):  # the kernel's own limit on symlink chains
        if _PROC_FD.match(os.path.realpath(link.parent)):
            return True
        if not link.is_symlink():
            break
        link = Path(os.path.abspath(link.parent / os.readlink(link)))
    try:
        return not stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def _cannot_write(path: Path, err: OSError) -> OutputError:
    return OutputError(f"{path}: cannot write: {err.strerror or err}")


@contextlib.contextmanager
def _into_stream(path: Path) -> Iterator[Path]:
    # appending: /dev/stdout redirected to a file keeps what was printed before
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except OSError as err:
        raise _cannot_write(path, err) from None
    with os.fdopen(fd, "wb") as stream, tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder) / path.name
        yield tmp
        for std in (sys.stdout, sys.stderr):  # what was printed comes first
            std.flush()
        try:
            with open(tmp, "rb") as content:
                shutil.copyfileobj(content, stream)
            stream.flush()
        except OSError as err:
            raise _cannot_write(path, err) from None


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str], mode: int | None = None) -> Iterator[Path]:
    """A temporary path in the target's folder; it replaces ``path`` (a symlink's
    target) when the block succeeds and is removed when it fails. A FIFO or device
    gets the content written into it instead."""
    if _is_stream(Path(path)):
        with _into_stream(Path(path)) as tmp:
            yield tmp
        return
    target = Path(os.path.realpath(path))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
        os.close(fd)
    except OSError as err:
        raise _cannot_write(Path(path), err) from None
    try:
        yield Path(tmp)
        os.chmod(tmp, _default_mode(target) if mode is None else mode)
        os.replace(tmp, target)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise _cannot_write(Path(path), err) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _same_file(a: str, b: str) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(
    outputs: Iterable[str | os.PathLike[str] | None],
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    *,
    folders: Iterable[str | os.PathLike[str] | None] = (),
) -> None:
    """Refuse, before any work, an output file that is an input, a directory, given
    twice, or whose folder cannot be written (missing folders are created, as the
    writers do, so the nearest existing one must be a writable directory);
    ``folders`` are output directories. ``None`` entries (options not given) are
    skipped."""
    sources = [os.fspath(p) for p in inputs if p is not None]

    def refuse_inputs(given: str) -> None:
        for source in sources:
            if _same_file(given, source):
                raise OutputError(f"{given}: is also an input; it would be overwritten")

    seen: dict[str, str] = {}
    for given in (os.fspath(p) for p in outputs if p is not None):
        if _is_stream(Path(given)):
            continue
        if Path(given).is_dir():
            raise OutputError(f"{given}: is a directory, expected a file")
        refuse_inputs(given)
        resolved = os.path.realpath(given)
        if resolved in seen:
            raise OutputError(f"{given}: written twice (also as {seen[resolved]})")
        seen[resolved] = given
        _check_folder(given, Path(resolved).parent)
    for folder in (os.fspath(p) for p in folders if p is not None):
        if Path(folder).exists() and not Path(folder).is_dir():
            raise OutputError(f"{folder}: is not a directory")
        refuse_inputs(folder)
        _check_folder(folder, Path(os.path.realpath(folder)))


def _check_folder(given: str, folder: Path) -> None:
    existing = folder
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{given}: {existing} is not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{given}: folder {existing} is not writable")


def write_text_atomic(
    path: str | os.PathLike[str], text: str, mode: int | None = None
) -> None:
    with replacing(path, mode) as tmp:
        tmp.write_text(text, encoding="utf-8")


def json_safe(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None: JSON has no NaN or
    Infinity, and results say in their ``message`` why a value is missing."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if hasattr(obj, "tolist"):  # numpy arrays and scalars
        return json_safe(obj.tolist())
    return obj


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> None:
    text = json.dumps(json_safe(obj), indent=2, allow_nan=False)
    write_text_atomic(path, text + "\n")


def save_figure(fig: Any, path: str | os.PathLike[str], **savefig: Any) -> None:
    """A matplotlib figure, its format from the target's suffix."""
    fmt = Path(path).suffix.lstrip(".") or None
    with replacing(path) as tmp:
        fig.savefig(tmp, format=fmt, **savefig)


@contextlib.contextmanager
def root_file(path: str | os.PathLike[str]) -> Iterator[Any]:
    """A new ROOT file (uproot) to fill; it replaces ``path`` when the block ends."""
    import uproot

    with replacing(path) as tmp, uproot.recreate(tmp) as out:
        yield out
