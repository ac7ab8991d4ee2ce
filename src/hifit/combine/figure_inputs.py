"""What Combine's output files hold for the figures of :mod:`.figures`: a
MultiDimFit grid (1D, 2D), AsymptoticLimits rows over masses, combineTool's
impacts.json and FitDiagnostics' shapes_* directories, read with uproot."""

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
