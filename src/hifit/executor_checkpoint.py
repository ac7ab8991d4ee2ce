"""Append-only checkpoint of finished work items, so an interrupted run resumes.

One JSON object per line: a header ``{"checkpoint": 1, "run": ...}`` naming the run
(its inputs and options), then ``{"job": name, "i": index, "key": item, "r": result}``
per finished item. Each line goes out in one ``write`` on an ``O_APPEND`` descriptor,
so a killed process leaves at most a truncated last line, which reading skips.
Floats keep every bit (``json`` writes ``repr``); NaN and infinities are allowed
here because this file is hifit's own scratch, never a result.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .exceptions import HifitError


class CheckpointError(HifitError, ValueError):
    """A checkpoint that belongs to another run."""


def _read_lines(path: Path) -> list[dict[str, Any]]:
    records = []
    with open(path, encoding="utf-8") as stream:
        for line in stream:
            if not line.endswith("\n"):
                break  # the process died while writing this line
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return records


def _key(item: Any) -> Any:
    """An item as stored beside its result, to check on resume that the index still
    means the same item; items without a plain JSON form are matched by index."""
    if isinstance(item, str | int | float | bool) or item is None:
        return item
    if isinstance(item, list | tuple) and all(
        isinstance(x, str | int | float | bool) for x in item
    ):
        return list(item)
    return None


class Checkpoint:
    """The checkpoint file of one run. ``run`` describes the run (inputs, options);
    a resumed run must describe itself the same way.

    Without ``resume`` an existing file is started afresh; with it, its finished
    items are reused. :meth:`remove` deletes the file once the output is written.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, run: Any = None, resume: bool = False
    ) -> None:
        self.path = Path(path)
        self.run = json.loads(json.dumps(run))  # the form it has after a round trip
        self._done: dict[tuple[str, int], dict[str, Any]] = {}
        self._names: dict[str, int] = {}
        if resume and self.path.exists():
            records = _read_lines(self.path)
            if not records or records[0].get("checkpoint") != 1:
                raise CheckpointError(f"{self.path} is not a hifit checkpoint")
            if records[0].get("run") != self.run:
                raise CheckpointError(
                    f"{self.path} was written by another run (other inputs or "
                    "options); remove it or run without --resume"
                )
            for rec in records[1:]:
                self._done[(rec["job"], int(rec["i"]))] = rec
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.unlink(missing_ok=True)
            self._append([{"checkpoint": 1, "run": self.run}])

    def job(
        self,
        name: str,
        *,
        encode: Callable[[Any], Any] | None = None,
        decode: Callable[[Any], Any] | None = None,
    ) -> CheckpointJob:
        """The part of the checkpoint for one ``Executor.map`` call. ``encode`` turns a
        result into JSON-able data and ``decode`` back (default: stored as is).
        A name asked for again (one more ``map`` of the same kind, as HybridNew's
        batches) gets a number: a resumed run makes the same calls in the same order,
        as its finished results are the same."""
        seen = self._names.get(name, 0)
        self._names[name] = seen + 1
        if seen:
            name = f"{name}#{seen}"
        return CheckpointJob(
            self, name, encode or (lambda r: r), decode or (lambda r: r)
        )

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

    def _append(self, records: Iterable[dict[str, Any]]) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            for rec in records:
                os.write(fd, (json.dumps(rec, separators=(",", ":")) + "\n").encode())
        finally:
            os.close(fd)


class CheckpointJob:
    """Finished items of one ``map`` call, by index into its items."""

    def __init__(
        self,
        checkpoint: Checkpoint,
        name: str,
        encode: Callable[[Any], Any],
        decode: Callable[[Any], Any],
    ) -> None:
        self.checkpoint = checkpoint
        self.name = name
        self.encode = encode
        self.decode = decode

    def finished(self, items: list[Any]) -> dict[int, Any]:
        """Results already in the file, by item index (checked against the items)."""
        out = {}
        for (job, i), rec in self.checkpoint._done.items():
            if job != self.name:
                continue
            if i >= len(items) or rec.get("key") != _key(items[i]):
                raise CheckpointError(
                    f"{self.checkpoint.path}: item {i} of {job!r} is not the same "
                    "item as in this run; remove the checkpoint or run without --resume"
                )
            out[i] = self.decode(rec["r"])
        return out

    def record(self, first: int, items: list[Any], results: list[Any]) -> None:
        """Append the results of items ``first, first + 1, ...``."""
        self.checkpoint._append(
            {
                "job": self.name,
                "i": first + k,
                "key": _key(item),
                "r": self.encode(result),
            }
            for k, (item, result) in enumerate(zip(items, results, strict=True))
        )


class _Recording:
    """The checkpoint of a run reached through layers that do not pass one along
    (``hifit combine``'s methods, cabinetry's fit functions), created at the first
    fan-out that asks for it: a run without one leaves no file."""

    def __init__(self, path: Path, run: Any, resume: bool) -> None:
        self.path, self.run, self.resume = path, run, resume
        self.checkpoint: Checkpoint | None = None

    def job(self, name: str, **coding: Any) -> CheckpointJob:
        if self.checkpoint is None:
            self.checkpoint = Checkpoint(self.path, run=self.run, resume=self.resume)
        return self.checkpoint.job(name, **coding)


_CURRENT: contextvars.ContextVar[_Recording | None] = contextvars.ContextVar(
    "hifit_checkpoint", default=None
)


@contextlib.contextmanager
def recording(
    path: str | os.PathLike[str], *, run: Any = None, resume: bool = False
) -> Iterator[_Recording]:
    """Inside the block, :func:`current_job` gives parts of the checkpoint at
    ``path`` (see :class:`Checkpoint` for ``run`` and ``resume``)."""
    rec = _Recording(Path(path), run, resume)
    if resume and rec.path.exists():  # refuse another run's file before any work
        rec.checkpoint = Checkpoint(rec.path, run=run, resume=True)
    token = _CURRENT.set(rec)
    try:
        yield rec
    finally:
        _CURRENT.reset(token)


def current_job(
    name: str,
    *,
    encode: Callable[[Any], Any] | None = None,
    decode: Callable[[Any], Any] | None = None,
) -> CheckpointJob | None:
    """The next part of the checkpoint :func:`recording` opened, or None outside."""
    rec = _CURRENT.get()
    return rec.job(name, encode=encode, decode=decode) if rec is not None else None


def recording_active() -> bool:
    return _CURRENT.get() is not None
