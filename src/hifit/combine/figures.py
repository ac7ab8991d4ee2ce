"""The figures Combine users make from Combine's output files, in mplhep's CMS style:
likelihood scans (plot1DScan.py; 2D contours), nuisance impacts (plotImpacts.py),
the Brazil band over masses (CombineHarvester's plotLimits.py) and pre/post-fit
stacks per channel (from FitDiagnostics' shapes_* directories).

Each figure has a reader in :mod:`.figure_inputs` (the numbers it shows, from the
ROOT/JSON files Combine and ``hifit combine`` write; re-exported here) and a
drawing function here returning a matplotlib Figure, which
:func:`hifit.io.save_figure` writes. matplotlib, mplhep and uproot load only here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .figure_inputs import (  # noqa: F401  (re-exported: the readers and their data)
    BRAZIL_QUANTILES,
    LEVELS_1D,
    LEVELS_2D,
    FigureInputError,
    LimitBand,
    Scan1D,
    Scan2D,
    Stack,
    _spline,
    pull,
    read_impacts,
    read_limits,
    read_scan_1d,
    read_scan_2d,
    read_stacks,
    scanned_pois,
)

# CMS's recommended ten-colour sequence for stacked processes
PALETTE = (
    "#3f90da",
    "#ffa90e",
    "#bd1f01",
    "#94a4a2",
    "#832db6",
    "#a96b59",
    "#e76300",
    "#b9ac70",
    "#717581",
    "#92dadd",
)


# ----------------------------------------------------------------- drawing
def _style():
    import logging

    import matplotlib

    # the CMS style names fonts absent here; matplotlib's fallback is fine
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import mplhep

    return plt, mplhep, plt.style.context(mplhep.style.CMS)


def _label(mplhep: Any, ax: Any, data: bool = True) -> None:
    """mplhep's CMS label ("CMS" bold, then the italic tag) placed relative to the
    axes: mplhep.cms.label draws the whole figure twice to place it."""
    cms = ax.text(
        0.0,
        1.01,
        "CMS",
        transform=ax.transAxes,
        ha="left",
        va="bottom",
        fontsize="x-large",
        fontweight="bold",
    )
    ax.annotate(
        "Internal" if data else "Simulation Internal",
        xy=(1.0, 0.0),
        xycoords=cms,
        xytext=(4, 0),
        textcoords="offset points",
        ha="left",
        va="bottom",
        fontsize="large",
        fontstyle="italic",
    )


def _interval_text(poi: str, best: float, lo: float | None, hi: float | None) -> str:
    up = f"{hi - best:+.2f}" if hi is not None else "?"
    down = f"{lo - best:+.2f}" if lo is not None else "?"
    return f"{poi} = {best:.2f}$^{{{up}}}_{{{down}}}$"


def scan_1d_figure(scans: Sequence[Scan1D], labels: Sequence[str] = ()) -> Any:
    """plot1DScan.py: 2 deltaNLL against the POI, lines at 1 and 3.84, the best fit
    with its 68 % crossings in the legend; further scans overlaid."""
    plt, mplhep, style = _style()
    with style:
        fig, ax = plt.subplots(figsize=(8, 7))
        colours = ["black", "tab:red", "tab:blue", "tab:green"]
        for k, scan in enumerate(scans):
            name = (
                labels[k]
                if k < len(labels)
                else ("Observed" if k == 0 else f"scan {k + 1}")
            )
            colour = colours[k % 4]
            ax.plot(scan.x, scan.twice_dnll, color=colour, marker="o", ls="", ms=5)
            fine = np.linspace(scan.x[0], scan.x[-1], 400)
            ax.plot(
                fine,
                _spline(scan.x, scan.twice_dnll)(fine),
                color=colour,
                lw=2,
                label=f"{name}: "
                + _interval_text(scan.poi, scan.best, scan.lo, scan.hi),
            )
        for text, level in LEVELS_1D.items():
            ax.axhline(level, color="tab:red", ls="--", lw=1)
            ax.text(
                1.0,
                level,
                f" {text}",
                transform=ax.get_yaxis_transform(),
                va="center",
                fontsize=12,
                color="tab:red",
            )
        top = max(7.0, min(float(max(s.twice_dnll.max() for s in scans)), 12.0))
        ax.set_ylim(0, top)
        # plot1DScan's --y-cut: the x range where the curves stay below the top
        shown = np.concatenate([s.x[s.twice_dnll <= top] for s in scans])
        reach = np.concatenate([s.x for s in scans])
        if len(shown) > 1:
            step = (reach.max() - reach.min()) / max(len(reach) - 1, 1)
            ax.set_xlim(shown.min() - step, shown.max() + step)
        ax.set_xlabel(scans[0].poi)
        ax.set_ylabel(r"$-2\,\Delta\ln L$")
        ax.legend(loc="upper center", fontsize=14)
        _label(mplhep, ax)
    return fig


def scan_2d_figure(scan: Scan2D, *, cms_label: bool = True) -> Any:
    """68 % and 95 % contours (2 deltaNLL = 2.30, 5.99) and the best fit; the "CMS
    Internal" mark unless ``cms_label`` is False (`hifit scan --figures`)."""
    plt, mplhep, style = _style()
    import matplotlib.tri as tri

    with style:
        fig, ax = plt.subplots(figsize=(8, 7))
        grid = tri.Triangulation(scan.x, scan.y)
        shade = ax.tricontourf(
            grid, np.minimum(scan.twice_dnll, 10.0), levels=20, cmap="Blues_r"
        )
        fig.colorbar(shade, ax=ax, label=r"$-2\,\Delta\ln L$")
        lines = ax.tricontour(
            grid,
            scan.twice_dnll,
            levels=sorted(LEVELS_2D.values()),
            colors="black",
            linestyles=["solid", "dashed"],
        )
        for style_, text in zip(["solid", "dashed"], LEVELS_2D, strict=True):
            ax.plot([], [], color="black", ls=style_, label=f"{text} CL")
        ax.plot(*scan.best, marker="P", ms=14, color="tab:red", ls="", label="Best fit")
        ax.set_xlabel(scan.pois[0])
        ax.set_ylabel(scan.pois[1])
        ax.legend(loc="upper right", fontsize=14)
        if cms_label:
            _label(mplhep, ax)
        fig.contour_set = lines  # for tests: the drawn contour levels
    return fig


