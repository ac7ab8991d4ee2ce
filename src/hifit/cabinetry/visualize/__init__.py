"""Plots of models and inference results (cabinetry's ``visualize``).

Same functions, arguments, file names and return values as ``cabinetry.visualize``:

* :func:`data_mc`: stacked pre-/post-fit model with data, one figure per channel,
  saved as ``{channel}_prefit.pdf`` / ``{channel}_postfit.pdf`` (``_log`` added
  for a logarithmic vertical axis); returns ``[{"figure", "region"}]``;
* :func:`data_mc_from_histograms`: the same pre-fit figure straight from the
  template histograms (stat.-only band), ``{region}_prefit.pdf``;
* :func:`templates`: nominal and up/down variations before and after
  post-processing per region, sample and systematic with template files, saved as
  ``templates/{region}_{sample}_{systematic}.pdf``; returns
  ``[{"figure", "region", "sample", "systematic"}]``;
* :func:`pulls` (``pulls.pdf``), :func:`correlation_matrix`
  (``correlation_matrix.pdf``), :func:`ranking` (``ranking.pdf``), :func:`scan`
  (``scan_{parameter}.pdf``), :func:`limit` (``limit.pdf``) and
  :func:`modifier_grid` (``modifier_grid.pdf``) each return a ``Figure``.

Figures are drawn with matplotlib in cabinetry's style (without changing the
global rcParams) and are never shown; ``close_figure`` closes them after saving.
hifit's addition: every function takes ``label=``, an experiment label drawn above
the (first) axes through mplhep (``label="ATLAS Internal"``: see
:func:`.utils.experiment_label`); by default there is none, as in cabinetry.
The array-level functions are in :mod:`.plot_model` and :mod:`.plot_result`.
"""

from __future__ import annotations

import functools
import inspect
import logging
import pathlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import matplotlib as mpl
import numpy as np

from ..fit.results_containers import (
    FitResults,
    LimitResults,
    RankingResults,
    ScanResults,
    from_document,
)
from . import plot_model, plot_result, utils

# a result document written by the CLI or `hifit run`: its path or its dict
Document = str | pathlib.Path | dict[str, Any]

__all__ = [
    "correlation_matrix",
    "data_mc",
    "data_mc_from_histograms",
    "limit",
    "modifier_grid",
    "plot_model",
    "plot_result",
    "pulls",
    "ranking",
    "scan",
    "templates",
]

log = logging.getLogger(__name__.removeprefix("hifit."))  # cabinetry's logger names

FigurePath = str | pathlib.Path

F = TypeVar("F", bound=Callable[..., Any])


def _with_label(func: F) -> F:
    """Give a cabinetry function hifit's keyword ``label`` (last, default None):
    the figures it draws carry that experiment label."""

    @functools.wraps(func)
    def wrapper(*args: Any, label: str | None = None, **kwargs: Any) -> Any:
        with utils.labelled(label):
            return func(*args, **kwargs)

    signature = inspect.signature(func)
    keyword = inspect.Parameter(
        "label", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="str | None"
    )
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), keyword]
    )
    return wrapper  # type: ignore[return-value]


def _figure_path(
    figure_folder: FigurePath, name: str, save_figure: bool
) -> pathlib.Path | None:
    return pathlib.Path(figure_folder) / name if save_figure else None


def _data_mc_figure_name(channel: str, label: str) -> str:
    """``{channel}_prefit.pdf`` / ``_postfit.pdf``; other labels kept verbatim."""
    label = {"pre-fit": "prefit", "post-fit": "postfit"}.get(label, label)
    return f"{channel.replace(' ', '-')}_{label}.pdf"


def _region_binning(
    config: Mapping[str, Any] | None, channel: str, n_bins: int
) -> tuple[np.ndarray, str]:
    """Bin edges and x-axis label of a channel: from the config, else 0..n, "bin"."""
    default = np.arange(n_bins + 1, dtype=float)
    if config is None:
        return default, "bin"
    region = next(
        (r for r in config.get("Regions", []) if r.get("Name") == channel), None
    )
    if region is None:
        raise ValueError(f"region {channel} not found in config")
    variable = region.get("Variable", "bin")
    if region.get("Binning"):
        return np.asarray(region["Binning"], dtype=float), variable
    return default, variable


