"""Array-level plots of models: stacked data/MC histograms (cabinetry's plot_model)."""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.offsetbox import AnchoredText
from matplotlib.ticker import AutoMinorLocator

from . import utils

log = logging.getLogger(__name__.removeprefix("hifit."))  # cabinetry's logger names

_HATCH = "///"


def _uncertainty_band(
    ax: mpl.axes.Axes,
    centers: np.ndarray,
    widths: np.ndarray,
    center: np.ndarray,
    half_width: np.ndarray,
) -> Any:
    """A hatched gray band of ±half_width around center, drawn as hollow bars."""
    return ax.bar(
        centers,
        2 * half_width,
        width=widths,
        bottom=center - half_width,
        fill=False,
        linewidth=0,
        edgecolor="gray",
        hatch=_HATCH,
    )


def _style_axes(ax_main: mpl.axes.Axes, ax_ratio: mpl.axes.Axes) -> None:
    for ax in (ax_main, ax_ratio):
        # minor ticks on linear axes (log axes have their own)
        if ax.get_xscale() == "linear":
            ax.xaxis.set_minor_locator(AutoMinorLocator())
        if ax.get_yscale() == "linear":
            ax.yaxis.set_minor_locator(AutoMinorLocator())
        ax.tick_params(axis="both", which="major", pad=8, labelsize="large")
        ax.tick_params(direction="in", top=True, right=True, which="both")
        ax.xaxis.label.set_fontsize("large")
        ax.yaxis.label.set_fontsize("large")
    ax_main.tick_params(axis="x", which="both", labelbottom=False)


