"""``hifit cabinetry <command>``: cabinetry's command line on hifit's engine.

Same commands, arguments, options, defaults, log messages and figure files as the
``cabinetry`` CLI of cabinetry 0.6.0 (``templates``, ``postprocess``, ``workspace``,
``fit``, ``ranking``, ``scan``, ``limit``, ``significance``, ``data-mc``, ``yields``,
``modifier-grid``), through :mod:`hifit.cabinetry`. Unlike cabinetry, a failed fit
exits with code 1 and one line naming it, and bad input exits with code 2.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import click

from . import _executor
from ._common import cli, exit_if_failed

__all__ = ["cabinetry"]

_FIGFOLDER = click.option(
    "--figfolder",
    default="figures",
    help='folder to save figures to (default: "figures")',
)
_ASIMOV = click.option(
    "--asimov", is_flag=True, help="fit Asimov dataset (default: False)"
)


class _OrderedGroup(click.Group):
    """Commands listed in the order they were added, as cabinetry does."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)


def _set_logging() -> None:
    """cabinetry's CLI logging: INFO with the logger names (``cabinetry.fit`` ...)."""
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s - %(name)s - %(message)s"
    )
    logging.getLogger("pyhf").setLevel(logging.WARNING)


def _config(stream: TextIO) -> dict[str, Any]:
    import yaml  # not at import time: `hifit --help` stays light

    from ..cabinetry import configuration

    config = yaml.safe_load(stream)
    configuration.validate(config)
    return config


def _model_and_data(stream: TextIO, asimov: bool = False) -> tuple[Any, list[float]]:
    from ..cabinetry import model_utils

    return model_utils.model_and_data(json.load(stream), asimov=asimov)


@contextlib.contextmanager
def _fits(what: str) -> Iterator[None]:
    """A failed minimization is a failed result: exit 1 naming it, not bad input."""
    try:
        yield
    except ValueError as err:
        if not str(err).startswith("Minimization failed"):
            raise
        exit_if_failed(False, f"the {what} failed: {err}")


@cli.group(cls=_OrderedGroup)
@click.version_option(package_name="hifit")
def cabinetry() -> None:
    """cabinetry's command line (same commands and options), run by hifit."""


@cabinetry.command()
@click.argument("config", type=click.File("r"))
@click.option(
    "--method",
    default="uproot",
    help="backend for histogram production (default: uproot)",
)
def templates(config: TextIO, method: str) -> None:
    """Produces template histograms.

    CONFIG: path to cabinetry configuration file
    """
    from ..cabinetry import templates as cabinetry_templates

    _set_logging()
    cabinetry_templates.build(_config(config), method=method)


@cabinetry.command()
@click.argument("config", type=click.File("r"))
def postprocess(config: TextIO) -> None:
    """Post-processes template histograms.

    CONFIG: path to cabinetry configuration file
    """
    from ..cabinetry import templates as cabinetry_templates

    _set_logging()
    cabinetry_templates.postprocess(_config(config))


@cabinetry.command()
@click.argument("config", type=click.File("r"))
@click.argument("ws_spec", type=click.Path(dir_okay=False))
def workspace(config: TextIO, ws_spec: str) -> None:
    """Produces a ``pyhf`` workspace.

    CONFIG: path to cabinetry configuration file

    WS_SPEC: where to save the workspace containing the fit model
    """
    from ..cabinetry import workspace as cabinetry_workspace
    from ..io import write_text_atomic

    _set_logging()
    ws = cabinetry_workspace.build(_config(config))
    # cabinetry's bytes: sorted keys, 4 spaces, no final newline; folder created
    write_text_atomic(ws_spec, json.dumps(ws, sort_keys=True, indent=4))


@cabinetry.command()
@click.argument("ws_spec", type=click.File("r"))
@_ASIMOV
@click.option(
    "--minos",
    type=str,
    multiple=True,
    help="run MINOS for a parameter (default: disabled)",
)
@click.option(
    "--goodness_of_fit", is_flag=True, help="calculate goodness-of-fit (default: False)"
)
@click.option("--pulls", is_flag=True, help="produce pull plot (default: False)")
@click.option(
    "--corrmat", is_flag=True, help="produce correlation matrix (default: False)"
)
@_FIGFOLDER
def fit(
    ws_spec: TextIO,
    asimov: bool,
    minos: tuple[str, ...],
    goodness_of_fit: bool,
    pulls: bool,
    corrmat: bool,
    figfolder: str,
) -> None:
    """Fits a workspace and optionally visualizes the results.

    WS_SPEC: path to workspace used in fit
    """
    from ..cabinetry import fit as cabinetry_fit
    from ..cabinetry import visualize

    _set_logging()
    model, data = _model_and_data(ws_spec, asimov)
    with _fits("maximum-likelihood fit"):
        fit_results = cabinetry_fit.fit(
            model, data, minos=list(minos) or None, goodness_of_fit=goodness_of_fit
        )
    if pulls:
        visualize.pulls(fit_results, figure_folder=figfolder)
    if corrmat:
        visualize.correlation_matrix(fit_results, figure_folder=figfolder)