@_with_label
def data_mc(
    model_prediction: Any,
    data: Sequence[float],
    *,
    config: Mapping[str, Any] | None = None,
    figure_folder: FigurePath = "figures",
    log_scale: bool | None = None,
    log_scale_x: bool = False,
    channels: str | Sequence[str] | None = None,
    colors: Mapping[str, str] | None = None,
    close_figure: bool = False,
    save_figure: bool = True,
) -> list[dict[str, Any]] | None:
    """Pre- or post-fit data/MC figures of a model prediction, one per channel.

    Args:
        model_prediction: a :class:`hifit.cabinetry.model_utils.ModelPrediction`
        data: observed data, with or without auxiliary data
        config: cabinetry config, for each region's ``Binning`` and ``Variable``
            (default: bins 0..n labelled "bin")
        figure_folder: folder to save figures in
        log_scale: logarithmic vertical axis; None decides per figure
        log_scale_x: logarithmic horizontal axis
        channels: channel name or names to draw (default: all)
        colors: sample name → colour, must cover all samples
        close_figure: close each figure after saving
        save_figure: save the figures as PDF

    Raises:
        ValueError: if ``colors`` misses samples, or a total yield is negative

    Returns:
        ``[{"figure": Figure, "region": channel}]``, or None if no channel matched
    """
    from .. import model_utils

    model = model_prediction.model
    if colors is not None:
        missing = set(model.config.samples).difference(colors)
        if missing:
            raise ValueError(
                f"colors need to be provided for all samples, missing for {missing}"
            )
    data_yields = model_utils._data_per_channel(model, np.asarray(data, dtype=float))
    selected = model_utils._filter_channels(model, channels)
    if not selected:
        return None

    figures = []
    for channel in selected:
        i_chan = model.config.channels.index(channel)
        bin_edges, variable = _region_binning(config, channel, len(data_yields[i_chan]))
        histograms = [
            {
                "label": sample,
                "isData": False,
                "yields": np.asarray(model_prediction.model_yields[i_chan][i_sam]),
                "variable": variable,
            }
            for i_sam, sample in enumerate(model.config.samples)
        ]
        histograms.append(
            {
                "label": "Data",
                "isData": True,
                "yields": np.asarray(data_yields[i_chan]),
                "variable": variable,
            }
        )
        fig = plot_model.data_mc(
            histograms,
            np.asarray(model_prediction.total_stdev_model_bins[i_chan][-1]),
            bin_edges,
            figure_path=_figure_path(
                figure_folder,
                _data_mc_figure_name(channel, model_prediction.label),
                save_figure,
            ),
            log_scale=log_scale,
            log_scale_x=log_scale_x,
            label=f"{channel}\n{model_prediction.label}",
            colors=colors,
            close_figure=close_figure,
        )
        figures.append({"figure": fig, "region": channel})
    return figures


def _total_yield_uncertainty(stdev_list: Sequence[np.ndarray]) -> np.ndarray:
    """Stat. uncertainty of a stack of samples: per-sample stdevs in quadrature."""
    return np.sqrt(np.sum(np.power(np.asarray(stdev_list, dtype=float), 2), axis=0))


