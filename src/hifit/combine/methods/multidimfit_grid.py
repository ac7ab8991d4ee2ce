"""MultiDimFit's --algo grid (1 or 2 POIs) and the profile likelihood at a list of
points (also --algo fixed): the points in Combine's order (MultiDimFit::doGrid: bin
centres, or edges with --alignEdges; --firstPoint/--lastPoint; a 1D grid runs
backwards when the best fit lies beyond --lastPoint) and one row per point whose fit
succeeded."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ...executor import current_executor
from ...executor_checkpoint import current_job
from ...infer import fit, scan
from ..options import OptionError

if TYPE_CHECKING:
    from .multidimfit import _Scan


def _axis(points: int, lo: float, hi: float, align: bool) -> tuple[float, float]:
    """(spacing, offset) of Combine's grid: bin centres, or edges with --alignEdges."""
    if points == 1 and align:
        return 0.0, 0.0
    if align:
        return (hi - lo) / (points - 1), 0.0
    return (hi - lo) / points, 0.5


def _grid_points(job: _Scan, best) -> list[tuple[int, tuple[float, ...]]]:
    """(point index, POI values) in Combine's order, within --firstPoint/--lastPoint."""
    opts, bounds = job.setup.options, job.setup.bounds
    align = bool(opts.get("alignEdges", False))
    per_poi = [int(x) for x in opts.get("gridPoints", "").split(",") if x]
    if per_poi and len(per_poi) != len(job.pois):
        msg = f"--gridPoints gives {len(per_poi)} numbers for {len(job.pois)} POIs"
        raise OptionError(msg)
    ranges = [bounds[job.index[p]] for p in job.pois]
    first = int(opts.get("firstPoint", 0))
    if len(job.pois) == 1:
        points = per_poi[0] if per_poi else opts.points
        (lo, hi), last = ranges[0], int(opts.get("lastPoint", points - 1))
        step, offset = _axis(points, lo, hi, align)
        x_best = (best.bestfit[job.index[job.pois[0]]] - lo) / step if step else 0.0
        out = []
        for i in range(first, min(last, points - 1) + 1):
            k = last - i + first if x_best > last else i  # Combine's reversed order
            x = hi if align and k == points - 1 else lo + (k + offset) * step
            out.append((i, (x,)))
        return out
    nx, ny = _grid_shape(job)
    last = int(opts.get("lastPoint", nx * ny - 1))
    (xlo, xhi), (ylo, yhi) = ranges
    dx, ox = (0.0, 0.0) if nx == 1 else _axis(nx, xlo, xhi, align)
    dy, oy = (0.0, 0.0) if ny == 1 else _axis(ny, ylo, yhi, align)
    out = []
    for i in range(nx):
        for j in range(ny):
            ipoint = i * ny + j
            if first <= ipoint <= last:
                out.append((ipoint, (xlo + (i + ox) * dx, ylo + (j + oy) * dy)))
    return out


def _grid_shape(job: _Scan) -> tuple[int, int]:
    """Points per axis of a 2D grid: --gridPoints, or ceil(sqrt(--points)) each."""
    opts = job.setup.options
    per_poi = [int(x) for x in opts.get("gridPoints", "").split(",") if x]
    if per_poi:
        return per_poi[0], per_poi[1]
    side = math.ceil(math.sqrt(opts.points))
    return side, side


def _grid_size(job: _Scan) -> int:
    nx, ny = _grid_shape(job)
    return nx * ny


def grid(job: _Scan, data, best) -> tuple[list[dict], str, str | None]:
    setup, opts = job.setup, job.setup.options
    points = _grid_points(job, best)
    text = "".join(
        f" POI: {p}= {best.bestfit[job.index[p]]:g} -> "
        f"[{setup.bounds[job.index[p]][0]:g},{setup.bounds[job.index[p]][1]:g}]\n"
        for p in job.pois
    )
    if len(job.pois) == 1:
        for i, (x,) in points:
            text += f"Point {i}/{opts.points} {job.pois[0]} = {x:g}\n"
    else:
        _, ny = _grid_shape(job)
        total = _grid_size(job)
        for i, (x, y) in points:
            text += (
                f"Point {i}/{total} (i,j)= ({i // ny},{i % ny}) "
                f"{job.pois[0]} = {x:g} {job.pois[1]} = {y:g}\n"
            )
    nll_best = 0.5 * best.twice_nll
    rows, failed = [], []
    for _, values, pars, twice_nll in profile(job, data, best, [v for _, v in points]):
        if pars is None:  # Combine commits nothing for a failed fit
            failed.append(",".join(f"{v:g}" for v in values))
            continue
        delta = 0.5 * twice_nll - nll_best
        row = job.row(pars, delta, job.probability(delta))
        rows.append(row)
    if failed:
        job.notes.append(
            f"{len(failed)} grid point(s) left out, their fit failed "
            f"({'/'.join(job.pois)} = {'; '.join(failed)})"
        )
    return rows, text, None


def profile(job: _Scan, data, best, values: list[tuple[float, ...]]):
    """(i, values, parameters or None, -2 ln L) at each point: the C++ scan, or one
    fit per point when the rows need the other parameters (--saveInactivePOI with
    floating POIs) or --fastScan (no profiling, the best fit's nuisances)."""
    setup, opts = job.setup, job.setup.options
    idx = [job.index[p] for p in job.pois]
    if opts.get("fastScan"):
        # measured from -2 ln L at the best fit's reported values: those of parameters
        # profiled in closed form still count in their constraint terms there
        offset = setup.model.twice_nll(best.bestfit, data) - best.twice_nll
        for i, v in enumerate(values):
            pars = np.array(best.bestfit, dtype=float)
            pars[idx] = v
            yield i, v, pars, setup.model.twice_nll(pars, data) - offset
        return
    per_point = any(not job.fixed[job.index[p]] for p in job.inactive)
    if not per_point and values:
        if len(idx) == 1:
            res = scan(
                data,
                setup.model,
                idx[0],
                [v[0] for v in values],
                executor=current_executor(),
                checkpoint=current_job("grid"),
                progress=True,
                **job.kwargs(),
            )
            flat_nll, flat_ok = res.twice_nll, res.valid
        else:
            xs = sorted({v[0] for v in values})
            ys = sorted({v[1] for v in values})
            res = scan(
                data,
                setup.model,
                idx,
                xs,
                ys,
                executor=current_executor(),
                checkpoint=current_job("grid"),
                progress=True,
                **job.kwargs(),
            )
            where = [(xs.index(v[0]), ys.index(v[1])) for v in values]
            flat_nll = [res.twice_nll[a, b] for a, b in where]
            flat_ok = [res.valid[a, b] for a, b in where]
        for i, v in enumerate(values):
            pars = np.array(best.bestfit, dtype=float)
            pars[idx] = v
            yield i, v, (pars if flat_ok[i] else None), float(flat_nll[i])
        return
    fixed = list(job.fixed)
    for k in idx:
        fixed[k] = True
    for i, v in enumerate(values):
        init = np.array(best.bestfit, dtype=float)
        init[idx] = v
        r = fit(data, setup.model, **job.kwargs(fixed, init))
        yield i, v, (r.bestfit if r.valid else None), r.twice_nll
