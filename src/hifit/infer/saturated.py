"""Combine's saturated goodness-of-fit statistic (GoodnessOfFit --algo saturated)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import _core
from ..model import Model
from .mle import FitResult, _result, fit_args


@dataclass(frozen=True)
class SaturatedStatistics:
    """2 (NLL(best fit) - NLL(saturated)) per data set (the constraints kept)."""

    statistic: np.ndarray
    valid: np.ndarray  # the best fit of that data set converged
    first_fit: FitResult  # the best fit of the first data set
    failed: int
    message: str


def saturated_statistics(
    datasets: Sequence[Sequence[float]] | np.ndarray,
    model: Model,
    *,
    init_pars: Sequence[float] | None = None,
    par_bounds: Sequence[tuple[float, float]] | None = None,
    fixed_params: Sequence[bool] | None = None,
    jobs: int = 1,
) -> SaturatedStatistics:
    """The statistic of each data set (rows: main bins then auxiliary data)."""
    arr = np.atleast_2d(np.asarray(datasets, dtype=float))
    args = fit_args(model, init_pars, par_bounds, fixed_params)
    r = _core.saturated_statistics(model._model, arr.ravel(), int(jobs), *args)
    fixed = args[2] or [bool(f) for f in model.config.suggested_fixed()]
    return SaturatedStatistics(
        statistic=np.array(r.statistic),
        valid=np.array(r.valid, dtype=bool),
        first_fit=_result(model, r.first_fit, fixed),
        failed=int(r.failed),
        message=r.message,
    )