@_with_label
def data_mc_from_histograms(
    config: Mapping[str, Any],
    *,
    figure_folder: FigurePath = "figures",
    log_scale: bool | None = None,
    log_scale_x: bool = False,
    channels: str | Sequence[str] | None = None,
    colors: Mapping[str, str] | None = None,
    close_figure: bool = False,
    save_figure: bool = True,
) -> list[dict[str, Any]]:
    """Pre-fit data/MC figures straight from the (post-processed) template histograms.

    The uncertainty band holds only the samples' statistical uncertainties, added
    in quadrature. Samples are stacked in reverse config order, so the first
    config sample ends up on top. Figures are saved as ``{region}_prefit.pdf``.

    Args:
        config: cabinetry configuration (templates in ``General.HistogramFolder``)
        figure_folder: folder to save figures in
        log_scale: logarithmic vertical axis; None decides per figure
        log_scale_x: logarithmic horizontal axis
        channels: region name or names to draw (default: all)
        colors: sample name → colour, must cover all non-data samples
        close_figure: close each figure after saving
        save_figure: save the figures as PDF

    Raises:
        ValueError: if ``colors`` misses samples

    Returns:
        ``[{"figure": Figure, "region": region name}]``
    """
    from .. import templates as hifit_templates

    log.info("visualizing histogram")
    if colors is not None:
        missing = {
            sample["Name"] for sample in config["Samples"] if not sample.get("Data")
        }.difference(colors)
        if missing:
            raise ValueError(
                f"colors need to be provided for all samples, missing for {missing}"
            )
    if isinstance(channels, str):
        channels = [channels]

    figures = []
    for region in config["Regions"]:
        if channels is not None and region["Name"] not in channels:
            continue
        variable = region.get("Variable", "bin")
        histograms, model_stdevs = [], []
        bin_edges = None
        # reverse config order: the first config sample is drawn last (on top)
        for sample in config["Samples"][::-1]:
            is_data = bool(sample.get("Data", False))
            template = hifit_templates.load_template(
                dict(config), region, sample, modified=True
            )
            histograms.append(
                {
                    "label": sample["Name"],
                    "isData": is_data,
                    "yields": template.yields,
                    "variable": variable,
                }
            )
            if not is_data:
                model_stdevs.append(template.stdev)
            bin_edges = template.bins
        fig = plot_model.data_mc(
            histograms,
            _total_yield_uncertainty(model_stdevs),
            bin_edges,
            figure_path=_figure_path(
                figure_folder,
                _data_mc_figure_name(region["Name"], "pre-fit"),
                save_figure,
            ),
            log_scale=log_scale,
            log_scale_x=log_scale_x,
            label=f"{region['Name']}\npre-fit",
            colors=colors,
            close_figure=close_figure,
        )
        figures.append({"figure": fig, "region": region["Name"]})
    return figures


def _yields_and_stdev(template: Any) -> dict[str, np.ndarray]:
    return {"yields": template.yields, "stdev": template.stdev}


@_with_label
def templates(
    config: Mapping[str, Any],
    *,
    figure_folder: FigurePath = "figures",
    close_figure: bool = False,
    save_figure: bool = True,
) -> list[dict[str, Any]]:
    """Systematic templates before and after post-processing, one figure each.

    For every region, non-data sample and systematic with an up and/or down
    template that has a post-processed (``_modified``) copy, the nominal (itself
    post-processed when possible) is drawn with the original and the modified
    variations. Normalisation-only systematics and symmetrised variations have no
    template file and are not drawn. Figures are saved as
    ``{figure_folder}/templates/{region}_{sample}_{systematic}.pdf`` (spaces → ``-``).

    Args:
        config: cabinetry configuration (templates in ``General.HistogramFolder``)
        figure_folder: folder to save figures in (a ``templates`` sub-folder is used)
        close_figure: close each figure after saving
        save_figure: save the figures as PDF

    Returns:
        ``[{"figure", "region", "sample", "systematic"}]``
    """
    from .. import template_files
    from .. import templates as hifit_templates

    log.info("visualizing systematic templates")
    histogram_folder = pathlib.Path(config["General"]["HistogramFolder"])
    template_folder = pathlib.Path(figure_folder) / "templates"
    config_dict = dict(config)

    figures = []
    for region in config["Regions"]:
        for sample in config["Samples"]:
            if sample.get("Data", False):
                continue
            for systematic in config.get("Systematics", []):
                variations: dict[str, dict[str, dict[str, np.ndarray]]] = {}
                for direction in ("Up", "Down"):
                    name = template_files.name(
                        region, sample, systematic, template=direction
                    )
                    modified = template_files.find(
                        histogram_folder, name + template_files.MODIFIED_SUFFIX
                    )
                    if modified is None:
                        continue  # no template (normalisation, symmetrised)
                    variations[direction] = {
                        kind: _yields_and_stdev(
                            hifit_templates.load_template(
                                config_dict,
                                region,
                                sample,
                                systematic,
                                direction,
                                modified=is_modified,
                            )
                        )
                        for kind, is_modified in (("orig", False), ("mod", True))
                    }
                if not variations:
                    continue
                nominal = hifit_templates.load_template(config_dict, region, sample)
                empty: dict[str, dict[str, np.ndarray]] = {"orig": {}, "mod": {}}
                up = variations.get("Up", empty)
                down = variations.get("Down", empty)
                figure_name = (
                    f"{region['Name']}_{sample['Name']}_{systematic['Name']}.pdf"
                ).replace(" ", "-")
                fig = plot_model.templates(
                    _yields_and_stdev(nominal),
                    up["orig"],
                    down["orig"],
                    up["mod"],
                    down["mod"],
                    nominal.bins,
                    # Variable is optional for histogram inputs
                    region.get("Variable", "observable"),
                    figure_path=_figure_path(template_folder, figure_name, save_figure),
                    label=(
                        f"region: {region['Name']}\nsample: {sample['Name']}"
                        f"\nsystematic: {systematic['Name']}"
                    ),
                    close_figure=close_figure,
                )
                figures.append(
                    {
                        "figure": fig,
                        "region": region["Name"],
                        "sample": sample["Name"],
                        "systematic": systematic["Name"],
                    }
                )
    return figures