@cabinetry.command()
@click.argument("ws_spec", type=click.File("r"))
@_ASIMOV
@click.option(
    "--max_pars", default=10, help="maximum amount of parameters in plot (default: 10)"
)
@_FIGFOLDER
@_executor.executor_options
def ranking(ws_spec: TextIO, asimov: bool, max_pars: int, figfolder: str) -> None:
    """Ranks nuisance parameters and visualizes the result.

    WS_SPEC: path to workspace used in fit
    """
    from ..cabinetry import fit as cabinetry_fit
    from ..cabinetry import visualize

    _set_logging()
    model, data = _model_and_data(ws_spec, asimov)
    figure = str(Path(figfolder) / "ranking.pdf")
    run = {"command": "cabinetry ranking", "workspace": ws_spec.name, "asimov": asimov}
    # entered first: another run's checkpoint is refused before the fit
    with _executor.checkpoint_below(figure, run):
        with _fits("maximum-likelihood fit"):
            fit_results = cabinetry_fit.fit(model, data)
        with _fits("ranking (impact) fits"), _executor.cluster_context():
            ranking_results = cabinetry_fit.ranking(
                model, data, fit_results=fit_results
            )
    visualize.ranking(ranking_results, figure_folder=figfolder, max_pars=max_pars)
    _executor.remove_checkpoint(figure)


@cabinetry.command()
@click.argument("ws_spec", type=click.File("r"))
@click.argument("par_name", type=str)
@click.option(
    "--lower_bound",
    default=None,
    type=float,
    help="lower parameter bound in scan (default: auto)",
)
@click.option(
    "--upper_bound",
    default=None,
    type=float,
    help="upper parameter bound in scan (default: auto)",
)
@click.option("--n_steps", default=11, help="number of steps in scan (default: 11)")
@_ASIMOV
@_FIGFOLDER
@_executor.executor_options
def scan(
    ws_spec: TextIO,
    par_name: str,
    lower_bound: float | None,
    upper_bound: float | None,
    n_steps: int,
    asimov: bool,
    figfolder: str,
) -> None:
    """Performs and visualizes a likelihood scan over a parameter.

    Parameter bounds are determined automatically, unless both the ``lower_bound`` and
    ``upper_bound`` parameters are provided.

    WS_SPEC: path to workspace used in fit

    PAR_NAME: name of parameter to scan over
    """
    from ..cabinetry import fit as cabinetry_fit
    from ..cabinetry import visualize

    _set_logging()
    if (lower_bound is None) != (upper_bound is None):
        raise click.BadParameter(
            "Need to either specify both lower_bound and upper_bound, or neither.",
            param_hint="--lower_bound/--upper_bound",
        )
    par_range = None if lower_bound is None else (lower_bound, upper_bound)
    model, data = _model_and_data(ws_spec, asimov)
    # the figure's name, as visualize.scan gives it
    name = par_name.replace("[", "_").replace("]", "")
    figure = str(Path(figfolder) / f"scan_{name}.pdf")
    run = {
        "command": "cabinetry scan",
        "workspace": ws_spec.name,
        "par_name": par_name,
        "par_range": par_range,
        "n_steps": n_steps,
        "asimov": asimov,
    }
    with (
        _fits(f"scan fits of {par_name}"),
        _executor.cluster_context(),
        _executor.checkpoint_below(figure, run),
    ):
        scan_results = cabinetry_fit.scan(
            model, data, par_name, par_range=par_range, n_steps=n_steps
        )
    visualize.scan(scan_results, figure_folder=figfolder)
    _executor.remove_checkpoint(figure)