def data_mc(
    histogram_dict_list: Sequence[Mapping[str, Any]],
    total_model_unc: np.ndarray,
    bin_edges: np.ndarray,
    *,
    figure_path: pathlib.Path | None = None,
    log_scale: bool | None = None,
    log_scale_x: bool = False,
    label: str = "",
    colors: Mapping[str, str] | None = None,
    close_figure: bool = False,
) -> mpl.figure.Figure:
    """Stacked model samples, data with Garwood errors, uncertainty and ratio panel.

    Args:
        histogram_dict_list: one dict per sample with ``label``, ``isData``,
            ``yields`` and ``variable``; model samples are stacked in list order
            (first at the bottom), exactly one entry must be data
        total_model_unc: total model uncertainty per bin
        bin_edges: bin edges
        figure_path: where to save the figure, None to not save it; ``_log`` is
            appended to the name when the vertical axis is logarithmic
        log_scale: logarithmic vertical axis; None: automatic (max/min > 100)
        log_scale_x: logarithmic horizontal axis
        label: text in the upper left corner
        colors: sample name → colour, None for the style's colour cycle
        close_figure: close the figure after saving

    Raises:
        ValueError: if the total model yield is negative in a bin

    Returns:
        the figure
    """
    mc_yields, mc_labels = [], []
    data_yields, data_label = None, "Data"
    for histogram in histogram_dict_list:
        if histogram["isData"]:
            data_yields = np.asarray(histogram["yields"], dtype=float)
            data_label = histogram["label"]
        else:
            mc_yields.append(np.asarray(histogram["yields"], dtype=float))
            mc_labels.append(histogram["label"])
    if data_yields is None:
        raise ValueError("no data histogram given")
    variable = histogram_dict_list[0].get("variable", "bin")

    bin_edges = np.asarray(bin_edges, dtype=float)
    total_model_unc = np.asarray(total_model_unc, dtype=float)
    left, right = bin_edges[:-1], bin_edges[1:]
    widths = right - left
    centers = 0.5 * (left + right)
    # data points at the geometric bin centre on a logarithmic x axis
    data_x = np.sqrt(left * right) if log_scale_x else centers

    total = np.zeros_like(centers)
    for yields in mc_yields:
        total = total + yields
    if np.any(total < 0.0):
        raise ValueError(f"{label} total model yield has negative bin(s): {total}")

    low, high = utils.poisson_interval(data_yields)
    data_err = np.array([data_yields - low, high - data_yields])

    with utils.style():
        fig = plt.figure(figsize=(6, 6), layout="constrained")
        grid = fig.add_gridspec(nrows=2, ncols=1, hspace=0, height_ratios=[3, 1])
        ax_main = fig.add_subplot(grid[0])
        ax_ratio = fig.add_subplot(grid[1], sharex=ax_main)

        # stacked samples, each with a thin black outline on top
        stack_handles = []
        bottom = np.zeros_like(centers)
        step_x = np.repeat(bin_edges, 2)[1:-1]
        for yields, name in zip(mc_yields, mc_labels, strict=True):
            stack_handles.append(
                ax_main.bar(
                    centers,
                    yields,
                    width=widths,
                    bottom=bottom,
                    color=colors[name] if colors else None,
                    label=name,
                )
            )
            bottom = bottom + yields
            ax_main.plot(step_x, np.repeat(bottom, 2), "-", color="k", linewidth=0.5)

        unc_handle = _uncertainty_band(ax_main, centers, widths, total, total_model_unc)
        data_handle = ax_main.errorbar(
            data_x, data_yields, yerr=data_err, fmt="o", color="k"
        )

        # ratio panel, bins without predicted yield are left out
        nonzero = total != 0.0
        if not np.all(nonzero):
            log.warning(
                "predicted yield is zero in %d bin(s), excluded from ratio plot",
                int(np.sum(~nonzero)),
            )
        ax_ratio.plot([bin_edges[0], bin_edges[-1]], [1, 1], "--", color="k", lw=1)
        safe_total = np.where(nonzero, total, 1.0)
        _uncertainty_band(
            ax_ratio,
            centers[nonzero],
            widths[nonzero],
            np.ones(int(np.sum(nonzero))),
            (total_model_unc / safe_total)[nonzero],
        )
        ax_ratio.errorbar(
            data_x[nonzero],
            (data_yields / safe_total)[nonzero],
            yerr=(data_err / safe_total)[:, nonzero],
            fmt="o",
            color="k",
        )

        # vertical range: log scale for a large dynamic range
        y_max = max(float(np.max(total)), float(np.max(data_yields)))
        positive = total[total > 0]
        y_min = float(np.min(positive)) if positive.size else 1.0
        if log_scale or (log_scale is None and y_max / y_min > 100):
            ax_main.set_yscale("log")
            ax_main.set_ylim(y_min / 10, y_max * 10)
            figure_path = utils.log_figure_path(figure_path)
        else:
            ax_main.set_ylim(0, y_max * 1.5 if y_max > 0 else 1.0)
        if log_scale_x:
            ax_main.set_xscale("log")

        ax_main.add_artist(
            AnchoredText(
                label,
                loc="upper left",
                frameon=False,
                prop={"fontsize": "large", "linespacing": 1.5},
            )
        )
        ax_main.legend(
            stack_handles[::-1] + [unc_handle, data_handle],
            mc_labels[::-1] + ["Uncertainty", data_label],
            frameon=False,
            fontsize="large",
            loc="upper right",
        )
        ax_main.set_xlim(bin_edges[0], bin_edges[-1])
        ax_main.set_ylabel("events")

        ax_ratio.set_ylim(0.5, 1.5)
        ax_ratio.set_yticks([0.5, 0.75, 1.0, 1.25, 1.5])
        ax_ratio.set_yticklabels(["0.5", "0.75", "1.0", "1.25", ""])
        ax_ratio.set_xlabel(variable)
        ax_ratio.set_ylabel("data / model")
        _style_axes(ax_main, ax_ratio)

        utils.save_and_close(fig, figure_path, close_figure)
    return fig


# Okabe-Ito colours of the modifier categories, in category order
_CATEGORY_COLORS = [
    "#000000",
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#FFFFFF",
]