def impacts_figure(doc: dict[str, Any], max_params: int = 30) -> Any:
    """plotImpacts.py: parameters by decreasing impact; left the pulls with their
    post-fit errors (prefit band at +-1), right the POI shift when the parameter is
    at its -1 sigma (blue) and +1 sigma (red) crossing."""
    plt, mplhep, style = _style()
    poi = doc["poi"]
    params = doc["params"][:max_params][::-1]
    n = len(params)
    with style:
        fig, (ax_pull, ax_imp) = plt.subplots(
            1,
            2,
            sharey=True,
            figsize=(12, max(4.0, 0.45 * n + 2.5)),
            gridspec_kw={"width_ratios": [3, 2], "wspace": 0.05},
        )
        y = np.arange(n)
        pulls = np.array([pull(p) for p in params]) if n else np.zeros((0, 3))
        ax_pull.axvspan(-1, 1, color="tab:green", alpha=0.15)
        ax_pull.axvline(0, color="grey", lw=1)
        if n:
            ax_pull.errorbar(
                pulls[:, 0],
                y,
                xerr=[pulls[:, 1], pulls[:, 2]],
                fmt="o",
                color="black",
                ms=5,
                capsize=0,
            )
        ax_pull.set_yticks(y, [p["name"] for p in params], fontsize=10)
        ax_pull.set_xlabel(r"$(\hat\theta-\theta_0)/\Delta\theta$")
        ax_pull.set_xlim(-2.5, 2.5)
        up = np.array([p[poi][2] - p[poi][1] for p in params])
        down = np.array([p[poi][0] - p[poi][1] for p in params])
        ax_imp.barh(y, up, color="tab:red", alpha=0.7, label=r"$+1\sigma$ impact")
        ax_imp.barh(y, down, color="tab:blue", alpha=0.7, label=r"$-1\sigma$ impact")
        ax_imp.axvline(0, color="grey", lw=1)
        reach = (
            float(max(np.abs(up).max(initial=0), np.abs(down).max(initial=0))) or 1.0
        )
        ax_imp.set_xlim(-1.15 * reach, 1.15 * reach)
        ax_imp.set_xlabel(rf"$\Delta\hat{{{poi}}}$" if len(poi) == 1 else f"Δ{poi}")
        ax_imp.xaxis.set_major_locator(plt.MaxNLocator(3, symmetric=True))
        ax_imp.tick_params(axis="x", labelsize=14)
        ax_imp.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), fontsize=11)
        lo, c, hi = doc["POI"]["fit"]
        ax_imp.set_title(_interval_text(poi, c, lo, hi), fontsize=16)
        _label(mplhep, ax_pull)
    return fig