@_with_label
def correlation_matrix(
    fit_results: FitResults | Document,
    *,
    figure_folder: FigurePath = "figures",
    pruning_threshold: float = 0.0,
    close_figure: bool = True,
    save_figure: bool = True,
) -> mpl.figure.Figure:
    """Correlation matrix of a fit, saved as ``correlation_matrix.pdf``.

    Fixed parameters (all-zero rows) are left out, as are parameters whose
    correlations with every other parameter are below ``pruning_threshold``.
    """
    fit_results = from_document(fit_results)
    corr = np.asarray(fit_results.corr_mat, dtype=float)
    weak = np.abs(corr) < pruning_threshold
    np.fill_diagonal(weak, True)
    drop = np.all(weak, axis=0) | np.all(corr == 0.0, axis=0)
    keep = ~drop
    return plot_result.correlation_matrix(
        corr[np.ix_(keep, keep)],
        [label for label, k in zip(fit_results.labels, keep, strict=True) if k],
        figure_path=_figure_path(figure_folder, "correlation_matrix.pdf", save_figure),
        close_figure=close_figure,
    )


@_with_label
def pulls(
    fit_results: FitResults | Document,
    *,
    figure_folder: FigurePath = "figures",
    exclude: str | Sequence[str] | None = None,
    close_figure: bool = True,
    save_figure: bool = True,
) -> mpl.figure.Figure:
    """Pull plot of a fit, saved as ``pulls.pdf``.

    Left out: parameters in ``exclude``, fixed parameters (uncertainty 0) and
    ``staterror_*`` parameters (centred at 1).
    """
    fit_results = from_document(fit_results)
    excluded = {exclude} if isinstance(exclude, str) else set(exclude or ())
    labels = list(fit_results.labels)
    uncertainty = np.asarray(fit_results.uncertainty, dtype=float)
    keep = np.array(
        [
            label not in excluded
            and uncertainty[i] != 0.0
            and not label.startswith("staterror_")
            for i, label in enumerate(labels)
        ],
        dtype=bool,
    )
    return plot_result.pulls(
        np.asarray(fit_results.bestfit, dtype=float)[keep],
        uncertainty[keep],
        [label for label, k in zip(labels, keep, strict=True) if k],
        figure_path=_figure_path(figure_folder, "pulls.pdf", save_figure),
        close_figure=close_figure,
    )