@cabinetry.command()
@click.argument("ws_spec", type=click.File("r"))
@_ASIMOV
@click.option(
    "--tolerance",
    default=0.01,
    help="tolerance for convergence to CLs=1-confidence_level (default: 0.01)",
)
@click.option(
    "--confidence_level",
    "--cl",
    default=0.95,
    type=click.FloatRange(0.0, 1.0, min_open=True, max_open=True),
    help="confidence level for parameter limits (default: 0.95)",
)
@_FIGFOLDER
def limit(
    ws_spec: TextIO,
    asimov: bool,
    tolerance: float,
    confidence_level: float,
    figfolder: str,
) -> None:
    """Calculates upper limits and visualizes CLs distribution.

    WS_SPEC: path to workspace used in fit
    """
    from ..cabinetry import fit as cabinetry_fit
    from ..cabinetry import visualize

    _set_logging()
    model, data = _model_and_data(ws_spec, asimov)
    with _fits("limit fits"):
        # cabinetry 0.6.0's CLI hands --tolerance to fit.limit's `tolerance` (the
        # minimizer's), not to `poi_tolerance`: kept, so both run the same search
        limit_results = cabinetry_fit.limit(
            model, data, tolerance=tolerance, confidence_level=confidence_level
        )
    visualize.limit(limit_results, figure_folder=figfolder)


@cabinetry.command()
@click.argument("ws_spec", type=click.File("r"))
@_ASIMOV
def significance(ws_spec: TextIO, asimov: bool) -> None:
    """Calculates observed and expected discovery significance.

    WS_SPEC: path to workspace used in fit
    """
    from ..cabinetry import fit as cabinetry_fit

    _set_logging()
    model, data = _model_and_data(ws_spec, asimov)
    with _fits("significance fits"):
        cabinetry_fit.significance(model, data)


@cabinetry.command("data-mc")
@click.argument("ws_spec", type=click.File("r"))
@click.option("--config", type=click.File("r"), help="cabinetry configuration file")
@click.option(
    "--postfit", is_flag=True, help="visualize post-fit model (default: pre-fit model)"
)
@_FIGFOLDER
def data_mc(
    ws_spec: TextIO, config: TextIO | None, postfit: bool, figfolder: str
) -> None:
    """Visualizes distributions of fit model and observed data.

    WS_SPEC: path to workspace
    """
    from ..cabinetry import fit as cabinetry_fit
    from ..cabinetry import model_utils, visualize

    _set_logging()
    model, data = _model_and_data(ws_spec)
    cabinetry_config = None if config is None else _config(config)
    fit_results = None
    if postfit:
        with _fits("maximum-likelihood fit"):
            fit_results = cabinetry_fit.fit(model, data)
    prediction = model_utils.prediction(model, fit_results=fit_results)
    visualize.data_mc(
        prediction,
        data,
        config=cabinetry_config,
        figure_folder=figfolder,
        close_figure=True,
        save_figure=True,
    )


@cabinetry.command()
@click.argument("ws_spec", type=click.File("r"))
@click.option(
    "--postfit", is_flag=True, help="show post-fit model (default: pre-fit model)"
)
@click.option(
    "--tablefolder",
    default="tables",
    help='folder to save tables to (default: "tables")',
)
@click.option(
    "--tablefmt",
    default="simple",
    help='format in which to save the table (default: "simple")',
)
def yields(ws_spec: TextIO, postfit: bool, tablefolder: str, tablefmt: str) -> None:
    """Creates yield tables of fit model and observed data.

    WS_SPEC: path to workspace
    """
    from ..cabinetry import fit as cabinetry_fit
    from ..cabinetry import model_utils, tabulate

    _set_logging()
    model, data = _model_and_data(ws_spec)
    fit_results = None
    if postfit:
        with _fits("maximum-likelihood fit"):
            fit_results = cabinetry_fit.fit(model, data)
    prediction = model_utils.prediction(model, fit_results=fit_results)
    tabulate.yields(prediction, data, table_folder=tablefolder, table_format=tablefmt)


@cabinetry.command("modifier-grid")
@click.argument("ws_spec", type=click.File("r"))
@click.option(
    "--split_by_sample",
    is_flag=True,
    help="split grids by sample (default: split by channel)",
)
@_FIGFOLDER
def modifier_grid(ws_spec: TextIO, split_by_sample: bool, figfolder: str) -> None:
    """Visualizes modifier structure of a model.

    WS_SPEC: path to workspace
    """
    from ..cabinetry import visualize

    _set_logging()
    model, _ = _model_and_data(ws_spec)
    visualize.modifier_grid(
        model,
        figure_folder=figfolder,
        split_by_sample=split_by_sample,
        close_figure=True,
        save_figure=True,
    )
