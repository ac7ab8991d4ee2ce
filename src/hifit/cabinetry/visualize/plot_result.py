"""Array-level plots of inference results (cabinetry's plot_result)."""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import AutoMinorLocator

from . import utils

_PULL_LABEL = r"$\left(\hat{\theta} - \theta_0\right) / \Delta \theta$"


def _ticks_inside(ax: mpl.axes.Axes, *, minor_y: bool = True) -> None:
    ax.xaxis.set_minor_locator(AutoMinorLocator())
    if minor_y:
        ax.yaxis.set_minor_locator(AutoMinorLocator())
    ax.tick_params(axis="both", which="major", pad=8, labelsize="large")
    ax.tick_params(direction="in", top=True, right=True, which="both")
    ax.xaxis.label.set_fontsize("large")
    ax.yaxis.label.set_fontsize("large")


def correlation_matrix(
    corr_mat: np.ndarray,
    labels: Sequence[str],
    *,
    figure_path: pathlib.Path | None = None,
    close_figure: bool = False,
) -> mpl.figure.Figure:
    """Correlation matrix as a colour map (-1..1) with the values written in."""
    corr_mat = np.asarray(corr_mat, dtype=float)
    labels = list(labels)
    n = len(labels)
    with utils.style():
        fig, ax = plt.subplots(figsize=(5 + n / 1.6, 3 + n / 1.6), layout="constrained")
        image = ax.imshow(corr_mat, vmin=-1, vmax=1, cmap="RdBu", aspect="auto")
        fig.colorbar(image, ax=ax)
        ax.set_xticks(np.arange(n))
        ax.set_yticks(np.arange(n))
        ax.set_xticklabels(labels, rotation=45, ha="right", rotation_mode="anchor")
        ax.set_yticklabels(labels)
        for i in range(n):
            for j in range(n):
                value = corr_mat[i, j]
                if abs(value) > 0.005:
                    ax.text(
                        j,
                        i,
                        f"{value:.2f}",
                        ha="center",
                        va="center",
                        color="white" if abs(value) > 0.75 else "black",
                    )
        utils.save_and_close(fig, figure_path, close_figure)
    return fig


def pulls(
    bestfit: np.ndarray,
    uncertainty: np.ndarray,
    labels: Sequence[str],
    *,
    figure_path: pathlib.Path | None = None,
    close_figure: bool = False,
) -> mpl.figure.Figure:
    """Best-fit values with error bars on green (±1) and yellow (±2) bands."""
    labels = list(labels)
    n = len(labels)
    y = np.arange(n)
    with utils.style():
        fig, ax = plt.subplots(figsize=(6, 1 + n / 4), layout="constrained")
        ax.fill_between([-2, 2], -0.5, n - 0.5, color="yellow")
        ax.fill_between([-1, 1], -0.5, n - 0.5, color="limegreen")
        ax.vlines(0, -0.5, n - 0.5, linestyles="dotted", color="black")
        ax.errorbar(bestfit, y, xerr=uncertainty, fmt="o", color="black")
        ax.set_xlim(-3, 3)
        ax.set_ylim(n - 0.5, -0.5)  # first parameter on top
        ax.set_yticks(y)
        ax.set_yticklabels(labels)
        ax.set_xlabel(_PULL_LABEL)
        _ticks_inside(ax, minor_y=False)
        ax.tick_params(axis="y", which="minor", left=False, right=False)
        utils.save_and_close(fig, figure_path, close_figure)
    return fig


def ranking(
    bestfit: np.ndarray,
    uncertainty: np.ndarray,
    labels: Sequence[str],
    prefit_up: np.ndarray,
    prefit_down: np.ndarray,
    postfit_up: np.ndarray,
    postfit_down: np.ndarray,
    *,
    figure_path: pathlib.Path | None = None,
    close_figure: bool = False,
) -> mpl.figure.Figure:
    """Impacts on the POI (top axis) as bars and the parameter pulls (bottom axis)."""
    labels = list(labels)
    n = len(labels)
    y = np.arange(n)
    impacts = np.abs(np.concatenate([prefit_up, prefit_down, postfit_up, postfit_down]))
    impact_range = 1.1 * float(np.max(impacts)) if impacts.size else 1.0
    if impact_range == 0.0:
        impact_range = 1.0
    with utils.style():
        fig, ax_pulls = plt.subplots(figsize=(8, 2.5 + n * 0.45), layout="constrained")
        ax_impact = ax_pulls.twiny()
        # pulls drawn on top of the impact bars
        ax_pulls.set_zorder(ax_impact.get_zorder() + 1)
        ax_pulls.patch.set_visible(False)

        handles = [
            ax_impact.barh(
                y,
                prefit_up,
                fill=False,
                edgecolor="C0",
                linewidth=1,
                label=r"pre-fit impact: $\theta = \hat{\theta} + \Delta \theta$",
            ),
            ax_impact.barh(
                y,
                prefit_down,
                fill=False,
                edgecolor="C9",
                linewidth=1,
                label=r"pre-fit impact: $\theta = \hat{\theta} - \Delta \theta$",
            ),
            ax_impact.barh(
                y,
                postfit_up,
                color="C0",
                label=r"post-fit impact: $\theta = \hat{\theta} + \Delta \hat{\theta}$",
            ),
            ax_impact.barh(
                y,
                postfit_down,
                color="C9",
                label=r"post-fit impact: $\theta = \hat{\theta} - \Delta \hat{\theta}$",
            ),
        ]
        for x in (-1, 0, 1):
            ax_pulls.axvline(x, linestyle="dashed", color="black", linewidth=0.75)
        handles.append(
            ax_pulls.errorbar(
                bestfit, y, xerr=uncertainty, fmt="o", color="k", label="pulls"
            )
        )

        ax_pulls.set_xlim(-2, 2)
        ax_pulls.set_ylim(n, -1)  # first (largest impact) on top
        ax_pulls.set_yticks(y)
        ax_pulls.set_yticklabels(labels)
        ax_pulls.set_xlabel(_PULL_LABEL)
        ax_impact.set_xlim(-impact_range, impact_range)
        ax_impact.set_xlabel(r"$\Delta \mu$")
        for ax in (ax_pulls, ax_impact):
            ax.xaxis.set_minor_locator(AutoMinorLocator())
            ax.tick_params(axis="both", which="major", pad=8, labelsize="large")
            ax.tick_params(direction="in", which="both")
            ax.xaxis.label.set_fontsize("large")
        ax_pulls.tick_params(axis="y", which="minor", left=False, right=False)
        fig.legend(
            handles=handles,
            loc="outside upper center",
            ncol=3,
            frameon=False,
            fontsize="large",
        )
        utils.save_and_close(fig, figure_path, close_figure)
    return fig