@_with_label
def ranking(
    ranking_results: RankingResults | Document,
    *,
    figure_folder: FigurePath = "figures",
    max_pars: int | None = None,
    close_figure: bool = True,
    save_figure: bool = True,
) -> mpl.figure.Figure:
    """Impact ranking, saved as ``ranking.pdf``.

    Parameters are sorted by decreasing largest post-fit impact, and only the
    first ``max_pars`` are shown when given.
    """
    ranking_results = from_document(ranking_results)
    post_up = np.asarray(ranking_results.postfit_up, dtype=float)
    post_down = np.asarray(ranking_results.postfit_down, dtype=float)
    order = np.argsort(np.maximum(np.abs(post_up), np.abs(post_down)))[::-1]
    if max_pars is not None:
        order = order[:max_pars]

    def pick(values: Any) -> np.ndarray:
        return np.asarray(values)[order]

    return plot_result.ranking(
        pick(ranking_results.bestfit),
        pick(ranking_results.uncertainty),
        [str(label) for label in pick(ranking_results.labels)],
        pick(ranking_results.prefit_up),
        pick(ranking_results.prefit_down),
        pick(post_up),
        pick(post_down),
        figure_path=_figure_path(figure_folder, "ranking.pdf", save_figure),
        close_figure=close_figure,
    )


@_with_label
def scan(
    scan_results: ScanResults | Document,
    *,
    figure_folder: FigurePath = "figures",
    close_figure: bool = True,
    save_figure: bool = True,
) -> mpl.figure.Figure:
    """Likelihood scan, saved as ``scan_{parameter}.pdf`` (``[`` → ``_``, no ``]``)."""
    scan_results = from_document(scan_results)
    name = scan_results.name.replace("[", "_").replace("]", "")
    return plot_result.scan(
        scan_results.name,
        scan_results.bestfit,
        scan_results.uncertainty,
        scan_results.parameter_values,
        scan_results.delta_nlls,
        figure_path=_figure_path(figure_folder, f"scan_{name}.pdf", save_figure),
        close_figure=close_figure,
    )


@_with_label
def limit(
    limit_results: LimitResults | Document,
    *,
    figure_folder: FigurePath = "figures",
    close_figure: bool = True,
    save_figure: bool = True,
) -> mpl.figure.Figure:
    """Observed and expected CLs against the POI, saved as ``limit.pdf``."""
    limit_results = from_document(limit_results)
    return plot_result.limit(
        limit_results.observed_CLs,
        limit_results.expected_CLs,
        limit_results.poi_values,
        1 - limit_results.confidence_level,
        figure_path=_figure_path(figure_folder, "limit.pdf", save_figure),
        close_figure=close_figure,
    )


_MODIFIER_CATEGORIES = [
    "normfactor",
    "shapefactor",
    "shapesys",
    "lumi",
    "staterror",
    "normsys + histosys",
    "histosys",
    "normsys",
    "none",
]


@_with_label
def modifier_grid(
    model: Any,
    *,
    figure_folder: FigurePath = "figures",
    split_by_sample: bool = False,
    close_figure: bool = True,
    save_figure: bool = True,
) -> mpl.figure.Figure:
    """Which modifier types act on which channel, sample and parameter.

    One (sample × parameter) grid per channel, or one (channel × parameter) grid
    per sample with ``split_by_sample``; saved as ``modifier_grid.pdf``. The model
    must come from :func:`.model_utils.model_and_data` (it needs the spec).
    """
    from .. import model_utils

    modifiers = model_utils._modifier_map(model)
    channels, samples = model.config.channels, model.config.samples
    parameters = model.config.par_order
    outer, inner = (samples, channels) if split_by_sample else (channels, samples)
    index = {name: i for i, name in enumerate(_MODIFIER_CATEGORIES)}
    grids = []
    for outer_name in outer:
        grid = np.zeros((len(inner), len(parameters)))
        for i_row, inner_name in enumerate(inner):
            pair = (inner_name, outer_name), (outer_name, inner_name)
            channel, sample = pair[0] if split_by_sample else pair[1]
            for i_par, parameter in enumerate(parameters):
                types = modifiers.get((channel, sample, parameter), [])
                category = " + ".join(sorted(types, reverse=True)) or "none"
                if category not in index:
                    raise ValueError(
                        f"modifiers for {channel}, {sample}, {parameter} not "
                        f"supported: {types}"
                    )
                grid[i_row, i_par] = index[category]
        grids.append(grid)
    return plot_model.modifier_grid(
        grids,
        [outer, inner, parameters],
        dict(enumerate(_MODIFIER_CATEGORIES)),
        figure_path=_figure_path(figure_folder, "modifier_grid.pdf", save_figure),
        close_figure=close_figure,
    )
