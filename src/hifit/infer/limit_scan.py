"""Upper-limit scans on an executor: fixed segments of the sorted POI values.

Each segment's hypotests run in C++ (``_core.limit_scan_range``, GIL released) with
warm starts inside the segment only, so a point's result does not depend on the
thread or process its segment ran in; ``_core.limit_from_scan`` then interpolates
the limits, exactly as ``_core.upper_limit_scan`` does in one process.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _core
from ..executor import Executor, map_on
from ..executor_checkpoint import CheckpointJob
from ..model import Model


class _LimitInputs:
    """What every segment needs, shipped once per worker: the model, the data and the
    fit settings. The ``_core.AsymptoticCalculator`` (its free fits and Asimov data)
    is built once per process where it is first used and never pickled."""

    def __init__(
        self,
        model: Model,
        data: np.ndarray,
        mus: list[float],
        test_stat: str,
        fit_args: tuple[Any, ...],
        convention: str,
        asimov: str,
    ) -> None:
        self.model, self.data, self.mus = model, data, mus
        self.test_stat, self.fit_args = test_stat, fit_args
        self.convention, self.asimov = convention, asimov
        self._lock = threading.Lock()
        self._calc: Any = None

    _FIELDS = ("model", "data", "mus", "test_stat", "fit_args", "convention", "asimov")

    def __getstate__(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._FIELDS}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(**state)

    def calculator(self) -> Any:
        with self._lock:
            if self._calc is None:
                self._calc = _core.AsymptoticCalculator(
                    self.model._model,
                    self.data,
                    self.test_stat,
                    *self.fit_args,
                    self.convention,
                    self.asimov,
                )
            return self._calc


def _limit_chunk(inputs: _LimitInputs, segments: list[int]) -> list[list[Any]]:
    """Per segment, the state of its hypotests (plain data: it pickles and goes into
    a checkpoint as JSON)."""
    size = _core.limit_scan_segment_points
    calc = inputs.calculator()
    return [
        [
            list(r.__getstate__())
            for r in _core.limit_scan_range(calc, inputs.mus[s * size : (s + 1) * size])
        ]
        for s in segments
    ]


def _hypotest_from_state(state: list[Any]) -> Any:
    r = _core.HypoTestResult.__new__(_core.HypoTestResult)
    r.__setstate__(tuple(state))
    return r


def limit_scan(
    model: Model,
    data: np.ndarray,
    scan: Sequence[float],
    level: float,
    *,
    test_stat: str,
    fit_args: tuple[Any, ...],
    convention: str,
    asimov: str,
    jobs: int = 1,
    executor: Executor | None = None,
    checkpoint: CheckpointJob | None = None,
    progress: bool = False,
) -> Any:
    """The core ``UpperLimitResult`` of a scan over ``scan``, segments on
    ``executor`` (default: ``jobs`` threads)."""
    mus = sorted(float(x) for x in scan)
    inputs = _LimitInputs(model, data, mus, test_stat, fit_args, convention, asimov)
    size = _core.limit_scan_segment_points
    segments = map_on(
        executor,
        jobs,
        _limit_chunk,
        range((len(mus) + size - 1) // size),
        shared=inputs,
        desc="limit scan" if progress else None,
        checkpoint=checkpoint,
    )
    points = [_hypotest_from_state(s) for segment in segments for s in segment]
    return _core.limit_from_scan(points, level)