def modifier_grid(
    grid_list: Sequence[np.ndarray],
    axis_labels: Sequence[Sequence[str]],
    category_map: Mapping[int, str],
    *,
    figure_path: pathlib.Path | None = None,
    close_figure: bool = False,
) -> mpl.figure.Figure:
    """One grid per entry of ``axis_labels[0]``: rows ``[1]``, columns ``[2]``.

    Each cell is coloured by its modifier category (integer key of
    ``category_map``), with a categorical colour bar.
    """
    n_categories = len(category_map)
    cmap = mpl.colors.ListedColormap(_CATEGORY_COLORS[:n_categories])
    norm = mpl.colors.BoundaryNorm(np.arange(n_categories + 1) - 0.5, n_categories)
    n_grids = len(grid_list)
    n_rows, n_cols = len(axis_labels[1]), len(axis_labels[2])
    with utils.style():
        fig, axes = plt.subplots(
            n_grids,
            1,
            figsize=(4 + 0.5 * n_cols, 1 + n_grids * (0.8 + 0.45 * n_rows)),
            squeeze=False,
            layout="constrained",
        )
        image = None
        for i_grid, ax in enumerate(axes[:, 0]):
            image = ax.imshow(
                np.asarray(grid_list[i_grid]), cmap=cmap, norm=norm, aspect="auto"
            )
            ax.set_title(axis_labels[0][i_grid])
            ax.set_yticks(np.arange(n_rows))
            ax.set_yticklabels(axis_labels[1])
            ax.set_xticks(np.arange(n_cols))
            ax.set_xticklabels(
                axis_labels[2] if i_grid == n_grids - 1 else [],
                rotation=45,
                ha="right",
                rotation_mode="anchor",
            )
            # thin lines between cells
            ax.set_xticks(np.arange(n_cols + 1) - 0.5, minor=True)
            ax.set_yticks(np.arange(n_rows + 1) - 0.5, minor=True)
            ax.grid(which="minor", color="gray", linewidth=0.5)
            ax.tick_params(which="minor", length=0)
        colorbar = fig.colorbar(image, ax=list(axes[:, 0]))
        colorbar.set_ticks(np.arange(n_categories))
        colorbar.set_ticklabels([category_map[i] for i in range(n_categories)])
        colorbar.ax.tick_params(which="minor", length=0)
        utils.save_and_close(fig, figure_path, close_figure)
    return fig


# colours, line styles and legend labels of the five templates, in drawing order
_TEMPLATE_STYLES = [
    ("black", "-", "nominal"),
    ("C0", ":", "up (original)"),
    ("C1", ":", "down (original)"),
    ("C0", "--", "up (modified)"),
    ("C1", "--", "down (modified)"),
]