def limits_figure(band: LimitBand, poi: str = "r") -> Any:
    """CombineHarvester's Brazil band: the expected median with its 68 % (green) and
    95 % (yellow) bands over the masses, and the observed limit."""
    plt, mplhep, style = _style()
    with style:
        fig, ax = plt.subplots(figsize=(9, 7))
        e = band.expected
        ax.fill_between(
            band.mass, e["exp-2"], e["exp+2"], color="#FFDF7F", label="95% expected"
        )
        ax.fill_between(
            band.mass, e["exp-1"], e["exp+1"], color="#00A600", label="68% expected"
        )
        ax.plot(
            band.mass, e["exp0"], color="black", ls="--", lw=2, label="Median expected"
        )
        if band.observed is not None:
            ax.plot(
                band.mass,
                band.observed,
                color="black",
                marker="o",
                lw=2,
                label="Observed",
            )
        ax.axhline(1.0, color="tab:red", lw=1)
        top = float(np.max(e["exp+2"]))
        if band.observed is not None:
            top = max(top, float(np.max(band.observed)))
        ax.set_ylim(0.0, 1.5 * top)  # room for the legend above the band
        ax.set_xlabel(r"$m_{H}$ (GeV)")
        ax.set_ylabel(f"95% CL limit on {poi}")
        if len(band.mass) > 1:
            ax.set_xlim(band.mass[0], band.mass[-1])
        ax.legend(loc="upper left", fontsize=14)
        _label(mplhep, ax, data=band.observed is not None)
    return fig


def stacks_figure(stacks: Sequence[Stack], fit: str = "fit_s") -> Any:
    """Per channel (side by side): the backgrounds stacked, the signal on top, the
    total's uncertainty hatched, the data, and data / total below."""
    plt, mplhep, style = _style()
    title = {
        "prefit": "Pre-fit",
        "fit_b": "Post-fit (B only)",
        "fit_s": "Post-fit (S+B)",
    }
    with style:
        fig, axes = plt.subplots(
            2,
            len(stacks),
            figsize=(8 * len(stacks), 9),
            squeeze=False,
            gridspec_kw={"height_ratios": [3, 1], "hspace": 0.05},
        )
        for k, s in enumerate(stacks):
            ax, rax = axes[0, k], axes[1, k]
            if s.backgrounds:
                mplhep.histplot(
                    list(s.backgrounds.values()),
                    s.edges,
                    stack=True,
                    histtype="fill",
                    color=[
                        PALETTE[i % len(PALETTE)] for i in range(len(s.backgrounds))
                    ],
                    label=list(s.backgrounds),
                    ax=ax,
                )
            if s.signal is not None and s.signal.any():
                background = s.total - s.signal
                ax.stairs(
                    background + s.signal,
                    s.edges,
                    baseline=background,
                    color="tab:red",
                    lw=2,
                    label="Signal",
                )
            ax.stairs(
                s.total + s.total_error,
                s.edges,
                baseline=s.total - s.total_error,
                fill=True,
                hatch="///",
                alpha=0.3,
                color="grey",
                label="Uncertainty",
            )
            ratio_ref = np.where(s.total > 0, s.total, np.nan)
            rax.stairs(
                1 + s.total_error / ratio_ref,
                s.edges,
                baseline=1 - s.total_error / ratio_ref,
                fill=True,
                alpha=0.3,
                color="grey",
            )
            if s.data is not None:
                x, yv, lo, hi = s.data
                ax.errorbar(
                    x, yv, yerr=[lo, hi], fmt="o", color="black", ms=4, label="Data"
                )
                centre = np.interp(x, 0.5 * (s.edges[1:] + s.edges[:-1]), s.total)
                safe = np.where(centre > 0, centre, np.nan)
                rax.errorbar(
                    x,
                    yv / safe,
                    yerr=[lo / safe, hi / safe],
                    fmt="o",
                    color="black",
                    ms=4,
                )
            rax.axhline(1.0, color="grey", ls="--")
            rax.set_ylim(0, 2)
            rax.set_xlabel("Bin")
            rax.set_ylabel("Data / Pred.")
            ax.set_ylabel("Events")
            ax.set_title(
                f"{s.channel}: {title.get(fit, fit)}", fontsize=14, loc="right", pad=28
            )
            ax.set_xlim(s.edges[0], s.edges[-1])
            ax.tick_params(labelbottom=False)
            ax.legend(fontsize=11, ncol=2)
            _label(mplhep, ax, data=s.data is not None)
    return fig
