"""Combine's saturated goodness-of-fit statistic (GoodnessOfFit --algo saturated)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import _core
from ..executor import Executor
from ..executor_checkpoint import current_job
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
    executor: Executor | None = None,
) -> SaturatedStatistics:
    """The statistic of each data set (rows: main bins then auxiliary data).

    With ``executor`` (toys on a Dask cluster) the data sets after the first run
    there, each fitted on its own: the same numbers as on ``jobs`` threads."""
    arr = np.atleast_2d(np.asarray(datasets, dtype=float))
    args = fit_args(model, init_pars, par_bounds, fixed_params)
    fixed = args[2] or [bool(f) for f in model.config.suggested_fixed()]
    if executor is None or len(arr) == 1:
        r = _core.saturated_statistics(model._model, arr.ravel(), int(jobs), *args)
        return SaturatedStatistics(
            statistic=np.array(r.statistic),
            valid=np.array(r.valid, dtype=bool),
            first_fit=_result(model, r.first_fit, fixed),
            failed=int(r.failed),
            message=r.message,
        )
    first = _core.saturated_statistics(model._model, arr[0], 1, *args)
    rest = executor.map(
        _saturated_chunk,
        arr[1:],
        shared=(model, args),
        desc="toy fits",
        checkpoint=current_job("goodness_of_fit"),  # hifit combine --resume
    )
    rows = [(first.statistic[0], bool(first.valid[0]), first.message)] + rest
    failed = [i for i, (_, ok, _) in enumerate(rows) if not ok]
    message = ""
    if failed:  # the core's wording: the first data set whose fit failed
        i = failed[0]
        message = (
            rows[i][2]
            if i == 0
            else rows[i][2].replace("fit to data set 0: ", f"fit to data set {i}: ", 1)
        )
    return SaturatedStatistics(
        statistic=np.array([r[0] for r in rows]),
        valid=np.array([r[1] for r in rows], dtype=bool),
        first_fit=_result(model, first.first_fit, fixed),
        failed=len(failed),
        message=message,
    )


def _saturated_chunk(shared: tuple, datasets: list[np.ndarray]) -> list[tuple]:
    """(statistic, converged, message) per data set, one fit each in C++."""
    model, args = shared
    out = []
    for data in datasets:
        r = _core.saturated_statistics(model._model, data, 1, *args)
        out.append((float(r.statistic[0]), bool(r.valid[0]), r.message))
    return out