def scan(
    par_name: str,
    par_mle: float,
    par_unc: float,
    par_vals: np.ndarray,
    par_nlls: np.ndarray,
    *,
    figure_path: pathlib.Path | None = None,
    close_figure: bool = False,
) -> mpl.figure.Figure:
    """-2 Δln L of a scan, its Gaussian approximation and the 1σ / 2σ levels."""
    par_vals = np.asarray(par_vals, dtype=float)
    par_nlls = np.asarray(par_nlls, dtype=float)
    x_low, x_high = float(np.min(par_vals)), float(np.max(par_vals))
    y_max = 1.2 * float(np.max(par_nlls)) if par_nlls.size else 1.0
    with utils.style():
        # cycle colours resolved now: lines would resolve "C0" at draw time,
        # outside of the style
        c0, c9 = mpl.colors.to_hex("C0"), mpl.colors.to_hex("C9")
        fig, ax = plt.subplots(layout="constrained")
        ax.plot(par_vals, par_nlls, "-", color=c0)
        x_fine = np.linspace(x_low, x_high, 200)
        if par_unc > 0:
            ax.plot(
                x_fine,
                ((x_fine - par_mle) / par_unc) ** 2,
                "--",
                color=c9,
                label="Gaussian approximation",
            )
        ax.plot(par_vals, par_nlls, "X", color=c0, label="parameter scan")
        for level, text in ((1.0, "68.3% CL"), (4.0, "95.5% CL")):
            if level < y_max:
                ax.axhline(level, linestyle="dotted", color="dimgray")
                ax.text(
                    x_high,
                    level + 0.02 * y_max,
                    text,
                    color="gray",
                    ha="right",
                    va="bottom",
                )
        ax.set_xlim(x_low, x_high)
        ax.set_ylim(0, y_max if y_max > 0 else 1.0)
        ax.set_xlabel(par_name)
        ax.set_ylabel(r"$-2 \Delta \log(L)$")
        ax.legend(frameon=False, fontsize="large", loc="upper left")
        _ticks_inside(ax)
        utils.save_and_close(fig, figure_path, close_figure)
    return fig


def limit(
    observed_CLs: np.ndarray,  # noqa: N803 (cabinetry's argument name)
    expected_CLs: np.ndarray,  # noqa: N803
    poi_values: np.ndarray,
    cls_target: float,
    *,
    figure_path: pathlib.Path | None = None,
    close_figure: bool = False,
) -> mpl.figure.Figure:
    """Observed and expected CLs against the POI, with ±1σ / ±2σ bands."""
    expected = np.asarray(expected_CLs, dtype=float)
    poi_values = np.asarray(poi_values, dtype=float)
    with utils.style():
        fig, ax = plt.subplots(layout="constrained")
        ax.plot(poi_values, observed_CLs, "o-", color="black", label=r"observed CL$_S$")
        ax.plot(
            poi_values, expected[:, 2], "--", color="black", label=r"expected CL$_S$"
        )
        ax.fill_between(
            poi_values,
            expected[:, 1],
            expected[:, 3],
            color="limegreen",
            label=r"expected CL$_S$ $\pm 1\sigma$",
        )
        ax.fill_between(
            poi_values,
            expected[:, 0],
            expected[:, 4],
            color="yellow",
            label=r"expected CL$_S$ $\pm 2\sigma$",
            zorder=0,
        )
        ax.axhline(
            cls_target,
            linestyle="dashdot",
            color="red",
            label=rf"CL$_S$ = {cls_target:.0%}",
        )
        ax.set_xlim(float(np.min(poi_values)), float(np.max(poi_values)))
        ax.set_ylim(0, 1)
        ax.set_xlabel(r"$\mu$")
        ax.set_ylabel(r"CL$_{s}$")
        ax.legend(frameon=False, fontsize="large")
        _ticks_inside(ax)
        utils.save_and_close(fig, figure_path, close_figure)
    return fig
