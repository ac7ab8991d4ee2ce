"""Shared pieces of the commands: the group, input options, loading, output."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
import numpy as np

from .._io import write_json_atomic
from .._model import Model
from .._workspace import PatchSet, Workspace
from ..exceptions import HifitError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="hifit")
def cli() -> None:
    """Fast statistical inference on binned likelihoods.

    Inference commands read a pyhf JSON workspace (a signal hypothesis from a
    patchset is selected with --patchset and --patch); templates, workspace and run
    read a cabinetry YAML config. Results print as tables and, with -o, are written
    as JSON.
    """


def workspace_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """WORKSPACE argument, --patchset/--patch and --measurement."""
    options = [
        click.argument("workspace", type=click.Path(dir_okay=False)),
        click.option(
            "--patchset", type=click.Path(dir_okay=False), help="pyhf patchset JSON."
        ),
        click.option("--patch", help="Name of the patch to apply from --patchset."),
        click.option("--measurement", help="Measurement name (default: the first)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def output_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "-o",
        "--output-file",
        type=click.Path(dir_okay=False),
        help="Write the results as JSON.",
    )(func)


def jobs_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--jobs",
        "-j",
        type=click.IntRange(min=0),
        default=0,
        show_default=True,
        help="Threads for independent fits (0: one per core).",
    )(func)


def load_workspace(
    workspace: str, patchset: str | None, patch: str | None
) -> Workspace:
    if patch is not None and patchset is None:
        raise click.UsageError("--patch needs --patchset")
    ws = Workspace.load(workspace)
    if patchset is None:
        return ws
    if patch is None:
        raise click.UsageError("--patchset and --patch must be given together")
    return PatchSet.load(patchset).apply(ws, patch)


def load_model(
    workspace: str,
    patchset: str | None,
    patch: str | None,
    measurement: str | None,
    *,
    no_poi: bool = False,
    need_poi: bool = False,
) -> tuple[Workspace, Model, np.ndarray]:
    """Workspace, model and data. Without --no-poi a model whose POI only exists after
    a signal patch (a background-only file) falls back to no POI with a note."""
    ws = load_workspace(workspace, patchset, patch)
    if no_poi:
        model = ws.model(measurement_name=measurement, poi_name=None)
    else:
        try:
            model = ws.model(measurement_name=measurement)
        except HifitError as err:
            if need_poi or "parameter of interest" not in str(err):
                raise
            click.echo(
                "note: the measurement's POI is not in the model; using no POI",
                err=True,
            )
            model = ws.model(measurement_name=measurement, poi_name=None)
    if need_poi and model.config.poi_index is None:
        raise click.UsageError(
            "this command needs a model with a parameter of interest"
        )
    return ws, model, ws.data(model)


def resolve_jobs(jobs: int) -> int:
    import os

    return jobs or os.cpu_count() or 1


def write_output(output_file: str | None, payload: dict[str, Any]) -> None:
    if output_file:
        write_json_atomic(output_file, payload)