def templates(
    nominal_histo: Mapping[str, np.ndarray],
    up_histo_orig: Mapping[str, np.ndarray],
    down_histo_orig: Mapping[str, np.ndarray],
    up_histo_mod: Mapping[str, np.ndarray],
    down_histo_mod: Mapping[str, np.ndarray],
    bin_edges: np.ndarray,
    variable: str,
    *,
    figure_path: pathlib.Path | None = None,
    label: str = "",
    close_figure: bool = False,
) -> mpl.figure.Figure:
    """A nominal template with its up/down variations before and after processing.

    Each template is a dict with ``yields`` and ``stdev``; an empty dict is not
    drawn. Top panel: nominal (black solid) with a hatched stat. band, original
    variations dotted and modified ones dashed (up C0, down C1) with stat. error
    bars. Ratio panel: variation / nominal (``abs(nominal)`` for the error bars,
    and in the axis label when the nominal has negative bins) with the nominal's
    relative stat. band.

    Args:
        nominal_histo: the nominal template
        up_histo_orig, down_histo_orig: variations before post-processing
        up_histo_mod, down_histo_mod: variations after post-processing
        bin_edges: bin edges
        variable: horizontal axis label
        figure_path: where to save the figure, None to not save it
        label: text in the upper left corner
        close_figure: close the figure after saving

    Returns:
        the figure
    """
    bin_edges = np.asarray(bin_edges, dtype=float)
    widths = bin_edges[1:] - bin_edges[:-1]
    centers = 0.5 * (bin_edges[:-1] + bin_edges[1:])
    nominal_yields = np.asarray(nominal_histo["yields"], dtype=float)
    nominal_stdev = np.asarray(nominal_histo["stdev"], dtype=float)
    all_templates = [
        nominal_histo,
        up_histo_orig,
        down_histo_orig,
        up_histo_mod,
        down_histo_mod,
    ]

    negative_nominal = bool(np.any(nominal_yields < 0.0))
    if negative_nominal:
        log.warning(
            "%s nominal histogram yield has negative bin(s): %s, taking absolute "
            "value for ratio plot uncertainty",
            label,
            nominal_yields.tolist(),
        )

    step_x = np.repeat(bin_edges, 2)[1:-1]
    with utils.style(), np.errstate(divide="ignore", invalid="ignore"):
        fig = plt.figure(figsize=(8, 6), layout="constrained")
        grid = fig.add_gridspec(nrows=2, ncols=1, hspace=0, height_ratios=[3, 1])
        ax_main = fig.add_subplot(grid[0])
        ax_ratio = fig.add_subplot(grid[1])

        # ratio panel: line through unity and the nominal's relative stat. band
        ax_ratio.plot([bin_edges[0], bin_edges[-1]], [1, 1], "--", color="k", lw=1)
        rel_stat = nominal_stdev / nominal_yields
        _uncertainty_band(ax_ratio, centers, widths, np.ones_like(rel_stat), rel_stat)

        for template, (color, linestyle, name) in zip(
            all_templates, _TEMPLATE_STYLES, strict=True
        ):
            if not template:
                continue  # variation not defined
            yields = np.asarray(template["yields"], dtype=float)
            stdev = np.asarray(template["stdev"], dtype=float)
            ax_main.plot(
                step_x,
                np.repeat(yields, 2),
                color=color,
                linestyle=linestyle,
                label=name,
            )
            if name == "nominal":
                _uncertainty_band(ax_main, centers, widths, yields, stdev)
                continue
            ax_main.errorbar(centers, yields, yerr=stdev, fmt="none", color=color)
            ratio = yields / nominal_yields
            ax_ratio.plot(step_x, np.repeat(ratio, 2), color=color, linestyle=linestyle)
            ax_ratio.errorbar(
                centers,
                ratio,
                yerr=stdev / np.abs(nominal_yields),
                fmt="none",
                color=color,
            )

        ax_main.add_artist(
            AnchoredText(
                label,
                loc="upper left",
                frameon=False,
                prop={"fontsize": "large", "linespacing": 1.5},
            )
        )
        ax_main.legend(frameon=False, fontsize="large", loc="upper right")
        max_yield = max(
            float(np.max(template["yields"])) for template in all_templates if template
        )
        ax_main.set_xlim(bin_edges[0], bin_edges[-1])
        ax_main.set_ylim(0, max_yield * 1.75)
        ax_main.set_ylabel("events")

        ax_ratio.set_xlim(bin_edges[0], bin_edges[-1])
        ax_ratio.set_ylim(0.5, 1.5)
        ax_ratio.set_xlabel(variable)
        denominator = "abs(nominal)" if negative_nominal else "nominal"
        ax_ratio.set_ylabel(f"variation / {denominator}")
        ax_ratio.set_yticks([0.5, 0.75, 1.0, 1.25, 1.5])
        ax_ratio.set_yticklabels(["0.5", "0.75", "1.0", "1.25", ""])
        _style_axes(ax_main, ax_ratio)

        utils.save_and_close(fig, figure_path, close_figure)
    return fig
