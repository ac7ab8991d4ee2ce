"""Every file hifit writes goes through here, with one set of rules:

* atomic: the content goes to a temporary file beside the target, which replaces the
  target only when the whole write succeeded (a failure never leaves a half-written
  file, nor a replaced one);
* permissions: a new file gets what a plain ``open(path, "w")`` would give (the
  umask), an existing file keeps its mode; ``mode=`` forces one (scripts: 0o755);
* errors name the user's path, never the temporary file.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import tempfile
from collections.abc import Iterator
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


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str], mode: int | None = None) -> Iterator[Path]:
    """A temporary path in the target's folder; it replaces ``path`` when the block
    succeeds and is removed when it fails."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"
        )
        os.close(fd)
    except OSError as err:
        msg = f"{target}: cannot write: {err.strerror or err}"
        raise OutputError(msg) from None
    try:
        yield Path(tmp)
        os.chmod(tmp, _default_mode(target) if mode is None else mode)
        os.replace(tmp, target)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        msg = f"{target}: cannot write: {err.strerror or err}"
        raise OutputError(msg) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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


def write_json_atomic(
    path: str | os.PathLike[str], obj: Any, *, indent: int = 2, sort_keys: bool = False
) -> None:
    text = json.dumps(
        json_safe(obj), indent=indent, sort_keys=sort_keys, allow_nan=False
    )
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
