"""``--scheduler``, ``--dask local:N`` and ``--resume`` for every command that fans
out, and the checkpoint next to its output.

The options are taken out of the command's arguments and kept on the click
context, so a command only calls :func:`executor` and :func:`checkpoint` where it
fans out.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from ..executor import Executor, get_executor, parse_dask_option
from ..executor_checkpoint import Checkpoint, recording

_KEY = "hifit.executor_options"


def _check_dask(ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    if value is not None:
        try:
            parse_dask_option(value)
        except ValueError as err:
            raise click.BadParameter(str(err), param_hint="--dask") from None
    return value


def executor_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Adds --scheduler, --dask and --resume (consumed here, read back with
    :func:`executor` and :func:`checkpoint`)."""
    return _with_options(func, resume=True)


def cluster_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--scheduler and --dask only (commands without one output file to resume)."""
    return _with_options(func, resume=False)


def _with_options(func: Callable[..., Any], *, resume: bool) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        click.get_current_context().meta[_KEY] = {
            "scheduler": kwargs.pop("scheduler"),
            "dask": kwargs.pop("dask"),
            "resume": kwargs.pop("resume", False),
        }
        return func(*args, **kwargs)

    options = [
        click.option(
            "--dask",
            metavar="local:N",
            callback=_check_dask,
            help="Run the fan-out on a Dask LocalCluster of N worker processes.",
        ),
        click.option(
            "--scheduler",
            metavar="ADDRESS",
            help="Run the fan-out on a running Dask cluster (tcp://host:8786).",
        ),
    ]
    if resume:
        options.insert(
            0,
            click.option(
                "--resume",
                is_flag=True,
                help="Reuse the points an interrupted run kept in its checkpoint, "
                "<output>.checkpoint.jsonl next to the command's output file or "
                "folder (written while the run goes, removed once the output is "
                "written).",
            ),
        )
    for option in options:
        wrapper = option(wrapper)
    return wrapper


def _options() -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    found = ctx.meta.get(_KEY) if ctx is not None else None
    return found or {"scheduler": None, "dask": None, "resume": False}


def executor(jobs: int) -> Executor:
    """The executor the options ask for: a Dask cluster, else ``jobs`` threads."""
    opts = _options()
    if opts["scheduler"] and opts["dask"]:
        raise click.UsageError("give either --scheduler or --dask, not both")
    return get_executor(jobs, scheduler=opts["scheduler"], dask=opts["dask"])


@contextlib.contextmanager
def cluster_context() -> Iterator[None]:
    """With --scheduler or --dask: their executor is hifit.executor.current_executor()
    inside the block (for code that takes it from there); else nothing changes."""
    opts = _options()
    if not (opts["scheduler"] or opts["dask"]):
        yield
        return
    from ..executor import using

    with executor(1) as ex, using(ex):
        yield


@contextlib.contextmanager
def checkpoint(output_file: str | None, run: dict[str, Any]) -> Iterator[Any]:
    """The checkpoint of a run writing ``output_file`` (None without one; --resume
    then has nothing to resume from). ``run`` names the inputs and options: a resumed
    run must match it. On Ctrl-C the file stays and the user is told how to resume;
    the caller removes it once the output is written (:meth:`Checkpoint.remove`)."""
    resume = _options()["resume"]
    if output_file is None:
        if resume:
            raise click.UsageError(
                "--resume needs -o/--output-file (the checkpoint "
                "is kept next to the output)"
            )
        yield None
        return
    ckpt = Checkpoint(
        f"{output_file}.checkpoint.jsonl",
        run=json.loads(json.dumps(run, default=str)),
        resume=resume,
    )
    try:
        yield ckpt
    except KeyboardInterrupt:
        click.echo(
            f"hifit: interrupted; finished points kept in {ckpt.path} "
            "(rerun with --resume)",
            err=True,
        )
        raise


@contextlib.contextmanager
def fan_out(
    output_file: str | None, run: dict[str, Any], jobs: int
) -> Iterator[tuple[Any, Executor]]:
    """:func:`checkpoint` and :func:`executor` of a fan-out writing ``output_file``."""
    with checkpoint(output_file, run) as ckpt, executor(jobs) as ex:
        yield ckpt, ex


@contextlib.contextmanager
def checkpoint_below(output_file: str, run: dict[str, Any]) -> Iterator[None]:
    """The checkpoint of ``output_file`` for fan-outs reached through layers that do
    not pass one along (they ask ``executor_checkpoint.current_job``); the file
    appears at the first of them. Ctrl-C keeps it, as :func:`checkpoint` does."""
    path = Path(f"{output_file}.checkpoint.jsonl")
    with recording(
        path, run=json.loads(json.dumps(run, default=str)), resume=_options()["resume"]
    ):
        try:
            yield
        except KeyboardInterrupt:
            if path.exists():
                click.echo(
                    f"hifit: interrupted; finished points kept in {path} "
                    "(rerun with --resume)",
                    err=True,
                )
            raise


def remove_checkpoint(output_file: str | None) -> None:
    """After the output is written: the checkpoint has served."""
    if output_file is not None:
        Path(f"{output_file}.checkpoint.jsonl").unlink(missing_ok=True)
