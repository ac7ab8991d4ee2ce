"""Combine's HybridNew in LHC mode: toy-based CLs with its MC error, upper limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import _core
from ..executor import Executor
from ..executor_checkpoint import current_job
from ..model import Model
from .mle import fit_args


@dataclass(frozen=True)
class HybridPoint:
    """CLs at one signal strength and the toy distributions behind it."""

    r: float
    q_obs: float
    q_sb: np.ndarray
    q_b: np.ndarray
    cls: float
    cls_err: float
    clsb: float
    clsb_err: float
    clb: float
    clb_err: float
    failed_toys: int
    valid: bool
    message: str


@dataclass(frozen=True)
class HybridLimit:
    limit: float
    limit_err: float
    points: list[HybridPoint]
    valid: bool
    message: str


def _point(p) -> HybridPoint:
    return HybridPoint(
        float(p.r),
        float(p.q_obs),
        np.array(p.q_sb),
        np.array(p.q_b),
        float(p.cls),
        float(p.cls_err),
        float(p.clsb),
        float(p.clsb_err),
        float(p.clb),
        float(p.clb_err),
        int(p.failed_toys),
        bool(p.valid),
        p.message,
    )


@dataclass(frozen=True)
class _HybridBatch:
    """One batch of toys (r, generating points, counts, seed, first stream), shipped
    once per worker."""

    model: Model
    fit_args: tuple
    batch: tuple


def _hybrid_chunk(inputs: _HybridBatch, indices: list[int]) -> list[tuple]:
    """(q, converged) of toys ``indices`` of the batch, thrown and fitted in C++."""
    q, ok = _core.hybrid_new_toys(
        inputs.model._model,
        *inputs.batch,
        indices[0],
        indices[-1] + 1,
        *inputs.fit_args,
    )
    return list(zip(q, ok, strict=True))


class HybridNew:
    """Frequentist toys at each r (LHC test statistic); see the C++ HybridNew."""

    def __init__(
        self,
        data: Sequence[float] | np.ndarray,
        model: Model,
        *,
        init_pars: Sequence[float] | None = None,
        par_bounds: Sequence[tuple[float, float]] | None = None,
        fixed_params: Sequence[bool] | None = None,
        cl: float = 0.95,
        toys: int = 500,
        full_b_toys: bool = False,
        cls_acc: float = 0.005,
        r_abs_acc: float = 0.1,
        r_rel_acc: float = 0.05,
        iterations: int = 1,
        expected_quantile: float = -1.0,
        cls_quantiles: bool = True,
        rule_cls: bool = True,
        seed: int = 123456,
        jobs: int = 1,
        executor: Executor | None = None,
    ) -> None:
        """The toys of each batch run on ``executor`` when given (a Dask cluster),
        else on ``jobs`` threads; a toy's numbers depend on its batch and index
        alone, so both give the same results."""
        o = _core.HybridNewOptions()
        o.cl, o.toys, o.full_b_toys, o.cls_acc = cl, toys, full_b_toys, cls_acc
        o.r_abs_acc, o.r_rel_acc, o.iterations = r_abs_acc, r_rel_acc, iterations
        o.expected_quantile, o.cls, o.seed, o.jobs = (
            expected_quantile,
            rule_cls,
            seed,
            jobs,
        )
        o.cls_quantiles = cls_quantiles
        args = fit_args(model, init_pars, par_bounds, fixed_params)
        runner = None
        if executor is not None:

            def runner(*batch: object) -> tuple[list[float], list[bool]]:
                rows = executor.map(
                    _hybrid_chunk,
                    range(int(batch[4])),  # the batch's toys
                    shared=_HybridBatch(model, args, batch),
                    desc=f"toys at r = {batch[0]:g}",
                    checkpoint=current_job("hybrid_new"),  # hifit combine --resume
                )
                return [q for q, _ in rows], [ok for _, ok in rows]

        self._core = _core.HybridNew(
            model._model, np.asarray(data, dtype=float), *args, o, runner
        )

    def eval(
        self, r: float, adaptive: bool = False, target: float = -1.0
    ) -> HybridPoint:
        """CLs at ``r`` (more toys while it is within 3 errors of ``target``)."""
        return _point(self._core.eval(float(r), adaptive, float(target)))

    def limit(self, r_min: float, r_max: float) -> HybridLimit:
        """Combine's runLimit search between ``r_min`` and ``r_max``."""
        res = self._core.limit(float(r_min), float(r_max))
        return HybridLimit(
            float(res.limit),
            float(res.limit_err),
            [_point(p) for p in res.points],
            bool(res.valid),
            res.message,
        )
