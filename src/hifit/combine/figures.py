"""The figures Combine users make from Combine's output files, in mplhep's CMS style:
likelihood scans (plot1DScan.py; 2D contours), nuisance impacts (plotImpacts.py),
the Brazil band over masses (CombineHarvester's plotLimits.py) and pre/post-fit
stacks per channel (from FitDiagnostics' shapes_* directories).

Each figure has a reader (the numbers it shows, from the ROOT/JSON files Combine
and ``hifit combine`` write) and a drawing function returning a matplotlib Figure;
:func:`hifit.io.save_figure` writes it. matplotlib, mplhep and uproot load only here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import HifitError

# plot1DScan.py's lines, and the 2D contours: 2 Delta NLL of 68 % and 95 % CL
LEVELS_1D = {"68%": 1.0, "95%": 3.84}
LEVELS_2D = {"68%": 2.30, "95%": 5.99}
COMMON_BRANCHES = frozenset(
    {
        "limit",
        "limitErr",
        "mh",
        "syst",
        "iToy",
        "iSeed",
        "iChannel",
        "t_cpu",
        "t_real",
        "quantileExpected",
        "deltaNLL",
    }
)
BRAZIL_QUANTILES = {
    "exp-2": 0.025,
    "exp-1": 0.16,
    "exp0": 0.5,
    "exp+1": 0.84,
    "exp+2": 0.975,
}
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


class FigureInputError(HifitError):
    """A file that does not hold what the figure needs."""


# ----------------------------------------------------------------- reading
def _limit_tree(path: str | Path) -> dict[str, np.ndarray]:
    import uproot

    try:
        with uproot.open(path) as f:
            if "limit" not in f:
                raise FigureInputError(
                    f"{path}: no `limit` tree (not a higgsCombine file)"
                )
            return f["limit"].arrays(library="np")
    except (OSError, ValueError) as err:
        raise FigureInputError(
            f"{path}: cannot read it as a ROOT file ({err})"
        ) from None


def _pois_in(tree: dict[str, np.ndarray]) -> list[str]:
    return [
        k for k in tree if k not in COMMON_BRANCHES and not k.startswith("trackedParam")
    ]


@dataclass
class Scan1D:
    poi: str
    x: np.ndarray  # sorted, unique
    twice_dnll: np.ndarray
    best: float
    lo: float | None  # 68 % crossings (None when the scan does not reach 1)
    hi: float | None


def read_scan_1d(path: str | Path, poi: str | None = None) -> Scan1D:
    """A MultiDimFit --algo grid file: 2 deltaNLL per point (the best-fit row
    included), duplicates dropped, and the crossings of 2 deltaNLL = 1 on a cubic
    spline through the points, as plot1DScan.py finds them."""
    tree = _limit_tree(path)
    pois = _pois_in(tree)
    poi = poi or (pois[0] if pois else None)
    if poi not in tree or "deltaNLL" not in tree:
        raise FigureInputError(
            f"{path}: no deltaNLL/{poi} branches (not a MultiDimFit scan)"
        )
    x = np.asarray(tree[poi], dtype=float)
    y = 2.0 * np.asarray(tree["deltaNLL"], dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, index = np.unique(x[keep], return_index=True)
    y = y[keep][index]
    y = y - y.min()  # the scan's minimum, as plot1DScan re-zeroes it
    if len(x) < 3:
        raise FigureInputError(f"{path}: {len(x)} scan points; a scan needs at least 3")
    best = float(x[np.argmin(y)])
    lo, hi = _crossings(x, y, best, LEVELS_1D["68%"])
    return Scan1D(poi, x, y, best, lo, hi)


def _spline(x: np.ndarray, y: np.ndarray) -> Any:
    """plot1DScan.py's interpolation of the scan points (ROOT's TSpline3)."""
    from scipy.interpolate import CubicSpline

    return CubicSpline(x, y)


def _crossings(x: np.ndarray, y: np.ndarray, best: float, level: float):
    roots = _spline(x, y).solve(level, extrapolate=False)
    below = [float(r) for r in roots if r < best]
    above = [float(r) for r in roots if r > best]
    return (max(below) if below else None), (min(above) if above else None)


def scanned_pois(path: str | Path) -> list[str]:
    """The POI branches a grid varies (two for a 2D scan)."""
    tree = _limit_tree(path)
    return [p for p in _pois_in(tree) if len(np.unique(tree[p])) > 2]


@dataclass
class Scan2D:
    pois: tuple[str, str]
    x: np.ndarray
    y: np.ndarray
    twice_dnll: np.ndarray
    best: tuple[float, float]


def read_scan_2d(path: str | Path, pois: Sequence[str] | None = None) -> Scan2D:
    tree = _limit_tree(path)
    names = list(pois or _pois_in(tree)[:2])
    if len(names) != 2 or any(n not in tree for n in names) or "deltaNLL" not in tree:
        raise FigureInputError(f"{path}: a 2D scan needs two POI branches and deltaNLL")
    x, y = (np.asarray(tree[n], dtype=float) for n in names)
    z = 2.0 * np.asarray(tree["deltaNLL"], dtype=float)
    keep = np.isfinite(x) & np.isfinite(y) & np.isfinite(z)
    x, y, z = x[keep], y[keep], z[keep]
    at = int(np.argmin(z))
    return Scan2D((names[0], names[1]), x, y, z - z[at], (float(x[at]), float(y[at])))


@dataclass
class LimitBand:
    mass: np.ndarray
    expected: dict[str, np.ndarray]  # exp-2 ... exp+2
    observed: np.ndarray | None


def read_limits(paths: Sequence[str | Path]) -> LimitBand:
    """AsymptoticLimits higgsCombine files (one per mass; the rows' quantileExpected
    name the band, -1 the observed limit), or combineTool's CollectLimits JSON
    ``{"125.0": {"exp0": ..., "obs": ...}}``."""
    points: dict[float, dict[str, float]] = {}
    for path in paths:
        if str(path).endswith(".json"):
            for mass, values in _json(path).items():
                try:
                    points.setdefault(float(mass), {}).update(values)
                except (ValueError, TypeError):
                    msg = f"{path}: not combineTool's CollectLimits JSON (key {mass!r})"
                    raise FigureInputError(msg) from None
            continue
        tree = _limit_tree(path)
        if "quantileExpected" not in tree or not len(tree["limit"]):
            raise FigureInputError(f"{path}: no limit rows")
        for mh, q, value in zip(
            tree["mh"], tree["quantileExpected"], tree["limit"], strict=True
        ):
            key = "obs" if q == -1 else _band_key(float(q))
            if key:
                points.setdefault(float(mh), {})[key] = float(value)
    masses = sorted(points)
    missing = [m for m in masses if any(k not in points[m] for k in BRAZIL_QUANTILES)]
    if missing:
        raise FigureInputError(
            f"mass {missing[0]:g}: the expected band is incomplete (a --run blind or "
            "expected file has all five quantiles; an observed-only one has none)"
        )
    expected = {k: np.array([points[m][k] for m in masses]) for k in BRAZIL_QUANTILES}
    has_obs = all("obs" in points[m] for m in masses)
    observed = np.array([points[m]["obs"] for m in masses]) if has_obs else None
    return LimitBand(np.array(masses), expected, observed)


def _band_key(quantile: float) -> str | None:
    for key, q in BRAZIL_QUANTILES.items():
        if abs(quantile - q) < 1e-3:
            return key
    return None


def _json(path: str | Path) -> dict[str, Any]:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise FigureInputError(f"{path}: cannot read JSON ({err})") from None


def read_impacts(path: str | Path, poi: str | None = None) -> dict[str, Any]:
    """combineTool's impacts.json, parameters sorted by decreasing impact on
    ``poi`` (the first POI by default), as plotImpacts.py sorts them."""
    doc = _json(path)
    try:
        pois = [p["name"] for p in doc["POIs"]]
        poi = poi or pois[0]
        params = sorted(doc["params"], key=lambda p: -float(p[f"impact_{poi}"]))
    except (KeyError, IndexError, TypeError) as err:
        raise FigureInputError(
            f"{path}: not combineTool's impacts.json ({err})"
        ) from None
    return {
        "poi": poi,
        "POI": next(p for p in doc["POIs"] if p["name"] == poi),
        "params": params,
    }


def pull(param: dict[str, Any]) -> tuple[float, float, float]:
    """plotImpacts.py's pull of a Gaussian parameter: (fit - prefit) / prefit sigma
    with the asymmetric post-fit errors in the same units; unconstrained
    parameters are shown as fitted (value, -err, +err)."""
    lo, c, hi = param["fit"]
    p_lo, p_c, p_hi = param["prefit"]
    if param.get("type") == "Unconstrained" or p_hi == p_lo:
        return c, c - lo, hi - c
    sigma = 0.5 * (p_hi - p_lo)
    return (c - p_c) / sigma, (c - lo) / sigma, (hi - c) / sigma


@dataclass
class Stack:
    channel: str
    edges: np.ndarray
    backgrounds: dict[str, np.ndarray]
    signal: np.ndarray | None
    total: np.ndarray  # signal + background of this fit
    total_error: np.ndarray
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None  # x, y, lo, hi


def read_stacks(path: str | Path, fit: str = "fit_s") -> list[Stack]:
    """FitDiagnostics' ``shapes_<fit>/<channel>/`` histograms (--saveShapes): each
    process, total_signal, total_background, total and the data graph."""
    import uproot

    folder = "shapes_prefit" if fit == "prefit" else f"shapes_{fit}"
    try:
        f = uproot.open(path)
    except (OSError, ValueError) as err:
        raise FigureInputError(
            f"{path}: cannot read it as a ROOT file ({err})"
        ) from None
    with f:
        if folder not in f:
            raise FigureInputError(
                f"{path}: no {folder} directory (run FitDiagnostics with --saveShapes)"
            )
        kinds = f[folder].classnames(recursive=False, cycle=False)
        stacks = [
            _stack(channel, f[folder][channel], path)
            for channel, kind in kinds.items()
            if kind == "TDirectory"
        ]
    if not stacks:
        raise FigureInputError(f"{path}: {folder} has no channels")
    return stacks


TOTALS = frozenset({"total", "total_signal", "total_background", "total_covar", "data"})


def _stack(channel: str, d: Any, path: str | Path) -> Stack:
    names = d.keys(recursive=False, cycle=False)
    if "total" not in names or "total_background" not in names:
        raise FigureInputError(f"{path}: {channel} has no total/total_background")
    total = d["total"]
    signal_total = d["total_signal"].values() if "total_signal" in names else None
    background_total = d["total_background"].values()
    processes = [n for n in names if n not in TOTALS]
    # a process is signal when the backgrounds alone do not add up with it
    backgrounds = {}
    for name in processes:
        values = d[name].values()
        backgrounds[name] = values
    signal_names = _signal_processes(backgrounds, background_total)
    for name in signal_names:
        backgrounds.pop(name)
    data = None
    if "data" in names:
        g = d["data"]
        data = (
            g.values("x"),
            g.values("y"),
            g.errors("low", "y"),
            g.errors("high", "y"),
        )
    return Stack(
        channel,
        total.axis().edges(),
        dict(sorted(backgrounds.items(), key=lambda kv: kv[1].sum())),
        signal_total,
        total.values(),
        total.errors(),
        data,
    )


def _signal_processes(processes: dict[str, np.ndarray], background: np.ndarray):
    """Which processes are signal: the others sum to total_background (FitDiagnostics
    writes no flag). Tried from the smallest subsets of candidates up."""
    from itertools import combinations

    names = list(processes)
    everything = sum(processes.values(), np.zeros_like(background))
    scale = max(float(np.abs(background).sum()), 1e-12)
    for size in range(len(names) + 1):
        for subset in combinations(names, size):
            rest = everything - sum(
                (processes[n] for n in subset), np.zeros_like(background)
            )
            if float(np.abs(rest - background).sum()) <= 1e-4 * scale:
                return list(subset)
            if size > 4:  # many processes: give up, stack them all
                return []
    return []


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


def scan_2d_figure(scan: Scan2D) -> Any:
    """68 % and 95 % contours (2 deltaNLL = 2.30, 5.99) and the best fit."""
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
