"""Profile-likelihood scans (1D and 2D) and MINOS intervals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _core
from ..executor import Executor, map_on
from ..executor_checkpoint import CheckpointJob
from ..model import Model
from ..results import document
from .mle import FitResult, _result, fit, fit_args


def _index(model: Model, par: str | int) -> int:
    if isinstance(par, int):
        return par
    names = model.config.par_names
    if par not in names:
        msg = f"no parameter named {par!r} in the model"
        raise KeyError(msg)
    return names.index(par)


@dataclass(frozen=True)
class ScanResult:
    """-2 Δln L along a grid: ``delta_twice_nll`` has shape (nx,) or (nx, ny)."""

    names: list[str]
    values_x: np.ndarray
    values_y: np.ndarray | None
    twice_nll: np.ndarray
    delta_twice_nll: np.ndarray
    valid: np.ndarray
    bestfit: np.ndarray  # the unconditional fit, every parameter
    uncertainty: np.ndarray
    labels: list[str]  # every parameter's name

    def to_dict(self) -> dict[str, Any]:
        """The ``hifit.scan`` result document: the scanned parameters with their
        unconditional best fit and uncertainty, the grid and -2 Δln L on it."""
        index = [self.labels.index(n) for n in self.names]
        out = {
            "parameters": self.names,
            "bestfit": [float(self.bestfit[i]) for i in index],
            "uncertainty": [float(self.uncertainty[i]) for i in index],
            "values": self.values_x.tolist(),
            "delta_twice_nll": self.delta_twice_nll.tolist(),
            "valid": self.valid.tolist(),
        }
        if self.values_y is not None:
            out["values_y"] = self.values_y.tolist()
        return document("scan", out)


def scan(
    data: Sequence[float] | np.ndarray,
    model: Model,
    par: str | int | Sequence[str | int],
    values: Sequence[float],
    values_y: Sequence[float] | None = None,
    *,
    jobs: int = 1,
    init_pars: Sequence[float] | None = None,
    par_bounds: Sequence[tuple[float, float]] | None = None,
    fixed_params: Sequence[bool] | None = None,
    executor: Executor | None = None,
    checkpoint: CheckpointJob | None = None,
    progress: bool = False,
) -> ScanResult:
    """Profile scan of one parameter, or of two with ``par=(x, y)`` and ``values_y``.

    Fixed segments of consecutive points run on ``executor`` (default: ``jobs``
    threads); warm starts stay inside a segment, so the numbers do not depend on
    where a segment ran.
    """
    pars = [par] if isinstance(par, str | int) else list(par)
    idx = [_index(model, p) for p in pars]
    if len(idx) == 2 and values_y is None:
        msg = "a 2D scan needs values_y"
        raise ValueError(msg)
    values_y = [] if values_y is None else [float(v) for v in values_y]
    args = fit_args(model, init_pars, par_bounds, fixed_params)
    data = np.asarray(data, dtype=float)
    grid = _core.ScanGrid(idx, [float(v) for v in values], values_y)
    best = _core.scan_best(model._model, data, grid, *args)
    inputs = _ScanInputs(model, data, grid, best, args)
    points = len(values) * (len(values_y) if len(idx) == 2 else 1)
    size = _core.scan_segment_points
    segments = map_on(
        executor,
        jobs,
        _scan_chunk,
        range((points + size - 1) // size),
        shared=inputs,
        desc="scan" if progress else None,
        checkpoint=checkpoint,
    )
    fits = [_fit_from_state(f) for segment in segments for f in segment]
    r = _core.scan_finish(model._model, data, grid, best, fits, *args)
    shape = (len(values),) if len(idx) == 1 else (len(values), len(values_y))
    return ScanResult(
        names=[model.config.par_names[i] for i in idx],
        values_x=np.array(r.values_x),
        values_y=np.array(r.values_y) if len(idx) == 2 else None,
        twice_nll=np.array(r.twice_nll).reshape(shape),
        delta_twice_nll=np.array(r.delta_twice_nll).reshape(shape),
        valid=np.array(r.valid).reshape(shape),
        bestfit=np.array(r.best.bestfit),
        uncertainty=np.array(r.best.uncertainty),
        labels=list(model.config.par_names),
    )


@dataclass(frozen=True)
class _ScanInputs:
    """What every scan task needs, shipped once per worker."""

    model: Model
    data: np.ndarray
    grid: Any  # _core.ScanGrid
    best: Any  # the unconditional core FitResult
    fit_args: tuple[Any, ...]


def _scan_chunk(inputs: _ScanInputs, segments: list[int]) -> list[list[Any]]:
    """Per segment, the state of its points' fits (plain data: it pickles and goes
    into a checkpoint as JSON)."""
    fits = _core.scan_segments(
        inputs.model._model,
        inputs.data,
        inputs.grid,
        inputs.best,
        segments[0],
        segments[-1] + 1,
        *inputs.fit_args,
    )
    size = _core.scan_segment_points
    states = [list(f.__getstate__()) for f in fits]
    return [states[k * size : (k + 1) * size] for k in range(len(segments))]


def _fit_from_state(state: list[Any]) -> Any:
    fit = _core.FitResult.__new__(_core.FitResult)
    fit.__setstate__(tuple(state))
    return fit


@dataclass(frozen=True)
class MinosInterval:
    lower: float  # negative offset from the best fit
    upper: float
    lower_at_bound: bool
    upper_at_bound: bool
    valid: bool
    message: str = ""
    # the fit the interval is around when MINOS found it below the given one (which
    # then was a local minimum); None otherwise
    improved_fit: FitResult | None = None


def minos(
    data: Sequence[float] | np.ndarray,
    model: Model,
    pars: Sequence[str | int] | str | int,
    *,
    fit_result: FitResult | None = None,
    delta_twice_nll: float = 1.0,
    init_pars: Sequence[float] | None = None,
    par_bounds: Sequence[tuple[float, float]] | None = None,
    fixed_params: Sequence[bool] | None = None,
) -> dict[str, MinosInterval]:
    """Asymmetric intervals where -2 ln L rises by ``delta_twice_nll`` (1: 68.3 %).

    If a profile fit lands below the best fit, that fit was a local minimum: the free
    fit restarts from there and every interval is computed around the lower minimum,
    which each interval carries as ``improved_fit``.
    """
    given = fit_result or fit(data, model, init_pars, par_bounds, fixed_params)
    args = fit_args(model, init_pars, par_bounds, fixed_params)
    fixed = args[2] or [bool(f) for f in model.config.suggested_fixed()]
    names = [
        _index(model, p) for p in ([pars] if isinstance(pars, str | int) else pars)
    ]
    best = given
    for _ in range(3):
        found = {}
        for i in names:
            r = _core.minos(
                model._model,
                np.asarray(data, dtype=float),
                best.core,
                i,
                delta_twice_nll,
                *args,
            )
            if r.improved_best:
                best = _result(model, r.best, fixed)
                break
            found[i] = r
        else:
            break
    improved = None if best is given else best
    return {
        model.config.par_names[i]: MinosInterval(
            float(r.lower),
            float(r.upper),
            bool(r.lower_at_bound),
            bool(r.upper_at_bound),
            bool(r.valid),
            r.message,
            improved,
        )
        for i, r in found.items()
    }
